"""test_dane_diff.py - differential test of tern's DANE verifier against
OpenSSL's own DANE implementation.

Random but reproducible cases (a seeded random.Random; the seed is printed
and every failure names it; what a case is made of is reproducible, the
keys and serial numbers are fresh each run): a PKI made with the openssl CLI (certs.py: a
root, 0-2 intermediates, a leaf with SAN, CN-only, wildcard or IP names,
RSA or EC keys, sometimes expired or not yet valid certificates, an
unrelated CA, a same-name impostor, a renewed intermediate, a non-CA
issuer, a self-signed leaf, a path length constraint), the chain a server
presents (leaf first, the rest sometimes shuffled, the root or an
intermediate sometimes left out, extras added), a TLSA RRset of 1-3
records (usages 2 and 3, now and then 0 or 1 or unknown values; selector
0/1; matching type 0/1/2; the data of a random certificate of the PKI or
garbage) and a reference name. The first cases each force one feature
(FEATURES), so every run covers them whatever the seed; the directed
ones among them are built so that their feature decides the verdict.

Each case is judged twice:
  tern     `tern dane verify --name N --tlsa R... --chain FILE.pem`
  OpenSSL  `openssl s_server` presenting the chain on a loopback port and
           `openssl s_client -dane_tlsa_domain N -dane_tlsa_rrdata R...
           -dane_ee_no_namechecks -verify_return_error` (no CA store:
           only the TLSA records can authenticate).
The verdicts must agree. A disagreement passes only when it is one of the
documented, deliberate differences of KNOWN_DIFFERENCES and the case is
exactly of that kind (its predicate holds and a confirming re-run, when
the entry has one, shows the difference disappears without the trigger).

s_client takes one reference name (SSL_dane_enable sets it as the only
host name; -verify_hostname is overridden), so the differential cases have
one name. tern's several names, and the PKIX usages 0/1 that OpenSSL
would honour with its default store (web behaviour) but SMTP must not
(RFC 7672 3.1.3), are covered by non-differential assertions on tern
alone: extra non-matching names never change a verdict, records 0/1 never
change a verdict, and a set of nothing but 0/1 records is "no usable TLSA
record".

Environment: TERN_DANE_DIFF_SEED (a number, or "random"),
TERN_DANE_DIFF_CASES (default 40), TERN_DANE_DIFF_KEEP=1 keeps the
case directories, TERN_DANE_DIFF_VERBOSE=1 prints every case's verdicts.
"""
import os
import random
import re
import shutil
import subprocess
import tempfile
import time
import unittest

import certs
import harness
from harness import enabled

DEFAULT_SEED = 7672
DEFAULT_CASES = 40
DECOY_NAME = "decoy.invalid"         # matches no certificate name made here


def _seed():
    s = os.environ.get("TERN_DANE_DIFF_SEED", "")
    if s == "random":
        return random.SystemRandom().randrange(1 << 32)
    return int(s) if s else DEFAULT_SEED


# ------------------------------------------------------------ name rules
#
# Certificate names against reference names, used only to recognise the
# known differences below (never to judge a case).

def _strict_match(pat, ref):
    """RFC 7672 3.2.3 / RFC 6125 6.4.3 as tern applies it: case-blind,
    "*" only as the whole leftmost label over a base of 2+ labels."""
    pat, ref = pat.lower(), ref.lower()
    if pat.startswith("*.") and "*" not in pat[2:] and "." in pat[2:]:
        head, _, rest = ref.partition(".")
        return bool(head) and rest == pat[2:]
    return pat == ref


def _is_partial_wildcard(pat):
    """"mx*.example.test", "*mx.example.test": a star that is not the
    whole leftmost label."""
    if "*" not in pat:
        return False
    first = pat.split(".", 1)[0]
    return first != "*"


# ------------------------------------------------------------ known differences
#
# Every deliberate difference between tern (RFC 7672, SMTP) and OpenSSL
# 3.0's s_client (whose defaults are those of the web), as a row: what
# tern and OpenSSL say, when a case is of that kind (applies) and, where
# it can be shown, a confirming re-run without the trigger (confirm).
# A disagreement that no row explains fails the test.

class Known:
    """applies(case, tern_verdict, openssl_verdict) -> bool;
    confirm(case, judges, tern_verdict, openssl_verdict) -> (bool, text):
    True when the confirming run shows the difference is of that kind."""

    def __init__(self, key, tern, openssl, applies, confirm=None, why=""):
        self.key, self.tern, self.openssl = key, tern, openssl
        self.applies, self.confirm, self.why = applies, confirm, why


def _matched_record(case, o):
    """The record OpenSSL says matched ("2 0 1 ...<last 24 hex digits>"),
    from the records it was given; None when it cannot be told."""
    m = re.match(r"^(\d+) (\d+) (\d+) \.\.\.([0-9a-f]+) ", o.reason)
    if m is None:
        return None
    hits = [r for r in set(case.smtp_records())
            if r.split()[:3] == list(m.group(1, 2, 3)) and
            r.split()[3].lower().endswith(m.group(4))]
    return hits[0] if len(hits) == 1 else None


def _trailing_dot_applies(case, t, o):
    # tern verified through DANE-TA(2) (names are checked only there) with
    # a reference name ending in a dot; OpenSSL's only complaint is the
    # host name
    return (case.name.endswith(".") and not case.name.endswith("..") and
            t.verified and t.reason.startswith("DANE-TA(2)") and
            not o.verified and "hostname mismatch" in o.detail)


def _trailing_dot_confirm(case, judge, t, o):
    # the same case, the name without its dot: OpenSSL must now verify
    o2 = judge.openssl(case, case.smtp_records(), case.name[:-1])
    return o2.verified, "OpenSSL with %s: %s" % (case.name[:-1], o2.detail)


def _partial_wildcard_applies(case, t, o):
    # OpenSSL verified by a peername with a partial wildcard, and no leaf
    # name matches the reference name under RFC 7672 3.2.3; tern failed
    # on the name
    if t.verified or not o.verified or o.peername is None:
        return False
    if not _is_partial_wildcard(o.peername):
        return False
    return (not any(_strict_match(n, case.name.rstrip(".")) for n in case.leaf_names())
            and "leaf name does not match" in t.reason)


_TA_DATES = re.compile(r"^DANE-TA\(2\): trust anchor at depth (\d+) (expired|is not yet valid)$")


def _ta_dates_applies(case, t, o):
    # OpenSSL verified with a DANE-TA(2) record matching a certificate
    # that is not self-issued and is outside its dates: one sent, or one
    # carried in full by a 2 0 0 record
    if t.verified or not o.verified:
        return False
    m = re.search(r"matched TA certificate at depth (\d+)$", o.reason)
    rec = _matched_record(case, o)
    if m is None or rec is None:
        return False
    u, s, mt = (int(x) for x in rec.split()[:3])
    pool = case.certs if (u, s, mt) == (2, 0, 0) else case.chain[1:]
    return any(c.cert.issuer is not None and
               ("expired" in c.notes or "not yet valid" in c.notes) and
               c.cert.tlsa(u, s, mt) == rec for c in pool)


def _ta_dates_confirm(case, judge, t, o):
    # tern on that record alone: refused for the anchor's dates, at the
    # depth OpenSSL found it
    rec = _matched_record(case, o)
    depth = re.search(r"at depth (\d+)$", o.reason).group(1)
    t2 = judge.tern(case, [rec], [case.name])
    m = _TA_DATES.match(t2.reason)
    ok = not t2.verified and m is not None and m.group(1) == depth
    return ok, "tern with %s alone: %s" % (rec.split()[:3], t2.reason)


def _tern_record(case, t):
    """The record tern says verified ("... (depth 1, record 2)")."""
    m = re.search(r"\(depth \d+, record (\d+)\)$", t.reason)
    return case.records[int(m.group(1)) - 1][0] if m else None


def _twin_before(case, rec):
    """(X, Y): X a sent certificate that REC matches, Y its twin (same
    subject, same key) sent before it that REC does not match; or None."""
    u, s, mt = (int(x) for x in rec.split()[:3])
    sent = case.chain[1:]
    for i, x in enumerate(sent):
        if x.cert.tlsa(u, s, mt) != rec:
            continue
        for y in sent[:i]:
            if (y.cert.subject == x.cert.subject and y.cert.spki_der == x.cert.spki_der
                    and y.cert.tlsa(u, s, mt) != rec):
                return x, y
    return None


def _alt_issuer_applies(case, t, o):
    # tern verified with a DANE-TA(2) Cert(0) record matching a sent
    # issuer that has a twin (same name and key, so an issuer of the same
    # certificates) sent before it; OpenSSL built its one chain through
    # the twin and found no match
    if not t.verified or o.verified or "no matching DANE TLSA records" not in o.detail:
        return False
    rec = _tern_record(case, t)
    return (rec is not None and rec.startswith("2 0 ") and
            re.search(r"matched the certificate at depth \d+", t.reason) is not None and
            _twin_before(case, rec) is not None)


def _alt_issuer_confirm(case, judge, t, o):
    # the same certificates, the matching one sent in its twin's place:
    # OpenSSL now builds its chain through it and verifies
    x, y = _twin_before(case, _tern_record(case, t))
    chain = [y if c is x else x if c is y else c for c in case.chain]
    o2 = judge.openssl(case, case.smtp_records(), case.name, chain)
    return o2.verified, "OpenSSL with %s sent before %s: %s" % (x.label, y.label, o2.detail)


def _own_key_applies(case, t, o):
    # a self-signed leaf and a 2 1 0 record holding the leaf's own key:
    # OpenSSL takes the key as a bare trust anchor that "signed" the leaf
    if t.verified or not o.verified or case.leaf.cert.issuer is not None:
        return False
    rec = _matched_record(case, o)
    return (rec is not None and rec == case.leaf.cert.tlsa(2, 1, 0) and
            o.reason.endswith("signed the certificate at depth 0") and
            "matched the leaf only" in t.reason)


def _own_key_confirm(case, judge, t, o):
    # the same key as DANE-EE(3): tern verifies, so only the usage differs
    rec = "3" + _matched_record(case, o)[1:]
    t2 = judge.tern(case, [rec], [case.name])
    return t2.verified, "tern with 3 1 0 of the leaf key: %s" % t2.reason


KNOWN_DIFFERENCES = [
    # RFC 7672 3.2.2: the reference identifiers are DNS names (the TLSA
    # base domain, the MX host name), and a trailing dot is the root label
    # of an absolute name, not part of a label (RFC 1034 3.1): tern
    # ignores one trailing dot (dane.h). OpenSSL's X509_check_host compares
    # the reference name as given, so "mx.example.test." does not match a
    # certificate for "mx.example.test". Both denote the same host, and
    # an MTA takes its names from DNS, so tern's reading is the right one
    # for SMTP; OpenSSL leaves the normalisation to its caller.
    Known("trailing-dot", tern=True, openssl=False,
          applies=_trailing_dot_applies, confirm=_trailing_dot_confirm,
          why="tern ignores one trailing dot of the reference name; "
              "OpenSSL's X509_check_host does not"),
    # RFC 7672 3.2.3: "The wildcard character must be the entire first
    # label of the DNS-ID or CN-ID. Thus, "*.example.com" is valid, while
    # "smtp*.example.com" and "*smtp.example.com" are not." OpenSSL
    # accepts a star at the start or the end of the first label ("mx*",
    # "*x"; never "m*x") unless the application sets
    # X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS (s_client has no option for
    # it). tern follows the RFC.
    Known("partial-wildcard", tern=False, openssl=True,
          applies=_partial_wildcard_applies,
          why="tern refuses partial-label wildcards (RFC 7672 3.2.3); "
              "OpenSSL's default host check accepts them"),
    # A DANE-TA(2) record matching a sent intermediate (not self-issued)
    # that is expired or not yet valid. tern checks the dates of every
    # certificate of the path, the anchor included when it is a
    # certificate (dane.h, tern.8 "every certificate of it must be within
    # its dates"). OpenSSL 3.0's internal_verify checks the dates of a
    # trust anchor only when it is self-issued (a root): an intermediate
    # trust anchor's dates are not looked at. RFC 7671 5.2 wants PKIX path
    # validation up to the anchor, and RFC 5280 6.1.1 (d) takes the trust
    # anchor as an input to that validation, with no validity period check
    # of its own, so OpenSSL's reading is allowed; tern's is the stricter
    # one, and consistent for roots and intermediates (OpenSSL refuses an
    # expired root anchor, "certificate has expired", but accepts an
    # expired intermediate one). The confirming run: tern on that record
    # alone refuses for the anchor's dates at the depth OpenSSL matched.
    Known("ta-dates", tern=False, openssl=True,
          applies=_ta_dates_applies, confirm=_ta_dates_confirm,
          why="tern checks the dates of a DANE-TA(2) anchor certificate that is "
              "an intermediate; OpenSSL 3.0 only those of a self-issued one"),
    # A server sends two issuers of the same certificate: the same name
    # and key, other certificates (an intermediate and its renewal, sent
    # together while it changes over, which RFC 8446 4.4.2 asks clients to
    # handle), and the DANE-TA(2) Cert(0) record matches the one sent
    # second. tern considers every sent issuer of every certificate on
    # the paths from the leaf (dane.h: "the chain may come in any order
    # and with extra certificates"), so the anchor is found; OpenSSL 3.0
    # builds one chain, taking the first suitable issuer in the order
    # sent, and matches DANE-TA(2) records only against that chain. A
    # valid path to a certificate the record designates exists (RFC 7671
    # 5.2), so tern is right. The confirming run sends the matching twin
    # first: OpenSSL then verifies.
    Known("alternate-issuer", tern=True, openssl=False,
          applies=_alt_issuer_applies, confirm=_alt_issuer_confirm,
          why="tern finds a DANE-TA(2) anchor among several sent issuers of the "
              "same name and key; OpenSSL only looks at the first one sent"),
    # A self-signed leaf and a "2 1 0" record holding that leaf's own
    # public key. OpenSSL takes the record as a bare trust-anchor key and
    # the leaf's self-signature as "signed by the anchor". RFC 6698 2.1.1
    # defines usage 2 as the trust anchor "used ... when validating the
    # end entity certificate", i.e. an issuer of the EE certificate, and
    # RFC 7671 5.2 has the server send the TA certificate in its chain:
    # tern never takes the leaf (or its key) as a DANE-TA(2) anchor
    # (dane.h, tern.8 "never the leaf itself"), and OpenSSL itself refuses
    # 2 0 0, 2 0 1, 2 1 1 and 2 1 2 records of that same leaf ("no
    # matching DANE TLSA records"): only its bare-key path (2 1 0) lets
    # it through. Nothing is lost: the key is the server's, and 3 1 0 with
    # that data verifies in tern (the confirming run).
    Known("own-key-as-anchor", tern=False, openssl=True,
          applies=_own_key_applies, confirm=_own_key_confirm,
          why="a 2 1 0 record of a self-signed leaf's own key: OpenSSL treats "
              "the self-signature as issued by a bare anchor key, tern refuses "
              "the leaf as its own trust anchor"),
]


# ------------------------------------------------------------ cases

class CertInfo:
    """A certificate of a case: the certs.Cert, a label and what was made
    special about it."""

    def __init__(self, label, cert, notes=()):
        self.label, self.cert, self.notes = label, cert, list(notes)
        self.sans, self.cn = None, None

    def describe(self):
        c = self.cert
        subj = c.subject
        issuer = c.issuer.subject if c.issuer is not None else subj + " (self-signed)"
        extra = (" SAN=%s" % ",".join(self.sans)) if self.sans else ""
        notes = (" [%s]" % ", ".join(self.notes)) if self.notes else ""
        return "%s: subject=%s issuer=%s key=%s%s%s" % (
            self.label, subj, issuer, c.key_kind, extra, notes)


class Case:
    def __init__(self, index, dir):
        self.index, self.dir = index, dir
        self.certs = []          # CertInfo, every certificate made
        self.leaf = None         # the CertInfo presented as the leaf
        self.chain = []          # CertInfo, as sent, leaf first
        self.records = []        # (rdata text, what it was made from)
        self.name = None
        self.chain_path = None
        self.story = []          # what the generator chose, for the report

    def add(self, label, cert, notes=()):
        ci = CertInfo(label, cert, notes)
        self.certs.append(ci)
        return ci

    def leaf_names(self):
        if self.leaf.sans:
            dns = [s for s in self.leaf.sans if not re.match(r"^[0-9.:]+$", s)]
            if dns:
                return dns
        return [self.leaf.cn]

    def smtp_records(self):
        """The records OpenSSL is given: all but PKIX-TA(0)/PKIX-EE(1),
        which RFC 7672 3.1.3 makes unusable for SMTP."""
        return [r for r, _ in self.records if r.split()[0] not in ("0", "1")]

    def describe(self):
        lines = ["case %d: %s" % (self.index, "; ".join(self.story)),
                 "  reference name: %r" % self.name,
                 "  certificates made:"]
        lines += ["    " + c.describe() for c in self.certs]
        lines.append("  chain sent (leaf first): %s" % ", ".join(c.label for c in self.chain))
        lines.append("  TLSA records:")
        for r, what in self.records:
            u, s, m, data = r.split(" ", 3)
            short = data if len(data) <= 24 else data[:16] + "..." + data[-8:]
            lines.append("    %s %s %s %s  <- %s" % (u, s, m, short, what))
        lines.append("  chain file: %s" % self.chain_path)
        return "\n".join(lines)


# Features every run covers whatever the seed: case k < len(FEATURES) is
# made with FEATURES[k] forced on. The directed ones (DIRECTED) are made
# so that the feature decides the verdict: a plain leaf (SAN, serverAuth,
# in its dates, the CA issuer right above it), the matching reference name
# and one TLSA record chosen for the feature; the others only switch the
# feature on and leave the rest random. Cases from len(FEATURES) on draw
# every feature at random.
FEATURES = [
    "renewed-before",     # an expired twin of the leaf's issuer sent first,
                          # the DANE-TA(2) anchor above the pair
    "unsent-anchor",      # 2 0 0 / 2 1 0 of a CA the server does not send
    "partial-wildcard",   # "mx*.example" leaf name, DANE-TA(2)
    "trailing-dot",       # "mx.example." reference name, DANE-TA(2)
    "expired-anchor",     # an expired intermediate as the DANE-TA(2) anchor
    "own-key",            # a self-signed leaf and 2 1 0 of its own key
    "twin-anchor",        # two valid issuers of the leaf (same name and
                          # key), 2 0 x of the one sent second
    "self-signed-leaf",
    "ee-issuer",          # the leaf issued by a CA:FALSE certificate
    "pathlen",            # int1 pathlen:0 above int2
    "agility",            # a SHA2-512 record hiding a matching SHA2-256 one
    "missing-int",
    "impostor",           # same name as the leaf's issuer, other key
    "expired-int",
    "expired-leaf",
    "cn-only",
    "wildcard",
    "shuffled",
    "pkix-usage",         # a PKIX-TA(0)/PKIX-EE(1) record in the set
]
DIRECTED = ("renewed-before", "unsent-anchor", "partial-wildcard", "trailing-dot",
            "expired-anchor", "own-key", "twin-anchor")


def _time_notes(rng, p_expired, p_future, force=False):
    x = rng.random()
    if force or x < p_expired:
        return {"expired": True}, ["expired"]
    if x < p_expired + p_future:
        return {"not_yet_valid": True}, ["not yet valid"]
    return {}, []


def make_case(rng, index, dir, force=None):
    """A random PKI, chain, TLSA RRset and reference name; FORCE, one of
    FEATURES, is then certainly in it."""
    case = Case(index, dir)
    if force:
        case.story.append("forced: " + force)
    pki = certs.Pki(os.path.join(dir, "pki"))
    kind = lambda: rng.choice(["rsa", "rsa", "ec"])   # noqa: E731
    # FORCE's feature always; any feature at random unless the case is
    # directed (then only FORCE's)
    plain = force in DIRECTED
    want = lambda f, p: force == f or (not plain and rng.random() < p)   # noqa: E731
    dom = "d%d.test" % index
    host = "mx." + dom

    # --- the CAs
    kw, notes = _time_notes(rng, 0.06, 0.0)
    if plain:
        kw, notes = {}, []
    root = case.add("root", pki.root("Root %d" % index, key=kind(), **kw), notes)
    cas = [root]
    n_int = rng.choice([0, 1, 1, 2, 2])
    if force in ("renewed-before", "missing-int", "impostor", "expired-int",
                 "expired-anchor", "twin-anchor"):
        n_int = rng.choice([1, 2])
    elif force == "pathlen":
        n_int = 2
    for k in range(n_int):
        last = k == n_int - 1
        kw, notes = _time_notes(rng, 0.12, 0.04, last and force in ("expired-int",
                                                                   "expired-anchor"))
        if plain and not (last and force == "expired-anchor"):
            kw, notes = {}, []
        pathlen = None
        if k == 0 and n_int == 2 and want("pathlen", 0.15):
            pathlen, notes = 0, notes + ["pathlen:0"]
        c = pki.intermediate(cas[-1].cert, "Int%d %d" % (k + 1, index), key=kind(),
                             pathlen=pathlen, **kw)
        cas.append(case.add("int%d" % (k + 1), c, notes))
    issuer = cas[-1]
    above_leaf = []              # certificates between the leaf and cas[-1]
    if want("ee-issuer", 0.06):
        # a leaf-profile certificate (CA:FALSE, no keyCertSign) as issuer
        ee = pki.leaf(issuer.cert, "EE Issuer %d" % index, sans=["ee-issuer." + dom],
                      key=kind())
        issuer = case.add("ee-issuer", ee, ["CA:FALSE issuer"])
        above_leaf.append(issuer)
        case.story.append("leaf issued by a CA:FALSE certificate")

    # --- the leaf
    shapes = ["san", "san", "san", "san-multi", "san-wild", "san-wild", "cn", "cn-wild",
              "san-miss-cn-hit", "ip-san-cn", "partial-wild", "wild-tld", "san-upper"]
    shape = rng.choice(shapes)
    if force == "partial-wildcard":
        shape = "partial-wild"
    elif force == "cn-only":
        shape = rng.choice(["cn", "cn-wild"])
    elif force == "wildcard":
        shape = rng.choice(["san-wild", "cn-wild"])
    elif plain:
        shape = "san"
    cn, sans = host, [host]
    if shape == "san-multi":
        cn, sans = "other." + dom, ["other." + dom, host]
    elif shape == "san-wild":
        cn, sans = "*." + dom, ["*." + dom]
    elif shape == "cn":
        sans = None
    elif shape == "cn-wild":
        cn, sans = "*." + dom, None
    elif shape == "san-miss-cn-hit":
        sans = ["other." + dom]
    elif shape == "ip-san-cn":
        sans = ["192.0.2.%d" % (index % 250 + 1)]
    elif shape == "partial-wild":
        # OpenSSL takes the first two as wildcards, not the third
        w = rng.choice(["mx*.", "*x."] + ([] if force else ["m*x."]))
        cn, sans = w + dom, [w + dom]
    elif shape == "wild-tld":
        cn, sans = "*.test", ["*.test"]
    elif shape == "san-upper":
        cn, sans = host.upper(), [host.upper()]
    case.story.append("leaf names %s" % shape)
    eku = rng.choice(["serverAuth"] * 8 + ["clientAuth", None, "serverAuth,clientAuth"])
    kw, notes = _time_notes(rng, 0.12, 0.05, force == "expired-leaf")
    if plain:
        eku, kw, notes = "serverAuth", {}, []
    if eku != "serverAuth":
        notes.append("EKU %s" % (eku or "absent"))
    self_signed = force == "own-key" or want("self-signed-leaf", 0.07)
    if self_signed:
        notes.append("self-signed")
        case.story.append("self-signed leaf")
    leaf = pki.leaf(None if self_signed else issuer.cert, cn, sans=sans, key=kind(),
                    eku=eku, self_signed=self_signed, **kw)
    case.leaf = case.add("leaf", leaf, notes)
    case.leaf.sans, case.leaf.cn = sans, cn
    if not plain and rng.random() < 0.3:
        other = pki.leaf(issuer.cert, "alt." + dom, sans=["alt." + dom], key=kind())
        ci = case.add("other-leaf", other, ["not sent"])
        ci.sans, ci.cn = ["alt." + dom], "alt." + dom

    # --- extras
    extras = []
    if want("unrelated", 0.15):
        u = pki.root("Unrelated %d" % index, key=kind())
        extras.append(case.add("unrelated", u, ["unrelated CA"]))
    if n_int and want("impostor", 0.12):
        # the same name as the leaf's CA issuer, another key
        imp = pki.intermediate(cas[-2].cert, "Int%d %d" % (n_int, index), key=kind())
        extras.append(case.add("impostor", imp, ["same name as int%d, other key" % n_int]))
    renewed = None
    if n_int and (force == "twin-anchor" or want("renewed-before", 0.15)):
        # the leaf's CA issuer again, same name and key, other dates: a
        # server sending the old and the new intermediate while it
        # changes over (RFC 8446 4.4.2)
        exp = force == "renewed-before" or (force != "twin-anchor" and rng.random() < 0.7)
        ren = pki.intermediate(cas[-2].cert, "Int%d %d" % (n_int, index),
                               key=cas[-1].cert, expired=exp)
        renewed = case.add("renewed", ren, ["same name and key as int%d" % n_int] +
                           (["expired"] if exp else []))

    # --- the chain sent
    rest = above_leaf + list(reversed(cas))     # nearest first
    keep = []                    # what a directed case needs sent
    if force == "renewed-before":
        keep = [cas[-1], cas[-2]]
    elif force in ("partial-wildcard", "trailing-dot", "expired-anchor", "twin-anchor"):
        keep = [cas[-1]]
    if root not in keep and force != "unsent-anchor" and rng.random() < 0.45:
        rest.remove(root)
        case.story.append("root not sent")
    mids = [c for c in rest if c.label.startswith("int") and c not in keep]
    if mids and want("missing-int", 0.12):
        gone = rng.choice(mids)
        rest.remove(gone)
        case.story.append("%s not sent" % gone.label)
    unsent_anchor = None
    if force == "unsent-anchor":
        # what is sent ends below a CA that only the TLSA record carries
        # (dane.h: a full 2 0 0 / 2 1 0 anchor need not be sent)
        unsent_anchor = rng.choice(cas)
        for c in cas[:cas.index(unsent_anchor) + 1]:
            if c in rest:
                rest.remove(c)
        case.story.append("%s only in the TLSA record" % unsent_anchor.label)
    rest += extras
    if renewed is not None:
        # before or after its twin (or last, when the twin is not sent)
        twin = cas[-1]
        at = len(rest)
        if twin in rest:
            at = rest.index(twin) + (0 if force in ("renewed-before", "twin-anchor")
                                     else rng.choice([0, 1]))
        rest.insert(at, renewed)
        case.story.append("renewed int%d %s" % (n_int, "before it" if twin in rest and
                                                 rest.index(twin) > at else "after it"))
    if not plain and rng.random() < 0.04 and rest:
        rest.append(rng.choice(rest))
        case.story.append("a certificate sent twice")
    if want("shuffled", 0.35):
        rng.shuffle(rest)
        case.story.append("shuffled")
    if self_signed and rng.random() < 0.6:
        rest = []
    case.chain = [case.leaf] + rest
    case.chain_path = certs.chain_pem(os.path.join(dir, "chain.pem"),
                                      [c.cert for c in case.chain])

    # --- the TLSA RRset
    sel, digest = rng.choice([0, 1]), rng.choice([1, 2])
    if force == "renewed-before":
        # an anchor above the pair: only the path through the valid twin
        # verifies
        case.records.append((cas[-2].cert.tlsa(2, sel, digest),
                             "%s (above the renewed pair)" % cas[-2].label))
    elif force == "unsent-anchor":
        case.records.append((unsent_anchor.cert.tlsa(2, sel, 0),
                             "%s in full, not sent" % unsent_anchor.label))
    elif force in ("partial-wildcard", "trailing-dot", "expired-anchor"):
        case.records.append((cas[-1].cert.tlsa(2, sel, digest), cas[-1].label))
    elif force == "twin-anchor":
        # the certificate, not the key: only the twin sent second matches
        case.records.append((cas[-1].cert.tlsa(2, 0, digest),
                             "%s (sent after its renewed twin)" % cas[-1].label))
    elif force == "own-key":
        case.records.append((case.leaf.cert.tlsa(2, 1, 0), "leaf (own key as anchor)"))
    else:
        for _ in range(rng.choice([1, 1, 2, 2, 3])):
            case.records.append(_record(rng, case))
    if force == "pkix-usage":
        t = case.leaf if rng.random() < 0.5 else rng.choice(cas)
        u = 1 if t is case.leaf else 0
        case.records.append((t.cert.tlsa(u, rng.choice([0, 1]), 1), "%s as PKIX" % t.label))
    if want("agility", 0.1):
        # digest agility: a SHA2-512 record that hides a matching SHA2-256
        # one of the same usage and selector (RFC 7671 9)
        u, sel = rng.choice([(3, 1), (3, 0), (2, 0), (2, 1)])
        target = case.leaf if u == 3 else rng.choice(cas)
        case.records.append((target.cert.tlsa(u, sel, 1), "%s (agility pair)" % target.label))
        case.records.append(("%d %d 2 %s" % (u, sel, rng.randbytes(64).hex()),
                             "garbage SHA2-512 (agility pair)"))
        case.story.append("agility pair")
    rng.shuffle(case.records)

    # --- the reference name
    pick = rng.random()
    if shape == "partial-wild" and (force == "partial-wildcard" or pick < 0.7):
        name = {"mx*.": "mx1.", "*x.": "mx.", "m*x.": "mx."}[sans[0].split(dom)[0]] + dom
    elif plain or pick < 0.62:
        name = host
    else:
        name = rng.choice(["other." + dom, "a.mx." + dom, dom, "alt." + dom,
                           "mx.d%d.test" % (index + 1)])
    if not plain and rng.random() < 0.15:
        name = "".join(ch.upper() if rng.random() < 0.5 else ch for ch in name)
    if want("trailing-dot", 0.1):
        name += "."
    case.name = name
    return case


def _record(rng, case):
    """One TLSA record (text, what it was made from)."""
    x = rng.random()
    if x < 0.03:
        # unknown values, or a digest of the wrong length: unusable
        bad = rng.choice(["4 1 1 %s" % rng.randbytes(32).hex(),
                          "3 2 1 %s" % rng.randbytes(32).hex(),
                          "3 1 3 %s" % rng.randbytes(32).hex(),
                          "2 1 1 %s" % rng.randbytes(31).hex(),
                          "3 0 2 %s" % rng.randbytes(48).hex()])
        return bad, "unusable values"
    usage = 0 if x < 0.07 else 1 if x < 0.1 else 3 if x < 0.52 else 2
    sel = rng.choice([0, 1])
    mtype = rng.choice([0, 1, 1, 1, 2, 2])
    if rng.random() < 0.15:
        n = {0: rng.randrange(40, 400), 1: 32, 2: 64}[mtype]
        return "%d %d %d %s" % (usage, sel, mtype, rng.randbytes(n).hex()), "garbage"
    cas = [c for c in case.certs if c.label not in ("leaf", "other-leaf")]
    if usage in (1, 3):
        target = case.leaf if rng.random() < 0.75 else rng.choice(case.certs)
    else:
        target = rng.choice(cas) if rng.random() < 0.8 else rng.choice(case.certs)
    sent = "" if target in case.chain else ", not sent"
    return target.cert.tlsa(usage, sel, mtype), "%s%s" % (target.label, sent)


# ------------------------------------------------------------ judges

class Verdict:
    def __init__(self, verified, reason, detail, output, peername=None):
        self.verified, self.reason, self.detail = verified, reason, detail
        self.output, self.peername = output, peername

    def word(self):
        return "verified" if self.verified else "not verified"


class Judges:
    def __init__(self):
        self.runs = 0

    # --- tern
    def tern(self, case, records, names):
        argv = list(harness.RUNNER) + [harness.TERN, "dane", "verify", "--chain", case.chain_path]
        for n in names:
            argv += ["--name", n]
        for r in records:
            argv += ["--tlsa", r]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        harness.check_sanitizer(r.stderr, "tern dane verify")
        out = r.stdout + r.stderr
        if r.returncode not in (0, 1):
            raise AssertionError("tern dane verify exited %d on case %d:\n%s\n%s" %
                                 (r.returncode, case.index, out, case.describe()))
        first = r.stdout.splitlines()[0] if r.stdout else ""
        m = re.match(r"^(verified|not verified): (.*)$", first)
        if m is None or (m.group(1) == "verified") != (r.returncode == 0):
            raise AssertionError("tern dane verify: exit %d with %r on case %d" %
                                 (r.returncode, first, case.index))
        return Verdict(r.returncode == 0, m.group(2), m.group(2), out)

    # --- OpenSSL
    def openssl(self, case, records, name, chain=None):
        """s_server presents the case's chain (or CHAIN, the same
        certificates in another order); s_client judges it with OpenSSL's
        DANE (RFC 7671 semantics, DANE-EE without name checks as RFC 7672
        3.1.1 wants) and no trust store."""
        chain = chain or case.chain
        self.runs += 1
        tag = "%d-%d" % (case.index, self.runs)
        srv_out = os.path.join(case.dir, "s_server-%s.out" % tag)
        argv = ["openssl", "s_server", "-accept", "127.0.0.1:0",
                "-cert", case.leaf.cert.pem_path, "-key", case.leaf.cert.key_path,
                "-naccept", "1"]
        if len(chain) > 1:
            rest = certs.chain_pem(os.path.join(case.dir, "rest-%s.pem" % tag),
                                   [c.cert for c in chain[1:]])
            argv += ["-cert_chain", rest]
        with open(srv_out, "w+") as out:
            # stdin stays open: s_server stops at end of input
            srv = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=out,
                                   stderr=subprocess.STDOUT)
            try:
                port = self._server_port(srv, srv_out)
                cargv = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
                         "-no-CAfile", "-no-CApath", "-no-CAstore",
                         "-dane_tlsa_domain", name, "-dane_ee_no_namechecks",
                         "-verify_return_error", "-brief"]
                for r in records:
                    cargv += ["-dane_tlsa_rrdata", r]
                try:
                    c = subprocess.run(cargv, stdin=subprocess.DEVNULL, capture_output=True,
                                       text=True, timeout=20)
                except subprocess.TimeoutExpired as e:
                    raise AssertionError("openssl s_client timed out on case %d: %s" %
                                         (case.index, e.stderr))
            finally:
                if srv.poll() is None:
                    try:
                        srv.wait(2)
                    except subprocess.TimeoutExpired:
                        srv.kill()
                        srv.wait()
                srv.stdin.close()
        return self._classify(case, c, cargv)

    @staticmethod
    def _server_port(srv, path):
        end = time.monotonic() + 15
        while time.monotonic() < end:
            with open(path) as f:
                m = re.search(r"^ACCEPT .*:(\d+)$", f.read(), re.M)
            if m:
                return int(m.group(1))
            if srv.poll() is not None:
                break
            time.sleep(0.01)
        with open(path) as f:
            text = f.read()
        raise AssertionError("openssl s_server did not start (exit %s): %s" %
                             (srv.poll(), text))

    @staticmethod
    def _classify(case, c, argv):
        out = c.stdout + c.stderr
        if c.returncode == 0 and re.search(r"^Verification: OK$", out, re.M):
            m = re.search(r"^DANE TLSA (.*)$", out, re.M)
            if m is None:
                raise AssertionError("s_client verified without a DANE match:\n%s" % out)
            p = re.search(r"^Verified peername: (.*)$", out, re.M)
            return Verdict(True, m.group(1), m.group(1), out, p.group(1) if p else None)
        if "Failed to import any TLSA records" in out:
            return Verdict(False, "no usable TLSA record", "no usable TLSA record", out)
        m = re.search(r"^verify error:num=\d+:(.*)$", out, re.M)
        if c.returncode != 0 and m:
            return Verdict(False, m.group(1), m.group(1), out)
        raise AssertionError("openssl s_client: no verdict (exit %d) on case %d:\n%s\n%s\n%s" %
                             (c.returncode, case.index, " ".join(argv), out, case.describe()))


# ------------------------------------------------------------ the test

@unittest.skipUnless(enabled("CONFIG_TLS_DANE"), "built without DANE")
class DaneDiffTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if shutil.which("openssl") is None:
            raise AssertionError("openssl not found: run ports/debian/install-deps.sh check")
        h = subprocess.run(["openssl", "s_client", "-help"], capture_output=True, text=True)
        for opt in ("-dane_tlsa_domain", "-dane_tlsa_rrdata", "-dane_ee_no_namechecks"):
            if opt not in h.stdout + h.stderr:
                raise AssertionError("openssl s_client has no %s (OpenSSL 1.1.0+ needed)" % opt)
        cls.tmp = tempfile.mkdtemp(prefix="tern-dane-diff-")

    @classmethod
    def tearDownClass(cls):
        if os.environ.get("TERN_DANE_DIFF_KEEP") != "1":
            shutil.rmtree(cls.tmp, ignore_errors=True)
        else:
            print("dane-diff: cases kept in %s" % cls.tmp)

    def test_dane_diff_tern_vs_openssl(self):
        seed = _seed()
        n = int(os.environ.get("TERN_DANE_DIFF_CASES", DEFAULT_CASES))
        print("\ndane-diff: seed %d, %d cases (TERN_DANE_DIFF_SEED=%d reproduces)" %
              (seed, n, seed), flush=True)
        rng = random.Random(seed)
        judge = Judges()
        problems, stats = [], {"agree": 0, "both verified": 0, "both not verified": 0,
                               "pkix only": 0}
        known_seen = {k.key: 0 for k in KNOWN_DIFFERENCES}
        t0 = time.monotonic()
        for i in range(n):
            d = os.path.join(self.tmp, "case%02d" % i)
            os.makedirs(d)
            case = make_case(rng, i, d, FEATURES[i] if i < len(FEATURES) else None)
            try:
                self._one(case, judge, stats, known_seen)
            except AssertionError as e:
                problems.append("seed %d %s\n%s" % (seed, e, case.describe()))
        took = time.monotonic() - t0
        print("dane-diff: %d cases in %.1f s: %s; known differences: %s" %
              (n, took, ", ".join("%s %d" % kv for kv in stats.items()),
               ", ".join("%s %d" % kv for kv in known_seen.items())), flush=True)
        if problems:
            self.fail("%d unexplained problem(s), seed %d (TERN_DANE_DIFF_KEEP=1 keeps "
                      "the case files):\n\n%s" % (len(problems), seed, "\n\n".join(problems)))
        # a generator that only made failures (or only matches) tests
        # nothing: both kinds of verdict must be there
        if n >= 20:
            self.assertGreaterEqual(stats["both verified"], n // 8, stats)
            self.assertGreaterEqual(stats["both not verified"], n // 8, stats)

    def _one(self, case, judge, stats, known_seen):
        records = [r for r, _ in case.records]
        smtp = case.smtp_records()
        t = judge.tern(case, records, [case.name])

        # tern alone: records 0/1 change nothing (RFC 7672 3.1.3) ...
        if smtp != records:
            if not smtp:
                stats["pkix only"] += 1
                self.assertFalse(t.verified, "only PKIX records, yet verified:\n" + t.output)
                self.assertIn("no usable TLSA record", t.reason)
                return
            t2 = judge.tern(case, smtp, [case.name])
            if t2.verified != t.verified:
                raise AssertionError("PKIX-TA/PKIX-EE records changed tern's verdict: "
                                     "with them %s (%s), without %s (%s)" %
                                     (t.word(), t.reason, t2.word(), t2.reason))
        # ... and neither does a reference name that matches nothing,
        # before or after the real one
        for names in ([DECOY_NAME, case.name], [case.name, DECOY_NAME]):
            t3 = judge.tern(case, records, names)
            if t3.verified != t.verified:
                raise AssertionError("names %s changed tern's verdict: %s (%s) vs %s (%s)" %
                                     (names, t3.word(), t3.reason, t.word(), t.reason))

        o = judge.openssl(case, smtp, case.name)
        if os.environ.get("TERN_DANE_DIFF_VERBOSE") == "1":
            print("dane-diff: case %d (%s; %s): tern %s (%s); OpenSSL %s (%s)" %
                  (case.index, "; ".join(case.story),
                   " | ".join("%s <- %s" % (r[:5], w) for r, w in case.records),
                   t.word(), t.reason, o.word(), o.detail), flush=True)
        if o.verified == t.verified:
            stats["agree"] += 1
            stats["both verified" if t.verified else "both not verified"] += 1
            return
        rows = [k for k in KNOWN_DIFFERENCES
                if k.tern == t.verified and k.openssl == o.verified and k.applies(case, t, o)]
        report = ("tern %s: %s\nOpenSSL %s: %s\n--- tern output\n%s--- OpenSSL output\n%s" %
                  (t.word(), t.reason, o.word(), o.detail, t.output, o.output))
        if not rows:
            raise AssertionError("case %d: unexplained disagreement\n%s" % (case.index, report))
        row = rows[0]
        if row.confirm is not None:
            ok, what = row.confirm(case, judge, t, o)
            if not ok:
                raise AssertionError("case %d: looks like known difference %r but the "
                                     "confirming run disagrees (%s)\n%s" %
                                     (case.index, row.key, what, report))
        known_seen[row.key] += 1
        print("dane-diff: case %d: known difference %s: tern %s, OpenSSL %s (%s); %s" %
              (case.index, row.key, t.word(), o.word(), o.detail, row.why), flush=True)


if __name__ == "__main__":
    unittest.main()

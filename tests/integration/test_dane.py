"""test_dane.py - DANE end to end (RFC 7672): the real signed zone
(NSD + Unbound, dnszone.py), real TLS receivers (aiosmtpd with STARTTLS
and openssl-made certificates, certs.py) on their own loopback
addresses, and tern delivering by MX. A 3 1 1 match is delivered with
CV=dane; a mismatch, a missing STARTTLS, a bogus TLSA lookup and a
DANE-TA chain with the wrong name are deferred with nothing sent in
clear text (or at all); an insecure zone is delivered without DANE; a
failing MX host is followed by a matching one; CNAME'd MX hosts use the
expanded name's TLSA records, then the initial name's;
hosts_require_dane without TLSA defers; `tern dane probe` tells why.
The TLSA RRset of an otherwise good zone with an expired, a not yet
valid or a broken signature is bogus: deferred, never connected to. A
resolver outside dns_trusted_servers is not believed on its AD bit: no
DANE (opportunistic TLS), and hosts_require_dane defers."""
import os
import socket
import tempfile
import threading
import unittest

import certs
import harness
from harness import Sink, Tern, enabled, free_port

try:
    import dnszone
except ImportError:      # pragma: no cover
    dnszone = None


class FakeStartTls:
    """A hostile SMTP server for one address: it advertises STARTTLS, then
    either refuses it (mode "454"), or answers 220 and sends bytes that are
    no TLS record (a failed handshake, "garbage"), or answers 220 with a
    clear-text reply injected right behind it ("inject", CVE-2011-0411 from
    the server's side); anything a client sends after that in clear text,
    MAIL included, is accepted. lines: all it received."""

    def __init__(self, host, port, mode):
        self.mode = mode
        self.lines = []
        self.srv = socket.create_server((host, port))
        self.srv.settimeout(0.2)
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping:
            try:
                c, _ = self.srv.accept()
            except OSError:
                continue
            try:
                self._session(c)
            except OSError:
                pass
            finally:
                c.close()

    def _session(self, c):
        c.settimeout(10)
        f = c.makefile("rb")
        c.sendall(b"220 fake.test ESMTP\r\n")
        for raw in f:
            line = raw.decode(errors="replace").rstrip("\r\n")
            self.lines.append(line)
            verb = line.split(" ", 1)[0].upper()
            if verb == "EHLO":
                c.sendall(b"250-fake.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n")
            elif verb == "STARTTLS" and self.mode == "454":
                c.sendall(b"454 4.7.0 TLS not available now\r\n")
            elif verb == "STARTTLS" and self.mode == "inject":
                c.sendall(b"220 2.0.0 go ahead\r\n250 2.0.0 injected\r\n")
                c.recv(4096)
            elif verb == "STARTTLS":
                c.sendall(b"220 2.0.0 go ahead\r\n")
                c.recv(4096)                      # the ClientHello
                c.sendall(b"this is not a TLS record\r\n" * 4)
            elif verb == "QUIT":
                c.sendall(b"221 bye\r\n")
                return
            elif verb == "DATA":
                c.sendall(b"354 go\r\n")
            else:
                c.sendall(b"250 ok\r\n")

    def stop(self):
        self.stopping = True
        self.srv.close()
        self.thread.join(5)


@unittest.skipUnless(enabled("CONFIG_TLS_DANE") and enabled("CONFIG_ROUTER_DNSLOOKUP"),
                     "built without DANE or MX delivery")
class DaneDeliverTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        missing = dnszone.missing_tools()
        if missing:
            raise AssertionError("missing tools %s: run ports/debian/install-deps.sh check"
                                 % missing)
        cls.dir = tempfile.mkdtemp(prefix="tern-dane-")
        pki = certs.Pki(cls.dir)
        cls.root = pki.root("DANE Test Root")
        cls.inter = pki.intermediate(cls.root, "DANE Test Intermediate")
        names = ["h-%s.secure.test" % n for n in
                 ("ok", "bad", "nost", "bt", "ta", "taok", "real", "real2", "none", "unus")]
        # one leaf for every host: names only matter under DANE-TA
        cls.leaf = pki.leaf(cls.inter, "h-ok.secure.test", sans=names + ["h-ins.insecure.test"])
        cls.wrong = pki.leaf(cls.inter, "elsewhere.example", sans=["elsewhere.example"])
        cls.other = pki.leaf(cls.inter, "other.secure.test", sans=["other.secure.test"])
        cls.chain = certs.chain_pem(os.path.join(cls.dir, "leaf-chain.pem"),
                                    [cls.leaf, cls.inter])
        cls.wrong_chain = certs.chain_pem(os.path.join(cls.dir, "wrong-chain.pem"),
                                          [cls.wrong, cls.inter])
        cls.port = free_port()
        p = cls.port
        ee = cls.leaf.tlsa(3, 1, 1)
        # the intermediate, which the servers send (a digest of a root they
        # do not send could never match: RFC 7671 5.2.2)
        ta = cls.inter.tlsa(2, 0, 1)
        secure = [
            "d-ok MX 10 h-ok", "h-ok A 127.0.0.11", "_%d._tcp.h-ok TLSA %s" % (p, ee),
            "d-bad MX 10 h-bad", "h-bad A 127.0.0.12",
            "_%d._tcp.h-bad TLSA %s" % (p, cls.other.tlsa(3, 1, 1)),
            "d-nost MX 10 h-nost", "h-nost A 127.0.0.13", "_%d._tcp.h-nost TLSA %s" % (p, ee),
            "d-bt MX 10 h-bt", "h-bt A 127.0.0.14",
            "_%d._tcp.h-bt CNAME tlsa.bogus.test." % p,
            "d-ta MX 10 h-ta", "h-ta A 127.0.0.15", "_%d._tcp.h-ta TLSA %s" % (p, ta),
            "d-taok MX 10 h-taok", "h-taok A 127.0.0.16", "_%d._tcp.h-taok TLSA %s" % (p, ta),
            "d-fb MX 10 h-bad", "d-fb MX 20 h-ok",
            "d-cn MX 10 h-alias", "h-alias CNAME h-real", "h-real A 127.0.0.18",
            "_%d._tcp.h-real TLSA %s" % (p, ee),
            "d-cn2 MX 10 h-alias2", "h-alias2 CNAME h-real2", "h-real2 A 127.0.0.19",
            "_%d._tcp.h-alias2 TLSA %s" % (p, ee),
            "d-none MX 10 h-none", "h-none A 127.0.0.20",
            "d-unus MX 10 h-unus", "h-unus A 127.0.0.21",
            "_%d._tcp.h-unus TLSA 0 0 1 %s" % (p, "ab" * 32),
        ]
        # a TLSA RRset whose RRSIG is expired, not yet valid or broken,
        # in the good zone (set_sig below): bogus, the rest secure
        cls.sig_faults = {"exp": ("expired", "127.0.0.22"),
                          "fut": ("future", "127.0.0.23"),
                          "brk": ("broken", "127.0.0.24")}
        for n, (_, ip) in cls.sig_faults.items():
            secure += ["d-%s MX 10 h-%s" % (n, n), "h-%s A %s" % (n, ip),
                       "_%d._tcp.h-%s TLSA %s" % (p, n, ee)]
        # hosts that refuse STARTTLS (454) or break the handshake
        # (FakeStartTls); an MX host whose A RRset is bogus; a domain whose
        # MX RRset is bogus, with an A record that must not be used instead
        secure += ["d-s454 MX 10 h-s454", "h-s454 A 127.0.0.25",
                   "_%d._tcp.h-s454 TLSA %s" % (p, ee),
                   "d-hsf MX 10 h-hsf", "h-hsf A 127.0.0.26",
                   "_%d._tcp.h-hsf TLSA %s" % (p, ee),
                   "d-abg MX 10 h-abg", "h-abg A 127.0.0.27",
                   "_%d._tcp.h-abg TLSA %s" % (p, ee),
                   "d-mbg MX 10 h-mbg", "d-mbg A 127.0.0.28", "h-mbg A 127.0.0.28",
                   "d-inj MX 10 h-inj", "h-inj A 127.0.0.29",
                   "_%d._tcp.h-inj TLSA %s" % (p, ee)]
        # every other way a record is unusable (RFC 7672 3.1.3): PKIX-EE,
        # unknown usage, selector and matching type
        secure += ["d-unus2 MX 10 h-unus2", "h-unus2 A 127.0.0.30"]
        secure += ["_%d._tcp.h-unus2 TLSA %s %s" % (p, usm, "ab" * 32)
                   for usm in ("1 1 1", "4 1 1", "3 7 1", "3 1 9", "2 1 255")]
        insecure = ["d-ins MX 10 h-ins", "h-ins A 127.0.0.17",
                    "_%d._tcp.h-ins TLSA %s" % (p, cls.other.tlsa(3, 1, 1))]
        bogus = ["tlsa TLSA %s" % ee]
        cls.dns = dnszone.DnsZones(records={"secure.test": secure,
                                            "insecure.test": insecure,
                                            "bogus.test": bogus})
        for n, (fault, _) in cls.sig_faults.items():
            cls.dns.set_sig("_%d._tcp.h-%s.secure.test" % (p, n), "TLSA", fault)
        cls.dns.set_sig("h-abg.secure.test", "A", "broken")
        cls.dns.set_sig("d-mbg.secure.test", "MX", "broken")
        cls.dns.start()

    @classmethod
    def tearDownClass(cls):
        cls.dns.stop()

    def sink(self, ip, chain=None, **kw):
        if chain is None:
            chain = self.chain
        s = Sink(host=ip, port=self.port, tls_cert=chain, tls_key=self.leaf.key_path
                 if chain == self.chain else self.wrong.key_path if chain == self.wrong_chain
                 else None, **kw)
        self.addCleanup(s.stop)
        return s

    def tern(self, extra=""):
        t = Tern("[transport remote_smtp]\nport = %d\nconnect_timeout = 2s\n"
                 "command_timeout = 2s\n%s" % (self.port, extra),
                 "dns_servers = %s\n" % self.dns.resolver)
        self.addCleanup(t.cleanup)
        return t

    def send(self, t, rcpt):
        r = t.sendmail("-odq", "-f", "alice@example.net", rcpt,
                       input=b"Subject: dane\n\nconfidential\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        qid = t.queue_ids()[-1]
        r = t.cmd("queue", "run")
        self.assertEqual(r.returncode, 0, r.stderr)
        return qid

    def assertNothingSent(self, sink):
        self.assertEqual(sink.messages(), [])
        mail = [c for c in sink.commands() if "MAIL" in c.upper() or "RCPT" in c.upper()]
        self.assertEqual(mail, [], "envelope sent to a host that failed DANE")

    def test_ee_match_delivered_with_cv_dane(self):
        sink = self.sink("127.0.0.11")
        t = self.tern()
        qid = self.send(t, "bob@d-ok.secure.test")
        self.assertEqual(len(sink.messages()), 1, t.read_log())
        self.assertTrue(sink.messages()[0]["tls"])
        self.assertRegex(t.read_log(), r"%s => bob@d-ok.secure.test R=dnslookup T=remote_smtp "
                         r"H=h-ok.secure.test \[127.0.0.11\]:%d X=TLS\S+ CV=dane C=\"250 "
                         % (qid, self.port))

    def test_mismatch_defers_and_sends_nothing(self):
        sink = self.sink("127.0.0.12")
        t = self.tern()
        qid = self.send(t, "bob@d-bad.secure.test")
        self.assertNothingSent(sink)
        self.assertEqual(t.queue_ids(), [qid])
        self.assertRegex(t.read_log(), r"== bob@d-bad.secure.test .*defer: .*DANE verification "
                         r"failed: no TLSA record matched")

    def test_no_starttls_defers_never_clear_text(self):
        sink = self.sink("127.0.0.13", no_starttls=True)
        t = self.tern()
        qid = self.send(t, "bob@d-nost.secure.test")
        self.assertNothingSent(sink)
        self.assertEqual(t.queue_ids(), [qid])
        self.assertRegex(t.read_log(), r"%s == bob@d-nost.secure.test .*defer: .*"
                         r"TLS is required" % qid)

    def test_bogus_tlsa_makes_the_host_unusable(self):
        sink = self.sink("127.0.0.14")
        t = self.tern()
        qid = self.send(t, "bob@d-bt.secure.test")
        self.assertEqual(sink.commands(), [])          # not even connected
        self.assertEqual(t.queue_ids(), [qid])
        self.assertRegex(t.read_log(), r"== bob@d-bt.secure.test .*TLSA lookup .* failed")

    def sig_fault_defers(self, n, reason):
        fault, ip = self.sig_faults[n]
        sink = self.sink(ip)
        t = self.tern()
        qid = self.send(t, "bob@d-%s.secure.test" % n)
        self.assertEqual(sink.commands(), [])          # not even connected
        self.assertEqual(t.queue_ids(), [qid])
        log = t.read_log()
        self.assertRegex(log, r"%s == bob@d-%s.secure.test .*defer: h-%s.secure.test: TLSA "
                         r"lookup for h-%s.secure.test failed \(SERVFAIL.* for "
                         r"_%d._tcp.h-%s.secure.test\): host not used"
                         % (qid, n, n, n, self.port, n))
        self.assertNotIn("=> bob@d-%s" % n, log)
        # bogus for the reason meant, the rest of the zone being good
        self.assertRegex(self.dns.logs(), r"validation failure <_%d._tcp.h-%s.secure.test. "
                         r"TLSA IN>: %s" % (self.port, n, reason))
        r = t.cmd("route", "bob@d-%s.secure.test" % n)
        self.assertRegex(r.stdout, r"MX d-%s.secure.test \(ok, secure\)" % n)
        self.assertIn("host unusable, the TLSA lookup failed (deferred)", r.stdout)
        # and again on the next queue run: still nothing sent
        t.cmd("queue", "run")
        self.assertEqual(sink.commands(), [])
        self.assertEqual(t.queue_ids(), [qid])

    def test_expired_tlsa_signature_defers(self):
        self.sig_fault_defers("exp", "signature expired")

    def test_not_yet_valid_tlsa_signature_defers(self):
        self.sig_fault_defers("fut", "signature before inception date")

    def test_broken_tlsa_signature_defers(self):
        self.sig_fault_defers("brk", "signature crypto failed")

    def fake_starttls_defers(self, ip, n, mode, reason):
        fake = FakeStartTls(ip, self.port, mode)
        self.addCleanup(fake.stop)
        t = self.tern()
        qid = self.send(t, "bob@d-%s.secure.test" % n)
        self.assertIn("STARTTLS", fake.lines, t.read_log())
        self.assertEqual([c for c in fake.lines if c.upper().startswith(("MAIL", "RCPT"))],
                         [], "envelope sent in clear text to a DANE host")
        self.assertEqual(t.queue_ids(), [qid])
        self.assertRegex(t.read_log(), r"%s == bob@d-%s.secure.test .*defer: .*%s"
                         % (qid, n, reason))
        self.assertNotIn("=> bob@d-%s" % n, t.read_log())

    def test_starttls_refused_defers(self):
        # advertised, then "454": no falling back to clear text
        self.fake_starttls_defers("127.0.0.25", "s454", "454",
                                  "STARTTLS refused and TLS is required: 454")

    def test_tls_handshake_failure_defers(self):
        # 220 to STARTTLS, then no TLS: no retry in clear text either
        self.fake_starttls_defers("127.0.0.26", "hsf", "garbage", "TLS handshake failed")

    def test_clear_text_injected_after_starttls_defers(self):
        self.fake_starttls_defers("127.0.0.29", "inj", "inject",
                                  "(data after the reply to STARTTLS|TLS handshake failed)")

    def test_hosts_avoid_tls_does_not_switch_dane_off(self):
        sink = self.sink("127.0.0.11")
        t = self.tern("hosts_avoid_tls = *\n")
        qid = self.send(t, "bob@d-ok.secure.test")
        self.assertEqual(len(sink.messages()), 1, t.read_log())
        self.assertTrue(sink.messages()[0]["tls"])
        self.assertRegex(t.read_log(), r"%s => bob@d-ok.secure.test .* CV=dane" % qid)

    def test_bogus_address_defers(self):
        sink = self.sink("127.0.0.27")
        t = self.tern()
        qid = self.send(t, "bob@d-abg.secure.test")
        self.assertEqual(sink.commands(), [])
        self.assertEqual(t.queue_ids(), [qid])
        self.assertRegex(t.read_log(), r"%s == bob@d-abg.secure.test .*defer: h-abg.secure.test: "
                         r"A lookup: SERVFAIL" % qid)
        self.assertRegex(self.dns.logs(), r"validation failure <h-abg.secure.test. A IN>")

    def test_bogus_mx_does_not_fall_back_to_the_address(self):
        # a SERVFAIL for MX is no "no MX": the domain's own A record (a
        # clear-text host here) must not be used (RFC 5321 5.1)
        clear = self.sink("127.0.0.28", no_starttls=True)
        t = self.tern()
        qid = self.send(t, "bob@d-mbg.secure.test")
        self.assertEqual(clear.commands(), [])
        self.assertEqual(t.queue_ids(), [qid])
        self.assertRegex(t.read_log(), r"%s == bob@d-mbg.secure.test .*defer: MX lookup for "
                         r"d-mbg.secure.test: SERVFAIL" % qid)
        self.assertRegex(self.dns.logs(), r"validation failure <d-mbg.secure.test. MX IN>")

    def test_untrusted_resolver_ad_bit_is_not_believed(self):
        # Unbound validates and sets AD, but is not in dns_trusted_servers:
        # every answer is insecure, so no TLSA lookup and no DANE (RFC 7672
        # 2.2): opportunistic TLS, although the TLSA record would match
        sink = self.sink("127.0.0.11")
        untrusted = "dns_servers = %s\ndns_trusted_servers = 192.0.2.53\n" % self.dns.resolver
        t = Tern("[transport remote_smtp]\nport = %d\nconnect_timeout = 2s\n"
                 "command_timeout = 2s\nhosts_require_dane = *\n" % self.port, untrusted)
        self.addCleanup(t.cleanup)
        self.assertEqual(self.dns.query("d-ok.secure.test", "MX")["ad"], True)
        r = t.cmd("route", "bob@d-ok.secure.test")
        self.assertRegex(r.stdout, r"MX d-ok.secure.test \(ok, insecure\)")
        self.assertNotIn("TLS policy: DANE", r.stdout)
        # hosts_require_dane: deferred, nothing sent
        qid = self.send(t, "bob@d-ok.secure.test")
        self.assertEqual(sink.commands(), [])
        self.assertEqual(t.queue_ids(), [qid])
        self.assertRegex(t.read_log(), r"%s == bob@d-ok.secure.test .*hosts_require_dane, but "
                         r"the address lookup was not DNSSEC-secure" % qid)
        # without it: delivered with TLS, not DANE-verified
        t.write_config("[transport remote_smtp]\nport = %d\n" % self.port, untrusted)
        t.cmd("queue", "run")
        self.assertEqual(len(sink.messages()), 1, t.read_log())
        self.assertTrue(sink.messages()[0]["tls"])
        self.assertRegex(t.read_log(), r"%s => bob@d-ok.secure.test .* X=TLS\S+ CV=no" % qid)
        self.assertEqual(t.queue_ids(), [])

    def test_dane_ta_wrong_name_defers(self):
        sink = self.sink("127.0.0.15", chain=self.wrong_chain)
        t = self.tern()
        qid = self.send(t, "bob@d-ta.secure.test")
        self.assertNothingSent(sink)
        self.assertEqual(t.queue_ids(), [qid])
        self.assertRegex(t.read_log(), r"DANE verification failed: .*name")

    def test_dane_ta_right_name_delivered(self):
        sink = self.sink("127.0.0.16")
        t = self.tern()
        qid = self.send(t, "bob@d-taok.secure.test")
        self.assertEqual(len(sink.messages()), 1, t.read_log())
        self.assertRegex(t.read_log(), r"%s => bob@d-taok.secure.test .* CV=dane" % qid)

    def test_insecure_zone_delivered_without_dane(self):
        # its TLSA record does not match, but it is not signed: ignored
        sink = self.sink("127.0.0.17")
        t = self.tern()
        qid = self.send(t, "bob@d-ins.insecure.test")
        self.assertEqual(len(sink.messages()), 1, t.read_log())
        self.assertRegex(t.read_log(), r"%s => bob@d-ins.insecure.test .* X=TLS\S+ CV=no" % qid)

    def test_mx_fallback_from_failing_host_to_matching_one(self):
        bad = self.sink("127.0.0.12")
        good = self.sink("127.0.0.11")
        t = self.tern()
        qid = self.send(t, "bob@d-fb.secure.test")
        self.assertNothingSent(bad)
        self.assertEqual(len(good.messages()), 1, t.read_log())
        self.assertRegex(t.read_log(), r"%s => bob@d-fb.secure.test .*H=h-ok.secure.test "
                         r"\[127.0.0.11\]:\d+ X=\S+ CV=dane" % qid)

    def test_cname_mx_host_uses_expanded_name_tlsa(self):
        sink = self.sink("127.0.0.18")
        t = self.tern()
        qid = self.send(t, "bob@d-cn.secure.test")
        self.assertEqual(len(sink.messages()), 1, t.read_log())
        self.assertRegex(t.read_log(), r"%s => bob@d-cn.secure.test .*H=h-alias.secure.test "
                         r"\[127.0.0.18\]:\d+ X=\S+ CV=dane" % qid)

    def test_cname_mx_host_falls_back_to_initial_name_tlsa(self):
        sink = self.sink("127.0.0.19")
        t = self.tern()
        qid = self.send(t, "bob@d-cn2.secure.test")
        self.assertEqual(len(sink.messages()), 1, t.read_log())
        self.assertRegex(t.read_log(), r"%s => bob@d-cn2.secure.test .* CV=dane" % qid)

    def test_require_dane_without_tlsa_defers(self):
        sink = self.sink("127.0.0.20")
        t = self.tern("hosts_require_dane = *\n")
        qid = self.send(t, "bob@d-none.secure.test")
        self.assertEqual(sink.commands(), [])
        self.assertEqual(t.queue_ids(), [qid])
        self.assertIn("hosts_require_dane", t.read_log())
        # the same host without the requirement: opportunistic TLS
        t.write_config("[transport remote_smtp]\nport = %d\n" % self.port,
                       "dns_servers = %s\n" % self.dns.resolver)
        t.cmd("queue", "run")
        self.assertEqual(len(sink.messages()), 1)

    def test_only_unusable_records_mean_tls_without_authentication(self):
        for n, ip in (("unus", "127.0.0.21"), ("unus2", "127.0.0.30")):
            clear = self.sink(ip, no_starttls=True)
            t = self.tern()
            qid = self.send(t, "bob@d-%s.secure.test" % n)
            self.assertNothingSent(clear)
            self.assertEqual(t.queue_ids(), [qid])
            self.assertRegex(t.read_log(), r"%s == bob@d-%s.secure.test .*defer: .*"
                             r"TLS is required" % (qid, n))
            clear.stop()
            tls = self.sink(ip)
            t.cmd("queue", "run")
            self.assertEqual(len(tls.messages()), 1, t.read_log())
            self.assertRegex(t.read_log(), r"%s => bob@d-%s.secure.test .* X=TLS\S+ CV=no"
                             % (qid, n))

    def test_require_dane_with_only_unusable_records_defers(self):
        sink = self.sink("127.0.0.30")
        t = self.tern("hosts_require_dane = *\n")
        qid = self.send(t, "bob@d-unus2.secure.test")
        self.assertEqual(sink.commands(), [])
        self.assertEqual(t.queue_ids(), [qid])
        self.assertRegex(t.read_log(), r"%s == bob@d-unus2.secure.test .*defer: .*"
                         r"hosts_require_dane, but there is no secure usable TLSA record" % qid)

    def test_hosts_try_dane_excludes_a_host(self):
        sink = self.sink("127.0.0.11")
        t = self.tern("hosts_try_dane = !h-ok.secure.test : *\n")
        r = t.cmd("route", "bob@d-ok.secure.test")
        self.assertIn("TLSA: not looked up (not in hosts_try_dane)", r.stdout)
        qid = self.send(t, "bob@d-ok.secure.test")
        self.assertEqual(len(sink.messages()), 1, t.read_log())
        self.assertRegex(t.read_log(), r"%s => bob@d-ok.secure.test .* X=TLS\S+ CV=no" % qid)
        # and the default looks them up
        t.write_config("[transport remote_smtp]\nport = %d\n" % self.port,
                       "dns_servers = %s\n" % self.dns.resolver)
        r = t.cmd("route", "bob@d-ok.secure.test")
        self.assertIn("TLS policy: DANE", r.stdout)

    @unittest.skipUnless(enabled("CONFIG_EVENTS_EXEC"), "built without event actions")
    def test_dane_events(self):
        import json
        from test_events import HOOK
        hdir = tempfile.mkdtemp(prefix="tern-dane-ev-")
        os.chmod(hdir, 0o777)
        hook = os.path.join(hdir, "hook.py")
        with open(hook, "w") as f:
            f.write(HOOK)
        os.chmod(hook, 0o755)
        self.sink("127.0.0.11")
        self.sink("127.0.0.12")
        self.sink("127.0.0.13", no_starttls=True)
        t = self.tern("event_action = %s %s\n" % (hook, hdir))

        def events(name):
            out = []
            for f in sorted(os.listdir(hdir)):
                if f.startswith("ev-"):
                    e = json.load(open(os.path.join(hdir, f)))
                    if e["EVENT_NAME"] == name:
                        out.append(e)
            return out
        for rcpt in ("bob@d-ok.secure.test", "bob@d-bad.secure.test",
                     "bob@d-nost.secure.test", "bob@d-bt.secure.test"):
            self.send(t, rcpt)
        # each queue run tries the deferred ones again: the kinds matter
        fails = sorted({(e["HOST"], e["EVENT_DATA"]) for e in events("dane:fail")})
        self.assertEqual(fails, [("h-bad.secure.test", "validation-failure"),
                                 ("h-bt.secure.test", "dnssec-invalid"),
                                 ("h-nost.secure.test", "starttls-not-supported")])
        ok = [e for e in events("tcp:close") if e["HOST"] == "h-ok.secure.test"]
        self.assertEqual([e["TLS_OUT_DANE"] for e in ok], ["yes"])
        certs_ok = [e for e in events("tls:cert") if e["HOST"] == "h-ok.secure.test"]
        self.assertEqual(sorted(e["EVENT_DATA"] for e in certs_ok), ["0", "1"])
        self.assertEqual({e["TLS_OUT_TLSA_USAGE"] for e in certs_ok}, {"8"})   # bit 3
        self.assertEqual({e["LOOKUP_DNSSEC_AUTHENTICATED"] for e in certs_ok}, {"yes"})

    @unittest.skipUnless(enabled("CONFIG_TLS_DANE_PROBE"), "built without the probe")
    def test_probe_reports_the_match(self):
        self.sink("127.0.0.11")
        t = self.tern()
        r = t.cmd("dane", "probe", "d-ok.secure.test", str(self.port))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("MX d-ok.secure.test (ok, secure)", r.stdout)
        self.assertIn("TLS policy: DANE", r.stdout)
        self.assertIn("3 1 1 %s" % self.leaf.tlsa(3, 1, 1).split()[3], r.stdout)
        self.assertRegex(r.stdout, r"DANE: verified: record 1 matched at depth 0")
        self.assertIn("depth 1: subject=CN=DANE Test Intermediate", r.stdout)

    @unittest.skipUnless(enabled("CONFIG_TLS_DANE_PROBE"), "built without the probe")
    def test_probe_reports_the_mismatch(self):
        self.sink("127.0.0.12")
        t = self.tern()
        r = t.cmd("dane", "probe", "d-bad.secure.test", str(self.port))
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("DANE: not verified: no TLSA record matched", r.stdout)
        self.assertIn("deferred", r.stdout)


if __name__ == "__main__":
    unittest.main()

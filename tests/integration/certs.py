"""certs.py - real X.509 certificates made at test time with the openssl CLI.

    pki = Pki(tmpdir)
    root = pki.root()                                  # "Test Root", RSA
    ica = pki.intermediate(root, "Test Intermediate")
    leaf = pki.leaf(ica, "mx.secure.test", sans=["mx.secure.test"])
    bad = pki.leaf(ica, "mx.secure.test", sans=["mx.secure.test"], expired=True)
    ctx = ssl_server_context(leaf, chain=[ica])        # a server's SSLContext
    chain_pem(path, [leaf, ica])                       # a PEM bundle
    "3 1 1 " ...  == leaf.tlsa(3, 1, 1)

Every certificate is signed by `openssl ca` (a throwaway CA database in
DIR/ca), which, unlike `openssl x509 -req` in OpenSSL 3.0, takes explicit
notBefore/notAfter dates: that is how expired and not-yet-valid
certificates are made. Keys are RSA 2048 or EC P-256; RSA keys come from a
per-process pool (the n-th RSA key of a Pki is the n-th of the pool), so
keys are distinct within one Pki and generation is paid once per process.
"""
import datetime
import hashlib
import ipaddress
import os
import ssl
import subprocess
import threading

_POOL = {"rsa": [], "ec": []}
_POOL_LOCK = threading.Lock()
_DAY = datetime.timedelta(days=1)


def _run(argv, input=None):
    r = subprocess.run(argv, input=input, capture_output=True)
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(argv), r.returncode,
                                                  r.stderr.decode(errors="replace")))
    return r.stdout


def _genkey(kind):
    if kind == "rsa":
        argv = ["openssl", "genpkey", "-algorithm", "RSA",
                "-pkeyopt", "rsa_keygen_bits:2048"]
    elif kind == "ec":
        argv = ["openssl", "genpkey", "-algorithm", "EC",
                "-pkeyopt", "ec_paramgen_curve:prime256v1"]
    else:
        raise ValueError("key must be 'rsa', 'ec' or a Cert, not %r" % (kind,))
    return _run(argv)


def _pool_key(kind, i):
    """The i-th key of the process-wide pool of KIND keys (PEM bytes)."""
    with _POOL_LOCK:
        pool = _POOL[kind] if kind in _POOL else None
        if pool is None:
            raise ValueError("key must be 'rsa', 'ec' or a Cert, not %r" % (kind,))
        while len(pool) <= i:
            pool.append(_genkey(kind))
        return pool[i]


def _asn1_time(t):
    """datetime (naive = UTC) or an openssl time string -> YYYYMMDDHHMMSSZ."""
    if isinstance(t, str):
        return t
    if t.tzinfo is not None:
        t = t.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return t.strftime("%Y%m%d%H%M%SZ")


def _utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None, microsecond=0)


def _subj_escape(v):
    return v.replace("\\", "\\\\").replace("/", "\\/").replace("=", "\\=")


class Cert:
    """One certificate and its key, as files in the Pki's directory."""

    def __init__(self, pki, name, pem_path, key_path, key_kind, issuer, is_ca):
        self.pki = pki
        self.name = name              # the file stem
        self.pem_path = pem_path      # the certificate alone, PEM
        self.key_path = key_path      # its private key, PEM (PKCS#8)
        self.key_kind = key_kind      # "rsa" or "ec"
        self.issuer = issuer          # the issuing Cert; None if self-signed
        self.is_ca = is_ca
        self._der = None
        self._spki = None
        self._subject = None

    def __repr__(self):
        return "<Cert %s>" % self.name

    @property
    def pem(self):
        """The certificate, PEM text."""
        with open(self.pem_path) as f:
            return f.read()

    @property
    def der(self):
        if self._der is None:
            self._der = ssl.PEM_cert_to_DER_cert(self.pem)
        return self._der

    @property
    def spki_der(self):
        """The DER SubjectPublicKeyInfo (what TLSA selector 1 hashes)."""
        if self._spki is None:
            pub = _run(["openssl", "x509", "-in", self.pem_path, "-noout", "-pubkey"])
            self._spki = _run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub)
        return self._spki

    @property
    def subject(self):
        """The subject DN as RFC 2253 text, e.g. "CN=mx.secure.test"."""
        if self._subject is None:
            out = _run(["openssl", "x509", "-in", self.pem_path, "-noout",
                        "-subject", "-nameopt", "RFC2253"]).decode().strip()
            self._subject = out[len("subject="):] if out.startswith("subject=") else out
        return self._subject

    def sha256(self):
        """SHA-256 of the DER certificate, lower-case hex."""
        return hashlib.sha256(self.der).hexdigest()

    def tlsa(self, usage, selector, mtype):
        """The TLSA rdata for this certificate: "U S M hex" (RFC 6698)."""
        data = {0: self.der, 1: self.spki_der}[selector]
        if mtype == 0:
            h = data.hex()
        elif mtype == 1:
            h = hashlib.sha256(data).hexdigest()
        elif mtype == 2:
            h = hashlib.sha512(data).hexdigest()
        else:
            raise ValueError("matching type %r" % (mtype,))
        return "%d %d %d %s" % (usage, selector, mtype, h)


def chain_pem(path, certs):
    """Write the PEM certificates CERTS, in that order, to PATH; returns PATH."""
    with open(path, "w") as f:
        for c in certs:
            f.write(c.pem)
    return path


class Pki:
    """A certificate factory writing into DIR (created if missing)."""

    def __init__(self, dir):
        self.dir = os.path.abspath(dir)
        os.makedirs(self.dir, exist_ok=True)
        self.cadir = os.path.join(self.dir, "ca")
        os.makedirs(self.cadir, exist_ok=True)
        open(os.path.join(self.cadir, "index.txt"), "a").close()
        self._n = 0
        self._nkeys = {"rsa": 0, "ec": 0}
        self._names = set()

    # --- public -----------------------------------------------------------

    def root(self, name="Test Root", key="rsa", days=3650, not_before=None,
             not_after=None, expired=False, not_yet_valid=False):
        """A self-signed CA certificate with subject CN=NAME."""
        return self._make(name, None, key, "ca", days, not_before, not_after,
                          expired, not_yet_valid)

    def intermediate(self, issuer, name="Test Intermediate", key="rsa", days=3650,
                     not_before=None, not_after=None, expired=False,
                     not_yet_valid=False, pathlen=None):
        """A CA certificate CN=NAME signed by ISSUER."""
        return self._make(name, issuer, key, "ca", days, not_before, not_after,
                          expired, not_yet_valid, pathlen=pathlen)

    def leaf(self, issuer, cn, sans=None, key="rsa", days=365, not_before=None,
             not_after=None, expired=False, not_yet_valid=False, eku="serverAuth",
             self_signed=False):
        """An end-entity certificate CN=CN signed by ISSUER (or by itself
        with self_signed=True; ISSUER may then be None). SANS: DNS names
        (or IP addresses) for subjectAltName; none means no SAN at all.
        EKU: "serverAuth", "clientAuth", "serverAuth,clientAuth" (or a
        list), or None for no extendedKeyUsage."""
        return self._make(cn, None if self_signed else issuer, key, "leaf", days,
                          not_before, not_after, expired, not_yet_valid,
                          sans=sans, eku=eku)

    # --- internals --------------------------------------------------------

    def _stem(self, name):
        base = "".join(c if c.isalnum() or c in "-." else "_" for c in name) or "cert"
        self._n += 1
        stem = "%02d-%s" % (self._n, base)
        return stem

    def _key(self, key, stem):
        """(key path, kind) for a new certificate."""
        if isinstance(key, Cert):
            return key.key_path, key.key_kind
        kind = key
        if kind not in self._nkeys:
            raise ValueError("key must be 'rsa', 'ec' or a Cert, not %r" % (key,))
        pem = _pool_key(kind, self._nkeys[kind])
        self._nkeys[kind] += 1
        path = os.path.join(self.dir, stem + ".key")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        return path, kind

    def _dates(self, days, not_before, not_after, expired, not_yet_valid):
        now = _utcnow()
        if expired:
            nb, na = now - 30 * _DAY, now - _DAY
        elif not_yet_valid:
            nb, na = now + _DAY, now + 30 * _DAY
        else:
            nb = now - datetime.timedelta(hours=1)
            na = nb + days * _DAY
        if not_before is not None:
            nb = not_before
        if not_after is not None:
            na = not_after
        return _asn1_time(nb), _asn1_time(na)

    def _extensions(self, role, kind, self_signed, sans, eku, pathlen):
        ext = ["subjectKeyIdentifier = hash"]
        if not self_signed:
            ext.append("authorityKeyIdentifier = keyid:always")
        if role == "ca":
            bc = "critical,CA:TRUE"
            if pathlen is not None:
                bc += ",pathlen:%d" % pathlen
            ext.append("basicConstraints = " + bc)
            ext.append("keyUsage = critical,keyCertSign,cRLSign")
            return ext
        ext.append("basicConstraints = critical,CA:FALSE")
        if kind == "ec":
            ext.append("keyUsage = critical,digitalSignature")
        else:
            ext.append("keyUsage = critical,digitalSignature,keyEncipherment")
        if eku:
            if not isinstance(eku, str):
                eku = ",".join(eku)
            ext.append("extendedKeyUsage = " + eku)
        if sans:
            alt = []
            for s in sans:
                try:
                    ipaddress.ip_address(s)
                    alt.append("IP:" + s)
                except ValueError:
                    alt.append("DNS:" + s)
            ext.append("subjectAltName = " + ",".join(alt))
        return ext

    def _make(self, name, issuer, key, role, days, not_before, not_after,
              expired, not_yet_valid, sans=None, eku=None, pathlen=None):
        stem = self._stem(name)
        key_path, kind = self._key(key, stem)
        pem_path = os.path.join(self.dir, stem + ".pem")
        csr = os.path.join(self.cadir, stem + ".csr")
        cnf = os.path.join(self.cadir, stem + ".cnf")
        start, end = self._dates(days, not_before, not_after, expired, not_yet_valid)
        ext = self._extensions(role, kind, issuer is None, sans, eku, pathlen)
        with open(cnf, "w") as f:
            f.write("[ca]\ndefault_ca = CA_default\n\n"
                    "[CA_default]\n"
                    "dir = %s\n"
                    "database = $dir/index.txt\n"
                    "new_certs_dir = $dir\n"
                    "serial = $dir/serial\n"  # required even with -rand_serial
                    "default_md = sha256\n"
                    "policy = policy_any\n"
                    "unique_subject = no\n"
                    "email_in_dn = no\n"
                    "copy_extensions = none\n\n"
                    "[policy_any]\ncommonName = supplied\n\n"
                    "[req]\ndistinguished_name = req_dn\nprompt = no\n"
                    "[req_dn]\nCN = unused\n\n"
                    "[exts]\n%s\n" % (self.cadir, "\n".join(ext)))
        subj = "/CN=" + _subj_escape(name)
        _run(["openssl", "req", "-new", "-config", cnf, "-key", key_path,
              "-subj", subj, "-out", csr])
        argv = ["openssl", "ca", "-batch", "-config", cnf, "-notext",
                "-rand_serial", "-preserveDN", "-in", csr, "-out", pem_path,
                "-startdate", start, "-enddate", end,
                "-extensions", "exts"]
        if issuer is None:
            argv += ["-selfsign", "-keyfile", key_path]
        else:
            argv += ["-cert", issuer.pem_path, "-keyfile", issuer.key_path]
        _run(argv)
        return Cert(self, stem, pem_path, key_path, kind, issuer, role == "ca")


def ssl_server_context(cert, chain=()):
    """A server-side ssl.SSLContext presenting CERT followed by CHAIN
    (intermediates; the bundle file is written next to CERT)."""
    bundle = os.path.join(cert.pki.dir, "%s-bundle%d.pem" % (cert.name, len(chain)))
    chain_pem(bundle, [cert] + list(chain))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(bundle, cert.key_path)
    return ctx

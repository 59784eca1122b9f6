"""test_certs.py - self-tests of the TLS fixtures that the TLS and DANE
tests stand on: the certificates certs.Pki makes, checked with `openssl
verify` and `openssl x509` as outside tools, TLSA values computed an
independent way, and the sink's STARTTLS, implicit TLS, AUTH and command
log (sink.py), checked with Python's smtplib as the client. These tests do
not run tern."""
import hashlib
import shutil
import smtplib
import socket
import ssl
import subprocess
import tempfile
import threading
import unittest

import certs
from harness import Sink


def openssl(*args, input=None):
    return subprocess.run(["openssl"] + list(args), input=input,
                          capture_output=True, timeout=30)


def verify(root, leaf, *untrusted):
    argv = ["verify", "-CAfile", root.pem_path]
    for c in untrusted:
        argv += ["-untrusted", c.pem_path]
    r = openssl(*(argv + [leaf.pem_path]))
    return r.returncode, (r.stdout + r.stderr).decode(errors="replace")


def text(cert):
    return openssl("x509", "-in", cert.pem_path, "-noout", "-text").stdout.decode()


class PkiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="tern-pki-")
        cls.pki = certs.Pki(cls.dir)
        cls.root = cls.pki.root()
        cls.ica = cls.pki.intermediate(cls.root, "Test Intermediate")
        cls.leaf = cls.pki.leaf(cls.ica, "mx.secure.test",
                                sans=["mx.secure.test", "mx2.secure.test"])

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_chain_verifies(self):
        rc, out = verify(self.root, self.leaf, self.ica)
        self.assertEqual(rc, 0, out)
        self.assertIn(": OK", out)
        rc, out = verify(self.root, self.leaf)      # the intermediate is needed
        self.assertNotEqual(rc, 0, out)
        rc, out = verify(self.root, self.ica)
        self.assertEqual(rc, 0, out)

    def test_extensions(self):
        r = text(self.root)
        self.assertRegex(r, r"Basic Constraints: critical\s+CA:TRUE")
        self.assertRegex(r, r"Key Usage: critical\s+Certificate Sign, CRL Sign")
        self.assertIn("Issuer: CN = Test Root", r)
        self.assertIn("Subject: CN = Test Root", r)
        i = text(self.ica)
        self.assertRegex(i, r"Basic Constraints: critical\s+CA:TRUE")
        self.assertIn("Issuer: CN = Test Root", i)
        t = text(self.leaf)
        self.assertRegex(t, r"Basic Constraints: critical\s+CA:FALSE")
        self.assertRegex(t, r"Key Usage: critical\s+Digital Signature, Key Encipherment")
        self.assertRegex(t, r"Extended Key Usage: \s+TLS Web Server Authentication\n")
        self.assertRegex(t, r"Alternative Name: \s+DNS:mx.secure.test, DNS:mx2.secure.test")
        self.assertIn("Public-Key: (2048 bit)", t)
        self.assertEqual(self.leaf.subject, "CN=mx.secure.test")
        self.assertEqual(self.root.subject, "CN=Test Root")

    def test_ec_no_san_client_eku(self):
        c = self.pki.leaf(self.ica, "client.test", key="ec", eku="clientAuth")
        t = text(c)
        self.assertIn("ASN1 OID: prime256v1", t)
        self.assertRegex(t, r"Key Usage: critical\s+Digital Signature\n")
        self.assertRegex(t, r"Extended Key Usage: \s+TLS Web Client Authentication\n")
        self.assertNotIn("Alternative Name", t)
        n = text(self.pki.leaf(self.ica, "any.test", eku=None))
        self.assertNotIn("Extended Key Usage", n)
        self.assertEqual(verify(self.root, c, self.ica)[0], 0)
        ec_root = self.pki.root("EC Root", key="ec")
        self.assertIn("ASN1 OID: prime256v1", text(ec_root))
        self.assertEqual(verify(ec_root, self.pki.leaf(ec_root, "e.test"))[0], 0)

    def test_distinct_keys_and_key_reuse(self):
        a = self.pki.leaf(self.ica, "a.test")
        b = self.pki.leaf(self.ica, "a.test")
        again = self.pki.leaf(self.ica, "a.test", key=a)
        self.assertNotEqual(a.spki_der, b.spki_der)
        self.assertEqual(a.spki_der, again.spki_der)
        self.assertNotEqual(a.der, again.der)        # another serial, same key
        self.assertEqual(a.tlsa(3, 1, 1), again.tlsa(3, 1, 1))
        self.assertNotEqual(a.tlsa(3, 0, 1), again.tlsa(3, 0, 1))

    def test_expired_and_not_yet_valid(self):
        old = self.pki.leaf(self.ica, "old.test", sans=["old.test"], expired=True)
        rc, out = verify(self.root, old, self.ica)
        self.assertNotEqual(rc, 0, out)
        self.assertIn("certificate has expired", out)
        new = self.pki.leaf(self.ica, "new.test", sans=["new.test"], not_yet_valid=True)
        rc, out = verify(self.root, new, self.ica)
        self.assertNotEqual(rc, 0, out)
        self.assertIn("certificate is not yet valid", out)
        # the dates are well-formed: notBefore < notAfter
        self.assertEqual(openssl("x509", "-in", old.pem_path, "-noout",
                                 "-checkend", "0").returncode, 1)
        self.assertEqual(openssl("x509", "-in", new.pem_path, "-noout",
                                 "-checkend", "0").returncode, 0)
        ica_old = self.pki.intermediate(self.root, "Old Intermediate", expired=True)
        leaf = self.pki.leaf(ica_old, "under-old.test")
        rc, out = verify(self.root, leaf, ica_old)
        self.assertIn("certificate has expired", out)

    def test_self_signed_leaf(self):
        ss = self.pki.leaf(None, "self.test", sans=["self.test"], self_signed=True)
        t = text(ss)
        self.assertIn("Issuer: CN = self.test", t)
        self.assertRegex(t, r"CA:FALSE")
        rc, out = verify(self.root, ss)
        self.assertNotEqual(rc, 0)
        self.assertIn("self-signed certificate", out)

    def test_tlsa(self):
        c = self.leaf
        der = openssl("x509", "-in", c.pem_path, "-outform", "DER").stdout
        self.assertEqual(der, c.der)
        # selector 1 from the private key: another way to the same SPKI
        spki = openssl("pkey", "-in", c.key_path, "-pubout", "-outform", "DER").stdout
        self.assertEqual(spki, c.spki_der)
        dgst = openssl("dgst", "-sha256", "-r", input=der).stdout.decode().split()[0]
        self.assertEqual(c.tlsa(3, 0, 1), "3 0 1 " + dgst)
        dgst = openssl("dgst", "-sha256", "-r", input=spki).stdout.decode().split()[0]
        self.assertEqual(c.tlsa(3, 1, 1), "3 1 1 " + dgst)
        dgst = openssl("dgst", "-sha512", "-r", input=spki).stdout.decode().split()[0]
        self.assertEqual(c.tlsa(2, 1, 2), "2 1 2 " + dgst)
        self.assertEqual(c.tlsa(3, 1, 0), "3 1 0 " + spki.hex())
        self.assertEqual(self.ica.tlsa(2, 0, 1),
                         "2 0 1 " + hashlib.sha256(self.ica.der).hexdigest())

    def test_server_context_handshake(self):
        """ssl_server_context serves leaf + chain: a client that trusts only
        the root verifies it, hostname included."""
        ctx = certs.ssl_server_context(self.leaf, chain=[self.ica])
        lsock = socket.socket()
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(1)
        port = lsock.getsockname()[1]
        err = []

        def serve():
            try:
                c, _ = lsock.accept()
                with ctx.wrap_socket(c, server_side=True) as s:
                    s.sendall(b"hi")
            except Exception as e:       # reported by the client side
                err.append(e)
        th = threading.Thread(target=serve)
        th.start()
        try:
            cli = ssl.create_default_context(cafile=self.root.pem_path)
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                with cli.wrap_socket(s, server_hostname="mx2.secure.test") as t:
                    self.assertEqual(t.recv(2), b"hi")
                    self.assertEqual(len(t.getpeercert(binary_form=True)), len(self.leaf.der))
        finally:
            th.join(10)
            lsock.close()
        self.assertEqual(err, [])
        bundle = certs.chain_pem(self.dir + "/b.pem", [self.leaf, self.ica])
        with open(bundle) as f:
            self.assertEqual(f.read(), self.leaf.pem + self.ica.pem)


class SinkTlsTest(unittest.TestCase):
    """sink.py's TLS and AUTH options, with smtplib as the client."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="tern-pki-")
        pki = certs.Pki(cls.dir)
        cls.root = pki.root()
        ica = pki.intermediate(cls.root, "Test Intermediate")
        leaf = pki.leaf(ica, "sink.test", sans=["sink.test", "127.0.0.1"], key="ec")
        cls.bundle = certs.chain_pem(cls.dir + "/bundle.pem", [leaf, ica])
        cls.key = leaf.key_path

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def sink(self, **kw):
        s = Sink(tls_cert=self.bundle, tls_key=self.key, **kw)
        self.addCleanup(s.stop)
        return s

    def client_ctx(self):
        return ssl.create_default_context(cafile=self.root.pem_path)

    def test_starttls_require_tls_log(self):
        s = self.sink(require_tls=True)
        with smtplib.SMTP("127.0.0.1", s.port, local_hostname="c.test", timeout=10) as c:
            c.ehlo()
            self.assertTrue(c.has_extn("starttls"))
            self.assertFalse(c.has_extn("auth"))
            code, msg = c.mail("a@example.net")
            self.assertEqual((code, msg[:5]), (530, b"5.7.0"))
            c.rset()
            c.starttls(context=self.client_ctx())
            c.ehlo()
            self.assertFalse(c.has_extn("starttls"))
            self.assertFalse(c.has_extn("auth"))        # no --auth: no AUTH
            c.sendmail("a@example.net", ["b@example.org"], b"Subject: x\r\n\r\nhi\r\n")
        m = s.messages()
        self.assertEqual(len(m), 1)
        self.assertIn(m[0]["tls"], ("TLSv1.2", "TLSv1.3"))
        self.assertTrue(m[0]["cipher"])
        self.assertIsNone(m[0]["auth"])
        self.assertEqual(s.commands(),
                         ["ehlo c.test", "mail FROM:<a@example.net>", "rset", "STARTTLS",
                          "tls ehlo c.test", "tls mail FROM:<a@example.net> size=18",
                          "tls rcpt TO:<b@example.org>", "tls data", "tls QUIT"])

    def test_clear_text_message(self):
        s = self.sink(no_starttls=True)
        with smtplib.SMTP("127.0.0.1", s.port, local_hostname="c.test", timeout=10) as c:
            c.ehlo()
            self.assertFalse(c.has_extn("starttls"))
            self.assertEqual(c.docmd("STARTTLS")[0], 454)
            c.sendmail("a@example.net", ["b@example.org"], b"hi\r\n")
        m = s.messages()
        self.assertEqual((m[0]["tls"], m[0]["cipher"], m[0]["auth"]), (None, None, None))
        self.assertNotIn("tls ", "\n".join(s.commands()))

    def test_auth(self):
        s = self.sink(auth="user:secret")
        with smtplib.SMTP("127.0.0.1", s.port, local_hostname="c.test", timeout=10) as c:
            c.ehlo()
            self.assertFalse(c.has_extn("auth"))        # only under TLS
            c.starttls(context=self.client_ctx())
            c.ehlo()
            self.assertEqual(sorted(c.esmtp_features["auth"].split()), ["LOGIN", "PLAIN"])
            with self.assertRaises(smtplib.SMTPAuthenticationError):
                c.login("user", "wrong")
            c.login("user", "secret")
            c.sendmail("a@example.net", ["b@example.org"], b"hi\r\n")
        self.assertEqual(s.messages()[0]["auth"], "user")

    def test_implicit_tls(self):
        s = self.sink(implicit_tls=True, auth="user:secret")
        with smtplib.SMTP_SSL("127.0.0.1", s.port, local_hostname="c.test", timeout=10,
                              context=self.client_ctx()) as c:
            c.ehlo()
            self.assertFalse(c.has_extn("starttls"))
            self.assertTrue(c.has_extn("auth"))
            c.login("user", "secret")
            c.sendmail("a@example.net", ["b@example.org"], b"hi\r\n")
        m = s.messages()
        self.assertIn(m[0]["tls"], ("TLSv1.2", "TLSv1.3"))
        self.assertEqual(m[0]["auth"], "user")
        self.assertTrue(all(l.startswith("tls ") for l in s.commands()), s.commands())


if __name__ == "__main__":
    unittest.main()

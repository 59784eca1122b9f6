"""test_tls.py - TLS with real peers on loopback and certificates made by
openssl at test time (certs.py): STARTTLS and implicit TLS (465) to
aiosmtpd, PKIX verification (CV=yes/no, tls_verify_hosts), required TLS
that never falls back to clear text, AUTH only under TLS with a private
password file, a clear-text retry after a failed opportunistic
handshake, and tern's own STARTTLS server (swaks and openssl as clients,
the command injection of CVE-2011-0411 thrown away)."""
import os
import socket
import ssl
import subprocess
import tempfile
import threading
import unittest

import certs
import harness
from harness import Sink, Tern, enabled, wait_for


def smarthost(port, extra="", host="127.0.0.1"):
    return ("[router smarthost]\nhosts = %s:%d\n\n[transport remote_smtp]\n"
            "connect_timeout = 3s\ncommand_timeout = 3s\n%s" % (host, port, extra))


@unittest.skipUnless(enabled("CONFIG_TLS"), "built without TLS")
class TlsClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="tern-tls-")
        cls.pki = certs.Pki(cls.dir)
        cls.root = cls.pki.root("Test Root")
        cls.leaf = cls.pki.leaf(cls.root, "localhost", sans=["localhost", "127.0.0.1"])
        cls.bundle = certs.chain_pem(os.path.join(cls.dir, "leaf-bundle.pem"), [cls.leaf])
        cls.other_root = cls.pki.root("Other Root")

    def sink(self, *args, **kw):
        s = Sink(*args, **kw)
        self.addCleanup(s.stop)
        return s

    def tern(self, config, main_extra=""):
        t = Tern(config, main_extra)
        self.addCleanup(t.cleanup)
        return t

    def send(self, t, rcpts=("bob@example.org",)):
        r = t.sendmail("-odq", "-f", "alice@example.net", *rcpts,
                       input=b"Subject: tls\n\nsecret body\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        return t.queue_ids()[-1]

    def test_starttls_delivers_encrypted_and_logs_cipher(self):
        sink = self.sink(tls_cert=self.leaf)
        t = self.tern(smarthost(sink.port, host="localhost",
                                extra="tls_verify_certificates = %s\n" % self.root.pem_path))
        qid = self.send(t)
        t.cmd("queue", "run")
        msgs = sink.messages()
        self.assertEqual(len(msgs), 1)
        self.assertTrue(msgs[0]["tls"], msgs[0])
        log = t.read_log()
        self.assertRegex(log, r"%s => bob@example.org R=smarthost T=remote_smtp "
                         r"H=localhost \[127.0.0.1\]:%d X=TLS1\.[23]:\S+ CV=yes C=\"250 "
                         % (qid, sink.port))
        cmds = sink.commands()
        i = next(k for k, c in enumerate(cmds) if c.upper().startswith("STARTTLS"))
        self.assertTrue(all(c.startswith("tls ") for c in cmds[i + 1:]), cmds)

    def test_cached_connection_keeps_its_tls(self):
        sink = self.sink(tls_cert=self.leaf)
        t = self.tern(smarthost(sink.port, host="localhost",
                                extra="tls_verify_certificates = %s\n" % self.root.pem_path),
                      "remote_max_parallel = 1\n")
        qids = [self.send(t) for _ in range(3)]
        t.cmd("queue", "run")
        self.assertEqual(len(sink.messages()), 3)
        self.assertTrue(all(m["tls"] for m in sink.messages()))
        cmds = [c.upper() for c in sink.commands()]
        self.assertEqual(sum(1 for c in cmds if c.startswith("STARTTLS")), 1, cmds)
        log = t.read_log()
        for qid in qids:
            self.assertRegex(log, r"%s => bob@example.org .* X=TLS\S+ CV=yes" % qid)

    def test_untrusted_certificate_is_cv_no_but_delivered(self):
        sink = self.sink(tls_cert=self.leaf)
        t = self.tern(smarthost(sink.port, extra="tls_verify_certificates = %s\n"
                                % self.other_root.pem_path))
        qid = self.send(t)
        t.cmd("queue", "run")
        self.assertEqual(len(sink.messages()), 1)
        self.assertRegex(t.read_log(), r"%s => bob@example.org .* X=TLS\S+ CV=no C=" % qid)

    def test_tls_verify_hosts_defers_untrusted_and_sends_nothing(self):
        sink = self.sink(tls_cert=self.leaf)
        t = self.tern(smarthost(sink.port, extra="tls_verify_hosts = *\n"
                                "tls_verify_certificates = %s\n" % self.other_root.pem_path))
        qid = self.send(t)
        t.cmd("queue", "run")
        self.assertEqual(sink.messages(), [])
        self.assertEqual(t.queue_ids(), [qid])
        self.assertIn("certificate verification failed", t.read_log())
        self.assertFalse([c for c in sink.commands() if "MAIL" in c.upper()])

    def test_tls_verify_hosts_checks_the_name(self):
        other = self.pki.leaf(self.root, "mx.other.test", sans=["mx.other.test"])
        sink = self.sink(tls_cert=other)
        extra = "tls_verify_hosts = *\ntls_verify_certificates = %s\n" % self.root.pem_path
        t = self.tern(smarthost(sink.port, host="localhost", extra=extra))
        qid = self.send(t)
        t.cmd("queue", "run")
        self.assertEqual(sink.messages(), [])
        self.assertRegex(t.read_log(), r"certificate verification failed: .*(CN|name)")
        # the same chain without the name check: delivered, CV=yes
        t.write_config(smarthost(sink.port, host="localhost",
                                 extra=extra + "tls_verify_cert_hostnames = !*\n"))
        t.cmd("queue", "run")
        self.assertEqual(len(sink.messages()), 1)
        self.assertRegex(t.read_log(), r"%s => bob@example.org .* CV=yes" % qid)

    def test_require_tls_without_starttls_defers_in_clear_nothing(self):
        sink = self.sink(tls_cert=self.leaf, no_starttls=True)
        t = self.tern(smarthost(sink.port, extra="hosts_require_tls = *\n"))
        qid = self.send(t)
        t.cmd("queue", "run")
        self.assertEqual(sink.messages(), [])
        self.assertEqual(t.queue_ids(), [qid])
        self.assertIn("STARTTLS not offered and TLS is required", t.read_log())
        self.assertFalse([c for c in sink.commands() if "MAIL" in c.upper()])

    def test_opportunistic_without_starttls_goes_in_clear(self):
        sink = self.sink()
        t = self.tern(smarthost(sink.port))
        qid = self.send(t)
        t.cmd("queue", "run")
        self.assertEqual(len(sink.messages()), 1)
        self.assertIsNone(sink.messages()[0]["tls"])
        self.assertNotIn(" X=", t.read_log().split("%s =>" % qid)[1].splitlines()[0])

    def test_implicit_tls_with_tls_on_connect(self):
        sink = self.sink(tls_cert=self.leaf, implicit_tls=True)
        t = self.tern(smarthost(sink.port, extra="tls_on_connect = true\n"
                                "tls_verify_certificates = %s\n" % self.root.pem_path,
                                host="localhost"))
        qid = self.send(t)
        t.cmd("queue", "run")
        msgs = sink.messages()
        self.assertEqual(len(msgs), 1)
        self.assertTrue(msgs[0]["tls"])
        self.assertRegex(t.read_log(), r"%s => bob@example.org .* X=TLS\S+ CV=yes" % qid)

    def password_file(self, t, pw, mode=0o600):
        path = os.path.join(t.dir, "smarthost.pw")
        with open(path, "w") as f:
            f.write(pw + "\n")
        os.chmod(path, mode)
        return path

    def test_auth_over_starttls(self):
        sink = self.sink(tls_cert=self.leaf, auth="user:s3cret", require_auth=True)
        t = self.tern("")
        pw = self.password_file(t, "s3cret")
        t.write_config(smarthost(sink.port, extra="auth_username = user\n"
                                 "auth_password_file = %s\n" % pw))
        qid = self.send(t)
        t.cmd("queue", "run")
        msgs = sink.messages()
        self.assertEqual(len(msgs), 1, t.read_log())
        self.assertEqual(msgs[0]["auth"], "user")
        self.assertTrue(msgs[0]["tls"])
        self.assertIn("%s Completed" % qid, t.read_log())
        # the credentials never went in clear text
        cmds = sink.commands()
        self.assertFalse([c for c in cmds if "AUTH" in c.upper() and not c.startswith("tls ")])

    def test_auth_refused_without_tls_and_never_sent_in_clear(self):
        sink = self.sink(auth="user:s3cret")
        t = self.tern("")
        pw = self.password_file(t, "s3cret")
        t.write_config(smarthost(sink.port, extra="auth_username = user\n"
                                 "auth_password_file = %s\n" % pw))
        qid = self.send(t)
        t.cmd("queue", "run")
        self.assertEqual(sink.messages(), [])
        self.assertEqual(t.queue_ids(), [qid])
        self.assertFalse([c for c in sink.commands() if "AUTH" in c.upper()])

    def test_wrong_password_defers(self):
        sink = self.sink(tls_cert=self.leaf, auth="user:s3cret", require_auth=True)
        t = self.tern("")
        pw = self.password_file(t, "wrong")
        t.write_config(smarthost(sink.port, extra="auth_username = user\n"
                                 "auth_password_file = %s\n" % pw))
        qid = self.send(t)
        t.cmd("queue", "run")
        self.assertEqual(sink.messages(), [])
        self.assertEqual(t.queue_ids(), [qid])
        self.assertRegex(t.read_log(), r"== bob@example.org .*defer: .*535")

    def test_world_readable_password_file_is_refused(self):
        sink = self.sink(tls_cert=self.leaf, auth="user:s3cret")
        t = self.tern("")
        pw = self.password_file(t, "s3cret", mode=0o644)
        t.write_config(smarthost(sink.port, extra="auth_username = user\n"
                                 "auth_password_file = %s\n" % pw))
        qid = self.send(t)
        t.cmd("queue", "run")
        self.assertEqual(sink.messages(), [])
        self.assertEqual(t.queue_ids(), [qid])
        self.assertIn("readable by others", t.read_log())

    def test_failed_handshake_retries_in_clear_when_opportunistic(self):
        # a server that offers STARTTLS and then talks nonsense instead of TLS
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(4)
        port = srv.getsockname()[1]
        got = []

        def serve():
            for _ in range(2):
                try:
                    c, _ = srv.accept()
                except OSError:
                    return
                f = c.makefile("rwb")
                f.write(b"220 broken.test ESMTP\r\n")
                f.flush()
                data = []
                while True:
                    line = f.readline()
                    if not line:
                        break
                    cmd = line.strip().upper()
                    if cmd.startswith(b"EHLO"):
                        f.write(b"250-broken.test\r\n250 STARTTLS\r\n")
                    elif cmd == b"STARTTLS":
                        f.write(b"220 go ahead\r\n")
                        f.flush()
                        c.recv(4096)            # the ClientHello
                        f.write(b"this is not TLS\r\n")
                        f.flush()
                        break
                    elif cmd == b"DATA":
                        f.write(b"354 go\r\n")
                        f.flush()
                        while True:
                            l2 = f.readline()
                            if l2 in (b".\r\n", b""):
                                break
                            data.append(l2)
                        got.append(b"".join(data))
                        f.write(b"250 ok\r\n")
                    elif cmd == b"QUIT":
                        f.write(b"221 bye\r\n")
                        f.flush()
                        break
                    else:
                        f.write(b"250 ok\r\n")
                    f.flush()
                c.close()

        th = threading.Thread(target=serve, daemon=True)
        th.start()
        self.addCleanup(srv.close)
        t = self.tern(smarthost(port))
        qid = self.send(t)
        t.cmd("queue", "run")
        th.join(10)
        self.assertEqual(len(got), 1, t.read_log())
        self.assertIn(b"secret body", got[0])
        self.assertIn("%s Completed" % qid, t.read_log())

    def test_failed_handshake_never_retries_in_clear_when_required(self):
        sink = self.sink(tls_cert=self.leaf, implicit_tls=True)
        # STARTTLS to a server that speaks TLS from the start: no banner
        t = self.tern(smarthost(sink.port, extra="hosts_require_tls = *\n"))
        qid = self.send(t)
        t.cmd("queue", "run")
        self.assertEqual(sink.messages(), [])
        self.assertEqual(t.queue_ids(), [qid])

    def test_ocsp_option_is_refused_clearly(self):
        t = self.tern(smarthost(25, extra="hosts_request_ocsp = *\n"))
        r = t.cmd("config", "check")
        self.assertNotEqual(r.returncode, 0)
        self.assertRegex(r.stderr, r"tern.conf:\d+: .*hosts_request_ocsp.*not supported.*OCSP")


@unittest.skipUnless(enabled("CONFIG_TLS_SERVER"), "built without the STARTTLS server")
class TlsServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="tern-tlss-")
        cls.pki = certs.Pki(cls.dir)
        cls.root = cls.pki.root("Server Root")
        cls.leaf = cls.pki.leaf(cls.root, "tern.test", sans=["tern.test"])

    def start(self, extra=""):
        t = Tern("", "queue_only = true\ntls_certificate = %s\ntls_privatekey = %s\n%s"
                 % (self.leaf.pem_path, self.leaf.key_path, extra))
        self.addCleanup(t.cleanup)
        t.serve()
        return t

    def test_swaks_starttls(self):
        t = self.start()
        r = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % t.port, "--tls",
                            "--from", "a@example.net", "--to", "bob@example.org",
                            "--ehlo", "client.test"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        wait_for(lambda: " <= " in t.read_log(), what="arrival logged")
        self.assertRegex(t.read_log(), r"<= a@example.net H=\(client.test\) \[127.0.0.1\]:\d+ "
                         r"P=esmtps X=TLS1\.\d:\S+ S=")

    def test_openssl_sees_our_certificate(self):
        t = self.start()
        r = subprocess.run(["openssl", "s_client", "-starttls", "smtp", "-connect",
                            "127.0.0.1:%d" % t.port, "-CAfile", self.root.pem_path,
                            "-verify_return_error", "-servername", "tern.test"],
                           input="QUIT\n", capture_output=True, text=True, timeout=30)
        self.assertIn("Verify return code: 0", r.stdout, r.stdout + r.stderr)

    def test_not_offered_to_hosts_outside_tls_advertise_hosts(self):
        t = self.start("tls_advertise_hosts = 192.0.2.1\n")
        s = t.smtp()
        code, caps = s.ehlo("client.test")
        self.assertEqual(code, 250)
        self.assertNotIn(b"STARTTLS", caps)
        s.quit()

    def test_pipelined_command_after_starttls_is_discarded(self):
        t = self.start()
        s = socket.create_connection(("127.0.0.1", t.port), timeout=10)
        f = s.makefile("rb")
        f.readline()
        s.sendall(b"EHLO x.test\r\n")
        while not f.readline().startswith(b"250 "):
            pass
        # CVE-2011-0411: the RSET rides in clear text behind STARTTLS
        s.sendall(b"STARTTLS\r\nRSET\r\n")
        self.assertTrue(f.readline().startswith(b"220"))
        ctx = ssl.create_default_context(cafile=self.root.pem_path)
        ts = ctx.wrap_socket(s, server_hostname="tern.test")
        ts.sendall(b"NOOP\r\n")
        reply = ts.recv(1000)
        # the first reply under TLS answers NOOP, not the injected RSET
        self.assertTrue(reply.startswith(b"250"), reply)
        self.assertNotIn(b"Reset", reply)
        ts.sendall(b"QUIT\r\n")
        ts.close()

    def test_missing_key_file_means_no_starttls_and_an_error(self):
        t = Tern("", "tls_certificate = %s\ntls_privatekey = /nonexistent/key.pem\n"
                 % self.leaf.pem_path)
        self.addCleanup(t.cleanup)
        t.serve()
        s = t.smtp()
        code, caps = s.ehlo("client.test")
        self.assertNotIn(b"STARTTLS", caps)
        s.quit()
        self.assertIn("STARTTLS not offered: cannot load the private key", t.read_log())


if __name__ == "__main__":
    unittest.main()

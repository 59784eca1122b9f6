"""test_receive.py - receiving mail through the real daemon with real
clients (Python's smtplib, raw sockets, swaks) and through sendmail:
PIPELINING, limits, relay control, SMTP smuggling, sendmail -t with Bcc,
and kill -9 right after a 250."""
import os
import re
import shutil
import signal
import smtplib
import subprocess
import time
import unittest

import harness
from harness import Tern, enabled

MSG = b"Subject: test\r\nMessage-ID: <m1@client.test>\r\n\r\nhello\r\n"


def reply_lines(f):
    """Read one (multi-line) SMTP reply from a socket file."""
    lines = []
    while True:
        line = f.readline()
        if not line:
            raise AssertionError("connection closed; got %r" % lines)
        lines.append(line)
        if line[3:4] != b"-":
            return lines


@unittest.skipUnless(enabled("CONFIG_SMTP_SERVER"), "no SMTP listener in this build")
class ReceiveTest(unittest.TestCase):
    aliases = "[aliases]\nroot = admin@example.net\n"

    def start(self, main_extra=""):
        # receiving only: delivery would ask the machine's DNS
        self.t = Tern(self.aliases, "queue_only = true\n" + main_extra)
        self.addCleanup(self.t.cleanup)
        self.t.serve()
        return self.t

    def test_message_is_queued_and_logged(self):
        t = self.start()
        with t.smtp() as s:
            s.ehlo()
            self.assertIn("pipelining", s.esmtp_features)
            self.assertIn("8bitmime", s.esmtp_features)
            self.assertIn("enhancedstatuscodes", s.esmtp_features)
            self.assertIn("smtputf8", s.esmtp_features)
            self.assertEqual(s.esmtp_features["size"], str(50 * 1024 * 1024))
            s.mail("alice@example.net")
            s.rcpt("bob@example.org")
            code, resp = s.data(MSG)
        self.assertEqual(code, 250)
        qid = re.search(rb"id=(\S+)", resp).group(1).decode()
        self.assertEqual(t.queue_ids(), [qid])
        body = t.queue_file(qid)
        self.assertIn(b"sender: <alice@example.net>\n", body)
        self.assertIn(b"rcpt: <bob@example.org>\n", body)
        self.assertIn(b"\n\nReceived: from client.test ([127.0.0.1] port=", body)
        self.assertIn(b"\r\nSubject: test\r\n", body)
        log = t.read_log()
        self.assertRegex(log, r"%s <= alice@example.net H=\(client.test\) \[127.0.0.1\]:\d+ "
                         r"P=esmtp S=\d+ id=<m1@client.test> for bob@example.org" % qid)
        # mailq shows it, with its sender and recipient
        r = t.sendmail(name="mailq")
        out = r.stdout.decode()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(qid + " <alice@example.net>", out)
        self.assertIn("bob@example.org", out)

    def test_pipelining_replies_in_order(self):
        t = self.start()
        s, f = t.raw()
        s.sendall(b"EHLO client.test\r\n")
        reply_lines(f)
        # one write with a whole transaction, as RFC 2920 allows
        s.sendall(b"MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\n"
                  b"RCPT TO:<nobody@tern.test>\r\nRCPT TO:<c@example.org>\r\nDATA\r\n")
        codes = [reply_lines(f)[-1][:3] for _ in range(5)]
        self.assertEqual(codes, [b"250", b"250", b"550", b"250", b"354"])
        s.sendall(MSG + b".\r\nRSET\r\nNOOP\r\nQUIT\r\n")
        codes = [reply_lines(f)[-1][:3] for _ in range(4)]
        self.assertEqual(codes, [b"250", b"250", b"250", b"221"])
        s.close()
        self.assertEqual(len(t.queue_ids()), 1)
        env = t.queue_file(t.queue_ids()[0])
        self.assertIn(b"rcpt: <b@example.org>\n", env)
        self.assertIn(b"rcpt: <c@example.org>\n", env)
        self.assertNotIn(b"nobody", env)

    def test_swaks_pipelined(self):
        if not shutil.which("swaks"):
            self.fail("swaks is not installed (ports/debian/install-deps.sh check)")
        t = self.start()
        r = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % t.port, "--pipeline",
                            "--from", "a@example.net", "--to", "b@example.org,c@example.org",
                            "--helo", "swaks.test"], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r"<-  250 2.0.0 OK id=")
        self.assertEqual(len(t.queue_ids()), 1)

    def test_size_limit(self):
        t = self.start("message_size_limit = 2K\n")
        with t.smtp() as s:
            s.ehlo()
            self.assertEqual(s.esmtp_features["size"], "2048")
            code, _ = s.mail("a@example.net", ["SIZE=5000"])
            self.assertEqual(code, 552)
            s.rset()
            s.mail("a@example.net")
            s.rcpt("b@example.org")
            code, resp = s.data(b"Subject: big\r\n\r\n" + b"x" * 70 + b"\r\n" * 1 + (b"y" * 70 + b"\r\n") * 40)
            self.assertEqual(code, 552, resp)
            # the session goes on
            s.mail("a@example.net")
            s.rcpt("b@example.org")
            code, _ = s.data(MSG)
            self.assertEqual(code, 250)
        self.assertEqual(len(t.queue_ids()), 1)

    def test_too_many_recipients(self):
        t = self.start("recipients_max = 3\n")
        with t.smtp() as s:
            s.ehlo()
            s.mail("a@example.net")
            for i in range(3):
                self.assertEqual(s.rcpt("r%d@example.org" % i)[0], 250)
            code, resp = s.rcpt("r3@example.org")
            self.assertEqual(code, 452)
            self.assertIn(b"4.5.3", resp)
            self.assertEqual(s.data(MSG)[0], 250)
        env = t.queue_file(t.queue_ids()[0])
        self.assertEqual(env.count(b"\nrcpt: "), 3)

    def test_relay_denied_from_other_address(self):
        t = self.start("relay_from_hosts = 127.0.0.1\n")
        with t.smtp(source="127.0.0.2") as s:
            s.ehlo()
            s.mail("a@example.net")
            code, resp = s.rcpt("victim@example.org")
            self.assertEqual(code, 550)
            self.assertIn(b"5.7.1", resp)
            self.assertIn(b"relay not permitted", resp)
            # local recipients (aliases) are still welcome
            self.assertEqual(s.rcpt("root@tern.test")[0], 250)
            self.assertEqual(s.rcpt("ROOT@TERN.TEST")[0], 250)
            self.assertEqual(s.rcpt("nosuchuser@tern.test")[0], 550)
            self.assertEqual(s.data(MSG)[0], 250)
        with t.smtp(source="127.0.0.1") as s:
            s.ehlo()
            s.mail("a@example.net")
            self.assertEqual(s.rcpt("anyone@example.org")[0], 250)

    def smuggle(self, t, sequence):
        s, f = t.raw()
        s.sendall(b"EHLO evil.test\r\nMAIL FROM:<a@example.net>\r\n"
                  b"RCPT TO:<b@example.org>\r\nDATA\r\n")
        for _ in range(4):
            reply_lines(f)
        s.sendall(b"Subject: one\r\n\r\nfirst" + sequence +
                  b"MAIL FROM:<smuggled@example.net>\r\nRCPT TO:<victim@example.org>\r\n"
                  b"DATA\r\nSubject: smuggled\r\n\r\nsecond\r\n.\r\nQUIT\r\n")
        replies = [reply_lines(f)[-1] for _ in range(2)]
        s.close()
        return replies

    def test_smtp_smuggling_is_refused(self):
        t = self.start()
        for seq in (b"\n.\n", b"\r.\r", b"\n.\r\n", b"\r\n.\n", b"\r\n.\r"):
            with self.subTest(seq=seq):
                replies = self.smuggle(t, seq)
                # everything up to the real CRLF.CRLF was one message, and
                # it was refused: no smuggled MAIL/RCPT/DATA was executed
                self.assertTrue(replies[0].startswith(b"550 5.6.0"), replies)
                self.assertTrue(replies[1].startswith(b"221"), replies)
        self.assertEqual(t.queue_ids(), [])
        self.assertNotIn("smuggled@example.net <=", t.read_log())

    def test_dot_unstuffing(self):
        t = self.start()
        s, f = t.raw()
        s.sendall(b"HELO c\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n")
        for _ in range(4):
            reply_lines(f)
        s.sendall(b"Subject: dots\r\n\r\n..leading dot\r\n...\r\n.\r\n")
        self.assertTrue(reply_lines(f)[-1].startswith(b"250"))
        s.close()
        body = t.queue_file(t.queue_ids()[0])
        self.assertTrue(body.endswith(b"\r\n\r\n.leading dot\r\n..\r\n"), body[-60:])

    def test_protocol_errors(self):
        t = self.start("smtp_max_unknown_commands = 2\n")
        s, f = t.raw()
        s.sendall(b"MAIL FROM:<a@example.net>\r\n")
        self.assertTrue(reply_lines(f)[-1].startswith(b"503 5.5.1"))
        s.sendall(b"HELO c\r\nRCPT TO:<b@example.org>\r\n")
        reply_lines(f)
        self.assertTrue(reply_lines(f)[-1].startswith(b"503"))
        s.sendall(b"MAIL FROM:bad-address\r\n")
        self.assertTrue(reply_lines(f)[-1].startswith(b"501"))
        s.sendall(b"X" * 3000 + b"\r\n")
        self.assertTrue(reply_lines(f)[-1].startswith(b"500 5.5.2"))
        # syntax errors: smtp_max_synprot_errors (3) were used up
        s.sendall(b"NOOP\r\n")
        last = reply_lines(f)
        s.close()
        self.assertTrue(any(l.startswith(b"421") for l in last) or
                        last[-1].startswith(b"250"), last)

    def test_long_line_pipelined(self):
        # the commands pipelined after an over-long line are answered,
        # not dropped with it (found by tests/fuzz/fuzz_smtp_session)
        t = self.start()
        s, f = t.raw()
        s.sendall(b"EHLO c\r\n")
        reply_lines(f)
        s.sendall(b"NOOP " + b"x" * 3000 + b"\r\nNOOP\r\nRSET\r\n")
        self.assertTrue(reply_lines(f)[-1].startswith(b"500 5.5.2"))
        self.assertTrue(reply_lines(f)[-1].startswith(b"250 2.0.0"))
        self.assertTrue(reply_lines(f)[-1].startswith(b"250 2.0.0"))
        s.close()

    def test_unknown_commands_disconnect(self):
        t = self.start("smtp_max_unknown_commands = 2\n")
        s, f = t.raw()
        s.sendall(b"FOO\r\nBAR\r\nBAZ\r\n")
        got = b"".join(reply_lines(f)[-1] for _ in range(4))
        self.assertIn(b"421 4.7.0", got)
        self.assertEqual(f.readline(), b"")   # closed
        s.close()

    def test_nonmail_limit(self):
        # smtp_accept_max_nonmail (Exim's): chatting without mail is cut
        # off; each accepted MAIL starts the count again
        t = self.start("smtp_accept_max_nonmail = 3\n")
        s, f = t.raw()
        s.sendall(b"EHLO c\r\nNOOP\r\nRSET\r\nMAIL FROM:<a@example.net>\r\n"
                  b"NOOP\r\nRSET\r\nVRFY x\r\n")
        got = [reply_lines(f)[-1] for _ in range(7)]
        self.assertTrue(all(l[:1] == b"2" for l in got), got)
        s.sendall(b"NOOP\r\nNOOP\r\n")
        last = reply_lines(f)[-1]
        self.assertTrue(last.startswith(b"421 4.7.0"), last)
        self.assertIn(b"non-mail", last)
        self.assertEqual(f.readline(), b"")   # closed, the second NOOP unread
        s.close()
        # the default (10) leaves a normal client room for its chat
        t2 = self.start()
        with t2.smtp() as c:
            for _ in range(5):
                c.ehlo()
                c.noop()
            c.sendmail("a@example.net", ["b@example.org"], MSG)

    def test_connection_limit(self):
        t = self.start("smtp_accept_max = 2\n")
        a, fa = t.raw()
        b, fb = t.raw()
        import socket
        c = socket.create_connection(("127.0.0.1", t.port), timeout=10)
        line = c.makefile("rb").readline()
        self.assertTrue(line.startswith(b"421 4.3.2"), line)
        c.close()
        a.close()
        b.close()
        harness.wait_for(lambda: "too many connections" in t.read_log(), what="log line")

    def test_idle_timeout(self):
        t = self.start("smtp_receive_timeout = 1s\n")
        s, f = t.raw()
        start = time.monotonic()
        line = f.readline()
        self.assertTrue(line.startswith(b"421 4.4.2"), line)
        self.assertLess(time.monotonic() - start, 8)
        s.close()

    def test_kill9_after_250_keeps_message(self):
        t = self.start()
        with t.smtp() as s:
            s.ehlo()
            s.mail("a@example.net")
            s.rcpt("b@example.org")
            code, resp = s.data(MSG)
            self.assertEqual(code, 250)
            t.proc.kill()   # SIGKILL right after the 250
        t.proc.wait()
        t.proc.stdout.close()
        t.proc.stderr.close()
        t.proc = None
        qid = re.search(rb"id=(\S+)", resp).group(1).decode()
        t.serve(wait_log="daemon started")
        self.assertEqual(t.queue_ids(), [qid])
        out = t.sendmail(name="mailq").stdout.decode()
        self.assertIn(qid, out)
        self.assertEqual(t.stop(), 0)

    def test_sighup_keeps_serving_and_sigterm_finishes(self):
        t = self.start()
        t.send_signal(signal.SIGHUP)
        harness.wait_for(lambda: "SIGHUP: reloaded" in t.read_log(), what="reload")
        with t.smtp() as s:
            s.ehlo()
            s.mail("a@example.net")
            s.rcpt("b@example.org")
            self.assertEqual(s.data(MSG)[0], 250)
        self.assertEqual(t.stop(), 0)


class SendmailTest(unittest.TestCase):
    """What sendmail queues; queue_only keeps delivery out of the way."""

    def setUp(self):
        self.t = Tern("", "queue_only = true\n")
        self.addCleanup(self.t.cleanup)

    def test_t_with_bcc(self):
        msg = (b"To: bob@example.org, \"Doe, Jane\" <jane@example.com>\n"
               b"Cc: root\nBcc: secret@example.net\nSubject: report\n\nline 1\nline 2\n")
        r = self.t.sendmail("-t", "-i", input=msg)
        self.assertEqual(r.returncode, 0, r.stderr)
        ids = self.t.queue_ids()
        self.assertEqual(len(ids), 1)
        data = self.t.queue_file(ids[0])
        env, body = data.split(b"\n\n", 1)
        for rcpt in (b"bob@example.org", b"jane@example.com", b"root@tern.test",
                     b"secret@example.net"):
            self.assertIn(b"rcpt: <" + rcpt + b">", env)
        self.assertNotIn(b"Bcc", body)
        self.assertNotIn(b"secret", body)
        # headers a submission agent adds, CRLF everywhere
        self.assertRegex(body, rb"\r\nDate: \w{3}, \d+ \w{3} \d{4} ")
        self.assertIn(b"\r\nMessage-ID: <" + ids[0].encode() + b"@tern.test>\r\n", body)
        self.assertIn(b"\r\nFrom: ", body)
        self.assertTrue(body.endswith(b"\r\n\r\nline 1\r\nline 2\r\n"))
        self.assertNotRegex(body.replace(b"\r\n", b""), rb"[\r\n]")

    def test_dot_ends_input_without_i(self):
        r = self.t.sendmail("bob@example.org", input=b"Subject: x\n\nbefore\n.\nafter\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        data = self.t.queue_file(self.t.queue_ids()[0])
        self.assertTrue(data.endswith(b"before\r\n"), data[-40:])

    def test_sender_and_fullname(self):
        r = self.t.sendmail("-f", "alerts@example.net", "-F", "Router Alerts", "ops@example.org",
                            input=b"Subject: x\n\nbody\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        data = self.t.queue_file(self.t.queue_ids()[0])
        self.assertIn(b"sender: <alerts@example.net>", data)
        self.assertIn(b"From: Router Alerts <", data)

    def test_no_recipients_is_an_error(self):
        r = self.t.sendmail("-t", input=b"Subject: nobody\n\nx\n")
        self.assertEqual(r.returncode, 64)
        self.assertIn(b"no recipients", r.stderr)
        self.assertEqual(self.t.queue_ids(), [])

    def test_bad_flag_is_refused(self):
        r = self.t.sendmail("-bd", input=b"")
        self.assertEqual(r.returncode, 64)
        self.assertIn(b"not supported", r.stderr)

    def test_bs_session(self):
        r = self.t.sendmail("-bs", input=b"HELO local\r\nMAIL FROM:<me@example.net>\r\n"
                            b"RCPT TO:<anywhere@example.org>\r\nDATA\r\nSubject: bs\r\n\r\nhi\r\n.\r\nQUIT\r\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        codes = [l[:3] for l in r.stdout.split(b"\r\n") if l]
        self.assertEqual(codes, [b"220", b"250", b"250", b"250", b"354", b"250", b"221"])
        data = self.t.queue_file(self.t.queue_ids()[0])
        self.assertIn(b"protocol: local-smtp", data)

    def test_bs_long_line_keeps_pipelined_commands(self):
        # an over-long line is answered 500 and dropped up to its LF; the
        # commands after it are still run (sendmail -bs dropped its whole
        # buffer with the line; the listener was fixed the same way)
        r = self.t.sendmail("-bs", input=b"HELO local\r\nNOOP " + b"x" * 3000 +
                            b"\r\nMAIL FROM:<me@example.net>\r\nRCPT TO:<a@example.org>\r\n"
                            b"DATA\r\nSubject: bs\r\n\r\nhi\r\n.\r\nQUIT\r\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        codes = [l[:3] for l in r.stdout.split(b"\r\n") if l]
        self.assertEqual(codes, [b"220", b"250", b"500", b"250", b"250", b"354", b"250", b"221"])
        self.assertEqual(len(self.t.queue_ids()), 1)

    def test_unwritable_spool_is_a_temporary_failure(self):
        os.makedirs(self.t.spool, mode=0o700, exist_ok=True)
        os.chmod(self.t.spool, 0o777)
        r = self.t.sendmail("bob@example.org", input=b"Subject: x\n\nbody\n")
        self.assertEqual(r.returncode, 75)
        self.assertIn(b"must be private", r.stderr)

    def test_bare_cr_and_lf_become_crlf(self):
        r = self.t.sendmail("-i", "bob@example.org",
                            input=b"Subject: x\n\na\rb\nc\r\n.\n..\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        data = self.t.queue_file(self.t.queue_ids()[0])
        self.assertTrue(data.endswith(b"\r\n\r\na\r\nb\r\nc\r\n.\r\n..\r\n"), data[-40:])

    def test_queue_remove(self):
        self.t.sendmail("bob@example.org", input=b"Subject: x\n\nbody\n")
        qid = self.t.queue_ids()[0]
        r = self.t.cmd("queue", "remove", qid)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.t.queue_ids(), [])
        self.assertIn("Mail queue is empty", self.t.cmd("queue").stdout)
        self.assertIn("%s removed by" % qid, self.t.read_log())
        r = self.t.cmd("queue", "remove", "nonexistent")
        self.assertNotEqual(r.returncode, 0)


@unittest.skipUnless(enabled("CONFIG_SMTP_SERVER"), "no SMTP listener in this build")
class FullDiskTest(unittest.TestCase):
    """The spool on a 256 KiB tmpfs: a message that does not fit gets
    452 4.3.1, queued mail is kept, acceptance resumes with space."""

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("mounting a small tmpfs needs root (CI runs as root)")
        # the write itself must fail: no spool_min_free check at MAIL
        # (test_disk.py covers that)
        self.t = Tern("", "queue_only = true\nspool_min_free = 0\n")
        self.addCleanup(self.t.cleanup)
        os.makedirs(self.t.spool)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700",
                            "tmpfs", self.t.spool], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, "cannot mount a tmpfs: " + r.stderr)
        self.addCleanup(subprocess.run, ["umount", "-l", self.t.spool])
        self.t.serve()

    def send(self, size):
        with self.t.smtp() as s:
            s.ehlo()
            s.mail("a@example.net")
            s.rcpt("b@example.org")
            try:
                return s.data(b"Subject: fill\r\n\r\n" + (b"z" * 998 + b"\r\n") * (size // 1000))
            except smtplib.SMTPDataError as e:
                return e.smtp_code, e.smtp_error

    def test_enospc_answers_452_and_keeps_queue(self):
        accepted = []
        for _ in range(10):
            code, resp = self.send(60000)
            if code != 250:
                break
            accepted.append(re.search(rb"id=(\S+)", resp).group(1).decode())
        self.assertEqual(code, 452, resp)
        self.assertIn(b"4.3.1", resp)
        self.assertGreaterEqual(len(accepted), 2)
        # every acknowledged message is still there, whole
        self.assertEqual(self.t.queue_ids(), sorted(accepted))
        for qid in accepted:
            self.assertTrue(self.t.queue_file(qid).endswith(b"z\r\n"))
        # no half-written file is left behind in tmp/
        self.assertEqual(os.listdir(os.path.join(self.t.spool, "tmp")), [])
        self.assertIn("no space in the spool", self.t.read_log())
        # space comes back: acceptance resumes
        r = self.t.cmd("queue", "remove", accepted[0])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.send(20000)[0], 250)
        self.assertEqual(self.t.stop(), 0)


@unittest.skipUnless(enabled("CONFIG_SMTP_SERVER"), "no SMTP listener in this build")
class LocalUserTest(unittest.TestCase):
    """A user who may not write the private spool hands the message to the
    daemon over local_socket; without a daemon the call fails with
    EX_TEMPFAIL, so the caller keeps the message."""

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("switching to another user needs root (CI runs as root)")
        self.t = Tern("", "queue_only = true\n")
        self.addCleanup(self.t.cleanup)
        os.chmod(self.t.dir, 0o755)
        os.chmod(self.t.conf, 0o644)
        link = os.path.join(self.t.dir, "sendmail")
        os.symlink(harness.TERN, link)
        # (a cross build runs under harness.RUNNER, qemu-user)
        self.argv = (["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
                     + harness.RUNNER + [link, "-C", self.t.conf])

    def run_as_nobody(self, *args, input=b"Subject: from nobody\n\nhello\n.line\n"):
        r = subprocess.run(self.argv + list(args), input=input, capture_output=True,
                           timeout=30)
        harness.check_sanitizer(r.stderr, "sendmail as nobody")
        return r

    def test_handoff_to_daemon(self):
        self.t.serve()
        r = self.run_as_nobody("-f", "nobody@tern.test", "ops@example.org")
        self.assertEqual(r.returncode, 0, r.stderr)
        ids = self.t.queue_ids()
        self.assertEqual(len(ids), 1)
        data = self.t.queue_file(ids[0])
        self.assertIn(b"ident: nobody\n", data)
        self.assertIn(b"protocol: local-esmtp\n", data)
        self.assertIn(b"rcpt: <ops@example.org>\n", data)
        # dot-stuffed on the socket, unstuffed by the daemon
        self.assertTrue(data.endswith(b"\r\nhello\r\n.line\r\n"), data[-40:])
        self.assertRegex(self.t.read_log(), r"%s <= nobody@tern.test U=nobody P=local-esmtp S=\d+ "
                         r"id=<[^>]+@tern.test> for ops@example.org" % ids[0])

    def test_no_daemon_is_a_temporary_failure(self):
        r = self.run_as_nobody("ops@example.org")
        self.assertEqual(r.returncode, 75, r.stderr)
        self.assertIn(b"may not write the spool", r.stderr)
        self.assertEqual(self.t.queue_ids(), [])

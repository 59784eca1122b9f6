"""test_relay.py - no open relay, cell by cell; and what leaves tern for
the next hop is clean SMTP whatever came in (no smuggling downstream).

Relay matrix: sender (local domain, foreign domain, null <>) x client
(127.0.0.1 in relay_from_hosts = 127.0.0.1, 127.0.0.2 outside it) x
recipient (aliases of the local domain in any case, unknown local users,
foreign domains, source routes, % and ! hacks, quoted local parts,
user@foreign@local, domain literals, trailing dots). Only the client in
relay_from_hosts may send to a foreign domain; everyone else gets
550 5.7.1 and nothing for a foreign domain is queued from outside. This
build has no SMTP AUTH on the server side (AUTH answers 502), so
relay_from_hosts is the only way to relay over SMTP.

Smuggling, relaying side: messages with bare CR, bare LF and lone dots in
every arrangement (through sendmail, which takes bare line ends, and through
SMTP, which takes only CRLF) are delivered to a raw-socket receiver that
records the exact bytes of DATA: only CRLF line ends, dot-stuffed, and no
line of a lone "." but the final one.
"""
import re
import socket
import threading
import unittest

import harness
from harness import Tern, enabled

MSG = b"Subject: relay\r\n\r\nhello\r\n"

ALIASES = "[aliases]\nroot = admin@example.net\npostmaster = root\n"

LOCAL_OK = "250"
NO_USER = "550 5.1.1"
DENIED = "550 5.7.1"
SYNTAX = "553 5.1.3"

# recipient: (reply from outside relay_from_hosts, from inside)
MATRIX = [
    ("root@tern.test", LOCAL_OK, LOCAL_OK),
    ("ROOT@TERN.TEST", LOCAL_OK, LOCAL_OK),
    ("root@Tern.Test", LOCAL_OK, LOCAL_OK),
    ("postmaster", LOCAL_OK, LOCAL_OK),
    ("nobody@tern.test", NO_USER, NO_USER),
    ("user@example.org", DENIED, LOCAL_OK),
    ("user@EXAMPLE.ORG", DENIED, LOCAL_OK),
    ("user@tern.test.example.org", DENIED, LOCAL_OK),
    ("user@localhost", DENIED, LOCAL_OK),
    # source routes are dropped (RFC 5321 4.1.2, C): the mailbox decides
    ("@tern.test:user@example.org", DENIED, LOCAL_OK),
    ("@tern.test,@other.test:user@example.org", DENIED, LOCAL_OK),
    ("@TERN.TEST:root@tern.test", LOCAL_OK, LOCAL_OK),
    # the local part is never read as a route: no such user here
    ("user%example.org@tern.test", NO_USER, NO_USER),
    ("root%example.org@tern.test", NO_USER, NO_USER),
    ("user!example.org@tern.test", NO_USER, NO_USER),
    ("example.org!user@tern.test", NO_USER, NO_USER),
    ('"user@example.org"@tern.test', NO_USER, NO_USER),
    ('"root@example.org"@tern.test', NO_USER, NO_USER),
    ("user@example.org@tern.test", SYNTAX, SYNTAX),
    # domain literals are not this host unless local_domains says so
    ("user@[127.0.0.1]", DENIED, LOCAL_OK),
    ("root@[127.0.0.1]", DENIED, LOCAL_OK),
    ("user@[IPv6:::1]", DENIED, LOCAL_OK),
    # a trailing dot is not in RFC 5321's Domain
    ("root@tern.test.", SYNTAX, SYNTAX),
    ("user@example.org.", SYNTAX, SYNTAX),
    ("root@tern.test..", SYNTAX, SYNTAX),
    ("user@.tern.test", SYNTAX, SYNTAX),
]

SENDERS = ["someone@tern.test", "someone@example.net", ""]


def reply(f):
    lines = []
    while True:
        line = f.readline()
        if not line:
            raise AssertionError("connection closed; got %r" % lines)
        lines.append(line)
        if line[3:4] != b"-":
            return b"".join(lines).decode(errors="replace")


def envelope(data):
    """sender, rcpts and host-address of a queue file"""
    env = data.split(b"\n\n", 1)[0].decode(errors="replace")
    rcpts = re.findall(r"^rcpt: <([^>]*)>", env, re.M)
    sender = re.search(r"^sender: <([^>]*)>", env, re.M).group(1)
    host = re.search(r"^host-address: (\S+)", env, re.M)
    return sender, rcpts, host.group(1) if host else None


@unittest.skipUnless(enabled("CONFIG_SMTP_SERVER"), "no SMTP listener in this build")
class RelayMatrixTest(unittest.TestCase):
    def test_matrix(self):
        t = Tern(ALIASES, "queue_only = true\nrelay_from_hosts = 127.0.0.1\n"
                 "smtp_max_synprot_errors = 0\n")
        self.addCleanup(t.cleanup)
        t.serve()
        queued = {}
        for source, col in (("127.0.0.2", 1), ("127.0.0.1", 2)):
            for sender in SENDERS:
                s, f = t.raw(source=source)
                s.sendall(b"EHLO client.test\r\n")
                ehlo = reply(f)
                self.assertNotIn("AUTH", ehlo)
                s.sendall(b"MAIL FROM:<%s>\r\n" % sender.encode())
                self.assertTrue(reply(f).startswith("250"))
                accepted = []
                for row in MATRIX:
                    rcpt, want = row[0], row[col]
                    with self.subTest(client=source, sender=sender or "<>", rcpt=rcpt):
                        s.sendall(b"RCPT TO:<%s>\r\n" % rcpt.encode())
                        got = reply(f)
                        self.assertTrue(got.startswith(want), got)
                        if want == DENIED:
                            self.assertIn("relay not permitted", got)
                    if got.startswith("250"):
                        accepted.append(rcpt)
                s.sendall(b"DATA\r\n")
                self.assertTrue(reply(f).startswith("354"))
                s.sendall(MSG + b".\r\n")
                got = reply(f)
                self.assertTrue(got.startswith("250"), got)
                qid = re.search(r"id=(\S+)", got).group(1)
                s.sendall(b"QUIT\r\n")
                reply(f)
                s.close()
                queued[qid] = (source, sender, accepted)
        self.assertEqual(sorted(queued), t.queue_ids())
        for qid, (source, sender, accepted) in queued.items():
            env_sender, rcpts, host = envelope(t.queue_file(qid))
            self.assertEqual(host, source)
            self.assertEqual(env_sender, sender)
            # source routes are stored without the route
            want = [a.split(":", 1)[1] if a.startswith("@") else a for a in accepted]
            self.assertEqual(rcpts, want)
        # the invariant: from outside, nothing but this host's own domain
        for qid in t.queue_ids():
            _, rcpts, host = envelope(t.queue_file(qid))
            if host != "127.0.0.1":
                for r in rcpts:
                    self.assertTrue(r == "postmaster" or
                                    r.lower().endswith("@tern.test"), (qid, host, r))
        log = t.read_log()
        self.assertNotRegex(log, r"\[127\.0\.0\.2\].* for .*example\.org")

    def test_no_auth_on_the_server(self):
        """AUTH is not offered, answers 502, and opens nothing."""
        t = Tern(ALIASES, "queue_only = true\nrelay_from_hosts = 127.0.0.1\n")
        self.addCleanup(t.cleanup)
        t.serve()
        s, f = t.raw(source="127.0.0.2")
        s.sendall(b"EHLO client.test\r\n")
        self.assertNotIn("AUTH", reply(f))
        s.sendall(b"AUTH PLAIN AHVzZXIAcGFzcw==\r\n")
        self.assertTrue(reply(f).startswith("502"))
        s.sendall(b"MAIL FROM:<a@example.net> AUTH=user@example.net\r\n")
        self.assertTrue(reply(f).startswith("250"))
        s.sendall(b"RCPT TO:<victim@example.org>\r\n")
        self.assertTrue(reply(f).startswith(DENIED))
        s.sendall(b"QUIT\r\n")
        reply(f)
        s.close()
        self.assertEqual(t.queue_ids(), [])


class RawReceiver:
    """A bare SMTP server on loopback that keeps the exact bytes of each
    DATA, up to and including the final CRLF.CRLF."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.data = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.session, args=(c,), daemon=True).start()

    def session(self, c):
        c.settimeout(30)
        buf = b""

        def line():
            nonlocal buf
            while b"\r\n" not in buf:
                got = c.recv(65536)
                if not got:
                    raise EOFError
                buf += got
            ln, buf = buf.split(b"\r\n", 1)
            return ln

        try:
            c.sendall(b"220 raw.test ESMTP\r\n")
            while True:
                cmd = line().upper()
                if cmd.startswith(b"EHLO"):
                    c.sendall(b"250-raw.test\r\n250 8BITMIME\r\n")
                elif cmd.startswith(b"DATA"):
                    c.sendall(b"354 go\r\n")
                    while b"\r\n.\r\n" not in b"\r\n" + buf:
                        got = c.recv(65536)
                        if not got:
                            raise EOFError
                        buf += got
                    end = (b"\r\n" + buf).index(b"\r\n.\r\n") + 3
                    with self.lock:
                        self.data.append(buf[:end])
                    buf = buf[end:]
                    c.sendall(b"250 ok\r\n")
                elif cmd.startswith(b"QUIT"):
                    c.sendall(b"221 bye\r\n")
                    return
                else:
                    c.sendall(b"250 ok\r\n")
        except (EOFError, OSError):
            pass
        finally:
            c.close()

    def stop(self):
        self.sock.close()


# body as given to sendmail -i (bare line ends allowed) -> the body lines
# as they must reach the next hop (before dot-stuffing)
SENDMAIL_BODIES = [
    (b"a\nb\n", [b"a", b"b"]),
    (b"first\n.\nMAIL FROM:<x@evil.test>\n", [b"first", b".", b"MAIL FROM:<x@evil.test>"]),
    (b"first\r.\r\nsecond\n", [b"first", b".", b"second"]),
    (b"first\n.\r\nsecond\n", [b"first", b".", b"second"]),
    (b"first\r\n.\rsecond\r\n", [b"first", b".", b"second"]),
    (b"first\r\n.\nsecond\r\n", [b"first", b".", b"second"]),
    (b"a\rb\r\rc\n\nd", [b"a", b"b", b"", b"c", b"", b"d"]),
    (b".\n..\n.x\n", [b".", b"..", b".x"]),
    (b"end with a dot\n.", [b"end with a dot", b"."]),
]


def wire_lines(data):
    """Check DATA bytes as sent: CRLF only, ends with CRLF.CRLF, no lone
    dot before; returns the unstuffed lines of the message."""
    assert data.endswith(b"\r\n.\r\n"), data[-20:]
    body = data[:-3]
    lines = body.split(b"\r\n")
    assert lines[-1] == b"", lines[-3:]
    lines = lines[:-1]
    for ln in lines:
        assert b"\r" not in ln and b"\n" not in ln, ("bare CR or LF", ln)
        assert ln != b".", ("a lone dot before the end", data)
        # RFC 5321 4.5.2: every line starting with a dot was stuffed
        if ln.startswith(b"."):
            assert ln.startswith(b".."), ln
    return [ln[1:] if ln.startswith(b".") else ln for ln in lines]


class SmugglingRelayTest(unittest.TestCase):
    """What tern sends downstream, byte for byte."""

    def setUp(self):
        self.rx = RawReceiver()
        self.addCleanup(self.rx.stop)
        router = ("[router smarthost]\ndriver = manualroute\nhosts = 127.0.0.1:%d\n"
                  % self.rx.port)
        self.t = Tern(router, "queue_only = true\nrelay_from_hosts = 127.0.0.1\n")
        self.addCleanup(self.t.cleanup)

    def run_queue(self, n):
        r = self.t.cmd("queue", "run", timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        harness.wait_for(lambda: len(self.rx.data) >= n, what="%d deliveries" % n)
        self.assertEqual(self.t.queue_ids(), [], self.t.read_log()[-2000:])
        return list(self.rx.data)

    def message_lines(self, data):
        lines = wire_lines(data)
        # the body: after the first empty line (headers tern added before)
        return lines[lines.index(b"") + 1:]

    def test_sendmail_bodies(self):
        for i, (body, _) in enumerate(SENDMAIL_BODIES):
            r = self.t.sendmail("-i", "-odq", "rx%d@example.org" % i,
                                input=b"Subject: s%d\n\n" % i + body)
            self.assertEqual(r.returncode, 0, r.stderr)
        got = self.run_queue(len(SENDMAIL_BODIES))
        by_subject = {}
        for data in got:
            m = re.search(rb"\r\nSubject: s(\d+)\r\n", data)
            by_subject[int(m.group(1))] = data
        for i, (body, want) in enumerate(SENDMAIL_BODIES):
            with self.subTest(body=body):
                self.assertEqual(self.message_lines(by_subject[i]), want)

    def test_smtp_bodies(self):
        """Over SMTP only CRLF is accepted (test_receive refuses the rest):
        lone and stuffed dots must come out stuffed."""
        bodies = [
            (b"..\r\n", [b"."]),
            (b"...\r\n", [b".."]),
            (b"..x\r\n", [b".x"]),
            (b"a\r\n..\r\nb\r\n", [b"a", b".", b"b"]),
            (b"a\r\n\r\n..\r\n\r\n", [b"a", b"", b".", b""]),
        ]
        self.t.serve()
        with self.t.smtp() as s:
            for i, (body, _) in enumerate(bodies):
                s.ehlo_or_helo_if_needed()
                self.assertEqual(s.mail("a@example.net")[0], 250)
                self.assertEqual(s.rcpt("rx%d@example.org" % i)[0], 250)
                self.assertEqual(s.docmd("DATA")[0], 354)
                s.send(b"Subject: s%d\r\n\r\n" % i + body + b".\r\n")
                self.assertEqual(s.getreply()[0], 250)
        self.t.stop()
        got = self.run_queue(len(bodies))
        by_subject = {}
        for data in got:
            m = re.search(rb"\r\nSubject: s(\d+)\r\n", data)
            by_subject[int(m.group(1))] = data
        for i, (body, want) in enumerate(bodies):
            with self.subTest(body=body):
                self.assertEqual(self.message_lines(by_subject[i]), want)

    def test_spool_with_bare_line_ends(self):
        """Whatever a queue file holds (written by an older tern, another
        tool, or a bit flip), the client sends CRLF lines only."""
        r = self.t.sendmail("-i", "-odq", "rx@example.org", input=b"Subject: raw\n\nbody\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        qid = self.t.queue_ids()[0]
        path = "%s/queue/%s" % (self.t.spool, qid)
        with open(path, "rb") as f:
            data = f.read()
        body = (b"first\n.\nMAIL FROM:<x@evil.test>\r\nx\r.\r\ny\n.\r\n"
                b"z\r\n.\rw\r\n.\nv\r\n..\n\r\n.")
        with open(path, "wb") as f:
            f.write(data[:data.index(b"\r\n\r\nbody\r\n") + 4] + body)
        got = self.run_queue(1)
        self.assertEqual(self.message_lines(got[0]),
                         [b"first", b".", b"MAIL FROM:<x@evil.test>", b"x", b".", b"y",
                          b".", b"z", b".", b"w", b".", b"v", b"..", b"", b"."])

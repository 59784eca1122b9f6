"""test_limits.py - resource limits of `tern serve` under hostile clients.

1,000 slow clients at once against smtp_accept_max = 100 and
smtp_receive_timeout = 3s: the clients over the limit get 421 4.3.2 and
are closed; the ones let in (idle, slowloris trickling one byte a second
without ending a line, stuck in the middle of DATA) are cut off by the
per-line deadline, however many bytes they trickle; tern's memory stays
bounded and a fresh client is served afterwards. Prints
`limits: slow=... rss_idle=... rss_peak=... rss_after=...` (KiB).

The same with smtp_accept_max = 1000: 1,000 sessions held at once, for
their memory. Through STARTTLS: a handshake trickled a byte at a time, and
a command trickled inside TLS, meet the same deadline.

A daemon started with only 40 file descriptors: it keeps its sessions
under the limit, answers the clients over it with 421 (not libuv's silent
close at EMFILE), does not spin, and serves again once they have gone.
And `tern serve` raises its soft open files limit to the hard one.
"""
import os
import re
import resource
import selectors
import shutil
import signal
import socket
import ssl
import tempfile
import time
import unittest

import harness
from harness import Tern, enabled

MSG = b"Subject: test\r\n\r\nhello\r\n"


def proc_status(pid, key):
    """A field of /proc/PID/status in KiB (VmRSS, VmHWM)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise AssertionError("no %s for pid %d" % (key, pid))


def cpu_seconds(pid):
    """User + system CPU time of pid so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def raise_own_nofile(test, want):
    """This process needs want descriptors: raise the soft limit (the
    hard one permitting), restored afterwards."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < want:
        if hard != resource.RLIM_INFINITY and hard < want:
            test.skipTest("the hard open files limit (%d) is below %d" % (hard, want))
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        test.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE, (soft, hard))
    return hard


class Client:
    """One non-blocking client: what it read, when it was let in, when
    the server closed it."""

    def __init__(self, sock, role=None):
        self.sock = sock
        self.role = role
        self.buf = b""
        self.banner = None
        self.t_banner = None
        self.t_deadline_from = None   # when its last complete line was sent
        self.t_closed = None
        self.sent_data = False
        self.trickled = 0

    def lines(self):
        return self.buf.split(b"\r\n")


def read_reply(f):
    """One (multi-line) SMTP reply from a socket file; b"" when closed."""
    lines = []
    while True:
        line = f.readline()
        if not line:
            return b"".join(lines)
        lines.append(line)
        if line[3:4] != b"-":
            return b"".join(lines)


@unittest.skipUnless(enabled("CONFIG_SMTP_SERVER"), "no SMTP listener in this build")
class DataRateTest(unittest.TestCase):
    """smtp_min_data_rate: a DATA client that ends a line just inside each
    smtp_receive_timeout is still cut off once the message comes slower
    than the minimum on average; with no minimum it is not, nor is a
    trusted client (relay_from_hosts)."""
    aliases = "[aliases]\nroot = admin@example.net\n"

    def drip(self, rate, seconds, trusted=False):
        """A message to root@tern.test sent as one 80-byte line every 1.5 s
        (each well inside the 3 s line timeout) by a client outside
        relay_from_hosts (or in it: trusted). Returns (tern, the reply to
        the data or b"" when closed, seconds the session lasted)."""
        t = Tern(self.aliases, "queue_only = true\nsmtp_receive_timeout = 3s\n"
                 "smtp_min_data_rate = %d\n" % rate +
                 ("" if trusted else "relay_from_hosts = 192.0.2.0/24\n"))
        self.addCleanup(t.cleanup)
        t.serve()
        s, f = t.raw(timeout=15)
        self.addCleanup(s.close)
        s.sendall(b"EHLO drip.test\r\nMAIL FROM:<a@example.net>\r\n"
                  b"RCPT TO:<root@tern.test>\r\nDATA\r\n")
        for _ in range(3):
            read_reply(f)
        self.assertTrue(read_reply(f).startswith(b"354 "))
        start = time.monotonic()
        s.sendall(b"Subject: drip\r\n\r\n")
        s.settimeout(1.5)
        reply = b""
        while time.monotonic() - start < seconds:
            try:
                reply = s.recv(4096)
                break   # tern said something (or closed): it gave up
            except socket.timeout:
                pass
            try:
                s.sendall(b"x" * 78 + b"\r\n")
            except OSError:
                break
        else:
            s.settimeout(15)
            s.sendall(b".\r\n")
            reply = f.readline()
        return t, reply, time.monotonic() - start

    def test_too_slow_is_cut_off(self):
        # 100 bytes/s: 3 s of grace + 0.8 s per line against 1.5 s per
        # line runs out after about 4 lines (6 s)
        t, reply, took = self.drip(100, 20)
        self.assertTrue(reply.startswith(b"421 4.4.2"), reply)
        self.assertLess(took, 12)
        self.assertGreater(took, 4)
        harness.wait_for(lambda: "SMTP data too slow" in t.read_log(), what="log line")
        self.assertIn("smtp_min_data_rate 100", t.read_log())
        self.assertEqual(t.queue_ids(), [])

    def test_no_minimum(self):
        # smtp_min_data_rate = 0: the same client finishes after 12 s
        t, reply, took = self.drip(0, 12)
        self.assertTrue(reply.startswith(b"250 "), reply)
        self.assertEqual(len(t.queue_ids()), 1)
        self.assertNotIn("too slow", t.read_log())

    def test_trusted_client_exempt(self):
        # the same client in relay_from_hosts (a local script writing its
        # report as it goes) is not held to the minimum
        t, reply, took = self.drip(100, 12, trusted=True)
        self.assertTrue(reply.startswith(b"250 "), reply)
        self.assertEqual(len(t.queue_ids()), 1)

    def test_fast_enough(self):
        # 30 bytes/s is below the client's 53: it finishes too
        t, reply, took = self.drip(30, 12)
        self.assertTrue(reply.startswith(b"250 "), reply)
        self.assertEqual(len(t.queue_ids()), 1)


@unittest.skipUnless(enabled("CONFIG_SMTP_SERVER"), "no SMTP listener in this build")
class LimitsTest(unittest.TestCase):
    aliases = "[aliases]\nroot = admin@example.net\n"

    def test_nofile_raised_to_hard_limit(self):
        if harness.runner_fixes_fd_limits():
            self.skipTest("under valgrind, which fixes the open files limit")
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard == resource.RLIM_INFINITY:
            self.skipTest("no hard open files limit here")
        low = min(256, hard)
        t = Tern(self.aliases, "queue_only = true\n")
        self.addCleanup(t.cleanup)
        t.serve(preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (low, hard)))
        self.assertIn("open files limit: %d\n" % hard, t.read_log())
        with open("/proc/%d/limits" % t.proc.pid) as f:
            line = [l for l in f if l.startswith("Max open files")][0]
        self.assertEqual(line.split()[3], str(hard), line)
        self.assertEqual(t.stop(), 0)

    def test_slow_clients(self):
        """1,000 slow clients against smtp_accept_max = 100"""
        self.slow_clients(1000, 100)

    def test_slow_clients_all_held(self):
        """1,000 slow clients all let in (smtp_accept_max = 1000): the
        memory of 1,000 sessions held at once"""
        if harness.runner_fixes_fd_limits():
            self.skipTest("under valgrind, which fixes the open files limit")
        self.slow_clients(1000, 1000, TIMEOUT=10)

    def slow_clients(self, N, MAX, TIMEOUT=3):
        hard = raise_own_nofile(self, N + 200)
        t = Tern(self.aliases, "queue_only = true\nsmtp_accept_max = %d\n"
                 "smtp_receive_timeout = %ds\n" % (MAX, TIMEOUT))
        self.addCleanup(t.cleanup)
        t.serve(preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard)))
        pid = t.proc.pid
        time.sleep(0.3)
        rss_idle = proc_status(pid, "VmRSS")

        t0 = time.monotonic()
        sel = selectors.DefaultSelector()
        clients = []
        connect_time = None
        admitted = []
        probes = 0
        rss_held = 0
        roles = ("idle", "slowloris", "middata")
        start = time.monotonic()
        last_tick = start
        while time.monotonic() - start < 40:
            # connect in batches, keeping up with the ones let in
            for _ in range(min(50, N - len(clients))):
                s = socket.create_connection(("127.0.0.1", t.port), timeout=30)
                s.setblocking(False)
                c = Client(s)
                clients.append(c)
                sel.register(s, selectors.EVENT_READ, c)
            if connect_time is None and len(clients) == N:
                connect_time = time.monotonic() - t0
            for key, _ in sel.select(timeout=0.2 if len(clients) == N else 0):
                c = key.data
                try:
                    got = c.sock.recv(4096)
                except BlockingIOError:
                    continue
                except ConnectionResetError:
                    got = b""
                now = time.monotonic()
                if not got:
                    c.t_closed = now
                    sel.unregister(c.sock)
                    c.sock.close()
                    continue
                c.buf += got
                if c.banner is None and b"\r\n" in c.buf:
                    c.banner = c.buf.split(b"\r\n", 1)[0]
                    c.t_banner = c.t_deadline_from = now
                    if c.banner.startswith(b"220 "):
                        c.role = roles[len(admitted) % 3]
                        admitted.append(c)
                        if (not probes and len(admitted) == MAX and
                                now - admitted[0].t_banner < TIMEOUT - 1):
                            # while they are held, a new client is refused
                            p = socket.create_connection(("127.0.0.1", t.port), timeout=10)
                            line = p.makefile("rb").readline()
                            p.close()
                            probes += 1
                            self.assertTrue(line.startswith(b"421 4.3.2"), line)
                        if c.role == "middata":
                            c.sock.sendall(b"EHLO stuck.test\r\nMAIL FROM:<a@example.net>\r\n"
                                           b"RCPT TO:<b@example.org>\r\nDATA\r\n")
                            c.t_deadline_from = time.monotonic()
                if (c.role == "middata" and not c.sent_data and
                        b"\r\n354 " in b"\r\n" + c.buf):
                    # the 354 came: a header, then a line never ended
                    c.sock.sendall(b"Subject: stuck\r\n\r\nthis line never ends")
                    c.sent_data = True
                    c.t_deadline_from = time.monotonic()
            now = time.monotonic()
            if now - last_tick >= 1.0:
                # one byte a second, never a line end: a deadline per read
                # would keep these forever
                last_tick = now
                for c in admitted:
                    if c.t_closed is None and (c.role == "slowloris" or
                                               (c.role == "middata" and c.sent_data)):
                        try:
                            c.sock.send(b"x" if c.role == "middata" or c.trickled else b"E")
                            c.trickled += 1
                        except OSError:
                            pass
                rss_held = max(rss_held, proc_status(pid, "VmRSS"))
            if len(clients) == N and all(c.t_closed is not None for c in clients):
                break
        sel.close()
        open_left = [c for c in clients if c.t_closed is None]
        for c in open_left:
            c.sock.close()
        self.assertEqual(len(open_left), 0, "clients still open after 40 s (held: %s)" %
                         sorted(set(c.role for c in open_left if c.role)))
        # MAX at a time; when connecting all took longer than the
        # timeout, a second wave came in as the first was cut off
        self.assertGreaterEqual(len(admitted), MAX)
        refused = [c for c in clients if c.role is None]
        self.assertEqual(len(refused), N - len(admitted))
        for c in refused:
            self.assertTrue(c.banner.startswith(b"421 4.3.2 tern.test Too many connections"),
                            c.banner)
        for role in roles:
            self.assertGreaterEqual(len([c for c in admitted if c.role == role]), MAX // 3)
        for c in admitted:
            held = c.t_closed - c.t_deadline_from
            self.assertIn(b"421 4.4.2 tern.test Timeout", c.buf, (c.role, c.buf[-200:]))
            # the deadline runs from the last complete line, whatever was
            # trickled since (slack for a loaded machine)
            self.assertLess(held, TIMEOUT + 3, (c.role, held, c.trickled))
        self.assertTrue(any(c.trickled >= TIMEOUT - 1 for c in admitted
                            if c.role == "slowloris"),
                        ("trickled", [c.trickled for c in admitted], connect_time))
        log = t.read_log()
        self.assertEqual(log.count("SMTP command timeout"), len(admitted))
        self.assertEqual(log.count("SMTP command timeout during DATA"),
                         len([c for c in admitted if c.role == "middata"]))
        self.assertGreaterEqual(probes, 1)
        self.assertEqual(log.count("refused: too many connections (smtp_accept_max %d)" % MAX),
                         N - len(admitted) + probes)

        # the slots are free again: a fresh client is served
        with t.smtp() as s:
            s.ehlo()
            s.mail("a@example.net")
            s.rcpt("b@example.org")
            code, _ = s.data(MSG)
        self.assertEqual(code, 250)
        self.assertEqual(len(t.queue_ids()), 1)   # nothing of the stuck ones
        time.sleep(0.3)
        rss_peak = max(rss_held, proc_status(pid, "VmHWM"))
        rss_after = proc_status(pid, "VmRSS")
        print("limits: slow=%d rss_idle=%d rss_peak=%d rss_after=%d (KiB; "
              "smtp_accept_max %d, let in %d, connecting took %.1f s)" %
              (N, rss_idle, rss_peak, rss_after, MAX, len(admitted), connect_time))
        if not harness.runner_replaces_allocator():
            self.assertLess(rss_peak, rss_idle + N * 64)
            # the heap of the burst is handed back once the last session
            # is gone (malloc_trim on glibc): what stays is a few MiB at most
            self.assertLess(rss_after, rss_idle + 4096,
                            "memory of 1,000 sessions not given back")
        self.assertEqual(t.stop(), 0)

    def test_emfile(self):
        if harness.runner_fixes_fd_limits():
            self.skipTest("under valgrind, which fixes the open files limit")
        LIMIT, N = 40, 100
        raise_own_nofile(self, N + 100)
        t = Tern(self.aliases, "queue_only = true\nsmtp_accept_max = 1000\n")
        self.addCleanup(t.cleanup)
        t.serve(preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (LIMIT, LIMIT)))
        pid = t.proc.pid
        log = t.read_log()
        self.assertIn("open files limit: %d\n" % LIMIT, log)
        m = re.search(r"smtp_accept_max 1000: the open files limit \(%d\) leaves room "
                      r"for (\d+) SMTP connections" % LIMIT, log)
        self.assertTrue(m, log)
        room = int(m.group(1))
        self.assertGreaterEqual(room, 1)
        self.assertLess(room, LIMIT)

        socks, banners = [], []
        for _ in range(N):
            s = socket.create_connection(("127.0.0.1", t.port), timeout=10)
            socks.append(s)
        for s in socks:
            s.settimeout(10)
            banners.append(s.makefile("rb").readline())
        welcome = [i for i, b in enumerate(banners) if b.startswith(b"220 ")]
        self.assertEqual(len(welcome), room, banners)
        for b in banners:
            self.assertTrue(b.startswith(b"220 ") or
                            b.startswith(b"421 4.3.2 tern.test Too many connections"), b)
        # held at the limit: the daemon idles, it does not spin on accept
        cpu0 = cpu_seconds(pid)
        time.sleep(3)
        self.assertLess(cpu_seconds(pid) - cpu0, 0.5)
        self.assertIsNone(t.proc.poll())
        # a session let in can still spool (a file descriptor of its own)
        s = socks[welcome[0]]
        f = s.makefile("rb")
        s.sendall(b"HELO c\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\n"
                  b"DATA\r\n" + MSG + b".\r\nQUIT\r\n")
        replies = [f.readline()[:3] for _ in range(6)]
        self.assertEqual(replies, [b"250", b"250", b"250", b"354", b"250", b"221"])
        for s in socks:
            s.close()
        log = t.read_log()
        self.assertEqual(log.count("refused: too many connections (%d: the open files limit)"
                                   % room), N - room)
        # they are gone: served again, as often as wanted
        harness.wait_for(lambda: log_count(t, "lost connection") >= room - 1,
                         what="the clients to be gone")
        for _ in range(3):
            with t.smtp() as c:
                c.ehlo()
                c.mail("a@example.net")
                c.rcpt("b@example.org")
                self.assertEqual(c.data(MSG)[0], 250)
        self.assertEqual(len(t.queue_ids()), 4)
        self.assertIsNone(t.proc.poll())
        # a reload recomputes the room from remote_max_parallel (2
        # descriptors each are kept for deliveries): 4 -> 1 frees 6
        t.write_config(self.aliases, "queue_only = true\nsmtp_accept_max = 1000\n"
                       "remote_max_parallel = 1\n")
        t.send_signal(signal.SIGHUP)
        harness.wait_for(lambda: "SIGHUP: reloaded" in t.read_log(), what="reload")
        self.assertIn("smtp_accept_max 1000: the open files limit (%d) leaves room for %d "
                      "SMTP connections" % (LIMIT, room + 6), t.read_log())
        self.assertEqual(t.stop(), 0)


@unittest.skipUnless(enabled("CONFIG_TLS_SERVER"), "built without the STARTTLS server")
class SlowTlsTest(unittest.TestCase):
    """The per-line deadline holds through STARTTLS: a handshake trickled
    a byte at a time, and a command trickled inside TLS, are cut off."""
    TIMEOUT = 2

    @classmethod
    def setUpClass(cls):
        import certs
        cls.dir = tempfile.mkdtemp(prefix="tern-slowtls-")
        cls.pki = certs.Pki(cls.dir)
        cls.root = cls.pki.root("Slow Root")
        cls.leaf = cls.pki.leaf(cls.root, "tern.test", sans=["tern.test"])

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def start(self):
        t = Tern("", "queue_only = true\ntls_certificate = %s\ntls_privatekey = %s\n"
                 "smtp_receive_timeout = %ds\n" % (self.leaf.pem_path, self.leaf.key_path,
                                                     self.TIMEOUT))
        self.addCleanup(t.cleanup)
        t.serve()
        s, f = t.raw()
        s.sendall(b"EHLO slow.test\r\n")
        while f.readline()[3:4] == b"-":
            pass
        s.sendall(b"STARTTLS\r\n")
        self.assertTrue(f.readline().startswith(b"220"))
        return t, s

    def trickle(self, send, recv_closed, what):
        start = time.monotonic()
        while time.monotonic() - start < self.TIMEOUT + 8:
            try:
                send()
            except OSError:
                break
            if recv_closed(0.5):
                break
        held = time.monotonic() - start
        self.assertLess(held, self.TIMEOUT + 4, what)
        self.assertGreater(held, self.TIMEOUT - 1, what)

    def test_trickled_handshake(self):
        t, s = self.start()
        # a handshake record of 512 bytes announced, then a byte at a time
        s.sendall(b"\x16\x03\x01\x02\x00")

        def closed(wait):
            s.settimeout(wait)
            try:
                return s.recv(4096) == b""
            except socket.timeout:
                return False
            except OSError:
                return True
        self.trickle(lambda: s.sendall(b"\x01"), closed, "handshake")
        s.close()
        harness.wait_for(lambda: "SMTP command timeout" in t.read_log(), what="timeout logged")

    def test_trickled_command_inside_tls(self):
        t, s = self.start()
        ctx = ssl.create_default_context(cafile=self.root.pem_path)
        ts = ctx.wrap_socket(s, server_hostname="tern.test")
        got = []

        def closed(wait):
            ts.settimeout(wait)
            try:
                d = ts.recv(4096)
            except socket.timeout:
                return False
            except (OSError, ssl.SSLError):
                return True
            got.append(d)
            return d == b""
        self.trickle(lambda: ts.sendall(b"E"), closed, "command in TLS")
        ts.close()
        self.assertIn(b"421 4.4.2", b"".join(got))


def log_count(t, what):
    return t.read_log().count(what)

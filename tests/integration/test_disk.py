"""test_disk.py - the spool's file system and its owner.

DiskFullTest mounts a 4 MB tmpfs as the spool, queues messages for a
smarthost that is down, then fills the file system with a junk file:
new mail gets 452 4.3.1 at MAIL (spool_min_free), at the end of DATA when
the check is off and the write itself fails (ENOSPC), and local sendmail
exits 75 (EX_TEMPFAIL) or, in a -bs session, gets 452 at MAIL; the queued messages stay and are delivered, with
the disk still full, once the smarthost is up; when the junk goes,
acceptance resumes. Running low and recovering are logged once each.

SpoolOwnerTest: a spool owned by a third account, or with a mode its owner
cannot use, stops `tern serve` and the queue commands at startup with an
error naming the path, the owner, what is expected and the fix.

Needs root (mount, chown, another account), as CI runs.
"""
import errno
import os
import re
import signal
import subprocess
import unittest

import harness
from harness import Sink, Tern, enabled, wait_for

MSG = b"Subject: disk %d\r\nMessage-ID: <disk-%d@client.test>\r\n\r\nhello\r\n"
from test_privs import ACCOUNT, account  # noqa: E402  the test account
STRANGER_UID = 54321         # an account that is neither root nor ACCOUNT


def fill(path):
    """Write a junk file until the file system is full."""
    chunk = b"\0" * 65536
    with open(path, "wb", buffering=0) as f:
        while True:
            try:
                f.write(chunk)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                break
        # the last partial page too
        for size in (4096, 512, 1):
            while True:
                try:
                    f.write(b"\0" * size)
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
                    break


@unittest.skipUnless(os.geteuid() == 0, "needs root: mounts a tmpfs (CI runs as root)")
@unittest.skipUnless(enabled("CONFIG_SMTP_SERVER"), "no SMTP listener in this build")
class DiskFullTest(unittest.TestCase):
    # held until a queue run (SIGUSR1): no state file before the disk is full
    MAIN = "queue_only = true\nretry_intervals = 1s\nqueue_run_interval = 1h\n"

    def setUp(self):
        self.sink_port = harness.free_port()
        self.t = Tern("[router smarthost]\nhosts = 127.0.0.1:%d\n\n"
                      "[transport remote_smtp]\nconnect_timeout = 2s\n" % self.sink_port,
                      self.MAIN)
        self.addCleanup(self.t.cleanup)
        os.mkdir(self.t.spool, 0o700)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tern-it-spool",
                        self.t.spool], check=True)
        self.addCleanup(subprocess.run, ["umount", "-l", self.t.spool])
        self.junk = os.path.join(self.t.spool, "junk")

    def smtp_send(self, n, size=None, rcpt="b@example.org"):
        """(stage, code, text) of one transaction: stage is 'mail' or 'data'."""
        with self.t.smtp() as s:
            s.ehlo()
            code, resp = s.mail("a@example.net", ["SIZE=%d" % size] if size else [])
            if code != 250:
                return "mail", code, resp.decode()
            self.assertEqual(s.rcpt(rcpt)[0], 250)
            code, resp = s.data(MSG % (n, n))
            return "data", code, resp.decode()

    def reconfigure(self, main_extra):
        self.t.write_config("[router smarthost]\nhosts = 127.0.0.1:%d\n\n"
                            "[transport remote_smtp]\nconnect_timeout = 2s\n" % self.sink_port,
                            self.MAIN + main_extra)
        n = self.t.read_log().count("SIGHUP: reloaded")
        self.t.send_signal(signal.SIGHUP)
        wait_for(lambda: self.t.read_log().count("SIGHUP: reloaded") > n, what="reload")

    def test_full_spool_refuses_keeps_and_delivers(self):
        t = self.t
        t.serve()
        # held (queue_only); the last one will be deferred once
        for n in range(3):
            self.assertEqual(self.smtp_send(n)[:2], ("data", 250))
        self.assertEqual(self.smtp_send(3, rcpt="later@example.org")[:2], ("data", 250))
        held = t.queue_ids()
        self.assertEqual(len(held), 4)
        # a SIZE= that would leave less than spool_min_free (1M) free
        st = os.statvfs(t.spool)
        free = st.f_bavail * st.f_frsize
        stage, code, text = self.smtp_send(10, size=free - 512 * 1024)
        self.assertEqual((stage, code), ("mail", 452), text)
        self.assertIn("4.3.1 Insufficient system storage", text)
        self.assertEqual(self.smtp_send(11, size=1000)[:2], ("data", 250))
        held = t.queue_ids()

        fill(self.junk)
        # MAIL is refused while below spool_min_free; logged once
        for n in (20, 21):
            stage, code, text = self.smtp_send(n)
            self.assertEqual((stage, code), ("mail", 452), text)
            self.assertIn("4.3.1 Insufficient system storage", text)
        self.assertEqual(t.read_log().count("mail is refused with 452 until there is room"), 1)
        # the local sendmail path: exit 75, a clear message
        r = t.sendmail("-f", "root@tern.test", "c@example.org", input=b"Subject: x\n\ny\n")
        self.assertEqual(r.returncode, 75, r.stderr)
        self.assertIn(b"insufficient system storage", r.stderr)
        self.assertIn(b"spool_min_free", r.stderr)
        r = t.sendmail("-bs", input=b"EHLO x.test\r\nMAIL FROM:<a@example.net>\r\nQUIT\r\n")
        self.assertIn(b"\r\n452 4.3.1 Insufficient system storage\r\n", r.stdout)

        # the check off: the write itself fails, 452 4.3.1 after DATA
        self.reconfigure("spool_min_free = 0\n")
        stage, code, text = self.smtp_send(22)
        self.assertEqual((stage, code), ("data", 452), text)
        self.assertIn("4.3.1", text)
        self.assertIn("no space in the spool", t.read_log())
        r = t.sendmail("-f", "root@tern.test", "c@example.org", input=b"Subject: x\n\ny\n")
        self.assertEqual(r.returncode, 75, r.stderr)
        self.assertEqual(os.listdir(os.path.join(t.spool, "tmp")), [])
        self.reconfigure("")
        self.assertEqual(self.smtp_send(23)[:2], ("mail", 452))
        self.assertEqual(t.read_log().count("mail is refused with 452 until there is room"), 1)

        # nothing queued was lost; the queue still lists
        self.assertEqual(t.queue_ids(), held)
        r = t.cmd("queue", "list")
        self.assertEqual(r.returncode, 0, r.stderr)
        for qid in held:
            self.assertIn(qid, r.stdout)
        # the smarthost comes up: delivered with the disk still full; the
        # state file cannot be written, yet a complete message goes (kept,
        # it would be sent again), a deferred one stays
        sink = Sink("--rcpt-reply", "later@example.org=451 4.3.0 try later", "--once",
                    port=self.sink_port)
        self.addCleanup(sink.stop)
        t.send_signal(signal.SIGUSR1)
        wait_for(lambda: len(sink.messages()) >= 4, timeout=30, what="delivery")
        wait_for(lambda: len(t.queue_ids()) == 1, timeout=30, what="one message left")
        wait_for(lambda: "later@example.org R=smarthost T=remote_smtp defer" in t.read_log(),
                 what="the deferral")
        later = t.queue_ids()
        self.assertIn(later[0], held)
        self.assertIn(b"rcpt: <later@example.org>", t.queue_file(later[0]))
        log = t.read_log()
        self.assertIn("the message is complete and removed", log)
        self.assertIn("%s: cannot record the delivery state" % later[0], log)
        got = sorted(int(re.search(r"Subject: disk (\d+)", m["data"]).group(1))
                     for m in sink.messages())
        self.assertEqual(got, [0, 1, 2, 11])

        # room again: accepted, logged once
        os.unlink(self.junk)
        self.assertEqual(self.smtp_send(30)[:2], ("data", 250))
        self.assertEqual(self.smtp_send(31)[:2], ("data", 250))
        self.assertEqual(t.read_log().count("bytes free again"), 1)
        t.send_signal(signal.SIGUSR1)
        wait_for(lambda: len(sink.messages()) == 7, timeout=30, what="delivery")
        wait_for(lambda: t.queue_ids() == [], timeout=30, what="an empty queue")
        self.assertEqual(t.stop(), 0)


@unittest.skipUnless(os.geteuid() == 0, "needs root: chown, another account (CI runs as root)")
class SpoolOwnerTest(unittest.TestCase):
    def setUp(self):
        self.pw = account()
        self.t = Tern("", "user = %s\n" % ACCOUNT)
        self.addCleanup(self.t.cleanup)
        with open(self.t.conf) as f:
            text = f.read().replace("user = root\n", "")
        with open(self.t.conf, "w") as f:
            f.write(text)
        os.chmod(self.t.dir, 0o711)
        os.chmod(self.t.conf, 0o644)
        os.mkdir(self.t.spool, 0o700)

    def serve_fails(self):
        r = subprocess.run(harness.RUNNER + [harness.TERN, "-C", self.t.conf, "serve"],
                           capture_output=True, text=True, timeout=30)
        harness.check_sanitizer(r.stderr, "tern serve")
        self.assertNotEqual(r.returncode, 0, r.stderr)
        return r

    def test_spool_of_a_third_account_is_refused(self):
        os.chown(self.t.spool, STRANGER_UID, STRANGER_UID)
        r = self.serve_fails()
        want = ("spool %s: owned by uid %d (uid%d), expected %s (uid %d) or root; "
                "fix with chown -R %s %s" % (self.t.spool, STRANGER_UID, STRANGER_UID,
                                              ACCOUNT, self.pw.pw_uid, ACCOUNT, self.t.spool))
        self.assertIn(want, r.stderr)
        self.assertIn(want, self.t.read_log())
        # nothing was given away
        self.assertEqual(os.stat(self.t.spool).st_uid, STRANGER_UID)
        # the queue commands say the same
        r = self.t.cmd("queue", "list")
        self.assertEqual(r.returncode, 77, r.stderr)
        self.assertIn(want, r.stderr)
        r = self.t.cmd("queue", "run")
        self.assertEqual(r.returncode, 77, r.stderr)
        self.assertIn(want, r.stderr)
        r = self.t.sendmail("-odq", "-f", "root@tern.test", "c@example.org",
                            input=b"Subject: x\n\ny\n")
        self.assertEqual(r.returncode, 75, r.stderr)
        self.assertIn(want.encode(), r.stderr)
        # fixed as told: it starts
        subprocess.run(["chown", "-R", ACCOUNT, self.t.spool], check=True)
        self.t.serve()
        self.assertEqual(self.t.stop(), 0)

    def test_spool_its_owner_cannot_use_is_refused(self):
        os.chown(self.t.spool, self.pw.pw_uid, self.pw.pw_gid)
        os.chmod(self.t.spool, 0o500)
        r = self.serve_fails()
        self.assertIn("spool %s: mode 0500: its owner %s (uid %d) cannot read, write and "
                      "search it; fix with chmod 700 %s"
                      % (self.t.spool, ACCOUNT, self.pw.pw_uid, self.t.spool), r.stderr)

    def test_unprivileged_tern_needs_its_own_spool(self):
        # root's spool (a daemon started as root adopts it; one started as
        # the account cannot)
        self.t.serve()
        self.t.stop()
        subprocess.run(["chown", "-R", "root:root", self.t.spool], check=True)
        r = subprocess.run(["setpriv", "--reuid", ACCOUNT, "--regid", ACCOUNT,
                            "--clear-groups"] + harness.RUNNER + [harness.TERN, "-C", self.t.conf, "queue", "list"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 77, r.stderr)
        self.assertIn("spool %s: owned by uid 0 (root), expected %s (uid %d), the account "
                      "tern runs as; run tern as root, or give it to %s with chown -R %s %s"
                      % (self.t.spool, ACCOUNT, self.pw.pw_uid, ACCOUNT, ACCOUNT,
                         self.t.spool), r.stderr)

    def test_root_or_the_account_is_adopted(self):
        os.chown(self.t.spool, 0, 0)
        self.t.serve()
        self.assertEqual(os.stat(self.t.spool).st_uid, self.pw.pw_uid)
        self.assertEqual(self.t.stop(), 0)
        self.t.serve()
        self.assertEqual(self.t.stop(), 0)


if __name__ == "__main__":
    unittest.main()

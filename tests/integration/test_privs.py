"""test_privs.py - tern serve started as root binds its ports, then runs
as the unprivileged `user` for good: the spool (0700) and the log become
that account's, mail over SMTP and from root's sendmail is queued and
delivered, and root's `tern queue` commands act as the spool's owner so
the daemon can read what they write. Needs root (useradd makes a test
account once)."""
import os
import pwd
import signal
import subprocess
import unittest

from harness import Sink, Tern, wait_for

ACCOUNT = "tern-it"


def account():
    try:
        return pwd.getpwnam(ACCOUNT)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                        "/usr/sbin/nologin", ACCOUNT], check=True)
        return pwd.getpwnam(ACCOUNT)


@unittest.skipUnless(os.geteuid() == 0, "needs root")
class PrivilegeDropTest(unittest.TestCase):
    def setUp(self):
        self.pw = account()
        self.sink = Sink()
        self.addCleanup(self.sink.stop)
        self.t = Tern("[router smarthost]\nhosts = 127.0.0.1:%d\n" % self.sink.port)
        self.addCleanup(self.t.cleanup)
        # the account must reach its spool and log inside the test directory
        os.chmod(self.t.dir, 0o711)
        with open(self.t.conf) as f:
            text = f.read().replace("user = root", "user = %s" % ACCOUNT)
        with open(self.t.conf, "w") as f:
            f.write(text)

    def uids(self, pid):
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("Uid:"):
                    return [int(x) for x in line.split()[1:]]
        return []

    def test_serve_runs_as_user_and_mail_flows(self):
        self.t.serve()
        pid = self.t.proc.pid
        self.assertEqual(self.uids(pid), [self.pw.pw_uid] * 4)
        self.assertIn("running as %s" % ACCOUNT, self.t.read_log())
        st = os.stat(self.t.spool)
        self.assertEqual(st.st_uid, self.pw.pw_uid)
        self.assertEqual(st.st_mode & 0o777, 0o700)
        # over SMTP
        s = self.t.smtp()
        s.sendmail("a@example.net", ["b@example.org"], b"Subject: smtp\r\n\r\nx\r\n")
        s.quit()
        # root's sendmail writes as the spool's owner: the daemon reads it
        r = self.t.sendmail("-f", "root@tern.test", "c@example.org",
                            input=b"Subject: local\n\ny\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        wait_for(lambda: len(self.sink.messages()) == 2, what="both delivered")
        self.assertEqual(sorted(m["to"][0] for m in self.sink.messages()),
                         ["b@example.org", "c@example.org"])
        # the daemon cannot come back to root, and reloads fine
        self.t.send_signal(signal.SIGHUP)
        wait_for(lambda: "reload" in self.t.read_log().lower(), what="reload logged")
        self.assertEqual(self.uids(pid), [self.pw.pw_uid] * 4)
        self.assertEqual(self.t.proc.poll(), None)

    def test_queue_commands_as_root_act_as_the_owner(self):
        self.t.serve()
        self.t.stop()
        # the spool is the account's now; root queues with the daemon down
        r = self.t.sendmail("-odq", "-f", "root@tern.test", "d@example.org",
                            input=b"Subject: q\n\nz\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        qid = self.t.queue_ids()[-1]
        st = os.stat(os.path.join(self.t.spool, "queue", qid))
        self.assertEqual(st.st_uid, self.pw.pw_uid)
        r = self.t.cmd("queue", "run")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([m["to"] for m in self.sink.messages()], [["d@example.org"]])

    def test_missing_account_is_said_and_mail_still_flows(self):
        with open(self.t.conf) as f:
            text = f.read().replace("user = %s" % ACCOUNT, "user = no-such-account-x")
        with open(self.t.conf, "w") as f:
            f.write(text)
        self.t.serve()
        self.assertIn("user no-such-account-x does not exist", self.t.read_log())
        s = self.t.smtp()
        s.sendmail("a@example.net", ["b@example.org"], b"Subject: x\r\n\r\nx\r\n")
        s.quit()
        wait_for(lambda: len(self.sink.messages()) == 1, what="delivered")


if __name__ == "__main__":
    unittest.main()

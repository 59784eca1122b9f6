"""test_aliases.py - alias_file, a file in the /etc/aliases format next to
[aliases]: mail to a file alias is delivered to its targets, `tern route`
shows the expansion, [aliases] wins for a name in both, loops fail, targets
that need local delivery (|program, /file, :include:) make the config
invalid with file:line, and serve rereads the file on SIGHUP."""
import os
import signal
import unittest

from harness import Sink, Tern, enabled, wait_for


def smarthost(port):
    return ("[router smarthost]\nhosts = 127.0.0.1:%d\n\n[transport remote_smtp]\n"
            "connect_timeout = 2s\ncommand_timeout = 2s\n" % port)


class AliasFileTest(unittest.TestCase):
    def tern(self, aliases, config=""):
        """A tern whose alias_file holds ALIASES (written in its directory)."""
        t = Tern()
        self.addCleanup(t.cleanup)
        t.aliases = os.path.join(t.dir, "aliases")
        with open(t.aliases, "w") as f:
            f.write(aliases)
        t.write_config(config, "alias_file = %s\n" % t.aliases)
        return t

    def sink(self):
        s = Sink()
        self.addCleanup(s.stop)
        return s

    def test_file_alias_delivered(self):
        sink = self.sink()
        t = self.tern("# /etc/aliases\n"
                      "postmaster: root\n"
                      "root: admin@example.net,\n"
                      "\tops\n"
                      "ops: ops-team@example.org\n", smarthost(sink.port))
        r = t.sendmail("-odq", "-f", "alice@example.net", "root@tern.test",
                       input=b"Subject: to root\n\nbody\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        qid = t.queue_ids()[-1]
        r = t.cmd("queue", "run")
        self.assertEqual(r.returncode, 0, r.stderr)
        msgs = sink.messages()
        self.assertEqual(len(msgs), 1)
        self.assertEqual(sorted(msgs[0]["to"]), ["admin@example.net", "ops-team@example.org"])
        self.assertIn("Subject: to root", msgs[0]["data"])
        log = t.read_log()
        self.assertIn("%s => admin@example.net <root@tern.test> R=smarthost" % qid, log)
        self.assertIn("%s Completed" % qid, log)
        self.assertEqual(t.queue_ids(), [])

    def test_route_shows_expansion(self):
        t = self.tern("root: admin@example.net, ops\nops: team@example.org\n",
                      "[router smarthost]\nhosts = 127.0.0.1:2525\n")
        r = t.cmd("route", "root@tern.test")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("admin@example.net\n  router: smarthost (manualroute)\n", r.stdout)
        self.assertIn("team@example.org\n  router: smarthost (manualroute)\n", r.stdout)
        # postmaster falls back to root
        r = t.cmd("route", "postmaster@tern.test")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("admin@example.net\n", r.stdout)

    def test_conf_aliases_win(self):
        t = self.tern("root: file@example.org\nops: ops@example.org\n",
                      "[aliases]\nroot = conf@example.org\n\n"
                      "[router smarthost]\nhosts = 127.0.0.1:2525\n")
        r = t.cmd("route", "root@tern.test")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("conf@example.org\n", r.stdout)
        self.assertNotIn("file@example.org", r.stdout)
        r = t.cmd("route", "ops@tern.test")
        self.assertIn("ops@example.org\n", r.stdout)
        # show names the file and lists only tern.conf's own aliases
        r = t.cmd("config", "show")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("alias_file = %s\n" % t.aliases, r.stdout)
        self.assertIn("[aliases]\nroot = conf@example.org\n", r.stdout)
        self.assertNotIn("example.org\nops", r.stdout)
        self.assertNotIn("ops@example.org", r.stdout)

    def test_loop_fails(self):
        t = self.tern("a: b\nb: a\n", "[router smarthost]\nhosts = 127.0.0.1:2525\n")
        r = t.cmd("route", "a@tern.test")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("550 5.4.6 alias loop at 'a' (%s line 1)" % t.aliases, r.stdout)

    def test_unknown_bare_target_fails_at_delivery(self):
        # Debian's default file: root itself has no alias
        t = self.tern("# See man 5 aliases for format\npostmaster:    root\n",
                      "[router smarthost]\nhosts = 127.0.0.1:2525\n")
        r = t.cmd("config", "check")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = t.cmd("route", "postmaster@tern.test")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("root@tern.test\n  fails: 550 5.1.1 <root@tern.test>: no such user here",
                      r.stdout)

    def test_pipe_is_a_config_error(self):
        t = self.tern("# local delivery\nroot: admin@example.net\n"
                      "news: |/bin/cat\nlog: /var/log/mail.copy\n"
                      "staff: a@example.org,\n  :include:/etc/mail/staff\n")
        r = t.cmd("config", "check")
        self.assertEqual(r.returncode, 78, r.stdout + r.stderr)
        self.assertIn("%s:3: alias 'news': '|/bin/cat': tern has no local delivery: "
                      "pipe to a program is not supported" % t.aliases, r.stderr)
        self.assertIn("%s:4: alias 'log': '/var/log/mail.copy': tern has no local "
                      "delivery: delivery to a file is not supported" % t.aliases, r.stderr)
        self.assertIn("%s:6: alias 'staff': ':include:/etc/mail/staff': tern has no "
                      "local delivery" % t.aliases, r.stderr)

    def test_pipe_in_aliases_section_is_a_config_error_too(self):
        t = Tern("[aliases]\nroot = admin@example.net, |/usr/bin/logger\n")
        self.addCleanup(t.cleanup)
        r = t.cmd("config", "check")
        self.assertEqual(r.returncode, 78, r.stdout + r.stderr)
        self.assertRegex(r.stderr, r"tern.conf:\d+: alias 'root': '\|/usr/bin/logger': "
                         r"tern has no local delivery")

    def test_serve_refuses_to_start(self):
        t = self.tern("root: \"|/usr/bin/procmail -d root\"\n")
        p = t.serve(wait_log=None)
        p.wait(10)
        err = p.stderr.read()
        self.assertEqual(p.returncode, 78)
        self.assertIn("%s:1: alias 'root'" % t.aliases, err)
        self.assertIn("pipe to a program is not supported", err)
        self.assertNotIn("daemon started", t.read_log())

    def test_missing_file(self):
        t = self.tern("")
        os.unlink(t.aliases)
        r = t.cmd("config", "check")
        self.assertEqual(r.returncode, 78)
        line = open(t.conf).read().splitlines().index("alias_file = %s" % t.aliases) + 1
        self.assertIn("%s:%d: alias_file %s: cannot open: No such file or directory"
                      % (t.conf, line, t.aliases), r.stderr)

    @unittest.skipUnless(enabled("CONFIG_SMTP_SERVER"), "no SMTP listener in this build")
    def test_sighup_rereads_the_file(self):
        t = self.tern("root: admin@example.net\n", "queue_only = true\n")
        t.serve()
        with t.smtp() as s:
            s.ehlo()
            s.mail("alice@example.net")
            self.assertEqual(s.rcpt("root@tern.test")[0], 250)
            self.assertEqual(s.rcpt("sales@tern.test")[0], 550)
        with open(t.aliases, "a") as f:
            f.write("sales: boss@example.net\n")
        t.send_signal(signal.SIGHUP)
        wait_for(lambda: "SIGHUP: reloaded" in t.read_log(), what="reload")
        with t.smtp() as s:
            s.ehlo()
            s.mail("alice@example.net")
            self.assertEqual(s.rcpt("sales@tern.test")[0], 250)
        # a broken file on HUP keeps the running aliases
        with open(t.aliases, "a") as f:
            f.write("bad: |/bin/true\n")
        t.send_signal(signal.SIGHUP)
        wait_for(lambda: "keeping the running config" in t.read_log(),
                 what="refusal of the broken file")
        with t.smtp() as s:
            s.ehlo()
            s.mail("alice@example.net")
            self.assertEqual(s.rcpt("sales@tern.test")[0], 250)
        self.assertEqual(t.stop(), 0)


if __name__ == "__main__":
    unittest.main()

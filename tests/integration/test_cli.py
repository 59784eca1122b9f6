"""test_cli.py - the command line, config checking and the daemon's life
cycle (start, SIGHUP, SIGTERM/SIGINT), through the real binary."""
import os
import re
import signal
import unittest

import harness
from harness import Tern, enabled


class VersionTest(unittest.TestCase):
    def test_version_lists_built_modules(self):
        t = Tern()
        self.addCleanup(t.cleanup)
        r = t.cmd("version")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertRegex(lines[0], r"^tern \d+\.\d+\.\d+")
        self.assertTrue(lines[1].startswith("modules: "))
        mods = lines[1].split()[1:]
        for sym, name in (("CONFIG_TLS_DANE", "dane"), ("CONFIG_DNS", "dns"),
                          ("CONFIG_SMTP_SERVER", "smtp-server"),
                          ("CONFIG_TLS", "tls"), ("CONFIG_EVENTS", "events")):
            self.assertEqual(name in mods, enabled(sym), "%s vs %s" % (name, sym))

    def test_usage_errors(self):
        t = Tern()
        self.addCleanup(t.cleanup)
        r = t.cmd("frobnicate")
        self.assertEqual(r.returncode, 64)
        self.assertIn("unknown command", r.stderr)
        r = t.cmd("config", "explode")
        self.assertEqual(r.returncode, 64)


class ConfigTest(unittest.TestCase):
    def setUp(self):
        self.t = Tern()
        self.addCleanup(self.t.cleanup)

    def test_check_ok(self):
        r = self.t.cmd("config", "check")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("ok", r.stdout)

    def test_check_names_file_and_line(self):
        self.t.write_config("[main]\nqueue_only = perhaps\n", "bogus = 1\n")
        r = self.t.cmd("config", "check")
        self.assertEqual(r.returncode, 78)
        text = open(self.t.conf).read().splitlines()
        bogus = text.index("bogus = 1") + 1
        self.assertIn("%s:%d: unknown option 'bogus'" % (self.t.conf, bogus), r.stderr)
        # both errors are reported in one run
        self.assertIn("queue_only: 'perhaps' is not true or false", r.stderr)

    def test_missing_file(self):
        os.unlink(self.t.conf)
        r = self.t.cmd("config", "check")
        self.assertEqual(r.returncode, 78)
        self.assertIn("cannot open", r.stderr)

    def test_show_prints_effective_values(self):
        self.t.write_config("", "message_size_limit = 2048K\n")
        r = self.t.cmd("config", "show")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("message_size_limit = 2M\n", r.stdout)
        self.assertIn("primary_hostname = tern.test\n", r.stdout)
        self.assertIn("[transport remote_smtp]", r.stdout)
        # what show prints is itself a valid config
        with open(self.t.conf, "w") as f:
            f.write(r.stdout)
        r2 = self.t.cmd("config", "show")
        self.assertEqual(r2.returncode, 0, r2.stderr)
        self.assertEqual(r.stdout, r2.stdout)


class ServeTest(unittest.TestCase):
    def setUp(self):
        self.t = Tern()
        self.addCleanup(self.t.cleanup)

    def test_start_and_sigterm(self):
        self.t.serve()
        log = self.t.read_log()
        self.assertRegex(log, r"(?m)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d tern .* daemon started: pid %d"
                         % self.t.proc.pid)
        self.assertEqual(self.t.stop(signal.SIGTERM), 0)
        self.assertIn("SIGTERM received: stopping", self.t.read_log())
        self.assertIn("daemon stopped", self.t.read_log())

    def test_sigint(self):
        self.t.serve()
        self.assertEqual(self.t.stop(signal.SIGINT), 0)
        self.assertIn("SIGINT received", self.t.read_log())

    def test_sighup_reopens_log_and_reloads(self):
        self.t.serve()
        rotated = self.t.log + ".1"
        os.rename(self.t.log, rotated)
        self.t.send_signal(signal.SIGHUP)
        harness.wait_for(lambda: "SIGHUP: reloaded" in self.t.read_log(),
                         what="reload line in the new log")
        self.assertNotIn("SIGHUP", open(rotated).read())
        # a broken config on HUP keeps the daemon running on the old one
        with open(self.t.conf, "a") as f:
            f.write("\n[main]\nno_such_option = 1\n")
        self.t.send_signal(signal.SIGHUP)
        harness.wait_for(lambda: "keeping the running config" in self.t.read_log(),
                         what="refusal of the broken config")
        self.assertIsNone(self.t.proc.poll())
        self.assertEqual(self.t.stop(), 0)

    def test_bad_config_refuses_to_start(self):
        self.t.write_config("", "smtp_accept_max = lots\n")
        p = self.t.serve(wait_log=None)
        p.wait(10)
        err = p.stderr.read()
        self.assertEqual(p.returncode, 78)
        self.assertIn("smtp_accept_max: 'lots' is not a number", err)
        self.assertNotIn("daemon started", self.t.read_log())

    def test_unwritable_log_is_an_error(self):
        self.t.write_config("", "")
        with open(self.t.conf) as f:
            text = f.read().replace(self.t.log, "/nonexistent/dir/main.log")
        with open(self.t.conf, "w") as f:
            f.write(text)
        p = self.t.serve(wait_log=None)
        p.wait(10)
        self.assertEqual(p.returncode, 73)
        self.assertIn("cannot open log", p.stderr.read())

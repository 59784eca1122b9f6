"""test_build.py - what packagers rely on: make install's layout, the
shipped example config, and manuals that match the option table."""
import os
import subprocess
import tempfile
import unittest

import harness
from harness import Tern, enabled

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class InstallTest(unittest.TestCase):
    @unittest.skipIf(harness.RUNNER, "a cross build (--runner): make install "
                     "here would rebuild it with the host's compiler")
    def test_install_layout(self):
        dest = tempfile.mkdtemp(prefix="tern-destdir-")
        r = subprocess.run(["make", "-s", "--no-print-directory", "-C", SRC,
                            "O=" + harness.BUILD, "install", "DESTDIR=" + dest,
                            "PREFIX=/usr"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        sbin = os.path.join(dest, "usr/sbin")
        self.assertTrue(os.access(os.path.join(sbin, "tern"), os.X_OK))
        self.assertEqual(os.readlink(os.path.join(sbin, "sendmail")), "tern")
        self.assertEqual(os.readlink(os.path.join(sbin, "mailq")), "tern")
        for p in ("usr/share/man/man8/tern.8", "usr/share/man/man5/tern.conf.5",
                  "etc/tern.conf"):
            self.assertTrue(os.path.isfile(os.path.join(dest, p)), p)
        # not stripped at install: the packager's tools do that
        out = subprocess.run(["file", os.path.join(sbin, "tern")],
                             capture_output=True, text=True).stdout
        if out:
            self.assertNotIn(", stripped", out)
        subprocess.run(["rm", "-rf", dest])


class DocsTest(unittest.TestCase):
    def test_example_config_is_valid(self):
        if not (enabled("CONFIG_SMTP_SERVER") and enabled("CONFIG_ROUTER_DNSLOOKUP")):
            self.skipTest("the example uses the listener and MX delivery")
        t = Tern()
        self.addCleanup(t.cleanup)
        r = subprocess.run(harness.RUNNER + [harness.TERN, "-C",
                           os.path.join(SRC, "docs/tern.conf.example"), "config", "check"],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_manual_lists_every_option(self):
        r = subprocess.run(["/usr/bin/python3", "scripts/options-man.py", "--check"],
                           cwd=SRC, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        t = Tern()
        self.addCleanup(t.cleanup)
        show = t.cmd("config", "show").stdout
        man = open(os.path.join(SRC, "docs/tern.conf.5")).read()
        for line in show.splitlines():
            if " = " in line and not line.startswith(";"):
                name = line.split(" = ")[0]
                if name in ("root",):
                    continue
                self.assertIn(".BR %s " % name, man, name)

"""test_uci.py - `tern config from-uci` (CONFIG_UCI): the output of
`uci show tern`, as OpenWrt's init script feeds it, becomes a tern.conf
that `tern config check` accepts, with values quoted so that they read
back unchanged, and with what tern does not know reported by line."""
import os
import re
import unittest

from harness import Tern, enabled


def uci_quote(v):
    """A value as uci(1) prints it: in single quotes, ' as '\\''."""
    return "'" + v.replace("'", "'\\''") + "'"


@unittest.skipUnless(enabled("CONFIG_UCI"), "CONFIG_UCI is off in this build")
class FromUciTest(unittest.TestCase):
    def setUp(self):
        self.t = Tern()
        self.addCleanup(self.t.cleanup)

    def main_lines(self):
        """uci lines for a [main] that loads in this test's directory."""
        t = self.t
        lines = ["tern.main=tern",
                 "tern.main.enabled='1'",
                 "tern.main.primary_hostname='router.lan'",
                 "tern.main.spool_directory=%s" % uci_quote(t.spool),
                 "tern.main.log_file=%s" % uci_quote(t.log)]
        if enabled("CONFIG_SMTP_SERVER"):
            lines += ["tern.main.listen='127.0.0.1:%d' '[::1]:%d'" % (t.port, t.port),
                      "tern.main.local_socket=%s"
                      % uci_quote(os.path.join(t.dir, "tern.sock")),
                      "tern.main.relay_from_hosts='127.0.0.0/8' '::1' '192.168.1.0/24'"]
        if enabled("CONFIG_DNS"):
            lines.append("tern.main.dns_servers='127.0.0.1:9'")
        return lines

    def translate(self, lines, *args):
        text = "\n".join(lines) + "\n"
        return self.t.cmd("config", "from-uci", *args, input=text)

    def check(self, conf_text):
        with open(self.t.conf, "w") as f:
            f.write(conf_text)
        return self.t.cmd("config", "check")

    def show(self):
        r = self.t.cmd("config", "show")
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def test_openwrt_sample(self):
        lines = self.main_lines() + [
            "tern.main.retry_intervals='5m' '15m' '1h'",
            "tern.main.queue_only='0'",
            "tern.aliases=aliases",
            "tern.aliases.root='admin@example.net' 'ops@example.net'",
            "tern.@alias[0]=alias",
            "tern.@alias[0].name='mailer-daemon'",
            "tern.@alias[0].target='postmaster'",
            "tern.@router[0]=router",
            "tern.@router[0].domains='*'",
            "tern.@router[0].hosts='mail.example.net:587' '[2001:db8::25]:587'",
            "tern.@router[0].transport='submission'",
            "tern.submission=transport",
            "tern.submission.port='587'",
            "tern.init=init",
            "tern.init.flush_on_ifup='wan' 'wan6'",
        ]
        if enabled("CONFIG_TLS"):
            lines.append("tern.submission.hosts_require_tls='*'")
        r = self.translate(lines)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout
        # sections: [main] first, one [aliases], then routers in order
        heads = re.findall(r"^\[.*\]$", out, re.M)
        self.assertEqual(heads, ["[main]", "[aliases]", "[router router0]",
                                 "[transport submission]"])
        # the init script's own settings stay out
        self.assertNotIn("enabled", out)
        self.assertNotIn("flush_on_ifup", out)
        self.assertIn("primary_hostname = router.lan\n", out)
        self.assertIn("retry_intervals = 5m 15m 1h\n", out)
        self.assertIn("root = admin@example.net, ops@example.net\n", out)
        self.assertIn("mailer-daemon = postmaster\n", out)
        self.assertIn("hosts = mail.example.net:587, [2001:db8::25]:587\n", out)
        if enabled("CONFIG_SMTP_SERVER"):
            self.assertIn("relay_from_hosts = 127.0.0.0/8 : ::1 : 192.168.1.0/24\n", out)
        r = self.check(out)
        self.assertEqual(r.returncode, 0, r.stderr + out)
        shown = self.show()
        self.assertIn("retry_intervals = 5m 15m 1h\n", shown)
        self.assertIn("hosts = mail.example.net:587, [2001:db8::25]:587\n", shown)
        self.assertIn("[transport submission]\nport = 587\n", shown)
        self.assertIn("root = admin@example.net, ops@example.net\n", shown)
        if enabled("CONFIG_SMTP_SERVER"):
            self.assertIn("listen = 127.0.0.1:%d, [::1]:%d\n"
                          % (self.t.port, self.t.port), shown)

    def test_quoting_reads_back(self):
        # characters that mean something to tern.conf (; # " \) or to
        # uci (') and surrounding space survive the two translations
        odd = " a;b #c \"d\" \\e it's "
        name = "x;y#z"
        lines = self.main_lines()
        lines = [l for l in lines if not l.startswith("tern.main.primary_hostname")]
        lines.append("tern.main.primary_hostname=%s" % uci_quote(name))
        lines.append("tern.main.alias_file=%s" % uci_quote(""))
        r = self.translate(lines)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.check(r.stdout).returncode, 0, r.stdout)
        self.assertIn('primary_hostname = "x;y#z"\n', self.show())
        # a value with every special character, on an option of type
        # string that any build has
        lines.append("tern.smarthost=router")
        lines.append("tern.smarthost.hosts='127.0.0.1:%d'" % self.t.port)
        lines.append("tern.smarthost.driver=%s" % uci_quote(odd))
        r = self.translate(lines)
        self.assertEqual(r.returncode, 0, r.stderr)
        m = re.search(r"^driver = (.*)$", r.stdout, re.M)
        self.assertEqual(m.group(1), '" a;b #c \\"d\\" \\\\e it\'s "')

    def test_single_ipv6_host_list(self):
        lines = self.main_lines() + ["tern.main.local_domains='::1'"]
        r = self.translate(lines)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.check(r.stdout).returncode, 0, r.stdout)

    def test_unknown_option_reported_with_line(self):
        lines = self.main_lines() + ["tern.main.no_such_option='1'",
                                     "tern.@router[0]=router",
                                     "tern.@router[0].frobnicate='yes'"]
        r = self.translate(lines)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout.splitlines()
        r = self.check(r.stdout)
        self.assertEqual(r.returncode, 78, r.stderr)
        for opt in ("no_such_option", "frobnicate"):
            n = 1 + next(i for i, l in enumerate(out) if l.startswith(opt + " ="))
            self.assertRegex(r.stderr, r"%s:%d: unknown option '%s'"
                             % (re.escape(self.t.conf), n, opt))

    def test_unknown_section_reported(self):
        lines = self.main_lines() + ["tern.@widget[0]=widget",
                                     "tern.@widget[0].size='3'"]
        r = self.translate(lines)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("[widget widget0]", r.stdout)
        r = self.check(r.stdout)
        self.assertEqual(r.returncode, 78)
        self.assertIn("unknown section", r.stderr)

    def test_from_file_and_uci_show_x(self):
        # `uci show -X` names anonymous sections cfgXXXXXX
        lines = self.main_lines() + ["tern.cfg0a1b2c=router",
                                     "tern.cfg0a1b2c.name='smarthost'",
                                     "tern.cfg0a1b2c.hosts='192.0.2.1:25'"]
        path = os.path.join(self.t.dir, "uci.txt")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        r = self.t.cmd("config", "from-uci", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("[router smarthost]\nhosts = 192.0.2.1:25\n", r.stdout)
        self.assertEqual(self.check(r.stdout).returncode, 0, r.stdout)

    def test_bad_input(self):
        for text, what in (("tern.main=tern\nnonsense\n", "-:2: not a uci assignment"),
                           ("tern.main=tern\ntern.main.x='open\n", "-:2: unterminated quote"),
                           ("dropbear.main=dropbear\n", "-:1: not the tern package"),
                           ("tern.main.x='1'\n", "no NAME=TYPE line")):
            r = self.t.cmd("config", "from-uci", input=text)
            self.assertEqual(r.returncode, 65, text)
            self.assertIn(what, r.stderr)
        r = self.t.cmd("config", "from-uci", os.path.join(self.t.dir, "missing"))
        self.assertEqual(r.returncode, 66)


@unittest.skipIf(enabled("CONFIG_UCI"), "CONFIG_UCI is on in this build")
class FromUciNotBuiltTest(unittest.TestCase):
    def test_says_not_built(self):
        t = Tern()
        self.addCleanup(t.cleanup)
        r = t.cmd("config", "from-uci", input="tern.main=tern\n")
        self.assertEqual(r.returncode, 69)
        self.assertIn("CONFIG_UCI", r.stderr)

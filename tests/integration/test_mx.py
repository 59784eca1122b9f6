"""test_mx.py - MX delivery through the real signed zone (NSD + Unbound,
dnszone.py) to real SMTP servers (aiosmtpd): preference order and
fallback, IPv6 then IPv4, a CNAME'd MX host, implicit MX, null MX (RFC
7505), NXDOMAIN, a bogus zone (SERVFAIL: a deferral, never a bounce), and
dns_servers changed by a SIGHUP to the running daemon."""
import os
import re
import signal
import unittest

import harness
from harness import Sink, Tern, enabled

try:
    import dnszone
except ImportError:      # pragma: no cover
    dnszone = None


@unittest.skipUnless(enabled("CONFIG_ROUTER_DNSLOOKUP"), "no MX delivery in this build")
class MxDeliverTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        missing = dnszone.missing_tools()
        if missing:
            raise AssertionError("missing tools %s: run ports/debian/install-deps.sh check"
                                 % missing)
        cls.dns = dnszone.DnsZones()
        cls.dns.start()

    @classmethod
    def tearDownClass(cls):
        cls.dns.stop()

    def setUp(self):
        self.sink = Sink()
        self.addCleanup(self.sink.stop)
        self.t = Tern("[transport remote_smtp]\nport = %d\nconnect_timeout = 2s\n"
                      "command_timeout = 2s\n" % self.sink.port,
                      "dns_servers = %s\n" % self.dns.resolver)
        self.addCleanup(self.t.cleanup)

    def send(self, rcpt, sender="alice@example.net"):
        r = self.t.sendmail("-odq", "-f", sender, rcpt, input=b"Subject: mx\n\nbody\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        qid = self.t.queue_ids()[-1]
        r = self.t.cmd("queue", "run")
        self.assertEqual(r.returncode, 0, r.stderr)
        return qid

    def test_secure_domain_delivered_by_preference(self):
        qid = self.send("bob@secure.test")
        msgs = self.sink.messages()
        self.assertEqual(len(msgs), 1)
        self.assertEqual(msgs[0]["to"], ["bob@secure.test"])
        log = self.t.read_log()
        # mx (10) before mx2 (20); ::1 refused (the sink is on 127.0.0.1), then IPv4
        self.assertIn("%s => bob@secure.test R=dnslookup T=remote_smtp H=mx.secure.test "
                      "[127.0.0.1]:%d" % (qid, self.sink.port), log)
        self.assertIn("%s Completed" % qid, log)

    def test_cname_mx_host(self):
        qid = self.send("carol@cname.secure.test")
        self.assertEqual(len(self.sink.messages()), 1)
        self.assertIn("H=alias.secure.test [127.0.0.1]", self.t.read_log())

    def test_implicit_mx(self):
        # mx.secure.test has A/AAAA but no MX: the domain itself is the host
        qid = self.send("dave@mx.secure.test")
        self.assertEqual(len(self.sink.messages()), 1)
        self.assertIn("H=mx.secure.test [127.0.0.1]", self.t.read_log())

    def test_null_mx_fails_at_once(self):
        qid = self.send("erin@nullmx.secure.test", sender="")
        self.assertIn("%s ** erin@nullmx.secure.test R=dnslookup T=remote_smtp: "
                      "556 5.1.10" % qid, self.t.read_log())
        self.assertEqual(self.t.queue_ids(), [])
        self.assertEqual(self.sink.messages(), [])

    def test_nxdomain_fails(self):
        qid = self.send("frank@nonexistent.secure.test", sender="")
        self.assertIn("%s ** frank@nonexistent.secure.test" % qid, self.t.read_log())
        self.assertIn("5.1.2", self.t.read_log())

    def test_bogus_zone_defers(self):
        qid = self.send("gina@bogus.test")
        self.assertIn("%s == gina@bogus.test R=dnslookup T=remote_smtp defer: MX lookup "
                      "for bogus.test" % qid, self.t.read_log())
        self.assertEqual(self.t.queue_ids(), [qid])
        self.assertEqual(self.sink.messages(), [])

    def test_fallback_to_second_mx(self):
        # nothing listens on 127.0.0.2: mx fails, mx2 takes the message
        self.dns.set_rrset("mx.secure.test", "A", ["127.0.0.2"])
        self.dns.set_rrset("mx.secure.test", "AAAA", [])
        self.dns.reload()
        try:
            qid = self.send("hank@secure.test")
            self.assertEqual(len(self.sink.messages()), 1)
            log = self.t.read_log()
            self.assertIn("H=mx2.secure.test [127.0.0.1]", log)
        finally:
            self.dns.set_rrset("mx.secure.test", "A", ["127.0.0.1"])
            self.dns.set_rrset("mx.secure.test", "AAAA", ["::1"])
            self.dns.reload()

    def test_sighup_takes_new_dns_servers(self):
        # serve starts with a resolver that answers nothing: the message
        # waits; dns_servers fixed and SIGHUP: the next queue run (SIGUSR1)
        # asks the new resolver and delivers. A changed listen is logged as
        # waiting for a restart, and the old listener keeps serving.
        dead = "dns_servers = 127.0.0.1:9\n"
        transport = ("[transport remote_smtp]\nport = %d\nconnect_timeout = 2s\n"
                     "command_timeout = 2s\n" % self.sink.port)
        self.t.write_config(transport, dead)
        self.t.serve()
        self.addCleanup(self.t.stop)
        r = self.t.sendmail("-f", "alice@example.net", "ivy@secure.test",
                            input=b"Subject: mx\n\nbody\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        harness.wait_for(lambda: "ivy@secure.test R=dnslookup T=remote_smtp defer"
                         in self.t.read_log(), timeout=60, what="deferral")
        self.assertEqual(self.sink.messages(), [])
        old_port = self.t.port
        self.t.port = harness.free_port()
        self.t.write_config(transport, "dns_servers = %s\n" % self.dns.resolver)
        self.t.send_signal(signal.SIGHUP)
        harness.wait_for(lambda: "SIGHUP: reloaded" in self.t.read_log(), what="reload")
        log = self.t.read_log()
        self.assertIn("DNS resolver: %s" % self.dns.resolver, log)
        self.assertIn("SIGHUP: listen changed; it takes effect when tern serve is "
                      "restarted", log)
        self.t.send_signal(signal.SIGUSR1)
        harness.wait_for(lambda: len(self.sink.messages()) == 1, timeout=30,
                         what="delivery after the reload")
        self.assertEqual(self.sink.messages()[0]["to"], ["ivy@secure.test"])
        self.t.port = old_port
        with self.t.smtp() as c:
            self.assertEqual(c.noop()[0], 250)

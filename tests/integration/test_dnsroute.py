"""test_dnsroute.py - the resolver through `tern route`: every DNSSEC state
from the real signed tree (NSD + Unbound), TCP for a large TLSA RRset, AD
believed only from trusted resolvers, and a hostile server whose spoofed,
malformed or missing answers all end as clean temporary failures."""
import subprocess
import time
import unittest

import harness
from harness import Tern, enabled

import dnsevil
import dnszone


def route(t, addr):
    r = t.cmd("route", addr, timeout=60)
    return r.returncode, r.stdout


@unittest.skipUnless(enabled("CONFIG_ROUTER_DNSLOOKUP"), "no MX delivery in this build")
class SignedZoneRouteTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        missing = dnszone.missing_tools()
        if missing:
            raise AssertionError("missing %s: run ports/debian/install-deps.sh check" % missing)
        cls.dns = dnszone.DnsZones()
        cls.dns.start()

    @classmethod
    def tearDownClass(cls):
        cls.dns.stop()

    def tern(self, extra=""):
        t = Tern("", "dns_servers = %s\n%s" % (self.dns.resolver, extra))
        self.addCleanup(t.cleanup)
        return t

    def test_secure(self):
        rc, out = route(self.tern(), "u@secure.test")
        self.assertEqual(rc, 0, out)
        self.assertIn("(trusted)", out)
        self.assertIn("MX secure.test (ok, secure)", out)
        self.assertIn("10 mx.secure.test:25\n      AAAA (ok, secure) ::1\n"
                      "      A    (ok, secure) 127.0.0.1\n", out)
        self.assertIn("TLSA _25._tcp.mx.secure.test (nxdomain, secure)", out)
        self.assertLess(out.index("10 mx.secure.test"), out.index("20 mx2.secure.test"))

    def test_insecure(self):
        rc, out = route(self.tern(), "u@insecure.test")
        self.assertIn("MX insecure.test (ok, insecure)", out)
        self.assertIn("TLSA: not looked up (the address lookup was not secure)", out)
        self.assertIn("TLS policy: opportunistic TLS, no DANE", out)

    def test_bogus(self):
        rc, out = route(self.tern(), "u@bogus.test")
        self.assertIn("MX bogus.test (tempfail, bogus", out)
        self.assertIn("deferred", out)

    def test_large_tlsa_over_tcp(self):
        rc, out = route(self.tern(), "u@big.secure.test")
        self.assertIn("TLSA _25._tcp.big.secure.test (ok, secure)", out)
        self.assertEqual(out.count("        3 0 2 "), 40)
        self.assertIn("TLS policy: DANE: TLS authenticated by the TLSA records, required", out)

    def test_cname_mx_host_tlsa_base(self):
        rc, out = route(self.tern(), "u@cname.secure.test")
        # RFC 7672 2.2.3: the CNAME-expanded name is the TLSA base domain
        self.assertIn("10 alias.secure.test:25", out)
        self.assertIn("TLSA _25._tcp.real.secure.test (nxdomain, secure)", out)
        # then the initial name
        self.assertIn("TLSA _25._tcp.alias.secure.test (nxdomain, secure)", out)
        self.assertLess(out.index("_25._tcp.real"), out.index("_25._tcp.alias"))

    def test_ad_from_untrusted_resolver_is_not_believed(self):
        rc, out = route(self.tern("dns_trusted_servers =\n"), "u@secure.test")
        self.assertIn("(AD not trusted)", out)
        self.assertIn("MX secure.test (ok, insecure)", out)
        self.assertNotIn(", secure)", out)

    def test_null_mx_and_nxdomain(self):
        rc, out = route(self.tern(), "u@nullmx.secure.test")
        self.assertEqual(rc, 2)
        self.assertIn("null MX (RFC 7505)", out)
        rc, out = route(self.tern(), "u@nothere.secure.test")
        self.assertEqual(rc, 2)
        self.assertIn("(nxdomain, secure)", out)


@unittest.skipUnless(enabled("CONFIG_ROUTER_DNSLOOKUP"), "no MX delivery in this build")
class HostileDnsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.evil = dnsevil.EvilDns()
        cls.evil.start()

    @classmethod
    def tearDownClass(cls):
        cls.evil.stop()

    def tern(self, trusted=True):
        t = Tern("", "dns_servers = 127.0.0.1:%d\n%s" % (
            self.evil.port, "" if trusted else "dns_trusted_servers =\n"))
        self.addCleanup(t.cleanup)
        return t

    def mx_line(self, name, trusted=True):
        rc, out = route(self.tern(trusted), "u@" + name)
        for line in out.splitlines():
            if line.startswith("  MX "):
                return line
        self.fail("no MX line for %s:\n%s" % (name, out))

    def test_correct_answer(self):
        self.assertIn("(ok, insecure)", self.mx_line("ok.evil.test"))

    def test_spoofed_answers_are_ignored(self):
        # a wrong ID, a wrong question or another source: never taken
        for name in ("wrongid.evil.test", "wrongq.evil.test", "othersrc.evil.test",
                     "otheraddr.evil.test"):
            with self.subTest(name=name):
                line = self.mx_line(name)
                self.assertIn("tempfail", line)
                self.assertIn("no answer", line)
        # the real answer after a spoofed one is taken
        self.assertIn("(ok, insecure)", self.mx_line("wrongidok.evil.test"))

    def test_malformed_answers_are_temporary_failures(self):
        for name in ("truncated.evil.test", "loop.evil.test", "counts.evil.test"):
            with self.subTest(name=name):
                self.assertIn("tempfail", self.mx_line(name))

    def test_servfail_and_nxdomain(self):
        self.assertIn("(tempfail, bogus", self.mx_line("servfail.evil.test"))
        self.assertIn("(nxdomain, insecure)", self.mx_line("nxdomain.evil.test"))

    def test_ad_believed_only_when_trusted(self):
        self.assertIn("(ok, secure)", self.mx_line("ad.evil.test", trusted=True))
        self.assertIn("(ok, insecure)", self.mx_line("ad.evil.test", trusted=False))

    def test_truncated_udp_retried_over_tcp(self):
        rc, out = route(self.tern(), "u@ok.evil.test")
        t = self.tern()
        r = t.cmd("route", "u@bigtlsa.evil.test", timeout=60)
        self.assertIn("bigtlsa", r.stdout)
        self.assertTrue(self.evil.seen("bigtlsa", "tcp"), "no TCP query after TC=1")


@unittest.skipUnless(enabled("CONFIG_ROUTER_DNSLOOKUP"), "no MX delivery in this build")
class DnssecPolicyTest(unittest.TestCase):
    def test_request_and_require_domains(self):
        with dnszone.DnsZones() as dns:
            t = Tern("", "dns_servers = %s\ndnssec_request_domains = *.secure.test\n"
                     "dnssec_require_domains = insecure.test\n" % dns.resolver)
            self.addCleanup(t.cleanup)
            rc, out = route(t, "u@secure.test")
            # secure.test itself is outside *.secure.test: AD not believed
            self.assertIn("MX secure.test (ok, insecure)", out)
            self.assertIn("AAAA (ok, secure) ::1", out)       # mx.secure.test is inside
            rc, out = route(t, "u@insecure.test")
            self.assertIn("MX insecure.test (tempfail, insecure: DNSSEC is required", out)

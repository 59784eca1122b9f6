"""test_dnszone.py - self-tests of the DNS fixtures that the resolver and
DANE tests stand on: the signed tree served by NSD behind a validating
Unbound (dnszone.DnsZones), checked with dig as an outside client, and
each behaviour of the hostile server (dnsevil.EvilDns), checked with raw
UDP/TCP queries. These tests do not run tern."""
import os
import re
import shutil
import socket
import struct
import subprocess
import time
import unittest

import dnsevil
import dnszone
from dnsevil import EvilDns, build_query, parse_message

DIG = shutil.which("dig")


def dig(port, *args, timeout=10):
    """Run dig against 127.0.0.1:port; returns (flags set, status, answer
    lines, whole output)."""
    argv = [DIG, "@127.0.0.1", "-p", str(port), "+tries=1", "+time=3",
            "+nocookie"] + list(args)
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    out = r.stdout
    m = re.search(r";; flags: ([a-z ]*);", out)
    flags = set(m.group(1).split()) if m else set()
    m = re.search(r"status: ([A-Z]+)", out)
    status = m.group(1) if m else None
    answer = []
    sect = None
    for line in out.splitlines():
        if line.startswith(";; ANSWER SECTION"):
            sect = "answer"
            continue
        if line.startswith(";;") or not line.strip():
            sect = None if line.startswith(";;") else sect
            continue
        if sect == "answer" and not line.startswith(";"):
            answer.append(line.split())
    return flags, status, answer, out + r.stderr


def rrs(answer, rtype):
    """rdata strings of the answer lines of rtype (TLSA: "U S M HEX", the
    hex that dig splits in chunks joined again)."""
    out = []
    for f in answer:
        if len(f) > 4 and f[3] == rtype:
            if rtype == "TLSA":
                out.append(" ".join(f[4:7] + ["".join(f[7:])]))
            else:
                out.append(" ".join(f[4:]))
    return out


class DnsZoneTest(unittest.TestCase):
    """The signed tree: dig through Unbound (and straight at NSD)."""

    @classmethod
    def setUpClass(cls):
        miss = dnszone.missing_tools() + ([] if DIG else ["dig"])
        if miss:
            raise unittest.SkipTest("missing %s (ports/debian/install-deps.sh check)"
                                    % " ".join(miss))
        t0 = time.monotonic()
        cls.dns = dnszone.DnsZones().start()
        cls.startup = time.monotonic() - t0

    @classmethod
    def tearDownClass(cls):
        cls.dns.stop()

    def dig(self, *args):
        return dig(self.dns.resolver_port, "+dnssec", *args)

    def test_starts_fast_on_high_ports(self):
        self.assertLess(self.startup, 5.0)
        self.assertGreater(self.dns.resolver_port, 1024)
        self.assertGreater(self.dns.nsd_port, 1024)
        self.assertNotEqual(self.dns.resolver_port, self.dns.nsd_port)
        self.assertEqual(self.dns.resolver, "127.0.0.1:%d" % self.dns.resolver_port)
        self.assertTrue(os.path.isdir(self.dns.tmpdir))
        self.assertRegex(self.dns.trust_anchor, r"^test\.\s+IN\s+DS\s+\d+ 13 2 [0-9a-f]{64}$")

    def test_secure_mx_is_authenticated(self):
        flags, status, ans, out = self.dig("secure.test", "MX")
        self.assertEqual(status, "NOERROR", out)
        self.assertIn("ad", flags, out)
        self.assertEqual(sorted(rrs(ans, "MX")), ["10 mx.secure.test.", "20 mx2.secure.test."])
        self.assertTrue(rrs(ans, "RRSIG"), out)
        for host in ("mx", "mx2"):
            flags, status, ans, out = self.dig(host + ".secure.test", "A")
            self.assertIn("ad", flags, out)
            self.assertEqual(rrs(ans, "A"), ["127.0.0.1"])
            flags, status, ans, out = self.dig(host + ".secure.test", "AAAA")
            self.assertIn("ad", flags, out)
            self.assertEqual(rrs(ans, "AAAA"), ["::1"])

    def test_secure_nodata_tlsa_is_authenticated(self):
        # no TLSA at mx2 unless a test sets one: an authenticated denial
        # (NXDOMAIN: the name _25._tcp.mx2 does not exist at all)
        flags, status, ans, out = self.dig("_25._tcp.mx2.secure.test", "TLSA")
        self.assertEqual(status, "NXDOMAIN", out)
        self.assertIn("ad", flags, out)
        self.assertEqual(rrs(ans, "TLSA"), [])

    def test_insecure_mx_has_no_ad(self):
        flags, status, ans, out = self.dig("insecure.test", "MX")
        self.assertEqual(status, "NOERROR", out)
        self.assertNotIn("ad", flags, out)
        self.assertEqual(rrs(ans, "MX"), ["10 mx.insecure.test."])
        flags, status, ans, out = self.dig("_25._tcp.mx.insecure.test", "TLSA")
        self.assertNotIn("ad", flags, out)
        self.assertEqual(rrs(ans, "TLSA"), ["3 1 1 " + dnszone.DUMMY_SHA256.upper()])

    def test_bogus_and_expired_are_servfail(self):
        for zone in ("bogus.test", "expired.test"):
            for name, t in ((zone, "MX"), ("mx." + zone, "A"),
                            ("_25._tcp.mx." + zone, "TLSA")):
                flags, status, ans, out = self.dig(name, t)
                self.assertEqual(status, "SERVFAIL", "%s %s: %s" % (name, t, out))
            # the data is there: with CD set, Unbound hands it over unchecked
            flags, status, ans, out = self.dig("+cd", zone, "MX")
            self.assertEqual(status, "NOERROR", out)
            self.assertNotIn("ad", flags, out)
            self.assertEqual(rrs(ans, "MX"), ["10 mx.%s." % zone])
        self.assertRegex(self.dns.logs(), r"validation failure <bogus\.test\. MX IN>")

    def test_big_tlsa_needs_tcp(self):
        name = "_25._tcp.big.secure.test"
        flags, status, ans, out = self.dig("+bufsize=1232", "+notcp", "+ignore", name, "TLSA")
        self.assertIn("tc", flags, out)
        self.assertLess(len(rrs(ans, "TLSA")), 40, out)
        flags, status, ans, out = self.dig("+bufsize=1232", "+tcp", name, "TLSA")
        self.assertNotIn("tc", flags, out)
        self.assertIn("ad", flags, out)
        self.assertEqual(len(rrs(ans, "TLSA")), 40, out)
        m = re.search(r"MSG SIZE\s+rcvd: (\d+)", out)
        self.assertGreater(int(m.group(1)), 1232, out)
        # dig's default (UDP, falls back to TCP on TC) gets it all too
        flags, status, ans, out = self.dig(name, "TLSA")
        self.assertEqual(len(rrs(ans, "TLSA")), 40, out)
        # the host has an MX and addresses, for delivery tests
        flags, status, ans, out = self.dig("big.secure.test", "MX")
        self.assertEqual(rrs(ans, "MX"), ["10 big.secure.test."])

    def test_cname_mx_host(self):
        flags, status, ans, out = self.dig("cname.secure.test", "MX")
        self.assertIn("ad", flags, out)
        self.assertEqual(rrs(ans, "MX"), ["10 alias.secure.test."])
        flags, status, ans, out = self.dig("alias.secure.test", "A")
        self.assertEqual(status, "NOERROR", out)
        self.assertIn("ad", flags, out)
        self.assertEqual(rrs(ans, "CNAME"), ["real.secure.test."])
        self.assertEqual(rrs(ans, "A"), ["127.0.0.1"])
        self.assertEqual([f[0] for f in ans if f[3] == "A"], ["real.secure.test."])

    def test_null_mx(self):
        flags, status, ans, out = self.dig("nullmx.secure.test", "MX")
        self.assertIn("ad", flags, out)
        self.assertEqual(rrs(ans, "MX"), ["0 ."])

    def test_secure_mx_to_insecure_and_bogus_hosts(self):
        flags, status, ans, out = self.dig("mixed.secure.test", "MX")
        self.assertIn("ad", flags, out)
        self.assertEqual(rrs(ans, "MX"), ["10 mx.insecure.test."])
        flags, status, ans, out = self.dig("mx.insecure.test", "A")
        self.assertNotIn("ad", flags, out)
        self.assertEqual(rrs(ans, "A"), ["127.0.0.1"])
        flags, status, ans, out = self.dig("tobogus.secure.test", "MX")
        self.assertIn("ad", flags, out)
        flags, status, ans, out = self.dig("mx.bogus.test", "A")
        self.assertEqual(status, "SERVFAIL", out)

    def test_nsd_serves_signed_zones(self):
        flags, status, ans, out = dig(self.dns.nsd_port, "+dnssec", "+norec",
                                      "mx.secure.test", "A")
        self.assertIn("aa", flags, out)
        self.assertNotIn("ad", flags, out)
        self.assertTrue(rrs(ans, "RRSIG"), out)
        m = self.dns.query("test.", "DNSKEY", server="nsd")
        self.assertTrue(m["aa"])
        self.assertEqual(len([r for r in m["answer"] if r["type"] == dnsevil.DNSKEY]), 1)
        # insecure.test has no DS in test. (NSEC proves it), secure.test has one
        m = self.dns.query("insecure.test.", "DS", server="nsd")
        self.assertEqual(m["rcode"], 0)
        self.assertFalse([r for r in m["answer"] if r["type"] == dnsevil.DS])
        self.assertTrue([r for r in m["authority"] if r["type"] == dnsevil.NSEC])
        m = self.dns.query("secure.test.", "DS", server="nsd")
        self.assertEqual(len([r for r in m["answer"] if r["type"] == dnsevil.DS]), 1)

    def test_set_tlsa_add_records_reload(self):
        d = self.dns
        digest = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        d.set_tlsa("_25._tcp.mx.secure.test", ["3 1 1 " + digest, "2 0 1 " + "ab" * 32])
        d.add_records("secure.test", ["extra 60 IN A 127.0.0.2", "extra AAAA ::2"])
        try:
            t0 = time.monotonic()
            d.reload()
            took = time.monotonic() - t0
            self.assertLess(took, 5.0)
            port = d.resolver_port
            flags, status, ans, out = self.dig("_25._tcp.mx.secure.test", "TLSA")
            self.assertIn("ad", flags, out)
            self.assertEqual(sorted(rrs(ans, "TLSA")),
                             ["2 0 1 " + ("AB" * 32), "3 1 1 " + digest.upper()])
            flags, status, ans, out = self.dig("extra.secure.test", "A")
            self.assertIn("ad", flags, out)
            self.assertEqual(rrs(ans, "A"), ["127.0.0.2"])
            self.assertEqual(d.resolver_port, port)
            with self.assertRaises(ValueError):
                d.set_tlsa("_25._tcp.mx.secure.test", ["3 1 1 nothex"])
            with self.assertRaises(ValueError):
                d.set_tlsa("_25._tcp.mx.secure.test", ["3 1"])
            with self.assertRaises(ValueError):
                d.set_tlsa("_25._tcp.mx.example.org", ["3 1 1 00"])
        finally:
            d.set_tlsa("_25._tcp.mx.secure.test", [])
            d.zones["secure.test."].extra = []
            d.reload()
        flags, status, ans, out = self.dig("_25._tcp.mx.secure.test", "TLSA")
        self.assertIn("ad", flags, out)
        self.assertEqual(rrs(ans, "TLSA"), [])

    def test_add_zone_and_constructor_records(self):
        # a separate tree, to show the constructor's arguments and add_zone
        with dnszone.DnsZones(tlsa={"_25._tcp.mx.secure.test": ["3 1 1 " + "00" * 32]},
                              records={"insecure.test": ["other MX 5 mx.insecure.test."]}) as d:
            self.assertNotEqual(d.resolver_port, self.dns.resolver_port)
            flags, status, ans, out = dig(d.resolver_port, "_25._tcp.mx.secure.test", "TLSA")
            self.assertIn("ad", flags, out)
            self.assertEqual(rrs(ans, "TLSA"), ["3 1 1 " + "00" * 32])
            flags, status, ans, out = dig(d.resolver_port, "other.insecure.test", "MX")
            self.assertEqual(rrs(ans, "MX"), ["5 mx.insecure.test."])
            d.add_zone("sub.secure.test", "secure", ["@ TXT hello"])
            d.add_zone("bad.secure.test", "bogus")
            d.reload()
            flags, status, ans, out = dig(d.resolver_port, "sub.secure.test", "TXT")
            self.assertIn("ad", flags, out)
            self.assertEqual(rrs(ans, "TXT"), ['"hello"'])
            flags, status, ans, out = dig(d.resolver_port, "mx.sub.secure.test", "A")
            self.assertIn("ad", flags, out)
            flags, status, ans, out = dig(d.resolver_port, "mx.bad.secure.test", "A")
            self.assertEqual(status, "SERVFAIL", out)
            tmp = d.tmpdir
        self.assertFalse(os.path.exists(tmp))

    def test_set_sig_faults_one_rrset(self):
        # a separate tree: the faulted RRsets are SERVFAIL for the reason
        # meant, the rest of the zone (the same owner's A included) secure
        with dnszone.DnsZones(records={"secure.test": [
                "e A 127.0.0.3", "f A 127.0.0.4", "b A 127.0.0.5",
                "_25._tcp.e TLSA 3 1 1 " + "00" * 32]}) as d:
            d.set_sig("_25._tcp.e.secure.test", "TLSA", "expired")
            d.set_sig("f.secure.test", "A", "future")
            d.set_sig("b.secure.test.", "a", "broken")
            with self.assertRaises(ValueError):
                d.set_sig("mx.insecure.test", "A", "expired")
            with self.assertRaises(ValueError):
                d.set_sig("e.secure.test", "A", "stale")
            d.reload()
            for name, rtype, why in (("_25._tcp.e.secure.test", "TLSA", "signature expired"),
                                     ("f.secure.test", "A", "signature before inception date"),
                                     ("b.secure.test", "A", "signature crypto failed")):
                flags, status, ans, out = dig(d.resolver_port, name, rtype)
                self.assertEqual(status, "SERVFAIL", out)
                self.assertRegex(d.logs(), r"validation failure <%s. %s IN>: %s"
                                 % (re.escape(name), rtype, why))
            flags, status, ans, out = dig(d.resolver_port, "e.secure.test", "A")
            self.assertIn("ad", flags, out)
            self.assertEqual(rrs(ans, "A"), ["127.0.0.3"])
            d.set_sig("f.secure.test", "A", None)
            d.reload()
            flags, status, ans, out = dig(d.resolver_port, "f.secure.test", "A")
            self.assertIn("ad", flags, out)

    def test_bad_record_fails_clearly(self):
        d = dnszone.DnsZones(records={"insecure.test": ["broken IN MX notanumber"]})
        with self.assertRaises(RuntimeError) as cm:
            d.start()
        self.assertIn("insecure.test", str(cm.exception))


class DnsZoneEvilTest(unittest.TestCase):
    """Each behaviour of the hostile server, with raw queries."""

    @classmethod
    def setUpClass(cls):
        cls.evil = EvilDns().start()

    @classmethod
    def tearDownClass(cls):
        cls.evil.stop()

    def udp(self, name, qtype="A", timeout=1.0, count=1):
        """Send a query from an unconnected socket; returns (query id,
        [(data, source address)]) for up to count replies."""
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(s.close)
        s.settimeout(timeout)
        pkt = build_query(name, qtype)
        s.sendto(pkt, ("127.0.0.1", self.evil.port))
        out = []
        try:
            while len(out) < count:
                out.append(s.recvfrom(65535))
        except socket.timeout:
            pass
        return struct.unpack("!H", pkt[:2])[0], out

    def tcp(self, name, qtype="A", timeout=2.0):
        pkt = build_query(name, qtype)
        raw = dnsevil.query_raw(self.evil.port, pkt, tcp=True, timeout=timeout)
        return struct.unpack("!H", pkt[:2])[0], raw

    def one(self, name, qtype="A"):
        qid, got = self.udp(name, qtype)
        self.assertEqual(len(got), 1, name)
        data, src = got[0]
        self.assertEqual(src, ("127.0.0.1", self.evil.port))
        return qid, data

    def test_ok(self):
        for qt, text in (("A", "127.0.0.1"), ("AAAA", "::1"), ("MX", "10 mx.plain.evil.test."),
                         ("TLSA", "3 1 1 " + "11" * 32)):
            qid, data = self.one("plain.evil.test", qt)
            m = parse_message(data)
            self.assertEqual(m["id"], qid)
            self.assertTrue(m["qr"] and m["aa"])
            self.assertFalse(m["ad"])
            self.assertEqual(m["question"], [("plain.evil.test.", dnsevil.TYPE_CODES[qt], 1)])
            self.assertEqual([r["text"] for r in m["answer"]], [text])
            self.assertEqual(m["edns"]["payload"], 1232)
        self.assertIn(("udp", "plain.evil.test.", dnsevil.A),
                      [x[:3] for x in self.evil.seen("plain")])

    def test_wrong_id(self):
        qid, data = self.one("wrongid.evil.test")
        m = parse_message(data)
        self.assertNotEqual(m["id"], qid)
        self.assertEqual(m["question"][0][0], "wrongid.evil.test.")
        _, got = self.udp("wrongid.evil.test", count=2, timeout=0.3)
        self.assertEqual(len(got), 1)

    def test_wrong_id_then_right(self):
        qid, got = self.udp("wrongidok.evil.test", count=2)
        self.assertEqual([parse_message(d)["id"] == qid for d, _ in got], [False, True])

    def test_wrong_question(self):
        qid, data = self.one("wrongq.evil.test")
        m = parse_message(data)
        self.assertEqual(m["id"], qid)
        self.assertEqual(m["question"], [("other.evil.test.", dnsevil.A, 1)])

    def test_other_source(self):
        qid, got = self.udp("othersrc.evil.test", count=2, timeout=0.5)
        self.assertEqual(len(got), 1)
        data, src = got[0]
        self.assertEqual(src[0], "127.0.0.1")
        self.assertNotEqual(src[1], self.evil.port)
        self.assertEqual(parse_message(data)["id"], qid)
        qid, got = self.udp("otheraddr.evil.test", count=2, timeout=0.5)
        self.assertEqual(len(got), 1)
        data, src = got[0]
        self.assertEqual(src[0], "127.0.0.2")
        self.assertEqual(parse_message(data)["id"], qid)
        # and through a connected socket (as a stub resolver uses) nothing comes
        with self.assertRaises(socket.timeout):
            dnsevil.query(self.evil.port, "othersrc.evil.test", "A", timeout=0.3)
        # over TCP there is only one source: a plain answer
        qid, raw = self.tcp("othersrc.evil.test")
        self.assertEqual(parse_message(raw)["id"], qid)

    def test_truncated(self):
        for qt in ("A", "MX", "TLSA"):
            qid, data = self.one("truncated.evil.test", qt)
            self.assertEqual(struct.unpack("!H", data[:2])[0], qid)
            self.assertFalse(struct.unpack("!H", data[2:4])[0] & dnsevil.F_TC)
            with self.assertRaisesRegex(ValueError, "past the end"):
                parse_message(data)

    def test_pointer_loop(self):
        qid, data = self.one("loop.evil.test")
        with self.assertRaisesRegex(ValueError, "loop"):
            parse_message(data)

    def test_counts_larger_than_data(self):
        qid, data = self.one("counts.evil.test")
        self.assertEqual(struct.unpack("!HHH", data[6:12]), (5, 3, 2))
        with self.assertRaisesRegex(ValueError, "past the end"):
            parse_message(data)

    def test_big_tlsa(self):
        qid, data = self.one("bigtlsa.evil.test", "TLSA")
        m = parse_message(data)
        self.assertEqual(m["id"], qid)
        self.assertTrue(m["tc"])
        self.assertEqual(m["answer"], [])
        qid, raw = self.tcp("bigtlsa.evil.test", "TLSA")
        m = parse_message(raw)
        self.assertEqual(m["id"], qid)
        self.assertFalse(m["tc"])
        self.assertGreater(len(raw), 1232)
        tlsa = [r for r in m["answer"] if r["type"] == dnsevil.TLSA]
        self.assertEqual(len(tlsa), dnsevil.BIG_TLSA_COUNT)
        self.assertEqual(tlsa[0]["rdata"], dnsevil.big_tlsa_rdata(0))
        self.assertTrue(all(r["text"].startswith("3 0 2 ") for r in tlsa))
        self.assertIn("tcp", [x[0] for x in self.evil.seen("bigtlsa")])

    def test_servfail_nxdomain(self):
        qid, data = self.one("servfail.evil.test")
        m = parse_message(data)
        self.assertEqual((m["id"], m["rcode"], m["answer"]), (qid, dnsevil.SERVFAIL, []))
        qid, data = self.one("nxdomain.evil.test")
        m = parse_message(data)
        self.assertEqual((m["id"], m["rcode"], m["answer"]), (qid, dnsevil.NXDOMAIN, []))
        qid, raw = self.tcp("nxdomain.evil.test")
        self.assertEqual(parse_message(raw)["rcode"], dnsevil.NXDOMAIN)

    def test_ad_bit(self):
        qid, data = self.one("ad.evil.test", "MX")
        m = parse_message(data)
        self.assertEqual(m["id"], qid)
        self.assertTrue(m["ad"])
        self.assertEqual([r["text"] for r in m["answer"]], ["10 mx.ad.evil.test."])

    def test_timeout(self):
        qid, got = self.udp("timeout.evil.test", timeout=0.5)
        self.assertEqual(got, [])
        self.assertIn("timeout.evil.test.", [x[1] for x in self.evil.seen("timeout")])
        with self.assertRaises(socket.timeout):
            self.tcp("timeout.evil.test", timeout=0.5)

    def test_prefix_matching(self):
        self.assertEqual(dnsevil.behaviour_of("wrongidok.x."), "wrongidok")
        self.assertEqual(dnsevil.behaviour_of("wrongid-2.x."), "wrongid")
        self.assertEqual(dnsevil.behaviour_of("WRONGQ.x."), "wrongq")
        self.assertEqual(dnsevil.behaviour_of("mx.wrongid.x."), "ok")
        self.assertEqual(dnsevil.behaviour_of("adx.x."), "ad")

    def test_dig_sees_the_same(self):
        if not DIG:
            self.skipTest("no dig")
        flags, status, ans, out = dig(self.evil.port, "ad.evil.test", "A")
        self.assertIn("ad", flags, out)
        flags, status, ans, out = dig(self.evil.port, "servfail.evil.test", "A")
        self.assertEqual(status, "SERVFAIL", out)
        flags, status, ans, out = dig(self.evil.port, "+tcp", "bigtlsa.evil.test", "TLSA")
        self.assertEqual(len(rrs(ans, "TLSA")), dnsevil.BIG_TLSA_COUNT, out)


if __name__ == "__main__":
    unittest.main()

"""test_dane.py - DANE end to end (RFC 7672): the real signed zone
(NSD + Unbound, dnszone.py), real TLS receivers (aiosmtpd with STARTTLS
and openssl-made certificates, certs.py) on their own loopback
addresses, and tern delivering by MX. A 3 1 1 match is delivered with
CV=dane; a mismatch, a missing STARTTLS, a bogus TLSA lookup and a
DANE-TA chain with the wrong name are deferred with nothing sent in
clear text (or at all); an insecure zone is delivered without DANE; a
failing MX host is followed by a matching one; CNAME'd MX hosts use the
expanded name's TLSA records, then the initial name's;
hosts_require_dane without TLSA defers; `tern dane probe` tells why."""
import os
import tempfile
import unittest

import certs
import harness
from harness import Sink, Tern, enabled, free_port

try:
    import dnszone
except ImportError:      # pragma: no cover
    dnszone = None


@unittest.skipUnless(enabled("CONFIG_TLS_DANE") and enabled("CONFIG_ROUTER_DNSLOOKUP"),
                     "built without DANE or MX delivery")
class DaneDeliverTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        missing = dnszone.missing_tools()
        if missing:
            raise AssertionError("missing tools %s: run ports/debian/install-deps.sh check"
                                 % missing)
        cls.dir = tempfile.mkdtemp(prefix="tern-dane-")
        pki = certs.Pki(cls.dir)
        cls.root = pki.root("DANE Test Root")
        cls.inter = pki.intermediate(cls.root, "DANE Test Intermediate")
        names = ["h-%s.secure.test" % n for n in
                 ("ok", "bad", "nost", "bt", "ta", "taok", "real", "real2", "none", "unus")]
        # one leaf for every host: names only matter under DANE-TA
        cls.leaf = pki.leaf(cls.inter, "h-ok.secure.test", sans=names + ["h-ins.insecure.test"])
        cls.wrong = pki.leaf(cls.inter, "elsewhere.example", sans=["elsewhere.example"])
        cls.other = pki.leaf(cls.inter, "other.secure.test", sans=["other.secure.test"])
        cls.chain = certs.chain_pem(os.path.join(cls.dir, "leaf-chain.pem"),
                                    [cls.leaf, cls.inter])
        cls.wrong_chain = certs.chain_pem(os.path.join(cls.dir, "wrong-chain.pem"),
                                          [cls.wrong, cls.inter])
        cls.port = free_port()
        p = cls.port
        ee = cls.leaf.tlsa(3, 1, 1)
        # the intermediate, which the servers send (a digest of a root they
        # do not send could never match: RFC 7671 5.2.2)
        ta = cls.inter.tlsa(2, 0, 1)
        secure = [
            "d-ok MX 10 h-ok", "h-ok A 127.0.0.11", "_%d._tcp.h-ok TLSA %s" % (p, ee),
            "d-bad MX 10 h-bad", "h-bad A 127.0.0.12",
            "_%d._tcp.h-bad TLSA %s" % (p, cls.other.tlsa(3, 1, 1)),
            "d-nost MX 10 h-nost", "h-nost A 127.0.0.13", "_%d._tcp.h-nost TLSA %s" % (p, ee),
            "d-bt MX 10 h-bt", "h-bt A 127.0.0.14",
            "_%d._tcp.h-bt CNAME tlsa.bogus.test." % p,
            "d-ta MX 10 h-ta", "h-ta A 127.0.0.15", "_%d._tcp.h-ta TLSA %s" % (p, ta),
            "d-taok MX 10 h-taok", "h-taok A 127.0.0.16", "_%d._tcp.h-taok TLSA %s" % (p, ta),
            "d-fb MX 10 h-bad", "d-fb MX 20 h-ok",
            "d-cn MX 10 h-alias", "h-alias CNAME h-real", "h-real A 127.0.0.18",
            "_%d._tcp.h-real TLSA %s" % (p, ee),
            "d-cn2 MX 10 h-alias2", "h-alias2 CNAME h-real2", "h-real2 A 127.0.0.19",
            "_%d._tcp.h-alias2 TLSA %s" % (p, ee),
            "d-none MX 10 h-none", "h-none A 127.0.0.20",
            "d-unus MX 10 h-unus", "h-unus A 127.0.0.21",
            "_%d._tcp.h-unus TLSA 0 0 1 %s" % (p, "ab" * 32),
        ]
        insecure = ["d-ins MX 10 h-ins", "h-ins A 127.0.0.17",
                    "_%d._tcp.h-ins TLSA %s" % (p, cls.other.tlsa(3, 1, 1))]
        bogus = ["tlsa TLSA %s" % ee]
        cls.dns = dnszone.DnsZones(records={"secure.test": secure,
                                            "insecure.test": insecure,
                                            "bogus.test": bogus})
        cls.dns.start()

    @classmethod
    def tearDownClass(cls):
        cls.dns.stop()

    def sink(self, ip, chain=None, **kw):
        if chain is None:
            chain = self.chain
        s = Sink(host=ip, port=self.port, tls_cert=chain, tls_key=self.leaf.key_path
                 if chain == self.chain else self.wrong.key_path if chain == self.wrong_chain
                 else None, **kw)
        self.addCleanup(s.stop)
        return s

    def tern(self, extra=""):
        t = Tern("[transport remote_smtp]\nport = %d\nconnect_timeout = 2s\n"
                 "command_timeout = 2s\n%s" % (self.port, extra),
                 "dns_servers = %s\n" % self.dns.resolver)
        self.addCleanup(t.cleanup)
        return t

    def send(self, t, rcpt):
        r = t.sendmail("-odq", "-f", "alice@example.net", rcpt,
                       input=b"Subject: dane\n\nconfidential\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        qid = t.queue_ids()[-1]
        r = t.cmd("queue", "run")
        self.assertEqual(r.returncode, 0, r.stderr)
        return qid

    def assertNothingSent(self, sink):
        self.assertEqual(sink.messages(), [])
        mail = [c for c in sink.commands() if "MAIL" in c.upper() or "RCPT" in c.upper()]
        self.assertEqual(mail, [], "envelope sent to a host that failed DANE")

    def test_ee_match_delivered_with_cv_dane(self):
        sink = self.sink("127.0.0.11")
        t = self.tern()
        qid = self.send(t, "bob@d-ok.secure.test")
        self.assertEqual(len(sink.messages()), 1, t.read_log())
        self.assertTrue(sink.messages()[0]["tls"])
        self.assertRegex(t.read_log(), r"%s => bob@d-ok.secure.test R=dnslookup T=remote_smtp "
                         r"H=h-ok.secure.test \[127.0.0.11\]:%d X=TLS\S+ CV=dane C=\"250 "
                         % (qid, self.port))

    def test_mismatch_defers_and_sends_nothing(self):
        sink = self.sink("127.0.0.12")
        t = self.tern()
        qid = self.send(t, "bob@d-bad.secure.test")
        self.assertNothingSent(sink)
        self.assertEqual(t.queue_ids(), [qid])
        self.assertRegex(t.read_log(), r"== bob@d-bad.secure.test .*defer: .*DANE verification "
                         r"failed: no TLSA record matched")

    def test_no_starttls_defers_never_clear_text(self):
        sink = self.sink("127.0.0.13", no_starttls=True)
        t = self.tern()
        qid = self.send(t, "bob@d-nost.secure.test")
        self.assertNothingSent(sink)
        self.assertEqual(t.queue_ids(), [qid])
        self.assertIn("TLS is required", t.read_log())

    def test_bogus_tlsa_makes_the_host_unusable(self):
        sink = self.sink("127.0.0.14")
        t = self.tern()
        qid = self.send(t, "bob@d-bt.secure.test")
        self.assertEqual(sink.commands(), [])          # not even connected
        self.assertEqual(t.queue_ids(), [qid])
        self.assertRegex(t.read_log(), r"== bob@d-bt.secure.test .*TLSA lookup .* failed")

    def test_dane_ta_wrong_name_defers(self):
        sink = self.sink("127.0.0.15", chain=self.wrong_chain)
        t = self.tern()
        qid = self.send(t, "bob@d-ta.secure.test")
        self.assertNothingSent(sink)
        self.assertEqual(t.queue_ids(), [qid])
        self.assertRegex(t.read_log(), r"DANE verification failed: .*name")

    def test_dane_ta_right_name_delivered(self):
        sink = self.sink("127.0.0.16")
        t = self.tern()
        qid = self.send(t, "bob@d-taok.secure.test")
        self.assertEqual(len(sink.messages()), 1, t.read_log())
        self.assertRegex(t.read_log(), r"%s => bob@d-taok.secure.test .* CV=dane" % qid)

    def test_insecure_zone_delivered_without_dane(self):
        # its TLSA record does not match, but it is not signed: ignored
        sink = self.sink("127.0.0.17")
        t = self.tern()
        qid = self.send(t, "bob@d-ins.insecure.test")
        self.assertEqual(len(sink.messages()), 1, t.read_log())
        self.assertRegex(t.read_log(), r"%s => bob@d-ins.insecure.test .* X=TLS\S+ CV=no" % qid)

    def test_mx_fallback_from_failing_host_to_matching_one(self):
        bad = self.sink("127.0.0.12")
        good = self.sink("127.0.0.11")
        t = self.tern()
        qid = self.send(t, "bob@d-fb.secure.test")
        self.assertNothingSent(bad)
        self.assertEqual(len(good.messages()), 1, t.read_log())
        self.assertRegex(t.read_log(), r"%s => bob@d-fb.secure.test .*H=h-ok.secure.test "
                         r"\[127.0.0.11\]:\d+ X=\S+ CV=dane" % qid)

    def test_cname_mx_host_uses_expanded_name_tlsa(self):
        sink = self.sink("127.0.0.18")
        t = self.tern()
        qid = self.send(t, "bob@d-cn.secure.test")
        self.assertEqual(len(sink.messages()), 1, t.read_log())
        self.assertRegex(t.read_log(), r"%s => bob@d-cn.secure.test .*H=h-alias.secure.test "
                         r"\[127.0.0.18\]:\d+ X=\S+ CV=dane" % qid)

    def test_cname_mx_host_falls_back_to_initial_name_tlsa(self):
        sink = self.sink("127.0.0.19")
        t = self.tern()
        qid = self.send(t, "bob@d-cn2.secure.test")
        self.assertEqual(len(sink.messages()), 1, t.read_log())
        self.assertRegex(t.read_log(), r"%s => bob@d-cn2.secure.test .* CV=dane" % qid)

    def test_require_dane_without_tlsa_defers(self):
        sink = self.sink("127.0.0.20")
        t = self.tern("hosts_require_dane = *\n")
        qid = self.send(t, "bob@d-none.secure.test")
        self.assertEqual(sink.commands(), [])
        self.assertEqual(t.queue_ids(), [qid])
        self.assertIn("hosts_require_dane", t.read_log())
        # the same host without the requirement: opportunistic TLS
        t.write_config("[transport remote_smtp]\nport = %d\n" % self.port,
                       "dns_servers = %s\n" % self.dns.resolver)
        t.cmd("queue", "run")
        self.assertEqual(len(sink.messages()), 1)

    def test_only_unusable_records_mean_tls_without_authentication(self):
        clear = self.sink("127.0.0.21", no_starttls=True)
        t = self.tern()
        qid = self.send(t, "bob@d-unus.secure.test")
        self.assertNothingSent(clear)
        clear.stop()
        tls = self.sink("127.0.0.21")
        t.cmd("queue", "run")
        self.assertEqual(len(tls.messages()), 1, t.read_log())
        self.assertRegex(t.read_log(), r"%s => bob@d-unus.secure.test .* X=TLS\S+ CV=no" % qid)

    def test_hosts_try_dane_excludes_a_host(self):
        sink = self.sink("127.0.0.11")
        t = self.tern("hosts_try_dane = !h-ok.secure.test : *\n")
        r = t.cmd("route", "bob@d-ok.secure.test")
        self.assertIn("TLSA: not looked up (not in hosts_try_dane)", r.stdout)
        qid = self.send(t, "bob@d-ok.secure.test")
        self.assertEqual(len(sink.messages()), 1, t.read_log())
        self.assertRegex(t.read_log(), r"%s => bob@d-ok.secure.test .* X=TLS\S+ CV=no" % qid)
        # and the default looks them up
        t.write_config("[transport remote_smtp]\nport = %d\n" % self.port,
                       "dns_servers = %s\n" % self.dns.resolver)
        r = t.cmd("route", "bob@d-ok.secure.test")
        self.assertIn("TLS policy: DANE", r.stdout)

    @unittest.skipUnless(enabled("CONFIG_EVENTS_EXEC"), "built without event actions")
    def test_dane_events(self):
        import json
        from test_events import HOOK
        hdir = tempfile.mkdtemp(prefix="tern-dane-ev-")
        os.chmod(hdir, 0o777)
        hook = os.path.join(hdir, "hook.py")
        with open(hook, "w") as f:
            f.write(HOOK)
        os.chmod(hook, 0o755)
        self.sink("127.0.0.11")
        self.sink("127.0.0.12")
        self.sink("127.0.0.13", no_starttls=True)
        t = self.tern("event_action = %s %s\n" % (hook, hdir))

        def events(name):
            out = []
            for f in sorted(os.listdir(hdir)):
                if f.startswith("ev-"):
                    e = json.load(open(os.path.join(hdir, f)))
                    if e["EVENT_NAME"] == name:
                        out.append(e)
            return out
        for rcpt in ("bob@d-ok.secure.test", "bob@d-bad.secure.test",
                     "bob@d-nost.secure.test", "bob@d-bt.secure.test"):
            self.send(t, rcpt)
        # each queue run tries the deferred ones again: the kinds matter
        fails = sorted({(e["HOST"], e["EVENT_DATA"]) for e in events("dane:fail")})
        self.assertEqual(fails, [("h-bad.secure.test", "validation-failure"),
                                 ("h-bt.secure.test", "dnssec-invalid"),
                                 ("h-nost.secure.test", "starttls-not-supported")])
        ok = [e for e in events("tcp:close") if e["HOST"] == "h-ok.secure.test"]
        self.assertEqual([e["TLS_OUT_DANE"] for e in ok], ["yes"])
        certs_ok = [e for e in events("tls:cert") if e["HOST"] == "h-ok.secure.test"]
        self.assertEqual(sorted(e["EVENT_DATA"] for e in certs_ok), ["0", "1"])
        self.assertEqual({e["TLS_OUT_TLSA_USAGE"] for e in certs_ok}, {"8"})   # bit 3
        self.assertEqual({e["LOOKUP_DNSSEC_AUTHENTICATED"] for e in certs_ok}, {"yes"})

    @unittest.skipUnless(enabled("CONFIG_TLS_DANE_PROBE"), "built without the probe")
    def test_probe_reports_the_match(self):
        self.sink("127.0.0.11")
        t = self.tern()
        r = t.cmd("dane", "probe", "d-ok.secure.test", str(self.port))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("MX d-ok.secure.test (ok, secure)", r.stdout)
        self.assertIn("TLS policy: DANE", r.stdout)
        self.assertIn("3 1 1 %s" % self.leaf.tlsa(3, 1, 1).split()[3], r.stdout)
        self.assertRegex(r.stdout, r"DANE: verified: record 1 matched at depth 0")
        self.assertIn("depth 1: subject=CN=DANE Test Intermediate", r.stdout)

    @unittest.skipUnless(enabled("CONFIG_TLS_DANE_PROBE"), "built without the probe")
    def test_probe_reports_the_mismatch(self):
        self.sink("127.0.0.12")
        t = self.tern()
        r = t.cmd("dane", "probe", "d-bad.secure.test", str(self.port))
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("DANE: not verified: no TLSA record matched", r.stdout)
        self.assertIn("deferred", r.stdout)


if __name__ == "__main__":
    unittest.main()

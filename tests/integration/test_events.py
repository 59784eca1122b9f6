"""test_events.py - event actions with real receivers (aiosmtpd, with
STARTTLS and an openssl-made chain): each event fires the right number of
times with the right data and variables, the forced results of
tcp:connect, tls:cert and smtp:connect do what the table says, the JSON
event log gets the same events, and hooks that hang, flood or fail never
stop the mail."""
import json
import os
import stat
import tempfile
import time
import unittest

import certs
from harness import Sink, Tern, enabled, free_port, wait_for

HOOK = r'''#!/usr/bin/python3
# test hook: record the environment, answer as the control files say
import json, os, sys, time
d = sys.argv[1]
name = os.environ.get("EVENT_NAME", "?")
with open(os.path.join(d, "ev-%.6f-%d.json" % (time.time(), os.getpid())), "w") as f:
    json.dump(dict(os.environ), f)
if os.path.exists(os.path.join(d, "sleep-" + name)):
    time.sleep(30)
if os.path.exists(os.path.join(d, "flood-" + name)):
    sys.stdout.write("x" * (4 << 20))
answer = os.path.join(d, "answer-" + name)
if os.path.exists(answer):
    sys.stdout.write(open(answer).read())
if os.path.exists(os.path.join(d, "fail-" + name)):
    sys.exit(3)
'''


@unittest.skipUnless(enabled("CONFIG_EVENTS_EXEC"), "built without event actions")
class EventTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pkidir = tempfile.mkdtemp(prefix="tern-ev-pki-")
        pki = certs.Pki(cls.pkidir)
        cls.root = pki.root("Event Root")
        cls.inter = pki.intermediate(cls.root, "Event Intermediate")
        cls.leaf = pki.leaf(cls.inter, "localhost", sans=["localhost"])
        cls.chain = certs.chain_pem(os.path.join(cls.pkidir, "chain.pem"),
                                    [cls.leaf, cls.inter])

    def setUp(self):
        # the hook runs as event_user (nobody) when the tests run as root:
        # everything it touches must be reachable for that user
        self.hdir = tempfile.mkdtemp(prefix="tern-ev-")
        os.chmod(self.hdir, 0o777)
        self.hook = os.path.join(self.hdir, "hook.py")
        with open(self.hook, "w") as f:
            f.write(HOOK)
        os.chmod(self.hook, 0o755)

    def tern(self, port, transport_extra="", main_extra=""):
        action = "%s %s" % (self.hook, self.hdir)
        t = Tern("[router smarthost]\nhosts = localhost:%d\n\n[transport remote_smtp]\n"
                 "connect_timeout = 3s\ncommand_timeout = 3s\nevent_action = %s\n%s"
                 % (port, action, transport_extra),
                 "event_action = %s\nevent_timeout = 2s\n%s" % (action, main_extra))
        self.addCleanup(t.cleanup)
        return t

    def sink(self, *args, **kw):
        s = Sink(*args, **kw)
        self.addCleanup(s.stop)
        return s

    def send(self, t):
        r = t.sendmail("-odq", "-f", "alice@example.net", "bob@example.org",
                       input=b"Subject: ev\n\nbody\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        qid = t.queue_ids()[-1]
        r = t.cmd("queue", "run")
        self.assertEqual(r.returncode, 0, r.stderr)
        return qid

    def events(self, name=None):
        out = []
        for f in sorted(os.listdir(self.hdir)):
            if f.startswith("ev-"):
                with open(os.path.join(self.hdir, f)) as fh:
                    e = json.load(fh)
                if name is None or e["EVENT_NAME"] == name:
                    out.append(e)
        return out

    def answer(self, event, text):
        with open(os.path.join(self.hdir, "answer-" + event), "w") as f:
            f.write(text)

    def test_delivery_over_tls_fires_each_event_with_its_variables(self):
        sink = self.sink(tls_cert=self.chain, tls_key=self.leaf.key_path)
        t = self.tern(sink.port)
        qid = self.send(t)
        self.assertEqual(len(sink.messages()), 1, t.read_log())
        # msg:complete may still be running when queue run returns
        wait_for(lambda: self.events("msg:complete"), what="msg:complete")
        names = [e["EVENT_NAME"] for e in self.events()]
        self.assertEqual(names.count("tcp:connect"), 1, names)
        self.assertEqual(names.count("smtp:connect"), 1, names)
        self.assertEqual(names.count("tls:cert"), 2, names)
        self.assertEqual(names.count("msg:delivery"), 1, names)
        self.assertEqual(names.count("msg:complete"), 1, names)
        self.assertNotIn("msg:host:defer", names)
        sc = self.events("smtp:connect")[0]
        self.assertTrue(sc["EVENT_DATA"].startswith("220 "), sc)
        certs_ev = self.events("tls:cert")
        self.assertEqual(sorted(e["EVENT_DATA"] for e in certs_ev), ["0", "1"])
        by_depth = {e["EVENT_DATA"]: e for e in certs_ev}
        self.assertIn("BEGIN CERTIFICATE", by_depth["0"]["TLS_OUT_PEERCERT"])
        self.assertEqual(by_depth["0"]["TLS_OUT_PEERCERT"].strip(), self.leaf.pem.strip())
        self.assertEqual(by_depth["1"]["TLS_OUT_PEERCERT"].strip(), self.inter.pem.strip())
        d = self.events("msg:delivery")[0]
        self.assertTrue(d["EVENT_DATA"].startswith("250 "), d)
        self.assertEqual(d["MESSAGE_ID"], qid)
        self.assertEqual(d["LOCAL_PART"], "bob")
        self.assertEqual(d["DOMAIN"], "example.org")
        self.assertEqual(d["HOST"], "localhost")
        self.assertEqual(d["HOST_ADDRESS"], "127.0.0.1")
        self.assertEqual(d["HOST_PORT"], str(sink.port))
        self.assertEqual(d["ROUTER_NAME"], "smarthost")
        self.assertEqual(d["TRANSPORT_NAME"], "remote_smtp")
        tc = self.events("tcp:close")
        self.assertEqual(len(tc), 1)
        self.assertEqual(tc[0]["SENDING_IP_ADDRESS"], "127.0.0.1")
        self.assertTrue(int(tc[0]["SENDING_PORT"]) > 0)
        self.assertEqual(tc[0]["TLS_OUT_DANE"], "no")
        # a clean environment: nothing of tern's own
        self.assertNotIn("HOME", d)
        self.assertEqual(d["PATH"], "/usr/local/bin:/usr/bin:/bin")

    def test_host_defer_carries_errno(self):
        port = free_port()         # nothing listens
        t = self.tern(port)
        self.send(t)
        hd = self.events("msg:host:defer")
        self.assertEqual(len(hd), 1, [e["EVENT_NAME"] for e in self.events()])
        self.assertEqual(hd[0]["EVENT_DEFER_ERRNO"], "111")        # ECONNREFUSED
        self.assertIn("refused", hd[0]["EVENT_DATA"])
        self.assertEqual(len(self.events("msg:rcpt:defer")), 1)
        rh = self.events("msg:rcpt:host:defer")
        self.assertEqual([(e["LOCAL_PART"], e["DOMAIN"]) for e in rh], [("bob", "example.org")])
        self.assertEqual(len(self.events("msg:defer")), 1)
        self.assertEqual(self.events("msg:complete"), [])
        self.assertEqual(self.events("msg:delivery"), [])

    def test_tls_fail_connect(self):
        # implicit TLS towards a server that answers in clear text
        sink = self.sink()
        t = self.tern(sink.port, transport_extra="tls_on_connect = true\n")
        qid = self.send(t)
        self.assertEqual(sink.messages(), [])
        ev = self.events("tls:fail:connect")
        self.assertEqual(len(ev), 1, [e["EVENT_NAME"] for e in self.events()])
        self.assertTrue(ev[0]["EVENT_DATA"], ev[0])
        self.assertEqual(ev[0]["HOST_PORT"], str(sink.port))
        self.assertEqual(len(self.events("msg:host:defer")), 1)

    @unittest.skipUnless(enabled("CONFIG_ROUTER_DNSLOOKUP"), "no MX delivery")
    def test_dns_fail(self):
        # no router: MX delivery, and the harness's resolver never answers
        action = "%s %s" % (self.hook, self.hdir)
        t = Tern("", "event_action = %s\n" % action)
        self.addCleanup(t.cleanup)
        self.send(t)
        ev = self.events("dns:fail")
        self.assertEqual(len(ev), 1, [e["EVENT_NAME"] for e in self.events()])
        self.assertIn("MX lookup for example.org", ev[0]["EVENT_DATA"])
        self.assertEqual(len(self.events("msg:defer")), 1)

    def test_forced_tcp_connect_makes_no_connection(self):
        sink = self.sink()
        t = self.tern(sink.port)
        self.answer("tcp:connect", "blocked by policy\n")
        qid = self.send(t)
        self.assertEqual(sink.commands(), [])
        self.assertEqual(sink.messages(), [])
        self.assertEqual(t.queue_ids(), [qid])
        self.assertIn("tcp:connect event action said: blocked by policy", t.read_log())

    def test_forced_tls_cert_refuses_and_never_falls_back(self):
        sink = self.sink(tls_cert=self.chain, tls_key=self.leaf.key_path)
        t = self.tern(sink.port)
        self.answer("tls:cert", "pinned-bad")
        qid = self.send(t)
        self.assertEqual(sink.messages(), [])
        self.assertEqual(t.queue_ids(), [qid])
        cmds = [c.upper() for c in sink.commands()]
        self.assertFalse([c for c in cmds if "MAIL" in c], cmds)
        # one EHLO in clear, then STARTTLS: no second connection in clear
        self.assertEqual(sum(1 for c in cmds if c.startswith("EHLO")), 1, cmds)
        self.assertIn("refused by the tls:cert event action: pinned-bad", t.read_log())
        # the first certificate asked about is the top of the chain
        self.assertEqual([e["EVENT_DATA"] for e in self.events("tls:cert")], ["1"])

    def test_forced_smtp_connect_closes(self):
        sink = self.sink()
        t = self.tern(sink.port)
        self.answer("smtp:connect", "not this one")
        qid = self.send(t)
        self.assertEqual(sink.messages(), [])
        self.assertFalse([c for c in sink.commands() if "MAIL" in c.upper()])
        self.assertEqual(t.queue_ids(), [qid])
        self.assertIn("smtp:connect event action said: not this one", t.read_log())

    def test_forced_smtp_ehlo_closes_and_ehlo_has_the_reply(self):
        sink = self.sink()
        t = self.tern(sink.port)
        self.answer("smtp:ehlo", "no thanks")
        qid = self.send(t)
        self.assertEqual(sink.messages(), [])
        self.assertFalse([c for c in sink.commands() if "MAIL" in c.upper()])
        self.assertIn("smtp:ehlo event action said: no thanks", t.read_log())
        e = self.events("smtp:ehlo")
        self.assertEqual(len(e), 1)
        self.assertTrue(e[0]["EVENT_DATA"].startswith("250"), e[0])
        self.assertIn("\n250-8BITMIME\n", e[0]["EVENT_DATA"])

    def test_hung_flooding_and_failing_hooks_do_not_stop_mail(self):
        sink = self.sink()
        t = self.tern(sink.port)
        open(os.path.join(self.hdir, "sleep-tcp:connect"), "w").close()
        open(os.path.join(self.hdir, "flood-smtp:connect"), "w").close()
        open(os.path.join(self.hdir, "fail-msg:delivery"), "w").close()
        self.answer("msg:delivery", "ignored anyway")
        started = time.time()
        qid = self.send(t)
        self.assertEqual(len(sink.messages()), 1, t.read_log())
        self.assertLess(time.time() - started, 25)      # killed after event_timeout
        log = t.read_log()
        self.assertIn("%s Completed" % qid, log)
        self.assertIn("killed after 2s (event_timeout)", log)
        self.assertIn("octets more than the 1024 kept", log)
        wait_for(lambda: "exit status 3" in t.read_log(), what="failed hook logged")

    def example(self, name):
        src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                           "docs", "examples", name)
        dst = os.path.join(self.hdir, name)
        with open(src) as f, open(dst, "w") as g:
            g.write(f.read())
        os.chmod(dst, 0o755)
        return dst

    def test_example_sqlite_hook_records_deliveries(self):
        sink = self.sink("--rcpt-reply", "carol@example.org=550 5.1.1 no such user")
        hook = self.example("event-sqlite.sh")
        db = os.path.join(self.hdir, "events.db")
        t = Tern("[router smarthost]\nhosts = 127.0.0.1:%d\n\n[transport remote_smtp]\n"
                 "event_action = %s %s\n" % (sink.port, hook, db),
                 "event_action = %s %s\n" % (hook, db))
        self.addCleanup(t.cleanup)
        r = t.sendmail("-odq", "-f", "alice@example.net", "bob@example.org",
                       "carol@example.org", input=b"Subject: db\n\nbody\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        qid = t.queue_ids()[-1]
        t.cmd("queue", "run")
        import sqlite3
        rows = []
        def got():
            nonlocal rows
            try:
                c = sqlite3.connect(db)
                rows = c.execute("SELECT event, message_id, rcpt, data FROM events "
                                 "WHERE message_id = ? ORDER BY event", (qid,)).fetchall()
                c.close()
            except sqlite3.Error:
                return False
            return len(rows) == 2
        wait_for(got, what="two rows in the database")
        self.assertEqual([(r[0], r[2]) for r in rows],
                         [("msg:delivery", "bob@example.org"),
                          ("msg:fail:delivery", "carol@example.org")])
        self.assertTrue(rows[0][3].startswith("250 "))
        self.assertIn("550 5.1.1 no such user", rows[1][3])

    def test_example_pin_hook_refuses_a_listed_certificate(self):
        sink = self.sink(tls_cert=self.chain, tls_key=self.leaf.key_path)
        hook = self.example("event-pin-refuse.sh")
        listf = os.path.join(self.hdir, "bad.sha256")
        with open(listf, "w") as f:
            f.write("00" * 32 + "\n" + self.leaf.sha256() + "\n")
        os.chmod(listf, 0o644)
        t = Tern("[router smarthost]\nhosts = 127.0.0.1:%d\n\n[transport remote_smtp]\n"
                 "event_action = %s %s\n" % (sink.port, hook, listf))
        self.addCleanup(t.cleanup)
        self.send(t)
        self.assertEqual(sink.messages(), [])
        self.assertIn("at depth 0 is on the refused list", t.read_log())

    @unittest.skipUnless(enabled("CONFIG_EVENTS_LOG"), "built without the event log")
    def test_event_log_gets_json_lines(self):
        sink = self.sink()
        logf = os.path.join(self.hdir, "events.jsonl")
        t = self.tern(sink.port, main_extra="event_log = %s\n" % logf)
        qid = self.send(t)
        self.assertEqual(len(sink.messages()), 1)
        wait_for(lambda: os.path.exists(logf) and "msg:complete" in open(logf).read(),
                 what="msg:complete in the event log")
        lines = [json.loads(l) for l in open(logf)]
        names = [l["event"] for l in lines]
        for ev in ("tcp:connect", "smtp:connect", "msg:delivery", "tcp:close",
                   "msg:complete"):
            self.assertIn(ev, names)
        d = [l for l in lines if l["event"] == "msg:delivery"][0]
        self.assertEqual(d["MESSAGE_ID"], qid)
        self.assertEqual(d["LOCAL_PART"], "bob")


if __name__ == "__main__":
    unittest.main()

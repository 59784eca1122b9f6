"""test_deliver.py - delivery to real SMTP servers on loopback (aiosmtpd):
one transaction for many recipients, 451 then success on retry, 550 and
an RFC 3464 bounce to the sender, a refused and a hanging host followed
by the next one, null-sender failures not bounced, and the log lines."""
import email
import os
import re
import signal
import socket
import subprocess
import time
import unittest

import harness
from harness import Sink, Tern, enabled, wait_for


def smarthost(*ports, extra=""):
    hosts = " ".join("127.0.0.1:%d" % p for p in ports)
    return ("[router smarthost]\nhosts = %s\n\n[transport remote_smtp]\n"
            "connect_timeout = 2s\ncommand_timeout = 2s\n%s" % (hosts, extra))


class DeliverTest(unittest.TestCase):
    def sink(self, *args):
        s = Sink(*args)
        self.addCleanup(s.stop)
        return s

    def tern(self, config, main_extra=""):
        t = Tern(config, main_extra)
        self.addCleanup(t.cleanup)
        return t

    def send(self, t, rcpts, sender="alice@example.net", body=b"Subject: hello\n\nbody\n"):
        r = t.sendmail("-odq", "-f", sender, *rcpts, input=body)
        self.assertEqual(r.returncode, 0, r.stderr)
        return t.queue_ids()[-1]

    def test_many_recipients_one_transaction(self):
        sink = self.sink()
        t = self.tern(smarthost(sink.port))
        rcpts = ["r%d@example.org" % i for i in range(5)]
        qid = self.send(t, rcpts)
        r = t.cmd("queue", "run")
        self.assertEqual(r.returncode, 0, r.stderr)
        msgs = sink.messages()
        self.assertEqual(len(msgs), 1)
        self.assertEqual(sorted(msgs[0]["to"]), sorted(rcpts))
        self.assertEqual(msgs[0]["from"], "alice@example.net")
        self.assertIn("Subject: hello", msgs[0]["data"])
        self.assertEqual(msgs[0]["helo"], "tern.test")
        log = t.read_log()
        self.assertRegex(log, r"%s => r0@example.org R=smarthost T=remote_smtp "
                         r"H=127.0.0.1 \[127.0.0.1\]:%d C=\"250 2.0.0 Ok: queued as S1\"" % (qid, sink.port))
        self.assertEqual(log.count("%s -> " % qid), 4)
        self.assertIn("%s Completed" % qid, log)
        self.assertEqual(t.queue_ids(), [])

    def test_defer_then_retry(self):
        sink = self.sink("--rcpt-reply", "b@example.org=451 4.3.0 try later", "--once")
        t = self.tern(smarthost(sink.port))
        qid = self.send(t, ["a@example.org", "b@example.org"])
        t.cmd("queue", "run")
        self.assertEqual(len(sink.messages()), 1)
        self.assertEqual(sink.messages()[0]["to"], ["a@example.org"])
        self.assertEqual(t.queue_ids(), [qid])
        self.assertIn("%s == b@example.org R=smarthost T=remote_smtp defer: 451 4.3.0 try later" % qid,
                      t.read_log())
        q = t.cmd("queue").stdout
        self.assertIn("b@example.org", q)
        self.assertIn("451 4.3.0 try later", q)
        self.assertNotIn("a@example.org", q)      # delivered already
        t.cmd("queue", "run")
        self.assertEqual([m["to"] for m in sink.messages()], [["a@example.org"], ["b@example.org"]])
        self.assertEqual(t.queue_ids(), [])
        self.assertIn("%s Completed" % qid, t.read_log())

    def test_failure_bounces_once(self):
        sink = self.sink("--rcpt-reply", "nobody@example.org=550 5.1.1 no such user")
        t = self.tern(smarthost(sink.port))
        qid = self.send(t, ["ok@example.org", "nobody@example.org"])
        t.cmd("queue", "run")
        log = t.read_log()
        self.assertIn("%s ** nobody@example.org R=smarthost T=remote_smtp: 550 5.1.1 no such user" % qid, log)
        # the report went to the sender, from <>, through the smarthost
        msgs = sink.messages()
        bounces = [m for m in msgs if m["from"] in ("", "<>")]
        self.assertEqual(len(bounces), 1, msgs)
        self.assertEqual(bounces[0]["to"], ["alice@example.net"])
        rep = email.message_from_string(bounces[0]["data"])
        self.assertEqual(rep.get_content_type(), "multipart/report")
        self.assertEqual(rep.get_param("report-type"), "delivery-status")
        self.assertEqual(rep["Auto-Submitted"], "auto-replied")
        parts = [p.get_content_type() for p in rep.walk()]
        self.assertIn("message/delivery-status", parts)
        ds = [p for p in rep.walk() if p.get_content_type() == "message/delivery-status"][0]
        text = ds.as_string()
        self.assertIn("Final-Recipient: rfc822; nobody@example.org", text)
        self.assertRegex(text, r"Status: 5\.\d\.\d")
        self.assertIn("Action: failed", text)
        self.assertIn("550 5.1.1 no such user", text)
        self.assertEqual(t.queue_ids(), [])
        # once: another queue run sends nothing more
        t.cmd("queue", "run")
        self.assertEqual(len([m for m in sink.messages() if m["from"] in ("", "<>")]), 1)

    def test_null_sender_failure_is_not_bounced(self):
        sink = self.sink("--rcpt-reply", "nobody@example.org=550 5.1.1 no such user")
        t = self.tern(smarthost(sink.port))
        self.send(t, ["nobody@example.org"], sender="")
        t.cmd("queue", "run")
        self.assertEqual(sink.messages(), [])
        self.assertEqual(t.queue_ids(), [])
        self.assertIn("no failure report", t.read_log())

    def test_refused_then_next_host(self):
        sink = self.sink()
        closed = harness.free_port()
        t = self.tern(smarthost(closed, sink.port))
        qid = self.send(t, ["a@example.org"])
        t.cmd("queue", "run")
        self.assertEqual(len(sink.messages()), 1)
        self.assertIn("H=127.0.0.1 [127.0.0.1]:%d" % sink.port, t.read_log())
        self.assertEqual(t.queue_ids(), [])

    def test_hanging_host_times_out_then_next(self):
        hang = self.sink("--hang")
        sink = self.sink()
        t = self.tern(smarthost(hang.port, sink.port))
        self.send(t, ["a@example.org"])
        start = time.monotonic()
        t.cmd("queue", "run")
        self.assertLess(time.monotonic() - start, 20)
        self.assertEqual(len(sink.messages()), 1)
        self.assertEqual(t.queue_ids(), [])

    def test_all_hosts_down_defers(self):
        t = self.tern(smarthost(harness.free_port()))
        qid = self.send(t, ["a@example.org"])
        t.cmd("queue", "run")
        self.assertEqual(t.queue_ids(), [qid])
        self.assertRegex(t.read_log(), r"%s == a@example.org R=smarthost T=remote_smtp defer: .*"
                         r"(refused|no host)" % qid)

    def test_data_rejected(self):
        sink = self.sink("--data-reply", "554 5.7.1 content rejected")
        t = self.tern(smarthost(sink.port))
        qid = self.send(t, ["a@example.org"], sender="")
        t.cmd("queue", "run")
        self.assertIn("%s ** a@example.org" % qid, t.read_log())
        self.assertIn("554 5.7.1 content rejected", t.read_log())

    def test_aliases_expand(self):
        sink = self.sink()
        t = self.tern("[aliases]\nroot = admin@example.net, ops\nops = ops-team@example.org\n\n"
                      + smarthost(sink.port))
        qid = self.send(t, ["root"])
        t.cmd("queue", "run")
        msgs = sink.messages()
        self.assertEqual(len(msgs), 1)
        self.assertEqual(sorted(msgs[0]["to"]), ["admin@example.net", "ops-team@example.org"])
        self.assertIn("=> admin@example.net <root@tern.test>", t.read_log())

    def test_queued_messages_share_one_connection(self):
        sink = self.sink()
        t = self.tern(smarthost(sink.port), "remote_max_parallel = 1\n")
        qids = [self.send(t, ["r%d@example.org" % i]) for i in range(3)]
        r = t.cmd("queue", "run")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sorted(m["to"][0] for m in sink.messages()),
                         ["r0@example.org", "r1@example.org", "r2@example.org"])
        cmds = [c.split()[0].upper() for c in sink.commands() if c.strip()]
        # one connection: one EHLO, then MAIL/RCPT/DATA three times with
        # RSET before each later transaction, one QUIT at the end
        self.assertEqual(cmds.count("EHLO"), 1, cmds)
        self.assertEqual(cmds.count("MAIL"), 3, cmds)
        self.assertEqual(cmds.count("RSET"), 2, cmds)
        self.assertEqual(cmds.count("QUIT"), 1, cmds)
        log = t.read_log()
        for qid in qids:
            self.assertIn("%s Completed" % qid, log)

    def test_alias_targets_are_not_delivered_twice(self):
        # one target delivered, one deferred: the retry sends only the second
        sink = self.sink("--rcpt-reply", "b@example.org=451 4.3.0 later", "--once")
        t = self.tern("[aliases]\nteam = a@example.org, b@example.org, nobody\n\n"
                      + smarthost(sink.port))
        qid = self.send(t, ["team"])
        t.cmd("queue", "run")
        mail = lambda: [m["to"] for m in sink.messages() if m["from"] == "alice@example.net"]
        self.assertEqual(mail(), [["a@example.org"]])
        self.assertEqual(t.queue_ids(), [qid])
        log = t.read_log()
        self.assertIn("** nobody@tern.test <team@tern.test>", log)
        bounces = log.count("<= <> R=%s" % qid)
        t.cmd("queue", "run")
        self.assertEqual(mail(), [["a@example.org"], ["b@example.org"]])
        self.assertEqual(t.queue_ids(), [], t.read_log())
        log = t.read_log()
        self.assertIn("%s Completed" % qid, log)
        # the unknown target failed and was reported once, not again
        self.assertEqual(log.count("** nobody@tern.test"), 1, log)
        self.assertEqual(log.count("<= <> R=%s" % qid), bounces, log)

    @unittest.skipUnless(enabled("CONFIG_BOUNCE"), "built without reports")
    def test_delay_warning_once_per_period(self):
        sink = self.sink("--rcpt-reply", "b@example.org=451 4.3.0 later")
        # the period outlasts a send and a queue run, even under valgrind
        period = max(2, int(2 * harness.SLOW))
        t = self.tern(smarthost(sink.port), "delay_warning = %ds\n" % period)
        qid = self.send(t, ["b@example.org"])
        t.cmd("queue", "run")
        reports = lambda: [m for m in sink.messages() if m["from"] in ("", "<>")]
        self.assertEqual(reports(), [])              # not yet a period old
        time.sleep(period + 0.2)
        t.cmd("queue", "run")
        self.assertEqual(len(reports()), 1, t.read_log())
        w = reports()[0]
        self.assertEqual(w["to"], ["alice@example.net"])
        self.assertIn("Action: delayed", w["data"])
        self.assertIn("Final-Recipient: rfc822; b@example.org", w["data"])
        self.assertRegex(w["data"], r"Subject: Warning: message %s delayed" % qid)
        self.assertIn("Will-Retry-Until:", w["data"])
        t.cmd("queue", "run")                        # same period: no second one
        self.assertEqual(len(reports()), 1)
        self.assertEqual(t.queue_ids(), [qid])       # still queued, not bounced

    def test_no_delay_warning_by_default(self):
        sink = self.sink("--rcpt-reply", "b@example.org=451 4.3.0 later")
        t = self.tern(smarthost(sink.port))
        self.send(t, ["b@example.org"])
        t.cmd("queue", "run")
        t.cmd("queue", "run")
        self.assertEqual([m for m in sink.messages() if m["from"] in ("", "<>")], [])

    def test_host_max_parallel_queues_and_reuses(self):
        sink = self.sink()
        t = self.tern(smarthost(sink.port, extra="host_max_parallel = 1\n"),
                      "remote_max_parallel = 3\n")
        for i in range(3):
            self.send(t, ["r%d@example.org" % i])
        t.cmd("queue", "run")
        self.assertEqual(len(sink.messages()), 3, t.read_log())
        cmds = [c.split()[0].upper() for c in sink.commands() if c.strip()]
        # three messages at once, one connection allowed: they take turns
        # on it instead of opening more
        self.assertEqual(cmds.count("EHLO"), 1, cmds)
        self.assertEqual(cmds.count("MAIL"), 3, cmds)

    def test_unknown_local_user_fails(self):
        sink = self.sink()
        t = self.tern(smarthost(sink.port))
        qid = self.send(t, ["nosuchuser"])
        t.cmd("queue", "run")
        self.assertIn("%s ** nosuchuser@tern.test" % qid, t.read_log())


@unittest.skipUnless(enabled("CONFIG_SMTP_SERVER"), "no SMTP listener in this build")
class DaemonDeliverTest(unittest.TestCase):
    def test_serve_delivers_new_mail_at_once(self):
        sink = Sink()
        self.addCleanup(sink.stop)
        t = Tern(smarthost(sink.port))
        self.addCleanup(t.cleanup)
        t.serve()
        with t.smtp() as s:
            s.ehlo()
            s.sendmail("alice@example.net", ["bob@example.org"], b"Subject: now\r\n\r\nx\r\n")
        wait_for(lambda: sink.messages(), what="delivery by the daemon")
        # and what sendmail queues directly is seen too (-odb with a daemon)
        r = t.sendmail("carol@example.org", input=b"Subject: via sendmail\n\ny\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        wait_for(lambda: len(sink.messages()) == 2, what="second delivery")
        wait_for(lambda: t.queue_ids() == [], what="empty queue")
        self.assertEqual(t.stop(), 0)

    def test_queue_only_waits_for_sigusr1(self):
        sink = Sink()
        self.addCleanup(sink.stop)
        t = Tern(smarthost(sink.port), "queue_only = true\n")
        self.addCleanup(t.cleanup)
        t.serve()
        with t.smtp() as s:
            s.ehlo()
            s.sendmail("alice@example.net", ["bob@example.org"], b"Subject: later\r\n\r\nx\r\n")
        time.sleep(0.5)
        self.assertEqual(sink.messages(), [])
        self.assertEqual(len(t.queue_ids()), 1)
        t.send_signal(signal.SIGUSR1)
        wait_for(lambda: sink.messages(), what="delivery after SIGUSR1")
        self.assertEqual(t.stop(), 0)


class SendmailOdbTest(unittest.TestCase):
    def test_odb_without_daemon_delivers_in_background(self):
        sink = Sink()
        self.addCleanup(sink.stop)
        t = Tern(smarthost(sink.port))
        self.addCleanup(t.cleanup)
        r = t.sendmail("bob@example.org", input=b"Subject: bg\n\nz\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        wait_for(lambda: sink.messages(), what="background delivery")
        wait_for(lambda: t.queue_ids() == [], what="empty queue")

    def test_odi_delivers_before_returning(self):
        sink = Sink()
        self.addCleanup(sink.stop)
        t = Tern(smarthost(sink.port))
        self.addCleanup(t.cleanup)
        r = t.sendmail("-odi", "bob@example.org", input=b"Subject: now\n\nz\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(sink.messages()), 1)
        self.assertEqual(t.queue_ids(), [])


class RouteTest(unittest.TestCase):
    def test_route_shows_aliases_router_and_hosts(self):
        t = Tern("[aliases]\nroot = admin@example.net, nobody\n\n"
                 "[router smarthost]\nhosts = 127.0.0.1:2525 [::1]\n")
        self.addCleanup(t.cleanup)
        r = t.cmd("route", "root")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)   # nobody@ fails
        out = r.stdout
        self.assertIn("root is root@tern.test", out)
        self.assertIn("admin@example.net\n  router: smarthost (manualroute)\n"
                      "  transport: remote_smtp, port 25\n  hosts, in order:\n"
                      "    127.0.0.1:2525\n      127.0.0.1\n    [::1]:25\n      ::1\n", out)
        self.assertIn("nobody@tern.test\n  fails: 550 5.1.1 <nobody@tern.test>: no such user here", out)
        r = t.cmd("route", "someone@example.org")
        self.assertEqual(r.returncode, 0, r.stderr)

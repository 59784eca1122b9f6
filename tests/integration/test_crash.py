"""test_crash.py - no acknowledged message is lost when tern serve dies.

Four clients (smtplib) send uniquely numbered messages to `tern serve`,
which relays them through a smarthost router to a real receiver (the
aiosmtpd sink). A killer thread SIGKILLs tern at random moments (0.2 to
1.5 s apart) and starts it again, CRASH_KILLS times (default 15; `make
crash-check` runs 50). After each restart the spool must be consistent:
`tern queue list` works and reads every message, and the temporary files
the killed daemon left are gone (recovery removed them). After the last kill tern flushes its queue;
then every number that got 250 after DATA must have reached the sink.

Outcomes of a client's attempt:
  acked    250 after the final dot: must be delivered (lost counts those
           that were not)
  refused  an SMTP reply other than 250, or no connection at all: tern
           did not take the message (delivering it anyway is a "phantom")
  unknown  the connection broke after the data started: tern may or may
           not have committed it. The client then retries, half the time
           with the same number (as a real MTA would), half the time with
           a new one. A copy explained by such a retry is counted apart
           ("retried after unknown outcome"); any other extra copy is a
           duplicate made by tern itself (killed between the receiver's
           250 and recording the delivery), which must stay under 1% of
           the acknowledged messages.
Prints: crash: kills=K acked=N delivered=M lost=0 duplicates=D (x.xx%) ...
with the random seed; CRASH_SEED=S repeats a run's kill times.
"""
import os
import random
import re
import signal
import smtplib
import threading
import time
import unittest

import harness
from harness import Sink, Tern, enabled, wait_for

CLIENTS = 4


@unittest.skipUnless(enabled("CONFIG_SMTP_SERVER"), "no SMTP listener in this build")
class CrashTest(unittest.TestCase):
    def setUp(self):
        self.kills = int(os.environ.get("CRASH_KILLS", "15"))
        self.sink = Sink()
        self.addCleanup(self.sink.stop)
        self.t = Tern("[router smarthost]\nhosts = 127.0.0.1:%d\n\n"
                      "[transport remote_smtp]\nconnect_timeout = 2s\n"
                      "command_timeout = 5s\n" % self.sink.port,
                      "retry_intervals = 1s\nqueue_run_interval = 2s\n")
        self.addCleanup(self.t.cleanup)
        self.lock = threading.Lock()
        self.next_number = 0
        self.acked = {}      # number -> attempts that got 250
        self.unknown = {}    # number -> attempts with an unknown outcome
        self.refused = 0
        self.stop_clients = threading.Event()
        self.errors = []
        self.restart_max = 0.0

    # ---------------------------------------------------------------- clients

    def new_number(self):
        with self.lock:
            self.next_number += 1
            return self.next_number

    def message(self, n):
        return ("Subject: crash %d\r\nMessage-ID: <crash-%d@client.test>\r\n"
                "From: a@example.net\r\nTo: b@example.org\r\n\r\n"
                "message number %d\r\n" % (n, n, n)).encode()

    def attempt(self, s, n):
        """One transaction on an open connection: 'acked', 'refused' or
        'unknown'; raises when the connection is unusable before DATA
        (the caller reconnects: nothing was committed)."""
        code, _ = s.mail("a@example.net")
        if code != 250:
            return "refused"
        code, _ = s.rcpt("b@example.org")
        if code != 250:
            s.rset()
            return "refused"
        try:
            code, _ = s.data(self.message(n))
        except smtplib.SMTPDataError:
            return "refused"     # tern answered: not taken
        except (OSError, smtplib.SMTPException):
            return "unknown"
        return "acked" if code == 250 else "refused"

    def client(self, seed):
        rnd = random.Random(seed)
        n = self.new_number()
        s = None
        while not self.stop_clients.is_set():
            try:
                if s is None:
                    s = smtplib.SMTP("127.0.0.1", self.t.port, local_hostname="client.test",
                                     timeout=10)
                    s.ehlo()
                outcome = self.attempt(s, n)
            except (OSError, smtplib.SMTPException):
                outcome = "broken"   # before DATA: nothing committed
            if outcome == "acked":
                with self.lock:
                    self.acked[n] = self.acked.get(n, 0) + 1
                n = self.new_number()
                continue
            if outcome == "unknown":
                with self.lock:
                    self.unknown[n] = self.unknown.get(n, 0) + 1
                if rnd.random() < 0.5:
                    n = self.new_number()
            else:
                with self.lock:
                    self.refused += 1
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass
                s = None
            time.sleep(0.02)
        if s is not None:
            try:
                s.quit()
            except (OSError, smtplib.SMTPException):
                pass

    # ---------------------------------------------------------------- killer

    def tmp_files(self):
        try:
            return set(os.listdir(os.path.join(self.t.spool, "tmp")))
        except FileNotFoundError:
            return set()

    def kill(self):
        p = self.t.proc
        p.kill()
        p.wait()
        p.stdout.close()
        err = p.stderr.read()
        p.stderr.close()
        harness.check_sanitizer(err, "tern serve (killed)")
        self.t.proc = None

    def check_spool(self, left):
        """After a restart: the dead daemon's tmp files are gone and the
        queue lists."""
        still = left & self.tmp_files()
        self.assertEqual(still, set(), "tmp files not recovered after a restart")
        r = self.t.cmd("queue", "list")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertNotIn("unreadable", r.stdout)     # every message parses
        for qid in self.t.queue_ids():
            self.assertRegex(qid, r"^[0-9A-Za-z]{6}-[0-9A-Za-z]{6}-[0-9A-Za-z]{4}$")

    def restart(self):
        t0 = time.monotonic()
        self.t.serve()
        self.restart_max = max(self.restart_max, time.monotonic() - t0)

    def killer(self, rnd):
        try:
            for _ in range(self.kills):
                time.sleep(rnd.uniform(0.2, 1.5))
                self.kill()
                left = self.tmp_files()
                self.restart()
                self.check_spool(left)
        except BaseException as e:   # reported by the main thread
            e.args = e.args + ("log tail:\n" + self.t.read_log()[-3000:],)
            self.errors.append(e)

    # ---------------------------------------------------------------- test

    def delivered(self):
        counts = {}
        for m in self.sink.messages():
            mo = re.search(r"Subject: crash (\d+)", m["data"])
            if mo:
                n = int(mo.group(1))
                counts[n] = counts.get(n, 0) + 1
        return counts

    def test_sigkill_loses_no_acknowledged_message(self):
        seed = int(os.environ.get("CRASH_SEED", str(int(time.time()))))
        rnd = random.Random(seed)
        self.t.serve()
        clients = [threading.Thread(target=self.client, args=(seed + i,), daemon=True)
                   for i in range(CLIENTS)]
        for c in clients:
            c.start()
        k = threading.Thread(target=self.killer, args=(rnd,), daemon=True)
        k.start()
        k.join(self.kills * 20 + 60)
        self.assertFalse(k.is_alive(), "the killer thread hangs")
        self.stop_clients.set()
        for c in clients:
            c.join(30)
            self.assertFalse(c.is_alive(), "a client hangs")
        if self.errors:
            raise self.errors[0]
        # the daemon the last kill started: flush the queue
        self.t.send_signal(signal.SIGUSR1)
        wait_for(lambda: not self.t.queue_ids(), timeout=120, what="an empty queue")
        last = [-1, time.monotonic()]

        def stable():
            n = len(os.listdir(self.sink.dir))
            if n != last[0]:
                last[0], last[1] = n, time.monotonic()
            return time.monotonic() - last[1] > 1.5
        wait_for(stable, timeout=60, what="the sink to settle")
        self.assertEqual(self.t.stop(), 0)

        got = self.delivered()
        acked = set(self.acked)
        lost = sorted(acked - set(got))
        tern_dups = retried = phantom = 0
        for n, d in got.items():
            may = self.acked.get(n, 0) + self.unknown.get(n, 0)
            if may == 0:
                phantom += 1
                continue
            retried += max(0, min(d, may) - 1)
            tern_dups += max(0, d - may)
        pct = 100.0 * tern_dups / len(acked) if acked else 0.0
        print("\ncrash: kills=%d acked=%d delivered=%d lost=%d duplicates=%d (%.2f%%) "
              "retried_after_unknown=%d unknown_outcomes=%d refused=%d phantom=%d seed=%d slowest_restart=%.2fs"
              % (self.kills, len(acked), sum(got.values()), len(lost), tern_dups, pct,
                 retried, sum(self.unknown.values()), self.refused, phantom, seed, self.restart_max))
        self.assertGreater(len(acked), self.kills, "too few messages were acknowledged")
        self.assertEqual(lost, [], "acknowledged but never delivered")
        self.assertEqual(phantom, 0, "delivered although refused")
        self.assertLess(pct, 1.0, "too many duplicates")
        log = self.t.read_log()
        self.assertEqual(log.count("daemon started"), self.kills + 1)


if __name__ == "__main__":
    unittest.main()

#!/usr/bin/python3
"""valgrind-summary.py - sum up the valgrind logs of `make valgrind-check`.

    valgrind-summary.py DIR

DIR holds one log per process (valgrind --log-file=DIR/%p.log, without -q:
each log names its command and ends with an ERROR SUMMARY line). A process
fails the check when its ERROR SUMMARY counts an error (memory errors and,
with --errors-for-leak-kinds=definite, definite leaks) or when valgrind
says it died of a signal it does not normally die of. A process that left
no ERROR SUMMARY either was a child forked by a checked tern that then ran
another program (an event action: not tern, not checked), or was killed
outright (SIGKILL: a test's deliberate crash, or a timeout): both are
counted, not failed. Exit 0 when nothing failed.
"""
import os
import re
import sys

SUMMARY = re.compile(r"ERROR SUMMARY: (\d+) errors? from (\d+) contexts?")
COMMAND = re.compile(r"^==\d+== Command: (.*)$", re.M)
PARENT = re.compile(r"^==\d+== Parent PID: (\d+)$", re.M)
DEFINITE = re.compile(r"are definitely lost in loss record")
SIGNAL = re.compile(r"Process terminating with default action of signal (\d+) \((\w+)\)")
# what a test sends on purpose: a SIGTERM/SIGINT tern does not catch at that
# instant, SIGKILL never shows up, SIGABRT only from a crash
EXPECTED_SIGNALS = {"SIGTERM", "SIGINT", "SIGHUP", "SIGPIPE", "SIGUSR1"}


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: valgrind-summary.py DIR")
    d = sys.argv[1]
    logs = sorted(n for n in os.listdir(d) if n.endswith(".log")) if os.path.isdir(d) else []
    checked = killed = execd = errors = leaks = 0
    bad = []
    for n in logs:
        with open(os.path.join(d, n), errors="replace") as f:
            text = f.read()
        m = COMMAND.search(text)
        cmd = m.group(1) if m else "?"
        s = SUMMARY.findall(text)
        sig = SIGNAL.search(text)
        if not s:
            pp = PARENT.search(text)
            if pp and "%s.log" % pp.group(1) in logs:
                execd += 1
            else:
                killed += 1
            continue
        checked += 1
        nerr = int(s[-1][0])
        nleak = len(DEFINITE.findall(text))
        errors += nerr - min(nerr, nleak)
        leaks += nleak
        why = []
        if nerr:
            why.append("%d error(s), %d definite leak(s)" % (nerr, nleak))
        if sig and sig.group(2) not in EXPECTED_SIGNALS:
            why.append("died of %s" % sig.group(2))
        if why:
            bad.append((n, cmd, "; ".join(why)))
    for n, cmd, why in bad:
        print("valgrind: %s/%s: %s: %s" % (d, n, cmd, why))
    print("valgrind: %d tern processes checked (not counted: %d forks that ran "
          "another program, %d killed before exit), %d errors, %d definite leaks, "
          "%d processes failed" % (checked, execd, killed, errors, leaks, len(bad)))
    if checked == 0:
        print("valgrind: no process was checked: was the runner used?")
        return 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""run.py - run tern's integration tests (tests/integration/test_*.py).

Each test drives the real tern binary through its real interfaces (the
command line, the config file, SMTP on loopback) against real peers.
Usage: run.py --tern BUILD/tern --build BUILD [--runner "qemu-..."] [-k NAME]
Ends with the line "integration: N passed, M failed".
"""
import argparse
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402


class Result(unittest.TextTestResult):
    def startTest(self, test):
        self._t0 = time.monotonic()
        super().startTest(test)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tern", required=True)
    ap.add_argument("--build", required=True)
    ap.add_argument("--runner", default="")
    ap.add_argument("-k", dest="pattern", action="append", default=[])
    args = ap.parse_args()
    harness.setup(args.tern, args.build, args.runner)

    loader = unittest.TestLoader()
    if args.pattern:
        loader.testNamePatterns = ["*%s*" % p for p in args.pattern]
    suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2,
                                     resultclass=Result)
    res = runner.run(suite)
    bad = set(t.id() for t, _ in res.failures + res.errors)
    bad.update(t.id() for t in res.unexpectedSuccesses)
    failed = len(bad)
    passed = res.testsRun - failed - len(res.skipped)
    if res.skipped:
        # A skipped test is not a pass: say which and why.
        for t, why in res.skipped:
            print("integration: skipped %s: %s" % (t.id(), why))
    print("integration: %d passed, %d failed" % (passed, failed))
    sys.exit(0 if failed == 0 and res.testsRun > 0 else 1)


if __name__ == "__main__":
    main()

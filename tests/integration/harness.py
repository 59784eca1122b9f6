"""harness.py - helpers shared by the integration tests.

A Tern object is one tern installation in a private temporary directory:
its config file, spool and log. It runs tern commands and starts and stops
`tern serve`. Nothing here fakes tern: tests see what a user would see.
"""
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time

TERN = None
BUILD = None
RUNNER = []
CONFIG = {}
# TERN_TEST_SLOW=N multiplies the harness's waits and command timeouts:
# for a tern run under a slow RUNNER (valgrind, qemu-user), so that a test
# fails on what tern does, not on how fast it does it
try:
    SLOW = max(1.0, float(os.environ.get("TERN_TEST_SLOW") or 1))
except ValueError:
    SLOW = 1.0


def setup(tern, build, runner=""):
    """Record where the binary is and read the build's .config."""
    global TERN, BUILD, RUNNER
    TERN, BUILD = os.path.abspath(tern), os.path.abspath(build)
    RUNNER = shlex.split(runner)
    CONFIG.clear()
    cfg = os.environ.get("KCONFIG_CONFIG") or os.path.join(build, ".config")
    with open(cfg) as f:
        for line in f:
            m = re.match(r"^(CONFIG_\w+)=(.*)$", line.strip())
            if m:
                CONFIG[m.group(1)] = m.group(2).strip('"')


def enabled(sym):
    return CONFIG.get(sym) == "y"


def runner_fixes_fd_limits():
    """True when RUNNER is valgrind: it keeps file descriptors of its own
    under the client's limit and fixes that limit at start-up (setrlimit
    cannot raise it), so tests of tern's open files limit cannot run."""
    return any(os.path.basename(a).startswith("valgrind") for a in RUNNER)


_ASAN = []


def runner_replaces_allocator():
    """True when RUNNER is valgrind or tern is built with AddressSanitizer:
    their malloc keeps freed blocks (the quarantine) and shadow memory, so
    a tern's RSS says nothing about tern's own memory use."""
    if not _ASAN:
        with open(TERN, "rb") as f:
            _ASAN.append(b"__asan_init" in f.read())
    return runner_fixes_fd_limits() or _ASAN[0]


SANITIZER_MARKS = ("Sanitizer", "runtime error:")


def check_sanitizer(text, what):
    """A sanitizer report anywhere in a tern's stderr fails the test."""
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    for mark in SANITIZER_MARKS:
        if text and mark in text:
            raise AssertionError("%s: sanitizer report:\n%s" % (what, text[-3000:]))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(pred, timeout=10.0, what="condition"):
    end = time.monotonic() + timeout * SLOW
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.02)
    raise AssertionError("timed out waiting for %s" % what)


class Sink:
    """A real SMTP server (aiosmtpd) on loopback that stores what it gets.

    ARGS are sink.py options; the keywords are shorthands for the TLS and
    AUTH ones: tls_cert (a path, or a certs.Cert: its .pem_path/.key_path),
    tls_key, no_starttls, implicit_tls, require_tls, auth ("user:pass"),
    require_auth. Every command line the sink receives is logged:
    commands() returns them ("EHLO x", "tls MAIL FROM:<a@b>", ...)."""

    def __init__(self, *args, tls_cert=None, tls_key=None, no_starttls=False,
                 implicit_tls=False, require_tls=False, auth=None,
                 require_auth=False, host="127.0.0.1", port=None):
        self.dir = tempfile.mkdtemp(prefix="tern-sink-")
        self.port = port or free_port()
        self.host = host
        self.log_path = os.path.join(self.dir, "commands.log")
        args = ["--log", self.log_path, "--host", host] + list(args)  # a caller's --log wins
        if tls_cert is not None:
            if hasattr(tls_cert, "pem_path"):
                tls_key = tls_key or tls_cert.key_path
                tls_cert = tls_cert.pem_path
            args += ["--tls-cert", tls_cert]
        if tls_key is not None:
            args += ["--tls-key", tls_key]
        for flag, on in (("--no-starttls", no_starttls), ("--implicit-tls", implicit_tls),
                         ("--require-tls", require_tls), ("--require-auth", require_auth)):
            if on:
                args.append(flag)
        if auth is not None:
            args += ["--auth", auth]
        here = os.path.dirname(os.path.abspath(__file__))
        self.proc = subprocess.Popen(["/usr/bin/python3", os.path.join(here, "sink.py"),
                                      "--port", str(self.port), "--dir", self.dir] + args,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if "ready" not in line:
            raise AssertionError("sink did not start: %s %s" % (line, self.proc.stderr.read()))

    def messages(self):
        import json
        out = []
        for n in sorted(os.listdir(self.dir)):
            if n.endswith(".json"):
                with open(os.path.join(self.dir, n)) as f:
                    out.append(json.load(f))
        return out

    def commands(self):
        """The lines the sink received outside DATA, oldest first; those
        received under TLS start with "tls "."""
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Tern:
    """A private tern: directory, config, log; run commands, serve."""

    def __init__(self, config="", main_extra=""):
        self.dir = tempfile.mkdtemp(prefix="tern-it-")
        self.spool = os.path.join(self.dir, "spool")
        self.log = os.path.join(self.dir, "main.log")
        self.conf = os.path.join(self.dir, "tern.conf")
        self.port = free_port()
        self.proc = None
        self.write_config(config, main_extra)

    def default_main(self, main_extra=""):
        # the tests run as root, in private temporary directories: serve
        # stays root (test_privs.py covers the drop to an account)
        lines = ["primary_hostname = tern.test", "user = root",
                 "spool_directory = %s" % self.spool,
                 "log_file = %s" % self.log]
        if enabled("CONFIG_DNS") and "dns_servers" not in main_extra:
            # never the machine's resolver: tests that need DNS bring the
            # signed zone (dnszone.py); port 9 answers nothing
            lines.append("dns_servers = 127.0.0.1:9")
        if enabled("CONFIG_SMTP_SERVER"):
            lines.append("listen = 127.0.0.1:%d" % self.port)
            lines.append("local_socket = %s" % os.path.join(self.dir, "tern.sock"))
        return "\n".join(lines) + "\n"

    def write_config(self, config="", main_extra=""):
        """config replaces everything after [main]'s defaults."""
        text = "[main]\n" + self.default_main(main_extra) + main_extra + "\n" + config
        if not enabled("CONFIG_ROUTER_DNSLOOKUP") and "[router" not in text:
            text += "\n[router smarthost]\nhosts = 127.0.0.1:%d\n" % free_port()
        with open(self.conf, "w") as f:
            f.write(text)

    def cmd(self, *args, input=None, timeout=30, env=None):
        """Run `tern -C conf ARGS`; returns CompletedProcess (text)."""
        argv = RUNNER + [TERN, "-C", self.conf] + list(args)
        r = subprocess.run(argv, input=input, capture_output=True,
                           text=True, timeout=timeout * SLOW, env=env)
        check_sanitizer(r.stderr, "tern " + " ".join(args))
        return r

    def serve(self, wait_log="daemon started", preexec_fn=None):
        """Start `tern serve`; preexec_fn runs in the child before exec
        (to set resource limits, say)."""
        argv = RUNNER + [TERN, "-C", self.conf, "serve"]
        # a restart finds the old line in the log: wait for a new one
        # (counted before the start: a fast daemon logs it at once)
        seen = self.read_log().count(wait_log) if wait_log else 0
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True,
                                     preexec_fn=preexec_fn)
        if wait_log:
            wait_for(lambda: self.proc.poll() is not None or
                     self.read_log().count(wait_log) > seen,
                     what="'%s' in the log" % wait_log)
            if self.proc.poll() is not None:
                out, err = self.proc.communicate()
                raise AssertionError("tern serve exited %d: %s%s" %
                                     (self.proc.returncode, out, err))
        return self.proc

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Stop serve; returns its exit code."""
        if not self.proc:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout * SLOW)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("tern serve did not stop on %s" % sig)
        err = self.proc.stderr.read()
        self.proc.stdout.close()
        self.proc.stderr.close()
        rc = self.proc.returncode
        self.proc = None
        check_sanitizer(err, "tern serve")
        return rc

    def sendmail(self, *args, input=None, name="sendmail", timeout=30):
        """Run tern under the name sendmail (or mailq), as scripts do."""
        link = os.path.join(self.dir, name)
        if not os.path.exists(link):
            os.symlink(TERN, link)
        argv = RUNNER + [link, "-C", self.conf] + list(args)
        r = subprocess.run(argv, input=input, capture_output=True,
                           timeout=timeout * SLOW)
        check_sanitizer(r.stderr, name + " " + " ".join(args))
        return r

    def smtp(self, source="127.0.0.1", timeout=10):
        """An smtplib client connected to serve's listener."""
        import smtplib
        return smtplib.SMTP("127.0.0.1", self.port, local_hostname="client.test",
                            source_address=(source, 0), timeout=timeout * SLOW)

    def raw(self, source="127.0.0.1", timeout=10):
        """A plain socket to the listener, banner already read."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout * SLOW,
                                     source_address=(source, 0))
        f = s.makefile("rb")
        banner = f.readline()
        assert banner.startswith(b"220 "), banner
        return s, f

    def queue_ids(self):
        q = os.path.join(self.spool, "queue")
        try:
            return sorted(n for n in os.listdir(q) if not n.endswith(".st"))
        except FileNotFoundError:
            return []

    def queue_file(self, qid):
        with open(os.path.join(self.spool, "queue", qid), "rb") as f:
            return f.read()

    def read_log(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def cleanup(self):
        """Stop a daemon still running (SIGTERM, so that leak checks run)
        and remove the directory; a sanitizer report fails the test."""
        try:
            if self.proc and self.proc.poll() is None:
                self.stop()
            elif self.proc:
                err = self.proc.stderr.read()
                self.proc.stdout.close()
                self.proc.stderr.close()
                self.proc = None
                check_sanitizer(err, "tern serve")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

"""dnszone.py - a real, DNSSEC-signed DNS tree for tern's DNS and DANE tests.

At test time, in a private temporary directory, DnsZones generates ECDSA
P-256 keys (algorithm 13, one CSK per zone) with ldns-keygen, signs zones
with ldns-signzone, serves them with NSD (authoritative) and puts Unbound
(validating recursive resolver, trust anchor = the DS of `test.`) in front.
Both run as the current user on 127.0.0.1, on free high ports; nothing
needs port 53 or the network. Point tern at the resolver:

    with DnsZones(tlsa={"_25._tcp.mx.secure.test": ["3 1 1 " + digest]}) as dns:
        conf = "dns_servers = %s\n" % dns.resolver       # "127.0.0.1:PORT"
        ...
        dns.set_tlsa("_25._tcp.mx.secure.test", ["3 1 1 " + other])
        dns.reload()           # re-sign, restart NSD and Unbound (cache gone)

Zones (TTL 60; "@" is the zone's apex; addresses are all loopback):

  test.            signed; its DS is the trust anchor. ns.test. A 127.0.0.1;
                   NS (ns.test.) for each child; DS for secure, bogus (a DS of
                   a key that does not sign the zone) and expired; none for
                   insecure.
  secure.test.     signed, chain of trust from test.  -> answers have AD
      @            MX 10 mx.secure.test. / MX 20 mx2.secure.test.
      mx, mx2      A 127.0.0.1, AAAA ::1           (no TLSA unless set_tlsa)
      cname        MX 10 alias.secure.test.
      alias        CNAME real.secure.test.
      real         A 127.0.0.1
      nullmx       MX 0 .                          (RFC 7505 null MX)
      big          MX 10 big.secure.test., A 127.0.0.1, AAAA ::1
      _25._tcp.big TLSA x40 "3 0 2 <64-byte hex>" (~3.3 KB with RRSIG: TC
                   over UDP with a 1232-byte buffer, full over TCP)
      mixed        MX 10 mx.insecure.test.         (secure MX, insecure host)
      tobogus      MX 10 mx.bogus.test.            (secure MX, bogus host)
  insecure.test.   NOT signed, no DS in test. (provably insecure) -> no AD
      @ MX 10 mx.insecure.test.; mx A 127.0.0.1, AAAA ::1;
      _25._tcp.mx TLSA 3 1 1 <DUMMY_SHA256>
  bogus.test.      signed, but test. holds the DS of another key -> SERVFAIL
      (same records as insecure.test.)
  expired.test.    signed with signatures that expired a week ago (DS is
      right) -> SERVFAIL (same records as insecure.test.)

API
  DnsZones(records=None, tlsa=None, keep=False)
      records: {zone: [zone-file lines]} as add_records; tlsa: {name: [rdata]}
      as set_tlsa; both applied before the first signing (no reload needed).
      keep=True (or TERN_KEEP_DNS=1 in the environment) leaves tmpdir behind.
  start() / stop(); also a context manager. start() returns self once NSD
      serves every zone and Unbound validates test. SOA; on failure it raises
      RuntimeError with both daemons' logs.
  resolver_port, nsd_port, resolver ("127.0.0.1:PORT", for dns_servers),
      nsd ("127.0.0.1:PORT"), tmpdir, trust_anchor (the DS line of test.)
  set_tlsa(name, [rdata, ...])   replace the TLSA RRset at name (absolute
      or relative to the root; "[]" removes it). rdata is the presentation
      form "USAGE SELECTOR MTYPE HEX", e.g. "3 1 1 9f86d0..." (hex may
      contain spaces). Takes effect at start() or the next reload().
  set_rrset(name, type, [rdata, ...])  same, for any type ("A", "MX", ...).
  set_sig(name, type, fault)  give the RRSIG of one RRset of a signed zone a
      fault, the rest of the zone staying good: "expired" (inception 60 and
      expiration 7 days ago), "future" (not valid before 7 days from now),
      "broken" (a byte of the signature flipped) -> Unbound answers SERVFAIL
      for that RRset only; None removes the fault. Takes effect at start()
      or the next reload().
  add_records(zone, [line, ...])  append zone-file lines to zone (its
      $ORIGIN is the zone, so relative owners work; TTL/class optional).
  add_zone(name, kind="secure"|"insecure"|"bogus"|"expired", records=None)
      a new zone below an existing one (delegation and DS made for you).
  reload()   re-sign every zone (new SOA serial), restart NSD and Unbound
      on the same ports (so Unbound's cache is empty); ~0.1-0.3 s.
  query(name, type, tcp=False, server="resolver"|"nsd", **kw) -> parsed
      reply (see dnsevil.parse_message), asked with DO set.
  logs() -> text of both daemons' logs (Unbound logs validation failures at
      val-log-level 2: "validation failure <name type>: reason").
"""
import atexit
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import dnsevil

DUMMY_SHA256 = hashlib.sha256(b"tern dnszone dummy").hexdigest()
BIG_TLSA = ["3 0 2 " + hashlib.sha512(b"tern big tlsa %d" % i).hexdigest()
            for i in range(40)]
KINDS = ("anchor", "secure", "insecure", "bogus", "expired")
SIG_FAULTS = ("expired", "future", "broken")
TTL = 60

NSD = shutil.which("nsd", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin") or "/usr/sbin/nsd"
UNBOUND = shutil.which("unbound", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin") or "/usr/sbin/unbound"
KEYGEN = shutil.which("ldns-keygen") or "/usr/bin/ldns-keygen"
SIGNZONE = shutil.which("ldns-signzone") or "/usr/bin/ldns-signzone"
CHECKZONE = shutil.which("nsd-checkzone", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin") \
    or "/usr/sbin/nsd-checkzone"


def missing_tools():
    """Names of the programs DnsZones needs and cannot find (for skipTest)."""
    return [p for p in (NSD, UNBOUND, KEYGEN, SIGNZONE, CHECKZONE) if not os.access(p, os.X_OK)]


def fqdn(name):
    name = name.strip().lower()
    return name if name.endswith(".") else name + "."


def free_port_pair(host="127.0.0.1"):
    """A port free for both UDP and TCP on host."""
    for _ in range(50):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            u.bind((host, 0))
            port = u.getsockname()[1]
            t.bind((host, port))
            return port
        except OSError:
            continue
        finally:
            u.close()
            t.close()
    raise RuntimeError("no free UDP+TCP port on %s" % host)


def _utc(ts):
    return time.strftime("%Y%m%d%H%M%S", time.gmtime(ts))


class _Zone:
    def __init__(self, origin, kind):
        if kind not in KINDS:
            raise ValueError("zone kind %r not in %s" % (kind, KINDS))
        self.origin = origin
        self.kind = kind
        self.rrsets = {}        # (owner, TYPE) -> [rdata], in insertion order
        self.extra = []         # raw zone-file lines
        self.key = None         # basename of the CSK (signed kinds)
        self.ds = None          # DS RR text of that key
        self.decoy_ds = None    # bogus: the DS of a key that signs nothing

    @property
    def signed(self):
        return self.kind != "insecure"


class DnsZones:
    def __init__(self, records=None, tlsa=None, keep=False):
        self.keep = keep or os.environ.get("TERN_KEEP_DNS") == "1"
        self.tmpdir = None
        self.nsd_port = None
        self.resolver_port = None
        self.trust_anchor = None
        self.serial = int(time.time()) % 2000000000
        self.zones = {}
        self.sig_faults = {}        # (owner, TYPE) -> one of SIG_FAULTS
        self._nsd = self._unbound = None
        self._started = False
        self._zone("test.", "anchor")
        self.add_zone("secure.test.", "secure")
        self.add_zone("insecure.test.", "insecure")
        self.add_zone("bogus.test.", "bogus")
        self.add_zone("expired.test.", "expired")
        self._default_records()
        for zone, lines in (records or {}).items():
            self.add_records(zone, lines)
        for name, rdatas in (tlsa or {}).items():
            self.set_tlsa(name, rdatas)

    # ------------------------------------------------------------ contents
    def _zone(self, origin, kind):
        origin = fqdn(origin)
        z = _Zone(origin, kind)
        self.zones[origin] = z
        return z

    def zone_of(self, name):
        """The zone (origin) that holds name: the longest matching suffix."""
        name = fqdn(name)
        best = None
        for origin in self.zones:
            if name == origin or name.endswith("." + origin):
                if best is None or len(origin) > len(best):
                    best = origin
        if best is None:
            raise ValueError("%s is in none of the zones %s" % (name, sorted(self.zones)))
        return best

    def add_zone(self, name, kind="secure", records=None):
        """A zone below an existing one: NS (and, unless insecure, DS) go
        into its parent. Takes effect at start() or the next reload()."""
        name = fqdn(name)
        if name in self.zones:
            raise ValueError("zone %s exists" % name)
        self.zone_of(name)          # must be below test.
        z = self._zone(name, kind)
        z.rrsets[(name, "MX")] = ["10 mx.%s" % name]
        z.rrsets[("mx." + name, "A")] = ["127.0.0.1"]
        z.rrsets[("mx." + name, "AAAA")] = ["::1"]
        if records:
            self.add_records(name, records)
        return z

    def _default_records(self):
        s = self.zones["secure.test."]
        s.rrsets.clear()
        sets = [
            ("secure.test.", "MX", ["10 mx.secure.test.", "20 mx2.secure.test."]),
            ("mx.secure.test.", "A", ["127.0.0.1"]),
            ("mx.secure.test.", "AAAA", ["::1"]),
            ("mx2.secure.test.", "A", ["127.0.0.1"]),
            ("mx2.secure.test.", "AAAA", ["::1"]),
            ("cname.secure.test.", "MX", ["10 alias.secure.test."]),
            ("alias.secure.test.", "CNAME", ["real.secure.test."]),
            ("real.secure.test.", "A", ["127.0.0.1"]),
            ("nullmx.secure.test.", "MX", ["0 ."]),
            ("big.secure.test.", "MX", ["10 big.secure.test."]),
            ("big.secure.test.", "A", ["127.0.0.1"]),
            ("big.secure.test.", "AAAA", ["::1"]),
            ("_25._tcp.big.secure.test.", "TLSA", list(BIG_TLSA)),
            ("mixed.secure.test.", "MX", ["10 mx.insecure.test."]),
            ("tobogus.secure.test.", "MX", ["10 mx.bogus.test."]),
        ]
        for owner, t, rd in sets:
            s.rrsets[(owner, t)] = rd
        for origin in ("insecure.test.", "bogus.test.", "expired.test."):
            self.zones[origin].rrsets[("_25._tcp.mx." + origin, "TLSA")] = \
                ["3 1 1 " + DUMMY_SHA256]

    def set_rrset(self, name, rtype, rdatas):
        name = fqdn(name)
        z = self.zones[self.zone_of(name)]
        rtype = rtype.upper()
        if rdatas:
            z.rrsets[(name, rtype)] = [str(r) for r in rdatas]
        else:
            z.rrsets.pop((name, rtype), None)

    def set_tlsa(self, name, rdatas):
        """Replace the TLSA RRset at name; rdata "U S M HEX" strings."""
        clean = []
        for r in rdatas:
            parts = str(r).split()
            if len(parts) < 4 or not all(p.isdigit() for p in parts[:3]):
                raise ValueError("TLSA rdata %r is not 'USAGE SELECTOR MTYPE HEX'" % r)
            hexdata = "".join(parts[3:])
            bytes.fromhex(hexdata)              # ValueError if not hex
            clean.append("%s %s %s %s" % (parts[0], parts[1], parts[2], hexdata))
        self.set_rrset(name, "TLSA", clean)

    def set_sig(self, name, rtype, fault):
        """The RRSIG over (name, rtype) gets fault (SIG_FAULTS; None: none)."""
        name = fqdn(name)
        if not self.zones[self.zone_of(name)].signed:
            raise ValueError("%s is in an unsigned zone" % name)
        if fault is None:
            self.sig_faults.pop((name, rtype.upper()), None)
        elif fault not in SIG_FAULTS:
            raise ValueError("signature fault %r not in %s" % (fault, SIG_FAULTS))
        else:
            self.sig_faults[(name, rtype.upper())] = fault

    def add_records(self, zone, lines):
        zone = fqdn(zone)
        if zone not in self.zones:
            raise ValueError("no zone %s (zones: %s)" % (zone, sorted(self.zones)))
        if isinstance(lines, str):
            lines = lines.splitlines()
        self.zones[zone].extra.extend(l for l in lines if l.strip())

    # ------------------------------------------------------------ files
    def _path(self, *p):
        return os.path.join(self.tmpdir, *p)

    def _run(self, argv, cwd):
        r = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise RuntimeError("dnszone: %s failed (%d): %s%s" %
                               (" ".join(argv), r.returncode, r.stdout, r.stderr))
        return r.stdout

    def _keygen(self, origin):
        base = self._run([KEYGEN, "-a", "ECDSAP256SHA256", "-k", "-r", "/dev/urandom",
                          origin], cwd=self._path("keys")).strip()
        with open(self._path("keys", base + ".ds")) as f:
            ds = f.read().strip()
        return base, ds

    def _make_keys(self):
        for z in self.zones.values():
            if z.signed and z.key is None:
                z.key, z.ds = self._keygen(z.origin)
            if z.kind == "bogus" and z.decoy_ds is None:
                _, z.decoy_ds = self._keygen(z.origin)
        self.trust_anchor = self.zones["test."].ds
        with open(self._path("test.anchor"), "w") as f:
            f.write(self.trust_anchor + "\n")

    def _children(self, origin):
        return [z for z in self.zones.values()
                if z.origin != origin and self.zone_of_parent(z.origin) == origin]

    def zone_of_parent(self, origin):
        return self.zone_of(origin.split(".", 1)[1]) if origin != "test." else None

    def _zone_text(self, z):
        out = ["$ORIGIN %s" % z.origin, "$TTL %d" % TTL,
               "@ IN SOA ns.test. hostmaster.test. %d 3600 600 86400 %d" % (self.serial, TTL),
               "@ IN NS ns.test."]
        if z.origin == "test.":
            out.append("ns.test. IN A 127.0.0.1")
        for c in self._children(z.origin):
            out.append("%s IN NS ns.test." % c.origin)
            if c.kind == "bogus":
                out.append(c.decoy_ds)
            elif c.signed:
                out.append(c.ds)
        for (owner, t), rdatas in z.rrsets.items():
            for rd in rdatas:
                out.append("%s IN %s %s" % (owner, t, rd))
        out.extend(z.extra)
        return "\n".join(out) + "\n"

    def _sign_all(self):
        self.serial += 1
        now = int(time.time())
        zdir = self._path("zones")
        for z in self.zones.values():
            fname = z.origin.rstrip(".") + ".zone"
            with open(os.path.join(zdir, fname), "w") as f:
                f.write(self._zone_text(z))
            if not z.signed:
                # signing checks the syntax of the others; check this one
                self._run([CHECKZONE, z.origin, fname], cwd=zdir)
                shutil.copyfile(os.path.join(zdir, fname), os.path.join(zdir, fname + ".signed"))
                continue
            if z.kind == "expired":
                # a week ago: beyond Unbound's clock skew allowance
                # (val-sig-skew-max, one day)
                inc, exp = now - 60 * 86400, now - 7 * 86400
            else:
                inc, exp = now - 3600, now + 30 * 86400
            self._run([SIGNZONE, "-i", _utc(inc), "-e", _utc(exp), "-o", z.origin,
                       "-f", fname + ".signed", fname,
                       os.path.join(self._path("keys"), z.key)], cwd=zdir)
            faults = {k: v for k, v in self.sig_faults.items()
                      if self.zone_of(k[0]) == z.origin}
            if faults:
                self._fault_sigs(z, fname, faults, now)

    @staticmethod
    def _rrsig_key(line):
        """(owner, covered type) of an ldns-signzone RRSIG line, else None."""
        f = line.split()
        if len(f) > 5 and f[3] == "RRSIG":
            return (f[0].lower(), f[4].upper())
        return None

    def _fault_sigs(self, z, fname, faults, now):
        """Swap the RRSIGs of the faulted RRsets of zone z for ones signed
        with another validity window (the same key over the same data), or
        flip a byte of their signature."""
        import base64
        zdir = self._path("zones")
        alt = {}
        windows = {"expired": (now - 60 * 86400, now - 7 * 86400),
                   "future": (now + 7 * 86400, now + 37 * 86400)}
        for fault in set(faults.values()) & set(windows):
            inc, exp = windows[fault]
            out = "%s.%s.signed" % (fname, fault)
            self._run([SIGNZONE, "-i", _utc(inc), "-e", _utc(exp), "-o", z.origin,
                       "-f", out, fname,
                       os.path.join(self._path("keys"), z.key)], cwd=zdir)
            with open(os.path.join(zdir, out)) as f:
                for line in f:
                    k = self._rrsig_key(line)
                    if k in faults and faults[k] == fault:
                        alt[k] = line
        path = os.path.join(zdir, fname + ".signed")
        with open(path) as f:
            lines = f.readlines()
        done = set()
        for i, line in enumerate(lines):
            k = self._rrsig_key(line)
            if k not in faults:
                continue
            if faults[k] == "broken":
                head, sig = line.rstrip("\n").rsplit(None, 1)
                raw = bytearray(base64.b64decode(sig))
                raw[-1] ^= 0x55
                lines[i] = "%s %s\n" % (head, base64.b64encode(bytes(raw)).decode())
            else:
                lines[i] = alt[k]
            done.add(k)
        missing = set(faults) - done
        if missing:
            raise RuntimeError("dnszone: set_sig: no RRSIG over %s in %s"
                               % (sorted(missing), z.origin))
        with open(path, "w") as f:
            f.writelines(lines)

    def _nsd_conf(self):
        lines = ["server:",
                 "  ip-address: 127.0.0.1",
                 "  port: %d" % self.nsd_port,
                 "  do-ip6: no",
                 "  server-count: 1",
                 "  reuseport: no",
                 '  username: ""',
                 '  chroot: ""',
                 '  database: ""',
                 '  zonesdir: "%s"' % self._path("zones"),
                 '  zonelistfile: "%s"' % self._path("nsd", "zone.list"),
                 '  xfrdfile: "%s"' % self._path("nsd", "xfrd.state"),
                 '  xfrdir: "%s"' % self._path("nsd"),
                 '  pidfile: "%s"' % self._path("nsd", "nsd.pid"),
                 '  logfile: "%s"' % self._path("nsd.log"),
                 '  cookie-secret-file: "%s"' % self._path("nsd", "cookies.txt"),
                 "  verbosity: 2",
                 "  hide-version: yes",
                 "  ipv4-edns-size: 1232",
                 "  tcp-count: 64",
                 "  round-robin: no",
                 "  zonefiles-check: no",
                 "remote-control:",
                 "  control-enable: no"]
        for z in self.zones.values():
            lines += ["zone:", '  name: "%s"' % z.origin,
                      '  zonefile: "%s.zone.signed"' % z.origin.rstrip(".")]
        return "\n".join(lines) + "\n"

    def _unbound_conf(self):
        lines = ["server:",
                 "  interface: 127.0.0.1",
                 "  port: %d" % self.resolver_port,
                 "  do-ip4: yes",
                 "  do-ip6: no",
                 "  do-udp: yes",
                 "  do-tcp: yes",
                 "  do-daemonize: no",
                 '  chroot: ""',
                 '  username: ""',
                 '  directory: "%s"' % self.tmpdir,
                 '  pidfile: "%s"' % self._path("unbound.pid"),
                 '  logfile: "%s"' % self._path("unbound.log"),
                 "  use-syslog: no",
                 "  log-time-ascii: yes",
                 "  verbosity: 1",
                 "  val-log-level: 2",
                 "  log-servfail: yes",
                 "  num-threads: 1",
                 "  outgoing-range: 64",
                 "  so-reuseport: no",
                 "  access-control: 127.0.0.0/8 allow",
                 '  module-config: "validator iterator"',
                 '  trust-anchor-file: "%s"' % self._path("test.anchor"),
                 "  trust-anchor-signaling: no",
                 "  root-key-sentinel: no",
                 '  local-zone: "test." nodefault',
                 "  do-not-query-localhost: no",
                 "  harden-dnssec-stripped: yes",
                 "  qname-minimisation: no",
                 "  aggressive-nsec: no",
                 "  prefetch: no",
                 '  target-fetch-policy: "0 0 0 0 0"',
                 "  edns-buffer-size: 1232",
                 "  val-bogus-ttl: 5",
                 "  cache-max-negative-ttl: 5",
                 "  hide-identity: yes",
                 "  hide-version: yes",
                 "remote-control:",
                 "  control-enable: no"]
        for z in sorted(self.zones):
            lines += ["stub-zone:", '  name: "%s"' % z,
                      "  stub-addr: 127.0.0.1@%d" % self.nsd_port]
        return "\n".join(lines) + "\n"

    # ------------------------------------------------------------ daemons
    def _spawn(self, name, argv):
        out = open(self._path(name + ".stderr"), "ab")
        try:
            return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            out.close()

    @staticmethod
    def _group_alive(pgid):
        """Live (not zombie) processes of process group pgid."""
        pids = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % d) as f:
                    st = f.read()
            except OSError:
                continue
            fields = st[st.rindex(")") + 2:].split()
            if fields[0] != "Z" and int(fields[2]) == pgid:
                pids.append(int(d))
        return pids

    @classmethod
    def _kill(cls, proc):
        """Stop a daemon and every process it forked (NSD forks xfrd and
        a server child): they are all in its own process group, which only
        we use (start_new_session). Returns when none of them is left
        holding the ports."""
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(3)
            except subprocess.TimeoutExpired:
                pass
        end = time.monotonic() + 2
        while cls._group_alive(proc.pid) and time.monotonic() < end:
            time.sleep(0.005)
        if cls._group_alive(proc.pid):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            proc.wait(3)
        except subprocess.TimeoutExpired:
            pass

    def _start_nsd(self):
        with open(self._path("nsd.conf"), "w") as f:
            f.write(self._nsd_conf())
        self._nsd = self._spawn("nsd", [NSD, "-d", "-c", self._path("nsd.conf")])

    def _start_unbound(self):
        with open(self._path("unbound.conf"), "w") as f:
            f.write(self._unbound_conf())
        self._unbound = self._spawn("unbound", [UNBOUND, "-d", "-c", self._path("unbound.conf")])

    def _nsd_ready(self):
        """NSD answers every zone's SOA with the current serial."""
        for origin in self.zones:
            try:
                m, _ = dnsevil.query(self.nsd_port, origin, dnsevil.SOA, timeout=0.2,
                                     rd=False)
            except (OSError, ValueError):
                return False
            soa = [r for r in m["answer"] if r["type"] == dnsevil.SOA]
            if m["rcode"] != 0 or not m["aa"] or not soa:
                return False
            # serial: after mname, rname (uncompressed or compressed: take
            # the 20 bytes before the end)
            serial = int.from_bytes(soa[0]["rdata"][-20:-16], "big")
            if serial != self.serial:
                return False
        return True

    def _unbound_ready(self):
        try:
            m, _ = dnsevil.query(self.resolver_port, "test.", dnsevil.SOA,
                                 timeout=0.5, do=True)
        except (OSError, ValueError):
            return None
        return m

    def _wait(self, what, proc, pred, timeout=5.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if proc.poll() is not None:
                self._fail("%s exited with status %d at start-up" % (what, proc.returncode))
            v = pred()
            if v:
                return v
            time.sleep(0.01)
        self._fail("%s did not answer within %.0f s" % (what, timeout))

    def _fail(self, why):
        logs = self.logs()
        self._kill(self._unbound)
        self._kill(self._nsd)
        self._unbound = self._nsd = None
        raise RuntimeError("dnszone: %s (in %s; TERN_KEEP_DNS=1 keeps it)\n%s"
                           % (why, self.tmpdir, logs))

    def logs(self):
        out = []
        for n in ("nsd.stderr", "nsd.log", "unbound.stderr", "unbound.log"):
            try:
                with open(self._path(n), errors="replace") as f:
                    text = f.read()
            except (OSError, TypeError):
                continue
            if text.strip():
                out.append("---- %s ----\n%s" % (n, text[-6000:]))
        return "\n".join(out)

    def _start_daemons(self):
        self._start_nsd()
        self._wait("nsd", self._nsd, self._nsd_ready)
        self._start_unbound()
        m = self._wait("unbound", self._unbound, self._unbound_ready)
        if m["rcode"] != 0 or not m["ad"]:
            self._fail("unbound does not validate test. SOA (rcode %d, ad %s): "
                       "the trust anchor or the signatures are wrong" % (m["rcode"], m["ad"]))

    def start(self):
        if self._started:
            return self
        miss = missing_tools()
        if miss:
            raise RuntimeError("dnszone: missing %s (ports/debian/install-deps.sh check)"
                               % " ".join(miss))
        self.tmpdir = tempfile.mkdtemp(prefix="tern-dns-")
        for d in ("keys", "zones", "nsd"):
            os.mkdir(self._path(d))
        try:
            self._make_keys()
            self._sign_all()
            for attempt in range(3):
                self.nsd_port = free_port_pair()
                self.resolver_port = free_port_pair()
                while self.resolver_port == self.nsd_port:
                    self.resolver_port = free_port_pair()
                try:
                    self._start_daemons()
                    break
                except RuntimeError as e:
                    # another process took a port between the probe and the
                    # bind: try others; anything else is a real failure
                    if attempt == 2 or "already in use" not in str(e):
                        raise
                    for n in ("nsd.stderr", "nsd.log", "unbound.stderr", "unbound.log"):
                        try:
                            os.unlink(self._path(n))
                        except OSError:
                            pass
        except BaseException:
            self._started = True
            self.stop()
            raise
        self._started = True
        # a test that forgets stop() must not leave daemons behind
        atexit.register(self.stop)
        return self

    def reload(self):
        """Re-sign every zone with the current contents and restart both
        daemons on the same ports (Unbound starts with an empty cache)."""
        if not self._started:
            raise RuntimeError("dnszone: reload() before start()")
        self._make_keys()           # for zones added since
        self._kill(self._unbound)
        self._sign_all()
        self._kill(self._nsd)
        self._start_daemons()

    def stop(self):
        if not self._started:
            return
        self._kill(self._unbound)
        self._kill(self._nsd)
        self._unbound = self._nsd = None
        self._started = False
        atexit.unregister(self.stop)
        if self.tmpdir and not self.keep:
            shutil.rmtree(self.tmpdir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ------------------------------------------------------------ helpers
    @property
    def resolver(self):
        return "127.0.0.1:%d" % self.resolver_port

    @property
    def nsd(self):
        return "127.0.0.1:%d" % self.nsd_port

    def query(self, name, rtype, tcp=False, server="resolver", timeout=3.0, **kw):
        port = self.resolver_port if server == "resolver" else self.nsd_port
        kw.setdefault("do", True)
        if server != "resolver":
            kw.setdefault("rd", False)
        m, _ = dnsevil.query(port, name, rtype, tcp=tcp, timeout=timeout, **kw)
        return m


if __name__ == "__main__":
    # Manual use: start the tree and print where it is; Ctrl-C stops it.
    t0 = time.monotonic()
    with DnsZones(keep=True) as z:
        print("resolver %s  nsd %s  dir %s  (started in %.2f s)" %
              (z.resolver, z.nsd, z.tmpdir, time.monotonic() - t0), flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass

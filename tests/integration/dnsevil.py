"""dnsevil.py - a hostile fake DNS server for tern's resolver tests, and the
small DNS wire helpers (build a query, parse a message, ask a server) that
the DNS tests share. Standard library only: packets are built with struct.

    with EvilDns() as evil:            # UDP and TCP on 127.0.0.1:evil.port
        ... dns_servers = 127.0.0.1:<evil.port> ...
        evil.queries                   # [(proto, qname, qtype, id), ...] seen

The behaviour is chosen by the FIRST LABEL of the query name: it is the
first of the keywords below that this label starts with (so "wrongid.x.test",
"wrongid-2.example" and "wrongid" all select `wrongid`; "wrongidok..." selects
`wrongidok`, longer keywords being tried first). The rest of the name is free.
Any other name gets a correct answer (`ok`). Unless said otherwise the
behaviour is the same over UDP and TCP (TCP: 2-byte length prefix, RFC 1035).

    ok         correct answer, AA set, AD clear: A 127.0.0.1, AAAA ::1,
               MX 10 mx.<qname>, TLSA 3 1 1 <32 bytes of 0x11>, TXT "ok";
               other types NODATA (NOERROR, no answer)
    wrongid    the correct answer but with a different ID (id ^ 0x5a5a); nothing else
    wrongidok  first the wrong-ID answer, then (50 ms later) the correct one;
               a resolver that drops the bad one and keeps waiting gets it
    wrongq     right ID, but the question (and the answer) is for another name
               ("other.evil.test.", same type); nothing else
    othersrc   UDP: the correct answer sent from a second socket, 127.0.0.1 but
               another source port; nothing from the queried port.
               TCP: a correct answer (there is no other source on a stream)
    otheraddr  UDP: as othersrc, but sent from 127.0.0.2 (same port number when
               it can be bound, else any); TCP: a correct answer
    truncated  the correct answer cut in the middle of the answer RR's rdata
               (TC clear: the datagram just ends early)
    loop       an answer RR whose owner name is a compression pointer to itself
               (a pointer loop); header counts say 1 answer
    counts     ANCOUNT=5, NSCOUNT=3, ARCOUNT=2 but only one answer RR present
    bigtlsa    UDP: TC=1 with an empty answer section (header only + question);
               TCP: NOERROR with 40 TLSA records "3 0 2 <64 bytes>" (about
               3 KB), i.e. what a resolver gets after retrying over TCP
    servfail   RCODE SERVFAIL (2), no records
    ad         a correct answer with the AD bit set (and AA, RA): a resolver
               that does not trust this server must not believe it
    timeout    no answer at all (UDP: ignored; TCP: connection held open and
               silent until the client closes it or the server stops)
    nxdomain   RCODE NXDOMAIN (3), AA set, no records

Queries with EDNS get an OPT record (payload 1232, DO copied) in the answer.

Wire helpers (also used by dnszone.py and test_dnszone.py):
    build_query(name, qtype, qid=None, rd=True, edns=True, do=False, cd=False,
                bufsize=1232) -> bytes
    parse_message(data) -> dict: id, flags, qr, aa, tc, rd, ra, ad, cd, rcode,
                question [(name, type, class)], answer/authority/additional
                [dict(name, type, cls, ttl, rdata, text)]; raises ValueError
                on a malformed message (pointer loop, overrun, bad counts)
    query(port, name, qtype, tcp=False, host="127.0.0.1", timeout=2.0, **kw)
                -> (parsed dict, raw bytes); raises socket.timeout
    A, NS, CNAME, SOA, MX, TXT, AAAA, OPT, DS, RRSIG, NSEC, DNSKEY, TLSA: type codes
"""
import random
import socket
import struct
import threading
import time

A, NS, CNAME, SOA, PTR, MX, TXT, AAAA, OPT = 1, 2, 5, 6, 12, 15, 16, 28, 41
DS, RRSIG, NSEC, DNSKEY, NSEC3, TLSA, ANY = 43, 46, 47, 48, 50, 52, 255
TYPE_NAMES = {A: "A", NS: "NS", CNAME: "CNAME", SOA: "SOA", PTR: "PTR", MX: "MX",
              TXT: "TXT", AAAA: "AAAA", OPT: "OPT", DS: "DS", RRSIG: "RRSIG",
              NSEC: "NSEC", DNSKEY: "DNSKEY", NSEC3: "NSEC3", TLSA: "TLSA", ANY: "ANY"}
TYPE_CODES = {v: k for k, v in TYPE_NAMES.items()}

NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED = 0, 1, 2, 3, 4, 5

F_QR, F_AA, F_TC, F_RD, F_RA, F_AD, F_CD = 0x8000, 0x0400, 0x0200, 0x0100, 0x0080, 0x0020, 0x0010


# ---------------------------------------------------------------- wire helpers

def encode_name(name):
    """'a.b.' or 'a.b' -> wire format (no compression)."""
    name = name.rstrip(".")
    out = b""
    if name:
        for label in name.split("."):
            raw = label.encode()
            if not 0 < len(raw) < 64:
                raise ValueError("bad label in %r" % name)
            out += bytes([len(raw)]) + raw
    return out + b"\0"


def read_name(msg, off):
    """Decode a possibly compressed name at off; returns (name, next_off).
    Raises ValueError on loops, forward jumps past the end, or overruns."""
    labels = []
    end = None
    seen = set()
    total = 0
    while True:
        if off >= len(msg):
            raise ValueError("name runs past the end of the message")
        n = msg[off]
        if n & 0xC0 == 0xC0:
            if off + 1 >= len(msg):
                raise ValueError("truncated compression pointer")
            ptr = ((n & 0x3F) << 8) | msg[off + 1]
            if end is None:
                end = off + 2
            if ptr in seen or ptr >= len(msg):
                raise ValueError("compression pointer loop or out of range")
            seen.add(ptr)
            off = ptr
            continue
        if n & 0xC0:
            raise ValueError("bad label type")
        off += 1
        if n == 0:
            break
        if off + n > len(msg):
            raise ValueError("label runs past the end of the message")
        labels.append(msg[off:off + n].decode("ascii", "replace"))
        total += n + 1
        if total > 255:
            raise ValueError("name too long")
        off += n
    return ".".join(labels) + ".", (end if end is not None else off)


def build_query(name, qtype, qid=None, rd=True, edns=True, do=False, cd=False,
                bufsize=1232):
    if isinstance(qtype, str):
        qtype = TYPE_CODES[qtype.upper()]
    if qid is None:
        qid = random.randrange(0, 65536)
    flags = (F_RD if rd else 0) | (F_CD if cd else 0)
    msg = struct.pack("!HHHHHH", qid, flags, 1, 0, 0, 1 if edns else 0)
    msg += encode_name(name) + struct.pack("!HH", qtype, 1)
    if edns:
        msg += b"\0" + struct.pack("!HHIH", OPT, bufsize, 0x8000 if do else 0, 0)
    return msg


def _rdata_text(msg, rtype, off, rdlen):
    rd = msg[off:off + rdlen]
    try:
        if rtype == A and rdlen == 4:
            return socket.inet_ntop(socket.AF_INET, rd)
        if rtype == AAAA and rdlen == 16:
            return socket.inet_ntop(socket.AF_INET6, rd)
        if rtype in (CNAME, NS, PTR):
            return read_name(msg, off)[0]
        if rtype == MX:
            return "%d %s" % (struct.unpack("!H", rd[:2])[0], read_name(msg, off + 2)[0])
        if rtype == TLSA and rdlen >= 3:
            return "%d %d %d %s" % (rd[0], rd[1], rd[2], rd[3:].hex())
        if rtype == DS and rdlen >= 4:
            tag, alg, dt = struct.unpack("!HBB", rd[:4])
            return "%d %d %d %s" % (tag, alg, dt, rd[4:].hex())
        if rtype == RRSIG and rdlen >= 18:
            return "%s" % TYPE_NAMES.get(struct.unpack("!H", rd[:2])[0], "?")
        if rtype == TXT:
            parts, i = [], 0
            while i < len(rd):
                parts.append(rd[i + 1:i + 1 + rd[i]].decode("utf-8", "replace"))
                i += 1 + rd[i]
            return " ".join('"%s"' % p for p in parts)
    except (ValueError, IndexError, struct.error):
        return None
    return rd.hex()


def parse_message(data):
    """Parse a whole DNS message strictly; ValueError when it is malformed."""
    if len(data) < 12:
        raise ValueError("message shorter than a header")
    qid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", data[:12])
    m = {"id": qid, "flags": flags, "qr": bool(flags & F_QR), "aa": bool(flags & F_AA),
         "tc": bool(flags & F_TC), "rd": bool(flags & F_RD), "ra": bool(flags & F_RA),
         "ad": bool(flags & F_AD), "cd": bool(flags & F_CD), "rcode": flags & 0xF,
         "opcode": (flags >> 11) & 0xF, "question": [], "answer": [], "authority": [],
         "additional": [], "edns": None}
    off = 12
    for _ in range(qd):
        name, off = read_name(data, off)
        if off + 4 > len(data):
            raise ValueError("question runs past the end")
        t, c = struct.unpack("!HH", data[off:off + 4])
        off += 4
        m["question"].append((name, t, c))
    for sect, count in (("answer", an), ("authority", ns), ("additional", ar)):
        for _ in range(count):
            name, off = read_name(data, off)
            if off + 10 > len(data):
                raise ValueError("RR header runs past the end")
            t, c, ttl, rdlen = struct.unpack("!HHIH", data[off:off + 10])
            off += 10
            if off + rdlen > len(data):
                raise ValueError("rdata runs past the end")
            rr = {"name": name, "type": t, "cls": c, "ttl": ttl,
                  "rdata": data[off:off + rdlen], "text": _rdata_text(data, t, off, rdlen)}
            if t == OPT:
                m["edns"] = {"payload": c, "do": bool(ttl & 0x8000),
                             "rcode_hi": ttl >> 24}
            m[sect].append(rr)
            off += rdlen
    if off != len(data):
        raise ValueError("%d trailing bytes after the last record" % (len(data) - off))
    return m


def _recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def query_raw(port, packet, tcp=False, host="127.0.0.1", timeout=2.0):
    """Send one packet, return the first reply's bytes (UDP: any reply)."""
    if tcp:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(struct.pack("!H", len(packet)) + packet)
            n = struct.unpack("!H", _recv_exact(s, 2))[0]
            return _recv_exact(s, n)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.connect((host, port))
        s.send(packet)
        return s.recv(65535)


def query(port, name, qtype, tcp=False, host="127.0.0.1", timeout=2.0, **kw):
    """Ask host:port (UDP or TCP); returns (parsed, raw). The reply must carry
    the query's ID, else ValueError."""
    pkt = build_query(name, qtype, **kw)
    raw = query_raw(port, pkt, tcp=tcp, host=host, timeout=timeout)
    m = parse_message(raw)
    if m["id"] != struct.unpack("!H", pkt[:2])[0]:
        raise ValueError("reply ID %d does not match the query's" % m["id"])
    return m, raw


# ---------------------------------------------------------------- the server

BEHAVIOURS = ("wrongidok", "wrongid", "wrongq", "othersrc", "otheraddr", "truncated",
              "loop", "counts", "bigtlsa", "servfail", "ad", "timeout", "nxdomain")
# longest first, so that "wrongidok" wins over "wrongid"
_BY_LENGTH = sorted(BEHAVIOURS, key=len, reverse=True)

OK_TLSA = bytes([3, 1, 1]) + b"\x11" * 32
BIG_TLSA_COUNT = 40


def behaviour_of(qname):
    first = qname.split(".", 1)[0].lower()
    for b in _BY_LENGTH:
        if first.startswith(b):
            return b
    return "ok"


def big_tlsa_rdata(i):
    """The i-th rdata of the big TLSA RRset: 3 0 2 + 64 bytes."""
    return bytes([3, 0, 2]) + bytes([i & 0xFF]) * 64


def _rr(name_wire, rtype, ttl, rdata):
    return name_wire + struct.pack("!HHIH", rtype, 1, ttl, len(rdata)) + rdata


class _Query:
    def __init__(self, data):
        self.id, self.flags, qd, _, _, ar = struct.unpack("!HHHHHH", data[:12])
        if qd != 1 or self.flags & F_QR:
            raise ValueError("not a query with one question")
        self.qname, off = read_name(data, 12)
        self.qtype, self.qclass = struct.unpack("!HH", data[off:off + 4])
        off += 4
        self.edns = None
        if ar:
            try:
                _, off = read_name(data, off)
                t, c, ttl, _ = struct.unpack("!HHIH", data[off:off + 10])
                if t == OPT:
                    self.edns = {"payload": c, "do": bool(ttl & 0x8000)}
            except (ValueError, struct.error):
                pass


class EvilDns:
    """Hostile DNS server on 127.0.0.1:port (UDP and TCP); see the module doc."""

    def __init__(self, port=0, host="127.0.0.1"):
        self.host = host
        self.queries = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = []
        self._held = []
        self.udp = self.tcp = None
        self.port = port
        self.started = False

    # -- lifecycle
    def start(self):
        for _ in range(50):
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                udp.bind((self.host, self.port))
                tcp.bind((self.host, udp.getsockname()[1]))
            except OSError:
                udp.close()
                tcp.close()
                if self.port:
                    raise
                continue
            break
        else:
            raise RuntimeError("dnsevil: no free port with both UDP and TCP")
        tcp.listen(16)
        udp.settimeout(0.2)
        tcp.settimeout(0.2)
        self.udp, self.tcp = udp, tcp
        self.port = udp.getsockname()[1]
        self.other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.other.bind((self.host, 0))
        self.other_addr = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self.other_addr.bind(("127.0.0.2", self.port))
        except OSError:
            self.other_addr.bind(("127.0.0.2", 0))
        for fn in (self._udp_loop, self._tcp_loop):
            t = threading.Thread(target=fn, daemon=True)
            t.start()
            self._threads.append(t)
        self.started = True
        return self

    def stop(self):
        if not self.started:
            return
        self._stop.set()
        for t in self._threads:
            t.join(2)
        for s in [self.udp, self.tcp, self.other, self.other_addr] + self._held:
            try:
                s.close()
            except OSError:
                pass
        self.started = False

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def address(self):
        """host:port, as tern's dns_servers wants it."""
        return "%s:%d" % (self.host, self.port)

    def seen(self, prefix=None, proto=None):
        """Queries received: [(proto, qname, qtype, id)], optionally filtered
        by first-label prefix and/or protocol ('udp'/'tcp')."""
        with self._lock:
            q = list(self.queries)
        return [x for x in q if (prefix is None or x[1].startswith(prefix)) and
                (proto is None or x[0] == proto)]

    # -- answers
    def _answer_rrs(self, qname, qtype):
        w = encode_name(qname)
        if qtype == A:
            return [_rr(w, A, 60, socket.inet_aton("127.0.0.1"))]
        if qtype == AAAA:
            return [_rr(w, AAAA, 60, socket.inet_pton(socket.AF_INET6, "::1"))]
        if qtype == MX:
            return [_rr(w, MX, 60, struct.pack("!H", 10) + encode_name("mx." + qname))]
        if qtype == TLSA:
            return [_rr(w, TLSA, 60, OK_TLSA)]
        if qtype == TXT:
            return [_rr(w, TXT, 60, b"\x02ok")]
        return []

    def _opt(self, q):
        if q.edns is None:
            return b""
        return b"\0" + struct.pack("!HHIH", OPT, 1232, 0x8000 if q.edns["do"] else 0, 0)

    def _message(self, q, qid=None, flags=F_AA, rcode=NOERROR, qname=None,
                 rrs=None, counts=None):
        qname = qname or q.qname
        if rrs is None:
            rrs = self._answer_rrs(qname, q.qtype)
        opt = self._opt(q)
        f = F_QR | (q.flags & (F_RD | F_CD)) | flags | rcode
        if counts is None:
            counts = (len(rrs), 0, 1 if opt else 0)
        hdr = struct.pack("!HHHHHH", q.id if qid is None else qid, f, 1, *counts)
        question = encode_name(qname) + struct.pack("!HH", q.qtype, q.qclass)
        return hdr + question + b"".join(rrs) + opt

    def _respond(self, q, tcp):
        """List of (delay_seconds, bytes or None, via) to send; via is
        'same', 'other' or 'otheraddr'. None bytes = stay silent."""
        b = behaviour_of(q.qname)
        ok = self._message(q)
        if b == "wrongid":
            return [(0, self._message(q, qid=q.id ^ 0x5A5A), "same")]
        if b == "wrongidok":
            return [(0, self._message(q, qid=q.id ^ 0x5A5A), "same"), (0.05, ok, "same")]
        if b == "wrongq":
            return [(0, self._message(q, qname="other.evil.test."), "same")]
        if b == "othersrc":
            return [(0, ok, "same" if tcp else "other")]
        if b == "otheraddr":
            return [(0, ok, "same" if tcp else "otheraddr")]
        if b == "truncated":
            # cut in the middle of the answer's rdata (TLSA/MX rdata is long
            # enough; for A the 4 address bytes are cut to 2)
            full = self._message(q, rrs=self._answer_rrs(q.qname, q.qtype) or
                                 self._answer_rrs(q.qname, A), counts=None)
            full = full[:len(full) - len(self._opt(q))]
            return [(0, full[:-2] if q.qtype in (A,) else full[:-5], "same")]
        if b == "loop":
            # owner name = pointer to its own offset
            hdr_q = 12 + len(encode_name(q.qname)) + 4
            ptr = struct.pack("!H", 0xC000 | hdr_q)
            rr = ptr + struct.pack("!HHIH", A, 1, 60, 4) + socket.inet_aton("127.0.0.1")
            return [(0, self._message(q, rrs=[rr]), "same")]
        if b == "counts":
            rrs = self._answer_rrs(q.qname, q.qtype) or self._answer_rrs(q.qname, A)
            msg = self._message(q, rrs=rrs[:1], counts=(5, 3, 2))
            msg = msg[:len(msg) - len(self._opt(q))]
            return [(0, msg, "same")]
        if b == "bigtlsa":
            if not tcp:
                return [(0, self._message(q, flags=F_AA | F_TC, rrs=[]), "same")]
            w = encode_name(q.qname)
            rrs = [_rr(w, TLSA, 60, big_tlsa_rdata(i)) for i in range(BIG_TLSA_COUNT)]
            return [(0, self._message(q, rrs=rrs), "same")]
        if b == "servfail":
            return [(0, self._message(q, flags=0, rcode=SERVFAIL, rrs=[]), "same")]
        if b == "ad":
            return [(0, self._message(q, flags=F_AA | F_RA | F_AD), "same")]
        if b == "timeout":
            return [(0, None, "same")]
        if b == "nxdomain":
            return [(0, self._message(q, rcode=NXDOMAIN, rrs=[]), "same")]
        return [(0, ok, "same")]

    def _log(self, proto, q):
        with self._lock:
            self.queries.append((proto, q.qname, q.qtype, q.id))

    def _udp_loop(self):
        while not self._stop.is_set():
            try:
                data, peer = self.udp.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                q = _Query(data)
            except (ValueError, struct.error):
                continue
            self._log("udp", q)
            for delay, msg, via in self._respond(q, tcp=False):
                if delay:
                    time.sleep(delay)
                if msg is None:
                    continue
                sock = {"same": self.udp, "other": self.other,
                        "otheraddr": self.other_addr}[via]
                try:
                    sock.sendto(msg, peer)
                except OSError:
                    pass

    def _tcp_loop(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.tcp.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            t = threading.Thread(target=self._tcp_conn, args=(conn,), daemon=True)
            t.start()

    def _tcp_conn(self, conn):
        conn.settimeout(0.2)
        buf = b""
        try:
            while not self._stop.is_set():
                if len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
                    n = struct.unpack("!H", buf[:2])[0]
                    data, buf = buf[2:2 + n], buf[2 + n:]
                    try:
                        q = _Query(data)
                    except (ValueError, struct.error):
                        return
                    self._log("tcp", q)
                    for delay, msg, _via in self._respond(q, tcp=True):
                        if delay:
                            time.sleep(delay)
                        if msg is None:
                            # silent: hold the connection open until the
                            # peer closes it or the server stops
                            while not self._stop.is_set():
                                try:
                                    if not conn.recv(512):
                                        return
                                except socket.timeout:
                                    continue
                            return
                        conn.sendall(struct.pack("!H", len(msg)) + msg)
                    continue
                try:
                    chunk = conn.recv(65535)
                except socket.timeout:
                    continue
                if not chunk:
                    return
                buf += chunk
        except (OSError, ConnectionError):
            pass
        finally:
            conn.close()


if __name__ == "__main__":
    import sys
    srv = EvilDns(int(sys.argv[1]) if len(sys.argv) > 1 else 0).start()
    print("dnsevil on %s" % srv.address, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        srv.stop()

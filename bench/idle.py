#!/usr/bin/python3
"""idle.py HOST PORT N [tls] - open N SMTP sessions, EHLO (and STARTTLS with
a finished handshake and a second EHLO when 'tls'), print 'ready K' and hold
them until stdin closes or says anything.

K is the number of sessions held: when the server refuses one (no banner
within 30 s, a 4xx/5xx banner, STARTTLS refused, a closed connection), the
line is 'ready K refused: REASON' and the K earlier sessions are held all
the same, so the caller can still measure them."""
import resource, socket, ssl, sys

host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
tls = len(sys.argv) > 4 and sys.argv[4] == "tls"
# one descriptor per session, plus a few: raise the soft limit to the hard one
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
want = n + 64 if hard == resource.RLIM_INFINITY else min(n + 64, hard)
if soft != resource.RLIM_INFINITY and soft < want:
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE


class Refused(Exception):
    pass


def reply(f):
    lines = []
    while True:
        line = f.readline()
        if not line:
            raise Refused("connection closed" + (" after %r" % lines[-1] if lines else ""))
        lines.append(line)
        if line[3:4] != b"-":
            if line[:1] in (b"4", b"5"):
                raise Refused(line.decode("latin-1").strip())
            return lines


def session():
    s = socket.create_connection((host, port), timeout=30)
    try:
        f = s.makefile("rb")
        reply(f)
        s.sendall(b"EHLO idle.bench\r\n")
        reply(f)
        if tls:
            s.sendall(b"STARTTLS\r\n")
            r = reply(f)
            if not r[0].startswith(b"220"):
                raise Refused("STARTTLS refused: %r" % r)
            s = ctx.wrap_socket(s, server_hostname="bench")
            f = s.makefile("rb")
            s.sendall(b"EHLO idle.bench\r\n")
            reply(f)
    except BaseException:
        s.close()
        raise
    return s, f


socks = []
err = ""
for i in range(n):
    try:
        socks.append(session())
    except (OSError, Refused, ssl.SSLError) as e:
        err = " refused: session %d: %s: %s" % (i + 1, type(e).__name__, e)
        break
print("ready %d%s" % (len(socks), err), flush=True)
sys.stdin.read(1)
for s, f in socks:
    try:
        s.sendall(b"QUIT\r\n")
    except OSError:
        pass
    s.close()

#!/usr/bin/python3
"""idle.py HOST PORT N [tls] - open N SMTP sessions, EHLO (and STARTTLS with
a finished handshake and a second EHLO when 'tls'), print 'ready N' and hold
them until stdin closes or says anything."""
import socket, ssl, sys

host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
tls = len(sys.argv) > 4 and sys.argv[4] == "tls"
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE


def reply(f):
    lines = []
    while True:
        line = f.readline()
        if not line:
            raise SystemExit("connection closed")
        lines.append(line)
        if line[3:4] != b"-":
            return lines


socks = []
for i in range(n):
    s = socket.create_connection((host, port), timeout=30)
    f = s.makefile("rb")
    reply(f)
    s.sendall(b"EHLO idle.bench\r\n")
    reply(f)
    if tls:
        s.sendall(b"STARTTLS\r\n")
        r = reply(f)
        if not r[0].startswith(b"220"):
            raise SystemExit("STARTTLS refused: %r" % r)
        s = ctx.wrap_socket(s, server_hostname="tern.bench")
        f = s.makefile("rb")
        s.sendall(b"EHLO idle.bench\r\n")
        reply(f)
    socks.append((s, f))
print("ready %d" % len(socks), flush=True)
sys.stdin.read(1)
for s, f in socks:
    try:
        s.sendall(b"QUIT\r\n")
    except OSError:
        pass
    s.close()

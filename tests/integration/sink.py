#!/usr/bin/python3
"""sink.py - a real SMTP server for the delivery tests, built on Debian's
python3-aiosmtpd. It stores each accepted message as a JSON file in DIR
(sender, recipients, data) and answers as a script says:

  --rcpt-reply ADDR=REPLY    answer RCPT TO:<ADDR> with REPLY ("550 5.1.1 no")
  --once                     ...only the first time (then accept)
  --data-reply REPLY         answer the end of data with REPLY
  --hang                     accept connections and never answer
  --tls-cert FILE            offer STARTTLS with this certificate; FILE may be
                             a bundle (leaf first, then the chain)
  --tls-key FILE             its private key (default: in --tls-cert)
  --no-starttls              (with --tls-cert) no STARTTLS: not advertised,
                             and the command answers 454
  --implicit-tls             TLS on connect (port 465 style), needs --tls-cert
  --require-tls              refuse MAIL in clear text: "530 5.7.0 ..."
  --auth USER:PASS           offer AUTH PLAIN LOGIN (only under TLS) and
                             accept only these credentials
  --require-auth             refuse MAIL before AUTH (530 5.7.0)
  --log FILE                 append one line per line received outside DATA
                             ("EHLO x", "STARTTLS", "MAIL FROM:<a@b>", and
                             the base64 lines of an AUTH exchange; message
                             data is not logged); lines received under TLS
                             start "tls "

Each message's JSON also holds "tls" (the version, e.g. "TLSv1.3", or null
in clear text), "cipher" (null in clear text) and "auth" (the user that
authenticated, or null).

Usage: sink.py --port P --dir DIR [options]; prints "ready" when listening.
"""
import argparse
import asyncio
import json
import logging
import os
import socket
import ssl
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def tls_of(server):
    """The ssl.SSLObject of SERVER's connection, or None in clear text."""
    t = server.transport
    return t.get_extra_info("ssl_object") if t is not None else None


class SinkSMTP(SMTP):
    """aiosmtpd's SMTP, plus the command log and --require-tls."""

    def __init__(self, handler, *, sink_args, **kwargs):
        self.sink_args = sink_args
        super().__init__(handler, **kwargs)

    def _client_connected_cb(self, reader, writer):
        super()._client_connected_cb(reader, writer)
        if not self.sink_args.log:
            return
        readuntil = reader.readuntil

        # Command lines (and AUTH continuations: readline() calls
        # readuntil()) are read with readuntil() (separator b"\n"), message
        # data with readuntil(b"\r\n").
        async def logged(separator=b"\n"):
            line = await readuntil(separator)
            if separator == b"\n":
                text = line.decode("utf-8", "replace").rstrip("\r\n")
                with open(self.sink_args.log, "a") as f:
                    f.write(("tls " if tls_of(self) else "") + text + "\n")
            return line
        reader.readuntil = logged

    async def smtp_MAIL(self, arg):
        if self.sink_args.require_tls and not tls_of(self):
            await self.push("530 5.7.0 Must issue a STARTTLS command first")
            return
        await super().smtp_MAIL(arg)


class SinkController(Controller):
    def __init__(self, handler, sink_args, **kwargs):
        self.sink_args = sink_args
        super().__init__(handler, **kwargs)

    def factory(self):
        return SinkSMTP(self.handler, sink_args=self.sink_args, **self.SMTP_kwargs)


class Handler:
    def __init__(self, args):
        self.args = args
        self.rcpt_reply = dict(r.split("=", 1) for r in args.rcpt_reply)
        self.used = set()
        self.n = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.rcpt_reply.get(address)
        if reply and not (self.args.once and address in self.used):
            self.used.add(address)
            return reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if not self.args.auth:
            # aiosmtpd offers AUTH (that always fails) under TLS otherwise
            responses = [r for r in responses if not r[4:].startswith("AUTH")]
        return responses

    async def handle_DATA(self, server, session, envelope):
        if self.args.data_reply:
            return self.args.data_reply
        self.n += 1
        name = os.path.join(self.args.dir, "%d-%d.json" % (os.getpid(), self.n))
        tls = tls_of(server)
        with open(name + ".tmp", "w") as f:
            json.dump({"from": envelope.mail_from, "to": envelope.rcpt_tos,
                       "data": envelope.original_content.decode("utf-8", "replace"),
                       "helo": session.host_name, "time": time.time(),
                       "tls": tls.version() if tls else None,
                       "cipher": tls.cipher()[0] if tls else None,
                       "auth": session.auth_data if session.authenticated else None}, f)
        os.rename(name + ".tmp", name)
        return "250 2.0.0 Ok: queued as S%d" % self.n


def authenticator(user, password):
    want = LoginPassword(user.encode(), password.encode())

    def check(server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword) and auth_data == want:
            return AuthResult(success=True, auth_data=user)
        return AuthResult(success=False, handled=False)
    return check


def hang(port, host="127.0.0.1"):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(16)
    print("ready", flush=True)
    conns = []
    while True:
        c, _ = s.accept()
        conns.append(c)      # never answer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1", help="address to listen on")
    ap.add_argument("--dir", required=True)
    ap.add_argument("--rcpt-reply", action="append", default=[])
    ap.add_argument("--once", action="store_true")
    ap.add_argument("--data-reply")
    ap.add_argument("--hang", action="store_true")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--no-starttls", action="store_true")
    ap.add_argument("--implicit-tls", action="store_true")
    ap.add_argument("--require-tls", action="store_true")
    ap.add_argument("--auth")
    ap.add_argument("--require-auth", action="store_true")
    ap.add_argument("--log")
    args = ap.parse_args()
    if args.hang:
        hang(args.port, args.host)
        return
    if args.implicit_tls and not args.tls_cert:
        ap.error("--implicit-tls needs --tls-cert")
    ctx = None
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
    kw = {}
    if args.implicit_tls:
        # the whole connection is TLS: no STARTTLS, AUTH offered at once
        # (aiosmtpd only counts STARTTLS as TLS for auth_require_tls)
        kw["ssl_context"] = ctx
        kw["auth_require_tls"] = False
    elif ctx and not args.no_starttls:
        kw["tls_context"] = ctx
    if args.auth:
        user, _, password = args.auth.partition(":")
        kw["authenticator"] = authenticator(user, password)
    if args.require_auth:
        kw["auth_required"] = True
    # aiosmtpd warns on stderr at each successful AUTH (its own use of the
    # deprecated Session.login_data); keep stderr for real problems
    logging.getLogger("mail.log").addFilter(
        lambda r: "login_data is deprecated" not in r.getMessage())
    ctl = SinkController(Handler(args), args, hostname=args.host, port=args.port,
                         server_hostname="sink.test", **kw)
    ctl.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        ctl.stop()


if __name__ == "__main__":
    main()

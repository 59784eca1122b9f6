#!/usr/bin/python3
"""sink.py - a real SMTP server for the delivery tests, built on Debian's
python3-aiosmtpd. It stores each accepted message as a JSON file in DIR
(sender, recipients, data) and answers as a script says:

  --rcpt-reply ADDR=REPLY    answer RCPT TO:<ADDR> with REPLY ("550 5.1.1 no")
  --once                     ...only the first time (then accept)
  --data-reply REPLY         answer the end of data with REPLY
  --hang                     accept connections and never answer

Usage: sink.py --port P --dir DIR [options]; prints "ready" when listening.
"""
import argparse
import asyncio
import json
import os
import socket
import sys
import time

from aiosmtpd.controller import Controller


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

    async def handle_DATA(self, server, session, envelope):
        if self.args.data_reply:
            return self.args.data_reply
        self.n += 1
        name = os.path.join(self.args.dir, "%d-%d.json" % (os.getpid(), self.n))
        with open(name + ".tmp", "w") as f:
            json.dump({"from": envelope.mail_from, "to": envelope.rcpt_tos,
                       "data": envelope.original_content.decode("utf-8", "replace"),
                       "helo": session.host_name, "time": time.time()}, f)
        os.rename(name + ".tmp", name)
        return "250 2.0.0 Ok: queued as S%d" % self.n


def hang(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(16)
    print("ready", flush=True)
    conns = []
    while True:
        c, _ = s.accept()
        conns.append(c)      # never answer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--rcpt-reply", action="append", default=[])
    ap.add_argument("--once", action="store_true")
    ap.add_argument("--data-reply")
    ap.add_argument("--hang", action="store_true")
    args = ap.parse_args()
    if args.hang:
        hang(args.port)
        return
    ctl = Controller(Handler(args), hostname="127.0.0.1", port=args.port,
                     server_hostname="sink.test")
    ctl.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        ctl.stop()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""RadSec load for bench/compare-radsec.sh: RADIUS over TLS (RFC 6614) straight to a server.

CONNECTIONS TLS connections (Python's ssl, i.e. OpenSSL: an implementation independent of
radotp's rustls), each keeping WINDOW requests in flight, until COUNT requests are answered or
DURATION seconds pass, whichever comes first. Requests are Status-Server, or Access-Requests
for bench-NNNNNNN users with a wrong password ("reject"). Every packet carries a
Message-Authenticator signed with the RadSec secret "radsec". Prints one JSON line:
{"answered": N, "requests_per_s": R, "seconds": S, "errors": E}.

Only loopback addresses are accepted as the server.
"""

import argparse
import asyncio
import hashlib
import hmac
import ipaddress
import json
import os
import ssl
import struct
import sys
import time

SECRET = b"radsec"
STATUS_SERVER, ACCESS_REQUEST = 12, 1
USER_NAME, USER_PASSWORD, MESSAGE_AUTHENTICATOR = 1, 2, 80


def attribute(kind, value):
    return bytes([kind, len(value) + 2]) + value


def hide(password, authenticator):
    padded = password + b"\0" * (-len(password) % 16 or 0)
    if not padded:
        padded = b"\0" * 16
    out, previous = b"", authenticator
    for i in range(0, len(padded), 16):
        key = hashlib.md5(SECRET + previous).digest()
        block = bytes(a ^ b for a, b in zip(padded[i : i + 16], key))
        out += block
        previous = block
    return out


def packet(code, ident, users, n, password):
    authenticator = os.urandom(16)
    attrs = attribute(MESSAGE_AUTHENTICATOR, b"\0" * 16)
    if code == ACCESS_REQUEST:
        attrs += attribute(USER_NAME, b"bench-%07d" % (n % users))
        attrs += attribute(USER_PASSWORD, hide(password, authenticator))
    header = struct.pack("!BBH", code, ident, 20 + len(attrs))
    unsigned = header + authenticator + attrs
    mac = hmac.new(SECRET, unsigned, hashlib.md5).digest()
    return header + authenticator + attribute(MESSAGE_AUTHENTICATOR, mac) + attrs[18:]


async def connection(args, context, state, deadline):
    reader, writer = await asyncio.open_connection(
        args.host, args.port, ssl=context, server_hostname="localhost"
    )
    free = asyncio.Semaphore(args.window)
    code = STATUS_SERVER if args.scenario == "status" else ACCESS_REQUEST
    password = args.password.encode() + b"000000"
    done = asyncio.Event()
    outstanding = [0]

    async def read():
        try:
            while True:
                header = await reader.readexactly(4)
                length = struct.unpack("!H", header[2:4])[0]
                await reader.readexactly(length - 4)
                state["answered"] += 1
                outstanding[0] -= 1
                free.release()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            done.set()

    reading = asyncio.create_task(read())
    ident = 0
    while (
        state["sent"] < args.count
        and time.monotonic() < deadline
        and not done.is_set()
    ):
        try:
            await asyncio.wait_for(free.acquire(), timeout=max(0.01, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            break
        state["sent"] += 1
        outstanding[0] += 1
        writer.write(packet(code, ident, args.users, state["sent"], password))
        ident = (ident + 1) % 256
        await writer.drain()
    # Let the last replies arrive (bounded).
    end = min(deadline + 2, time.monotonic() + 5)
    while outstanding[0] > 0 and time.monotonic() < end and not done.is_set():
        await asyncio.sleep(0.005)
    reading.cancel()
    writer.close()


async def main(args):
    context = ssl.create_default_context(cafile=args.ca)
    context.load_cert_chain(args.cert, args.key)
    state = {"answered": 0, "sent": 0}
    start = time.monotonic()
    deadline = start + args.duration
    results = await asyncio.gather(
        *(connection(args, context, state, deadline) for _ in range(args.connections)),
        return_exceptions=True,
    )
    seconds = time.monotonic() - start
    errors = [repr(r) for r in results if isinstance(r, BaseException)]
    print(
        json.dumps(
            {
                "answered": state["answered"],
                "requests_per_s": round(state["answered"] / seconds, 1),
                "seconds": round(seconds, 3),
                "errors": len(errors),
                "first_error": errors[0] if errors else None,
            }
        )
    )


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--scenario", choices=["status", "reject"], default="status")
    p.add_argument("--users", type=int, default=1000)
    p.add_argument("--password", default="benchpw")
    p.add_argument("--connections", type=int, default=4)
    p.add_argument("--window", type=int, default=32)
    p.add_argument("--count", type=int, default=200000)
    p.add_argument("--duration", type=float, default=5.0)
    a = p.parse_args()
    if not ipaddress.ip_address(a.host).is_loopback:
        sys.exit("radsec-load.py: only loopback servers (127.0.0.0/8, ::1)")
    asyncio.run(main(a))

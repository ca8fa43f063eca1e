#!/usr/bin/env python3
"""A player client of protocol version 1 that knows nothing of deltas,
written with Python's standard library only (a WebSocket client by hand),
for TestForeignClientOnFullStates.

    fullclient.py PLAY_URL STATES

It connects, reads the welcome, sends one arena input, reads STATES state
frames and prints a JSON summary: the welcome's fields, the frame numbers
and the frame types seen. Any frame type it does not know is counted, not
fatal, as docs/protocol.md asks of clients.
"""
import base64
import json
import os
import socket
import struct
import sys
import urllib.parse


def read_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed")
        buf += chunk
    return buf


def send_frame(sock, opcode, payload):
    mask = os.urandom(4)
    head = bytes([0x80 | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 1 << 16:
        head += bytes([0x80 | 126]) + struct.pack(">H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack(">Q", n)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    sock.sendall(head + mask + masked)


def read_message(sock):
    """Returns (opcode, payload) of the next data or close message,
    answering pings."""
    while True:
        b0, b1 = read_exact(sock, 2)
        opcode, n = b0 & 0x0F, b1 & 0x7F
        if n == 126:
            n = struct.unpack(">H", read_exact(sock, 2))[0]
        elif n == 127:
            n = struct.unpack(">Q", read_exact(sock, 8))[0]
        payload = read_exact(sock, n)
        if opcode == 0x9:
            send_frame(sock, 0xA, payload)
            continue
        if opcode == 0xA:
            continue
        return opcode, payload


def main():
    url = urllib.parse.urlsplit(sys.argv[1])
    want = int(sys.argv[2])
    sock = socket.create_connection((url.hostname, url.port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    path = url.path + ("?" + url.query if url.query else "")
    sock.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (path, url.netloc, key)).encode())
    resp = b""
    while b"\r\n\r\n" not in resp:
        resp += sock.recv(1)
    if not resp.startswith(b"HTTP/1.1 101"):
        raise SystemExit("upgrade refused: " + resp.decode(errors="replace"))

    out = {"types": {}, "frames": []}
    opcode, msg = read_message(sock)
    if opcode != 0x2 or msg[0] != 0x10:
        raise SystemExit("first message is not a welcome")
    version, flags, tick_hz = msg[1], msg[2], struct.unpack("<H", msg[3:5])[0]
    strings, i = [], 21
    for _ in range(4):
        n = msg[i]
        strings.append(msg[i + 1:i + 1 + n].decode())
        i += 1 + n
    out["welcome"] = {"version": version, "flags": flags, "tick_hz": tick_hz,
                      "player": strings[1], "trailing": len(msg) - i}
    send_frame(sock, 0x2, bytes([0x01, 100, 0, 0]))  # input: arena's x, z, flags
    while len(out["frames"]) < want:
        opcode, msg = read_message(sock)
        if opcode == 0x8:
            raise SystemExit("closed: " + msg[2:].decode(errors="replace"))
        t = "0x%02x" % msg[0]
        out["types"][t] = out["types"].get(t, 0) + 1
        if msg[0] == 0x11:
            out["frames"].append(struct.unpack("<Q", msg[1:9])[0])
    send_frame(sock, 0x8, struct.pack(">H", 1000))
    print(json.dumps(out))


if __name__ == "__main__":
    main()

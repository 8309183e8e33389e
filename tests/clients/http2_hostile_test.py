#!/usr/bin/python3
"""Hostile HTTP/2 clients against albemu (TLS, ALPN h2), frame by frame over real sockets.

Each case expects a precise reaction, a stream reset or GOAWAY with the right error code, and
afterwards a well-behaved client on a new connection must still be served:
rapid reset (CVE-2023-44487), a CONTINUATION flood (CVE-2024-27316 family), an HPACK bomb
(a small block that decodes to megabytes of fields), a PING flood from a client that never
reads, a SETTINGS flood, stream-id misuse, an oversized frame, an empty-DATA flood (also one
that ends in a malformed frame), and a client that opens a zero window and never reads while
another is served.

  /usr/bin/python3 tests/clients/http2_hostile_test.py --albemu build/albemu
"""

import argparse
import os
import socket
import ssl
import struct
import sys
import tempfile
import time

import hpack

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from early_answers_test import Albemu, Backend  # noqa: E402  (the same LB and service)

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = (
    0x0, 0x1, 0x3, 0x4, 0x6, 0x7, 0x8, 0x9)
END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1
NO_ERROR, PROTOCOL_ERROR, INTERNAL_ERROR, FRAME_SIZE_ERROR, CANCEL, ENHANCE_YOUR_CALM = (
    0x0, 0x1, 0x2, 0x6, 0x8, 0xb)


def frame(kind, flags, stream_id, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(
        ">I", stream_id) + payload


class Raw:
    """A TLS connection that speaks HTTP/2 frames by hand."""

    def __init__(self, albemu, settings=b""):
        context = ssl.create_default_context(cafile=albemu.cert)
        context.set_alpn_protocols(["h2"])
        sock = socket.create_connection(("127.0.0.1", albemu.ports["https"]), timeout=30)
        self.sock = context.wrap_socket(sock, server_hostname="localhost")
        assert self.sock.selected_alpn_protocol() == "h2"
        self.encoder = hpack.Encoder()
        self.authority = f"localhost:{albemu.ports['https']}"
        self.buffer = b""
        self.send(PREFACE + frame(SETTINGS, 0, 0, settings))

    def send(self, data):
        self.sock.sendall(data)

    def try_send(self, data):
        """Sends unless albemu closed the connection; False once it did."""
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            return False

    def head_block(self, path, extra=()):
        return self.encoder.encode([(":method", "GET"), (":path", path), (":scheme", "https"),
                                    (":authority", self.authority), *extra])

    def request(self, stream_id, path, extra=(), end_stream=True):
        flags = END_HEADERS | (END_STREAM if end_stream else 0)
        self.send(frame(HEADERS, flags, stream_id, self.head_block(path, extra)))

    def frames(self):
        """Frames until the connection ends: (type, flags, stream id, payload)."""
        while True:
            while len(self.buffer) >= 9:
                length = int.from_bytes(self.buffer[:3], "big")
                if len(self.buffer) < 9 + length:
                    break
                kind, flags = self.buffer[3], self.buffer[4]
                stream_id = int.from_bytes(self.buffer[5:9], "big") & 0x7FFFFFFF
                payload = self.buffer[9:9 + length]
                self.buffer = self.buffer[9 + length:]
                if kind == SETTINGS and not flags & ACK:
                    self.try_send(frame(SETTINGS, ACK, 0))
                yield kind, flags, stream_id, payload
            try:
                data = self.sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            self.buffer += data

    def goaway(self):
        """The error code of the GOAWAY albemu sends before it closes, or None."""
        for kind, _, _, payload in self.frames():
            if kind == GOAWAY:
                return int.from_bytes(payload[4:8], "big")
        return None

    def status(self, stream_id):
        """The :status albemu answers on `stream_id`, ("reset", code), or None."""
        decoder = hpack.Decoder()
        for kind, _, sid, payload in self.frames():
            if kind == HEADERS:
                fields = dict(decoder.decode(payload))
                if sid == stream_id:
                    return int(fields[":status"])
            elif kind == RST_STREAM and sid == stream_id:
                return ("reset", int.from_bytes(payload, "big"))
            elif kind == GOAWAY:
                return ("goaway", int.from_bytes(payload[4:8], "big"))
        return None

    def close(self):
        self.sock.close()


def served(albemu):
    """A well-behaved client on a fresh connection gets its answer."""
    client = Raw(albemu)
    client.request(1, "/still-served")
    status = client.status(1)
    client.close()
    return status == 200


def expect(failures, name, got, want, albemu):
    if got != want:
        failures.append(f"{name}: got {got}, expected {want}")
    if not served(albemu):
        failures.append(f"{name}: a well-behaved client was not served afterwards")


# ---- the cases


def rapid_reset(albemu, failures):
    """Streams opened and reset at once, by the thousand: nghttp2's reset rate limit ends the
    connection with GOAWAY(INTERNAL_ERROR), as nghttp2 chose, instead of endless work."""
    client = Raw(albemu)
    batch = b"".join(frame(HEADERS, END_HEADERS | END_STREAM, sid, client.head_block("/r")) +
                     frame(RST_STREAM, 0, sid, struct.pack(">I", CANCEL))
                     for sid in range(1, 2 * 5000, 2))
    client.try_send(batch)
    expect(failures, "rapid reset", client.goaway(), INTERNAL_ERROR, albemu)
    client.close()


def continuation_flood(albemu, failures):
    """A header block that never ends, CONTINUATION after CONTINUATION: the connection ends
    long before the flood does."""
    client = Raw(albemu)
    client.send(frame(HEADERS, 0, 1, client.head_block("/c")))
    piece = frame(CONTINUATION, 0, 1, client.encoder.encode([("x-flood", "a" * 16000)]))
    for _ in range(100):
        if not client.try_send(piece):
            break
    # nghttp2 stops a header block at 8 CONTINUATION frames; albemu says so with GOAWAY.
    expect(failures, "CONTINUATION flood", client.goaway(), ENHANCE_YOUR_CALM, albemu)
    client.close()


def hpack_bomb(albemu, failures):
    """One 4 KiB field put into the dynamic table, then named 4,000 times by one byte each:
    16 MB of fields from a 4 KiB block. The stream gets 431, the connection goes on."""
    client = Raw(albemu)
    encoder = client.encoder
    block = encoder.encode([(":method", "GET"), (":path", "/bomb"), (":scheme", "https"),
                            (":authority", client.authority), ("x-bomb", "b" * 4000)])
    # Index 62 is the newest dynamic entry: x-bomb. 0xbe = indexed field 62.
    block += bytes([0xBE]) * 4000
    client.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, block))
    expect(failures, "HPACK bomb", client.status(1), 431, albemu)
    client.close()


def flood(albemu, failures, name, one_frame):
    """`one_frame` by the hundred thousand from a client that reads none of the answers:
    albemu stops queueing answers (nghttp2 counts them) and ends the connection long before
    the flood does, rather than buffer them."""
    client = Raw(albemu)
    batch = one_frame * 1000
    sent = 0
    started = time.monotonic()
    while sent < 1000000 and client.try_send(batch):
        sent += 1000
    # Ended by albemu, and at once (not by the 30 s socket timeout of a connection it left
    # hanging).
    expect(failures, name, sent < 1000000 and time.monotonic() - started < 10, True, albemu)
    client.close()


def ping_flood(albemu, failures):
    flood(albemu, failures, "PING flood", frame(PING, 0, 0, b"12345678"))


def settings_flood(albemu, failures):
    flood(albemu, failures, "SETTINGS flood", frame(SETTINGS, 0, 0, struct.pack(">HI", 0x3, 100)))


def even_stream_id(albemu, failures):
    """A client may only open odd streams: PROTOCOL_ERROR for the connection."""
    client = Raw(albemu)
    client.request(2, "/even")
    expect(failures, "even stream id", client.goaway(), PROTOCOL_ERROR, albemu)
    client.close()


def decreasing_stream_id(albemu, failures):
    """Stream ids only grow: a HEADERS on a lower id than one already used is ignored (nghttp2
    cannot tell it from a closed stream's), and the connection goes on."""
    client = Raw(albemu)
    client.request(5, "/five")
    client.request(3, "/three")
    client.request(7, "/seven")
    answered = {}
    decoder = hpack.Decoder()
    for kind, _, sid, payload in client.frames():
        if kind == HEADERS:
            answered[sid] = int(dict(decoder.decode(payload))[":status"])
        if 7 in answered and 5 in answered:
            break
    expect(failures, "decreasing stream id", answered, {5: 200, 7: 200}, albemu)
    client.close()


def oversized_frame(albemu, failures):
    """A frame over SETTINGS_MAX_FRAME_SIZE (16 KiB by default): FRAME_SIZE_ERROR."""
    client = Raw(albemu)
    client.request(1, "/upload", extra=[("content-length", "20000")], end_stream=False)
    client.send(frame(DATA, END_STREAM, 1, b"x" * 20000))
    expect(failures, "oversized frame", client.goaway(), FRAME_SIZE_ERROR, albemu)
    client.close()


def empty_data_flood(albemu, failures):
    """Empty DATA frames by the hundred thousand (each costs work, none carries bytes): the
    connection ends."""
    client = Raw(albemu)
    client.request(1, "/empty", end_stream=False)
    empty = frame(DATA, 0, 1) * 1000
    for _ in range(100):
        if not client.try_send(empty):
            break
    expect(failures, "empty DATA flood", client.goaway(), ENHANCE_YOUR_CALM, albemu)
    client.close()


def empty_data_flood_then_bad_frame(albemu, failures):
    """101 empty DATA frames then a RST_STREAM of the wrong length, in one write: the flood's
    GOAWAY, and albemu lives on (it used to end the session from inside nghttp2's callback,
    and the malformed frame after it then failed an assertion in nghttp2, which aborted)."""
    client = Raw(albemu)
    client.request(1, "/empty", end_stream=False)
    client.try_send(frame(DATA, 0, 1) * 101 + frame(RST_STREAM, 0, 1))
    expect(failures, "empty DATA flood, then a malformed frame", client.goaway(),
           ENHANCE_YOUR_CALM, albemu)
    client.close()


def zero_window(albemu, failures):
    """A client that allows albemu no bytes (a zero window) and never reads: its download waits,
    and everyone else is served meanwhile."""
    client = Raw(albemu, settings=struct.pack(">HI", 0x4, 0))  # SETTINGS_INITIAL_WINDOW_SIZE 0
    client.request(1, "/stalled")
    if not all(served(albemu) for _ in range(5)):
        failures.append("zero window: other clients were not served")
    client.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--albemu", required=True, help="path of the albemu binary")
    args = parser.parse_args()

    backend = Backend()
    failures = []
    cases = (rapid_reset, continuation_flood, hpack_bomb, ping_flood, settings_flood,
             even_stream_id, decreasing_stream_id, oversized_frame, empty_data_flood,
             empty_data_flood_then_bad_frame, zero_window)
    with tempfile.TemporaryDirectory() as work:
        albemu = Albemu(args.albemu, work, backend.port)
        try:
            for case in cases:
                case(albemu, failures)
        finally:
            code = albemu.stop()
        if code != 0:
            failures.append(f"albemu exited {code} after SIGTERM")
    for failure in failures:
        print("FAIL", failure)
    print(f"{len(cases)} hostile HTTP/2 cases: {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

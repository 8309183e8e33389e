#!/usr/bin/python3
"""Seeds of fuzz_http2_session: real HTTP/2 client byte streams, made with python3-h2.

    tests/fuzz/make_http2_seeds.py [OUT_DIR]        writes the seeds (default: the corpus dir)
    tests/fuzz/make_http2_seeds.py --check BINARY   runs the fuzz target on each seed and
                                                    prints the frames albemu answered with

A seed is what a client sends after the 24-byte connection preface, which the fuzz target
writes itself: it begins with the client's SETTINGS frame. Each client has already read
albemu's SETTINGS and WINDOW_UPDATE (SERVER_START below), so it acknowledges them and sends
within albemu's windows. --check needs the target built (make fuzz) and fails if a seed's
expected streams got no response head: a seed that only reaches the codec's errors is of
little use to the fuzzer.
"""

import os
import re
import subprocess
import sys

from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.errors import ErrorCodes
from h2.settings import SettingCodes, Settings
from hpack import Decoder
from hyperframe.frame import (ContinuationFrame, DataFrame, Frame, GoAwayFrame, HeadersFrame,
                              RstStreamFrame, SettingsFrame, WindowUpdateFrame)

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "fuzz_http2_session")
# What albemu sends first (proxy/net/http2_session.cc, start_codec): its SETTINGS, then the
# connection window raised to 1 MiB.
SERVER_START = (SettingsFrame(0, settings={SettingCodes.MAX_CONCURRENT_STREAMS: 100,
                                           SettingCodes.INITIAL_WINDOW_SIZE: 256 * 1024,
                                           SettingCodes.MAX_HEADER_LIST_SIZE: 60 * 1024})
                .serialize() +
                WindowUpdateFrame(0, window_increment=1024 * 1024 - 65535).serialize())
AUTHORITY = "127.0.0.1:8080"


class Client:
    """An h2 client connection whose bytes become a seed."""

    def __init__(self, settings=None):
        self.conn = H2Connection(H2Configuration(client_side=True, header_encoding="utf-8",
                                                 validate_outbound_headers=False))
        if settings:
            initial = {SettingCodes.MAX_CONCURRENT_STREAMS: 100}
            initial.update(settings)
            self.conn.local_settings = Settings(client=True, initial_values=initial)
        self.conn.initiate_connection()
        self.conn.receive_data(SERVER_START)
        self.raw = bytearray()

    def request(self, method, path, fields=(), authority=AUTHORITY, end=True, **priority):
        stream = self.conn.get_next_available_stream_id()
        head = [(":method", method), (":scheme", "https"), (":authority", authority),
                (":path", path)] + list(fields)
        self.conn.send_headers(stream, head, end_stream=end, **priority)
        return stream

    def data(self, stream, body, end=False, **kwargs):
        self.conn.send_data(stream, body, end_stream=end, **kwargs)

    def frame(self, frame):
        """A frame h2 would not send, written as is after what h2 queued so far."""
        self.flush()
        self.raw += frame.serialize()

    def flush(self):
        self.raw += self.conn.data_to_send()

    def bytes(self):
        self.flush()
        assert self.raw.startswith(PREFACE)
        return bytes(self.raw[len(PREFACE):])


def get():
    c = Client()
    c.request("GET", "/login/web", [("user-agent", "seed/1"), ("accept", "*/*")])
    return c, [1]


def get_by_host():
    c = Client()
    c.request("GET", "/anything?x=1", [("cookie", "a=1"), ("cookie", "b=2"),
                                       ("x-forwarded-for", "192.0.2.7")],
              authority="catalog.example.com")
    return c, [1]


def post_body():
    c = Client()
    s = c.request("POST", "/cart/items", [("content-type", "application/json"),
                                          ("content-length", "17")], end=False)
    c.data(s, b'{"id": 7,')
    c.data(s, b' "n": 2}', end=True)
    return c, [1]


def post_without_length():
    c = Client()
    s = c.request("PUT", "/cart/items/7", [("content-type", "text/plain")], end=False)
    for piece in (b"one ", b"two ", b"three"):
        c.data(s, piece)
    c.conn.end_stream(s)
    return c, [1]


def padded_data():
    c = Client()
    s = c.request("POST", "/login/form", [("content-length", "4")], end=False)
    c.data(s, b"a=bc", end=True, pad_length=16)
    return c, [1]


def trailers():
    c = Client()
    s = c.request("POST", "/cart/upload", [("te", "trailers"), ("content-type", "text/plain")],
                  end=False)
    c.data(s, b"payload")
    c.conn.send_headers(s, [("x-checksum", "1234")], end_stream=True)
    return c, [1]


def grpc():
    c = Client()
    s = c.request("POST", "/catalog.Catalog/List", [
        ("content-type", "application/grpc"), ("te", "trailers"), ("grpc-timeout", "1S"),
        ("grpc-accept-encoding", "identity")], end=False)
    c.data(s, b"\x00\x00\x00\x00\x02\x08\x01", end=True)
    return c, [1]


def continuation():
    # One request head in three pieces: HEADERS, then two CONTINUATION frames.
    c = Client()
    block = c.conn.encoder.encode([
        (":method", "GET"), (":scheme", "https"), (":authority", AUTHORITY),
        (":path", "/login/continued"), ("x-long", "v" * 40), ("accept-language", "en")])
    third = len(block) // 3
    c.frame(HeadersFrame(1, data=block[:third], flags=["END_STREAM"]))
    c.frame(ContinuationFrame(1, data=block[third:2 * third]))
    c.frame(ContinuationFrame(1, data=block[2 * third:], flags=["END_HEADERS"]))
    return c, [1]


def several_streams():
    # Requests interleaved on one connection: a body that arrives between other requests,
    # HEAD, OPTIONS *, a service the URL mask does not find.
    c = Client()
    a = c.request("GET", "/login/a")
    b = c.request("POST", "/cart/b", [("content-length", "6")], end=False)
    c.data(b, b"abc")
    c.request("HEAD", "/catalog/c")
    c.data(b, b"def", end=True)
    c.request("OPTIONS", "*")
    c.request("GET", "/no-such-service/x")
    c.request("DELETE", "/cart/items/1", authority="cart.example.com")
    return c, [a, b, 5, 7, 9, 11]


def reset_stream():
    # A body cut off by RST_STREAM, then a request on the same connection.
    c = Client()
    s = c.request("POST", "/cart/big", [("content-length", "100000")], end=False)
    c.data(s, b"x" * 1000)
    c.conn.reset_stream(s, ErrorCodes.CANCEL)
    c.request("GET", "/login/after-reset")
    return c, [3]


def rapid_reset():
    c = Client()
    for i in range(8):
        s = c.request("GET", f"/login/{i}")
        c.conn.reset_stream(s, ErrorCodes.CANCEL)
    c.request("GET", "/login/last")
    return c, [17]


def ping_window_priority():
    c = Client()
    c.conn.ping(b"12345678")
    c.conn.increment_flow_control_window(4096)
    s = c.request("GET", "/login/p", priority_weight=200, priority_depends_on=0,
                  priority_exclusive=True)
    c.conn.increment_flow_control_window(1024, stream_id=s)
    c.conn.prioritize(3, weight=16, depends_on=s, exclusive=False)
    c.request("GET", "/cart/q", priority_weight=8, priority_depends_on=s)
    return c, [1, 3]


def zero_window():
    # The client opens no window at first: the response's DATA waits for WINDOW_UPDATE.
    c = Client({SettingCodes.INITIAL_WINDOW_SIZE: 0})
    s = c.request("GET", "/login/zero")
    c.frame(WindowUpdateFrame(s, window_increment=40))
    c.frame(WindowUpdateFrame(s, window_increment=65535))
    return c, [1]


def small_table_and_frames():
    # A smaller HPACK table (a size update in the next block) and settings changed mid-way.
    c = Client({SettingCodes.HEADER_TABLE_SIZE: 0, SettingCodes.ENABLE_PUSH: 0})
    c.request("GET", "/login/t1", [("x-a", "1")])
    c.conn.encoder.header_table_size = 64
    c.request("GET", "/login/t2", [("x-a", "1"), ("x-b", "2")])
    c.conn.update_settings({SettingCodes.MAX_FRAME_SIZE: 16384 * 2})
    return c, [1, 3]


def goaway():
    c = Client()
    c.request("GET", "/login/bye")
    c.conn.close_connection(ErrorCodes.NO_ERROR, last_stream_id=0)
    return c, [1]


def too_many_fields():
    # 120 fields (an index each in HPACK's table once the first went in): albemu's 431.
    c = Client()
    c.request("GET", "/login/fields", [("x-many", "v")] * 120)
    return c, [1]


def content_length_mismatch():
    c = Client()
    s = c.request("POST", "/cart/mismatch", [("content-length", "3")], end=False)
    c.data(s, b"12345", end=True)
    c.request("GET", "/login/next")
    return c, [3]


def connect():
    c = Client()
    c.conn.send_headers(1, [(":method", "CONNECT"), (":authority", "backend.internal:443")],
                        end_stream=False)
    c.request("GET", "/login/after-connect")
    return c, [1, 3]


def empty_data_flood():
    # Empty DATA frames that end nothing: albemu allows 100 in a row, then GOAWAY.
    c = Client()
    s = c.request("POST", "/cart/empty", end=False)
    for _ in range(101):
        c.frame(DataFrame(s, data=b""))
    return c, []


def stream_misuse():
    # A DATA frame on a stream never opened, a RST_STREAM on an idle one, an even stream id:
    # the first is a connection error, whose GOAWAY ends the connection before the GET that
    # came in the same read is answered.
    c = Client()
    c.request("GET", "/login/ok")
    c.frame(DataFrame(7, data=b"stray"))
    c.frame(RstStreamFrame(9, error_code=ErrorCodes.CANCEL))
    c.frame(HeadersFrame(2, data=c.conn.encoder.encode([(":method", "GET")]),
                         flags=["END_HEADERS", "END_STREAM"]))
    c.frame(GoAwayFrame(0, last_stream_id=1, error_code=ErrorCodes.PROTOCOL_ERROR))
    return c, []


SEEDS = [get, get_by_host, post_body, post_without_length, padded_data, trailers, grpc,
         continuation, several_streams, reset_stream, rapid_reset, ping_window_priority,
         zero_window, small_table_and_frames, goaway, too_many_fields,
         content_length_mismatch, connect, empty_data_flood, stream_misuse]


def seed_name(function):
    return function.__name__.replace("_", "-")


def write(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    for function in SEEDS:
        client, _ = function()
        with open(os.path.join(out_dir, seed_name(function)), "wb") as f:
            f.write(client.bytes())
    print(f"{len(SEEDS)} seeds in {out_dir}")


def answer_of(binary, path):
    """What albemu wrote back for the seed at `path` (the target copies it to stderr). Leak
    detection would run the input a second time."""
    env = dict(os.environ, ALBEMU_FUZZ_PRINT="1")
    run = subprocess.run([binary, "-detect_leaks=0", path], env=env, capture_output=True, check=True)
    name = re.escape(path.encode())
    match = re.search(b"Running: " + name + b"\n(.*)Executed " + name + b" in ", run.stderr,
                      re.DOTALL)
    assert match, run.stderr.decode(errors="replace")
    return match.group(1)


def frames_of(answer):
    """Server frames as lines; the streams that got a response head, with their status."""
    decoder = Decoder()
    decoder.max_header_list_size = 1 << 20
    lines, statuses, block = [], {}, bytearray()
    while len(answer) >= 9:
        frame, length = Frame.parse_frame_header(memoryview(answer[:9]))
        if len(answer) < 9 + length:
            lines.append(f"(a frame cut short: {len(answer) - 9} of {length} bytes)")
            break
        frame.parse_body(memoryview(answer[9:9 + length]))
        answer = answer[9 + length:]
        line = f"{type(frame).__name__} stream {frame.stream_id} {sorted(frame.flags)}"
        if isinstance(frame, (HeadersFrame, ContinuationFrame)):
            block += frame.data
            if "END_HEADERS" in frame.flags:
                fields = decoder.decode(bytes(block))
                block.clear()
                line += " " + " ".join(f"{k}: {v}" for k, v in fields if k.startswith(":"))
                for name, value in fields:
                    if name == ":status":
                        statuses[frame.stream_id] = value
        elif isinstance(frame, DataFrame):
            line += f" {len(frame.data)} bytes"
        elif isinstance(frame, (RstStreamFrame, GoAwayFrame)):
            line += f" {ErrorCodes(frame.error_code).name}"
        lines.append(line)
    return lines, statuses


def check(binary):
    missing = []
    for function in SEEDS:
        name = seed_name(function)
        _, expected = function()
        lines, statuses = frames_of(answer_of(binary, os.path.join(CORPUS, name)))
        print(f"== {name}")
        for line in lines:
            print("  " + line)
        missing += [f"{name}: stream {s}" for s in expected if s not in statuses]
    if missing:
        print("no response head: " + ", ".join(missing))
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        sys.exit(check(os.path.abspath(sys.argv[2])))
    write(sys.argv[1] if len(sys.argv) > 1 else CORPUS)

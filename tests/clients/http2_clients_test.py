#!/usr/bin/python3
"""HTTP/2 from real clients through albemu (TLS, ALPN h2).

Debian's python3-httpx (with python3-h2) sends GETs, uploads and many concurrent streams on one
connection, and reads answers that come before an upload ends; python3-grpcio calls a grpcio
service behind albemu (h2c) and gets albemu's own answers in gRPC's form (a status and details,
not an HTTP error), and a call through an HTTP/1.1 hop fails for want of trailers; an h2c
service built on python3-h2 refuses streams (retried under `refused-stream`) and serves
python3-requests' HTTP/1.1; a raw client built on python3-h2 checks what a library hides: the
431 for a head over the limit, a stream the client resets mid-upload (the connection goes on),
a broken frame (GOAWAY, albemu keeps serving), the GOAWAY of the keepalive timeout, of a reload
that replaces the listener (the open stream finishes) and of the drain on SIGTERM.

  /usr/bin/python3 tests/clients/http2_clients_test.py --albemu build/albemu
"""

import argparse
import asyncio
from concurrent import futures
import os
import socket
import ssl
import sys
import signal
import tempfile
import threading
import time

import grpc
import h2.config
import h2.connection
import h2.errors
import h2.events
import httpx
import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from early_answers_test import CONFIG, MIB, Albemu, Backend  # noqa: E402  (the same LB)

# The same load balancer, plus a gRPC service spoken to in h2c (useHttp2) under /echo.Echo/.
GRPC_CONFIG = CONFIG.replace("""cloudRunServices:
""", """cloudRunServices:
  - name: grpc
    url: http://127.0.0.1:{grpc_port}
    useHttp2: true
  - name: h2c-app
    url: http://127.0.0.1:{h2c_port}
    useHttp2: true
  - name: h2c-burst
    url: http://127.0.0.1:{h2c_burst_port}
    useHttp2: true
""").replace("""networkEndpointGroups:
""", """networkEndpointGroups:
  - name: grpc-neg
    networkEndpointType: SERVERLESS
    cloudRun:
      service: grpc
  - name: h2c-neg
    networkEndpointType: SERVERLESS
    cloudRun:
      service: h2c-app
  - name: h2c-burst-neg
    networkEndpointType: SERVERLESS
    cloudRun:
      service: h2c-burst
""").replace("""backendServices:
""", """backendServices:
  - name: grpc-bs
    loadBalancingScheme: INTERNAL_MANAGED
    protocol: H2C
    backends:
      - group: grpc-neg
  - name: grpc-http1-hop
    loadBalancingScheme: INTERNAL_MANAGED
    protocol: HTTP
    backends:
      - group: grpc-neg
  - name: h2c-bs
    loadBalancingScheme: INTERNAL_MANAGED
    protocol: HTTP2
    backends:
      - group: h2c-neg
  - name: h2c-burst-bs
    loadBalancingScheme: INTERNAL_MANAGED
    protocol: HTTP2
    backends:
      - group: h2c-burst-neg
""").replace("""        routeRules:
""", """        routeRules:
          - priority: 8
            matchRules:
              - fullPathMatch: /echo.Echo/FlakyOnce
            service: grpc-bs
            routeAction:
              retryPolicy:
                retryConditions: [unavailable]
                numRetries: 2
          - priority: 9
            matchRules:
              - prefixMatch: /echo.Echo/
            service: grpc-bs
          - priority: 10
            matchRules:
              - prefixMatch: /http1-hop/
            service: grpc-http1-hop
            routeAction:
              urlRewrite:
                pathPrefixRewrite: /
          - priority: 11
            matchRules:
              - prefixMatch: /refused-retry/
            service: h2c-bs
            routeAction:
              retryPolicy:
                retryConditions: [refused-stream]
                numRetries: 1
          - priority: 12
            matchRules:
              - prefixMatch: /refused/
            service: h2c-bs
          - priority: 13
            matchRules:
              - prefixMatch: /h2c/
            service: h2c-bs
          - priority: 14
            matchRules:
              - prefixMatch: /h2c-burst/
            service: h2c-burst-bs
""")


class H2cService(Backend):
    """An h2c service (python3-h2, prior knowledge). It refuses the first stream of each path
    under /refused with RST_STREAM(REFUSED_STREAM); it answers every other request, once its
    body has ended, with "h2c METHOD PATH BYTES" and a trailer. Backend's listener and
    request counts (requests_for) serve it."""

    def __init__(self):
        self.connections = 0  # connections albemu opened to it
        super().__init__()

    def _serve(self, sock):
        with self.lock:
            self.connections += 1
        try:
            self._serve_h2c(sock)
        except OSError:
            pass

    def _serve_h2c(self, sock):
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        conn.initiate_connection()
        streams = {}  # stream id -> [method, path, body bytes]
        with sock:
            sock.sendall(conn.data_to_send())
            while data := sock.recv(65536):
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.RequestReceived):
                        fields = dict(event.headers)
                        path = fields[b":path"].decode()
                        with self.lock:
                            self.paths[path] = self.paths.get(path, 0) + 1
                            refuse = path.startswith("/refused") and self.paths[path] == 1
                        if refuse:
                            conn.reset_stream(event.stream_id,
                                              h2.errors.ErrorCodes.REFUSED_STREAM)
                        else:
                            streams[event.stream_id] = [fields[b":method"].decode(), path, 0]
                    elif isinstance(event, h2.events.DataReceived):
                        conn.acknowledge_received_data(event.flow_controlled_length,
                                                       event.stream_id)
                        if event.stream_id in streams:
                            streams[event.stream_id][2] += len(event.data)
                    elif isinstance(event, h2.events.StreamEnded) and event.stream_id in streams:
                        method, path, size = streams.pop(event.stream_id)
                        conn.send_headers(event.stream_id, [(":status", "200")])
                        conn.send_data(event.stream_id, f"h2c {method} {path} {size}".encode())
                        conn.send_headers(event.stream_id, [("x-h2c-trailer", "done")],
                                          end_stream=True)
                sock.sendall(conn.data_to_send())


async def burst_to_a_new_service(albemu, burst_service, failures, count=100):
    """100 streams at once to an h2c service albemu has no connection to yet: they wait for the
    one connection the first of them opens, instead of opening one each."""
    async with httpx.AsyncClient(http2=True, verify=albemu.cert, timeout=60,
                                 limits=httpx.Limits(max_connections=1)) as client:
        responses = await asyncio.gather(
            *(client.get(albemu.url("https", f"/h2c-burst/{i}")) for i in range(count)))
    wrong = [(i, r.status_code, r.text) for i, r in enumerate(responses)
             if r.status_code != 200 or r.text != f"h2c GET /h2c-burst/{i} 0"]
    check(failures, not wrong, f"burst to a new h2c service: wrong answers {wrong[:5]}")
    check(failures, burst_service.connections == 1,
          f"burst to a new h2c service: {burst_service.connections} connections")


def refused_streams(albemu, h2c_service, failures):
    """A stream the h2c service refuses is retried under `refused-stream`, else a 502."""
    with httpx.Client(http2=True, verify=albemu.cert, timeout=30) as client:
        response = client.get(albemu.url("https", "/refused-retry/a"))
        check(failures, response.status_code == 200 and
              response.text == "h2c GET /refused-retry/a 0",
              f"refused stream, retried: {response.status_code} {response.text[:100]!r}")
        check(failures, h2c_service.requests_for("/refused-retry/a") == 2,
              f"refused stream, retried: {h2c_service.requests_for('/refused-retry/a')} attempts")
        response = client.get(albemu.url("https", "/refused/b"))
        check(failures, response.status_code == 502,
              f"refused stream, no retry policy: {response.status_code}")
        check(failures, h2c_service.requests_for("/refused/b") == 1,
              f"refused stream, no retry policy: {h2c_service.requests_for('/refused/b')} attempts")


def raw_frames(sock):
    """(type, flags, stream id, payload) of each frame read from `sock` until it closes."""
    buffer = b""
    while True:
        while len(buffer) >= 9 and len(buffer) >= 9 + int.from_bytes(buffer[:3], "big"):
            length = int.from_bytes(buffer[:3], "big")
            yield (buffer[3], buffer[4], int.from_bytes(buffer[5:9], "big") & 0x7FFFFFFF,
                   buffer[9:9 + length])
            buffer = buffer[9 + length:]
        data = sock.recv(65536)
        if not data:
            return
        buffer += data


def first_goaway(client):
    """The GOAWAY the connection gets next (None if it closes without one)."""
    while (events := client.events()) is not None:
        for event in events:
            if isinstance(event, h2.events.ConnectionTerminated):
                return event
    return None


def goaways_on_idle_and_reload(binary, backend_port, failures):
    """The target proxy's keepalive timeout (5 s, the least GCP takes) ends an idle HTTP/2
    connection with GOAWAY(NO_ERROR). A reload that replaces a forwarding rule's listener (its
    IPAddress changed) drains that rule's connections: the client gets GOAWAY(NO_ERROR) naming
    its open stream, and the upload on that stream still completes."""
    config = CONFIG.replace("""    sslCertificates: [cert]
""", """    sslCertificates: [cert]
    httpKeepAliveTimeoutSec: 5
""")
    with tempfile.TemporaryDirectory() as work:
        albemu = Albemu(binary, work, backend_port, config)
        try:
            idle = RawH2(albemu)
            status, _ = idle.response(idle.headers("/before-idle"))
            started = time.monotonic()
            goaway = first_goaway(idle)
            waited = time.monotonic() - started
            check(failures, status == 200 and goaway is not None and goaway.error_code == 0 and
                  4.5 <= waited < 9, f"keepalive timeout: {status}, {goaway} after {waited:.1f} s")
            idle.close()

            client = RawH2(albemu)
            stream_id = client.headers("/upload", method="POST", end_stream=False,
                                       extra=[("content-length", str(2 * 16384))])
            client.h2.send_data(stream_id, b"u" * 16384)
            # A PING after them: its ACK means albemu parsed the HEADERS, so the stream is open
            # when the reload drains the connection (else the GOAWAY rightly names no stream).
            client.h2.ping(b"syncsync")
            client.flush()
            acked = False
            while not acked and (events := client.events()) is not None:
                acked = any(isinstance(e, h2.events.PingAckReceived) for e in events)
            check(failures, acked, "reload: no PING ACK before the reload")
            with open(albemu.config) as config:
                text = config.read()
            rule = text.index("- name: https-rule")
            with open(albemu.config, "w") as config:
                config.write(text[:rule] + text[rule:].replace("127.0.0.1", "127.0.0.2", 1))
            albemu.process.send_signal(signal.SIGHUP)
            goaway = first_goaway(client)
            check(failures, goaway is not None and goaway.error_code == 0 and
                  goaway.last_stream_id == stream_id, f"reload: the connection got {goaway}")
            # python3-h2 takes a GOAWAY for the connection's end: the rest of the stream is
            # framed by hand, and the answer decoded with the connection's HPACK state.
            client.sock.sendall((16384).to_bytes(3, "big") + b"\x00\x01" +
                                stream_id.to_bytes(4, "big") + b"u" * 16384)
            status, body = None, b""
            for kind, flags, frame_stream, payload in raw_frames(client.sock):
                if frame_stream != stream_id:
                    continue
                if kind == 1:  # HEADERS
                    fields = dict(client.h2.decoder.decode(payload, raw=True))
                    status = int(fields[b":status"])
                elif kind == 0:  # DATA
                    body += payload
                if flags & 1:  # END_STREAM
                    break
            check(failures, status == 200 and body == b"body-bytes: 32768",
                  f"reload: the open stream after GOAWAY: {status} {body!r}")
            client.close()
        finally:
            code = albemu.stop()
        check(failures, code == 0, f"reload: albemu exited {code}")


def http1_client_to_h2c_service(albemu, failures):
    """HTTP/1.1 clients (python3-requests, plain and TLS) reach an h2c service: the upload is
    streamed to it as DATA frames and its answer comes back as HTTP/1.1."""
    body = b"u" * MIB
    for scheme in ("http", "https"):
        with requests.Session() as session:
            response = session.post(albemu.url(scheme, "/h2c/up"), data=body,
                                    verify=albemu.cert, timeout=30)
        check(failures, response.status_code == 200 and
              response.text == f"h2c POST /h2c/up {MIB}" and response.raw.version == 11,
              f"HTTP/1.1 ({scheme}) to h2c: {response.status_code} {response.text[:100]!r}")


def check(failures, condition, message):
    if not condition:
        failures.append(message)


# ---- httpx


def with_httpx(albemu, failures):
    with httpx.Client(http2=True, verify=albemu.cert, timeout=30) as client:
        response = client.get(albemu.url("https", "/hello"))
        check(failures, response.http_version == "HTTP/2",
              f"GET: negotiated {response.http_version}")
        check(failures, response.status_code == 200, f"GET: status {response.status_code}")
        check(failures, response.headers.get("via") == "1.1 google",
              f"GET: via {response.headers.get('via')!r}")

        body = b"u" * (4 * MIB)
        response = client.post(albemu.url("https", "/upload"), content=body)
        check(failures, response.status_code == 200 and response.text == f"body-bytes: {len(body)}",
              f"4 MiB upload: {response.status_code} {response.text[:100]!r}")

        # Answers that come before the upload ends: albemu's own and the service's.
        for path, status in (("/denied/x", 403), ("/fault/x", 503), ("/nosuch/x", 503),
                             ("/early-keep/413", 413), ("/early-close/413", 413)):
            response = client.post(albemu.url("https", path), content=body)
            check(failures, response.status_code == status,
                  f"early answer {path}: {response.status_code}")
        # The connection is still good after them.
        response = client.get(albemu.url("https", "/after"))
        check(failures, response.status_code == 200, f"GET after early answers: {response}")


async def concurrent_streams(albemu, failures, count=100):
    limits = httpx.Limits(max_connections=1)
    async with httpx.AsyncClient(http2=True, verify=albemu.cert, timeout=60,
                                 limits=limits) as client:
        responses = await asyncio.gather(
            *(client.post(albemu.url("https", f"/c{i}"), content=b"x" * i) for i in range(count)))
    wrong = [(i, r.status_code, r.text) for i, r in enumerate(responses)
             if r.status_code != 200 or r.text != f"body-bytes: {i}"]
    check(failures, not wrong, f"{count} concurrent streams: wrong answers {wrong[:5]}")
    versions = {r.http_version for r in responses}
    check(failures, versions == {"HTTP/2"}, f"concurrent streams: versions {versions}")


# ---- gRPC (python3-grpcio): albemu's own answers in gRPC's form


def grpc_answers(albemu, failures):
    """Calls that albemu answers itself end with a gRPC status, not an HTTP error: 503 ->
    UNAVAILABLE, 403 -> PERMISSION_DENIED, the reason in the status details."""
    with open(albemu.cert, "rb") as cert:
        credentials = grpc.ssl_channel_credentials(root_certificates=cert.read())
    target = f"localhost:{albemu.ports['https']}"
    with grpc.secure_channel(target, credentials) as channel:
        for method, code, details in (
                ("/nosuch/pkg.Service/Call", grpc.StatusCode.UNAVAILABLE, "no healthy upstream"),
                ("/fault/pkg.Service/Call", grpc.StatusCode.UNAVAILABLE, "fault filter abort"),
                ("/denied/pkg.Service/Call", grpc.StatusCode.PERMISSION_DENIED,
                 "denied_by_security_policy")):
            call = channel.unary_unary(method)
            try:
                call(b"request", timeout=30)
                failures.append(f"gRPC {method}: the call succeeded")
            except grpc.RpcError as error:
                check(failures, error.code() == code and error.details() == details,
                      f"gRPC {method}: {error.code()} {error.details()!r}")


# ---- gRPC end to end: grpcio client -> albemu (TLS, h2) -> grpcio service (h2c)


# Messages up to 8 MiB both ways (gRPC's default limit is 4 MiB).
GRPC_OPTIONS = [("grpc.max_receive_message_length", 8 * MIB),
                ("grpc.max_send_message_length", 8 * MIB)]


FLAKY_LOCK = threading.Lock()
FLAKY_CALLS = {}  # request -> calls the service got


def start_grpc_service():
    """A grpcio server on 127.0.0.1 in cleartext HTTP/2, echoing bytes in four call shapes."""
    def unary(request, context):
        metadata = dict(context.invocation_metadata())
        context.set_trailing_metadata((("x-trailer", "from-service"),))
        # The client's deadline (grpc-timeout) reached the service.
        remaining = context.time_remaining()
        deadline = b"|deadline" if remaining is not None else b""
        return request + b"|" + metadata.get("x-meta", "").encode() + deadline

    def server_stream(request, context):
        for i in range(3):
            yield request + b"%d" % i

    def client_stream(requests, context):
        return b"+".join(requests)

    def bidi(requests, context):
        for request in requests:
            yield request.upper()

    def fail(request, context):
        context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "quota gone")

    def flaky_once(request, context):
        # UNAVAILABLE (a trailers-only answer) the first time a request is seen.
        with FLAKY_LOCK:
            FLAKY_CALLS[request] = FLAKY_CALLS.get(request, 0) + 1
            first = FLAKY_CALLS[request] == 1
        if first:
            context.abort(grpc.StatusCode.UNAVAILABLE, "warming up")
        return b"ok:" + request

    handlers = {
        "Unary": grpc.unary_unary_rpc_method_handler(unary),
        "ServerStream": grpc.unary_stream_rpc_method_handler(server_stream),
        "ClientStream": grpc.stream_unary_rpc_method_handler(client_stream),
        "Bidi": grpc.stream_stream_rpc_method_handler(bidi),
        "Fail": grpc.unary_unary_rpc_method_handler(fail),
        "FlakyOnce": grpc.unary_unary_rpc_method_handler(flaky_once),
    }
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16), options=GRPC_OPTIONS)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("echo.Echo", handlers),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port


def grpc_end_to_end(albemu, failures):
    with open(albemu.cert, "rb") as cert:
        credentials = grpc.ssl_channel_credentials(root_certificates=cert.read())
    with grpc.secure_channel(f"localhost:{albemu.ports['https']}", credentials,
                             options=GRPC_OPTIONS) as channel:
        unary = channel.unary_unary("/echo.Echo/Unary")
        reply, call = unary.with_call(b"ping", metadata=(("x-meta", "m1"),), timeout=30)
        check(failures, reply == b"ping|m1|deadline", f"gRPC unary: {reply!r}")
        trailers = dict(call.trailing_metadata())
        check(failures, trailers.get("x-trailer") == "from-service",
              f"gRPC unary: trailing metadata {trailers}")

        replies = list(channel.unary_stream("/echo.Echo/ServerStream")(b"s", timeout=30))
        check(failures, replies == [b"s0", b"s1", b"s2"], f"gRPC server streaming: {replies}")

        reply = channel.stream_unary("/echo.Echo/ClientStream")(iter([b"a", b"b", b"c"]),
                                                                 timeout=30)
        check(failures, reply == b"a+b+c", f"gRPC client streaming: {reply!r}")

        replies = list(channel.stream_stream("/echo.Echo/Bidi")(iter([b"x", b"y"]), timeout=30))
        check(failures, replies == [b"X", b"Y"], f"gRPC bidirectional streaming: {replies}")

        try:
            channel.unary_unary("/echo.Echo/Fail")(b"", timeout=30)
            failures.append("gRPC error from the service: the call succeeded")
        except grpc.RpcError as error:
            check(failures, error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and
                  error.details() == "quota gone",
                  f"gRPC error from the service: {error.code()} {error.details()!r}")

        # The route retries `unavailable`: the service's trailers-only UNAVAILABLE is retried.
        reply = channel.unary_unary("/echo.Echo/FlakyOnce")(b"r1", timeout=30)
        with FLAKY_LOCK:
            calls = FLAKY_CALLS.get(b"r1")
        check(failures, reply == b"ok:r1" and calls == 2,
              f"gRPC retry on unavailable: {reply!r} after {calls} calls")

        # Through a backend service whose protocol is HTTP, the load balancer reaches Cloud Run
        # over HTTP/1.1: the service answers, but its trailers (grpc-status) are lost on the
        # way, so the call fails as it does behind GCP's load balancer.
        try:
            channel.unary_unary("/http1-hop/echo.Echo/Unary")(b"lost", timeout=30)
            failures.append("gRPC through an HTTP/1.1 hop: the call succeeded")
        except grpc.RpcError as error:
            check(failures, error.code() in (grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL),
                  f"gRPC through an HTTP/1.1 hop: {error.code()} {error.details()!r}")

        # A 4 MiB message each way.
        big = bytes(range(256)) * (4 * MIB // 256)
        reply = unary(big, timeout=60)
        check(failures, reply == big + b"||deadline", f"4 MiB gRPC message: {len(reply)} bytes")

        # 200 calls at once on the one channel: streams of one client connection, and of
        # albemu's pooled h2c connections to the service.
        calls = [unary.future(b"%d" % i, timeout=60) for i in range(200)]
        replies = [call.result() for call in calls]
        check(failures, replies == [b"%d||deadline" % i for i in range(200)],
              f"200 concurrent gRPC calls: {replies[:4]}")


# ---- a raw h2 client


class RawH2:
    """One TLS connection speaking HTTP/2 through python3-h2, events read on demand."""

    def __init__(self, albemu):
        context = ssl.create_default_context(cafile=albemu.cert)
        context.set_alpn_protocols(["h2"])
        raw = socket.create_connection(("127.0.0.1", albemu.ports["https"]), timeout=30)
        self.sock = context.wrap_socket(raw, server_hostname="localhost")
        assert self.sock.selected_alpn_protocol() == "h2"
        self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        self.h2.initiate_connection()
        self.flush()
        self.authority = f"localhost:{albemu.ports['https']}"

    def flush(self):
        self.sock.sendall(self.h2.data_to_send())

    def headers(self, path, method="GET", extra=(), end_stream=True):
        stream_id = self.h2.get_next_available_stream_id()
        self.h2.send_headers(stream_id, [(":method", method), (":path", path),
                                         (":scheme", "https"), (":authority", self.authority),
                                         *extra], end_stream=end_stream)
        self.flush()
        return stream_id

    def events(self):
        """The next events (maybe none); None once the connection closed."""
        data = self.sock.recv(65536)
        if not data:
            return None
        events = self.h2.receive_data(data)
        self.flush()
        return events

    def response(self, stream_id):
        """(status, body) of `stream_id`, or (None, why) if it was reset or the connection
        ended."""
        status, body = None, b""
        while True:
            events = self.events()
            if events is None:
                return None, "connection closed"
            for event in events:
                if getattr(event, "stream_id", None) != stream_id:
                    continue
                if isinstance(event, h2.events.ResponseReceived):
                    status = int(dict(event.headers)[b":status"])
                elif isinstance(event, h2.events.DataReceived):
                    body += event.data
                    self.h2.acknowledge_received_data(event.flow_controlled_length, stream_id)
                    self.flush()
                elif isinstance(event, h2.events.StreamEnded):
                    return status, body
                elif isinstance(event, h2.events.StreamReset):
                    return None, f"reset {event.error_code}"

    def close(self):
        self.sock.close()


def head_over_the_limit(albemu, failures):
    """80 KiB of fields in one head: 431, as for HTTP/1 (python3-h2 does not hold back a head
    over the SETTINGS_MAX_HEADER_LIST_SIZE albemu announces; curl does)."""
    client = RawH2(albemu)
    fields = [(f"x-big-{i}", "a" * 4096) for i in range(20)]
    status, body = client.response(client.headers("/big", extra=fields))
    check(failures, status == 431, f"80 KiB head: {status} {body!r}")
    status, _ = client.response(client.headers("/small"))
    check(failures, status == 200, f"a request after the 431: {status}")
    client.close()


def reset_mid_upload(albemu, failures):
    """The client resets its stream halfway through an upload: the connection goes on."""
    client = RawH2(albemu)
    stream_id = client.headers("/upload", method="POST", end_stream=False,
                               extra=[("content-length", str(MIB))])
    client.h2.send_data(stream_id, b"u" * 16384)
    client.h2.reset_stream(stream_id)
    client.flush()
    status, body = client.response(client.headers("/next"))
    check(failures, status == 200, f"a request after a reset upload: {status} {body!r}")
    client.close()


def broken_frame(albemu, failures):
    """Bytes that are no HTTP/2 frame after the preface: GOAWAY, and albemu serves on."""
    client = RawH2(albemu)
    # A WINDOW_UPDATE of 0 for the connection: a connection error (RFC 9113 6.9).
    client.sock.sendall(b"\x00\x00\x04\x08\x00\x00\x00\x00\x00" + b"\x00\x00\x00\x00")
    goaway = None
    while (events := client.events()) is not None:
        goaway = next((e for e in events if isinstance(e, h2.events.ConnectionTerminated)), goaway)
        if goaway:
            break
    check(failures, goaway is not None and goaway.error_code != 0,
          f"broken frame: GOAWAY {goaway}")
    client.close()
    again = RawH2(albemu)
    status, _ = again.response(again.headers("/again"))
    check(failures, status == 200, f"a new connection after a broken one: {status}")
    again.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--albemu", required=True, help="path of the albemu binary")
    args = parser.parse_args()

    backend = Backend()
    grpc_service, grpc_port = start_grpc_service()
    h2c_service = H2cService()
    burst_service = H2cService()
    failures = []
    with tempfile.TemporaryDirectory() as work:
        albemu = Albemu(args.albemu, work, backend.port, GRPC_CONFIG, grpc_port=grpc_port,
                        h2c_port=h2c_service.port,
                        h2c_burst_port=burst_service.port)
        idle = None
        try:
            with_httpx(albemu, failures)
            asyncio.run(concurrent_streams(albemu, failures))
            grpc_answers(albemu, failures)
            grpc_end_to_end(albemu, failures)
            refused_streams(albemu, h2c_service, failures)
            http1_client_to_h2c_service(albemu, failures)
            asyncio.run(burst_to_a_new_service(albemu, burst_service, failures))
            goaways_on_idle_and_reload(args.albemu, backend.port, failures)
            head_over_the_limit(albemu, failures)
            reset_mid_upload(albemu, failures)
            broken_frame(albemu, failures)
            # An idle connection when albemu drains: it gets a GOAWAY, then the close.
            idle = RawH2(albemu)
            status, _ = idle.response(idle.headers("/before-drain"))
            check(failures, status == 200, f"GET before the drain: {status}")
        finally:
            code = albemu.stop()
        if idle:
            events = []
            while (batch := idle.events()) is not None:
                events += batch
            goaways = [e for e in events if isinstance(e, h2.events.ConnectionTerminated)]
            check(failures, len(goaways) == 1 and goaways[0].error_code == 0,
                  f"drain: the idle connection got {events}")
        if code != 0:
            failures.append(f"albemu exited {code} after SIGTERM")
    grpc_service.stop(None)
    for failure in failures:
        print("FAIL", failure)
    print(f"HTTP/2 clients (httpx, grpcio, h2): {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

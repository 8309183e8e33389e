#!/usr/bin/python3
"""The h2c stand-in's gRPC echo service, called by Debian's python3-grpcio.

`albemu standin --http2` is called directly (cleartext, as the load balancer reaches a service
deployed with --use-http2), then through `albemu serve` over TLS, whose config declares the
service with `useHttp2: true` and no URL, so that albemu starts an h2c stand-in for it. Each
time: unary, server-, client- and bidirectional streaming calls (the last one message by
message: each echo comes back before the next message is sent), a 1 MiB message, 50
concurrent calls, the stand-in's identity in the initial metadata, the status hook
(x-standin-grpc-status, x-standin-grpc-message) and the delay hook against a deadline. Methods
are generic (no protos): requests and responses are bytes as they are.

  /usr/bin/python3 tests/clients/standin_grpc_test.py --albemu build/albemu
"""

import argparse
import json
import os
import queue
import re
import signal
import ssl
import subprocess
import sys
import tempfile
import urllib.request

import grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from early_answers_test import Albemu  # noqa: E402  (albemu serve with a self-signed cert)

MIB = 1024 * 1024

CONFIG = """\
project: p
region: r
cloudRunServices:
  - name: grpc-echo
    useHttp2: true
networkEndpointGroups:
  - name: grpc-echo-neg
    networkEndpointType: SERVERLESS
    cloudRun:
      service: grpc-echo
backendServices:
  - name: grpc-echo-bs
    loadBalancingScheme: INTERNAL_MANAGED
    protocol: H2C
    backends:
      - group: grpc-echo-neg
urlMaps:
  - name: map
    defaultService: grpc-echo-bs
sslCertificates:
  - name: cert
    certificateFile: {cert}
    privateKeyFile: {key}
targetHttpsProxies:
  - name: https-proxy
    urlMap: map
    sslCertificates: [cert]
forwardingRules:
  - name: https-rule
    loadBalancingScheme: INTERNAL_MANAGED
    IPAddress: 127.0.0.1
    IPProtocol: TCP
    portRange: "443"
    target: regions/r/targetHttpsProxies/https-proxy
"""


def check(failures, label, condition, message):
    if not condition:
        failures.append(f"{label}: {message}")


def start_standin(binary):
    """`albemu standin --http2` on a free loopback port; (process, "127.0.0.1:port")."""
    env = dict(os.environ, K_SERVICE="grpc-echo", K_REVISION="grpc-echo-00007-h2c")
    process = subprocess.Popen(
        [binary, "standin", "--http2", "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE, text=True, env=env)
    line = process.stdout.readline()
    match = re.search(r"listening on (\S+) \(h2c\)", line)
    if not match:
        sys.exit(f"the stand-in did not start (exit {process.wait()}): {line!r}")
    return process, match.group(1)


def calls(channel, failures, label, revision):
    """Every check on one channel; `revision` is the stand-in's expected revision."""
    say = channel.unary_unary("/echo.Echo/Say")
    reply, call = say.with_call(b"hello", timeout=30)
    check(failures, label, reply == b"hello", f"unary: {reply!r}")
    check(failures, label, call.code() == grpc.StatusCode.OK, f"unary: {call.code()}")
    metadata = dict(call.initial_metadata())
    check(failures, label, metadata.get("x-standin-service") == "grpc-echo" and
          metadata.get("x-standin-revision") == revision, f"initial metadata {metadata}")
    reply = say(b"", timeout=30)
    check(failures, label, reply == b"", f"unary, empty message: {reply!r}")

    # Any method name: the service is generic.
    replies = list(channel.unary_stream("/other.Package/Watch")(b"one", timeout=30))
    check(failures, label, replies == [b"one"], f"server streaming: {replies}")

    # Client streaming: the echo answers each message, so a call that expects one answer
    # sends one message after a stream of none.
    reply = channel.stream_unary("/echo.Echo/Collect")(iter([b"only"]), timeout=30)
    check(failures, label, reply == b"only", f"client streaming: {reply!r}")

    # Bidirectional, message by message: the next message goes only once the previous one came
    # back, so the echo must answer as messages arrive, not at the end of the request.
    outbox = queue.Queue()

    def requests():
        while (message := outbox.get()) is not None:
            yield message

    responses = channel.stream_stream("/echo.Echo/Chat")(requests(), timeout=30)
    echoed = []
    for i in range(5):
        outbox.put(b"message %d" % i)
        echoed.append(next(responses))
    outbox.put(None)
    rest = list(responses)
    check(failures, label, echoed == [b"message %d" % i for i in range(5)] and rest == [],
          f"bidirectional streaming: {echoed} then {rest}")
    check(failures, label, responses.code() == grpc.StatusCode.OK,
          f"bidirectional streaming: {responses.code()}")

    big = bytes(range(256)) * (MIB // 256)
    reply = say(big, timeout=60)
    check(failures, label, reply == big, f"1 MiB message: {len(reply)} bytes back")

    futures = [say.future(b"%d" % i, timeout=60) for i in range(50)]
    replies = [future.result() for future in futures]
    check(failures, label, replies == [b"%d" % i for i in range(50)],
          f"50 concurrent calls: {replies[:4]}")

    # The status hook, on a unary and on a streaming call.
    hook = (("x-standin-grpc-status", "5"), ("x-standin-grpc-message", "no such item"))
    try:
        say(b"find me", metadata=hook, timeout=30)
        failures.append(f"{label}: the status hook: the call succeeded")
    except grpc.RpcError as error:
        check(failures, label, error.code() == grpc.StatusCode.NOT_FOUND and
              error.details() == "no such item",
              f"the status hook: {error.code()} {error.details()!r}")
    stream = channel.stream_stream("/echo.Echo/Chat")(
        iter([b"a", b"b"]), metadata=(("x-standin-grpc-status", "14"),), timeout=30)
    try:
        replies = list(stream)
        failures.append(f"{label}: the status hook on a stream: it succeeded with {replies}")
    except grpc.RpcError as error:
        check(failures, label, error.code() == grpc.StatusCode.UNAVAILABLE,
              f"the status hook on a stream: {error.code()}")

    # The delay hook holds the answer past the client's deadline.
    try:
        say(b"late", metadata=(("x-standin-delay-ms", "3000"),), timeout=0.5)
        failures.append(f"{label}: the delay hook: the call beat its deadline")
    except grpc.RpcError as error:
        check(failures, label, error.code() == grpc.StatusCode.DEADLINE_EXCEEDED,
              f"the delay hook: {error.code()}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--albemu", required=True, help="path of the albemu binary")
    args = parser.parse_args()
    failures = []

    standin, address = start_standin(args.albemu)
    try:
        with grpc.insecure_channel(address) as channel:
            calls(channel, failures, "standin --http2", "grpc-echo-00007-h2c")
    finally:
        standin.send_signal(signal.SIGTERM)
        code = standin.wait(timeout=30)
    check(failures, "standin --http2", code == 0, f"exit {code} after SIGTERM")

    with tempfile.TemporaryDirectory() as work:
        stderr_path = os.path.join(work, "albemu.err")
        with open(stderr_path, "w") as stderr:
            albemu = Albemu(args.albemu, work, config_text=CONFIG, stderr=stderr)
        try:
            with open(stderr_path) as stderr:
                err = stderr.read()
            check(failures, "serve", re.search(
                r"service grpc-echo \(useHttp2, no url\): h2c stand-in on http://127\.0\.0\.1:\d+",
                err), f"no h2c stand-in started: {err!r}")
            with open(albemu.cert, "rb") as cert:
                credentials = grpc.ssl_channel_credentials(root_certificates=cert.read())
            with grpc.secure_channel(f"localhost:{albemu.ports['https']}", credentials) as channel:
                calls(channel, failures, "serve", "grpc-echo-00001-std")
            # Not gRPC: an HTTP/1.1 client, and albemu speaks h2c to the stand-in for it.
            context = ssl.create_default_context(cafile=albemu.cert)
            with urllib.request.urlopen(f"https://localhost:{albemu.ports['https']}/page?x=1",
                                        context=context, timeout=30) as response:
                echo = json.load(response)
            check(failures, "serve", echo["service"] == "grpc-echo" and echo["path"] == "/page"
                  and echo["headers"].get("x-forwarded-proto") == ["https"],
                  f"HTTP/1.1 through albemu to the h2c stand-in: {echo}")
        finally:
            code = albemu.stop()
        check(failures, "serve", code == 0, f"albemu exited {code} after SIGTERM")

    for failure in failures:
        print("FAIL", failure)
    print(f"h2c stand-in gRPC echo (grpcio): {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

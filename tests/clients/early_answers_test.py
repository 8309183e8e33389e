#!/usr/bin/python3
"""Answers that come before an upload ends, read by real clients through albemu.

A service that refuses an upload answers before it has read the body, and so does albemu
itself for a request it will not forward (an unknown service, a rate limit, a security-policy
denial, a fault-injection abort, a redirect). Clients send their whole body before they read
the answer; they only see it if albemu neither resets the connection nor stops reading while
they are still sending. Python `requests` and curl upload 1 MiB and 4 MiB bodies (with
Content-Length and chunked) over HTTP and HTTPS, each case TRIES times, and must read the
answer every time. A raw socket uploads slowly and must read the answer once its upload is out;
a chunk size that overflows 64 bits, in the first packet, is refused before the service sees
anything.

  /usr/bin/python3 tests/clients/early_answers_test.py --albemu build/albemu [--tries 20]
"""

import argparse
import concurrent.futures
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

import requests
import urllib3

urllib3.disable_warnings()

MIB = 1024 * 1024
EARLY_BODY = b"early"

CONFIG = """\
project: p
region: r
cloudRunServices:
  - name: app
    url: http://127.0.0.1:{backend_port}
networkEndpointGroups:
  - name: app-neg
    networkEndpointType: SERVERLESS
    cloudRun:
      service: app
  - name: mask-neg
    networkEndpointType: SERVERLESS
    cloudRun:
      urlMask: /<service>
securityPolicies:
  - name: throttle
    type: CLOUD_ARMOR
    rules:
      - priority: 10
        action: throttle
        match:
          versionedExpr: SRC_IPS_V1
          config:
            srcIpRanges: ["*"]
        rateLimitOptions:
          conformAction: allow
          exceedAction: deny(429)
          enforceOnKey: ALL
          rateLimitThreshold:
            count: 1
            intervalSec: 3600
      - priority: 2147483647
        action: allow
        match:
          versionedExpr: SRC_IPS_V1
          config:
            srcIpRanges: ["*"]
  - name: deny
    type: CLOUD_ARMOR
    rules:
      - priority: 2147483647
        action: deny(403)
        match:
          versionedExpr: SRC_IPS_V1
          config:
            srcIpRanges: ["*"]
backendServices:
  - name: app-bs
    loadBalancingScheme: INTERNAL_MANAGED
    protocol: HTTP
    backends:
      - group: app-neg
  - name: limited-bs
    loadBalancingScheme: INTERNAL_MANAGED
    protocol: HTTP
    securityPolicy: throttle
    backends:
      - group: app-neg
  - name: denied-bs
    loadBalancingScheme: INTERNAL_MANAGED
    protocol: HTTP
    securityPolicy: deny
    backends:
      - group: app-neg
  - name: mask-bs
    loadBalancingScheme: INTERNAL_MANAGED
    protocol: HTTP
    backends:
      - group: mask-neg
urlMaps:
  - name: map
    defaultService: app-bs
    hostRules:
      - hosts: ["*"]
        pathMatcher: m
    pathMatchers:
      - name: m
        defaultService: app-bs
        routeRules:
          - priority: 1
            matchRules:
              - prefixMatch: /nosuch/
            service: mask-bs
          - priority: 4
            matchRules:
              - prefixMatch: /limited/
            service: limited-bs
          - priority: 5
            matchRules:
              - prefixMatch: /denied/
            service: denied-bs
          - priority: 2
            matchRules:
              - prefixMatch: /fault/
            service: app-bs
            routeAction:
              faultInjectionPolicy:
                abort:
                  httpStatus: 503
                  percentage: 100
          - priority: 3
            matchRules:
              - prefixMatch: /redirect/
            urlRedirect:
              pathRedirect: /moved
              redirectResponseCode: TEMPORARY_REDIRECT
sslCertificates:
  - name: cert
    certificateFile: {cert}
    privateKeyFile: {key}
targetHttpProxies:
  - name: http-proxy
    urlMap: map
targetHttpsProxies:
  - name: https-proxy
    urlMap: map
    sslCertificates: [cert]
forwardingRules:
  - name: http-rule
    loadBalancingScheme: INTERNAL_MANAGED
    IPAddress: 127.0.0.1
    portRange: "80"
    target: http-proxy
  - name: https-rule
    loadBalancingScheme: INTERNAL_MANAGED
    IPAddress: 127.0.0.1
    portRange: "443"
    target: https-proxy
"""


# ---- the service: answers some paths before reading the request body


class Backend:
    """A blocking HTTP/1.1 server, a thread per connection.

    /early-keep/N   answers N at once, then reads and drops the body and keeps the connection
                    (what nginx does for a location that answers without reading the body)
    /early-close/N  answers N with Connection: close at once, then shuts its write side and
                    reads until the client closes (a lingering close)
    anything else   reads the body, answers 200 with its length
    """

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.paths = {}
        threading.Thread(target=self._accept, daemon=True).start()

    def requests_for(self, prefix):
        with self.lock:
            return sum(n for path, n in self.paths.items() if path.startswith(prefix))

    def _accept(self):
        while True:
            connection, _ = self.listener.accept()
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection):
        with connection, connection.makefile("rb") as reader:
            try:
                while self._serve_one(connection, reader):
                    pass
            except (OSError, ValueError):
                pass

    def _serve_one(self, connection, reader):
        line = reader.readline()
        if not line:
            return False
        path = line.split(b" ")[1].decode()
        headers = {}
        while True:
            field = reader.readline()
            if field in (b"\r\n", b""):
                break
            name, _, value = field.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        with self.lock:
            self.paths[path] = self.paths.get(path, 0) + 1
        if path.startswith("/early-keep/") or path.startswith("/early-close/"):
            status = int(path.rsplit("/", 1)[1])
            close = path.startswith("/early-close/")
            connection.sendall(answer(status, EARLY_BODY, close))
            if close:
                connection.shutdown(socket.SHUT_WR)
                while reader.read1(65536):
                    pass
                return False
            read_body(reader, headers)
            return True
        length = read_body(reader, headers)
        connection.sendall(answer(200, b"body-bytes: %d" % length, False))
        return True


def answer(status, body, close):
    head = b"HTTP/1.1 %d Answer\r\nContent-Length: %d\r\n" % (status, len(body))
    if close:
        head += b"Connection: close\r\n"
    return head + b"\r\n" + body


def read_body(reader, headers):
    """Reads a request body framed by `headers`; returns its length."""
    if headers.get("transfer-encoding", "").lower() == "chunked":
        length = 0
        while True:
            size = int(reader.readline().split(b";")[0], 16)
            if size == 0:
                while reader.readline() not in (b"\r\n", b""):
                    pass
                return length
            skip(reader, size)
            reader.readline()
    length = int(headers.get("content-length", "0"))
    skip(reader, length)
    return length


def skip(reader, size):
    """Reads and drops `size` bytes."""
    scratch = bytearray(65536)
    while size > 0:
        n = reader.readinto(memoryview(scratch)[:min(size, len(scratch))])
        if not n:
            raise ValueError("the body ended early")
        size -= n


# ---- albemu


class Albemu:
    """`albemu serve` with `config_text` (formatted with the backend port, a self-signed
    certificate for localhost and `fields`); `ports` has "http" and "https" for the rules
    http-rule and https-rule that the config declares. `stderr`: where albemu's goes."""

    def __init__(self, binary, work, backend_port=0, config_text=CONFIG, stderr=None, **fields):
        self.cert = os.path.join(work, "cert.pem")
        key = os.path.join(work, "key.pem")
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-days", "2", "-subj", "/CN=localhost",
             "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
             "-keyout", key, "-out", self.cert],
            check=True, capture_output=True)
        config = self.config = os.path.join(work, "lb.yaml")
        with open(config, "w") as out:
            out.write(config_text.format(backend_port=backend_port, cert=self.cert, key=key,
                                         **fields))
        ready = os.path.join(work, "ready.json")
        self.process = subprocess.Popen(
            [binary, "serve", "-c", config, "--ephemeral-ports", "--api", "off",
             "--admin", "127.0.0.1:0", "--ready-file", ready],
            stdout=subprocess.PIPE, stderr=stderr, text=True)
        banner = self.process.stdout.readline()
        if banner.strip() != "albemu serving":
            sys.exit(f"albemu did not start (exit {self.process.wait()}): {banner!r}")
        with open(ready) as ready_file:
            rules = json.load(ready_file)["forwardingRules"]
        self.ports = {scheme: int(rules[f"{scheme}-rule"].rsplit(":", 1)[1])
                      for scheme in ("http", "https") if f"{scheme}-rule" in rules}

    def url(self, scheme, path):
        return f"{scheme}://localhost:{self.ports[scheme]}{path}"

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)


# ---- the clients


BODY = memoryview(b"u" * 4 * MIB)  # every upload sends a slice of it


def pieces(size, piece=64 * 1024):
    """A body without a length, so that requests sends it chunked."""
    for offset in range(0, size, piece):
        yield BODY[offset:min(offset + piece, size)]


def with_requests(albemu, scheme, path, size, chunked):
    body = pieces(size) if chunked else BODY[:size]
    with requests.Session() as session:
        response = session.post(albemu.url(scheme, path), data=body, allow_redirects=False,
                                verify=albemu.cert, timeout=60)
        return response.status_code, response.content, response.headers


def with_curl(albemu, scheme, path, size, chunked, work):
    upload = os.path.join(work, f"upload-{size}")
    # HTTP/1.1 over TLS too: this is the HTTP/1 test (tests/clients/http2_clients_test.py
    # uploads over HTTP/2). curl 7.88 over HTTP/2 never ends an upload the server answered
    # before reading it whole: it waits, against nginx as well.
    args = ["curl", "-sS", "--http1.1", "--cacert", albemu.cert, "-D", "-", "--max-time", "60",
            "--data-binary", "@" + upload, albemu.url(scheme, path)]
    if chunked:
        args[1:1] = ["-H", "Transfer-Encoding: chunked"]
    done = subprocess.run(args, capture_output=True)
    if done.returncode != 0:
        raise RuntimeError(f"curl exit {done.returncode}: {done.stderr.decode().strip()}")
    head, _, body = done.stdout.partition(b"\r\n\r\n")
    while head.startswith(b"HTTP/1.1 100"):  # curl prints the interim answer's head too
        head, _, body = body.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), body, headers


# ---- the cases

# path, status, body: what the client must read for each early answer.
BACKEND_CASES = [
    ("/early-keep/413", 413, EARLY_BODY),
    ("/early-close/413", 413, EARLY_BODY),
    ("/early-keep/200", 200, EARLY_BODY),
]
ALBEMU_CASES = [
    ("/nosuch/x", 503, b"no healthy upstream"),
    ("/limited/x", 429, None),
    ("/denied/x", 403, None),
    ("/fault/x", 503, b"fault filter abort"),
    ("/redirect/x", 307, None),
]


def run_cases(albemu, work, tries, failures):
    for size in (MIB, 4 * MIB):
        with open(os.path.join(work, f"upload-{size}"), "wb") as upload:
            upload.write(BODY[:size])
    jobs = []
    for scheme in ("http", "https"):
        for chunked in (False, True):
            for client in ("requests", "curl"):
                for size, cases in ((MIB, BACKEND_CASES + ALBEMU_CASES), (4 * MIB, BACKEND_CASES)):
                    for path, status, body in cases:
                        jobs.append((scheme, chunked, client, size, path, status, body))

    def run(job, attempt):
        scheme, chunked, client, size, path, status, body = job
        name = (f"{client} {scheme} {'chunked' if chunked else 'content-length'} "
                f"{size // MIB} MiB {path} #{attempt}")
        try:
            if client == "requests":
                got_status, got_body, headers = with_requests(albemu, scheme, path, size, chunked)
            else:
                got_status, got_body, headers = with_curl(albemu, scheme, path, size, chunked, work)
        except Exception as error:  # the client lost the answer
            return f"{name}: {type(error).__name__}: {error}"
        if got_status != status or (body is not None and got_body != body):
            return f"{name}: got {got_status} {got_body[:80]!r}"
        if not path.startswith("/early") and "date" not in {k.lower() for k in headers}:
            return f"{name}: albemu's own answer has no Date header"
        return None

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        results = pool.map(lambda item: run(*item),
                           [(job, attempt) for job in jobs for attempt in range(tries)])
        for result in results:
            if result:
                failures.append(result)
    return len(jobs) * tries


def slow_upload(albemu, scheme, total, piece, pause):
    """Uploads `total` bytes with Content-Length in `piece`-byte writes `pause` seconds apart
    to /early-keep/413, then reads the answer. Returns an error text, or None."""
    raw = socket.create_connection(("127.0.0.1", albemu.ports[scheme]))
    if scheme == "https":
        context = ssl.create_default_context(cafile=albemu.cert)
        raw = context.wrap_socket(raw, server_hostname="localhost")
    with raw:
        raw.sendall(b"POST /early-keep/413 HTTP/1.1\r\nHost: localhost\r\n"
                    b"Content-Length: %d\r\n\r\n" % total)
        sent = 0
        try:
            while sent < total:
                raw.sendall(BODY[:min(piece, total - sent)])
                sent += min(piece, total - sent)
                time.sleep(pause)  # pacing the upload, not synchronising
        except OSError as error:
            return f"slow {scheme} upload: {error} after {sent} of {total} bytes"
        try:
            received = read_to_end(raw)
        except OSError as error:
            return f"slow {scheme} upload: reading the answer: {error}"
        if not received.startswith(b"HTTP/1.1 413") or not received.endswith(EARLY_BODY):
            return f"slow {scheme} upload: answer {received[:200]!r}"
        if b"connection: close" not in received.lower():
            return f"slow {scheme} upload: a body over the bound must close: {received!r}"
    return None


def read_to_end(connection):
    received = bytearray()
    while data := connection.recv(65536):
        received += data
    return bytes(received)


def overflowing_chunk_size(albemu, backend):
    """A chunk size of 2^64 in the packet that carries the head: 400, nothing forwarded."""
    before = backend.requests_for("/overflow")
    with socket.create_connection(("127.0.0.1", albemu.ports["http"])) as raw:
        raw.sendall(b"POST /overflow HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                    b"10000000000000000\r\nhello\r\n0\r\n\r\n")
        received = read_to_end(raw)
    if not received.startswith(b"HTTP/1.1 400"):
        return f"2^64 chunk size: answer {received[:200]!r}"
    if b"\r\ndate: " not in received.lower():
        return f"2^64 chunk size: the 400 has no Date header: {received!r}"
    if backend.requests_for("/overflow") != before:
        return "2^64 chunk size: the request head reached the service"
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--albemu", required=True, help="path of the albemu binary")
    parser.add_argument("--tries", type=int, default=20)
    args = parser.parse_args()

    backend = Backend()
    failures = []
    with tempfile.TemporaryDirectory() as work:
        albemu = Albemu(args.albemu, work, backend.port)
        try:
            # The rate limit's one allowed request, so that every try after it is a 429.
            requests.post(albemu.url("http", "/limited/first"), data=b"x", timeout=30)
            uploads = run_cases(albemu, work, args.tries, failures)
            with concurrent.futures.ThreadPoolExecutor(max_workers=2 * args.tries) as pool:
                slow = [pool.submit(slow_upload, albemu, scheme, 4 * MIB, 64 * 1024, 0.02)
                        for scheme in ("http", "https") for _ in range(args.tries)]
                failures.extend(result for result in (job.result() for job in slow) if result)
            if error := overflowing_chunk_size(albemu, backend):
                failures.append(error)
        finally:
            code = albemu.stop()
        if code != 0:
            failures.append(f"albemu exited {code} after SIGTERM")
    for failure in failures:
        print("FAIL", failure)
    print(f"{uploads} uploads by requests and curl, {2 * args.tries} slow raw uploads, "
          f"the 2^64 chunk size: {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Bounded soak of the real `albemu serve` binary.

For --seconds it drives mixed HTTP and HTTPS keepalive traffic on loopback from several client
threads, through an HTTP and an HTTPS forwarding rule, to a Python backend (Cloud Run service
`api`) and to albemu's built-in stand-in (service `users`, no URL). Meanwhile it rewrites the
config file every few seconds, cycling through:

  valid   add a forwarding rule (new ephemeral port) and a host rule, and check both serve;
  broken  a config that must be refused (the old one keeps serving);
  valid   back to the base config (the extra rule and host rule are removed);
  broken  another kind of broken config.

Requests on the unchanged routes must never fail. After a warmup the process's RSS
(/proc/PID/status VmRSS) and open file descriptors (/proc/PID/fd) are recorded, and again at the
end with the same (base) config; the soak fails if they grew beyond the thresholds below. Last, a
slow request is started, SIGTERM is sent while the load runs, and the slow request must complete
with 200 and albemu must exit 0.

Thresholds, and why:
  fds: at most FD_MARGIN more than after warmup. Everything albemu holds open at a given config
    is fixed (listeners, admin, inotify, per-worker epoll/eventfd) except keepalive connections:
    one per client thread downstream and at most one per concurrent request upstream per worker
    pool. The load keeps one request in flight per client thread, so the upstream pool varies by
    at most CLIENT_THREADS; a leak of one fd per reload or per error would exceed the margin.
  RSS: at most RSS_GROWTH (30 %) plus RSS_SLACK_KIB (8 MiB) over the warmup value. Buffers of
    keepalive connections, allocator arenas per worker and the config snapshots settle during
    warmup; a few MiB of allocator noise on a ~20 MiB process is not a leak, a steady growth over
    minutes of reloads and requests is.

Python 3 standard library only.

  python3 tests/soak/soak.py --albemu build/albemu --certs certs/out --seconds 300
"""

import argparse
import http.client
import http.server
import json
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

CLIENT_THREADS = 6  # half HTTP, half HTTPS
RELOAD_INTERVAL = 3.0  # seconds between config rewrites
WARMUP_SECONDS = 8.0
FD_MARGIN = CLIENT_THREADS + 4
RSS_GROWTH = 0.30
RSS_SLACK_KIB = 8 * 1024
SLOW_MS = 2000  # the request in flight at SIGTERM

BASE = """\
project: soak
region: us-central1
cloudRunServices:
  - name: api
    url: http://127.0.0.1:{api_port}
  - name: users
networkEndpointGroups:
  - name: by-path
    networkEndpointType: SERVERLESS
    cloudRun:
      urlMask: /<service>
  - name: api-neg
    networkEndpointType: SERVERLESS
    cloudRun:
      service: api
backendServices:
  - name: by-path
    loadBalancingScheme: INTERNAL_MANAGED
    protocol: HTTP
    backends:
      - group: by-path
  - name: api-bs
    loadBalancingScheme: INTERNAL_MANAGED
    protocol: HTTP
    backends:
      - group: api-neg
sslCertificates:
  - name: soak-cert
    certificateFile: {certs}/server.crt
    privateKeyFile: {certs}/server.key
urlMaps:
  - name: soak-map
    defaultService: by-path
    hostRules:
      - hosts: ["*"]
        pathMatcher: main
{extra_host_rule}    pathMatchers:
      - name: main
        defaultService: by-path
      - name: extra
        defaultService: api-bs
targetHttpProxies:
  - name: http-proxy
    urlMap: soak-map
targetHttpsProxies:
  - name: https-proxy
    urlMap: soak-map
    sslCertificates: [soak-cert]
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
{extra_rule}"""

EXTRA_HOST_RULE = """\
      - hosts: ["extra-{n}.example.com"]
        pathMatcher: extra
"""

EXTRA_RULE = """\
  - name: extra-rule-{n}
    loadBalancingScheme: INTERNAL_MANAGED
    IPAddress: 127.0.0.1
    portRange: "{port}"
    target: http-proxy
"""

# Each must be refused by the loader; the previous config keeps serving.
BROKEN = [
    ("unknown backend service", lambda text: text.replace("defaultService: api-bs",
                                                          "defaultService: no-such-bs")),
    ("YAML syntax error", lambda text: text + "urlMaps: [unclosed\n"),
    ("keepalive out of range", lambda text: text.replace(
        "  - name: http-proxy\n    urlMap: soak-map\n",
        "  - name: http-proxy\n    urlMap: soak-map\n    httpKeepAliveTimeoutSec: 1\n")),
]


class Api(http.server.BaseHTTPRequestHandler):
    """The Cloud Run service `api`: keepalive, echoes the path; /api/slow/MS waits first."""

    protocol_version = "HTTP/1.1"
    slow_seen = 0  # slow requests received

    def answer(self):
        if "/slow/" in self.path:
            Api.slow_seen += 1
        length = int(self.headers.get("Content-Length") or 0)
        body_in = self.rfile.read(length) if length else b""
        if "/slow/" in self.path:
            time.sleep(int(self.path.rsplit("/", 1)[1]) / 1000)
        body = json.dumps({"service": "api", "path": self.path,
                           "bodyLength": len(body_in)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = answer
    do_POST = answer

    def log_message(self, *args):
        pass


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.ok = {"http": 0, "https": 0}
        self.failures = []  # (scheme, path, what) on unchanged routes before SIGTERM
        self.after_term = {"ok": 0, "failed": 0}

    def record(self, scheme, path, error, terminating):
        with self.lock:
            if terminating:
                self.after_term["failed" if error else "ok"] += 1
            elif error:
                self.failures.append((scheme, path, error))
            else:
                self.ok[scheme] += 1


def connection(scheme, address, context, timeout=30):
    host, port = address.rsplit(":", 1)
    if scheme == "https":
        return http.client.HTTPSConnection(host, int(port), timeout=timeout, context=context)
    return http.client.HTTPConnection(host, int(port), timeout=timeout)


def check(response, body, want_service, want_body_length=None):
    """'' if the answer is the expected one, else what is wrong."""
    if response.status != 200:
        return f"status {response.status}: {body[:200]!r}"
    try:
        echo = json.loads(body)
    except ValueError:
        return f"not JSON: {body[:200]!r}"
    if echo.get("service") != want_service:
        return f"service {echo.get('service')!r}, expected {want_service!r}"
    if want_body_length is not None and echo.get("bodyLength") != want_body_length:
        return f"bodyLength {echo.get('bodyLength')!r}, expected {want_body_length}"
    return ""


def client_loop(index, scheme, address, context, stats, stop, terminating):
    """Keepalive requests on the unchanged routes until `stop`; reconnects after a failure."""
    conn = None
    n = 0
    while not stop.is_set():
        n += 1
        service = "api" if n % 2 else "users"
        path = f"/{service}/c{index}/r{n}?q={n}"
        post = n % 5 == 0
        payload = b"p" * (n % 3000) if post else None
        was_terminating = terminating.is_set()
        try:
            if conn is None:
                conn = connection(scheme, address, context)
            headers = {"Host": "stable.example.com"}
            conn.request("POST" if post else "GET", path, body=payload, headers=headers)
            response = conn.getresponse()
            body = response.read()
            error = check(response, body, service, len(payload) if post else None)
            if response.will_close:
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException) as exc:
            error = f"{type(exc).__name__}: {exc}"
            if conn is not None:
                conn.close()
            conn = None
        stats.record(scheme, path, error, was_terminating or terminating.is_set())
        if error and terminating.is_set():
            time.sleep(0.05)  # the listeners are closing: do not spin
    if conn is not None:
        conn.close()


def admin_get(admin, path):
    with urllib.request.urlopen(f"http://{admin}{path}", timeout=10) as response:
        return json.load(response)


def proc_figures(pid):
    """(RSS in KiB, open fds) of `pid`."""
    rss = 0
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


def free_port():
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Soak:
    def __init__(self, args, work, api_port):
        self.args = args
        self.config_path = os.path.join(work, "soak.yaml")
        self.ready_path = os.path.join(work, "ready.json")
        self.api_port = api_port
        self.certs = os.path.abspath(args.certs)
        self.accepted = 0
        self.refused = 0
        self.extra_checks = 0
        self.problems = []

    def render(self, extra=None):
        host_rule = EXTRA_HOST_RULE.format(n=extra) if extra is not None else ""
        rule = EXTRA_RULE.format(n=extra, port=free_port()) if extra is not None else ""
        return BASE.format(api_port=self.api_port, certs=self.certs,
                           extra_host_rule=host_rule, extra_rule=rule)

    def write(self, text):
        # Written aside and renamed over: the watcher never sees half a file.
        temporary = self.config_path + ".new"
        with open(temporary, "w") as out:
            out.write(text)
        os.replace(temporary, self.config_path)

    def wait_for_outcome(self, generation, expect_valid, what):
        """Polls /config until the rewrite was applied or refused; returns the new generation."""
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            state = admin_get(self.admin, "/config")
            if expect_valid and state["generation"] > generation and not state["lastReloadError"]:
                self.accepted += 1
                return state["generation"]
            if not expect_valid and state["lastReloadError"]:
                if state["generation"] != generation:
                    self.problems.append(f"broken config ({what}) was applied")
                self.refused += 1
                return state["generation"]
            time.sleep(0.05)
        self.problems.append(f"no reload outcome for {what} (valid={expect_valid})")
        return generation

    def check_extra(self, n):
        """The added forwarding rule and host rule serve."""
        with open(self.ready_path) as ready_file:
            rules = json.load(ready_file)["forwardingRules"]
        address = rules.get(f"extra-rule-{n}")
        if not address:
            self.problems.append(f"extra-rule-{n} not in the ready file: {rules}")
            return
        for target, host, service in ((address, "stable.example.com", "users"),
                                      (self.http, f"extra-{n}.example.com", "api")):
            conn = connection("http", target, None)
            try:
                conn.request("GET", "/users/extra", headers={"Host": host})
                response = conn.getresponse()
                error = check(response, response.read(), service)
            except (OSError, http.client.HTTPException) as exc:
                error = str(exc)
            finally:
                conn.close()
            if error:
                self.problems.append(f"extra route {target} Host {host}: {error}")
            else:
                self.extra_checks += 1

    def run(self):
        args = self.args
        self.write(self.render())
        albemu = subprocess.Popen(
            [args.albemu, "serve", "-c", self.config_path, "--ephemeral-ports", "--admin",
             "127.0.0.1:0", "--ready-file", self.ready_path, "--workers", "2"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            return self.drive(albemu)
        finally:
            if albemu.poll() is None:
                albemu.kill()
                albemu.wait()

    def drive(self, albemu):
        args = self.args
        banner = albemu.stdout.readline()
        if banner.strip() != "albemu serving":
            sys.exit(f"albemu did not start (exit {albemu.wait()}): {banner!r}")
        threading.Thread(target=lambda: albemu.stdout.read(), daemon=True).start()
        with open(self.ready_path) as ready_file:
            ready = json.load(ready_file)
        self.admin = ready["admin"]
        self.http = ready["forwardingRules"]["http-rule"]
        self.https = ready["forwardingRules"]["https-rule"]
        context = ssl.create_default_context(cafile=os.path.join(self.certs, "ca.crt"))

        stats = Stats()
        stop = threading.Event()
        terminating = threading.Event()
        clients = []
        for i in range(CLIENT_THREADS):
            scheme = "https" if i % 2 else "http"
            address = self.https if scheme == "https" else self.http
            thread = threading.Thread(target=client_loop, args=(
                i, scheme, address, context, stats, stop, terminating), daemon=True)
            thread.start()
            clients.append(thread)

        started = time.monotonic()
        time.sleep(min(WARMUP_SECONDS, args.seconds / 4))
        rss_start, fds_start = proc_figures(albemu.pid)
        generation = admin_get(self.admin, "/config")["generation"]

        step = 0
        extra = 0
        end = started + args.seconds
        while time.monotonic() + RELOAD_INTERVAL < end:
            time.sleep(RELOAD_INTERVAL)
            phase = step % 4
            if phase == 0:
                extra += 1
                self.write(self.render(extra))
                generation = self.wait_for_outcome(generation, True, f"add extra {extra}")
                self.check_extra(extra)
            elif phase == 2:
                self.write(self.render())
                generation = self.wait_for_outcome(generation, True, "back to base")
            else:
                what, breaker = BROKEN[(step // 2) % len(BROKEN)]
                self.write(breaker(self.render(extra if phase == 1 else None)))
                generation = self.wait_for_outcome(generation, False, what)
            step += 1
        # The end figures are taken at the base config, as the start ones were (and a broken
        # file is replaced, so the last reload succeeded).
        if step % 4 != 3:
            self.write(self.render())
            generation = self.wait_for_outcome(generation, True, "back to base")
        remaining = end - time.monotonic()
        if remaining > 0:
            time.sleep(remaining)
        rss_end, fds_end = proc_figures(albemu.pid)
        duration = time.monotonic() - started

        # SIGTERM with a slow request in flight, while the load runs.
        slow_result = {}

        def slow_request():
            conn = connection("http", self.http, None, timeout=30)
            try:
                conn.request("GET", f"/api/slow/{SLOW_MS}", headers={"Host": "stable.example.com"})
                response = conn.getresponse()
                slow_result["error"] = check(response, response.read(), "api")
            except (OSError, http.client.HTTPException) as exc:
                slow_result["error"] = f"{type(exc).__name__}: {exc}"
            finally:
                conn.close()

        slow = threading.Thread(target=slow_request)
        slow.start()
        # SIGTERM once the slow request reached the backend (it is then surely in flight).
        deadline = time.monotonic() + 10
        while Api.slow_seen == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        terminating.set()
        albemu.send_signal(signal.SIGTERM)
        slow.join(timeout=30)
        try:
            exit_code = albemu.wait(timeout=30)
        except subprocess.TimeoutExpired:
            exit_code = None
        stop.set()
        for thread in clients:
            thread.join(timeout=30)

        failures = stats.failures
        rss_limit = int(rss_start * (1 + RSS_GROWTH)) + RSS_SLACK_KIB
        print("albemu soak summary")
        print(f"  duration             {duration:.0f} s (+ SIGTERM drain)")
        print(f"  requests served      HTTP {stats.ok['http']}, HTTPS {stats.ok['https']}")
        print(f"  failures             {len(failures)} (unchanged routes, before SIGTERM)")
        print(f"  reloads              accepted {self.accepted}, refused {self.refused}; "
              f"extra-route checks passed {self.extra_checks}")
        print(f"  RSS                  start {rss_start} KiB, end {rss_end} KiB "
              f"(limit {rss_limit} KiB)")
        print(f"  open fds             start {fds_start}, end {fds_end} "
              f"(limit {fds_start + FD_MARGIN})")
        print(f"  after SIGTERM        slow request: {slow_result.get('error') or '200 OK'}; "
              f"load requests ok {stats.after_term['ok']}, refused/closed "
              f"{stats.after_term['failed']}; exit code {exit_code}")
        for scheme, path, error in failures[:10]:
            print(f"  FAILURE {scheme} {path}: {error}")
        problems = list(self.problems)
        if failures:
            problems.append(f"{len(failures)} requests failed on unchanged routes")
        if rss_end > rss_limit:
            problems.append(f"RSS grew from {rss_start} to {rss_end} KiB")
        if fds_end > fds_start + FD_MARGIN:
            problems.append(f"open fds grew from {fds_start} to {fds_end}")
        if "error" not in slow_result or slow_result["error"]:
            problems.append(f"the request in flight at SIGTERM: {slow_result.get('error')}")
        if exit_code != 0:
            problems.append(f"albemu exited {exit_code} after SIGTERM")
        if self.accepted == 0 or self.refused == 0:
            problems.append("the reload cycle did not run (duration too short?)")
        for problem in problems:
            print(f"  PROBLEM {problem}")
        print("soak " + ("FAILED" if problems else "passed"))
        return 1 if problems else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--albemu", default="build/albemu", help="path of the albemu binary")
    parser.add_argument("--certs", default="certs/out", help="directory of server.crt/key, ca.crt")
    parser.add_argument("--seconds", type=float, default=300, help="duration of the load")
    args = parser.parse_args()

    api = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Api)
    api.daemon_threads = True
    threading.Thread(target=api.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as work:
        code = Soak(args, work, api.server_address[1]).run()
    api.shutdown()
    sys.exit(code)


if __name__ == "__main__":
    main()

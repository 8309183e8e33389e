#!/usr/bin/env python3
"""albemu as a fake load balancer in another project's integration tests: a worked example.

The pattern, in any language:
  1. write a config whose Cloud Run services point at the processes under test;
  2. start `albemu serve -c CFG --ephemeral-ports --ready-file READY` (no fixed ports, so tests
     run in parallel);
  3. once albemu prints its banner, READY holds {"forwardingRules": {name: "ip:port"},
     "admin": "ip:port"}; GET http://<admin>/ready answers 200 when the config serves;
  4. send requests to the forwarding rule's address with the Host header the real load
     balancer would see;
  5. SIGTERM at the end: albemu drains and exits 0.

Here the "service under test" is a small HTTP server in this process (Cloud Run service
`orders`); `users` has no URL, so albemu's built-in stand-in answers for it. The URL mask
`/<service>` picks the service from the first path segment, as in GCP.

  python3 tests/e2e/fake_lb_example.py --albemu build/albemu
"""

import argparse
import http.client
import http.server
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading

CONFIG = """\
project: my-project
region: us-central1
cloudRunServices:
  - name: orders
    url: http://127.0.0.1:{orders_port}
  - name: users
networkEndpointGroups:
  - name: services-neg
    networkEndpointType: SERVERLESS
    cloudRun:
      urlMask: /<service>
backendServices:
  - name: services
    loadBalancingScheme: INTERNAL_MANAGED
    protocol: HTTP
    backends:
      - group: services-neg
urlMaps:
  - name: lb-map
    defaultService: services
targetHttpProxies:
  - name: lb-proxy
    urlMap: lb-map
forwardingRules:
  - name: lb-rule
    loadBalancingScheme: INTERNAL_MANAGED
    IPAddress: 127.0.0.1
    portRange: "80"
    target: lb-proxy
"""


class OrdersService(http.server.BaseHTTPRequestHandler):
    """The process under test: answers with what reached it."""

    def do_GET(self):
        body = json.dumps({
            "service": "orders",
            "path": self.path,
            "host": self.headers["Host"],
            "forwardedFor": self.headers["X-Forwarded-For"],
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def get(address, path, host, timeout=10):
    """GET http://address/path with a Host header; returns (status, body)."""
    ip, port = address.rsplit(":", 1)
    connection = http.client.HTTPConnection(ip, int(port), timeout=timeout)
    try:
        connection.request("GET", path, headers={"Host": host})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--albemu", default="albemu", help="path of the albemu binary")
    args = parser.parse_args()

    orders = http.server.ThreadingHTTPServer(("127.0.0.1", 0), OrdersService)
    threading.Thread(target=orders.serve_forever, daemon=True).start()

    with tempfile.TemporaryDirectory() as work:
        config_path = os.path.join(work, "lb.yaml")
        ready_path = os.path.join(work, "ready.json")
        with open(config_path, "w") as config:
            config.write(CONFIG.format(orders_port=orders.server_address[1]))

        albemu = subprocess.Popen(
            [args.albemu, "serve", "-c", config_path, "--ephemeral-ports",
             "--admin", "127.0.0.1:0", "--ready-file", ready_path],
            stdout=subprocess.PIPE, text=True)
        try:
            # The banner comes after the ready file is written: reading it needs no polling.
            banner = albemu.stdout.readline()
            if banner.strip() != "albemu serving":
                sys.exit(f"albemu did not start (exit {albemu.wait()}): {banner!r}")
            with open(ready_path) as ready_file:
                ready = json.load(ready_file)
            lb = ready["forwardingRules"]["lb-rule"]
            status, body = get(ready["admin"], "/ready", "localhost")
            assert status == 200, f"/ready: {status} {body!r}"

            # The process under test, reached through the URL mask.
            status, body = get(lb, "/orders/42", "shop.internal.example")
            assert status == 200, f"/orders/42: {status} {body!r}"
            echo = json.loads(body)
            assert echo["service"] == "orders" and echo["path"] == "/orders/42", echo
            assert echo["host"] == "shop.internal.example", echo  # the client's Host reaches it
            assert echo["forwardedFor"].startswith("127.0.0.1"), echo

            # A service with no URL: albemu's built-in Cloud Run stand-in echoes the request.
            status, body = get(lb, "/users/7?expand=1", "shop.internal.example")
            assert status == 200, f"/users/7: {status} {body!r}"
            echo = json.loads(body)
            assert echo["service"] == "users" and echo["query"] == "expand=1", echo

            # No Cloud Run service of that name: GCP's 503.
            status, body = get(lb, "/payments/1", "shop.internal.example")
            assert status == 503, f"/payments/1: {status} {body!r}"
        finally:
            albemu.send_signal(signal.SIGTERM)
            code = albemu.wait(timeout=30)
            orders.shutdown()
        assert code == 0, f"albemu exited {code} after SIGTERM"
    print("fake LB example: orders, users and the 503 for an unknown service all as expected")


if __name__ == "__main__":
    main()

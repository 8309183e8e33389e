#!/usr/bin/env python3
"""The admin console in a real browser: headless Chromium against a real `albemu serve`.

Starts `albemu serve` (embedded demo config, --ephemeral-ports, --admin 127.0.0.1:0,
--ready-file), opens http://<admin>/ in headless Chromium and drives it over the Chrome DevTools
protocol (a minimal WebSocket client below: Python 3 stdlib only). Checks that the rendered DOM
shows the topology (forwarding rule demo-http, URL map demo-map, backend services
services-by-path / services-by-host, the URL mask /<service>), that the explain form renders
GET /route's decision, that the page loaded nothing but its own origin, and that the live
request counter changes after traffic goes through the forwarding rule (one request answered 503
shows up as an error). Saves screenshots to --out (default tests/browser/out/, git-ignored).

Installs Debian's chromium through scripts/install-deps.sh when /usr/bin/chromium is missing.

  python3 tests/browser/console_test.py --albemu build/albemu
"""

import argparse
import base64
import http.client
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEADLINE_S = 30


def fail(message):
    raise AssertionError(message)


def wait_for(condition, what, deadline_s=DEADLINE_S):
    """Polls `condition` until it returns a truthy value; fails naming `what` at the deadline."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    fail("timed out waiting for " + what)


def stop_group(pid, signum):
    try:
        os.killpg(pid, signum)
    except ProcessLookupError:
        pass


def ensure_chromium(path):
    if shutil.which(path):
        return shutil.which(path)
    print("chromium missing: installing it with scripts/install-deps.sh chromium", flush=True)
    subprocess.run([os.path.join(ROOT, "scripts", "install-deps.sh"), "chromium"], check=True)
    found = shutil.which(path)
    if not found:
        fail(path + " still missing after installing chromium")
    return found


def http_get(address, target, headers=None):
    host, port = address.rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("GET", target, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


class DevTools:
    """Just enough of a WebSocket client (RFC 6455) to speak CDP to one page target."""

    def __init__(self, ws_url):
        parsed = urllib.parse.urlparse(ws_url)
        self.sock = socket.create_connection((parsed.hostname, parsed.port), timeout=DEADLINE_S)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {parsed.path} HTTP/1.1\r\nHost: {parsed.netloc}\r\n"
                           "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                fail("DevTools closed the WebSocket handshake")
            head += chunk
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            fail("DevTools refused the WebSocket: " + head.decode(errors="replace"))
        self.next_id = 0
        self.events = []

    def _recv_exact(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                fail("DevTools closed the WebSocket")
            data += chunk
        return data

    def _send(self, text):
        payload = text.encode()
        header = bytes([0x81])  # FIN + text frame
        mask = os.urandom(4)
        if len(payload) < 126:
            header += bytes([0x80 | len(payload)])
        elif len(payload) < 65536:
            header += bytes([0x80 | 126]) + struct.pack("!H", len(payload))
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", len(payload))
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def _receive(self):
        message = b""
        while True:
            first, second = self._recv_exact(2)
            length = second & 0x7F
            if length == 126:
                length = struct.unpack("!H", self._recv_exact(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", self._recv_exact(8))[0]
            payload = self._recv_exact(length)
            opcode = first & 0x0F
            if opcode == 0x8:
                fail("DevTools closed the WebSocket")
            if opcode in (0x9, 0xA):  # ping / pong: not sent by Chromium's DevTools server
                continue
            message += payload
            if first & 0x80:
                return json.loads(message)

    def call(self, method, **params):
        self.next_id += 1
        self._send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = self._receive()
            if message.get("id") == self.next_id:
                if "error" in message:
                    fail(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=True)
        if "exceptionDetails" in result:
            fail(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path, full_page=False):
        params = {"format": "png"}
        if full_page:
            height = self.evaluate("document.documentElement.scrollHeight")
            params["clip"] = {"x": 0, "y": 0, "width": 1400, "height": height, "scale": 1}
            params["captureBeyondViewport"] = True
        data = self.call("Page.captureScreenshot", **params)["data"]
        with open(path, "wb") as out:
            out.write(base64.b64decode(data))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--albemu", required=True, help="the albemu binary")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--out", default=os.path.join(ROOT, "tests", "browser", "out"),
                        help="where the screenshots go")
    args = parser.parse_args()
    chromium = ensure_chromium(args.chromium)
    os.makedirs(args.out, exist_ok=True)

    # Chromium's helper processes may still write into the profile as the directory goes.
    with tempfile.TemporaryDirectory(prefix="albemu-console-", ignore_cleanup_errors=True) as tmp:
        ready_file = os.path.join(tmp, "ready.json")
        serve = subprocess.Popen([args.albemu, "serve", "--ephemeral-ports", "--admin", "127.0.0.1:0",
                                  "--ready-file", ready_file],
                                 stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "serve.err"), "w"))
        browser = None
        try:
            wait_for(lambda: os.path.exists(ready_file) and os.path.getsize(ready_file) > 0
                     or serve.poll() is not None, "albemu's ready file")
            if serve.poll() is not None:
                fail("albemu serve exited: " + open(os.path.join(tmp, "serve.err")).read())
            ready = json.load(open(ready_file))
            admin = ready["admin"]
            rule = ready["forwardingRules"]["demo-http"]

            profile = os.path.join(tmp, "profile")
            browser = subprocess.Popen(
                [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                 "--window-size=1400,1000", "--remote-debugging-address=127.0.0.1",
                 "--remote-debugging-port=0", "--user-data-dir=" + profile, "about:blank"],
                stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "chromium.err"), "w"),
                start_new_session=True)
            port_file = os.path.join(profile, "DevToolsActivePort")
            wait_for(lambda: os.path.exists(port_file) and len(open(port_file).read().split()) >= 2,
                     "Chromium's DevToolsActivePort")
            devtools_port = open(port_file).read().split()[0]
            status, body = http_get("127.0.0.1:" + devtools_port, "/json/list")
            pages = [t for t in json.loads(body) if t.get("type") == "page"]
            if not pages:
                fail("no page target in Chromium")
            tools = DevTools(pages[0]["webSocketDebuggerUrl"])
            tools.call("Network.enable")
            tools.call("Page.enable")
            tools.call("Emulation.setDeviceMetricsOverride", width=1400, height=1000,
                       deviceScaleFactor=1, mobile=False)

            explain = urllib.parse.urlencode({"url": f"http://{rule}/login/web", "method": "GET"})
            tools.call("Page.navigate", url=f"http://{admin}/#explain?{explain}")
            wait_for(lambda: tools.evaluate("document.body && document.body.dataset.loaded === 'true'"
                                            " && !!document.getElementById('explain-verdict')"),
                     "the page's first render and explanation")

            # The topology, as the page drew it from /config.
            topology = tools.evaluate("document.getElementById('topology').innerText")
            for expected in ["demo-http", "demo-http-proxy", "demo-map", "services-by-path",
                             "services-by-host", "/<service>", "<service>.example.com", "login",
                             "cart", "catalog", "built-in stand-in", "610 s (default)"]:
                if expected not in topology:
                    fail(f"topology lacks {expected!r}:\n{topology}")
            if "listening on " + rule not in topology:
                fail(f"topology lacks the bound listener {rule}:\n{topology}")
            edges = tools.evaluate("document.querySelectorAll('#edges path').length")
            if not edges or edges < 5:
                fail(f"expected the topology's connectors, got {edges}")
            routing = tools.evaluate("document.getElementById('routing').innerText")
            for expected in ["*.example.com", "by-host", "services-by-host", "All unmatched (default)"]:
                if expected not in routing:
                    fail(f"routing rules lack {expected!r}:\n{routing}")

            # The explain form's decision for the #explain link.
            verdict = tools.evaluate("document.getElementById('explain-verdict').innerText")
            steps = tools.evaluate("document.getElementById('explain-steps').innerText")
            if "services-by-path" not in verdict or "login" not in verdict:
                fail("explanation verdict: " + verdict)
            for expected in ["demo-map", "services-by-path", "built-in stand-in", f"http://{rule}/login/web"]:
                if expected not in steps:
                    fail(f"explanation lacks {expected!r}:\n{steps}")
            raw = json.loads(tools.evaluate("document.getElementById('explain-json').textContent"))
            if raw.get("cloudRunService") != "login" or raw.get("action") != "forward":
                fail(f"raw JSON: {raw}")
            highlighted = tools.evaluate("[...document.querySelectorAll('.node.hl')].map(n => n.dataset.node)")
            if "bs:services-by-path" not in highlighted or "run:login" not in highlighted:
                fail(f"highlighted nodes: {highlighted}")

            # A second explanation through the form itself: the host rule.
            tools.evaluate("""(async () => {
                document.getElementById('explain-url').value = 'http://%s/anything';
                document.getElementById('explain-headers').value = 'Host: catalog.example.com';
                document.getElementById('explain-form').requestSubmit();
            })()""" % rule)
            wait_for(lambda: "catalog" in (tools.evaluate(
                "document.getElementById('explain-verdict').innerText") or ""), "the form's explanation")
            steps = tools.evaluate("document.getElementById('explain-steps').innerText")
            for expected in ["*.example.com", "by-host", "services-by-host", "catalog"]:
                if expected not in steps:
                    fail(f"host-rule explanation lacks {expected!r}:\n{steps}")

            counter = "document.getElementById('total-requests').dataset.value"
            wait_for(lambda: tools.evaluate(counter) == "0", "the request counter to read 0")
            for _ in range(5):
                status, _ = http_get(rule, "/login/web")
                if status != 200:
                    fail(f"GET /login/web through demo-http: {status}")
            status, _ = http_get(rule, "/x", {"Host": "catalog.example.com"})
            if status != 200:
                fail(f"GET catalog.example.com/x: {status}")
            status, _ = http_get(rule, "/no-such-service/x")
            if status != 503:
                fail(f"an unknown Cloud Run service should give 503, got {status}")
            # The page polls /stats every 2 s: the counter changes without a reload.
            wait_for(lambda: tools.evaluate(counter) == "7", "the live counter to reach 7")
            stat = ("(kind, name) => document.querySelector("
                    "`.node .stat[data-kind=\"${kind}\"][data-name=\"${name}\"]`).dataset.value")
            by_path = tools.evaluate(f"({stat})('backendServices', 'services-by-path')")
            by_host = tools.evaluate(f"({stat})('backendServices', 'services-by-host')")
            if (by_path, by_host) != ("6", "1"):
                fail(f"per-backend counters: services-by-path {by_path}, services-by-host {by_host}")
            error_rate = tools.evaluate("document.getElementById('total-errors').innerText")
            if error_rate != "14.3%":
                fail("total 5xx rate: " + str(error_rate))
            rule_stat = tools.evaluate("document.querySelector('.node .stat[data-kind=forwardingRules]').innerText")
            if "7 req" not in rule_stat or "14.3% 5xx" not in rule_stat:
                fail("forwarding rule counter: " + rule_stat)

            # Nothing but the admin origin was loaded.
            origins = {urllib.parse.urlparse(e["params"]["request"]["url"]).netloc
                       for e in tools.events if e.get("method") == "Network.requestWillBeSent"}
            if origins - {admin}:
                fail(f"the page loaded other origins: {origins - {admin}}")
            messages = tools.evaluate("performance.getEntriesByType('resource').map(e => e.name)"
                                      ".filter(u => !u.startsWith(location.origin))")
            if messages:
                fail(f"external resources: {messages}")

            shot = os.path.join(args.out, "console.png")
            tools.screenshot(shot)
            full = os.path.join(args.out, "console-full.png")
            tools.screenshot(full, full_page=True)

            # A failed reload: the page shows the error (GET /config's lastReloadError, /ready 503).
            config_file = os.path.join(tmp, "lb.yaml")
            shutil.copy(os.path.join(ROOT, "config", "examples", "demo.yaml"), config_file)
            broken_ready = os.path.join(tmp, "ready-file.json")
            broken = subprocess.Popen([args.albemu, "serve", "-c", config_file, "--ephemeral-ports",
                                       "--admin", "127.0.0.1:0", "--ready-file", broken_ready,
                                       "--api", "off"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                wait_for(lambda: os.path.exists(broken_ready) and os.path.getsize(broken_ready) > 0,
                         "the second serve's ready file")
                admin2 = json.load(open(broken_ready))["admin"]
                tools.call("Page.navigate", url=f"http://{admin2}/")
                wait_for(lambda: tools.evaluate(f"location.host === '{admin2}' && !!document.body && "
                                                "document.body.dataset.loaded === 'true' && "
                                                "document.getElementById('ready-pill').innerText === 'Ready'"),
                         "the second page to load")
                with open(config_file, "a") as out:
                    out.write("\nurlMaps:\n  - name: broken-map\n    defaultService: no-such-backend\n")
                host, port = admin2.rsplit(":", 1)
                connection = http.client.HTTPConnection(host, int(port), timeout=10)
                connection.request("POST", "/reload")
                status = connection.getresponse().status
                connection.close()
                if status != 500:
                    fail(f"POST /reload of a broken config: {status}")
                wait_for(lambda: tools.evaluate(
                    "!document.getElementById('error-banner').classList.contains('hidden')"),
                    "the reload error banner")
                error_text = tools.evaluate("document.getElementById('error-text').innerText")
                pill = tools.evaluate("document.getElementById('ready-pill').innerText")
                if not error_text.strip() or "Not ready" not in pill:
                    fail(f"reload error shown as {error_text!r}, pill {pill!r}")
                tools.screenshot(os.path.join(args.out, "console-reload-error.png"))
            finally:
                broken.send_signal(signal.SIGTERM)
                try:
                    broken.wait(20)
                except subprocess.TimeoutExpired:
                    broken.kill()
            print(f"ok: console shows the demo topology and live counters; screenshots {shot} {full}")
        finally:
            if browser is not None:
                stop_group(browser.pid, signal.SIGTERM)  # its helpers too
                try:
                    browser.wait(10)
                except subprocess.TimeoutExpired:
                    stop_group(browser.pid, signal.SIGKILL)
            serve.send_signal(signal.SIGTERM)
            try:
                serve.wait(20)
            except subprocess.TimeoutExpired:
                serve.kill()


if __name__ == "__main__":
    try:
        main()
    except AssertionError as error:
        print("FAIL: " + str(error), file=sys.stderr)
        sys.exit(1)

"""Starting the backend and the three proxies, and checking that each one routes as albemu does
before anything is timed: over HTTP/1.1 and HTTPS, over HTTP/2 (httpx), and for the gRPC
variant, with real gRPC calls (grpcio)."""

import http.client
import importlib
import json
import os
import ssl
import subprocess
import sys
from pathlib import Path

import configs
from procs import HarnessError, free_port, port_open, wait_until

START_TIMEOUT = 30


class Proxy:
    """A running proxy: its process, its HTTP and HTTPS ports, and (albemu) its admin address."""

    def __init__(self, name, process, http_port, https_port, admin=None, config_path=None):
        self.name = name
        self.process = process
        self.http_port = http_port
        self.https_port = https_port
        self.admin = admin
        self.config_path = config_path


def start_backend(processes, layout, work_dir, cpus, worker_processes=1):
    conf = Path(work_dir) / "backend-nginx.conf"
    conf.write_text(configs.backend_nginx(layout, work_dir, worker_processes))
    _check(["nginx", "-t", "-q", "-c", str(conf)], "the backend nginx config")
    process = processes.start("backend", ["nginx", "-c", str(conf), "-g", "daemon off;"],
                              cpus=cpus)
    for port in layout.backend_ports:
        wait_until(lambda: port_open(port), START_TIMEOUT, f"backend port {port}", process)
    return process


def start_albemu(processes, albemu, layout, work_dir, cpus, yaml_text=None, name="albemu",
                 realtime=False):
    work_dir = Path(work_dir)
    config_dir = work_dir / f"{name}-config"
    config_dir.mkdir(exist_ok=True)
    config = config_dir / "albemu.yaml"  # alone in its directory: the watcher sees only it
    config.write_text(yaml_text if yaml_text is not None else configs.albemu_yaml(layout))
    _check([str(albemu), "validate", "-c", str(config)], "the albemu config")
    ready = work_dir / f"{name}-ready.json"
    ready.unlink(missing_ok=True)
    process = processes.start(name, [
        str(albemu), "serve", "-c", str(config), "--workers", str(layout.workers),
        "--admin", "127.0.0.1:0", "--ready-file", str(ready), "--ephemeral-ports"], cpus=cpus,
        realtime=realtime)
    wait_until(ready.exists, START_TIMEOUT, "albemu's ready file", process)
    bound = wait_until(lambda: _read_json(ready), START_TIMEOUT, "a complete ready file", process)
    rules = bound["forwardingRules"]
    http_port = int(rules["http"].rsplit(":", 1)[1])
    https_port = int(rules["https"].rsplit(":", 1)[1])
    return Proxy(name, process, http_port, https_port, admin=bound["admin"], config_path=config)


def start_nginx(processes, layout, work_dir, cpus, grpc=False, realtime=False):
    http_port, https_port = free_port(), free_port()
    conf = Path(work_dir) / ("nginx-grpc.conf" if grpc else "nginx.conf")
    conf.write_text(configs.nginx_conf(layout, work_dir, http_port, https_port, grpc))
    _check(["nginx", "-t", "-q", "-c", str(conf)], "the nginx config")
    process = processes.start("nginx", ["nginx", "-c", str(conf), "-g", "daemon off;"],
                              cpus=cpus, realtime=realtime)
    for port in (http_port, https_port):
        wait_until(lambda: port_open(port), START_TIMEOUT, f"nginx port {port}", process)
    return Proxy("nginx", process, http_port, https_port)


def start_haproxy(processes, layout, work_dir, cpus, grpc=False, realtime=False):
    http_port, https_port = free_port(), free_port()
    # The idle section holds as many connections as the file limit allows, even where that is
    # below the two descriptors per connection HAProxy budgets (the config says
    # `no strict-limits`).
    maxconn = max(12000, layout.fd_limit - 200)
    cfg, files = configs.haproxy_files(layout, work_dir, http_port, https_port, maxconn, grpc)
    for file_name, content in files.items():
        (Path(work_dir) / file_name).write_text(content)
    conf = Path(work_dir) / ("haproxy-grpc.cfg" if grpc else "haproxy.cfg")
    conf.write_text(cfg)
    _check(["haproxy", "-c", "-q", "-f", str(conf)], "the HAProxy config")
    process = processes.start("haproxy", ["haproxy", "-db", "-f", str(conf)], cpus=cpus,
                              realtime=realtime)
    for port in (http_port, https_port):
        wait_until(lambda: port_open(port), START_TIMEOUT, f"haproxy port {port}", process)
    return Proxy("haproxy", process, http_port, https_port)


def start_proxy(name, processes, albemu, layout, work_dir, cpus, grpc=False, realtime=False):
    """`grpc`: the gRPC variant of the config (configs.py), to the backend's gRPC ports.
    `realtime`: under SCHED_RR, if the harness was given a priority (--realtime)."""
    if name == "albemu":
        yaml_text = configs.albemu_yaml(layout, grpc=True) if grpc else None
        return start_albemu(processes, albemu, layout, work_dir, cpus, yaml_text=yaml_text,
                            realtime=realtime)
    if name == "nginx":
        return start_nginx(processes, layout, work_dir, cpus, grpc, realtime)
    if name == "haproxy":
        return start_haproxy(processes, layout, work_dir, cpus, grpc, realtime)
    raise HarnessError(f"unknown proxy {name}")


def _check(argv, what):
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        raise HarnessError(f"{what} is rejected by {argv[0]}:\n{done.stdout}{done.stderr}")


def _read_json(path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


# --- routing checks ----------------------------------------------------------------------------

def get(port, path, host=None, tls_context=None, timeout=5.0):
    """One GET; returns (status, headers dict with lower-case names, body, TLS info)."""
    if tls_context is not None:
        connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout,
                                                 context=tls_context)
    else:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Host": host} if host else {}
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read().decode(errors="replace")
        tls = None
        if tls_context is not None:
            tls = {"version": connection.sock.version(), "cipher": connection.sock.cipher()[0]}
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body, tls
    finally:
        connection.close()


def verify_routing(proxy, layout, ca_file, sample=(7, 0, 1, 2, 3, 500, 999)):
    """Fails unless every sampled service reaches its own backend port by path and by host, over
    HTTP and HTTPS, and unknown services get 503. Returns the TLS version and cipher seen."""
    tls_context = ssl.create_default_context(cafile=str(ca_file))
    sample = [index for index in sample if index < layout.services]
    tls_seen = None
    for index in sample:
        service = configs.service_name(index)
        expected = str(layout.port_of(index))
        checks = [
            ("path", proxy.http_port, f"/{service}/verify", None, None),
            ("host", proxy.http_port, "/verify", f"{service}.{configs.DOMAIN}", None),
            ("https path", proxy.https_port, f"/{service}/verify", None, tls_context),
            ("https host", proxy.https_port, "/verify", f"{service}.{configs.DOMAIN}",
             tls_context),
        ]
        for label, port, path, host, context in checks:
            status, headers, body, tls = get(port, path, host, context)
            tls_seen = tls or tls_seen
            if status != 200 or headers.get("x-backend-port") != expected:
                raise HarnessError(
                    f"{proxy.name} routes {service} ({label}) wrong: status {status}, backend "
                    f"port {headers.get('x-backend-port')}, expected {expected}; body {body!r}")
    for label, port, path, host, context in [
            ("unknown path", proxy.http_port, "/nosuch/verify", None, None),
            ("unknown host", proxy.http_port, "/verify", f"nosuch.{configs.DOMAIN}", None),
            ("https unknown path", proxy.https_port, "/nosuch/verify", None, tls_context)]:
        status, _, body, _ = get(port, path, host, context)
        if status != 503:
            raise HarnessError(f"{proxy.name} answers {status} for an {label}, not 503: {body!r}")
    return tls_seen


def _client_module(name, packages):
    """The HTTP/2 and gRPC checks' client library, imported when first needed so that the
    HTTP/1.1 sections run without it."""
    # grpcio's core logs to stderr each answer it rejects (as the unknown-service checks
    # provoke); the checks say what went wrong.
    os.environ.setdefault("GRPC_VERBOSITY", "NONE")
    try:
        return importlib.import_module(name)
    except ImportError:
        raise HarnessError(f"{sys.executable} cannot import {name} (Debian's {packages}: "
                           "make deps-bench, and run the Debian python3)") from None


def verify_http2(proxy, layout, ca_file, sample=(7, 0, 1, 2, 3, 500, 999)):
    """The HTTPS checks of verify_routing over HTTP/2 (httpx, ALPN h2): by path and by
    :authority, every answer in HTTP/2 from the service's own backend port; unknown services
    get 503."""
    httpx = _client_module("httpx", "python3-httpx and python3-h2")
    base = f"https://127.0.0.1:{proxy.https_port}"
    with httpx.Client(http2=True, verify=str(ca_file), timeout=5.0) as client:
        checks = []
        for index in (i for i in sample if i < layout.services):
            service = configs.service_name(index)
            expected = str(layout.port_of(index))
            checks.append(("h2 path", f"/{service}/verify", None, 200, expected))
            checks.append(("h2 host", "/verify", f"{service}.{configs.DOMAIN}", 200, expected))
        checks.append(("h2 unknown path", "/nosuch/verify", None, 503, None))
        checks.append(("h2 unknown host", "/verify", f"nosuch.{configs.DOMAIN}", 503, None))
        for label, path, host, status, port in checks:
            headers = {"Host": host} if host else {}  # httpx sends it as :authority
            answer = client.get(base + path, headers=headers)
            if (answer.http_version != "HTTP/2" or answer.status_code != status
                    or (port and answer.headers.get("x-backend-port") != port)):
                raise HarnessError(
                    f"{proxy.name} over HTTP/2 ({label} {host or ''}{path}): "
                    f"{answer.http_version} {answer.status_code}, backend port "
                    f"{answer.headers.get('x-backend-port')}, expected {status} from {port}; "
                    f"body {answer.text[:200]!r}")


def grpc_call(port, ca_file, method, authority=None, timeout=5.0):
    """One generic unary call (the message bytes as they are) over TLS to 127.0.0.1:`port`;
    returns (status code, reply, initial metadata, trailing metadata) as dicts."""
    grpc = _client_module("grpc", "python3-grpcio")
    credentials = grpc.ssl_channel_credentials(root_certificates=Path(ca_file).read_bytes())
    options = [("grpc.ssl_target_name_override", authority or "localhost")]
    if authority:
        options.append(("grpc.default_authority", authority))
    with grpc.secure_channel(f"ipv4:127.0.0.1:{port}", credentials, options=options) as channel:
        call = channel.unary_unary(method)
        try:
            reply, info = call.with_call(configs.GRPC_REQUEST_MESSAGE, timeout=timeout)
        except grpc.RpcError as error:
            return error.code(), None, dict(error.initial_metadata() or ()), {
                "details": error.details()}
        return info.code(), reply, dict(info.initial_metadata()), dict(info.trailing_metadata())


def verify_grpc(proxy, layout, ca_file, sample=(7, 0, 1, 2, 3, 500, 999)):
    """Real gRPC calls (grpcio over TLS) through a proxy started with the gRPC config: by path
    (`/<service>/Call`) and by :authority, each must end OK with the backend's reply, the
    service's own backend port in a header and in a trailer (so the trailers came through);
    unknown services must end UNAVAILABLE."""
    grpc = _client_module("grpc", "python3-grpcio")
    for index in (i for i in sample if i < layout.services):
        service = configs.service_name(index)
        expected = str(layout.port_of(index, grpc=True))
        for label, method, authority in (
                ("path", f"/{service}/Call", None),
                ("host", "/bench.Bench/Call", f"{service}.{configs.DOMAIN}")):
            code, reply, head, trailers = grpc_call(proxy.https_port, ca_file, method, authority)
            if (code != grpc.StatusCode.OK or reply != configs.GRPC_REPLY_MESSAGE
                    or head.get("x-backend-port") != expected
                    or trailers.get("x-backend-port") != expected):
                raise HarnessError(
                    f"{proxy.name} gRPC {service} ({label}): {code}, reply {reply!r}, backend "
                    f"port {head.get('x-backend-port')} / trailer "
                    f"{trailers.get('x-backend-port')}, expected OK from {expected}; {trailers}")
    for label, method, authority in (("path", "/nosuch/Call", None),
                                     ("host", "/bench.Bench/Call", f"nosuch.{configs.DOMAIN}")):
        code, _, _, trailers = grpc_call(proxy.https_port, ca_file, method, authority)
        if code != grpc.StatusCode.UNAVAILABLE:
            raise HarnessError(f"{proxy.name} gRPC to an unknown service ({label}) ends {code}, "
                               f"not UNAVAILABLE: {trailers}")

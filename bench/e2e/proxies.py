"""Starting the backend and the three proxies, and checking that each one routes as albemu does
before anything is timed."""

import http.client
import json
import ssl
import subprocess
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


def start_albemu(processes, albemu, layout, work_dir, cpus, yaml_text=None, name="albemu"):
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
        "--admin", "127.0.0.1:0", "--ready-file", str(ready), "--ephemeral-ports"], cpus=cpus)
    wait_until(ready.exists, START_TIMEOUT, "albemu's ready file", process)
    bound = wait_until(lambda: _read_json(ready), START_TIMEOUT, "a complete ready file", process)
    rules = bound["forwardingRules"]
    http_port = int(rules["http"].rsplit(":", 1)[1])
    https_port = int(rules["https"].rsplit(":", 1)[1])
    return Proxy(name, process, http_port, https_port, admin=bound["admin"], config_path=config)


def start_nginx(processes, layout, work_dir, cpus):
    http_port, https_port = free_port(), free_port()
    conf = Path(work_dir) / "nginx.conf"
    conf.write_text(configs.nginx_conf(layout, work_dir, http_port, https_port))
    _check(["nginx", "-t", "-q", "-c", str(conf)], "the nginx config")
    process = processes.start("nginx", ["nginx", "-c", str(conf), "-g", "daemon off;"],
                              cpus=cpus)
    for port in (http_port, https_port):
        wait_until(lambda: port_open(port), START_TIMEOUT, f"nginx port {port}", process)
    return Proxy("nginx", process, http_port, https_port)


def start_haproxy(processes, layout, work_dir, cpus):
    http_port, https_port = free_port(), free_port()
    # 10,000 idle connections need maxconn above 10,000 even where the file limit is below the
    # two descriptors per connection HAProxy budgets (the config says `no strict-limits`).
    maxconn = max(12000, min(30000, (layout.fd_limit - 200) // 2))
    cfg, files = configs.haproxy_files(layout, work_dir, http_port, https_port, maxconn)
    for file_name, content in files.items():
        (Path(work_dir) / file_name).write_text(content)
    conf = Path(work_dir) / "haproxy.cfg"
    conf.write_text(cfg)
    _check(["haproxy", "-c", "-q", "-f", str(conf)], "the HAProxy config")
    process = processes.start("haproxy", ["haproxy", "-db", "-f", str(conf)], cpus=cpus)
    for port in (http_port, https_port):
        wait_until(lambda: port_open(port), START_TIMEOUT, f"haproxy port {port}", process)
    return Proxy("haproxy", process, http_port, https_port)


def start_proxy(name, processes, albemu, layout, work_dir, cpus):
    if name == "albemu":
        return start_albemu(processes, albemu, layout, work_dir, cpus)
    if name == "nginx":
        return start_nginx(processes, layout, work_dir, cpus)
    if name == "haproxy":
        return start_haproxy(processes, layout, work_dir, cpus)
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

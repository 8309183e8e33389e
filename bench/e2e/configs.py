"""The benchmark's configurations: one routing setup, written for albemu, nginx and HAProxy.

Every proxy serves one HTTP and one HTTPS listener with the same routing:
  - Host `<service>.example.com` picks the Cloud Run service from the host (URL mask
    `<service>.example.com`);
  - any other host picks it from the first path segment (URL mask `/<service>`);
  - 1,000 services s0000..s0999 are declared, spread round-robin over the backend ports;
  - an undeclared service gets 503.
Each proxy adds the headers albemu adds (X-Forwarded-For, X-Forwarded-Proto, Via both ways) and
keeps idle keepalive connections to the backends.
"""

from pathlib import Path

DOMAIN = "example.com"


def service_name(index):
    return f"s{index:04d}"


class Layout:
    """Services, backend ports and the proxies' listeners for one benchmark run."""

    def __init__(self, services, backend_ports, workers, cert_file, key_file, fd_limit=20000):
        self.services = services
        self.fd_limit = fd_limit  # the open-file limit every process inherits
        self.backend_ports = list(backend_ports)
        self.workers = workers
        self.cert_file = str(Path(cert_file).resolve())
        self.key_file = str(Path(key_file).resolve())

    def port_of(self, index):
        return self.backend_ports[index % len(self.backend_ports)]


def backend_nginx(layout, work_dir, worker_processes):
    """A fast local HTTP server: a small fixed body naming the port, on each backend port."""
    servers = "\n".join(
        f"  server {{ listen 127.0.0.1:{port} reuseport backlog=4096;\n"
        f"    location / {{ add_header X-Backend-Port {port};\n"
        f"      return 200 \"backend {port}\\n\"; }} }}"
        for port in layout.backend_ports)
    return f"""worker_processes {worker_processes};
pid {work_dir}/backend-nginx.pid;
error_log {work_dir}/backend-nginx-error.log error;
events {{ worker_connections {layout.fd_limit - 100}; }}
http {{
  access_log off;
  default_type text/plain;
  keepalive_requests 1000000000;
  keepalive_timeout 600s;
{servers}
}}
"""


# --- albemu ------------------------------------------------------------------------------------

def _albemu_frontend(layout):
    """Cloud Run services, the two URL-mask NEGs and their backend services."""
    lines = ["project: bench", "region: us-central1", "", "cloudRunServices:"]
    for index in range(layout.services):
        lines.append(f"  - {{name: {service_name(index)}, "
                     f"url: \"http://127.0.0.1:{layout.port_of(index)}\"}}")
    lines += [
        "",
        "networkEndpointGroups:",
        "  - name: by-path",
        "    networkEndpointType: SERVERLESS",
        "    cloudRun: {urlMask: /<service>}",
        "  - name: by-host",
        "    networkEndpointType: SERVERLESS",
        f"    cloudRun: {{urlMask: <service>.{DOMAIN}}}",
        "",
        "backendServices:",
        "  - name: by-path",
        "    loadBalancingScheme: INTERNAL_MANAGED",
        "    protocol: HTTP",
        "    backends: [{group: by-path}]",
        "  - name: by-host",
        "    loadBalancingScheme: INTERNAL_MANAGED",
        "    protocol: HTTP",
        "    backends: [{group: by-host}]",
        "",
    ]
    return lines


def _albemu_listeners(layout):
    return [
        "",
        "sslCertificates:",
        "  - name: bench-cert",
        f"    certificateFile: {layout.cert_file}",
        f"    privateKeyFile: {layout.key_file}",
        "",
        "targetHttpProxies:",
        "  - {name: bench-http, urlMap: bench}",
        "targetHttpsProxies:",
        "  - {name: bench-https, urlMap: bench, sslCertificates: [bench-cert]}",
        "",
        "forwardingRules:",
        "  - name: http",
        "    loadBalancingScheme: INTERNAL_MANAGED",
        "    IPAddress: 127.0.0.1",
        "    IPProtocol: TCP",
        "    portRange: \"80\"",
        "    target: bench-http",
        "  - name: https",
        "    loadBalancingScheme: INTERNAL_MANAGED",
        "    IPAddress: 127.0.0.1",
        "    IPProtocol: TCP",
        "    portRange: \"443\"",
        "    target: bench-https",
        "",
    ]


def albemu_yaml(layout):
    """The routing of the throughput runs: a wildcard host rule for the host mask, the path mask
    for everything else (as config/examples/demo.yaml does)."""
    url_map = [
        "urlMaps:",
        "  - name: bench",
        "    defaultService: by-path",
        "    hostRules:",
        f"      - hosts: [\"*.{DOMAIN}\"]",
        "        pathMatcher: by-host",
        "    pathMatchers:",
        "      - name: by-host",
        "        defaultService: by-host",
    ]
    return "\n".join(_albemu_frontend(layout) + url_map + _albemu_listeners(layout))


def albemu_reload_yaml(layout, path_rules_per_host, variant):
    """A URL map with one host rule (and path matcher) per service, each optionally carrying
    `path_rules_per_host` path rules, so the map can be made about 1 MB. `variant` adds a few
    host rules for other hosts: each reload changes the map without changing where the
    benchmark's traffic goes."""
    url_map = [
        "urlMaps:",
        "  - name: bench",
        "    defaultService: by-path",
        "    hostRules:",
    ]
    for index in range(layout.services):
        name = service_name(index)
        url_map.append(f"      - {{hosts: [\"{name}.{DOMAIN}\"], pathMatcher: h{name}}}")
    for extra in range(variant % 7):
        url_map.append(f"      - {{hosts: [\"reload-{extra}.{DOMAIN}\"], pathMatcher: reload}}")
    url_map.append("    pathMatchers:")
    url_map.append("      - name: reload")
    url_map.append("        defaultService: by-path")
    for index in range(layout.services):
        name = service_name(index)
        url_map.append(f"      - name: h{name}")
        url_map.append("        defaultService: by-host")
        if path_rules_per_host:
            url_map.append("        pathRules:")
            for rule in range(path_rules_per_host):
                url_map.append(f"          - paths: [\"/api/v1/{name}/collection-{rule:03d}/*\", "
                               f"\"/api/v2/{name}/collection-{rule:03d}\"]")
                url_map.append("            service: by-host")
    return "\n".join(_albemu_frontend(layout) + url_map + _albemu_listeners(layout))


def url_map_bytes(yaml_text):
    """Size of the urlMaps section of a config written by this module."""
    start = yaml_text.index("urlMaps:")
    end = yaml_text.index("\nsslCertificates:")
    return end - start


# --- nginx -------------------------------------------------------------------------------------

def nginx_conf(layout, work_dir, http_port, https_port):
    upstreams = "\n".join(
        f"  upstream be_{port} {{ server 127.0.0.1:{port}; keepalive 256; "
        f"keepalive_requests 1000000000; keepalive_timeout 600s; }}"
        for port in layout.backend_ports)
    services = "\n".join(f"    {service_name(i)} be_{layout.port_of(i)};"
                         for i in range(layout.services))
    domain = DOMAIN.replace(".", "\\.")
    return f"""worker_processes {layout.workers};
pid {work_dir}/nginx.pid;
error_log {work_dir}/nginx-error.log error;
events {{ worker_connections {layout.fd_limit - 100}; }}
http {{
  access_log off;
  default_type text/plain;
  keepalive_requests 1000000000;
  keepalive_timeout 610s;
  ssl_protocols TLSv1.2 TLSv1.3;
  map_hash_max_size 4096;
  map_hash_bucket_size 64;
{upstreams}
  # URL mask /<service>: the first path segment ...
  map $uri $path_service {{
    ~^/(?<segment>[^/]+) $segment;
    default "";
  }}
  # ... unless the host is under {DOMAIN}: URL mask <service>.{DOMAIN}, the first label.
  map $host $service {{
    ~^(?<label>[^.]+)\\.{domain}$ $label;
    ~\\.{domain}$ "";
    default $path_service;
  }}
  # The 1,000 declared Cloud Run services; anything else has no upstream (503).
  map $service $service_upstream {{
    default "";
{services}
  }}
  server {{
    listen 127.0.0.1:{http_port} backlog=4096;
    listen 127.0.0.1:{https_port} ssl backlog=4096;
    ssl_certificate {layout.cert_file};
    ssl_certificate_key {layout.key_file};
    location / {{
      if ($service_upstream = "") {{ return 503 "no healthy upstream"; }}
      proxy_pass http://$service_upstream;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For "$proxy_add_x_forwarded_for,127.0.0.1";
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header Via "1.1 google";
      add_header Via "1.1 google" always;
    }}
  }}
}}
"""


# --- HAProxy -----------------------------------------------------------------------------------

def haproxy_files(layout, work_dir, http_port, https_port, maxconn):
    """(haproxy.cfg text, {file name: content}) for HAProxy. HAProxy needs about two file
    descriptors per connection within `maxconn`, and refuses to start beyond its limit."""
    work_dir = Path(work_dir)
    service_map = "".join(f"{service_name(i)} be_{layout.port_of(i)}\n"
                          for i in range(layout.services))
    pem = Path(layout.cert_file).read_text() + Path(layout.key_file).read_text()
    backends = "\n".join(
        f"backend be_{port}\n  server s 127.0.0.1:{port}\n" for port in layout.backend_ports)
    cfg = f"""global
  nbthread {layout.workers}
  maxconn {maxconn}
  no strict-limits
  pidfile {work_dir}/haproxy.pid
  ssl-default-bind-options ssl-min-ver TLSv1.2

defaults
  mode http
  timeout connect 5s
  timeout client 610s
  timeout server 600s
  timeout http-keep-alive 610s
  option http-keep-alive
  option forwardfor
  http-reuse always
  maxconn {maxconn}

frontend bench
  bind 127.0.0.1:{http_port} backlog 4096
  bind 127.0.0.1:{https_port} ssl crt {work_dir}/haproxy.pem backlog 4096
  # URL mask <service>.{DOMAIN}: the first label of the host; otherwise /<service>.
  acl host_mask req.hdr(host),field(1,:) -m end .{DOMAIN}
  http-request set-var(txn.service) req.hdr(host),field(1,.) if host_mask
  http-request set-var(txn.service) path,field(2,/) unless host_mask
  http-request set-header X-Forwarded-Proto https if {{ ssl_fc }}
  http-request set-header X-Forwarded-Proto http unless {{ ssl_fc }}
  http-request add-header Via "1.1 google"
  http-response add-header Via "1.1 google"
  # The 1,000 declared Cloud Run services; anything else goes to `unknown` (503).
  use_backend %[var(txn.service),map({work_dir}/services.map,unknown)]
  default_backend unknown

{backends}
backend unknown
  http-request return status 503 content-type text/plain string "no healthy upstream"
"""
    return cfg, {"services.map": service_map, "haproxy.pem": pem}

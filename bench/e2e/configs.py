"""The benchmark's configurations: one routing setup, written for albemu, nginx and HAProxy.

Every proxy serves one HTTP and one HTTPS listener with the same routing:
  - Host `<service>.example.com` picks the Cloud Run service from the host (URL mask
    `<service>.example.com`);
  - any other host picks it from the first path segment (URL mask `/<service>`);
  - 1,000 services s0000..s0999 are declared, spread round-robin over the backend ports;
  - an undeclared service gets 503.
Each proxy adds the headers albemu adds (X-Forwarded-For, X-Forwarded-Proto, Via both ways) and
keeps idle keepalive connections to the backends. The HTTPS listener offers h2 and http/1.1 by
ALPN in all three, as albemu's does.

The gRPC variant (`grpc=True`) routes the same way, to backends that speak gRPC in cleartext
HTTP/2 (h2c): albemu's Cloud Run services have `useHttp2: true`, nginx uses `grpc_pass` and
HAProxy `proto h2`.
"""

import struct

from pathlib import Path

DOMAIN = "example.com"


def service_name(index):
    return f"s{index:04d}"


def grpc_frame(message):
    """One gRPC length-prefixed message: not compressed, 4-byte big-endian length, the bytes."""
    return b"\x00" + struct.pack(">I", len(message)) + message


# The one message each way of the gRPC runs: protobuf field 2, a string. The calls are generic
# (no .proto): a method `/<service>/Call`, whose gRPC service name is the Cloud Run service.
GRPC_REQUEST_MESSAGE = b"\x12\x0dbench request"
GRPC_REPLY_MESSAGE = b"\x12\x0cbench reply!"
GRPC_REPLY = grpc_frame(GRPC_REPLY_MESSAGE)


class Layout:
    """Services, backend ports and the proxies' listeners for one benchmark run."""

    def __init__(self, services, backend_ports, workers, cert_file, key_file, fd_limit=20000,
                 grpc_ports=(), status_port=None):
        self.services = services
        self.fd_limit = fd_limit  # the open-file limit every process inherits
        self.backend_ports = list(backend_ports)
        self.grpc_ports = list(grpc_ports)  # the same backends, in gRPC over h2c
        self.status_port = status_port  # the backend's request counter (stub_status)
        self.workers = workers
        self.cert_file = str(Path(cert_file).resolve())
        self.key_file = str(Path(key_file).resolve())

    def ports(self, grpc=False):
        return self.grpc_ports if grpc else self.backend_ports

    def port_of(self, index, grpc=False):
        ports = self.ports(grpc)
        return ports[index % len(ports)]


def _grpc_reply_literal():
    """GRPC_REPLY as the text of an nginx `return`. nginx keeps a quoted string's bytes as they
    are, NUL included (the gRPC probe reads it back before every run), but a quote, a backslash
    or a `$` would mean something, so the frame must hold none (nor a line break)."""
    assert not set(GRPC_REPLY) & set(b'"\\$\r\n') and max(GRPC_REPLY) < 0x80, GRPC_REPLY
    return GRPC_REPLY.decode("ascii")


def backend_nginx(layout, work_dir, worker_processes):
    """A fast local server on each backend port: HTTP/1.1 with a small fixed body naming the
    port, and on each gRPC port h2c answering any call with GRPC_REPLY, the port in a header
    and a trailer, and grpc-status 0. `status_port` counts the requests it served.

    A gRPC server answers a unary call once it has read the request. nginx's `return` answers
    as soon as the head is in, then resets the stream if the request's DATA has not come yet
    (RST_STREAM, NO_ERROR), which a proxy may take for a frame on an unknown stream (nginx's
    grpc_pass did, once in about 10,000 calls). So `mirror` reads the whole request first, and
    the answer comes from a named location: a POST to `empty_gif` is refused with 405, and
    `error_page 405 = @reply` turns that into the reply."""
    servers = "\n".join(
        f"  server {{ listen 127.0.0.1:{port} reuseport backlog=4096;\n"
        f"    location / {{ add_header X-Backend-Port {port};\n"
        f"      return 200 \"backend {port}\\n\"; }} }}"
        for port in layout.backend_ports)
    grpc_servers = "\n".join(
        f"  server {{ listen 127.0.0.1:{port} http2 reuseport backlog=4096;\n"
        f"    default_type application/grpc;\n"
        f"    location / {{ mirror /.request-body; empty_gif; error_page 405 = @reply; }}\n"
        f"    location = /.request-body {{ internal; return 204; }}\n"
        f"    location @reply {{ add_header X-Backend-Port {port} always;\n"
        f"      add_trailer X-Backend-Port {port} always;\n"
        f"      add_trailer grpc-status 0 always;\n"
        f"      return 200 \"{_grpc_reply_literal()}\"; }} }}"
        for port in layout.grpc_ports)
    status = (f"  server {{ listen 127.0.0.1:{layout.status_port};\n"
              f"    location / {{ stub_status; }} }}" if layout.status_port else "")
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
{grpc_servers}
{status}
}}
"""


# --- albemu ------------------------------------------------------------------------------------

def _albemu_frontend(layout, grpc=False):
    """Cloud Run services, the two URL-mask NEGs and their backend services. With `grpc`, the
    services are the gRPC backends, spoken to in h2c (useHttp2)."""
    lines = ["project: bench", "region: us-central1", "", "cloudRunServices:"]
    http2 = ", useHttp2: true" if grpc else ""
    for index in range(layout.services):
        lines.append(f"  - {{name: {service_name(index)}, "
                     f"url: \"http://127.0.0.1:{layout.port_of(index, grpc)}\"{http2}}}")
    protocol = "H2C" if grpc else "HTTP"
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
        f"    protocol: {protocol}",
        "    backends: [{group: by-path}]",
        "  - name: by-host",
        "    loadBalancingScheme: INTERNAL_MANAGED",
        f"    protocol: {protocol}",
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


def albemu_yaml(layout, grpc=False):
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
    return "\n".join(_albemu_frontend(layout, grpc) + url_map + _albemu_listeners(layout))


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

def nginx_conf(layout, work_dir, http_port, https_port, grpc=False):
    """With `grpc`, the upstreams are the gRPC ports and the location passes with `grpc_pass`
    (nginx's h2c client, one call at a time per keepalive connection)."""
    prefix = "gbe" if grpc else "be"
    upstreams = "\n".join(
        f"  upstream {prefix}_{port} {{ server 127.0.0.1:{port}; keepalive 256; "
        f"keepalive_requests 1000000000; keepalive_timeout 600s; }}"
        for port in layout.ports(grpc))
    services = "\n".join(f"    {service_name(i)} {prefix}_{layout.port_of(i, grpc)};"
                         for i in range(layout.services))
    domain = DOMAIN.replace(".", "\\.")
    if grpc:
        forward = """grpc_pass grpc://$service_upstream;
      grpc_set_header X-Forwarded-For "$proxy_add_x_forwarded_for,127.0.0.1";
      grpc_set_header X-Forwarded-Proto $scheme;
      grpc_set_header Via "1.1 google";"""
    else:
        forward = """proxy_pass http://$service_upstream;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For "$proxy_add_x_forwarded_for,127.0.0.1";
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header Via "1.1 google";"""
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
    listen 127.0.0.1:{https_port} ssl http2 backlog=4096;
    ssl_certificate {layout.cert_file};
    ssl_certificate_key {layout.key_file};
    location / {{
      if ($service_upstream = "") {{ return 503 "no healthy upstream"; }}
      {forward}
      add_header Via "1.1 google" always;
    }}
  }}
}}
"""


# --- HAProxy -----------------------------------------------------------------------------------

def haproxy_files(layout, work_dir, http_port, https_port, maxconn, grpc=False):
    """(haproxy.cfg text, {file name: content}) for HAProxy. HAProxy needs about two file
    descriptors per connection within `maxconn`, and refuses to start beyond its limit. With
    `grpc`, the backends are the gRPC ports, spoken to in h2c (`proto h2`)."""
    work_dir = Path(work_dir)
    prefix, proto = ("gbe", " proto h2") if grpc else ("be", "")
    service_map = "".join(f"{service_name(i)} {prefix}_{layout.port_of(i, grpc)}\n"
                          for i in range(layout.services))
    pem = Path(layout.cert_file).read_text() + Path(layout.key_file).read_text()
    backends = "\n".join(
        f"backend {prefix}_{port}\n  server s 127.0.0.1:{port}{proto}\n"
        for port in layout.ports(grpc))
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
  bind 127.0.0.1:{https_port} ssl crt {work_dir}/haproxy.pem alpn h2,http/1.1 backlog 4096
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

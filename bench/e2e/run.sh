#!/usr/bin/env bash
# End-to-end throughput: wrk through albemu, nginx and HAProxy to the same Cloud Run stand-in,
# plus the stand-in directly, all in one run on this machine. Prints requests/s and the
# ratios albemu/nginx and albemu/haproxy. Loopback only.
#
#   bench/e2e/run.sh [DURATION_SECONDS] [CONNECTIONS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
albemu="$root/build/albemu"
duration=${1:-10}
connections=${2:-50}
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 1 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "port $1 never opened" >&2; return 1
}
# Pin the load generator to CPU 0 and the servers to CPU 1 when there are two or more CPUs.
cpus=$(nproc)
server_cpu=""; load_cpu=""
if [ "$cpus" -ge 2 ]; then server_cpu="taskset -c 1"; load_cpu="taskset -c 0"; fi

standin_port=$(free_port)
$server_cpu "$albemu" standin --port "$standin_port" --service login >/dev/null 2>&1 &
pids+=($!)
wait_port "$standin_port"

albemu_port=$(free_port)
cat >"$work/albemu.yaml" <<YAML
cloudRunServices:
  - name: login
    url: http://127.0.0.1:$standin_port
networkEndpointGroups:
  - name: by-path
    networkEndpointType: SERVERLESS
    cloudRun: {urlMask: /<service>}
backendServices:
  - name: by-path
    loadBalancingScheme: INTERNAL_MANAGED
    backends: [{group: by-path}]
urlMaps:
  - name: bench
    defaultService: by-path
targetHttpProxies:
  - name: bench
    urlMap: bench
forwardingRules:
  - name: bench
    loadBalancingScheme: INTERNAL_MANAGED
    IPAddress: 127.0.0.1
    portRange: "$albemu_port"
    target: bench
YAML
$server_cpu "$albemu" serve -c "$work/albemu.yaml" --workers 1 --admin 127.0.0.1:0 >/dev/null 2>&1 &
pids+=($!)
wait_port "$albemu_port"

nginx_port=$(free_port)
cat >"$work/nginx.conf" <<CONF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  upstream standin { server 127.0.0.1:$standin_port; keepalive 64; }
  server {
    listen 127.0.0.1:$nginx_port;
    location / {
      proxy_pass http://standin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
    }
  }
}
CONF
$server_cpu nginx -c "$work/nginx.conf" -g 'daemon off;' &
pids+=($!)
wait_port "$nginx_port"

haproxy_port=$(free_port)
cat >"$work/haproxy.cfg" <<CONF
global
  nbthread 1
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option http-keep-alive
  option forwardfor
frontend bench
  bind 127.0.0.1:$haproxy_port
  default_backend standin
backend standin
  http-reuse always
  server s1 127.0.0.1:$standin_port
CONF
$server_cpu haproxy -f "$work/haproxy.cfg" &
pids+=($!)
wait_port "$haproxy_port"

run_wrk() {  # name port -> prints "name rps"
  local out
  out=$($load_cpu wrk -t1 -c"$connections" -d"${duration}s" "http://127.0.0.1:$2/login/web")
  local rps
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  local errors
  errors=$(echo "$out" | awk '/Non-2xx|Socket errors/ {print}' | tr '\n' ' ')
  printf '%-10s %12s req/s  %s\n' "$1" "$rps" "$errors" >&2
  echo "$rps"
}

echo "wrk -t1 -c$connections -d${duration}s, one worker/thread per server, servers on CPU 1" >&2
direct=$(run_wrk standin "$standin_port")
albemu_rps=$(run_wrk albemu "$albemu_port")
nginx_rps=$(run_wrk nginx "$nginx_port")
haproxy_rps=$(run_wrk haproxy "$haproxy_port")
python3 - "$albemu_rps" "$nginx_rps" "$haproxy_rps" "$direct" <<'PY'
import sys
a, n, h, d = map(float, sys.argv[1:])
print(f"albemu/nginx   = {a/n:.2f}")
print(f"albemu/haproxy = {a/h:.2f}")
print(f"albemu/direct  = {a/d:.2f}")
PY

#!/usr/bin/env bash
# End-to-end test of docker/compose.yaml: builds the images, brings the project up, runs the
# curl checks of Google's guide from vm-client against albemu at 10.1.2.99, edits the mounted
# config and checks the new route without a restart, then tears everything down, including the
# Docker engine it started, whether or not the checks pass.
#
#   tests/e2e/compose_test.sh        (or: make test-docker)
#
# It runs in its own compose project with a copy of docker/config/, so a compose project the
# user already has up is not touched (but both use 10.1.2.0/24: stop yours first). Runs of it
# from other checkouts of the repository on the same machine go one at a time (see below).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "${root}"

# One run at a time on a machine: two would each bring up 10.1.2.0/24, and two private engines
# would fight over docker0 and iptables. A lock orders this script's runs; a private engine
# that a run without the lock started (an older checkout's) is waited for until it stops.
exec 9>"${TMPDIR:-/tmp}/albemu-compose-test.lock"
if ! flock -n 9; then
  echo "another compose end-to-end run holds the lock; waiting for it"
  flock 9
fi
other_engine() { pgrep -f 'dockerd --data-root [^ ]*/albemu-docker\.' >/dev/null; }
if other_engine; then
  echo "a private Docker engine of another run is up; waiting until it stops (at most 30 min)"
  waited=$((SECONDS + 1800))
  while other_engine && ((SECONDS < waited)); do sleep 2; done
fi

failures=0
checks=0
pass() { checks=$((checks + 1)); echo "ok    $*"; }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL  $*"; }

work="$(mktemp -d "${TMPDIR:-/tmp}/albemu-compose.XXXXXX")"
cp -r docker/config "${work}/config"

# A free loopback port for each published port (bound by Docker right after).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
export COMPOSE_PROJECT_NAME="albemu-e2e-$$"
export ALBEMU_CONFIG_DIR="${work}/config"
ALBEMU_HTTP_PORT="$(free_port)"
ALBEMU_HTTPS_PORT="$(free_port)"
ALBEMU_ADMIN_PORT="$(free_port)"
export ALBEMU_HTTP_PORT ALBEMU_HTTPS_PORT ALBEMU_ADMIN_PORT
compose() { docker-compose -f docker/compose.yaml "$@"; }

cleanup() {
  local status=$?
  set +e
  if [ "${failures}" -ne 0 ] || [ "${status}" -ne 0 ]; then
    echo "--- albemu logs ---"
    compose logs --no-color --tail=60 albemu
  fi
  compose down --volumes --remove-orphans --timeout 5 >/dev/null 2>&1
  scripts/docker-engine.sh stop
  rm -rf "${work}"
}
trap cleanup EXIT

eval "$(scripts/docker-engine.sh start)"

started=${SECONDS}
compose build
echo "images built in $((SECONDS - started)) s"
docker image ls albemu:dev --format 'albemu:dev image size: {{.Size}}'
compose up -d

# Every long-running service reports healthy through its Docker HEALTHCHECK.
wait_healthy() {
  local service=$1 deadline=$((SECONDS + 120)) id status=""
  id="$(compose ps -q "${service}")"
  while ((SECONDS < deadline)); do
    status="$(docker inspect -f '{{.State.Health.Status}}' "${id}")"
    [ "${status}" = healthy ] && return 0
    sleep 0.5
  done
  echo "${service} is ${status:-not running} after 120 s" >&2
  return 1
}
for service in albemu helloworld login login-test cart grpc-echo; do
  if wait_healthy "${service}"; then pass "${service} container is healthy"; else fail "${service} container is healthy"; fi
done
[ "${failures}" -eq 0 ] || exit 1

# Runs curl in vm-client; prints the body, then a last line with the status code.
client_curl() { compose exec -T vm-client curl -sS --max-time 10 -w '\n%{http_code}' "$@"; }

# expect NAME EXPECTED_STATUS PYTHON_CONDITION CURL_ARGS...: the condition sees the echo as `e`.
expect() {
  local name=$1 want=$2 condition=$3
  shift 3
  local out status body
  if ! out="$(client_curl "$@")"; then
    fail "${name}: curl failed: ${out}"
    return
  fi
  status="${out##*$'\n'}"
  body="${out%$'\n'*}"
  if [ "${status}" != "${want}" ]; then
    fail "${name}: status ${status}, want ${want}: ${body}"
    return
  fi
  if [ "${condition}" = - ] ||
    BODY="${body}" python3 -c "import json, os, sys; e = json.loads(os.environ['BODY']); sys.exit(0 if (${condition}) else 1)" 2>/dev/null; then
    pass "${name}"
  else
    fail "${name}: ${condition} does not hold for ${body}"
  fi
}

vip=10.1.2.99
connect="test.example.com:443:${vip}:443"

# The guide's two checks, verbatim apart from the addresses.
expect "curl ${vip} reaches helloworld (named-service NEG)" 200 \
  "e['service'] == 'helloworld' and e['tag'] == '' and e['revision'] == 'helloworld-00001-abc'" \
  "${vip}"
expect "curl -k https://test.example.com --connect-to reaches helloworld over TLS" 200 \
  "e['service'] == 'helloworld' and e['headers']['x-forwarded-proto'] == ['https']" \
  -k -s 'https://test.example.com:443' --connect-to "${connect}"
# The certificate verifies against the dev CA, for the SNI name the client sent.
expect "HTTPS certificate verifies against the dev CA" 200 "e['service'] == 'helloworld'" \
  --cacert /var/lib/albemu/certs/ca.crt 'https://test.example.com/' --connect-to "${connect}"

# URL mask example.com/<service>: the first path segment picks the Cloud Run service.
expect "example.com/login/web -> login (URL mask)" 200 \
  "e['service'] == 'login' and e['tag'] == '' and e['path'] == '/login/web'" \
  -H 'Host: example.com' "http://${vip}/login/web"
expect "example.com/cart/items?id=7 -> cart (URL mask)" 200 \
  "e['service'] == 'cart' and e['path'] == '/cart/items' and e['query'] == 'id=7'" \
  -H 'Host: example.com' "http://${vip}/cart/items?id=7"
expect "the stand-in sees the client and load balancer in X-Forwarded-For" 200 \
  "e['headers']['x-forwarded-for'] == ['10.1.2.10,${vip}'] and e['headers']['host'] == ['example.com']" \
  -H 'Host: example.com' "http://${vip}/cart/"
# URL mask <tag>.example.com/home/<service>: the host picks the revision tagged test.
expect "https://test.example.com/home/login/web -> login tagged test" 200 \
  "e['service'] == 'login' and e['tag'] == 'test' and e['revision'] == 'login-00002-tst'" \
  -k "https://test.example.com/home/login/web" --connect-to "${connect}"
expect "an unknown service -> 503" 503 - -H 'Host: example.com' "http://${vip}/nosuchservice/x"
expect "an unknown tag -> 503" 503 - -k "https://beta.example.com/home/login/web" \
  --connect-to "beta.example.com:443:${vip}:443"

# gRPC: grpc-call (python3-grpcio, in vm-client) calls grpc-echo.example.com over TLS; albemu
# speaks h2c to the grpc-echo stand-in (useHttp2), which echoes each message back.
# grpc_expect NAME PYTHON_CONDITION GRPC_CALL_ARGS...: the condition sees the calls by name as
# `c` (c['unary'], c['bidi']: sent, received, code, details, metadata).
grpc_expect() {
  local name=$1 condition=$2
  shift 2
  local out
  # Its exit status is the condition's to judge (a hook's error status is the point).
  out="$(compose exec -T vm-client grpc-call "$@" 2>&1)" || true
  if OUT="${out}" python3 -c "import json, os, sys
c = {r['call']: r for r in (json.loads(l) for l in os.environ['OUT'].splitlines() if l.startswith('{'))}
sys.exit(0 if (${condition}) else 1)" 2>/dev/null; then
    pass "${name}"
  else
    fail "${name}: ${condition} does not hold for ${out}"
  fi
}
grpc_expect "gRPC unary call echoes through the load balancer (grpc-status OK)" \
  "c['unary']['code'] == 'OK' and c['unary']['received'] == c['unary']['sent'] and c['unary']['metadata']['x-standin-service'] == 'grpc-echo' and c['unary']['metadata']['x-standin-revision'] == 'grpc-echo-00001-abc'"
grpc_expect "gRPC bidirectional streaming call echoes each message (grpc-status OK)" \
  "c['bidi']['code'] == 'OK' and c['bidi']['received'] == ['one', 'two', 'three']"
grpc_expect "gRPC status hook: both calls end PERMISSION_DENIED with its message" \
  "all(c[k]['code'] == 'PERMISSION_DENIED' and c[k]['details'] == 'denied by test' and c[k]['received'] == [] for k in ('unary', 'bidi'))" \
  --status 7 --message 'denied by test'
expect "https://grpc-echo.example.com/ (not gRPC) -> grpc-echo's JSON echo over h2c" 200 \
  "e['service'] == 'grpc-echo' and e['revision'] == 'grpc-echo-00001-abc' and e['headers']['host'] == ['grpc-echo.example.com']" \
  --cacert /var/lib/albemu/certs/ca.crt 'https://grpc-echo.example.com/' \
  --connect-to "grpc-echo.example.com:443:${vip}:443"

# The ports published on the host's loopback reach the same load balancer.
host_body="$(curl -sS --max-time 10 -H 'Host: example.com' "http://127.0.0.1:${ALBEMU_HTTP_PORT}/cart/x")"
if [[ "${host_body}" == *'"service":"cart"'* ]]; then pass "published HTTP port reaches cart"; else fail "published HTTP port: ${host_body}"; fi
host_body="$(curl -sS --max-time 10 -k "https://127.0.0.1:${ALBEMU_HTTPS_PORT}/")"
if [[ "${host_body}" == *'"service":"helloworld"'* ]]; then pass "published HTTPS port reaches helloworld"; else fail "published HTTPS port: ${host_body}"; fi

admin="http://127.0.0.1:${ALBEMU_ADMIN_PORT}"
generation() { curl -sS --max-time 5 "${admin}/config" | python3 -c 'import json,sys; print(json.load(sys.stdin)["generation"])'; }
# Waits until the config generation passes $1 or the last reload error is set.
wait_reload() {
  local before=$1 deadline=$((SECONDS + 30))
  while ((SECONDS < deadline)); do
    local state
    state="$(curl -sS --max-time 5 "${admin}/config" |
      python3 -c 'import json,sys; c=json.load(sys.stdin); print(c["generation"], "error" if c["lastReloadError"] else "ok")')"
    if [ "${state%% *}" -gt "${before}" ] || [ "${state##* }" = error ]; then
      echo "${state}"
      return 0
    fi
    sleep 0.2
  done
  echo "timeout"
}

# Hot reload: a new path rule, written into the mounted config on the host.
expect "before the edit, example.com/shop is an unknown service -> 503" 503 - \
  -H 'Host: example.com' "http://${vip}/shop/cart"
before="$(generation)"
python3 - "${work}/config/lb.yaml" <<'EOF'
import sys
path = sys.argv[1]
text = open(path).read()
anchor = "      - name: by-path\n        defaultService: services-by-path\n"
assert anchor in text, "the by-path matcher moved; update the test"
text = text.replace(anchor, anchor + "        pathRules:\n"
                    "          - paths: [\"/shop\", \"/shop/*\"]\n"
                    "            service: helloworld-backend-service\n")
open(path + ".new", "w").write(text)
EOF
mv "${work}/config/lb.yaml.new" "${work}/config/lb.yaml"
state="$(wait_reload "${before}")"
if [ "${state}" = "$((before + 1)) ok" ]; then pass "the edit reloaded albemu (generation ${before} -> $((before + 1)))"; else fail "reload after the edit: ${state}"; fi
expect "after the edit, example.com/shop/cart -> helloworld" 200 "e['service'] == 'helloworld'" \
  -H 'Host: example.com' "http://${vip}/shop/cart"
expect "other routes unchanged after the reload" 200 "e['service'] == 'login' and e['tag'] == 'test'" \
  -k "https://test.example.com/home/login/web" --connect-to "${connect}"

# A broken edit is refused and the previous config keeps serving.
before="$(generation)"
echo "urlMaps: [{name: broken, defaultService: no-such-service}]" >"${work}/config/broken.yaml"
state="$(wait_reload "${before}")"
if [ "${state}" = "${before} error" ]; then pass "a broken config is refused (generation stays ${before})"; else fail "broken config: ${state}"; fi
expect "the previous config keeps serving" 200 "e['service'] == 'helloworld'" \
  -H 'Host: example.com' "http://${vip}/shop/cart"
ready_status="$(curl -s -o /dev/null -w '%{http_code}' "${admin}/ready")"
if [ "${ready_status}" = 503 ]; then pass "/ready reports the failed reload (503)"; else fail "/ready: ${ready_status}"; fi

echo
echo "compose end-to-end: ${checks} checks, ${failures} failed ($((SECONDS - started)) s)"
[ "${failures}" -eq 0 ]

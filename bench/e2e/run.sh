#!/usr/bin/env bash
# End-to-end benchmark: the same workload through albemu, nginx and HAProxy in one run, with the
# proxy pinned to one core and the load generator and backend to the other (bench/e2e/README.md).
#
#   bench/e2e/run.sh                         everything (make bench-e2e): throughput over HTTP and
#                                            HTTPS, HTTP/2, gRPC, open-loop latency, idle
#                                            connections, reload
#   bench/e2e/run.sh --sections h2,grpc      only the HTTP/2 and gRPC sections (h2load)
#   bench/e2e/run.sh --smoke                 albemu vs nginx in about a minute (make bench-smoke);
#                                            exits 1 if albemu is below 0.8x nginx's requests/s
#                                            over HTTP/1.1, or 0.7x over HTTP/2
#   bench/e2e/run.sh DURATION CONNECTIONS    one HTTP throughput table, one round (make bench)
#   bench/e2e/run.sh --help                  every option (bench.py)
#
# Builds albemu and albemu_loadgen in BUILD_DIR (default build/, configured by `make configure`
# or here), writes the dev certificates, then runs bench.py. Results: bench/out/results.{json,md}
# (smoke.{json,md} for --smoke). Every process started is stopped on exit, also on failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build_dir=${BUILD_DIR:-build}
[[ $build_dir == /* ]] || build_dir="$root/$build_dir"
jobs=${JOBS:-$(nproc)}
# The HTTP/2 and gRPC checks use Debian's python3-httpx, python3-h2 and python3-grpcio, which
# only the system interpreter has (another python3 may come first on PATH).
python=${PYTHON:-python3}
[[ -z ${PYTHON:-} && -x /usr/bin/python3 ]] && python=/usr/bin/python3

for tool in wrk h2load nginx haproxy python3 cmake openssl; do
  command -v "$tool" >/dev/null || { echo "run.sh: no $tool (make deps-bench)" >&2; exit 2; }
done

args=("$@")
if [[ $# -eq 2 && $1 =~ ^[0-9]+$ && $2 =~ ^[0-9]+$ ]]; then
  args=(--sections throughput --connections "$2" --duration "$1" --rounds 1 --no-host --no-https)
fi
for arg in "${args[@]}"; do
  [[ $arg == -h || $arg == --help ]] && exec "$python" "$here/bench.py" --help
done

if [[ ! -f $build_dir/build.ninja && ! -f $build_dir/Makefile ]]; then
  cmake -S "$root" -B "$build_dir" -G Ninja >/dev/null
fi
cmake --build "$build_dir" -j "$jobs" --target albemu albemu_loadgen
"$root/certs/generate.sh" >/dev/null

# bench.py appends the process group of everything it starts to this file; if it dies without
# stopping them (SIGKILL), this trap does.
pid_file=$(mktemp)
bench_pid=""
cleanup() {
  local status=$?
  if [[ -n $bench_pid ]] && kill -0 "$bench_pid" 2>/dev/null; then
    kill -TERM "$bench_pid" 2>/dev/null || true
    wait "$bench_pid" 2>/dev/null || true
  fi
  local group
  while read -r group; do
    kill -0 -- "-$group" 2>/dev/null || continue
    kill -TERM -- "-$group" 2>/dev/null || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      kill -0 -- "-$group" 2>/dev/null || break
      sleep 0.2  # grace for a draining proxy; SIGKILL after
    done
    kill -KILL -- "-$group" 2>/dev/null || true
  done <"$pid_file"
  rm -f "$pid_file"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
trap 'exit 129' HUP

# 10,000 idle connections need more open files than the usual soft limit.
ulimit -n 100000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

"$python" "$here/bench.py" --albemu "$build_dir/albemu" --loadgen "$build_dir/albemu_loadgen" \
  --pid-file "$pid_file" "${args[@]}" &
bench_pid=$!
status=0
wait "$bench_pid" || status=$?
bench_pid=""
exit "$status"

#!/usr/bin/env bash
# Runs tutorial_test.mjs against a fresh `albemu serve`: installs the pinned client once
# (npm ci), starts serve on free ports with the compute API, waits for its ready file,
# runs the test, and stops serve. Usage: run.sh PATH/TO/albemu
set -euo pipefail
albemu="${1:?usage: run.sh PATH/TO/albemu}"
here="$(cd "$(dirname "$0")" && pwd)"
if [ ! -d "$here/node_modules/@google-cloud/compute" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi
work="$(mktemp -d)"
serve_pid=""
cleanup() {
  if [ -n "$serve_pid" ]; then
    kill "$serve_pid" 2>/dev/null || true
    wait "$serve_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
"$albemu" serve --ephemeral-ports --workers 2 --admin 127.0.0.1:0 --api 127.0.0.1:0 \
  --state-dir "$work/state" --ready-file "$work/ready.json" >"$work/serve.out" 2>"$work/serve.err" &
serve_pid=$!
# Wait for the ready file (polling a condition, bounded), or for serve to exit.
for _ in $(seq 1 300); do
  [ -s "$work/ready.json" ] && break
  if ! kill -0 "$serve_pid" 2>/dev/null; then
    echo "albemu serve exited before it was ready:" >&2
    cat "$work/serve.err" >&2
    exit 1
  fi
  sleep 0.1
done
[ -s "$work/ready.json" ] || { echo "albemu serve did not get ready" >&2; cat "$work/serve.err" >&2; exit 1; }
status=0
ALBEMU_READY_FILE="$work/ready.json" node --test "$here/tutorial_test.mjs" || status=$?
if [ "$status" -ne 0 ]; then
  echo "--- albemu serve stderr ---" >&2
  cat "$work/serve.err" >&2
fi
exit "$status"

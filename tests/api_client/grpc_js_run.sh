#!/usr/bin/env bash
# Runs grpc_js_test.mjs with the albemu binary it is given (the test starts albemu itself).
# Installs the pinned clients once (npm ci): @grpc/grpc-js comes with Google's Compute client.
# Usage: grpc_js_run.sh PATH/TO/albemu
set -euo pipefail
albemu="${1:?usage: grpc_js_run.sh PATH/TO/albemu}"
here="$(cd "$(dirname "$0")" && pwd)"
if [ ! -d "$here/node_modules/@grpc/grpc-js" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi
ALBEMU_BINARY="$albemu" exec node --test "$here/grpc_js_test.mjs"

#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz for FUZZ_SECONDS each (`make fuzz`).
#
#   tests/fuzz/run.sh BUILD_DIR [TARGET...]     (default: every target)
#
# Each target runs on a working copy of its seed corpus, BUILD_DIR/corpus/<target> (kept
# between runs, so coverage accumulates; the seeds in tests/fuzz/corpus stay small). Crashing
# inputs land in BUILD_DIR/artifacts/<target>/. Prints the executions per target; exits 1 if
# any target found a crash, a leak, undefined behaviour or a timeout.
set -uo pipefail

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_TIMEOUT=${FUZZ_TIMEOUT:-5}           # seconds one input may take before it is a hang
FUZZ_RSS_LIMIT_MB=${FUZZ_RSS_LIMIT_MB:-2048}
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: run.sh BUILD_DIR [TARGET...]}
shift
# Absolute: fuzz_config_loader works in a directory of its own.
build=$(mkdir -p "$build" && cd "$build" && pwd)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(fuzz_config_loader fuzz_route fuzz_url_mask fuzz_downstream_session
  fuzz_http2_session)

dict_of() {
  case "$1" in
    fuzz_config_loader) echo "$here/yaml.dict" ;;
    fuzz_url_mask) echo "$here/url_mask.dict" ;;
    fuzz_http2_session) echo "$here/http2.dict" ;;
    *) echo "$here/http.dict" ;;
  esac
}

failed=()
summary=()
for target in "${targets[@]}"; do
  binary="$build/fuzz/$target"
  if [ ! -x "$binary" ]; then
    echo "run.sh: $binary is not built" >&2
    failed+=("$target")
    continue
  fi
  corpus="$build/corpus/$target"
  artifacts="$build/artifacts/$target"
  log="$build/logs/$target.log"
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  cp -n "$here/corpus/$target"/* "$corpus"/ 2>/dev/null || true
  echo "== $target: ${FUZZ_SECONDS}s (log: $log)"
  "$binary" "$corpus" -dict="$(dict_of "$target")" -max_total_time="$FUZZ_SECONDS" \
    -timeout="$FUZZ_TIMEOUT" -rss_limit_mb="$FUZZ_RSS_LIMIT_MB" -print_final_stats=1 \
    -artifact_prefix="$artifacts/" >"$log" 2>&1
  status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  line="$target: ${execs:-?} executions (${rate:-?}/s)"
  if [ $status -ne 0 ]; then
    line+=", FAILED (exit $status)"
    failed+=("$target")
    grep -m1 -E "^(==[0-9]+==ERROR|ERROR|SUMMARY|.*runtime error|ALARM|.*stalled)" "$log" | sed 's/^/  /'
    ls -t "$artifacts" | head -3 | sed "s|^|  input: $artifacts/|"
  fi
  summary+=("$line")
done

echo "== fuzz summary"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -ne 0 ]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi

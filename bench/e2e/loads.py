"""The load: wrk (closed loop, fixed connection counts) and albemu_loadgen (open loop, fixed
rate; idle connections). Each runs pinned to the generator's CPU and reports a dict."""

import json
import re
import subprocess
from pathlib import Path

from procs import HarnessError

HERE = Path(__file__).resolve().parent
SPREAD_LUA = HERE / "spread.lua"


def _run(processes, name, argv, cpus, timeout):
    """Runs argv to completion as a harness process; returns (exit code, stdout, log tail)."""
    process = processes.start(name, argv, cpus=cpus, stdout=subprocess.PIPE)
    try:
        out, _ = process.popen.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        processes.stop(process, grace=1.0)
        raise HarnessError(f"{name} did not finish within {timeout}s")
    processes.stop(process, grace=1.0)
    return process.popen.returncode, out.decode(errors="replace"), process.log_tail()


def run_wrk(processes, url, connections, duration, cpus, mode="path", services=1000, threads=1):
    """wrk with spread.lua; returns requests, rps, latency percentiles (µs) and error counts."""
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s", "--latency",
            "--timeout=10s", "-s", str(SPREAD_LUA), url, "--", mode,
            str(services)]
    code, text, err = _run(processes, "wrk", argv, cpus, duration + 60)
    if code != 0:
        raise HarnessError(f"wrk failed (exit {code}):\n{text}\n{err}")
    return parse_wrk_output(text, err)


def parse_wrk_output(text, err=""):
    """The numbers of one wrk run from its output (spread.lua's WRKJSON line)."""
    match = re.search(r"^WRKJSON (\{.*\})$", text, re.MULTILINE)
    if not match:
        raise HarnessError(f"wrk printed no summary:\n{text}\n{err}")
    stats = json.loads(match.group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    seconds = stats["duration_us"] / 1e6
    errors = (stats["connect_errors"] + stats["read_errors"] + stats["write_errors"]
              + stats["timeouts"])
    return {
        "requests": stats["requests"],
        "seconds": seconds,
        "rps": stats["requests"] / seconds if seconds > 0 else 0.0,
        "p50_us": stats["p50_us"],
        "p90_us": stats["p90_us"],
        "p99_us": stats["p99_us"],
        "socket_errors": errors,
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "status_errors": stats["status_errors"],
    }


def run_loadgen_rate(processes, loadgen, target, rate, connections, duration, warmup, cpus,
                     mode="path", services=1000):
    """albemu_loadgen rate: the open-loop result (latency_us p50/p90/p99/p999, counts)."""
    argv = [str(loadgen), "rate", "--target", target, "--rate", str(rate),
            "--connections", str(connections), "--duration", str(duration),
            "--warmup", str(warmup), "--routing", mode, "--services", str(services)]
    code, text, err = _run(processes, "loadgen", argv, cpus, duration + warmup + 60)
    text = text.strip()
    if not text.startswith("{"):
        raise HarnessError(f"albemu_loadgen failed (exit {code}):\n{text}\n{err}")
    return json.loads(text.splitlines()[-1])

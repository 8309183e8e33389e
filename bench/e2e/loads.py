"""The load: wrk (closed loop, fixed connection counts), h2load (HTTP/2, closed loop, fixed
connections and streams) and albemu_loadgen (open loop, fixed rate; idle connections). Each runs
pinned to the generator's CPU and reports a dict."""

import json
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

from procs import HarnessError

HERE = Path(__file__).resolve().parent
SPREAD_LUA = HERE / "spread.lua"


def _run(processes, name, argv, cpus, timeout):
    """Runs argv to completion as a harness process; returns (exit code, stdout, log tail)."""
    return _finish(processes, processes.start(name, argv, cpus=cpus, stdout=subprocess.PIPE),
                   timeout)


def _finish(processes, process, timeout):
    """Waits for a started process (stdout piped) and stops its group; returns (exit code,
    stdout, log tail)."""
    try:
        out, _ = process.popen.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        processes.stop(process, grace=1.0)
        raise HarnessError(f"{process.name} did not finish within {timeout}s")
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


class StallMeter:
    """cyclictest (Debian's rt-tests) from its start until result(): one real-time thread per
    given CPU that sleeps 2 ms at a time and records how late each wake-up came. Nothing on that
    CPU's run queue outranks it (`priority` must be above any proxy's --realtime), so a late
    wake-up is a stall no process there could have avoided: the kernel or the hypervisor held
    the CPU. result() is None without cyclictest, or if it failed (`failure` says why)."""

    INTERVAL_US = 2000
    HISTOGRAM_US = 20000  # wake-ups later than this are counted as overflows

    def __init__(self, processes, cpus, priority=90):
        self.processes = processes
        self.cpus = sorted(cpus)
        self.process = None
        self.failure = None
        if not shutil.which("cyclictest") or not self.cpus:
            return
        # --laptop: leave /dev/cpu_dma_latency alone, so the meter does not change the CPUs'
        # idle states for the processes it watches. -d 0: every thread the same interval. It
        # runs until SIGINT, then prints its histogram.
        argv = ["cyclictest", "--quiet", "--mlockall", "--laptop", "-p", str(priority),
                "-t", str(len(self.cpus)), "-a", ",".join(map(str, self.cpus)), "-d", "0",
                "-i", str(self.INTERVAL_US), "-h", str(self.HISTOGRAM_US)]
        self.process = processes.start("stall-meter", argv, stdout=subprocess.PIPE)

    def result(self, timeout=30):
        """Stops the meter: {cpu: {'max_us', 'over_1ms', 'wakeups'}}, or None."""
        if self.process is None:
            return None
        process, self.process = self.process, None
        try:
            os.kill(process.pid, signal.SIGINT)
        except ProcessLookupError:
            pass  # it failed at start: its log says why
        try:
            code, out, log = _finish(self.processes, process, timeout)
        except HarnessError as error:
            self.failure = str(error)
            return None
        per_thread = parse_cyclictest(out, len(self.cpus))
        if per_thread is None:
            self.failure = f"exit {code}, {log.strip() or out.strip()[:200]}"
            return None
        return dict(zip(map(str, self.cpus), per_thread))


def _columns(line, label):
    return [int(field) for field in line[len(label):].split()]


def parse_cyclictest(text, threads):
    """cyclictest's histogram output: per thread, the worst wake-up delay in µs, how many
    wake-ups were 1 ms late or more, and how many there were (overflows included in both);
    None if it is not that output."""
    max_us = overflows = totals = None
    late = [0] * threads
    try:
        for line in text.splitlines():
            if line.startswith("# Max Latencies:"):
                max_us = _columns(line, "# Max Latencies:")
            elif line.startswith("# Histogram Overflows:"):
                overflows = _columns(line, "# Histogram Overflows:")
            elif line.startswith("# Total:"):
                totals = _columns(line, "# Total:")
            elif line and not line.startswith("#"):
                fields = [int(field) for field in line.split()]
                if len(fields) == threads + 1 and fields[0] >= 1000:
                    late = [a + b for a, b in zip(late, fields[1:])]
    except ValueError:
        return None
    if any(column is None or len(column) != threads for column in (max_us, overflows, totals)):
        return None
    return [{"max_us": max_us[i], "over_1ms": late[i] + overflows[i],
             "wakeups": totals[i] + overflows[i]} for i in range(threads)]


def write_h2load_uris(path, base_url, services, method="bench"):
    """h2load's -i file: `BASE/<service>/METHOD` for every service in turn, so that each
    request names a different service (URL mask /<service>), as spread.lua does for wrk.
    h2load sends every request with the first URI's :authority (it takes scheme, host and port
    from it alone), so the URI file cannot spread requests over hosts."""
    lines = [f"{base_url}/s{index:04d}/{method}" for index in range(services)]
    Path(path).write_text("\n".join(lines) + "\n")
    return path


def run_h2load(processes, uri_file, connections, streams, duration, cpus, data=None,
               headers=()):
    """h2load for `duration` seconds: `connections` connections with up to `streams` requests
    in flight on each, through the URIs of `uri_file` in turn (POSTing the file `data` when
    given). Returns the counts, rps of the succeeded (2xx) requests, the mean latency (µs), the
    negotiated protocol and TLS, and the bytes of response DATA.

    h2load offers TLS 1.3's AES-128 first, and servers differ in whose preference wins (nginx
    took it, HAProxy chose AES-256), so it offers AES-256 alone: every proxy then runs the
    cipher they all negotiate with Python's client in the HTTPS checks.

    Once (256 connections to albemu on a busy machine; not again in about 50 tries) h2load
    ran on past its duration until the harness gave up, the cause unknown. -N closes a
    connection that has seen no byte for 10 s, so a stalled connection ends as failed
    requests, reported, instead of holding the run."""
    argv = ["h2load", "-t1", f"-c{connections}", f"-m{streams}", f"-D{max(1, round(duration))}",
            "-N10s", "--tls13-ciphers=TLS_AES_256_GCM_SHA384", "-i", str(uri_file)]
    for header in headers:
        argv += ["-H", header]
    if data:
        argv += ["-d", str(data)]
    code, text, err = _run(processes, "h2load", argv, cpus, duration + 60)
    if code != 0:
        raise HarnessError(f"h2load failed (exit {code}):\n{text}\n{err}")
    return parse_h2load_output(text, err)


_H2LOAD_UNITS_US = {"us": 1.0, "ms": 1e3, "s": 1e6}


def parse_h2load_output(text, err=""):
    """The numbers of one h2load run from its summary."""
    finished = re.search(r"^finished in ([\d.]+)(us|ms|s),", text, re.MULTILINE)
    counts = re.search(r"^requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                       r"(\d+) failed, (\d+) errored, (\d+) timeout", text, re.MULTILINE)
    codes = re.search(r"^status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", text,
                      re.MULTILINE)
    traffic = re.search(r"^traffic: .*?\((\d+)\) total, .*?\((\d+)\) headers .*?, "
                        r".*?\((\d+)\) data", text, re.MULTILINE)
    timing = re.search(r"^time for request:\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)\s+"
                       r"([\d.]+)(us|ms|s)", text, re.MULTILINE)
    if not (finished and counts and codes and traffic):
        raise HarnessError(f"h2load printed no summary:\n{text}\n{err}")
    protocol = re.search(r"^Application protocol: (\S+)", text, re.MULTILINE)
    tls = re.search(r"^TLS Protocol: (\S+)\nCipher: (\S+)", text, re.MULTILINE)
    seconds = float(finished.group(1)) * _H2LOAD_UNITS_US[finished.group(2)] / 1e6
    _, started, done, succeeded, failed, errored, timeouts = (int(v) for v in counts.groups())
    status_2xx, status_3xx, status_4xx, status_5xx = (int(v) for v in codes.groups())
    return {
        "requests": succeeded,
        "seconds": seconds,
        "rps": succeeded / seconds if seconds > 0 else 0.0,
        "started": started,
        "done": done,
        "mean_us": (float(timing.group(5)) * _H2LOAD_UNITS_US[timing.group(6)]
                    if timing else None),
        "p50_us": None,  # h2load gives min, max, mean and sd only
        "p99_us": None,
        # failed counts non-2xx answers and streams that ended without one
        "socket_errors": max(0, failed - status_3xx - status_4xx - status_5xx) + errored
        + timeouts,
        "non_2xx": status_3xx + status_4xx + status_5xx,
        "status_2xx": status_2xx,
        "data_bytes": int(traffic.group(3)),
        "protocol": protocol.group(1) if protocol else None,
        "tls": {"version": tls.group(1), "cipher": tls.group(2)} if tls else None,
    }

"""The benchmark's sections: throughput (wrk, fixed connection counts), latency at a fixed rate
(albemu_loadgen, open loop), idle keepalive connections (RSS), and hot reload under load.

Every section starts its proxies fresh, checks their routing, warms them up, and runs the proxies
interleaved (albemu, nginx, haproxy, albemu, ...) so that a slow drift of the machine spreads over
all of them; the summary of a configuration is the median of its rounds."""

import json
import os
import select
import signal
import statistics
import subprocess
import time
import urllib.request

import configs
import loads
import proxies
from procs import (CpuWatch, HarnessError, counter_deltas, minor_faults, net_counters, schedstat,
                   wait_until)


class Scenario:
    """One throughput configuration: scheme, how the service is named, connection count."""

    def __init__(self, scheme, mode, connections, direct=False):
        self.scheme = scheme
        self.mode = mode
        self.connections = connections
        self.direct = direct  # also measure wrk straight to a backend port (the ceiling)
        self.name = f"{scheme} {mode} c{connections}"


class Bench:
    """What every section needs: settings, the process registry, the layout, paths."""

    def __init__(self, args, processes, layout, work_dir, albemu, loadgen, ca_file, backend):
        self.args = args
        self.backend = backend
        self.processes = processes
        self.layout = layout
        self.work_dir = work_dir
        self.albemu = albemu
        self.loadgen = loadgen
        self.ca_file = ca_file
        self.proxy_cpus = args.proxy_cpus
        self.load_cpus = args.load_cpus
        self.tls_seen = {}
        self.retries_left = args.retries
        self.retries_used = 0
        self.quiet_wait_left = float(args.quiet_wait)
        self.quiet_waited = 0.0

    def log(self, text):
        print(text, flush=True)

    def start_proxies(self, names, http2=False, grpc=False, realtime=False):
        """Starts and checks each proxy: routing over HTTP/1.1 and HTTPS, and with `http2` over
        HTTP/2 too; with `grpc`, the gRPC config, checked with gRPC calls instead. `realtime`:
        under SCHED_RR if --realtime gave a priority (the latency section only: a proxy that
        fills its core would lose the 5% the kernel keeps from real-time tasks)."""
        started = {}
        for name in names:
            proxy = proxies.start_proxy(name, self.processes, self.albemu, self.layout,
                                        self.work_dir, self.proxy_cpus, grpc=grpc,
                                        realtime=realtime)
            started[name] = proxy
            if grpc:
                proxies.verify_grpc(proxy, self.layout, self.ca_file)
                continue
            self.tls_seen[name] = proxies.verify_routing(proxy, self.layout, self.ca_file)
            if http2:
                proxies.verify_http2(proxy, self.layout, self.ca_file)
        return started

    def stop_proxies(self, started):
        for proxy in started.values():
            self.processes.stop(proxy.process)

    def url(self, proxy, scheme):
        port = proxy.https_port if scheme == "https" else proxy.http_port
        return f"{scheme}://127.0.0.1:{port}/"

    def wrk(self, url, connections, duration, mode, process=None, retry=True):
        """One wrk run, with the CPU the proxy (`process`) used and how busy each core was.
        A run that other processes disturbed is repeated while the retry budget lasts."""
        return self.timed(
            lambda: loads.run_wrk(self.processes, url, connections, duration, self.load_cpus,
                                  mode=mode, services=self.layout.services),
            process, retry)

    def timed(self, load, process=None, retry=True):
        """One run of `load()` (a dict with at least requests and seconds), as wrk()."""
        while True:
            if retry:
                self.wait_for_quiet()
            watch = CpuWatch([process, self.backend])
            try:
                result = load()
            except HarnessError as error:
                raise HarnessError(f"{error}\n{_state(process)}") from None
            cpu = watch.stop()
            result["core_busy"] = cpu["core_busy"]
            result["other_load"] = cpu["other_load"]
            if process:
                used = cpu["cpu"][process.name]
                result["proxy_cpu_s"] = round(used, 3)
                result["proxy_cpu_util"] = round(used / result["seconds"], 3)
                result["cpu_s_per_100k"] = (used / result["requests"] * 1e5
                                            if result["requests"] else None)
            if not retry or not self.retry_disturbed(result["other_load"]):
                return result

    def wait_for_quiet(self):
        """Before a timed run: while processes outside the benchmark keep the machine busy,
        waits for them to stop (at most 15 s, and --quiet-wait seconds over the benchmark)."""
        started = time.monotonic()
        limit = min(15.0, self.quiet_wait_left)
        while limit > 0:
            watch = CpuWatch([])
            time.sleep(0.25)  # a measuring window, not a synchronisation
            load = watch.stop()["other_load"]
            if load <= self.args.disturbed_load or time.monotonic() - started >= limit:
                break
        waited = time.monotonic() - started
        if waited > 1.0:
            self.log(f"  (waited {waited:.1f} s for other processes to leave the CPUs)")
        self.quiet_wait_left -= waited
        self.quiet_waited += waited

    def retry_disturbed(self, other_load):
        """True (and one retry spent) if a run was disturbed and may be repeated."""
        if other_load <= self.args.disturbed_load or self.retries_left <= 0:
            return False
        self.retries_left -= 1
        self.retries_used += 1
        self.log(f"  (other processes used {other_load:.2f} cores during the run: repeating "
                 f"it; {self.retries_left} retries left)")
        return True


def _state(process):
    """Whether the proxy is still running, for an error message."""
    if process is None:
        return ""
    if process.alive():
        return f"{process.name} is still running (pid {process.pid})."
    return (f"{process.name} exited with {process.popen.returncode}; its log ends with:\n"
            f"{process.log_tail()}")


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarize_runs(runs):
    """The median of each measure over the rounds of one proxy in one configuration."""
    return {
        "rps": _median([r["rps"] for r in runs]),
        "p50_us": _median([r["p50_us"] for r in runs]),
        "p99_us": _median([r["p99_us"] for r in runs]),
        "cpu_s_per_100k": _median([r.get("cpu_s_per_100k") for r in runs]),
        "proxy_cpu_util": _median([r.get("proxy_cpu_util") for r in runs]),
        "errors": sum(r["socket_errors"] + r["non_2xx"] for r in runs),
        "other_load": _median([r.get("other_load") for r in runs]),
        "rounds": len(runs),
    }


def paired_ratios(runs, key):
    """albemu's `key` over each other's, as the median over rounds of the ratio within a round.
    A round's runs are seconds apart while this VM's speed drifts by 10-20% over minutes, so
    pairing them by round compares like with like; a ratio of the two medians can pair a fast
    minute of one proxy with a slow minute of the other."""
    ratios = {}
    for other in ("nginx", "haproxy", "direct"):
        pairs = [(mine.get(key), theirs.get(key))
                 for mine, theirs in zip(runs.get("albemu", []), runs.get(other, []))]
        ratios[other] = _median([a / b for a, b in pairs if a is not None and b])
    return ratios


# --- throughput --------------------------------------------------------------------------------

def run_throughput(bench, scenarios, names, rounds, duration, warmup):
    results = []
    for scenario in scenarios:
        bench.log(f"\n== {scenario.name}: {rounds} rounds of {duration}s per proxy, interleaved")
        started = bench.start_proxies(names)
        try:
            for name, proxy in started.items():
                bench.wrk(bench.url(proxy, scenario.scheme), scenario.connections, warmup,
                          scenario.mode, proxy.process, retry=False)
            runs = {name: [] for name in names}
            if scenario.direct:
                runs["direct"] = []
            for round_index in range(rounds):
                for name, proxy in started.items():
                    result = bench.wrk(bench.url(proxy, scenario.scheme), scenario.connections,
                                       duration, scenario.mode, proxy.process)
                    runs[name].append(result)
                    _log_run(bench, round_index, name, result)
                if scenario.direct:
                    url = f"http://127.0.0.1:{bench.layout.backend_ports[0]}/"
                    result = bench.wrk(url, scenario.connections, duration, "path")
                    runs["direct"].append(result)
                    _log_run(bench, round_index, "direct", result)
            peak = {name: proxy.process.memory_kib()["hwm"] for name, proxy in started.items()}
        finally:
            bench.stop_proxies(started)
        summary = {name: summarize_runs(proxy_runs) for name, proxy_runs in runs.items()}
        for name, kib in peak.items():
            summary[name]["peak_rss_kib"] = kib
        results.append({"scenario": scenario.name, "scheme": scenario.scheme,
                        "mode": scenario.mode, "connections": scenario.connections,
                        "duration_s": duration, "summary": summary, "runs": runs,
                        "paired": {"rps": paired_ratios(runs, "rps"),
                                   "cpu_s_per_100k": paired_ratios(runs, "cpu_s_per_100k")}})
    return results


def _log_run(bench, round_index, name, result):
    cpu = result.get("cpu_s_per_100k")
    cpu_text = f"  {cpu:.2f} CPU s/100k" if cpu is not None else ""
    util = result.get("proxy_cpu_util")
    util_text = f"  proxy {util:.0%} of a core" if util is not None else ""
    busy = " ".join(f"cpu{c} {v:.0%}" for c, v in result["core_busy"].items())
    bench.log(f"  round {round_index + 1} {name:8s} {result['rps']:>10,.0f} req/s  "
              f"p50 {result['p50_us'] / 1000:.2f} ms  p99 {result['p99_us'] / 1000:.2f} ms"
              f"{cpu_text}{util_text}  errors {result['socket_errors'] + result['non_2xx']}  "
              f"[busy: {busy}; other processes {result['other_load']:.2f} cores]")


# --- latency at a fixed rate -------------------------------------------------------------------

def _wait_text(ms):
    return "-" if ms is None else f"{ms:.1f}"


def _stalls_text(stalls):
    if not stalls:
        return "machine stalls -"
    return "machine stalls " + ", ".join(
        f"CPU {cpu} {row['max_us'] / 1000:.2f} ms ({row['over_1ms']} >= 1 ms)"
        for cpu, row in stalls.items())


def _net_text(net):
    if not net:
        return "TCP -"
    return (f"TCP: {net['retransmits']} retransmits, {net['rto_timeouts']} timeouts, "
            f"{net['backlog_drops']} backlog drops")


def run_latency(bench, names, rate, rounds, duration, warmup, connections):
    bench.log(f"\n== latency: open loop at {rate:,} req/s, {connections} connections, "
              f"{rounds} rounds of {duration}s per proxy, interleaved")
    started = bench.start_proxies(names, realtime=True)
    runs = {name: [] for name in list(names) + ["direct"]}
    meter_failure_logged = False
    try:
        for proxy in started.values():
            bench.wrk(bench.url(proxy, "http"), connections, warmup, "path", proxy.process,
                      retry=False)
        targets = [(name, proxy.http_port, proxy.process) for name, proxy in started.items()]
        targets.append(("direct", bench.layout.backend_ports[0], None))
        for round_index in range(rounds):
            for name, port, process in targets:
                while True:
                    bench.wait_for_quiet()
                    watch = CpuWatch([process, bench.backend])
                    # At priority 90, above any --realtime proxy's (1-89).
                    meter = loads.StallMeter(bench.processes, bench.proxy_cpus | bench.load_cpus)
                    try:
                        net_before = net_counters()
                        result = loads.run_loadgen_rate(
                            bench.processes, bench.loadgen, f"127.0.0.1:{port}", rate,
                            connections, duration, 1, bench.load_cpus,
                            services=bench.layout.services)
                        result["net"] = counter_deltas(net_before, net_counters())
                    finally:
                        stalls = meter.result()
                    result["machine_stalls"] = stalls
                    if meter.failure and not meter_failure_logged:
                        bench.log(f"  (no machine stalls: cyclictest failed: {meter.failure})")
                        meter_failure_logged = True
                    cpu = watch.stop()
                    result["other_load"] = cpu["other_load"]
                    result["backend_wait_ms"] = cpu["runqueue_wait_ms"][bench.backend.name]
                    result["backend_cpu_s_per_100k"] = (cpu["cpu"][bench.backend.name]
                                                        / max(1, result["completed"]) * 1e5)
                    if process:
                        result["proxy_wait_ms"] = cpu["runqueue_wait_ms"][process.name]
                        result["cpu_s_per_100k"] = (cpu["cpu"][process.name]
                                                    / max(1, result["completed"]) * 1e5)
                    if not bench.retry_disturbed(result["other_load"]):
                        break
                runs[name].append(result)
                lat = result["latency_us"]
                bench.log(f"  round {round_index + 1} {name:8s} {result['achieved_rps']:>9,.0f} "
                          f"req/s  p50 {lat['p50'] / 1000:.2f}  p90 {lat['p90'] / 1000:.2f}  "
                          f"p99 {lat['p99'] / 1000:.2f}  p99.9 {lat['p999'] / 1000:.2f} ms  "
                          f"errors {result['errors'] + result['non_2xx'] + result['unfinished']}"
                          f"  waited {_wait_text(result.get('proxy_wait_ms'))} ms "
                          f"(backend {_wait_text(result['backend_wait_ms'])} ms)"
                          f"  {_stalls_text(result['machine_stalls'])}  {_net_text(result['net'])}"
                          f"  [other processes {result['other_load']:.2f} cores]")
    finally:
        bench.stop_proxies(started)
    summary = {}
    for name, proxy_runs in runs.items():
        summary[name] = {
            key: _median([r["latency_us"][key] for r in proxy_runs])
            for key in ("p50", "p90", "p99", "p999", "max")}
        summary[name]["achieved_rps"] = _median([r["achieved_rps"] for r in proxy_runs])
        summary[name]["errors"] = sum(r["errors"] + r["non_2xx"] + r["unfinished"]
                                      for r in proxy_runs)
        summary[name]["other_load"] = _median([r["other_load"] for r in proxy_runs])
    return {"rate": rate, "connections": connections, "duration_s": duration,
            "summary": summary, "runs": runs,
            "cpus": {"proxy": sorted(bench.proxy_cpus), "load": sorted(bench.load_cpus)}}


# --- idle keepalive connections ----------------------------------------------------------------

def _read_json_line(process, timeout):
    """The next JSON line albemu_loadgen prints, waiting at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    stream = process.popen.stdout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([stream], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        line = stream.readline()
        if not line:
            break
        text = line.decode(errors="replace").strip()
        if text.startswith("{"):
            return json.loads(text)
    raise HarnessError(f"albemu_loadgen printed nothing within {timeout}s:\n"
                       f"{process.log_tail()}")


# One source address has about 28,000 ephemeral ports (32768-60999) towards one listener.
IDLE_CONNECTIONS_PER_SOURCE = 20000
# Descriptors a process keeps beside the idle connections: listeners, logs, and up to 1,024
# keepalive connections to the backends (nginx counts them in its worker_connections).
IDLE_FD_MARGIN = 2500


IDLE_PROTOCOLS = ("http", "https", "h2")


def run_idle(bench, names, requested, protocols=IDLE_PROTOCOLS):
    """Per proxy and protocol (http: plain HTTP/1.1; https: HTTP/1.1 over TLS; h2: HTTP/2 over
    TLS), the RSS that the held idle connections add."""
    # The proxy and the holder each need a descriptor per connection: the open-file limit every
    # process inherits caps the count (raised as far as allowed at the start).
    connections = max(1, min(requested, bench.layout.fd_limit - IDLE_FD_MARGIN))
    sources = -(-connections // IDLE_CONNECTIONS_PER_SOURCE)
    bench.log(f"\n== idle: {connections:,} keepalive connections from {sources} source "
              f"address(es), one request each (HTTP/2: the preface and SETTINGS), then held; "
              f"{', '.join(protocols)}")
    if connections < requested:
        bench.log(f"  (asked for {requested:,}; the open-file limit of "
                  f"{bench.layout.fd_limit:,} allows {connections:,})")
    by_protocol = {protocol: {} for protocol in protocols}
    for name in names:
        for protocol in protocols:
            by_protocol[protocol][name] = _hold_idle(bench, name, protocol, connections, sources)
    result = {"connections": connections, "requested": requested, "sources": sources,
              "fd_limit": bench.layout.fd_limit, "protocols": list(protocols),
              "by_protocol": by_protocol}
    result["summary"] = by_protocol.get("http", {})  # plain HTTP/1.1, as the report always had
    return result


def _hold_idle(bench, name, protocol, connections, sources):
    """One proxy, freshly started: the RSS before and while `connections` idle connections of
    `protocol` are held."""
    started = bench.start_proxies([name])
    proxy = started[name]
    port = proxy.http_port if protocol == "http" else proxy.https_port
    try:
        bench.wrk(bench.url(proxy, "http"), 16, 1, "path", proxy.process, retry=False)
        before = proxy.process.memory_kib()
        holder = bench.processes.start(
            "loadgen-idle",
            [str(bench.loadgen), "idle", "--target", f"127.0.0.1:{port}",
             "--connections", str(connections), "--concurrency", "64",
             "--sources", str(sources), "--services", str(bench.layout.services),
             "--protocol", protocol],
            cpus=bench.load_cpus, stdout=subprocess.PIPE)
        try:
            holding = _read_json_line(holder, 300)
            held = proxy.process.memory_kib()
            os.kill(holder.pid, signal.SIGTERM)
            released = _read_json_line(holder, 30)
        finally:
            bench.processes.stop(holder)
    finally:
        bench.stop_proxies(started)
    per_connection = (held["rss"] - before["rss"]) / max(1, holding["opened"])
    bench.log(f"  {name:8s} {protocol:5s} RSS {before['rss'] / 1024:.1f} MiB -> "
              f"{held['rss'] / 1024:.1f} MiB with {holding['opened']:,} held "
              f"({per_connection:.2f} KiB each; {released['still_open']:,} still open at the "
              f"end, {holding['errors']} errors, opened in {holding['open_seconds']:.0f} s)")
    return {"rss_before_kib": before["rss"], "rss_held_kib": held["rss"],
            "kib_per_connection": round(per_connection, 2),
            "opened": holding["opened"], "errors": holding["errors"],
            "non_2xx": holding["non_2xx"], "open_seconds": holding["open_seconds"],
            "still_open": released["still_open"]}


# --- hot reload under load ---------------------------------------------------------------------

def admin_generation(admin, endpoint="/config"):
    with urllib.request.urlopen(f"http://{admin}{endpoint}", timeout=10) as answer:
        body = answer.read()
    if endpoint == "/metrics":
        for line in body.decode().splitlines():
            if line.startswith("albemu_config_generation "):
                return int(float(line.split()[1]))
        raise HarnessError("albemu's /metrics has no albemu_config_generation")
    return int(json.loads(body)["generation"])


def main_thread_cpu_ms(pid):
    """CPU time the process's main thread has run, in ms (the scheduler's own count, in ns), or
    None where the kernel keeps no schedstat. Around a POST /reload it is what the reload ran
    before answering; freeing the old snapshot comes 100 ms later and is not in it."""
    fields = schedstat(pid, pid)
    return fields[0] / 1e6 if fields else None


def admin_reload(admin):
    request = urllib.request.Request(f"http://{admin}/reload", data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=60) as answer:
        return int(json.loads(answer.read())["generation"])


def _delta(before, after):
    return None if before is None or after is None else after - before


def _cpu_text(cpu_ms):
    return ("no schedstat" if cpu_ms is None
            else f"{cpu_ms:.0f} ms of CPU on albemu's main thread")


def run_reload(bench, label, path_rules_per_host, reloads, posts, connections):
    """Rewrites albemu's config file `reloads` times while wrk runs, timing each from the write
    to the generation change on /config; then `posts` POST /reload round trips."""
    layout = bench.layout
    first = configs.albemu_reload_yaml(layout, path_rules_per_host, 0)
    map_bytes = configs.url_map_bytes(first)
    bench.log(f"\n== reload under load: {label} (URL map {map_bytes / 1e6:.2f} MB, "
              f"config {len(first) / 1e6:.2f} MB)")
    proxy = proxies.start_albemu(bench.processes, bench.albemu, layout, bench.work_dir,
                                 bench.proxy_cpus, yaml_text=first, name="albemu-reload")
    try:
        proxies.verify_routing(proxy, layout, bench.ca_file)
        generation = admin_generation(proxy.admin)
        config_fetch_start = time.monotonic()
        admin_generation(proxy.admin)
        config_fetch_ms = (time.monotonic() - config_fetch_start) * 1000
        wrk = bench.processes.start(
            "wrk-reload",
            ["wrk", "-t1", f"-c{connections}", "-d600s", "--latency", "--timeout=10s", "-s",
             str(loads.SPREAD_LUA), bench.url(proxy, "http"), "--", "host",
             str(layout.services)],
            cpus=bench.load_cpus, stdout=subprocess.PIPE)
        time.sleep(1.0)  # load before the first reload (pacing, not synchronisation)
        file_ms = []
        file_cpu_ms = []  # the main thread's, where the reload runs
        file_faults = []  # the whole process's minor page faults
        pid = proxy.process.pid
        config_path = proxy.config_path
        for variant in range(1, reloads + 1):
            text = configs.albemu_reload_yaml(layout, path_rules_per_host, variant)
            scratch = config_path.with_name(".albemu.yaml.next")  # not *.yaml: not watched
            cpu_before, faults_before = main_thread_cpu_ms(pid), minor_faults(pid)
            started = time.monotonic()
            scratch.write_text(text)
            os.replace(scratch, config_path)
            target = generation + 1
            # GET /config of a 1 MB map takes ~20 ms of the proxy's core to serialise, so the
            # polling reads the same generation from /metrics (set in the same step on albemu's
            # main thread), then /config confirms it.
            wait_until(lambda: admin_generation(proxy.admin, "/metrics") >= target, 60,
                       f"generation {target} after rewriting the config", proxy.process,
                       interval=0.005)
            file_ms.append((time.monotonic() - started) * 1000)
            file_cpu_ms.append(_delta(cpu_before, main_thread_cpu_ms(pid)))
            file_faults.append(_delta(faults_before, minor_faults(pid)))
            if admin_generation(proxy.admin) < target:
                raise HarnessError(f"/metrics shows generation {target} but /config does not")
            generation = target
            bench.log(f"  file rewrite -> generation {generation}: {file_ms[-1]:.0f} ms "
                      f"({_cpu_text(file_cpu_ms[-1])}, "
                      f"{'-' if file_faults[-1] is None else f'{file_faults[-1]:,}'} page faults)")
            time.sleep(0.5)  # let the load settle between reloads
        post_ms = []
        post_cpu_ms = []
        for _ in range(posts):
            cpu_before = main_thread_cpu_ms(pid)
            started = time.monotonic()
            generation = admin_reload(proxy.admin)
            post_ms.append((time.monotonic() - started) * 1000)
            cpu = _delta(cpu_before, main_thread_cpu_ms(pid))
            bench.log(f"  POST /reload -> generation {generation}: {post_ms[-1]:.0f} ms "
                      f"({_cpu_text(cpu)})")
            if cpu is not None:
                post_cpu_ms.append(cpu)
            time.sleep(0.5)
        os.kill(wrk.pid, signal.SIGINT)  # wrk prints its summary on SIGINT
        out, _ = wrk.popen.communicate(timeout=30)
        bench.processes.stop(wrk, grace=1.0)
        load = loads.parse_wrk_output(out.decode(errors="replace"), wrk.log_tail())
    finally:
        bench.processes.stop(proxy.process)
    bench.log(f"  wrk during the reloads: {load['rps']:,.0f} req/s, {load['requests']:,} "
              f"requests, {load['socket_errors']} socket errors, {load['non_2xx']} non-2xx")
    return {"label": label, "url_map_bytes": map_bytes, "config_bytes": len(first),
            "host_rules": layout.services, "path_rules": path_rules_per_host * layout.services,
            "file_reload_ms": file_ms, "file_reload_ms_median": _median(file_ms),
            "file_reload_ms_max": max(file_ms) if file_ms else None,
            "file_reload_cpu_ms": file_cpu_ms, "file_reload_page_faults": file_faults,
            "post_reload_ms": post_ms, "post_reload_ms_median": _median(post_ms),
            "post_reload_cpu_ms": post_cpu_ms, "post_reload_cpu_ms_median": _median(post_cpu_ms),
            "config_get_ms": round(config_fetch_ms, 1), "load": load}

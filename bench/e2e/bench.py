#!/usr/bin/env python3
"""albemu against nginx and HAProxy, end to end, in one run on this machine (see README.md).

    bench/e2e/bench.py                 # everything: throughput, HTTPS, HTTP/2, gRPC, latency,
                                       # idle, reload
    bench/e2e/bench.py --smoke         # albemu vs nginx, HTTP/1.1 and HTTP/2, about a minute;
                                       # exit 1 below 0.8x nginx (HTTP/1.1) or 0.7x (HTTP/2)
    bench/e2e/bench.py --sections throughput --connections 64 --duration 3 --rounds 1
    bench/e2e/bench.py --sections h2,grpc --h2-loads 16x10

run.sh builds albemu and albemu_loadgen first and calls this; it needs the dev certificates
(certs/generate.sh), wrk, h2load, nginx, haproxy, and python3-httpx, python3-h2 and
python3-grpcio for the HTTP/2 and gRPC checks. Writes results.json and results.md (smoke.json and
smoke.md for --smoke) into --out, and prints the report.
"""

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.dont_write_bytecode = True  # no __pycache__ beside the sources

import configs  # noqa: E402
import h2_phases  # noqa: E402
import phases  # noqa: E402
import report  # noqa: E402
from procs import HarnessError, Processes, free_port, raise_fd_limit  # noqa: E402
from proxies import start_backend  # noqa: E402

ROOT = HERE.parent.parent
ALL_SECTIONS = ("throughput", "h2", "grpc", "latency", "idle", "reload")


def cpu_list(text):
    return {int(part) for part in text.split(",") if part != ""}


def parse_args(argv):
    cpus = os.cpu_count() or 1
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true",
                        help="albemu vs nginx only, short; fails below --smoke-threshold")
    parser.add_argument("--smoke-threshold", type=float, default=0.8)
    parser.add_argument("--smoke-h2-threshold", type=float, default=0.7,
                        help="the same for --smoke's HTTP/2 row (h2load, TLS)")
    parser.add_argument("--sections", default=",".join(ALL_SECTIONS),
                        help="comma list of: " + ", ".join(ALL_SECTIONS))
    parser.add_argument("--proxies", default="albemu,nginx,haproxy")
    parser.add_argument("--connections", default="16,256",
                        help="wrk connection counts (each: HTTP path, HTTP host, HTTPS path)")
    parser.add_argument("--h2-loads", default="16x10,256x1",
                        help="h2load loads of the h2 and grpc sections: CONNECTIONSxSTREAMS "
                             "(streams in flight per connection), comma-separated")
    parser.add_argument("--no-https", action="store_true", help="skip the HTTPS configurations")
    parser.add_argument("--no-host", action="store_true", help="skip the host-mask configurations")
    parser.add_argument("--duration", type=int, default=8, help="seconds per timed run")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per proxy")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per config")
    parser.add_argument("--workers", type=int, default=1,
                        help="worker threads (albemu, HAProxy) / processes (nginx) per proxy")
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--backend-ports", type=int, default=4)
    parser.add_argument("--proxy-cpus", type=cpu_list,
                        default={cpus - 1} if cpus > 1 else set(),
                        help="CPUs for the proxy (default: the last one)")
    parser.add_argument("--load-cpus", type=cpu_list,
                        default=set(range(cpus - 1)) if cpus > 1 else set(),
                        help="CPUs for wrk, albemu_loadgen and the backend (default: the others)")
    parser.add_argument("--latency-rate", default="auto",
                        help="req/s of the open-loop run; auto: half the slowest proxy's "
                             "HTTP path throughput, rounded down to 500")
    parser.add_argument("--latency-connections", type=int, default=64)
    parser.add_argument("--idle-connections", type=int, default=100000,
                        help="idle keepalive connections held (at most the open-file limit "
                             "allows, less a margin)")
    parser.add_argument("--idle-protocols", default=",".join(phases.IDLE_PROTOCOLS),
                        help="comma list of: http (HTTP/1.1), https (HTTP/1.1 over TLS), h2 "
                             "(HTTP/2 over TLS)")
    parser.add_argument("--reloads", type=int, default=5, help="file rewrites per URL map")
    parser.add_argument("--reload-posts", type=int, default=3, help="POST /reload per URL map")
    parser.add_argument("--reload-connections", type=int, default=64)
    parser.add_argument("--disturbed-load", type=float, default=0.2,
                        help="a run during which other processes use more CPU (in cores) than "
                             "this is repeated, while --retries lasts")
    parser.add_argument("--retries", type=int, default=8,
                        help="repeats of disturbed runs allowed in the whole benchmark")
    parser.add_argument("--quiet-wait", type=float, default=60,
                        help="seconds the whole benchmark may spend waiting, before timed runs, "
                             "for other processes to leave the CPUs")
    parser.add_argument("--realtime", type=int, default=0, metavar="PRIORITY",
                        help="in the latency section, run the proxies under SCHED_RR at this "
                             "priority (1-89, below the stall meter's), so that ordinary tasks "
                             "and kernel threads cannot take their core; 0 (the default): the "
                             "normal scheduler")
    parser.add_argument("--out", default=str(ROOT / "bench" / "out"))
    parser.add_argument("--albemu", default=str(ROOT / "build" / "albemu"))
    parser.add_argument("--loadgen", default=str(ROOT / "build" / "albemu_loadgen"))
    parser.add_argument("--certs", default=str(ROOT / "certs" / "out"))
    parser.add_argument("--pid-file", help="append every started process group id here")
    args = parser.parse_args(argv)
    if not 0 <= args.realtime <= 89:
        parser.error("--realtime takes a priority from 1 to 89 (0: off)")
    if args.smoke:
        args.proxies = "albemu,nginx"
        args.sections = "throughput,h2"
        args.connections = "64"
        args.h2_loads = "16x10"
        args.no_https = args.no_host = True
        args.duration, args.warmup, args.rounds = min(args.duration, 3), 1, 3
        args.retries, args.quiet_wait = min(args.retries, 3), min(args.quiet_wait, 10)
    args.proxy_names = [p for p in args.proxies.split(",") if p]
    args.idle_protocol_list = [p for p in args.idle_protocols.split(",") if p]
    for protocol in args.idle_protocol_list:
        if protocol not in phases.IDLE_PROTOCOLS:
            parser.error(f"unknown idle protocol {protocol}")
    args.section_names = [s for s in args.sections.split(",") if s]
    for section in args.section_names:
        if section not in ALL_SECTIONS:
            parser.error(f"unknown section {section}")
    try:
        args.h2_load_list = h2_phases.parse_loads(args.h2_loads)
    except ValueError as error:
        parser.error(f"--h2-loads: {error}")
    if args.smoke and args.proxy_names != ["albemu", "nginx"]:
        parser.error("--smoke compares albemu with nginx")
    return args


def scenarios(args):
    result = []
    for connections in [int(c) for c in args.connections.split(",") if c]:
        result.append(phases.Scenario("http", "path", connections, direct=not args.smoke))
        if not args.no_host:
            result.append(phases.Scenario("http", "host", connections))
        if not args.no_https:
            result.append(phases.Scenario("https", "path", connections))
    return result


def tool_versions():
    def first_line(argv):
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        except OSError:
            return "?"
        return (done.stdout + done.stderr).strip().splitlines()[0]

    nginx = first_line(["nginx", "-v"]).replace("nginx version: ", "")
    haproxy = first_line(["haproxy", "-v"]).split(" - ")[0]
    wrk = first_line(["wrk", "--version"]).split(" [")[0]
    h2load = first_line(["h2load", "--version"]).replace("h2load nghttp2/", "h2load ")
    return f"{nginx}, {haproxy}, {wrk}, {h2load}"


def cpu_model():
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


def latency_rate(args, results):
    if args.latency_rate != "auto":
        return int(args.latency_rate)
    slowest = []
    for entry in results.get("throughput", []):
        if entry["scheme"] == "http" and entry["mode"] == "path":
            slowest.append(min(entry["summary"][name]["rps"] for name in args.proxy_names))
    if not slowest:
        return None
    return max(500, int(max(slowest) * 0.5) // 500 * 500)


def find_problems(results, args):
    problems = []
    for entry in results.get("throughput", []) + results.get("h2", []) + results.get("grpc", []):
        for name, row in entry["summary"].items():
            if row["errors"]:
                problems.append(f"{entry['scenario']}: {name} had {row['errors']} socket errors "
                                "or non-2xx answers")
            if row.get("unconfirmed"):
                problems.append(f"{entry['scenario']}: {name} counted {row['unconfirmed']} "
                                "successes that the backend did not answer")
    latency = results.get("latency")
    if latency:
        for name, row in latency["summary"].items():
            if row["errors"]:
                problems.append(f"latency run: {name} had {row['errors']} failed, non-2xx or "
                                "unfinished requests")
    idle = results.get("idle")
    if idle:
        for protocol, rows in idle.get("by_protocol", {"http": idle["summary"]}).items():
            for name, row in rows.items():
                if row["opened"] != idle["connections"] or row["still_open"] != row["opened"]:
                    problems.append(f"idle {protocol}: {name} held {row['opened']:,} of "
                                    f"{idle['connections']:,} connections, "
                                    f"{row['still_open']:,} still open at the end")
    for row in results.get("reload", []):
        if row["load"]["socket_errors"] or row["load"]["non_2xx"]:
            problems.append(f"reload {row['label']}: wrk saw {row['load']['socket_errors']} "
                            f"socket errors and {row['load']['non_2xx']} non-2xx answers")
    return problems


def run(args, processes, work_dir):
    certs = Path(args.certs)
    fd_limit = raise_fd_limit(max(100000, args.idle_connections + 10000))
    ports = [free_port() for _ in range(args.backend_ports)]
    grpc_ports = [free_port() for _ in range(args.backend_ports)]
    layout = configs.Layout(args.services, ports, args.workers, certs / "server.crt",
                            certs / "server.key", fd_limit=fd_limit, grpc_ports=grpc_ports,
                            status_port=free_port())
    results = {"meta": {
        "cpus": os.cpu_count(), "cpu_model": cpu_model(), "kernel": platform.release(),
        "versions": tool_versions(), "fd_limit": fd_limit,
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "settings": {
            "workers": args.workers, "services": args.services,
            "backend_ports": args.backend_ports, "body_bytes": len(f"backend {ports[0]}\n"),
            "proxy_cpus": ",".join(map(str, sorted(args.proxy_cpus))) or "any",
            "load_cpus": ",".join(map(str, sorted(args.load_cpus))) or "any",
            "duration": args.duration, "warmup": args.warmup, "rounds": args.rounds,
            "proxies": args.proxy_names, "smoke": args.smoke,
            "disturbed_load": args.disturbed_load, "retries": args.retries,
            "quiet_wait": args.quiet_wait, "realtime": args.realtime}}}
    backend = start_backend(processes, layout, work_dir, args.load_cpus)
    bench = phases.Bench(args, processes, layout, work_dir, Path(args.albemu),
                         Path(args.loadgen), certs / "ca.crt", backend)
    names = args.proxy_names
    section_seconds = results["meta"]["section_seconds"] = {}
    clock = [time.monotonic()]

    def section_done(section):
        """Logs and keeps how long a section took (waits and repeats included)."""
        now = time.monotonic()
        section_seconds[section] = round(now - clock[0], 1)
        bench.log(f"({section} section: {now - clock[0]:.0f} s)")
        clock[0] = now

    if "throughput" in args.section_names:
        results["throughput"] = phases.run_throughput(bench, scenarios(args), names,
                                                      args.rounds, args.duration, args.warmup)
        section_done("throughput")
    if "h2" in args.section_names:
        results["h2"] = h2_phases.run_http2(bench, args.h2_load_list, names, args.rounds,
                                            args.duration, args.warmup)
        section_done("h2")
    if "grpc" in args.section_names:
        results["grpc"] = h2_phases.run_grpc(bench, args.h2_load_list, names, args.rounds,
                                             args.duration, args.warmup)
        section_done("grpc")
    if "latency" in args.section_names:
        rate = latency_rate(args, results)
        if rate is None:  # no throughput section: measure the slowest proxy quickly
            rate_results = {"throughput": phases.run_throughput(
                bench, [phases.Scenario("http", "path", 64)], names, 1, 2, 1)}
            rate = latency_rate(args, rate_results)
        results["latency"] = phases.run_latency(bench, names, rate, args.rounds, args.duration,
                                                args.warmup, args.latency_connections)
        section_done("latency")
    if "idle" in args.section_names:
        results["idle"] = phases.run_idle(bench, names, args.idle_connections,
                                          args.idle_protocol_list)
        section_done("idle")
    if "reload" in args.section_names and "albemu" in names:
        results["reload"] = [
            phases.run_reload(bench, f"{args.services:,} host rules", 0, args.reloads,
                              args.reload_posts, args.reload_connections),
            phases.run_reload(bench, f"{args.services:,} host rules + path rules (~1 MB)",
                              _path_rules_for_one_megabyte(layout), args.reloads,
                              args.reload_posts, args.reload_connections),
        ]
        section_done("reload")
    results["meta"]["tls"] = bench.tls_seen
    results["meta"]["disturbed_retries"] = bench.retries_used
    results["meta"]["quiet_waited_s"] = round(bench.quiet_waited, 1)
    return results


def smoke_check(entry, threshold):
    """albemu vs nginx in one configuration: passes at `threshold` x nginx's req/s or above."""
    ratio = entry["paired"]["rps"]["nginx"] or 0.0
    return {"scenario": entry["scenario"], "albemu_rps": entry["summary"]["albemu"]["rps"],
            "nginx_rps": entry["summary"]["nginx"]["rps"], "ratio": ratio,
            "threshold": threshold, "pass": ratio >= threshold}


def _path_rules_for_one_megabyte(layout):
    """Path rules per host so that the URL map's YAML is at least 1,000,000 bytes."""
    for per_host in range(1, 400):
        text = configs.albemu_reload_yaml(layout, per_host, 0)
        if configs.url_map_bytes(text) >= 1_000_000:
            return per_host
    return 400


def main(argv):
    args = parse_args(argv)
    out_dir = Path(args.out)
    name = "smoke" if args.smoke else "results"
    work_dir = out_dir / ("work-smoke" if args.smoke else "work")
    shutil.rmtree(work_dir, ignore_errors=True)
    work_dir.mkdir(parents=True)
    processes = Processes(work_dir, pid_file=args.pid_file, realtime=args.realtime)

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, on_signal)
    started = time.monotonic()
    try:
        results = run(args, processes, work_dir)
    except HarnessError as error:
        print(f"\nbench: {error}\n(logs in {work_dir})", file=sys.stderr)
        return 2
    except Exception:  # a bug in the harness: still stop everything, say where the logs are
        traceback.print_exc()
        print(f"(logs in {work_dir})", file=sys.stderr)
        return 2
    finally:
        processes.stop_all()
    results["meta"]["wall_seconds"] = round(time.monotonic() - started, 1)
    exit_code = 0
    if args.smoke:
        smoke = {"http1": smoke_check(results["throughput"][0], args.smoke_threshold),
                 "h2": smoke_check(results["h2"][0], args.smoke_h2_threshold)}
        smoke["pass"] = smoke["http1"]["pass"] and smoke["h2"]["pass"]
        results["smoke"] = smoke
        exit_code = 0 if smoke["pass"] else 1
    results["problems"] = find_problems(results, args)
    if results["problems"]:
        exit_code = exit_code or 1
    (out_dir / f"{name}.json").write_text(json.dumps(results, indent=2) + "\n")
    text = report.render(results, args.proxy_names)
    (out_dir / f"{name}.md").write_text(text + "\n")
    print("\n" + text)
    print(f"(written to {out_dir / (name + '.json')} and {out_dir / (name + '.md')}; "
          f"{results['meta']['wall_seconds']:.0f} s)")
    return exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The HTTP/2 sections, with h2load over TLS (ALPN h2) on the path-mask workload:
  - h2: to the HTTP/1.1 backends, as the throughput section does with wrk;
  - grpc: unary gRPC calls to backends that speak gRPC in h2c (configs.py's gRPC variant).

h2load takes a request's :authority from its first URI only, so every request goes to the next
of the 1,000 services by path (URL mask /<service>); the host mask is checked over HTTP/2
before timing (proxies.verify_http2, verify_grpc) but not loaded.

A gRPC error answered by a proxy itself can be HTTP 200 (albemu's are, in gRPC's trailers-only
form), which h2load counts as a success. So each gRPC run also checks that every success came
from the backend: its response DATA must hold one backend reply per success, and the backend's
own request counter (nginx stub_status) must have grown by at least as many requests."""

import statistics
import urllib.request

import configs
import loads
from phases import paired_ratios, summarize_runs
from procs import HarnessError

GRPC_HEADERS = ("content-type: application/grpc", "te: trailers")


class H2Load:
    """One HTTP/2 load: `connections` connections, each with up to `streams` requests in
    flight."""

    def __init__(self, connections, streams):
        self.connections = connections
        self.streams = streams
        self.name = f"c{connections} x {streams} streams"


def parse_loads(text):
    """Parses --h2-loads: "16x10,256x1" gives [H2Load(16, 10), H2Load(256, 1)]."""
    result = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        connections, _, streams = item.partition("x")
        if not (connections.isdigit() and streams.isdigit()):
            raise ValueError(f"{item!r} is not CONNECTIONSxSTREAMS")
        result.append(H2Load(int(connections), int(streams)))
    return result


def backend_requests(layout):
    """Requests the backend nginx has served so far (stub_status; this read counts itself)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{layout.status_port}/", timeout=5) as answer:
        text = answer.read().decode()
    # "Active connections: N\nserver accepts handled requests\n A H R\n..."
    return int(text.splitlines()[2].split()[2])


def run_http2(bench, h2_loads, names, rounds, duration, warmup):
    return [_run_load(bench, "h2", load, names, rounds, duration, warmup) for load in h2_loads]


def run_grpc(bench, h2_loads, names, rounds, duration, warmup, direct=True):
    """`direct`: also h2load in h2c straight to one gRPC backend port (the ceiling)."""
    return [_run_load(bench, "grpc", load, names, rounds, duration, warmup, direct)
            for load in h2_loads]


def _run_load(bench, section, load, names, rounds, duration, warmup, direct=False):
    grpc = section == "grpc"
    bench.log(f"\n== {section} {load.name}: {rounds} rounds of {duration}s per proxy, "
              "interleaved")
    started = bench.start_proxies(names, http2=not grpc, grpc=grpc)
    method = "Call" if grpc else "bench"
    try:
        targets = {}
        for name, proxy in started.items():
            uris = loads.write_h2load_uris(bench.work_dir / f"h2load-{section}-{name}.uris",
                                           f"https://127.0.0.1:{proxy.https_port}",
                                           bench.layout.services, method)
            targets[name] = (proxy.process, uris, "h2")
        if direct:
            uris = loads.write_h2load_uris(bench.work_dir / f"h2load-{section}-direct.uris",
                                           f"http://127.0.0.1:{bench.layout.grpc_ports[0]}",
                                           bench.layout.services, method)
            targets["direct"] = (None, uris, "h2c")
        for name, (process, uris, protocol) in targets.items():
            if process:
                _h2load(bench, uris, load, warmup, grpc, protocol, process, retry=False)
        runs = {name: [] for name in targets}
        for round_index in range(rounds):
            for name, (process, uris, protocol) in targets.items():
                result = _h2load(bench, uris, load, duration, grpc, protocol, process)
                runs[name].append(result)
                _log_run(bench, round_index, name, result)
        peak = {name: proxy.process.memory_kib()["hwm"] for name, proxy in started.items()}
    finally:
        bench.stop_proxies(started)
    summary = {}
    for name, proxy_runs in runs.items():
        summary[name] = summarize_runs(proxy_runs)
        summary[name]["mean_us"] = _median([r["mean_us"] for r in proxy_runs])
        summary[name]["unconfirmed"] = sum(r.get("unconfirmed", 0) for r in proxy_runs)
        summary[name]["protocol"] = proxy_runs[0]["protocol"] if proxy_runs else None
        summary[name]["tls"] = proxy_runs[0]["tls"] if proxy_runs else None
        if name in peak:
            summary[name]["peak_rss_kib"] = peak[name]
    return {"scenario": f"{section} {load.name}", "section": section,
            "connections": load.connections, "streams": load.streams, "duration_s": duration,
            "summary": summary, "runs": runs,
            "paired": {"rps": paired_ratios(runs, "rps"),
                       "cpu_s_per_100k": paired_ratios(runs, "cpu_s_per_100k")}}


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _h2load(bench, uris, load, duration, grpc, protocol, process, retry=True):
    """One timed h2load run (bench.timed), failed unless it spoke `protocol`; for gRPC, with
    the count of successes the backend did not answer (`unconfirmed`)."""
    def one_run():
        before = backend_requests(bench.layout) if grpc else 0
        result = loads.run_h2load(
            bench.processes, uris, load.connections, load.streams, duration, bench.load_cpus,
            data=_grpc_request_file(bench) if grpc else None,
            headers=GRPC_HEADERS if grpc else ())
        if grpc:
            served = backend_requests(bench.layout) - before - 1
            replies = result["data_bytes"] // len(configs.GRPC_REPLY)
            result["backend_requests"] = served
            result["unconfirmed"] = max(0, result["requests"] - min(served, replies))
        return result

    result = bench.timed(one_run, process, retry)
    if result["protocol"] != protocol:
        raise HarnessError(f"h2load negotiated {result['protocol']}, not {protocol}, with "
                           f"{process.name if process else 'the backend'}")
    return result


def _grpc_request_file(bench):
    path = bench.work_dir / "grpc-request.bin"
    if not path.exists():
        path.write_bytes(configs.grpc_frame(configs.GRPC_REQUEST_MESSAGE))
    return path


def _log_run(bench, round_index, name, result):
    cpu = result.get("cpu_s_per_100k")
    cpu_text = f"  {cpu:.2f} CPU s/100k" if cpu is not None else ""
    util = result.get("proxy_cpu_util")
    util_text = f"  proxy {util:.0%} of a core" if util is not None else ""
    busy = " ".join(f"cpu{c} {v:.0%}" for c, v in result["core_busy"].items())
    mean = result["mean_us"]
    mean_text = f"  mean {mean / 1000:.2f} ms" if mean is not None else ""
    checked = ""
    if "unconfirmed" in result:
        checked = (f"  backend served {result['backend_requests']:,}, "
                   f"unconfirmed {result['unconfirmed']}")
    bench.log(f"  round {round_index + 1} {name:8s} {result['rps']:>10,.0f} req/s{mean_text}"
              f"{cpu_text}{util_text}  errors {result['socket_errors'] + result['non_2xx']}"
              f"{checked}  {result['protocol']}  [busy: {busy}; other processes "
              f"{result['other_load']:.2f} cores]")

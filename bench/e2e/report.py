"""The benchmark's report: Markdown tables (printed and written to report.md) from the results
that bench.py also writes as results.json."""

PROXY_LABELS = {"albemu": "albemu", "nginx": "nginx", "haproxy": "HAProxy",
                "direct": "direct to backend (ceiling)"}


def _num(value, digits=0, scale=1.0):
    if value is None:
        return "-"
    return f"{value * scale:,.{digits}f}"


def _tls_text(tls, client="Python's ssl client"):
    seen = {f"{v['version']} {v['cipher']}" for v in tls.values() if v}
    if len(seen) == 1:
        return f"every proxy negotiates {seen.pop()} (checked with {client})"
    return ", ".join(f"{PROXY_LABELS[name]} {v['version']} {v['cipher']}"
                     for name, v in tls.items() if v) or "not checked"


def setup_section(meta):
    s = meta["settings"]
    lines = [
        "### Setup",
        "",
        f"- Machine: {meta['cpus']} CPUs ({meta['cpu_model']}), Linux {meta['kernel']}; "
        f"{meta['versions']}.",
        f"- Each proxy runs {s['workers']} worker thread(s)/process(es) pinned to CPU "
        f"{s['proxy_cpus']}; wrk, h2load, albemu_loadgen and the backend run on CPU "
        f"{s['load_cpus']}.",
        f"- {s['services']:,} Cloud Run services (s0000...) spread over {s['backend_ports']} "
        f"backend ports of one nginx (1 worker) that answers a {s['body_bytes']}-byte body naming "
        "its port. Every request names a different service than the previous one: by path "
        "(URL mask `/<service>`) or by host (URL mask `<service>.example.com`).",
        "- Before timing, each proxy must send s0000-s0003, s0007, s0500 and s0999 to their own "
        "backend port by path and by host over HTTP and HTTPS, and answer 503 for unknown "
        "services.",
        f"- HTTPS: {_tls_text(meta.get('tls', {}))}; the backends are plain HTTP.",
        f"- Throughput: wrk 4.1, 1 thread, keepalive, {s['rounds']} rounds of {s['duration']} s "
        f"per proxy after a {s['warmup']} s warm-up, proxies interleaved; each cell is the "
        "median of the rounds. wrk's p50/p99 are closed-loop (they omit the requests wrk did not "
        "send while waiting). h2load (HTTP/2, gRPC) runs the same way.",
        f"- The machine may be shared: before each timed run the harness waits (at most 15 s, "
        f"{s['quiet_wait']:.0f} s in all; {meta.get('quiet_waited_s', 0):.0f} s this time) until "
        f"processes outside the benchmark use less than {s['disturbed_load']} cores, and a run "
        f"during which they used more is repeated (at most {s['retries']} times; "
        f"{meta.get('disturbed_retries', 0)} this time). \"other load\" in the tables is what "
        "they used during the kept runs.",
    ]
    if s.get("realtime"):
        lines.append(f"- In the latency section the proxies ran under SCHED_RR at priority "
                     f"{s['realtime']}: ordinary tasks and kernel threads at the default policy "
                     "could not take their core (`--realtime`). The backend and the load "
                     "generators ran as usual.")
    if meta.get("section_seconds"):
        lines.append("- Time per section (waits and repeats included): " + ", ".join(
            f"{name} {seconds:.0f} s" for name, seconds in meta["section_seconds"].items())
            + f"; {meta.get('wall_seconds', 0):.0f} s in all.")
    return lines


def throughput_section(throughput, proxies):
    lines = ["### Throughput (wrk, fixed connection counts)", "",
             "| configuration | proxy | req/s | p50 ms | p99 ms | CPU s / 100k req | "
             "proxy CPU use | peak RSS MiB | errors | other load |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    ratio_lines = ["", "| configuration | albemu/nginx req/s | albemu/HAProxy req/s | "
                   "albemu/nginx CPU per req | albemu/HAProxy CPU per req | albemu/ceiling |",
                   "|---|---:|---:|---:|---:|---:|"]
    for entry in throughput:
        summary = entry["summary"]
        first = True
        for name in list(proxies) + ["direct"]:
            if name not in summary:
                continue
            row = summary[name]
            util = row.get("proxy_cpu_util")
            lines.append(
                f"| {entry['scenario'] if first else ''} | {PROXY_LABELS[name]} | "
                f"{_num(row['rps'])} | {_num(row['p50_us'], 2, 1e-3)} | "
                f"{_num(row['p99_us'], 2, 1e-3)} | {_num(row.get('cpu_s_per_100k'), 2)} | "
                f"{'-' if util is None else f'{util:.0%}'} | "
                f"{_num(row.get('peak_rss_kib'), 1, 1 / 1024)} | {row['errors']} | "
                f"{_num(row.get('other_load'), 2)} |")
            first = False
        rps = entry["paired"]["rps"]
        cpu = entry["paired"]["cpu_s_per_100k"]
        ratio_lines.append(
            f"| {entry['scenario']} | {_num(rps['nginx'], 2)} | {_num(rps['haproxy'], 2)} | "
            f"{_num(cpu['nginx'], 2)} | {_num(cpu['haproxy'], 2)} | "
            f"{_num(rps['direct'], 2)} |")
    notes = ["", "Each ratio is the median over the rounds of the ratio within one round: a "
             "round's runs are seconds apart, while the machine's speed can drift over minutes, "
             "so the ratio of the two medians above can differ. "
             "CPU per req ratios are albemu's CPU seconds per request over the other's "
             "(below 1: albemu uses less CPU per request). \"proxy CPU use\" is the proxy's "
             "utime+stime over the run's wall time (loopback softirq work is not in it). "
             "\"other load\" is the CPU, in cores, that processes outside the benchmark used "
             "during the run (other work on a shared machine); well above 0 means the run is "
             "disturbed."]
    return lines + ratio_lines + notes


def _h2_tls_text(entries):
    """What h2load printed of TLS, for each proxy (as _tls_text)."""
    tls = {}
    for entry in entries:
        for name, row in entry["summary"].items():
            tls[name] = row.get("tls") or tls.get(name)
    return _tls_text(tls, "h2load")


def http2_section(entries, proxies, grpc=False):
    """The h2 or grpc section's tables: one row per load and proxy, then the ratios."""
    if grpc:
        lines = ["### gRPC unary calls (h2load over TLS, ALPN h2; h2c to the backends)", "",
                 "Each call POSTs one gRPC message to `/<service>/Call` (the next of the "
                 "services each time, URL mask `/<service>`) with `te: trailers`; the backends "
                 "answer one message and `grpc-status: 0` in trailers. albemu speaks h2c to "
                 "services with `useHttp2`, nginx uses `grpc_pass`, HAProxy `proto h2`. A success "
                 "counts only if it came from the backend: \"not from backend\" is the number "
                 "of h2load's successes that the response bytes or the backend's request count "
                 "do not account for (must be 0). The ceiling is h2load in h2c straight to one "
                 "backend port."]
    else:
        lines = ["### HTTP/2 over TLS (h2load, ALPN h2; HTTP/1.1 to the backends)", "",
                 "Each request goes to the next of the services by path (URL mask "
                 "`/<service>`): h2load takes :authority from its first URI only, so the host "
                 "mask is checked over HTTP/2 before timing but not loaded."]
    lines += ["", f"TLS: {_h2_tls_text(entries)}. Latency is h2load's closed-loop mean "
              "(it gives no percentiles). Median of the rounds.", "",
              "| load | proxy | protocol | req/s | mean ms | CPU s / 100k req | proxy CPU use | "
              "peak RSS MiB | errors | " + ("not from backend | " if grpc else "")
              + "other load |",
              "|---|---|---|---:|---:|---:|---:|---:|---:|" + ("---:|" if grpc else "") + "---:|"]
    ratio_lines = ["", "| load | albemu/nginx req/s | albemu/HAProxy req/s | "
                   "albemu/nginx CPU per req | albemu/HAProxy CPU per req |"
                   + (" albemu/ceiling |" if grpc else ""),
                   "|---|---:|---:|---:|---:|" + ("---:|" if grpc else "")]
    for entry in entries:
        first = True
        for name in list(proxies) + ["direct"]:
            row = entry["summary"].get(name)
            if not row:
                continue
            util = row.get("proxy_cpu_util")
            unconfirmed = f"{row.get('unconfirmed', 0)} | " if grpc else ""
            lines.append(
                f"| {entry['scenario'] if first else ''} | {PROXY_LABELS[name]} | "
                f"{row.get('protocol') or '-'} | {_num(row['rps'])} | "
                f"{_num(row.get('mean_us'), 2, 1e-3)} | {_num(row.get('cpu_s_per_100k'), 2)} | "
                f"{'-' if util is None else f'{util:.0%}'} | "
                f"{_num(row.get('peak_rss_kib'), 1, 1 / 1024)} | {row['errors']} | "
                f"{unconfirmed}{_num(row.get('other_load'), 2)} |")
            first = False
        rps = entry["paired"]["rps"]
        cpu = entry["paired"]["cpu_s_per_100k"]
        ratio_lines.append(
            f"| {entry['scenario']} | {_num(rps['nginx'], 2)} | {_num(rps['haproxy'], 2)} | "
            f"{_num(cpu['nginx'], 2)} | {_num(cpu['haproxy'], 2)} |"
            + (f" {_num(rps['direct'], 2)} |" if grpc else ""))
    return lines + ratio_lines + ["", "Ratios as in the throughput table: the median over the "
                                  "rounds of the ratio within one round."]


def latency_section(latency, proxies):
    lines = [f"### Latency at a fixed rate (albemu_loadgen, open loop, {latency['rate']:,} req/s, "
             f"{latency['connections']} connections)", "",
             "Latency is measured from each request's scheduled send time, so a stall counts "
             "for every request due during it (no coordinated omission). Median of the rounds.",
             "",
             "| proxy | achieved req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | errors | "
             "other load |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name in list(proxies) + ["direct"]:
        row = latency["summary"].get(name)
        if not row:
            continue
        lines.append(f"| {PROXY_LABELS[name]} | {_num(row['achieved_rps'])} | "
                     f"{_num(row['p50'], 2, 1e-3)} | {_num(row['p90'], 2, 1e-3)} | "
                     f"{_num(row['p99'], 2, 1e-3)} | {_num(row['p999'], 2, 1e-3)} | "
                     f"{_num(row['max'], 2, 1e-3)} | {row['errors']} | "
                     f"{_num(row.get('other_load'), 2)} |")
    runs_of = latency.get("runs", {})
    rounds = max((len(runs) for runs in runs_of.values()), default=0)
    targets = list(proxies) + ["direct"]

    def has(key):
        return any(run.get(key) is not None for runs in runs_of.values() for run in runs)

    if rounds > 1:
        lines += _round_table("p99.9 per round (ms), the rounds interleaved across the proxies:",
                              runs_of, targets, rounds,
                              lambda run: _num(run["latency_us"]["p999"], 2, 1e-3))
    if has("proxy_wait_ms"):
        lines += _round_table(
            "Run-queue wait per round (ms): how long the proxy's threads were ready to run while "
            "another task, or another of its own threads, held its core (the kernel's "
            "schedstat). A kernel thread or a neighbour taking the core for a few milliseconds "
            "is a stall that every request due meanwhile shows in its latency. The stall "
            "meter's wake-ups below add 100-200 ms of it per round, tens of microseconds at a "
            "time.", runs_of, proxies, rounds, lambda run: _num(run.get("proxy_wait_ms"), 1))
    if has("machine_stalls"):
        cpus = latency.get("cpus", {})
        lines += _round_table(
            "Machine stalls during each round, on the proxy's cores / on the load generator's "
            "and backend's: the latest wake-up of a real-time thread that sleeps 2 ms at a time "
            "(cyclictest, above any proxy's priority; nothing on a core's run queue outranks "
            "it), in ms, and in brackets how many of its wake-ups came 1 ms late or more. Such "
            "a stall is one no process on that core could avoid: the kernel or the hypervisor "
            "held the CPU. A round's p99.9 close to a stall of its round is the machine's, not "
            "the proxy's.", runs_of, targets, rounds,
            lambda run: _stall_cell(run.get("machine_stalls"), cpus))
    if has("net"):
        lines += _round_table(
            "TCP losses on the machine during each round: segments retransmitted / "
            "retransmission timeouts (each a wait of 200 ms or more) / packets dropped because a "
            "CPU's input backlog was full (loopback traffic passes through it).",
            runs_of, targets, rounds, lambda run: _net_cell(run.get("net")))
    return lines


def _round_table(caption, runs_of, names, rounds, cell):
    """A table of one cell per round for each of `names` that has runs."""
    lines = ["", caption, "",
             "| proxy | " + " | ".join(f"round {i + 1}" for i in range(rounds)) + " |",
             "|---|" + "---:|" * rounds]
    for name in names:
        runs = runs_of.get(name)
        if runs:
            lines.append(f"| {PROXY_LABELS[name]} | " + " | ".join(cell(run) for run in runs)
                         + " |")
    return lines


def _net_cell(net):
    if not net:
        return "-"
    return f"{net['retransmits']} / {net['rto_timeouts']} / {net['backlog_drops']}"


def _stall_cell(stalls, cpus):
    """'worst on the proxy's cores (late wake-ups) / the same on the load cores'."""
    if not stalls:
        return "-"
    parts = []
    for role in ("proxy", "load"):
        rows = [stalls[str(cpu)] for cpu in cpus.get(role, []) if str(cpu) in stalls]
        if rows:
            parts.append(f"{max(row['max_us'] for row in rows) / 1000:.2f} "
                         f"({sum(row['over_1ms'] for row in rows)})")
    return " / ".join(parts) or "-"


IDLE_PROTOCOL_LABELS = {"http": "HTTP/1.1", "https": "HTTP/1.1 over TLS",
                        "h2": "HTTP/2 over TLS"}


def idle_section(idle, proxies):
    count = idle["connections"]
    lines = [f"### Memory with {count:,} idle keepalive connections", "",
             "Each connection sends one request (HTTP/2: the preface and SETTINGS, and the "
             "server's SETTINGS back), then stays open and idle. Each proxy is started afresh "
             "for each protocol. RSS is VmRSS of all the proxy's processes."]
    if idle.get("requested", count) > count:
        lines.append(f"{idle['requested']:,} were asked for; the open-file limit of "
                     f"{idle['fd_limit']:,} allowed {count:,}.")
    lines += ["",
             "| protocol | proxy | RSS before MiB | RSS with them MiB | KiB per connection | "
             "held | still open at the end |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for protocol, rows in idle.get("by_protocol", {"http": idle["summary"]}).items():
        for name in proxies:
            row = rows.get(name)
            if not row:
                continue
            lines.append(f"| {IDLE_PROTOCOL_LABELS.get(protocol, protocol)} | "
                         f"{PROXY_LABELS[name]} | {_num(row['rss_before_kib'], 1, 1 / 1024)} | "
                         f"{_num(row['rss_held_kib'], 1, 1 / 1024)} | "
                         f"{_num(row['kib_per_connection'], 2)} | {row['opened']:,} | "
                         f"{row['still_open']:,} |")
    lines += ["", *_idle_ratios(idle, proxies)]
    return lines


def _idle_ratios(idle, proxies):
    """KiB per idle connection side by side, with albemu's against each other proxy's."""
    others = [name for name in proxies if name != "albemu"]
    lines = ["| KiB per idle connection | " + " | ".join(PROXY_LABELS[n] for n in proxies) +
             "".join(f" | albemu/{PROXY_LABELS[n]}" for n in others) + " |",
             "|---|" + "---:|" * (len(proxies) + len(others))]
    for protocol, rows in idle.get("by_protocol", {"http": idle["summary"]}).items():
        kib = {name: rows[name]["kib_per_connection"] for name in proxies if name in rows}
        cells = [_num(kib.get(name), 2) for name in proxies]
        for name in others:
            ratio = (kib["albemu"] / kib[name]) if kib.get("albemu") is not None and \
                kib.get(name) else None
            cells.append(_num(ratio, 2))
        lines.append(f"| {IDLE_PROTOCOL_LABELS.get(protocol, protocol)} | " + " | ".join(cells) +
                     " |")
    return lines


def reload_section(reloads):
    lines = ["### albemu hot reload under load", "",
             "wrk (host mask, all services) runs during the reloads; the config file is "
             "rewritten (write + rename) and the time runs from the write until the admin "
             "endpoint shows the next generation (polled every 5 ms on `/metrics`, then "
             "confirmed on `/config`, whose 1 MB answer is too heavy to poll). That includes the "
             "file watcher's wait (15 ms after the rename); `POST /reload` times the reload "
             "alone. Its CPU time is what albemu's main thread ran meanwhile (the kernel's "
             "schedstat; freeing the old snapshot comes 100 ms later and is not in it): the "
             "proxy's one core is shared with the worker under load, so the reload's time is "
             "about twice its CPU time.", "",
             "| URL map | size | file rewrite -> new generation, median (max) | "
             "POST /reload, median | its CPU time, median | wrk req/s meanwhile | "
             "socket errors | non-2xx |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for row in reloads:
        load = row["load"]
        lines.append(
            f"| {row['label']} | {row['url_map_bytes'] / 1e6:.2f} MB | "
            f"{_num(row['file_reload_ms_median'])} ms ({_num(row['file_reload_ms_max'])} ms) of "
            f"{len(row['file_reload_ms'])} | {_num(row['post_reload_ms_median'])} ms | "
            f"{_num(row.get('post_reload_cpu_ms_median'))} ms | "
            f"{_num(load['rps'])} | {load['socket_errors']} | {load['non_2xx']} |")
    return lines


def smoke_section(smoke):
    lines = ["### Smoke", "",
             "albemu/nginx is the median of the round ratios; each row must reach its threshold.",
             "", "| configuration | albemu req/s | nginx req/s | albemu/nginx | threshold | |",
             "|---|---:|---:|---:|---:|---|"]
    for row in (smoke["http1"], smoke["h2"]):
        lines.append(f"| {row['scenario']} | {row['albemu_rps']:,.0f} | {row['nginx_rps']:,.0f} | "
                     f"{row['ratio']:.2f} | {row['threshold']:.2f} | "
                     f"{'PASS' if row['pass'] else 'FAIL'} |")
    return lines + ["", f"**{'PASS' if smoke['pass'] else 'FAIL'}**"]


def render(results, proxies):
    lines = ["## End-to-end benchmark", ""]
    lines += setup_section(results["meta"]) + [""]
    if results.get("throughput"):
        lines += throughput_section(results["throughput"], proxies) + [""]
    if results.get("h2"):
        lines += http2_section(results["h2"], proxies) + [""]
    if results.get("grpc"):
        lines += http2_section(results["grpc"], proxies, grpc=True) + [""]
    if results.get("latency"):
        lines += latency_section(results["latency"], proxies) + [""]
    if results.get("idle"):
        lines += idle_section(results["idle"], proxies) + [""]
    if results.get("reload"):
        lines += reload_section(results["reload"]) + [""]
    if results.get("smoke"):
        lines += smoke_section(results["smoke"]) + [""]
    if results.get("problems"):
        lines += ["### Problems", ""] + [f"- {p}" for p in results["problems"]] + [""]
    return "\n".join(lines)

"""Processes of the benchmark: start them pinned to a CPU, wait for them to be ready, read their
CPU time and memory from /proc, and stop every one of them, also when the harness fails.

Every process is started as the leader of its own process group, so stopping the group also stops
what it forked (nginx workers). The group ids are appended to a file that run.sh's EXIT trap reads,
so even a harness killed with SIGKILL leaves nothing behind.
"""

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


class HarnessError(RuntimeError):
    """A step of the benchmark could not be done (a process did not start, routing is wrong)."""


class Process:
    """A started process group: `pid` is the leader (the command itself)."""

    def __init__(self, name, popen, log_path):
        self.name = name
        self.popen = popen
        self.pid = popen.pid
        self.log_path = log_path

    def alive(self):
        return self.popen.poll() is None

    def log_tail(self, lines=20):
        try:
            text = Path(self.log_path).read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def group_pids(self):
        """The leader and every process of its group (nginx master + workers)."""
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            stat = _read_stat(int(entry))
            if stat and stat["pgrp"] == self.pid:
                pids.append(int(entry))
        return pids or [self.pid]

    def cpu_seconds(self):
        """utime + stime of the whole group, in seconds (all threads included)."""
        total = 0
        for pid in self.group_pids():
            stat = _read_stat(pid)
            if stat:
                total += stat["utime"] + stat["stime"]
        return total / CLOCK_TICKS

    def runqueue_wait_ms(self):
        """Time the group's threads, all summed, were ready to run but waited for their CPU while
        another task held it, in ms (the kernel's schedstat), or None where the kernel keeps no
        schedstat. On a core of its own, that is what other tasks took from the proxy."""
        total, found = 0, False
        for pid in self.group_pids():
            try:
                tids = os.listdir(f"/proc/{pid}/task")
            except OSError:
                continue
            for tid in tids:
                fields = schedstat(pid, tid)
                if fields:
                    total += fields[1]
                    found = True
        return total / 1e6 if found else None

    def memory_kib(self):
        """{'rss': VmRSS, 'hwm': VmHWM} summed over the group, in KiB."""
        totals = {"rss": 0, "hwm": 0}
        for pid in self.group_pids():
            try:
                text = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            for line in text.splitlines():
                if line.startswith("VmRSS:"):
                    totals["rss"] += int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    totals["hwm"] += int(line.split()[1])
        return totals


def schedstat(pid, tid):
    """A thread's /proc schedstat as integers: ns on the CPU, ns waiting on a run queue,
    timeslices run; None if the thread is gone or the kernel keeps no schedstat."""
    try:
        fields = [int(field) for field in
                  Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()]
    except (OSError, ValueError):
        return None
    return fields if len(fields) >= 3 else None


def _read_stat(pid):
    """A process's /proc stat: its group, minor page faults and CPU ticks, or None if it is
    gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: split after the last ')'.
    fields = text[text.rindex(")") + 2:].split()
    return {"pgrp": int(fields[2]), "minflt": int(fields[7]), "utime": int(fields[11]),
            "stime": int(fields[12])}


def minor_faults(pid):
    """Minor page faults of a process, all its threads: each is a page the kernel mapped in, a
    fresh one zeroed, on first touch; None if it is gone."""
    stat = _read_stat(pid)
    return stat["minflt"] if stat else None


class Processes:
    """Starts and stops the benchmark's processes; stop_all() is safe to call more than once."""

    def __init__(self, work_dir, pid_file=None, realtime=0):
        """realtime: a SCHED_RR priority (1-89) that the processes started with realtime=True
        (the proxies of the latency section) run at, or 0 for the default scheduler. With it,
        ordinary tasks and kernel threads no longer take the proxy's core from a runnable proxy:
        that tells the scheduler's stalls from a proxy's own (bench/e2e/README.md)."""
        self.work_dir = Path(work_dir)
        self.pid_file = Path(pid_file) if pid_file else None
        self.realtime = realtime
        self.running = []

    def start(self, name, argv, cpus=None, env=None, stdout=None, stdin=None, realtime=False):
        """Starts argv pinned to `cpus` (a set of CPU numbers, or None for no pinning), under
        SCHED_RR if `realtime` and the harness was given a priority.
        stdout: None logs it with stderr to WORK/<name>.log; subprocess.PIPE hands it back."""
        log_path = self.work_dir / f"{name}.log"
        log = open(log_path, "ab")
        cpu_set = set(cpus) if cpus else None
        realtime = self.realtime if realtime else 0

        def pin():
            if cpu_set:
                os.sched_setaffinity(0, cpu_set)
            if realtime:
                os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(realtime))

        try:
            popen = subprocess.Popen(
                argv, stdout=stdout if stdout is not None else log, stderr=log,
                stdin=stdin if stdin is not None else subprocess.DEVNULL,
                start_new_session=True, preexec_fn=pin, env=env)
        finally:
            log.close()
        process = Process(name, popen, log_path)
        self.running.append(process)
        if self.pid_file:
            with open(self.pid_file, "a") as out:
                out.write(f"{process.pid}\n")
        return process

    def stop(self, process, sig=signal.SIGTERM, grace=5.0):
        """Signals the group, waits up to `grace` seconds, then kills what is left."""
        if process in self.running:
            self.running.remove(process)
        # Then SIGKILL for the group: workers that outlived their master, too.
        for signal_number in (sig, signal.SIGKILL):
            try:
                os.killpg(process.pid, signal_number)
            except ProcessLookupError:
                pass
            try:
                process.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass

    def stop_all(self):
        for process in list(reversed(self.running)):
            self.stop(process, grace=3.0)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition, timeout, what, process=None, interval=0.01):
    """Polls `condition` until it returns a true value (returned) or `timeout` seconds pass.
    Fails early, with the log tail, if `process` exits meanwhile."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if process is not None and not process.alive():
            raise HarnessError(f"{process.name} exited while waiting for {what}:\n"
                               f"{process.log_tail()}")
        if time.monotonic() > deadline:
            detail = f":\n{process.log_tail()}" if process is not None else ""
            raise HarnessError(f"timed out after {timeout}s waiting for {what}{detail}")
        time.sleep(interval)


def port_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def _cpu_ticks():
    """Per-CPU (busy, all) jiffies from /proc/stat. Busy counts irq and softirq too: a task's
    utime+stime includes the loopback softirq work done in its context."""
    result = {}
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("cpu") and line[3:4].isdigit():
            user, nice, system, idle, iowait, irq, softirq, steal = (
                int(v) for v in line.split()[1:9])
            result[int(line.split()[0][3:])] = (
                user + nice + system + irq + softirq,
                user + nice + system + idle + iowait + irq + softirq + steal)
    return result


def _own_seconds():
    """CPU seconds of this harness and of the children it has reaped (wrk, albemu_loadgen)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def _snmp_table(path, prefix):
    """{name: value} of the `prefix` table in /proc/net/snmp or /proc/net/netstat (a header
    line of names, then a line of values)."""
    rows = [line.split() for line in Path(path).read_text().splitlines()
            if line.startswith(prefix + ":")]
    return {name: int(value) for name, value in zip(rows[0][1:], rows[1][1:])} if rows else {}


def net_counters():
    """The machine's TCP loss counters: segments retransmitted, retransmission timeouts (each
    a wait of 200 ms or more), and packets the kernel dropped because a CPU's input backlog was
    full (loopback traffic goes through it). Deltas over a run show whether
    its stalls were the network stack's; None where /proc/net cannot be read."""
    try:
        tcp = _snmp_table("/proc/net/snmp", "Tcp")
        ext = _snmp_table("/proc/net/netstat", "TcpExt")
        drops = sum(int(line.split()[1], 16)
                    for line in Path("/proc/net/softnet_stat").read_text().splitlines())
    except (OSError, IndexError, ValueError):
        return None
    return {"retransmits": tcp.get("RetransSegs", 0), "rto_timeouts": ext.get("TCPTimeouts", 0),
            "backlog_drops": drops}


def counter_deltas(before, after):
    if before is None or after is None:
        return None
    return {key: after[key] - before[key] for key in before}


class CpuWatch:
    """CPU use over one measured run: of each watched process, of each core, and of everything
    else on the machine ("other load", in cores: the neighbours on a shared machine)."""

    def __init__(self, watched):
        self.watched = [p for p in watched if p is not None]
        self.started = time.monotonic()
        self.ticks = _cpu_ticks()
        self.own = _own_seconds()
        self.cpu = {p.name: p.cpu_seconds() for p in self.watched}
        self.waited = {p.name: p.runqueue_wait_ms() for p in self.watched}

    def stop(self):
        """{'cpu': {name: seconds}, 'core_busy': {cpu: fraction}, 'other_load': cores,
        'runqueue_wait_ms': {name: ms or None}}"""
        wall = max(1e-6, time.monotonic() - self.started)
        ticks = _cpu_ticks()
        used = {p.name: p.cpu_seconds() - self.cpu[p.name] for p in self.watched}
        busy, all_busy = {}, 0
        for cpu, (busy_after, total_after) in ticks.items():
            busy_before, total_before = self.ticks.get(cpu, (0, 0))
            span = total_after - total_before
            busy[str(cpu)] = round((busy_after - busy_before) / span, 3) if span > 0 else 0.0
            all_busy += busy_after - busy_before
        ours = sum(used.values()) + _own_seconds() - self.own
        other = max(0.0, all_busy / CLOCK_TICKS - ours) / wall
        waited = {}
        for p in self.watched:
            before, after = self.waited[p.name], p.runqueue_wait_ms()
            # A thread that ended meanwhile takes its share with it: never below 0.
            waited[p.name] = (round(max(0.0, after - before), 3)
                              if before is not None and after is not None else None)
        return {"cpu": used, "core_busy": busy, "other_load": round(other, 3),
                "runqueue_wait_ms": waited}


def raise_fd_limit(wanted=100000):
    """Raises this process's open-file limit (inherited by everything it starts) to `wanted`, or
    as far as allowed: 10,000 idle connections need more than most default limits. Returns it."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for limit in ((wanted, max(wanted, hard)), (min(wanted, hard), hard)):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, limit)
            return limit[0]
        except (ValueError, OSError):
            continue
    return soft

"""The watchdog of a task's job: memory, start cost, death -> abort latency, release.

This process plays the task side: it imports Airflow and the hooks (as a task process has) and
starts Apify runs on the bundled emulator (its own process) with ``ApifyHook.start_run``.

* **Start cost**: ``start_run`` alone (the baseline: starting a job without a watchdog) against
  ``start_run`` + ``watchdog_spec`` + ``JobWatchdog.start``, alternating, in this process, each
  after the previous watchdog is armed; and the CPU a watchdog spends to get armed (in its own
  process, on the task's machine: loading the HTTP core).
* **Idle memory** of an armed watchdog (VmRSS, RssAnon, Pss), with the HTTP core loaded at start
  (``preload``, the default) and loaded on death.
* **Death -> abort latency**: a forked copy of this process (a task process: Airflow loaded, the
  run started through the hook) starts the watchdog and is SIGKILLed once it is armed; the latency
  is from just before ``kill()`` to the abort's arrival in the emulator journal (``monotonic``;
  CLOCK_MONOTONIC is system-wide). Both preload modes, ``--deaths`` each (default 100).
  Baseline, same run: the same death with no watchdog; the run is still RUNNING, 0 aborts.
* **Release**: time of ``release()`` on an armed watchdog (it returns once the child is reaped).

    python benchmarks/bench_watchdog.py [--deaths 100]
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    EmulatorProcess,
    airflow_env,
    ms,
    print_rows,
    proc_cpu_seconds,
    quiet_logging,
    summary,
    write_result,
)

ACTOR = "bench~watchdog"
ABORT_ROUTE = "POST /v2/actor-runs/{runId}/abort"
ARM_WAIT = 0.4
"""Seconds between a watchdog's start and the owner's death: long enough for it to load the core."""


def memory_of(pid: int) -> dict[str, float]:
    """VmRSS, RssAnon and Pss of ``pid`` in MB."""
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    values = {line.split(":")[0]: int(line.split()[1]) / 1024 for line in status
              if line.startswith(("VmRSS", "RssAnon"))}
    rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
    values["Pss"] = next(int(line.split()[1]) / 1024 for line in rollup if line.startswith("Pss:"))
    return values


def fork_owner(hook: Any, *, preload: bool | None) -> tuple[int, str, int]:
    """Fork a task process that starts a run and (unless ``preload`` is None) its watchdog, then waits.

    :return: (task pid, run id, watchdog pid or 0)
    """
    from airflow_provider_jobs._watchdog.parent import JobWatchdog
    from airflow_provider_jobs.lifecycle import APIFY_RUN
    from airflow_provider_jobs.lifecycle.guard import watchdog_spec

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the task process
        try:
            os.close(read_end)
            run_id = hook.start_run(ACTOR).id
            watchdog_pid = 0
            if preload is not None:
                spec = replace(watchdog_spec(hook, APIFY_RUN, run_id), preload=preload)
                watchdog_pid = JobWatchdog.start(spec).pid or 0
            os.write(write_end, f"{run_id} {watchdog_pid}\n".encode())
            time.sleep(3600)
        finally:
            os._exit(1)
    os.close(write_end)
    with os.fdopen(read_end) as answer:
        run_id, watchdog_pid = answer.readline().split()
    return pid, run_id, int(watchdog_pid)


def kill_and_time(emu: EmulatorProcess, task_pid: int, run_id: str) -> float:
    """SIGKILL the task process; return seconds until the abort of ``run_id`` reached the emulator."""
    killed = time.monotonic()
    os.kill(task_pid, signal.SIGKILL)
    os.waitpid(task_pid, 0)
    path = f"/v2/actor-runs/{run_id}/abort"
    deadline = killed + 30
    while time.monotonic() < deadline:
        hits = emu.client.requests(route=ABORT_ROUTE, path=path)
        if hits:
            return float(hits[0].monotonic) - killed
        time.sleep(0.005)
    return float("nan")


def deaths(emu: EmulatorProcess, hook: Any, preload: bool, count: int) -> dict[str, Any]:
    """``count`` SIGKILLs of armed task processes; the latency and the watchdog's idle memory."""
    latencies, memory = [], []
    for _ in range(count):
        task_pid, run_id, watchdog_pid = fork_owner(hook, preload=preload)
        time.sleep(ARM_WAIT)
        memory.append(memory_of(watchdog_pid))
        latencies.append(kill_and_time(emu, task_pid, run_id))
    keys = memory[0].keys()
    return {"latency": summary(x for x in latencies if x == x), "lost": sum(x != x for x in latencies),
            "memory": {k: summary(m[k] for m in memory) for k in keys}}


def baseline_deaths(emu: EmulatorProcess, hook: Any, count: int, watch: float) -> dict[str, Any]:
    """The same death without a watchdog: the runs stay RUNNING; no abort arrives within ``watch`` s."""
    runs = []
    for _ in range(count):
        task_pid, run_id, _ = fork_owner(hook, preload=None)
        os.kill(task_pid, signal.SIGKILL)
        os.waitpid(task_pid, 0)
        runs.append(run_id)
    time.sleep(watch)
    statuses = [emu.client.get_run(r)["status"] for r in runs]
    aborts = sum(len(emu.client.requests(route=ABORT_ROUTE, path=f"/v2/actor-runs/{r}/abort")) for r in runs)
    return {"runs": count, "still_running": statuses.count("RUNNING"), "aborts": aborts, "watched_s": watch}


def start_cost(hook: Any, count: int) -> dict[str, Any]:
    """``start_run`` alone vs ``start_run`` + watchdog start, alternating, each after the previous
    watchdog is armed (idle); the CPU a watchdog spends getting armed; ``release()`` of armed ones."""
    from airflow_provider_jobs._watchdog.parent import JobWatchdog
    from airflow_provider_jobs.lifecycle import APIFY_RUN
    from airflow_provider_jobs.lifecycle.guard import watchdog_spec

    plain, guarded, popen, release, cpu, started = [], [], [], [], [], []
    for i in range(2 * count):
        time.sleep(ARM_WAIT)  # the previous watchdog is armed and idle: a task starts on a quiet machine
        t0 = time.perf_counter()
        run_id = hook.start_run(ACTOR).id
        if i % 2:
            t1 = time.perf_counter()
            watchdog = JobWatchdog.start(watchdog_spec(hook, APIFY_RUN, run_id))
            popen.append(time.perf_counter() - t1)
            guarded.append(time.perf_counter() - t0)
            started.append(watchdog)
        else:
            plain.append(time.perf_counter() - t0)
        hook.abort_run(run_id)
    time.sleep(ARM_WAIT)
    for watchdog in started:
        cpu.append(proc_cpu_seconds(watchdog.pid))
        t0 = time.perf_counter()
        watchdog.release()
        release.append(time.perf_counter() - t0)
    return {"start_run": summary(plain), "start_run_and_watchdog": summary(guarded),
            "watchdog_start": summary(popen), "release_armed": summary(release), "arming_cpu": summary(cpu)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deaths", type=int, default=100, help="SIGKILLs per preload mode (default 100)")
    parser.add_argument("--starts", type=int, default=50, help="starts with and without a watchdog (default 50)")
    args = parser.parse_args()
    airflow_env()
    quiet_logging()
    from airflow_provider_jobs.emulator.timelines import Timeline
    from airflow_provider_jobs.hooks.apify import ApifyHook

    with EmulatorProcess(time_scale=1.0) as emu:
        emu.use_connections()
        emu.client.seed_actor(ACTOR, run=Timeline(ready_secs=0, running_secs=3600), default_timeout_secs=10**6)
        hook = ApifyHook()
        hook.get_run(hook.start_run(ACTOR).id)  # warm: connection read, client built
        costs = start_cost(hook, args.starts)
        preload = deaths(emu, hook, True, args.deaths)
        on_death = deaths(emu, hook, False, args.deaths)
        baseline = baseline_deaths(emu, hook, 10, 5.0)
    result = {"start": costs, "preload": preload, "on_death": on_death, "baseline": baseline,
              "deaths_per_mode": args.deaths}
    write_result("watchdog", result)
    extra = costs["start_run_and_watchdog"]["p50"] - costs["start_run"]["p50"]
    print_rows("start cost (this process has Airflow loaded, like a task process)", [
        ("", "p50", "p99"),
        ("start_run alone (baseline)", ms(costs["start_run"]["p50"]), ms(costs["start_run"]["p99"])),
        ("start_run + watchdog", ms(costs["start_run_and_watchdog"]["p50"]),
         ms(costs["start_run_and_watchdog"]["p99"])),
        ("JobWatchdog.start alone", ms(costs["watchdog_start"]["p50"]), ms(costs["watchdog_start"]["p99"])),
        ("ratio (p50)", f"{costs['start_run_and_watchdog']['p50'] / costs['start_run']['p50']:.2f}x",
         f"+{extra * 1000:.1f} ms"),
        ("release() of an armed watchdog", ms(costs["release_armed"]["p50"]), ms(costs["release_armed"]["p99"])),
        ("CPU a watchdog uses to get armed (its own process)", ms(costs["arming_cpu"]["p50"]),
         ms(costs["arming_cpu"]["p99"])),
    ])
    rows: list[tuple[Any, ...]] = [("mode", "n", "p50", "p99", "max", "lost", "VmRSS MB", "RssAnon MB", "Pss MB")]
    for name, data in (("core loaded at start", preload), ("core loaded on death", on_death)):
        lat, mem = data["latency"], data["memory"]
        rows.append((name, lat["n"], ms(lat["p50"]), ms(lat["p99"]), ms(lat["max"]), data["lost"],
                     f"{mem['VmRSS']['p50']:.1f}", f"{mem['RssAnon']['p50']:.1f}", f"{mem['Pss']['p50']:.1f}"))
    rows.append(("no watchdog (baseline)", baseline["runs"], "never", "never", "never", baseline["runs"],
                 "-", "-", "-"))
    print_rows("SIGKILL of the task process -> abort at the emulator; idle watchdog memory", rows)
    print(f"  baseline: {baseline['still_running']}/{baseline['runs']} runs still RUNNING "
          f"{baseline['watched_s']:.0f} s after their task process was killed, {baseline['aborts']} aborts")


if __name__ == "__main__":
    main()

"""Abort latency: from the failure event to the abort request arriving at the emulator.

Part 1 (many samples): a long-lived worker process (``_abort_worker.py``) runs the provider's
real operator / sensor / trigger / notifier code the way Airflow calls it, 20+ times per path,
one path after the other (parallel workers gain nothing on this machine: two Python start-ups at
once take 2.4x as long as one):

=================  ==========================================================================
path               failure event (the zero of the latency)
=================  ==========================================================================
sigterm            this driver sends SIGTERM to the worker while ``execute()`` waits; the
                   worker's handler calls ``on_kill`` like the task runner's ``_on_term``
execution_timeout  SIGALRM from ``airflow.sdk.execution_time.timeout`` (entry + timeout)
sensor_timeout     a poke-mode sensor raises ``AirflowSensorTimeout``
trigger_deadline   the trigger's ``end_time`` passes (25 triggers in one event loop)
trigger_on_kill    the triggerer cancels a deferred task's trigger and calls ``on_kill``
defer_timeout      the task resumes after Airflow's defer timeout (``resume_execution``)
notifier           the failure callback (``ApifyAbortRunNotifier``) is called
=================  ==========================================================================

The abort's arrival is the emulator journal's ``monotonic`` stamp (CLOCK_MONOTONIC is
system-wide on Linux, so it compares with the event time taken in the worker or here).

Baseline (same run, same paths, aborting switched off: ``abort_on_kill=False`` /
``abort_on_timeout=False`` / a failure callback that does not abort), i.e. what a provider without
abort-on-failure does (dbt Cloud's only abort is ``on_kill``; its deferred and sensor paths leave
the job running): no abort request ever arrives and the job keeps running until its own end (here
an hour); we report how long it was still RUNNING after the event when the benchmark ended.

Part 2 (a few samples, cross-check): real ``dag.test()`` runs in a subprocess (real task runner):
SIGTERM to the process, and ``execution_timeout`` (the alarm time is noted by the task).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1] / "tests"))  # the DAG runner the tests use
from _common import (  # noqa: E402
    BENCH_DIR,
    PYTHON,
    EmulatorProcess,
    airflow_env,
    die_with_parent,
    print_rows,
    quiet_logging,
    summary,
    write_result,
)
from _dagrun import REPORT, RUNNER  # noqa: E402

ABORT_ROUTE = "POST /v2/actor-runs/{runId}/abort"
ACTOR = "bench~forever"
RUNS = int(os.environ.get("BENCH_ABORT_RUNS", "20"))
E2E_SIGTERM = int(os.environ.get("BENCH_E2E_SIGTERM", "3"))
E2E_TIMEOUT_DAGS = int(os.environ.get("BENCH_E2E_TIMEOUT_DAGS", "1"))  # 3 timed-out tasks each
GOAL_P99 = 1.0
BASELINE_WINDOW = 1.0
"""Seconds the driver watches a baseline SIGTERM sample before killing it as Airflow's supervisor would."""

PATHS: list[tuple[str, int, int]] = [
    # (path, runs with abort, baseline runs without); sigterm last: its baseline ends the worker
    ("execution_timeout", RUNS, 2),
    ("sensor_timeout", RUNS, 2),
    ("trigger_deadline", max(RUNS, 25), 2),
    ("trigger_on_kill", RUNS, 2),
    ("defer_timeout", RUNS, 2),
    ("notifier", RUNS, 2),
    ("sigterm", RUNS, 1),
]


class Worker:
    """A started ``_abort_worker.py`` process and its protocol lines."""

    def __init__(self, plan: list[tuple[str, int, int]], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [PYTHON, str(BENCH_DIR / "_abort_worker.py"), json.dumps(plan)],
            env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            preexec_fn=die_with_parent(),
        )

    def read(self) -> dict[str, Any] | None:
        """The next protocol line (``None`` when the worker ended)."""
        assert self.proc.stdout is not None
        while True:
            line = self.proc.stdout.readline()
            if not line:
                return None
            if line.startswith("BENCH "):
                return dict(json.loads(line[len("BENCH "):]))

    def wait_ready(self) -> None:
        """Wait for ``ready``."""
        while (msg := self.read()) is not None and msg["kind"] != "ready":
            pass

    def go(self) -> None:
        """Let the worker start."""
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def kill(self) -> None:
        """SIGKILL (as Airflow's supervisor does 5 s after SIGTERM) and reap."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


def drive(worker: Worker) -> tuple[dict[str, list[dict[str, Any]]], dict[str, float]]:
    """Run the plan; return the events per path (``job_id``, ``event``, ``abort``) and seconds per path."""
    events: dict[str, list[dict[str, Any]]] = {}
    seconds: dict[str, float] = {}
    abort, path, since = True, "", time.monotonic()
    worker.go()
    while (msg := worker.read()) is not None:
        kind = msg["kind"]
        if kind == "phase":
            if msg["path"] != path:
                if path:
                    seconds[path] = time.monotonic() - since
                path, since = msg["path"], time.monotonic()
            abort = bool(msg["abort"])
            events.setdefault(path, [])
        elif kind == "started" and path == "sigterm":
            time.sleep(random.uniform(0.05, 0.25))  # the wait (long poll) is in flight by now
            event = time.monotonic()
            os.kill(worker.proc.pid, signal.SIGTERM)
            events[path].append({"job_id": msg["job_id"], "event": event, "abort": abort})
            if not abort:  # nothing stops the wait: Airflow would SIGKILL the task; so do we
                time.sleep(BASELINE_WINDOW)
                worker.kill()
                break
        elif kind == "event":
            events[path].append({**msg, "abort": abort})
        elif kind == "done":  # sigterm: the handler's own timestamps, for the breakdown
            for ev in events[path]:
                if ev["job_id"] == msg["job_id"]:
                    ev.update({k: v for k, v in msg.items() if k in ("handler_entered", "on_kill_returned")})
        elif kind == "finished":
            break
    seconds[path] = time.monotonic() - since
    return events, seconds


def collect(emu: EmulatorProcess, events: list[dict[str, Any]]) -> None:
    """Add the first abort arrival of each event's job (``arrival``) from the journal."""
    first: dict[str, float] = {}
    for entry in emu.client.requests(route=ABORT_ROUTE):
        run_id = entry.path_params.get("runId", "")
        first[run_id] = min(first.get(run_id, float("inf")), entry.monotonic)
    for ev in events:
        arrival = first.get(ev["job_id"])
        ev["arrival"] = arrival
        ev["latency"] = None if arrival is None else arrival - ev["event"]


def part1(emu: EmulatorProcess, env: dict[str, str]) -> dict[str, Any]:
    """Many samples per path in long-lived workers."""
    t0 = time.monotonic()
    worker = Worker(PATHS, env)
    worker.wait_ready()
    ready = time.monotonic() - t0
    all_events, timings = drive(worker)
    worker.kill()
    timings["worker_ready"] = ready
    end = time.monotonic()
    results: dict[str, Any] = {}
    for path, events in all_events.items():
        collect(emu, events)
        ours = [e["latency"] for e in events if e["abort"] and e["latency"] is not None]
        missing = sum(1 for e in events if e["abort"] and e["latency"] is None)
        baseline = [e for e in events if not e["abort"]]
        kept = []
        for ev in baseline:
            status = emu.client.get_run(ev["job_id"])["status"]
            kept.append({"job_id": ev["job_id"], "aborted": ev["arrival"] is not None, "status_at_end": status,
                         "running_after_event_s": end - ev["event"]})
        sensor_lag = [e["event"] - e["nominal"] for e in events if e["abort"] and "nominal" in e]
        handler = [e["handler_entered"] - e["event"] for e in events if e["abort"] and "handler_entered" in e]
        in_on_kill = [e["on_kill_returned"] - e["handler_entered"] for e in events
                      if e["abort"] and "on_kill_returned" in e]
        results[path] = {
            "latency": summary(ours),
            "samples": ours,
            "no_abort_seen": missing,
            "baseline": kept,
            **({"sensor_detection_after_nominal_timeout": summary(sensor_lag)} if sensor_lag else {}),
            **({"signal_to_handler": summary(handler), "on_kill_duration": summary(in_on_kill)} if handler else {}),
            "seconds": timings.get(path),
            "ended_at": end,
        }
    print("  part 1 seconds:", {k: round(v, 1) for k, v in timings.items()}, flush=True)
    return results


def breakdown(emu: EmulatorProcess, samples: int = 10) -> dict[str, Any]:
    """Where a sync abort's time goes: the fresh client ``abort_quietly`` builds, vs the request itself.

    The what-if caches httpx's TLS context for the duration of one measurement (in this process
    only), to show what sharing one context saves (the core now does: ``_pools.ssl_context()``).
    """
    import statistics

    import httpx
    import httpx._transports.default as transport_module

    from airflow_provider_jobs.hooks.apify import ApifyHook
    from airflow_provider_jobs.lifecycle import APIFY_RUN, abort_quietly

    emu.use_connections()
    base = ApifyHook()
    base.get_user()

    def timed(fn: Any) -> float:
        times = []
        for _ in range(samples):
            run_id = emu.client.create_run(ACTOR, status="RUNNING")
            t0 = time.perf_counter()
            fn(run_id)
            times.append(time.perf_counter() - t0)
        return statistics.median(times)

    def client_only(_: str) -> None:
        httpx.Client().close()

    figures = {
        "abort_quietly (fresh client, as on_kill)": timed(
            lambda r: abort_quietly(APIFY_RUN, "apify_default", r, base=base)),
        "httpx.Client() construction alone": timed(client_only),
        "abort_run on the task's warm client": timed(base.abort_run),
    }
    original = transport_module.create_ssl_context
    cached: dict[Any, Any] = {}

    def shared(verify: Any = True, cert: Any = None, trust_env: bool = True) -> Any:
        key = (verify if isinstance(verify, (bool, str)) else id(verify), cert, trust_env)
        if key not in cached:
            cached[key] = original(verify=verify, cert=cert, trust_env=trust_env)
        return cached[key]

    transport_module.create_ssl_context = shared  # type: ignore[assignment]
    try:
        shared()
        figures["what-if: abort_quietly with one shared TLS context"] = timed(
            lambda r: abort_quietly(APIFY_RUN, "apify_default", r, base=base))
    finally:
        transport_module.create_ssl_context = original  # type: ignore[assignment]
    base.close()
    return figures


# ------------------------------------------------------------------------------ end to end
def _dag_env(emu: EmulatorProcess, home: str, marks: str) -> dict[str, str]:
    env = {**os.environ, **emu.env}
    env.update(AIRFLOW_HOME=home, AIRFLOW__CORE__LOAD_EXAMPLES="False", AIRFLOW__CORE__UNIT_TEST_MODE="False",
               AIRFLOW__CORE__DAGS_FOLDER=str(BENCH_DIR / "dags"), AIRFLOW__LOGGING__LOGGING_LEVEL="WARNING",
               BENCH_MARKS=marks)
    return env


def _dag_proc(env: dict[str, str], dag_id: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [PYTHON, str(RUNNER), str(BENCH_DIR / "dags" / "bench_abort_dags.py"), dag_id],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, preexec_fn=die_with_parent(),
    )


def part2(emu: EmulatorProcess) -> dict[str, Any]:
    """A few real ``dag.test()`` runs: SIGTERM and execution_timeout through Airflow's task runner."""
    home = tempfile.mkdtemp(prefix="bench-e2e-home-")
    marks = os.path.join(home, "marks.jsonl")
    env = _dag_env(emu, home, marks)
    started = time.monotonic()
    subprocess.run([str(Path(PYTHON).with_name("airflow")), "db", "migrate"], env=env, check=True,
                   capture_output=True, timeout=300)
    migrate_s = time.monotonic() - started
    sigterm_events: list[dict[str, Any]] = []
    for _ in range(E2E_SIGTERM):
        known = {r["id"] for r in emu.client.runs_of(ACTOR)}
        proc = _dag_proc(env, "bench_sigterm")
        deadline = time.monotonic() + 120
        run_id = None
        while proc.poll() is None and time.monotonic() < deadline:
            new = [r["id"] for r in emu.client.runs_of(ACTOR) if r["id"] not in known]
            if new and emu.client.requests("GET", path=f"/v2/actor-runs/{new[0]}"):
                run_id = new[0]
                break
            time.sleep(0.05)
        if run_id is None:
            proc.kill()
            raise RuntimeError("the e2e SIGTERM DAG never started waiting:\n" + (proc.communicate()[0] or "")[-3000:])
        time.sleep(random.uniform(0.1, 0.35))
        event = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=120)
        sigterm_events.append({"job_id": run_id, "event": event})
    for _ in range(E2E_TIMEOUT_DAGS):
        proc = _dag_proc(env, "bench_exec_timeout")
        out, _ = proc.communicate(timeout=180)
        if REPORT not in out:
            raise RuntimeError("the e2e execution_timeout DAG failed:\n" + out[-3000:])
    timeout_events = []
    if os.path.exists(marks):
        for line in Path(marks).read_text().splitlines():
            mark = json.loads(line)
            timeout_events.append({"job_id": mark["run_id"], "event": mark["alarm"]})
    collect(emu, sigterm_events)
    collect(emu, timeout_events)
    return {
        "db_migrate_s": migrate_s,
        "sigterm": {"latency": summary(e["latency"] for e in sigterm_events if e["latency"] is not None),
                    "samples": [e["latency"] for e in sigterm_events]},
        "execution_timeout": {"latency": summary(e["latency"] for e in timeout_events if e["latency"] is not None),
                              "samples": [e["latency"] for e in timeout_events]},
    }


def main() -> dict[str, Any]:
    """Run both parts, print and save the figures."""
    from airflow_provider_jobs.emulator.timelines import Timeline

    env_values = airflow_env()
    quiet_logging()
    with EmulatorProcess(time_scale=1.0) as emu:
        emu.client.seed_actor(ACTOR, run=Timeline(ready_secs=0, running_secs=3600), default_timeout_secs=10**6)
        env = {**os.environ, **env_values, **emu.env}
        t0 = time.monotonic()
        paths = part1(emu, env)
        t1 = time.monotonic()
        e2e = part2(emu) if E2E_SIGTERM or E2E_TIMEOUT_DAGS else {}
        t2 = time.monotonic()
        parts = breakdown(emu)
        end = time.monotonic()
        for r in paths.values():  # the baseline jobs, once more at the very end
            for kept in r["baseline"]:
                kept["status_at_end"] = emu.client.get_run(kept["job_id"])["status"]
                kept["running_after_event_s"] += end - r["ended_at"]
    result = {"goal_p99_s": GOAL_P99, "runs": RUNS, "paths": paths, "e2e": e2e, "breakdown_s": parts,
              "seconds": {"part1": t1 - t0, "part2": t2 - t1}, "job_scripted_duration_s": 3600}
    rows: list[list[Any]] = [["path", "n", "p50", "p99", "max", "goal p99 < 1 s", "baseline (abort off)"]]
    for path, r in paths.items():
        lat = r["latency"]
        kept = r["baseline"]
        base = (f"never aborted; {sum(k['status_at_end'] == 'RUNNING' for k in kept)}/{len(kept)} still RUNNING "
                f"{min((k['running_after_event_s'] for k in kept), default=0):.0f} s after the event")
        rows.append([path, lat.get("n", 0), f"{lat.get('p50', float('nan')) * 1000:.0f} ms",
                     f"{lat.get('p99', float('nan')) * 1000:.0f} ms", f"{lat.get('max', float('nan')) * 1000:.0f} ms",
                     "met" if lat.get("p99", 99) < GOAL_P99 and not r["no_abort_seen"] else "MISSED", base])
    for path in ("sigterm", "execution_timeout"):
        if path in e2e:
            lat = e2e[path]["latency"]
            rows.append([f"e2e dag.test: {path}", lat.get("n", 0), f"{lat.get('p50', float('nan')) * 1000:.0f} ms",
                         f"{lat.get('p99', float('nan')) * 1000:.0f} ms",
                         f"{lat.get('max', float('nan')) * 1000:.0f} ms", "", ""])
    print_rows("abort latency: failure event -> abort request at the emulator", rows)
    print_rows("where a sync abort's time goes (median of 10)", [["step", "time"]] + [
        [k, f"{v * 1000:.1f} ms"] for k, v in parts.items()])
    sig = paths.get("sigterm", {})
    if "signal_to_handler" in sig:
        print(f"  sigterm breakdown: signal -> handler p50 {sig['signal_to_handler']['p50'] * 1000:.1f} ms, "
              f"on_kill p50 {sig['on_kill_duration']['p50'] * 1000:.1f} ms")
    write_result("abort", result)
    return result


if __name__ == "__main__":
    main()

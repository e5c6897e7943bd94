"""Requests while a job waits, with ``stream_logs`` on vs off (the baseline), in the same run.

Four groups of ``JOBS`` Apify runs each wait side by side, on the emulator at real time, for runs
that last ``BENCH_LOGSTREAM_RUN_SECS`` seconds (default 20) and write a log line every second:

* operator wait, ``stream_logs=False`` (the baseline: ``waitForFinish`` long polls) and ``True``;
* deferred trigger, ``stream_logs=False`` and ``True`` (all in one event loop).

The emulator's journal gives each run's requests after its start, by kind: status gets, log streams
and plain log reads. "Added" is the requests on minus off: with streaming, the log stream is opened
(once while it stays open, again after a drop or 60 s of silence) and the status is got once when
it ends, in place of the long polls.

Goal: streaming adds no request beyond the stream itself (status gets on <= status gets off).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as bench  # noqa: E402

bench.airflow_env()
bench.quiet_logging()

JOBS = int(os.environ.get("BENCH_LOGSTREAM_JOBS", "5"))
RUN_SECS = float(os.environ.get("BENCH_LOGSTREAM_RUN_SECS", "20"))


def requests_of(emu: bench.EmulatorProcess, run_id: str) -> dict[str, int]:
    """The run's requests after its start, by kind."""
    counts = {"status gets": 0, "log streams": 0, "log reads": 0}
    for entry in emu.client.requests("GET"):
        if entry.path == f"/v2/actor-runs/{run_id}":
            counts["status gets"] += 1
        elif entry.path == f"/v2/logs/{run_id}":
            counts["log streams" if entry.query.get("stream") else "log reads"] += 1
    return counts


def main() -> dict[str, Any]:
    """Run the four groups side by side, print and save the figures."""
    from airflow.sdk.bases.operator import ExecutorSafeguard

    from airflow_provider_jobs.emulator.timelines import Timeline
    from airflow_provider_jobs.operators.apify import ApifyRunActorOperator
    from airflow_provider_jobs.triggers.apify import ApifyRunTrigger

    lines = max(1, int(RUN_SECS) - 1)
    with bench.EmulatorProcess(time_scale=1.0) as emu:
        emu.use_connections()
        emu.client.seed_actor("bench~chatty", run=Timeline(ready_secs=0, running_secs=RUN_SECS, log_lines=lines))
        ids: dict[str, list[str]] = {}
        lock = threading.Lock()

        def operator(group: str, i: int, stream_logs: bool) -> None:
            op = ApifyRunActorOperator(task_id=f"log_{int(stream_logs)}_{i}", actor_id="bench~chatty",
                                       stream_logs=stream_logs)
            ExecutorSafeguard.tracker.set(op)
            ti = bench.FakeTI(op.task_id)
            op.execute({"ti": ti, "run_id": "manual__bench"})  # type: ignore[typeddict-item]
            with lock:
                ids.setdefault(group, []).append(ti.xcom["run_id"])

        def triggers(group: str, stream_logs: bool) -> None:
            run_ids = [emu.client.create_run("bench~chatty", status="RUNNING") for _ in range(JOBS)]
            with lock:
                ids[group] = run_ids

            bench.run_triggers([ApifyRunTrigger(job_id=r, conn_id="apify_default", end_time=time.time() + 600,
                                          stream_logs=stream_logs) for r in run_ids])

        groups = {"operator, stream_logs off": False, "operator, stream_logs on": True}
        threads = [threading.Thread(target=operator, args=(g, i, on)) for g, on in groups.items() for i in range(JOBS)]
        threads += [threading.Thread(target=triggers, args=("trigger, stream_logs off", False)),
                    threading.Thread(target=triggers, args=("trigger, stream_logs on", True))]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(RUN_SECS + 120)
        seconds = time.monotonic() - started
        counts = {group: [requests_of(emu, run_id) for run_id in run_ids] for group, run_ids in sorted(ids.items())}

    result: dict[str, Any] = {"jobs_per_group": JOBS, "run_secs": RUN_SECS, "log_lines": lines + 2,
                              "seconds": round(seconds, 1), "groups": {}}
    rows: list[list[Any]] = [["group", "status gets/job", "log streams/job", "log reads/job", "total/job",
                              "added vs off"]]
    for mode in ("operator", "trigger"):
        means = {}
        for on in ("off", "on"):
            group = f"{mode}, stream_logs {on}"
            per_kind = {kind: bench.summary(c[kind] for c in counts[group]) for kind in counts[group][0]}
            total = sum(s["mean"] for s in per_kind.values())
            means[on] = (per_kind, total)
            result["groups"][group] = {"requests": per_kind, "total_mean": total}
        for on in ("off", "on"):
            per_kind, total = means[on]
            more_gets = per_kind["status gets"]["mean"] - means["off"][0]["status gets"]["mean"]
            added = "" if on == "off" else f"{total - means['off'][1]:+.1f} (status gets {more_gets:+.1f})"
            rows.append([f"{mode}, stream_logs {on}", *(f"{per_kind[k]['mean']:.1f}" for k in per_kind),
                         f"{total:.1f}", added])
        result["groups"][f"{mode}, added"] = {
            "status_gets": means["on"][0]["status gets"]["mean"] - means["off"][0]["status gets"]["mean"],
            "total": means["on"][1] - means["off"][1]}
    met = all(result["groups"][f"{m}, added"]["status_gets"] <= 0 for m in ("operator", "trigger"))
    result["goal_met"] = met
    bench.print_rows(f"requests per job while it waits ({JOBS} jobs per group, runs of {RUN_SECS:.0f} s, "
               f"a log line per second; goal: no status get added)", rows)
    print(f"goal: {'met' if met else 'MISSED'}")
    bench.write_result("logstream", result)
    return result


if __name__ == "__main__":
    main()

"""Requests per waiting job per minute: our long-poll waits vs a blind poll every 5 s.

Ten jobs per group wait side by side on runs that do not end (an hour long) for a window of
``BENCH_REQUESTS_WINDOW`` seconds (default 65: the emulator holds ``waitForFinish`` for up to
60 real seconds, as Apify does, so a shorter window cannot show a full long poll):

* ours, operator wait: ``ApifyRunActorOperator.execute()`` in threads;
* ours, deferred: ``ApifyRunTrigger.run()`` in one event loop (its own thread);
* blind poll every 5 s: plain ``GET`` + ``sleep(5)`` with raw httpx, in threads.

At the end the runs are aborted out of band (control API, not journaled) so every wait returns.
The emulator journal gives each job's GETs. The rate is the steady state: 60 / (mean interval
between one job's consecutive GETs). A plain count over the window is shown too; it is biased
upwards for long polls (the first GET at t=0 and the one at t=60 both fall in a 65 s window).

Goal: ours <= 1.1 requests per waiting job per minute.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    TERMINAL,
    EmulatorProcess,
    FakeTI,
    airflow_env,
    print_rows,
    quiet_logging,
    run_triggers,
    summary,
    write_result,
)

airflow_env()
quiet_logging()

JOBS = 10
WINDOW = float(os.environ.get("BENCH_REQUESTS_WINDOW", "65"))
GOAL = 1.1



def per_job(emu: EmulatorProcess, run_ids: list[str], t0: float, t1: float) -> dict[str, Any]:
    """GETs of each job in the window ``[t0, t1]``: steady-state rate and plain count, per minute."""
    rates, counts = [], []
    for run_id in run_ids:
        times = sorted(e.monotonic for e in emu.client.requests("GET", path=f"/v2/actor-runs/{run_id}")
                       if t0 <= e.monotonic <= t1)
        counts.append(len(times) * 60.0 / (t1 - t0))
        if len(times) >= 2:
            rates.append(60.0 * (len(times) - 1) / (times[-1] - times[0]))
    return {"steady_per_min": summary(rates), "count_per_min": summary(counts), "jobs": len(run_ids)}


def main() -> dict[str, Any]:
    """Run the three groups side by side for the window, print and save the figures."""
    import httpx
    from airflow.sdk.bases.operator import ExecutorSafeguard

    from airflow_provider_jobs.emulator.timelines import Timeline
    from airflow_provider_jobs.operators.apify import ApifyRunActorOperator
    from airflow_provider_jobs.triggers.apify import ApifyRunTrigger

    with EmulatorProcess(time_scale=1.0) as emu:
        emu.use_connections()
        emu.client.seed_actor("bench~long", run=Timeline(ready_secs=0, running_secs=3600))
        ids: dict[str, list[str]] = {"operator": [], "trigger": [], "poll5": []}
        lock = threading.Lock()
        threads: list[threading.Thread] = []

        def operator(i: int) -> None:
            op = ApifyRunActorOperator(task_id=f"req_{i}", actor_id="bench~long")
            ExecutorSafeguard.tracker.set(op)
            ti = FakeTI(op.task_id)
            try:
                op.execute({"ti": ti, "run_id": "manual__bench"})  # type: ignore[typeddict-item]
            except Exception:  # noqa: BLE001 - the run is aborted at the end: the task fails
                pass
            with lock:
                ids["operator"].append(ti.xcom["run_id"])

        def triggers() -> None:
            run_ids = [emu.client.create_run("bench~long", status="RUNNING") for _ in range(JOBS)]
            with lock:
                ids["trigger"].extend(run_ids)

            run_triggers([ApifyRunTrigger(job_id=r, conn_id="apify_default", end_time=time.time() + 3600)
                          for r in run_ids])

        client = httpx.Client(base_url=emu.base_url, headers={"Authorization": f"Bearer {emu.client.apify_token}"})

        def poll5() -> None:
            run_id = emu.client.create_run("bench~long", status="RUNNING")
            with lock:
                ids["poll5"].append(run_id)
            while True:
                response = client.get(f"/v2/actor-runs/{run_id}")
                if response.json()["data"]["status"] in TERMINAL:
                    return
                time.sleep(5.0)

        t0 = time.monotonic()
        threads += [threading.Thread(target=operator, args=(i,)) for i in range(JOBS)]
        threads.append(threading.Thread(target=triggers))
        threads += [threading.Thread(target=poll5) for _ in range(JOBS)]
        for t in threads:
            t.start()
        time.sleep(WINDOW)
        t1 = time.monotonic()
        for run in emu.client.runs_of("bench~long"):  # out of band: every wait returns
            emu.client.abort_run(run["id"])
        for t in threads:
            t.join(90)
        client.close()
        groups = {
            "ours: operator wait (long poll)": per_job(emu, ids["operator"], t0, t1),
            "ours: deferred trigger (long poll)": per_job(emu, ids["trigger"], t0, t1),
            "blind poll every 5 s": per_job(emu, ids["poll5"], t0, t1),
        }
    base = groups["blind poll every 5 s"]["steady_per_min"]["mean"]
    result = {"window_s": WINDOW, "jobs_per_group": JOBS, "goal_per_min": GOAL, "groups": groups}
    rows: list[list[Any]] = [["group", "requests/job/min (steady)", "plain count/min", "vs 5 s polling", "goal <= 1.1"]]
    for name, g in groups.items():
        steady = g["steady_per_min"]["mean"]
        ours = name.startswith("ours")
        rows.append([name, f"{steady:.2f}", f"{g['count_per_min']['mean']:.2f}", f"{steady / base:.3f}x",
                     ("met" if steady <= GOAL else "MISSED") if ours else ""])
    print_rows(f"requests per waiting job per minute ({JOBS} jobs per group, {WINDOW:.0f} s window)", rows)
    write_result("requests", result)
    return result


if __name__ == "__main__":
    main()

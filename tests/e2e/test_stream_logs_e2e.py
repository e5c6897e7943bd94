"""``stream_logs`` in real DAG runs (dag.test in a subprocess) against the emulator: the run's log lines
reach the task log once each, blocking and deferred, across forced stream drops; a bad end carries the
end of the log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from _dagrun import run_dags
from _seed import job_id

from airflow_provider_jobs.emulator.timelines import Timeline

pytestmark = pytest.mark.e2e

LOG_ROUTE = "GET /v2/logs/{buildOrRunId}"
DAGS = Path(__file__).resolve().parent / "dags"


@pytest.fixture
def emu(jobs_emulator: Any) -> Any:
    chatty = Timeline(ready_secs=10, running_secs=200, log_lines=8)
    fails = Timeline(ready_secs=10, running_secs=100, log_lines=5, outcome="FAILED", exit_code=2,
                     status_message="Error: the crawler crashed")
    jobs_emulator.seed_actor("e2e~chatty", run=chatty, default_timeout_secs=10**9)
    jobs_emulator.seed_actor("e2e~chatty-fails", run=fails, default_timeout_secs=10**9)
    return jobs_emulator


def test_log_lines_reach_the_task_log_once_each_and_a_bad_end_carries_the_end_of_the_log(
        emu: Any, airflow_home: dict[str, str]) -> None:
    # The three DAGs share one process (Airflow is imported once). Besides the client-side drops the
    # DAG file forces, the first open of each log stream is dropped by the server.
    emu.add_fault(route=LOG_ROUTE, kind="drop_before", times=2)
    modes = ("blocking", "deferred", "fails")
    env = {**airflow_home, **emu.connection_env(), "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS)}
    done = run_dags(DAGS / "e2e_stream_logs.py", [f"e2e_stream_logs_{mode}" for mode in modes], env=env, timeout=180)
    for mode in ("blocking", "deferred"):
        result = done.dags[f"e2e_stream_logs_{mode}"]
        assert result.state == "success", result.output[-3000:]
        run = job_id(result, "apify_run", "apify_run")
        lines = emu.log_of(run).splitlines()
        assert len(lines) >= 10 and "Progress: 8 of 8 done." in lines[-2]
        for line in lines:
            shown = result.times_logged(line)
            assert shown == 1, f"{mode}: {line!r} shown {shown} times"
        streams = [e for e in emu.requests(route=LOG_ROUTE) if run in e.path and e.query.get("stream")]
        assert len(streams) >= 3, f"{mode}: the stream was opened {len(streams)} times"

    failed = done.dags["e2e_stream_logs_fails"]  # stream_logs off: the end of the log is in the failure
    assert failed.state == "failed"
    run = job_id(failed, "apify_run", "apify_run")
    assert "lines of its log:" in failed.output and "Progress: 5 of 5 done." in failed.output
    assert "ACTOR: Finished with exit code 2." in failed.output
    assert not [e for e in emu.requests(route=LOG_ROUTE) if run in e.path and e.query.get("stream")]

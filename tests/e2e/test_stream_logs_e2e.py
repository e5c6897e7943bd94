"""``stream_logs`` in real DAG runs (dag.test in a subprocess) against the emulator: the run's log lines
reach the task log once each, blocking and deferred, across forced stream drops; a bad end carries the
end of the log."""

from __future__ import annotations

from typing import Any

import pytest
from _seed import job_id

from airflow_provider_jobs.emulator import Timeline

pytestmark = pytest.mark.e2e

LOG_ROUTE = "GET /v2/logs/{buildOrRunId}"


@pytest.fixture
def emu(jobs_emulator: Any) -> Any:
    chatty = Timeline(ready_secs=10, running_secs=200, log_lines=8)
    fails = Timeline(ready_secs=10, running_secs=100, log_lines=5, outcome="FAILED", exit_code=2,
                     status_message="Error: the crawler crashed")
    jobs_emulator.seed_actor("e2e~chatty", run=chatty, default_timeout_secs=10**9)
    jobs_emulator.seed_actor("e2e~chatty-fails", run=fails, default_timeout_secs=10**9)
    return jobs_emulator


def test_log_lines_reach_the_task_log_once_each_across_stream_drops(emu: Any, run_dag: Any) -> None:
    # and the first open of each log stream is dropped by the server, too
    emu.add_fault(route=LOG_ROUTE, kind="drop_before", times=2)
    for mode in ("blocking", "deferred"):
        result = run_dag("e2e_stream_logs.py", f"e2e_stream_logs_{mode}")
        assert result.state == "success", result.output[-3000:]
        run = job_id(result, "apify_run", "apify_run")
        lines = emu.log_of(run).splitlines()
        assert len(lines) >= 10 and "Progress: 8 of 8 done." in lines[-2]
        for line in lines:
            assert result.output.count(line) == 1, f"{mode}: {line!r} shown {result.output.count(line)} times"
        streams = [e for e in emu.requests(route=LOG_ROUTE) if run in e.path and e.query.get("stream")]
        assert len(streams) >= 3, f"{mode}: the stream was opened {len(streams)} times"


def test_a_bad_end_fails_with_the_end_of_the_log(emu: Any, run_dag: Any) -> None:
    result = run_dag("e2e_stream_logs.py", "e2e_stream_logs_fails")
    assert result.state == "failed"
    run = job_id(result, "apify_run", "apify_run")
    assert f"lines of its log:" in result.output and "Progress: 5 of 5 done." in result.output
    assert "ACTOR: Finished with exit code 2." in result.output
    assert not [e for e in emu.requests(route=LOG_ROUTE) if run in e.path and e.query.get("stream")]

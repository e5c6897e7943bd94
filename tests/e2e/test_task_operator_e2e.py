"""The actor-task operator in a real DAG run (dag.test in a subprocess) against the emulator:
success blocking and deferred, the dataset passed downstream, and an abort at execution_timeout."""

from __future__ import annotations

from typing import Any

import pytest
from _seed import aborts_of, job_id, seed, status_of

pytestmark = pytest.mark.e2e


@pytest.fixture
def emu(jobs_emulator: Any) -> Any:
    seed(jobs_emulator)
    jobs_emulator.seed_task("e2e~quick", "e2e-nightly", task_input={"pages": 3, "lang": "en"})
    jobs_emulator.seed_task("e2e~forever", "e2e-endless")
    return jobs_emulator


def test_task_runs_succeed_pass_their_dataset_and_are_aborted_at_the_timeout(emu: Any, run_dag: Any) -> None:
    result = run_dag("e2e_task_operator.py", "e2e_task_run")
    for task_id in ("nightly", "nightly_deferred"):
        assert result.state_of(task_id) == "success", result.output[-3000:]
        run = job_id(result, task_id, "apify_run")
        summary = result.xcom(task_id)
        assert summary["id"] == run and summary["status"] == "SUCCEEDED"
        assert result.xcom(task_id, "_link_ApifyRunLink") == summary["console_url"]
        assert emu.get_run(run)["actorTaskId"] and not aborts_of(emu, "apify_run", run)
    nightly = emu.get_run(result.xcom("nightly")["id"])
    assert emu.run_start_options(nightly["id"])["input"] == {"pages": 5, "lang": "en"}
    assert nightly["options"]["memoryMbytes"] == 512  # rendered "512", sent as a number
    assert result.xcom("use_dataset") == nightly["defaultDatasetId"]
    assert result.state_of("endless") == "failed"
    endless = job_id(result, "endless", "apify_run")
    assert len(aborts_of(emu, "apify_run", endless)) == 1
    assert status_of(emu, "apify_run", endless) in ("ABORTING", "ABORTED")

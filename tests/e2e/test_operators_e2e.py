"""Operators in real DAG runs (dag.test in a subprocess) against the emulator: every failure path
leaves no job running; the emulator's journal is the witness."""

from __future__ import annotations

from typing import Any

import pytest
from _seed import KINDS, aborts_of, job_id, seed, status_of

from airflow_provider_jobs._compat import AIRFLOW_VERSION

pytestmark = pytest.mark.e2e


@pytest.fixture
def emu(jobs_emulator: Any) -> Any:
    seed(jobs_emulator)
    return jobs_emulator


def test_success_path_pushes_ids_and_passes_the_dataset_downstream(emu: Any, run_dag: Any) -> None:
    result = run_dag("e2e_operators.py", "e2e_success")
    assert result.state == "success", result.output[-3000:]
    for kind in KINDS:
        for task_id in (kind, f"{kind}_deferred"):
            summary = result.xcom(task_id)
            job = job_id(result, task_id, kind)
            assert summary["id"] == job and summary["status"] in ("SUCCEEDED", "ready")
            assert not aborts_of(emu, kind, job)
    run = result.xcom("apify_run")
    assert result.xcom("use_dataset") == run["default_dataset_id"] == emu.get_run(run["id"])["defaultDatasetId"]
    assert result.xcom("apify_run", "_link_ApifyRunLink") == run["console_url"]


def test_bad_end_is_reported_not_aborted(emu: Any, run_dag: Any) -> None:
    result = run_dag("e2e_operators.py", "e2e_bad_end")
    assert result.state == "failed"
    for kind in KINDS:
        for task_id in (kind, f"{kind}_deferred"):
            assert result.state_of(task_id) == "failed"
            job = job_id(result, task_id, kind)
            assert status_of(emu, kind, job) in ("FAILED", "error") and not aborts_of(emu, kind, job)
    # whitespace-normalised: Airflow 3.0's dag.test() wraps the exception line
    assert "finished with status FAILED: Error: the crawler crashed" in " ".join(result.output.split())


def test_execution_timeout_aborts(emu: Any, run_dag: Any) -> None:
    result = run_dag("e2e_operators.py", "e2e_exec_timeout")
    for kind in KINDS:
        assert result.state_of(kind) == "failed"
        job = job_id(result, kind, kind)
        assert len(aborts_of(emu, kind, job)) == 1, f"{kind}: no abort"
        assert status_of(emu, kind, job) in ("ABORTED", "cancelled", "building")
    kept = job_id(result, "opt_out", "apify_run")
    assert not aborts_of(emu, "apify_run", kept) and status_of(emu, "apify_run", kept) == "RUNNING"


def test_wait_timeout_aborts(emu: Any, run_dag: Any) -> None:
    result = run_dag("e2e_operators.py", "e2e_wait_timeout")
    for kind in KINDS:
        assert result.state_of(kind) == "failed"
        assert len(aborts_of(emu, kind, job_id(result, kind, kind))) == 1


def test_deadline_while_deferred_is_enforced_by_the_trigger(emu: Any, run_dag: Any) -> None:
    result = run_dag("e2e_operators.py", "e2e_defer_deadline")
    for kind in KINDS:
        assert result.state_of(kind) == "failed"
        assert len(aborts_of(emu, kind, job_id(result, kind, kind))) == 1
    kept = job_id(result, "opt_out", "apify_run")
    assert result.state_of("opt_out") == "failed" and not aborts_of(emu, "apify_run", kept)


@pytest.mark.parametrize("kind", KINDS)
def test_sigterm_aborts_within_the_kill_window(emu: Any, run_dag: Any, kind: str) -> None:
    def job_is_running() -> bool:
        if kind == "template_build":
            return bool(emu.template_builds("e2e-forever")) and len(emu.requests("GET")) > 0
        jobs = emu.runs_of("e2e~forever") if kind == "apify_run" else emu.builds_of("e2e~forever")
        return bool(jobs) and len(emu.requests("GET")) > 0

    result = run_dag("e2e_operators.py", f"e2e_sigterm_{kind}", kill_when=job_is_running)
    assert result.state_of(kind) == "failed", result.output[-3000:]
    job = job_id(result, kind, kind)
    aborts = aborts_of(emu, kind, job)
    assert len(aborts) == 1
    latency = aborts[0].monotonic - result.events["sigterm"]
    assert 0 <= latency < 4.0, f"abort arrived {latency:.2f} s after SIGTERM"


def test_failure_elsewhere_with_notifiers(emu: Any, run_dag: Any) -> None:
    result = run_dag("e2e_operators.py", "e2e_notifier")
    assert result.state_of("downstream_fails") == "failed"
    for kind in KINDS:
        assert result.state_of(f"start_{kind}") == "success"
        job = job_id(result, f"start_{kind}", kind)
        assert len(aborts_of(emu, kind, job)) == 1, kind
    cancel = aborts_of(emu, "template_build", job_id(result, "start_template_build", "template_build"))[0]
    assert cancel.body["reason"].startswith("downstream_fails failed in manual__"), cancel.body


def test_mapped_tasks_abort_their_own_jobs_from_the_notifier(emu: Any, run_dag: Any) -> None:
    result = run_dag("e2e_operators.py", "e2e_mapped_notifier")
    assert result.state == "failed"
    runs = emu.runs_of("e2e~forever")
    assert len(runs) == 3
    for run in runs:  # every map index's run aborted exactly once, none left running
        assert run["status"] == "ABORTED" and len(aborts_of(emu, "apify_run", run["id"])) == 1, run["id"]


@pytest.mark.parametrize("reattach", [True, False])
def test_retry_adopts_or_aborts_the_previous_tries_job(emu: Any, run_dag: Any, reattach: bool) -> None:
    # The first try loses its wait to a 401 (and may not abort: abort_on_kill=False); the retry
    # finds the run through task_state_store.
    emu.add_fault(method="GET", route="/v2/actor-runs/{runId}", kind="status", status=401, times=1)
    result = run_dag("e2e_operators.py", f"e2e_reattach_{str(reattach).lower()}")
    assert result.state_of("apify_run") == "success", result.output[-3000:]
    assert result.tasks["apify_run"]["try_number"] == 2
    starts = emu.requests(route="POST /v2/actors/{actorId}/runs")
    runs = emu.runs_of("e2e~slowish")
    if AIRFLOW_VERSION < (3, 3, 0):  # no task_state_store: the retry cannot find the first job (documented)
        assert "task_state_store is not available" in result.output
        assert len(starts) == 2 and len(runs) == 2
    elif reattach:
        assert len(starts) == 1 and len(runs) == 1 and runs[0]["status"] == "SUCCEEDED"
        assert result.xcom("apify_run")["id"] == runs[0]["id"]
    else:
        assert len(starts) == 2 and len(runs) == 2
        first = next(r for r in runs if r["id"] != result.xcom("apify_run")["id"])
        assert first["status"] == "ABORTED" and aborts_of(emu, "apify_run", first["id"])

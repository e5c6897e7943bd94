"""The abort/cancel operators against the emulator (executed directly with a minimal context)."""

from __future__ import annotations

from typing import Any
from unittest.mock import MagicMock

import pytest

from airflow_provider_jobs._compat import AirflowFailException
from airflow_provider_jobs.emulator.emulator import Emulator
from airflow_provider_jobs.emulator.timelines import TemplateTimeline, Timeline
from airflow_provider_jobs.exceptions import InvalidIdError, NotFoundError
from airflow_provider_jobs.operators.apify import ApifyAbortBuildOperator, ApifyAbortRunOperator
from airflow_provider_jobs.operators.template_builds import TemplateBuildCancelOperator


def context() -> dict[str, Any]:
    ti = MagicMock()
    ti.dag_id, ti.task_id, ti.run_id, ti.try_number = "etl", "cancel_it", "manual__1", 2
    return {"ti": ti, "run_id": "manual__1"}


@pytest.fixture
def emu(jobs_emulator: Emulator) -> Emulator:
    long = Timeline(ready_secs=0, running_secs=100_000, abort_grace_secs=100)
    jobs_emulator.seed_actor("ops~long", run=long, build=long, default_timeout_secs=10**9)
    jobs_emulator.seed_template("ops-long", TemplateTimeline(waiting_secs=0, building_secs=100_000,
                                                             cancel_delay_secs=50))
    return jobs_emulator


def test_abort_run_now(emu: Emulator) -> None:
    run_id = emu.create_run("ops~long")
    summary = ApifyAbortRunOperator(task_id="a", run_id=run_id).execute(context())
    assert summary["status"] == "ABORTED" and summary["id"] == run_id
    assert emu.requests(route="POST /v2/actor-runs/{runId}/abort")[0].query == {}


def test_abort_run_gracefully_waits_for_the_end(emu: Emulator) -> None:
    run_id = emu.create_run("ops~long")
    summary = ApifyAbortRunOperator(task_id="a", run_id=run_id, gracefully=True, wait_timeout=10).execute(context())
    assert summary["status"] == "ABORTED"  # ABORTING for ~1 s (100 emulated s), then ABORTED
    assert emu.requests(route="POST /v2/actor-runs/{runId}/abort")[0].query == {"gracefully": "true"}


def test_abort_run_gracefully_without_waiting_reports_aborting(emu: Emulator, capsys: Any) -> None:
    run_id = emu.create_run("ops~long")
    op = ApifyAbortRunOperator(task_id="a", run_id=run_id, gracefully="True", wait_for_termination=False)
    assert op.execute(context())["status"] == "ABORTING"
    assert "abort requested but not yet done" in "".join(capsys.readouterr())


def test_abort_of_a_finished_run_succeeds_unchanged(emu: Emulator) -> None:
    run_id = emu.create_run("ops~long", status="SUCCEEDED")
    assert ApifyAbortRunOperator(task_id="a", run_id=run_id).execute(context())["status"] == "SUCCEEDED"


def test_abort_of_an_unknown_run_fails_clearly(emu: Emulator) -> None:
    with pytest.raises(NotFoundError, match="Abort of Apify run NoSuchRun"):
        ApifyAbortRunOperator(task_id="a", run_id="NoSuchRun").execute(context())
    with pytest.raises(AirflowFailException, match="not retried") as err:
        ApifyAbortRunOperator(task_id="a", run_id="../x").execute(context())
    assert isinstance(err.value.__cause__, InvalidIdError)
    assert not emu.requests(path_regex=r"\.\./x")


def test_abort_build(emu: Emulator) -> None:
    build_id = emu.create_build("ops~long")
    assert ApifyAbortBuildOperator(task_id="a", build_id=build_id).execute(context())["status"] == "ABORTED"


def test_cancel_template_build_reports_a_pending_cancel(emu: Emulator, capsys: Any) -> None:
    build_id = emu.create_template_build("ops-long")
    summary = TemplateBuildCancelOperator(task_id="c", build_id=build_id).execute(context())
    assert summary["status"] == "building" and summary["cancel_pending"] is True
    assert "cancel requested but not yet done" in "".join(capsys.readouterr())
    body = emu.requests(route="POST /v1/templates/builds/{build_id}/cancel")[0].body
    assert body == {"reason": "airflow: dag=etl task=cancel_it run=manual__1 try=2"}


def test_cancel_template_build_and_wait(emu: Emulator) -> None:
    build_id = emu.create_template_build("ops-long")
    op = TemplateBuildCancelOperator(task_id="c", build_id=build_id, reason="superseded", wait_for_termination=True,
                                     wait_timeout=10)
    summary = op.execute(context())
    assert summary["status"] == "cancelled" and summary["cancellation_reason"] == "superseded"
    assert "entries" not in summary


def test_operator_tolerates_a_404_right_after_its_own_start(emu: Emulator) -> None:
    from airflow_provider_jobs.operators.apify import ApifyRunActorOperator

    emu.seed_actor("ops~quick", run=Timeline(ready_secs=0, running_secs=50))
    emu.add_fault(method="GET", route="/v2/actor-runs/{runId}", kind="status", status=404, times=2)
    summary = ApifyRunActorOperator(task_id="r", actor_id="ops~quick", poll_interval=0.05).execute(context())
    assert summary["status"] == "SUCCEEDED"

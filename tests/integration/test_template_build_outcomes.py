"""What a template build's end tells the DAG author: the suggested action of a failure, who cancelled (emulator)."""

from __future__ import annotations

from typing import Any
from unittest.mock import MagicMock

import pytest

from airflow_provider_jobs.emulator.emulator import Emulator
from airflow_provider_jobs.emulator.timelines import TemplateTimeline
from airflow_provider_jobs.exceptions import JobFailedError
from airflow_provider_jobs.operators.template_builds import TemplateBuildCancelOperator, TemplateBuildOperator
from airflow_provider_jobs.sensors.template_builds import TemplateBuildSensor


def context() -> dict[str, Any]:
    """A task's context: a recording task instance is all these tasks use."""
    return {"ti": MagicMock(dag_id="etl", task_id="build", run_id="manual__1", try_number=1)}


@pytest.fixture
def emu(jobs_emulator: Emulator) -> Emulator:
    jobs_emulator.seed_template("fails", TemplateTimeline(waiting_secs=0, building_secs=5, outcome="error"))
    jobs_emulator.seed_template("slow", TemplateTimeline(waiting_secs=0, building_secs=100_000, cancel_delay_secs=0))
    return jobs_emulator


def test_a_failed_build_fails_the_task_with_the_suggested_action(emu: Emulator) -> None:
    op = TemplateBuildOperator(task_id="build", build_request={"name": "fails"}, poll_interval=0.02)
    with pytest.raises(JobFailedError) as failure:
        op.execute(context())
    message = str(failure.value)
    assert "exited with status 2; suggested action: Fix the failing step and start a new build." in message
    assert failure.value.detail and "suggested action" in failure.value.detail


def test_the_sensor_reports_the_suggested_action_too(emu: Emulator) -> None:
    build_id = emu.create_template_build("fails", status="error")
    with pytest.raises(Exception, match="suggested action: Fix the failing step"):
        TemplateBuildSensor(task_id="s", build_id=build_id).poke(context())


def test_the_summary_says_who_asked_for_the_cancel(emu: Emulator) -> None:
    build_id = emu.create_template_build("slow")
    summary = TemplateBuildCancelOperator(task_id="c", build_id=build_id).execute(context())
    assert summary["status"] == "cancelled"
    assert summary["cancel_requested_by"] == emu.get_template_build(build_id)["build"]["cancel_requested_by"]
    assert summary["cancel_requested_by"]
    untouched = TemplateBuildCancelOperator(task_id="c", build_id=emu.create_template_build("slow", status="ready"))
    assert untouched.execute(context())["cancel_requested_by"] is None  # the key is always there

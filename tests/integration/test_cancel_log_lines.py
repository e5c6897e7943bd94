"""The log entries a template-build cancel answers with reach the task log, each line once (emulator).

A cancel answers with the build's log entries from offset 0 (the API takes no offset on cancel):
the tasks pass them through the log cursor of their wait, so a line the wait already printed is
not printed again, and the wait after the cancel goes on from there.
"""

from __future__ import annotations

import re
import time
from typing import Any
from unittest.mock import MagicMock

import pytest

from airflow_provider_jobs._compat import AirflowException
from airflow_provider_jobs.emulator.emulator import Emulator
from airflow_provider_jobs.emulator.timelines import TemplateTimeline
from airflow_provider_jobs.operators.template_builds import TemplateBuildCancelOperator, TemplateBuildOperator
from airflow_provider_jobs.triggers.template_builds import TemplateBuildTrigger


def context() -> dict[str, Any]:
    """A task's context: the default cancel reason names the task instance's DAG, task, run and try."""
    return {"ti": MagicMock(dag_id="etl", task_id="build", run_id="manual__1", try_number=1), "run_id": "manual__1"}


@pytest.fixture
def emu(jobs_emulator: Emulator) -> Emulator:
    """Two templates whose builds log ``start`` and ``cache`` at once, then nothing for a long while."""
    jobs_emulator.seed_template("cancel-now", TemplateTimeline(waiting_secs=0, building_secs=100_000,
                                                               cancel_delay_secs=0))
    jobs_emulator.seed_template("cancel-later", TemplateTimeline(waiting_secs=0, building_secs=100_000,
                                                                 cancel_delay_secs=50))
    return jobs_emulator


def logged_offsets(text: str) -> list[int]:
    """The offsets of the build log lines (``#3 WARN [cleanup] ...``) in the captured task log, in order."""
    return [int(number) for number in re.findall(r"#(\d+) (?:INFO|DEBUG|WARN|ERROR)\b", text)]


def first_entries_logged(emu: Emulator, build_id: str, count: int = 2) -> None:
    """Wait (a few ms of emulated time) until the build has its first ``count`` log entries."""
    deadline = time.monotonic() + 5
    while emu.get_template_build(build_id)["next_offset"] < count:
        assert time.monotonic() < deadline, "the emulated build logged nothing"
        time.sleep(0.01)


def test_the_cancel_operator_logs_the_entries_the_cancel_answers_with(emu: Emulator, capsys: Any) -> None:
    build_id = emu.create_template_build("cancel-now")
    first_entries_logged(emu, build_id)
    summary = TemplateBuildCancelOperator(task_id="c", build_id=build_id, reason="superseded").execute(context())
    assert summary["status"] == "cancelled"
    out = capsys.readouterr().out
    assert logged_offsets(out) == [0, 1, 2]
    assert "#2 WARN [cleanup] template build cancelled: superseded" in out


def test_the_cancel_operator_waits_on_from_the_cancel_answers_offset(emu: Emulator, capsys: Any) -> None:
    build_id = emu.create_template_build("cancel-later")
    first_entries_logged(emu, build_id)
    summary = TemplateBuildCancelOperator(task_id="c", build_id=build_id, wait_for_termination=True,
                                          wait_timeout=10).execute(context())
    assert summary["status"] == "cancelled"
    assert logged_offsets(capsys.readouterr().out) == [0, 1, 2]  # 0, 1 from the cancel; 2 from the wait
    gets = emu.requests(route="GET /v1/templates/builds/{build_id}")
    assert gets and all(request.query.get("offset") == "2" for request in gets[:1])


def test_a_build_the_task_cancels_logs_the_cancel_entries_once(emu: Emulator, capsys: Any) -> None:
    op = TemplateBuildOperator(task_id="build", build_request={"name": "cancel-now"}, wait_timeout=0.5,
                               poll_interval=0.05)
    with pytest.raises(AirflowException, match="gave up waiting"):
        op.execute(context())
    out = capsys.readouterr().out
    assert logged_offsets(out) == [0, 1, 2]  # the wait printed 0 and 1; the cancel's replay adds only 2
    assert "template build cancelled: airflow: dag=etl task=build run=manual__1 try=1" in out
    assert len(emu.requests(route="POST /v1/templates/builds/{build_id}/cancel")) == 1


def test_a_build_without_stream_logs_logs_no_entries_on_cancel(emu: Emulator, capsys: Any) -> None:
    op = TemplateBuildOperator(task_id="build", build_request={"name": "cancel-now"}, wait_timeout=0.3,
                               poll_interval=0.05, stream_logs=False)
    with pytest.raises(AirflowException, match="gave up waiting"):
        op.execute(context())
    assert logged_offsets(capsys.readouterr().out) == []


async def test_the_trigger_logs_the_entries_of_its_cancel_at_the_deadline_once(emu: Emulator, capsys: Any) -> None:
    build_id = emu.create_template_build("cancel-now")
    first_entries_logged(emu, build_id)
    trigger = TemplateBuildTrigger(job_id=build_id, conn_id="template_builds_default", end_time=time.time() + 0.3,
                                   poll_interval=0.05, reason="deadline", stream_logs=True)
    events = [event.payload async for event in trigger.run()]
    assert events[-1]["outcome"] == "timeout" and events[-1]["aborted"] is True
    out = capsys.readouterr().out
    assert logged_offsets(out) == [0, 1, 2]  # the wait printed 0 and 1; the cancel's replay adds only 2
    assert "#2 WARN [cleanup] template build cancelled: deadline" in out

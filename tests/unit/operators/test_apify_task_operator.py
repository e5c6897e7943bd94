"""``ApifyRunActorTaskOperator``: a saved actor task's run, with the run operator's whole lifecycle.

The lifecycle tests of ``test_job_operator.py`` and ``test_job_operator_start.py`` are collected here
a second time with ``job_kind`` set to the task operator (same Apify run kind, its own start path):
the same XCom, summary, aborts on every failure path, deferral and reattach. The tests below run it
against the emulator, whose journal witnesses the aborts.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any

import pytest
from _kinds import KINDS, KindCase, fake_context
from airflow.sdk import DAG
from test_job_operator import (  # noqa: F401 - collected again here, for the task operator
    test_api_failure_while_waiting_aborts_then_raises,
    test_blocking_run_pushes_id_before_waiting_and_returns_summary,
    test_defer_timeout_aborts_on_resume,
    test_deferrable_defers_with_a_deadline_and_serializable_trigger,
    test_deferrable_stays_on_worker_when_already_done,
    test_execute_complete,
    test_no_wait_returns_after_start,
    test_on_kill_while_waiting_aborts_and_stops,
    test_opt_out_of_abort_on_kill,
    test_wait_timeout_aborts,
)
from test_job_operator_start import (  # noqa: F401 - collected again here, for the task operator
    test_a_created_job_whose_answer_is_unreadable_is_aborted,
    test_kill_while_the_start_is_in_flight_aborts_the_new_job,
    test_retry_adopts_the_running_job,
    test_retry_without_reattach_aborts_the_old_job_first,
)

from airflow_provider_jobs._compat import AirflowException, AirflowFailException
from airflow_provider_jobs.emulator.emulator import Emulator
from airflow_provider_jobs.emulator.timelines import Timeline
from airflow_provider_jobs.exceptions import JobFailedError
from airflow_provider_jobs.links.apify import ApifyRunLink
from airflow_provider_jobs.operators.apify import ApifyRunActorOperator, ApifyRunActorTaskOperator
from airflow_provider_jobs.triggers.apify import ApifyRunTrigger

TASK_START = "POST /v2/actor-tasks/{actorTaskId}/runs"
ABORT = "POST /v2/actor-runs/{runId}/abort"
WEBHOOKS = [{"eventTypes": ["ACTOR.RUN.FAILED"], "requestUrl": "https://example.com/hook"}]

TASK_KIND = dataclasses.replace(
    KINDS["apify_run"], name="apify_task_run",
    operator=lambda **kw: ApifyRunActorTaskOperator(task_id="t", actor_task_id="janedoe~nightly", **kw),
    start_path="/v2/actor-tasks/janedoe~nightly/runs",
)


@pytest.fixture
def job_kind(mock_connections: None) -> KindCase:
    """The task operator, for the lifecycle tests collected above."""
    return TASK_KIND


@pytest.fixture
def emu(jobs_emulator: Emulator) -> Emulator:
    jobs_emulator.seed_actor("ops~scraper", run=Timeline(ready_secs=1, running_secs=30, items=3))
    jobs_emulator.seed_actor("ops~endless", run=Timeline(ready_secs=1, running_secs=10_000_000.0))
    jobs_emulator.seed_task("ops~scraper", "nightly", task_input={"pages": 3, "lang": "en"}, memory_mbytes=512)
    jobs_emulator.seed_task("ops~endless", "endless")
    return jobs_emulator


def test_the_run_operators_share_kind_trigger_link_and_options() -> None:
    task, actor = ApifyRunActorTaskOperator, ApifyRunActorOperator
    assert task.kind is actor.kind and task.trigger_class is actor.trigger_class is ApifyRunTrigger
    assert [type(link) for link in task.operator_extra_links] == [ApifyRunLink]
    assert task.template_fields[:2] == ("actor_task_id", "task_input")
    assert task.template_fields[2:] == actor.template_fields[2:]
    assert {"restart_on_error", "webhooks", "wait_for_capacity"} <= set(actor.template_fields)
    assert task.template_fields_renderers["task_input"] == "json"


def test_a_task_run_merges_the_input_takes_the_options_and_succeeds(emu: Emulator) -> None:
    ctx = fake_context()
    op = ApifyRunActorTaskOperator(task_id="t", actor_task_id="~nightly", task_input={"pages": 5},
                                   run_timeout_secs="600", restart_on_error="True", webhooks=WEBHOOKS,
                                   poll_interval=0.05)
    summary = op.execute(ctx)
    run = emu.get_run(summary["id"])
    assert summary["status"] == "SUCCEEDED" and ctx["pushed"]["run_id"] == summary["id"]
    assert summary["default_dataset_id"] == run["defaultDatasetId"]
    assert ctx["pushed"]["_link_ApifyRunLink"] == summary["console_url"]
    started = emu.run_start_options(summary["id"])
    assert started["input"] == {"pages": 5, "lang": "en"} and started["restartOnError"] is True
    assert started["webhooks"] == WEBHOOKS and started["actorTaskId"] == run["actorTaskId"]
    assert run["options"]["timeoutSecs"] == 600 and run["options"]["memoryMbytes"] == 512  # the task's memory
    assert len(emu.requests(route=TASK_START)) == 1 and not emu.requests(route=ABORT)


def test_the_run_operator_passes_restart_on_error_and_webhooks(emu: Emulator) -> None:
    summary = ApifyRunActorOperator(task_id="t", actor_id="ops~scraper", restart_on_error=False, webhooks=WEBHOOKS,
                                    wait_for_termination=False).execute(fake_context())
    started = emu.run_start_options(summary["id"])
    assert started["restartOnError"] is False and started["webhooks"] == WEBHOOKS


def test_on_kill_aborts_the_task_run_as_the_journal_shows(emu: Emulator) -> None:
    op = ApifyRunActorTaskOperator(task_id="t", actor_task_id="~endless", poll_interval=0.05)
    errors: list[BaseException] = []

    def execute() -> None:
        try:
            op.execute(fake_context())
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
            errors.append(exc)

    worker = threading.Thread(target=execute)
    worker.start()
    deadline = time.monotonic() + 10
    while not emu.runs_of("ops~endless") and time.monotonic() < deadline:
        time.sleep(0.01)
    (run,) = emu.runs_of("ops~endless")
    op.on_kill()  # what the SIGTERM handler does
    worker.join(10)
    # stopped while waiting, or (when the poll already saw the abort land) failed on ABORTED
    assert isinstance(errors[0], (AirflowException, JobFailedError))
    aborts = [e for e in emu.requests(route=ABORT) if run["id"] in e.path]
    assert len(aborts) == 1 and emu.get_run(run["id"])["status"] in ("ABORTING", "ABORTED")


def test_the_failure_callback_aborts_the_task_run(emu: Emulator) -> None:
    """A lost worker: the operator's own on_failure_callback aborts the run whose id it pushed."""
    summary = ApifyRunActorTaskOperator(task_id="t", actor_task_id="~endless",
                                        wait_for_termination=False).execute(fake_context())
    op = ApifyRunActorTaskOperator(task_id="t", actor_task_id="~endless")
    ctx = fake_context(xcom={"run_id": summary["id"]})
    op.on_failure_callback[-1]({**ctx, "task": op})  # type: ignore[index]
    assert len([e for e in emu.requests(route=ABORT) if summary["id"] in e.path]) == 1


def test_the_task_operator_guards_its_run_with_the_watchdog(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider_jobs.lifecycle import TrackedJob

    guarded: list[str | None] = []
    monkeypatch.setattr(TrackedJob, "guard", lambda self: guarded.append(self.job_id))
    summary = ApifyRunActorTaskOperator(task_id="t", actor_task_id="~nightly", poll_interval=0.05).execute(
        fake_context())
    assert guarded == [summary["id"]]


def test_rendered_templates_reach_the_api_and_bad_ones_fail_before_any_request(emu: Emulator) -> None:
    from unittest.mock import MagicMock

    def rendered(**fields: Any) -> ApifyRunActorTaskOperator:
        with DAG("tmpl", schedule=None):
            op = ApifyRunActorTaskOperator(task_id="t", wait_for_termination=False, **fields)
        ti = MagicMock()
        ti.dag_id, ti.task_id, ti.run_id, ti.try_number, ti.map_index = "tmpl", "t", "manual__1", 1, -1
        op.render_template_fields({"params": {"task": "nightly", "mem": "1024", "cap": "7", "charge": "2.5"},
                                   "ti": ti, "run_id": "manual__1", "dag": op.dag, "task": op})
        return op

    op = rendered(actor_task_id="~{{ params.task }}", task_input={"q": "{{ params.task }}"},
                  memory_mbytes="{{ params.mem }}", max_items="{{ params.cap }}",
                  max_total_charge_usd="{{ params.charge }}")
    op.execute(fake_context())
    query = emu.requests(route=TASK_START)[0].query
    assert query == {"memory": "1024", "maxItems": "7", "maxTotalChargeUsd": "2.5"}
    assert emu.run_start_options(emu.runs_of("ops~scraper")[0]["id"])["input"]["q"] == "nightly"
    bad = rendered(actor_task_id="~nightly", max_items="{{ params.task }}")
    with pytest.raises(AirflowFailException, match="Invalid max_items.*not retried"):
        bad.execute(fake_context())
    assert len(emu.requests(route=TASK_START)) == 1

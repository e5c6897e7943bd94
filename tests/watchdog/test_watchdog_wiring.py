"""The watchdog and the failure callback as the operators wire them (TrackedJob.guard/release,
AbortOnFailure), against the emulator: guarded while owned, released on every normal end,
one effective abort per failure."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from typing import Any

import pytest
from _wd import ACTOR, alive, wait_until

from airflow_provider_jobs.lifecycle import APIFY_RUN, TrackedJob
from airflow_provider_jobs.lifecycle.callback import AbortOnFailure
from airflow_provider_jobs.operators.apify import ApifyRunActorOperator

ABORT_ROUTE = "POST /v2/actor-runs/{runId}/abort"
log = logging.getLogger(__name__)


def tracked(run_id: str) -> TrackedJob[Any, Any]:
    job: TrackedJob[Any, Any] = TrackedJob(APIFY_RUN, "apify_default", logger=log)
    job.own(run_id)
    return job


def test_a_guarded_job_is_released_when_the_task_is_done_with_it(emu: Any) -> None:
    job = tracked(emu.create_run(ACTOR))
    job.guard()
    assert job.guarded
    pid = job._watchdog.pid  # type: ignore[union-attr]
    assert pid is not None and alive(pid)
    job.finished()
    assert not job.guarded
    assert wait_until(lambda: not alive(pid), 5), "the released watchdog is still there"
    assert emu.requests(route=ABORT_ROUTE) == []


def test_an_accepted_abort_releases_the_watchdog(emu: Any) -> None:
    job = tracked(emu.create_run(ACTOR))
    job.guard()
    pid = job._watchdog.pid  # type: ignore[union-attr]
    job.abort_once("test")
    assert not job.guarded and wait_until(lambda: not alive(pid), 5)
    assert len(emu.requests(route=ABORT_ROUTE)) == 1


@pytest.mark.parametrize("abort_enabled", [False])
def test_no_watchdog_when_aborting_is_off(emu: Any, abort_enabled: bool) -> None:
    job: TrackedJob[Any, Any] = TrackedJob(APIFY_RUN, "apify_default", logger=log, abort_enabled=abort_enabled)
    job.own(emu.create_run(ACTOR))
    job.guard()
    assert not job.guarded


def test_a_process_that_exits_while_it_owns_the_job_gets_it_aborted(emu: Any) -> None:
    """``os._exit`` without a release, as a SIGKILLed or OOM-killed task process would end."""
    run_id = emu.create_run(ACTOR)
    code = textwrap.dedent(f"""
        import logging, os
        from airflow_provider_jobs.lifecycle import APIFY_RUN, TrackedJob
        job = TrackedJob(APIFY_RUN, "apify_default", logger=logging.getLogger())
        job.own({run_id!r})
        job.guard()
        assert job.guarded
        os._exit(0)
    """)
    subprocess.run([sys.executable, "-c", code], check=True, env=dict(os.environ), timeout=60)
    assert wait_until(lambda: bool(emu.requests(route=ABORT_ROUTE)), 5), "no abort after the owner exited"
    assert emu.get_run(run_id)["status"] in {"ABORTING", "ABORTED"}


def test_the_operator_keeps_the_authors_callbacks_and_adds_its_abort_once() -> None:
    def mine(context: Any) -> None: ...

    op = ApifyRunActorOperator(task_id="t", actor_id="a~b", on_failure_callback=mine)
    callbacks = op.on_failure_callback
    assert isinstance(callbacks, list) and callbacks[0] is mine and isinstance(callbacks[1], AbortOnFailure)
    assert len(callbacks) == 2
    listed = ApifyRunActorOperator(task_id="u", actor_id="a~b", on_failure_callback=[mine, mine])
    assert listed.on_failure_callback[:2] == [mine, mine] and len(listed.on_failure_callback) == 3
    for off in ({"abort_on_process_death": False}, {"abort_on_kill": False}, {"wait_for_termination": False}):
        plain = ApifyRunActorOperator(task_id="v", actor_id="a~b", on_failure_callback=mine, **off)
        assert plain.on_failure_callback in (mine, [mine]), off


class _TI:
    task_id = "run"
    map_index = -1

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id

    def xcom_pull(self, **_: Any) -> str:
        return self.run_id


def test_the_failure_callback_aborts_a_running_job_once_for_two_calls(emu: Any) -> None:
    """The DAG processor runs the callback twice for one heartbeat-timeout failure."""
    run_id = emu.create_run(ACTOR)
    op = ApifyRunActorOperator(task_id="run", actor_id=ACTOR)
    callback = op.on_failure_callback[-1]  # type: ignore[index]
    context: Any = {"ti": _TI(run_id), "task": op}
    callback(context)
    callback(context)
    assert len(emu.requests(route=ABORT_ROUTE)) == 1
    assert emu.get_run(run_id)["status"] in {"ABORTING", "ABORTED"}


def test_the_failure_callback_sends_nothing_when_the_task_already_dealt_with_its_job(emu: Any) -> None:
    run_id = emu.create_run(ACTOR)
    op = ApifyRunActorOperator(task_id="run", actor_id=ACTOR)
    op._job = tracked(run_id)
    op._job.abort_sent = True
    before = len(emu.requests())
    op.on_failure_callback[-1]({"ti": _TI(run_id), "task": op})  # type: ignore[index]
    assert len(emu.requests()) == before


@pytest.mark.parametrize("deferrable", [False, True])
def test_the_operator_guards_its_job_while_it_waits_and_releases_it_before_deferring(
    emu: Any, monkeypatch: pytest.MonkeyPatch, deferrable: bool
) -> None:
    from _kinds import fake_context

    from airflow_provider_jobs._compat import TaskDeferred

    seen: list[tuple[str, bool]] = []
    guard, release = TrackedJob.guard, TrackedJob.release

    def spy_guard(self: TrackedJob[Any, Any]) -> None:
        guard(self)
        seen.append(("guard", self.guarded))

    def spy_release(self: TrackedJob[Any, Any]) -> None:
        seen.append(("release", self.guarded))
        release(self)

    monkeypatch.setattr(TrackedJob, "guard", spy_guard)
    monkeypatch.setattr(TrackedJob, "release", spy_release)
    op = ApifyRunActorOperator(task_id="t", actor_id=ACTOR, deferrable=deferrable, wait_timeout=0.5,
                               poll_interval=0.05)
    with pytest.raises((TaskDeferred, Exception)):
        op.execute(fake_context())
    assert seen[0] == ("guard", True), seen
    assert ("release", True) in seen, seen  # deferred (the trigger owns it) or aborted at wait_timeout
    assert op._job is not None and not op._job.guarded
    if deferrable:
        assert emu.requests(route=ABORT_ROUTE) == []

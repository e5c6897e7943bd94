"""A task process that dies while it owns a job gets the job aborted within 2 s; a release aborts nothing.

The stand-in task process (``_owner.py``) starts a real watchdog for a job on the emulator, then
dies by SIGKILL, ``os._exit`` or a segfault; the emulator's journal shows the abort and when it came.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import pytest
from _wd import ABORT_ROUTES, KINDS, Owner, aborts, alive, launch, wait_until

from airflow_provider_jobs.lifecycle import APIFY_RUN, TEMPLATE_BUILD, AbortOptions

DEATHS = ("sigkill", "exit", "segv")
ABORT_WITHIN = 2.0


def _armed(emu: Any, owner: Owner) -> None:
    """Let the watchdog read its spec and build its client (a real task waits far longer)."""
    time.sleep(0.5)
    assert alive(owner.watchdog_pid)


@pytest.mark.parametrize("death", DEATHS)
@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name.lower())
def test_a_task_process_that_dies_owning_its_job_gets_it_aborted_within_2_s(
    emu: Any, owners: list[Owner], kind: Any, death: str
) -> None:
    spec, owner = launch(emu, owners, kind)
    _armed(emu, owner)
    died = owner.kill_by(death)
    assert wait_until(lambda: aborts(emu, spec), 10), f"no {ABORT_ROUTES[kind]} after the owner died by {death}"
    entry = aborts(emu, spec)[0]
    assert entry.route == ABORT_ROUTES[kind] and entry.status == 200
    assert entry.monotonic - died < ABORT_WITHIN, f"abort {entry.monotonic - died:.2f} s after the death"
    assert wait_until(lambda: not alive(owner.watchdog_pid), 5), "the watchdog did not exit after its abort"
    assert len(aborts(emu, spec)) == 1


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name.lower())
def test_a_released_job_is_never_aborted_and_the_watchdog_exits(
    emu: Any, owners: list[Owner], kind: Any
) -> None:
    spec, owner = launch(emu, owners, kind)
    _armed(emu, owner)
    owner.send("release")
    assert owner.answer() == "released"
    assert not alive(owner.watchdog_pid), "release() returned before the watchdog was gone"
    owner.kill_by("sigkill")  # the owner dying after its release changes nothing
    time.sleep(1.0)
    assert aborts(emu, spec) == []


def test_a_release_right_after_the_start_ends_the_watchdog_before_it_loads_anything(
    emu: Any, owners: list[Owner]
) -> None:
    spec, owner = launch(emu, owners, APIFY_RUN)
    # no pause: the release may reach the pipe before the watchdog reads its spec
    owner.send("release")
    assert owner.answer() == "released"
    assert not alive(owner.watchdog_pid)
    owner.send("quit")
    owner.proc.wait(timeout=10)
    time.sleep(0.5)
    assert aborts(emu, spec) == []


def test_an_owner_that_dies_before_the_watchdog_read_its_spec_still_gets_the_job_aborted(
    emu: Any, owners: list[Owner]
) -> None:
    spec, owner = launch(emu, owners, APIFY_RUN)
    died = owner.kill_by("sigkill")  # at once: the watchdog may still be starting Python
    assert wait_until(lambda: aborts(emu, spec), 10)
    assert aborts(emu, spec)[0].monotonic - died < ABORT_WITHIN + 1.0  # + the watchdog's own start


@pytest.mark.parametrize("pidfd", [True, False], ids=["pidfd", "getppid-poll"])
def test_a_pipe_leaked_into_a_forked_grandchild_does_not_delay_the_abort(
    emu: Any, owners: list[Owner], pidfd: bool
) -> None:
    spec, owner = launch(emu, owners, APIFY_RUN, pidfd=pidfd)
    _armed(emu, owner)
    owner.send("fork")
    grandchild = int(owner.answer().split()[1])
    try:
        died = owner.kill_by("sigkill")
        assert alive(grandchild), "the grandchild holding the pipe's write end must outlive the owner"
        assert wait_until(lambda: aborts(emu, spec), 10)
        assert aborts(emu, spec)[0].monotonic - died < ABORT_WITHIN
    finally:
        os.kill(grandchild, signal.SIGKILL)


def test_the_graceful_flag_and_the_cancel_reason_reach_the_service(emu: Any, owners: list[Owner]) -> None:
    run, _ = launch(emu, owners, APIFY_RUN, AbortOptions(gracefully=True))
    build, _ = launch(emu, owners, TEMPLATE_BUILD, AbortOptions(reason="task process died"))
    time.sleep(0.5)
    for owner in owners:
        owner.kill_by("sigkill")
    assert wait_until(lambda: aborts(emu, run) and aborts(emu, build), 10)
    assert aborts(emu, run)[0].query.get("gracefully") == "true"
    assert aborts(emu, build)[0].body == {"reason": "task process died"}
    assert emu.get_template_build(build.job_id)["build"].get("cancellation_reason") == "task process died"


def test_an_abort_refused_at_first_is_retried(emu: Any, owners: list[Owner]) -> None:
    emu.add_fault(route=ABORT_ROUTES[APIFY_RUN], status=503, times=2)
    spec, owner = launch(emu, owners, APIFY_RUN)
    _armed(emu, owner)
    owner.kill_by("sigkill")
    assert wait_until(lambda: any(e.status == 200 for e in aborts(emu, spec)), 10)
    assert [e.status for e in aborts(emu, spec)] == [503, 503, 200]

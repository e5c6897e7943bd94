"""Timelines and lazily computed statuses, on a manual clock (no server, no sleeping)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from airflow_provider_jobs.emulator import ManualClock
from airflow_provider_jobs.emulator.emulator import Emulator
from airflow_provider_jobs.emulator.timelines import TemplateTimeline, Timeline, apify_abort, apify_schedule


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def emu(clock: ManualClock) -> Emulator:
    """Half-speed emulator: one emulated second lasts 0.5 s of (manual) time."""
    return Emulator(time_scale=0.5, clock=clock)


def test_run_moves_ready_running_succeeded_on_scaled_time(emu: Emulator, clock: ManualClock) -> None:
    actor = emu.seed_actor("acme~crawler", run=Timeline(ready_secs=2, running_secs=10, status_message="done"))
    run_id = emu.create_run(actor)
    run = emu.get_run(run_id)
    assert run["status"] == "READY" and run["finishedAt"] is None and run["exitCode"] is None
    clock.advance(0.99)
    assert emu.get_run(run_id)["status"] == "READY"
    clock.advance(0.02)
    running = emu.get_run(run_id)
    assert running["status"] == "RUNNING" and running["isContainerServerReady"] is True
    assert running["statusMessage"] == "Actor is running"
    clock.advance(4.98)
    assert emu.get_run(run_id)["status"] == "RUNNING"
    clock.advance(0.02)
    done = emu.get_run(run_id)
    assert done["status"] == "SUCCEEDED"
    assert (
        done["exitCode"] == 0 and done["statusMessage"] == "done" and done["isStatusMessageTerminal"] is True
    )
    assert done["finishedAt"] is not None and done["stats"]["durationMillis"] == 6000
    assert done["usageTotalUsd"] == pytest.approx(Timeline().usage_total_usd)
    clock.advance(100)
    assert emu.get_run(run_id)["finishedAt"] == done["finishedAt"]


def test_failed_outcome_sets_exit_code_and_message(emu: Emulator, clock: ManualClock) -> None:
    actor = emu.seed_actor("fails", run=Timeline(ready_secs=0, running_secs=1, outcome="FAILED", exit_code=3))
    run_id = emu.create_run(actor)
    clock.advance(1)
    run = emu.get_run(run_id)
    assert run["status"] == "FAILED" and run["exitCode"] == 3
    assert run["statusMessage"] == "Actor failed with exit code 3"


def test_run_timeout_shorter_than_duration_times_out(emu: Emulator, clock: ManualClock) -> None:
    actor = emu.seed_actor("long", run=Timeline(ready_secs=0, running_secs=100, timing_out_secs=4))
    run_id = emu.create_run(actor, timeout_secs=10)
    assert emu.get_run(run_id)["options"]["timeoutSecs"] == 10
    clock.advance(4.9)
    assert emu.get_run(run_id)["status"] == "RUNNING"
    clock.advance(0.2)
    assert emu.get_run(run_id)["status"] == "TIMING-OUT"
    clock.advance(2)
    timed_out = emu.get_run(run_id)
    assert timed_out["status"] == "TIMED-OUT" and timed_out["finishedAt"] is not None


def test_scripted_timed_out_outcome_passes_through_timing_out() -> None:
    phases = apify_schedule(
        Timeline(ready_secs=1, running_secs=2, outcome="TIMED-OUT", timing_out_secs=1), 0, 1, None
    )
    assert [(p.at, p.status) for p in phases] == [
        (0, "READY"),
        (1, "RUNNING"),
        (3, "TIMING-OUT"),
        (4, "TIMED-OUT"),
    ]


def test_graceful_abort_is_aborting_for_the_grace_then_aborted(emu: Emulator, clock: ManualClock) -> None:
    actor = emu.seed_actor("grace", run=Timeline(ready_secs=0, running_secs=1000, abort_grace_secs=30))
    run_id = emu.create_run(actor, status="RUNNING")
    aborting = emu.abort_run(run_id, gracefully=True)
    assert aborting["status"] == "ABORTING" and aborting["finishedAt"] is None
    clock.advance(14.9)
    assert emu.get_run(run_id)["status"] == "ABORTING"
    clock.advance(0.2)
    aborted = emu.get_run(run_id)
    assert aborted["status"] == "ABORTED" and aborted["statusMessage"] == "Actor was aborted"


def test_graceful_abort_ends_early_when_the_run_would_have_ended(emu: Emulator, clock: ManualClock) -> None:
    actor = emu.seed_actor("short", run=Timeline(ready_secs=0, running_secs=4, abort_grace_secs=30))
    run_id = emu.create_run(actor)
    clock.advance(1)
    assert emu.abort_run(run_id, gracefully=True)["status"] == "ABORTING"
    clock.advance(1.01)
    assert emu.get_run(run_id)["status"] == "ABORTED"


def test_abort_variants(emu: Emulator, clock: ManualClock) -> None:
    actor = emu.seed_actor("abortable", run=Timeline(ready_secs=10, running_secs=1000))
    ready = emu.create_run(actor)
    assert emu.abort_run(ready, gracefully=True)["status"] == "ABORTED"  # nothing to persist yet
    running = emu.create_run(actor, status="RUNNING")
    assert emu.abort_run(running, gracefully=True)["status"] == "ABORTING"
    assert emu.abort_run(running, gracefully=True)["status"] == "ABORTING"  # unchanged
    forced = emu.abort_run(running)
    assert forced["status"] == "ABORTED"  # a hard abort force-stops an ABORTING run
    clock.advance(5)
    assert emu.abort_run(running)["finishedAt"] == forced["finishedAt"]


def test_abort_of_terminal_run_changes_nothing(emu: Emulator, clock: ManualClock) -> None:
    actor = emu.seed_actor("finished")
    run_id = emu.create_run(actor, status="SUCCEEDED")
    before = emu.get_run(run_id)
    clock.advance(1)
    after = emu.abort_run(run_id, gracefully=True)
    assert after["status"] == "SUCCEEDED" and after["finishedAt"] == before["finishedAt"]
    assert emu.abort_run(run_id)["status"] == "SUCCEEDED"


@pytest.mark.parametrize(
    "status", ["READY", "RUNNING", "TIMING-OUT", "SUCCEEDED", "FAILED", "TIMED-OUT", "ABORTING", "ABORTED"]
)
def test_runs_and_builds_can_be_created_in_any_status(emu: Emulator, status: str) -> None:
    actor = emu.seed_actor("any")
    assert emu.get_run(emu.create_run(actor, status=status))["status"] == status
    if status != "ABORTING":  # builds have no graceful abort
        assert emu.get_build(emu.create_build(actor, status=status))["status"] == status


def test_partial_runs_are_charged_in_proportion(emu: Emulator, clock: ManualClock) -> None:
    actor = emu.seed_actor("metered", run=Timeline(ready_secs=0, running_secs=10, usage_total_usd=1.0))
    run_id = emu.create_run(actor)
    clock.advance(2.5)
    assert emu.abort_run(run_id)["usageTotalUsd"] == pytest.approx(0.5)


def test_abort_schedule_is_pure() -> None:
    phases = apify_schedule(Timeline(ready_secs=0, running_secs=10), 0, 1, None)
    assert apify_abort(phases, 20, gracefully=False, grace_secs=30, scale=1) == phases
    hard = apify_abort(phases, 5, gracefully=False, grace_secs=30, scale=1)
    assert [p.status for p in hard] == ["READY", "RUNNING", "ABORTED"] and hard[-1].at == 5


def test_builds_number_per_version_and_tag_latest(emu: Emulator, clock: ManualClock) -> None:
    actor = emu.seed_actor("built", build=Timeline(ready_secs=0, running_secs=2))
    builds = emu.builds_of(actor)
    assert [b["buildNumber"] for b in builds] == ["0.0.1"] and builds[0]["status"] == "SUCCEEDED"
    second = emu.get_build(emu.create_build(actor, version="0.0"))
    third = emu.get_build(emu.create_build(actor, version="1.2"))
    assert (second["buildNumber"], third["buildNumber"]) == ("0.0.2", "1.2.1")
    assert emu.get_run(emu.create_run(actor))["buildNumber"] == "0.0.1"
    clock.advance(1.1)
    assert emu.get_run(emu.create_run(actor))["buildNumber"] == "1.2.1"  # latest succeeded build


def test_time_scale_applies_to_jobs_created_afterwards(emu: Emulator, clock: ManualClock) -> None:
    actor = emu.seed_actor("scaled", run=Timeline(ready_secs=0, running_secs=10))
    slow = emu.create_run(actor)
    emu.set_time_scale(0.01)
    fast = emu.create_run(actor)
    clock.advance(0.2)
    assert emu.get_run(fast)["status"] == "SUCCEEDED" and emu.get_run(slow)["status"] == "RUNNING"
    with pytest.raises(ValueError):
        emu.set_time_scale(0)


def test_reset_restores_the_initial_state(emu: Emulator) -> None:
    emu.seed_actor("temp")
    emu.add_apify_token("other-token")
    emu.set_time_scale(3)
    emu.reset()
    assert emu.actors() == [] and emu.time_scale == 0.5
    assert emu.state()["apify_tokens"] == ["emulator-apify-token"]


def test_timeline_validation() -> None:
    with pytest.raises(ValidationError):
        Timeline(running_secs=-1)
    with pytest.raises(ValidationError):
        Timeline(outcome="ABORTED")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        TemplateTimeline(outcome="cancelled")  # type: ignore[arg-type]


def test_template_build_entries_grow_with_monotonic_offsets(emu: Emulator, clock: ManualClock) -> None:
    emu.seed_template("etl", TemplateTimeline(waiting_secs=2, building_secs=10))
    build_id = emu.create_template_build("etl")
    first = emu.get_template_build(build_id)
    assert first["build"]["status"] == "waiting" and first["entries"] == [] and first["next_offset"] == 0
    seen: list[int] = []
    for _ in range(30):
        clock.advance(0.25)
        snapshot = emu.get_template_build(build_id, offset=len(seen))
        seen += [entry["offset"] for entry in snapshot["entries"]]
        assert snapshot["next_offset"] == len(seen)
    assert seen == list(range(len(seen))) and len(seen) == 8
    final = emu.get_template_build(build_id)
    assert final["build"]["status"] == "ready"
    kinds = [entry["kind"] for entry in final["entries"]]
    assert kinds[0] == "start" and "cache" in kinds and kinds[-1] == "end"
    assert final["entries"][-1]["result"]["id"] == final["build"]["template_id"]
    assert final["build"]["duration_ms"] == 5000 and final["build"]["promotability"]["promotable"] is True


def test_template_error_outcome(emu: Emulator, clock: ManualClock) -> None:
    emu.seed_template(
        "broken", TemplateTimeline(waiting_secs=0, building_secs=2, outcome="error", error_step=2)
    )
    build_id = emu.create_template_build("broken")
    clock.advance(1)
    snapshot = emu.get_template_build(build_id)
    build, last = snapshot["build"], snapshot["entries"][-1]
    assert build["status"] == "error" and build["error_detail"]["code"] == "build_error"
    assert build["error_detail"]["step_index"] == 2 and build["error"] == build["error_detail"]["message"]
    assert (
        last["kind"] == "error" and last["level"] == "error" and last["error_detail"]["phase"] == "build_step"
    )


def test_template_cancel_is_pending_then_cancelled(emu: Emulator, clock: ManualClock) -> None:
    emu.seed_template("slow", TemplateTimeline(waiting_secs=0, building_secs=100, cancel_delay_secs=4))
    build_id = emu.create_template_build("slow")
    clock.advance(1)
    pending = emu.cancel_template_build(build_id, reason="task timed out")
    assert pending["build"]["status"] == "building"
    assert (
        pending["build"]["cancellation_reason"] == "task timed out"
        and pending["build"]["cancel_requested_at"]
    )
    assert pending["build"]["cancel_requested_by"] == "emulator-ci"
    clock.advance(1.9)
    assert emu.get_template_build(build_id)["build"]["status"] == "building"
    clock.advance(0.2)
    done = emu.get_template_build(build_id)
    last = done["entries"][-1]
    assert done["build"]["status"] == "cancelled"
    assert (last["kind"], last["level"]) == ("cancelled", "warn")
    assert last["message"] == "template build cancelled: task timed out"
    assert [e["offset"] for e in done["entries"]] == list(range(len(done["entries"])))
    clock.advance(200)
    assert emu.get_template_build(build_id)["entries"] == done["entries"]


def test_template_cancel_with_zero_delay_and_on_terminal_builds(emu: Emulator, clock: ManualClock) -> None:
    emu.seed_template("instant", TemplateTimeline(waiting_secs=5, building_secs=5, cancel_delay_secs=0))
    waiting = emu.create_template_build("instant")
    snapshot = emu.cancel_template_build(waiting)
    assert snapshot["build"]["status"] == "cancelled" and "started_at" not in snapshot["build"]
    assert snapshot["entries"][-1]["message"] == "template build cancelled"
    ready = emu.create_template_build("instant", status="ready")
    before = emu.get_template_build(ready)
    clock.advance(1)
    after = emu.cancel_template_build(ready, reason="too late")
    assert after == before and "cancel_requested_at" not in after["build"]


def test_template_pending_cancel_can_still_end_by_itself(emu: Emulator, clock: ManualClock) -> None:
    emu.seed_template("nearly", TemplateTimeline(waiting_secs=0, building_secs=2, cancel_delay_secs=10))
    build_id = emu.create_template_build("nearly")
    clock.advance(0.5)
    emu.cancel_template_build(build_id, reason="late")
    clock.advance(1)
    build = emu.get_template_build(build_id)["build"]
    assert build["status"] == "ready" and build["cancellation_reason"] == "late"


@pytest.mark.parametrize("status", ["waiting", "building", "ready", "error", "cancelled"])
def test_template_builds_can_be_created_in_any_status(emu: Emulator, status: str) -> None:
    build_id = emu.create_template_build("seeded", status=status, reason="seeded")
    assert emu.get_template_build(build_id)["build"]["status"] == status
    assert build_id.startswith("tb_") and emu.template_builds("seeded")[0]["template_id"].startswith("tmpl_")

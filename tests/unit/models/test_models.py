"""Status enums and terminal sets, tolerant parsing, summaries."""

from __future__ import annotations

import json
import logging

import pytest

from airflow_provider_jobs.models import (
    APIFY_STATUSES,
    APIFY_SUCCESS,
    APIFY_TERMINAL,
    TEMPLATE_BUILD_STATUSES,
    ApifyBuild,
    ApifyJobStatus,
    ApifyRun,
    LogKind,
    StatusSets,
    TemplateBuild,
    TemplateBuildLogEntry,
    TemplateBuildSnapshot,
    TemplateBuildStatus,
)


def test_apify_sets_match_the_api_facts() -> None:
    assert {str(s) for s in APIFY_TERMINAL} == {"SUCCEEDED", "FAILED", "TIMED-OUT", "ABORTED"}
    assert APIFY_SUCCESS == {"SUCCEEDED"}
    for live in ("READY", "RUNNING", "TIMING-OUT", "ABORTING"):
        assert not APIFY_STATUSES.is_terminal(live)
    assert ApifyJobStatus.TIMED_OUT == "TIMED-OUT" and str(ApifyJobStatus.TIMED_OUT) == "TIMED-OUT"


def test_template_sets() -> None:
    assert {str(s) for s in TEMPLATE_BUILD_STATUSES.terminal} == {"ready", "error", "cancelled"}
    assert TEMPLATE_BUILD_STATUSES.is_success("ready") and not TEMPLATE_BUILD_STATUSES.is_success("cancelled")
    assert not TEMPLATE_BUILD_STATUSES.is_terminal("waiting")
    # Apify READY (not started) and Nullspace ready (finished) must never be confused.
    assert not APIFY_STATUSES.is_terminal("READY") and TEMPLATE_BUILD_STATUSES.is_terminal("ready")


def test_status_members_know_whether_they_are_terminal() -> None:
    for enum_cls, sets in ((ApifyJobStatus, APIFY_STATUSES), (TemplateBuildStatus, TEMPLATE_BUILD_STATUSES)):
        for member in enum_cls:
            assert member.is_terminal is sets.is_terminal(member), member
            assert member.is_success is sets.is_success(member), member
    assert ApifyJobStatus.ABORTED.is_terminal and not ApifyJobStatus.ABORTING.is_terminal
    assert TemplateBuildStatus.READY.is_success and not ApifyJobStatus.READY.is_terminal


def test_success_must_be_terminal() -> None:
    with pytest.raises(ValueError):
        StatusSets.of(terminal={"a"}, success={"b"})


def test_unknown_status_parses_is_not_terminal_and_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    runs = [ApifyRun.model_validate({"id": "r", "status": "HIBERNATING"}) for _ in range(3)]
    assert runs[0].status == "HIBERNATING" and not runs[0].is_terminal
    assert sum("HIBERNATING" in r.getMessage() for r in caplog.records) == 1
    with pytest.raises(ValueError):
        ApifyRun.model_validate({"id": "r", "status": 3})


def test_camel_and_snake_both_accepted_extras_kept() -> None:
    run = ApifyRun.model_validate({"id": "r", "status": "RUNNING", "default_dataset_id": "d1", "newThing": 1})
    assert run.default_dataset_id == "d1" and run.model_extra == {"newThing": 1}
    dumped = run.model_dump(by_alias=True, exclude_none=True)
    assert dumped["defaultDatasetId"] == "d1"


def test_build_console_url_uses_build_number() -> None:
    build = ApifyBuild.model_validate({"id": "b", "actId": "A1", "status": "SUCCEEDED", "buildNumber": "0.1.3"})
    assert build.console_url() == "https://console.apify.com/actors/A1/builds/0.1.3"
    assert build.summary()["console_url"].endswith("/builds/0.1.3")
    json.dumps(build.summary())


def test_template_build_minimal_and_cancel_pending() -> None:
    build = TemplateBuild.model_validate({"build_id": "tb_1", "status": "building",
                                          "cancel_requested_at": "2026-01-01T00:00:00Z", "mystery": [1]})
    assert build.cancel_pending and not build.is_terminal and build.model_extra == {"mystery": [1]}
    done = TemplateBuild.model_validate({"build_id": "tb_1", "status": "cancelled",
                                         "cancel_requested_at": "2026-01-01T00:00:00Z"})
    assert not done.cancel_pending and done.status == TemplateBuildStatus.CANCELLED


def test_log_entry_terminal_kinds_and_line() -> None:
    e = TemplateBuildLogEntry.model_validate({"offset": 4, "kind": "end", "level": "info", "message": "done",
                                              "phase": "finalize"})
    assert e.is_terminal and e.kind == LogKind.END and e.format_line() == "#4 INFO [finalize] done"
    assert not TemplateBuildLogEntry.model_validate({"offset": 1, "kind": "warning"}).is_terminal
    assert TemplateBuildLogEntry.model_validate({"offset": 1, "kind": "brand-new"}).kind == "brand-new"


def test_snapshot_defaults() -> None:
    snap = TemplateBuildSnapshot.model_validate({"build": {"build_id": "tb_1", "status": "waiting"}})
    assert snap.entries == [] and snap.next_offset == 0 and snap.status == "waiting"

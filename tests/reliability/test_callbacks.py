"""Failure callbacks never raise: every notifier, on every way an abort can be impossible, logs one
clear line (kind, id, connection, cause) and returns within its deadline."""

from __future__ import annotations

import json
import logging
import socket
import time
from typing import Any
from unittest.mock import MagicMock

import pytest
from _kinds import fake_context
from _rel import FOREVER, conn_value

from airflow_provider_jobs.emulator.timelines import Timeline
from airflow_provider_jobs.notifications.apify import ApifyAbortBuildNotifier, ApifyAbortRunNotifier
from airflow_provider_jobs.notifications.template_builds import TemplateBuildCancelNotifier

KINDS = {
    "apify_run": (ApifyAbortRunNotifier, "run_id", "apify_conn_id", "Apify run", "abort", "NoSuchRun12345"),
    "apify_build": (ApifyAbortBuildNotifier, "build_id", "apify_conn_id", "Apify build", "abort", "NoSuchBuild1234"),
    "template_build": (TemplateBuildCancelNotifier, "build_id", "template_builds_conn_id", "template build", "cancel",
                       "tb_nosuchbuild"),
}
DEADLINE = 1.0
"""The notifiers' ``deadline`` here (their default is 30 s): the slow cases must end within it."""


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _conn_type(kind: str) -> str:
    return "template_builds" if kind == "template_build" else "apify"


SCENARIOS = {
    # name: (job id, connection JSON factory or None for the default, expected text in the log line)
    "missing id": (None, None, "none in XCom key"),
    "bad id": ("a/../b", None, "it contains '/'"),
    "404": ("{missing}", None, "HTTP 404"),
    "401": ("{missing}", lambda emu, kind: conn_value(_conn_type(kind), emu.base_url, "rel-not-a-valid-token"),
            "HTTP 401"),
    "503 until the deadline": ("{missing}", "503", "HTTP 503"),
    "dead server": ("{missing}", lambda emu, kind: conn_value(_conn_type(kind), f"http://127.0.0.1:{_closed_port()}",
                                                              "rel-token-123"), "ConnectError"),
    "no token": ("{missing}", lambda emu, kind: json.dumps({"conn_type": _conn_type(kind), "host": emu.base_url}),
                 "has no API token"),
    "bad extra": ("{missing}", lambda emu, kind: conn_value(_conn_type(kind), emu.base_url, "rel-token-123",
                                                            read_timeout="soon"), "extra 'read_timeout'"),
    "plain http elsewhere": ("{missing}", lambda emu, kind: conn_value(_conn_type(kind), "http://api.example.com",
                                                                       "rel-token-123"), "refusing plain http://"),
    "undefined connection": ("{missing}", "undefined", "is not defined"),
    "broken context": (None, "broken", "notifier failed: RuntimeError"),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
@pytest.mark.parametrize("kind", list(KINDS))
def test_a_notifier_logs_one_clear_line_and_returns(jobs_emulator: Any, monkeypatch: pytest.MonkeyPatch,
                                                    caplog: pytest.LogCaptureFixture, kind: str, scenario: str,
                                                    record_property: Any) -> None:
    cls, id_arg, conn_arg, label, verb, missing = KINDS[kind]
    job_id, conn, expected = SCENARIOS[scenario]
    kwargs: dict[str, Any] = {"deadline": DEADLINE}
    if job_id is not None:
        kwargs[id_arg] = job_id.format(missing=missing)
    if conn == "503":
        route = {"apify_run": "/v2/actor-runs/{runId}/abort", "apify_build": "/v2/actor-builds/{buildId}/abort",
                 "template_build": "/v1/templates/builds/{build_id}/cancel"}[kind]
        jobs_emulator.add_fault(method="POST", route=route, status=503, times=None)
    elif conn == "undefined":
        kwargs[conn_arg] = "nowhere_conn"
    elif callable(conn):
        monkeypatch.setenv("AIRFLOW_CONN_REL_CALLBACK", conn(jobs_emulator, kind))
        kwargs[conn_arg] = "rel_callback"
    context = fake_context()
    if conn == "broken":
        context["ti"].xcom_pull.side_effect = RuntimeError("the metadata DB went away")
    caplog.set_level(logging.INFO)
    notifier = cls(**kwargs)
    started = time.monotonic()
    assert notifier.notify(context) is None  # returns, never raises
    took = time.monotonic() - started
    record_property("seconds", round(took, 3))
    lines = [r for r in caplog.records if r.name.startswith("airflow_provider_jobs") and r.levelno >= logging.WARNING]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    line = lines[0].getMessage()
    assert expected in line and label in line, line
    if job_id is not None and conn != "broken":
        assert f"Could not {verb} {label} {kwargs[id_arg]} on connection '{kwargs.get(conn_arg, notifier.conn_id)}'" \
            in line, line
    assert took < DEADLINE + 1.0, f"the callback took {took:.1f} s (deadline {DEADLINE} s)"


def test_a_notifier_in_a_list_of_callbacks_does_not_stop_the_next_one(jobs_emulator: Any,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    """Airflow runs ``on_failure_callback`` lists in order: a notifier that cannot abort must not raise."""
    jobs_emulator.seed_actor("rel~callback", run=Timeline(ready_secs=0, running_secs=FOREVER))
    run_id = jobs_emulator.create_run("rel~callback", status="RUNNING")
    after = MagicMock()
    context = fake_context()
    for notifier in (ApifyAbortRunNotifier(run_id="NoSuchRun12345", deadline=DEADLINE),
                     ApifyAbortRunNotifier(task_id="no_such_task", deadline=DEADLINE),
                     ApifyAbortRunNotifier(run_id=run_id, deadline=DEADLINE)):
        notifier.notify(context)
    after(context)
    after.assert_called_once_with(context)
    assert "Could not abort Apify run NoSuchRun12345" in caplog.text and "nothing to abort" in caplog.text
    assert jobs_emulator.get_run(run_id)["status"] == "ABORTED"

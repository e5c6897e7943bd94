"""The watchdog's pieces without a death: the spec on the pipe, the prepared request, the parent API."""

from __future__ import annotations

import json
import logging
import os
from typing import Any

import pytest
from _wd import spec_json, start_job

from airflow_provider_jobs._watchdog.parent import JobWatchdog
from airflow_provider_jobs._watchdog.protocol import (
    HEADER_BYTES,
    MAX_SPEC_BYTES,
    decode_spec,
    encode_spec,
    frame_length,
)
from airflow_provider_jobs.exceptions import InvalidIdError
from airflow_provider_jobs.hooks.apify import ApifyHook
from airflow_provider_jobs.hooks.template_builds import TemplateBuildHook
from airflow_provider_jobs.lifecycle import APIFY_BUILD, APIFY_RUN, TEMPLATE_BUILD, AbortOptions
from airflow_provider_jobs.lifecycle.guard import abort_request, watchdog_spec


def test_the_spec_survives_the_pipe_and_never_shows_its_token(emu: Any) -> None:
    spec = start_job(emu, TEMPLATE_BUILD, AbortOptions(reason="r"))
    frame = encode_spec(spec)
    assert frame_length(frame[:HEADER_BYTES]) == len(frame) - HEADER_BYTES
    assert decode_spec(frame[HEADER_BYTES:]) == spec
    assert spec.settings.token == emu.templates_token
    assert emu.templates_token not in repr(spec) and emu.templates_token not in str(spec)


def test_a_frame_of_another_protocol_or_size_is_refused(emu: Any) -> None:
    data = spec_json(start_job(emu, APIFY_RUN))
    data["v"] = 99
    with pytest.raises(ValueError, match="protocol version"):
        decode_spec(json.dumps(data).encode())
    for length in (0, MAX_SPEC_BYTES + 1):
        with pytest.raises(ValueError, match="refused"):
            frame_length(length.to_bytes(4, "big"))


@pytest.mark.parametrize(
    ("kind", "options", "path", "params", "body"),
    [
        (APIFY_RUN, AbortOptions(), "/v2/actor-runs/r1/abort", None, None),
        (APIFY_RUN, AbortOptions(gracefully=True), "/v2/actor-runs/r1/abort", {"gracefully": "true"}, None),
        (APIFY_BUILD, AbortOptions(gracefully=True), "/v2/actor-builds/r1/abort", None, None),
        (TEMPLATE_BUILD, AbortOptions(), "/v1/templates/builds/r1/cancel", None, {}),
        (TEMPLATE_BUILD, AbortOptions(reason="gone"), "/v1/templates/builds/r1/cancel", None,
         {"reason": "gone"}),
    ],
)
def test_the_request_is_the_one_the_hook_would_send(
    kind: Any, options: AbortOptions, path: str, params: Any, body: Any
) -> None:
    hook = TemplateBuildHook() if kind is TEMPLATE_BUILD else ApifyHook()
    request = abort_request(hook, kind, "r1", options)
    assert (request.method, request.path, request.params, request.body) == ("POST", path, params, body)
    assert "r1" in request.action


def test_an_id_the_hook_refuses_is_refused_before_any_watchdog(mock_connections: None) -> None:
    with pytest.raises(InvalidIdError):
        watchdog_spec(ApifyHook(), APIFY_RUN, "../../users/me")


def test_only_the_owner_process_can_start_a_watchdog(emu: Any) -> None:
    spec = start_job(emu, APIFY_RUN)
    with pytest.raises(ValueError, match="owner"):
        JobWatchdog.start(type(spec)(**{**spec.__dict__, "owner_pid": os.getpid() + 1}))


def test_a_watchdog_that_cannot_start_is_inactive_and_says_so(
    emu: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(JobWatchdog, "command", ("/nonexistent/python",))
    spec = start_job(emu, APIFY_RUN)
    with caplog.at_level(logging.WARNING):
        watchdog = JobWatchdog.start(spec)
    assert not watchdog.active and watchdog.pid is None
    assert "nothing aborts it" in caplog.text and spec.job_id in caplog.text
    watchdog.release()  # a no-op


def test_release_is_idempotent_and_a_forked_copy_cannot_release(emu: Any) -> None:
    watchdog = JobWatchdog.start(start_job(emu, APIFY_RUN))
    owner_pid = watchdog._owner_pid
    watchdog._owner_pid = owner_pid + 1  # as a forked copy of the task process sees it
    watchdog.release()
    assert watchdog.active
    watchdog._owner_pid = owner_pid
    watchdog.release()
    watchdog.release()
    assert not watchdog.active and watchdog not in JobWatchdog._live
    assert watchdog._proc is not None and watchdog._proc.returncode == 0


def test_a_watchdog_that_ignores_its_release_is_killed_not_left_behind(
    emu: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(JobWatchdog, "command", ("sleep", "30"))
    watchdog = JobWatchdog.start(start_job(emu, APIFY_RUN))
    watchdog.release(reap_timeout=0.2)
    assert watchdog._proc is not None and watchdog._proc.returncode == -9  # killed and reaped
    assert not watchdog.active

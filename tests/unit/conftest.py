"""Fixtures of the unit tests of operators, sensors, triggers, notifiers and the lifecycle (MockTransport)."""

from __future__ import annotations

from typing import Any

import pytest
from _kinds import KINDS, KindCase
from _support import Recorder

from airflow_provider_jobs.lifecycle import JobKind


@pytest.fixture(params=list(KINDS))
def job_kind(request: pytest.FixtureRequest, mock_connections: None) -> KindCase:
    """Each of the three job kinds in turn."""
    return KINDS[request.param]


@pytest.fixture
def api(recorder: Recorder, monkeypatch: pytest.MonkeyPatch) -> Recorder:
    """Route every hook the lifecycle creates (operators, quick aborts, triggers) to the recorder."""
    original = JobKind.hook

    def hook(self: JobKind, conn_id: str, **kwargs: Any) -> Any:
        kwargs.setdefault("transport", recorder.transport())
        kwargs.setdefault("async_transport", recorder.async_transport())
        return original(self, conn_id, **kwargs)

    monkeypatch.setattr(JobKind, "hook", hook)
    return recorder

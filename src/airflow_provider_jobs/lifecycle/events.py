"""Trigger events: the JSON-safe dict a trigger yields and the task checks before trusting it.

An event says how the deferred wait ended (``outcome``): ``terminal`` (with the job's status,
summary and failure text), ``timeout`` (the trigger's deadline passed; ``aborted`` says whether
its abort went through) or ``error`` (the wait itself failed, e.g. a 404).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from airflow_provider_jobs.hooks._base import JobsHook
from airflow_provider_jobs.lifecycle.kind import JobKind

H = TypeVar("H", bound=JobsHook)
J = TypeVar("J")

EVENT_TERMINAL = "terminal"
EVENT_TIMEOUT = "timeout"
EVENT_ERROR = "error"
_EVENT_OUTCOMES = frozenset({EVENT_TERMINAL, EVENT_TIMEOUT, EVENT_ERROR})


def make_event(
    kind: JobKind[H, J], outcome: str, job_id: str, *, hook: H | None = None, job: J | None = None,
    message: str | None = None, aborted: bool | None = None, log_tail: Sequence[str] = (),
) -> dict[str, Any]:
    """Build a JSON-safe trigger event payload.

    ``aborted`` (timeout events): ``True`` if the trigger's abort was accepted, ``False`` if it
    failed (the task then tries again), ``None`` if no abort was asked for. ``log_tail``: the last
    lines of the log of a job that ended badly, for the failure text.
    """
    event: dict[str, Any] = {"outcome": outcome, "kind": kind.name, "job_id": job_id, "message": message,
                             "aborted": aborted}
    if job is not None and hook is not None:
        event.update(status=str(kind.status(job)), summary=kind.summary(hook, job),
                     failure=str(kind.failure(hook, job, log_tail)))
    return event


def read_event(kind: JobKind[Any, Any], event: Any) -> dict[str, Any]:
    """Check the shape of an event before trusting it; raise ``ValueError`` on a malformed one."""
    if not isinstance(event, dict):
        raise ValueError(f"{kind.name} trigger event must be a dict, got {type(event).__name__}")
    if event.get("outcome") not in _EVENT_OUTCOMES or event.get("kind") != kind.name:
        raise ValueError(f"unexpected {kind.name} trigger event: {event!r:.300}")
    if not isinstance(event.get("job_id"), str):
        raise ValueError(f"{kind.name} trigger event has no job id: {event!r:.300}")
    if event["outcome"] == EVENT_TERMINAL and not isinstance(event.get("summary"), dict):
        raise ValueError(f"{kind.name} terminal event has no summary: {event!r:.300}")
    return event

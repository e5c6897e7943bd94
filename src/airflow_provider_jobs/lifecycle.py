"""One job lifecycle for Apify runs, Apify builds and template builds.

Start -> wait until terminal -> succeed, or fail on a bad terminal status -> abort/cancel on
every path by which a task can die. Everything that differs between the three job kinds is
data in a :class:`JobAdapter` (see ``_adapters.py``); operators, sensors, triggers and notifiers
only ever talk to an adapter.

* :func:`decide` judges a status; the blocking wait, ``poke``, the trigger and
  ``execute_complete`` all call it.
* :func:`abort_quietly` / :func:`aabort_quietly` deliver a best-effort abort within a deadline
  on a fresh client, log the outcome and never raise: they are called from ``on_kill``,
  timeouts, ``trigger.on_kill`` and the failure notifiers.
* Trigger events are plain dicts built by :func:`make_event` and checked by :func:`read_event`.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from airflow_provider_jobs._retry import RetryPolicy
from airflow_provider_jobs.exceptions import JobsError
from airflow_provider_jobs.hooks._base import JobsHook
from airflow_provider_jobs.models._base import StatusSets

log = logging.getLogger(__name__)

H = TypeVar("H", bound=JobsHook)
J = TypeVar("J")
J_co = TypeVar("J_co", covariant=True)

KILL_ABORT_DEADLINE = 4.0
"""Seconds ``on_kill`` may spend aborting: Airflow sends SIGKILL 5 s after SIGTERM."""
CALLBACK_ABORT_DEADLINE = 30.0
"""Seconds a notifier or trigger ``on_kill`` may spend aborting."""

EVENT_TERMINAL = "terminal"
EVENT_TIMEOUT = "timeout"
EVENT_ERROR = "error"
_EVENT_OUTCOMES = frozenset({EVENT_TERMINAL, EVENT_TIMEOUT, EVENT_ERROR})


class Outcome(enum.Enum):
    """What a status means for the task."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


def decide(statuses: StatusSets, status: Any) -> Outcome:
    """Judge a job status: still running, succeeded, or ended badly."""
    if not statuses.is_terminal(status):
        return Outcome.RUNNING
    return Outcome.SUCCEEDED if statuses.is_success(status) else Outcome.FAILED


@dataclass(frozen=True)
class AbortOptions:
    """How to abort or cancel.

    :param gracefully: Apify runs: graceful abort (ABORTING, force-stopped ~30 s later)
    :param reason: template builds: the cancel reason recorded on the build
    """

    gracefully: bool = False
    reason: str | None = None


class Watcher(Protocol[J_co]):
    """Fetches one job repeatedly during a wait (and may log what is new since the last fetch)."""

    def fetch(self, budget: float | None) -> J_co:
        """Get the job; ``budget`` is the seconds left, usable for a long poll."""

    async def afetch(self, budget: float | None) -> J_co:
        """Async twin of :meth:`fetch`."""


def _never_stopping(job: Any) -> bool:
    """Default of :attr:`JobAdapter.stopping`: the service has no "being aborted" state."""
    return False


@dataclass(frozen=True)
class JobAdapter(Generic[H, J]):
    """Everything the lifecycle needs to know about one job kind.

    :param kind: human name, ``"Apify run"``
    :param xcom_key: XCom key of the job id (``run_id`` / ``build_id``)
    :param verb: ``"abort"`` or ``"cancel"`` (the service's own word)
    :param hook_class: the hook talking to the service
    :param statuses: terminal and success statuses
    :param watcher: build a :class:`Watcher` for ``(hook, job_id, log_line)``
    :param abort: abort/cancel the job, returning it
    :param aabort: async twin of ``abort``
    :param job_id: read the id of a job
    :param status: read the status of a job
    :param detail: read the status message / error text of a job
    :param summary: the small JSON dict operators return
    :param console_url: where a human can look at the job, if anywhere
    :param wait_spec: describe a wait (kind, id, statuses, poll interval...)
    :param stopping: whether a job that has not ended is already being aborted/cancelled
        (Apify ``ABORTING``, a template build with a cancel requested)
    :param long_polls: the service holds a status request open until the job ends (Apify
        ``waitForFinish``), so a wait needs no poll interval of its own
    """

    kind: str
    xcom_key: str
    verb: str
    hook_class: type[H]
    statuses: StatusSets
    watcher: Callable[[H, str, Callable[[str], None] | None], Watcher[J]]
    abort: Callable[[H, str, AbortOptions], J]
    aabort: Callable[[H, str, AbortOptions], Awaitable[J]]
    job_id: Callable[[J], str]
    status: Callable[[J], Any]
    detail: Callable[[J], str | None]
    summary: Callable[[H, J], dict[str, Any]]
    console_url: Callable[[H, J], str | None]
    wait_spec: Callable[..., Any]
    stopping: Callable[[J], bool] = field(default=_never_stopping)
    long_polls: bool = False

    @property
    def conn_attr(self) -> str:
        """The hook's connection-id argument name (``apify_conn_id``...)."""
        return self.hook_class.conn_name_attr

    def hook(self, conn_id: str, **kwargs: Any) -> H:
        """Return a hook for ``conn_id``."""
        return self.hook_class(conn_id, **kwargs)

    def outcome(self, job: J) -> Outcome:
        """Judge a fetched job."""
        return decide(self.statuses, self.status(job))

    def failure_message(self, hook: H, job: J) -> str:
        """Explain a bad terminal status: kind, id, status, status message, console URL."""
        text = f"{self.kind} {self.job_id(job)} finished with status {self.status(job)}"
        if detail := self.detail(job):
            text += f": {detail}"
        if url := self.console_url(hook, job):
            text += f" (see {url})"
        return text + "."


def quick_hook(adapter: JobAdapter[H, J], conn_id: str, deadline: float, base: H | None = None) -> H:
    """A fresh hook whose retries and timeouts fit in ``deadline`` seconds.

    When ``base`` has already loaded its connection, the settings are reused so that the abort
    needs no connection lookup (``on_kill`` runs inside a signal handler).

    Each attempt may take a quarter of the deadline (0.5-3 s) and retries may start until one
    such attempt is left: with the 4 s kill deadline, two 429s asking for ``Retry-After: 1``
    still leave room for the third attempt that gets through.
    """
    per_request = max(0.5, min(3.0, deadline / 4))
    policy = RetryPolicy(max_retries=5, base_delay=0.2, max_delay=1.0, max_elapsed=max(0.0, deadline - per_request),
                         max_retry_after=deadline)
    hook = adapter.hook(conn_id, retry_policy=policy, request_timeout=per_request)
    if base is not None and base._settings is not None:
        hook._settings = base._settings
        hook._transport, hook._async_transport = base._transport, base._async_transport
    return hook


def abort_quietly(
    adapter: JobAdapter[H, J],
    conn_id: str,
    job_id: str,
    options: AbortOptions = AbortOptions(),
    *,
    deadline: float = KILL_ABORT_DEADLINE,
    base: H | None = None,
    logger: logging.Logger | logging.LoggerAdapter[Any] | Any = log,
) -> J | None:
    """Abort/cancel a job best-effort within ``deadline`` seconds; log, never raise, never wait.

    :return: the job as the abort answered it, or ``None`` if the abort failed
    """
    try:
        hook = quick_hook(adapter, conn_id, deadline, base)
        job = adapter.abort(hook, job_id, options)
    except (JobsError, Exception) as exc:  # noqa: BLE001 - must never raise
        logger.error(
            "Could not %s %s %s on connection '%s': %s", adapter.verb, adapter.kind, job_id, conn_id, exc
        )
        return None
    _log_aborted(adapter, job_id, job, logger)
    return job


async def aabort_quietly(
    adapter: JobAdapter[H, J],
    conn_id: str,
    job_id: str,
    options: AbortOptions = AbortOptions(),
    *,
    deadline: float = CALLBACK_ABORT_DEADLINE,
    base: H | None = None,
    logger: logging.Logger | logging.LoggerAdapter[Any] | Any = log,
) -> J | None:
    """Async twin of :func:`abort_quietly`."""
    try:
        hook = quick_hook(adapter, conn_id, deadline, base)
        job = await adapter.aabort(hook, job_id, options)
    except (JobsError, Exception) as exc:  # noqa: BLE001 - must never raise
        logger.error(
            "Could not %s %s %s on connection '%s': %s", adapter.verb, adapter.kind, job_id, conn_id, exc
        )
        return None
    _log_aborted(adapter, job_id, job, logger)
    return job


def _log_aborted(adapter: JobAdapter[Any, Any], job_id: str, job: Any, logger: Any) -> None:
    status = adapter.status(job)
    verb = "aborted" if adapter.verb == "abort" else "cancelled"
    if adapter.statuses.is_terminal(status):
        logger.warning("%s %s %s: status is now %s.", adapter.kind, job_id, verb if str(status).lower() in (
            "aborted", "cancelled") else "already finished", status)
    else:
        logger.warning("%s %s: %s requested, status is %s (the service finishes it shortly).",
                       adapter.kind, job_id, adapter.verb, status)


def make_event(
    adapter: JobAdapter[H, J], outcome: str, job_id: str, *, hook: H | None = None, job: J | None = None,
    message: str | None = None, aborted: bool | None = None,
) -> dict[str, Any]:
    """Build a JSON-safe trigger event payload.

    ``aborted`` (timeout events): ``True`` if the trigger's abort was accepted, ``False`` if it
    failed (the task then tries again), ``None`` if no abort was asked for.
    """
    event: dict[str, Any] = {"outcome": outcome, "kind": adapter.kind, "job_id": job_id, "message": message,
                             "aborted": aborted}
    if job is not None and hook is not None:
        event.update(status=str(adapter.status(job)), summary=adapter.summary(hook, job),
                     failure=adapter.failure_message(hook, job))
    return event


def read_event(adapter: JobAdapter[Any, Any], event: Any) -> dict[str, Any]:
    """Check the shape of an event before trusting it; raise ``ValueError`` on a malformed one."""
    if not isinstance(event, dict):
        raise ValueError(f"{adapter.kind} trigger event must be a dict, got {type(event).__name__}")
    if event.get("outcome") not in _EVENT_OUTCOMES or event.get("kind") != adapter.kind:
        raise ValueError(f"unexpected {adapter.kind} trigger event: {event!r:.300}")
    if not isinstance(event.get("job_id"), str):
        raise ValueError(f"{adapter.kind} trigger event has no job id: {event!r:.300}")
    if event["outcome"] == EVENT_TERMINAL and not isinstance(event.get("summary"), dict):
        raise ValueError(f"{adapter.kind} terminal event has no summary: {event!r:.300}")
    return event

"""Abort-quietly: the one best-effort abort/cancel behind every path by which a task can die.

:func:`abort_quietly` / :func:`aabort_quietly` deliver an abort within a deadline on a fresh
hook (retries and timeouts cut to fit), log the outcome and never raise. ``on_kill``, timeouts,
``resume_execution``, ``trigger.on_kill``, the trigger's own deadline, sensor timeouts and the
failure notifiers all call them.
"""

from __future__ import annotations

import logging
from typing import Any, TypeAlias, TypeVar

from airflow_provider_jobs._retry import RetryPolicy
from airflow_provider_jobs.hooks._base import JobsHook
from airflow_provider_jobs.lifecycle.kind import PLAIN_ABORT, AbortOptions, JobKind, JobWatch

log = logging.getLogger(__name__)

H = TypeVar("H", bound=JobsHook)
J = TypeVar("J")

KILL_ABORT_DEADLINE = 4.0
"""Seconds ``on_kill`` may spend aborting: Airflow sends SIGKILL 5 s after SIGTERM."""
CALLBACK_ABORT_DEADLINE = 30.0
"""Seconds a notifier, a trigger or a resumed task may spend aborting."""

Logger: TypeAlias = "logging.Logger | logging.LoggerAdapter[Any] | Any"
"""Where abort outcomes are logged: a stdlib logger or Airflow's ``self.log`` (a string: ``LoggerAdapter[...]``
is not subscriptable before Python 3.11)."""


def quick_hook(kind: JobKind[H, J], conn_id: str, deadline: float, base: H | None = None) -> H:
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
    hook = kind.hook(conn_id, retry_policy=policy, request_timeout=per_request)
    if base is not None and base._settings is not None:  # the connection base loaded, and its transports
        hook._settings = base._settings
        hook._transport, hook._async_transport = base._transport, base._async_transport
    return hook


def _quick_watch(kind: JobKind[H, J], conn_id: str, job_id: str, deadline: float, base: H | None,
                 watch: JobWatch[H, J] | None) -> JobWatch[H, J]:
    """A watch on a quick hook; with ``watch``, sharing its log cursor and log destination."""
    hook = quick_hook(kind, conn_id, deadline, base)
    if watch is None:
        return kind.watch(hook, job_id)
    return watch.through(hook)


def abort_quietly(
    kind: JobKind[H, J],
    conn_id: str,
    job_id: str,
    options: AbortOptions = PLAIN_ABORT,
    *,
    deadline: float = KILL_ABORT_DEADLINE,
    base: H | None = None,
    watch: JobWatch[H, J] | None = None,
    logger: Logger = log,
) -> J | None:
    """Abort/cancel a job best-effort within ``deadline`` seconds; log, never raise, never wait.

    :param base: a hook whose loaded connection can be reused (no lookup in a signal handler)
    :param watch: the task's watch of this job: log lines in the answer continue its log cursor
    :return: the job as the abort answered it, or ``None`` if the abort failed
    """
    try:
        job = _quick_watch(kind, conn_id, job_id, deadline, base, watch).abort(options)
    except Exception as exc:  # noqa: BLE001 - must never raise
        _log_failed(kind, conn_id, job_id, exc, logger)
        return None
    _log_aborted(kind, job_id, job, logger)
    return job


async def aabort_quietly(
    kind: JobKind[H, J],
    conn_id: str,
    job_id: str,
    options: AbortOptions = PLAIN_ABORT,
    *,
    deadline: float = CALLBACK_ABORT_DEADLINE,
    base: H | None = None,
    watch: JobWatch[H, J] | None = None,
    logger: Logger = log,
) -> J | None:
    """Async twin of :func:`abort_quietly`."""
    try:
        job = await _quick_watch(kind, conn_id, job_id, deadline, base, watch).aabort(options)
    except Exception as exc:  # noqa: BLE001 - must never raise
        _log_failed(kind, conn_id, job_id, exc, logger)
        return None
    _log_aborted(kind, job_id, job, logger)
    return job


def _log_failed(kind: JobKind[Any, Any], conn_id: str, job_id: str, exc: Exception, logger: Logger) -> None:
    logger.error("Could not %s %s %s on connection '%s': %s", kind.verb, kind.name, job_id, conn_id, exc)


def _log_aborted(kind: JobKind[Any, Any], job_id: str, job: Any, logger: Logger) -> None:
    status = kind.status(job)
    if kind.statuses.is_terminal(status):
        word = kind.verbed if str(status).lower() == kind.verbed else "already finished"
        logger.warning("%s %s %s: status is now %s.", kind.name, job_id, word, status)
    else:
        logger.warning("%s %s: %s requested, status is %s (the service finishes it shortly).",
                       kind.name, job_id, kind.verb, status)

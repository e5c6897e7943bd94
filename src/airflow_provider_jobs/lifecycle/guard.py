"""The guard of an owned job against the death of its task process: a watchdog, from the task side.

When the process that started a job dies without warning (the OOM killer, ``kill -9``, a
segfault), Airflow runs neither ``on_kill`` nor a failure callback. :func:`guard_job` starts a
small watchdog process (:mod:`airflow_provider_jobs._watchdog`) that aborts the job then, with the
task's own connection, unless the task released it first (:meth:`TrackedJob.release
<airflow_provider_jobs.lifecycle.task.TrackedJob.release>`).

The abort request is prepared here by the hook's own request builders (:meth:`JobKind.abort_call
<airflow_provider_jobs.lifecycle.kind.JobKind.abort_call>`): the watchdog knows no service and
imports neither Airflow nor the hooks.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from airflow_provider_jobs._call import NO_BODY
from airflow_provider_jobs._connection import ConnectionSettings
from airflow_provider_jobs._watchdog.parent import JobWatchdog
from airflow_provider_jobs._watchdog.protocol import AbortRequest, WatchdogSettings, WatchdogSpec
from airflow_provider_jobs.hooks._base import JobsHook
from airflow_provider_jobs.lifecycle.kind import PLAIN_ABORT, AbortOptions, JobKind

log = logging.getLogger(__name__)

WATCHDOG_ABORT_DEADLINE = 30.0
"""Seconds the watchdog keeps trying an abort. Longer than ``KILL_ABORT_DEADLINE`` (4 s): no SIGKILL
follows the watchdog, and after the task is gone it is the only thing that will ever abort the job
(the first attempt still leaves at once)."""


def abort_request(hook: JobsHook, kind: JobKind[Any, Any], job_id: str, options: AbortOptions) -> AbortRequest:
    """The request ``hook`` would send to abort/cancel ``job_id`` (validated and encoded by the hook)."""
    call = kind.abort_call(hook, job_id, options)
    return AbortRequest(method=call.method, path=call.path, action=call.action,
                        params=dict(call.params) if call.params else None,
                        body=None if call.json is NO_BODY else call.json)


def watchdog_settings(settings: ConnectionSettings) -> WatchdogSettings:
    """The resolved connection, as the watchdog receives it (over its pipe, never argv or env)."""
    service, t = settings.service, settings.timeouts
    return WatchdogSettings(
        conn_id=settings.conn_id,
        service={"label": service.label, "conn_type": service.conn_type,
                 "default_base_url": service.default_base_url, "token_hint": service.token_hint},
        base_url=settings.base_url,
        token=settings.token.value,
        timeouts={"connect": t.connect, "read": t.read, "write": t.write, "pool": t.pool},
    )


def watchdog_spec(hook: JobsHook, kind: JobKind[Any, Any], job_id: str, options: AbortOptions | None = None, *,
                  deadline: float = WATCHDOG_ABORT_DEADLINE) -> WatchdogSpec:
    """The spec of a watchdog for ``job_id``, owned by this process, aborted through ``hook``'s connection.

    :param hook: the hook the task uses for the job (its connection is read now, if not already)
    :param kind: the job kind
    :param job_id: the job's id
    :param options: graceful abort (Apify runs) and cancel reason (template builds)
    :param deadline: seconds the watchdog keeps trying the abort
    """
    return WatchdogSpec(kind=kind.name, job_id=job_id, owner_pid=os.getpid(),
                        request=abort_request(hook, kind, job_id, options or PLAIN_ABORT),
                        settings=watchdog_settings(hook.settings), deadline=deadline)


def guard_job(hook: JobsHook, kind: JobKind[Any, Any], job_id: str, options: AbortOptions,
              logger: Any = log) -> JobWatchdog | None:
    """Start the watchdog of ``job_id``; ``None`` when it cannot guard it (said in the task log).

    A hook built on a custom httpx transport (tests' ``MockTransport``) cannot be reproduced in
    another process: such a job is not guarded.
    """
    if getattr(hook, "_transport", None) is not None:
        logger.debug("%s %s: a custom transport is in use; no watchdog.", kind.name, job_id)
        return None
    try:
        spec = watchdog_spec(hook, kind, job_id, options)
    except Exception as exc:  # noqa: BLE001 - the task goes on; only this safety net is missing
        logger.warning("%s %s: no watchdog (%s); if this task process dies, nothing aborts the job.",
                       kind.name, job_id, exc)
        return None
    watchdog = JobWatchdog.start(spec)
    return watchdog if watchdog.active else None


__all__ = ["WATCHDOG_ABORT_DEADLINE", "abort_request", "guard_job", "watchdog_spec", "watchdog_settings"]

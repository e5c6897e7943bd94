"""Build a watchdog spec from the hook a task already uses (task side; imports the hooks).

The abort request is prepared here, in the task process, by the hook's own request builders: the
watchdog then needs to know nothing about either service (and imports neither Airflow nor the
hooks). :func:`abort_request` is the one place that knows the hooks' builders.
"""

from __future__ import annotations

import enum
import os

from airflow_provider_jobs._connection import ConnectionSettings
from airflow_provider_jobs._http import NO_BODY
from airflow_provider_jobs._watchdog.protocol import AbortRequest, WatchdogSettings, WatchdogSpec
from airflow_provider_jobs.hooks._base import JobsHook
from airflow_provider_jobs.hooks.apify import ApifyHook
from airflow_provider_jobs.hooks.template_builds import TemplateBuildHook
from airflow_provider_jobs.lifecycle import AbortOptions

WATCHDOG_ABORT_DEADLINE = 30.0
"""Seconds the watchdog keeps trying an abort. Longer than ``KILL_ABORT_DEADLINE`` (4 s): no SIGKILL
follows the watchdog, and after the task is gone it is the only thing that will ever abort the job
(the first attempt still leaves at once)."""


class JobKind(str, enum.Enum):
    """The job kinds a watchdog can abort (the names of the lifecycle adapters)."""

    APIFY_RUN = "Apify run"
    APIFY_BUILD = "Apify build"
    TEMPLATE_BUILD = "template build"


def abort_request(hook: JobsHook, kind: JobKind, job_id: str, options: AbortOptions) -> AbortRequest:
    """The request ``hook`` would send to abort/cancel ``job_id`` (validated and encoded by the hook)."""
    if kind is JobKind.TEMPLATE_BUILD:
        assert isinstance(hook, TemplateBuildHook)
        call = hook._cancel_op(job_id, options.reason).call
    else:
        assert isinstance(hook, ApifyHook)
        op = hook._abort_run_op(job_id, options.gracefully) if kind is JobKind.APIFY_RUN else hook._abort_build_op(
            job_id)
        call = op.call
    return AbortRequest(method=call.method, path=call.path, action=call.action,
                        params=dict(call.params) if call.params else None,
                        body=None if call.json is NO_BODY else call.json)


def watchdog_settings(settings: ConnectionSettings) -> WatchdogSettings:
    """The resolved connection, as the watchdog receives it."""
    service = settings.service
    t = settings.timeouts
    return WatchdogSettings(
        conn_id=settings.conn_id,
        service={"label": service.label, "conn_type": service.conn_type,
                 "default_base_url": service.default_base_url, "token_hint": service.token_hint},
        base_url=settings.base_url,
        token=settings.token.value,
        timeouts={"connect": t.connect, "read": t.read, "write": t.write, "pool": t.pool},
    )


def watchdog_spec(
    hook: JobsHook, kind: JobKind, job_id: str, options: AbortOptions | None = None, *,
    deadline: float = WATCHDOG_ABORT_DEADLINE,
) -> WatchdogSpec:
    """The spec of a watchdog for ``job_id``, owned by this process, aborted through ``hook``'s connection.

    :param hook: the hook the task uses for the job (its connection is read now, if not already)
    :param kind: the job kind
    :param job_id: the job's id
    :param options: graceful abort (Apify runs) and cancel reason (template builds)
    :param deadline: seconds the watchdog keeps trying the abort
    """
    return WatchdogSpec(kind=kind.value, job_id=job_id, owner_pid=os.getpid(),
                        request=abort_request(hook, kind, job_id, options or AbortOptions()),
                        settings=watchdog_settings(hook.settings), deadline=deadline)

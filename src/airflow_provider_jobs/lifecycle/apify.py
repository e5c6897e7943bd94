"""The Apify job kinds: actor runs and actor builds.

Runs and builds share the API's statuses, ids, console links, the ``waitForFinish`` long poll and
the "abort" verb; they differ in their hook calls and in runs having a status message.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncGenerator, Generator
from typing import Any, ClassVar, TypeVar

from airflow_provider_jobs._call import Call
from airflow_provider_jobs.hooks._apify_results import LogTail
from airflow_provider_jobs.hooks.apify import BUILD_ID, RUN_ID, ApifyHook, long_poll_seconds
from airflow_provider_jobs.lifecycle.kind import AbortOptions, JobKind, LogCursor
from airflow_provider_jobs.models._base import StatusSets
from airflow_provider_jobs.models.apify import APIFY_STATUSES, ApifyBuild, ApifyRun

RUN_ID_KEY = "run_id"
BUILD_ID_KEY = "build_id"

A = TypeVar("A", ApifyRun, ApifyBuild)


class ApifyJobKind(JobKind[ApifyHook, A]):
    """What Apify runs and builds share."""

    verb: ClassVar[str] = "abort"
    verbed: ClassVar[str] = "aborted"
    hook_class = ApifyHook
    statuses: ClassVar[StatusSets] = APIFY_STATUSES
    long_polls: ClassVar[bool] = True
    poll_interval: ClassVar[float] = 0.1  # a floor between long polls, which answer when the job ends
    streams_log: ClassVar[bool] = True

    def job_id(self, job: A) -> str:
        """The run/build id."""
        return job.id

    def status(self, job: A) -> Any:
        """The run/build status."""
        return job.status

    def summary(self, hook: ApifyHook, job: A) -> dict[str, Any]:
        """The run/build summary with its console URL."""
        return job.summary(hook.console_base_url)

    def console_url(self, hook: ApifyHook, job: A) -> str:
        """The job's page in the Apify Console."""
        return job.console_url(hook.console_base_url)

    def log_connection(self, hook: ApifyHook, job_id: str, tail: LogTail, *, follow: bool,
                       read_timeout: float | None = None) -> Generator[str, None, None]:
        """``GET /v2/logs/{id}`` (``?stream=true`` when following) over one connection."""
        return hook._log_connection(_log_call(hook, job_id, follow, read_timeout), tail)

    def alog_connection(self, hook: ApifyHook, job_id: str, tail: LogTail, *, follow: bool,
                        read_timeout: float | None = None) -> AsyncGenerator[str, None]:
        """Async twin of :meth:`log_connection`."""
        return hook._alog_connection(_log_call(hook, job_id, follow, read_timeout), tail)


def _log_call(hook: ApifyHook, job_id: str, follow: bool, read_timeout: float | None) -> Call:
    call = hook._log_call(job_id, stream=follow)
    return call if read_timeout is None else dataclasses.replace(call, read_timeout=read_timeout)


class ApifyRunKind(ApifyJobKind[ApifyRun]):
    """Apify actor runs (XCom key ``run_id``)."""

    name: ClassVar[str] = "Apify run"
    id_label: ClassVar[str] = RUN_ID
    xcom_key: ClassVar[str] = RUN_ID_KEY

    def detail(self, job: ApifyRun) -> str | None:
        """The run's status message."""
        return job.status_message

    def get(self, hook: ApifyHook, job_id: str, budget: float | None, cursor: LogCursor[ApifyRun] | None) -> ApifyRun:
        """``GET /v2/actor-runs/{runId}``, long-polled up to ``budget`` seconds (max 60)."""
        return hook.get_run(job_id, long_poll_seconds(budget))

    async def aget(self, hook: ApifyHook, job_id: str, budget: float | None,
                   cursor: LogCursor[ApifyRun] | None) -> ApifyRun:
        """Async twin of :meth:`get`."""
        return await hook.aget_run(job_id, long_poll_seconds(budget))

    def abort(self, hook: ApifyHook, job_id: str, options: AbortOptions) -> ApifyRun:
        """``POST /v2/actor-runs/{runId}/abort`` (gracefully when asked)."""
        return hook.abort_run(job_id, gracefully=options.gracefully)

    async def aabort(self, hook: ApifyHook, job_id: str, options: AbortOptions) -> ApifyRun:
        """Async twin of :meth:`abort`."""
        return await hook.aabort_run(job_id, gracefully=options.gracefully)

    def abort_call(self, hook: ApifyHook, job_id: str, options: AbortOptions) -> Call:
        """The ``POST /v2/actor-runs/{runId}/abort`` request, not sent."""
        return hook._abort_run_op(job_id, options.gracefully).call


class ApifyBuildKind(ApifyJobKind[ApifyBuild]):
    """Apify actor builds (XCom key ``build_id``)."""

    name: ClassVar[str] = "Apify build"
    id_label: ClassVar[str] = BUILD_ID
    xcom_key: ClassVar[str] = BUILD_ID_KEY

    def get(self, hook: ApifyHook, job_id: str, budget: float | None,
            cursor: LogCursor[ApifyBuild] | None) -> ApifyBuild:
        """``GET /v2/actor-builds/{buildId}``, long-polled up to ``budget`` seconds (max 60)."""
        return hook.get_build(job_id, long_poll_seconds(budget))

    async def aget(self, hook: ApifyHook, job_id: str, budget: float | None,
                   cursor: LogCursor[ApifyBuild] | None) -> ApifyBuild:
        """Async twin of :meth:`get`."""
        return await hook.aget_build(job_id, long_poll_seconds(budget))

    def abort(self, hook: ApifyHook, job_id: str, options: AbortOptions) -> ApifyBuild:
        """``POST /v2/actor-builds/{buildId}/abort``."""
        return hook.abort_build(job_id)

    async def aabort(self, hook: ApifyHook, job_id: str, options: AbortOptions) -> ApifyBuild:
        """Async twin of :meth:`abort`."""
        return await hook.aabort_build(job_id)

    def abort_call(self, hook: ApifyHook, job_id: str, options: AbortOptions) -> Call:
        """The ``POST /v2/actor-builds/{buildId}/abort`` request, not sent."""
        return hook._abort_build_op(job_id).call


APIFY_RUN = ApifyRunKind()
"""Apify actor runs."""
APIFY_BUILD = ApifyBuildKind()
"""Apify actor builds."""

"""The template-build job kind (Nullspace templates API): the "cancel" verb, polled status, log entries.

A get or cancel answers with the build and its log entries from an offset; the kind's log cursor
is the hook's own (``hooks.template_builds.LogCursor``), so a wait, a cancel and a log stream
count offsets the same way and no entry is shown twice.
"""

from __future__ import annotations

from typing import Any, ClassVar

from airflow_provider_jobs._call import Call
from airflow_provider_jobs.hooks.template_builds import BUILD_ID, TemplateBuildHook
from airflow_provider_jobs.hooks.template_builds import LogCursor as BuildLogCursor
from airflow_provider_jobs.lifecycle.kind import AbortOptions, JobKind, LogCursor
from airflow_provider_jobs.models._base import StatusSets
from airflow_provider_jobs.models.template_builds import TEMPLATE_BUILD_STATUSES, TemplateBuildSnapshot

BUILD_ID_KEY = "build_id"

Snapshot = TemplateBuildSnapshot


class _LineCursor:
    """The hook's log cursor, handing out formatted lines."""

    def __init__(self, build_id: str) -> None:
        self._cursor = BuildLogCursor(build_id, 0, 0)

    @property
    def next_offset(self) -> int:
        """The first entry not seen yet."""
        return self._cursor.next_offset

    def new_lines(self, job: Snapshot) -> list[str]:
        """The snapshot's entries not handed out before, as task-log lines."""
        return [entry.format_line() for entry in self._cursor.accept_snapshot(job)]


class TemplateBuildKind(JobKind[TemplateBuildHook, Snapshot]):
    """Nullspace template builds (XCom key ``build_id``)."""

    name: ClassVar[str] = "template build"
    id_label: ClassVar[str] = BUILD_ID
    xcom_key: ClassVar[str] = BUILD_ID_KEY
    verb: ClassVar[str] = "cancel"
    verbed: ClassVar[str] = "cancelled"
    hook_class = TemplateBuildHook
    statuses: ClassVar[StatusSets] = TEMPLATE_BUILD_STATUSES
    poll_interval: ClassVar[float] = 2.0

    def job_id(self, job: Snapshot) -> str:
        """The build id."""
        return job.build.build_id

    def status(self, job: Snapshot) -> Any:
        """The build status."""
        return job.build.status

    def detail(self, job: Snapshot) -> str | None:
        """The build's error (with the service's suggested action) or cancellation reason."""
        text, failure = job.build.failure_text, job.build.error_detail
        action = (failure.suggested_action or "").strip().rstrip(".") if failure else ""
        return f"{text}; suggested action: {action}" if text and action else text or action or None

    def summary(self, hook: TemplateBuildHook, job: Snapshot) -> dict[str, Any]:
        """The build summary (no log entries)."""
        return job.build.summary()

    def stopping(self, job: Snapshot) -> bool:
        """A cancel was requested and the build has not ended yet."""
        return job.build.cancel_pending

    def log_cursor(self, job_id: str) -> LogCursor[Snapshot]:
        """The build's log entries carried by gets and cancels."""
        return _LineCursor(job_id)

    def get(self, hook: TemplateBuildHook, job_id: str, budget: float | None,
            cursor: LogCursor[Snapshot] | None) -> Snapshot:
        """``GET /v1/templates/builds/{build_id}?offset=`` from the first unseen entry."""
        return hook.get_build(job_id, offset=cursor.next_offset if cursor else None)

    async def aget(self, hook: TemplateBuildHook, job_id: str, budget: float | None,
                   cursor: LogCursor[Snapshot] | None) -> Snapshot:
        """Async twin of :meth:`get`."""
        return await hook.aget_build(job_id, offset=cursor.next_offset if cursor else None)

    def abort(self, hook: TemplateBuildHook, job_id: str, options: AbortOptions) -> Snapshot:
        """``POST /v1/templates/builds/{build_id}/cancel`` with the reason."""
        return hook.cancel_build(job_id, reason=options.reason)

    async def aabort(self, hook: TemplateBuildHook, job_id: str, options: AbortOptions) -> Snapshot:
        """Async twin of :meth:`abort`."""
        return await hook.acancel_build(job_id, reason=options.reason)

    def abort_call(self, hook: TemplateBuildHook, job_id: str, options: AbortOptions) -> Call:
        """The ``POST /v1/templates/builds/{build_id}/cancel`` request with the reason, not sent."""
        return hook._cancel_op(job_id, options.reason).call


TEMPLATE_BUILD = TemplateBuildKind()
"""Nullspace template builds."""

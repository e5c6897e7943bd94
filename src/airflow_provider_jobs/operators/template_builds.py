"""Operators for Nullspace template builds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_jobs.hooks.template_builds import TemplateBuildHook
from airflow_provider_jobs.lifecycle import TEMPLATE_BUILD, AbortOptions, TemplateBuildKind
from airflow_provider_jobs.lifecycle.kind import LogLine
from airflow_provider_jobs.lifecycle.task import cancel_options
from airflow_provider_jobs.models.template_builds import TemplateBuildSnapshot
from airflow_provider_jobs.operators._base import JobAbortOperator, JobOperator
from airflow_provider_jobs.triggers._base import JobTrigger
from airflow_provider_jobs.triggers.template_builds import TemplateBuildTrigger

if TYPE_CHECKING:
    from airflow_provider_jobs._compat import Context

TEMPLATE_BUILDS_DEFAULT_CONN_ID = TemplateBuildHook.default_conn_name


class TemplateBuildOperator(JobOperator):
    """Start a template build and wait for it; cancel it if the task dies first.

    Pushes the build id to XCom key ``build_id`` at once; returns the build summary (no log
    entries; ``cancel_requested_by`` says who asked for a cancel). With ``stream_logs`` the
    build's log lines appear in the task log while waiting, and those the cancel answers with
    when the task cancels the build (killed, timed out, failing while waiting), each line once.
    A build ending ``error`` or ``cancelled`` fails the task; the message carries the service's
    suggested action.

    Templated: ``build_request``, ``cancel_reason``.

    :param build_request: the ``CreateTemplateRequest`` body (``name``, ``dockerfile``, ``tags``...)
    :param stream_logs: copy the build's log entries into the task log
    :param cancel_reason: reason recorded when the task cancels the build (default names the DAG,
        task, run and try)
    :param template_builds_conn_id: the template-builds connection id
    """

    kind: ClassVar[TemplateBuildKind] = TEMPLATE_BUILD
    trigger_class: ClassVar[type[JobTrigger]] = TemplateBuildTrigger
    template_fields: Sequence[str] = ("build_request", "cancel_reason")
    template_fields_renderers = {"build_request": "json"}
    ui_color = "#c7d2fe"

    def __init__(
        self,
        *,
        build_request: dict[str, Any] | None = None,
        stream_logs: bool = True,
        cancel_reason: str | None = None,
        template_builds_conn_id: str = TEMPLATE_BUILDS_DEFAULT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.build_request = build_request
        self.stream_logs = stream_logs
        self.cancel_reason = cancel_reason
        self.template_builds_conn_id = template_builds_conn_id

    @property
    def conn_id(self) -> str:
        """The template-builds connection id."""
        return self.template_builds_conn_id

    def start_job(self, hook: TemplateBuildHook, context: Context) -> Any:
        """Start the build (``POST /v1/templates/builds``)."""
        return TemplateBuildSnapshot(build=hook.start_build(self.build_request))

    def abort_options(self, context: Context) -> AbortOptions:
        """Cancel with the given reason or one naming the DAG, task, run and try."""
        return cancel_options(self.cancel_reason, context)

    def log_line(self) -> LogLine | None:
        """Send build log lines to the task log when ``stream_logs`` is on."""
        return self.log.info if self.stream_logs else None


class TemplateBuildCancelOperator(JobAbortOperator):
    """Cancel a template build and report the result.

    A finished build is left as it is (the API answers with its current state). On an active
    build the cancel may stay *requested* for a while; the summary says so (``cancel_pending``)
    unless ``wait_for_termination`` waits for the end.

    The log entries the cancel answers with (and those of the wait) go to the task log, each once.

    Templated: ``build_id``, ``reason``.

    :param build_id: the build to cancel
    :param reason: recorded on the build (default names the DAG, task, run and try)
    :param wait_for_termination: wait, at most ``wait_timeout`` seconds, for the build to end
    :param template_builds_conn_id: the template-builds connection id
    """

    kind: ClassVar[TemplateBuildKind] = TEMPLATE_BUILD
    template_fields: Sequence[str] = ("build_id", "reason")

    def __init__(
        self,
        *,
        build_id: str,
        reason: str | None = None,
        wait_for_termination: bool = False,
        wait_timeout: float = 300.0,
        template_builds_conn_id: str = TEMPLATE_BUILDS_DEFAULT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(wait_for_termination=wait_for_termination, wait_timeout=wait_timeout, **kwargs)
        self.build_id = build_id
        self.reason = reason
        self.template_builds_conn_id = template_builds_conn_id

    @property
    def conn_id(self) -> str:
        """The template-builds connection id."""
        return self.template_builds_conn_id

    def job_id_to_abort(self) -> str:
        """The build to cancel."""
        return self.build_id

    def abort_options(self, context: Context) -> AbortOptions:
        """The given reason, or one naming the DAG, task, run and try."""
        return cancel_options(self.reason, context)

    def log_line(self) -> LogLine | None:
        """Send the build's log lines (the cancel's answer carries them) to the task log."""
        return self.log.info

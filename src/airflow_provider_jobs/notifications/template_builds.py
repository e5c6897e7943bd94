"""Failure callback that cancels a Nullspace template build."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_jobs.hooks.template_builds import TemplateBuildHook
from airflow_provider_jobs.lifecycle import CALLBACK_ABORT_DEADLINE, TEMPLATE_BUILD, AbortOptions, TemplateBuildKind
from airflow_provider_jobs.lifecycle.task import cancel_options
from airflow_provider_jobs.notifications._base import JobAbortNotifier

if TYPE_CHECKING:
    from airflow_provider_jobs._compat import Context

TEMPLATE_BUILDS_DEFAULT_CONN_ID = TemplateBuildHook.default_conn_name


class TemplateBuildCancelNotifier(JobAbortNotifier):
    """Cancel the template build of a failed task; use as ``on_failure_callback``. Never raises.

    Templated: ``build_id``, ``reason``, ``task_id``.

    :param build_id: the build; default: XCom ``build_id`` of the failing task (or of ``task_id``)
    :param reason: recorded on the build (default names the DAG, task, run and try)
    :param template_builds_conn_id: the template-builds connection id
    :param task_id: read the build id from this task's XCom
    :param deadline: seconds the cancel may take, retries included
    :param context: the context Airflow passes to an awaited notifier (triggerer callbacks)
    """

    kind: ClassVar[TemplateBuildKind] = TEMPLATE_BUILD
    template_fields: Sequence[str] = ("build_id", "reason", "task_id")

    def __init__(self, build_id: str | None = None, *, reason: str | None = None,
                 template_builds_conn_id: str = TEMPLATE_BUILDS_DEFAULT_CONN_ID, task_id: str | None = None,
                 deadline: float = CALLBACK_ABORT_DEADLINE, context: Mapping[str, Any] | None = None) -> None:
        super().__init__(task_id=task_id, deadline=deadline, context=context)
        self.build_id = build_id
        self.reason = reason
        self.template_builds_conn_id = template_builds_conn_id

    @property
    def conn_id(self) -> str:
        """The template-builds connection id."""
        return self.template_builds_conn_id

    def given_job_id(self) -> str | None:
        """The given build id, if any."""
        return self.build_id

    def abort_options(self, context: Context) -> AbortOptions:
        """The given reason, or one naming the DAG, task, run and try."""
        return cancel_options(self.reason, context)

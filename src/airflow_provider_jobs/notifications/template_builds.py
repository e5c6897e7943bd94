"""Failure callback that cancels a Nullspace template build."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from airflow_provider_jobs._adapters import TEMPLATE_BUILDS_DEFAULT_CONN_ID, AdapterRef
from airflow_provider_jobs._validation import validate_reason
from airflow_provider_jobs.lifecycle import CALLBACK_ABORT_DEADLINE, AbortOptions
from airflow_provider_jobs.notifications._base import JobAbortNotifier
from airflow_provider_jobs.operators._base import default_cancel_reason

if TYPE_CHECKING:
    from airflow_provider_jobs._compat import Context


class TemplateBuildCancelNotifier(JobAbortNotifier):
    """Cancel the template build of a failed task; use as ``on_failure_callback``. Never raises.

    Templated: ``build_id``, ``reason``, ``task_id``.

    :param build_id: the build; default: XCom ``build_id`` of the failing task (or of ``task_id``)
    :param reason: recorded on the build (default names the DAG, task, run and try)
    :param template_builds_conn_id: the template-builds connection id
    :param task_id: read the build id from this task's XCom
    :param deadline: seconds the cancel may take, retries included
    """

    adapter = AdapterRef("TEMPLATE_BUILD")
    job_id_attr: ClassVar[str] = "build_id"
    template_fields: Sequence[str] = ("build_id", "reason", "task_id")

    def __init__(self, build_id: str | None = None, *, reason: str | None = None,
                 template_builds_conn_id: str = TEMPLATE_BUILDS_DEFAULT_CONN_ID, task_id: str | None = None,
                 deadline: float = CALLBACK_ABORT_DEADLINE) -> None:
        super().__init__(task_id=task_id, deadline=deadline)
        self.build_id = build_id
        self.reason = reason
        self.template_builds_conn_id = template_builds_conn_id

    def abort_options(self, context: Context) -> AbortOptions:
        """The given reason, or one naming the DAG, task, run and try."""
        return AbortOptions(reason=validate_reason(self.reason) or default_cancel_reason(context))

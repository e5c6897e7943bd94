"""Failure callbacks that abort Apify runs and builds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from airflow_provider_jobs._adapters import APIFY_DEFAULT_CONN_ID, AdapterRef
from airflow_provider_jobs.lifecycle import CALLBACK_ABORT_DEADLINE, AbortOptions
from airflow_provider_jobs.notifications._base import JobAbortNotifier
from airflow_provider_jobs.operators.apify import as_bool

if TYPE_CHECKING:
    from airflow_provider_jobs._compat import Context


class ApifyAbortRunNotifier(JobAbortNotifier):
    """Abort the Apify run of a failed task; use as ``on_failure_callback``. Never raises.

    Templated: ``run_id``, ``task_id``.

    :param run_id: the run; default: XCom ``run_id`` of the failing task (or of ``task_id``)
    :param gracefully: abort gracefully
    :param apify_conn_id: the Apify connection id
    :param task_id: read the run id from this task's XCom
    :param deadline: seconds the abort may take, retries included
    """

    adapter = AdapterRef("APIFY_RUN")
    job_id_attr: ClassVar[str] = "run_id"
    template_fields: Sequence[str] = ("run_id", "task_id")

    def __init__(self, run_id: str | None = None, *, gracefully: bool = False,
                 apify_conn_id: str = APIFY_DEFAULT_CONN_ID, task_id: str | None = None,
                 deadline: float = CALLBACK_ABORT_DEADLINE) -> None:
        super().__init__(task_id=task_id, deadline=deadline)
        self.run_id = run_id
        self.gracefully = gracefully
        self.apify_conn_id = apify_conn_id

    def abort_options(self, context: Context) -> AbortOptions:
        """Graceful abort when asked to."""
        return AbortOptions(gracefully=bool(as_bool(self.gracefully)))


class ApifyAbortBuildNotifier(JobAbortNotifier):
    """Abort the Apify build of a failed task; use as ``on_failure_callback``. Never raises.

    Templated: ``build_id``, ``task_id``.

    :param build_id: the build; default: XCom ``build_id`` of the failing task (or of ``task_id``)
    :param apify_conn_id: the Apify connection id
    :param task_id: read the build id from this task's XCom
    :param deadline: seconds the abort may take, retries included
    """

    adapter = AdapterRef("APIFY_BUILD")
    job_id_attr: ClassVar[str] = "build_id"
    template_fields: Sequence[str] = ("build_id", "task_id")

    def __init__(self, build_id: str | None = None, *, apify_conn_id: str = APIFY_DEFAULT_CONN_ID,
                 task_id: str | None = None, deadline: float = CALLBACK_ABORT_DEADLINE) -> None:
        super().__init__(task_id=task_id, deadline=deadline)
        self.build_id = build_id
        self.apify_conn_id = apify_conn_id

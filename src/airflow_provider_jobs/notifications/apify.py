"""Failure callbacks that abort Apify runs and builds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_jobs._validation import as_bool
from airflow_provider_jobs.hooks.apify import ApifyHook
from airflow_provider_jobs.lifecycle import (
    APIFY_BUILD,
    APIFY_RUN,
    CALLBACK_ABORT_DEADLINE,
    AbortOptions,
    ApifyBuildKind,
    ApifyRunKind,
)
from airflow_provider_jobs.notifications._base import JobAbortNotifier

if TYPE_CHECKING:
    from airflow_provider_jobs._compat import Context

APIFY_DEFAULT_CONN_ID = ApifyHook.default_conn_name


class ApifyAbortRunNotifier(JobAbortNotifier):
    """Abort the Apify run of a failed task; use as ``on_failure_callback``. Never raises.

    Templated: ``run_id``, ``task_id``.

    :param run_id: the run; default: XCom ``run_id`` of the failing task (or of ``task_id``)
    :param gracefully: abort gracefully
    :param apify_conn_id: the Apify connection id
    :param task_id: read the run id from this task's XCom
    :param deadline: seconds the abort may take, retries included
    :param context: the context Airflow passes to an awaited notifier (triggerer callbacks)
    """

    kind: ClassVar[ApifyRunKind] = APIFY_RUN
    template_fields: Sequence[str] = ("run_id", "task_id")

    def __init__(self, run_id: str | None = None, *, gracefully: bool = False,
                 apify_conn_id: str = APIFY_DEFAULT_CONN_ID, task_id: str | None = None,
                 deadline: float = CALLBACK_ABORT_DEADLINE, context: Mapping[str, Any] | None = None) -> None:
        super().__init__(task_id=task_id, deadline=deadline, context=context)
        self.run_id = run_id
        self.gracefully = gracefully
        self.apify_conn_id = apify_conn_id

    @property
    def conn_id(self) -> str:
        """The Apify connection id."""
        return self.apify_conn_id

    def given_job_id(self) -> str | None:
        """The given run id, if any."""
        return self.run_id

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
    :param context: the context Airflow passes to an awaited notifier (triggerer callbacks)
    """

    kind: ClassVar[ApifyBuildKind] = APIFY_BUILD
    template_fields: Sequence[str] = ("build_id", "task_id")

    def __init__(self, build_id: str | None = None, *, apify_conn_id: str = APIFY_DEFAULT_CONN_ID,
                 task_id: str | None = None, deadline: float = CALLBACK_ABORT_DEADLINE,
                 context: Mapping[str, Any] | None = None) -> None:
        super().__init__(task_id=task_id, deadline=deadline, context=context)
        self.build_id = build_id
        self.apify_conn_id = apify_conn_id

    @property
    def conn_id(self) -> str:
        """The Apify connection id."""
        return self.apify_conn_id

    def given_job_id(self) -> str | None:
        """The given build id, if any."""
        return self.build_id

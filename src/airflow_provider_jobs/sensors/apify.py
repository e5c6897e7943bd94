"""Sensors for Apify runs and builds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_jobs._validation import as_bool
from airflow_provider_jobs.hooks.apify import ApifyHook
from airflow_provider_jobs.lifecycle import APIFY_BUILD, APIFY_RUN, AbortOptions, ApifyBuildKind, ApifyRunKind
from airflow_provider_jobs.links.apify import ApifyBuildLink, ApifyRunLink
from airflow_provider_jobs.sensors._base import JobSensor
from airflow_provider_jobs.triggers._base import JobTrigger
from airflow_provider_jobs.triggers.apify import ApifyBuildTrigger, ApifyRunTrigger

if TYPE_CHECKING:
    from airflow_provider_jobs._compat import Context

APIFY_DEFAULT_CONN_ID = ApifyHook.default_conn_name


class ApifyRunSensor(JobSensor):
    """Wait for an Apify run to end: succeed on SUCCEEDED, fail (no retry) on any other end.

    On the sensor's own timeout (poke, reschedule or deferred) the run is aborted unless
    ``abort_on_timeout=False``. Returns (and pushes) the run summary.

    Templated: ``run_id``.

    :param run_id: the run to watch
    :param abort_on_timeout: abort the run when the sensor times out
    :param gracefully: abort gracefully
    :param deferrable: wait in the triggerer (long polls, abort at the deadline); default:
        ``[operators] default_deferrable``
    :param apify_conn_id: the Apify connection id
    """

    kind: ClassVar[ApifyRunKind] = APIFY_RUN
    trigger_class: ClassVar[type[JobTrigger]] = ApifyRunTrigger
    template_fields: Sequence[str] = ("run_id",)
    operator_extra_links = (ApifyRunLink(),)

    def __init__(self, *, run_id: str, abort_on_timeout: bool = True, gracefully: bool = False,
                 deferrable: bool | None = None, apify_conn_id: str = APIFY_DEFAULT_CONN_ID, **kwargs: Any) -> None:
        super().__init__(abort_on_timeout=abort_on_timeout, deferrable=deferrable, **kwargs)
        self.run_id = run_id
        self.gracefully = gracefully
        self.apify_conn_id = apify_conn_id

    @property
    def conn_id(self) -> str:
        """The Apify connection id."""
        return self.apify_conn_id

    def watched_job_id(self) -> str:
        """The run to watch."""
        return self.run_id

    def abort_options(self, context: Context) -> AbortOptions:
        """Graceful abort when asked to."""
        return AbortOptions(gracefully=bool(as_bool(self.gracefully)))


class ApifyBuildSensor(JobSensor):
    """Wait for an Apify build to end: succeed on SUCCEEDED, fail (no retry) on any other end.

    Templated: ``build_id``.

    :param build_id: the build to watch
    :param abort_on_timeout: abort the build when the sensor times out
    :param deferrable: wait in the triggerer (default: ``[operators] default_deferrable``)
    :param apify_conn_id: the Apify connection id
    """

    kind: ClassVar[ApifyBuildKind] = APIFY_BUILD
    trigger_class: ClassVar[type[JobTrigger]] = ApifyBuildTrigger
    template_fields: Sequence[str] = ("build_id",)
    operator_extra_links = (ApifyBuildLink(),)

    def __init__(self, *, build_id: str, abort_on_timeout: bool = True, deferrable: bool | None = None,
                 apify_conn_id: str = APIFY_DEFAULT_CONN_ID, **kwargs: Any) -> None:
        super().__init__(abort_on_timeout=abort_on_timeout, deferrable=deferrable, **kwargs)
        self.build_id = build_id
        self.apify_conn_id = apify_conn_id

    @property
    def conn_id(self) -> str:
        """The Apify connection id."""
        return self.apify_conn_id

    def watched_job_id(self) -> str:
        """The build to watch."""
        return self.build_id

"""Deferrable waits for Apify runs and builds (``waitForFinish`` long polls in the triggerer, or the
job's log stream with ``stream_logs``)."""

from __future__ import annotations

from typing import ClassVar

from airflow_provider_jobs.lifecycle import APIFY_BUILD, APIFY_RUN, ApifyBuildKind, ApifyRunKind
from airflow_provider_jobs.triggers._base import JobTrigger


class ApifyRunTrigger(JobTrigger):
    """Wait for an Apify run to end; abort it at the deadline or when the deferred task is killed.

    See :class:`~airflow_provider_jobs.triggers._base.JobTrigger` for the parameters.
    """

    kind: ClassVar[ApifyRunKind] = APIFY_RUN


class ApifyBuildTrigger(JobTrigger):
    """Wait for an Apify build to end; abort it at the deadline or when the deferred task is killed."""

    kind: ClassVar[ApifyBuildKind] = APIFY_BUILD

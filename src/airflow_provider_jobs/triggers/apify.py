"""Deferrable waits for Apify runs and builds (``waitForFinish`` long polls in the triggerer)."""

from __future__ import annotations

from typing import Any, ClassVar

from airflow_provider_jobs._adapters import APIFY_BUILD, APIFY_RUN
from airflow_provider_jobs.lifecycle import JobAdapter
from airflow_provider_jobs.triggers._base import JobTrigger


class ApifyRunTrigger(JobTrigger):
    """Wait for an Apify run to end; abort it at the deadline or when the deferred task is killed.

    See :class:`~airflow_provider_jobs.triggers._base.JobTrigger` for the parameters.
    """

    adapter: ClassVar[JobAdapter[Any, Any]] = APIFY_RUN


class ApifyBuildTrigger(JobTrigger):
    """Wait for an Apify build to end; abort it at the deadline or when the deferred task is killed."""

    adapter: ClassVar[JobAdapter[Any, Any]] = APIFY_BUILD

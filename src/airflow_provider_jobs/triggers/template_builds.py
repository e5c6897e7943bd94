"""Deferrable wait for Nullspace template builds (status polling in the triggerer)."""

from __future__ import annotations

from typing import ClassVar

from airflow_provider_jobs.lifecycle import TEMPLATE_BUILD, TemplateBuildKind
from airflow_provider_jobs.triggers._base import JobTrigger


class TemplateBuildTrigger(JobTrigger):
    """Wait for a template build to end; cancel it at the deadline or when the deferred task is killed.

    See :class:`~airflow_provider_jobs.triggers._base.JobTrigger` for the parameters.
    """

    kind: ClassVar[TemplateBuildKind] = TEMPLATE_BUILD

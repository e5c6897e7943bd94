"""Pydantic models of API responses, with status enums and their terminal/success sets.

The modules are ``_base`` (the status machinery), ``apify`` and ``template_builds``; this
package re-exports their public names. Code inside the provider imports from the modules.
"""

from __future__ import annotations

from airflow_provider_jobs.models._base import StatusEnum, StatusSets
from airflow_provider_jobs.models.apify import (
    APIFY_STATUSES,
    APIFY_SUCCESS,
    APIFY_TERMINAL,
    ApifyBuild,
    ApifyJobStatus,
    ApifyRun,
    ApifyRunList,
    ApifyUser,
)
from airflow_provider_jobs.models.template_builds import (
    TEMPLATE_BUILD_STATUSES,
    TEMPLATE_BUILD_SUCCESS,
    TEMPLATE_BUILD_TERMINAL,
    LogKind,
    TemplateBuild,
    TemplateBuildLogEntry,
    TemplateBuildSnapshot,
    TemplateBuildStatus,
    TemplateInfo,
)

__all__ = [
    "APIFY_STATUSES",
    "APIFY_SUCCESS",
    "APIFY_TERMINAL",
    "TEMPLATE_BUILD_STATUSES",
    "TEMPLATE_BUILD_SUCCESS",
    "TEMPLATE_BUILD_TERMINAL",
    "ApifyBuild",
    "ApifyJobStatus",
    "ApifyRun",
    "ApifyRunList",
    "ApifyUser",
    "LogKind",
    "StatusEnum",
    "StatusSets",
    "TemplateBuild",
    "TemplateBuildLogEntry",
    "TemplateBuildSnapshot",
    "TemplateBuildStatus",
    "TemplateInfo",
]

"""Pydantic models of API responses, with status enums and their terminal/success sets.

Names are loaded on first use (PEP 562): importing ``models._base`` (the status sets, which the
wait loop and the lifecycle need) does not build every response model, so importing the
operators for DAG parsing stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_EXPORTS = {
    "StatusEnum": "_base",
    "StatusSets": "_base",
    "APIFY_STATUSES": "apify",
    "APIFY_SUCCESS": "apify",
    "APIFY_TERMINAL": "apify",
    "ApifyBuild": "apify",
    "ApifyJobStatus": "apify",
    "ApifyRun": "apify",
    "ApifyRunList": "apify",
    "ApifyUser": "apify",
    "TEMPLATE_BUILD_STATUSES": "template_builds",
    "TEMPLATE_BUILD_SUCCESS": "template_builds",
    "TEMPLATE_BUILD_TERMINAL": "template_builds",
    "LogKind": "template_builds",
    "TemplateBuild": "template_builds",
    "TemplateBuildLogEntry": "template_builds",
    "TemplateBuildSnapshot": "template_builds",
    "TemplateBuildStatus": "template_builds",
    "TemplateInfo": "template_builds",
}

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


def __getattr__(name: str) -> Any:
    """Import the module that defines ``name`` on first use."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

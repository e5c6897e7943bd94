"""Provider metadata for Airflow's providers manager.

Loaded through the ``apache_airflow_provider`` entry point. This module imports nothing (not
even the package's own code) so that ``airflow providers list`` and the connection form stay
cheap; the version string is duplicated from ``_version.py`` and a test keeps them equal.
"""

from __future__ import annotations

from typing import Any

_VERSION = "0.1.0"
_INTEGRATION_APIFY = "Apify"
_INTEGRATION_TEMPLATES = "Nullspace Template Builds"
_PKG = "airflow_provider_jobs"


def _modules(role: str) -> list[dict[str, Any]]:
    return [
        {"integration-name": _INTEGRATION_APIFY, "python-modules": [f"{_PKG}.{role}.apify"]},
        {
            "integration-name": _INTEGRATION_TEMPLATES,
            "python-modules": [f"{_PKG}.{role}.template_builds"],
        },
    ]


def _conn_fields(secret_name: str) -> dict[str, Any]:
    """Connection-form fields both services share (stored in the connection's extra)."""
    return {
        "allow_insecure_http": {
            "label": "Allow plain http:// to a non-loopback host",
            "description": f"Only for trusted networks: the {secret_name} would travel unencrypted.",
            "schema": {"type": ["boolean", "null"], "default": False},
        },
        "connect_timeout": {"label": "Connect timeout (s)", "schema": {"type": ["number", "null"], "default": 10}},
        "read_timeout": {
            "label": "Read timeout (s)",
            "description": "Long polls (Apify waitForFinish) always get at least 60 s plus a margin.",
            "schema": {"type": ["number", "null"], "default": 30},
        },
        "max_retries": {
            "label": "Max retries",
            "description": "Retries of idempotent calls (get, abort, cancel) on 429, 5xx and network errors.",
            "schema": {"type": ["integer", "null"], "default": 4},
        },
        "retry_max_elapsed": {
            "label": "Retry budget (s)",
            "description": "No retry starts after this many seconds since the first attempt.",
            "schema": {"type": ["number", "null"], "default": 120},
        },
    }


def _behaviour(secret_label: str, secret_placeholder: str, host_placeholder: str) -> dict[str, Any]:
    return {
        "hidden-fields": ["schema", "login", "extra"],
        "relabeling": {"password": secret_label, "host": "API base URL"},
        "placeholders": {"password": secret_placeholder, "host": host_placeholder, "port": "443"},
    }


def get_provider_info() -> dict[str, Any]:
    """Return the provider-info dict that Airflow validates and registers."""
    return {
        "package-name": "airflow-provider-jobs",
        "name": "Remote Jobs (Apify, Nullspace template builds)",
        "description": (
            "Start, watch, abort and cancel Apify actor runs and builds and Nullspace template "
            "builds, and never leave a paid job running behind a failed task."
        ),
        "versions": [_VERSION],
        "integrations": [
            {
                "integration-name": _INTEGRATION_APIFY,
                "external-doc-url": "https://docs.apify.com/api/v2",
                "tags": ["service"],
            },
            {
                "integration-name": _INTEGRATION_TEMPLATES,
                "external-doc-url": "https://docs.ns.rocks/",
                "tags": ["service"],
            },
        ],
        "hooks": _modules("hooks"),
        "operators": _modules("operators"),
        "sensors": _modules("sensors"),
        "triggers": _modules("triggers"),
        "transfers": [
            {
                "source-integration-name": _INTEGRATION_APIFY,
                "target-integration-name": "Common IO",  # Airflow's object storage (ObjectStoragePath)
                "python-module": f"{_PKG}.transfers.apify",
            },
        ],
        "notifications": [
            f"{_PKG}.notifications.apify.ApifyAbortRunNotifier",
            f"{_PKG}.notifications.apify.ApifyAbortBuildNotifier",
            f"{_PKG}.notifications.template_builds.TemplateBuildCancelNotifier",
        ],
        "extra-links": [
            f"{_PKG}.links.apify.ApifyRunLink",
            f"{_PKG}.links.apify.ApifyBuildLink",
        ],
        "connection-types": [
            {
                "connection-type": "apify",
                "hook-class-name": f"{_PKG}.hooks.apify.ApifyHook",
                "hook-name": "Apify",
                "conn-fields": {
                    **_conn_fields("token"),
                    "console_url": {
                        "label": "Apify Console URL",
                        "description": "Base of the links to runs and builds shown on task pages.",
                        "schema": {"type": ["string", "null"], "default": "https://console.apify.com"},
                    },
                },
                "ui-field-behaviour": _behaviour(
                    "API token",
                    "Apify API token (Console > Settings > API & Integrations)",
                    "https://api.apify.com (default)",
                ),
            },
            {
                "connection-type": "template_builds",
                "hook-class-name": f"{_PKG}.hooks.template_builds.TemplateBuildHook",
                "hook-name": "Nullspace Template Builds",
                "conn-fields": _conn_fields("API key"),
                "ui-field-behaviour": _behaviour(
                    "API key", "ns_live_...", "https://templates.example.com (required)"
                ),
            },
        ],
    }

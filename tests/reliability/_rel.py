"""Constants and small helpers shared by the reliability suite and its report script."""

from __future__ import annotations

import json
import os
from typing import Any

from airflow_provider_jobs._retry import RetryPolicy

FULL = os.environ.get("RELIABILITY_FULL") == "1"
"""Slow variants on: future Retry-After HTTP dates, 1 s Retry-After on every kill path, all SIGTERM cases."""

FAST = RetryPolicy(max_retries=3, base_delay=0.01, max_delay=0.05)
"""The retry policy the fault matrix passes to every hook: 4 attempts, 10-50 ms backoff."""

FOREVER = 10_000_000.0
"""Emulated seconds: a job that never ends during a test."""

SHORT_READ_TIMEOUT = 0.2
"""``read_timeout`` (connection extra) of the ``*_short`` connections used by the timeout faults."""

SECRET_APIFY = "rel-APIFY-S3CRET-7f3a9c2e5b1d"
SECRET_TEMPLATES = "rel-NS-S3CRET-4e8b6d0a2c9f"
"""Recognisable tokens for the secrets scenarios: they must appear only in Authorization headers."""


def conn_value(conn_type: str, base_url: str, token: str, **extra: Any) -> str:
    """An ``AIRFLOW_CONN_*`` JSON value."""
    data: dict[str, Any] = {"conn_type": conn_type, "host": base_url, "password": token}
    if extra:
        data["extra"] = extra
    return json.dumps(data)


def short_timeout_env(emu: Any) -> dict[str, str]:
    """``apify_short`` / ``template_builds_short``: the emulator with a 0.2 s read timeout."""
    return {
        "AIRFLOW_CONN_APIFY_SHORT": conn_value("apify", emu.base_url, emu.apify_token,
                                               read_timeout=SHORT_READ_TIMEOUT),
        "AIRFLOW_CONN_TEMPLATE_BUILDS_SHORT": conn_value("template_builds", emu.base_url, emu.templates_token,
                                                         read_timeout=SHORT_READ_TIMEOUT),
    }


def secret_env(emu: Any) -> dict[str, str]:
    """Default connections carrying the recognisable secret tokens (registered with the emulator)."""
    emu.add_apify_token(SECRET_APIFY, username="secret-user")
    emu.add_template_token(SECRET_TEMPLATES, namespace="secret-ns")
    return {
        "AIRFLOW_CONN_APIFY_DEFAULT": conn_value("apify", emu.base_url, SECRET_APIFY),
        "AIRFLOW_CONN_TEMPLATE_BUILDS_DEFAULT": conn_value("template_builds", emu.base_url, SECRET_TEMPLATES),
    }

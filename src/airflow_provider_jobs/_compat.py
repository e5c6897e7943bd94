"""Every Airflow name the package uses, importable on Airflow 3.0 through 3.3.

Airflow 3 moved its public API into the task SDK (``airflow.sdk``, the package
``apache-airflow-task-sdk``: 1.0 ships with Airflow 3.0, 1.1 with 3.1, 1.2 with 3.2, 1.3 with 3.3)
over several minor releases. The package imports Airflow names from here only. Each block tries
the modern path first, so new releases never see a deprecated import (Airflow 3.2+ warns with
``DeprecatedImportWarning`` on the old paths), and falls back to where the name lived before;
the comment on each block says from which release on the modern path exists.

Features that cannot exist on an old release are detected here too, never by an ImportError at
the call site: :func:`supports` answers for a :class:`Feature` and logs its absence once per
process. What each missing feature means for users is in :data:`MISSING_FEATURE_EFFECT`.
"""

from __future__ import annotations

import logging
import threading
from enum import Enum
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import airflow

# Names every Airflow 3 release has at its modern path (task SDK >= 1.0).
from airflow.sdk import (
    BaseNotifier,
    BaseOperator,
    BaseOperatorLink,
    BaseSensorOperator,
    Context,
    ObjectStoragePath,  # checked on 3.0.6 too (airflow.io.path re-exports this class there)
    PokeReturnValue,
    get_current_context,
)
from airflow.sdk.execution_time.xcom import XCom  # the configured XCom backend (task SDK >= 1.0)
from airflow.sdk.log import mask_secret as _sdk_mask_secret  # 3.0 resolves it lazily to the same function

# The deferral API still lives in core on every 3.x release (3.3 has no airflow.sdk alias).
from airflow.triggers.base import BaseTrigger, TriggerEvent

try:  # Airflow >= 3.2 (task SDK 1.2): the exceptions moved to the SDK; the core names warn
    from airflow.sdk.exceptions import (
        AirflowException,
        AirflowFailException,
        AirflowNotFoundException,
        AirflowSensorTimeout,
        AirflowSkipException,
        AirflowTaskTimeout,
        TaskDeferralError,
        TaskDeferralTimeout,
        TaskDeferred,
    )
except ImportError:  # Airflow 3.0, 3.1: the task runner raises and catches the core classes
    from airflow.exceptions import (  # type: ignore[no-redef,attr-defined]
        AirflowException,
        AirflowFailException,
        AirflowNotFoundException,
        AirflowSensorTimeout,
        AirflowSkipException,
        AirflowTaskTimeout,
        TaskDeferralError,
        TaskDeferralTimeout,
        TaskDeferred,
    )

try:  # Airflow >= 3.2 (task SDK 1.2)
    from airflow.sdk import conf
except ImportError:  # Airflow 3.0, 3.1
    from airflow.configuration import conf  # type: ignore[no-redef,attr-defined,assignment]

try:  # Airflow >= 3.2 (task SDK 1.2)
    from airflow.sdk.types import TaskInstanceKey
except ImportError:  # Airflow 3.0, 3.1
    from airflow.models.taskinstancekey import TaskInstanceKey  # type: ignore[no-redef,attr-defined,assignment]

try:  # Airflow >= 3.3 (task SDK 1.3): tells the supervisor without blocking the event loop
    from airflow.sdk.log import amask_secret as _sdk_amask_secret
except ImportError:  # Airflow 3.0 - 3.2
    _sdk_amask_secret = None  # type: ignore[assignment]

try:  # Airflow >= 3.1 (task SDK 1.1): get_connection and the async aget_connection
    from airflow.sdk import BaseHook
except ImportError:  # Airflow 3.0: the core hook, which has no aget_connection
    from airflow.hooks.base import BaseHook as _CoreBaseHook  # type: ignore[attr-defined]

    class BaseHook(_CoreBaseHook):  # type: ignore[no-redef]
        """Airflow 3.0's ``BaseHook`` with the ``aget_connection`` that 3.1 added."""

        @classmethod
        async def aget_connection(cls, conn_id: str) -> Any:
            """Return the connection ``conn_id`` from a worker thread, as 3.1's does.

            Airflow 3.0's triggerer answers a sync request only from outside its event loop
            (``async_to_sync``), so the lookup runs in asgiref's thread.

            :param conn_id: the connection id.
            """
            from asgiref.sync import sync_to_async

            return await sync_to_async(cls.get_connection)(conn_id)


if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "AIRFLOW_VERSION",
    "AirflowException",
    "AirflowFailException",
    "AirflowNotFoundException",
    "AirflowSensorTimeout",
    "AirflowSkipException",
    "AirflowTaskTimeout",
    "BaseHook",
    "BaseNotifier",
    "BaseOperator",
    "BaseOperatorLink",
    "BaseSensorOperator",
    "BaseTrigger",
    "Context",
    "Feature",
    "MISSING_FEATURE_EFFECT",
    "ObjectStoragePath",
    "PokeReturnValue",
    "TaskDeferralError",
    "TaskDeferralTimeout",
    "TaskDeferred",
    "TaskInstanceKey",
    "TriggerEvent",
    "XCom",
    "amask_secret",
    "conf",
    "connection_not_found_types",
    "get_current_context",
    "mask_secret",
    "object_storage_path",
    "openlineage_classes",
    "supports",
]

log = logging.getLogger(__name__)


def _version(text: str) -> tuple[int, int, int]:
    """``"3.0.6"`` -> ``(3, 0, 6)``; pre-release and local parts are ignored."""
    parts: list[int] = []
    for piece in text.split(".")[:3]:
        digits = ""
        for char in piece:
            if not char.isdigit():
                break
            digits += char
        parts.append(int(digits or 0))
    while len(parts) < 3:
        parts.append(0)
    return parts[0], parts[1], parts[2]


AIRFLOW_VERSION = _version(airflow.__version__)
"""The running Airflow's version as ``(major, minor, patch)``, for messages and tests."""


class Feature(str, Enum):
    """Airflow features the provider uses where the running release has them."""

    TRIGGER_ON_KILL = "trigger_on_kill"
    """``BaseTrigger.on_kill``: the triggerer calls it when a user marks a deferred task failed or
    clears it (Airflow >= 3.3)."""
    TASK_STATE_STORE = "task_state_store"
    """``context["task_state_store"]``: state that survives a task's retries (Airflow >= 3.3)."""


def _has_task_state_store() -> bool:
    keys = getattr(Context, "__required_keys__", frozenset()) | getattr(Context, "__optional_keys__", frozenset())
    return "task_state_store" in keys


_AVAILABLE: dict[Feature, bool] = {
    Feature.TRIGGER_ON_KILL: "on_kill" in vars(BaseTrigger),
    Feature.TASK_STATE_STORE: _has_task_state_store(),
}

MISSING_FEATURE_EFFECT: dict[Feature, str] = {
    Feature.TRIGGER_ON_KILL: (
        "the triggerer does not call trigger.on_kill before Airflow 3.3, so marking a deferred task "
        "failed or clearing it does not abort its job; the trigger's deadline, Airflow's defer "
        "timeout and on_failure_callback notifiers still do"
    ),
    Feature.TASK_STATE_STORE: (
        "there is no task_state_store before Airflow 3.3, so reattach cannot find the job a previous "
        "try left running; a retry starts a new job (the previous try's on_kill or its notifier "
        "aborts the old one when it can)"
    ),
}

_reported: set[Feature] = set()
_reported_lock = threading.Lock()


def supports(feature: Feature) -> bool:
    """Return whether the running Airflow has ``feature``; log once per process when it has not.

    :param feature: the feature the caller is about to use.
    """
    if _AVAILABLE[feature]:
        return True
    with _reported_lock:
        first = feature not in _reported
        _reported.add(feature)
    if first:
        log.info(
            "Airflow %s: %s is not available and is skipped: %s.",
            airflow.__version__,
            feature.value,
            MISSING_FEATURE_EFFECT[feature],
        )
    return False


def mask_secret(value: str, name: str | None = None) -> None:
    """Register ``value`` with Airflow's secret masker (task logs show ``***`` instead).

    :param value: the secret.
    :param name: the field it came from, if any (Airflow masks some names only when sensitive).
    """
    try:
        _sdk_mask_secret(value, name)
    except Exception:  # pragma: no cover - masking must never break a request
        log.debug("registering a secret with the masker failed", exc_info=True)


async def amask_secret(value: str, name: str | None = None) -> None:
    """Async twin of :func:`mask_secret`, for the triggerer's event loop.

    The sync version talks to the supervisor with a blocking send, which deadlocks (3.3) or fails
    (3.0 - 3.2: ``async_to_sync`` refuses the event loop's thread) in a triggerer. Airflow 3.3 has
    an async version; before it, the sync one runs in asgiref's thread, whose blocking send the
    triggerer's loop serves.

    :param value: the secret.
    :param name: the field it came from, if any.
    """
    try:
        if _sdk_amask_secret is not None:
            await _sdk_amask_secret(value, name)
            return
        from asgiref.sync import sync_to_async

        sync_mask: Callable[[str, str | None], None] = _sdk_mask_secret
        await sync_to_async(sync_mask)(value, name)
    except Exception:  # pragma: no cover - masking must never break a request
        log.debug("registering a secret with the masker failed", exc_info=True)


def connection_not_found_types() -> tuple[type[BaseException], ...]:
    """The exception types Airflow raises for an undefined connection id."""
    return (AirflowNotFoundException,)


def openlineage_classes() -> tuple[Any, Any] | None:
    """``(OperatorLineage, Dataset)`` when apache-airflow-providers-openlineage is installed, else ``None``.

    Imported when called (at the end of a task that reports lineage), never when the provider is
    imported: without the OpenLineage provider nothing is imported, and with it DAG parsing does not
    pay for the OpenLineage client. ``Dataset`` comes through the common-compat provider, which the
    OpenLineage provider requires, as official providers import it.
    """
    try:
        from airflow.providers.common.compat.openlineage.facet import Dataset
        from airflow.providers.openlineage.extractors import OperatorLineage
    except ImportError:
        return None
    return OperatorLineage, Dataset


def object_storage_path(url: str) -> ObjectStoragePath:
    """An ``ObjectStoragePath`` for ``url``, where a ``file://`` URL becomes its local path.

    Airflow 3.0's ``ObjectStoragePath`` refuses ``file://`` URLs under universal-pathlib 0.3 (the
    release the lowest constraints pin): "detected protocol file which is incompatible". A plain
    local path works on every release and reaches the same local filesystem.

    :param url: a URL (``s3://conn@bucket/key``, ``file:///data/x``) or a local path.
    """
    if url.startswith("file://"):
        parts = urlsplit(url)
        if parts.netloc in ("", "localhost"):
            return ObjectStoragePath(unquote(parts.path))
    return ObjectStoragePath(url)

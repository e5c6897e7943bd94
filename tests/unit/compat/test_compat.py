"""``_compat`` offers every Airflow name the package needs, from the newest path the running Airflow has.

The lowest supported Airflow (``scripts/_lowest.sh``) runs these tests too: there the fallbacks
are taken, here (the newest Airflow) the modern paths.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import threading
from typing import Any

import pytest

from airflow_provider_jobs import _compat
from airflow_provider_jobs._compat import AIRFLOW_VERSION, Feature, supports

# name -> (modern module, the release from which it has the name, the module before that release)
PATHS = {
    "BaseHook": ("airflow.sdk", (3, 1, 0), "airflow.hooks.base"),
    **{
        name: ("airflow.sdk.exceptions", (3, 2, 0), "airflow.exceptions")
        for name in (
            "AirflowException",
            "AirflowFailException",
            "AirflowNotFoundException",
            "AirflowSensorTimeout",
            "AirflowSkipException",
            "AirflowTaskTimeout",
            "TaskDeferralError",
            "TaskDeferralTimeout",
            "TaskDeferred",
        )
    },
    "conf": ("airflow.sdk", (3, 2, 0), "airflow.configuration"),
    "TaskInstanceKey": ("airflow.sdk.types", (3, 2, 0), "airflow.models.taskinstancekey"),
    **{
        name: ("airflow.sdk", (3, 0, 0), "")
        for name in (
            "BaseOperator",
            "BaseSensorOperator",
            "BaseNotifier",
            "BaseOperatorLink",
            "PokeReturnValue",
            "Context",
            "get_current_context",
        )
    },
    "XCom": ("airflow.sdk.execution_time.xcom", (3, 0, 0), ""),
    "BaseTrigger": ("airflow.triggers.base", (3, 0, 0), ""),
    "TriggerEvent": ("airflow.triggers.base", (3, 0, 0), ""),
}


def test_every_exported_name_is_defined() -> None:
    missing = [name for name in _compat.__all__ if getattr(_compat, name, None) is None]
    assert missing == []
    assert set(PATHS) <= set(_compat.__all__)


@pytest.mark.parametrize("name", sorted(PATHS))
def test_a_name_comes_from_the_modern_path_where_the_release_has_it_else_from_the_old_one(name: str) -> None:
    modern, since, old = PATHS[name]
    module_name = modern if AIRFLOW_VERSION >= since else old
    expected = getattr(__import__(module_name, fromlist=[name]), name)
    if name == "BaseHook" and module_name == old:  # 3.0: the core hook plus 3.1's aget_connection
        assert issubclass(_compat.BaseHook, expected) and "aget_connection" in vars(_compat.BaseHook)
    else:
        assert getattr(_compat, name) is expected


def test_importing_it_uses_no_deprecated_airflow_path() -> None:
    code = (
        "import warnings, airflow, airflow.sdk\n"
        "with warnings.catch_warnings(record=True) as seen:\n"
        "    warnings.simplefilter('always')\n"
        "    import airflow_provider_jobs._compat\n"
        "print([f'{w.category.__name__}: {w.message}' for w in seen if 'deprecat' in str(w.message).lower()\n"
        "       or w.category.__name__ == 'DeprecatedImportWarning'])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_the_exceptions_keep_airflows_hierarchy() -> None:
    assert issubclass(_compat.AirflowFailException, _compat.AirflowException)
    assert issubclass(_compat.AirflowSkipException, _compat.AirflowException)
    assert issubclass(_compat.AirflowSensorTimeout, _compat.AirflowException)
    assert issubclass(_compat.TaskDeferralTimeout, _compat.AirflowException)
    # BaseException: an `except Exception` in provider code must not swallow them
    assert not issubclass(_compat.AirflowTaskTimeout, Exception)
    assert not issubclass(_compat.TaskDeferred, Exception)
    assert _compat.connection_not_found_types() == (_compat.AirflowNotFoundException,)


@pytest.mark.parametrize("feature", list(Feature))
def test_feature_detection_matches_the_release_that_added_it(feature: Feature) -> None:
    assert _compat._AVAILABLE[feature] is (AIRFLOW_VERSION >= (3, 3, 0))


def test_a_missing_feature_is_logged_once_per_process(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(_compat._AVAILABLE, Feature.TRIGGER_ON_KILL, False)
    monkeypatch.setattr(_compat, "_reported", set())
    caplog.set_level(logging.INFO, logger=_compat.__name__)
    assert [supports(Feature.TRIGGER_ON_KILL) for _ in range(3)] == [False, False, False]
    lines = [r.getMessage() for r in caplog.records if r.name == _compat.__name__]
    assert len(lines) == 1
    assert "trigger_on_kill is not available" in lines[0] and "Airflow 3.3" in lines[0]


def test_an_available_feature_logs_nothing(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setitem(_compat._AVAILABLE, Feature.TASK_STATE_STORE, True)
    caplog.set_level(logging.INFO, logger=_compat.__name__)
    assert supports(Feature.TASK_STATE_STORE) is True
    assert not [r for r in caplog.records if r.name == _compat.__name__]


def test_amask_secret_without_the_async_sdk_function_masks_off_the_event_loop_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[Any, ...]] = []

    def record(value: str, name: str | None = None) -> None:
        calls.append((value, name, threading.current_thread() is threading.main_thread()))

    monkeypatch.setattr(_compat, "_sdk_amask_secret", None)  # Airflow < 3.3
    monkeypatch.setattr(_compat, "_sdk_mask_secret", record)
    asyncio.run(_compat.amask_secret("s3cr3t-value", "password"))
    assert calls == [("s3cr3t-value", "password", False)]


def test_mask_secret_never_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(value: str, name: str | None = None) -> None:
        raise RuntimeError("masker unavailable")

    monkeypatch.setattr(_compat, "_sdk_mask_secret", broken)
    monkeypatch.setattr(_compat, "_sdk_amask_secret", None)
    _compat.mask_secret("s3cr3t-value")
    asyncio.run(_compat.amask_secret("s3cr3t-value"))


def test_the_hook_base_reads_connections_sync_and_async(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_COMPAT_PROBE", '{"conn_type": "apify", "host": "http://127.0.0.1:9", "password": "pw-123456"}')
    conn = _compat.BaseHook.get_connection("compat_probe")
    aconn = asyncio.run(_compat.BaseHook.aget_connection("compat_probe"))
    assert (conn.host, conn.password) == (aconn.host, aconn.password) == ("http://127.0.0.1:9", "pw-123456")
    with pytest.raises(_compat.connection_not_found_types()):
        _compat.BaseHook.get_connection("compat_probe_undefined")


@pytest.mark.parametrize(
    ("text", "expected"), [("3.0.6", (3, 0, 6)), ("3.3.2", (3, 3, 2)), ("3.4.0b2", (3, 4, 0)), ("3.1", (3, 1, 0))]
)
def test_version_parsing(text: str, expected: tuple[int, int, int]) -> None:
    assert _compat._version(text) == expected

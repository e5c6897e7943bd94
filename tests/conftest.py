"""Test set-up shared by the whole suite.

Airflow reads its configuration at import time, so the environment is prepared here, before
any test module imports Airflow: a throw-away AIRFLOW_HOME, no example DAGs, unit-test mode.
"""

from __future__ import annotations

import os
import tempfile

_HOME = tempfile.mkdtemp(prefix="airflow-provider-jobs-home-")
os.environ["AIRFLOW_HOME"] = _HOME
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", os.path.join(_HOME, "dags"))
os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO")

import logging  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402
from _support import APIFY_TOKEN, TEMPLATES_TOKEN, FakeClock, Recorder, conn_json  # noqa: E402

try:
    from _pytest.nodeid import coerce_node_id  # pytest >= 9.2: structured node ids
except ImportError:  # older pytest: pytest-xdist's own loadgroup suffix works
    coerce_node_id = None  # type: ignore[assignment]



def pytest_configure(config: pytest.Config) -> None:
    # Airflow's deprecated import paths must not be used by the provider: fail on their warning
    # (Airflow >= 3.1 has the class; 3.0, run by scripts/test-lowest.sh, has only the old paths).
    from airflow.utils import deprecation_tools

    if hasattr(deprecation_tools, "DeprecatedImportWarning"):
        config.addinivalue_line(
            "filterwarnings", "error::airflow.utils.deprecation_tools.DeprecatedImportWarning"
        )


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The live-stack tests (one xdist group, ~3 minutes on one worker) go first, so that the other
    # worker's share runs beside them rather than after them. Same order on every worker.
    items.sort(key=lambda item: 0 if item.get_closest_marker("xdist_group") else 1)
    # pytest >= 9.2 keeps node ids structured: pytest-xdist's --dist loadgroup still writes its
    # "@group" suffix to the legacy `_nodeid`, which is ignored, so `xdist_group` stopped grouping
    # (pytest-dev/pytest-xdist#1386) and each worker started its own live stack. Re-apply the suffix.
    if coerce_node_id is None or not getattr(config.option, "loadgroup", False):
        return
    for item in items:
        names = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                        for m in item.iter_markers("xdist_group")})
        if names and "@" not in item.nodeid:
            item._id = coerce_node_id(f"{item.nodeid}@{'_'.join(names)}")


@pytest.fixture
def mock_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    """Define apify_default and template_builds_default pointing at MOCK_BASE (no server)."""
    monkeypatch.setenv("AIRFLOW_CONN_APIFY_DEFAULT", conn_json("apify", APIFY_TOKEN))
    monkeypatch.setenv("AIRFLOW_CONN_TEMPLATE_BUILDS_DEFAULT", conn_json("template_builds", TEMPLATES_TOKEN))


@pytest.fixture
def recorder() -> Recorder:
    """A scripted MockTransport handler."""
    return Recorder()


@pytest.fixture
def assert_no_secret(caplog: pytest.LogCaptureFixture) -> Callable[..., None]:
    """Assert that neither test token appears in the given texts nor in captured logs."""

    def check(*texts: Any) -> None:
        corpus = [str(t) for t in texts] + [r.getMessage() for r in caplog.records]
        for text in corpus:
            for token in (APIFY_TOKEN, TEMPLATES_TOKEN):
                assert token not in text, f"token leaked into: {text[:200]!r}"

    caplog.set_level(logging.DEBUG)
    return check


@pytest.fixture
def fake_clock() -> Iterator[FakeClock]:
    """A fake monotonic clock with a sleep that only advances it."""
    yield FakeClock()


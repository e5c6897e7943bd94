"""Set-up of the reliability and security suite (tests/reliability).

* ``tests/`` and ``tests/e2e`` go on ``sys.path`` so the shared helpers
  (``_support``, ``_seed``, ``_kinds``) and this folder's own modules import by name.
* ``RELIABILITY_FULL=1`` switches the slow variants on (Retry-After HTTP dates in the future,
  1 s Retry-After on every kill path, every SIGTERM scenario); the default stays fast.
* ``RELIABILITY_RESULTS=<file>`` makes the session write every test's outcome, duration and
  recorded figures (``record_property``) to a JSON file (under xdist, the controller writes it):
  ``report.py`` builds RELIABILITY.md from it.
* ``rel_run_dag`` runs DAGs with ``dag.test()`` in a subprocess against the session emulator
  (``tests/_dagrun.py``, like ``tests/e2e``'s ``run_dag``, with several DAGs per process).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent
for _path in (HERE, TESTS / "e2e", TESTS):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from _dagrun import Finished, run_dags  # noqa: E402
from _rel import FAST, FULL  # noqa: E402

_RESULTS: list[dict[str, Any]] = []


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "rel_e2e: runs real DAGs with dag.test() in a subprocess")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # Under xdist the controller receives every worker's reports (user properties included):
    # it alone records them.
    if not os.environ.get("RELIABILITY_RESULTS") or os.environ.get("PYTEST_XDIST_WORKER"):
        return
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        _RESULTS.append({
            "nodeid": report.nodeid,
            "outcome": report.outcome,
            "duration": round(report.duration, 3),
            "properties": {k: v for k, v in report.user_properties},
            "longrepr": str(report.longrepr)[-1500:] if report.outcome == "failed" else None,
        })


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    target = os.environ.get("RELIABILITY_RESULTS")
    if target and not os.environ.get("PYTEST_XDIST_WORKER"):
        Path(target).write_text(json.dumps({"full": FULL, "results": _RESULTS}, default=str))


@pytest.fixture
def fast_policy() -> Any:
    """The fast retry policy the matrices pass to hooks (3 retries, 10-50 ms backoff)."""
    return FAST


# ------------------------------------------------------------------------ dag.test() runs
@pytest.fixture(scope="session")
def rel_airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A temporary AIRFLOW_HOME with a migrated SQLite DB for this folder's DAG runs."""
    home = tmp_path_factory.mktemp("reliability-airflow-home")
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(HERE / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "PYTHONPATH": os.pathsep.join([str(HERE / "dags"), str(TESTS / "e2e" / "dags"),
                                       os.environ.get("PYTHONPATH", "")]),
    }
    env.pop("RELIABILITY_RESULTS", None)
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], env=env, check=True, capture_output=True, timeout=300)
    yield env


@pytest.fixture
def rel_run_dag(rel_airflow_home: dict[str, str], jobs_emulator: Any) -> Callable[..., Finished]:
    """Run DAGs of one file with ``dag.test()`` in one subprocess; optionally SIGTERM it when ``kill_when()``."""

    def run(dag_file: str | Path, *dag_ids: str, env: dict[str, str] | None = None,
            kill_when: Callable[[], bool] | None = None, timeout: float = 180) -> Finished:
        full_env = {**rel_airflow_home, **jobs_emulator.connection_env(), **(env or {})}
        return run_dags(dag_file, dag_ids, env=full_env, kill_when=kill_when, timeout=timeout, poll=0.02)

    return run

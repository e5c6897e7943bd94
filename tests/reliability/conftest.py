"""Set-up of the reliability and security suite (tests/reliability).

* ``tests/`` and ``tests/e2e`` go on ``sys.path`` so the shared helpers
  (``_support``, ``_seed``, ``_kinds``) and this folder's own modules import by name.
* ``RELIABILITY_FULL=1`` switches the slow variants on (Retry-After HTTP dates in the future,
  1 s Retry-After on every kill path, every SIGTERM scenario); the default stays fast.
* ``RELIABILITY_RESULTS=<file>`` makes the session write every test's outcome, duration and
  recorded figures (``record_property``) to a JSON file (under xdist, the controller writes it):
  ``report.py`` builds RELIABILITY.md from it.
* ``rel_run_dag`` runs DAGs with ``dag.test()`` in a subprocess against the session emulator
  (like ``tests/e2e``'s ``run_dag``, with several DAGs per process and rendered fields in the report).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent
for _path in (HERE, TESTS / "e2e", TESTS):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

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
@dataclass
class DagRun:
    """One DAG's result, from the runner's report."""

    dag_id: str
    state: str
    tasks: dict[str, dict[str, Any]]
    output: str
    seconds: float

    def state_of(self, task_id: str) -> str:
        return str(self.tasks[task_id]["state"])

    def xcom(self, task_id: str, key: str = "return_value") -> Any:
        return self.tasks.get(task_id, {}).get("xcom", {}).get(key)


@dataclass
class ProcessResult:
    """What one runner process did: its full output and each DAG's report."""

    output: str
    returncode: int
    dags: dict[str, DagRun] = field(default_factory=dict)
    events: dict[str, float] = field(default_factory=dict)


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
def rel_run_dag(rel_airflow_home: dict[str, str], jobs_emulator: Any) -> Callable[..., ProcessResult]:
    """Run DAGs of one file with ``dag.test()`` in one subprocess; optionally SIGTERM it when ``kill_when()``."""

    def run(dag_file: str | Path, *dag_ids: str, env: dict[str, str] | None = None,
            kill_when: Callable[[], bool] | None = None, timeout: float = 180) -> ProcessResult:
        full_env = {**rel_airflow_home, **jobs_emulator.connection_env(), **(env or {})}
        proc = subprocess.Popen(
            [sys.executable, str(HERE / "_runner.py"), str(dag_file), *dag_ids],
            env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        started = time.monotonic()
        events: dict[str, float] = {}
        if kill_when is not None:
            while proc.poll() is None and not kill_when() and time.monotonic() - started < timeout:
                time.sleep(0.02)
            if proc.poll() is None:
                events["sigterm"] = time.monotonic()
                proc.send_signal(signal.SIGTERM)
        try:
            output, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
            raise AssertionError(f"{dag_ids} did not finish in {timeout} s:\n{output[-4000:]}") from None
        result = ProcessResult(output, proc.returncode, events=events)
        segment: list[str] = []
        for line in output.splitlines():
            if line.startswith("REL-BEGIN "):
                segment = []
            elif line.startswith("REL-REPORT "):
                data = json.loads(line[len("REL-REPORT "):])
                result.dags[data["dag_id"]] = DagRun(data["dag_id"], data["state"], data["tasks"],
                                                     "\n".join(segment), data["seconds"])
            else:
                segment.append(line)
        missing = [d for d in dag_ids if d not in result.dags]
        if missing:
            raise AssertionError(f"no report for {missing} (exit {proc.returncode}):\n{output[-6000:]}")
        return result

    return run

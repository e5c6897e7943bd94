"""The one DAG runner: run DAGs of one file with ``dag.test()`` in a subprocess and read each DAG's report.

Used by the end-to-end tests (``tests/e2e``), the reliability tests (``tests/reliability``) and the
abort benchmark (``benchmarks/bench_abort.py``). Both halves live here:

* the subprocess: ``python tests/_dagrun.py <dag_file> <dag_id> [<dag_id> ...]`` runs each DAG with
  ``dag.test()``, so that real signals (SIGTERM) and ``execution_timeout`` (SIGALRM) reach a task
  runner exactly as on a worker; several DAGs share one process, so Airflow is imported once. Before
  each DAG it prints ``DAGRUN-BEGIN <dag_id>``, after it ``DAGRUN-REPORT {"dag_id", "state", "seconds",
  "tasks": {task_id: {"state", "try_number", "xcom": {...}, "rendered": {...}}}}``, read from the
  metadata DB;
* the caller: :func:`run_dags` starts that process (optionally SIGTERMs it when ``kill_when()``),
  waits for it and returns its output and each DAG's run (:func:`read_reports`).

The runner processes are forked from a warm one (``tests/_dagfork.py``; ``DAGRUN_FORK=0``: a fresh
interpreter each).

Imported as ``_dagrun`` (tests/ is on sys.path under pytest; the benchmarks add it). No Airflow import
at module level: the callers' processes need not load Airflow.
"""

from __future__ import annotations

import importlib.util
import json
import re
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _dagfork import RUNNER, serve, start_runner  # noqa: F401 (RUNNER: imported from here by the benchmarks)

BEGIN = "DAGRUN-BEGIN "
REPORT = "DAGRUN-REPORT "


# ------------------------------------------------------------------------ the caller's side
_STAMP = re.compile(r"\[\d{4}-\d\d-\d\d([ T])")
"""The start of a log handler's line: the date, then a space or a ``T`` depending on the handler."""


@dataclass
class DagRun:
    """One DAG's run, from its report: state, tasks (state, try number, XComs, rendered fields), output."""

    dag_id: str
    state: str
    tasks: dict[str, dict[str, Any]]
    output: str
    """What the process printed while this DAG ran."""
    seconds: float

    def state_of(self, task_id: str) -> str:
        """The final state of ``task_id``."""
        return str(self.tasks[task_id]["state"])

    def xcom(self, task_id: str, key: str = "return_value") -> Any:
        """The XCom ``key`` that ``task_id`` pushed (``None`` if none)."""
        return self.tasks.get(task_id, {}).get("xcom", {}).get(key)

    def times_logged(self, text: str) -> int:
        """How many times one log handler shows ``text`` (the most of any handler).

        Airflow 3.0's ``dag.test()`` writes each task log record through two handlers, told apart by
        their timestamps (``[2026-01-01 10:00:00,000]`` and ``[2026-01-01T10:00:00.000+0000]``); 3.1+
        through one. A record logged once is shown once by each handler that shows it.
        """
        per_handler: dict[str, int] = {}
        for line in self.output.splitlines():
            if text in line:
                stamp = _STAMP.match(line)
                style = stamp.group(1) if stamp else "-"
                per_handler[style] = per_handler.get(style, 0) + 1
        return max(per_handler.values(), default=0)


@dataclass
class Finished:
    """What one runner process did: its whole output, exit code, each DAG's run, and when it was killed."""

    output: str
    returncode: int
    dags: dict[str, DagRun] = field(default_factory=dict)
    events: dict[str, float] = field(default_factory=dict)


def read_reports(output: str) -> dict[str, DagRun]:
    """The DAG runs reported in a runner's output, by DAG id, each with the lines printed since its ``BEGIN``."""
    runs: dict[str, DagRun] = {}
    segment: list[str] = []
    for line in output.splitlines():
        if line.startswith(BEGIN):
            segment = []
        elif line.startswith(REPORT):
            data = json.loads(line[len(REPORT):])
            runs[data["dag_id"]] = DagRun(data["dag_id"], data["state"], data["tasks"], "\n".join(segment),
                                          data["seconds"])
        else:
            segment.append(line)
    return runs


def run_dags(dag_file: str | Path, dag_ids: Sequence[str], *, env: Mapping[str, str],
             kill_when: Callable[[], bool] | None = None, timeout: float = 180, poll: float = 0.05) -> Finished:
    """Run ``dag_ids`` of ``dag_file`` in one runner process and return what it did.

    :param dag_file: the DAG file
    :param dag_ids: the DAGs to run, in this order
    :param env: the process's whole environment (AIRFLOW_HOME, connections, ...)
    :param kill_when: checked every ``poll`` seconds while the process runs; once true, SIGTERM it
        (the time goes to ``events["sigterm"]``)
    :param timeout: seconds for the whole process (and for ``kill_when`` to become true)
    :param poll: seconds between two checks of ``kill_when``
    :raises AssertionError: the process did not finish in time, or a DAG gave no report
    """
    runner = start_runner([str(dag_file), *dag_ids], env)
    started = time.monotonic()
    events: dict[str, float] = {}
    if kill_when is not None:
        while runner.poll(0) is None and not kill_when() and time.monotonic() - started < timeout:
            runner.poll(poll)
        if runner.poll(0) is None:
            events["sigterm"] = time.monotonic()
            runner.signal(signal.SIGTERM)
    returncode = runner.poll(max(0.0, timeout - (time.monotonic() - started)))
    if returncode is None:
        runner.signal(signal.SIGKILL)
        runner.poll(30)
        output = runner.output()
        raise AssertionError(f"DAGs {list(dag_ids)} did not finish in {timeout} s:\n{output[-4000:]}")
    output = runner.output()
    done = Finished(output, returncode, read_reports(output), events)
    missing = [d for d in dag_ids if d not in done.dags]
    if missing:
        raise AssertionError(f"no report for DAGs {missing} (exit {returncode}):\n{output[-6000:]}")
    return done


# ------------------------------------------------------------------------ the subprocess
def _report(dag_id: str, run: Any, took: float) -> dict[str, Any]:
    from airflow.models import TaskInstance
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    report: dict[str, Any] = {"dag_id": dag_id, "state": str(run.state), "seconds": round(took, 2), "tasks": {}}
    tasks: dict[str, dict[str, Any]] = report["tasks"]
    with create_session() as session:
        for ti in session.query(TaskInstance).filter_by(dag_id=dag_id, run_id=run.run_id):
            tasks[ti.task_id] = {"state": str(ti.state), "try_number": ti.try_number, "xcom": {}, "rendered": {}}
        for row in session.query(XComModel).filter_by(dag_id=dag_id, run_id=run.run_id):
            value = XComModel.deserialize_value(row)
            tasks.setdefault(row.task_id, {"xcom": {}, "rendered": {}})["xcom"][row.key] = value
        for rtif in session.query(RenderedTaskInstanceFields).filter_by(dag_id=dag_id, run_id=run.run_id):
            tasks.setdefault(rtif.task_id, {"xcom": {}, "rendered": {}})["rendered"] = rtif.rendered_fields
    return report


def main(argv: Sequence[str]) -> None:
    """Load the DAG file ``argv[0]`` and run each DAG of ``argv[1:]`` with ``dag.test()``, printing its report."""
    path, dag_ids = argv[0], argv[1:]
    spec = importlib.util.spec_from_file_location(f"dags_under_test_{Path(path).stem}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    dags = {v.dag_id: v for v in vars(module).values() if type(v).__name__ == "DAG"}
    for dag_id in dag_ids:
        print(BEGIN + dag_id, flush=True)
        started = time.time()
        run = dags[dag_id].test()
        print(REPORT + json.dumps(_report(dag_id, run, time.time() - started), default=str), flush=True)


if __name__ == "__main__":
    if sys.argv[1:] == ["--fork-server"]:
        serve(main)
    else:
        main(sys.argv[1:])

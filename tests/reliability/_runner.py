"""Run DAGs of one file with ``dag.test()`` and print one JSON report per DAG (used by ``rel_run_dag``).

Usage: ``python _runner.py <dag_file> <dag_id> [<dag_id> ...]``. Before each DAG the runner prints
``REL-BEGIN <dag_id>``, after it ``REL-REPORT {"dag_id", "state", "seconds", "tasks": {task_id:
{"state", "try_number", "xcom": {...}, "rendered": {...}}}}``. Several DAGs share one process, so
Airflow is imported once.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from typing import Any


def _report(dag_id: str, run: Any, took: float) -> dict[str, Any]:
    from airflow.models import TaskInstance
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    report: dict[str, Any] = {"dag_id": dag_id, "state": str(run.state), "seconds": round(took, 2), "tasks": {}}
    with create_session() as session:
        for ti in session.query(TaskInstance).filter_by(dag_id=dag_id, run_id=run.run_id):
            report["tasks"][ti.task_id] = {"state": str(ti.state), "try_number": ti.try_number, "xcom": {},
                                           "rendered": {}}
        for row in session.query(XComModel).filter_by(dag_id=dag_id, run_id=run.run_id):
            value = XComModel.deserialize_value(row)
            report["tasks"].setdefault(row.task_id, {"xcom": {}, "rendered": {}})["xcom"][row.key] = value
        for rtif in session.query(RenderedTaskInstanceFields).filter_by(dag_id=dag_id, run_id=run.run_id):
            report["tasks"].setdefault(rtif.task_id, {"xcom": {}, "rendered": {}})["rendered"] = rtif.rendered_fields
    return report


def main() -> None:
    path, dag_ids = sys.argv[1], sys.argv[2:]
    spec = importlib.util.spec_from_file_location("rel_dags_under_test", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    dags = {v.dag_id: v for v in vars(module).values() if type(v).__name__ == "DAG"}
    for dag_id in dag_ids:
        print(f"REL-BEGIN {dag_id}", flush=True)
        started = time.time()
        run = dags[dag_id].test()
        report = _report(dag_id, run, time.time() - started)
        print("REL-REPORT " + json.dumps(report, default=str), flush=True)


if __name__ == "__main__":
    main()

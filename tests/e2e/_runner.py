"""Run one DAG of tests/e2e/dags with ``dag.test()`` and print a JSON report (used by the e2e tests).

Usage: python _runner.py <dag_file> <dag_id>. The last stdout line is
``E2E-REPORT {"state": ..., "tasks": {task_id: {"state", "try_number", "xcom": {...}}}}``.
Run in a subprocess so that real signals (SIGTERM) and ``execution_timeout`` (SIGALRM) reach a
task runner exactly as on a worker.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time


def main() -> None:
    path, dag_id = sys.argv[1], sys.argv[2]
    spec = importlib.util.spec_from_file_location(f"e2e_{dag_id}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    dags = {v.dag_id: v for v in vars(module).values() if type(v).__name__ == "DAG"}
    started = time.time()
    run = dags[dag_id].test()
    took = time.time() - started

    from airflow.models import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    report: dict = {"state": str(run.state), "seconds": round(took, 2), "tasks": {}}
    with create_session() as session:
        for ti in session.query(TaskInstance).filter_by(dag_id=dag_id, run_id=run.run_id):
            report["tasks"][ti.task_id] = {"state": str(ti.state), "try_number": ti.try_number, "xcom": {}}
        for row in session.query(XComModel).filter_by(dag_id=dag_id, run_id=run.run_id):
            value = XComModel.deserialize_value(row)
            report["tasks"].setdefault(row.task_id, {"xcom": {}})["xcom"][row.key] = value
    print("E2E-REPORT " + json.dumps(report, default=str), flush=True)


if __name__ == "__main__":
    main()

"""Run one DAG of ``benchmarks/dags`` with ``dag.test()`` (``python _dag_runner.py <file> <dag_id>``).

A real task runner in this process: SIGTERM reaches its ``_on_term`` handler and
``execution_timeout`` its SIGALRM, exactly as on a worker. Prints ``BENCH-DAG {"state": ...}`` last.
"""

from __future__ import annotations

import importlib.util
import json
import sys


def main() -> None:
    """Load the DAG file and run ``dag.test()``."""
    path, dag_id = sys.argv[1], sys.argv[2]
    spec = importlib.util.spec_from_file_location(f"bench_{dag_id}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    dags = {v.dag_id: v for v in vars(module).values() if type(v).__name__ == "DAG"}
    print("BENCH-DAG-START", flush=True)
    run = dags[dag_id].test()
    print("BENCH-DAG " + json.dumps({"state": str(run.state)}), flush=True)


if __name__ == "__main__":
    main()

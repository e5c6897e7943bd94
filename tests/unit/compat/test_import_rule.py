"""Only ``_compat`` imports Airflow: every other module takes Airflow's names from it."""

from __future__ import annotations

import ast
from pathlib import Path

import airflow_provider_jobs

PACKAGE = Path(airflow_provider_jobs.__file__).resolve().parent


def test_no_module_but_compat_imports_airflow() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "_compat.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else [])
            offenders += [f"{path.relative_to(PACKAGE)}:{node.lineno} {n}" for n in names
                          if n == "airflow" or n.startswith("airflow.")]
    assert offenders == []

"""The published metadata declares exactly what the package imports, and ships its licence."""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import metadata, requires
from pathlib import Path

import airflow_provider_jobs

DIST = "airflow-provider-jobs"
PACKAGE = Path(airflow_provider_jobs.__file__).resolve().parent
# Top-level import name -> the distribution that must be declared for it.
DECLARED_FOR = {
    "airflow": "apache-airflow",
    "asgiref": "asgiref",
    "httpx": "httpx",
    "pydantic": "pydantic",
    "starlette": "starlette",
    "uvicorn": "uvicorn",
}
# Imported only where the host provides it: the pytest plugin is loaded by pytest (entry point
# pytest11); the Airflow 3.0/3.1 connection form is built only where wtforms is installed.
HOSTED = {"pytest": {"emulator/pytest_plugin.py"}, "wtforms": {"hooks/_forms.py"}}


def _third_party_imports() -> dict[str, set[str]]:
    """Top-level third-party import name -> the package files importing it."""
    found: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != PACKAGE.name:
                    found.setdefault(top, set()).add(path.relative_to(PACKAGE).as_posix())
    return found


def _runtime_requirements() -> set[str]:
    names = set()
    for req in requires(DIST) or []:
        if "extra ==" not in req:
            names.add(re.split(r"[\s<>=!~;\[(]", req, maxsplit=1)[0].lower())
    return names


def test_every_third_party_import_is_a_declared_dependency_and_nothing_else_is() -> None:
    imports = _third_party_imports()
    for name, files in HOSTED.items():
        assert imports.pop(name, set()) <= files, f"{name} is imported outside {files}"
    assert set(imports) == set(DECLARED_FOR), f"undeclared or unknown imports: {imports}"
    assert _runtime_requirements() == set(DECLARED_FOR.values())


def test_linters_are_not_part_of_the_published_extras() -> None:
    extras = [req for req in requires(DIST) or [] if "extra ==" in req]
    assert extras, "the test extra is declared"
    assert not [req for req in extras if req.startswith(("ruff", "mypy"))]


def test_the_licence_files_ship_with_the_distribution() -> None:
    meta = metadata(DIST)
    assert meta["License-Expression"] == "Apache-2.0"
    assert {"LICENSE", "NOTICE"} <= set(meta.get_all("License-File") or [])
    classifiers = set(meta.get_all("Classifier") or [])
    assert "Framework :: Apache Airflow :: Provider" in classifiers
    assert any(c.startswith("Development Status ::") for c in classifiers)


def test_classifier_pythons_and_the_airflow_floor_are_the_ones_ci_installs() -> None:
    root = Path(__file__).resolve().parents[3]
    constraints = root / "constraints"
    meta = metadata(DIST)
    pythons = {c.rsplit(" ", 1)[-1] for c in meta.get_all("Classifier") or [] if re.fullmatch(r".*Python :: 3\.\d+", c)}
    assert pythons, "the classifiers name the Python versions"
    for py in pythons:  # the main suite's or the lowest-Airflow suite's pinned environment
        assert (constraints / f"constraints-{py}.txt").exists() or (constraints / f"constraints-lowest-{py}.txt").exists()
    floor = next(re.search(r">=([\d.]+)", r)[1] for r in requires(DIST) or [] if r.startswith("apache-airflow"))
    for path in constraints.glob("constraints-lowest-*.txt"):
        assert f"\napache-airflow=={floor}\n" in path.read_text(), f"{path.name} does not pin the floor {floor}"

"""House rules of the emulator package, checked on its source."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import airflow_provider_jobs.emulator as package

PACKAGE_DIR = Path(package.__file__).parent
REPO = PACKAGE_DIR.parents[2]
MODULES = sorted(PACKAGE_DIR.glob("*.py"))


def test_no_module_imports_airflow_even_indirectly() -> None:
    names = [f"airflow_provider_jobs.emulator.{p.stem}" for p in MODULES if p.stem != "__init__"]
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}: importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m == 'airflow' or m.startswith('airflow.')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"


def test_only_the_version_module_of_the_provider_is_imported() -> None:
    for path in MODULES:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                targets = [node.module]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            for target in targets:
                assert not target.startswith("airflow.") and target != "airflow", (
                    f"{path.name} imports {target}"
                )
                if target.startswith("airflow_provider_jobs"):
                    allowed = (
                        target.startswith("airflow_provider_jobs.emulator")
                        or target == "airflow_provider_jobs._version"
                    )
                    assert allowed, f"{path.name} imports {target}"


def test_modules_stay_small_and_typed() -> None:
    for path in MODULES:
        text = path.read_text()
        assert len(text.splitlines()) <= 420, f"{path.name} is too long"
        assert "from __future__ import annotations" in text, path.name


def test_no_real_looking_apify_tokens_anywhere() -> None:
    pattern = re.compile("apify" + "_api_" + "[A-Za-z0-9]{20}")
    files = [*MODULES, *Path(__file__).parent.glob("*.py"), REPO / "docs" / "emulator.md"]
    for path in files:
        if path.exists():
            assert not pattern.search(path.read_text()), path

"""The package passes ruff and mypy (configured in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("tool", [["ruff", "check", "src"], ["mypy", "src/airflow_provider_jobs"]])
def test_static_check(tool: list[str]) -> None:
    exe = Path(sys.executable).with_name(tool[0])
    if not exe.exists():
        pytest.skip(f"{tool[0]} is not installed in this environment")
    result = subprocess.run([str(exe), *tool[1:]], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]

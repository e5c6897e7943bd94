"""Import cost of the provider on top of ``airflow.sdk``, before and after the fixes.

Each sample is a fresh interpreter that imports ``airflow.sdk`` first and then times importing
every operator, sensor, notifier and trigger module of the provider (what a DAG file or the
triggerer pulls in). Best of several interpreters is the figure (import time only goes up with
noise); the median is shown too.

Two ways Python can find the code, both measured:

* **bytecode cached** (``.pyc`` present): how ``pip install`` leaves a package, and what a
  worker, the DAG processor or the triggerer sees; this is the figure the goal applies to;
* **no bytecode** (``PYTHONDONTWRITEBYTECODE=1`` and no ``__pycache__``): every interpreter
  compiles the provider's sources again. This dev container sets that variable, which is why
  imports measured here without care look ~30 ms slower.

"Before" is the current tree with the files the benchmark owner changed restored from
``BASE_COMMIT``; "after" is the working tree. Both are copies on ``PYTHONPATH`` in a temp dir.
One ``-X importtime`` run of the "after" tree gives the top self-times.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    BASE_COMMIT,
    PYTHON,
    base_commit_available,
    print_rows,
    source_tree,
    write_result,
)

MODULES = tuple(
    f"airflow_provider_jobs.{role}.{service}"
    for role in ("operators", "sensors", "notifications", "triggers")
    for service in ("apify", "template_builds")
)
GOAL_MS = 50.0
RUNS = int(os.environ.get("BENCH_IMPORT_RUNS", "5"))

CHILD = f"""
import json, sys, time
import airflow.sdk
t0 = time.perf_counter()
{chr(10).join(f"import {m}" for m in MODULES)}
took = time.perf_counter() - t0
import airflow_provider_jobs
print(json.dumps({{"ms": took * 1000, "file": airflow_provider_jobs.__file__}}))
"""

CONTEXT = """
import json, sys, time
import airflow.sdk
t0 = time.perf_counter()
import {module}
print(json.dumps({{"ms": (time.perf_counter() - t0) * 1000}}))
"""


def _env(path: Path | None, home: str) -> dict[str, str]:
    """Environment of a sample: ``path`` first on PYTHONPATH; never write bytecode (a tree copied
    without ``.pyc`` stays so; a compiled tree is read from its ``__pycache__``)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPYCACHEPREFIX"}
    env.update(AIRFLOW_HOME=home, AIRFLOW__CORE__LOAD_EXAMPLES="False", PYTHONDONTWRITEBYTECODE="1")
    if path is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(path), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def _sample(code: str, env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run([PYTHON, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def measure(path: Path, *, runs: int, home: str) -> dict[str, Any]:
    """Time the provider import in ``runs`` fresh interpreters with ``path`` first on PYTHONPATH."""
    env = _env(path, home)
    samples = []
    for _ in range(runs):
        result = _sample(CHILD, env)
        assert str(result["file"]).startswith(str(path)), result["file"]
        samples.append(result["ms"])
    return {"best_ms": min(samples), "median_ms": statistics.median(samples), "samples_ms": samples}


def importtime_top(path: Path, home: str, top: int = 12) -> list[dict[str, Any]]:
    """Self time of the slowest modules imported by the provider (``-X importtime``, bytecode cached)."""
    code = "import airflow.sdk, sys\nsys.stderr.write('=====MARK\\n')\n" + "\n".join(f"import {m}" for m in MODULES)
    out = subprocess.run([PYTHON, "-X", "importtime", "-c", code], env=_env(path, home),
                         capture_output=True, text=True, timeout=120)
    lines = out.stderr.split("=====MARK", 1)[-1].splitlines()
    rows: list[dict[str, Any]] = []
    for line in lines:
        if not line.startswith("import time:"):
            continue
        _, self_us, cumulative_us, name = (part.strip() for part in line.replace("import time:", "|", 1).split("|"))
        rows.append({"module": name.strip(), "self_ms": int(self_us) / 1000,
                     "cumulative_ms": int(cumulative_us) / 1000})
    rows.sort(key=lambda row: float(row["self_ms"]), reverse=True)
    return rows[:top]


def main() -> dict[str, Any]:
    """Run the import benchmark, print and save its figures."""
    home = tempfile.mkdtemp(prefix="bench-import-home-")
    work = Path(tempfile.mkdtemp(prefix="bench-import-trees-"))
    have_before = base_commit_available()
    cases: dict[str, dict[str, Any]] = {}
    for label, before in (("after", False), ("before", True)):
        if before and not have_before:
            continue
        for bytecode in (True, False):
            tree = source_tree(f"{label}-{'pyc' if bytecode else 'src'}", before=before, compiled=bytecode,
                               parent=work)
            key = f"{label}_{'bytecode' if bytecode else 'no_bytecode'}"
            cases[key] = measure(tree, runs=RUNS if label == "after" else max(3, RUNS - 2),
                                 home=home)
    after_tree = work / "after-pyc"
    context = {}
    for module in ("airflow.triggers.base", "apify_client"):
        env = _env(None, home)
        context[module] = min(_sample(CONTEXT.format(module=module), env)["ms"] for _ in range(3))
    top = importtime_top(after_tree, home)
    result = {
        "goal_ms": GOAL_MS,
        "runs": RUNS,
        "base_commit": BASE_COMMIT if have_before else None,
        "modules": list(MODULES),
        "cases": cases,
        "context_ms": context,
        "importtime_top": top,
    }
    rows: list[list[Any]] = [["case", "best", "median", "goal < 50 ms"]]
    for key, case in cases.items():
        rows.append([key, f"{case['best_ms']:.1f} ms", f"{case['median_ms']:.1f} ms",
                     "met" if case["best_ms"] < GOAL_MS else "MISSED"])
    print_rows("import cost on top of airflow.sdk (8 provider modules)", rows)
    print_rows("context (bytecode cached, best of 3)", [["module", "import"]] + [
        [m, f"{v:.1f} ms"] for m, v in context.items()])
    print_rows("importtime top self times (after, bytecode cached)", [["module", "self", "cumulative"]] + [
        [r["module"], f"{r['self_ms']:.2f} ms", f"{r['cumulative_ms']:.2f} ms"] for r in top])
    write_result("import", result)
    return result


if __name__ == "__main__":
    main()

"""The chaos matrix of RELIABILITY.md: ``pytest tests/live`` on a real Airflow stack, each test writing
its rows (event x job kind x executor: result, abort latency) to ``$LIVE_CHAOS_RESULTS`` (JSON lines,
``tests/live/_chaos.py``); this module runs it and renders the rows.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
KINDS = ("apify_run", "apify_build", "template_build")


def run_live(tmp: Path, workers: int) -> dict[str, Any]:
    """Run ``pytest tests/live`` (as CI does) and collect the chaos rows it records."""
    target = tmp / "chaos.jsonl"
    cmd = [sys.executable, "-m", "pytest", "tests/live", "-q", "-p", "no:cacheprovider", "-n", str(workers),
           "--dist", "loadgroup"]
    print(f">> live: {' '.join(cmd[2:])}", flush=True)
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, env={**os.environ, "LIVE_CHAOS_RESULTS": str(target)},
                          capture_output=True, text=True)
    seconds = time.monotonic() - started
    summary = next((ln for ln in reversed(proc.stdout.splitlines()) if " in " in ln and ("passed" in ln
                                                                                       or "failed" in ln)), "")
    if proc.returncode != 0:
        print(proc.stdout[-3000:], proc.stderr[-3000:], file=sys.stderr)
    rows = [json.loads(line) for line in target.read_text().splitlines()] if target.exists() else []
    print(f"   {summary.strip('= ')} (wall {seconds:.1f} s, {len(rows)} chaos rows)", flush=True)
    return {"summary": summary.strip("= "), "seconds": round(seconds, 1), "returncode": proc.returncode,
            "rows": rows}


def _cell(row: dict[str, Any] | None) -> str:
    if row is None:
        return "**✗ not run**"
    latency = row.get("latency_s")
    return row["result"] + ("" if latency is None else f", **{latency:.2f} s**")


def chaos_section(live: dict[str, Any] | None) -> str:
    """The matrix: one line per event (and executor), one column per job kind."""
    if not live:
        return "(not run: `--skip-live`)"
    lines: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for row in live["rows"]:
        label = row["event"] + (" — baseline `abort_on_process_death=False`" if row.get("baseline") else "")
        lines.setdefault((label, row["executor"]), {})[row["kind"]] = row
    out = ["| event | executor | Apify run | Apify build | template build |", "|---|---|---|---|---|"]
    for (label, executor), cells in lines.items():
        out.append(f"| {label} | {executor} | " + " | ".join(_cell(cells.get(k)) for k in KINDS) + " |")
    return "\n".join(out)


def live_run_line(live: dict[str, Any] | None) -> str:
    """The line of the runs table for the live suite."""
    return f"| `pytest tests/live -n 2` (a real stack, as in CI) | {live['summary']} | {live['seconds']} s |" \
        if live else ""

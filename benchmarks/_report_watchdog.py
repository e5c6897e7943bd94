"""Sections of RESULTS.md on a job whose task process dies: the watchdog's own figures
(``bench_watchdog.py`` -> ``results/watchdog.json``) and the two latencies measured on a real Airflow
stack (``pytest tests/live`` SIGKILL and node-loss tests -> ``results/live_chaos.jsonl``, one JSON row
per event x job kind x executor, ``tests/live/_chaos.py``), each against the baseline
``abort_on_process_death=False`` of the same DAG run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

LIVE_ROWS = "live_chaos.jsonl"
EVENTS = ("task process SIGKILL", "node loss")


def load_live(results: Path) -> list[dict[str, Any]]:
    """The chaos rows the live tests wrote (empty when they did not run)."""
    path = results / LIVE_ROWS
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None or seconds != seconds else f"{seconds * 1000:.0f} ms"


def summary_rows(watchdog: dict[str, Any] | None, live: list[dict[str, Any]]) -> list[list[Any]]:
    """Summary lines: death -> abort latency (bench), and the two live latencies vs the baseline."""
    rows: list[list[Any]] = []
    if watchdog:
        lat, base = watchdog["preload"]["latency"], watchdog["baseline"]
        rows.append(["7", f"task process SIGKILL -> abort p99 (watchdog, {lat['n']} deaths)", _ms(lat["p99"]),
                     f"no watchdog: {base['still_running']}/{base['runs']} runs still RUNNING "
                     f"{base['watched_s']:.0f} s later, {base['aborts']} aborts", "", "< 2 s",
                     "**met**" if lat["p99"] < 2 else "**MISSED**"])
    for tag, event in zip(("7'", "7''"), EVENTS, strict=True):
        guarded = [r for r in live if r["event"].startswith(event) and not r.get("baseline")]
        kept = [r for r in live if r["event"].startswith(event) and r.get("baseline")]
        if not guarded:
            continue
        worst = max(r["latency_s"] for r in guarded)
        goal = 2.0 if event == EVENTS[0] else guarded[0]["heartbeat_timeout_s"] + 45.0
        rows.append([tag, f"{guarded[0]['event']} on a real stack -> abort, worst of {len(guarded)} "
                     "(3 kinds x LocalExecutor/Celery)", f"{worst:.2f} s",
                     f"`abort_on_process_death=False`: {len(kept)}/{len(kept)} jobs not aborted within "
                     f"{min(r['watched_s'] for r in kept):.0f} s" if kept else "not measured", "",
                     f"< {goal:.0f} s", "**met**" if worst < goal else "**MISSED**"])
    return rows


def section(watchdog: dict[str, Any] | None, live: list[dict[str, Any]]) -> str:
    """The "task process death" section."""
    out = ["## 7. Task process death: the watchdog and the failure callback\n"]
    if live:
        out.append("On a real stack (`pytest tests/live`: api-server, scheduler, dag-processor, triggerer, "
                   "LocalExecutor and CeleryExecutor with a real Redis): one DAG run with a task per job kind and "
                   "executor, all killed at once; latency from the `kill()` to the abort's arrival in the emulator "
                   "journal. *Node loss* SIGKILLs the task process, its watchdog and its supervisor (and the whole "
                   "Celery worker): the scheduler fails the task after the heartbeat timeout and the DAG processor "
                   "runs the operator's `AbortOnFailure` callback. The baseline is the same DAG run's tasks with "
                   "`abort_on_process_death=False` (no provider support: Airflow alone never aborts the job).\n")
        out.append("| event | job kind | executor | abort latency | baseline (same run) |")
        out.append("|---|---|---|---|---|")
        for event in EVENTS:
            kept = {(r["kind"], r["executor"]): r for r in live if r["event"].startswith(event) and r.get("baseline")}
            for r in (r for r in live if r["event"].startswith(event) and not r.get("baseline")):
                base = kept.get((r["kind"], r["executor"]))
                out.append(f"| {r['event']} | {r['kind']} | {r['executor']} | {r['latency_s']:.2f} s | "
                           f"{base['result'] if base else 'not measured'} |")
        out.append("")
    if watchdog:
        out.append(f"In-process figures (`bench_watchdog.py`): a forked task process (Airflow loaded, the run started "
                   f"through the hook) SIGKILLed once its watchdog is armed, {watchdog['deaths_per_mode']} times per "
                   "mode; baseline in the same run: the same death without a watchdog.\n")
        rows = ["| mode | n | p50 | p99 | max | lost | watchdog VmRSS / Pss |", "|---|---|---|---|---|---|---|"]
        for name, key in (("HTTP core loaded at start (default)", "preload"), ("loaded on death", "on_death")):
            d = watchdog[key]
            lat, mem = d["latency"], d["memory"]
            rows.append(f"| {name} | {lat['n']} | {_ms(lat['p50'])} | {_ms(lat['p99'])} | {_ms(lat['max'])} | "
                        f"{d['lost']} | {mem['VmRSS']['p50']:.1f} MB / {mem['Pss']['p50']:.1f} MB |")
        base = watchdog["baseline"]
        rows.append(f"| no watchdog (baseline) | {base['runs']} | never | never | never | {base['runs']} | - |")
        start = watchdog["start"]
        out.append("\n".join(rows) + "\n")
        out.append(f"Start cost: `start_run` alone {_ms(start['start_run']['p50'])} (p50), with the watchdog "
                   f"{_ms(start['start_run_and_watchdog']['p50'])}; `release()` of an armed watchdog "
                   f"{_ms(start['release_armed']['p50'])}; CPU a watchdog spends to get armed "
                   f"{_ms(start['arming_cpu']['p50'])}.\n")
    return "\n".join(out)

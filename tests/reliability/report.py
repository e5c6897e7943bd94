"""Regenerate RELIABILITY.md from real runs: ``bash scripts/reliability.sh`` (this script, with .venv).

1. ``pytest tests/reliability`` exactly as CI runs it (two xdist workers): outcomes and wall time.
2. The fault and kill-path matrices again, ``--repeat`` times, with ``RELIABILITY_FULL=1`` (Retry-After
   dates in the future, a 1 s Retry-After on every kill path, SIGTERM in ``dag.test()`` for every job
   kind under 429 and 503, 400 hypothesis examples per argument).
3. ``load.py``: 1,000 concurrent aborts under 429s and 500 triggers in one event loop, against an
   emulator in its own process.
4. RELIABILITY.md from the JSON results of 1-3 (nothing is copied from earlier runs).

Options: ``--repeat N`` (default 2), ``--skip-load``, ``--output PATH``, ``--workers N`` (default 2),
``--results PATH`` (also save the raw results as JSON), ``--from-results PATH`` (render saved results again).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
FIXES = HERE / "FIXES.md"
"""The bugs this suite found and the fixes (hand-written; the rest of RELIABILITY.md is measured)."""
for _path in (HERE, ROOT / "tests" / "e2e", ROOT / "tests"):
    sys.path.insert(0, str(_path))
from _chaos_matrix import chaos_section, live_run_line, run_live  # noqa: E402

SHORT = {"ok": "ok", "RateLimitError": "RateLimit", "ServerError": "Server", "TransportError": "Transport",
         "UnexpectedResponseError": "Unexpected", "StartOutcomeUnknownError": "OutcomeUnknown"}


def run_pytest(label: str, args: list[str], env: dict[str, str], workers: int, tmp: Path) -> dict[str, Any]:
    target = tmp / f"{label}.json"
    full_env = {**os.environ, **env, "RELIABILITY_RESULTS": str(target)}
    cmd = [sys.executable, "-m", "pytest", *args, "-q", "-p", "no:cacheprovider", "-n", str(workers),
           "--dist", "loadgroup"]
    print(f">> {label}: {' '.join(cmd[2:])}  ({', '.join(f'{k}={v}' for k, v in env.items()) or 'default'})",
          flush=True)
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, env=full_env, capture_output=True, text=True)
    seconds = time.monotonic() - started
    summary = next((ln for ln in reversed(proc.stdout.splitlines()) if " in " in ln and ("passed" in ln
                                                                                       or "failed" in ln)), "")
    results: list[dict[str, Any]] = json.loads(target.read_text())["results"] if target.exists() else []
    print(f"   {summary.strip('= ')} (wall {seconds:.1f} s)", flush=True)
    if proc.returncode not in (0, 1):
        print(proc.stdout[-3000:], proc.stderr[-3000:], file=sys.stderr)
    return {"label": label, "seconds": round(seconds, 1), "summary": summary.strip("= "),
            "returncode": proc.returncode, "results": results, "command": " ".join(["pytest", *args])}


def _param(nodeid: str) -> str:
    return nodeid[nodeid.index("[") + 1:-1] if "[" in nodeid else ""


# --------------------------------------------------------------------------------- tables
def fault_matrix(runs: list[dict[str, Any]]) -> str:
    from _matrix import FAULTS, MODES, OPERATIONS

    cells: dict[tuple[str, str, str], dict[str, Any]] = defaultdict(lambda: {"runs": 0, "passes": 0, "seen": []})
    for run in runs:
        for r in run["results"]:
            if "test_fault_matrix.py::test_column[" not in r["nodeid"]:
                continue
            fault, mode, _rep = _param(r["nodeid"]).rsplit("-", 2)
            recorded = json.loads(r["properties"].get("cells", "[]"))
            by_op = {c["operation"]: c for c in recorded}
            for op in OPERATIONS:
                cell = cells[(op, fault, mode)]
                cell["runs"] += 1
                c = by_op.get(op)  # missing when the column test broke before running its cells
                cell["passes"] += c is not None and not c["failure"]
                cell["seen"].append(c)
    out = []
    for mode in MODES:
        title = {"clears": "The fault hits the first 2 attempts, then clears (`times=2`)",
                 "persists": "The fault hits every attempt (`times=None`)"}[mode]
        out.append(f"#### {title}\n")
        out.append("| operation | " + " | ".join(FAULTS) + " |")
        out.append("|---" * (len(FAULTS) + 1) + "|")
        for op in OPERATIONS:
            row = [f"**{op}**"]
            for fault in FAULTS:
                cell = cells.get((op, fault, mode))
                if not cell:
                    row.append("-")
                    continue
                last = next((c for c in reversed(cell["seen"]) if c), None)
                text = f"{cell['passes']}/{cell['runs']}"
                if last:
                    text += f" {SHORT.get(last['outcome'], last['outcome'])}·{last['attempts']}"
                    if last["created"] is not None:
                        text += f" ⇒{last['created']}job"
                if cell["passes"] < cell["runs"]:
                    text = f"**✗ {text}**"
                row.append(text)
            out.append("| " + " | ".join(row) + " |")
        out.append("")
    total = sum(c["runs"] for c in cells.values())
    passed = sum(c["passes"] for c in cells.values())
    out.append(f"{len(cells)} cells, {total} cell runs, **{passed} passed**. A cell reads "
               "`passes/runs outcome·attempts` (`⇒Njob`: jobs the start created, counted in the emulator's "
               "state). Outcomes: `ok` (the call returned the job), `RateLimit`/`Server`/`Transport`/"
               "`Unexpected` (`RateLimitError`, `ServerError`, `TransportError`, `UnexpectedResponseError` "
               "after the retry budget), `OutcomeUnknown` (`StartOutcomeUnknownError`: *the job may have been "
               "created*, never retried).")
    return "\n".join(out)


def kill_matrix(runs: list[dict[str, Any]]) -> str:
    from _killpaths import FAULTS, KINDS, PATHS

    cells: dict[tuple[str, str, str], dict[str, Any]] = defaultdict(lambda: {"runs": 0, "passes": 0, "lat": []})
    for run in runs:
        for r in run["results"]:
            if "test_kill_paths.py::test_kill_column[" not in r["nodeid"]:
                continue
            fault, _rep = _param(r["nodeid"]).rsplit("-", 1)
            for c in json.loads(r["properties"].get("cells", "[]")):
                cell = cells[(c["path"], c["kind"], fault)]
                cell["runs"] += 1
                cell["passes"] += not c["failure"]
                if c["latency"] is not None:
                    cell["lat"].append(c["latency"])
    out = ["| path | job kind | " + " | ".join(FAULTS) + " |", "|---|---" + "|---" * len(FAULTS) + "|"]
    for path in PATHS:
        for kind in KINDS:
            row = [f"**{path}**", kind]
            for fault in FAULTS:
                cell = cells.get((path, kind, fault))
                if not cell:
                    row.append("-")
                    continue
                text = f"{cell['passes']}/{cell['runs']}"
                if cell["lat"]:
                    text += f", ≤{max(cell['lat']):.2f} s"
                row.append(text if cell["passes"] == cell["runs"] else f"**✗ {text}**")
            out.append("| " + " | ".join(row) + " |")
    total = sum(c["runs"] for c in cells.values())
    passed = sum(c["passes"] for c in cells.values())
    out.append("")
    out.append(f"{len(cells)} cells, {total} cell runs, **{passed} passed**. A cell reads `passes/runs, ≤ slowest "
               "delivery`: seconds from the kill (the `on_kill` call, the trigger's deadline, the `notify` call, the "
               "sensor's timeout) to the abort that the emulator accepted. Deadlines: 4 s (`KILL_ABORT_DEADLINE`) "
               "for `on_kill` and the sensor timeout, 30 s for the callbacks and triggers.")
    return "\n".join(out)


def sigterm_table(runs: list[dict[str, Any]]) -> str:
    rows: dict[str, list[tuple[str, Any]]] = defaultdict(list)
    for run in runs:
        for r in run["results"]:
            if "test_sigterm_in_a_real_dag_run" in r["nodeid"]:
                rows[_param(r["nodeid"])].append((r["outcome"], r["properties"].get("latency")))
    out = ["| job kind - fault on the abort route | result | abort landed after SIGTERM |", "|---|---|---|"]
    for case, seen in sorted(rows.items()):
        passes = sum(o == "passed" for o, _ in seen)
        lat = [v for _, v in seen if v is not None]
        out.append(f"| {case} | {passes}/{len(seen)} | {', '.join(f'{v:.2f} s' for v in lat) or '-'} |")
    return "\n".join(out)


def grouped_table(run: dict[str, Any], file: str, figure: str | None = None) -> str:
    """One row per test function: parametrised cases passed, and the sum of a recorded figure."""
    groups: dict[str, dict[str, Any]] = {}
    for r in run["results"]:
        if f"{file}::" not in r["nodeid"]:
            continue
        name = _name(r).split("[", 1)[0]
        g = groups.setdefault(name, {"cases": 0, "passed": 0, "figure": 0})
        g["cases"] += 1
        g["passed"] += r["outcome"] == "passed"
        if figure:
            g["figure"] += int(r["properties"].get(figure) or 0)
    out = ["| test | cases passed |" + (f" {figure} |" if figure else ""),
           "|---|---|" + ("---|" if figure else "")]
    for name, g in groups.items():
        cell = f"{g['passed']}/{g['cases']}" if g["passed"] == g["cases"] else f"**✗ {g['passed']}/{g['cases']}**"
        out.append(f"| `{name}` | {cell} |" + (f" {g['figure'] or ''} |" if figure else ""))
    return "\n".join(out)


def callbacks_table(run: dict[str, Any]) -> str:
    cells: dict[tuple[str, str], str] = {}
    kinds: list[str] = []
    scenarios: list[str] = []
    for r in run["results"]:
        if "test_callbacks.py::test_a_notifier_logs_one_clear_line_and_returns[" not in r["nodeid"]:
            continue
        kind, scenario = _param(r["nodeid"]).split("-", 1)
        kinds += [kind] if kind not in kinds else []
        scenarios += [scenario] if scenario not in scenarios else []
        cells[(scenario, kind)] = f"{_mark(r)} {r['properties'].get('seconds', '')} s"
    out = ["| notifier given | " + " | ".join(kinds) + " |", "|---" * (len(kinds) + 1) + "|"]
    for scenario in scenarios:
        out.append(f"| {scenario} | " + " | ".join(cells.get((scenario, k), "-") for k in kinds) + " |")
    others = [r for r in run["results"] if "test_callbacks.py::" in r["nodeid"] and "[" not in r["nodeid"]]
    out += ["", *(f"- {_mark(r)} `{_name(r)}`" for r in others)]
    return "\n".join(out)


def secrets_list(run: dict[str, Any]) -> str:
    out = []
    for r in run["results"]:
        if "test_secrets.py::" in r["nodeid"] and r["properties"]:
            figures = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in r["properties"].items())
            out.append(f"- {_mark(r)} `{_name(r)}`: {figures}")
    return "\n".join(out)


def _mark(r: dict[str, Any]) -> str:
    return "✓" if r["outcome"] == "passed" else "**✗**"


def _name(r: dict[str, Any]) -> str:
    return r["nodeid"].split("::", 1)[1]


def load_section(fast: dict[str, Any], heavy: dict[str, Any] | None) -> str:
    small: dict[str, Any] = {}
    for r in fast["results"]:
        if "test_load.py::" in r["nodeid"] and "figures" in r["properties"]:
            key = ("storm" if "concurrent_aborts" in r["nodeid"] else "fleet" if "deferred_waits" in r["nodeid"]
                   else "behind")
            small[key] = (json.loads(r["properties"]["figures"]), _mark(r))
    runs: list[tuple[str, dict[str, Any] | None, dict[str, Any] | None, dict[str, Any] | None]] = []
    if small:
        runs.append(("pytest (in-process emulator)", *(small.get(k, (None, ""))[0] for k in ("storm", "fleet",
                                                                                             "behind"))))
    if heavy:
        runs.append((f"load.py (emulator in its own process; {heavy['seconds']} s)", heavy["abort_storm"],
                     heavy["trigger_fleet"], heavy["abort_behind_long_polls"]))
    out = ["**Concurrent aborts** through `ApifyHook.aabort_run` (one hook per abort, as one per trigger), every "
           "abort request held 50 ms by the emulator so that requests overlap; the first half answered 429 "
           "(`Retry-After: 0.2`). The core's pools: "
           f"{_pool_limits()}.", "",
           "| run | batch | aborts | delivered | errors | requests (429s) | peak in flight at the emulator | peak "
           "pool connections | queued inside the pool | seconds | live clients / hooks after | tracemalloc peak / "
           "retained MB | RSS growth MB |", "|---" * 13 + "|"]
    for label, storm, _, _ in runs:
        for i, x in enumerate((storm or {}).get("batch", []), 1):
            traced = f"{x['traced_peak_mb']} / {x['traced_retained_mb']}" if x.get("traced_peak_mb") is not None \
                else "-"
            out.append(f"| {label} | {i} | {(storm or {}).get('n')} | {x['delivered']} | {x['errors']} | "
                       f"{x['requests']} "
                       f"({x['answered_429']}) | {x['peak_in_flight']} | {x['peak_pool_connections']} | "
                       f"{x['peak_queued_in_pool']} | {x['seconds']} | {x['live_clients_after']} / "
                       f"{x['live_hooks_after']} | {traced} | {x['rss_growth_mb']} |")
    out += ["", "**Deferred waits in one event loop**: `ApifyRunTrigger(...).run()` for every run, gathered; runs end "
            "between 0.2 and 3 s. Latency = trigger event time - the run's `finishedAt`; the emulator's share is "
            "how late its long poll answered after the run ended (a held request sleeps until its run's scheduled end).",
            "", "| run | triggers | outcomes | all done after | latency p50 / p95 / max | emulator's lag p95 | "
            "client's lag max | requests | long polls open at once |", "|---" * 9 + "|"]
    for label, _, fleet, _ in runs:
        if fleet:
            out.append(f"| {label} | {fleet['n']} | {fleet['outcomes']} | {fleet['seconds']} s | "
                       f"{fleet['latency_p50']} / {fleet['latency_p95']} / {fleet['latency_max']} s | "
                       f"{fleet.get('emulator_answer_lag_p95', '-')} s | {fleet.get('client_lag_max', '-')} s | "
                       f"{fleet['requests']} | {fleet['peak_in_flight']} |")
    out += ["", "**An abort behind open long polls**: triggers long-poll endless runs, then another trigger's "
            "`on_kill` aborts its run.", "", "| run | long polls open | abort delivered in | run status |",
            "|---|---|---|---|"]
    for label, _, _, behind in runs:
        if behind:
            out.append(f"| {label} | {behind['n']} | {behind['abort_seconds']} s | {behind['victim_status']} |")
    return "\n".join(out)


def _pool_limits() -> str:
    from airflow_provider_jobs import _pools

    return (f"{_pools.ASYNC_POOL_LIMITS.max_connections} connections for short calls (`ASYNC_POOL_LIMITS`) and "
            f"{_pools.ASYNC_HELD_OPEN_LIMITS.max_connections} for long polls and log streams "
            "(`ASYNC_HELD_OPEN_LIMITS`), per service and event loop")


def _trim(f: dict[str, Any]) -> dict[str, Any]:
    keep = dict(f)
    if "batch" in keep:
        keep["batch"] = [{k: v for k, v in b.items() if v is not None and k != "first_error"} for b in keep["batch"]]
    return keep


def versions() -> str:
    from importlib.metadata import version

    parts = [f"Python {platform.python_version()}"]
    for dist in ("apache-airflow-core", "httpx", "httpcore", "hypothesis"):
        try:
            parts.append(f"{dist} {version(dist)}")
        except Exception:  # noqa: BLE001
            pass
    return ", ".join(parts) + f"; {os.cpu_count()} CPUs"


def render(fast: dict[str, Any], full: dict[str, Any] | None, heavy: dict[str, Any] | None, repeat: int,
           took: float, live: dict[str, Any] | None = None) -> str:
    matrix_runs = [fast] + ([full] if full else [])
    bad = grouped_table(fast, "test_bad_input.py", "examples")
    secrets = grouped_table(fast, "test_secrets.py") + "\n\n" + secrets_list(fast)
    callbacks = callbacks_table(fast)
    examples = sum(int(r["properties"].get("examples", 0)) for r in fast["results"]
                   if "test_bad_input.py::" in r["nodeid"])
    full_line = (f"| full matrices, x{repeat} (`RELIABILITY_FULL=1 RELIABILITY_REPEAT={repeat}`) | {full['summary']} |"
                 f" {full['seconds']} s |" if full else "")
    return f"""# Reliability and security

Generated by `bash scripts/reliability.sh` on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC in {took:.0f} s
({versions()}). Every figure below comes from that run: the pytest suite `tests/reliability` (fast settings, as
CI runs it), the two matrices again with the slow settings, and the heavy load script. Faults are injected with
the bundled emulator; its request journal and its own job state are the witnesses.

| run | result | wall time |
|---|---|---|
| `pytest tests/reliability -n 2` (as in CI) | {fast['summary']} | {fast['seconds']} s |
{full_line}
{live_run_line(live)}

## 1. Fault matrix

Every job operation against every fault, through the sync hooks with
`RetryPolicy(max_retries=3, base_delay=0.01, max_delay=0.05)` (4 attempts). Idempotent operations (get, abort,
cancel) must succeed on the 3rd attempt when the fault clears and fail with the fault's typed error after 4
attempts when it persists; starts must never create two jobs: retried only on 429 (refused before any work),
otherwise one attempt and `StartOutcomeUnknownError` ("may have been created"). Read timeout and slow body use a
connection with `read_timeout: 0.2` (the emulator delays the answer 0.6 s, or sends 16-byte chunks 0.6 s apart).
The fast run uses `Retry-After: 1` and an HTTP date that is already due; the full runs use `Retry-After: 1`
and HTTP dates up to 1 s ahead, and check that no retry came earlier than asked. Runs counted per cell: 1 fast
+ {repeat if full else 0} full.

{fault_matrix(matrix_runs)}

## 2. Kill paths under faults on the abort route

Each path runs for the three job kinds against the emulator while the abort/cancel route answers, before it
lets one through: a 429 with `Retry-After` twice (1 s on the 4 s paths; 0.2 s on the 30 s paths in the fast
run, which the core ignores as no whole number of seconds, so the backoff applies; 1 s in the full runs), 503 twice, a connection reset twice, or a 429, a 503 and a reset in a row.
`on_kill` is called while `execute()` waits (as the SIGTERM handler does); the trigger paths drive
`JobTrigger.run()`/`on_kill()` in an event loop; the notifier is called with a task context.

{kill_matrix(matrix_runs)}

**Real SIGTERM in `dag.test()`** (tests/e2e's `e2e_sigterm_<kind>` DAG, in a subprocess; the abort route
faulted before the run):

{sigterm_table(matrix_runs)}

## 3. Bad input

Every public id and argument of both hooks (sync and async twins), fuzzed with hypothesis ({examples} examples
in the fast run) and a fixed list (empty, whitespace, `../`, `/`, `?`, `#`, `%2F`, unicode, 10 kB, control
characters, wrong types, `None`): each must raise `InvalidArgumentError` (`InvalidIdError` for ids) or
`JobsConfigError` (all `ValueError`) with a message under 600 characters, and the emulator's journal must stay empty. Connection hosts, ports and
extras are fuzzed through `build_settings`: either `JobsConfigError`, or settings whose base URL the HTTP
client accepts (no raw `httpx`/`UnicodeError` at request time). Operators and sensors with bad templated ids
fail in a real `dag.test()` run with the cause in the task log.

{bad}

## 4. Secrets

Recognisable tokens (`rel-APIFY-S3CRET-...`, `rel-NS-S3CRET-...`, and two wrong ones) through every hook method,
operator, sensor, trigger and notifier, errors included. Checked: caplog at DEBUG (httpx and httpcore too),
exception messages, reprs and pickles, hook/core/settings reprs, XComs, rendered template fields, the task logs
of a `dag.test()` run **with Airflow's secret masker switched off** (a canary proves it), and every journal entry
(token only in the `Authorization` header, never in the path, query or body). Plain `http://` to a non-loopback
host is refused unless `allow_insecure_http`; a server on 127.0.0.1 answering 301/302/303/307/308 towards a
second local port gets one request per call, which fails (`redirect refused`), and the second port receives
nothing.

{secrets}

## 5. Load

{load_section(fast, heavy)}

## 6. Callbacks never raise

Each notifier, given a missing id, a bad id, a 404, a 401, a server answering 503 until the deadline, a closed
local port, a connection with no token, a bad extra, plain http to another host, an undefined connection, or a
task context whose XCom lookup raises, returns `None` and logs exactly one warning/error line naming the kind,
id, connection and cause, within its deadline (1 s here).

{callbacks}

## 7. Chaos on a real Airflow stack: no job outlives its task

`pytest tests/live` (as CI runs it): api-server, scheduler, dag-processor and triggerer, LocalExecutor and
CeleryExecutor (a real Redis, `airflow celery worker`), a short task heartbeat timeout (in the node-loss rows). One
DAG run has a task per job kind (and executor), all hit by the same event; the emulator's journal is the witness,
and a latency is from the event (SIGKILL, mark-failed) to the abort's arrival there. "No watchdog left": no watchdog process
survives in the process table. The baseline rows are the same DAG run's tasks with `abort_on_process_death=False`,
what Airflow alone does.

{chaos_section(live)}

{FIXES.read_text().strip()}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description="Regenerate RELIABILITY.md from real runs.")
    parser.add_argument("--repeat", type=int, default=2, help="full runs of the two matrices (default 2)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-load", action="store_true", help="leave out load.py (1,000 aborts, 500 triggers)")
    parser.add_argument("--skip-live", action="store_true", help="leave out tests/live (the chaos matrix)")
    parser.add_argument("--output", type=Path, default=ROOT / "RELIABILITY.md")
    parser.add_argument("--results", type=Path, help="also save the raw results (JSON) here")
    parser.add_argument("--from-results", type=Path, help="render saved results instead of running")
    args = parser.parse_args()
    started = time.monotonic()
    if args.from_results:
        saved = json.loads(args.from_results.read_text())
        args.output.write_text(render(saved["fast"], saved["full"], saved["heavy"], saved["repeat"], saved["took"],
                                        saved.get("live")))
        print(f">> wrote {args.output} from {args.from_results}")
        return
    with tempfile.TemporaryDirectory(prefix="reliability-report-") as tmp_name:
        tmp = Path(tmp_name)
        fast = run_pytest("suite", ["tests/reliability"], {}, args.workers, tmp)
        full = None
        if args.repeat > 0:
            full = run_pytest("full-matrices", ["tests/reliability/test_fault_matrix.py",
                                                "tests/reliability/test_kill_paths.py", "-k", "column or sigterm"],
                              {"RELIABILITY_FULL": "1", "RELIABILITY_REPEAT": str(args.repeat)}, args.workers, tmp)
        heavy = None
        if not args.skip_load:
            print(">> load.py (1,000 aborts, 500 triggers)", flush=True)
            proc = subprocess.run([sys.executable, str(HERE / "load.py"), "--out", str(tmp / "load.json")],
                                  cwd=ROOT, capture_output=True, text=True)
            if proc.returncode == 0:
                heavy = json.loads((tmp / "load.json").read_text())
            else:
                print(proc.stdout[-3000:], proc.stderr[-3000:], file=sys.stderr)
        live = None if args.skip_live else run_live(tmp, args.workers)
        took = time.monotonic() - started
        if args.results:
            args.results.write_text(json.dumps({"fast": fast, "full": full, "heavy": heavy, "repeat": args.repeat,
                                                "took": took, "live": live}))
        text = render(fast, full, heavy, args.repeat, took, live)
    args.output.write_text(text)
    print(f">> wrote {args.output} ({time.monotonic() - started:.0f} s)")
    failed = fast["returncode"] != 0 or (full is not None and full["returncode"] != 0) or \
        (not args.skip_load and heavy is None) or (live is not None and live["returncode"] != 0)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

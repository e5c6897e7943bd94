"""Heavy load run: 1,000 concurrent aborts under 429s and 500 deferred waits in one event loop.

Usage: ``.venv/bin/python tests/reliability/load.py [--aborts 1000] [--triggers 500] [--out figures.json]``

The emulator runs in its own process (``python -m airflow_provider_jobs.emulator``), so the figures
measure the client alone: its connections, its memory (tracemalloc), its latency. Prints one JSON
document (also written to ``--out``); ``report.py`` puts it into RELIABILITY.md. The same scenarios
run at 200 in the pytest suite (``test_load.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _prepare_airflow() -> None:
    home = tempfile.mkdtemp(prefix="reliability-load-home-")
    os.environ.update({"AIRFLOW_HOME": home, "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                       "AIRFLOW__CORE__UNIT_TEST_MODE": "True", "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING"})
    sys.path.insert(0, str(HERE))


def _start_emulator() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_jobs.emulator", "--port", "0", "--time-scale", "0.01",
         "--no-seed-demo"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    first = proc.stdout.readline()
    if " on http://" not in first:
        proc.kill()
        raise RuntimeError(f"the emulator did not start: {first!r}")
    return proc, first.rsplit(" on ", 1)[1].strip()


def run(aborts: int, n_429: int, triggers: int, batches: int) -> dict[str, Any]:
    _prepare_airflow()
    import logging

    logging.basicConfig(level=logging.WARNING)
    from _load import abort_behind_long_polls, abort_storm, trigger_fleet

    from airflow_provider_jobs import _pools
    from airflow_provider_jobs.emulator.client import EmulatorClient
    from airflow_provider_jobs.emulator.refs import connection_env

    proc, base_url = _start_emulator()
    try:
        emu = EmulatorClient(base_url, timeout=60)
        os.environ.update(connection_env(base_url, emu.apify_token, emu.templates_token))
        figures: dict[str, Any] = {"emulator": "separate process", "pool_limits": {
            "short_calls": _pools.ASYNC_POOL_LIMITS.max_connections,
            "held_open": _pools.ASYNC_HELD_OPEN_LIMITS.max_connections}}
        started = time.monotonic()
        figures["abort_storm"] = abort_storm(emu, aborts, n_429, batches=batches, trace_memory=True)
        emu.reset()
        figures["trigger_fleet"] = trigger_fleet(emu, triggers, longest=3.0)
        emu.reset()
        figures["abort_behind_long_polls"] = abort_behind_long_polls(emu, triggers)
        figures["seconds"] = round(time.monotonic() - started, 1)
        return figures
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aborts", type=int, default=1000)
    parser.add_argument("--n429", type=int, default=None, help="aborts answered 429 first (default: half)")
    parser.add_argument("--triggers", type=int, default=500)
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    figures = run(args.aborts, args.n429 if args.n429 is not None else args.aborts // 2, args.triggers, args.batches)
    text = json.dumps(figures, indent=2)
    if args.out:
        args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()

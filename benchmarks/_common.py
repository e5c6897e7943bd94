"""Helpers shared by the benchmark scripts: the emulator process, Airflow environment, statistics, results.

Every benchmark talks to the bundled emulator running in its **own process** (the CLI, on a free
loopback port), so on a 2-core machine the server and the code under test each get a core and
neither steals the other's GIL. Results go to ``benchmarks/results/<name>.json``; ``report.py``
turns them into ``benchmarks/RESULTS.md``.

Timestamps: the emulator journals ``time.monotonic()`` when each request arrives. On Linux that
clock (CLOCK_MONOTONIC) is system-wide, so a time taken in any of our processes can be subtracted
from it directly. Emulated timestamps (``finishedAt``) are wall-clock ISO strings anchored to the
same monotonic clock; :func:`iso_to_monotonic` maps them back.
"""

from __future__ import annotations

import ctypes
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
SRC = ROOT / "src"
RESULTS_DIR = BENCH_DIR / "results"
PYTHON = sys.executable

BASE_COMMIT = "a6195b19ad52076ca964ae63b994c43985c9a17e"
"""The commit before the performance fixes: the 'before' column of before/after figures."""



# ---------------------------------------------------------------------------- environment
def airflow_env(home: str | None = None) -> dict[str, str]:
    """Set (and return) the environment Airflow needs before it is imported: a throw-away home, quiet logs."""
    home = home or os.environ.get("BENCH_AIRFLOW_HOME") or tempfile.mkdtemp(prefix="bench-airflow-home-")
    values = {
        "AIRFLOW_HOME": home,
        "BENCH_AIRFLOW_HOME": home,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
    }
    os.environ.update(values)
    return values


def quiet_logging() -> None:
    """Keep the provider's per-abort warnings out of the benchmark output."""
    import logging

    logging.basicConfig(level=logging.ERROR)
    for name in ("airflow_provider_jobs", "airflow", "httpx", "httpcore", "apify_client"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def die_with_parent(sig: int = signal.SIGKILL) -> Callable[[], None]:
    """A ``preexec_fn`` that makes a child get ``sig`` when its parent dies (Linux ``PR_SET_PDEATHSIG``).

    So an interrupted benchmark leaves no emulator or worker behind.
    """

    def preexec() -> None:
        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, sig)  # PR_SET_PDEATHSIG
        except OSError:
            pass

    return preexec


class EmulatorProcess:
    """The bundled emulator CLI in a child process on a free loopback port.

    :param time_scale: real seconds per emulated second
    """

    def __init__(self, time_scale: float = 1.0) -> None:
        self.time_scale = time_scale
        self.proc: subprocess.Popen[str] | None = None
        self.base_url = ""
        self.env: dict[str, str] = {}
        self.client: Any = None

    def start(self) -> EmulatorProcess:
        """Start the CLI and wait for its banner (base URL and connection exports)."""
        cmd = [PYTHON, "-m", "airflow_provider_jobs.emulator", "--port", "0",
               "--time-scale", repr(self.time_scale), "--no-seed-demo"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                     preexec_fn=die_with_parent(signal.SIGTERM))
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("the emulator exited before printing its banner")
            if " serving " in line:
                self.base_url = line.rsplit(" on ", 1)[1].strip()
            elif line.startswith("export "):
                name, _, value = line[len("export "):].strip().partition("=")
                self.env[name] = value.strip("'")
            elif line.startswith("control API"):
                break
        from airflow_provider_jobs.emulator.client import EmulatorClient

        self.client = EmulatorClient(self.base_url, timeout=60)
        return self

    @property
    def pid(self) -> int:
        """The emulator's process id."""
        assert self.proc is not None
        return self.proc.pid

    def stop(self) -> None:
        """Stop the emulator (only the process this object started)."""
        if self.client is not None:
            self.client.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def use_connections(self) -> None:
        """Point ``apify_default`` / ``template_builds_default`` of this process at the emulator."""
        os.environ.update(self.env)


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (from /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def rss_mb() -> float:
    """Resident set size of this process in MB (VmRSS from /proc/self/status)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def open_sockets() -> int:
    """Number of socket file descriptors this process holds (from /proc/self/fd)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                count += 1
        except OSError:
            pass
    return count


def tcp_connections_to(port: int) -> int:
    """Established TCP connections on loopback whose remote port is ``port`` (this process's and others')."""
    total = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            remote, state = parts[2], parts[3]
            if state == "01" and int(remote.rsplit(":", 1)[1], 16) == port:
                total += 1
    return total


# ---------------------------------------------------------------------------- clocks
def wall_minus_monotonic() -> float:
    """``time.time() - time.monotonic()`` (median of a few readings)."""
    return statistics.median(time.time() - time.monotonic() for _ in range(5))


def iso_to_monotonic(iso: str, offset: float | None = None) -> float:
    """Map an emulator wall-clock ISO timestamp (ms precision) onto ``time.monotonic()``."""
    when = datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    return when - (wall_minus_monotonic() if offset is None else offset)


# ---------------------------------------------------------------------------- statistics
def quantile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) with linear interpolation; NaN for no values."""
    data = sorted(values)
    if not data:
        return float("nan")
    pos = (len(data) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def summary(values: Iterable[float]) -> dict[str, float]:
    """n, mean, min, p50, p90, p99, max of ``values``."""
    data = list(values)
    if not data:
        return {"n": 0}
    return {
        "n": len(data),
        "mean": statistics.fmean(data),
        "min": min(data),
        "p50": quantile(data, 0.5),
        "p90": quantile(data, 0.9),
        "p99": quantile(data, 0.99),
        "max": max(data),
    }


def ms(seconds: float) -> str:
    """Format seconds as milliseconds."""
    return "n/a" if seconds != seconds else f"{seconds * 1000:.1f} ms"


# ---------------------------------------------------------------------------- results
def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    return {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()}


def write_result(name: str, data: dict[str, Any]) -> Path:
    """Write ``results/<name>.json`` (with the machine and the time)."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    payload = {"name": name, "measured_at": datetime.now().isoformat(timespec="seconds"), "machine": machine(),
               **data}
    path.write_text(json.dumps(payload, indent=2, default=str))
    return path


def print_rows(title: str, rows: Sequence[Sequence[Any]]) -> None:
    """Print a small aligned table."""
    print(f"\n== {title}")
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  " + "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))
    sys.stdout.flush()


# ---------------------------------------------------------------------------- before/after trees
def source_tree(label: str, *, before: bool, compiled: bool, parent: Path) -> Path:
    """Copy the package into ``parent/label``: the working tree, or with ``before`` the whole package as
    it was at :data:`BASE_COMMIT` (the code has been restructured since, so files cannot be mixed).
    With ``compiled``, byte-compile the copy (as ``pip install`` does).

    Returns the directory to put first on ``PYTHONPATH``.
    """
    dest = parent / label
    if before:
        dest.mkdir(parents=True)
        archive = subprocess.run(["git", "archive", BASE_COMMIT, "src/airflow_provider_jobs"], cwd=ROOT,
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "--strip-components=1", "-C", str(dest)], input=archive, check=True)
    else:
        shutil.copytree(SRC / "airflow_provider_jobs", dest / "airflow_provider_jobs",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    if compiled:
        subprocess.run([PYTHON, "-m", "compileall", "-q", str(dest)], check=True)
    return dest


def base_commit_available() -> bool:
    """True if :data:`BASE_COMMIT` is in this clone's history."""
    return subprocess.run(["git", "cat-file", "-e", f"{BASE_COMMIT}^{{commit}}"], cwd=ROOT,
                          capture_output=True).returncode == 0


TERMINAL = {"SUCCEEDED", "FAILED", "TIMED-OUT", "ABORTED"}
"""Apify's terminal statuses, for the raw-httpx baselines (which use no provider code)."""


class FakeTI:
    """The task instance methods the provider calls (XCom in a dict)."""

    def __init__(self, task_id: str, xcom: dict[str, Any] | None = None) -> None:
        self.dag_id, self.task_id, self.run_id, self.try_number = "bench", task_id, "manual__bench", 1
        self.map_index = -1
        self.xcom = xcom or {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value

    def xcom_pull(self, task_ids: Any = None, key: str = "return_value", map_indexes: Any = None) -> Any:
        return self.xcom.get(key)


def fake_context(task_id: str, xcom: dict[str, Any] | None = None) -> dict[str, Any]:
    """A minimal task context."""
    return {"ti": FakeTI(task_id, xcom), "run_id": "manual__bench"}


def run_triggers(triggers: Sequence[Any]) -> None:
    """Run every trigger to its event in one event loop, then close the shared async clients."""
    import asyncio

    from airflow_provider_jobs._http import aclose_shared_clients

    async def drain(trigger: Any) -> None:
        async for _ in trigger.run():
            pass

    async def all_of_them() -> None:
        await asyncio.gather(*(drain(t) for t in triggers))
        await aclose_shared_clients()

    asyncio.run(all_of_them())

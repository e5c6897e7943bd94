"""Start real Airflow components (api-server, scheduler, dag-processor, triggerer) on a temporary
SQLite AIRFLOW_HOME, pointed at the session's emulator, and drive them through the REST API.

Used by tests/live (the full stack) and tests/ui (the api-server alone).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ALL_COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Stack:
    """Drive a running stack through its REST API."""

    def __init__(self, base: str, home: Path) -> None:
        self.base = base
        self.home = home
        self.http = httpx.Client(base_url=f"{base}/api/v2", timeout=30)

    def trigger(self, dag_id: str) -> str:
        for _ in range(120):  # the dag-processor may not have parsed the file yet
            r = self.http.post(f"/dags/{dag_id}/dagRuns", json={"logical_date": None})
            if r.status_code == 200:
                return str(r.json()["dag_run_id"])
            time.sleep(1)
        raise AssertionError(f"could not trigger {dag_id}: {r.status_code} {r.text[:300]}")

    def unpause(self, dag_id: str) -> None:
        for _ in range(120):
            r = self.http.patch(f"/dags/{dag_id}", json={"is_paused": False})
            if r.status_code == 200:
                return
            time.sleep(1)
        raise AssertionError(f"could not unpause {dag_id}: {r.status_code} {r.text[:300]}")

    def state(self, dag_id: str, run_id: str, task_id: str) -> str | None:
        r = self.http.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}")
        return r.json().get("state") if r.status_code == 200 else None

    def wait_state(self, dag_id: str, run_id: str, task_id: str, states: set[str], limit: float = 120) -> str:
        deadline = time.monotonic() + limit
        state = None
        while time.monotonic() < deadline:
            state = self.state(dag_id, run_id, task_id)
            if state in states:
                return state
            time.sleep(0.5)
        raise AssertionError(f"{dag_id}.{task_id} stayed {state}, expected {states}\n{self.logs()}")

    def mark_failed(self, dag_id: str, run_id: str, task_id: str) -> float:
        marked = time.monotonic()
        r = self.http.patch(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}", json={"new_state": "failed"})
        assert r.status_code == 200, r.text[:500]
        return marked

    def logs(self) -> str:
        out = []
        for name in ALL_COMPONENTS:
            path = self.home / f"{name}.log"
            if path.exists():
                out.append(f"--- {name}\n" + path.read_text()[-3000:])
        return "\n".join(out)


@contextmanager
def airflow_stack(
    emulator: Any, home: Path, dags_folder: Path, components: tuple[str, ...] = ALL_COMPONENTS,
    extra_env: dict[str, str] | None = None,
) -> Iterator[Stack]:
    """Migrate the DB, start ``components``, wait for the api-server, yield; stop them all at the end."""
    port = _free_port()
    env = {
        **os.environ,
        **emulator.connection_env(),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "8",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": "live-test-secret-not-used-elsewhere",
        "AIRFLOW__SCHEDULER__TRIGGER_TIMEOUT_CHECK_INTERVAL": "2",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "2",
        **(extra_env or {}),
    }
    airflow = str(Path(sys.executable).with_name("airflow"))
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True, timeout=300)
    procs = [
        subprocess.Popen([airflow, name], env=env, stdout=open(home / f"{name}.log", "w"), stderr=subprocess.STDOUT,
                         start_new_session=True)
        for name in components
    ]
    stack = Stack(f"http://127.0.0.1:{port}", home)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{stack.base}/api/v2/monitor/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            raise AssertionError("the api-server did not come up\n" + stack.logs())
        yield stack
    finally:
        for proc in procs:
            try:
                os.killpg(proc.pid, 15)
            except ProcessLookupError:
                pass
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)

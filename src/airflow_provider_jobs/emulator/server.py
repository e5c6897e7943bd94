"""Run the emulator over HTTP: in a background thread (tests) or in the foreground (CLI)."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn

from airflow_provider_jobs.emulator.app import EmulatorApp
from airflow_provider_jobs.emulator.emulator import Emulator
from airflow_provider_jobs.emulator.refs import connection_env

__all__ = ["EmulatorServer", "base_url_for", "bind_socket", "connection_env", "make_config"]


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind a listening TCP socket (``port=0`` picks a free port).

    It listens at once, so clients that connect before uvicorn starts wait in the backlog
    instead of being refused.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def base_url_for(host: str, port: int) -> str:
    """Return ``http://host:port`` (IPv6 hosts in brackets)."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def make_config(
    emulator: Emulator, *, log_level: str = "warning", access_log: bool = False, own_logging: bool = True
) -> uvicorn.Config:
    """Return the uvicorn configuration used for the emulator.

    :param own_logging: let uvicorn install its log handlers (the CLI); otherwise its loggers
        just propagate to the host application's (tests, embedding).
    """
    extra: dict[str, Any] = {} if own_logging else {"log_config": None}
    return uvicorn.Config(
        EmulatorApp(emulator),
        lifespan="off",
        log_level=log_level,
        access_log=access_log,
        **extra,
        timeout_graceful_shutdown=1,
        timeout_keep_alive=5,
    )


class EmulatorServer:
    """Serve an :class:`Emulator` with uvicorn in a background thread.

    Usable as a context manager::

        with EmulatorServer(Emulator(time_scale=0.01)) as server:
            httpx.get(server.base_url + "/healthz")

    :param emulator: the state to serve (a new default one when not given).
    :param host: interface to listen on.
    """

    def __init__(self, emulator: Emulator | None = None, *, host: str = "127.0.0.1") -> None:
        self.emulator = emulator or Emulator()
        self.host = host
        self.port: int | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """Return ``http://host:port`` of the running server."""
        if self.port is None:
            raise RuntimeError("the emulator server is not running")
        return base_url_for(self.host, self.port)

    def start(self, port: int = 0, *, timeout: float = 10.0) -> str:
        """Start serving on ``port`` (0 picks a free one) and return the base URL."""
        if self._thread is not None:
            raise RuntimeError("the emulator server is already running")
        sock = bind_socket(self.host, port)
        self.port = sock.getsockname()[1]
        server = uvicorn.Server(make_config(self.emulator, own_logging=False))
        self._server = server
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="jobs-emulator", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                sock.close()
                raise RuntimeError("the emulator server did not start")
            time.sleep(0.01)
        self.emulator.base_url = self.base_url
        return self.base_url

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the server and wait for its thread."""
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout)
        self._server = None
        self._thread = None
        self.emulator.base_url = None
        self.port = None

    def __enter__(self) -> EmulatorServer:
        if self._thread is None:
            self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

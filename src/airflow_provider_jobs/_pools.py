"""Connection pools of the HTTP core: one TLS context per process, shared async clients per loop.

* Every client uses one SSL context built once per process: building it (loading the CA
  bundle) costs ~25 ms, which a fresh client per abort in ``on_kill`` paid each time.
* Async clients are shared per (event loop, base URL, transport, lane): a triggerer runs every
  trigger in one loop, so all of them share the pools of a service. An :class:`AsyncPools`
  object owns them and their gates; every core uses :data:`SHARED_POOLS` unless given another.
"""

from __future__ import annotations

import asyncio
import functools
import platform
import ssl
import weakref

import httpx

from airflow_provider_jobs._connection import is_loopback_host
from airflow_provider_jobs._version import __version__


@functools.lru_cache(maxsize=1)
def user_agent() -> str:
    """Return the User-Agent sent with every request (computed once per process)."""
    try:
        from importlib.metadata import version

        airflow_version = version("apache-airflow-core")
    except Exception:  # pragma: no cover - metadata missing in odd installs
        airflow_version = "unknown"
    return (
        f"airflow-provider-jobs/{__version__} (apache-airflow/{airflow_version}; "
        f"python/{platform.python_version()}; httpx/{httpx.__version__})"
    )


def client_headers() -> dict[str, str]:
    """Headers of every request besides ``Authorization``."""
    return {"Accept": "application/json", "User-Agent": user_agent()}


@functools.lru_cache(maxsize=64)
def trust_env(base_url: str) -> bool:
    """Whether a client for ``base_url`` may take proxies from the environment (``HTTP_PROXY``...).

    Not for loopback hosts: plain ``http://`` is allowed there because the traffic (and the token
    in its header) never leaves the machine, which an environment proxy would break.
    """
    return not is_loopback_host(httpx.URL(base_url).host)


@functools.lru_cache(maxsize=1)
def ssl_context() -> ssl.SSLContext:
    """The process-wide TLS context (system CA bundle, ``SSL_CERT_FILE``/``SSL_CERT_DIR`` honoured)."""
    return httpx.create_ssl_context()


ASYNC_POOL_LIMITS = httpx.Limits(max_connections=64, max_keepalive_connections=8)
"""Pool of short calls (get, abort, cancel, start) per service and event loop. Few idle
connections are kept: httpcore checks every idle socket on each pool event, which made a warm pool
three times slower than a cold one under 1,000 concurrent aborts (benchmarks/RESULTS.md)."""
ASYNC_HELD_OPEN_LIMITS = httpx.Limits(max_connections=512, max_keepalive_connections=64)
"""Pool of long polls and log streams per service and event loop: one connection per waiting
trigger, up to 512 (an idle socket each). A long poll that finds them all busy for
``_http.OVERFLOW_WAIT`` seconds is sent as a plain read on the short-call pool instead."""


class AsyncPools:
    """The async clients a process shares, one per (event loop, base URL, transport, lane), each
    with the gate its requests wait at for a connection.

    Requests the server holds open (long polls of up to 60 s, log streams) get a lane of their
    own: sharing one pool, they held every connection, and a trigger's abort (deadline, on_kill)
    queued behind them until its deadline passed. Requests wait for a connection at the gate, in
    FIFO order and at most their pool timeout, rather than inside httpcore's pool: the pool
    re-scans every queued request against every connection whenever one frees up, so a thousand
    queued requests made the triggerer's loop CPU-bound until pool timeouts failed them all.

    :param short_limits: pool of short calls (get, abort, cancel, start)
    :param held_open_limits: pool of long polls and log streams
    """

    def __init__(
        self, short_limits: httpx.Limits = ASYNC_POOL_LIMITS, held_open_limits: httpx.Limits = ASYNC_HELD_OPEN_LIMITS
    ) -> None:
        self.short_limits = short_limits
        self.held_open_limits = held_open_limits
        self._clients: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[tuple[str, int, bool], tuple[httpx.AsyncClient, asyncio.Semaphore]]
        ] = weakref.WeakKeyDictionary()

    def client(
        self, base_url: str, transport: httpx.AsyncBaseTransport | None, *, held_open: bool = False
    ) -> tuple[httpx.AsyncClient, asyncio.Semaphore]:
        """Return the running loop's client for ``base_url`` on the chosen lane, and its gate.

        :param base_url: the service's base URL (the client serves every token of it)
        :param transport: the transport to use (tests), part of the key
        :param held_open: the lane of requests the server holds open
        """
        loop = asyncio.get_running_loop()
        per_loop = self._clients.get(loop)
        if per_loop is None:
            self._forget_closed_loops()
            per_loop = self._clients[loop] = {}
        key = (base_url, id(transport) if transport is not None else 0, held_open)
        entry = per_loop.get(key)
        if entry is None or entry[0].is_closed:
            limits = self.held_open_limits if held_open else self.short_limits
            client = httpx.AsyncClient(
                base_url=base_url,
                transport=transport,
                follow_redirects=False,
                verify=ssl_context(),
                headers=client_headers(),
                limits=limits,
                trust_env=trust_env(base_url),
            )
            entry = per_loop[key] = (client, asyncio.Semaphore(limits.max_connections or 64))
        return entry

    def clients(self, loop: asyncio.AbstractEventLoop) -> list[httpx.AsyncClient]:
        """The clients kept for ``loop`` (none once it is closed and forgotten)."""
        return [client for client, _gate in self._clients.get(loop, {}).values()]

    def loops(self) -> int:
        """How many event loops have clients kept (closed loops are let go as new ones come)."""
        return len(self._clients)

    def gates(self) -> int:
        """How many gates are kept over every loop (one per client)."""
        return sum(len(per_loop) for per_loop in self._clients.values())

    def _forget_closed_loops(self) -> None:
        """Drop the clients of event loops that have closed (``asyncio.run`` per deferral in
        ``dag.test()``, tests): their open connections keep the loop alive, so the weak keys alone
        never let go and every finished loop leaked its pools."""
        for old in [loop for loop in list(self._clients) if loop.is_closed()]:
            self._clients.pop(old, None)

    async def aclose(self) -> None:
        """Close the clients of the running event loop (call before the loop ends)."""
        for client, _gate in self._clients.pop(asyncio.get_running_loop(), {}).values():
            await client.aclose()


SHARED_POOLS = AsyncPools()
"""The pools every :class:`~._http.HttpCore` of this process uses unless given its own."""


async def acquire(gate: asyncio.Semaphore, timeout: float | None) -> None:
    """Wait for a free connection, at most the pool timeout (as httpx's own wait for a connection)."""
    if not gate.locked():  # a free slot: take it without the cost of a timed wait (a task per call)
        await gate.acquire()
        return
    try:
        await asyncio.wait_for(gate.acquire(), timeout)
    except asyncio.TimeoutError:
        raise httpx.PoolTimeout("no free connection in the shared pool in time") from None

"""Connection pools of the HTTP core: one TLS context per process, shared async clients per loop.

* Every client uses one SSL context built once per process: building it (loading the CA
  bundle) costs ~25 ms, which a fresh client per abort in ``on_kill`` paid each time.
* Async clients are shared per (event loop, base URL, transport, lane): a triggerer runs every
  trigger in one loop, so all of them share the pools of a service.
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


# AsyncClients per (event loop, base URL, transport, lane): a triggerer runs every trigger in one
# loop, so all of them share the pools of a service. Requests the server holds open (long polls
# of up to 60 s, log streams) get their own lane: sharing one pool, they held every connection
# and a trigger's abort, deadline or on_kill, queued behind them until its deadline passed.
_ASYNC_CLIENTS: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[tuple[str, int, bool], httpx.AsyncClient]
]
_ASYNC_CLIENTS = weakref.WeakKeyDictionary()
ASYNC_POOL_LIMITS = httpx.Limits(max_connections=64, max_keepalive_connections=8)
"""Pool of short calls (get, abort, cancel, start) per service and event loop. Few idle
connections are kept: httpcore checks every idle socket on each pool event, which made a warm pool
three times slower than a cold one under 1,000 concurrent aborts (benchmarks/RESULTS.md)."""
ASYNC_HELD_OPEN_LIMITS = httpx.Limits(max_connections=512, max_keepalive_connections=64)
"""Pool of long polls and log streams per service and event loop: one connection per waiting
trigger, up to 512 (an idle socket each). A long poll that finds them all busy for
``_http.OVERFLOW_WAIT`` seconds is sent as a plain read on the short-call pool instead."""


def shared_async_client(
    base_url: str, transport: httpx.AsyncBaseTransport | None, *, held_open: bool = False
) -> httpx.AsyncClient:
    loop = asyncio.get_running_loop()
    per_loop = _ASYNC_CLIENTS.get(loop)
    if per_loop is None:
        _forget_closed_loops()
        per_loop = _ASYNC_CLIENTS[loop] = {}
    key = (base_url, id(transport) if transport is not None else 0, held_open)
    client = per_loop.get(key)
    if client is None or client.is_closed:
        client = httpx.AsyncClient(
            base_url=base_url,
            transport=transport,
            follow_redirects=False,
            verify=ssl_context(),
            headers=client_headers(),
            limits=ASYNC_HELD_OPEN_LIMITS if held_open else ASYNC_POOL_LIMITS,
            trust_env=trust_env(base_url),
        )
        per_loop[key] = client
    return client


def _forget_closed_loops() -> None:
    """Drop the clients of event loops that have closed (``asyncio.run`` per deferral in
    ``dag.test()``, tests): their open connections keep the loop alive, so the weak keys alone
    never let go and every finished loop leaked its pools."""
    for old in [loop for loop in list(_ASYNC_CLIENTS) if loop.is_closed()]:
        for client in _ASYNC_CLIENTS.pop(old, {}).values():
            _ASYNC_GATES.pop(client, None)


# Requests wait for a connection here, in FIFO order and at most their pool timeout, rather than
# inside httpcore's pool: the pool re-scans every queued request against every connection whenever
# one frees up, so a thousand queued requests made the triggerer's loop CPU-bound until pool
# timeouts failed them all.
_ASYNC_GATES: weakref.WeakKeyDictionary[httpx.AsyncClient, asyncio.Semaphore] = weakref.WeakKeyDictionary()


async def acquire(gate: asyncio.Semaphore, timeout: float | None) -> None:
    """Wait for a free connection, at most the pool timeout (as httpx's own wait for a connection)."""
    if not gate.locked():  # a free slot: take it without the cost of a timed wait (a task per call)
        await gate.acquire()
        return
    try:
        await asyncio.wait_for(gate.acquire(), timeout)
    except asyncio.TimeoutError:
        raise httpx.PoolTimeout("no free connection in the shared pool in time") from None


def gate_of(client: httpx.AsyncClient, held_open: bool) -> asyncio.Semaphore:
    gate = _ASYNC_GATES.get(client)
    if gate is None:
        limits = ASYNC_HELD_OPEN_LIMITS if held_open else ASYNC_POOL_LIMITS
        gate = _ASYNC_GATES[client] = asyncio.Semaphore(limits.max_connections or 64)
    return gate


async def aclose_shared_clients() -> None:
    """Close the async clients of the running event loop (call before the loop ends)."""
    loop = asyncio.get_running_loop()
    for client in _ASYNC_CLIENTS.pop(loop, {}).values():
        await client.aclose()

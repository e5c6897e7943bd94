"""The one HTTP core behind both hooks: base URL, auth header, timeouts, clients, four senders.

:class:`HttpCore` sends a :class:`~._call.Call` (method, path, params, body, idempotency, job id)
with ``httpx``. Its four senders (``request``, ``arequest``, ``stream``, ``astream``) only send,
read and sleep: what each attempt's outcome means, whether to retry and after how long, and the
error to raise are decided by one I/O-free loop, :class:`~._attempts.Attempts`. What differs per
service (error body, created id, long-poll parameter) comes from the connection's
:class:`~._connection.ServiceInfo`: the core names no service.

Async clients are shared per event loop and base URL (:class:`~._pools.AsyncPools`), so a
triggerer running hundreds of triggers keeps one bounded connection pool per service for short
calls and another for requests that the server holds open (long polls, log streams): a
trigger's abort never waits for a connection behind other triggers' long polls.

The token lives in a :class:`~._connection.Secret`, goes out only in the ``Authorization``
header, and is scrubbed from anything an error message could quote. Redirects are never
followed, so the header cannot travel to another host.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx

from airflow_provider_jobs._attempts import Attempts, Wait
from airflow_provider_jobs._call import NO_BODY, Call
from airflow_provider_jobs._classify import classify
from airflow_provider_jobs._connection import ConnectionSettings
from airflow_provider_jobs._describe import describe
from airflow_provider_jobs._pools import SHARED_POOLS, AsyncPools, acquire, client_headers, ssl_context, trust_env
from airflow_provider_jobs._retry import Idempotency, RetryPolicy
from airflow_provider_jobs.exceptions import JobsApiError

log = logging.getLogger(__name__)

OVERFLOW_WAIT = 5.0
"""Seconds a long poll waits for a held-open connection before it is sent as a plain read on the
short-call lane: with more waits than the lane has connections, the ones beyond it poll every
few seconds instead of queueing until another long poll returns (up to 60 s)."""
LONG_POLL_MARGIN = 20.0
"""Read timeout above a long poll, so the server answers before the client gives up."""
SEND_ERRORS = (httpx.TransportError, httpx.DecodingError)
"""What sending or reading may raise that is an attempt's outcome, not a bug."""


def detached(response: httpx.Response) -> httpx.Response:
    """Free a fully read response from httpx's reference cycle (response -> its stream -> response).

    httpx keeps a finished response and its spent stream pointing at each other, so the body is
    freed only by the cyclic garbage collector, which runs rarely in a process holding Airflow's
    many long-lived objects: 1 MB dataset pages piled up at ~8 MB per 100,000 items read. The
    spent stream is replaced by one over the body already read; the response works as before.
    """
    response.stream = httpx.ByteStream(response.content)
    return response


AttemptResult = httpx.Response | Exception
"""What one attempt ended in: a response, or the exception raised while sending or reading."""


class HttpCore:
    """Send calls for one connection, with retries and error mapping.

    :param settings: validated connection settings
    :param policy: retry policy (default from the connection's ``max_retries``)
    :param transport: httpx transport for the sync client (tests: ``httpx.MockTransport``)
    :param async_transport: httpx transport for the async client
    :param sleep: sync sleep function (tests inject a fake)
    :param asleep: async sleep function
    :param clock: monotonic clock
    :param rng: random source for jitter
    :param pools: the shared async clients to use (default: the process's :data:`~._pools.SHARED_POOLS`)
    """

    def __init__(
        self,
        settings: ConnectionSettings,
        *,
        policy: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        asleep: Callable[[float], Any] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
        pools: AsyncPools = SHARED_POOLS,
    ) -> None:
        self.settings = settings
        self.policy = policy or RetryPolicy(
            max_retries=settings.max_retries, max_elapsed=settings.retry_max_elapsed
        )
        self._transport = transport
        self._async_transport = async_transport
        self._sleep = sleep
        self._asleep = asleep
        self._clock = clock
        self._rng = rng
        self._pools = pools
        self._client: httpx.Client | None = None
        self._auth = {"Authorization": f"Bearer {settings.token.value}"}
        self._default_timeout = self._timeout(Call("GET", "/", ""))
        self._long_poll_param = settings.service.long_poll_param

    def __repr__(self) -> str:
        return f"HttpCore(conn_id={self.settings.conn_id!r}, base_url={self.settings.base_url!r})"

    # ----------------------------------------------------------------- clients
    def _timeout(self, call: Call) -> httpx.Timeout:
        t = self.settings.timeouts
        read = call.read_timeout or t.read
        pool = t.pool
        if call.long_poll:
            read = max(read, call.long_poll + LONG_POLL_MARGIN)
            pool = max(pool, read)  # a long poll may wait for a connection as long as for its answer
        return httpx.Timeout(connect=t.connect, read=read, write=t.write, pool=pool)

    def _sync_client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(
                base_url=self.settings.base_url, transport=self._transport, follow_redirects=False,
                verify=ssl_context(), headers={**client_headers(), **self._auth}, timeout=self._default_timeout,
                trust_env=trust_env(self.settings.base_url),
            )
        return self._client

    def _async_client(self, *, held_open: bool = False) -> tuple[httpx.AsyncClient, asyncio.Semaphore]:
        return self._pools.client(self.settings.base_url, self._async_transport, held_open=held_open)

    def _build(self, client: httpx.Client | httpx.AsyncClient, call: Call) -> httpx.Request:
        kwargs: dict[str, Any] = {}
        params = dict(call.params) if call.params else None
        if call.long_poll and self._long_poll_param:
            params = {**(params or {}), self._long_poll_param: str(int(call.long_poll))}
        if call.json is not NO_BODY:
            kwargs["json"] = call.json
        if client is not self._client:  # shared async clients serve every token of a base URL
            kwargs["headers"] = self._auth
        if call.accept:
            kwargs["headers"] = {**kwargs.get("headers", {}), "Accept": call.accept}
        if call.read_timeout or call.long_poll:
            kwargs["timeout"] = self._timeout(call)
        elif client is not self._client:  # shared async clients have httpx's default timeout
            kwargs["timeout"] = self._default_timeout
        return client.build_request(call.method, call.path, params=params, **kwargs)

    def _attempts(self, call: Call) -> Attempts:
        return Attempts(call, self.settings, self.policy, self._clock, self._rng)

    def close(self) -> None:
        """Close the sync client (the shared async pools live as long as their event loop)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    # ----------------------------------------------------------------- senders
    def request(self, call: Call) -> Any:
        """Send ``call`` and return its parsed JSON body (the response if ``expect_json`` is off).

        :raises JobsApiError: a subclass for the failure, once retries (where they apply) are spent
        """
        client = self._sync_client()
        attempts = self._attempts(call)
        while isinstance(step := attempts.after(self._send(client, call)), Wait):
            self._sleep(step.delay)
        return step.unwrap()

    async def arequest(self, call: Call) -> Any:
        """Async twin of :meth:`request`."""
        attempts = self._attempts(call)
        while isinstance(step := attempts.after(await self._asend(call)), Wait):
            await self._asleep(step.delay)
        return step.unwrap()

    @contextmanager
    def stream(self, call: Call) -> Iterator[httpx.Response]:
        """Open a streaming response to a call with ``expect_json`` off (retried like :meth:`request`
        until it starts); the caller reads it, and it is closed on leaving the context."""
        client = self._sync_client()
        attempts = self._attempts(call)
        while isinstance(step := attempts.after(self._open(client, call)), Wait):
            self._sleep(step.delay)
        response = step.unwrap()
        try:
            yield response
        finally:
            response.close()

    @asynccontextmanager
    async def astream(self, call: Call) -> AsyncIterator[httpx.Response]:
        """Async twin of :meth:`stream`. A stream the server holds open (:attr:`Call.held_open`) takes a
        slot of the held-open lane while it is read; a bounded one (a log as it is now) goes on the
        short-call lane, so it never queues behind other triggers' long polls."""
        client, gate = self._async_client(held_open=call.held_open)
        attempts = self._attempts(call)
        while isinstance(step := attempts.after(await self._aopen(client, gate, call)), Wait):
            await self._asleep(step.delay)
        response = step.unwrap()
        try:
            yield response
        finally:
            try:
                await response.aclose()
            finally:
                gate.release()

    def map_stream_error(self, call: Call, exc: BaseException) -> JobsApiError:
        """Turn an error raised while reading a stream into the provider's exception type."""
        return describe(call, classify(call, exc, self.settings.service), 1, self.settings)

    # ---------------------------------------------------------- one attempt
    def _send(self, client: httpx.Client, call: Call) -> AttemptResult:
        try:
            return detached(client.send(self._build(client, call)))
        except SEND_ERRORS as exc:
            return exc

    async def _asend(self, call: Call) -> AttemptResult:
        try:
            client, gate, sent = await self._take_slot(call)
        except httpx.PoolTimeout as exc:
            return exc
        try:
            return detached(await client.send(self._build(client, sent)))
        except SEND_ERRORS as exc:
            return exc
        finally:
            gate.release()

    async def _take_slot(self, call: Call) -> tuple[httpx.AsyncClient, asyncio.Semaphore, Call]:
        """Take a connection slot for ``call``; return the client, its gate and what to send.

        An idempotent long poll that finds the held-open lane full for :data:`OVERFLOW_WAIT`
        seconds is sent as a plain read (without the long poll) on the short-call lane.
        """
        client, gate = self._async_client(held_open=bool(call.long_poll))
        if not (call.long_poll and call.idempotency is Idempotency.SAFE and gate.locked()):
            await acquire(gate, self._timeout(call).pool)
            return client, gate, call
        try:
            await asyncio.wait_for(gate.acquire(), OVERFLOW_WAIT)
            return client, gate, call
        except asyncio.TimeoutError:
            pass
        short = dataclasses.replace(call, long_poll=None)
        client, gate = self._async_client()
        await acquire(gate, self._timeout(short).pool)
        log.debug("%s: every held-open connection is busy; sent as a plain read.", call.action)
        return client, gate, short

    def _open(self, client: httpx.Client, call: Call) -> AttemptResult:
        """Open a stream: a successful response stays open for the caller; any other is read and closed."""
        try:
            response = client.send(self._build(client, call), stream=True)
            if response.is_success:
                return response
            try:
                response.read()
            finally:
                response.close()
            return response
        except SEND_ERRORS as exc:
            return exc

    async def _aopen(self, client: httpx.AsyncClient, gate: asyncio.Semaphore, call: Call) -> AttemptResult:
        """Async twin of :meth:`_open`; a response left open keeps its slot at ``gate`` taken."""
        try:
            await acquire(gate, self._timeout(call).pool)
        except httpx.PoolTimeout as exc:
            return exc
        kept = False
        try:
            response = await client.send(self._build(client, call), stream=True)
            if response.is_success:
                kept = True  # the slot is held while the caller reads the stream: it holds a connection
                return response
            try:
                await response.aread()
            finally:
                await response.aclose()
            return response
        except SEND_ERRORS as exc:
            return exc
        finally:
            if not kept:
                gate.release()


async def aclose_shared_clients() -> None:
    """Close the async clients every core of this process shares on the running event loop (call
    before the loop ends, e.g. at the end of a test or a benchmark)."""
    await SHARED_POOLS.aclose()

"""The one HTTP core behind both hooks: base URL, auth header, timeouts, retries, error mapping.

:class:`HttpCore` sends a :class:`Call` (method, path, params, body, idempotency, job id) with
``httpx``; sync and async entry points share every decision (see :mod:`._retry`) and differ only
in how they send and sleep. Async clients are shared per event loop and base URL, so a triggerer
running hundreds of triggers keeps one bounded connection pool per service for short calls and
another for requests that the server holds open (long polls, log streams): a trigger's abort
never waits for a connection behind other triggers' long polls.

The token lives in a :class:`~._connection.Secret`, goes out only in the ``Authorization``
header, and is scrubbed from anything an error message could quote. Redirects are never
followed, so the header cannot travel to another host.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from airflow_provider_jobs._connection import ConnectionSettings, ErrorBody
from airflow_provider_jobs._pools import SHARED_POOLS, AsyncPools, acquire, client_headers, ssl_context, trust_env
from airflow_provider_jobs._retry import (
    Idempotency,
    RetryPolicy,
    parse_retry_after,
    reached_server_maybe,
    should_retry_exception,
    should_retry_status,
)
from airflow_provider_jobs.exceptions import (
    JobsApiError,
    StartOutcomeUnknownError,
    TransportError,
    UnexpectedResponseError,
    error_class_for_status,
)

log = logging.getLogger(__name__)

NO_BODY: Any = object()
"""Sentinel: the call sends no body (``None`` would send JSON ``null``)."""

_EXCERPT = 160
OVERFLOW_WAIT = 5.0
"""Seconds a long poll waits for a held-open connection before it is sent as a plain read on the
short-call lane: with more waits than the lane has connections, the ones beyond it poll every
few seconds instead of queueing until another long poll returns (up to 60 s)."""
LONG_POLL_MARGIN = 20.0
"""Read timeout above a long poll, so the server answers before the client gives up."""
_HINTS = {
    401: "Check the API token in connection '{conn_id}'.",
    403: "Check that the token in connection '{conn_id}' may do this.",
    404: "Check the {what}.",
    429: "The service is rate limiting; try again later.",
}


@dataclass(frozen=True)
class Call:
    """One API request, as the hooks describe it.

    :param method: HTTP method
    :param path: path starting with ``/``, segments already encoded
    :param action: what this call does, for messages (``"Abort of Apify run abc"``)
    :param what: what an id names, for 404 hints (``"Apify run id"``)
    :param params: query parameters (never secrets)
    :param json: JSON body, or :data:`NO_BODY`
    :param idempotency: whether the call may be repeated
    :param job_id: the run/build id concerned, carried into errors
    :param read_timeout: read timeout for this call, replacing the connection's
    :param long_poll: seconds the server may hold this request open, asked for with the service's
        long-poll parameter (:attr:`ServiceInfo.long_poll_param`); the read timeout is raised above
        it. An idempotent async call that finds every held-open connection busy for
        :data:`OVERFLOW_WAIT` seconds goes out without it on the short-call lane (a plain read)
        instead of queueing longer
    :param expect_json: parse the success body as JSON
    :param decode: turn the success body's bytes into the result (e.g. a pydantic model); raise
        ``ValueError`` for a malformed body (retried like invalid JSON) or a :class:`JobsApiError`
        for a body of the wrong shape (final); default: ``json.loads``
    """

    method: str
    path: str
    action: str
    what: str = "id"
    params: Mapping[str, str] | None = None
    json: Any = NO_BODY
    idempotency: Idempotency = Idempotency.SAFE
    job_id: str | None = None
    read_timeout: float | None = None
    long_poll: float | None = None
    expect_json: bool = True
    decode: Callable[[bytes], Any] | None = None


@dataclass
class _Outcome:
    payload: Any = None
    error: JobsApiError | None = None
    retry: bool = False
    retry_after: float | None = None


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
        self._pools = pools
        self.policy = policy or RetryPolicy(
            max_retries=settings.max_retries, max_elapsed=settings.retry_max_elapsed
        )
        self._transport = transport
        self._async_transport = async_transport
        self._sleep = sleep
        self._asleep = asleep
        self._clock = clock
        self._rng = rng
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
        if call.read_timeout or call.long_poll:
            kwargs["timeout"] = self._timeout(call)
        elif client is not self._client:  # shared async clients have httpx's default timeout
            kwargs["timeout"] = self._default_timeout
        return client.build_request(call.method, call.path, params=params, **kwargs)

    def close(self) -> None:
        """Close the sync client (the shared async pools live as long as their event loop)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    # ----------------------------------------------------------------- sending
    def request(self, call: Call) -> Any:
        """Send ``call`` and return its parsed JSON body (``None`` if ``expect_json`` is off)."""
        client = self._sync_client()
        start, attempt = self._clock(), 0
        while True:
            attempt += 1
            try:
                response = client.send(self._build(client, call))
            except (httpx.TransportError, httpx.DecodingError) as exc:
                outcome = self._judge_exception(call, exc, attempt)
            else:
                outcome = self._judge_response(call, response, attempt)
            delay = self._next_delay(call, outcome, attempt, start)
            if delay is None:
                return self._finish(outcome)
            self._sleep(delay)

    async def arequest(self, call: Call) -> Any:
        """Async twin of :meth:`request`."""
        start, attempt = self._clock(), 0
        while True:
            attempt += 1
            try:
                client, gate, sent = await self._take_slot(call)
                try:
                    response = await client.send(self._build(client, sent))
                finally:
                    gate.release()
            except (httpx.TransportError, httpx.DecodingError) as exc:
                outcome = self._judge_exception(call, exc, attempt)
            else:
                outcome = self._judge_response(call, response, attempt)
            delay = self._next_delay(call, outcome, attempt, start)
            if delay is None:
                return self._finish(outcome)
            await self._asleep(delay)

    async def _take_slot(self, call: Call) -> tuple[httpx.AsyncClient, asyncio.Semaphore, Call]:
        """Take a connection slot for ``call``; return the client, its gate and what to send.

        A long poll that may be sent without its long-poll parameter and finds the held-open lane
        full for :data:`OVERFLOW_WAIT` seconds is sent as a plain read on the short-call lane.
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

    @contextmanager
    def stream(self, call: Call) -> Iterator[httpx.Response]:
        """Open a streaming response (retried like :meth:`request` until it starts)."""
        client = self._sync_client()
        start, attempt = self._clock(), 0
        while True:
            attempt += 1
            try:
                response = client.send(self._build(client, call), stream=True)
            except (httpx.TransportError, httpx.DecodingError) as exc:
                outcome = self._judge_exception(call, exc, attempt)
            else:
                if response.is_success:
                    try:
                        yield response
                    finally:
                        response.close()
                    return
                try:
                    response.read()
                except (httpx.TransportError, httpx.DecodingError) as exc:
                    outcome = self._judge_exception(call, exc, attempt)
                else:
                    outcome = self._judge_response(call, response, attempt)
                finally:
                    response.close()
            delay = self._next_delay(call, outcome, attempt, start)
            if delay is None:
                self._finish(outcome)
                return
            self._sleep(delay)

    @asynccontextmanager
    async def astream(self, call: Call) -> AsyncIterator[httpx.Response]:
        """Async twin of :meth:`stream`."""
        client, gate = self._async_client(held_open=True)
        start, attempt = self._clock(), 0
        while True:
            attempt += 1
            try:
                await acquire(gate, self._timeout(call).pool)
            except httpx.PoolTimeout as exc:
                outcome = self._judge_exception(call, exc, attempt)
            else:
                try:  # the slot is held while the caller reads the stream: it holds a connection
                    try:
                        response = await client.send(self._build(client, call), stream=True)
                    except (httpx.TransportError, httpx.DecodingError) as exc:
                        outcome = self._judge_exception(call, exc, attempt)
                    else:
                        if response.is_success:
                            try:
                                yield response
                            finally:
                                await response.aclose()
                            return
                        try:
                            await response.aread()
                        except (httpx.TransportError, httpx.DecodingError) as exc:
                            outcome = self._judge_exception(call, exc, attempt)
                        else:
                            outcome = self._judge_response(call, response, attempt)
                        finally:
                            await response.aclose()
                finally:
                    gate.release()
            delay = self._next_delay(call, outcome, attempt, start)
            if delay is None:
                self._finish(outcome)
                return
            await self._asleep(delay)

    def map_stream_error(self, call: Call, exc: BaseException) -> JobsApiError:
        """Turn an error raised while reading a stream into the provider's exception type."""
        return self._judge_exception(call, exc, 1).error or TransportError(str(exc))

    # --------------------------------------------------------------- decisions
    def _next_delay(self, call: Call, outcome: _Outcome, attempt: int, start: float) -> float | None:
        if not outcome.retry:
            return None
        delay = self.policy.next_delay(
            attempt, self._clock() - start, outcome.retry_after, self._rng
        )
        if delay is not None:
            err = outcome.error
            log.info(
                "%s: %s; retrying in %.2f s (attempt %d of %d).",
                call.action,
                _short_reason(err),
                delay,
                attempt + 1,
                self.policy.max_retries + 1,
            )
        return delay

    @staticmethod
    def _finish(outcome: _Outcome) -> Any:
        if outcome.error is not None:
            raise outcome.error
        return outcome.payload

    def _judge_response(self, call: Call, response: httpx.Response, attempt: int) -> _Outcome:
        status = response.status_code
        if 200 <= status < 300:
            if not call.expect_json:
                return _Outcome(payload=None)
            try:
                return _Outcome(payload=call.decode(response.content) if call.decode else response.json())
            except JobsApiError as shape_error:  # valid JSON, wrong shape: retrying would not help
                if call.idempotency is not Idempotency.CREATE:
                    return _Outcome(error=shape_error)
                detail = str(shape_error)  # ...but a start's job exists: an unknown outcome, below
            except ValueError:
                detail = f"HTTP {status} with a body that is not valid JSON: {self._excerpt(response)}"
            return self._unexpected(call, status, detail, attempt, response)
        if 300 <= status < 400:
            detail = f"HTTP {status} redirect refused (redirects are never followed, to keep the token on this host)"
            return _Outcome(error=self._error(UnexpectedResponseError, call, detail, attempt, status=status))
        error_type, api_message, request_id = self._parse_error_body(response)
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        cls = error_class_for_status(status, error_type)
        if call.idempotency is Idempotency.CREATE and status >= 500:
            cls = StartOutcomeUnknownError
        detail = f"HTTP {status}"
        if error_type:
            detail += f" {error_type}"
        if api_message:
            detail += f": {api_message}"
        elif not error_type:
            detail += f": {self._excerpt(response)}"
        if request_id:
            detail += f" (request id {request_id})"
        error = self._error(
            cls,
            call,
            detail,
            attempt,
            status=status,
            error_type=error_type,
            api_message=api_message,
            request_id=request_id,
            retry_after=retry_after,
        )
        return _Outcome(
            error=error,
            retry=should_retry_status(status, call.idempotency),
            retry_after=retry_after if status == 429 else None,
        )

    def _judge_exception(self, call: Call, exc: BaseException, attempt: int) -> _Outcome:
        reason = f"{type(exc).__name__}: {self._scrub(str(exc)) or 'no details'}"
        cls: type[JobsApiError] = TransportError
        if call.idempotency is Idempotency.CREATE and reached_server_maybe(exc):
            cls = StartOutcomeUnknownError
        detail = f"could not talk to {self.settings.base_url} ({reason})"
        error = self._error(cls, call, detail, attempt)
        error.__cause__ = exc
        return _Outcome(error=error, retry=should_retry_exception(exc, call.idempotency))

    def _unexpected(
        self, call: Call, status: int, detail: str, attempt: int, response: httpx.Response
    ) -> _Outcome:
        """A success status with a body that cannot be read. For a start, the job exists anyway: an
        unknown outcome (never retried) carrying the id when the raw body shows one, so that the
        job can be found and aborted."""
        request_id = response.headers.get("x-request-id")
        if call.idempotency is Idempotency.CREATE:
            job_id = self._created_id(response)
            if job_id:
                detail += f" (the answer names the job {job_id})"
            error = self._error(StartOutcomeUnknownError, call, detail, attempt, status=status,
                                request_id=request_id, job_id=job_id or call.job_id)
            return _Outcome(error=error)
        error = self._error(UnexpectedResponseError, call, detail, attempt, status=status, request_id=request_id)
        return _Outcome(error=error, retry=call.idempotency is Idempotency.SAFE)

    def _error(
        self, cls: type[JobsApiError], call: Call, detail: str, attempt: int, *, job_id: str | None = None,
        **fields: Any,
    ) -> JobsApiError:
        status = fields.get("status")
        message = f"{call.action} failed on connection '{self.settings.conn_id}': {detail}"
        if attempt > 1:
            message += f" after {attempt} attempts"
        message += "."
        if cls is StartOutcomeUnknownError:
            message += (
                " The request may have reached the server, so the job may have been created and "
                "the start was not retried: check the service for a new job before starting again."
            )
        elif status in _HINTS:
            message += " " + _HINTS[status].format(conn_id=self.settings.conn_id, what=call.what)
        return cls(
            self._scrub(message),
            job_id=job_id or call.job_id,
            conn_id=self.settings.conn_id,
            method=call.method,
            path=call.path,
            attempts=attempt,
            **fields,
        )

    def _scrub(self, text: str) -> str:
        token = self.settings.token.value
        return text.replace(token, "***") if token and token in text else text

    def _excerpt(self, response: httpx.Response) -> str:
        try:
            text = response.text
        except Exception:  # undecodable bytes
            text = repr(response.content[:_EXCERPT])
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]{0,200}>", " ", text)).strip()
        if not text:
            return "(empty body)"
        text = self._scrub(text)
        return repr(text if len(text) <= _EXCERPT else text[:_EXCERPT] + "...")

    def _parse_error_body(self, response: httpx.Response) -> tuple[str | None, str | None, str | None]:
        """Read a JSON error body the way the service describes it (:attr:`ServiceInfo.read_error`)."""
        try:
            body = response.json()
        except ValueError:
            body = None
        found = self.settings.service.read_error(body) if isinstance(body, dict) else ErrorBody()
        request_id = found.request_id or response.headers.get("x-request-id")
        return (
            self._scrub(str(found.type)) if found.type else None,
            self._scrub(str(found.message))[:500] if found.message else None,
            str(request_id) if request_id else None,
        )

    def _created_id(self, response: httpx.Response) -> str | None:
        """The new job's id where the service says a start's answer names it, if it is a plausible id."""
        try:
            value = self.settings.service.created_id(response.json())
        except ValueError:
            return None
        return value if isinstance(value, str) and 0 < len(value) <= 200 else None


def _short_reason(error: JobsApiError | None) -> str:
    if error is None:
        return "retrying"
    if error.status is not None:
        return f"HTTP {error.status}" + (f" {error.error_type}" if error.error_type else "")
    cause = error.__cause__
    return type(cause).__name__ if cause is not None else type(error).__name__


async def aclose_shared_clients() -> None:
    """Close the async clients every core of this process shares on the running event loop (call
    before the loop ends, e.g. at the end of a test or a benchmark)."""
    await SHARED_POOLS.aclose()

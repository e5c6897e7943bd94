"""Fault injection: rules that make the next matching requests fail in a chosen way.

Kinds (see :class:`Fault`):

- ``status``: answer with an error status and that API's real error body; not processed.
- ``html``: answer with an HTML error page, as a proxy in front of the API would; not processed.
- ``delay``: wait ``delay`` seconds, then process and answer normally (a client read timeout
  shorter than the delay sees a timeout, while the request is still processed).
- ``drop_before``: close the connection without a response, before processing (no state change).
- ``drop_after``: process the request (state changes), then close without a response.
- ``reset_mid_body``: process, send the headers with the full ``Content-Length`` and part of
  the body, then close the connection.
- ``slow_body``: process, then dribble the body out in ``chunk_size`` pieces ``chunk_delay``
  seconds apart.
- ``malformed_json``: process, then answer 200 with the JSON body cut in half.

``delay`` also applies before any other kind.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.responses import Response, StreamingResponse
from starlette.types import Message, Receive, Scope, Send

from airflow_provider_jobs.emulator._util import short_token
from airflow_provider_jobs.emulator.errors import apify_error, reason_phrase, templates_error

FaultKind = Literal[
    "status", "html", "delay", "drop_before", "drop_after", "reset_mid_body", "slow_body", "malformed_json"
]


class Fault(BaseModel):
    """A fault-injection rule; every criterion given must match the request.

    :param kind: what to do, see the module docstring.
    :param method: HTTP method to match (any case); ``None`` matches all.
    :param route: route template to match, e.g. ``/v2/actor-runs/{runId}/abort``; may start with
        the method (``POST /v2/actor-runs/{runId}/abort``).
    :param path_regex: regular expression searched in the decoded request path.
    :param api: ``apify`` or ``templates`` to match one API only.
    :param times: how many matching requests to affect; ``None`` means every one.
    :param status: status of ``status`` faults (default 500) and ``html`` faults (default 502).
    :param retry_after: ``Retry-After`` value: seconds, or a string sent verbatim.
    :param retry_after_http_date: send a numeric ``retry_after`` as an HTTP date instead.
    :param delay: seconds to wait before acting (real seconds, never scaled).
    :param chunk_size: bytes per chunk of a ``slow_body`` response.
    :param chunk_delay: seconds between chunks of a ``slow_body`` response.
    :param error_type: Apify ``error.type`` / templates ``code`` to send instead of the default.
    :param message: error message to send instead of the default.
    :param body: a full response body to send instead (dict as JSON, str as text).
    :param id: identifier of the rule (generated).
    """

    model_config = ConfigDict(extra="forbid")

    kind: FaultKind = "status"
    method: str | None = None
    route: str | None = None
    path_regex: str | None = None
    api: Literal["apify", "templates"] | None = None
    times: int | None = Field(default=1, ge=1)
    status: int | None = Field(default=None, ge=400, le=599)
    retry_after: float | str | None = None
    retry_after_http_date: bool = False
    delay: float = Field(default=0.0, ge=0)
    chunk_size: int = Field(default=16, ge=1)
    chunk_delay: float = Field(default=0.05, ge=0)
    error_type: str | None = None
    message: str | None = None
    body: Any = None
    id: str = Field(default_factory=lambda: "fault_" + short_token(8))

    @model_validator(mode="after")
    def _normalise(self) -> Fault:
        if self.route and " " in self.route:
            method, route = self.route.split(" ", 1)
            self.method = self.method or method
            self.route = route
        if self.method:
            self.method = self.method.upper()
        if self.path_regex:
            try:
                re.compile(self.path_regex)
            except re.error as exc:
                raise ValueError(f"path_regex is not a valid regular expression: {exc}") from exc
        return self

    def matches(self, method: str, route: str | None, path: str, api: str | None) -> bool:
        """Return whether this rule applies to a request."""
        if self.method and self.method != method.upper():
            return False
        if self.route and self.route != route:
            return False
        if self.path_regex and not re.search(self.path_regex, path):
            return False
        return not (self.api and self.api != api)

    def describe(self) -> str:
        """Return a short text for the journal, e.g. ``status:429 (fault_ab12cd34)``."""
        detail: str = self.kind
        if self.kind in {"status", "html"}:
            detail += f":{self.effective_status()}"
        return f"{detail} ({self.id})"

    def effective_status(self) -> int:
        """Return the status a ``status`` or ``html`` fault answers with."""
        if self.status is not None:
            return self.status
        return 502 if self.kind == "html" else 500

    def retry_after_header(self) -> str | None:
        """Return the ``Retry-After`` header value, if any."""
        if self.retry_after is None:
            return None
        if isinstance(self.retry_after, str):
            return self.retry_after
        if self.retry_after_http_date:
            moment = datetime.now(timezone.utc) + timedelta(seconds=self.retry_after)
            if moment.microsecond:  # HTTP dates have whole seconds: round up, never ask for less
                moment += timedelta(microseconds=1_000_000 - moment.microsecond)
            return format_datetime(moment, usegmt=True)
        return str(int(self.retry_after)) if float(self.retry_after).is_integer() else str(self.retry_after)


class FaultRegistry:
    """Thread-safe list of active faults; :meth:`take` consumes one use of the first match."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[tuple[Fault, list[int | None]]] = []
        self._hits: dict[str, int] = {}

    def add(self, fault: Fault | None = None, **fields: Any) -> Fault:
        """Activate a fault rule, given as a :class:`Fault` or as its fields; return it."""
        fault = fault if fault is not None else Fault(**fields)
        with self._lock:
            self._rules.append((fault, [fault.times]))
            self._hits[fault.id] = 0
        return fault

    def remove(self, fault_id: str) -> bool:
        """Deactivate one fault rule; return whether it was active."""
        with self._lock:
            before = len(self._rules)
            self._rules = [(fault, left) for fault, left in self._rules if fault.id != fault_id]
            return len(self._rules) != before

    def clear(self) -> None:
        """Deactivate every fault rule."""
        with self._lock:
            self._rules.clear()
            self._hits.clear()

    def take(self, method: str, route: str | None, path: str, api: str | None) -> Fault | None:
        """Return the first rule matching a request and count one use of it."""
        with self._lock:
            for index, (fault, left) in enumerate(self._rules):
                if not fault.matches(method, route, path, api):
                    continue
                self._hits[fault.id] = self._hits.get(fault.id, 0) + 1
                if left[0] is not None:
                    left[0] -= 1
                    if left[0] <= 0:
                        del self._rules[index]
                return fault
        return None

    def active(self) -> list[dict[str, Any]]:
        """Return the active rules with ``remaining`` and ``hits`` counts."""
        with self._lock:
            return [
                {**fault.model_dump(), "remaining": left[0], "hits": self._hits.get(fault.id, 0)}
                for fault, left in self._rules
            ]

    def hits(self, fault_id: str) -> int:
        """Return how many requests a fault rule (active or used up) has affected so far."""
        with self._lock:
            return self._hits.get(fault_id, 0)


def html_error_page(status: int) -> bytes:
    """Return the HTML error page a reverse proxy sends for ``status``."""
    title = f"{status} {reason_phrase(status)}"
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    ).encode()


def fault_response(
    fault: Fault, api: str | None, request_id: str, build_id: str | None = None
) -> tuple[int, list[tuple[str, str]], bytes]:
    """Return ``(status, headers, body)`` for a ``status`` or ``html`` fault."""
    status = fault.effective_status()
    headers: list[tuple[str, str]] = []
    retry_after = fault.retry_after_header()
    if retry_after is not None:
        headers.append(("retry-after", retry_after))
    if fault.kind == "html":
        headers.append(("content-type", "text/html"))
        return status, headers, html_error_page(status)
    if isinstance(fault.body, str):
        headers.append(("content-type", "text/plain; charset=utf-8"))
        return status, headers, fault.body.encode()
    if fault.body is not None:
        payload = fault.body
    elif api == "templates":
        payload = templates_error(status, fault.error_type, fault.message, request_id=request_id, build_id=build_id)
    else:
        payload = apify_error(status, fault.error_type, fault.message)
    headers.append(("content-type", "application/json; charset=utf-8"))
    return status, headers, json.dumps(payload).encode()


async def respond(
    fault: Fault | None,
    process: Callable[[], Awaitable[Response]],
    scope: Scope,
    receive: Receive,
    send: Send,
    *,
    api: str | None,
    request_id: str,
    build_id: str | None = None,
) -> int | None:
    """Answer one request with ``fault`` applied; return the status sent (``None`` if dropped).

    :param process: runs the request's handler and returns its response; kinds that leave the
        request unprocessed never call it.
    """
    if fault is not None and fault.delay:
        await asyncio.sleep(fault.delay)
    kind = fault.kind if fault is not None else None
    if kind == "drop_before":
        await _abort_transport(send)
        return None
    if fault is not None and kind in {"status", "html"}:
        status, headers, body = fault_response(fault, api, request_id, build_id)
        await _send(send, status, [*headers, ("x-request-id", request_id)], body)
        return status
    response = await process()
    if kind == "drop_after":
        await _abort_transport(send)
        return None
    if fault is None or kind == "delay" or isinstance(response, StreamingResponse):
        return await _send_response(response, scope, receive, send)
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.raw_headers]
    body = bytes(response.body)
    half = body[: max(1, len(body) // 2)]
    if kind == "malformed_json":
        await _send(send, 200, headers, half)
        return 200
    await _send_start(send, response.status_code, headers)
    if kind == "reset_mid_body":
        await send({"type": "http.response.body", "body": half, "more_body": True})
        await _abort_transport(send)
        return None
    for offset in range(0, len(body), fault.chunk_size):  # slow_body
        if offset:
            await asyncio.sleep(fault.chunk_delay)
        if getattr(getattr(send, "__self__", None), "disconnected", False):
            return response.status_code
        await send({"type": "http.response.body", "body": body[offset : offset + fault.chunk_size], "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})
    return response.status_code


async def _abort_transport(send: Send) -> None:
    """Close the client connection without a (complete) response (uvicorn only)."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        raise RuntimeError("dropping a connection needs the emulator to run under uvicorn")
    transport.abort()
    for _ in range(3):
        await asyncio.sleep(0)


async def _send_response(response: Response, scope: Scope, receive: Receive, send: Send) -> int:
    sent: list[int] = []

    async def recording_send(message: Message) -> None:
        if message["type"] == "http.response.start":
            sent.append(int(message["status"]))
        await send(message)

    await response(scope, receive, recording_send)
    return sent[0] if sent else response.status_code


async def _send_start(send: Send, status: int, headers: list[tuple[str, str]]) -> None:
    encoded = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    await send({"type": "http.response.start", "status": status, "headers": encoded})


async def _send(send: Send, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
    """Send a whole response with a ``Content-Length`` matching ``body``."""
    headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
    await _send_start(send, status, [*headers, ("content-length", str(len(body)))])
    await send({"type": "http.response.body", "body": body, "more_body": False})

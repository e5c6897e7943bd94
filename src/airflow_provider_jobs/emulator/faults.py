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

import json
import re
import threading
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from http import HTTPStatus
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from airflow_provider_jobs.emulator._util import short_token

FaultKind = Literal[
    "status", "html", "delay", "drop_before", "drop_after", "reset_mid_body", "slow_body", "malformed_json"
]
PROCESSED_KINDS = frozenset({"delay", "drop_after", "reset_mid_body", "slow_body", "malformed_json"})

_APIFY_ERRORS: dict[int, tuple[str, str]] = {
    400: ("invalid-input", "Invalid input: The request body contains invalid data."),
    401: ("user-or-token-not-found", "User was not found or authentication token is not valid"),
    402: ("not-enough-usage-to-run-paid-actor", "You have reached your usage limit."),
    403: ("insufficient-permissions", "You do not have permission to perform this action."),
    404: ("record-not-found", "The requested resource was not found."),
    405: ("method-not-allowed", "This API end-point can only be accessed using other HTTP methods"),
    408: ("run-timeout-exceeded", "Actor run exceeded the timeout of 300 seconds for this API endpoint"),
    409: ("concurrent-update-detected", "The record was changed by another request. Please try again."),
    413: ("request-too-large", "The POST payload is too large."),
    429: ("rate-limit-exceeded", "You have exceeded the rate limit. Please try again later."),
    500: ("internal-server-error", "Internal server error"),
    502: ("internal-server-error", "Bad gateway: the upstream server did not answer correctly"),
    503: ("internal-server-error", "Service temporarily unavailable, please try again later"),
    504: ("internal-server-error", "Gateway timeout: the upstream server did not answer in time"),
}
_TEMPLATE_ERRORS: dict[int, tuple[str, str]] = {
    400: ("invalid_request", "invalid request"),
    401: ("unauthorized", "invalid or missing API key"),
    403: ("forbidden", "forbidden"),
    404: ("template_build_not_found", "template build not found"),
    409: ("transition_conflict", "template build is changing state, try again"),
    429: ("rate_limit_exceeded", "too many requests, slow down"),
    500: ("internal_error", "internal server error"),
    501: ("not_implemented", "not implemented"),
    502: ("internal_error", "bad gateway"),
    503: ("feature_unavailable", "template builds are temporarily unavailable"),
    504: ("internal_error", "gateway timeout"),
}


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

    def add(self, fault: Fault) -> Fault:
        """Activate a rule and return it."""
        with self._lock:
            self._rules.append((fault, [fault.times]))
            self._hits[fault.id] = 0
        return fault

    def remove(self, fault_id: str) -> bool:
        """Deactivate a rule; return whether it was active."""
        with self._lock:
            before = len(self._rules)
            self._rules = [(fault, left) for fault, left in self._rules if fault.id != fault_id]
            return len(self._rules) != before

    def clear(self) -> None:
        """Deactivate every rule."""
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
        """Return how many requests a rule (active or used up) has affected."""
        with self._lock:
            return self._hits.get(fault_id, 0)


def _phrase(status: int) -> str:
    """The reason phrase of ``status``; a generic one for codes outside the standard (e.g. 520)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Server Error" if status >= 500 else "Client Error"


def apify_error(status: int, error_type: str | None = None, message: str | None = None) -> dict[str, Any]:
    """Return an Apify error body ``{"error": {"type", "message"}}`` for ``status``."""
    default_type, default_message = _APIFY_ERRORS.get(
        status, ("internal-server-error" if status >= 500 else "invalid-request", _phrase(status))
    )
    return {"error": {"type": error_type or default_type, "message": message or default_message}}


def templates_error(
    status: int,
    code: str | None = None,
    message: str | None = None,
    *,
    request_id: str | None = None,
    build_id: str | None = None,
) -> dict[str, Any]:
    """Return a flat templates error body ``{"error", "code", "request_id", "build_id"}``."""
    default_code, default_message = _TEMPLATE_ERRORS.get(
        status, ("internal_error" if status >= 500 else "invalid_request", _phrase(status).lower())
    )
    body: dict[str, Any] = {"error": message or default_message, "code": code or default_code}
    if status == 429 or status >= 500:
        body["retryable"] = status in {429, 502, 503, 504}
    if request_id:
        body["request_id"] = request_id
    if build_id:
        body["build_id"] = build_id
    return body


def html_error_page(status: int) -> bytes:
    """Return the HTML error page a reverse proxy sends for ``status``."""
    title = f"{status} {_phrase(status)}"
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
        payload = templates_error(
            status, fault.error_type, fault.message, request_id=request_id, build_id=build_id
        )
    else:
        payload = apify_error(status, fault.error_type, fault.message)
    headers.append(("content-type", "application/json; charset=utf-8"))
    return status, headers, json.dumps(payload).encode()

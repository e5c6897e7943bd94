"""Helpers shared by the tests (imported as ``_support``; tests/ is on sys.path under pytest)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

# Recognisable tokens: a test may assert that they appear nowhere but the Authorization header.
APIFY_TOKEN = "tok-APIFY-s3cr3t-0123456789"
TEMPLATES_TOKEN = "tok-NS-s3cr3t-9876543210"
MOCK_BASE = "http://127.0.0.1:18089"


def conn_json(conn_type: str, token: str | None, host: str | None = MOCK_BASE, **extra: Any) -> str:
    """Return an AIRFLOW_CONN_* JSON value."""
    data: dict[str, Any] = {"conn_type": conn_type}
    if host is not None:
        data["host"] = host
    if token is not None:
        data["password"] = token
    if extra:
        data["extra"] = extra
    return json.dumps(data)


@dataclass
class Recorder:
    """A MockTransport handler that records requests and answers from a script."""

    responses: list[Any] = field(default_factory=list)
    default: Any = None
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        item = self.responses.pop(0) if self.responses else self.default
        if item is None:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        if isinstance(item, BaseException):
            raise item
        if callable(item):
            return item(request)
        # A fresh copy each time: a Response read by a sync client cannot serve an async one.
        return httpx.Response(item.status_code, headers=item.headers, content=item.content)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def async_transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]


def apify_ok(data: dict[str, Any], status: int = 200) -> httpx.Response:
    return httpx.Response(status, json={"data": data})


def apify_error(status: int, type_: str, message: str, **headers: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"type": type_, "message": message}}, headers=headers)


class FakeClock:
    """A monotonic clock and sleep that advance together without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)

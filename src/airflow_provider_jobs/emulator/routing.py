"""A small router that knows each route's template before the handler runs.

The app needs the matched route template (``POST /v2/actor-runs/{runId}/abort``) to journal a
request and to pick a fault rule *before* processing it, so routing is done here rather than by
Starlette. Paths are matched percent-encoded, so ``demo%2Fhello`` stays one segment.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from starlette.responses import Response

from airflow_provider_jobs.emulator.errors import EmulatedApiError

if TYPE_CHECKING:
    from airflow_provider_jobs.emulator.emulator import Emulator

Handler = Callable[["RequestContext"], Awaitable[Response]]
_PARAM = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class RouteSpec:
    """One route: method, path template, handler and the API it belongs to."""

    method: str
    template: str
    handler: Handler
    api: str

    @property
    def label(self) -> str:
        """Return ``METHOD /path/{template}``, the form journal entries and faults use."""
        return f"{self.method} {self.template}"

    def pattern(self) -> re.Pattern[str]:
        """Return the regular expression matching raw (percent-encoded) paths."""
        parts = enumerate(_PARAM.split(self.template))
        regex = "".join(f"(?P<{part}>[^/]+)" if index % 2 else re.escape(part) for index, part in parts)
        return re.compile(f"^{regex}/?$")


@dataclass
class RouteMatch:
    """Result of routing: the route (if the method fits), its parameters, allowed methods."""

    route: RouteSpec | None
    params: dict[str, str] = field(default_factory=dict)
    allowed: list[str] = field(default_factory=list)


class Router:
    """Match requests against a list of :class:`RouteSpec`."""

    def __init__(self, routes: list[RouteSpec]) -> None:
        self._routes = [(route, route.pattern()) for route in routes]

    def match(self, method: str, raw_path: str) -> RouteMatch:
        """Find the route for ``method`` and the percent-encoded ``raw_path``."""
        allowed: list[str] = []
        for route, pattern in self._routes:
            found = pattern.match(raw_path)
            if found is None:
                continue
            params = {name: unquote(value) for name, value in found.groupdict().items()}
            if route.method == method:
                return RouteMatch(route, params, allowed)
            allowed.append(route.method)
        return RouteMatch(None, {}, sorted(set(allowed)))


@dataclass
class RequestContext:
    """Everything a handler needs about one request; the body is already read and decoded."""

    emulator: Emulator
    api: str | None
    """``apify``, ``templates``, ``control`` (under ``/_emulator``) or ``None`` (neither)."""
    route: RouteSpec | None
    params: dict[str, str]
    method: str
    path: str
    raw_query: str
    query: dict[str, str]
    query_items: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes
    request_id: str
    base_url: str
    client_ip: str
    token: str | None = None
    token_source: str | None = None
    body_error: EmulatedApiError | None = None
    """Why the body could not be decoded (raised before the handler runs)."""
    allowed: list[str] = field(default_factory=list)
    """The methods the path allows, when the route did not match the method."""

    def param(self, name: str) -> str:
        """Return a path parameter."""
        return self.params[name]

    def json_body(self, *, empty: Any = None) -> Any:
        """Parse the body as JSON (``empty`` when there is none); a 400 in the API's shape otherwise."""
        if not self.body.strip():
            return empty
        try:
            return json.loads(self.body)
        except ValueError as exc:
            if self.api == "apify":
                raise EmulatedApiError(
                    400, "invalid-input", f"Invalid input: the body is not valid JSON ({exc})"
                ) from exc
            raise EmulatedApiError(400, "invalid_request", f"request body is not valid JSON: {exc}") from exc


def body_for_journal(body: bytes, content_type: str) -> Any:
    """Return the body as JSON if it parses, else as text, else ``None`` when empty."""
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        pass
    if "json" in content_type or not content_type or content_type.startswith("text/"):
        return body.decode("utf-8", errors="replace")
    return body.decode("latin-1")

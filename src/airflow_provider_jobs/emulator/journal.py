"""The request journal: every request the emulated APIs received, and what happened to it."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class JournalEntry:
    """One request received by the emulated APIs (control requests are not journaled).

    :param seq: position in the journal, from 1.
    :param method: HTTP method, upper case.
    :param path: decoded request path.
    :param raw_query: the query string exactly as sent.
    :param query: parsed query; the last value wins when a name repeats.
    :param headers: every request header, names lower-cased (``authorization`` included).
    :param body: the body parsed as JSON, else decoded text, else ``None`` when empty.
    :param route: the matched route, e.g. ``POST /v2/actor-runs/{runId}/abort``; ``None`` if none.
    :param path_params: values of the route's path parameters.
    :param api: ``apify``, ``templates`` or ``None`` for paths outside both APIs.
    :param token_source: where the API token came from: ``header``, ``query`` or ``None``.
    :param status: response status; ``None`` when the connection was dropped without one.
    :param fault: description of the injected fault that was applied, if any.
    :param request_id: the ``x-request-id`` the response carried.
    :param monotonic: ``time.monotonic()`` when the request arrived.
    :param wall_time: ISO-8601 UTC wall time when the request arrived.
    :param duration: seconds until the response was complete (or the connection dropped).
    """

    seq: int
    method: str
    path: str
    raw_query: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    route: str | None
    path_params: dict[str, str]
    api: str | None
    token_source: str | None
    request_id: str
    monotonic: float
    wall_time: str
    status: int | None = None
    fault: str | None = None
    duration: float | None = None
    query_items: list[tuple[str, str]] = field(default_factory=list)

    @property
    def authorization(self) -> str | None:
        """Return the ``Authorization`` header, if one was sent."""
        return self.headers.get("authorization")

    @property
    def query_token(self) -> str | None:
        """Return the ``token`` query parameter (a leaked credential), if one was sent."""
        return self.query.get("token")


class Journal:
    """Thread-safe, append-only list of :class:`JournalEntry` objects."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[JournalEntry] = []
        self._seq = 0

    def next_seq(self) -> int:
        """Reserve the next sequence number."""
        with self._lock:
            self._seq += 1
            return self._seq

    def append(self, entry: JournalEntry) -> None:
        """Add an entry (it may still be updated in place until its response is done)."""
        with self._lock:
            self._entries.append(entry)

    def clear(self) -> None:
        """Forget every journaled request (sequence numbers keep growing)."""
        with self._lock:
            self._entries.clear()

    def select(
        self,
        method: str | None = None,
        route: str | None = None,
        *,
        path: str | None = None,
        path_regex: str | None = None,
        api: str | None = None,
    ) -> list[JournalEntry]:
        """Return the journaled requests matching every given criterion, oldest first.

        :param method: HTTP method (any case).
        :param route: route template, with or without the method (``/v2/actor-runs/{runId}`` or
            ``GET /v2/actor-runs/{runId}``).
        :param path: exact decoded path.
        :param path_regex: regular expression searched in the path.
        :param api: ``apify`` or ``templates``.
        """
        pattern = re.compile(path_regex) if path_regex else None
        wanted_method = method.upper() if method else None
        if route and " " in route:
            route_method, route = route.split(" ", 1)
            wanted_method = wanted_method or route_method.upper()
        with self._lock:
            entries = list(self._entries)
        return [
            entry
            for entry in entries
            if (not wanted_method or entry.method == wanted_method)
            and (not route or (entry.route is not None and entry.route.split(" ", 1)[1] == route))
            and (path is None or entry.path == path)
            and (pattern is None or pattern.search(entry.path))
            and (api is None or entry.api == api)
        ]

"""I/O-free pieces of reading an Apify run's results: dataset pages, records, log lines.

:class:`ItemPages` keeps the bookkeeping of a paginated dataset read and :class:`LogTail` that of a
log stream read again after a reconnect; the hook's sync and async methods only send and await.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx

from airflow_provider_jobs._call import Call
from airflow_provider_jobs.exceptions import JobsApiError, NotFoundError, UnexpectedResponseError

PAGE_SIZE = 1000
"""Items asked for per dataset page (the official client's chunk size)."""
COUNT_HEADER = "x-apify-pagination-count"
"""Items the server *scanned* for a page; more than it returned when ``clean`` dropped some."""
LOG_READ_TIMEOUT = 120.0
"""Read timeout of a followed log stream: a quiet run may log nothing for a while (then: reconnect)."""
MAX_RECONNECT_PAUSE = 5.0


def unexpected(call: Call, conn_id: str, detail: str) -> UnexpectedResponseError:
    """The error for a success answer whose body is not what the endpoint documents."""
    return UnexpectedResponseError(
        f"{call.action} failed on connection '{conn_id}': unexpected response: {detail}.",
        job_id=call.job_id, conn_id=conn_id, method=call.method, path=call.path,
    )


class ItemPages:
    """Where the next dataset page starts and when to stop, from what the previous pages said.

    A page advances the offset by the rows it *scanned*: ``max(X-Apify-Pagination-Count, items
    returned)``, at most the rows asked for. With ``clean`` the server drops empty items, so a page
    can return fewer items than it scanned; and ``Count`` comes from a throttled counter that can
    lag a fresh push, so the larger of the two is taken (as apify-client does). Without ``clean``
    every scanned row is returned, and a page shorter than asked is the end of the dataset as it
    was when read: the read stops there, saving a request. With ``clean`` the read stops at a page
    that scanned nothing (a short page may only be a lagging ``Count``). It also stops once
    ``limit`` rows were scanned. ``X-Apify-Pagination-Total`` is never trusted to end the read: it
    lags too.

    :param offset: first item to read
    :param limit: rows to scan at most (``None``: all)
    :param filtered: the server may drop items of a page (``clean``)
    :param page_size: rows asked for per request
    """

    def __init__(self, offset: int, limit: int | None, *, filtered: bool = False, page_size: int = PAGE_SIZE) -> None:
        self.offset = offset
        self.limit = limit
        self.filtered = filtered
        self.page_size = page_size
        self.scanned = 0
        self.done = limit == 0

    def next_page(self) -> tuple[int, int]:
        """``(offset, limit)`` of the next request."""
        size = self.page_size if self.limit is None else min(self.page_size, self.limit - self.scanned)
        return self.offset + self.scanned, size

    def after(self, asked: int, returned: int, count_header: str | None) -> None:
        """Record a page that was asked ``asked`` rows and returned ``returned`` items."""
        try:
            counted = int(count_header) if count_header is not None else 0
        except ValueError:
            counted = 0
        scanned = min(max(counted, returned), asked)
        self.scanned += scanned
        end = scanned == 0 if self.filtered else scanned < asked
        self.done = end or (self.limit is not None and self.scanned >= self.limit)


def parse_items(call: Call, conn_id: str, response: httpx.Response) -> tuple[list[Any], str | None]:
    """A dataset page's items and its ``X-Apify-Pagination-Count`` header."""
    try:
        items = json.loads(response.content)
    except ValueError:
        raise unexpected(call, conn_id, "the dataset page is not valid JSON") from None
    if not isinstance(items, list):
        raise unexpected(call, conn_id, f"expected a JSON array of items, got {type(items).__name__}")
    return items, response.headers.get(COUNT_HEADER)


def record_value(response: httpx.Response) -> Any:
    """A record's value: decoded JSON when the Content-Type says JSON, the raw bytes otherwise."""
    media = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        try:
            return json.loads(response.content)
        except ValueError:
            return response.content  # labelled JSON but is not: hand over the bytes rather than fail
    return response.content


def is_missing_store(error: NotFoundError) -> bool:
    """Whether a record read's 404 says the *store* is missing, not the record: both are
    ``record-not-found``, and only the message tells ("Key-value store was not found")."""
    return "store" in (error.api_message or "").lower()


class LogTail:
    """Lines of a log that the API sends again from its start on every connection, each yielded once.

    The log endpoint has no offset parameter: a stream reopened after a network drop starts at
    byte 0. The tail counts the bytes of the lines it already handed out and skips that many bytes
    of each new connection; a line still incomplete when a connection broke is read again whole.

    :param job_id: the run or build whose log it is (for messages)
    :param max_reconnects: reconnects in a row without a new line before giving up
    """

    def __init__(self, job_id: str, max_reconnects: int) -> None:
        self.job_id = job_id
        self.max_reconnects = max_reconnects
        self.delivered = 0
        """Bytes of the log handed out as whole lines."""
        self.failures = 0
        self._seen = 0
        self._partial = b""
        self._progressed = False

    def connected(self) -> None:
        """A new connection starts at the log's first byte."""
        self._seen = 0
        self._partial = b""

    def feed(self, chunk: bytes) -> Iterator[str]:
        """Take the next bytes of the current connection (at once); yield the new whole lines they complete.

        A line counts as delivered when it is yielded: a reader that stops in the middle of a chunk
        (its deadline passed) gets the lines it did not take on the next connection.
        """
        start, self._seen = self._seen, self._seen + len(chunk)
        if self._seen <= self.delivered:
            return iter(())
        if start < self.delivered:
            chunk = chunk[self.delivered - start:]
        *lines, self._partial = (self._partial + chunk).split(b"\n")
        return self._deliver(lines)

    def _deliver(self, lines: list[bytes]) -> Iterator[str]:
        for line in lines:
            self.delivered += len(line) + 1
            self._progressed = True
            yield _text(line)

    def finish(self) -> list[str]:
        """The stream ended cleanly (the job ended): return its last line if it had no line end."""
        if self._partial:
            self.delivered += len(self._partial)
            last, self._partial = self._partial, b""
            return [_text(last)]
        return []

    def after_drop(self, error: JobsApiError, *, quiet: bool = False) -> float:
        """Count a broken connection; return the pause before reconnecting, or raise ``error`` when spent.

        :param error: what broke it, as the provider's exception
        :param quiet: the connection only went silent (read timeout): reconnect at once, free of charge
        """
        progressed, self._progressed = self._progressed, False
        if quiet:
            return 0.0
        self.failures = 0 if progressed else self.failures + 1
        if self.failures > self.max_reconnects:
            raise error
        return 0.0 if progressed else min(MAX_RECONNECT_PAUSE, 0.25 * 2 ** (self.failures - 1))


def _text(line: bytes) -> str:
    return line.rstrip(b"\r").decode("utf-8", "replace")

"""One API request as the hooks describe it to the HTTP core (:class:`Call`): data, no I/O."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_jobs._retry import Idempotency

NO_BODY: Any = object()
"""Sentinel: the call sends no body (``None`` would send JSON ``null``)."""


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
        long-poll parameter (:attr:`~._connection.ServiceInfo.long_poll_param`); the read timeout
        is raised above it. An idempotent async call that finds every held-open connection busy
        for :data:`~._http.OVERFLOW_WAIT` seconds goes out without it on the short-call lane (a
        plain read) instead of queueing longer
    :param expect_json: parse the success body as JSON; when off, the result is the response
        itself (a stream's, still unread)
    :param decode: turn the success body's bytes into the result (e.g. a pydantic model); raise
        ``ValueError`` for a malformed body (retried like invalid JSON) or a
        :class:`~airflow_provider_jobs.exceptions.JobsApiError` for a body of the wrong shape
        (final); default: ``json.loads``
    :param accept: the media type to ask for instead of JSON (``text/event-stream`` for a log stream)
    :param held_open: the server keeps the response open while the job runs (a followed log
        stream); async streams of such calls use the held-open lane, others the short-call lane
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
    accept: str | None = None
    held_open: bool = False

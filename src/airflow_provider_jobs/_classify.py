"""What one attempt's answer means, before any wording: :func:`classify` (no I/O, no service names).

An attempt ends in a response (its body already read) or in an exception. :func:`classify` turns
either into a :class:`Classification`: the result, or the problem with its facts (status, the
API's error type and message as the service's :class:`~._connection.ServiceInfo` reads them,
request id, ``Retry-After``), the exception class it maps to and whether a retry may help.
:mod:`._describe` words it; :mod:`._attempts` decides what to do next.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Any

import httpx

from airflow_provider_jobs._call import Call
from airflow_provider_jobs._connection import ErrorBody, ServiceInfo
from airflow_provider_jobs._retry import (
    Idempotency,
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

MAX_ID_LENGTH = 200
"""Longest string taken for a job id found in a start's unreadable answer."""
_TAGS = re.compile(r"<[^>]{0,200}>")
_SPACES = re.compile(r"\s+")


class Problem(enum.Enum):
    """Why an attempt gave no result."""

    STATUS = "status"
    """An error status (4xx, 5xx)."""
    REDIRECT = "redirect"
    """A 3xx: never followed, so that the token cannot travel to another host."""
    NOT_JSON = "not_json"
    """A success whose body is not valid JSON (HTML, truncated)."""
    WRONG_SHAPE = "wrong_shape"
    """A success whose JSON the call's decoder refused (its error is the cause)."""
    TRANSPORT = "transport"
    """No answer: connection refused or reset, timeout (the exception is the cause)."""


@dataclass(slots=True)
class Classification:
    """One attempt's answer, classified: a result (``problem`` is ``None``) or a problem.

    :param problem: why there is no result, or ``None``
    :param payload: the result (parsed body, decoded model, or the response for a call that
        expects no JSON)
    :param error_class: the exception class the problem maps to
    :param retryable: whether another attempt may give another answer
    :param status: HTTP status (``None`` without an answer)
    :param error_type: the API's error type or code, as sent
    :param api_message: the API's own message, as sent
    :param request_id: the correlation id (body or ``x-request-id`` header)
    :param retry_after: the ``Retry-After`` header, in seconds
    :param created_id: the job a start's unreadable answer names (where the service says it is)
    :param body: the body as text for a message (tags and runs of whitespace removed), where the
        message has nothing better to quote
    :param cause: the exception of a transport problem, or the decoder's error of a wrong shape
    """

    problem: Problem | None = None
    payload: Any = None
    error_class: type[JobsApiError] = JobsApiError
    retryable: bool = False
    status: int | None = None
    error_type: str | None = None
    api_message: str | None = None
    request_id: str | None = None
    retry_after: float | None = None
    created_id: str | None = None
    body: str | None = None
    cause: BaseException | None = None


def classify(call: Call, result: httpx.Response | BaseException, service: ServiceInfo) -> Classification:
    """Classify what one attempt of ``call`` ended in: a response (body read, unless it is a
    successful stream) or an exception.

    :param call: the call attempted
    :param result: the response, or the exception raised while sending or reading
    :param service: how the service shapes error bodies and start answers
    """
    cls: type[JobsApiError]
    if not isinstance(result, httpx.Response):
        cls = TransportError
        if call.idempotency is Idempotency.CREATE and reached_server_maybe(result):
            cls = StartOutcomeUnknownError
        return Classification(
            Problem.TRANSPORT, error_class=cls, retryable=should_retry_exception(result, call.idempotency),
            cause=result,
        )
    status = result.status_code
    if 200 <= status < 300:
        if not call.expect_json:
            return Classification(payload=result)
        try:
            return Classification(payload=call.decode(result.content) if call.decode else result.json())
        except JobsApiError as shape_error:  # valid JSON, wrong shape: retrying would not help
            return _unreadable(call, result, service, Problem.WRONG_SHAPE, shape_error)
        except ValueError:
            return _unreadable(call, result, service, Problem.NOT_JSON, None)
    if 300 <= status < 400:
        return Classification(Problem.REDIRECT, error_class=UnexpectedResponseError, status=status)
    found = _error_body(result, service)
    error_type = str(found.type) if found.type else None
    api_message = str(found.message) if found.message else None
    request_id = found.request_id or result.headers.get("x-request-id")
    cls = error_class_for_status(status, error_type)
    if call.idempotency is Idempotency.CREATE and status >= 500:
        cls = StartOutcomeUnknownError
    return Classification(
        Problem.STATUS,
        error_class=cls,
        retryable=should_retry_status(status, call.idempotency),
        status=status,
        error_type=error_type,
        api_message=api_message,
        request_id=str(request_id) if request_id else None,
        retry_after=parse_retry_after(result.headers.get("Retry-After")),
        body=None if error_type or api_message else body_text(result),
    )


def _unreadable(
    call: Call, response: httpx.Response, service: ServiceInfo, problem: Problem, cause: JobsApiError | None
) -> Classification:
    """A success status with a body that cannot be read. For a start, the job exists anyway: an
    unknown outcome (never retried) carrying the id when the raw body shows one, so that the job
    can be found and aborted. Otherwise invalid JSON is retried (idempotent calls) and a wrong
    shape is final."""
    request_id = response.headers.get("x-request-id")
    body = body_text(response) if problem is Problem.NOT_JSON else None
    if call.idempotency is Idempotency.CREATE:
        return Classification(
            problem, error_class=StartOutcomeUnknownError, status=response.status_code, request_id=request_id,
            created_id=_created_id(response, service), body=body, cause=cause,
        )
    if cause is not None:
        return Classification(problem, error_class=type(cause), cause=cause)
    return Classification(
        problem, error_class=UnexpectedResponseError, retryable=call.idempotency is Idempotency.SAFE,
        status=response.status_code, request_id=request_id, body=body,
    )


def _error_body(response: httpx.Response, service: ServiceInfo) -> ErrorBody:
    """A JSON error object read the way the service describes it; nothing for any other body."""
    try:
        body = response.json()
    except ValueError:
        return ErrorBody()
    return service.read_error(body) if isinstance(body, dict) else ErrorBody()


def _created_id(response: httpx.Response, service: ServiceInfo) -> str | None:
    """The new job's id where the service says a start's answer names it, if it is a plausible id."""
    try:
        value = service.created_id(response.json())
    except ValueError:
        return None
    return value if isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH else None


def body_text(response: httpx.Response) -> str:
    """The body as one line of text, HTML tags and runs of whitespace removed (``""`` if empty)."""
    try:
        text = response.text
    except Exception:  # undecodable bytes
        text = repr(response.content[:160])
    return _SPACES.sub(" ", _TAGS.sub(" ", text)).strip()

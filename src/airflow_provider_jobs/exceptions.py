"""Exceptions raised by airflow-provider-jobs.

Every error the provider raises belongs to one family rooted at :class:`JobsError`::

    JobsError
     ├── JobsConfigError (ValueError)      connection unusable: missing token/host, insecure http, bad extra
     ├── InvalidArgumentError (ValueError) an argument refused before any request (a charge limit, an input dict)
     │    └── InvalidIdError               an id refused before any request (job, actor, version or tag: what
     │                                     goes in a path or id position)
     ├── JobWaitTimeout                    a job did not reach a terminal state before the wait deadline
     ├── JobFailedError                    a job ended in a terminal state other than success
     └── JobsApiError                      a request failed (after the retry budget, where retries apply)
          ├── AuthError                    401 / 403
          ├── NotFoundError                404
          ├── RequestRejectedError         400 / 422: the API refused the request's input
          ├── ConflictError                409
          ├── PaymentRequiredError         402 (account limits: memory, concurrent runs, paid actor)
          ├── RateLimitError               429 after the retry budget
          ├── ServerError                  5xx after the retry budget
          ├── UnexpectedResponseError      a body that is not the documented shape (HTML, truncated JSON)
          ├── TransportError               connection refused/reset, timeouts (no HTTP status)
          └── StartOutcomeUnknownError     a start whose request may have reached the server failed:
                                           the job may have been created, so it was not retried

A start refused because the account is at its memory or concurrent-runs limit
(``actor-memory-limit-exceeded``, ``concurrent-runs-limit-exceeded``; 402 or 400 depending on the
endpoint) is a :class:`PaymentRequiredError` whose :attr:`JobsApiError.is_capacity_refusal` is true:
unlike a missing payment, it passes once other runs finish, so a caller may wait and start again.

``InvalidInputError`` is the old name of :class:`RequestRejectedError`: importing it still works,
with a ``DeprecationWarning``, for one release.

Exceptions are inert data: no I/O, no properties that raise. Messages say what failed, on which
job and connection, and what to do. They never contain the token, request headers or query
strings.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

__all__ = [
    "CAPACITY_ERROR_TYPES",
    "AuthError",
    "ConflictError",
    "InvalidArgumentError",
    "InvalidIdError",
    "JobFailedError",
    "JobWaitTimeout",
    "JobsApiError",
    "JobsConfigError",
    "JobsError",
    "NotFoundError",
    "PaymentRequiredError",
    "RateLimitError",
    "RequestRejectedError",
    "ServerError",
    "StartOutcomeUnknownError",
    "TransportError",
    "UnexpectedResponseError",
    "error_class_for_status",
]


class JobsError(Exception):
    """Root of every exception raised by airflow-provider-jobs."""

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep the attributes when the exception is pickled (Airflow ships exceptions across
        # processes). Subclasses take other constructor arguments than their message, so the
        # default (``cls(*args)``) cannot rebuild them; the message is kept as it was.
        return (_rebuild, (type(self), self.args, self.__dict__))


def _rebuild(cls: type[JobsError], args: tuple[Any, ...], state: dict[str, Any]) -> JobsError:
    err = cls.__new__(cls)
    Exception.__init__(err, *args)
    err.__dict__.update(state)
    return err


class JobsConfigError(JobsError, ValueError):
    """A connection or argument makes requests impossible (missing token or host, insecure URL)."""

    def __init__(self, message: str, *, conn_id: str | None = None) -> None:
        super().__init__(message)
        self.conn_id = conn_id


class InvalidArgumentError(JobsError, ValueError):
    """An argument was refused before any request was made (a charge limit, an input dict, a flag)."""


class InvalidIdError(InvalidArgumentError):
    """An id was refused before any request was made: a job, actor, version or tag string that
    would go in a path or id position."""


class JobWaitTimeout(JobsError, TimeoutError):
    """A job was still running when the wait deadline passed.

    :param kind: job kind, e.g. ``"Apify run"``
    :param job_id: id of the job
    :param status: last status seen
    :param waited: seconds waited
    """

    def __init__(self, kind: str, job_id: str, status: str | None, waited: float) -> None:
        super().__init__(
            f"{kind} {job_id} was still {status or 'unknown'} after waiting {waited:.0f} s."
        )
        self.kind = kind
        self.job_id = job_id
        self.status = status
        self.waited = waited


class JobFailedError(JobsError):
    """A job reached a terminal status that is not success (FAILED, ABORTED, error, cancelled...).

    :param kind: job kind, e.g. ``"Apify run"``
    :param job_id: id of the job
    :param status: the terminal status
    :param detail: status message or error text from the service, if any
    :param console_url: where a human can look at the job
    :param log_tail: the last lines of the job's log, if they could be read
    """

    def __init__(
        self,
        kind: str,
        job_id: str,
        status: str,
        *,
        detail: str | None = None,
        console_url: str | None = None,
        log_tail: Sequence[str] = (),
    ) -> None:
        text = f"{kind} {job_id} finished with status {status}"
        if detail:
            text += f": {detail}"
        if console_url:
            text += f" (see {console_url})"
        text += "."
        if log_tail:
            text += f"\nLast {len(log_tail)} lines of its log:\n" + "\n".join(f"    {line}" for line in log_tail)
        super().__init__(text)
        self.kind = kind
        self.job_id = job_id
        self.status = status
        self.detail = detail
        self.console_url = console_url
        self.log_tail = tuple(log_tail)


CAPACITY_ERROR_TYPES = frozenset({"actor-memory-limit-exceeded", "concurrent-runs-limit-exceeded"})
"""Apify error types of a start refused for lack of capacity, which frees up as other runs end."""


class JobsApiError(JobsError):
    """A request to a remote API failed.

    :param message: the full human-readable message
    :param status: HTTP status, or ``None`` for transport failures
    :param error_type: the API's error type or code (``record-not-found``, ``template_build_not_found``)
    :param api_message: the API's own error message
    :param request_id: the correlation id from the response, if any
    :param job_id: the run/build id the request was about, if any
    :param conn_id: the Airflow connection id used
    :param method: HTTP method
    :param path: URL path (never the query string)
    :param attempts: how many attempts were made
    :param retry_after: the server's Retry-After hint in seconds, when it sent one
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_type: str | None = None,
        api_message: str | None = None,
        request_id: str | None = None,
        job_id: str | None = None,
        conn_id: str | None = None,
        method: str | None = None,
        path: str | None = None,
        attempts: int = 1,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.api_message = api_message
        self.request_id = request_id
        self.job_id = job_id
        self.conn_id = conn_id
        self.method = method
        self.path = path
        self.attempts = attempts
        self.retry_after = retry_after

    @property
    def is_capacity_refusal(self) -> bool:
        """True when the account is at its memory or concurrent-runs limit: wait for other runs to
        finish, then start again (the error types in :data:`CAPACITY_ERROR_TYPES`)."""
        return self.error_type in CAPACITY_ERROR_TYPES


class AuthError(JobsApiError):
    """401 or 403: the token is missing, wrong, or lacks permission."""


class NotFoundError(JobsApiError):
    """404: the job, actor or endpoint does not exist (or belongs to another token)."""


class RequestRejectedError(JobsApiError):
    """400 or 422: the API refused the request's input (formerly ``InvalidInputError``)."""


class ConflictError(JobsApiError):
    """409: the request conflicts with the job's current state."""


class PaymentRequiredError(JobsApiError):
    """402: an account limit (memory, concurrent runs, paid actor) refused the request."""


class RateLimitError(JobsApiError):
    """429 that persisted through the retry budget."""


class ServerError(JobsApiError):
    """5xx that persisted through the retry budget."""


class UnexpectedResponseError(JobsApiError):
    """The response body was not the documented shape (HTML page, truncated or wrong JSON)."""


class TransportError(JobsApiError):
    """The request failed below HTTP: connection refused or reset, or a timeout."""


class StartOutcomeUnknownError(JobsApiError):
    """A start request may have reached the server, then failed: the job may exist.

    Starts are not idempotent, so they are never retried once the request may have been sent.
    Check the service (e.g. list recent runs) before starting again.
    """


_STATUS_TO_CLASS: dict[int, type[JobsApiError]] = {
    400: RequestRejectedError,
    401: AuthError,
    402: PaymentRequiredError,
    403: AuthError,
    404: NotFoundError,
    409: ConflictError,
    422: RequestRejectedError,
    429: RateLimitError,
}


_TYPE_TO_CLASS: dict[str, type[JobsApiError]] = {
    # Apify sends these with 402 or 400 depending on the endpoint: the type decides.
    "actor-memory-limit-exceeded": PaymentRequiredError,
    "concurrent-runs-limit-exceeded": PaymentRequiredError,
    "not-enough-usage-to-run-paid-actor": PaymentRequiredError,
    # Sent with 400 or 401.
    "invalid-token": AuthError,
}


def error_class_for_status(status: int, error_type: str | None = None) -> type[JobsApiError]:
    """Return the exception class for an HTTP error status, refined by the API's error type
    where the service sends one type with several statuses (account limits, bad tokens)."""
    if status >= 500:
        return ServerError
    if error_type and 400 <= status < 500 and status != 429 and error_type in _TYPE_TO_CLASS:
        return _TYPE_TO_CLASS[error_type]
    return _STATUS_TO_CLASS.get(status, JobsApiError)


_DEPRECATED_ALIASES: dict[str, type[JobsError]] = {"InvalidInputError": RequestRejectedError}
_warned: set[str] = set()


def __getattr__(name: str) -> type[JobsError]:
    """Give the deprecated old names (``InvalidInputError``), warning once per name and process."""
    try:
        new = _DEPRECATED_ALIASES[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    if name not in _warned:
        _warned.add(name)
        warnings.warn(
            f"{name} is deprecated and will be removed in the next release; use {new.__name__}.",
            DeprecationWarning,
            stacklevel=2,
        )
    return new

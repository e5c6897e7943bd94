"""The wording of the HTTP core's errors: :func:`describe` turns a classified failure into the
exception to raise, with a message that says what failed, on which connection, and what to do.

Everything an error or a log line quotes from the server (error type, message, body excerpt,
exception text) is scrubbed of the connection's token first.
"""

from __future__ import annotations

from airflow_provider_jobs._call import Call
from airflow_provider_jobs._classify import Classification, Problem
from airflow_provider_jobs._connection import ConnectionSettings
from airflow_provider_jobs.exceptions import JobsApiError, StartOutcomeUnknownError

EXCERPT = 160
"""Characters of a body quoted in a message."""
MAX_API_MESSAGE = 500
"""Characters of the API's own message kept on an error."""
_HINTS = {
    401: "Check the API token in connection '{conn_id}'.",
    403: "Check that the token in connection '{conn_id}' may do this.",
    404: "Check the {what}.",
    429: "The service is rate limiting; try again later.",
}
_UNKNOWN_OUTCOME = (
    " The request may have reached the server, so the job may have been created and the start was not "
    "retried: check the service for a new job before starting again."
)


def scrub(text: str, settings: ConnectionSettings) -> str:
    """``text`` with the connection's token replaced by ``***``."""
    token = settings.token.value
    return text.replace(token, "***") if token and token in text else text


def describe(call: Call, c: Classification, attempts: int, settings: ConnectionSettings) -> JobsApiError:
    """Return the exception for a failed call, worded for people.

    :param call: the call that failed
    :param c: the classification of its last attempt (a problem, not a result)
    :param attempts: how many attempts were made
    :param settings: the connection (its id and base URL are named; its token is scrubbed)
    """
    if c.problem is Problem.WRONG_SHAPE and c.error_class is not StartOutcomeUnknownError:
        assert isinstance(c.cause, JobsApiError)
        return c.cause  # the decoder's own error, worded where the expected shape is known
    error_type = scrub(c.error_type, settings) if c.error_type else None
    api_message = scrub(c.api_message, settings)[:MAX_API_MESSAGE] if c.api_message else None
    detail = _detail(c, error_type, api_message, settings)
    message = f"{call.action} failed on connection '{settings.conn_id}': {detail}"
    if attempts > 1:
        message += f" after {attempts} attempts"
    message += "."
    if c.error_class is StartOutcomeUnknownError:
        message += _UNKNOWN_OUTCOME
    elif c.status in _HINTS:
        message += " " + _HINTS[c.status].format(conn_id=settings.conn_id, what=call.what)
    error = c.error_class(
        scrub(message, settings),
        status=c.status,
        error_type=error_type,
        api_message=api_message,
        request_id=c.request_id,
        job_id=c.created_id or call.job_id,
        conn_id=settings.conn_id,
        method=call.method,
        path=call.path,
        attempts=attempts,
        retry_after=c.retry_after,
    )
    if c.problem is Problem.TRANSPORT:
        error.__cause__ = c.cause
    return error


def _detail(c: Classification, error_type: str | None, api_message: str | None, settings: ConnectionSettings) -> str:
    """What went wrong, after the action and the connection (the API's type and message scrubbed)."""
    if c.problem is Problem.TRANSPORT:
        reason = f"{type(c.cause).__name__}: {scrub(str(c.cause), settings) or 'no details'}"
        return f"could not talk to {settings.base_url} ({reason})"
    if c.problem is Problem.REDIRECT:
        return f"HTTP {c.status} redirect refused (redirects are never followed, to keep the token on this host)"
    if c.problem is Problem.STATUS:
        detail = f"HTTP {c.status}"
        if error_type:
            detail += f" {error_type}"
        if api_message:
            detail += f": {api_message}"
        elif not error_type:
            detail += f": {_excerpt(c.body, settings)}"
        if c.request_id:
            detail += f" (request id {c.request_id})"
        return detail
    if c.problem is Problem.WRONG_SHAPE:
        detail = str(c.cause)
    else:
        detail = f"HTTP {c.status} with a body that is not valid JSON: {_excerpt(c.body, settings)}"
    if c.created_id:
        detail += f" (the answer names the job {c.created_id})"
    return detail


def _excerpt(text: str | None, settings: ConnectionSettings) -> str:
    if not text:
        return "(empty body)"
    text = scrub(text, settings)
    return repr(text if len(text) <= EXCERPT else text[:EXCERPT] + "...")


def retry_reason(c: Classification, settings: ConnectionSettings) -> str:
    """A few words for the log line of a retry: ``HTTP 503 server-error``, ``ReadTimeout``."""
    if c.status is not None:
        return f"HTTP {c.status}" + (f" {scrub(c.error_type, settings)}" if c.error_type else "")
    return type(c.cause).__name__ if c.cause is not None else c.error_class.__name__

"""Errors of the emulated APIs: the exception handlers raise, and each API's error bodies."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, TypeVar

T = TypeVar("T")

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


class EmulatedApiError(Exception):
    """An error response of an emulated API.

    Rendered as ``{"error": {"type", "message"}}`` on the Apify API and as the flat
    ``{"error", "code", "request_id", "build_id"}`` on the templates API.

    :param status: HTTP status.
    :param error_type: Apify ``error.type`` or templates ``code``.
    :param message: human-readable message.
    :param headers: extra response headers (e.g. ``Allow`` on a 405).
    :param build_id: template build id to echo in a templates error body.
    """

    def __init__(
        self,
        status: int,
        error_type: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        build_id: str | None = None,
    ) -> None:
        super().__init__(f"{status} {error_type}: {message}")
        self.status = status
        self.error_type = error_type
        self.message = message
        self.headers = headers or {}
        self.build_id = build_id


def invalid_input(message: str) -> EmulatedApiError:
    """Return the Apify API's 400 ``invalid-input`` error."""
    return EmulatedApiError(400, "invalid-input", message)


def invalid_request(message: str) -> EmulatedApiError:
    """Return the 400 ``invalid_request`` error of the templates and control APIs."""
    return EmulatedApiError(400, "invalid_request", message)


def or_404(record: T | None, what: str, error_type: str = "record-not-found") -> T:
    """Return ``record``; raise the Apify API's 404 (``{what} was not found``) when it is ``None``."""
    if record is None:
        raise EmulatedApiError(404, error_type, f"{what} was not found")
    return record


class UnknownRecordError(KeyError):
    """Raised by the Python API when an id or name does not exist in the emulator."""


def or_unknown(record: T | None, what: str) -> T:
    """Return ``record``; raise :class:`UnknownRecordError` (``no {what}``) when it is ``None``."""
    if record is None:
        raise UnknownRecordError(f"no {what}")
    return record


class EmulatorClientError(RuntimeError):
    """The control API rejected a request (bad arguments)."""


def reason_phrase(status: int) -> str:
    """The reason phrase of ``status``; a generic one for codes outside the standard (e.g. 520)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Server Error" if status >= 500 else "Client Error"


def apify_error(status: int, error_type: str | None = None, message: str | None = None) -> dict[str, Any]:
    """Return an Apify error body ``{"error": {"type", "message"}}`` for ``status``."""
    default_type, default_message = _APIFY_ERRORS.get(
        status, ("internal-server-error" if status >= 500 else "invalid-request", reason_phrase(status))
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
        status, ("internal_error" if status >= 500 else "invalid_request", reason_phrase(status).lower())
    )
    body: dict[str, Any] = {"error": message or default_message, "code": code or default_code}
    if status == 429 or status >= 500:
        body["retryable"] = status in {429, 502, 503, 504}
    if request_id:
        body["request_id"] = request_id
    if build_id:
        body["build_id"] = build_id
    return body


def error_body(api: str | None, error: EmulatedApiError, request_id: str) -> dict[str, Any]:
    """Return the body of ``error`` in the shape of ``api`` (the control API's flat one for ``None``)."""
    if api == "apify":
        return apify_error(error.status, error.error_type, error.message)
    if api == "templates":
        return templates_error(
            error.status, error.error_type, error.message, request_id=request_id, build_id=error.build_id
        )
    return {"error": error.message, "code": error.error_type}

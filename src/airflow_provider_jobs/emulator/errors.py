"""The one exception emulated handlers raise; the app renders it in the right API's shape."""

from __future__ import annotations


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


class UnknownRecordError(KeyError):
    """Raised by the Python API when an id or name does not exist in the emulator."""

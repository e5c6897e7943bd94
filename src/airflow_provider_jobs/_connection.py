"""Turn an Airflow connection's fields into validated client settings (no I/O, no Airflow import),
and describe a service to the HTTP core (:class:`ServiceInfo`: what the hooks declare per service).

Both services read their connection the same way:

* ``host``: a full base URL (``http://127.0.0.1:8089``, ``https://api.example.com/``) or a bare
  host name, which becomes ``https://<host>[:<port>]``. Apify has a default host; the
  templates API has none.
* ``password``: the API token, sent only as ``Authorization: Bearer <token>``.
* ``extra``: ``allow_insecure_http``, ``connect_timeout``, ``read_timeout``, ``max_retries``,
  ``retry_max_elapsed`` and (Apify) ``console_url``.

Plain ``http://`` is accepted only for loopback hosts unless ``allow_insecure_http`` is true.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import httpx

from airflow_provider_jobs.exceptions import JobsConfigError

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}
_HOST_NAME = re.compile(r"(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)*"
                        r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.?")
_USER_INFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)?[^/?#]*@")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class Secret:
    """A string that never shows itself in ``repr``/``str``; ``.value`` gives it back."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    @property
    def value(self) -> str:
        """The secret itself."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))


class ErrorBody(NamedTuple):
    """What a JSON error body says, as found in it (the core turns each value into scrubbed text).

    :param type: the API's error type or code (``record-not-found``, ``template_build_not_found``)
    :param message: the API's own message
    :param request_id: the correlation id, when the body carries one (else the ``x-request-id`` header)
    """

    type: Any = None
    message: Any = None
    request_id: Any = None


def plain_error_body(body: Mapping[str, Any]) -> ErrorBody:
    """Read a JSON error body of no documented shape (a gateway's ``{"message": ...}``): top-level
    ``message`` and ``code`` or ``type``."""
    return ErrorBody(body.get("code") or body.get("type"), body.get("message"))


def no_created_id(body: Any) -> None:
    """For a service whose start answers never name the job: nothing to find."""
    return None


@dataclass(frozen=True)
class ServiceInfo:
    """What differs between services, declared by each hook and read by the core (which names none).

    :param label: human name, e.g. ``"Apify"``
    :param conn_type: Airflow connection type
    :param default_base_url: used when the connection has no host; ``None`` makes host required
    :param token_hint: where to find a token, for the missing-token message
    :param long_poll_param: the query parameter asking the server to hold a request open, in whole
        seconds (Apify's ``waitForFinish``); ``None`` when the service has no long poll
    :param created_id: where a start's answer (its parsed JSON body) names the new job; read
        when the answer cannot be parsed as a whole, so that the job can still be found
    :param read_error: read a JSON error body (an object) into an :class:`ErrorBody`
    """

    label: str
    conn_type: str
    default_base_url: str | None
    token_hint: str
    long_poll_param: str | None = None
    created_id: Callable[[Any], Any] = no_created_id
    read_error: Callable[[Mapping[str, Any]], ErrorBody] = plain_error_body


@dataclass(frozen=True)
class Timeouts:
    """Per-request timeouts in seconds."""

    connect: float = 10.0
    read: float = 30.0
    write: float = 30.0
    pool: float = 10.0


@dataclass(frozen=True)
class ConnectionSettings:
    """Everything the HTTP core needs from a connection, validated."""

    conn_id: str
    service: ServiceInfo
    base_url: str
    token: Secret = field(repr=True)
    timeouts: Timeouts = Timeouts()
    max_retries: int = 4
    retry_max_elapsed: float = 120.0
    extra: dict[str, Any] = field(default_factory=dict, repr=False)


def is_loopback_host(host: str) -> bool:
    """Return True for ``localhost`` names and loopback IPv4/IPv6 addresses."""
    host = host.strip("[]").lower()
    if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _as_bool(value: Any, key: str, conn_id: str) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise JobsConfigError(
        f"Connection '{conn_id}': extra '{key}' must be true or false, got {value!r}.",
        conn_id=conn_id,
    )


def _as_number(value: Any, key: str, conn_id: str, default: float, *, minimum: float = 0.0) -> float:
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an integer beyond float range
        number = math.nan
    if isinstance(value, bool) or math.isnan(number) or number < minimum or math.isinf(number):
        raise JobsConfigError(
            f"Connection '{conn_id}': extra '{key}' must be a number >= {minimum:g}, got {value!r:.80}.",
            conn_id=conn_id,
        )
    return number


def resolve_base_url(
    conn_id: str, service: ServiceInfo, host: str | None, port: int | None, allow_insecure: bool
) -> str:
    """Return the service base URL (scheme + host [+ port] [+ path], no trailing slash)."""
    host = (host or "").strip()
    if not host:
        if service.default_base_url is None:
            raise JobsConfigError(
                f"Connection '{conn_id}' ({service.label}) has no host. Set the host to the API "
                "base URL, e.g. https://templates.example.com (the templates API has no default).",
                conn_id=conn_id,
            )
        return service.default_base_url
    if "://" not in host:
        host = f"https://{host}"
    not_a_url = JobsConfigError(
        f"Connection '{conn_id}' ({service.label}): host {_redacted(host)!r} is not an http(s) URL or host name.",
        conn_id=conn_id,
    )
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in host):
        raise not_a_url
    try:
        parts = urlsplit(host)
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket
        raise not_a_url from exc
    if parts.scheme not in ("http", "https") or not parts.hostname or not _valid_host_name(parts.hostname):
        raise not_a_url
    if parts.username or parts.password:
        raise JobsConfigError(
            f"Connection '{conn_id}' ({service.label}): put the token in the password field, "
            "not in the host URL.",
            conn_id=conn_id,
        )
    if parts.query or parts.fragment:
        raise JobsConfigError(
            f"Connection '{conn_id}' ({service.label}): the host URL must not have a query or fragment.",
            conn_id=conn_id,
        )
    try:
        url_port = parts.port
    except ValueError as exc:
        raise JobsConfigError(
            f"Connection '{conn_id}' ({service.label}): invalid port in host {_redacted(host)!r}.", conn_id=conn_id
        ) from exc
    netloc = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    effective_port = _port(conn_id, service, url_port if url_port is not None else port)
    if effective_port:
        netloc = f"{netloc}:{effective_port}"
    if parts.scheme == "http" and not allow_insecure and not is_loopback_host(parts.hostname):
        raise JobsConfigError(
            f"Connection '{conn_id}' ({service.label}): refusing plain http:// to non-loopback host "
            f"{parts.hostname!r}: the token would travel unencrypted. Use https://, or set the "
            'connection extra {"allow_insecure_http": true} if this network is trusted.',
            conn_id=conn_id,
        )
    return f"{parts.scheme}://{netloc}{parts.path.rstrip('/')}"


def _redacted(host: str) -> str:
    """The host for messages: credentials pasted into it (``user:password@``) hidden, at most 100 characters."""
    return _USER_INFO.sub(lambda m: f"{m.group(1) or ''}***@", host, count=1)[:100]


def _valid_host_name(host: str) -> bool:
    """An IP address, or a DNS name (international names as their IDNA form) httpx can use."""
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        pass
    try:  # the IDNA 2008 form, exactly as the HTTP client will encode it
        ascii_host = httpx.URL(f"http://{host}/").raw_host.decode("ascii")
    except (httpx.InvalidURL, UnicodeError, ValueError):
        return False
    return bool(_HOST_NAME.fullmatch(ascii_host))


def _port(conn_id: str, service: ServiceInfo, value: Any) -> int | None:
    """The connection's port (``None``/0: the scheme's default); 1-65535 or a JobsConfigError."""
    if value is None or value == "" or value == 0:
        return None
    try:
        port = int(value)
    except (TypeError, ValueError):
        port = -1
    if isinstance(value, bool) or not 1 <= port <= 65535 or (isinstance(value, float) and value != port):
        raise JobsConfigError(
            f"Connection '{conn_id}' ({service.label}): port {str(value)[:20]!r} is not a port number (1-65535).",
            conn_id=conn_id,
        )
    return port


def build_settings(
    conn_id: str,
    service: ServiceInfo,
    *,
    host: str | None,
    port: int | None,
    password: str | None,
    extra: dict[str, Any] | None,
) -> ConnectionSettings:
    """Validate a connection's fields and return :class:`ConnectionSettings`.

    :raises JobsConfigError: missing token or host, insecure http, malformed extra values
    """
    extra = dict(extra or {})
    token = (password or "").strip()
    if not token:
        raise JobsConfigError(
            f"Connection '{conn_id}' ({service.label}) has no API token. Put the token in the "
            f"connection's password field ({service.token_hint}).",
            conn_id=conn_id,
        )
    if any(ch.isspace() for ch in token) or any(ord(ch) < 32 or ord(ch) > 126 for ch in token):
        raise JobsConfigError(
            f"Connection '{conn_id}' ({service.label}): the API token contains whitespace or "
            "non-printable characters; paste it again without quotes or line breaks.",
            conn_id=conn_id,
        )
    allow_insecure = _as_bool(extra.get("allow_insecure_http"), "allow_insecure_http", conn_id)
    base_url = resolve_base_url(conn_id, service, host, port, allow_insecure)
    timeouts = Timeouts(
        connect=_as_number(extra.get("connect_timeout"), "connect_timeout", conn_id, 10.0, minimum=0.001),
        read=_as_number(extra.get("read_timeout"), "read_timeout", conn_id, 30.0, minimum=0.001),
        write=_as_number(extra.get("write_timeout"), "write_timeout", conn_id, 30.0, minimum=0.001),
    )
    max_retries = int(_as_number(extra.get("max_retries"), "max_retries", conn_id, 4))
    max_elapsed = _as_number(extra.get("retry_max_elapsed"), "retry_max_elapsed", conn_id, 120.0)
    return ConnectionSettings(
        conn_id=conn_id,
        service=service,
        base_url=base_url,
        token=Secret(token),
        timeouts=timeouts,
        max_retries=max_retries,
        retry_max_elapsed=max_elapsed,
        extra=extra,
    )

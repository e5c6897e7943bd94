"""What both hooks share: reading the connection, the HTTP core, running operations.

An *operation* is a :class:`~airflow_provider_jobs._call.Call` plus a parser for its JSON body.
Each public hook method builds one and hands it to :meth:`JobsHook._run` (sync) or
:meth:`JobsHook._arun` (async), so the sync and async twins share everything but the await.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Generic, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from airflow_provider_jobs._call import Call
from airflow_provider_jobs._compat import BaseHook, amask_secret, connection_not_found_types, mask_secret
from airflow_provider_jobs._connection import ConnectionSettings, ServiceInfo, Timeouts, build_settings
from airflow_provider_jobs._http import HttpCore
from airflow_provider_jobs._retry import RetryPolicy
from airflow_provider_jobs.exceptions import (
    InvalidArgumentError,
    JobsApiError,
    JobsConfigError,
    JobsError,
    UnexpectedResponseError,
)

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Operation(Generic[T]):
    """A call and the parser of its JSON body."""

    call: Call
    parse: Callable[[Any], T]


def model_operation(model: type[M], call: Call, conn_id: str, envelope: str | None) -> Operation[M]:
    """An operation whose success body is validated as ``model`` (inside ``envelope``, ``"data"`` for
    Apify) straight from the response bytes.

    Invalid JSON surfaces as ``ValueError``, which the core retries for idempotent calls like any
    malformed body; valid JSON of the wrong shape raises :class:`UnexpectedResponseError` at once.
    """
    validator = _envelope(model, envelope) if envelope else model

    def decode(raw: bytes) -> M:
        try:
            parsed = validator.model_validate_json(raw)
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
            first = errors[0] if errors else {"type": "", "loc": (), "msg": str(exc)}
            if first["type"] == "json_invalid":
                raise ValueError("the body is not valid JSON") from None
            loc = tuple(first["loc"])
            if envelope and (not loc or (loc == (envelope,) and first["type"] == "missing")):
                raise _shape_error(call, conn_id, f"no '{envelope}' object in the response") from None
            if envelope and loc[:1] == (envelope,):
                loc = loc[1:]
            where = ".".join(str(p) for p in loc) or "body"
            detail = f"{model.__name__} did not validate at '{where}': {first['msg']}"
            raise _shape_error(call, conn_id, detail) from None
        return getattr(parsed, envelope) if envelope else parsed  # type: ignore[return-value]

    return Operation(replace(call, decode=decode), _identity)


def _identity(value: Any) -> Any:
    return value


@functools.lru_cache(maxsize=None)
def _envelope(model: type[BaseModel], key: str) -> type[BaseModel]:
    """``{key: model}``: the response envelope, validated in one pass from the bytes."""
    return create_model(  # type: ignore[no-any-return, call-overload]
        f"{model.__name__}Envelope", __config__=ConfigDict(extra="ignore", defer_build=True), **{key: (model, ...)}
    )


def _shape_error(call: Call, conn_id: str, detail: str) -> UnexpectedResponseError:
    return UnexpectedResponseError(
        f"{call.action} failed on connection '{conn_id}': unexpected response: {detail}.",
        job_id=call.job_id,
        conn_id=conn_id,
        method=call.method,
        path=call.path,
    )


def json_body(value: Any, what: str) -> Any:
    """Check that ``value`` is a JSON object that can be sent; return it."""
    if not isinstance(value, dict):
        raise InvalidArgumentError(f"Invalid {what}: expected a dict (JSON object), got {type(value).__name__}.")
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(f"Invalid {what}: it is not JSON-serializable ({exc}).") from None
    except RecursionError:
        raise InvalidArgumentError(f"Invalid {what}: it is nested too deeply to be sent as JSON.") from None
    return value


class JobsHook(BaseHook):
    """Base of the provider's hooks: one connection, one HTTP core, sync and async.

    :param conn_id: the Airflow connection id
    :param transport: httpx transport for sync calls (tests pass ``httpx.MockTransport``)
    :param async_transport: httpx transport for async calls
    :param retry_policy: override the retry policy built from the connection
    :param request_timeout: cap every connect/read/write timeout at this many seconds (used for
        the few-seconds abort in ``on_kill``)
    """

    service: ClassVar[ServiceInfo]
    conn_type: ClassVar[str]
    conn_name_attr: ClassVar[str]
    default_conn_name: ClassVar[str]
    hook_name: ClassVar[str]

    def __init__(
        self,
        conn_id: str,
        *,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
        retry_policy: RetryPolicy | None = None,
        request_timeout: float | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(conn_id, str) or not conn_id.strip():
            raise JobsConfigError(f"A {self.service.label} connection id must be a non-empty string.")
        self.conn_id = conn_id
        self._transport = transport
        self._async_transport = async_transport
        self._retry_policy = retry_policy
        self._request_timeout = request_timeout
        self._settings: ConnectionSettings | None = None
        self._core: HttpCore | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(conn_id={self.conn_id!r})"

    # ------------------------------------------------------------ connection
    def _not_found(self) -> JobsConfigError:
        env = "AIRFLOW_CONN_" + self.conn_id.upper()
        return JobsConfigError(
            f"Connection '{self.conn_id}' is not defined. Create it (Admin > Connections, type "
            f"'{self.service.conn_type}') or set the environment variable {env}, e.g. "
            f"{env}='{{\"conn_type\": \"{self.service.conn_type}\", \"host\": \"...\", \"password\": \"<token>\"}}'.",
            conn_id=self.conn_id,
        )

    def _settings_from(self, conn: Any) -> ConnectionSettings:
        extra = conn.extra_dejson if hasattr(conn, "extra_dejson") else {}
        settings = build_settings(
            self.conn_id,
            self.service,
            host=conn.host,
            port=conn.port,
            password=conn.password,
            extra=extra if isinstance(extra, dict) else {},
        )
        return settings

    @property
    def settings(self) -> ConnectionSettings:
        """The validated connection settings (loaded once)."""
        if self._settings is None:
            try:
                conn = self.get_connection(self.conn_id)
            except connection_not_found_types() as exc:
                raise self._not_found() from exc
            if conn.password:
                mask_secret(conn.password)
            self._settings = self._settings_from(conn)
            if self._settings.token.value != conn.password:
                mask_secret(self._settings.token.value)  # as sent (stripped), too
        return self._settings

    async def asettings(self) -> ConnectionSettings:
        """Async twin of :attr:`settings` (does not block the triggerer's event loop)."""
        if self._settings is None:
            try:
                conn = await self.aget_connection(self.conn_id)
            except connection_not_found_types() as exc:
                raise self._not_found() from exc
            if conn.password:
                await amask_secret(conn.password)
            self._settings = self._settings_from(conn)
            if self._settings.token.value != conn.password:
                await amask_secret(self._settings.token.value)
        return self._settings

    def _make_core(self, settings: ConnectionSettings) -> HttpCore:
        if self._core is None:
            if self._request_timeout is not None:
                cap = self._request_timeout
                t = settings.timeouts
                settings = replace(settings, timeouts=Timeouts(
                    connect=min(t.connect, cap), read=min(t.read, cap), write=min(t.write, cap), pool=min(t.pool, cap)
                ))
            self._core = HttpCore(
                settings,
                policy=self._retry_policy,
                transport=self._transport,
                async_transport=self._async_transport,
            )
        return self._core

    def get_conn(self) -> HttpCore:
        """Return the HTTP core bound to this hook's connection."""
        return self._make_core(self.settings)

    async def aget_conn(self) -> HttpCore:
        """Async twin of :meth:`get_conn`."""
        return self._make_core(await self.asettings())

    def close(self) -> None:
        """Release the sync HTTP client."""
        if self._core is not None:
            self._core.close()

    # ------------------------------------------------------------- operations
    def _run(self, op: Operation[T]) -> T:
        return op.parse(self.get_conn().request(op.call))

    async def _arun(self, op: Operation[T]) -> T:
        core = await self.aget_conn()
        return op.parse(await core.arequest(op.call))

    def _test(self, probe: Callable[[], str]) -> tuple[bool, str]:
        try:
            return True, probe()
        except (JobsApiError, JobsError) as exc:
            return False, str(exc)
        except Exception as exc:  # the Test button must always get an answer
            return False, f"{type(exc).__name__}: {exc}"

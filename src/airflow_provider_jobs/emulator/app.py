"""The ASGI application: it reads, routes and journals each request and renders errors.

Every request to the emulated APIs goes through :meth:`EmulatorApp.__call__`: its body is read
and routed, it is journaled, the first matching fault rule is taken, and
:func:`~airflow_provider_jobs.emulator.faults.respond` answers it (running the handler unless the
fault says otherwise). Requests under ``/_emulator`` (the control API) are neither journaled
nor faulted.
"""

from __future__ import annotations

import gzip
import importlib
import logging
import time
import zlib
from datetime import datetime, timezone
from urllib.parse import parse_qsl

from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from airflow_provider_jobs.emulator import apify_data_routes, apify_routes, control, faults, template_routes
from airflow_provider_jobs.emulator._util import iso_ms, request_id
from airflow_provider_jobs.emulator.emulator import Emulator
from airflow_provider_jobs.emulator.errors import EmulatedApiError, error_body
from airflow_provider_jobs.emulator.journal import JournalEntry
from airflow_provider_jobs.emulator.routing import RequestContext, Router, body_for_journal

CONTROL_PREFIX = "/_emulator"
_LOG = logging.getLogger(__name__)
_PAGE_NOT_FOUND = "We have bad news: there is no API endpoint at this URL. Did you specify it correctly?"


def api_for(path: str) -> str | None:
    """Return which emulated API a path belongs to."""
    if path.startswith("/v2/") or path == "/v2":
        return "apify"
    if path.startswith("/v1/") or path == "/healthz":
        return "templates"
    return None


def _decode_body(body: bytes, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    if not body or encoding in {"", "identity"}:
        return body
    try:
        if encoding in {"gzip", "x-gzip"}:
            return gzip.decompress(body)
        if encoding == "deflate":
            return zlib.decompress(body)
        if encoding == "br":
            return bytes(importlib.import_module("brotli").decompress(body))
    except ImportError:
        pass
    except (OSError, zlib.error, ValueError) as exc:
        raise EmulatedApiError(400, "invalid-input", f"Cannot decode the {encoding} request body: {exc}") from exc
    raise EmulatedApiError(415, "unsupported-content-encoding", f'Content-Encoding "{encoding}" is not supported.')


def _token(api: str | None, headers: dict[str, str], query: dict[str, str]) -> tuple[str | None, str | None]:
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip(), "header"
    if api == "apify" and query.get("token"):
        return query["token"], "query"
    return None, None


def _unrouted(allowed: list[str], api: str | None) -> EmulatedApiError:
    """The 405 (with ``Allow``) or 404 for a request no route serves."""
    if allowed:
        methods = ",".join(["OPTIONS", *allowed])
        if api == "apify":
            message = f"This API end-point can only be accessed using the following HTTP methods: {methods}"
            return EmulatedApiError(405, "method-not-allowed", message, headers={"Allow": methods})
        return EmulatedApiError(405, "method_not_allowed", "method not allowed", headers={"Allow": methods})
    if api == "apify":
        return EmulatedApiError(404, "page-not-found", _PAGE_NOT_FOUND)
    return EmulatedApiError(404, "not_found", "not found")


def _journal_entry(ctx: RequestContext, seq: int, arrived: float) -> JournalEntry:
    """Journal a request as it arrives (its status, fault and duration are filled in later)."""
    return JournalEntry(
        seq=seq,
        method=ctx.method,
        path=ctx.path,
        raw_query=ctx.raw_query,
        query=ctx.query,
        query_items=ctx.query_items,
        headers=ctx.headers,
        body=body_for_journal(ctx.body, ctx.headers.get("content-type", "")),
        route=ctx.route.label if ctx.route else None,
        path_params=dict(ctx.params),
        api=ctx.api,
        token_source=ctx.token_source,
        request_id=ctx.request_id,
        monotonic=arrived,
        wall_time=iso_ms(datetime.now(timezone.utc)),
    )


class EmulatorApp:
    """ASGI app serving both emulated APIs and the control API from one :class:`Emulator`.

    :param emulator: the state to serve.
    """

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.router = Router(apify_routes.routes() + apify_data_routes.routes() + template_routes.routes())
        self.control_router = Router(control.routes())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection scope."""
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        await self._handle(scope, receive, send)

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        arrived = time.monotonic()
        ctx = await self._context(scope, receive)
        if ctx.api == "control":  # neither journaled nor faulted
            await faults.respond(
                None, lambda: self._dispatch(ctx), scope, receive, send, api=None, request_id=ctx.request_id
            )
            return
        entry = _journal_entry(ctx, self.emulator.journal_store.next_seq(), arrived)
        self.emulator.journal_store.append(entry)
        route = ctx.route.template if ctx.route else None
        fault = self.emulator.fault_registry.take(ctx.method, route, ctx.path, ctx.api)
        entry.fault = fault.describe() if fault else None
        build_id = ctx.params.get("build_id") if ctx.api == "templates" else None
        try:
            entry.status = await faults.respond(
                fault,
                lambda: self._dispatch(ctx),
                scope,
                receive,
                send,
                api=ctx.api,
                request_id=ctx.request_id,
                build_id=build_id,
            )
        finally:
            entry.duration = time.monotonic() - arrived

    async def _context(self, scope: Scope, receive: Receive) -> RequestContext:
        """Read, decode and route one request."""
        method, path = scope["method"].upper(), scope["path"]
        raw_path = (scope.get("raw_path") or path.encode()).decode("latin-1").split("?", 1)[0]
        raw_query = scope.get("query_string", b"").decode("latin-1")
        headers: dict[str, str] = {}
        for name, value in scope.get("headers", []):
            key, text = name.decode("latin-1").lower(), value.decode("latin-1")
            headers[key] = f"{headers[key]}, {text}" if key in headers else text
        body, body_error = await self._read_body(receive), None
        try:
            body = _decode_body(body, headers.get("content-encoding", ""))
        except EmulatedApiError as error:
            body_error = error
        query_items = parse_qsl(raw_query, keep_blank_values=True)
        control = path.startswith(CONTROL_PREFIX)
        api = "control" if control else api_for(path)
        match = (self.control_router if control else self.router).match(method, raw_path)
        ctx = RequestContext(
            emulator=self.emulator,
            api=api,
            route=match.route,
            params=match.params,
            method=method,
            path=path,
            raw_query=raw_query,
            query=dict(query_items),
            query_items=query_items,
            headers=headers,
            body=body,
            request_id=request_id(),
            base_url=f"{scope.get('scheme', 'http')}://{headers.get('host', '127.0.0.1')}",
            client_ip=str((scope.get("client") or ("127.0.0.1", 0))[0]),
            body_error=body_error,
            allowed=match.allowed,
        )
        ctx.token, ctx.token_source = _token(api, headers, ctx.query)
        return ctx

    @staticmethod
    async def _read_body(receive: Receive) -> bytes:
        chunks = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _dispatch(self, ctx: RequestContext) -> Response:
        """Run the request's handler; render any error in the shape of its API."""
        api = None if ctx.api == "control" else ctx.api
        try:
            if ctx.route is None:
                raise _unrouted(ctx.allowed, api)
            if ctx.body_error is not None:
                raise ctx.body_error
            response = await ctx.route.handler(ctx)
        except EmulatedApiError as error:
            response = JSONResponse(error_body(api, error, ctx.request_id), error.status, error.headers)
        except Exception:  # a bug in the emulator: answer like a real server would, and log it
            _LOG.exception("emulator handler failed for %s (request %s)", ctx.route, ctx.request_id)
            error_type = "internal-server-error" if api == "apify" else "internal_error"
            crash = EmulatedApiError(500, error_type, "Internal server error")
            response = JSONResponse(error_body(api, crash, ctx.request_id), 500)
        response.headers["x-request-id"] = ctx.request_id
        return response

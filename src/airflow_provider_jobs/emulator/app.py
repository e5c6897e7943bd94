"""The ASGI application: routing, journaling, fault injection and error rendering.

Every request to the emulated APIs goes through :meth:`EmulatorApp.__call__`: its body is read
and journaled, a fault rule may be applied, and the matched handler runs. Requests under
``/_emulator`` (the control API) are neither journaled nor faulted.
"""

from __future__ import annotations

import gzip
import importlib
import logging
import time
import zlib
from collections.abc import Callable
from datetime import datetime, timezone
from urllib.parse import parse_qsl

from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from airflow_provider_jobs.emulator import apify_routes, control, faults, template_routes
from airflow_provider_jobs.emulator._util import iso_ms, request_id
from airflow_provider_jobs.emulator.emulator import Emulator
from airflow_provider_jobs.emulator.errors import EmulatedApiError, error_body
from airflow_provider_jobs.emulator.journal import JournalEntry
from airflow_provider_jobs.emulator.routing import RequestContext, RouteMatch, Router, body_for_journal

CONTROL_PREFIX = "/_emulator"
_LOG = logging.getLogger(__name__)
ContextFactory = Callable[[RouteMatch], RequestContext]
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
        raise EmulatedApiError(
            400, "invalid-input", f"Cannot decode the {encoding} request body: {exc}"
        ) from exc
    raise EmulatedApiError(
        415, "unsupported-content-encoding", f'Content-Encoding "{encoding}" is not supported.'
    )


def _token(api: str | None, headers: dict[str, str], query: dict[str, str]) -> tuple[str | None, str | None]:
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip(), "header"
    if api == "apify" and query.get("token"):
        return query["token"], "query"
    return None, None


class EmulatorApp:
    """ASGI app serving both emulated APIs and the control API from one :class:`Emulator`.

    :param emulator: the state to serve.
    """

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.router = Router(apify_routes.routes() + template_routes.routes())
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
        rid = request_id()
        method = scope["method"].upper()
        path = scope["path"]
        raw_path = (scope.get("raw_path") or path.encode()).decode("latin-1").split("?", 1)[0]
        raw_query = scope.get("query_string", b"").decode("latin-1")
        headers: dict[str, str] = {}
        for name, value in scope.get("headers", []):
            key = name.decode("latin-1").lower()
            text = value.decode("latin-1")
            headers[key] = f"{headers[key]}, {text}" if key in headers else text
        raw_body = await self._read_body(receive)
        decode_error: EmulatedApiError | None = None
        try:
            body = _decode_body(raw_body, headers.get("content-encoding", ""))
        except EmulatedApiError as error:
            body, decode_error = raw_body, error
        query_items = parse_qsl(raw_query, keep_blank_values=True)
        query = dict(query_items)
        host = headers.get("host", "127.0.0.1")
        base_url = f"{scope.get('scheme', 'http')}://{host}"
        client = scope.get("client") or ("127.0.0.1", 0)
        control_request = path.startswith(CONTROL_PREFIX)
        api = None if control_request else api_for(path)
        match = (self.control_router if control_request else self.router).match(method, raw_path)
        token, token_source = _token(api, headers, query)
        entry: JournalEntry | None = None
        if not control_request:
            entry = JournalEntry(
                seq=self.emulator.journal_store.next_seq(),
                method=method,
                path=path,
                raw_query=raw_query,
                query=query,
                query_items=query_items,
                headers=headers,
                body=body_for_journal(body, headers.get("content-type", "")),
                route=match.route.label if match.route else None,
                path_params=dict(match.params),
                api=api,
                token_source=token_source,
                request_id=rid,
                monotonic=arrived,
                wall_time=iso_ms(datetime.now(timezone.utc)),
            )
            self.emulator.journal_store.append(entry)
        fault = None
        if entry is not None:
            fault = self.emulator.fault_registry.take(
                method, match.route.template if match.route else None, path, api
            )
            entry.fault = fault.describe() if fault else None

        def make_context(route_match: RouteMatch) -> RequestContext:
            if decode_error is not None:
                raise decode_error
            assert route_match.route is not None
            return RequestContext(
                emulator=self.emulator,
                route=route_match.route,
                method=method,
                path=path,
                params=route_match.params,
                query=query,
                query_items=query_items,
                headers=headers,
                body=body,
                request_id=rid,
                base_url=base_url,
                client_ip=str(client[0]),
                token=token,
                token_source=token_source,
            )

        build_id = match.params.get("build_id") if api == "templates" else None
        try:
            status = await faults.respond(
                fault,
                lambda: self._dispatch(match, api, rid, make_context),
                scope,
                receive,
                send,
                api=api,
                request_id=rid,
                build_id=build_id,
            )
        finally:
            if entry is not None:
                entry.duration = time.monotonic() - arrived
        if entry is not None:
            entry.status = status

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

    async def _dispatch(
        self, match: RouteMatch, api: str | None, rid: str, make_context: ContextFactory
    ) -> Response:
        try:
            if match.route is None:
                raise self._unrouted(match, api)
            response = await match.route.handler(make_context(match))
        except EmulatedApiError as error:
            response = JSONResponse(
                error_body(api, error, rid), status_code=error.status, headers=error.headers
            )
        except Exception:  # a bug in the emulator: answer like a real server would, and log it
            _LOG.exception("emulator handler failed for %s (request %s)", match.route, rid)
            error_type = "internal-server-error" if api == "apify" else "internal_error"
            crash = EmulatedApiError(500, error_type, "Internal server error")
            response = JSONResponse(error_body(api, crash, rid), status_code=500)
        response.headers["x-request-id"] = rid
        return response

    @staticmethod
    def _unrouted(match: RouteMatch, api: str | None) -> EmulatedApiError:
        if match.allowed:
            allowed = ",".join(["OPTIONS", *match.allowed])
            if api == "apify":
                message = (
                    f"This API end-point can only be accessed using the following HTTP methods: {allowed}"
                )
                return EmulatedApiError(405, "method-not-allowed", message, headers={"Allow": allowed})
            return EmulatedApiError(
                405, "method_not_allowed", "method not allowed", headers={"Allow": allowed}
            )
        if api == "apify":
            return EmulatedApiError(404, "page-not-found", _PAGE_NOT_FOUND)
        return EmulatedApiError(404, "not_found", "not found")

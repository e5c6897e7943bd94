"""Handlers of the emulated templates API v1 (template builds, their logs, cancel)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.responses import JSONResponse, Response, StreamingResponse

from airflow_provider_jobs.emulator.errors import EmulatedApiError, invalid_request
from airflow_provider_jobs.emulator.routing import Handler, RequestContext, RouteSpec
from airflow_provider_jobs.emulator.template_records import TERMINAL_KINDS, TemplateBuildRecord
from airflow_provider_jobs.emulator.template_state import TemplateCaller
from airflow_provider_jobs.emulator.timelines import TEMPLATE_STATUSES

_SUMMARY_DROPPED = frozenset(
    "canonical_ref namespace_slug visibility build_config runtime_defaults oci_metadata retry_of_build_id "
    "original_build_id cancel_requested_at cancel_requested_by cancellation_reason error error_detail".split()
)


def require_caller(ctx: RequestContext) -> TemplateCaller:
    """Return the caller behind the Bearer key, or raise 401 ``unauthorized``."""
    caller = ctx.emulator.templates.caller_of(ctx.token or "") if ctx.token_source == "header" else None
    if caller is None:
        raise EmulatedApiError(401, "unauthorized", "invalid or missing API key")
    return caller


def _int_param(ctx: RequestContext, name: str) -> int | None:
    raw = ctx.query.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise invalid_request(f"{name} must be a non-negative integer") from None
    if value < 0:
        raise invalid_request(f"{name} must be a non-negative integer")
    return value


def _build(ctx: RequestContext, caller: TemplateCaller) -> TemplateBuildRecord:
    return ctx.emulator.templates.get_build(ctx.param("build_id"), caller)


def _json_object(ctx: RequestContext) -> dict[str, Any]:
    body = ctx.json_body(empty={})
    if not isinstance(body, dict):
        raise invalid_request("request body must be a JSON object")
    return body


def sse_frame(entry: dict[str, Any]) -> str:
    """Frame one log entry: ``id: <offset>``, ``data: <compact JSON>``, blank line."""
    return f"id: {entry['offset']}\ndata: {json.dumps(entry, separators=(',', ':'), ensure_ascii=False)}\n\n"


async def healthz(ctx: RequestContext) -> Response:
    """``GET /healthz``: liveness, no auth."""
    return JSONResponse({"status": "ok"})


async def list_templates(ctx: RequestContext) -> Response:
    """``GET /v1/templates``: every template in the catalogue (``TemplateInfo`` list)."""
    require_caller(ctx)
    return JSONResponse(ctx.emulator.templates.catalogue())


async def start_build(ctx: RequestContext) -> Response:
    """``POST /v1/templates/builds``: queue a build (202, bare ``TemplateBuild``)."""
    caller = require_caller(ctx)
    body = _json_object(ctx)
    tags = body.get("tags")
    if tags is not None and (not isinstance(tags, list) or not all(isinstance(tag, str) and tag for tag in tags)):
        raise invalid_request("tags must be a list of non-empty strings")
    if tags == []:
        raise invalid_request("tags must not be empty; leave it out to use the default tag")
    for key in ("name", "alias", "dockerfile", "base_image"):
        if body.get(key) is not None and not isinstance(body[key], str):
            raise invalid_request(f"{key} must be a string")
    config = body.get("build_config")
    if config is not None and not isinstance(config, dict):
        raise invalid_request("build_config must be an object")
    templates = ctx.emulator.templates
    seeded = [templates.find_template(name) for name in (body.get("name"), body.get("alias")) if name]
    name = next((t.name for t in seeded if t is not None), body.get("name") or body.get("alias") or "untitled")
    record = templates.new_build(caller, name=name, tags=tags, build_config=config, request=body)
    return JSONResponse(templates.render_build(record), status_code=202)


async def get_build(ctx: RequestContext) -> Response:
    """``GET /v1/templates/builds/{build_id}?offset=N``: the status snapshot."""
    caller = require_caller(ctx)
    offset = _int_param(ctx, "offset") or 0
    return JSONResponse(ctx.emulator.templates.render_snapshot(_build(ctx, caller), offset))


async def cancel_build(ctx: RequestContext) -> Response:
    """``POST /v1/templates/builds/{build_id}/cancel``: request cancellation; idempotent."""
    caller = require_caller(ctx)
    reason = _json_object(ctx).get("reason")
    if reason is not None and not isinstance(reason, str):
        raise invalid_request("reason must be a string")
    return JSONResponse(ctx.emulator.templates.cancel(_build(ctx, caller), caller.principal, reason))


async def stream_logs(ctx: RequestContext) -> Response:
    """``GET /v1/templates/builds/{build_id}/logs``: SSE replay, then live entries with ``follow``."""
    caller = require_caller(ctx)
    offset = _int_param(ctx, "offset")
    start = offset if offset is not None else (_int_param(ctx, "cursor") or 0)
    follow_raw = ctx.query.get("follow", "false").lower()
    if follow_raw not in {"true", "false", "1", "0", ""}:
        raise invalid_request("follow must be true or false")
    follow = follow_raw in {"true", "1"}
    templates = ctx.emulator.templates
    record = _build(ctx, caller)

    async def frames() -> AsyncIterator[str]:
        next_offset = start
        while True:
            entries, upcoming = templates.entries_since(record, next_offset)
            for entry in entries:
                yield sse_frame(entry)
                next_offset = entry["offset"] + 1
            if not follow or upcoming is None or any(entry["kind"] in TERMINAL_KINDS for entry in entries):
                return
            await asyncio.sleep(min(max(upcoming, 0.001), 0.05))

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(frames(), media_type="text/event-stream", headers=headers)


async def list_builds(ctx: RequestContext) -> Response:
    """``GET /v1/templates/{id}/builds``: the caller's builds of a template (newest first)."""
    caller = require_caller(ctx)
    status = ctx.query.get("status")
    if status and status not in TEMPLATE_STATUSES:
        raise invalid_request(f"unknown status {status!r}")
    limit = _int_param(ctx, "limit")
    rendered = ctx.emulator.templates.builds_of(ctx.param("id"), caller)
    if rendered is None:
        raise EmulatedApiError(404, "template_not_found", "template not found")
    builds = [
        {key: value for key, value in data.items() if key not in _SUMMARY_DROPPED}
        for data in rendered
        if not status or data["status"] == status
    ]
    return JSONResponse({"builds": builds[:limit] if limit else builds})


def routes() -> list[RouteSpec]:
    """Return every templates API route."""
    table: list[tuple[str, str, Handler]] = [
        ("GET", "/healthz", healthz),
        ("GET", "/v1/templates", list_templates),
        ("POST", "/v1/templates/builds", start_build),
        ("GET", "/v1/templates/builds/{build_id}", get_build),
        ("POST", "/v1/templates/builds/{build_id}/cancel", cancel_build),
        ("GET", "/v1/templates/builds/{build_id}/logs", stream_logs),
        ("GET", "/v1/templates/{id}/builds", list_builds),
    ]
    return [RouteSpec(method, template, handler, "templates") for method, template, handler in table]

"""The control API under ``/_emulator``: seeding, inspection, journal and faults over HTTP.

No authentication; JSON in and out; never journaled or faulted. Every route calls the
:class:`~airflow_provider_jobs.emulator.emulator.Emulator` method of the same name, and
:class:`~airflow_provider_jobs.emulator.client.EmulatorClient` wraps these routes.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from pydantic import ValidationError
from starlette.responses import JSONResponse, Response

from airflow_provider_jobs.emulator.errors import EmulatedApiError, UnknownRecordError
from airflow_provider_jobs.emulator.faults import Fault
from airflow_provider_jobs.emulator.routing import RequestContext, RouteSpec
from airflow_provider_jobs.emulator.timelines import TemplateTimeline, Timeline

P = "/_emulator"
Result = Any


def _endpoint(
    fn: Callable[[RequestContext, dict[str, Any]], Result],
) -> Callable[[RequestContext], Awaitable[Response]]:
    """Turn ``fn(ctx, body) -> JSON-able`` into a handler with uniform error mapping."""

    @functools.wraps(fn)
    async def handler(ctx: RequestContext) -> Response:
        body = ctx.json_body(empty={})
        if not isinstance(body, dict):
            raise EmulatedApiError(400, "invalid_request", "the body must be a JSON object")
        try:
            result = fn(ctx, body)
        except UnknownRecordError as exc:
            raise EmulatedApiError(404, "not_found", str(exc.args[0] if exc.args else exc)) from exc
        except KeyError as exc:  # a required field is missing
            raise EmulatedApiError(400, "invalid_request", f"missing field: {exc.args[0]}") from exc
        except (ValidationError, ValueError, TypeError) as exc:
            raise EmulatedApiError(400, "invalid_request", str(exc)) from exc
        return JSONResponse(result)

    return handler


def _timeline(value: Any) -> Timeline | None:
    return Timeline.model_validate(value) if value is not None else None


def _template_timeline(value: Any) -> TemplateTimeline | None:
    return TemplateTimeline.model_validate(value) if value is not None else None


def _pick(body: dict[str, Any], *names: str) -> dict[str, Any]:
    unknown = set(body).difference(names)
    if unknown:
        raise ValueError(f"unknown fields: {', '.join(sorted(unknown))}")
    return {name: body[name] for name in names if name in body}


@_endpoint
def state(ctx: RequestContext, body: dict[str, Any]) -> Result:
    """``GET /_emulator/state``."""
    return ctx.emulator.state()


@_endpoint
def reset(ctx: RequestContext, body: dict[str, Any]) -> Result:
    """``POST /_emulator/reset``."""
    ctx.emulator.reset()
    return ctx.emulator.state()


@_endpoint
def set_time_scale(ctx: RequestContext, body: dict[str, Any]) -> Result:
    """``POST /_emulator/time-scale`` with ``{"time_scale": x}``."""
    ctx.emulator.set_time_scale(float(body["time_scale"]))
    return {"time_scale": ctx.emulator.time_scale}


@_endpoint
def add_token(ctx: RequestContext, body: dict[str, Any]) -> Result:
    """``POST /_emulator/tokens`` with ``{"api": "apify"|"templates", "token", "username"|"namespace"}``."""
    args = _pick(body, "api", "token", "username", "namespace")
    if args.get("api") == "apify":
        return {
            "api": "apify",
            "token": args["token"],
            "username": ctx.emulator.add_apify_token(args["token"], username=args.get("username")),
        }
    if args.get("api") == "templates":
        namespace = ctx.emulator.add_template_token(args["token"], namespace=args.get("namespace"))
        return {"api": "templates", "token": args["token"], "namespace": namespace}
    raise ValueError('"api" must be "apify" or "templates"')


@_endpoint
def list_actors(ctx: RequestContext, body: dict[str, Any]) -> Result:
    """``GET /_emulator/actors``."""
    return [asdict(actor) for actor in ctx.emulator.actors()]


@_endpoint
def seed_actor(ctx: RequestContext, body: dict[str, Any]) -> Result:
    """``POST /_emulator/actors`` with ``{"name", "actor_id", "run": {...}, "build": {...}, ...}``."""
    args = _pick(body, "name", "actor_id", "run", "build", "default_timeout_secs", "default_memory_mbytes")
    args["run"], args["build"] = _timeline(args.get("run")), _timeline(args.get("build"))
    return asdict(ctx.emulator.seed_actor(args.pop("name"), **args))


@_endpoint
def runs_of(ctx: RequestContext, body: dict[str, Any]) -> Result:
    """``GET /_emulator/actors/{actor}/runs``."""
    return ctx.emulator.runs_of(ctx.param("actor"))


@_endpoint
def create_run(ctx: RequestContext, body: dict[str, Any]) -> Result:
    """``POST /_emulator/actors/{actor}/runs`` with ``{"status", "token", "run_input", ...}``."""
    args = _pick(body, "status", "token", "run_input", "timeout_secs", "memory_mbytes")
    return {"id": ctx.emulator.create_run(ctx.param("actor"), **args)}


@_endpoint
def builds_of(ctx: RequestContext, body: dict[str, Any]) -> Result:
    """``GET /_emulator/actors/{actor}/builds``."""
    return ctx.emulator.builds_of(ctx.param("actor"))


@_endpoint
def create_build(ctx: RequestContext, body: dict[str, Any]) -> Result:
    """``POST /_emulator/actors/{actor}/builds`` with ``{"version", "status", "token", "tag"}``."""
    return {
        "id": ctx.emulator.create_build(
            ctx.param("actor"), **_pick(body, "version", "status", "token", "tag")
        )
    }


@_endpoint
def get_run(ctx: RequestContext, body: dict[str, Any]) -> Result:
    """``GET /_emulator/runs/{run_id}``."""
    return ctx.emulator.get_run(ctx.param("run_id"))


@_endpoint
def abort_run(ctx: RequestContext, body: dict[str, Any]) -> Result:
    """``POST /_emulator/runs/{run_id}/abort`` with ``{"gracefully": bool}``."""
    return ctx.emulator.abort_run(ctx.param("run_id"), **_pick(body, "gracefully"))


@_endpoint
def get_build(ctx: RequestContext, body: dict[str, Any]) -> Result:
    """``GET /_emulator/builds/{build_id}``."""
    return ctx.emulator.get_build(ctx.param("build_id"))


@_endpoint
def abort_build(ctx: RequestContext, body: dict[str, Any]) -> Result:
    """``POST /_emulator/builds/{build_id}/abort``."""
    return ctx.emulator.abort_build(ctx.param("build_id"))


@_endpoint
def seed_template(ctx: RequestContext, body: dict[str, Any]) -> Result:
    """``POST /_emulator/templates`` with ``{"name", "timeline": {...}, "namespace", ...}``."""
    args = _pick(body, "name", "timeline", "namespace", "description", "alias")
    args["timeline"] = _template_timeline(args.get("timeline"))
    return ctx.emulator.seed_template(args.pop("name"), **args)


@_endpoint
def template_builds(ctx: RequestContext, body: dict[str, Any]) -> Result:
    """``GET /_emulator/template-builds[?name=]``."""
    return ctx.emulator.template_builds(ctx.query.get("name"))


@_endpoint
def create_template_build(ctx: RequestContext, body: dict[str, Any]) -> Result:
    """``POST /_emulator/template-builds`` with ``{"name", "status", "token", "timeline", ...}``."""
    args = _pick(body, "name", "status", "token", "timeline", "tags", "reason")
    args["timeline"] = _template_timeline(args.get("timeline"))
    return {"id": ctx.emulator.create_template_build(args.pop("name"), **args)}


@_endpoint
def get_template_build(ctx: RequestContext, body: dict[str, Any]) -> Result:
    """``GET /_emulator/template-builds/{build_id}[?offset=N]``."""
    return ctx.emulator.get_template_build(ctx.param("build_id"), offset=int(ctx.query.get("offset", "0")))


@_endpoint
def cancel_template_build(ctx: RequestContext, body: dict[str, Any]) -> Result:
    """``POST /_emulator/template-builds/{build_id}/cancel`` with ``{"reason"}``."""
    return ctx.emulator.cancel_template_build(ctx.param("build_id"), **_pick(body, "reason"))


@_endpoint
def journal(ctx: RequestContext, body: dict[str, Any]) -> Result:
    """``GET /_emulator/journal[?method=&route=&path=&path_regex=&api=]``."""
    filters = _pick(dict(ctx.query), "method", "route", "path", "path_regex", "api")
    return [entry.to_dict() for entry in ctx.emulator.requests(**filters)]


@_endpoint
def clear_journal(ctx: RequestContext, body: dict[str, Any]) -> Result:
    """``DELETE /_emulator/journal``."""
    ctx.emulator.clear_journal()
    return {"cleared": True}


@_endpoint
def list_faults(ctx: RequestContext, body: dict[str, Any]) -> Result:
    """``GET /_emulator/faults``: active rules with ``remaining`` and ``hits``."""
    return ctx.emulator.faults


@_endpoint
def add_fault(ctx: RequestContext, body: dict[str, Any]) -> Result:
    """``POST /_emulator/faults`` with the :class:`~airflow_provider_jobs.emulator.faults.Fault` fields."""
    return ctx.emulator.add_fault(Fault.model_validate(body)).model_dump()


@_endpoint
def clear_faults(ctx: RequestContext, body: dict[str, Any]) -> Result:
    """``DELETE /_emulator/faults``."""
    ctx.emulator.clear_faults()
    return {"cleared": True}


@_endpoint
def fault_status(ctx: RequestContext, body: dict[str, Any]) -> Result:
    """``GET /_emulator/faults/{fault_id}``: ``{"id", "hits", "active"}`` (also for used-up rules)."""
    fault_id = ctx.param("fault_id")
    active = any(rule["id"] == fault_id for rule in ctx.emulator.faults)
    return {"id": fault_id, "hits": ctx.emulator.fault_hits(fault_id), "active": active}


@_endpoint
def remove_fault(ctx: RequestContext, body: dict[str, Any]) -> Result:
    """``DELETE /_emulator/faults/{fault_id}``."""
    return {"removed": ctx.emulator.remove_fault(ctx.param("fault_id"))}


def routes() -> list[RouteSpec]:
    """Return every control route."""
    table = [
        ("GET", "/state", state),
        ("POST", "/reset", reset),
        ("POST", "/time-scale", set_time_scale),
        ("POST", "/tokens", add_token),
        ("GET", "/actors", list_actors),
        ("POST", "/actors", seed_actor),
        ("GET", "/actors/{actor}/runs", runs_of),
        ("POST", "/actors/{actor}/runs", create_run),
        ("GET", "/actors/{actor}/builds", builds_of),
        ("POST", "/actors/{actor}/builds", create_build),
        ("GET", "/runs/{run_id}", get_run),
        ("POST", "/runs/{run_id}/abort", abort_run),
        ("GET", "/builds/{build_id}", get_build),
        ("POST", "/builds/{build_id}/abort", abort_build),
        ("POST", "/templates", seed_template),
        ("GET", "/template-builds", template_builds),
        ("POST", "/template-builds", create_template_build),
        ("GET", "/template-builds/{build_id}", get_template_build),
        ("POST", "/template-builds/{build_id}/cancel", cancel_template_build),
        ("GET", "/journal", journal),
        ("DELETE", "/journal", clear_journal),
        ("GET", "/faults", list_faults),
        ("POST", "/faults", add_fault),
        ("DELETE", "/faults", clear_faults),
        ("GET", "/faults/{fault_id}", fault_status),
        ("DELETE", "/faults/{fault_id}", remove_fault),
    ]
    return [RouteSpec(method, P + path, handler, "control") for method, path, handler in table]

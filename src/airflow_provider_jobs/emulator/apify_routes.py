"""Handlers of the emulated Apify API v2 (runs, builds, abort, users/me).

Every actor-scoped route is served under both ``/v2/actors/...`` and the deprecated
``/v2/acts/...`` alias.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import re
import time
from datetime import datetime
from typing import Any

from starlette.responses import JSONResponse, Response

from airflow_provider_jobs.emulator._util import RealClock
from airflow_provider_jobs.emulator.apify_records import ActorRecord, ApifyUser, JobKind, JobRecord, RunOptions
from airflow_provider_jobs.emulator.errors import EmulatedApiError, invalid_input, or_404
from airflow_provider_jobs.emulator.routing import Handler, RequestContext, RouteSpec
from airflow_provider_jobs.emulator.timelines import APIFY_STATUSES

_MANUAL_CLOCK_TICK = 0.02
_WAKE_MARGIN = 0.0005
"""Sleep a hair past a scheduled end, so one wake-up finds the job terminal."""
_VERSION = re.compile(r"^\d{1,2}\.\d{1,2}$")
WEBHOOK_EVENT_TYPES = frozenset(
    [f"ACTOR.BUILD.{event}" for event in ("ABORTED", "CREATED", "FAILED", "SUCCEEDED", "TIMED_OUT")]
    + [f"ACTOR.RUN.{event}" for event in ("ABORTED", "CREATED", "FAILED", "RESURRECTED", "SUCCEEDED", "TIMED_OUT")]
    + ["TEST"]
)
"""The ``WebhookEventType`` values of the spec."""
_TRUE = {"true", "1"}
_FALSE = {"false", "0"}


def require_user(ctx: RequestContext) -> ApifyUser:
    """Return the user of the request's token, or raise the API's 401."""
    if ctx.token is None:
        raise EmulatedApiError(401, "token-not-provided", "Authentication token was not provided")
    user = ctx.emulator.apify.user_of(ctx.token)
    if user is None:
        raise EmulatedApiError(
            401, "user-or-token-not-found", "User was not found or authentication token is not valid"
        )
    return user


def optional_user(ctx: RequestContext) -> ApifyUser | None:
    """Return the token's user, ``None`` without a token, or raise 401 for an invalid token."""
    return require_user(ctx) if ctx.token is not None else None


def number_param(ctx: RequestContext, name: str, *, integer: bool = False, minimum: float = 0) -> float | None:
    """Parse a numeric query parameter (``None`` when absent)."""
    raw = ctx.query.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise invalid_input(f'Invalid value of parameter "{name}": "{raw}" is not a number') from None
    if math.isnan(value) or value < minimum or (integer and not value.is_integer()):
        raise invalid_input(f'Invalid value of parameter "{name}": "{raw}"')
    return value


def bool_param(ctx: RequestContext, name: str) -> bool | None:
    """Parse a boolean query parameter (``true``/``1``/``false``/``0``)."""
    raw = ctx.query.get(name)
    if raw is None or raw == "":
        return None
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise invalid_input(f'Invalid value of parameter "{name}": "{raw}" is not a boolean')


def _time_param(ctx: RequestContext, name: str) -> float | None:
    """Parse an ISO-8601 query parameter into the emulator's clock."""
    raw = ctx.query.get(name)
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise invalid_input(f'Invalid value of parameter "{name}": "{raw}" is not an ISO 8601 date') from None
    runtime = ctx.emulator.apify.runtime
    now = runtime.now()
    return now + (moment - runtime.clock.to_wall(now)).total_seconds()


def _actor(ctx: RequestContext, user: ApifyUser | None) -> ActorRecord:
    return or_404(ctx.emulator.apify.find_actor(ctx.param("actorId"), user), "Actor", "actor-not-found")


def _job(ctx: RequestContext, kind: JobKind, owner: ApifyUser | None, actor: ActorRecord | None = None) -> JobRecord:
    """Find a run or build; with ``owner`` it must be theirs, with ``actor`` it must be its."""
    apify = ctx.emulator.apify
    key = ctx.param("runId" if kind == "run" else "buildId")
    job = apify.job(kind, key)
    if kind == "run" and key == "last" and actor is not None:
        statuses = _statuses(ctx)
        runs = apify.list_runs(actor, owner, statuses=statuses, desc=True)
        job = runs[0] if runs else None
    if job is None or (owner is not None and job.user is not owner) or (actor is not None and job.actor is not actor):
        raise EmulatedApiError(404, "record-not-found", "Run was not found" if kind == "run" else "Build was not found")
    return job


def _statuses(ctx: RequestContext) -> set[str] | None:
    raw = ctx.query.get("status")
    if not raw:
        return None
    statuses = {part.strip().upper() for part in raw.split(",") if part.strip()}
    unknown = statuses.difference(APIFY_STATUSES)
    if unknown:
        raise invalid_input(f'Invalid value of parameter "status": {", ".join(sorted(unknown))}')
    return statuses


async def _wait_and_render(ctx: RequestContext, job: JobRecord, *, with_usage: bool = True) -> dict[str, Any]:
    """Honour ``waitForFinish`` (seconds, clamped to 60) and render the job."""
    apify = ctx.emulator.apify
    wait = min(number_param(ctx, "waitForFinish") or 0.0, ctx.emulator.max_wait_for_finish)
    deadline = time.monotonic() + wait
    # Sleep until the job's scheduled end or an abort wakes us; a manual clock only moves when a
    # test says so, so with one the job is re-checked every few ms instead.
    tick = math.inf if isinstance(apify.runtime.clock, RealClock) else _MANUAL_CLOCK_TICK
    with apify.runtime.waker.watch(job.id) as changed:
        while time.monotonic() < deadline and (pause := apify.pause_before_end(job, changed)) is not None:
            try:
                await asyncio.wait_for(
                    changed.wait(), max(0.0, min(pause, deadline - time.monotonic(), tick)) + _WAKE_MARGIN
                )
            except asyncio.TimeoutError:
                pass
    return apify.render(job, with_usage=with_usage)


def run_input_of(ctx: RequestContext) -> Any:
    """Return the run input a start's body carries (``None`` without one)."""
    content_type = ctx.headers.get("content-type", "").split(";")[0].strip().lower()
    if not ctx.body:
        return None
    if content_type in {"", "application/json"} or content_type.endswith("+json"):
        value = ctx.json_body()
        if value is not None and not isinstance(value, dict):  # JSON null means "no input"
            raise invalid_input("Invalid input: the run input must be a JSON object")
        return value
    return ctx.body.decode("utf-8", errors="replace")


def _webhooks(ctx: RequestContext) -> list[Any]:
    raw = ctx.query.get("webhooks")
    if not raw:
        return []
    try:
        value = json.loads(base64.b64decode(raw + "=" * (-len(raw) % 4)))
    except ValueError:
        raise invalid_input('Invalid value of parameter "webhooks": not a base64-encoded JSON array') from None
    if not isinstance(value, list):
        raise invalid_input('Invalid value of parameter "webhooks": not a JSON array')
    for webhook in value:
        if not isinstance(webhook, dict):
            raise invalid_input('Invalid value of parameter "webhooks": each webhook must be a JSON object')
        events, url = webhook.get("eventTypes"), webhook.get("requestUrl")
        if not isinstance(events, list) or not events or not set(events) <= WEBHOOK_EVENT_TYPES:
            raise invalid_input(
                f'Invalid webhook: "eventTypes" must be a non-empty array of event types, got {events!r}'
            )
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise invalid_input(f'Invalid webhook: "requestUrl" must be an http(s) URL, got {url!r}')
    return value


def _origin(ctx: RequestContext) -> dict[str, str]:
    """The ``client_ip`` and ``user_agent`` a job records about the request that created it."""
    return {"client_ip": ctx.client_ip, "user_agent": ctx.headers.get("user-agent", "")}


async def created(ctx: RequestContext, job: JobRecord, location: str | None = None) -> Response:
    """Answer a start: 201, the job (after any ``waitForFinish``) and its ``Location``."""
    location = location or f"{ctx.base_url}/v2/actors/{job.actor.id}/{job.kind}s/{job.id}"
    data = await _wait_and_render(ctx, job)
    return JSONResponse({"data": data}, status_code=201, headers={"Location": location})


def run_options(ctx: RequestContext) -> RunOptions:
    """Parse the options of a run start from the query string (``None`` where not given)."""
    memory = number_param(ctx, "memory", integer=True, minimum=128)
    if memory is not None and (memory > 32768 or int(memory) & (int(memory) - 1)):
        raise invalid_input(f"Invalid memory value {int(memory)} MB: it must be a power of 2 between 128 and 32768")
    timeout = number_param(ctx, "timeout")
    max_items = number_param(ctx, "maxItems", integer=True)
    return RunOptions(
        timeout_secs=int(timeout) if timeout is not None else None,
        memory_mbytes=int(memory) if memory is not None else None,
        build=ctx.query.get("build") or None,
        max_items=int(max_items) if max_items is not None else None,
        max_total_charge_usd=number_param(ctx, "maxTotalChargeUsd"),
        restart_on_error=bool_param(ctx, "restartOnError"),
    )


def start_fields(ctx: RequestContext, options: RunOptions) -> dict[str, Any]:
    """Return the run fields a start request sets besides options and input."""
    return {
        "input_body_len": len(ctx.body),
        "webhooks": _webhooks(ctx),
        "restart_on_error": options.restart_on_error,
        **_origin(ctx),
    }


async def start_run(ctx: RequestContext) -> Response:
    """``POST /v2/actors/{actorId}/runs``: start a run (201 with ``Location``)."""
    user = require_user(ctx)
    options, run_input = run_options(ctx), run_input_of(ctx)
    actor = _actor(ctx, user)
    job = ctx.emulator.apify.new_run(
        actor, user, options, enforce_limits=True, run_input=run_input, **start_fields(ctx, options)
    )
    return await created(ctx, job)


async def list_runs(ctx: RequestContext) -> Response:
    """``GET /v2/actors/{actorId}/runs``: paginated ``RunShort`` list with a status filter."""
    user = require_user(ctx)
    offset = int(number_param(ctx, "offset", integer=True) or 0)
    limit = int(min(number_param(ctx, "limit", integer=True, minimum=1) or 1000, 1000))
    desc = bool(bool_param(ctx, "desc"))
    statuses = _statuses(ctx)
    after, before = _time_param(ctx, "startedAfter"), _time_param(ctx, "startedBefore")
    apify = ctx.emulator.apify
    runs = apify.list_runs(
        _actor(ctx, user), user, statuses=statuses, desc=desc, started_after=after, started_before=before
    )
    items = apify.render_short(runs[offset : offset + limit])
    data = {"total": len(runs), "offset": offset, "limit": limit, "desc": desc, "count": len(items), "items": items}
    return JSONResponse({"data": data})


async def get_job(ctx: RequestContext) -> Response:
    """``GET /v2/actor-runs/{runId}``, ``GET /v2/actor-builds/{buildId}``: the job, with the
    ``waitForFinish`` long poll; no token needed (then without costs)."""
    user = optional_user(ctx)
    job = _job(ctx, "run" if "runId" in ctx.params else "build", None)
    return JSONResponse({"data": await _wait_and_render(ctx, job, with_usage=user is not None)})


async def get_actor_job(ctx: RequestContext) -> Response:
    """``GET /v2/actors/{actorId}/runs/{runId}`` (also ``runs/last``), ``.../builds/{buildId}``: a job of this actor."""
    user = require_user(ctx)
    if "runId" in ctx.params:
        job = _job(ctx, "run", user if ctx.param("runId") == "last" else None, _actor(ctx, user))
    else:
        job = _job(ctx, "build", None, _actor(ctx, user))
    return JSONResponse({"data": await _wait_and_render(ctx, job)})


async def abort_job(ctx: RequestContext) -> Response:
    """``POST /v2/actor-runs/{runId}/abort[?gracefully=true]``, ``POST /v2/actor-builds/{buildId}/abort``:
    abort (builds at once); finished jobs come back unchanged."""
    user = require_user(ctx)
    kind: JobKind = "run" if "runId" in ctx.params else "build"
    gracefully = kind == "run" and bool(bool_param(ctx, "gracefully"))
    actor = _actor(ctx, user) if "actorId" in ctx.params else None
    apify = ctx.emulator.apify
    return JSONResponse({"data": apify.render(apify.abort(_job(ctx, kind, user, actor), gracefully=gracefully))})


async def start_build(ctx: RequestContext) -> Response:
    """``POST /v2/actors/{actorId}/builds?version=X.Y``: start a build (201 with ``Location``)."""
    user = require_user(ctx)
    version = ctx.query.get("version")
    if not version:
        raise invalid_input('Parameter "version" is required')
    if not _VERSION.match(version):
        raise invalid_input(f'Invalid value of parameter "version": "{version}" must be MAJOR.MINOR, e.g. 0.0')
    use_cache, beta = bool_param(ctx, "useCache"), bool_param(ctx, "betaPackages")
    job = ctx.emulator.apify.new_build(
        _actor(ctx, user),
        user,
        version=version,
        tag=ctx.query.get("tag") or "latest",
        use_cache=bool(use_cache),
        beta_packages=bool(beta),
        **_origin(ctx),
    )
    return await created(ctx, job)


async def users_me(ctx: RequestContext) -> Response:
    """``GET /v2/users/me``: the token's account (``UserPrivateInfo``)."""
    return JSONResponse({"data": require_user(ctx).to_json()})


def routes() -> list[RouteSpec]:
    """Return every Apify route, actor-scoped ones under both prefixes."""
    table: list[tuple[str, str, Handler]] = [
        ("GET", "/v2/actor-runs/{runId}", get_job),
        ("POST", "/v2/actor-runs/{runId}/abort", abort_job),
        ("GET", "/v2/actor-builds/{buildId}", get_job),
        ("POST", "/v2/actor-builds/{buildId}/abort", abort_job),
        ("GET", "/v2/users/me", users_me),
    ]
    for prefix in ("/v2/actors", "/v2/acts"):
        table += [
            ("POST", prefix + "/{actorId}/runs", start_run),
            ("GET", prefix + "/{actorId}/runs", list_runs),
            ("GET", prefix + "/{actorId}/runs/{runId}", get_actor_job),
            ("POST", prefix + "/{actorId}/runs/{runId}/abort", abort_job),
            ("POST", prefix + "/{actorId}/builds", start_build),
            ("GET", prefix + "/{actorId}/builds/{buildId}", get_actor_job),
        ]
    return [RouteSpec(method, template, handler, "apify") for method, template, handler in table]

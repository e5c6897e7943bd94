"""Handlers of the emulated Apify API v2 for results: dataset items, key-value records, logs and
actor tasks (their runs start like actor runs, see :mod:`~airflow_provider_jobs.emulator.apify_tasks`).

Dataset items come as ``json`` (default), ``jsonl`` or ``csv``; the other formats of the API
(``html``, ``xlsx``, ``xml``, ``rss``) and the ``unwind``, ``flatten``, ``view`` and
``outputFields`` parameters are answered with 400, so a test never passes on a silently
ignored option. ``limit`` has no maximum (the API has none on this endpoint).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

from starlette.responses import JSONResponse, Response, StreamingResponse

from airflow_provider_jobs.emulator.apify_records import ApifyUser, JobRecord
from airflow_provider_jobs.emulator.apify_routes import (
    bool_param,
    created,
    number_param,
    optional_user,
    require_user,
    run_input_of,
    run_options,
    start_fields,
)
from airflow_provider_jobs.emulator.apify_storage import render_lines
from airflow_provider_jobs.emulator.apify_tasks import TaskRecord
from airflow_provider_jobs.emulator.errors import EmulatedApiError, invalid_input, or_404
from airflow_provider_jobs.emulator.routing import Handler, RequestContext, RouteSpec

NO_LIMIT = 999_999_999_999
"""``X-Apify-Pagination-Limit`` when no ``limit`` is given (as the API reports it)."""
_FORMATS = {
    "json": "application/json; charset=utf-8",
    "jsonl": "application/jsonl; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
}
_NOT_EMULATED = ("unwind", "flatten", "view", "outputFields")
_STREAM_POLL = 0.05
"""Seconds between looks at a job whose log is streamed (an abort shows within this)."""


def _names(ctx: RequestContext, name: str) -> list[str] | None:
    raw = ctx.query.get(name)
    return [part.strip() for part in raw.split(",") if part.strip()] if raw else None


def _shape(item: Any, fields: list[str] | None, omit: list[str] | None, hidden: bool) -> Any:
    """Apply ``fields`` (order kept), ``omit`` and hidden-field skipping to one item."""
    if not isinstance(item, dict):
        return item
    if fields is not None:
        item = {name: item[name] for name in fields if name in item}
    if omit:
        item = {name: value for name, value in item.items() if name not in omit}
    if hidden:
        item = {name: value for name, value in item.items() if not name.startswith("#")}
    return item


def _csv(items: list[Any], fields: list[str] | None, delimiter: str, header: bool) -> str:
    """Render items as CSV: columns in ``fields`` order, else the union of keys as first seen."""
    columns = list(fields or {})
    if fields is None:
        seen: dict[str, None] = {}
        for item in items:
            seen.update(dict.fromkeys(item if isinstance(item, dict) else ()))
        columns = list(seen)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    if header:
        writer.writerow(columns)
    for item in items:
        row = item if isinstance(item, dict) else {}
        writer.writerow(
            ["" if row.get(c) is None else row[c] if isinstance(row[c], str) else json.dumps(row[c]) for c in columns]
        )
    return out.getvalue()


def _page(ctx: RequestContext) -> tuple[list[Any], dict[str, str], list[str] | None]:
    """Return a page of items, its pagination headers and the ``fields`` asked for.

    ``X-Apify-Pagination-Count`` is the number of dataset rows the page read: filters such as
    ``clean`` may return fewer items.
    """
    storage = ctx.emulator.apify_storage
    record = or_404(storage.dataset(ctx.param("datasetId")), "Dataset")
    offset = int(number_param(ctx, "offset", integer=True) or 0)
    limit_value = number_param(ctx, "limit", integer=True)
    limit = int(limit_value) if limit_value is not None else None
    desc = bool(bool_param(ctx, "desc"))
    clean = bool(bool_param(ctx, "clean"))
    skip_hidden = clean or bool(bool_param(ctx, "skipHidden"))
    skip_empty = clean or bool(bool_param(ctx, "skipEmpty"))
    fields, omit = _names(ctx, "fields"), _names(ctx, "omit")
    rows, scanned, total = storage.rows(record, offset, limit, desc)
    shaped: Iterator[Any] = (_shape(row, fields, omit, skip_hidden) for row in rows)
    items = [item for item in shaped if not (skip_empty and item in ({}, None))]
    headers = {
        "X-Apify-Pagination-Offset": str(offset),
        "X-Apify-Pagination-Limit": str(NO_LIMIT if limit is None else limit),
        "X-Apify-Pagination-Count": str(scanned),
        "X-Apify-Pagination-Total": str(total),
        "X-Apify-Pagination-Desc": "true" if desc else "false",
    }
    return items, headers, fields


async def dataset_items(ctx: RequestContext) -> Response:
    """``GET /v2/datasets/{datasetId}/items``: a page of items with the pagination headers."""
    optional_user(ctx)
    fmt = (ctx.query.get("format") or "json").lower()
    if fmt not in _FORMATS:
        raise invalid_input(f'The emulator serves format "json", "jsonl" or "csv", not "{fmt}"')
    for name in _NOT_EMULATED:
        if ctx.query.get(name):
            raise invalid_input(f'The emulator does not implement the "{name}" parameter')
    items, headers, fields = _page(ctx)
    if fmt == "json":
        body = json.dumps(items)
    elif fmt == "jsonl":
        body = "".join(json.dumps(item) + "\n" for item in items)
    else:
        header = not bool_param(ctx, "skipHeaderRow")
        body = _csv(items, fields, ctx.query.get("delimiter") or ",", header)
    if bool_param(ctx, "attachment"):
        headers["Content-Disposition"] = f'attachment; filename="{ctx.param("datasetId")}.{fmt}"'
    return Response(body, headers=headers, media_type=_FORMATS[fmt])


async def get_record(ctx: RequestContext) -> Response:
    """``GET /v2/key-value-stores/{storeId}/records/{recordKey}``: the value, with its content type."""
    optional_user(ctx)
    storage = ctx.emulator.apify_storage
    store = or_404(storage.store(ctx.param("storeId")), "Key-value store")
    record = or_404(storage.record(store, ctx.param("recordKey")), "Record")
    headers = {}
    if bool_param(ctx, "attachment"):
        headers["Content-Disposition"] = f'attachment; filename="{ctx.param("recordKey")}"'
    return Response(record.value, headers=headers, media_type=record.content_type)


def _log_job(ctx: RequestContext) -> JobRecord:
    apify, job_id = ctx.emulator.apify, ctx.param("buildOrRunId")
    return or_404(apify.job("run", job_id) or apify.job("build", job_id), "Log")


async def get_log(ctx: RequestContext) -> Response:
    """``GET /v2/logs/{buildOrRunId}``: the log so far; ``stream=1`` follows it until the job ends."""
    optional_user(ctx)
    job, stream = _log_job(ctx), bool(bool_param(ctx, "stream"))
    bool_param(ctx, "raw")  # accepted; emulated logs have no ANSI escapes to strip
    storage, wall = ctx.emulator.apify_storage, ctx.emulator.apify.runtime.clock.to_wall
    headers = {}
    if bool_param(ctx, "download"):
        headers["Content-Disposition"] = f'attachment; filename="{job.id}.log"'
    if not stream:
        return Response(render_lines(storage.written_log(job)[0], wall), headers=headers, media_type="text/plain")

    async def follow() -> AsyncIterator[str]:
        sent = 0
        while True:
            lines, due, ended = storage.written_log(job)
            if len(lines) > sent:
                yield render_lines(lines[sent:], wall)
                sent = len(lines)
            if ended and due is None:
                return
            await asyncio.sleep(min(max(due or _STREAM_POLL, 0.001), _STREAM_POLL))

    return StreamingResponse(follow(), headers=headers, media_type="text/plain")


def _task(ctx: RequestContext) -> tuple[TaskRecord, ApifyUser]:
    user = require_user(ctx)
    task = ctx.emulator.apify_tasks.find_task(ctx.param("actorTaskId"), user)
    if task is None or task.user is not user:
        raise EmulatedApiError(404, "record-not-found", "Actor task was not found")
    return task, user


async def get_task(ctx: RequestContext) -> Response:
    """``GET /v2/actor-tasks/{actorTaskId}``: the task."""
    task, _ = _task(ctx)
    with ctx.emulator.apify.lock:
        return JSONResponse({"data": task.to_json()})


async def start_task_run(ctx: RequestContext) -> Response:
    """``POST /v2/actor-tasks/{actorTaskId}/runs``: start a run of the task's actor (201 with ``Location``)."""
    task, user = _task(ctx)
    options = run_options(ctx).over(task.options)
    body = run_input_of(ctx)
    run_input = task.run_input(body) if body is None or isinstance(body, dict) else body
    apify = ctx.emulator.apify
    with apify.lock:
        job = apify.new_run(
            task.actor,
            user,
            options,
            enforce_limits=True,
            run_input=run_input,
            task_id=task.id,
            **start_fields(ctx, options),
        )
        task.total_runs += 1
    return await created(ctx, job, f"{ctx.base_url}/v2/actor-tasks/{task.id}/runs/{job.id}")


def routes() -> list[RouteSpec]:
    """Return the dataset, record, log and task routes."""
    table: list[tuple[str, str, Handler]] = [
        ("GET", "/v2/datasets/{datasetId}/items", dataset_items),
        ("GET", "/v2/key-value-stores/{storeId}/records/{recordKey}", get_record),
        ("GET", "/v2/logs/{buildOrRunId}", get_log),
        ("GET", "/v2/actor-tasks/{actorTaskId}", get_task),
        ("POST", "/v2/actor-tasks/{actorTaskId}/runs", start_task_run),
    ]
    return [RouteSpec(method, template, handler, "apify") for method, template, handler in table]

"""The control API under ``/_emulator``: every operation of :mod:`~airflow_provider_jobs.emulator.ops`.

No authentication; JSON in and out; never journaled or faulted. The routes are generated from
the operation table, so each one runs the ``Emulator`` method of the same name (the two token
operations share ``POST /tokens`` and are told apart by its ``api`` field).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.responses import JSONResponse, Response

from airflow_provider_jobs.emulator.errors import EmulatedApiError, UnknownRecordError, invalid_request
from airflow_provider_jobs.emulator.ops import OPERATIONS, Operation
from airflow_provider_jobs.emulator.routing import Handler, RequestContext, RouteSpec

PREFIX = "/_emulator"


def _pick(ops: list[Operation[..., Any]], body: dict[str, Any]) -> Operation[..., Any]:
    """Return the operation of a shared route whose ``fixed`` fields the body carries."""
    for op in ops:
        if all(body.get(name) == value for name, value in op.fixed.items()):
            return op
    name = next(iter(ops[0].fixed))
    raise invalid_request(f'"{name}" must be ' + " or ".join(f'"{op.fixed[name]}"' for op in ops))


def _handler(ops: list[Operation[..., Any]]) -> Handler:
    """Serve the operations sharing one route."""

    async def handle(ctx: RequestContext) -> Response:
        body = ctx.json_body(empty={})
        if not isinstance(body, dict):
            raise invalid_request("the body must be a JSON object")
        op = _pick(ops, body)
        try:
            args = op.parse(ctx.params, ctx.query, body)
            result = op.call_on(ctx.emulator, args)
        except UnknownRecordError as exc:
            raise EmulatedApiError(404, "not_found", str(exc.args[0] if exc.args else exc)) from exc
        except KeyError as exc:  # a required field is missing
            raise invalid_request(f"missing field: {exc.args[0]}") from exc
        except (ValidationError, ValueError, TypeError) as exc:
            raise invalid_request(str(exc)) from exc
        return JSONResponse(op.to_json(ctx.emulator, args, result))

    return handle


def routes() -> list[RouteSpec]:
    """Return a route for each ``(verb, path)`` of the operation table."""
    shared: dict[tuple[str, str], list[Operation[..., Any]]] = {}
    for op in OPERATIONS:
        shared.setdefault((op.verb, op.path), []).append(op)
    return [RouteSpec(verb, PREFIX + path, _handler(ops), "control") for (verb, path), ops in shared.items()]

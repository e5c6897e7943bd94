"""The Apify API v2 as the hooks see it: endpoint catalogue, service description, argument helpers.

Shared by :class:`~airflow_provider_jobs.hooks.apify.ApifyHook` and the modules it is built from
(``_apify_storage``: datasets, records, logs; ``_apify_tasks``: actor tasks). Nothing here does I/O.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from airflow_provider_jobs._call import Call
from airflow_provider_jobs._connection import ErrorBody, ServiceInfo, plain_error_body
from airflow_provider_jobs._retry import Idempotency
from airflow_provider_jobs._validation import (
    show_value,
    validate_count,
    validate_flag,
    validate_job_id,
    validate_positive_number,
    validate_wait_seconds,
)
from airflow_provider_jobs.exceptions import InvalidArgumentError
from airflow_provider_jobs.hooks._base import Operation, json_body, model_operation

APIFY_DEFAULT_BASE_URL = "https://api.apify.com"

# Endpoint catalogue (current /v2/actors/ prefix; /v2/acts/ is the deprecated alias).
RUN_PATH = "/v2/actor-runs/{run_id}"
RUN_ABORT_PATH = "/v2/actor-runs/{run_id}/abort"
ACTOR_RUNS_PATH = "/v2/actors/{actor_id}/runs"
BUILD_PATH = "/v2/actor-builds/{build_id}"
BUILD_ABORT_PATH = "/v2/actor-builds/{build_id}/abort"
ACTOR_BUILDS_PATH = "/v2/actors/{actor_id}/builds"
USER_ME_PATH = "/v2/users/me"
TASK_RUNS_PATH = "/v2/actor-tasks/{task_id}/runs"
DATASET_ITEMS_PATH = "/v2/datasets/{dataset_id}/items"
RECORD_PATH = "/v2/key-value-stores/{store_id}/records/{key}"
LOG_PATH = "/v2/logs/{job_id}"

MAX_WAIT_FOR_FINISH = 60
"""The server clamps ``waitForFinish`` to 60 s."""
LONG_POLL_PARAM = "waitForFinish"
JOB_FINISHED = "job-finished"
"""Error type some deployments answer an abort of a finished job with (403)."""

RUN_ID, BUILD_ID, ACTOR_ID = "Apify run id", "Apify build id", "Apify actor id"
TASK_ID, DATASET_ID, STORE_ID = "Apify actor task id", "Apify dataset id", "Apify key-value store id"
JOB_ID = "Apify run or build id"


def seg(value: str, safe: str = "~") -> str:
    """Encode ``value`` as one URL path segment."""
    return quote(value, safe=safe)


def flag(value: Any, what: str) -> str:
    """A bool as the API's ``true``/``false`` (anything else refused)."""
    return "true" if validate_flag(value, what) else "false"


def count(value: Any, what: str, *, minimum: int = 1) -> str:
    """An integer of at least ``minimum`` as a query value (anything else refused)."""
    return str(validate_count(value, what, minimum=minimum))


def wait_seconds(value: Any) -> float | None:
    """``wait_for_finish`` checked and capped at the server's 60 s (0 or ``None``: no long poll)."""
    seconds = validate_wait_seconds(value, "wait_for_finish")
    return None if not seconds else min(float(MAX_WAIT_FOR_FINISH), seconds)


def long_poll_seconds(budget: float | None) -> int:
    """Seconds to ask the server to hold a GET open: the budget left, at most 60."""
    return MAX_WAIT_FOR_FINISH if budget is None else max(0, min(MAX_WAIT_FOR_FINISH, int(budget)))


def data_op(model: type[Any], conn_id: str, call: Call) -> Operation[Any]:
    """An operation whose answer is ``{"data": <model>}``."""
    return model_operation(model, call, conn_id, "data")


def encode_webhooks(value: Any) -> str:
    """Ad-hoc webhooks as the ``webhooks`` query parameter wants them: base64 of the JSON array.

    Each webhook is a dict in the API's ``WebhookRepresentation`` shape (``eventTypes`` and
    ``requestUrl`` required; ``payloadTemplate``, ``headersTemplate``, ``idempotencyKey``... as the
    API names them). Refused before any request when it is not a non-empty list of such dicts.
    """
    if not isinstance(value, (list, tuple)) or not value:
        raise InvalidArgumentError(f"Invalid webhooks: expected a non-empty list of dicts, got {show_value(value)}.")
    for hook in value:
        if not isinstance(hook, Mapping):
            raise InvalidArgumentError(f"Invalid webhooks: each webhook must be a dict, got {show_value(hook)}.")
        events, url = hook.get("eventTypes"), hook.get("requestUrl")
        if not (isinstance(events, list) and events and all(isinstance(e, str) for e in events)):
            raise InvalidArgumentError("Invalid webhooks: each needs 'eventTypes', e.g. ['ACTOR.RUN.FAILED'].")
        if not (isinstance(url, str) and url.startswith(("https://", "http://"))):
            raise InvalidArgumentError("Invalid webhooks: each needs 'requestUrl', an http(s) URL.")
    try:
        text = json.dumps([dict(h) for h in value], allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(f"Invalid webhooks: not JSON-serializable ({exc}).") from None
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def start_params(opts: Mapping[str, Any]) -> dict[str, str]:
    """Query parameters of a run start (of an actor or a task), checked before any request.

    :param opts: ``build``, ``timeout_secs``, ``memory_mbytes``, ``max_items``, ``max_total_charge_usd``,
        ``restart_on_error``, ``webhooks`` (``None`` or absent: not sent)
    """
    params: dict[str, str] = {}
    if opts.get("build") is not None:
        params["build"] = validate_job_id(opts["build"], "Apify build tag or number")
    for key, param in (("timeout_secs", "timeout"), ("memory_mbytes", "memory"), ("max_items", "maxItems")):
        if opts.get(key) is not None:
            params[param] = count(opts[key], key)
    charge = opts.get("max_total_charge_usd")
    if charge is not None:
        params["maxTotalChargeUsd"] = repr(validate_positive_number(charge, "max_total_charge_usd"))
    if opts.get("restart_on_error") is not None:
        params["restartOnError"] = flag(opts["restart_on_error"], "restart_on_error")
    webhooks = opts.get("webhooks")
    if webhooks is not None and not (isinstance(webhooks, (list, tuple)) and not webhooks):  # [] sends none
        params["webhooks"] = encode_webhooks(webhooks)
    return params


def _read_error(body: Mapping[str, Any]) -> ErrorBody:
    """Apify's error body ``{"error": {"type", "message"}}`` (anything else read as a plain body)."""
    error = body.get("error")
    return ErrorBody(error.get("type"), error.get("message")) if isinstance(error, dict) else plain_error_body(body)


def _created_id(body: Any) -> Any:
    """A started run or build in ``{"data": {"id": ...}}``."""
    data = body.get("data") if isinstance(body, dict) else None
    return data.get("id") if isinstance(data, dict) else None


APIFY_SERVICE = ServiceInfo(
    label="Apify", conn_type="apify", default_base_url=APIFY_DEFAULT_BASE_URL,
    token_hint="Apify Console > Settings > API & Integrations",
    long_poll_param=LONG_POLL_PARAM, created_id=_created_id, read_error=_read_error,
)
"""The Apify API as the HTTP core sees it: where errors, new ids and the long poll are."""


def job_get_op(model: type[Any], conn_id: str, path: str, name: str, id_label: str, job_id: str,
               wait_for_finish: Any) -> Operation[Any]:
    """The get of a run or build (``path`` already formatted), long-polled for ``wait_for_finish`` s."""
    return data_op(model, conn_id, Call("GET", path, f"Get of {name} {job_id}", id_label, job_id=job_id,
                                        long_poll=wait_seconds(wait_for_finish)))


def run_start_op(model: type[Any], conn_id: str, path: str, action: str, id_label: str, run_input: Any,
                 input_name: str, opts: Mapping[str, Any]) -> Operation[Any]:
    """The start of a run (of an actor or of an actor task): never repeated once it may have arrived.

    :param run_input: the JSON input (``None``: ``{}``), ``input_name`` naming it in errors
    :param opts: the start options of :func:`start_params`, and ``wait_for_finish``
    """
    body = json_body({} if run_input is None else run_input, input_name)
    return data_op(model, conn_id, Call(
        "POST", path, action, id_label, params=start_params(opts) or None, json=body,
        idempotency=Idempotency.CREATE, long_poll=wait_seconds(opts.get("wait_for_finish")),
    ))

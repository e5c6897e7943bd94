"""The three job kinds, with MockTransport bodies for each state, and helpers to read what a test's tasks sent.

Imported as ``_kinds`` (tests/ is on sys.path under pytest); the unit tests get each kind in turn
through the ``job_kind`` fixture (tests/unit/conftest.py).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import httpx
from _support import Recorder

from airflow_provider_jobs.lifecycle import APIFY_BUILD, APIFY_RUN, TEMPLATE_BUILD, JobKind
from airflow_provider_jobs.notifications.apify import ApifyAbortBuildNotifier, ApifyAbortRunNotifier
from airflow_provider_jobs.notifications.template_builds import TemplateBuildCancelNotifier
from airflow_provider_jobs.operators.apify import ApifyBuildActorOperator, ApifyRunActorOperator
from airflow_provider_jobs.operators.template_builds import TemplateBuildOperator
from airflow_provider_jobs.sensors.apify import ApifyBuildSensor, ApifyRunSensor
from airflow_provider_jobs.sensors.template_builds import TemplateBuildSensor
from airflow_provider_jobs.triggers._base import JobTrigger
from airflow_provider_jobs.triggers.apify import ApifyBuildTrigger, ApifyRunTrigger
from airflow_provider_jobs.triggers.template_builds import TemplateBuildTrigger

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "apify"
RUN = json.loads((FIXTURES / "run_aborted.json").read_text())["data"]
BUILD = json.loads((FIXTURES / "build_succeeded.json").read_text())["data"]
TB = {"build_id": "tb_1", "template_id": "tmpl_1", "name": "etl", "tags": ["default"], "status": "building"}


@dataclass
class KindCase:
    """One job kind, as the lifecycle tests need it."""

    name: str
    kind: JobKind[Any, Any]
    job_id: str
    operator: Callable[..., Any]
    sensor: Callable[..., Any]
    trigger: type[JobTrigger]
    notifier: Callable[..., Any]
    running: str
    succeeded: str
    failed: str
    aborted: str
    body: Callable[[str], dict[str, Any]]
    start_path: str
    abort_path: str
    get_path: str

    def response(self, status: str, code: int = 200) -> httpx.Response:
        return httpx.Response(code, json=self.body(status))


def _apify(data: dict[str, Any]) -> Callable[[str], dict[str, Any]]:
    return lambda status: {"data": {**data, "status": status}}


def _template(status: str) -> dict[str, Any]:
    return {"build": {**TB, "status": status}, "entries": [], "next_offset": 0}


KINDS = {
    "apify_run": KindCase(
        "apify_run", APIFY_RUN, RUN["id"],
        lambda **kw: ApifyRunActorOperator(task_id="t", actor_id="janedoe~my-actor", **kw),
        lambda **kw: ApifyRunSensor(task_id="s", run_id=RUN["id"], **kw),
        ApifyRunTrigger, lambda **kw: ApifyAbortRunNotifier(**kw),
        "RUNNING", "SUCCEEDED", "FAILED", "ABORTED", _apify(RUN),
        "/v2/actors/janedoe~my-actor/runs", f"/v2/actor-runs/{RUN['id']}/abort", f"/v2/actor-runs/{RUN['id']}",
    ),
    "apify_build": KindCase(
        "apify_build", APIFY_BUILD, BUILD["id"],
        lambda **kw: ApifyBuildActorOperator(task_id="t", actor_id="janedoe~my-actor", version="0.1", **kw),
        lambda **kw: ApifyBuildSensor(task_id="s", build_id=BUILD["id"], **kw),
        ApifyBuildTrigger, lambda **kw: ApifyAbortBuildNotifier(**kw),
        "RUNNING", "SUCCEEDED", "FAILED", "ABORTED", _apify(BUILD),
        "/v2/actors/janedoe~my-actor/builds", f"/v2/actor-builds/{BUILD['id']}/abort",
        f"/v2/actor-builds/{BUILD['id']}",
    ),
    "template_build": KindCase(
        "template_build", TEMPLATE_BUILD, "tb_1",
        lambda **kw: TemplateBuildOperator(task_id="t", build_request={"name": "etl"}, **kw),
        lambda **kw: TemplateBuildSensor(task_id="s", build_id="tb_1", **kw),
        TemplateBuildTrigger, lambda **kw: TemplateBuildCancelNotifier(**kw),
        "building", "ready", "error", "cancelled", _template,
        "/v1/templates/builds", "/v1/templates/builds/tb_1/cancel", "/v1/templates/builds/tb_1",
    ),
}


def start_response(kind: KindCase, status: str) -> httpx.Response:
    """What a start answers (template builds: a bare build, 202)."""
    if kind.name == "template_build":
        return httpx.Response(202, json={**TB, "status": status})
    return httpx.Response(201, json=kind.body(status))


def fake_context(store: dict[str, Any] | None = None, xcom: dict[str, Any] | None = None) -> dict[str, Any]:
    """A task context with a recording ti (and an optional task_state_store)."""
    pushed: dict[str, Any] = {} if xcom is None else xcom
    ti = MagicMock()
    ti.dag_id, ti.task_id, ti.run_id, ti.try_number, ti.map_index = "dag1", "t", "manual__1", 1, -1
    ti.xcom_push.side_effect = lambda key, value: pushed.__setitem__(key, value)
    ti.xcom_pull.side_effect = lambda task_ids=None, key=None, map_indexes=None: pushed.get(key)
    ctx: dict[str, Any] = {"ti": ti, "run_id": "manual__1", "pushed": pushed, "dag": None}  # 3.0's notifier reads it
    if store is not None:
        accessor = MagicMock()
        accessor.get.side_effect = lambda key, default=None: store.get(key, default)
        accessor.set.side_effect = lambda key, value, **_: store.__setitem__(key, value)
        ctx["task_state_store"] = accessor
    return ctx


def paths(rec: Recorder) -> list[str]:
    """``METHOD /path`` of every request the recorder saw, in order."""
    return [f"{r.method} {r.url.path}" for r in rec.requests]


def aborts(rec: Recorder, kind: KindCase) -> list[httpx.Request]:
    """The abort/cancel requests the recorder saw for the kind's job."""
    return [r for r in rec.requests if r.method == "POST" and r.url.path == kind.abort_path]


def run_trigger(trigger: Any) -> dict[str, Any]:
    """Run a trigger until its first event; return the event's payload."""

    async def first() -> dict[str, Any]:
        gen = trigger.run()
        ev = await gen.__anext__()
        await gen.aclose()
        return ev.payload

    return asyncio.run(first())

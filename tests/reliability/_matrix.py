"""The fault matrix: every job operation against every injected fault, in two modes.

* ``clears``: the fault hits the first two attempts (``times=2``) and then goes away. An idempotent
  operation must succeed on its third attempt; a start must not create a second job.
* ``persists``: the fault hits every attempt (``times=None``). An idempotent operation must fail
  with the typed error of the fault after exactly 4 attempts; a start fails without retrying
  (or, on 429, after 4 attempts that created nothing).

Invariants checked in every cell: the journal shows how many attempts reached the emulator, a
start never creates two jobs (the emulator's own state is counted), a start that may have
reached the server fails with :class:`StartOutcomeUnknownError` saying so, ``Retry-After`` is
honoured (gap between attempts), and no error message contains the token.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Any

from _rel import FAST, FOREVER, FULL

from airflow_provider_jobs.emulator.timelines import TemplateTimeline, Timeline
from airflow_provider_jobs.exceptions import (
    JobsApiError,
    RateLimitError,
    ServerError,
    StartOutcomeUnknownError,
    TransportError,
    UnexpectedResponseError,
)
from airflow_provider_jobs.hooks.apify import ApifyHook
from airflow_provider_jobs.hooks.template_builds import TemplateBuildHook

ACTOR = "rel~matrix"
TEMPLATE = "rel-matrix"
MODES = ("clears", "persists")


def seed(emu: Any) -> None:
    """An actor whose runs and builds never end by themselves, and a template likewise."""
    forever = Timeline(ready_secs=0, running_secs=FOREVER, abort_grace_secs=FOREVER)
    emu.seed_actor(ACTOR, run=forever, build=forever, default_timeout_secs=10**9)
    emu.seed_template(TEMPLATE, TemplateTimeline(waiting_secs=0, building_secs=FOREVER, cancel_delay_secs=FOREVER))


# ------------------------------------------------------------------------------ faults
@dataclass(frozen=True)
class FaultCase:
    """One column of the matrix."""

    name: str
    fields: Callable[[], dict[str, Any]]
    error: type[JobsApiError]
    """Typed error of an idempotent call when the fault persists."""
    processed: bool
    """The emulator acted on the request (a start created its job) before failing it."""
    short_timeout: bool = False
    """Use the connection with ``read_timeout`` = 0.2 s."""
    retry_after: str | None = None
    """``seconds`` or ``date``: check that the next attempt waited as told."""


def _due_http_date() -> dict[str, Any]:
    # An HTTP date that is already due: exercises the date form of Retry-After without waiting
    # up to a second per retry (RELIABILITY_FULL=1 uses dates in the future instead).
    now = datetime.now(timezone.utc).replace(microsecond=0)
    return {"kind": "status", "status": 429, "retry_after": format_datetime(now, usegmt=True)}


def _future_http_date() -> dict[str, Any]:
    # The emulator rounds "now + 0 s" up to the next whole second: a wait of up to 1 s.
    return {"kind": "status", "status": 429, "retry_after": 0, "retry_after_http_date": True}


FAULTS: dict[str, FaultCase] = {f.name: f for f in (
    # Whole seconds: a fraction ("0.05") is no valid Retry-After and is ignored (the backoff applies).
    FaultCase("429 Retry-After seconds", lambda: {"kind": "status", "status": 429, "retry_after": 1},
              RateLimitError, False, retry_after="seconds"),
    FaultCase("429 Retry-After HTTP date", _future_http_date if FULL else _due_http_date,
              RateLimitError, False, retry_after="date"),
    FaultCase("500", lambda: {"kind": "status", "status": 500}, ServerError, False),
    FaultCase("502", lambda: {"kind": "status", "status": 502}, ServerError, False),
    FaultCase("503", lambda: {"kind": "status", "status": 503}, ServerError, False),
    FaultCase("504", lambda: {"kind": "status", "status": 504}, ServerError, False),
    FaultCase("reset before response", lambda: {"kind": "drop_before"}, TransportError, False),
    FaultCase("reset after processing", lambda: {"kind": "drop_after"}, TransportError, True),
    FaultCase("reset mid-body", lambda: {"kind": "reset_mid_body"}, TransportError, True),
    FaultCase("read timeout", lambda: {"kind": "delay", "delay": 0.6}, TransportError, True, short_timeout=True),
    FaultCase("slow body", lambda: {"kind": "slow_body", "chunk_size": 16, "chunk_delay": 0.6},
              TransportError, True, short_timeout=True),
    FaultCase("malformed JSON", lambda: {"kind": "malformed_json"}, UnexpectedResponseError, True),
    FaultCase("HTML error page", lambda: {"kind": "html", "status": 502}, ServerError, False),
)}


# -------------------------------------------------------------------------- operations
@dataclass
class Target:
    """What one cell works on."""

    job_id: str | None = None
    path_regex: str = ""
    before: int = 0
    """Jobs that existed before a start (the emulator seeds one build per actor)."""


@dataclass(frozen=True)
class Operation:
    """One row of the matrix."""

    name: str
    service: str  # "apify" or "templates"
    route: str
    start: bool
    prepare: Callable[[Any], Target]
    call: Callable[[Any, Target], Any]
    returned_id: Callable[[Any], str]
    check: Callable[[Any, Target, Any], None] = lambda emu, target, result: None
    count: Callable[[Any], int] = lambda emu: 0

    def hook(self, conn_suffix: str) -> Any:
        if self.service == "apify":
            return ApifyHook(f"apify_{conn_suffix}", retry_policy=FAST)
        return TemplateBuildHook(f"template_builds_{conn_suffix}", retry_policy=FAST)


def _run(emu: Any) -> Target:
    job = emu.create_run(ACTOR, status="RUNNING")
    return Target(job, f"/{job}(/|$)")


def _build(emu: Any) -> Target:
    job = emu.create_build(ACTOR, version="0.1", status="RUNNING")
    return Target(job, f"/{job}(/|$)")


def _template_build(emu: Any) -> Target:
    job = emu.create_template_build(TEMPLATE, status="building")
    return Target(job, f"/{job}(/|$)")


def _expect(actual: Any, allowed: tuple[str, ...], what: str) -> None:
    assert actual in allowed, f"{what} is {actual!r}, expected one of {allowed}"


OPERATIONS: dict[str, Operation] = {op.name: op for op in (
    Operation("abort run", "apify", "POST /v2/actor-runs/{runId}/abort", False, _run,
              lambda h, t: h.abort_run(t.job_id), lambda r: r.id,
              lambda emu, t, r: _expect(emu.get_run(t.job_id)["status"], ("ABORTED",), "run status")),
    Operation("abort run gracefully", "apify", "POST /v2/actor-runs/{runId}/abort", False, _run,
              lambda h, t: h.abort_run(t.job_id, gracefully=True), lambda r: r.id,
              lambda emu, t, r: _expect(emu.get_run(t.job_id)["status"], ("ABORTING", "ABORTED"), "run status")),
    Operation("abort build", "apify", "POST /v2/actor-builds/{buildId}/abort", False, _build,
              lambda h, t: h.abort_build(t.job_id), lambda r: r.id,
              lambda emu, t, r: _expect(emu.get_build(t.job_id)["status"], ("ABORTED",), "build status")),
    Operation("cancel template build", "templates", "POST /v1/templates/builds/{build_id}/cancel", False,
              _template_build, lambda h, t: h.cancel_build(t.job_id, reason="reliability matrix"),
              lambda r: r.build.build_id,
              lambda emu, t, r: _expect(bool(emu.get_template_build(t.job_id)["build"].get("cancel_requested_at")),
                                        (True,), "cancel requested")),
    Operation("get run", "apify", "GET /v2/actor-runs/{runId}", False, _run,
              lambda h, t: h.get_run(t.job_id), lambda r: r.id),
    Operation("get build", "apify", "GET /v2/actor-builds/{buildId}", False, _build,
              lambda h, t: h.get_build(t.job_id), lambda r: r.id),
    Operation("get template build", "templates", "GET /v1/templates/builds/{build_id}", False, _template_build,
              lambda h, t: h.get_build(t.job_id), lambda r: r.build.build_id),
    Operation("start run", "apify", "POST /v2/actors/{actorId}/runs", True,
              lambda emu: Target(None, "/rel~matrix/runs$"),
              lambda h, t: h.start_run(ACTOR, {"cell": "start run"}), lambda r: r.id,
              count=lambda emu: len(emu.runs_of(ACTOR))),
    Operation("start build (Apify)", "apify", "POST /v2/actors/{actorId}/builds", True,
              lambda emu: Target(None, "/rel~matrix/builds$"),
              lambda h, t: h.start_build(ACTOR, "0.1"), lambda r: r.id,
              count=lambda emu: len(emu.builds_of(ACTOR))),
    Operation("start template build", "templates", "POST /v1/templates/builds", True,
              lambda emu: Target(None, "^/v1/templates/builds$"),
              lambda h, t: h.start_build(name=TEMPLATE), lambda r: r.build_id,
              count=lambda emu: len(emu.template_builds(TEMPLATE))),
)}


# -------------------------------------------------------------------------------- cells
@dataclass
class CellResult:
    """What one cell observed (``failure`` is set when an invariant was violated)."""

    operation: str
    fault: str
    mode: str
    outcome: str = "-"
    attempts: int = 0
    created: int | None = None
    seconds: float = 0.0
    failure: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"operation": self.operation, "fault": self.fault, "mode": self.mode, "outcome": self.outcome,
                "attempts": self.attempts, "created": self.created, "seconds": round(self.seconds, 3),
                "failure": self.failure}


@dataclass
class _Prepared:
    op: Operation
    case: FaultCase
    mode: str
    target: Target
    hook: Any
    fields: dict[str, Any]
    before: int


def _wall(entry: Any) -> float:
    return datetime.fromisoformat(entry.wall_time.replace("Z", "+00:00")).timestamp()


def _check_retry_after(entries: list[Any], case: FaultCase, fields: dict[str, Any]) -> None:
    for prev, nxt in zip(entries, entries[1:], strict=False):
        if not prev.fault:
            continue
        if case.retry_after == "seconds":
            wanted = float(fields["retry_after"])
            gap = nxt.monotonic - prev.monotonic
            assert gap >= wanted, f"retried {gap:.3f} s after a 429 asking for {wanted} s"
        elif case.retry_after == "date" and fields.get("retry_after_http_date"):
            earliest = math.ceil(_wall(prev))
            assert _wall(nxt) >= earliest - 0.002, (
                f"retried at {nxt.wall_time}, before the Retry-After date (>= {earliest})")


def _wait_for_processing(emu: Any, op: Operation, before: int, case: FaultCase) -> int:
    """A delayed or slow response is still being processed after the client gave up: let it land."""
    deadline = time.monotonic() + 3.0
    created = op.count(emu) - before
    while case.processed and created == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
        created = op.count(emu) - before
    return created


def _prepare(emu: Any, op_name: str, fault_name: str, mode: str) -> _Prepared:
    op, case = OPERATIONS[op_name], FAULTS[fault_name]
    target = op.prepare(emu)
    hook = op.hook("short" if case.short_timeout else "default")
    hook.get_conn()._sync_client()  # build the client (TLS context and all) before the clock starts
    return _Prepared(op, case, mode, target, hook, case.fields(), op.count(emu) if op.start else 0)


def _execute(emu: Any, p: _Prepared, token: str | None) -> CellResult:
    op, case, mode, target = p.op, p.case, p.mode, p.target
    cell = CellResult(op.name, case.name, mode)
    route_method, route = op.route.split(" ", 1)
    fault = emu.add_fault(method=route_method, route=route, path_regex=target.path_regex,
                          times=2 if mode == "clears" else None, **p.fields)
    started = time.monotonic()
    result: Any = None
    error: BaseException | None = None
    try:
        result = op.call(p.hook, target)
    except JobsApiError as exc:
        error = exc
    finally:
        cell.seconds = time.monotonic() - started
        emu.remove_fault(fault.id)
        p.hook.close()
    entries = [e for e in emu.requests(method=route_method, route=route) if re.search(target.path_regex, e.path)]
    cell.attempts = len(entries)
    cell.created = _wait_for_processing(emu, op, p.before, case) if op.start else None
    cell.outcome = "ok" if error is None else type(error).__name__
    try:
        if error is not None and token:
            assert token not in str(error) and token not in repr(error), "token in the error message"
        if op.start:
            _judge_start(op, case, mode, cell, result, error, emu, entries)
        else:
            _judge_idempotent(op, case, mode, cell, result, error, emu, target, entries)
        _check_retry_after(entries, case, p.fields)
    except AssertionError as exc:
        cell.failure = str(exc) or "assertion failed"
    return cell


def run_cell(emu: Any, op_name: str, fault_name: str, mode: str, *, token: str | None = None) -> CellResult:
    """Run one cell against ``emu``; the result's ``failure`` says which invariant broke, if any."""
    return _execute(emu, _prepare(emu, op_name, fault_name, mode), token)


def run_column(emu: Any, fault_name: str, mode: str, *, token: str | None = None,
               operations: list[str] | None = None) -> list[CellResult]:
    """Run one fault in one mode against every operation at once (each cell has its own job and route)."""
    prepared = [_prepare(emu, op, fault_name, mode) for op in operations or list(OPERATIONS)]
    with ThreadPoolExecutor(max_workers=len(prepared)) as pool:
        return list(pool.map(lambda p: _execute(emu, p, token), prepared))


def _judge_idempotent(op: Operation, case: FaultCase, mode: str, cell: CellResult, result: Any,
                      error: BaseException | None, emu: Any, target: Target, entries: list[Any]) -> None:
    if mode == "clears":
        assert error is None, f"{op.name} failed although the fault cleared: {error}"
        assert op.returned_id(result) == target.job_id
        assert cell.attempts == 3, f"{cell.attempts} attempts, expected 3"
        assert [bool(e.fault) for e in entries] == [True, True, False]
        op.check(emu, target, result)
        return
    assert isinstance(error, case.error), f"expected {case.error.__name__}, got {error!r}"
    assert error.attempts == 4 == cell.attempts, f"{error.attempts} attempts reported, {cell.attempts} journaled"
    assert error.job_id == target.job_id and target.job_id in str(error), "the message must name the job"
    assert f"'{error.conn_id}'" in str(error)
    if case.error is ServerError:
        assert error.status == FAULTS[case.name].fields().get("status")


def _judge_start(op: Operation, case: FaultCase, mode: str, cell: CellResult, result: Any,
                 error: BaseException | None, emu: Any, entries: list[Any]) -> None:
    assert cell.created is not None and cell.created <= 1, f"{cell.created} jobs created by one start"
    if case.error is RateLimitError:  # refused before any work: retried
        if mode == "clears":
            assert error is None, f"start failed although the 429 cleared: {error}"
            assert cell.attempts == 3 and cell.created == 1
            assert op.returned_id(result) == _newest_id(op, emu)
        else:
            assert isinstance(error, RateLimitError) and error.attempts == 4 == cell.attempts
            assert cell.created == 0
        return
    assert isinstance(error, StartOutcomeUnknownError), f"expected StartOutcomeUnknownError, got {error!r}"
    assert "may have been created" in str(error) or "may have reached the server" in str(error)
    assert cell.attempts == 1, f"a start that may have arrived was sent {cell.attempts} times"
    assert cell.created == (1 if case.processed else 0), f"{cell.created} jobs created"


def _newest_id(op: Operation, emu: Any) -> str:
    if op.name == "start run":
        return str(emu.runs_of(ACTOR)[-1]["id"])
    if op.name == "start build (Apify)":
        return str(emu.builds_of(ACTOR)[-1]["id"])
    return str(emu.template_builds(TEMPLATE)[-1]["build_id"])

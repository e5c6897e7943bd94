"""The fault matrix (see ``_matrix.py``): 10 operations x 13 faults x {clears, persists}, against the emulator.

One test per column (fault x mode): its 10 cells run at once, each on its own job and route, and
the test fails naming every cell whose invariant broke. The cells go to the report as properties.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from _matrix import FAULTS, MODES, OPERATIONS, run_column, seed
from _rel import FAST, short_timeout_env

from airflow_provider_jobs.exceptions import RateLimitError, StartOutcomeUnknownError
from airflow_provider_jobs.hooks.apify import ApifyHook

REPEAT = int(os.environ.get("RELIABILITY_REPEAT", "1"))


@pytest.fixture
def emu(jobs_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    seed(jobs_emulator)
    for name, value in short_timeout_env(jobs_emulator).items():
        monkeypatch.setenv(name, value)
    return jobs_emulator


@pytest.mark.parametrize("rep", range(REPEAT), ids=lambda r: f"rep{r}")
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fault", list(FAULTS))
def test_column(emu: Any, fault: str, mode: str, rep: int, record_property: Any) -> None:
    cells = run_column(emu, fault, mode, token=emu.apify_token)
    record_property("cells", json.dumps([c.as_dict() for c in cells]))
    assert [c.operation for c in cells] == list(OPERATIONS)
    failures = [f"{c.operation}: {c.failure} (outcome {c.outcome}, {c.attempts} attempts, created {c.created})"
                for c in cells if c.failure]
    assert not failures, "\n".join(failures)


def test_a_future_http_date_is_waited_for(emu: Any) -> None:
    """The matrix's fast mode uses due dates; here the date lies in the future (up to 1 s)."""
    run_id = emu.create_run("rel~matrix", status="RUNNING")
    emu.add_fault(route="GET /v2/actor-runs/{runId}", status=429, retry_after=0, retry_after_http_date=True, times=1)
    emu.add_fault(route="POST /v2/actors/{actorId}/runs", status=429, retry_after=0, retry_after_http_date=True,
                  times=1)
    hook = ApifyHook(retry_policy=FAST)
    assert hook.get_run(run_id).id == run_id
    started = hook.start_run("rel~matrix")
    assert [r["id"] for r in emu.runs_of("rel~matrix")] == [run_id, started.id]
    from _matrix import _wall

    for route in ("GET /v2/actor-runs/{runId}", "POST /v2/actors/{actorId}/runs"):
        first, second = emu.requests(route=route)
        assert first.fault and not second.fault
        assert _wall(second) >= int(_wall(first)) + 1 - 0.002, (route, first.wall_time, second.wall_time)


def test_a_slow_but_steady_body_is_read_without_retrying(emu: Any) -> None:
    """A body that trickles in faster than the read timeout is not a failure."""
    run_id = emu.create_run("rel~matrix", status="RUNNING")
    emu.add_fault(route="GET /v2/actor-runs/{runId}", kind="slow_body", chunk_size=256, chunk_delay=0.05, times=1)
    assert ApifyHook("apify_short", retry_policy=FAST).get_run(run_id).id == run_id
    (entry,) = emu.requests(route="GET /v2/actor-runs/{runId}")
    assert entry.fault and entry.duration and entry.duration > 0.1


def test_a_start_refused_by_a_retry_after_beyond_the_budget_creates_nothing(emu: Any) -> None:
    emu.add_fault(route="POST /v2/actors/{actorId}/runs", status=429, retry_after=600, times=None)
    with pytest.raises(RateLimitError) as err:
        ApifyHook(retry_policy=FAST).start_run("rel~matrix")
    assert err.value.attempts == 1 and err.value.retry_after == 600
    assert len(emu.runs_of("rel~matrix")) == 0


def test_mixed_faults_on_one_start_never_duplicate(emu: Any) -> None:
    """429s are retried; the first failure after the request may have arrived stops the start."""
    emu.add_fault(route="POST /v2/actors/{actorId}/runs", status=429, retry_after=0.01, times=1)
    emu.add_fault(route="POST /v2/actors/{actorId}/runs", kind="drop_after", times=1)
    with pytest.raises(StartOutcomeUnknownError):
        ApifyHook(retry_policy=FAST).start_run("rel~matrix")
    assert len(emu.requests(route="POST /v2/actors/{actorId}/runs")) == 2
    assert len(emu.runs_of("rel~matrix")) == 1

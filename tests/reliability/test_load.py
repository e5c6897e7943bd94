"""Reduced load (200 of each; ``load.py`` runs 1,000 aborts and 500 triggers): nothing lost, pools bounded."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from _load import abort_behind_long_polls, abort_storm, trigger_fleet
from _rel import FOREVER

from airflow_provider_jobs import _http, _pools
from airflow_provider_jobs.emulator.timelines import Timeline
from airflow_provider_jobs.hooks.apify import ApifyHook
from airflow_provider_jobs.lifecycle import APIFY_RUN, aabort_quietly


def test_200_concurrent_aborts_under_429s_are_all_delivered_through_a_bounded_pool(
        jobs_emulator: Any, record_property: Any) -> None:
    figures = abort_storm(jobs_emulator, 200, 100, batches=2)
    record_property("figures", json.dumps(figures))
    limit = _pools.ASYNC_POOL_LIMITS.max_connections
    for batch in figures["batch"]:
        assert batch["errors"] == 0, batch["first_error"]
        assert batch["delivered"] == 200
        assert batch["answered_429"] == 100 and batch["requests"] == 300
        assert 0 < batch["peak_pool_connections"] <= limit
        # Waiting happens in the core's gate, not inside httpcore's pool (whose queue costs
        # O(queued x connections) per change: 1,000 queued aborts starved the loop and all failed).
        assert batch["peak_queued_in_pool"] == 0, batch
        assert batch["peak_in_flight"] == limit  # requests held 50 ms by the server: the pool is the bound
        # nothing kept after the storm (negative: objects of earlier tests in this worker were collected)
        assert batch["live_clients_after"] <= 0 and batch["live_hooks_after"] <= 0
        assert batch["rss_growth_mb"] < 50, figures


def test_200_deferred_waits_in_one_loop_finish_as_their_jobs_end(jobs_emulator: Any, record_property: Any) -> None:
    figures = trigger_fleet(jobs_emulator, 200, longest=3.0)
    record_property("figures", json.dumps(figures))
    assert figures["outcomes"] == {"terminal:SUCCEEDED": 200}
    # Every wait holds its long poll open at the same time (before the fix they shared the 64
    # connections of the short calls and queued, noticing the end of their run seconds late).
    assert figures["peak_in_flight"] > _pools.ASYNC_POOL_LIMITS.max_connections, figures
    assert figures["latency_p95"] < 1.5 and figures["latency_max"] < 2.5, figures


def test_an_abort_does_not_queue_behind_the_long_polls_of_other_triggers(
        jobs_emulator: Any, record_property: Any) -> None:
    # More deferred waits than the short-call pool holds, each long poll held open by the server.
    n = _pools.ASYNC_POOL_LIMITS.max_connections + 16
    figures = abort_behind_long_polls(jobs_emulator, n)
    record_property("figures", json.dumps(figures))
    assert figures["abort_seconds"] is not None and figures["abort_seconds"] < 2.0, figures
    assert figures["victim_status"] == "ABORTED" and figures["abort_requests"] == 1


def test_an_abort_waits_for_a_free_connection_no_longer_than_its_deadline(
        jobs_emulator: Any, caplog: Any, record_property: Any) -> None:
    """Every short-call connection is held by a slow answer: the abort gives up at its deadline
    (``PoolTimeout``, logged), it does not queue until a slot frees up."""
    jobs_emulator.seed_actor("load~held", run=Timeline(ready_secs=0, running_secs=FOREVER))
    limit = _pools.ASYNC_POOL_LIMITS.max_connections
    held = [jobs_emulator.create_run("load~held", status="RUNNING") for _ in range(limit)]
    victim = jobs_emulator.create_run("load~held", status="RUNNING")
    jobs_emulator.add_fault(route="GET /v2/actor-runs/{runId}", kind="delay", delay=3.0, times=None)

    async def scenario() -> tuple[float, Any]:
        hogs = [asyncio.ensure_future(ApifyHook().aget_run(r)) for r in held]
        while len(jobs_emulator.requests("GET", "/v2/actor-runs/{runId}")) < limit:
            await asyncio.sleep(0.02)
        started = time.monotonic()
        job = await aabort_quietly(APIFY_RUN, "apify_default", victim, deadline=2.0)
        took = time.monotonic() - started
        await asyncio.gather(*hogs)
        await _http.aclose_shared_clients()
        return took, job

    took, job = asyncio.run(scenario())
    record_property("seconds", round(took, 3))
    assert job is None and took < 2.5, f"the abort took {took:.2f} s (deadline 2 s)"
    assert "PoolTimeout" in caplog.text and f"Could not abort Apify run {victim}" in caplog.text
    assert not [e for e in jobs_emulator.requests(route="POST /v2/actor-runs/{runId}/abort")]


def test_waits_beyond_the_long_poll_lane_poll_plainly_instead_of_queueing(
        jobs_emulator: Any, monkeypatch: Any, record_property: Any) -> None:
    """More deferred waits than held-open connections: the ones that find the lane full fall back
    to plain reads every ``OVERFLOW_WAIT`` seconds and see their job end within seconds, rather
    than queueing until another trigger's 60 s long poll returns."""
    from airflow_provider_jobs.triggers.apify import ApifyRunTrigger

    lane = 4
    monkeypatch.setattr(_pools.SHARED_POOLS, "held_open_limits", _pools.httpx.Limits(max_connections=lane))
    monkeypatch.setattr(_http, "OVERFLOW_WAIT", 0.3)
    jobs_emulator.seed_actor("load~lane", run=Timeline(ready_secs=0, running_secs=FOREVER))
    hogs = [jobs_emulator.create_run("load~lane", status="RUNNING") for _ in range(lane)]
    late = [jobs_emulator.create_run("load~lane", status="RUNNING") for _ in range(3)]
    jobs_emulator.clear_journal()

    async def scenario() -> float:
        def wait(run_id: str) -> Any:
            return asyncio.ensure_future(ApifyRunTrigger(
                job_id=run_id, conn_id="apify_default", end_time=time.time() + 120).run().__anext__())

        hog_tasks = [wait(r) for r in hogs]
        while len(jobs_emulator.requests("GET", "/v2/actor-runs/{runId}")) < lane:
            await asyncio.sleep(0.02)  # every held-open connection now carries a 60 s long poll
        late_tasks = [wait(r) for r in late]
        await asyncio.sleep(0.5)
        ended = time.monotonic()
        for run_id in late:
            jobs_emulator.abort_run(run_id)
        events = await asyncio.wait_for(asyncio.gather(*late_tasks), 10)
        took = time.monotonic() - ended
        assert {e.payload["status"] for e in events} == {"ABORTED"}
        for run_id in hogs:
            jobs_emulator.abort_run(run_id)
        await asyncio.gather(*hog_tasks)
        await _http.aclose_shared_clients()
        return took

    took = asyncio.run(scenario())
    record_property("seconds", round(took, 3))
    assert took < 2.0, f"the waits beyond the lane noticed their jobs' end {took:.2f} s late"
    plain = [e for e in jobs_emulator.requests("GET", "/v2/actor-runs/{runId}")
             if e.path.rsplit("/", 1)[-1] in late and "waitForFinish" not in e.query]
    assert plain, "the waits beyond the lane never fell back to plain reads"
    # bounded: about one plain read per OVERFLOW_WAIT per wait, not a busy loop
    assert len(plain) <= 3 * (1 + (0.5 + took) / 0.3) + 3, len(plain)


def test_pools_of_finished_event_loops_are_let_go(jobs_emulator: Any) -> None:
    """dag.test() runs each deferral in its own asyncio.run(): the shared clients of a loop that
    has closed must not stay cached (their connections kept every old loop and socket alive)."""
    import gc

    hook = ApifyHook()
    for _ in range(20):  # no aclose_shared_clients(): as a trigger's loop simply ends
        asyncio.run(hook.aget_user())
    gc.collect()
    assert _pools.SHARED_POOLS.loops() <= 1, _pools.SHARED_POOLS.loops()
    assert _pools.SHARED_POOLS.gates() <= 2, _pools.SHARED_POOLS.gates()

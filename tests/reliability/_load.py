"""Load scenarios: many concurrent aborts under 429s, many deferred waits in one event loop.

Shared by ``test_load.py`` (200 of each, in-process emulator) and ``load.py`` (1,000 aborts and
500 triggers against an emulator in its own process). Every scenario returns a dict of figures.

* ``abort_storm``: ``n`` runs aborted at once through ``ApifyHook.aabort_run`` (one hook per abort,
  as one per trigger), while the emulator answers 429 to the first ``n_429`` abort requests.
  Figures: delivered aborts, requests, peak requests in flight at the emulator (from the journal's
  arrival times and durations), peak connections in the client's pool and requests queued inside
  it (they wait in the core's FIFO gate instead), memory.
* ``trigger_fleet``: ``n`` ``ApifyRunTrigger.run()`` coroutines gathered in one loop, for runs that
  end at spread-out times. Figures: event latency after each run's end (p50/p95/max), split into
  the emulator's lag (its long poll answers after the run ended) and the client's.
* ``abort_behind_long_polls``: ``n`` triggers hold long polls open on endless runs, then one more
  trigger is killed: its abort must not queue behind them.
"""

from __future__ import annotations

import asyncio
import gc
import os
import time
import tracemalloc
from datetime import datetime
from typing import Any

import httpx

from airflow_provider_jobs import _http, _pools
from airflow_provider_jobs._retry import RetryPolicy
from airflow_provider_jobs.emulator.timelines import Timeline
from airflow_provider_jobs.hooks.apify import ApifyHook
from airflow_provider_jobs.triggers.apify import ApifyRunTrigger

FOREVER = 10_000_000.0
STORM_POLICY = RetryPolicy(max_retries=8, base_delay=0.05, max_delay=1.0, max_elapsed=120.0)
ABORT_ROUTE = "POST /v2/actor-runs/{runId}/abort"


def _rss_mb() -> float:
    try:
        import psutil

        return float(psutil.Process(os.getpid()).memory_info().rss) / 2**20
    except Exception:  # pragma: no cover - psutil missing
        return float("nan")


def peak_in_flight(entries: list[Any]) -> int:
    """Most requests the emulator was handling at the same moment (journal arrival + duration)."""
    edges: list[tuple[float, int]] = []
    for e in entries:
        edges.append((e.monotonic, 1))
        edges.append((e.monotonic + (e.duration or 0.0), -1))
    peak = current = 0
    for _, step in sorted(edges, key=lambda edge: (edge[0], edge[1])):
        current += step
        peak = max(peak, current)
    return peak


def _pool_state() -> tuple[int, int]:
    """(connections, requests queued) of the running loop's shared pools (httpcore internals)."""
    loop = asyncio.get_running_loop()
    connections = queued = 0
    for client in _pools.SHARED_POOLS.clients(loop):
        pool = getattr(client._transport, "_pool", None)
        connections += len(getattr(pool, "connections", []) or [])
        queued += sum(1 for r in getattr(pool, "_requests", []) if r.is_queued())
    return connections, queued


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def _sample_pool(stop: asyncio.Event, samples: list[tuple[int, int]]) -> None:
    while not stop.is_set():
        samples.append(_pool_state())
        await asyncio.sleep(0.01)


def abort_storm(emu: Any, n: int, n_429: int, *, conn_id: str = "apify_default", batches: int = 2,
                trace_memory: bool = False, server_delay: float = 0.05) -> dict[str, Any]:
    """Abort ``n`` runs at once, ``batches`` times; the first ``n_429`` aborts of each batch get a 429.

    Every abort request is held ``server_delay`` seconds by the emulator, so that requests overlap
    and the peak in flight shows the client's concurrency bound. ``trace_memory`` turns tracemalloc
    on (meaningful when the emulator runs in another process).
    """
    emu.seed_actor("load~storm", run=Timeline(ready_secs=0, running_secs=FOREVER))
    figures: dict[str, Any] = {"n": n, "n_429": n_429, "batches": batches, "server_delay": server_delay,
                               "batch": []}
    if trace_memory:
        tracemalloc.start()
    for _batch in range(batches):
        run_ids = [emu.create_run("load~storm", status="RUNNING") for _ in range(n)]
        emu.clear_journal()
        emu.add_fault(route=ABORT_ROUTE, status=429, retry_after=0.2, times=n_429, delay=server_delay)
        emu.add_fault(route=ABORT_ROUTE, kind="delay", delay=server_delay, times=None)
        clients_before, hooks_before = _live(httpx.AsyncClient), _live(ApifyHook)
        if trace_memory:
            tracemalloc.reset_peak()
        traced_before = tracemalloc.get_traced_memory()[0] if trace_memory else 0
        rss_before = _rss_mb()

        async def storm(ids: list[str] = run_ids) -> tuple[list[Any], list[tuple[int, int]], float]:
            samples: list[tuple[int, int]] = []
            stop = asyncio.Event()
            sampler = asyncio.ensure_future(_sample_pool(stop, samples))
            started = time.monotonic()
            results = await asyncio.gather(
                *(ApifyHook(conn_id, retry_policy=STORM_POLICY).aabort_run(r) for r in ids), return_exceptions=True)
            took = time.monotonic() - started
            stop.set()
            await sampler
            await _http.aclose_shared_clients()
            return results, samples, took

        results, samples, took = asyncio.run(storm())
        gc.collect()
        traced_after, traced_peak = tracemalloc.get_traced_memory() if trace_memory else (0, 0)
        emu.clear_faults()
        entries = emu.requests(route=ABORT_ROUTE)
        errors = [r for r in results if isinstance(r, BaseException)]
        statuses = [emu.get_run(r)["status"] for r in run_ids]
        figures["batch"].append({
            "seconds": round(took, 2),
            "delivered": sum(s == "ABORTED" for s in statuses),
            "errors": len(errors),
            "first_error": repr(errors[0])[:300] if errors else None,
            "requests": len(entries),
            "answered_429": sum(e.status == 429 for e in entries),
            "peak_in_flight": peak_in_flight(entries),
            "peak_pool_connections": max((c for c, _ in samples), default=0),
            "peak_queued_in_pool": max((q for _, q in samples), default=0),
            "traced_peak_mb": round((traced_peak - traced_before) / 2**20, 2) if trace_memory else None,
            "traced_retained_mb": round((traced_after - traced_before) / 2**20, 2) if trace_memory else None,
            "rss_growth_mb": round(_rss_mb() - rss_before, 1),
            "live_clients_after": _live(httpx.AsyncClient) - clients_before,  # kept alive by the storm
            "live_hooks_after": _live(ApifyHook) - hooks_before,
        })
        emu.clear_journal()
    if trace_memory:
        tracemalloc.stop()
    figures["pool_limit"] = _pools.ASYNC_POOL_LIMITS.max_connections
    return figures


def _live(cls: type) -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects() if isinstance(obj, cls))


def trigger_fleet(emu: Any, n: int, *, longest: float = 3.0, conn_id: str = "apify_default") -> dict[str, Any]:
    """Run ``n`` triggers in one loop for runs ending between 0.2 and ``longest`` real seconds."""
    scale = emu.time_scale
    actors = 20
    for i in range(actors):
        real = 0.2 + (longest - 0.2) * i / (actors - 1)
        emu.seed_actor(f"load~fleet{i}", run=Timeline(ready_secs=0, running_secs=real / scale))
    run_ids = [emu.create_run(f"load~fleet{i % actors}", status="RUNNING") for i in range(n)]
    emu.clear_journal()

    async def fleet() -> tuple[list[tuple[float, dict[str, Any]]], float]:
        async def one(run_id: str) -> tuple[float, dict[str, Any]]:
            trigger = ApifyRunTrigger(job_id=run_id, conn_id=conn_id, end_time=time.time() + 120, poll_interval=0.1)
            async for event in trigger.run():
                return time.time(), event.payload
            raise AssertionError("the trigger yielded nothing")

        started = time.time()
        events = await asyncio.gather(*(one(r) for r in run_ids))
        await _http.aclose_shared_clients()
        return events, started

    events, started = asyncio.run(fleet())
    entries = emu.journal
    answered: dict[str, float] = {}  # run id -> wall time the emulator finished its last answer
    for e in entries:
        answered[e.path.rsplit("/", 1)[-1]] = _wall(e.wall_time) + (e.duration or 0.0)
    latencies: list[float] = []
    server_lag: list[float] = []
    outcomes: dict[str, int] = {}
    for (when, payload), run_id in zip(events, run_ids, strict=True):
        key = f"{payload['outcome']}:{payload.get('status')}"
        outcomes[key] = outcomes.get(key, 0) + 1
        finished = emu.get_run(run_id)["finishedAt"]
        if finished:
            end = _wall(finished)
            latencies.append(when - end)
            if run_id in answered:
                server_lag.append(answered[run_id] - end)
    return {
        "n": n, "longest_job_s": longest, "outcomes": outcomes,
        "seconds": round(max(w for w, _ in events) - started, 2),
        "latency_p50": round(_percentile(latencies, 0.5), 3), "latency_p95": round(_percentile(latencies, 0.95), 3),
        "latency_max": round(max(latencies), 3) if latencies else None,
        "emulator_answer_lag_p95": round(_percentile(server_lag, 0.95), 3),
        "client_lag_max": round(max((a - b for a, b in zip(latencies, server_lag, strict=False)), default=0.0), 3),
        "requests": len(entries), "peak_in_flight": peak_in_flight(entries),
    }


def _wall(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def abort_behind_long_polls(emu: Any, n: int, *, conn_id: str = "apify_default", limit: float = 5.0) -> dict[str, Any]:
    """``n`` triggers long-poll endless runs; then another trigger's ``on_kill`` must abort at once."""
    emu.seed_actor("load~endless", run=Timeline(ready_secs=0, running_secs=FOREVER))
    watched = [emu.create_run("load~endless", status="RUNNING") for _ in range(n)]
    victim = emu.create_run("load~endless", status="RUNNING")
    emu.clear_journal()

    async def scenario() -> float | None:
        tasks = [asyncio.ensure_future(ApifyRunTrigger(job_id=r, conn_id=conn_id, end_time=time.time() + 600)
                                       .run().__anext__()) for r in watched]
        deadline = time.monotonic() + 10
        while len(emu.requests("GET", "/v2/actor-runs/{runId}")) < min(n, 64) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)  # every trigger is now long-polling or queued for a connection
        killed = time.monotonic()
        victim_trigger = ApifyRunTrigger(job_id=victim, conn_id=conn_id, end_time=time.time() + 600)
        try:
            await asyncio.wait_for(victim_trigger.on_kill(), limit)
            took: float | None = time.monotonic() - killed
        except asyncio.TimeoutError:
            took = None
        for run_id in watched:  # end the long polls from the server side, then the coroutines
            emu.abort_run(run_id)
        await asyncio.gather(*tasks, return_exceptions=True)
        await _http.aclose_shared_clients()
        return took

    took = asyncio.run(scenario())
    aborts = [e for e in emu.requests(route=ABORT_ROUTE) if victim in e.path]
    return {"n": n, "abort_seconds": None if took is None else round(took, 3),
            "victim_status": emu.get_run(victim)["status"], "abort_requests": len(aborts),
            "long_polls_open": n}

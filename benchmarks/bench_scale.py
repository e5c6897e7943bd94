"""Scale: 1,000 concurrent aborts, and 1,000 deferred waits in one event loop.

1. **1,000 concurrent aborts** with ``ApifyHook.aabort_run`` (``asyncio.gather``) against the
   emulator: wall time, the longest the event loop was blocked, peak connections to the emulator
   (sampled from a thread) and the number of connection pools. Baselines in the same run, on
   fresh runs each: raw ``httpx.AsyncClient`` (default limits) doing the same POSTs
   concurrently, and a plain loop of sync ``abort_run`` calls. The loopback emulator answers in
   ~0.3 ms, so this is CPU-bound; a second round adds 50 ms to every abort (emulator ``delay``
   fault, like a real network round trip), where concurrency is what counts (the sync loop is
   timed on 50 aborts and scaled).
2. **1,000 deferred waits**: ``ApifyRunTrigger.run()`` x 1,000 in one event loop (a triggerer) on
   running jobs, in a fresh process (clean RSS): RSS added (``VmRSS``), sockets held
   (``/proc/self/fd``), connections to the emulator (``/proc/net/tcp``), ``httpx.AsyncClient``
   pools, and the longest event-loop stall (a 10 ms ticker). The jobs end 8 s after they start,
   so the same run also gives detection latency at this scale. Baseline: a trigger with its own
   ``httpx.AsyncClient`` (no shared pool), 100 measured and scaled x10 (each client builds its own
   TLS context, ~25 ms, even for ``http://``).

Goals: 1,000 aborts < 3 s; 1,000 waits add < 100 MB; one pool (per service and kind of call).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    PYTHON,
    EmulatorProcess,
    airflow_env,
    die_with_parent,
    iso_to_monotonic,
    open_sockets,
    print_rows,
    proc_cpu_seconds,
    quiet_logging,
    rss_mb,
    summary,
    tcp_connections_to,
    wall_minus_monotonic,
    write_result,
)

airflow_env()
quiet_logging()

N = int(os.environ.get("BENCH_SCALE_N", "1000"))
NAIVE_N = 100
SLOW_SYNC_SAMPLE = 30
NETWORK_DELAY = 0.05
WHAT_IF_KEEPALIVE = 8
WAIT_CAP_S = 40.0
JOB_SECONDS = 8.0
"""The waited-on jobs end this long after they are created (detection at scale)."""
NAN = float("nan")
GOAL_ABORTS_S = 3.0
GOAL_RSS_MB = 100.0
ABORT_ROUTE = "/v2/actor-runs/{runId}/abort"


class Sampler:
    """Peak sockets this process holds above the count at start, sampled every 10 ms from a thread.

    ``/proc/self/fd`` costs ~15 us to read; ``/proc/net/tcp`` grows with every TIME_WAIT socket
    of the benchmarks and costs milliseconds, which would steal the event loop's CPU.
    """

    def __init__(self, port: int) -> None:
        self.port, self.peak, self._stop = port, 0, threading.Event()
        self._base = open_sockets()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, open_sockets() - self._base)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()


class LoopLag:
    """The longest gap between 10 ms ticks of the running event loop (how long it was blocked)."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            self.worst = max(self.worst, now - last - 0.01)
            last = now

    def start(self) -> LoopLag:
        self._task = asyncio.ensure_future(self._tick())
        return self

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()


def aborts(emu: EmulatorProcess, n: int, sync_n: int) -> dict[str, Any]:
    """Ours (aabort_run, gather) vs raw httpx.AsyncClient (gather) vs a sync loop, on fresh runs each.

    Ours runs twice: on a fresh pool (one connection open, as in a task that aborts a batch) and on
    a warm one (64 concurrent reads first, leaving idle keep-alive connections, as in a triggerer
    that has been busy).
    """
    import httpx

    from airflow_provider_jobs._http import aclose_shared_clients
    from airflow_provider_jobs._pools import SHARED_POOLS
    from airflow_provider_jobs.hooks.apify import ApifyHook

    port = int(emu.base_url.rsplit(":", 1)[1])

    def make(count: int) -> list[str]:
        return [emu.client.create_run("bench~forever", status="RUNNING") for _ in range(count)]

    async def ours(ids: list[str], warm: bool = False) -> dict[str, Any]:
        hook = ApifyHook()
        if warm:  # as in a triggerer that has been busy: idle keep-alive connections in the pool
            await asyncio.gather(*(hook.aget_user() for _ in range(64)))
        else:  # connection settings loaded, one connection open
            await hook.aget_user()
        lag = LoopLag().start()
        with Sampler(port) as sampler:
            t0 = time.perf_counter()
            runs = await asyncio.gather(*(hook.aabort_run(run_id) for run_id in ids))
            took = time.perf_counter() - t0
        lag.stop()
        pools = len(SHARED_POOLS.clients(asyncio.get_running_loop()))
        await aclose_shared_clients()
        return {"seconds": took, "calls": len(ids), "aborted": sum(r.status == "ABORTED" for r in runs),
                "peak_connections": sampler.peak, "pools": pools, "loop_blocked_s": lag.worst}

    async def raw(ids: list[str]) -> dict[str, Any]:
        lag = LoopLag().start()
        async with httpx.AsyncClient(base_url=emu.base_url, timeout=60,
                                     headers={"Authorization": f"Bearer {emu.client.apify_token}"}) as client:
            await client.get("/v2/users/me")
            with Sampler(port) as sampler:
                t0 = time.perf_counter()
                responses = await asyncio.gather(*(client.post(f"/v2/actor-runs/{r}/abort") for r in ids))
                took = time.perf_counter() - t0
        lag.stop()
        return {"seconds": took, "calls": len(ids),
                "aborted": sum(r.json()["data"]["status"] == "ABORTED" for r in responses),
                "peak_connections": sampler.peak, "pools": 1, "loop_blocked_s": lag.worst}

    def sync_loop(ids: list[str]) -> dict[str, Any]:
        hook = ApifyHook()
        hook.get_user()
        t0 = time.perf_counter()
        runs = [hook.abort_run(run_id) for run_id in ids]
        took = time.perf_counter() - t0
        hook.close()
        return {"seconds": took * n / len(ids), "measured_seconds": took, "calls": len(ids),
                "aborted": sum(r.status == "ABORTED" for r in runs), "peak_connections": 1, "pools": 1,
                "loop_blocked_s": None}

    out = {"ours: aabort_run (gather)": asyncio.run(ours(make(n)))}
    out["ours, pool warm (idle keep-alive connections)"] = asyncio.run(ours(make(n), warm=True))
    limits = SHARED_POOLS.short_limits
    if (limits.max_keepalive_connections or 0) > WHAT_IF_KEEPALIVE:
        # what-if (patched in this process only): fewer idle keep-alive connections in the short-call pool
        SHARED_POOLS.short_limits = httpx.Limits(max_connections=limits.max_connections,
                                                 max_keepalive_connections=WHAT_IF_KEEPALIVE)
        try:
            out[f"what-if: pool warm, keep-alive {WHAT_IF_KEEPALIVE} instead of {limits.max_keepalive_connections}"] = \
                asyncio.run(ours(make(n), warm=True))
        finally:
            SHARED_POOLS.short_limits = limits
    out["raw httpx.AsyncClient (gather)"] = asyncio.run(raw(make(n)))
    out["sync abort_run loop"] = sync_loop(make(sync_n))
    return out


# ------------------------------------------------------------------------------ waits (child)
async def _waits(kind: str, n: int, port: int) -> dict[str, Any]:
    """In a fresh process: n waits of ``kind`` (``ours`` or ``naive``) in one event loop; measure them.

    The jobs end ``JOB_SECONDS`` after they are created. Once the requests in flight stop growing,
    RSS, sockets, connections and pools are read; ``ours`` then runs on until every trigger has
    yielded (or ``WAIT_CAP_S``) and reports when each did, for detection latency at this scale.
    """
    import httpx

    from airflow_provider_jobs._pools import SHARED_POOLS
    from airflow_provider_jobs.emulator.client import EmulatorClient
    from airflow_provider_jobs.hooks.apify import ApifyHook
    from airflow_provider_jobs.triggers.apify import ApifyRunTrigger

    base_url = f"http://127.0.0.1:{port}"
    control = EmulatorClient(base_url)
    token = control.apify_token
    await ApifyHook().aget_user()  # imports done, connection loaded: measure the waits only
    await asyncio.sleep(0.2)
    rss0, sockets0 = rss_mb(), open_sockets()
    run_ids = [control.create_run("bench~ends", status="RUNNING") for _ in range(n)]
    done: dict[str, float] = {}

    async def ours(run_id: str) -> None:
        trigger = ApifyRunTrigger(job_id=run_id, conn_id="apify_default", end_time=time.time() + 3600)
        async for _ in trigger.run():
            done[run_id] = time.monotonic()

    async def naive(run_id: str) -> None:  # a trigger with its own client, long-polling
        async with httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {token}"},
                                     timeout=90) as client:
            while True:
                response = await client.get(f"/v2/actor-runs/{run_id}", params={"waitForFinish": "60"})
                if response.json()["data"]["status"] in ("SUCCEEDED", "FAILED", "TIMED-OUT", "ABORTED"):
                    done[run_id] = time.monotonic()
                    return

    lag = LoopLag().start()
    t0 = time.perf_counter()
    tasks = [asyncio.ensure_future((naive if kind == "naive" else ours)(r)) for r in run_ids]
    seen, plateau = -1, None
    while time.perf_counter() - t0 < WAIT_CAP_S and not done:
        await asyncio.sleep(0.25)
        now = tcp_connections_to(port)
        if now == seen:
            plateau = time.perf_counter() - t0
            break
        seen = now
    figures = {
        "kind": kind,
        "waits": n,
        "in_flight_plateau_after_s": plateau,
        "rss_added_mb": rss_mb() - rss0,
        "sockets_added": open_sockets() - sockets0,
        "connections_to_emulator": tcp_connections_to(port),
        "pools": len(SHARED_POOLS.clients(asyncio.get_running_loop())) if kind != "naive" else n,
        "loop_blocked_until_plateau_s": lag.worst,
        "alive_at_plateau": sum(not t.done() for t in tasks),
        "long_poll_cap": SHARED_POOLS.held_open_limits.max_connections,
    }
    if kind != "naive":
        while len(done) < n and time.perf_counter() - t0 < WAIT_CAP_S:
            await asyncio.sleep(0.1)
    figures["loop_blocked_max_s"] = lag.worst
    figures["done"] = done
    lag.stop()
    return figures


def waits(kind: str, n: int) -> dict[str, Any]:
    """Run :func:`_waits` in a fresh process against a fresh emulator; add what the emulator saw."""
    from airflow_provider_jobs.emulator.timelines import Timeline

    with EmulatorProcess(time_scale=1.0) as emu:  # a fresh emulator: its held long polls end with it
        emu.client.seed_actor("bench~ends", run=Timeline(ready_secs=0, running_secs=JOB_SECONDS))
        port = int(emu.base_url.rsplit(":", 1)[1])
        cpu0, t0 = proc_cpu_seconds(emu.pid), time.monotonic()
        out = subprocess.run([PYTHON, __file__, "--waits", kind, str(n), str(port)], env={**os.environ, **emu.env},
                             capture_output=True, text=True, timeout=300, preexec_fn=die_with_parent())
        if out.returncode != 0:
            raise RuntimeError(out.stderr[-3000:])
        figures = dict(json.loads(out.stdout.strip().splitlines()[-1]))
        figures["emulator_cpu_share"] = (proc_cpu_seconds(emu.pid) - cpu0) / (time.monotonic() - t0)
        figures["long_polls_received"] = len(emu.client.requests("GET", path_regex=r"^/v2/actor-runs/[^/]+$"))
        done: dict[str, float] = figures.pop("done")
        if kind != "naive":
            offset = wall_minus_monotonic()
            ended = {r["id"]: iso_to_monotonic(r["finishedAt"], offset)
                     for r in emu.client.runs_of("bench~ends") if r.get("finishedAt")}
            figures["detection"] = summary(at - ended[run_id] for run_id, at in done.items() if run_id in ended)
            figures["not_detected"] = n - len(done)
    return figures


def main() -> dict[str, Any]:
    """Run both parts, print and save the figures."""
    from airflow_provider_jobs.emulator.faults import Fault
    from airflow_provider_jobs.emulator.timelines import Timeline

    with EmulatorProcess(time_scale=1.0) as emu:
        emu.use_connections()
        emu.client.seed_actor("bench~forever", run=Timeline(ready_secs=0, running_secs=3600))
        loopback = aborts(emu, N, N)
        emu.client.add_fault(Fault(method="POST", path_regex=r"^/v2/actor-runs/[^/]+/abort$", kind="delay",
                                   delay=NETWORK_DELAY, times=None))
        delayed = aborts(emu, N, SLOW_SYNC_SAMPLE)
    ours = waits("ours", N)
    naive = waits("naive", NAIVE_N)
    scale = N / NAIVE_N
    naive_scaled = {"rss_added_mb": naive["rss_added_mb"] * scale, "sockets_added": naive["sockets_added"] * scale,
                    "connections_to_emulator": naive["connections_to_emulator"] * scale, "pools": N}
    result = {"n": N, "goal_aborts_s": GOAL_ABORTS_S, "goal_rss_mb": GOAL_RSS_MB, "network_delay_s": NETWORK_DELAY,
              "job_seconds": JOB_SECONDS, "aborts_loopback": loopback, "aborts_with_delay": delayed,
              "waits_ours": ours, "waits_naive_measured": naive, "waits_naive_scaled_to_n": naive_scaled}
    for title, figures in ((f"{N} concurrent aborts, loopback", loopback),
                           (f"{N} concurrent aborts, +{NETWORK_DELAY * 1000:.0f} ms per abort", delayed)):
        ref = figures["ours: aabort_run (gather)"]["seconds"]
        rows: list[list[Any]] = [["variant", "wall", "vs ours", "aborted/calls", "peak conns", "pools",
                                  "loop blocked"]]
        for name, f in figures.items():
            blocked = f["loop_blocked_s"]
            rows.append([name + (" (scaled)" if f["calls"] < N else ""), f"{f['seconds']:.2f} s",
                         f"{f['seconds'] / ref:.2f}x", f"{f['aborted']}/{f['calls']}", f["peak_connections"],
                         f["pools"], "" if blocked is None else f"{blocked * 1000:.0f} ms"])
        print_rows(f"{title} (goal < {GOAL_ABORTS_S:.0f} s)", rows)
    rows = [["deferred waits", "RSS added", "sockets", "conns", "pools", "long polls at emulator",
             "loop blocked max", "emulator CPU"]]
    for label, w in ((f"ours: {N} ApifyRunTrigger.run()", ours),
                     (f"naive: {NAIVE_N} triggers, own client each", naive)):
        rows.append([label, f"{w['rss_added_mb']:.1f} MB", w["sockets_added"], w["connections_to_emulator"],
                     w["pools"], w["long_polls_received"], f"{w['loop_blocked_max_s'] * 1000:.0f} ms",
                     f"{w['emulator_cpu_share'] * 100:.0f}%"])
    rows.append([f"naive scaled to {N}", f"{naive_scaled['rss_added_mb']:.0f} MB",
                 f"{naive_scaled['sockets_added']:.0f}", f"{naive_scaled['connections_to_emulator']:.0f}", N,
                 "", "", ""])
    print_rows(f"{N} deferred waits in one event loop (goal: < {GOAL_RSS_MB:.0f} MB added, one pool)", rows)
    det = ours.get("detection", {})
    print(f"  detection at this scale (jobs end {JOB_SECONDS:.0f} s after creation): p50 {det.get('p50', NAN):.2f} s, "
          f"p99 {det.get('p99', NAN):.2f} s, max {det.get('max', NAN):.2f} s; not detected: {ours.get('not_detected')}")
    write_result("scale", result)
    return result


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--waits":
        figures = asyncio.run(_waits(sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
        print(json.dumps(figures), flush=True)
        os._exit(0)  # the child is disposable: skip tearing down 1,000 waits
    else:
        main()

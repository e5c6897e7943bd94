"""Per-call cost: ``ApifyHook.get_run`` / ``abort_run`` against raw httpx and apify-client-python.

Two settings:

1. **Against the emulator** (its own process, loopback): ours (``ApifyHook``), raw httpx (one
   reused ``httpx.Client`` / ``AsyncClient``: send, check the status, parse JSON) and
   apify-client (``ApifyClient(token, api_url=...)``: ``.run(id).get()`` / ``.abort()``), sync and
   async, interleaved in rounds so that drift hits every variant alike. Reported: wall time per
   call (calls/s), the client process's CPU per call (``time.process_time``, user + system) and
   the emulator's CPU per call (``/proc/<pid>/stat``). Wall time here includes the server and the
   loopback/VM scheduling cost, which are the same request for every client.
2. **MockTransport** (server cost zero): ours vs raw httpx on ``httpx.MockTransport`` returning a
   canned run body (the emulator's own rendering of a run). This isolates what the provider
   adds on top of httpx: ids checked, the call described, retries judged, JSON parsed and
   validated into an ``ApifyRun``. apify-client cannot take an httpx transport (it uses impit), so
   it is absent here. A breakdown times the pieces of our overhead alone.

Goals: ours <= 1.3x raw httpx per call; ours <= 1.0x apify-client per call.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    EmulatorProcess,
    airflow_env,
    print_rows,
    proc_cpu_seconds,
    quiet_logging,
    write_result,
)

airflow_env()
quiet_logging()

CALLS = int(os.environ.get("BENCH_CALLS", "1000"))
"""Calls per variant against the emulator (done in 5 interleaved rounds)."""
MOCK_CALLS = int(os.environ.get("BENCH_MOCK_CALLS", "4000"))
ROUNDS = 5
"""Interleaved rounds against the emulator; the per-call figure is the best round (this VM is noisy)."""
MOCK_ROUNDS = 10
"""Interleaved rounds on MockTransport (short, so more of them: the best round is the figure)."""
GOAL_VS_HTTPX = 1.3
GOAL_VS_APIFY_CLIENT = 1.0


def _check(response: Any) -> Any:
    response.raise_for_status()
    return response.json()


class Variant:
    """One client doing one operation, sync or async, timed in rounds."""

    def __init__(self, name: str, fn: Callable[[], Any] | None = None,
                 afn: Callable[[], Awaitable[Any]] | None = None) -> None:
        self.name, self.fn, self.afn = name, fn, afn
        self.wall = self.cpu = self.server_cpu = 0.0
        self.calls = 0
        self.best = float("inf")

    def run(self, loop: asyncio.AbstractEventLoop, n: int, server_pid: int | None) -> None:
        """Do ``n`` calls and add their wall/CPU time."""
        srv0 = proc_cpu_seconds(server_pid) if server_pid else 0.0
        cpu0, t0 = time.process_time(), time.perf_counter()
        if self.fn is not None:
            fn = self.fn
            for _ in range(n):
                fn()
        else:
            assert self.afn is not None
            afn = self.afn

            async def many() -> None:
                for _ in range(n):
                    await afn()

            loop.run_until_complete(many())
        took = time.perf_counter() - t0
        self.wall += took
        self.best = min(self.best, took / n)
        self.cpu += time.process_time() - cpu0
        if server_pid:
            self.server_cpu += proc_cpu_seconds(server_pid) - srv0
        self.calls += n

    def figures(self) -> dict[str, float]:
        """Per-call figures in microseconds (best round, and mean over all rounds), and calls per second."""
        n = max(1, self.calls)
        return {"calls": self.calls, "wall_us": self.best * 1e6, "mean_wall_us": self.wall / n * 1e6,
                "client_cpu_us": self.cpu / n * 1e6, "server_cpu_us": self.server_cpu / n * 1e6,
                "calls_per_s": 1 / self.best if self.best else 0.0}


def run_variants(variants: list[Variant], loop: asyncio.AbstractEventLoop, calls: int,
                 server_pid: int | None, rounds: int = ROUNDS) -> dict[str, dict[str, float]]:
    """Warm every variant up, then run them in interleaved rounds."""
    for v in variants:
        v.run(loop, 20, None)
        v.wall = v.cpu = v.server_cpu = 0.0
        v.calls = 0
        v.best = float("inf")
    gc.collect()
    per_round = max(1, calls // rounds)
    for _ in range(rounds):
        for v in variants:
            v.run(loop, per_round, server_pid)
    return {v.name: v.figures() for v in variants}


# ------------------------------------------------------------------------------ emulator
def against_emulator(loop: asyncio.AbstractEventLoop) -> dict[str, Any]:
    """Ours vs raw httpx vs apify-client against the emulator, sync and async."""
    import httpx
    from apify_client import ApifyClient, ApifyClientAsync

    from airflow_provider_jobs._http import aclose_shared_clients
    from airflow_provider_jobs.emulator.timelines import Timeline
    from airflow_provider_jobs.hooks.apify import ApifyHook

    with EmulatorProcess(time_scale=1.0) as emu:
        emu.use_connections()
        emu.client.seed_actor("bench~calls", run=Timeline(ready_secs=0, running_secs=10**7))
        run_id = emu.client.create_run("bench~calls", status="RUNNING")
        finished = emu.client.create_run("bench~calls", status="SUCCEEDED")  # abort of a finished run: no-op
        emu.client.abort_run(run_id)
        token = emu.client.apify_token
        auth = {"Authorization": f"Bearer {token}"}
        path, abort_path = f"/v2/actor-runs/{run_id}", f"/v2/actor-runs/{finished}/abort"

        hook = ApifyHook()
        raw = httpx.Client(base_url=emu.base_url, headers=auth)
        araw = httpx.AsyncClient(base_url=emu.base_url, headers=auth)
        apify = ApifyClient(token, api_url=emu.base_url)
        aapify = ApifyClientAsync(token, api_url=emu.base_url)
        variants = [
            Variant("sync get: ours", lambda: hook.get_run(run_id)),
            Variant("sync get: raw httpx", lambda: _check(raw.get(path))),
            Variant("sync get: apify-client", lambda: apify.run(run_id).get()),
            Variant("sync abort: ours", lambda: hook.abort_run(finished)),
            Variant("sync abort: raw httpx", lambda: _check(raw.post(abort_path))),
            Variant("sync abort: apify-client", lambda: apify.run(finished).abort()),
            Variant("async get: ours", afn=lambda: hook.aget_run(run_id)),
            Variant("async get: raw httpx", afn=lambda: _araw(araw.get(path))),
            Variant("async get: apify-client", afn=lambda: aapify.run(run_id).get()),
            Variant("async abort: ours", afn=lambda: hook.aabort_run(finished)),
            Variant("async abort: raw httpx", afn=lambda: _araw(araw.post(abort_path))),
            Variant("async abort: apify-client", afn=lambda: aapify.run(finished).abort()),
        ]
        emu.client.clear_journal()
        figures = run_variants(variants, loop, CALLS, emu.pid)
        journaled = len(emu.client.requests(method="GET")) + len(emu.client.requests(method="POST"))
        sockets = raw_socket_round_trips(emu.base_url, path, token)
        raw.close()
        loop.run_until_complete(araw.aclose())
        loop.run_until_complete(aclose_shared_clients())
        hook.close()
    return {"variants": figures, "journaled_requests": journaled, "raw_socket_round_trip_us": sockets}


def raw_socket_round_trips(base_url: str, path: str, token: str, gaps: tuple[float, ...] = (0.0, 0.001),
                           n: int = 300) -> dict[str, float]:
    """The same GET on a bare keep-alive socket (no HTTP library), with a busy gap between requests.

    Shows this VM's cost of waking an idle vCPU: the longer the client works between requests,
    the longer each round trip to the emulator takes.
    """
    host, port = base_url.rsplit("//", 1)[1].rsplit(":", 1)
    request = (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
               "Accept: application/json\r\n\r\n").encode()
    out: dict[str, float] = {}
    with socket.create_connection((host, int(port))) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def once() -> None:
            sock.sendall(request)
            data = b""
            while b"\r\n\r\n" not in data:
                data += sock.recv(65536)
            head, body = data.split(b"\r\n\r\n", 1)
            length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length"))
            while len(body) < length:
                body += sock.recv(65536)

        once()
        for gap in gaps:
            total = 0.0
            for _ in range(n):
                until = time.perf_counter() + gap
                while time.perf_counter() < until:
                    pass
                t0 = time.perf_counter()
                once()
                total += time.perf_counter() - t0
            out[f"{gap * 1000:.0f} ms busy"] = total / n * 1e6
    return out


async def _araw(coro: Awaitable[Any]) -> Any:
    return _check(await coro)


# ------------------------------------------------------------------------------ mock
def canned_run_body() -> bytes:
    """The emulator's rendering of a running run, as the API wraps it (``{"data": ...}``)."""
    from airflow_provider_jobs.emulator.emulator import Emulator
    from airflow_provider_jobs.emulator.timelines import Timeline

    emu = Emulator()
    emu.seed_actor("bench~calls", run=Timeline(ready_secs=0, running_secs=10**7))
    run_id = emu.create_run("bench~calls", status="RUNNING")
    return json.dumps({"data": emu.get_run(run_id)}).encode()


def with_mock_transport(loop: asyncio.AbstractEventLoop) -> dict[str, Any]:
    """Ours vs raw httpx on MockTransport: the provider's own overhead per call."""
    import httpx
    from pydantic import create_model

    from airflow_provider_jobs._http import aclose_shared_clients
    from airflow_provider_jobs.hooks.apify import ApifyHook
    from airflow_provider_jobs.models.apify import ApifyRun

    body = canned_run_body()
    run_id = json.loads(body)["data"]["id"]
    headers = {"content-type": "application/json"}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers=headers)

    transport = httpx.MockTransport(handler)
    base = "http://127.0.0.1:9"
    os.environ["AIRFLOW_CONN_APIFY_MOCK"] = json.dumps({"conn_type": "apify", "host": base,
                                                         "password": "mock-token-0123456789"})
    hook = ApifyHook("apify_mock", transport=transport, async_transport=transport)
    auth = {"Authorization": "Bearer mock-token-0123456789"}
    raw = httpx.Client(base_url=base, headers=auth, transport=transport)
    araw = httpx.AsyncClient(base_url=base, headers=auth, transport=transport)
    path = f"/v2/actor-runs/{run_id}"
    data = json.loads(body)["data"]

    variants = [
        Variant("sync get: ours", lambda: hook.get_run(run_id)),
        Variant("sync get: raw httpx", lambda: _check(raw.get(path))),
        Variant("sync abort: ours", lambda: hook.abort_run(run_id)),
        Variant("sync abort: raw httpx", lambda: _check(raw.post(path + "/abort"))),
        Variant("async get: ours", afn=lambda: hook.aget_run(run_id)),
        Variant("async get: raw httpx", afn=lambda: _araw(araw.get(path))),
    ]
    figures = run_variants(variants, loop, MOCK_CALLS, None, MOCK_ROUNDS)

    # Where our extra time goes (each piece alone, same canned body), and two what-ifs for the
    # HTTP core (files the benchmark owner does not own; see RESULTS.md).
    core = hook.get_conn()
    op = hook._get_run_op(run_id)
    per_request = {"Authorization": "Bearer mock-token-0123456789", "User-Agent": "x", "Accept": "application/json"}
    timeout = httpx.Timeout(connect=10.0, read=30.0, write=30.0, pool=10.0)
    bare = httpx.Client(base_url=base, transport=transport)
    envelope = create_model("ApifyRunEnvelope", data=(ApifyRun, ...))
    parts = [
        Variant("piece: build the operation (ids checked, Call, parser)", lambda: hook._get_run_op(run_id)),
        Variant("piece: HttpCore.request (send, judge, decode into ApifyRun)", lambda: core.request(op.call)),
        Variant("piece: ApifyRun.model_validate", lambda: ApifyRun.model_validate(data)),
        Variant("piece: raw send + JSON (same request, client headers)", lambda: _check(raw.get(path))),
        Variant("what-if: raw with 3 headers + Timeout per request (HttpCore before the fix)",
                lambda: _check(bare.get(path, headers=per_request, timeout=timeout))),
        Variant("what-if: json.loads + model_validate (before the fix)",
                lambda: ApifyRun.model_validate(json.loads(body)["data"])),
        Variant("what-if: validate_json of the envelope from bytes", lambda: envelope.model_validate_json(body)),
    ]
    pieces = run_variants(parts, loop, MOCK_CALLS, None, MOCK_ROUNDS)
    loop.run_until_complete(araw.aclose())
    loop.run_until_complete(aclose_shared_clients())
    raw.close()
    bare.close()
    return {"variants": figures, "pieces": pieces, "body_bytes": len(body)}


def ratios(figures: dict[str, dict[str, float]], key: str) -> dict[str, dict[str, float]]:
    """ours / raw httpx and ours / apify-client for every operation, on ``key``."""
    out: dict[str, dict[str, float]] = {}
    for name, fig in figures.items():
        if not name.endswith(": ours"):
            continue
        op = name[: -len(": ours")]
        entry = {}
        for other in ("raw httpx", "apify-client"):
            ref = figures.get(f"{op}: {other}")
            if ref and ref[key]:
                entry[other] = fig[key] / ref[key]
        out[op] = entry
    return out


def main() -> dict[str, Any]:
    """Run the per-call benchmark, print and save its figures."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        mock = with_mock_transport(loop)
        emulated = against_emulator(loop)
    finally:
        loop.close()
    result: dict[str, Any] = {
        "calls_per_variant": CALLS,
        "mock_calls_per_variant": MOCK_CALLS,
        "goal_vs_httpx": GOAL_VS_HTTPX,
        "goal_vs_apify_client": GOAL_VS_APIFY_CLIENT,
        "emulator": emulated,
        "emulator_ratios_wall": ratios(emulated["variants"], "wall_us"),
        "emulator_ratios_client_cpu": ratios(emulated["variants"], "client_cpu_us"),
        "mock": mock,
        "mock_ratios": ratios(mock["variants"], "wall_us"),
    }
    rows: list[list[Any]] = [["variant", "wall/call", "calls/s", "client CPU/call", "emulator CPU/call"]]
    for name, f in emulated["variants"].items():
        rows.append([name, f"{f['wall_us']:.0f} us", f"{f['calls_per_s']:.0f}", f"{f['client_cpu_us']:.0f} us",
                     f"{f['server_cpu_us']:.0f} us"])
    print_rows(f"per call against the emulator ({CALLS} calls per variant)", rows)
    print("  bare socket, same GET:", ", ".join(f"{v:.0f} us with {k} between requests"
                                                for k, v in emulated["raw_socket_round_trip_us"].items()))
    rows = [["operation", "ours/httpx wall", "ours/apify-client wall", "ours/httpx CPU", "ours/apify-client CPU"]]
    for op, r in result["emulator_ratios_wall"].items():
        c = result["emulator_ratios_client_cpu"][op]
        rows.append([op, f"{r.get('raw httpx', 0):.2f}x", f"{r.get('apify-client', 0):.2f}x",
                     f"{c.get('raw httpx', 0):.2f}x", f"{c.get('apify-client', 0):.2f}x"])
    print_rows("ratios against the emulator", rows)
    rows = [["variant (MockTransport)", "time/call", "calls/s"]]
    for name, f in {**mock["variants"], **mock["pieces"]}.items():
        rows.append([name, f"{f['wall_us']:.1f} us", f"{f['calls_per_s']:.0f}"])
    print_rows(f"per call on MockTransport, server cost zero ({MOCK_CALLS} calls per variant)", rows)
    print_rows("ratios on MockTransport", [["operation", "ours/httpx"]] + [
        [op, f"{r.get('raw httpx', 0):.2f}x"] for op, r in result["mock_ratios"].items()])
    write_result("calls", result)
    return result


if __name__ == "__main__":
    main()

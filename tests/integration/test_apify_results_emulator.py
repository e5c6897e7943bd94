"""Results and logs against the bundled emulator: dataset pages, records, logs (with a dropped
connection), actor-task starts, capacity refusals; and the same items as apify-client reads."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
from datetime import timedelta
from typing import Any

import pytest

from airflow_provider_jobs._retry import RetryPolicy
from airflow_provider_jobs.emulator.emulator import Emulator
from airflow_provider_jobs.emulator.timelines import Timeline
from airflow_provider_jobs.exceptions import JobsApiError, NotFoundError
from airflow_provider_jobs.hooks.apify import ApifyHook
from airflow_provider_jobs.models import ApifyRun

FAST = RetryPolicy(max_retries=3, base_delay=0.01, max_delay=0.05)
ITEMS_ROUTE = "GET /v2/datasets/{datasetId}/items"
LOG_ROUTE = "GET /v2/logs/{buildOrRunId}"
N = 2345


@pytest.fixture
def emu(jobs_emulator: Emulator) -> Emulator:
    jobs_emulator.seed_actor("res~scraper", run=Timeline(ready_secs=1, running_secs=20, items=N, item_bytes=200,
                                                         output={"ok": True, "pages": 3}, log_lines=40))
    return jobs_emulator


def hook() -> ApifyHook:
    return ApifyHook(retry_policy=FAST)


def finished_run(h: ApifyHook) -> ApifyRun:
    run = h.start_run("res~scraper")
    return h.wait_for_run(run.id, timeout=30)


def test_dataset_items_in_pages_match_what_apify_client_reads(emu: Emulator) -> None:
    from apify_client import ApifyClient

    h = hook()
    run = finished_run(h)
    assert run.default_dataset_id
    ours = list(h.iter_dataset_items(run.default_dataset_id))
    assert len(ours) == N
    pages = emu.requests(route=ITEMS_ROUTE)
    assert [(p.query["offset"], p.query["limit"]) for p in pages] == [("0", "1000"), ("1000", "1000"), ("2000", "1000")]
    client = ApifyClient(emu.apify_token, api_url=emu.base_url, min_delay_between_retries=timedelta(milliseconds=5))
    assert ours == list(client.dataset(run.default_dataset_id).iterate_items())


def test_dataset_options_and_the_async_twin(emu: Emulator) -> None:
    h = hook()
    run = finished_run(h)
    assert run.default_dataset_id
    everything = list(h.iter_dataset_items(run.default_dataset_id))
    fields = sorted(everything[0])[:2]

    async def read(**kwargs: Any) -> list[Any]:
        return [i async for i in hook().aiter_dataset_items(run.default_dataset_id, **kwargs)]

    assert asyncio.run(read(offset=5, limit=1500)) == everything[5:1505]
    assert asyncio.run(read(desc=True, limit=3)) == everything[::-1][:3]
    assert asyncio.run(read(fields=fields, limit=2)) == [{k: i[k] for k in fields} for i in everything[:2]]
    assert all(fields[0] not in i for i in asyncio.run(read(omit=[fields[0]], limit=5)))


def test_a_page_cut_mid_body_is_read_again_without_repeats(emu: Emulator) -> None:
    h = hook()
    run = finished_run(h)
    assert run.default_dataset_id
    expected = list(h.iter_dataset_items(run.default_dataset_id))
    emu.add_fault(route=ITEMS_ROUTE, times=1, kind="reset_mid_body")
    emu.add_fault(route=ITEMS_ROUTE, times=1, kind="status", status=503)
    assert list(h.iter_dataset_items(run.default_dataset_id)) == expected


def test_a_missing_dataset_is_not_found(emu: Emulator) -> None:
    with pytest.raises(NotFoundError):
        list(hook().iter_dataset_items("NoSuchDataset123"))


def test_records(emu: Emulator) -> None:
    h = hook()
    run = finished_run(h)
    assert run.default_key_value_store_id
    assert h.get_record(run.default_key_value_store_id, "OUTPUT") == {"ok": True, "pages": 3}
    assert asyncio.run(hook().aget_record(run.default_key_value_store_id, "OUTPUT")) == {"ok": True, "pages": 3}
    assert h.get_record(run.default_key_value_store_id, "NO-SUCH-KEY") is None
    with pytest.raises(NotFoundError):
        h.get_record("NoSuchStore123", "OUTPUT")


def test_log_and_stream_log_agree(emu: Emulator) -> None:
    h = hook()
    run = finished_run(h)
    text = h.get_log(run.id)
    assert text and text.splitlines() == list(h.stream_log(run.id))
    assert asyncio.run(hook().aget_log(run.id)) == text

    async def lines() -> list[str]:
        return [line async for line in hook().astream_log(run.id)]

    assert asyncio.run(lines()) == text.splitlines()


class CuttingProxy:
    """A TCP proxy to the emulator that closes its first connection after ``cut_after`` response bytes
    (a network drop mid-stream: the chunked body ends early), and forwards every later connection whole."""

    def __init__(self, port: int, cut_after: int) -> None:
        self.port, self.cut_after, self.connections = port, cut_after, 0
        self.server = socket.create_server(("127.0.0.1", 0))
        self.address = "http://127.0.0.1:%d" % self.server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            limit = self.cut_after if self.connections == 1 else None
            threading.Thread(target=self._serve, args=(client, limit), daemon=True).start()

    def _serve(self, client: socket.socket, limit: int | None) -> None:
        upstream = socket.create_connection(("127.0.0.1", self.port))
        threading.Thread(target=self._pipe, args=(client, upstream, None), daemon=True).start()
        self._pipe(upstream, client, limit)

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket, limit: int | None) -> None:
        sent = 0
        try:
            while data := source.recv(65536):
                if limit is not None and sent + len(data) >= limit:
                    sink.sendall(data[: limit - sent])
                    break
                sink.sendall(data)
                sent += len(data)
        except OSError:
            pass
        for end in (source, sink):  # shutdown, not just close: it wakes the other direction's recv
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()

    def close(self) -> None:
        self.server.close()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_log_stream_dropped_mid_body_reconnects_without_repeating_a_line(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    h = hook()
    run = finished_run(h)
    expected = h.get_log(run.id).splitlines()
    assert len(expected) > 20
    proxy = CuttingProxy(int(emu.base_url.rsplit(":", 1)[1]), cut_after=1200)  # headers + part of the log
    try:
        conn = json.loads(emu.connection_env()["AIRFLOW_CONN_APIFY_DEFAULT"])
        monkeypatch.setenv("AIRFLOW_CONN_APIFY_CUT", json.dumps({**conn, "host": proxy.address}))
        cut = ApifyHook("apify_cut", retry_policy=FAST)
        if mode == "sync":
            lines = list(cut.stream_log(run.id))
        else:
            async def collect() -> list[str]:
                return [line async for line in cut.astream_log(run.id)]

            lines = asyncio.run(collect())
    finally:
        proxy.close()
    assert lines == expected
    assert proxy.connections == 2 and len(emu.requests(route=LOG_ROUTE, path=f"/v2/logs/{run.id}")) >= 3


def test_stream_log_follows_a_running_job_to_its_end(emu: Emulator) -> None:
    h = hook()
    run = h.start_run("res~scraper")
    streamed = list(h.stream_log(run.id))
    assert h.get_run(run.id).is_terminal
    assert streamed == h.get_log(run.id).splitlines()


WEBHOOKS = [{"eventTypes": ["ACTOR.RUN.FAILED"], "requestUrl": "https://example.com/hook"}]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_task_run_merges_the_input_and_records_the_options(emu: Emulator, mode: str) -> None:
    task = emu.seed_task("res~scraper", "nightly", task_input={"pages": 3, "lang": "en"}, memory_mbytes=512)
    h = hook()
    args: tuple[Any, ...] = (f"{task['username']}/nightly", {"pages": 5})
    kwargs: dict[str, Any] = {"restart_on_error": True, "webhooks": WEBHOOKS, "timeout_secs": 600}
    run = h.start_task_run(*args, **kwargs) if mode == "sync" else asyncio.run(hook().astart_task_run(*args, **kwargs))
    assert run.actor_task_id == task["id"] and run.options and run.options.timeout_secs == 600
    started = emu.run_start_options(run.id)
    assert started["input"] == {"pages": 5, "lang": "en"} and started["restartOnError"] is True
    assert started["webhooks"] == WEBHOOKS
    assert h.wait_for_run(run.id, timeout=30).is_success


def test_an_actor_run_sends_restart_on_error_and_webhooks(emu: Emulator) -> None:
    run = hook().start_run("res~scraper", restart_on_error=False, webhooks=WEBHOOKS)
    started = emu.run_start_options(run.id)
    assert started["restartOnError"] is False and started["webhooks"] == WEBHOOKS


@pytest.mark.parametrize(("limits", "error_type"), [({"max_concurrent_runs": 1}, "concurrent-runs-limit-exceeded"),
                                                    ({"max_memory_mbytes": 1024}, "actor-memory-limit-exceeded")])
def test_a_capacity_refusal_is_told_apart_and_not_retried(
    emu: Emulator, limits: dict[str, int], error_type: str
) -> None:
    emu.seed_task("res~scraper", "limited", memory_mbytes=1024)
    h = hook()
    first = h.start_run("res~scraper", memory_mbytes=1024)
    emu.set_account_limits(status=400, **limits)
    with pytest.raises(JobsApiError) as err:
        h.start_task_run("~limited")
    assert err.value.is_capacity_refusal and err.value.error_type == error_type
    assert len(emu.requests(route="POST /v2/actor-tasks/{actorTaskId}/runs")) == 1
    h.abort_run(first.id)
    assert h.start_task_run("~limited").actor_task_id  # room again once the other run ended

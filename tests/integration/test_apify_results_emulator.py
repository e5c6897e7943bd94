"""Results and logs against the bundled emulator: dataset pages, records, logs (with a dropped
connection), actor-task starts, capacity refusals; and the same items as apify-client reads."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from airflow_provider_jobs._retry import RetryPolicy
from airflow_provider_jobs.emulator import Emulator, Timeline
from airflow_provider_jobs.exceptions import NotFoundError
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


def test_a_log_stream_cut_mid_body_reconnects_without_repeating_a_line(emu: Emulator) -> None:
    h = hook()
    run = finished_run(h)
    expected = h.get_log(run.id).splitlines()
    emu.clear_journal()
    emu.add_fault(route=LOG_ROUTE, times=1, kind="reset_mid_body")
    assert list(h.stream_log(run.id)) == expected
    assert len(emu.requests(route=LOG_ROUTE)) == 2


def test_stream_log_follows_a_running_job_to_its_end(emu: Emulator) -> None:
    h = hook()
    run = h.start_run("res~scraper")
    streamed = list(h.stream_log(run.id))
    assert h.get_run(run.id).is_terminal
    assert streamed == h.get_log(run.id).splitlines()

"""Fidelity: apify-client's dataset, key-value store, log and task clients work against the emulator."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from apify_client import ApifyClient

from airflow_provider_jobs.emulator.emulator import Emulator
from airflow_provider_jobs.emulator.timelines import Timeline


@pytest.fixture
def client(emu: Emulator, base_url: str) -> ApifyClient:
    emu.seed_actor(
        "demo~items", run=Timeline(ready_secs=1, running_secs=10, items=2500, output={"done": True})
    )
    return ApifyClient(emu.apify_token, api_url=base_url, min_delay_between_retries=timedelta(milliseconds=5))


def test_dataset_list_and_iterate_items(emu: Emulator, client: ApifyClient) -> None:
    run = emu.get_run(emu.create_run("demo~items", status="SUCCEEDED"))
    dataset = client.dataset(run["defaultDatasetId"])
    page = dataset.list_items(offset=10, limit=5, desc=True)
    assert page.total == 2500 and page.offset == 10 and page.count == 5 and page.limit == 5 and page.desc
    assert [item["index"] for item in page.items] == [2489, 2488, 2487, 2486, 2485]
    indexes = [item["index"] for item in dataset.iterate_items(chunk_size=1000)]
    assert indexes == list(range(2500))
    fields = next(iter(dataset.iterate_items(fields=["url"], limit=1)))
    assert fields == {"url": "https://example.com/items/0"}


def test_key_value_store_get_record(emu: Emulator, client: ApifyClient) -> None:
    run = emu.get_run(emu.create_run("demo~items", status="SUCCEEDED", run_input={"q": 1}))
    store = client.key_value_store(run["defaultKeyValueStoreId"])
    record = store.get_record("OUTPUT")
    assert record is not None and record["value"] == {"done": True}
    assert record["content_type"].startswith("application/json")
    emu.put_record(
        run["defaultKeyValueStoreId"], "shot", b"", base64_value="iVBORw==", content_type="image/png"
    )
    image = store.get_record("shot")
    assert image is not None and image["value"] == b"\x89PNG"
    assert store.get_record("missing") is None


def test_log_get_and_stream(emu: Emulator, client: ApifyClient) -> None:
    run_id = emu.create_run("demo~items")
    with client.log(run_id).stream() as response:
        assert response is not None
        streamed = b"".join(response.iter_bytes()).decode()
    assert emu.get_run(run_id)["status"] == "SUCCEEDED"  # the stream ended with the run
    assert streamed == client.log(run_id).get() == emu.log_of(run_id)
    assert client.log("nope").get() is None


def test_task_start_and_call(emu: Emulator, client: ApifyClient) -> None:
    task = emu.seed_task("demo~items", "nightly", task_input={"a": 1, "b": 2})
    started = client.task(task["id"]).start(task_input={"b": 3}, memory_mbytes=256, restart_on_error=True)
    assert started.actor_task_id == task["id"] and started.options.memory_mbytes == 256
    assert emu.run_start_options(started.id)["input"] == {"a": 1, "b": 3}
    done = client.task(f"{task['username']}~nightly").call(task_input={"a": 5})
    assert done is not None and done.status == "SUCCEEDED"
    items = client.dataset(done.default_dataset_id).list_items(limit=1)
    assert items.total == 2500


def test_task_start_waits_for_resources(emu: Emulator, client: ApifyClient) -> None:
    task = emu.seed_task("demo~items", "t")
    blocker = emu.create_run("demo~items", status="RUNNING")
    emu.set_account_limits(max_concurrent_runs=1)
    timer = threading.Timer(0.3, emu.abort_run, args=(blocker,))
    timer.start()
    try:
        run = client.task(task["id"]).start(wait_for_resources=timedelta(seconds=20))
    finally:
        timer.cancel()
    starts = [e.status for e in emu.requests(route="POST /v2/actor-tasks/{actorTaskId}/runs")]
    assert run.id != blocker and starts[0] == 402 and starts[-1] == 201

"""Dataset items, key-value records, logs, actor tasks and account limits of the emulated Apify API.

Every answer is validated against the vendored OpenAPI subset (``tests/fixtures/reference/apify``).
"""

from __future__ import annotations

import base64
import csv
import io
import json
import time
import tracemalloc
from typing import Any

import httpx
import pytest
from _emulator_helpers import wait_until
from _spec import OpenAPIRequest, validate_apify_request
from test_openapi_conformance import _Response, _spec

from airflow_provider_jobs.emulator import UnknownRecordError
from airflow_provider_jobs.emulator.client import EmulatorClient
from airflow_provider_jobs.emulator.emulator import Emulator
from airflow_provider_jobs.emulator.faults import Fault
from airflow_provider_jobs.emulator.timelines import Timeline


@pytest.fixture(scope="module")
def openapi() -> Any:
    return _spec()[0]


class _TextResponse(_Response):
    """A response whose non-JSON body is handed to openapi-core as text (it passes other
    media types on as bytes, which no ``type: string`` schema accepts)."""

    @property
    def data(self) -> Any:
        return self.response.text


def valid(openapi: Any, response: httpx.Response, status: int) -> httpx.Response:
    """Assert the status, validate the request and the response against the spec; return it."""
    assert response.status_code == status, response.text
    if status < 400:
        validate_apify_request(response.request)
    wrapped = _Response(response) if "json" in _Response(response).content_type.replace("jsonl", "") else None
    openapi.validate_response(OpenAPIRequest(response.request), wrapped or _TextResponse(response))
    return response


def _webhooks(value: Any) -> str:
    return base64.b64encode(json.dumps(value).encode()).decode()


@pytest.fixture
def finished(emu: Emulator) -> dict[str, Any]:
    """A SUCCEEDED run of an actor whose runs write 25 items and an OUTPUT record."""
    emu.seed_actor("demo~items", run=Timeline(items=25, output={"pages": 25}))
    return emu.get_run(emu.create_run("demo~items", status="SUCCEEDED", run_input={"url": "https://a"}))


# -- dataset items ------------------------------------------------------------------------------
def test_dataset_pages_carry_the_pagination_headers(
    openapi: Any, apify: httpx.Client, finished: dict
) -> None:
    url = f"/v2/datasets/{finished['defaultDatasetId']}/items"
    page = valid(openapi, apify.get(url, params={"offset": 20, "limit": 10}), 200)
    assert [item["index"] for item in page.json()] == [20, 21, 22, 23, 24]
    assert {k: v for k, v in page.headers.items() if k.startswith("x-apify-pagination-")} == {
        "x-apify-pagination-offset": "20",
        "x-apify-pagination-limit": "10",
        "x-apify-pagination-count": "5",
        "x-apify-pagination-total": "25",
        "x-apify-pagination-desc": "false",
    }
    unlimited = valid(openapi, apify.get(url), 200)
    assert len(unlimited.json()) == 25 and unlimited.headers["x-apify-pagination-limit"] == "999999999999"
    newest = valid(openapi, apify.get(url, params={"desc": 1, "offset": 1, "limit": 2}), 200)
    assert [item["index"] for item in newest.json()] == [23, 22]
    assert newest.headers["x-apify-pagination-desc"] == "true"
    assert valid(openapi, apify.get(url, params={"offset": 100}), 200).json() == []


def test_fields_omit_and_clean_shape_the_items(openapi: Any, emu: Emulator, apify: httpx.Client) -> None:
    items = [{"b": 1, "a": 2, "#debug": "x"}, {}, {"#only": "hidden"}, {"a": 3, "c": [1]}]
    url = f"/v2/datasets/{emu.create_dataset(items)}/items"
    assert valid(openapi, apify.get(url, params={"fields": "a,b"}), 200).json() == [
        {"a": 2, "b": 1},
        {},
        {},
        {"a": 3},
    ]
    assert list(apify.get(url, params={"fields": "a,b"}).json()[0]) == ["a", "b"]  # the order of `fields`
    assert apify.get(url, params={"omit": "a,#debug"}).json()[0] == {"b": 1}
    clean = valid(openapi, apify.get(url, params={"clean": "true"}), 200)
    assert clean.json() == [{"b": 1, "a": 2}, {"a": 3, "c": [1]}]
    assert clean.headers["x-apify-pagination-count"] == "4"  # rows scanned, not items returned


def test_jsonl_and_csv_formats(openapi: Any, emu: Emulator, apify: httpx.Client) -> None:
    url = f"/v2/datasets/{emu.create_dataset([{'a': 1, 'n': {'x': 1}}, {'b': 'two', 'a': None}])}/items"
    jsonl = valid(openapi, apify.get(url, params={"format": "jsonl"}), 200)
    assert jsonl.headers["content-type"].startswith("application/jsonl")
    assert [json.loads(line) for line in jsonl.text.splitlines()] == [
        {"a": 1, "n": {"x": 1}},
        {"b": "two", "a": None},
    ]
    table = valid(openapi, apify.get(url, params={"format": "csv"}), 200)
    assert table.headers["content-type"].startswith("text/csv")
    assert list(csv.reader(io.StringIO(table.text))) == [
        ["a", "n", "b"],
        ["1", '{"x": 1}', ""],
        ["", "", "two"],
    ]
    ordered = apify.get(url, params={"format": "csv", "fields": "b,a", "skipHeaderRow": 1})
    assert list(csv.reader(io.StringIO(ordered.text))) == [["", "1"], ["two", ""]]
    valid(openapi, apify.get(url, params={"format": "xlsx"}), 400)
    valid(openapi, apify.get(url, params={"unwind": "a"}), 400)
    valid(openapi, apify.get("/v2/datasets/nope/items"), 404)


def test_a_run_writes_its_items_as_it_runs(emu: Emulator, apify: httpx.Client) -> None:
    emu.seed_actor("demo~slow-items", run=Timeline(ready_secs=0, running_secs=100, items=1000))
    run = emu.get_run(emu.create_run("demo~slow-items"))
    url = f"/v2/datasets/{run['defaultDatasetId']}/items"

    def total() -> int:
        return int(apify.get(url, params={"limit": 0}).headers["x-apify-pagination-total"])

    wait_until(lambda: 0 < total() < 1000)
    emu.abort_run(run["id"])
    kept = total()
    time.sleep(0.05)
    assert 0 < kept < 1000 and total() == kept  # an aborted run keeps what it wrote


def test_a_million_items_cost_no_memory(openapi: Any, emu: Emulator, apify: httpx.Client) -> None:
    emu.seed_actor("demo~big", run=Timeline(items=1_000_000, item_bytes=200))
    run = emu.get_run(emu.create_run("demo~big", status="SUCCEEDED"))
    tracemalloc.start()
    try:
        page = valid(
            openapi,
            apify.get(
                f"/v2/datasets/{run['defaultDatasetId']}/items", params={"offset": 999_000, "limit": 1000}
            ),
            200,
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    items = page.json()
    assert page.headers["x-apify-pagination-total"] == "1000000" and len(items) == 1000
    assert items[0]["index"] == 999_000 and items[-1]["index"] == 999_999
    assert 150 <= len(json.dumps(items[0])) <= 220
    assert peak < 20_000_000  # one page (~200 kB of items), not a million items (~200 MB)


# -- key-value records --------------------------------------------------------------------------
def test_a_runs_store_has_input_and_output(
    openapi: Any, emu: Emulator, apify: httpx.Client, finished: dict
) -> None:
    store = f"/v2/key-value-stores/{finished['defaultKeyValueStoreId']}/records"
    output = valid(openapi, apify.get(f"{store}/OUTPUT"), 200)
    assert output.json() == {"pages": 25} and output.headers["content-type"].startswith("application/json")
    assert valid(openapi, apify.get(f"{store}/INPUT"), 200).json() == {"url": "https://a"}
    missing = valid(openapi, apify.get(f"{store}/NOPE"), 404)
    assert missing.json()["error"]["type"] == "record-not-found"
    valid(openapi, apify.get("/v2/key-value-stores/nope/records/OUTPUT"), 404)
    emu.put_record(finished["defaultKeyValueStoreId"], "OUTPUT", {"pages": 1})
    assert apify.get(f"{store}/OUTPUT").json() == {"pages": 1}  # a record a test puts wins


def test_put_records_json_text_and_binary(openapi: Any, emu: Emulator, apify: httpx.Client) -> None:
    emu.put_record("store1", "cfg", {"a": [1]})
    emu.put_record("store1", "note", "hello", content_type="text/plain")
    emu.put_record(
        "store1", "img", base64_value=base64.b64encode(b"\x89PNG\x00").decode(), content_type="image/png"
    )
    image = valid(openapi, apify.get("/v2/key-value-stores/store1/records/img"), 200)
    assert image.content == b"\x89PNG\x00" and image.headers["content-type"] == "image/png"
    assert apify.get("/v2/key-value-stores/store1/records/note").text == "hello"
    assert emu.get_record("store1", "cfg")["value"] == {"a": [1]}
    with pytest.raises(UnknownRecordError):
        emu.get_record("store1", "nope")


# -- logs ---------------------------------------------------------------------------------------
def test_log_of_a_finished_run_and_a_build(
    openapi: Any, emu: Emulator, apify: httpx.Client, finished: dict
) -> None:
    log = valid(openapi, apify.get(f"/v2/logs/{finished['id']}"), 200)
    assert log.headers["content-type"].startswith("text/plain")
    lines = log.text.splitlines()
    assert "Pulling Docker image" in lines[0] and lines[-1].endswith("ACTOR: Finished with exit code 0.")
    assert sum("Progress:" in line for line in lines) == 3 and log.text == emu.log_of(finished["id"])
    assert apify.get(f"/v2/logs/{finished['id']}").text == log.text  # deterministic
    build = emu.builds_of("demo~items")[0]["id"]
    assert "Build finished" in valid(openapi, apify.get(f"/v2/logs/{build}"), 200).text
    download = apify.get(f"/v2/logs/{finished['id']}", params={"download": 1})
    assert download.headers["content-disposition"] == f'attachment; filename="{finished["id"]}.log"'
    valid(openapi, apify.get("/v2/logs/nope"), 404)


def test_a_streamed_log_follows_the_run_until_it_ends(emu: Emulator, apify: httpx.Client) -> None:
    emu.seed_actor("demo~talky", run=Timeline(ready_secs=1, running_secs=20, log_lines=4))
    run_id = emu.create_run("demo~talky")
    chunks = []
    with apify.stream("GET", f"/v2/logs/{run_id}", params={"stream": 1}) as response:
        assert response.status_code == 200
        for chunk in response.iter_text():
            chunks.append(chunk)
    assert len(chunks) > 2  # lines arrived as the run wrote them
    assert emu.get_run(run_id)["status"] == "SUCCEEDED"
    assert "".join(chunks) == emu.log_of(run_id)


# -- tasks, webhooks, account limits -----------------------------------------------------------
def test_a_task_run_merges_input_and_options(openapi: Any, emu: Emulator, apify: httpx.Client) -> None:
    emu.seed_actor("demo~hello")
    task = emu.seed_task(
        "demo~hello", "my-task", task_input={"a": 1, "b": 2}, memory_mbytes=512, timeout_secs=60
    )
    assert valid(openapi, apify.get(f"/v2/actor-tasks/{task['id']}"), 200).json()["data"]["name"] == "my-task"
    hooks = [{"eventTypes": ["ACTOR.RUN.SUCCEEDED"], "requestUrl": "https://example.com/hook"}]
    started = valid(
        openapi,
        apify.post(
            "/v2/actor-tasks/demo~my-task/runs",
            params={"timeout": 30, "restartOnError": "true", "webhooks": _webhooks(hooks)},
            json={"b": 3},
        ),
        201,
    )
    run = started.json()["data"]
    assert started.headers["location"].endswith(f"/v2/actor-tasks/{task['id']}/runs/{run['id']}")
    assert run["actorTaskId"] == task["id"] and run["options"]["memoryMbytes"] == 512
    assert run["options"]["timeoutSecs"] == 30  # the request's option wins over the task's
    assert emu.run_start_options(run["id"]) == {
        "actorTaskId": task["id"],
        "input": {"a": 1, "b": 3},
        "restartOnError": True,
        "webhooks": hooks,
    }
    plain = valid(openapi, apify.post(f"/v2/actor-tasks/{task['id']}/runs", json={}), 201).json()["data"]
    assert emu.run_start_options(plain["id"])["input"] == {"a": 1, "b": 2}
    assert emu.get_task(task["id"])["stats"]["totalRuns"] == 2
    valid(openapi, apify.post("/v2/actor-tasks/nope/runs"), 404)
    valid(openapi, apify.get("/v2/actor-tasks/nope"), 404)


@pytest.mark.parametrize(
    "hooks",
    [[{"eventTypes": ["ACTOR.RUN.DONE"], "requestUrl": "https://x"}], [{"eventTypes": ["TEST"]}], {"a": 1}],
)
def test_invalid_webhooks_are_refused(openapi: Any, emu: Emulator, apify: httpx.Client, hooks: Any) -> None:
    emu.seed_actor("demo~hello")
    valid(openapi, apify.post("/v2/actors/demo~hello/runs", params={"webhooks": _webhooks(hooks)}), 400)


def test_actor_runs_record_restart_on_error_and_webhooks(emu: Emulator, apify: httpx.Client) -> None:
    emu.seed_actor("demo~hello")
    hooks = [{"eventTypes": ["ACTOR.RUN.FAILED"], "requestUrl": "http://hooks.local/x"}]
    run = apify.post("/v2/actors/demo~hello/runs", params={"restartOnError": 1, "webhooks": _webhooks(hooks)})
    details = emu.run_start_options(run.json()["data"]["id"])
    assert (
        details["restartOnError"] is True and details["webhooks"] == hooks and details["actorTaskId"] is None
    )


def test_account_limits_refuse_starts_while_runs_are_active(
    openapi: Any, emu: Emulator, apify: httpx.Client
) -> None:
    emu.seed_actor("demo~long", run=Timeline(running_secs=100_000))
    emu.seed_task("demo~long", "t")
    emu.set_account_limits(max_concurrent_runs=2)
    first = apify.post("/v2/actors/demo~long/runs").json()["data"]["id"]
    apify.post("/v2/actor-tasks/~t/runs")
    refused = valid(openapi, apify.post("/v2/actor-tasks/~t/runs"), 402).json()["error"]
    assert refused["type"] == "concurrent-runs-limit-exceeded"
    emu.abort_run(first)
    valid(openapi, apify.post("/v2/actors/demo~long/runs", params={"memory": 1024}, json={}), 201)
    emu.set_account_limits(max_memory_mbytes=2048, status=400)
    memory = valid(openapi, apify.post("/v2/actors/demo~long/runs", params={"memory": 4096}), 400)
    assert memory.json()["error"]["type"] == "actor-memory-limit-exceeded"
    assert valid(openapi, apify.get("/v2/users/me"), 200).json()["data"]["plan"]["maxActorMemoryGbytes"] == 2


def test_a_fault_refuses_n_task_starts_and_the_journal_shows_it(emu: Emulator, apify: httpx.Client) -> None:
    emu.seed_actor("demo~hello")
    emu.seed_task("demo~hello", "t")
    rule = emu.add_fault(
        route="POST /v2/actor-tasks/{actorTaskId}/runs",
        status=402,
        error_type="actor-memory-limit-exceeded",
        times=2,
    )
    statuses = [apify.post("/v2/actor-tasks/~t/runs").status_code for _ in range(3)]
    assert statuses == [402, 402, 201] and emu.fault_hits(rule.id) == 2
    entries = emu.requests(route="POST /v2/actor-tasks/{actorTaskId}/runs")
    assert [e.fault is not None for e in entries] == [True, True, False]
    emu.add_fault(Fault(route="GET /v2/datasets/{datasetId}/items", status=503))
    assert apify.get("/v2/datasets/x/items").status_code == 503


def test_the_control_api_has_the_new_operations(emu: Emulator, base_url: str) -> None:
    emu.seed_actor("demo~hello")
    with EmulatorClient(base_url) as client:
        dataset = client.create_dataset([{"a": 1}], generated_items=2)
        assert client.push_items(dataset, [{"b": 2}]) == 4
        assert client.dataset_items(dataset, offset=2) == [{"a": 1}, {"b": 2}]
        client.put_record(
            "s", "k", base64_value=base64.b64encode(b"\x00\x01").decode(), content_type="image/png"
        )
        assert base64.b64decode(client.get_record("s", "k")["base64_value"]) == b"\x00\x01"
        task = client.seed_task("demo~hello", "t", task_input={"x": 1})
        assert client.get_task(task["id"])["input"] == {"x": 1}
        client.set_account_limits(max_concurrent_runs=0)
        run_id = emu.create_run("demo~hello", status="SUCCEEDED")
        assert "Finished" in client.log_of(run_id)
        assert client.run_start_options(run_id)["webhooks"] == []
        with pytest.raises(UnknownRecordError):
            client.get_task("nope")

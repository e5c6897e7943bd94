"""Fidelity: the services' own Python clients work against the emulator unchanged.

apify-client (``ApifyClient(token, api_url=...)``) parses every response with its pydantic
models; nullspace-sdk (``TemplateBuild.connect(..., base_url=...)``) with its own parsers.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from _emulator_helpers import wait_until
from apify_client import ApifyClient
from nullspace.errors import AuthError, BuildError, NotFoundError, RateLimitError
from nullspace.template import Template, TemplateBuild

from airflow_provider_jobs.emulator.emulator import Emulator
from airflow_provider_jobs.emulator.faults import Fault
from airflow_provider_jobs.emulator.timelines import TemplateTimeline, Timeline


@pytest.fixture
def client(emu: Emulator, base_url: str) -> ApifyClient:
    emu.seed_actor("demo~hello", run=Timeline(ready_secs=1, running_secs=20, abort_grace_secs=10))
    return ApifyClient(emu.apify_token, api_url=base_url, min_delay_between_retries=timedelta(milliseconds=5))


def test_apify_start_and_wait_for_finish(emu: Emulator, client: ApifyClient) -> None:
    run = client.actor("demo~hello").start(
        run_input={"name": "Ada"}, memory_mbytes=512, run_timeout=timedelta(minutes=5)
    )
    assert run.status == "READY" and run.options.memory_mbytes == 512 and run.options.timeout_secs == 300
    done = client.run(run.id).wait_for_finish()
    assert done is not None and done.status == "SUCCEEDED" and done.finished_at is not None
    assert done.default_dataset_id == run.default_dataset_id and done.exit_code == 0
    waits = [e.query.get("waitForFinish") for e in emu.requests("GET", "/v2/actor-runs/{runId}")]
    assert waits and all(waits)  # the client long-polls with waitForFinish


def test_apify_graceful_and_hard_abort(emu: Emulator, client: ApifyClient) -> None:
    graceful = client.actor("demo/hello").start()  # the client turns "/" into "~"
    wait_until(lambda: emu.get_run(graceful.id)["status"] == "RUNNING")
    aborting = client.run(graceful.id).abort(gracefully=True)
    assert aborting.status == "ABORTING"
    final = client.run(graceful.id).wait_for_finish()
    assert final is not None and final.status == "ABORTED"
    hard = client.actor("demo~hello").start()
    assert client.run(hard.id).abort().status == "ABORTED"
    assert client.run(hard.id).abort().status == "ABORTED"  # idempotent
    queries = [e.query for e in emu.requests(route="POST /v2/actor-runs/{runId}/abort")]
    assert queries[0] == {"gracefully": "true"} and "gracefully" not in queries[1]


def test_apify_build_start_and_abort(client: ApifyClient) -> None:
    build = client.actor("demo~hello").build(version_number="0.2", use_cache=True, tag="beta")
    assert build.status == "READY" and build.build_number == "0.2.1"
    aborted = client.build(build.id).abort()
    assert aborted.status == "ABORTED"
    other = client.actor("demo~hello").build(version_number="0.2")
    finished = client.build(other.id).wait_for_finish()
    assert finished is not None and finished.status == "SUCCEEDED" and finished.build_number == "0.2.2"


def test_apify_list_runs_with_a_status_filter(emu: Emulator, client: ApifyClient) -> None:
    succeeded = emu.create_run("demo~hello", status="SUCCEEDED")
    aborted = emu.create_run("demo~hello", status="ABORTED")
    emu.create_run("demo~hello", status="RUNNING")
    page = client.actor("demo~hello").runs().list(status=["SUCCEEDED", "ABORTED"], desc=True)
    assert {item.id for item in page.items} == {succeeded, aborted} and page.total == 2
    assert emu.requests("GET", "/v2/actors/{actorId}/runs")[-1].query["status"] == "SUCCEEDED,ABORTED"


def test_apify_errors_and_retries(emu: Emulator, client: ApifyClient) -> None:
    assert client.run("missing1234567890").get() is None  # 404 -> None in the client
    user = client.user().get()
    assert user is not None and user.username == "demo"
    emu.add_fault(Fault(route="POST /v2/actors/{actorId}/runs", status=429, retry_after=1, times=2))
    run = client.actor("demo~hello").start()
    assert [e.status for e in emu.requests("POST", "/v2/actors/{actorId}/runs")] == [429, 429, 201]
    assert len(emu.runs_of("demo~hello")) == 1 and run.id == emu.runs_of("demo~hello")[0]["id"]
    # A start dropped after processing is retried by the client: the classic duplicate run.
    emu.add_fault(kind="drop_after", route="POST /v2/actors/{actorId}/runs")
    client.actor("demo~hello").start()
    assert len(emu.runs_of("demo~hello")) == 3
    # Every request carried the token in the header only.
    assert all(e.token_source == "header" and "token" not in e.query for e in emu.journal)


def test_nullspace_status_cancel_and_logs(emu: Emulator, base_url: str) -> None:
    emu.seed_template("etl", TemplateTimeline(waiting_secs=0, building_secs=100_000, cancel_delay_secs=5))
    build_id = emu.create_template_build("etl")
    handle = TemplateBuild.connect(build_id, api_key=emu.templates_token, base_url=base_url)
    try:
        snapshot = handle.get_status(offset=0)
        assert handle.status.value == "building" and snapshot.next_offset >= 1
        cancelled = handle.cancel(reason="Airflow task hit execution_timeout")
        assert cancelled.build.cancellation_reason == "Airflow task hit execution_timeout"
        assert handle.is_terminal() is False  # cancel is only requested
        final = handle.wait_until_terminal(poll_interval=0.01)
        assert handle.status.value == "cancelled" and final.entries[-1].kind.value == "cancelled"
        entries = list(handle.logs(offset=0, follow=False))
        assert [e.offset for e in entries] == list(range(len(entries)))
        assert entries[-1].message == "template build cancelled: Airflow task hit execution_timeout"
        assert emu.requests("POST", "/v1/templates/builds/{build_id}/cancel")[0].body == {
            "reason": "Airflow task hit execution_timeout"
        }
    finally:
        handle.close()


def test_nullspace_build_in_background_follow_logs_and_list(emu: Emulator, base_url: str) -> None:
    emu.seed_template("python-dev", TemplateTimeline(waiting_secs=2, building_secs=20))
    build = Template.build_in_background(
        Template().from_image("python:3.12-slim"),
        "python-dev",
        api_key=emu.templates_token,
        base_url=base_url,
    )
    try:
        assert build.build_id.startswith("tb_") and build.status.value == "waiting"
        kinds = [entry.kind.value for entry in build.logs(follow=True)]
        assert kinds[0] == "start" and kinds[-1] == "end"
        assert build.get_status().build.status.value == "ready"
    finally:
        build.close()
    listed = Template.list(api_key=emu.templates_token, base_url=base_url)
    assert [info.name for info in listed] == ["python-dev"]  # type: ignore[union-attr]


def test_nullspace_errors(emu: Emulator, base_url: str) -> None:
    with pytest.raises(NotFoundError) as missing:
        TemplateBuild.connect("tb_missing", api_key=emu.templates_token, base_url=base_url)
    assert missing.value.request_id == emu.journal[-1].request_id
    with pytest.raises(AuthError):
        TemplateBuild.connect("tb_missing", api_key="wrong", base_url=base_url)
    failing = emu.create_template_build("broken", status="error")
    handle = TemplateBuild.connect(failing, api_key=emu.templates_token, base_url=base_url)
    try:
        with pytest.raises(BuildError):
            handle.wait_until_terminal(poll_interval=0.01)
        emu.add_fault(route="GET /v1/templates/builds/{build_id}", status=429, retry_after=0, times=None)
        with pytest.raises(RateLimitError):
            handle.get_status()
        statuses = [e.status for e in emu.requests("GET", path=f"/v1/templates/builds/{failing}")]
        assert statuses == [200, 200, 429, 429, 429, 429]  # the SDK tries a 429 four times
    finally:
        handle.close()

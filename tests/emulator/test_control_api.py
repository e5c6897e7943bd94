"""The ``/_emulator`` control API, raw and through :class:`EmulatorClient`."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from airflow_provider_jobs.emulator import ActorRef, UnknownRecordError
from airflow_provider_jobs.emulator.client import EmulatorClient, EmulatorClientError
from airflow_provider_jobs.emulator.emulator import Emulator
from airflow_provider_jobs.emulator.faults import Fault
from airflow_provider_jobs.emulator.timelines import TemplateTimeline, Timeline


@pytest.fixture
def client(emu: Emulator, base_url: str) -> Iterator[EmulatorClient]:
    with EmulatorClient(base_url) as control:
        yield control


def test_client_has_the_emulators_public_methods() -> None:
    public = {name for name in dir(Emulator) if not name.startswith("_")}
    in_process_only = {"lock", "journal_store", "fault_registry", "connection_env"}
    missing = public - in_process_only - set(dir(EmulatorClient))
    assert not missing, f"EmulatorClient lacks {sorted(missing)}"


def test_seed_start_and_inspect_through_the_client(
    emu: Emulator, client: EmulatorClient, apify: httpx.Client
) -> None:
    actor = client.seed_actor("acme/scraper", actor_id="A" * 17, run=Timeline(running_secs=100_000))
    assert actor == ActorRef("A" * 17, "scraper", "acme") and actor.full_name == "acme~scraper"
    assert client.actors() == [actor] == emu.actors()
    run = apify.post("/v2/actors/acme~scraper/runs").json()["data"]
    assert [r["id"] for r in client.runs_of(actor)] == [run["id"]]
    assert client.get_run(run["id"])["actId"] == actor.id
    assert client.abort_run(run["id"], gracefully=True)["status"] in {"ABORTING", "ABORTED"}
    running = client.create_run("acme~scraper", status="RUNNING", run_input={"x": 1})
    assert emu.get_run(running)["status"] == "RUNNING"
    build_id = client.create_build(actor, version="2.0", status="RUNNING")
    assert client.get_build(build_id)["buildNumber"] == "2.0.1"
    assert client.abort_build(build_id)["status"] == "ABORTED"
    assert [b["buildNumber"] for b in client.builds_of(actor)] == ["0.0.1", "2.0.1"]


def test_templates_through_the_client(emu: Emulator, client: EmulatorClient) -> None:
    info = client.seed_template(
        "etl", TemplateTimeline(waiting_secs=0, building_secs=100_000), namespace="ops"
    )
    assert info["canonical_ref"] == "ops/etl"
    build_id = client.create_template_build("etl", tags=["nightly"])
    assert client.get_template_build(build_id)["build"]["tags"] == ["nightly"]
    snapshot = client.cancel_template_build(build_id, reason="stop")
    assert snapshot["build"]["cancellation_reason"] == "stop"
    assert [b["build_id"] for b in client.template_builds("etl")] == [build_id]
    assert client.template_builds("other") == []
    assert client.create_template_build("etl", status="error") in {
        b["build_id"] for b in emu.template_builds()
    }


def test_tokens_time_scale_and_reset_through_the_client(
    emu: Emulator, client: EmulatorClient, base_url: str
) -> None:
    assert client.add_apify_token("t2", username="carol") == "carol"
    assert client.add_template_token("k2", namespace="team-c") == "team-c"
    assert (
        httpx.get(f"{base_url}/v2/users/me", headers={"Authorization": "Bearer t2"}).json()["data"][
            "username"
        ]
        == "carol"
    )
    assert httpx.get(f"{base_url}/v1/templates", headers={"Authorization": "Bearer k2"}).status_code == 200
    client.set_time_scale(0.5)
    assert client.time_scale == 0.5 == emu.time_scale
    assert (client.apify_token, client.templates_token) == (emu.apify_token, emu.templates_token)
    client.reset()
    assert client.state()["apify_tokens"] == [emu.apify_token] and emu.time_scale == 0.01


def test_journal_and_faults_through_the_client(
    emu: Emulator, client: EmulatorClient, apify: httpx.Client
) -> None:
    fault = client.add_fault(Fault(route="GET /v2/users/me", status=429, retry_after=1))
    assert client.faults[0]["id"] == fault.id
    assert apify.get("/v2/users/me").status_code == 429
    assert client.fault_hits(fault.id) == 1 and client.faults == []
    client.add_fault(kind="html", status=503, times=None)
    assert apify.get("/v2/users/me").status_code == 503
    client.clear_faults()
    apify.get("/v2/users/me", params={"x": "1"})
    entries = client.requests("GET", "/v2/users/me")
    assert [e.status for e in entries] == [429, 503, 200]
    assert entries[0].authorization == f"Bearer {emu.apify_token}" and entries[2].query == {"x": "1"}
    assert entries[2].query_items == [("x", "1")] and client.journal == emu.journal
    assert client.remove_fault("nope") is False
    client.clear_journal()
    assert client.journal == []


def test_control_errors(emu: Emulator, client: EmulatorClient, base_url: str) -> None:
    with pytest.raises(UnknownRecordError):
        client.get_run("missing")
    with pytest.raises(UnknownRecordError):
        client.create_run("demo~nobody")
    with pytest.raises(EmulatorClientError, match="400"):
        client.add_fault(Fault.model_construct(kind="status", status=200, id="x", times=1))  # type: ignore[call-arg]
    raw = httpx.post(f"{base_url}/_emulator/actors", json={"name": "x", "run": {"running_secs": -1}})
    assert raw.status_code == 400 and raw.json()["code"] == "invalid_request"
    unknown_field = httpx.post(f"{base_url}/_emulator/actors", json={"name": "x", "colour": "red"})
    assert unknown_field.status_code == 400 and "colour" in unknown_field.json()["error"]
    assert httpx.get(f"{base_url}/_emulator/nothing").status_code == 404
    assert httpx.put(f"{base_url}/_emulator/state").status_code == 405
    for path, body in (("actors", {}), ("time-scale", {}), ("tokens", {"api": "apify"}), ("template-builds", {})):
        missing = httpx.post(f"{base_url}/_emulator/{path}", json=body)  # a required field is missing
        assert missing.status_code == 400 and missing.json()["code"] == "invalid_request", (path, missing.text)


def test_the_client_error_is_exported() -> None:
    from airflow_provider_jobs.emulator import EmulatorClientError as exported

    assert exported is EmulatorClientError


def test_raw_control_requests_as_in_the_docs(emu: Emulator, base_url: str) -> None:
    seeded = httpx.post(
        f"{base_url}/_emulator/actors",
        json={"name": "demo~hello", "run": {"ready_secs": 1, "running_secs": 30}},
    )
    assert seeded.status_code == 200 and seeded.json()["name"] == "hello"
    fault = httpx.post(
        f"{base_url}/_emulator/faults",
        json={
            "method": "POST",
            "route": "/v2/actor-runs/{runId}/abort",
            "status": 429,
            "retry_after": 1,
            "times": 2,
        },
    ).json()
    assert fault["times"] == 2 and fault["id"].startswith("fault_")
    state = httpx.get(f"{base_url}/_emulator/state").json()
    assert state["actors"] == ["demo~hello"] and state["faults"] == 1 and state["base_url"] == base_url
    assert httpx.delete(f"{base_url}/_emulator/faults/{fault['id']}").json() == {"removed": True}
    journal = httpx.get(f"{base_url}/_emulator/journal", params={"method": "GET"}).json()
    assert journal == []


def test_one_table_drives_the_facade_the_control_routes_and_the_client() -> None:
    import inspect

    from airflow_provider_jobs.emulator import control
    from airflow_provider_jobs.emulator.ops import OPERATIONS, EmulatorApi

    table = [op for op in OPERATIONS if vars(EmulatorApi).get(op.name) is op]
    assert len(table) == len(OPERATIONS) >= 27
    routes = {(route.method, route.template) for route in control.routes()}
    assert routes == {(op.verb, "/_emulator" + op.path) for op in table}
    for op in table:
        if op.name.startswith("_"):
            continue
        in_process, remote = getattr(Emulator, op.name), getattr(EmulatorClient, op.name)
        assert in_process is remote or inspect.signature(in_process) == inspect.signature(op.impl), op.name
        assert remote.__doc__ == op.impl.__doc__ and remote.__doc__, op.name


def test_control_rejects_fields_of_the_other_api_and_values_of_the_wrong_type(
    emu: Emulator, base_url: str
) -> None:
    other_api = httpx.post(f"{base_url}/_emulator/tokens", json={"api": "apify", "token": "t", "namespace": "n"})
    assert other_api.status_code == 400 and "namespace" in other_api.json()["error"]
    wrong_type = httpx.post(f"{base_url}/_emulator/actors", json={"name": 5})
    assert wrong_type.status_code == 400 and wrong_type.json()["code"] == "invalid_request"
    assert httpx.post(f"{base_url}/_emulator/tokens", json={"api": "x", "token": "t"}).json()["error"] == (
        '"api" must be "apify" or "templates"'
    )

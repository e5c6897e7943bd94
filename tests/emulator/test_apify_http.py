"""The emulated Apify API over HTTP, through a plain httpx client."""

from __future__ import annotations

import base64
import gzip
import json
import re
import threading
import time

import httpx
import pytest
from _emulator_helpers import wait_until

from airflow_provider_jobs.emulator import ActorRef
from airflow_provider_jobs.emulator.emulator import Emulator
from airflow_provider_jobs.emulator.timelines import Timeline

ID = re.compile(r"^[A-Za-z0-9]{17}$")


@pytest.fixture
def actor(emu: Emulator) -> ActorRef:
    return emu.seed_actor("demo~hello", run=Timeline(ready_secs=5, running_secs=20, status_message="Greeted"))


def test_start_run_returns_201_with_location_and_a_full_run(
    emu: Emulator, apify: httpx.Client, actor: ActorRef
) -> None:
    response = apify.post(
        "/v2/actors/demo~hello/runs",
        params={"timeout": 120, "memory": 2048, "maxItems": 10, "maxTotalChargeUsd": 1.5, "build": "latest"},
        json={"greeting": "hi"},
    )
    assert response.status_code == 201
    run = response.json()["data"]
    assert response.headers["location"] == f"{emu.base_url}/v2/actors/{actor.id}/runs/{run['id']}"
    assert response.headers["x-request-id"].startswith("req_")
    assert ID.match(run["id"]) and run["actId"] == actor.id and run["status"] == "READY"
    for key in ("defaultDatasetId", "defaultKeyValueStoreId", "defaultRequestQueueId", "buildId", "userId"):
        assert ID.match(run[key]), key
    assert run["options"] == {
        "build": "latest",
        "timeoutSecs": 120,
        "memoryMbytes": 2048,
        "diskMbytes": 4096,
        "maxItems": 10,
        "maxTotalChargeUsd": 1.5,
    }
    assert run["buildNumber"] == "0.0.1" and run["meta"]["origin"] == "API" and run["finishedAt"] is None
    assert run["stats"]["inputBodyLen"] == len(response.request.content)
    with emu.apify.lock:
        assert emu.apify.runs[run["id"]].run_input == {"greeting": "hi"}


@pytest.mark.parametrize("ref", ["demo~hello", "demo%2Fhello", "~hello", "{id}"])
def test_actor_can_be_named_by_id_tilde_slash_or_own_tilde(
    apify: httpx.Client, actor: ActorRef, ref: str
) -> None:
    response = apify.post(f"/v2/actors/{ref.format(id=actor.id)}/runs")
    assert response.status_code == 201, response.text


def test_deprecated_acts_prefix_serves_every_actor_route(
    emu: Emulator, apify: httpx.Client, actor: ActorRef
) -> None:
    run = apify.post("/v2/acts/demo~hello/runs").json()["data"]
    assert apify.get("/v2/acts/demo~hello/runs").json()["data"]["total"] == 1
    assert apify.get(f"/v2/acts/demo~hello/runs/{run['id']}").json()["data"]["id"] == run["id"]
    aborted = apify.post(f"/v2/acts/demo~hello/runs/{run['id']}/abort")
    assert aborted.status_code == 200 and aborted.json()["data"]["status"] == "ABORTED"
    build = apify.post("/v2/acts/demo~hello/builds", params={"version": "0.1"})
    assert build.status_code == 201 and build.json()["data"]["buildNumber"] == "0.1.1"
    assert emu.requests(path_regex="^/v2/acts/")[0].route == "POST /v2/acts/{actorId}/runs"


def test_deprecated_actor_scoped_abort_checks_the_actor(
    emu: Emulator, apify: httpx.Client, actor: ActorRef
) -> None:
    other = emu.seed_actor("demo~other")
    run_id = emu.create_run(actor, status="RUNNING")
    response = apify.post(f"/v2/actors/{other.id}/runs/{run_id}/abort")
    assert response.status_code == 404
    assert response.json() == {"error": {"type": "record-not-found", "message": "Run was not found"}}


def test_run_input_must_be_a_json_object(apify: httpx.Client, actor: ActorRef) -> None:
    for content in (b"[1, 2]", b"{broken"):
        response = apify.post(
            "/v2/actors/demo~hello/runs", content=content, headers={"content-type": "application/json"}
        )
        assert response.status_code == 400
        assert response.json()["error"]["type"] == "invalid-input"
    text = apify.post(
        "/v2/actors/demo~hello/runs", content=b"plain input", headers={"content-type": "text/plain"}
    )
    assert text.status_code == 201


def test_gzip_request_bodies_are_decoded(emu: Emulator, apify: httpx.Client, actor: ActorRef) -> None:
    body = gzip.compress(json.dumps({"big": "x" * 2000}).encode())
    headers = {"content-type": "application/json", "content-encoding": "gzip"}
    run = apify.post("/v2/actors/demo~hello/runs", content=body, headers=headers).json()["data"]
    with emu.apify.lock:
        assert emu.apify.runs[run["id"]].run_input == {"big": "x" * 2000}
    assert emu.journal[-1].body == {"big": "x" * 2000}  # journaled decoded
    bad = apify.post("/v2/actors/demo~hello/runs", content=b"x", headers={"content-encoding": "zstd-ish"})
    assert bad.status_code == 415 and bad.json()["error"]["type"] == "unsupported-content-encoding"


@pytest.mark.parametrize(
    "params",
    [
        {"memory": 100},
        {"memory": 1000},
        {"memory": 65536},
        {"timeout": "soon"},
        {"waitForFinish": "-1"},
        {"webhooks": "!!"},
    ],
)
def test_invalid_run_options_are_invalid_input(
    apify: httpx.Client, actor: ActorRef, params: dict[str, int | str]
) -> None:
    response = apify.post("/v2/actors/demo~hello/runs", params=params)
    assert response.status_code == 400 and response.json()["error"]["type"] == "invalid-input"


def test_webhooks_and_restart_on_error_are_accepted(
    emu: Emulator, apify: httpx.Client, actor: ActorRef
) -> None:
    hooks = [{"eventTypes": ["ACTOR.RUN.SUCCEEDED"], "requestUrl": "https://example.com/hook"}]
    encoded = base64.b64encode(json.dumps(hooks).encode()).decode()
    run = apify.post(
        "/v2/actors/demo~hello/runs", params={"webhooks": encoded, "restartOnError": "true"}
    ).json()["data"]
    with emu.apify.lock:
        assert emu.apify.runs[run["id"]].webhooks == hooks


def test_unknown_build_tag_is_rejected(apify: httpx.Client, actor: ActorRef) -> None:
    response = apify.post("/v2/actors/demo~hello/runs", params={"build": "beta"})
    assert response.status_code == 403 and response.json()["error"]["type"] == "unknown-build-tag"
    assert apify.post("/v2/actors/demo~hello/runs", params={"build": "0.0.1"}).status_code == 201


def test_run_timeout_makes_the_run_time_out(apify: httpx.Client, actor: ActorRef) -> None:
    run = apify.post("/v2/actors/demo~hello/runs", params={"timeout": 3, "waitForFinish": 10}).json()["data"]
    assert run["status"] == "TIMED-OUT" and run["options"]["timeoutSecs"] == 3


def test_wait_for_finish_returns_as_soon_as_the_run_ends(emu: Emulator, apify: httpx.Client) -> None:
    emu.seed_actor("demo~quick", run=Timeline(ready_secs=5, running_secs=25))  # 0.3 s of real time
    run = apify.post("/v2/actors/demo~quick/runs").json()["data"]
    started = time.monotonic()
    waited = apify.get(f"/v2/actor-runs/{run['id']}", params={"waitForFinish": 30}).json()["data"]
    elapsed = time.monotonic() - started
    assert waited["status"] == "SUCCEEDED" and waited["statusMessage"] == "Actor finished successfully"
    assert 0.15 < elapsed < 2.0


def test_a_held_long_poll_sleeps_until_the_scheduled_end_or_an_abort(
    emu: Emulator, apify: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A held ``waitForFinish`` wakes at the job's scheduled end or when an abort (here from the
    Python API, in another thread) changes it, not on a fixed tick: a thousand held polls
    re-checking their jobs every 20 ms cost the emulator a sixth of a core."""
    checks: list[float] = []
    is_terminal = emu.apify.is_terminal

    def counting(job: object) -> bool:
        checks.append(time.monotonic())
        return is_terminal(job)  # type: ignore[arg-type]

    monkeypatch.setattr(emu.apify, "is_terminal", counting)
    emu.seed_actor("demo~ends", run=Timeline(ready_secs=0, running_secs=50))  # 0.6 s of real time
    emu.seed_actor("demo~endless", run=Timeline(ready_secs=0, running_secs=100_000))
    ends = apify.post("/v2/actors/demo~ends/runs").json()["data"]
    endless = apify.post("/v2/actors/demo~endless/runs").json()["data"]

    checks.clear()
    started = time.monotonic()
    waited = apify.get(f"/v2/actor-runs/{ends['id']}", params={"waitForFinish": 30}).json()["data"]
    assert waited["status"] == "SUCCEEDED" and time.monotonic() - started < 1.5
    assert len(checks) <= 3, f"{len(checks)} checks while held (a 20 ms tick makes ~30)"

    timer = threading.Timer(0.6, lambda: emu.abort_run(endless["id"]))
    timer.start()
    checks.clear()
    started = time.monotonic()
    waited = apify.get(f"/v2/actor-runs/{endless['id']}", params={"waitForFinish": 30}).json()["data"]
    elapsed = time.monotonic() - started
    timer.join()
    assert waited["status"] == "ABORTED" and 0.5 < elapsed < 1.0, elapsed
    assert len(checks) <= 3, f"{len(checks)} checks while held (a 20 ms tick makes ~30)"


def test_wait_for_finish_is_clamped_silently(emu: Emulator, apify: httpx.Client) -> None:
    emu.max_wait_for_finish = 0.3  # stands in for Apify's 60 s cap, so the test stays fast
    emu.seed_actor("demo~long", run=Timeline(running_secs=100_000))
    run = apify.post("/v2/actors/demo~long/runs").json()["data"]
    started = time.monotonic()
    response = apify.get(f"/v2/actor-runs/{run['id']}", params={"waitForFinish": 999})
    assert response.status_code == 200 and response.json()["data"]["status"] == "RUNNING"
    assert 0.25 < time.monotonic() - started < 1.5


def test_wait_for_finish_on_start_and_build(apify: httpx.Client, actor: ActorRef) -> None:
    run = apify.post("/v2/actors/demo~hello/runs", params={"waitForFinish": 5}).json()["data"]
    assert run["status"] == "SUCCEEDED" and run["exitCode"] == 0 and run["statusMessage"] == "Greeted"
    build = apify.post("/v2/actors/demo~hello/builds", params={"version": "0.2", "waitForFinish": 5}).json()[
        "data"
    ]
    assert build["status"] == "SUCCEEDED" and build["stats"]["imageSizeBytes"] > 0


def test_graceful_abort_over_http(emu: Emulator, apify: httpx.Client) -> None:
    emu.seed_actor("demo~grace", run=Timeline(ready_secs=0, running_secs=100_000, abort_grace_secs=20))
    run = apify.post("/v2/actors/demo~grace/runs").json()["data"]
    wait_until(lambda: emu.get_run(run["id"])["status"] == "RUNNING")
    first = apify.post(f"/v2/actor-runs/{run['id']}/abort", params={"gracefully": "true"}).json()["data"]
    assert first["status"] == "ABORTING"
    again = apify.post(f"/v2/actor-runs/{run['id']}/abort", params={"gracefully": "true"})
    assert again.status_code == 200 and again.json()["data"]["status"] == "ABORTING"
    final = apify.get(f"/v2/actor-runs/{run['id']}", params={"waitForFinish": 5}).json()["data"]
    assert final["status"] == "ABORTED" and final["finishedAt"] is not None


def test_abort_is_idempotent_on_finished_runs(emu: Emulator, apify: httpx.Client, actor: ActorRef) -> None:
    run_id = emu.create_run(actor, status="FAILED")
    before = emu.get_run(run_id)
    for params in ({}, {"gracefully": "true"}, {"gracefully": "1"}):
        response = apify.post(f"/v2/actor-runs/{run_id}/abort", params=params)
        assert response.status_code == 200
        data = response.json()["data"]
        assert (data["status"], data["finishedAt"]) == ("FAILED", before["finishedAt"])


def test_list_runs_filters_paginates_and_sorts(emu: Emulator, apify: httpx.Client, actor: ActorRef) -> None:
    ids = {
        status: emu.create_run(actor, status=status)
        for status in ("SUCCEEDED", "ABORTED", "RUNNING", "FAILED")
    }
    page = apify.get("/v2/actors/demo~hello/runs", params={"status": "ABORTED,FAILED"}).json()["data"]
    assert {item["id"] for item in page["items"]} == {ids["ABORTED"], ids["FAILED"]}
    assert (page["total"], page["count"], page["offset"], page["limit"], page["desc"]) == (
        2,
        2,
        0,
        1000,
        False,
    )
    everything = apify.get("/v2/actors/demo~hello/runs", params={"desc": 1}).json()["data"]
    started = [item["startedAt"] for item in everything["items"]]
    assert started == sorted(started, reverse=True) and everything["total"] == 4
    window = apify.get("/v2/actors/demo~hello/runs", params={"offset": 1, "limit": 2}).json()["data"]
    assert (window["count"], window["total"], window["limit"]) == (2, 4, 2)
    capped = apify.get("/v2/actors/demo~hello/runs", params={"limit": 5000}).json()["data"]
    assert capped["limit"] == 1000
    bad = apify.get("/v2/actors/demo~hello/runs", params={"status": "DONE"})
    assert bad.status_code == 400 and bad.json()["error"]["type"] == "invalid-input"


def test_runs_last_follows_status(emu: Emulator, apify: httpx.Client, actor: ActorRef) -> None:
    succeeded = emu.create_run(actor, status="SUCCEEDED")
    emu.create_run(actor, status="FAILED")
    last = apify.get("/v2/actors/demo~hello/runs/last", params={"status": "SUCCEEDED"}).json()["data"]
    assert last["id"] == succeeded


def test_builds_start_get_and_abort(emu: Emulator, apify: httpx.Client, actor: ActorRef) -> None:
    missing = apify.post("/v2/actors/demo~hello/builds")
    assert missing.status_code == 400 and missing.json()["error"]["type"] == "invalid-input"
    assert apify.post("/v2/actors/demo~hello/builds", params={"version": "one"}).status_code == 400
    response = apify.post(
        "/v2/actors/demo~hello/builds",
        params={"version": "0.3", "useCache": "true", "betaPackages": "false", "tag": "beta"},
    )
    assert response.status_code == 201
    build = response.json()["data"]
    assert response.headers["location"].endswith(f"/v2/actors/{actor.id}/builds/{build['id']}")
    assert build["options"]["useCache"] is True and build["buildNumber"] == "0.3.1"
    assert build["actVersion"]["buildTag"] == "beta"
    assert apify.get(f"/v2/actors/demo~hello/builds/{build['id']}").json()["data"]["id"] == build["id"]
    aborted = apify.post(f"/v2/actor-builds/{build['id']}/abort").json()["data"]
    assert aborted["status"] == "ABORTED" and aborted["finishedAt"] is not None
    assert apify.post(f"/v2/actor-builds/{build['id']}/abort").json()["data"] == aborted
    missing_build = apify.get("/v2/actor-builds/nope")
    assert missing_build.status_code == 404
    assert missing_build.json() == {"error": {"type": "record-not-found", "message": "Build was not found"}}


def test_get_run_and_build_work_without_token_but_hide_costs(
    emu: Emulator, base_url: str, actor: ActorRef
) -> None:
    run_id, build_id = emu.create_run(actor), emu.builds_of(actor)[0]["id"]
    anonymous = httpx.Client(base_url=base_url)
    for path in (f"/v2/actor-runs/{run_id}", f"/v2/actor-builds/{build_id}"):
        data = anonymous.get(path).json()["data"]
        assert "usageTotalUsd" not in data and "usageUsd" not in data
        bad_token = anonymous.get(path, headers={"Authorization": "Bearer wrong"})
        assert bad_token.status_code == 401
    with_token = anonymous.get(f"/v2/actor-runs/{run_id}", params={"token": emu.apify_token}).json()["data"]
    assert "usageTotalUsd" in with_token and "usageUsd" in with_token


def test_auth_errors(emu: Emulator, base_url: str, actor: ActorRef) -> None:
    client = httpx.Client(base_url=base_url)
    missing = client.post("/v2/actors/demo~hello/runs")
    assert missing.status_code == 401
    assert missing.json() == {
        "error": {"type": "token-not-provided", "message": "Authentication token was not provided"}
    }
    wrong = client.get("/v2/users/me", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.json()["error"]["type"] == "user-or-token-not-found"


def test_query_token_works_and_is_journaled_as_a_leak(emu: Emulator, base_url: str, actor: ActorRef) -> None:
    client = httpx.Client(base_url=base_url)
    assert client.post("/v2/actors/demo~hello/runs", params={"token": emu.apify_token}).status_code == 201
    entry = emu.requests("POST", "/v2/actors/{actorId}/runs")[-1]
    assert entry.token_source == "query" and entry.query_token == emu.apify_token
    assert entry.authorization is None and f"token={emu.apify_token}" in entry.raw_query


def test_journal_keeps_headers_query_body_and_route(
    emu: Emulator, apify: httpx.Client, actor: ActorRef
) -> None:
    run = apify.post("/v2/actors/demo~hello/runs", params={"timeout": 60}, json={"a": 1}).json()["data"]
    apify.post(f"/v2/actor-runs/{run['id']}/abort", params={"gracefully": "true"})
    entry = emu.requests(route="POST /v2/actor-runs/{runId}/abort")[0]
    assert entry.authorization == f"Bearer {emu.apify_token}" and entry.token_source == "header"
    assert entry.query == {"gracefully": "true"} and entry.raw_query == "gracefully=true"
    assert entry.path_params == {"runId": run["id"]} and entry.status == 200 and entry.fault is None
    assert entry.api == "apify" and entry.duration is not None and entry.wall_time.endswith("Z")
    start = emu.requests("POST", "/v2/actors/{actorId}/runs")[0]
    assert start.body == {"a": 1} and start.query == {"timeout": "60"}
    assert [e.seq for e in emu.journal] == sorted(e.seq for e in emu.journal)
    assert emu.requests(path=f"/v2/actor-runs/{run['id']}/abort") == [entry]


def test_other_users_cannot_abort_or_list_but_can_read_by_id(
    emu: Emulator, base_url: str, apify: httpx.Client, actor: ActorRef
) -> None:
    emu.add_apify_token("second-token", username="bob")
    bob = httpx.Client(base_url=base_url, headers={"Authorization": "Bearer second-token"})
    run_id = emu.create_run(actor, status="RUNNING")
    assert bob.post(f"/v2/actor-runs/{run_id}/abort").status_code == 404
    assert bob.get("/v2/actors/demo~hello/runs").json()["data"]["total"] == 0
    assert bob.get(f"/v2/actor-runs/{run_id}").status_code == 200
    assert bob.get("/v2/users/me").json()["data"]["username"] == "bob"
    assert bob.post("/v2/actors/~hello/runs").status_code == 404  # ~name means bob's own actor


def test_unknown_actor_path_and_method(apify: httpx.Client) -> None:
    actor = apify.post("/v2/actors/demo~missing/runs")
    assert actor.status_code == 404 and actor.json() == {
        "error": {"type": "actor-not-found", "message": "Actor was not found"}
    }
    page = apify.get("/v2/no/such/endpoint")
    assert page.status_code == 404 and page.json()["error"]["type"] == "page-not-found"
    verb = apify.delete("/v2/actor-runs/abc/abort")
    assert verb.status_code == 405 and verb.json()["error"]["type"] == "method-not-allowed"
    assert verb.headers["allow"] == "OPTIONS,POST" and verb.headers["x-request-id"]


def test_users_me(emu: Emulator, apify: httpx.Client) -> None:
    data = apify.get("/v2/users/me").json()["data"]
    assert data["username"] == "demo" and ID.match(data["id"]) and data["isPaying"] is False
    assert set(data["effectivePlatformFeatures"]) >= {"ACTORS", "STORAGE", "WEBHOOKS"}


def test_a_crashing_handler_answers_500_in_the_apis_shape(
    emu: Emulator, apify: httpx.Client, actor: ActorRef, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = emu.create_run(actor)

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(emu.apify, "render", boom)
    response = apify.get(f"/v2/actor-runs/{run_id}")
    assert response.status_code == 500
    assert response.json() == {"error": {"type": "internal-server-error", "message": "Internal server error"}}
    assert emu.journal[-1].status == 500

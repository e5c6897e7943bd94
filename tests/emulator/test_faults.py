"""Every fault kind, observed through a plain httpx client against the running server."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import httpx
import pytest
from pydantic import ValidationError

from airflow_provider_jobs.emulator.emulator import Emulator
from airflow_provider_jobs.emulator.faults import Fault
from airflow_provider_jobs.emulator.timelines import TemplateTimeline, Timeline

START = "/v2/actors/{actorId}/runs"


@pytest.fixture(autouse=True)
def _actor(emu: Emulator) -> None:
    emu.seed_actor("demo~hello", run=Timeline(running_secs=100_000))


def test_429_with_retry_after_seconds_then_recovers(emu: Emulator, apify: httpx.Client) -> None:
    fault = emu.add_fault(
        Fault(method="POST", route="/v2/actor-runs/{runId}/abort", status=429, retry_after=2, times=2)
    )
    run_id = emu.create_run("demo~hello", status="RUNNING")
    first, second, third = (apify.post(f"/v2/actor-runs/{run_id}/abort") for _ in range(3))
    for limited in (first, second):
        assert limited.status_code == 429 and limited.headers["retry-after"] == "2"
        assert limited.json() == {
            "error": {
                "type": "rate-limit-exceeded",
                "message": "You have exceeded the rate limit. Please try again later.",
            }
        }
    assert third.status_code == 200 and third.json()["data"]["status"] == "ABORTED"
    assert emu.fault_hits(fault.id) == 2 and emu.faults == []
    statuses = [(e.status, e.fault) for e in emu.requests(route="POST /v2/actor-runs/{runId}/abort")]
    assert statuses == [(429, f"status:429 ({fault.id})")] * 2 + [(200, None)]


def test_status_fault_does_not_process_the_request(emu: Emulator, apify: httpx.Client) -> None:
    emu.add_fault(method="POST", route=START, status=503)
    response = apify.post("/v2/actors/demo~hello/runs")
    assert response.status_code == 503 and response.json()["error"]["type"] == "internal-server-error"
    assert emu.runs_of("demo~hello") == []


def test_retry_after_as_http_date(emu: Emulator, templates: httpx.Client) -> None:
    emu.add_fault(route="GET /v1/templates", status=429, retry_after=30, retry_after_http_date=True)
    response = templates.get("/v1/templates")
    moment = parsedate_to_datetime(response.headers["retry-after"])
    assert 20 < (moment - datetime.now(timezone.utc)).total_seconds() <= 31
    body = response.json()
    assert body["code"] == "rate_limit_exceeded" and body["request_id"] == response.headers["x-request-id"]
    verbatim = emu.add_fault(
        route="GET /v1/templates", status=429, retry_after="Wed, 21 Oct 2015 07:28:00 GMT"
    )
    assert templates.get("/v1/templates").headers["retry-after"] == "Wed, 21 Oct 2015 07:28:00 GMT"
    assert emu.fault_hits(verbatim.id) == 1


@pytest.mark.parametrize(
    ("status", "apify_type", "template_code"),
    [
        (500, "internal-server-error", "internal_error"),
        (502, "internal-server-error", "internal_error"),
        (503, "internal-server-error", "feature_unavailable"),
        (504, "internal-server-error", "internal_error"),
    ],
)
def test_5xx_bodies_for_each_api(
    emu: Emulator,
    apify: httpx.Client,
    templates: httpx.Client,
    status: int,
    apify_type: str,
    template_code: str,
) -> None:
    build_id = emu.create_template_build("t", timeline=TemplateTimeline(building_secs=100_000))
    emu.add_fault(status=status, times=None)
    apify_response = apify.get("/v2/users/me")
    assert apify_response.status_code == status and apify_response.json()["error"]["type"] == apify_type
    template_response = templates.get(f"/v1/templates/builds/{build_id}")
    body = template_response.json()
    assert template_response.status_code == status and body["code"] == template_code
    assert body["build_id"] == build_id and isinstance(body["error"], str)


def test_a_nonstandard_status_fault_answers_with_that_status(
    emu: Emulator, apify: httpx.Client, templates: httpx.Client
) -> None:
    emu.add_fault(status=520, times=2)  # e.g. Cloudflare's "unknown error"
    response = apify.get("/v2/users/me")
    assert response.status_code == 520 and response.json()["error"]["type"] == "internal-server-error"
    assert templates.get("/v1/templates").json()["code"] == "internal_error"
    emu.add_fault(kind="html", status=520, times=1)
    assert "520 Server Error" in apify.get("/v2/users/me").text


def test_html_error_page_from_a_proxy(emu: Emulator, apify: httpx.Client) -> None:
    emu.add_fault(kind="html", path_regex=r"^/v2/users/")
    response = apify.get("/v2/users/me")
    assert response.status_code == 502 and response.headers["content-type"] == "text/html"
    assert "<title>502 Bad Gateway</title>" in response.text
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_delay_makes_a_client_time_out_while_the_request_is_processed(
    emu: Emulator, apify: httpx.Client
) -> None:
    emu.add_fault(kind="delay", method="POST", route=START, delay=0.5)
    with pytest.raises(httpx.ReadTimeout):
        apify.post("/v2/actors/demo~hello/runs", timeout=0.1)
    deadline = time.monotonic() + 3
    while not emu.runs_of("demo~hello") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(emu.runs_of("demo~hello")) == 1


def test_delay_then_normal_response(emu: Emulator, apify: httpx.Client) -> None:
    emu.add_fault(kind="delay", route="GET /v2/users/me", delay=0.2)
    started = time.monotonic()
    assert apify.get("/v2/users/me").status_code == 200
    assert time.monotonic() - started >= 0.2


def test_drop_before_leaves_no_trace_in_state(emu: Emulator, apify: httpx.Client) -> None:
    emu.add_fault(kind="drop_before", method="POST", route=START)
    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        apify.post("/v2/actors/demo~hello/runs")
    assert emu.runs_of("demo~hello") == []
    entry = emu.requests("POST", START)[0]
    assert entry.status is None and entry.fault is not None and entry.fault.startswith("drop_before")
    assert apify.post("/v2/actors/demo~hello/runs").status_code == 201  # the client reconnects


def test_drop_after_changes_state_but_sends_nothing(emu: Emulator, apify: httpx.Client) -> None:
    emu.add_fault(kind="drop_after", method="POST", route=START)
    with pytest.raises(httpx.RemoteProtocolError):
        apify.post("/v2/actors/demo~hello/runs")
    assert len(emu.runs_of("demo~hello")) == 1


def test_drop_after_on_abort_aborts(emu: Emulator, apify: httpx.Client) -> None:
    run_id = emu.create_run("demo~hello", status="RUNNING")
    emu.add_fault(kind="drop_after", route="POST /v2/actor-runs/{runId}/abort")
    with pytest.raises(httpx.RemoteProtocolError):
        apify.post(f"/v2/actor-runs/{run_id}/abort")
    assert emu.get_run(run_id)["status"] == "ABORTED"


def test_reset_mid_body(emu: Emulator, apify: httpx.Client) -> None:
    emu.add_fault(kind="reset_mid_body", route="GET /v2/users/me")
    with pytest.raises(httpx.RemoteProtocolError, match=r"complete message body"):
        apify.get("/v2/users/me")


def test_slow_body_dribbles_the_full_body(emu: Emulator, apify: httpx.Client) -> None:
    emu.add_fault(kind="slow_body", route="GET /v2/users/me", chunk_size=400, chunk_delay=0.05)
    started = time.monotonic()
    response = apify.get("/v2/users/me")
    elapsed = time.monotonic() - started
    assert response.status_code == 200 and response.json()["data"]["username"] == "demo"
    chunks = -(-len(response.content) // 400)
    assert chunks >= 3 and elapsed >= 0.05 * (chunks - 1) * 0.9


def test_slow_body_can_trigger_a_read_timeout(emu: Emulator, apify: httpx.Client) -> None:
    emu.add_fault(kind="slow_body", route="GET /v2/users/me", chunk_size=50, chunk_delay=0.3)
    with pytest.raises(httpx.ReadTimeout):
        apify.get("/v2/users/me", timeout=0.1)


def test_malformed_json_is_a_truncated_200(emu: Emulator, templates: httpx.Client) -> None:
    emu.add_fault(kind="malformed_json", method="POST", route="/v1/templates/builds")
    response = templates.post("/v1/templates/builds", json={"name": "x"})
    assert response.status_code == 200 and response.text.startswith('{"build_id"')
    with pytest.raises(json.JSONDecodeError):
        response.json()
    assert len(emu.template_builds()) == 1  # processed, only the body was cut


def test_every_time_faults_path_regex_and_removal(emu: Emulator, apify: httpx.Client) -> None:
    fault = emu.add_fault(status=500, path_regex=r"/users/", times=None)
    assert [apify.get("/v2/users/me").status_code for _ in range(3)] == [500, 500, 500]
    assert apify.post("/v2/actors/demo~hello/runs").status_code == 201  # not matched
    assert emu.faults[0]["hits"] == 3 and emu.faults[0]["remaining"] is None
    assert emu.remove_fault(fault.id) and not emu.remove_fault(fault.id)
    assert apify.get("/v2/users/me").status_code == 200


def test_faults_match_method_route_and_api(
    emu: Emulator, apify: httpx.Client, templates: httpx.Client
) -> None:
    emu.add_fault(status=500, method="get", api="templates", times=None)
    assert apify.get("/v2/users/me").status_code == 200
    assert templates.get("/v1/templates").status_code == 500
    assert templates.post("/v1/templates/builds", json={}).status_code == 202
    emu.clear_faults()
    assert templates.get("/v1/templates").status_code == 200


def test_control_api_is_never_faulted_or_journaled(emu: Emulator, base_url: str) -> None:
    emu.add_fault(kind="drop_before", times=None)
    assert httpx.get(f"{base_url}/_emulator/state").status_code == 200
    assert emu.journal == []


def test_fault_validation() -> None:
    with pytest.raises(ValidationError):
        Fault(status=200)
    with pytest.raises(ValidationError):
        Fault(kind="explode")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Fault(path_regex="(")
    with pytest.raises(ValidationError):
        Fault(times=0)
    assert Fault(route="post /v2/x").method == "POST"

"""Every emulated Apify route's responses, success and error, validated against the OpenAPI subset.

The spec is vendored in ``tests/fixtures/reference/apify/openapi-subset.yaml`` (provenance in the
README there); if it is missing the tests fail, they never skip.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from _spec import APIFY_SPEC, OpenAPIRequest, reference_file

from airflow_provider_jobs.emulator.emulator import Emulator
from airflow_provider_jobs.emulator.timelines import Timeline

SPEC_PATH = APIFY_SPEC


@functools.lru_cache(maxsize=1)
def _spec() -> tuple[Any, dict[str, Any]]:
    import yaml
    from openapi_core import OpenAPI

    raw = yaml.safe_load(SPEC_PATH.read_text())
    return OpenAPI.from_dict(raw), raw


@pytest.fixture(scope="module")
def openapi() -> tuple[Any, dict[str, Any]]:
    reference_file(SPEC_PATH)
    return _spec()


@dataclass
class _Response:
    response: httpx.Response

    @property
    def status_code(self) -> int:
        return self.response.status_code

    @property
    def content_type(self) -> str:
        return self.response.headers.get("content-type", "").lower()

    @property
    def headers(self) -> Any:
        from werkzeug.datastructures import Headers

        return Headers(list(self.response.headers.items()))

    @property
    def data(self) -> bytes:
        return self.response.content


def check(openapi: tuple[Any, dict[str, Any]], response: httpx.Response, status: int) -> dict[str, Any]:
    """Assert the status and validate the response against its operation in the spec."""
    assert response.status_code == status, response.text
    openapi[0].validate_response(OpenAPIRequest(response.request), _Response(response))
    return dict(response.json())


def check_error_body(openapi: tuple[Any, dict[str, Any]], response: httpx.Response, status: int) -> str:
    """Validate an error the spec has no operation for (405, unknown path, 5xx) against ErrorResponse."""
    from jsonschema import Draft202012Validator

    assert response.status_code == status
    schema = {"$ref": "#/components/schemas/ErrorResponse", "components": openapi[1]["components"]}
    Draft202012Validator(schema).validate(response.json())
    return str(response.json()["error"]["type"])


@pytest.fixture
def scripted(emu: Emulator) -> dict[str, str]:
    """An actor with runs in every status and builds in a few."""
    slow = Timeline(ready_secs=100_000, running_secs=100_000, abort_grace_secs=100_000, timing_out_secs=100_000)
    emu.seed_actor("demo~hello", run=slow, build=slow)
    runs = {
        status: emu.create_run("demo~hello", status=status)
        for status in (
            "READY",
            "RUNNING",
            "TIMING-OUT",
            "SUCCEEDED",
            "FAILED",
            "TIMED-OUT",
            "ABORTING",
            "ABORTED",
        )
    }
    runs["build:RUNNING"] = emu.create_build("demo~hello", status="RUNNING")
    runs["build:SUCCEEDED"] = emu.builds_of("demo~hello")[0]["id"]
    return runs


@pytest.mark.parametrize("prefix", ["/v2/actors", "/v2/acts"])
def test_start_run_responses(
    openapi: Any, apify: httpx.Client, base_url: str, scripted: dict[str, str], prefix: str
) -> None:
    created = check(
        openapi,
        apify.post(f"{prefix}/demo~hello/runs", params={"timeout": 30, "maxItems": 5}, json={"a": 1}),
        201,
    )
    assert created["data"]["options"]["maxItems"] == 5
    check(openapi, apify.post(f"{prefix}/demo~hello/runs", params={"waitForFinish": 0.2}), 201)
    check(
        openapi,
        apify.post(f"{prefix}/demo~hello/runs", content=b"[]", headers={"content-type": "application/json"}),
        400,
    )
    check(openapi, apify.post(f"{prefix}/demo~hello/runs", params={"build": "nope"}), 403)
    check(openapi, apify.post(f"{prefix}/demo~missing/runs"), 404)
    check(openapi, httpx.post(f"{base_url}{prefix}/demo~hello/runs"), 401)
    check(
        openapi,
        httpx.post(f"{base_url}{prefix}/demo~hello/runs", headers={"Authorization": "Bearer bad"}),
        401,
    )


def test_list_runs_responses(
    openapi: Any, emu: Emulator, apify: httpx.Client, base_url: str, scripted: dict[str, str]
) -> None:
    listed = check(openapi, apify.get("/v2/actors/demo~hello/runs", params={"desc": "true", "limit": 3}), 200)
    assert listed["data"]["total"] == 8 and listed["data"]["count"] == 3
    check(openapi, apify.get("/v2/acts/demo~hello/runs", params={"status": "SUCCEEDED,ABORTED"}), 200)
    check(openapi, apify.get("/v2/actors/demo~hello/runs", params={"status": "NOPE"}), 400)
    check(openapi, apify.get("/v2/actors/demo~missing/runs"), 404)
    check(openapi, httpx.get(f"{base_url}/v2/actors/demo~hello/runs"), 401)
    emu.add_fault(route="GET /v2/actors/{actorId}/runs", status=429, retry_after=1)
    check(openapi, apify.get("/v2/actors/demo~hello/runs"), 429)


def test_get_run_responses_in_every_status(
    openapi: Any, apify: httpx.Client, base_url: str, scripted: dict[str, str]
) -> None:
    for status in (
        "READY",
        "RUNNING",
        "TIMING-OUT",
        "SUCCEEDED",
        "FAILED",
        "TIMED-OUT",
        "ABORTING",
        "ABORTED",
    ):
        data = check(openapi, apify.get(f"/v2/actor-runs/{scripted[status]}"), 200)["data"]
        assert data["status"] == status and ("finishedAt" in data)
    anonymous = check(openapi, httpx.get(f"{base_url}/v2/actor-runs/{scripted['RUNNING']}"), 200)["data"]
    assert "usageTotalUsd" not in anonymous
    check(openapi, apify.get(f"/v2/actor-runs/{scripted['RUNNING']}", params={"waitForFinish": 0.1}), 200)
    check(openapi, apify.get("/v2/actor-runs/missing"), 404)
    check(openapi, apify.get(f"/v2/actor-runs/{scripted['RUNNING']}", params={"waitForFinish": "x"}), 400)
    check(
        openapi,
        httpx.get(f"{base_url}/v2/actor-runs/{scripted['READY']}", headers={"Authorization": "Bearer x"}),
        401,
    )


def test_abort_run_responses(
    openapi: Any, apify: httpx.Client, base_url: str, scripted: dict[str, str]
) -> None:
    graceful = check(
        openapi, apify.post(f"/v2/actor-runs/{scripted['RUNNING']}/abort", params={"gracefully": "true"}), 200
    )
    assert graceful["data"]["status"] == "ABORTING"
    hard = check(openapi, apify.post(f"/v2/actor-runs/{scripted['READY']}/abort"), 200)
    assert hard["data"]["status"] == "ABORTED"
    check(openapi, apify.post(f"/v2/actor-runs/{scripted['SUCCEEDED']}/abort"), 200)
    check(openapi, apify.post(f"/v2/actors/demo~hello/runs/{scripted['TIMING-OUT']}/abort"), 200)
    check(
        openapi,
        apify.post(f"/v2/acts/demo~hello/runs/{scripted['ABORTED']}/abort", params={"gracefully": "1"}),
        200,
    )
    check(openapi, apify.post("/v2/actor-runs/missing/abort"), 404)
    check(openapi, apify.post("/v2/actors/demo~hello/runs/missing/abort"), 404)
    check(
        openapi,
        apify.post(f"/v2/actor-runs/{scripted['RUNNING']}/abort", params={"gracefully": "perhaps"}),
        400,
    )
    check(openapi, httpx.post(f"{base_url}/v2/actor-runs/{scripted['RUNNING']}/abort"), 401)


def test_build_responses(openapi: Any, apify: httpx.Client, base_url: str, scripted: dict[str, str]) -> None:
    started = check(
        openapi,
        apify.post("/v2/actors/demo~hello/builds", params={"version": "0.1", "useCache": "true"}),
        201,
    )
    check(
        openapi,
        apify.post(
            "/v2/acts/demo~hello/builds", params={"version": "0.1", "tag": "beta", "waitForFinish": 0.1}
        ),
        201,
    )
    check(openapi, apify.post("/v2/actors/demo~hello/builds"), 400)
    check(openapi, apify.post("/v2/actors/demo~missing/builds", params={"version": "0.1"}), 404)
    check(openapi, httpx.post(f"{base_url}/v2/actors/demo~hello/builds", params={"version": "0.1"}), 401)
    for key in ("build:RUNNING", "build:SUCCEEDED"):
        check(openapi, apify.get(f"/v2/actor-builds/{scripted[key]}"), 200)
        anonymous = check(openapi, httpx.get(f"{base_url}/v2/actor-builds/{scripted[key]}"), 200)
        assert "usageUsd" not in anonymous["data"]
    check(openapi, apify.get("/v2/actor-builds/missing"), 404)
    aborted = check(openapi, apify.post(f"/v2/actor-builds/{started['data']['id']}/abort"), 200)
    assert aborted["data"]["status"] == "ABORTED"
    check(openapi, apify.post(f"/v2/actor-builds/{scripted['build:SUCCEEDED']}/abort"), 200)
    check(openapi, apify.post("/v2/actor-builds/missing/abort"), 404)
    check(openapi, httpx.post(f"{base_url}/v2/actor-builds/{scripted['build:RUNNING']}/abort"), 401)


def test_the_validation_can_fail(
    openapi: Any, emu: Emulator, apify: httpx.Client, scripted: dict[str, str]
) -> None:
    """Guard against a vacuous check: a run without a required field, or a bad status, is rejected."""
    from jsonschema import ValidationError as SchemaError
    from openapi_core.validation.response.exceptions import InvalidData

    good = apify.get(f"/v2/actor-runs/{scripted['RUNNING']}")
    for broken in ({"defaultDatasetId": None}, {"status": "FINISHED"}, {"buildNumber": "0.0.0"}):
        data = {**good.json()["data"], **broken}
        fake = httpx.Response(200, json={"data": data}, request=good.request)
        with pytest.raises(InvalidData):
            openapi[0].validate_response(OpenAPIRequest(fake.request), _Response(fake))
    with pytest.raises(SchemaError):
        check_error_body(openapi, httpx.Response(404, json={"error": {"type": "run-not-found"}}), 404)


def test_users_me_responses(openapi: Any, apify: httpx.Client, base_url: str) -> None:
    check(openapi, apify.get("/v2/users/me"), 200)
    check(openapi, httpx.get(f"{base_url}/v2/users/me"), 401)


def test_errors_without_an_operation_match_error_response(
    openapi: Any, emu: Emulator, apify: httpx.Client
) -> None:
    assert check_error_body(openapi, apify.get("/v2/nowhere"), 404) == "page-not-found"
    assert check_error_body(openapi, apify.put("/v2/users/me"), 405) == "method-not-allowed"
    emu.add_fault(status=500, times=None, api="apify")
    for status in (500, 502, 503, 504):
        emu.clear_faults()
        emu.add_fault(status=status, api="apify")
        assert check_error_body(openapi, apify.get("/v2/users/me"), status) == "internal-server-error"


def test_fault_429_on_every_operation_is_valid(
    openapi: Any, emu: Emulator, apify: httpx.Client, scripted: dict[str, str]
) -> None:
    emu.add_fault(status=429, retry_after=1, times=None)
    requests = [
        ("POST", "/v2/actors/demo~hello/runs"),
        ("GET", f"/v2/actor-runs/{scripted['READY']}"),
        ("POST", f"/v2/actor-runs/{scripted['READY']}/abort"),
        ("POST", "/v2/actors/demo~hello/builds?version=0.0"),
        ("GET", f"/v2/actor-builds/{scripted['build:RUNNING']}"),
        ("POST", f"/v2/actor-builds/{scripted['build:RUNNING']}/abort"),
        ("GET", "/v2/users/me"),
    ]
    for method, path in requests:
        body = check(openapi, apify.request(method, path), 429)
        assert body["error"]["type"] == "rate-limit-exceeded"
    assert json.dumps(emu.get_run(scripted["READY"]))  # state untouched and still renderable

"""ApifyHook: every request checked against the Apify OpenAPI subset; models; twins; errors."""

from __future__ import annotations

import asyncio
import inspect
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from _spec import validate_apify_request
from _support import APIFY_TOKEN, Recorder, apify_error, apify_ok, conn_json

from airflow_provider_jobs._retry import RetryPolicy
from airflow_provider_jobs.exceptions import (
    InvalidArgumentError,
    InvalidIdError,
    JobWaitTimeout,
    NotFoundError,
    StartOutcomeUnknownError,
    UnexpectedResponseError,
)
from airflow_provider_jobs.hooks.apify import ApifyHook
from airflow_provider_jobs.models import ApifyBuild, ApifyJobStatus, ApifyRun, ApifyRunList, ApifyUser

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "apify"
RUN = json.loads((FIXTURES / "run_aborted.json").read_text())["data"]
BUILD = json.loads((FIXTURES / "build_succeeded.json").read_text())["data"]
RUN_LIST = json.loads((FIXTURES / "run_list.json").read_text())
FAST = RetryPolicy(max_retries=3, base_delay=0.0, max_delay=0.0)

pytestmark = pytest.mark.usefixtures("mock_connections")


def hook(recorder: Recorder) -> ApifyHook:
    return ApifyHook(transport=recorder.transport(), async_transport=recorder.async_transport(), retry_policy=FAST)


def call(h: ApifyHook, mode: str, name: str, *args: Any, **kwargs: Any) -> Any:
    if mode == "sync":
        return getattr(h, name)(*args, **kwargs)
    return asyncio.run(getattr(h, "a" + name)(*args, **kwargs))


MODES = ["sync", "async"]

CASES: list[tuple[str, tuple, dict, dict, str, str, dict[str, str], Any]] = [
    # name, args, kwargs, response data, method, path, expected query, expected json body
    ("get_run", ("HG7ML7M8z78YcAPEB",), {}, RUN, "GET", "/v2/actor-runs/HG7ML7M8z78YcAPEB", {}, None),
    ("get_run", ("r1",), {"wait_for_finish": 45}, RUN, "GET", "/v2/actor-runs/r1", {"waitForFinish": "45"}, None),
    ("get_run", ("r1",), {"wait_for_finish": 600}, RUN, "GET", "/v2/actor-runs/r1", {"waitForFinish": "60"}, None),
    ("abort_run", ("r1",), {}, RUN, "POST", "/v2/actor-runs/r1/abort", {}, None),
    ("abort_run", ("r1",), {"gracefully": True}, RUN, "POST", "/v2/actor-runs/r1/abort", {"gracefully": "true"}, None),
    ("start_run", ("janedoe/my-actor",), {}, RUN, "POST", "/v2/actors/janedoe~my-actor/runs", {}, {}),
    ("start_run", ("janedoe~my-actor", {"url": "https://x"}),
     {"build": "latest", "timeout_secs": 300, "memory_mbytes": 1024, "wait_for_finish": 10, "max_items": 5,
      "max_total_charge_usd": 1.5},
     RUN, "POST", "/v2/actors/janedoe~my-actor/runs",
     {"build": "latest", "timeout": "300", "memory": "1024", "waitForFinish": "10", "maxItems": "5",
      "maxTotalChargeUsd": "1.5"}, {"url": "https://x"}),
    ("list_runs", ("janedoe~my-actor",), {"status": ["SUCCEEDED", "FAILED"], "offset": 10, "limit": 5, "desc": False},
     RUN_LIST["data"], "GET", "/v2/actors/janedoe~my-actor/runs",
     {"status": "SUCCEEDED,FAILED", "offset": "10", "limit": "5", "desc": "false"}, None),
    ("list_runs", ("a1",), {"status": "ABORTED"}, RUN_LIST["data"], "GET", "/v2/actors/a1/runs",
     {"status": "ABORTED", "offset": "0", "limit": "100", "desc": "true"}, None),
    ("get_build", ("b1",), {"wait_for_finish": 30}, BUILD, "GET", "/v2/actor-builds/b1", {"waitForFinish": "30"}, None),
    ("abort_build", ("b1",), {}, BUILD, "POST", "/v2/actor-builds/b1/abort", {}, None),
    ("start_build", ("janedoe~my-actor", "0.1"), {"tag": "latest", "use_cache": True, "beta_packages": False},
     BUILD, "POST", "/v2/actors/janedoe~my-actor/builds",
     {"version": "0.1", "tag": "latest", "useCache": "true", "betaPackages": "false"}, None),
    ("get_user", (), {}, {"id": "u1", "username": "janedoe"}, "GET", "/v2/users/me", {}, None),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("name", "args", "kwargs", "data", "method", "path", "query", "body"), CASES)
def test_requests_match_the_spec(
    recorder: Recorder, mode: str, name: str, args: tuple, kwargs: dict, data: dict, method: str, path: str,
    query: dict[str, str], body: Any,
) -> None:
    recorder.default = apify_ok(data, status=201 if name.startswith("start") else 200)
    result = call(hook(recorder), mode, name, *args, **kwargs)
    req = recorder.last
    assert (req.method, req.url.path, dict(req.url.params)) == (method, path, query)
    if body is None:
        assert req.content == b""
    else:
        assert json.loads(req.content) == body
    assert req.headers["authorization"] == f"Bearer {APIFY_TOKEN}"
    validate_apify_request(req)
    expected = {"get_run": ApifyRun, "abort_run": ApifyRun, "start_run": ApifyRun, "list_runs": ApifyRunList,
                "get_build": ApifyBuild, "abort_build": ApifyBuild, "start_build": ApifyBuild, "get_user": ApifyUser}
    assert isinstance(result, expected[name])


def test_long_poll_read_timeout_exceeds_sixty_seconds(recorder: Recorder) -> None:
    recorder.default = apify_ok(RUN)
    hook(recorder).get_run("r1", wait_for_finish=60)
    assert recorder.last.extensions["timeout"]["read"] > 60


def test_run_model_fields_are_snake_case_and_extras_kept(recorder: Recorder) -> None:
    recorder.default = apify_ok({**RUN, "brandNewField": {"x": 1}})
    run = hook(recorder).get_run("r1")
    assert run.status == ApifyJobStatus.ABORTED == "ABORTED"
    assert run.act_id == "janedoe~my-actor" and run.default_dataset_id == "wmKPijuyDnPZAPRMk"
    assert run.usage_total_usd == 0.2654 and run.options and run.options.timeout_secs == 300
    assert run.model_extra and run.model_extra["brandNewField"] == {"x": 1}
    summary = run.summary()
    json.dumps(summary)
    assert summary["id"] == RUN["id"] and summary["status"] == "ABORTED"
    assert summary["console_url"] == f"https://console.apify.com/actors/janedoe~my-actor/runs/{RUN['id']}"


def test_console_url_from_connection_extra(recorder: Recorder, monkeypatch: pytest.MonkeyPatch) -> None:
    from _support import conn_json

    monkeypatch.setenv("AIRFLOW_CONN_APIFY_CONSOLE", conn_json("apify", "t", console_url="https://console.example/"))
    assert ApifyHook("apify_console").console_base_url == "https://console.example"


def test_abort_of_finished_run_is_success(recorder: Recorder) -> None:
    recorder.default = apify_ok({**RUN, "status": "SUCCEEDED"})
    assert hook(recorder).abort_run("r1").status == "SUCCEEDED"


@pytest.mark.parametrize("mode", MODES)
def test_abort_answered_job_finished_reads_the_job(recorder: Recorder, mode: str) -> None:
    recorder.responses = [apify_error(403, "job-finished", "already finished"), apify_ok({**RUN, "status": "FAILED"})]
    assert call(hook(recorder), mode, "abort_run", "r1").status == "FAILED"
    assert [r.method for r in recorder.requests] == ["POST", "GET"]


def test_404_is_not_found_with_context(recorder: Recorder) -> None:
    recorder.default = apify_error(404, "record-not-found", "Run was not found")
    with pytest.raises(NotFoundError) as err:
        hook(recorder).abort_run("r404")
    assert err.value.job_id == "r404" and err.value.conn_id == "apify_default"
    assert "Abort of Apify run r404 failed on connection 'apify_default': HTTP 404 record-not-found" in str(err.value)


def test_start_never_duplicates(recorder: Recorder) -> None:
    recorder.responses = [httpx.Response(502, text="bad gateway"), apify_ok(RUN, 201)]
    with pytest.raises(StartOutcomeUnknownError):
        hook(recorder).start_run("a~b")
    assert len(recorder.requests) == 1


def test_missing_envelope_or_bad_shape(recorder: Recorder) -> None:
    recorder.default = httpx.Response(200, json={"id": "r1"})
    with pytest.raises(UnexpectedResponseError, match="no 'data' object"):
        hook(recorder).get_run("r1")
    recorder.default = apify_ok({"status": "RUNNING"})
    with pytest.raises(UnexpectedResponseError, match="ApifyRun did not validate at 'id'"):
        hook(recorder).get_run("r1")


@pytest.mark.parametrize(
    ("name", "args", "kwargs", "refused"),
    [
        ("get_run", ("../x",), {}, InvalidIdError), ("get_run", ("",), {}, InvalidIdError),
        ("get_run", ("r1",), {"wait_for_finish": -1}, InvalidArgumentError),
        ("abort_run", ("a?b",), {}, InvalidIdError), ("abort_run", ("r1",), {"gracefully": "yes"}, InvalidArgumentError),
        ("start_run", ("a/b/c",), {}, InvalidIdError),
        ("start_run", ("a~b", ["not", "a", "dict"]), {}, InvalidArgumentError),
        ("start_run", ("a~b", {"x": object()}), {}, InvalidArgumentError),
        ("start_run", ("a~b",), {"memory_mbytes": 0}, InvalidArgumentError),
        ("start_run", ("a~b",), {"timeout_secs": "300"}, InvalidArgumentError),
        ("start_run", ("a~b",), {"build": "lat est"}, InvalidIdError),
        ("start_run", ("a~b",), {"max_total_charge_usd": -2}, InvalidArgumentError),
        ("list_runs", ("a~b",), {"status": "DONE"}, InvalidArgumentError),
        ("list_runs", ("a~b",), {"limit": 0}, InvalidArgumentError),
        ("get_build", ("b#1",), {}, InvalidIdError), ("abort_build", ("%2e%2e",), {}, InvalidIdError),
        ("start_build", ("a~b", "0 .1"), {}, InvalidIdError),
        ("start_build", ("a~b", "0.1"), {"use_cache": "true"}, InvalidArgumentError),
    ],
)
@pytest.mark.parametrize("mode", MODES)
def test_bad_input_makes_no_request(
    recorder: Recorder, mode: str, name: str, args: tuple, kwargs: dict, refused: type
) -> None:
    """An id is refused with InvalidIdError, any other argument with its base InvalidArgumentError."""
    with pytest.raises(InvalidArgumentError) as err:
        call(hook(recorder), mode, name, *args, **kwargs)
    assert type(err.value) is refused
    assert recorder.requests == []


def test_wait_for_run_loops_until_terminal(recorder: Recorder) -> None:
    recorder.responses = [apify_ok({**RUN, "status": "RUNNING"}), apify_ok({**RUN, "status": "RUNNING"}),
                          apify_ok({**RUN, "status": "SUCCEEDED"})]
    run = hook(recorder).wait_for_run("r1", timeout=600)
    assert run.status == "SUCCEEDED"
    assert [r.url.params["waitForFinish"] for r in recorder.requests] == ["60", "60", "60"]


def test_wait_for_build_async(recorder: Recorder) -> None:
    recorder.responses = [apify_ok({**BUILD, "status": "READY"}), apify_ok({**BUILD, "status": "FAILED"})]
    build = asyncio.run(hook(recorder).await_for_build("b1", timeout=None))
    assert build.status == "FAILED"


def test_wait_deadline_raises_instead_of_returning_unfinished(recorder: Recorder) -> None:
    recorder.default = apify_ok({**RUN, "status": "RUNNING"})
    with pytest.raises(JobWaitTimeout) as err:
        hook(recorder).wait_for_run("r1", timeout=0.3)
    assert err.value.status == "RUNNING" and err.value.job_id == "r1"
    assert recorder.requests[0].url.params.get("waitForFinish") is None  # budget < 1 s: no long poll


def test_wait_tolerates_404_only_within_grace(recorder: Recorder) -> None:
    recorder.responses = [apify_error(404, "record-not-found", "Run was not found"),
                          apify_ok({**RUN, "status": "SUCCEEDED"})]
    assert hook(recorder).wait_for_run("r1", timeout=30, not_found_grace=5).status == "SUCCEEDED"
    recorder.responses = [apify_error(404, "record-not-found", "Run was not found")]
    with pytest.raises(NotFoundError):
        hook(recorder).wait_for_run("r1", timeout=30)


def test_test_connection_reports_both_ways(recorder: Recorder) -> None:
    recorder.default = apify_ok({"id": "u1", "username": "janedoe"})
    ok, message = hook(recorder).test_connection()
    assert ok and "janedoe" in message
    assert recorder.last.url.path == "/v2/users/me" and recorder.last.method == "GET"
    recorder.default = apify_error(401, "user-or-token-not-found", "User was not found or authentication token is not valid")
    ok, message = hook(recorder).test_connection()
    assert not ok and "401" in message and APIFY_TOKEN not in message
    ok, message = asyncio.run(hook(recorder).atest_connection())
    assert not ok and "401" in message


def test_every_public_method_has_an_async_twin_with_the_same_signature() -> None:
    public = [n for n, f in inspect.getmembers(ApifyHook, inspect.isfunction)
              if not n.startswith("_") and not inspect.iscoroutinefunction(f) and n in ApifyHook.__dict__]
    expected = {"get_run", "abort_run", "start_run", "list_runs", "wait_for_run", "get_build", "abort_build",
                "start_build", "wait_for_build", "get_user", "test_connection"}
    assert expected <= set(public)
    for name in expected:
        twin = getattr(ApifyHook, "a" + name)
        assert inspect.iscoroutinefunction(twin), name
        assert inspect.signature(twin).parameters == inspect.signature(getattr(ApifyHook, name)).parameters, name


def test_hook_registration_attributes() -> None:
    assert (ApifyHook.conn_type, ApifyHook.conn_name_attr, ApifyHook.default_conn_name) == (
        "apify", "apify_conn_id", "apify_default")
    assert ApifyHook().apify_conn_id == "apify_default"


def test_token_is_registered_with_airflows_secret_masker(recorder: Recorder) -> None:
    try:  # Airflow >= 3.1
        from airflow.sdk._shared.secrets_masker.secrets_masker import redact
    except ImportError:  # Airflow 3.0
        from airflow.sdk.execution_time.secrets_masker import redact

    recorder.default = apify_ok(RUN)
    hook(recorder).get_run("r1")
    assert APIFY_TOKEN not in str(redact(f"header was Bearer {APIFY_TOKEN}"))


def test_a_token_pasted_with_spaces_is_masked_as_sent(recorder: Recorder, monkeypatch: pytest.MonkeyPatch) -> None:
    try:  # Airflow >= 3.1
        from airflow.sdk._shared.secrets_masker.secrets_masker import redact
    except ImportError:  # Airflow 3.0
        from airflow.sdk.execution_time.secrets_masker import redact

    sent = "apify_api_PastedWithSpaces0123456789"
    monkeypatch.setenv("AIRFLOW_CONN_APIFY_SPACES", conn_json("apify", f"  {sent}\n"))
    recorder.default = apify_ok(RUN)
    ApifyHook("apify_spaces", transport=recorder.transport()).get_run("r1")
    assert recorder.last.headers["Authorization"] == f"Bearer {sent}"
    assert sent not in str(redact(f"the header was Bearer {sent}"))

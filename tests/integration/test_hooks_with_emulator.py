"""Hooks against the bundled emulator: real HTTP, real retries driven by injected faults."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from airflow_provider_jobs._retry import RetryPolicy
from airflow_provider_jobs.emulator.emulator import Emulator
from airflow_provider_jobs.emulator.timelines import TemplateTimeline, Timeline
from airflow_provider_jobs.exceptions import (
    AuthError,
    NotFoundError,
    RateLimitError,
    ServerError,
    StartOutcomeUnknownError,
    TransportError,
    UnexpectedResponseError,
)
from airflow_provider_jobs.hooks.apify import ApifyHook
from airflow_provider_jobs.hooks.template_builds import TemplateBuildHook

FAST = RetryPolicy(max_retries=3, base_delay=0.01, max_delay=0.05)
ABORT_ROUTE = "POST /v2/actor-runs/{runId}/abort"
START_ROUTE = "POST /v2/actors/{actorId}/runs"


@pytest.fixture
def emu(jobs_emulator: Emulator) -> Emulator:
    jobs_emulator.seed_actor("test~scraper", run=Timeline(ready_secs=1, running_secs=5000),
                             build=Timeline(ready_secs=1, running_secs=50))
    jobs_emulator.seed_template("tmpl-slow", TemplateTimeline(waiting_secs=1, building_secs=50, cancel_delay_secs=2))
    return jobs_emulator


def apify() -> ApifyHook:
    return ApifyHook(retry_policy=FAST)


def test_run_lifecycle_long_poll_and_abort(emu: Emulator) -> None:
    hook = apify()
    run = hook.start_run("test/scraper", {"q": 1}, timeout_secs=600, memory_mbytes=512)
    assert run.status in ("READY", "RUNNING") and run.default_dataset_id
    assert emu.requests(route=START_ROUTE)[0].body == {"q": 1}
    aborted = hook.abort_run(run.id)
    assert aborted.status == "ABORTED"
    again = hook.abort_run(run.id)  # idempotent: a finished run comes back unchanged
    assert again.status == "ABORTED" and again.finished_at == aborted.finished_at
    finished = hook.wait_for_run(run.id, timeout=5)
    assert finished.status == "ABORTED"


def test_graceful_abort_goes_through_aborting(emu: Emulator) -> None:
    emu.seed_actor("test~graceful", run=Timeline(ready_secs=0, running_secs=100, abort_grace_secs=30))
    hook = apify()
    run = hook.start_run("test~graceful")
    assert hook.abort_run(run.id, gracefully=True).status == "ABORTING"
    assert hook.abort_run(run.id, gracefully=True).status == "ABORTING"  # no-op while ABORTING
    assert hook.wait_for_run(run.id, timeout=10).status == "ABORTED"
    assert emu.requests(route=ABORT_ROUTE)[0].query == {"gracefully": "true"}


def test_wait_returns_as_soon_as_the_run_ends(emu: Emulator) -> None:
    emu.seed_actor("test~quick", run=Timeline(ready_secs=0, running_secs=100))  # 1 s at scale 0.01
    hook = apify()
    run = hook.start_run("test~quick")
    assert hook.wait_for_run(run.id, timeout=30).status == "SUCCEEDED"
    polls = emu.requests("GET", "/v2/actor-runs/{runId}")
    assert len(polls) <= 2 and all(p.query.get("waitForFinish") for p in polls)


def test_builds(emu: Emulator) -> None:
    hook = apify()
    build = hook.start_build("test~scraper", "0.1", tag="latest")
    assert hook.get_build(build.id).build_number
    assert hook.abort_build(build.id).status == "ABORTED"


def test_list_runs_status_filter_reaches_the_server(emu: Emulator) -> None:
    hook = apify()
    a, b = hook.start_run("test~scraper"), hook.start_run("test~scraper")
    hook.abort_run(a.id)
    listed = hook.list_runs("test~scraper", status="ABORTED")
    assert [r.id for r in listed.items] == [a.id] and b.id not in [r.id for r in listed.items]


@pytest.mark.parametrize("fault", [
    {"kind": "status", "status": 429, "retry_after": 0.05},
    {"kind": "status", "status": 429, "retry_after": 1, "retry_after_http_date": True},
    {"kind": "status", "status": 500}, {"kind": "status", "status": 502}, {"kind": "status", "status": 503},
    {"kind": "status", "status": 504}, {"kind": "html", "status": 502}, {"kind": "drop_before"},
    {"kind": "drop_after"}, {"kind": "reset_mid_body"}, {"kind": "malformed_json"},
])
def test_abort_survives_transient_faults(emu: Emulator, fault: dict[str, Any]) -> None:
    hook = apify()
    run = hook.start_run("test~scraper")
    emu.add_fault(route=ABORT_ROUTE, times=2, **fault)
    assert hook.abort_run(run.id).status == "ABORTED"
    entries = emu.requests(route=ABORT_ROUTE)
    assert len(entries) == 3 and [e.fault is not None for e in entries] == [True, True, False]


def test_abort_fails_typed_when_the_fault_persists(emu: Emulator) -> None:
    hook = apify()
    run = hook.start_run("test~scraper")
    emu.add_fault(route=ABORT_ROUTE, times=None, kind="status", status=503)
    with pytest.raises(ServerError) as err:
        hook.abort_run(run.id)
    assert err.value.attempts == 4 and err.value.job_id == run.id and err.value.request_id
    emu.clear_faults()
    emu.add_fault(route=ABORT_ROUTE, times=None, kind="status", status=429, retry_after=0.01)
    with pytest.raises(RateLimitError):
        hook.abort_run(run.id)


@pytest.mark.parametrize("kind", ["drop_after", "reset_mid_body", "malformed_json", "drop_before"])
def test_start_is_never_duplicated(emu: Emulator, kind: str) -> None:
    emu.add_fault(route=START_ROUTE, times=1, kind=kind)
    with pytest.raises(StartOutcomeUnknownError, match="may have been created"):
        apify().start_run("test~scraper")
    assert len(emu.requests(route=START_ROUTE)) == 1
    created = len(emu.runs_of("test~scraper"))
    assert created == (0 if kind == "drop_before" else 1)


@pytest.mark.parametrize("status", [500, 503])
def test_start_5xx_is_not_retried(emu: Emulator, status: int) -> None:
    emu.add_fault(route=START_ROUTE, times=1, kind="status", status=status)
    with pytest.raises(StartOutcomeUnknownError):
        apify().start_run("test~scraper")
    assert len(emu.requests(route=START_ROUTE)) == 1


def test_start_is_retried_after_429(emu: Emulator) -> None:
    emu.add_fault(route=START_ROUTE, times=2, kind="status", status=429, retry_after=0.01)
    run = apify().start_run("test~scraper")
    assert len(emu.requests(route=START_ROUTE)) == 3 and len(emu.runs_of("test~scraper")) == 1
    assert run.id == emu.runs_of("test~scraper")[0]["id"]


def test_start_is_retried_when_the_connection_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("AIRFLOW_CONN_APIFY_DEAD",
                       f'{{"conn_type": "apify", "host": "http://127.0.0.1:{port}", "password": "t"}}')
    with pytest.raises(TransportError) as err:
        ApifyHook("apify_dead", retry_policy=FAST).start_run("a~b")
    assert err.value.attempts == 4  # ConnectError proves nothing was sent: retried


def test_read_timeout_on_get_is_retried(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    env = emu.connection_env()["AIRFLOW_CONN_APIFY_DEFAULT"].replace('"password"', '"extra": {"read_timeout": 0.3}, "password"')
    monkeypatch.setenv("AIRFLOW_CONN_APIFY_SHORT", env)
    hook = ApifyHook("apify_short", retry_policy=FAST)
    run = hook.start_run("test~scraper")
    emu.add_fault(method="GET", route="/v2/actor-runs/{runId}", kind="delay", delay=1.0, times=1)
    assert hook.get_run(run.id).id == run.id
    assert len(emu.requests("GET", "/v2/actor-runs/{runId}")) == 2


def test_errors_from_the_emulator_are_typed(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(NotFoundError, match="record-not-found"):
        apify().get_run("NoSuchRun12345678")
    env = emu.connection_env()["AIRFLOW_CONN_APIFY_DEFAULT"].replace(emu.apify_token, "wrong-token-value")
    monkeypatch.setenv("AIRFLOW_CONN_APIFY_BAD", env)
    with pytest.raises(AuthError, match="user-or-token-not-found"):
        ApifyHook("apify_bad").get_user()
    ok, message = ApifyHook("apify_bad").test_connection()
    assert not ok and "401" in message
    assert apify().test_connection()[0]


def test_token_travels_only_in_the_header(emu: Emulator) -> None:
    hook = apify()
    run = hook.start_run("test~scraper")
    hook.abort_run(run.id)
    for entry in emu.journal:
        assert entry.token_source == "header"
        assert emu.apify_token not in entry.raw_query and emu.apify_token not in entry.path


def test_async_twins_share_one_pool(emu: Emulator) -> None:
    hook = apify()
    runs = [hook.start_run("test~scraper") for _ in range(5)]

    async def abort_all() -> list[Any]:
        return await asyncio.gather(*(ApifyHook(retry_policy=FAST).aabort_run(r.id) for r in runs))

    emu.add_fault(route=ABORT_ROUTE, times=3, kind="status", status=429, retry_after=0.01)
    results = asyncio.run(abort_all())
    assert {r.status for r in results} == {"ABORTED"}


def test_template_build_cancel_logs_and_wait(emu: Emulator) -> None:
    hook = TemplateBuildHook(retry_policy=FAST)
    build = hook.start_build({"name": "tmpl-slow", "dockerfile": "FROM python:3.11"})
    snap = hook.cancel_build(build.build_id, reason="superseded by a newer commit")
    assert snap.build.cancellation_reason == "superseded by a newer commit"
    assert snap.build.cancel_pending or snap.build.status == "cancelled"
    final = hook.wait_for_build(build.build_id, timeout=10, poll_interval=0.02)
    assert final.status == "cancelled"
    entries = list(hook.stream_logs(build.build_id, follow=True))
    assert entries and entries[-1].kind == "cancelled"
    assert [e.offset for e in entries] == list(range(len(entries)))
    again = hook.cancel_build(build.build_id)  # idempotent on a terminal build
    assert again.build.status == "cancelled"


def test_template_stream_follows_live_and_resumes_after_a_reset(emu: Emulator) -> None:
    emu.seed_template("tmpl-live", TemplateTimeline(waiting_secs=0, building_secs=60))
    hook = TemplateBuildHook(retry_policy=FAST)
    build = hook.start_build(name="tmpl-live")
    emu.add_fault(method="GET", route="/v1/templates/builds/{build_id}/logs", kind="reset_mid_body", times=1)
    entries = list(hook.stream_logs(build.build_id, follow=True))
    assert entries[-1].kind == "end"
    offsets = [e.offset for e in entries]
    assert offsets == sorted(set(offsets)) and offsets[0] == 0


def test_template_build_of_another_key_is_404(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    emu.add_template_token("other-key-123456")
    other = emu.create_template_build("tmpl-slow", token="other-key-123456")
    with pytest.raises(NotFoundError):
        TemplateBuildHook().get_build(other)
    with pytest.raises(NotFoundError):
        TemplateBuildHook().cancel_build(other)


@pytest.mark.parametrize("fault", [{"kind": "status", "status": 503}, {"kind": "drop_after"},
                                   {"kind": "status", "status": 429, "retry_after": 0.01}])
def test_template_cancel_survives_faults(emu: Emulator, fault: dict[str, Any]) -> None:
    hook = TemplateBuildHook(retry_policy=FAST)
    build = hook.start_build(name="tmpl-slow")
    emu.add_fault(route="POST /v1/templates/builds/{build_id}/cancel", times=2, **fault)
    snap = hook.cancel_build(build.build_id, reason="r")
    assert snap.build.cancel_requested_at is not None


def test_malformed_body_on_start_is_reported_not_retried(emu: Emulator) -> None:
    emu.add_fault(route="POST /v1/templates/builds", kind="malformed_json", times=1)
    with pytest.raises(StartOutcomeUnknownError):
        TemplateBuildHook(retry_policy=FAST).start_build(name="tmpl-slow")
    assert len(emu.template_builds("tmpl-slow")) == 1
    emu.add_fault(method="GET", route="/v1/templates/builds/{build_id}", kind="malformed_json", times=None)
    with pytest.raises(UnexpectedResponseError):
        TemplateBuildHook(retry_policy=FAST).get_build(emu.template_builds("tmpl-slow")[0]["build_id"])

"""Secrets: a recognisable token travels only in the Authorization header and shows up nowhere else.

* In process: every hook method (sync and async, successes and every kind of error), operators,
  sensors, triggers and notifiers, with all loggers at DEBUG (httpx and httpcore included); the
  token must not be in caplog, exception messages or reprs (pickled too), or anything the emulator
  saw except the Authorization header.
* In a real ``dag.test()`` run with Airflow's masker switched off (``rel_secrets`` in
  ``dags/rel_dags.py``): not in the task logs, XComs or rendered template fields.
* Plain http:// to a non-loopback host is refused unless allowed; redirects are never followed,
  so a redirecting server cannot make the client send the header to another server.
"""

from __future__ import annotations

import asyncio
import json
import logging
import pickle
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from _kinds import fake_context
from _rel import FAST, FOREVER, SECRET_APIFY, SECRET_TEMPLATES, conn_value, secret_env
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSensorTimeout

from airflow_provider_jobs import _http, _pools
from airflow_provider_jobs._call import Call
from airflow_provider_jobs._connection import Secret, build_settings
from airflow_provider_jobs._retry import RetryPolicy
from airflow_provider_jobs.emulator.timelines import TemplateTimeline, Timeline
from airflow_provider_jobs.exceptions import (
    AuthError,
    ConflictError,
    InvalidArgumentError,
    InvalidIdError,
    JobFailedError,
    JobsApiError,
    JobsConfigError,
    JobsError,
    JobWaitTimeout,
    NotFoundError,
    PaymentRequiredError,
    RateLimitError,
    RequestRejectedError,
    ServerError,
    StartOutcomeUnknownError,
    TransportError,
    UnexpectedResponseError,
)
from airflow_provider_jobs.hooks.apify import ApifyHook
from airflow_provider_jobs.hooks.template_builds import TemplateBuildHook
from airflow_provider_jobs.notifications.apify import ApifyAbortBuildNotifier, ApifyAbortRunNotifier
from airflow_provider_jobs.notifications.template_builds import TemplateBuildCancelNotifier
from airflow_provider_jobs.operators.apify import (
    ApifyAbortBuildOperator,
    ApifyAbortRunOperator,
    ApifyBuildActorOperator,
    ApifyRunActorOperator,
)
from airflow_provider_jobs.operators.template_builds import TemplateBuildCancelOperator, TemplateBuildOperator
from airflow_provider_jobs.sensors.apify import ApifyBuildSensor, ApifyRunSensor
from airflow_provider_jobs.sensors.template_builds import TemplateBuildSensor
from airflow_provider_jobs.triggers.apify import ApifyRunTrigger
from airflow_provider_jobs.triggers.template_builds import TemplateBuildTrigger

HERE = Path(__file__).resolve().parent
WRONG_APIFY = "rel-APIFY-WRONG-S3CRET-9a8b7c"
WRONG_TEMPLATES = "rel-NS-WRONG-S3CRET-6d5e4f"
SECRETS = (SECRET_APIFY, SECRET_TEMPLATES, WRONG_APIFY, WRONG_TEMPLATES)
QUICK = RetryPolicy(max_retries=1, base_delay=0.01, max_delay=0.02)


def leaks(text: Any) -> list[str]:
    """The secrets (or a 12-character piece of one) found in ``text``."""
    blob = text if isinstance(text, str) else json.dumps(text, default=repr)
    return [s for s in SECRETS if s in blob or s[-12:] in blob]


def seed_secret_world(emu: Any) -> dict[str, str]:
    """Tokens, actors, templates, faults and jobs of the secrets scenarios; returns the job ids."""
    quick = Timeline(ready_secs=0, running_secs=20)
    forever = Timeline(ready_secs=0, running_secs=FOREVER, abort_grace_secs=30)
    emu.seed_actor("rel~quick", run=quick, build=quick)
    emu.seed_actor("rel~forever", run=forever, build=forever, default_timeout_secs=10**9)
    emu.seed_actor("rel~fails", run=Timeline(ready_secs=0, running_secs=10, outcome="FAILED", exit_code=2))
    emu.seed_actor("rel~start-500")
    emu.seed_template("rel-quick", TemplateTimeline(waiting_secs=0, building_secs=20))
    emu.seed_template("rel-forever", TemplateTimeline(waiting_secs=0, building_secs=FOREVER, cancel_delay_secs=10))
    emu.add_fault(route="POST /v2/actors/{actorId}/runs", path_regex="rel~start-500", status=500, times=None)
    emu.add_fault(route="GET /v2/actor-runs/{runId}", path_regex="RateLimited", status=429, retry_after=0.01,
                  times=None)
    emu.add_fault(route="GET /v2/actor-runs/{runId}", path_regex="Malformed", kind="malformed_json", times=None)
    emu.add_fault(route="POST /v2/actor-runs/{runId}/abort", path_regex="Dropped", kind="drop_before", times=None)
    return {
        "abort_run": emu.create_run("rel~forever", status="RUNNING", token=SECRET_APIFY),
        "abort_build": emu.create_build("rel~forever", status="RUNNING", token=SECRET_APIFY),
        "cancel": emu.create_template_build("rel-forever", status="building", token=SECRET_TEMPLATES),
        "done_run": emu.create_run("rel~quick", status="SUCCEEDED", token=SECRET_APIFY),
        "done_build": emu.create_build("rel~quick", status="SUCCEEDED", token=SECRET_APIFY),
        "done_template": emu.create_template_build("rel-quick", status="ready", token=SECRET_TEMPLATES),
        "sensor_timeout": emu.create_run("rel~forever", status="RUNNING", token=SECRET_APIFY),
        "template_timeout": emu.create_template_build("rel-forever", status="building", token=SECRET_TEMPLATES),
    }


def wrong_env(emu: Any) -> dict[str, str]:
    return {"AIRFLOW_CONN_APIFY_WRONG": conn_value("apify", emu.base_url, WRONG_APIFY),
            "AIRFLOW_CONN_TEMPLATE_BUILDS_WRONG": conn_value("template_builds", emu.base_url, WRONG_TEMPLATES)}


def assert_journal_clean(emu: Any) -> int:
    """Every request carried its token in the Authorization header only; return how many were checked."""
    entries = emu.journal
    for e in entries:
        assert e.token_source == "header" and e.query_token is None, (e.method, e.path, e.raw_query)
        assert (e.authorization or "").removeprefix("Bearer ") in SECRETS, e.authorization
        assert not leaks(e.path) and not leaks(e.raw_query) and not leaks(json.dumps(e.body, default=repr)), e.path
        assert not leaks({k: v for k, v in e.headers.items() if k != "authorization"}), e.headers
    return len(entries)


@pytest.fixture
def secret_world(jobs_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in {**secret_env(jobs_emulator), **wrong_env(jobs_emulator)}.items():
        monkeypatch.setenv(name, value)
    return seed_secret_world(jobs_emulator)


# --------------------------------------------------------------------------- in process
def _errors_of(calls: list[Any]) -> list[BaseException]:
    found = []
    for call in calls:
        with pytest.raises((JobsError, ValueError)) as err:
            call()
        found.append(err.value)
    return found


def test_hook_paths_leak_nothing(secret_world: dict[str, str], jobs_emulator: Any,
                                 caplog: pytest.LogCaptureFixture, record_property: Any) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "airflow_provider_jobs"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    apify, templates = ApifyHook(retry_policy=FAST), TemplateBuildHook(retry_policy=FAST)
    texts: list[Any] = [repr(apify), repr(templates), repr(apify.get_conn()), repr(apify.settings),
                        str(apify.settings), repr(templates.settings), repr(apify.settings.token),
                        repr(Call("GET", "/x", "Get of x")), apify.test_connection(), templates.test_connection()]
    run = apify.start_run("rel~quick", {"q": 1})
    texts += [apify.wait_for_run(run.id, timeout=30).summary(), apify.get_user().model_dump(),
              apify.list_runs("rel~quick").model_dump(), apify.abort_run(run.id, gracefully=True).summary()]
    build = apify.start_build("rel~quick", "0.1")
    texts += [apify.wait_for_build(build.id, timeout=30).summary(), apify.abort_build(build.id).summary()]
    tb = templates.start_build(name="rel-quick")
    texts += [templates.wait_for_build(tb.build_id, timeout=30, poll_interval=0.05).summary(),
              [e.format_line() for e in templates.stream_logs(tb.build_id, follow=True)],
              templates.cancel_build(tb.build_id, reason="done").model_dump(), len(templates.list_templates())]

    async def twins() -> list[Any]:
        a, t = ApifyHook(retry_policy=FAST), TemplateBuildHook(retry_policy=FAST)
        started = await a.astart_run("rel~quick")
        out = [await a.await_for_run(started.id, timeout=30), await a.aabort_run(started.id),
               await a.aget_user(), await a.alist_runs("rel~quick"), await a.atest_connection(),
               await t.atest_connection()]
        tb2 = await t.astart_build(name="rel-quick")
        out += [await t.await_for_build(tb2.build_id, timeout=30, poll_interval=0.05),
                [e async for e in t.astream_logs(tb2.build_id, follow=False)], await t.acancel_build(tb2.build_id)]
        await _http.aclose_shared_clients()
        return [repr(x) for x in out]

    texts += asyncio.run(twins())
    errors = _errors_of([
        lambda: apify.get_run("NoSuchRun12345"), lambda: ApifyHook("apify_wrong").get_user(),
        lambda: TemplateBuildHook("template_builds_wrong").cancel_build(secret_world["cancel"]),
        lambda: apify.start_run("rel~start-500"), lambda: ApifyHook(retry_policy=QUICK).get_run("RateLimited123"),
        lambda: ApifyHook(retry_policy=QUICK).get_run("Malformed12345"),
        lambda: ApifyHook(retry_policy=QUICK).abort_run("Dropped1234567"), lambda: apify.get_run("a/../b"),
        lambda: templates.cancel_build("tb_someone_else"), lambda: apify.wait_for_run(run.id, timeout=-1),
        lambda: asyncio.run(ApifyHook("apify_wrong", retry_policy=QUICK).aabort_run(run.id)),
        lambda: asyncio.run(ApifyHook(retry_policy=QUICK).aget_run("RateLimited999")),
    ])
    assert [type(e) for e in errors] == [NotFoundError, AuthError, AuthError, StartOutcomeUnknownError,
                                         RateLimitError, UnexpectedResponseError, TransportError, InvalidIdError,
                                         NotFoundError, InvalidArgumentError, AuthError, RateLimitError]
    for err in errors:
        texts += [str(err), repr(err), vars(err), str(pickle.loads(pickle.dumps(err))),
                  repr(err.__cause__), str(err.__cause__)]
    texts += [r.getMessage() for r in caplog.records] + [caplog.text]
    found = [(i, leaks(t)) for i, t in enumerate(texts) if leaks(t)]
    assert not found, found
    checked = assert_journal_clean(jobs_emulator)
    record_property("journal_entries_checked", checked)
    record_property("texts_checked", len(texts))
    assert checked > 40 and len(caplog.records) > 20


def test_operators_sensors_triggers_and_notifiers_leak_nothing(secret_world: dict[str, str], jobs_emulator: Any,
                                                               caplog: pytest.LogCaptureFixture,
                                                               record_property: Any) -> None:
    caplog.set_level(logging.DEBUG)
    contexts: list[dict[str, Any]] = []
    outputs: list[Any] = []

    def run(task: Any, expect: type[BaseException] | None = None) -> None:
        ctx = fake_context()
        contexts.append(ctx)
        if expect is None:
            outputs.append(task.execute(ctx))
        else:
            with pytest.raises(expect) as err:
                task.execute(ctx)
            outputs.append(repr(err.value))
        outputs.append({name: repr(getattr(task, name)) for name in task.template_fields})

    run(ApifyRunActorOperator(task_id="a", actor_id="rel~quick", run_input={"q": 1}, poll_interval=0.05))
    run(ApifyBuildActorOperator(task_id="b", actor_id="rel~quick", version="0.1", poll_interval=0.05))
    run(TemplateBuildOperator(task_id="c", build_request={"name": "rel-quick"}, poll_interval=0.05))
    run(ApifyRunActorOperator(task_id="d", actor_id="rel~fails", poll_interval=0.05), JobFailedError)
    run(ApifyRunActorOperator(task_id="e", actor_id="rel~forever", wait_timeout=0.3, poll_interval=0.05),
        AirflowException)
    run(ApifyAbortRunOperator(task_id="f", run_id=secret_world["abort_run"]))
    run(ApifyAbortBuildOperator(task_id="g", build_id=secret_world["abort_build"]))
    run(TemplateBuildCancelOperator(task_id="h", build_id=secret_world["cancel"], reason="r"))
    run(ApifyRunSensor(task_id="i", run_id=secret_world["done_run"], poke_interval=0.05, timeout=5))
    run(ApifyBuildSensor(task_id="j", build_id=secret_world["done_build"], poke_interval=0.05, timeout=5))
    run(TemplateBuildSensor(task_id="k", build_id=secret_world["done_template"], poke_interval=0.05, timeout=5))
    run(ApifyRunSensor(task_id="l", run_id=secret_world["sensor_timeout"], poke_interval=0.05, timeout=0.2),
        AirflowSensorTimeout)
    run(ApifyRunSensor(task_id="m", run_id="NoSuchRun12345", poke_interval=0.05, timeout=5), AirflowFailException)
    for notifier in (ApifyAbortRunNotifier(run_id=jobs_emulator.create_run("rel~forever", token=SECRET_APIFY)),
                     ApifyAbortBuildNotifier(build_id=jobs_emulator.create_build("rel~forever", token=SECRET_APIFY)),
                     TemplateBuildCancelNotifier(build_id=secret_world["template_timeout"]),
                     ApifyAbortRunNotifier(run_id="NoSuchRun12345"),
                     ApifyAbortRunNotifier(run_id="r1", apify_conn_id="apify_wrong")):
        assert notifier.notify(fake_context()) is None

    async def triggers() -> list[Any]:
        run_id = jobs_emulator.create_run("rel~quick", token=SECRET_APIFY)
        events = [e.payload async for e in ApifyRunTrigger(run_id, "apify_default", poll_interval=0.05).run()]
        tb = jobs_emulator.create_template_build("rel-forever", token=SECRET_TEMPLATES)
        timed_out = TemplateBuildTrigger(tb, "template_builds_default", end_time=0.0, poll_interval=0.05)
        events += [e.payload async for e in timed_out.run()]
        killed = ApifyRunTrigger(jobs_emulator.create_run("rel~forever", token=SECRET_APIFY), "apify_default")
        await killed.on_kill()
        events.append(killed.serialize())
        await _http.aclose_shared_clients()
        return events

    outputs += asyncio.run(triggers())
    texts = outputs + [c["pushed"] for c in contexts] + [r.getMessage() for r in caplog.records] + [caplog.text]
    found = [(i, leaks(t)) for i, t in enumerate(texts) if leaks(t)]
    assert not found, found
    assert "Could not abort Apify run r1 on connection 'apify_wrong': " in caplog.text  # the 401 was logged
    record_property("journal_entries_checked", assert_journal_clean(jobs_emulator))


EXCEPTIONS: list[BaseException] = [
    JobsConfigError("Connection 'c' has no API token.", conn_id="c"),
    InvalidIdError("Invalid Apify run id 'a/b': it contains '/'."),
    InvalidArgumentError("Invalid timeout: -1 is not a finite, non-negative number of seconds."),
    JobWaitTimeout("Apify run", "r1", "RUNNING", 12.5),
    JobFailedError("Apify run", "r1", "FAILED", detail="boom", console_url="https://console.apify.com/x"),
    *[cls("Abort of Apify run r1 failed on connection 'c': HTTP 500.", status=500, error_type="t", api_message="m",
          request_id="q", job_id="r1", conn_id="c", method="POST", path="/v2/actor-runs/r1/abort", attempts=3,
          retry_after=1.5)
      for cls in (JobsApiError, AuthError, NotFoundError, RequestRejectedError, ConflictError, PaymentRequiredError,
                  RateLimitError, ServerError, UnexpectedResponseError, TransportError, StartOutcomeUnknownError)],
]


@pytest.mark.parametrize("error", EXCEPTIONS, ids=lambda e: type(e).__name__)
def test_every_exception_pickles_with_its_message_and_attributes(error: BaseException) -> None:
    """Airflow ships exceptions between processes: they must survive pickling, and stay inert data."""
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error) and str(copy) == str(error) and vars(copy) == vars(error)
    assert isinstance(copy, JobsError)


def test_secret_and_settings_never_show_the_token() -> None:
    settings = build_settings("c", ApifyHook.service, host="http://127.0.0.1:1", port=None, password=SECRET_APIFY,
                              extra={"read_timeout": 3})
    for text in (repr(settings), str(settings), repr(settings.token), str(settings.token), f"{settings.token}",
                 repr(_http.HttpCore(settings)), repr(pickle.loads(pickle.dumps(settings)))):
        assert not leaks(text), text
    assert settings.token == Secret(SECRET_APIFY) and settings.token.value == SECRET_APIFY


# ---------------------------------------------------------------------- transport rules
def test_plain_http_to_a_non_loopback_host_is_refused_unless_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"data": {"id": "r1", "actId": "a", "status": "RUNNING"}})

    for host in ("http://api.example.com", "http://10.0.0.7:8089", "http://127.0.0.1.nip.io", "http://localhost.evil.com",
                 "api.example.com:80", "http://[2001:db8::1]"):
        if "://" not in host:
            host = "http://" + host
        monkeypatch.setenv("AIRFLOW_CONN_APIFY_PLAIN", conn_value("apify", host, SECRET_APIFY))
        with pytest.raises(JobsConfigError, match="refusing plain http://") as err:
            ApifyHook("apify_plain", transport=httpx.MockTransport(handler)).get_run("r1")
        assert not leaks(str(err.value))
    assert sent == []
    for loopback in ("http://127.0.0.1:8089", "http://localhost:8089", "http://[::1]:8089"):
        monkeypatch.setenv("AIRFLOW_CONN_APIFY_PLAIN", conn_value("apify", loopback, SECRET_APIFY))
        ApifyHook("apify_plain", transport=httpx.MockTransport(handler)).get_run("r1")
    monkeypatch.setenv("AIRFLOW_CONN_APIFY_PLAIN", conn_value("apify", "http://api.example.com", SECRET_APIFY,
                                                              allow_insecure_http=True))
    ApifyHook("apify_plain", transport=httpx.MockTransport(handler)).get_run("r1")
    assert [str(r.url) for r in sent][-1] == "http://api.example.com/v2/actor-runs/r1"


class _Recorder(BaseHTTPRequestHandler):
    """Records every request; answers with the server's ``reply`` (status, headers)."""

    def _handle(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.seen.append((self.command, self.path, dict(self.headers), body))  # type: ignore[attr-defined]
        status, headers = self.server.reply(self.path)  # type: ignore[attr-defined]
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = do_PUT = do_DELETE = _handle

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def two_servers() -> Iterator[tuple[Any, Any]]:
    """A server on one local port that redirects everything to a second local port, which records."""
    target = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    target.seen, target.reply = [], lambda path: (200, {})  # type: ignore[attr-defined]
    redirector = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    redirector.seen = []  # type: ignore[attr-defined]
    redirector.status = 302  # type: ignore[attr-defined]
    port = target.server_address[1]
    redirector.reply = lambda path: (redirector.status, {"Location": f"http://127.0.0.1:{port}{path}"})  # type: ignore
    threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
               for s in (target, redirector)]
    for t in threads:
        t.start()
    yield redirector, target
    for s in (target, redirector):
        s.shutdown()
        s.server_close()


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirects_are_refused_and_the_token_never_reaches_the_other_server(
        two_servers: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch, status: int) -> None:
    redirector, target = two_servers
    redirector.status = status
    base = f"http://127.0.0.1:{redirector.server_address[1]}"
    monkeypatch.setenv("AIRFLOW_CONN_APIFY_REDIRECT", conn_value("apify", base, SECRET_APIFY))
    monkeypatch.setenv("AIRFLOW_CONN_TB_REDIRECT", conn_value("template_builds", base, SECRET_TEMPLATES))
    apify, templates = ApifyHook("apify_redirect", retry_policy=FAST), TemplateBuildHook("tb_redirect",
                                                                                        retry_policy=FAST)
    calls = [lambda: apify.get_run("r1"), lambda: apify.abort_run("r1"), lambda: apify.start_run("a~b", {"x": 1}),
             lambda: apify.get_user(), lambda: templates.cancel_build("tb_1", reason="r"),
             lambda: templates.start_build(name="n"), lambda: list(templates.stream_logs("tb_1", follow=False)),
             lambda: asyncio.run(apify.aget_run("r1")), lambda: asyncio.run(apify.aabort_run("r1")),
             lambda: asyncio.run(_drain(templates.astream_logs("tb_1", follow=False)))]
    for call in calls:
        with pytest.raises(UnexpectedResponseError, match=f"HTTP {status} redirect refused") as err:
            call()
        assert err.value.attempts == 1 and not leaks(str(err.value))
    assert len(redirector.seen) == len(calls)  # each call asked once, was refused, and did not retry
    assert target.seen == [], f"the redirect target received {target.seen}"


def test_an_environment_proxy_never_sees_loopback_traffic(
        jobs_emulator: Any, two_servers: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """Plain http is allowed to loopback because the token never leaves the machine: a proxy from
    HTTP_PROXY/ALL_PROXY (here a recording server) must not be used for it; remote hosts keep
    using environment proxies (corporate networks need them)."""
    _, proxy = two_servers
    proxy_url = f"http://127.0.0.1:{proxy.server_address[1]}"
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, proxy_url)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AIRFLOW_CONN_APIFY_PROXIED", conn_value("apify", jobs_emulator.base_url, SECRET_APIFY))
    jobs_emulator.add_apify_token(SECRET_APIFY)
    hook = ApifyHook("apify_proxied", retry_policy=FAST)
    assert hook.get_user().username
    asyncio.run(_drain_user(hook))
    assert proxy.seen == [], f"the environment proxy received {proxy.seen}"
    assert _pools.trust_env("https://api.apify.com") and not _pools.trust_env("http://[::1]:8089")


async def _drain_user(hook: Any) -> None:
    await hook.aget_user()
    await _http.aclose_shared_clients()


async def _drain(stream: Any) -> list[Any]:
    items = [item async for item in stream]
    await _http.aclose_shared_clients()
    return items


# ---------------------------------------------------------------------- in a real DAG run
@pytest.mark.rel_e2e
def test_a_real_dag_run_leaks_no_token(jobs_emulator: Any, rel_run_dag: Any, record_property: Any) -> None:
    env = {**secret_env(jobs_emulator), **wrong_env(jobs_emulator), "REL_UNMASK": "1"}
    jobs = seed_secret_world(jobs_emulator)
    env["AIRFLOW_VAR_REL_JOBS"] = json.dumps(jobs)
    result = rel_run_dag(HERE / "dags" / "rel_dags.py", "rel_secrets", env=env)
    run = result.dags["rel_secrets"]
    record_property("dag_seconds", run.seconds)
    assert "canary: rel-canary-value-5d1e" in run.output, "the masker was not off: a leak could hide behind ***"
    expected_failures = {"run_actor_fails", "run_actor_timeout", "sensor_timeout", "template_sensor_timeout",
                         "sensor_not_found", "downstream_fails"}
    states = {task_id: run.state_of(task_id) for task_id in run.tasks}
    assert {t for t, s in states.items() if s == "failed"} == expected_failures, states
    assert {s for t, s in states.items() if t not in expected_failures} == {"success"}, states
    for phrase in ("finished with status FAILED", "HTTP 404 record-not-found", "HTTP 401 user-or-token-not-found",
                   "may have been created", "HTTP 429 rate-limit-exceeded", "not valid JSON", "could not talk to",
                   "Invalid Apify run id '../etc'", "template log: ", "the sensor timed out; sending abort"):
        assert phrase in run.output + json.dumps(run.xcom("hook_paths")), phrase
    assert not leaks(result.output), leaks(result.output)
    for task_id, task in run.tasks.items():
        assert not leaks(task.get("xcom", {})), task_id
        assert not leaks(task.get("rendered", {})), task_id
    assert run.tasks["abort_run"]["rendered"], "rendered fields were not recorded"
    checked = assert_journal_clean(jobs_emulator)
    record_property("journal_entries_checked", checked)
    aborted = {e.path.split("/")[-2] for e in jobs_emulator.requests("POST") if e.path.endswith(("/abort", "/cancel"))}
    for task_id, key in (("start_run", "run_id"), ("start_build", "build_id"), ("start_template_build", "build_id")):
        assert run.xcom(task_id, key) in aborted, f"the notifier did not abort {task_id}'s job"

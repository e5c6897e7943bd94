"""Bad input: every public argument, fuzzed, is refused with a clear ValueError before any request.

The hooks point at the emulator, so the journal is the witness: it must stay empty. Connection
hosts, ports and extras are fuzzed through ``build_settings`` (and a hook), and operators with bad
templated ids fail inside a real ``dag.test()`` run with a message that names the cause.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from _fuzz import SAMPLES, TARGETS
from _rel import FAST, FULL, conn_value
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_jobs._connection import build_settings, is_loopback_host
from airflow_provider_jobs._validation import validate_reason
from airflow_provider_jobs.exceptions import InvalidArgumentError, InvalidIdError, JobsConfigError
from airflow_provider_jobs.hooks.apify import ApifyHook
from airflow_provider_jobs.hooks.template_builds import TemplateBuildHook

EXAMPLES = 400 if FULL else 40
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=not FULL, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.filter_too_much])
HERE = Path(__file__).resolve().parent


@pytest.mark.parametrize("label,hook_class,call,strategy", TARGETS, ids=[t[0] for t in TARGETS])
def test_bad_argument_is_refused_before_any_request(jobs_emulator: Any, label: str, hook_class: type, call: Any,
                                                     strategy: Any, record_property: Any) -> None:
    seen: list[str] = []

    @FUZZ
    @given(value=strategy())
    def check(value: Any) -> None:
        hook = hook_class(retry_policy=FAST)
        with pytest.raises((InvalidArgumentError, JobsConfigError)) as err:
            call(hook, value)
        message = str(err.value)
        assert isinstance(err.value, ValueError)
        assert message.startswith("Invalid ") and len(message) < 600, message[:700]
        seen.append(message)

    check()
    record_property("examples", len(seen))
    assert jobs_emulator.journal == [], f"{label}: a request was sent: {jobs_emulator.journal[0].path}"


def test_every_sample_id_is_refused_by_every_id_argument(jobs_emulator: Any) -> None:
    """The named samples (``../``, ``%2F``, 10 kB, unicode...) against every id argument, sync and async."""
    id_targets = [t for t in TARGETS if t[0].endswith(("run_id)", "build_id)", "version)"))]
    refused = 0
    for _label, hook_class, call, _ in id_targets:
        for value in SAMPLES:
            with pytest.raises(InvalidIdError):
                call(hook_class(retry_policy=FAST), value)
            refused += 1
    assert refused == len(id_targets) * len(SAMPLES)
    assert jobs_emulator.journal == []


@FUZZ
@given(reason=st.text(max_size=12_000))
def test_a_reason_is_either_refused_or_sent_only_in_the_body(reason: str) -> None:
    """Reasons are free text: control characters are refused, the rest goes (bounded) into the JSON body."""
    try:
        expected = validate_reason(reason)
    except InvalidArgumentError as err:
        assert any(ord(ch) < 32 and ch not in "\t\n" or ord(ch) == 127 for ch in reason), err
        return
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"build": {"build_id": "tb_1", "template_id": "t", "name": "n",
                                                   "tags": ["default"], "status": "building"},
                                         "entries": [], "next_offset": 0})

    os.environ["AIRFLOW_CONN_TB_FUZZ"] = conn_value("template_builds", "http://127.0.0.1:9", "tok-fuzz")
    hook = TemplateBuildHook("tb_fuzz", transport=httpx.MockTransport(handler))
    hook.cancel_build("tb_1", reason=reason)
    (request,) = sent
    assert request.url.path == "/v1/templates/builds/tb_1/cancel" and not request.url.query
    body = json.loads(request.content)
    assert body == ({"reason": expected} if expected else {})
    assert expected is None or len(expected) <= 500


HOST_SAMPLES = ["http://example.com", "http://10.0.0.1:8080", "http://127.0.0.1.evil.com", "http://localhost.evil.com",
                "https://exa mple.com", "https://exa\x00mple.com", "https://" + "a" * 300 + ".com",
                "https://host\r\nx.com", "https://user:pw@example.com", "https://example.com/?token=x",
                "https://example.com/#frag", "ftp://example.com", "file:///etc/passwd", "javascript:alert(1)",
                "http://[::1", "https://example.com:99999", "https://example.com:-1", "https://例え.jp",
                "https://xn--r8jz45g.jp", "https://exämple.com/api", "http://[::1]:8089", "127.0.0.1:8089",
                "https://api.example.com/base/", " https://api.example.com ", "https://%2F.com", "https://a..b.com",
                "https://-a.com"]


def _judge_settings(host: Any, port: Any, extra: Any) -> None:
    try:
        s = build_settings("fuzz", ApifyHook.service, host=host, port=port, password="tok-fuzz", extra=extra)
    except JobsConfigError as err:
        assert "Connection 'fuzz'" in str(err) and "tok-fuzz" not in str(err)
        return
    url = httpx.URL(s.base_url)  # what the HTTP client will be built from: must be a URL it accepts
    assert url.scheme in ("http", "https") and url.host and not url.query and not url.fragment
    assert url.port is None or 1 <= url.port <= 65535
    if url.scheme == "http":
        assert is_loopback_host(url.host) or (extra or {}).get("allow_insecure_http") in (True, "true")
    httpx.Request("GET", s.base_url + "/v2/actor-runs/abc")  # a request can be built for it
    t = s.timeouts
    for value in (t.connect, t.read, t.write, s.retry_max_elapsed):
        assert math.isfinite(value) and value >= 0
    assert s.max_retries >= 0


@pytest.mark.parametrize("host", ["https://user:tok-SECRET-1@exa mple.com", "ftp://u:tok-SECRET-1@example.com",
                                  "https://u:tok-SECRET-1@example.com:99999", "http://tok-SECRET-1@[::1",
                                  "https://tok-SECRET-1:@example.com/x?y#z", "tok-SECRET-1@example.com:http"])
def test_a_host_with_credentials_is_refused_without_echoing_them(host: str) -> None:
    with pytest.raises(JobsConfigError) as err:
        build_settings("fuzz", ApifyHook.service, host=host, port=None, password="tok-fuzz", extra={})
    assert "SECRET" not in str(err.value), str(err.value)


@pytest.mark.parametrize("host", HOST_SAMPLES)
@pytest.mark.parametrize("port", [None, 0, 8089, -1, 70000, "8089", "http"])
def test_connection_host_samples(host: str, port: Any) -> None:
    _judge_settings(host, port, {})


@FUZZ
@given(host=st.one_of(st.text(max_size=80), st.builds(lambda s, h: s + h, st.sampled_from(["http://", "https://", ""]),
                                                         st.text(max_size=60))),
       port=st.one_of(st.none(), st.integers(-5, 70_000), st.text(max_size=6)))
def test_connection_host_fuzz(host: str, port: Any) -> None:
    _judge_settings(host, port, {})


EXTRA_KEYS = ["allow_insecure_http", "connect_timeout", "read_timeout", "write_timeout", "max_retries",
              "retry_max_elapsed", "console_url"]


@FUZZ
@given(extra=st.dictionaries(st.sampled_from(EXTRA_KEYS), st.one_of(
    st.none(), st.booleans(), st.integers(-10, 10**12), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=10), st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=2), st.integers(),
                                                                              max_size=1)), max_size=4))
def test_connection_extra_fuzz(extra: dict[str, Any]) -> None:
    _judge_settings("https://api.example.com", None, extra)


@pytest.mark.parametrize("conn", [
    {"conn_type": "apify", "host": "http://api.example.com", "password": "tok-1234567"},
    {"conn_type": "apify", "host": "http://127.0.0.1:1", "password": ""},
    {"conn_type": "apify", "host": "http://127.0.0.1:1", "password": "tok with space"},
    {"conn_type": "apify", "host": "http://127.0.0.1:1", "password": "tok-1234567", "extra": {"max_retries": "many"}},
    {"conn_type": "apify", "host": "http://127.0.0.1:1", "password": "tok-1234567", "extra": {"read_timeout": -1}},
    {"conn_type": "apify", "host": "https://exa mple.com", "password": "tok-1234567"},
    {"conn_type": "apify", "host": "https://example.com:99999", "password": "tok-1234567"},
])
def test_a_bad_connection_fails_before_any_request(jobs_emulator: Any, monkeypatch: pytest.MonkeyPatch,
                                                   conn: dict[str, Any]) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_APIFY_FUZZ", json.dumps(conn))
    for call in (lambda h: h.get_run("run1"), lambda h: h.abort_run("run1"), lambda h: h.start_run("a~b")):
        with pytest.raises(JobsConfigError, match="Connection 'apify_fuzz'"):
            call(ApifyHook("apify_fuzz", retry_policy=FAST))
    with pytest.raises(JobsConfigError, match="is not defined"):
        ApifyHook("apify_missing_conn", retry_policy=FAST).get_run("run1")
    for bad_conn_id in ("", "   ", None, 42):
        with pytest.raises(JobsConfigError):
            ApifyHook(bad_conn_id)  # type: ignore[arg-type]
    assert jobs_emulator.journal == []


# ---------------------------------------------------------------------- in a real DAG run
BAD_INPUT_EXPECTED = {
    "sensor_slash": "Invalid Apify run id 'a/../b': it contains '/'",
    "abort_run_query": "Invalid Apify run id 'run?id=1': it contains '?'",
    "abort_build_empty": "Invalid Apify build id '': it is empty",
    "cancel_percent": "Invalid template build id 'tb_%2F': it contains '%'",
    "run_actor_hash": "Invalid Apify actor id 'x#y': it contains '#'",
    "build_version_dots": "Invalid Apify actor version (e.g. '0.0') '../0.1'",
    "template_request_text": "Invalid template build request: expected a dict, got str",
    "template_sensor_long": "it is 200 characters long (at most 128)",
    "sensor_unicode": "Invalid Apify build id 'ünïcödé'",
    "bad_extra": "extra 'max_retries' must be a number >= 0, got 'many'",
    "insecure_http": "refusing plain http:// to non-loopback host 'api.example.com'",
    "missing_conn": "Connection 'apify_nowhere' is not defined",
}


@pytest.mark.rel_e2e
def test_operators_with_bad_templated_ids_fail_with_the_cause_in_the_task_log(
        jobs_emulator: Any, rel_run_dag: Any, record_property: Any) -> None:
    env = {
        "AIRFLOW_CONN_APIFY_BAD_EXTRA": conn_value("apify", jobs_emulator.base_url, "rel-BADINPUT-tok-1",
                                                   max_retries="many"),
        "AIRFLOW_CONN_APIFY_INSECURE": conn_value("apify", "http://api.example.com", "rel-BADINPUT-tok-2"),
    }
    result = rel_run_dag(HERE / "dags" / "rel_dags.py", "rel_bad_input", env=env)
    run = result.dags["rel_bad_input"]
    record_property("dag_seconds", run.seconds)
    assert run.state == "failed"
    for task_id, message in BAD_INPUT_EXPECTED.items():
        assert run.state_of(task_id) == "failed", (task_id, run.tasks[task_id])
        assert message in run.output, f"{task_id}: {message!r} not in the task log"
    # The notifier given a bad id logs the cause and returns; the task failed for its own reason.
    assert "Could not abort Apify run a/b on connection 'apify_default': Invalid Apify run id 'a/b'" in run.output
    assert "the load step failed" in run.output
    assert jobs_emulator.journal == [], [e.path for e in jobs_emulator.journal]

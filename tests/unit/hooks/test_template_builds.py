"""TemplateBuildHook: requests against the contract, snapshots, cancel, SSE logs, waits, errors."""

from __future__ import annotations

import asyncio
import copy
import inspect
import json
from typing import Any

import httpx
import pytest
from _spec import template_contract, template_endpoint
from _support import TEMPLATES_TOKEN, Recorder

from airflow_provider_jobs._retry import RetryPolicy
from airflow_provider_jobs._validation import MAX_REASON_LENGTH
from airflow_provider_jobs.exceptions import (
    AuthError,
    InvalidArgumentError,
    InvalidIdError,
    JobsApiError,
    JobWaitTimeout,
    NotFoundError,
    RateLimitError,
    StartOutcomeUnknownError,
)
from airflow_provider_jobs.hooks.template_builds import TemplateBuildHook
from airflow_provider_jobs.models import TemplateBuild, TemplateBuildSnapshot, TemplateBuildStatus

pytestmark = pytest.mark.usefixtures("mock_connections")
FAST = RetryPolicy(max_retries=3, base_delay=0.0, max_delay=0.0)
MODES = ["sync", "async"]


def example(name: str) -> Any:
    return copy.deepcopy(template_contract()["examples"][name])


def snapshot(status: str = "building", entries: list[dict] | None = None, next_offset: int = 0, **build: Any) -> dict:
    body = example("cancel_response_pending")["body"]
    body["build"].update(status=status, **build)
    if entries is not None:
        body["entries"] = entries
        body["next_offset"] = next_offset
    return body


def entry(offset: int, kind: str = "message", message: str = "step") -> dict:
    return {"build_id": "tb_1", "template_id": "tmpl_1", "offset": offset, "timestamp": "2026-02-14T09:12:11Z",
            "kind": kind, "level": "info", "message": f"{message} {offset}"}


def hook(recorder: Recorder) -> TemplateBuildHook:
    return TemplateBuildHook(transport=recorder.transport(), async_transport=recorder.async_transport(),
                             retry_policy=FAST)


def call(h: TemplateBuildHook, mode: str, name: str, *args: Any, **kwargs: Any) -> Any:
    if mode == "sync":
        return getattr(h, name)(*args, **kwargs)
    return asyncio.run(getattr(h, "a" + name)(*args, **kwargs))


def stream(h: TemplateBuildHook, mode: str, *args: Any, **kwargs: Any) -> list:
    """All the entries of ``stream_logs`` (sync) or ``astream_logs`` (async)."""
    if mode == "sync":
        return list(h.stream_logs(*args, **kwargs))

    async def collect() -> list:
        return [e async for e in h.astream_logs(*args, **kwargs)]
    return asyncio.run(collect())


@pytest.mark.parametrize("mode", MODES)
def test_get_build_with_offset(recorder: Recorder, mode: str) -> None:
    recorder.default = httpx.Response(200, json=example("get_response_cancelled")["body"])
    snap = call(hook(recorder), mode, "get_build", "tb_8k2m4q7wz1", offset=3)
    req = recorder.last
    assert template_endpoint(req)["id"] == "get_build"
    assert req.url.path == "/v1/templates/builds/tb_8k2m4q7wz1" and req.url.params["offset"] == "3"
    assert req.headers["authorization"] == f"Bearer {TEMPLATES_TOKEN}"
    assert isinstance(snap, TemplateBuildSnapshot)
    assert snap.build.status == TemplateBuildStatus.CANCELLED == "cancelled" and snap.is_terminal
    assert not snap.build.is_success


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("reason", "body"), [(None, {}), ("Airflow task etl.build hit execution_timeout",
                                                          {"reason": "Airflow task etl.build hit execution_timeout"})])
def test_cancel_sends_reason_body(recorder: Recorder, mode: str, reason: str | None, body: dict) -> None:
    recorder.default = httpx.Response(200, json=example("cancel_response_pending")["body"])
    snap = call(hook(recorder), mode, "cancel_build", "tb_8k2m4q7wz1", reason=reason)
    assert template_endpoint(recorder.last)["id"] == "cancel_build"
    assert json.loads(recorder.last.content) == body
    assert snap.build.cancel_pending and not snap.is_terminal
    assert snap.build.cancellation_reason


def test_cancel_reason_is_bounded(recorder: Recorder) -> None:
    recorder.default = httpx.Response(200, json=example("cancel_response_pending")["body"])
    hook(recorder).cancel_build("tb_1", reason="x" * 5000)
    assert len(json.loads(recorder.last.content)["reason"]) == MAX_REASON_LENGTH


def test_cancel_of_finished_build_is_success(recorder: Recorder) -> None:
    recorder.default = httpx.Response(200, json=example("cancel_response_already_ready")["body"])
    snap = hook(recorder).cancel_build("tb_1")
    assert snap.build.status == "ready" and snap.build.is_success


@pytest.mark.parametrize("mode", MODES)
def test_start_build(recorder: Recorder, mode: str) -> None:
    recorder.default = httpx.Response(202, json=example("start_response")["body"])
    build = call(hook(recorder), mode, "start_build", {"name": "etl-runner", "dockerfile": "FROM python:3.11"},
                 tags=["nightly"])
    assert template_endpoint(recorder.last)["id"] == "start_build"
    assert json.loads(recorder.last.content) == {"name": "etl-runner", "dockerfile": "FROM python:3.11",
                                                 "tags": ["nightly"]}
    assert isinstance(build, TemplateBuild) and build.build_id.startswith("tb_")


def test_start_is_never_retried_once_sent(recorder: Recorder) -> None:
    recorder.responses = [httpx.ReadTimeout("slow", request=httpx.Request("POST", "http://x")),
                          httpx.Response(202, json=example("start_response")["body"])]
    with pytest.raises(StartOutcomeUnknownError):
        hook(recorder).start_build(name="x")
    assert len(recorder.requests) == 1


def test_list_templates_and_test_connection(recorder: Recorder) -> None:
    recorder.default = httpx.Response(200, json=[{"id": "tmpl_1", "name": "etl"}])
    ok, message = hook(recorder).test_connection()
    assert ok and "accepted" in message
    assert template_endpoint(recorder.last)["id"] == "list_templates" and recorder.last.url.path == "/v1/templates"
    recorder.default = httpx.Response(401, json=example("error_401_flat")["body"])
    ok, message = hook(recorder).test_connection()
    assert not ok and "401" in message and TEMPLATES_TOKEN not in message
    ok, message = asyncio.run(hook(recorder).atest_connection())
    assert not ok and "401" in message


@pytest.mark.parametrize(
    ("name", "cls"), [("error_404_flat", NotFoundError), ("error_401_flat", AuthError), ("error_429_flat", RateLimitError),
                      ("error_429_nested_variant", RateLimitError)]
)
def test_documented_error_bodies(recorder: Recorder, name: str, cls: type) -> None:
    ex = example(name)
    headers = dict(ex.get("headers") or {})
    headers["Retry-After"] = "0"
    recorder.default = httpx.Response(ex["http_status"], json=ex["body"], headers=headers)
    with pytest.raises(cls) as err:
        hook(recorder).get_build("tb_1")
    body = ex["body"]
    nested = body["error"] if isinstance(body["error"], dict) else {}
    code = nested.get("code") or body.get("code")
    request_id = nested.get("request_id") or body.get("request_id") or headers.get("x-request-id")
    assert err.value.error_type == code and err.value.request_id == request_id
    assert err.value.job_id == "tb_1" and "Get of template build tb_1" in str(err.value)


@pytest.mark.parametrize(
    ("name", "args", "kwargs", "refused"),
    [("get_build", ("tb/1",), {}, InvalidIdError), ("get_build", ("tb_1",), {"offset": -1}, InvalidArgumentError),
     ("cancel_build", ("",), {}, InvalidIdError),
     ("cancel_build", ("tb_1",), {"reason": "a\x00b"}, InvalidArgumentError),
     ("cancel_build", ("tb_1",), {"reason": 5}, InvalidArgumentError),
     ("start_build", (["x"],), {}, InvalidArgumentError), ("start_build", (), {"tags": []}, InvalidArgumentError),
     ("start_build", (), {"x": {1, 2}}, InvalidArgumentError)],
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


def sse(*entries: dict, extra_lines: str = "") -> bytes:
    text = extra_lines
    for e in entries:
        text += f"id: {e['offset']}\nevent: log\ndata: {json.dumps(e)}\n\n"
    return text.encode()


@pytest.mark.parametrize("mode", MODES)
def test_stream_logs_until_terminal_entry(recorder: Recorder, mode: str) -> None:
    recorder.default = httpx.Response(200, content=sse(entry(0, "start"), entry(1), entry(2, "end"), entry(3)),
                                      headers={"content-type": "text/event-stream"})
    h = hook(recorder)
    got = stream(h, mode, "tb_1")
    assert [e.offset for e in got] == [0, 1, 2] and got[-1].is_terminal
    req = recorder.last
    assert template_endpoint(req)["id"] == "stream_logs"
    assert dict(req.url.params) == {"offset": "0", "follow": "true"}


class _Chunked(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body sent in small pieces, as a network would cut it."""

    def __init__(self, body: bytes, size: int) -> None:
        self.pieces = [body[i:i + size] for i in range(0, len(body), size)]

    def __iter__(self):  # type: ignore[no-untyped-def]
        yield from self.pieces

    async def __aiter__(self):  # type: ignore[no-untyped-def]
        for piece in self.pieces:
            yield piece


# Every boundary str.splitlines() knows besides CR, LF and CRLF, raw in the JSON of an entry.
NOT_LINE_ENDS = ["\u2028", "\u2029", "\x85", "\f", "\v", "\x1c", "\x1d", "\x1e"]


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("mode", MODES)
def test_entries_holding_unicode_line_boundaries_arrive_whole_in_order_with_their_offsets(
    recorder: Recorder, mode: str, end: str
) -> None:
    entries = [entry(i, message=f"a{ch}b") for i, ch in enumerate(NOT_LINE_ENDS)] + [entry(8, "end")]
    frames = [f"id: {e['offset']}{end}event: log{end}data: {json.dumps(e, ensure_ascii=False)}{end}{end}"
              for e in entries]
    for ch in NOT_LINE_ENDS:  # on the wire raw, as a lax server may send them, not as JSON escapes
        frames = [f.replace(json.dumps(ch)[1:-1], ch) for f in frames]
    body = "".join(frames).encode()
    recorder.default = lambda request: httpx.Response(200, stream=_Chunked(body, 5),
                                                      headers={"content-type": "text/event-stream"})
    h = hook(recorder)
    got = stream(h, mode, "tb_1")
    assert [(e.offset, e.message) for e in got] == [(e["offset"], e["message"]) for e in entries]
    assert len(recorder.requests) == 1 and recorder.last.headers["accept"] == "text/event-stream"


def test_stream_logs_resumes_from_offset_after_close_and_break(recorder: Recorder) -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        class Stream(httpx.SyncByteStream):
            def __iter__(self):  # type: ignore[no-untyped-def]
                yield sse(entry(2))
                raise httpx.RemoteProtocolError("peer closed connection")
        return httpx.Response(200, stream=Stream(), headers={"content-type": "text/event-stream"})

    recorder.responses = [
        httpx.Response(200, content=sse(entry(0), entry(1), extra_lines=": ping\n\n")),  # closes quietly
        httpx.Response(200, json=snapshot("building", [], 2)),  # status check after the close
        broken,  # one entry, then the connection breaks
        httpx.Response(200, json=snapshot("building", [], 3)),
        httpx.Response(200, content=sse(entry(2), entry(3), entry(4, "cancelled"))),  # replays 2, dedupe
    ]
    got = list(hook(recorder).stream_logs("tb_1", offset=0))
    assert [e.offset for e in got] == [0, 1, 2, 3, 4]
    offsets = [r.url.params.get("offset") for r in recorder.requests]
    assert offsets == ["0", "2", "2", "3", "3"]


def test_stream_logs_picks_up_the_end_from_the_snapshot(recorder: Recorder) -> None:
    recorder.responses = [
        httpx.Response(200, content=sse(entry(0))),
        httpx.Response(200, json=snapshot("ready", [entry(1), entry(2, "end")], 3)),
    ]
    assert [e.offset for e in hook(recorder).stream_logs("tb_1")] == [0, 1, 2]


def test_stream_logs_without_follow_replays_and_stops(recorder: Recorder) -> None:
    recorder.default = httpx.Response(200, content=sse(entry(5), entry(6)))
    got = list(hook(recorder).stream_logs("tb_1", offset=5, follow=False))
    assert [e.offset for e in got] == [5, 6] and len(recorder.requests) == 1
    assert recorder.last.url.params["follow"] == "false"


def test_stream_logs_gives_up_when_nothing_progresses(recorder: Recorder) -> None:
    recorder.responses = [httpx.Response(200, content=b""), httpx.Response(200, json=snapshot("building", [], 0))] * 3
    with pytest.raises(JobsApiError, match="kept closing"):
        list(hook(recorder).stream_logs("tb_1", max_reconnects=2))


@pytest.mark.parametrize("mode", MODES)
def test_a_quiet_build_does_not_use_up_the_reconnects(recorder: Recorder, mode: str) -> None:
    """A healthy build that logs nothing for longer than the stream's read timeout: each quiet
    stream ends in a ReadTimeout, the snapshot says it is still building; keep following."""
    def quiet(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("quiet build", request=request)

    def quiet_stream(request: httpx.Request) -> httpx.Response:
        class Stream(httpx.SyncByteStream, httpx.AsyncByteStream):
            def __iter__(self):  # type: ignore[no-untyped-def]
                yield b": keep-alive\n\n"
                quiet(request)

            async def __aiter__(self):  # type: ignore[no-untyped-def]
                yield b": keep-alive\n\n"
                quiet(request)
        return httpx.Response(200, stream=Stream(), headers={"content-type": "text/event-stream"})

    recorder.responses = [quiet_stream, httpx.Response(200, json=snapshot("building", [], 0))] * 4 + [
        httpx.Response(200, content=sse(entry(0), entry(1, "end")))]
    h = hook(recorder)
    got = stream(h, mode, "tb_1", max_reconnects=2)
    assert [e.offset for e in got] == [0, 1]


def test_stream_logs_errors_before_the_stream(recorder: Recorder) -> None:
    recorder.default = httpx.Response(404, json=example("error_404_flat")["body"])
    with pytest.raises(NotFoundError):
        list(hook(recorder).stream_logs("tb_1"))


def test_stream_skips_junk_events(recorder: Recorder) -> None:
    recorder.default = httpx.Response(200, content=b"data: not json\n\ndata: {\"no\": \"offset\"}\n\n" + sse(entry(0, "end")))
    assert [e.offset for e in hook(recorder).stream_logs("tb_1")] == [0]


@pytest.mark.parametrize("mode", MODES)
def test_wait_for_build_tracks_offsets(recorder: Recorder, mode: str) -> None:
    recorder.responses = [httpx.Response(200, json=snapshot("waiting", [entry(0)], 1)),
                          httpx.Response(200, json=snapshot("building", [entry(1)], 2)),
                          httpx.Response(200, json=snapshot("error", [entry(2, "error")], 3, error="boom"))]
    build = call(hook(recorder), mode, "wait_for_build", "tb_1", timeout=60, poll_interval=0)
    assert build.status == "error" and build.failure_text == "boom"
    assert [r.url.params["offset"] for r in recorder.requests] == ["0", "1", "2"]


def test_wait_for_build_deadline(recorder: Recorder) -> None:
    recorder.default = httpx.Response(200, json=snapshot("building", [], 0))
    with pytest.raises(JobWaitTimeout, match="template build tb_1 was still building"):
        hook(recorder).wait_for_build("tb_1", timeout=0.05, poll_interval=0.01)


def test_summary_is_small_and_json_safe(recorder: Recorder) -> None:
    recorder.default = httpx.Response(200, json=example("get_response_error")["body"])
    snap = hook(recorder).get_build("tb_1")
    summary = snap.build.summary()
    json.dumps(summary)
    assert summary["id"] == snap.build.build_id and summary["status"] == "error" and summary["error"]
    assert "entries" not in summary


def test_every_public_method_has_an_async_twin_with_the_same_signature() -> None:
    expected = {"get_build", "cancel_build", "start_build", "list_templates", "wait_for_build", "stream_logs",
                "test_connection"}
    for name in expected:
        sync, twin = getattr(TemplateBuildHook, name), getattr(TemplateBuildHook, "a" + name)
        assert inspect.iscoroutinefunction(twin) or inspect.isasyncgenfunction(twin), name
        assert inspect.signature(twin).parameters == inspect.signature(sync).parameters, name


def test_hook_registration_attributes() -> None:
    assert (TemplateBuildHook.conn_type, TemplateBuildHook.conn_name_attr, TemplateBuildHook.default_conn_name) == (
        "template_builds", "template_builds_conn_id", "template_builds_default")


def test_only_a_followed_log_stream_is_a_held_open_call(recorder: Recorder) -> None:
    """The async core puts held-open calls on the long-poll lane: a log read without follow is not one."""
    h = hook(recorder)
    assert h._logs_call("tb_1", 0, True).held_open
    assert not h._logs_call("tb_1", 0, False).held_open

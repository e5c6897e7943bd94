"""Following an Apify job's log while waiting, and the end of its log in a failure (lifecycle/logs.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
from _kinds import KINDS
from _support import Recorder

from airflow_provider_jobs.exceptions import JobFailedError, JobWaitTimeout
from airflow_provider_jobs.lifecycle import APIFY_RUN, TEMPLATE_BUILD, WaitInterrupted, logs
from airflow_provider_jobs.lifecycle.kind import JobWatch

pytestmark = pytest.mark.usefixtures("mock_connections")

RUN = KINDS["apify_run"]
LOG_PATH = f"/v2/logs/{RUN.job_id}"


class Chunks(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body sent in pieces; then it ends, breaks with ``error``, or (``hang``) stays silent."""

    def __init__(self, *chunks: bytes, error: Exception | None = None, hang: bool = False) -> None:
        self.chunks, self.error, self.hang = chunks, error, hang

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks
        if self.error is not None:
            raise self.error

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk
        if self.hang:
            await asyncio.Event().wait()
        if self.error is not None:
            raise self.error


def stream(*chunks: bytes, error: Exception | None = None, hang: bool = False) -> Callable[[httpx.Request], Any]:
    return lambda request: httpx.Response(200, stream=Chunks(*chunks, error=error, hang=hang))


def status(value: str) -> Callable[[httpx.Request], Any]:
    return lambda request: RUN.response(value)


def watch(shown: list[str] | None = None) -> JobWatch[Any, Any]:
    out = [] if shown is None else shown
    return APIFY_RUN.watch(APIFY_RUN.hook("apify_default"), RUN.job_id, out.append)


def wait(mode: str, w: JobWatch[Any, Any], timeout: float | None = 10.0) -> Any:
    if mode == "sync":
        return logs.wait_end(w, timeout, poll_interval=0)
    return asyncio.run(logs.await_end(w, timeout, poll_interval=0))


def calls(api: Recorder) -> list[str]:
    """Each request: ``log-stream``, ``log`` or ``status`` with its long-poll seconds."""
    out = []
    for r in api.requests:
        if r.url.path == LOG_PATH:
            out.append("log-stream" if r.url.params.get("stream") else "log")
        else:
            out.append(f"status/{r.url.params.get('waitForFinish', '0')}")
    return out


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_lines_go_out_once_across_a_dropped_stream_and_the_wait_ends_on_one_status_get(
        api: Recorder, mode: str) -> None:
    api.responses = [stream(b"l1\nl2\npar", error=httpx.ReadError("cut")), status("RUNNING"),
                     stream(b"l1\nl2\npartial\n", b"l3\n"), status("SUCCEEDED")]
    shown: list[str] = []
    job = wait(mode, watch(shown))
    assert job.status == "SUCCEEDED"
    assert shown == ["l1", "l2", "partial", "l3"]
    assert calls(api) == ["log-stream", "status/0", "log-stream", "status/0"]  # no long poll while following


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_job_that_ended_while_its_stream_was_broken_gets_the_rest_of_its_log_once(api: Recorder, mode: str) -> None:
    api.responses = [stream(b"l1\nl2", error=httpx.RemoteProtocolError("cut")), status("FAILED"),
                     stream(b"l1\nl2\nl3\nlast, without a line end")]
    shown: list[str] = []
    assert wait(mode, watch(shown)).status == "FAILED"
    assert shown == ["l1", "l2", "l3", "last, without a line end"]
    assert calls(api) == ["log-stream", "status/0", "log"]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_quiet_stream_cannot_hold_the_wait_past_its_deadline(api: Recorder, mode: str) -> None:
    api.default = lambda request: (stream(b"tick\n", error=httpx.ReadTimeout("quiet"))(request)
                                   if request.url.path == LOG_PATH else RUN.response("RUNNING"))
    shown: list[str] = []
    with pytest.raises(JobWaitTimeout):
        wait(mode, watch(shown), timeout=0.6)
    streams = [r for r in api.requests if r.url.path == LOG_PATH]
    assert streams and all(r.extensions["timeout"]["read"] <= 0.6 for r in streams)
    assert shown == ["tick"]  # reconnects skip what was shown
    assert "status/0" in calls(api) and not [c for c in calls(api) if c.startswith("status/") and c != "status/0"]


def test_should_stop_leaves_the_stream_without_another_request(api: Recorder) -> None:
    stop: list[bool] = []
    api.responses = [stream(b"a\n", b"b\n", b"c\n")]
    w = APIFY_RUN.watch(APIFY_RUN.hook("apify_default"), RUN.job_id, lambda line: stop.append(True))
    with pytest.raises(WaitInterrupted):
        logs.wait_end(w, 10.0, should_stop=lambda: bool(stop))
    assert calls(api) == ["log-stream"] and len(stop) == 1


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_log_stream_that_keeps_failing_is_given_up_for_long_polls(
        api: Recorder, mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logs, "MAX_STREAM_FAILURES", 1)
    broken = stream(error=httpx.ReadError("reset"))
    api.responses = [broken, status("RUNNING"), broken, status("RUNNING"), status("SUCCEEDED")]
    assert wait(mode, watch()).status == "SUCCEEDED"
    *followed, last = calls(api)
    assert followed == ["log-stream", "status/0", "log-stream", "status/0"]
    assert last in ("status/9", "status/10")  # given up: a long poll, as without streaming


def test_the_async_wait_on_a_silent_stream_is_cancellable(api: Recorder) -> None:
    api.responses = [stream(b"first\n", hang=True)]
    shown: list[str] = []

    async def main() -> float:
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(logs.await_end(watch(shown), None), 0.3)
        return loop.time() - started

    assert asyncio.run(main()) < 2.0
    assert shown == ["first"]


def test_without_a_log_destination_or_a_streaming_kind_the_wait_long_polls(api: Recorder) -> None:
    api.responses = [status("SUCCEEDED")]
    quiet = APIFY_RUN.watch(APIFY_RUN.hook("apify_default"), RUN.job_id)
    assert not logs.follows_log(quiet)
    assert logs.wait_end(quiet, 5.0).status == "SUCCEEDED"
    assert calls(api) in (["status/4"], ["status/5"])  # one long poll
    assert not logs.follows_log(TEMPLATE_BUILD.watch(TEMPLATE_BUILD.hook("template_builds_default"), "tb_1", print))
    assert logs.log_tail(TEMPLATE_BUILD.watch(TEMPLATE_BUILD.hook("template_builds_default"), "tb_1")) == []
    assert len(api.requests) == 1


# ------------------------------------------------------------------ the tail
LONG_LOG = "".join(f"line {n}\n" for n in range(1, 41)).encode() + b"x" * 600 + b"\n"


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_failure_carries_the_last_lines_of_the_log(api: Recorder, mode: str) -> None:
    api.responses = [stream(LONG_LOG[:100], LONG_LOG[100:])]
    w = watch()
    run = _failed_run()
    err = logs.job_failure(w, run) if mode == "sync" else asyncio.run(logs.ajob_failure(w, run))
    assert isinstance(err, JobFailedError) and err.status == "FAILED"
    assert len(err.log_tail) == logs.LOG_TAIL_LINES
    assert err.log_tail[0] == "line 12" and err.log_tail[-1] == "x" * logs.LOG_TAIL_LINE_CHARS
    assert "Last 30 lines of its log:\n    line 12\n" in str(err)
    assert calls(api) == ["log"]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_failing_log_read_does_not_hide_the_failure(
        api: Recorder, mode: str, caplog: pytest.LogCaptureFixture) -> None:
    api.default = lambda request: httpx.Response(404, json={"error": {"type": "record-not-found", "message": "gone"}})
    run = _failed_run()
    err = logs.job_failure(watch(), run) if mode == "sync" else asyncio.run(logs.ajob_failure(watch(), run))
    assert err.status == "FAILED" and err.log_tail == () and "lines of its log" not in str(err)
    assert "could not read the end of its log" in caplog.text


def _failed_run() -> Any:
    from airflow_provider_jobs.models.apify import ApifyRun

    return ApifyRun.model_validate(RUN.body("FAILED")["data"])


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_lines_still_arriving_at_the_deadline_are_shown_once_when_the_job_has_ended(
        api: Recorder, mode: str) -> None:
    """The deadline passes while a burst is read: the lines not yet shown come with the rest of the log
    (none lost, none twice, no fragment shown as a line)."""
    lines = [f"line{i}" for i in range(10)]
    burst = "".join(f"{line}\n" for line in lines).encode()
    api.responses = [stream(burst[:40], burst[40:] + b"par", error=httpx.ReadError("cut")), status("SUCCEEDED"),
                     stream(burst + b"partial end\n")]
    shown: list[str] = []
    now = [0.0]

    def show(line: str) -> None:
        shown.append(line)
        now[0] += 1.0  # each line takes a second: the 2 s budget runs out inside the first chunk

    follow = logs.LogFollow(APIFY_RUN.watch(APIFY_RUN.hook("apify_default"), RUN.job_id, show), clock=lambda: now[0])
    job = follow.fetch(2.0) if mode == "sync" else asyncio.run(follow.afetch(2.0))
    assert job.status == "SUCCEEDED"
    assert shown == [*lines, "partial end"]
    assert calls(api) == ["log-stream", "status/0", "log"]

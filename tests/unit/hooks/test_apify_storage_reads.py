"""ApifyHook results: dataset items (pages, headers, lazy reads), key-value records, logs (reconnects)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
from _spec import validate_apify_request
from _support import APIFY_TOKEN, Recorder, apify_error

from airflow_provider_jobs._retry import RetryPolicy
from airflow_provider_jobs.exceptions import (
    InvalidArgumentError,
    InvalidIdError,
    NotFoundError,
    TransportError,
    UnexpectedResponseError,
)
from airflow_provider_jobs.hooks import _apify_results
from airflow_provider_jobs.hooks._apify_results import ItemPages, LogTail
from airflow_provider_jobs.hooks.apify import ApifyHook

FAST = RetryPolicy(max_retries=3, base_delay=0.0, max_delay=0.0)
MODES = ["sync", "async"]

pytestmark = pytest.mark.usefixtures("mock_connections")


def hook(recorder: Recorder) -> ApifyHook:
    return ApifyHook(transport=recorder.transport(), async_transport=recorder.async_transport(), retry_policy=FAST)


def items_of(h: ApifyHook, mode: str, *args: Any, **kwargs: Any) -> list[Any]:
    if mode == "sync":
        return list(h.iter_dataset_items(*args, **kwargs))

    async def collect() -> list[Any]:
        return [item async for item in h.aiter_dataset_items(*args, **kwargs)]

    return asyncio.run(collect())


def call(h: ApifyHook, mode: str, name: str, *args: Any, **kwargs: Any) -> Any:
    if mode == "sync":
        return getattr(h, name)(*args, **kwargs)
    return asyncio.run(getattr(h, "a" + name)(*args, **kwargs))


class FakeDataset:
    """Answers dataset item pages like the API: offset/limit, clean, X-Apify-Pagination-* headers."""

    def __init__(self, items: list[dict[str, Any]], *, count_header: bool = True) -> None:
        self.items = items
        self.count_header = count_header

    def __call__(self, request: httpx.Request) -> httpx.Response:
        q = request.url.params
        offset, limit = int(q["offset"]), int(q["limit"])
        scanned = self.items[offset:offset + limit]
        page = [i for i in scanned if i] if q.get("clean") == "true" else scanned
        headers = {"X-Apify-Pagination-Offset": str(offset), "X-Apify-Pagination-Limit": str(limit),
                   "X-Apify-Pagination-Total": str(len(self.items))}
        if self.count_header:
            headers["X-Apify-Pagination-Count"] = str(len(scanned))
        return httpx.Response(200, json=page, headers=headers)


# ------------------------------------------------------------------------------------------ datasets
@pytest.mark.parametrize("mode", MODES)
def test_items_are_read_in_pages_of_a_thousand_until_a_short_page(recorder: Recorder, mode: str) -> None:
    data = [{"n": i} for i in range(2500)]
    recorder.default = FakeDataset(data)
    assert items_of(hook(recorder), mode, "ds1") == data
    pages = [(r.url.path, dict(r.url.params)) for r in recorder.requests]
    assert pages == [("/v2/datasets/ds1/items", {"format": "json", "offset": str(o), "limit": "1000"})
                     for o in (0, 1000, 2000)]
    assert all(r.headers["authorization"] == f"Bearer {APIFY_TOKEN}" for r in recorder.requests)
    for request in recorder.requests:
        validate_apify_request(request)


@pytest.mark.parametrize("mode", MODES)
def test_a_full_last_page_is_followed_by_one_empty_page(recorder: Recorder, mode: str) -> None:
    recorder.default = FakeDataset([{"n": i} for i in range(2000)])
    assert len(items_of(hook(recorder), mode, "ds1")) == 2000
    assert [r.url.params["offset"] for r in recorder.requests] == ["0", "1000", "2000"]


@pytest.mark.parametrize("mode", MODES)
def test_clean_pages_advance_by_the_scanned_count_not_the_returned_one(recorder: Recorder, mode: str) -> None:
    data = [{"n": i} if i % 3 else {} for i in range(2100)]  # every third item empty: clean drops it
    recorder.default = FakeDataset(data)
    got = items_of(hook(recorder), mode, "ds1", clean=True)
    assert got == [i for i in data if i]
    # with clean, only a page that scanned nothing ends the read (a short one may be a lagging Count)
    assert [r.url.params["offset"] for r in recorder.requests] == ["0", "1000", "2000", "2100"]
    assert recorder.requests[0].url.params["clean"] == "true"


def test_a_lagging_count_header_loses_no_item(recorder: Recorder) -> None:
    data = [{"n": i} for i in range(1500)]

    def lagging(request: httpx.Request) -> httpx.Response:
        response = FakeDataset(data)(request)
        response.headers["X-Apify-Pagination-Count"] = "900"  # the throttled counter lags the rows
        return response

    recorder.default = lagging
    assert list(hook(recorder).iter_dataset_items("ds1")) == data


@pytest.mark.parametrize("mode", MODES)
def test_options_are_sent_as_the_api_names_them(recorder: Recorder, mode: str) -> None:
    recorder.default = FakeDataset([{"a": 1, "b": 2}] * 10)
    items_of(hook(recorder), mode, "janedoe/my-ds", fields=["a", "b"], omit=["c"], desc=True, offset=5, limit=3)
    req = recorder.last
    assert req.url.path == "/v2/datasets/janedoe~my-ds/items"
    assert dict(req.url.params) == {"format": "json", "fields": "a,b", "omit": "c", "desc": "true",
                                    "offset": "5", "limit": "3"}
    assert len(recorder.requests) == 1
    validate_apify_request(req)


def test_limit_spanning_pages_asks_only_for_what_is_left(recorder: Recorder) -> None:
    recorder.default = FakeDataset([{"n": i} for i in range(5000)])
    got = list(hook(recorder).iter_dataset_items("ds1", offset=10, limit=1500))
    assert got == [{"n": i} for i in range(10, 1510)]
    assert [(r.url.params["offset"], r.url.params["limit"]) for r in recorder.requests] == [
        ("10", "1000"), ("1010", "500")]


def test_limit_zero_makes_no_request(recorder: Recorder) -> None:
    assert list(hook(recorder).iter_dataset_items("ds1", limit=0)) == []
    assert recorder.requests == []


def test_pages_are_read_lazily(recorder: Recorder) -> None:
    recorder.default = FakeDataset([{"n": i} for i in range(3000)])
    it = hook(recorder).iter_dataset_items("ds1")
    assert recorder.requests == []
    next(it)
    assert len(recorder.requests) == 1
    for _ in range(999):
        next(it)
    assert len(recorder.requests) == 1
    next(it)
    assert len(recorder.requests) == 2


def test_without_count_header_the_returned_items_decide(recorder: Recorder) -> None:
    recorder.default = FakeDataset([{"n": i} for i in range(1200)], count_header=False)
    assert len(list(hook(recorder).iter_dataset_items("ds1"))) == 1200
    assert len(recorder.requests) == 2


@pytest.mark.parametrize("mode", MODES)
def test_a_failed_page_is_retried_and_nothing_is_repeated(recorder: Recorder, mode: str) -> None:
    dataset = FakeDataset([{"n": i} for i in range(1500)])
    recorder.responses = [dataset, apify_error(503, "server-error", "busy"), httpx.ReadError("reset"), dataset]
    assert items_of(hook(recorder), mode, "ds1") == [{"n": i} for i in range(1500)]
    assert [r.url.params["offset"] for r in recorder.requests] == ["0", "1000", "1000", "1000"]


@pytest.mark.parametrize("mode", MODES)
def test_a_missing_dataset_raises_not_found(recorder: Recorder, mode: str) -> None:
    recorder.default = apify_error(404, "record-not-found", "Dataset was not found")
    with pytest.raises(NotFoundError, match="Check the Apify dataset id"):
        items_of(hook(recorder), mode, "nope")


def test_a_body_that_is_not_an_array_is_an_unexpected_response(recorder: Recorder) -> None:
    recorder.default = httpx.Response(200, json={"data": []})
    with pytest.raises(UnexpectedResponseError, match="expected a JSON array"):
        list(hook(recorder).iter_dataset_items("ds1"))


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [({"dataset_id": "a/b/c"}, InvalidIdError), ({"dataset_id": "../x"}, InvalidIdError),
     ({"dataset_id": 5}, InvalidIdError), ({"fields": "a,b"}, InvalidArgumentError),
     ({"fields": ["a,b"]}, InvalidArgumentError), ({"omit": [""]}, InvalidArgumentError),
     ({"omit": []}, InvalidArgumentError), ({"limit": -1}, InvalidArgumentError),
     ({"offset": -5}, InvalidArgumentError), ({"offset": 1.5}, InvalidArgumentError),
     ({"limit": True}, InvalidArgumentError), ({"clean": "yes"}, InvalidArgumentError)],
)
@pytest.mark.parametrize("mode", MODES)
def test_bad_dataset_arguments_are_refused_before_any_request(
    recorder: Recorder, mode: str, kwargs: dict[str, Any], error: type[Exception]
) -> None:
    args = {"dataset_id": "ds1", **kwargs}
    h = hook(recorder)
    with pytest.raises(error):  # raised at the call, before iterating
        (h.iter_dataset_items if mode == "sync" else h.aiter_dataset_items)(**args)
    assert recorder.requests == []


def test_item_pages_bookkeeping() -> None:
    pages = ItemPages(offset=0, limit=None, filtered=True, page_size=10)
    assert pages.next_page() == (0, 10)
    pages.after(10, 4, "10")  # clean dropped 6 of 10 scanned
    assert not pages.done and pages.next_page() == (10, 10)
    pages.after(10, 3, "bogus")  # unreadable header: the returned items count
    assert not pages.done and pages.next_page() == (13, 10)
    pages.after(10, 0, "0")
    assert pages.done
    plain = ItemPages(offset=0, limit=25, page_size=10)
    plain.after(10, 10, "12")  # never past the rows asked for
    assert plain.next_page() == (10, 10)
    plain.after(10, 10, None)
    assert plain.next_page() == (20, 5)
    plain.after(5, 5, "5")
    assert plain.done


# ------------------------------------------------------------------------------------------- records
@pytest.mark.parametrize("mode", MODES)
def test_a_json_record_is_decoded(recorder: Recorder, mode: str) -> None:
    json_type = {"Content-Type": "application/json; charset=utf-8"}
    recorder.default = httpx.Response(200, json={"a": [1, 2]}, headers=json_type)
    assert call(hook(recorder), mode, "get_record", "janedoe/store", "OUTPUT") == {"a": [1, 2]}
    req = recorder.last
    assert (req.method, req.url.path, dict(req.url.params)) == (
        "GET", "/v2/key-value-stores/janedoe~store/records/OUTPUT", {"attachment": "true"})
    validate_apify_request(req)


@pytest.mark.parametrize("mode", MODES)
def test_other_records_come_back_as_bytes(recorder: Recorder, mode: str) -> None:
    recorder.default = httpx.Response(200, content=b"\x89PNG\r\n", headers={"Content-Type": "image/png"})
    assert call(hook(recorder), mode, "get_record", "s1", "shot.png") == b"\x89PNG\r\n"


def test_a_key_with_allowed_punctuation_is_sent_in_the_path(recorder: Recorder) -> None:
    recorder.default = httpx.Response(200, content=b"x", headers={"Content-Type": "text/plain"})
    hook(recorder).get_record("s1", "it's-(v1)!_.x")
    assert recorder.last.url.raw_path.decode().startswith("/v2/key-value-stores/s1/records/it's-(v1)!_.x?")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("message", ["Record was not found", "", "Not found"])
def test_a_missing_record_is_none(recorder: Recorder, mode: str, message: str) -> None:
    recorder.default = apify_error(404, "record-not-found", message)
    assert call(hook(recorder), mode, "get_record", "s1", "MISSING") is None
    assert [r.url.path for r in recorder.requests] == ["/v2/key-value-stores/s1/records/MISSING"]


@pytest.mark.parametrize("mode", MODES)
def test_a_missing_store_is_an_error(recorder: Recorder, mode: str) -> None:
    recorder.default = apify_error(404, "record-not-found", "Key-value store was not found")
    with pytest.raises(NotFoundError, match="key-value store nope"):
        call(hook(recorder), mode, "get_record", "nope", "OUTPUT")
    assert len(recorder.requests) == 1


@pytest.mark.parametrize("key", ["", "a/b", "a b", "ключ", "a?b", "x" * 257, None, 5])
def test_bad_record_keys_are_refused_before_any_request(recorder: Recorder, key: Any) -> None:
    with pytest.raises(InvalidArgumentError):
        hook(recorder).get_record("s1", key)
    with pytest.raises(InvalidArgumentError):
        asyncio.run(hook(recorder).aget_record("s1", key))
    assert recorder.requests == []


def test_the_longest_key_is_accepted(recorder: Recorder) -> None:
    recorder.default = httpx.Response(200, content=b"", headers={"Content-Type": "text/plain"})
    assert hook(recorder).get_record("s1", "k" * 256) == b""


# ---------------------------------------------------------------------------------------------- logs
@pytest.mark.parametrize("mode", MODES)
def test_get_log_returns_the_text(recorder: Recorder, mode: str) -> None:
    recorder.default = httpx.Response(200, text="line 1\nline 2\n", headers={"Content-Type": "text/plain"})
    assert call(hook(recorder), mode, "get_log", "r1") == "line 1\nline 2\n"
    req = recorder.last
    assert (req.url.path, dict(req.url.params)) == ("/v2/logs/r1", {})
    validate_apify_request(req)


def test_get_log_of_an_unknown_job_raises_not_found(recorder: Recorder) -> None:
    recorder.default = apify_error(404, "record-not-found", "Run was not found")
    with pytest.raises(NotFoundError):
        hook(recorder).get_log("r404")


class Drop:
    """A log response that sends ``chunks``, then breaks the connection (or ends cleanly)."""

    def __init__(self, chunks: list[bytes], error: Exception | None = None) -> None:
        self.chunks, self.error = chunks, error

    def __call__(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=_Stream(self.chunks, self.error), headers={"Content-Type": "text/plain"})


class _Stream(httpx.SyncByteStream, httpx.AsyncByteStream):
    def __init__(self, chunks: list[bytes], error: Exception | None) -> None:
        self.chunks, self.error = chunks, error

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks
        if self.error:
            raise self.error

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk
        if self.error:
            raise self.error


def lines_of(h: ApifyHook, mode: str, job_id: str, **kwargs: Any) -> list[str]:
    if mode == "sync":
        return list(h.stream_log(job_id, **kwargs))

    async def collect() -> list[str]:
        return [line async for line in h.astream_log(job_id, **kwargs)]

    return asyncio.run(collect())


LOG = b"2026-01-01T00:00:00.000Z start\n2026-01-01T00:00:01.000Z p\xc3\xa1ge 1\r\n2026-01-01T00:00:02.000Z done\n"
LINES = ["2026-01-01T00:00:00.000Z start", "2026-01-01T00:00:01.000Z p\u00e1ge 1", "2026-01-01T00:00:02.000Z done"]


@pytest.mark.parametrize("mode", MODES)
def test_stream_log_yields_lines_until_the_job_ends(recorder: Recorder, mode: str) -> None:
    recorder.default = Drop([LOG[:10], LOG[10:50], LOG[50:]])
    assert lines_of(hook(recorder), mode, "r1") == LINES
    assert (recorder.last.url.path, dict(recorder.last.url.params)) == ("/v2/logs/r1", {"stream": "true"})
    validate_apify_request(recorder.last)


@pytest.mark.parametrize("mode", MODES)
def test_a_last_line_without_newline_is_yielded(recorder: Recorder, mode: str) -> None:
    recorder.default = Drop([b"a\nb"])
    assert lines_of(hook(recorder), mode, "r1") == ["a", "b"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("cut", [5, 31, 32, 40, 70])
def test_a_reconnect_repeats_no_line_and_loses_none(recorder: Recorder, mode: str, cut: int) -> None:
    # The connection breaks after `cut` bytes (mid-line, or at a line end); the API then resends from byte 0.
    recorder.responses = [Drop([LOG[:cut]], httpx.RemoteProtocolError("peer closed connection")),
                          Drop([LOG[:3], LOG[3:]])]
    assert lines_of(hook(recorder), mode, "r1") == LINES
    assert len(recorder.requests) == 2


@pytest.mark.parametrize("mode", MODES)
def test_several_drops_in_a_row_with_progress_keep_going(recorder: Recorder, mode: str) -> None:
    log = b"".join(b"line %d\n" % i for i in range(20))
    recorder.responses = [Drop([log[: 7 * k + 3]], httpx.ReadError("reset")) for k in range(1, 10)] + [Drop([log])]
    assert lines_of(hook(recorder), mode, "r1", max_reconnects=1) == [f"line {i}" for i in range(20)]


def test_drops_without_progress_give_up_with_the_error(recorder: Recorder, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_apify_results, "MAX_RECONNECT_PAUSE", 0.0)
    recorder.default = Drop([b"a\n"], httpx.ReadError("reset"))
    seen: list[str] = []
    with pytest.raises(TransportError, match="log of Apify run or build r1"):
        for line in hook(recorder).stream_log("r1", max_reconnects=2):
            seen.append(line)
    assert seen == ["a"] and len(recorder.requests) == 4


def test_an_unknown_job_log_stream_raises_not_found(recorder: Recorder) -> None:
    recorder.default = apify_error(404, "record-not-found", "Run was not found")
    with pytest.raises(NotFoundError):
        list(hook(recorder).stream_log("r404"))


@pytest.mark.parametrize("bad", ["a/b", "", "x" * 200, None])
def test_bad_job_ids_for_logs_are_refused_before_any_request(recorder: Recorder, bad: Any) -> None:
    h = hook(recorder)
    for method in (h.get_log, h.stream_log, h.astream_log):
        with pytest.raises(InvalidIdError):
            method(bad)
    with pytest.raises(InvalidIdError):
        asyncio.run(h.aget_log(bad))
    assert recorder.requests == []


def test_log_tail_skips_what_it_delivered() -> None:
    tail = LogTail("r1", 3)
    tail.connected()
    assert list(tail.feed(b"ab\ncd")) == ["ab"]
    tail.connected()  # reconnected: the log again from byte 0
    assert list(tail.feed(b"a")) == [] and list(tail.feed(b"b\nc")) == [] and list(tail.feed(b"d\nef")) == ["cd"]
    assert tail.finish() == ["ef"] and tail.delivered == 8


def test_log_tail_counts_only_the_lines_taken_from_a_chunk() -> None:
    """A reader that stops inside a chunk (its deadline passed) gets the other lines on the next connection."""
    tail = LogTail("r1", 3)
    tail.connected()
    lines = tail.feed(b"a\nb\nc\n")
    assert next(lines) == "a"
    lines.close()
    assert tail.delivered == 2
    tail.connected()
    assert list(tail.feed(b"a\nb\nc\n")) == ["b", "c"]


def test_log_tail_takes_a_chunk_when_fed_even_if_no_line_is_read() -> None:
    tail = LogTail("r1", 3)
    tail.connected()
    tail.feed(b"ab")  # no whole line: nothing to read, the bytes are kept all the same
    assert list(tail.feed(b"c\n")) == ["abc"]


# -------------------------------------------------------------------------------------------- twins
@pytest.mark.parametrize(
    ("name", "kind"),
    [("iter_dataset_items", inspect.isasyncgenfunction), ("stream_log", inspect.isasyncgenfunction),
     ("get_record", inspect.iscoroutinefunction), ("get_log", inspect.iscoroutinefunction),
     ("start_task_run", inspect.iscoroutinefunction)],
)
def test_every_results_method_has_an_async_twin_with_the_same_signature(
    name: str, kind: Callable[[Any], bool]
) -> None:
    sync, twin = getattr(ApifyHook, name), getattr(ApifyHook, "a" + name)
    assert inspect.signature(twin).parameters == inspect.signature(sync).parameters
    assert twin.__doc__ and sync.__doc__
    if kind is inspect.isasyncgenfunction:  # eager argument checks, then an async generator
        h = ApifyHook()
        it = getattr(h, "a" + name)("x1")
        assert inspect.isasyncgen(it)
        asyncio.run(it.aclose())
    else:
        assert kind(twin)



def test_only_a_followed_log_is_a_held_open_call(recorder: Recorder) -> None:
    """The async core puts held-open calls on the long-poll lane: a log read as it is now is not one."""
    h = hook(recorder)
    assert h._log_call("r1", stream=True).held_open
    assert not h._log_call("r1", stream=False).held_open

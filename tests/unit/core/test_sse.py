"""The SSE decoder follows the event-stream rules."""

from __future__ import annotations

import asyncio

from airflow_provider_jobs._sse import SSEEvent, aiter_sse, iter_sse


def test_frames_ids_events_comments_and_multiline() -> None:
    lines = [
        ": keep-alive", "id: 0", "event: log", 'data: {"a": 1}', "",
        'data:{"b":2}', "", "data: line1", "data: line2", "", "retry: 10", "", "unknown: x", "",
        'data: {"last": true}',
    ]
    events = list(iter_sse(lines))
    assert events == [
        SSEEvent(data='{"a": 1}', event="log", id="0"),
        SSEEvent(data='{"b":2}', event="message", id="0"),
        SSEEvent(data="line1\nline2", event="message", id="0"),
        SSEEvent(data='{"last": true}', event="message", id="0"),
    ]


def test_async_twin_matches() -> None:
    lines = ["data: 1", "", "data: 2", "\r"]

    async def gen():  # type: ignore[no-untyped-def]
        for line in lines:
            yield line

    async def collect() -> list[SSEEvent]:
        return [e async for e in aiter_sse(gen())]

    assert [e.data for e in asyncio.run(collect())] == ["1", "2"]

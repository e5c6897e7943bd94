"""The SSE reader follows the event-stream rules."""

from __future__ import annotations

import asyncio

import pytest

from airflow_provider_jobs._sse import SSEEvent, aiter_sse, iter_sse

# Every boundary str.splitlines() knows besides CR, LF and CRLF: none of them ends an SSE line.
NOT_LINE_ENDS = ["\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


def test_frames_ids_events_comments_and_multiline() -> None:
    lines = [
        ": keep-alive", "id: 0", "event: log", 'data: {"a": 1}', "",
        'data:{"b":2}', "", "data: line1", "data: line2", "", "retry: 10", "", "unknown: x", "",
        'data: {"last": true}',
    ]
    events = list(iter_sse(line + "\n" for line in lines))
    assert events == [
        SSEEvent(data='{"a": 1}', event="log", id="0"),
        SSEEvent(data='{"b":2}', event="message", id="0"),
        SSEEvent(data="line1\nline2", event="message", id="0"),
        SSEEvent(data='{"last": true}', event="message", id="0"),
    ]


def test_async_twin_matches() -> None:
    chunks = ["data: 1\n", "\n", "data: 2\n", "\r"]

    async def gen():  # type: ignore[no-untyped-def]
        for chunk in chunks:
            yield chunk

    async def collect() -> list[SSEEvent]:
        return [e async for e in aiter_sse(gen())]

    assert [e.data for e in asyncio.run(collect())] == ["1", "2"]


@pytest.mark.parametrize("end", ["\n", "\r", "\r\n"])
@pytest.mark.parametrize("size", [1, 2, 3, 7, 1000])
def test_lines_end_only_at_cr_lf_or_crlf_wherever_the_chunks_split(end: str, size: int) -> None:
    """Data holding every other Unicode line boundary arrives whole, also when a chunk ends
    between the CR and the LF of a CRLF (which must not make an extra blank line)."""
    datas = [f"entry {i} {ch}end" for i, ch in enumerate(NOT_LINE_ENDS)]
    text = "".join(f"id: {i}{end}data: {d}{end}{end}" for i, d in enumerate(datas))
    chunks = [text[i:i + size] for i in range(0, len(text), size)]
    assert [(e.id, e.data) for e in iter_sse(chunks)] == [(str(i), d) for i, d in enumerate(datas)]


def test_a_stream_closed_without_a_final_blank_line_keeps_its_last_event() -> None:
    assert [e.data for e in iter_sse(["data: a\n\ndata: b"])] == ["a", "b"]
    assert [e.data for e in iter_sse(["data: a\r\n\r\ndata: b\r\n"])] == ["a", "b"]

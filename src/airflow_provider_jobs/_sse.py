"""A small Server-Sent Events reader (WHATWG event-stream rules), fed decoded text as it arrives.

Lines end at CR, LF or CRLF only, as the event-stream format says, even when a chunk boundary
falls between the CR and the LF. (``httpx``'s ``iter_lines`` also splits at U+2028, U+2029, NEL,
form feed and the other ``str.splitlines`` boundaries, which cut a log entry whose JSON holds one
of them in two.) It follows the spec rather than the templates SDK's stricter reader: ``data:``
with or without the single space, multi-line ``data`` joined with ``\\n``, ``id``/``event``
fields kept, ``retry``, comment lines (``:``) and unknown fields ignored, and an event
dispatched on a blank line. A stream that ends without a final blank line still yields its last
event (a server that simply closes after its last entry loses nothing).

Why not ``httpx-sse`` (0.4.3), which splits lines the same way: its ``EventSource`` drops that
last event (a replay without ``follow`` would lose its last entry), refuses a response whose
content type is not ``text/event-stream``, and, once an ``id:`` was seen, dispatches an empty
event at every blank line (each keep-alive); the parts that would keep our behaviour are private.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field

_LINE_END = re.compile(r"\r\n|\r|\n")


@dataclass
class SSEEvent:
    """One dispatched event."""

    data: str
    event: str = "message"
    id: str | None = None


@dataclass
class SSEDecoder:
    """Feed lines (without their line ending) in; get events out."""

    _data: list[str] = field(default_factory=list)
    _event: str = ""
    _id: str | None = None

    def feed(self, line: str) -> SSEEvent | None:
        """Consume one line; return an event when the line ends one."""
        if not line:
            return self.flush()
        if line.startswith(":"):
            return None
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._id = value
        return None

    def flush(self) -> SSEEvent | None:
        """End the current event (blank line or end of stream)."""
        if not self._data:
            self._event = ""
            return None
        event = SSEEvent(data="\n".join(self._data), event=self._event or "message", id=self._id)
        self._data, self._event = [], ""
        return event


@dataclass
class SSEReader:
    """Feed decoded text in, in chunks of any size; get events out."""

    _decoder: SSEDecoder = field(default_factory=SSEDecoder)
    _partial: str = ""
    _after_cr: bool = False

    def feed(self, text: str) -> list[SSEEvent]:
        """Consume a chunk of text; return the events it completes."""
        if not text:
            return []
        if self._after_cr and text.startswith("\n"):
            text = text[1:]  # the LF of a CRLF whose CR ended the previous chunk
        self._after_cr = text.endswith("\r")
        lines = _LINE_END.split(self._partial + text)
        self._partial = lines.pop()  # the text after the last line end: a line still arriving
        return self._decode(lines)

    def close(self) -> list[SSEEvent]:
        """End of stream: return the events the last line and a missing final blank line leave."""
        lines = [self._partial] if self._partial else []
        self._partial = ""
        return self._decode([*lines, ""])

    def _decode(self, lines: list[str]) -> list[SSEEvent]:
        return [event for line in lines if (event := self._decoder.feed(line)) is not None]


def iter_sse(chunks: Iterable[str]) -> Iterator[SSEEvent]:
    """Decode events from text chunks (``response.iter_text()``)."""
    reader = SSEReader()
    for chunk in chunks:
        yield from reader.feed(chunk)
    yield from reader.close()


async def aiter_sse(chunks: AsyncIterable[str]) -> AsyncIterator[SSEEvent]:
    """Async twin of :func:`iter_sse` (``response.aiter_text()``)."""
    reader = SSEReader()
    async for chunk in chunks:
        for event in reader.feed(chunk):
            yield event
    for event in reader.close():
        yield event

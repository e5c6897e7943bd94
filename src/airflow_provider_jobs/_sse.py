"""A small Server-Sent Events decoder (WHATWG event-stream rules, line based).

It follows the spec rather than the templates SDK's stricter reader: ``data:`` with or without
the single space, multi-line ``data`` joined with ``\\n``, ``id``/``event``/``retry`` fields
kept, comment lines (``:``) and unknown fields ignored, and an event dispatched on a blank
line. A stream that ends without a final blank line still yields its last event.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field


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
        line = line.rstrip("\r\n")
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


def iter_sse(lines: Iterable[str]) -> Iterator[SSEEvent]:
    """Decode events from an iterable of lines."""
    decoder = SSEDecoder()
    for line in lines:
        event = decoder.feed(line)
        if event is not None:
            yield event
    last = decoder.flush()
    if last is not None:
        yield last


async def aiter_sse(lines: AsyncIterable[str]) -> AsyncIterator[SSEEvent]:
    """Async twin of :func:`iter_sse`."""
    decoder = SSEDecoder()
    async for line in lines:
        event = decoder.feed(line)
        if event is not None:
            yield event
    last = decoder.flush()
    if last is not None:
        yield last

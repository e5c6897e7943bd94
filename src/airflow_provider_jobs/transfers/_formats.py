"""Writers of dataset items to a binary file, one format each, as the items arrive (no I/O of their own).

A writer takes an iterator of items and a writable binary file, and returns ``(items, bytes)``
written. JSON Lines and JSON write each item as it arrives. CSV needs its header first: with
``fields`` the header is those names, in that order; without, the items are spooled to a local
temporary file (JSON Lines) while the union of their keys is collected, then the CSV is written
from the spool. The spool costs local disk the size of the dataset, never memory, and the dataset
is read from the API once, so the CSV holds exactly the items the read saw (two reads of a dataset
that is still growing could disagree).
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Callable, Iterable, Sequence
from typing import IO, Any

from airflow_provider_jobs.exceptions import InvalidArgumentError

FORMATS = ("jsonl", "json", "csv")
BUFFER = 1 << 20
"""Bytes gathered before each write to the destination (object stores prefer large writes)."""

Writer = Callable[[Iterable[Any], IO[bytes], "Sequence[str] | None"], "tuple[int, int]"]


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # one encoder: dumps(**kw) builds one per call


def _dumps(item: Any) -> str:
    return _ENCODER.encode(item)


class _Buffered:
    """Gather encoded text and write it in chunks of about :data:`BUFFER` bytes; count what was written."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.parts: list[bytes] = []
        self.pending = 0
        self.written = 0

    def add(self, text: str) -> None:
        data = text.encode("utf-8")
        self.parts.append(data)
        self.pending += len(data)
        if self.pending >= BUFFER:
            self.flush()

    def flush(self) -> None:
        if self.parts:
            data = b"".join(self.parts)
            self.out.write(data)
            self.written += len(data)
            self.parts, self.pending = [], 0


def write_jsonl(items: Iterable[Any], out: IO[bytes], fields: Sequence[str] | None = None) -> tuple[int, int]:
    """One JSON object per line (UTF-8, ``\\n`` after each)."""
    buf, n = _Buffered(out), 0
    for item in items:
        buf.add(_dumps(item) + "\n")
        n += 1
    buf.flush()
    return n, buf.written


def write_json(items: Iterable[Any], out: IO[bytes], fields: Sequence[str] | None = None) -> tuple[int, int]:
    """One JSON array, written item by item (``[]`` for no items)."""
    buf, n = _Buffered(out), 0
    for item in items:
        buf.add(("[" if n == 0 else ",\n") + _dumps(item))
        n += 1
    buf.add("[]" if n == 0 else "]\n")
    buf.flush()
    return n, buf.written


def write_csv(items: Iterable[Any], out: IO[bytes], fields: Sequence[str] | None = None) -> tuple[int, int]:
    """A CSV table with a header row (RFC 4180 quoting, ``\\r\\n`` line ends, UTF-8).

    Columns are ``fields`` in that order when given, else every key any item has, in the order
    they are first seen. A missing value or ``null`` is an empty cell, a nested object or array its
    JSON text, a number or boolean as JSON spells it. No items and no ``fields``: an empty file.
    """
    if fields is not None:
        return _csv_rows(items, list(fields), out)
    with tempfile.TemporaryFile() as spool:
        columns: dict[str, None] = {}  # an ordered set
        for item in items:
            row = _as_row(item)
            columns.update(dict.fromkeys(row))
            spool.write((_dumps(row) + "\n").encode("utf-8"))
        spool.seek(0)
        if not columns:
            return 0, 0
        return _csv_rows((json.loads(line) for line in spool), list(columns), out)


def _csv_rows(items: Iterable[Any], columns: list[str], out: IO[bytes]) -> tuple[int, int]:
    buf, n = _Buffered(out), 0
    text = io.StringIO()
    rows = csv.writer(text)
    rows.writerow(columns)
    for item in items:
        row = _as_row(item)
        rows.writerow([_cell(row.get(c)) for c in columns])
        n += 1
        if text.tell() >= BUFFER:
            buf.add(text.getvalue())
            text.seek(0)
            text.truncate()
    buf.add(text.getvalue())
    buf.flush()
    return n, buf.written


def _as_row(item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise InvalidArgumentError(
            f"A dataset item is a {type(item).__name__}, not an object: it has no columns for CSV (use jsonl or json)."
        )
    return item


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return _dumps(value)


WRITERS: dict[str, Writer] = {"jsonl": write_jsonl, "json": write_json, "csv": write_csv}

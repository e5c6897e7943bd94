"""Apify storages of an emulator: datasets and key-value stores, the runs' defaults among them.

A run's default dataset holds the items its timeline writes (``Timeline.items``), generated
from their index when read (:func:`generated_item`), so their number costs no memory; items a
test pushes follow them. A run's default key-value store has ``INPUT`` (the run input) and,
once the run has ``SUCCEEDED``, ``OUTPUT`` (``Timeline.output``); records a test puts win.
Storages of runs are found by their ids on first use; others are created by the operations.

The log of a run or build is derived from its schedule: a line when the job is created, one per
status change, and ``Timeline.log_lines`` progress lines spread over the ``RUNNING`` time (those
the job is still running for). The log at a moment is the lines written by then, so it grows as
the job runs and the same job always has the same lines.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from airflow_provider_jobs.emulator._util import apify_id, iso_ms
from airflow_provider_jobs.emulator.apify_records import JobRecord
from airflow_provider_jobs.emulator.apify_state import ApifyState
from airflow_provider_jobs.emulator.errors import UnknownRecordError, or_unknown
from airflow_provider_jobs.emulator.timelines import phase_start, status_at

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
_CHANGES = {
    "RUNNING": "ACTOR: Starting Docker container.",
    "TIMING-OUT": "ACTOR: The Actor run has reached its timeout, stopping it.",
    "TIMED-OUT": "ACTOR: The Actor run has timed out.",
    "ABORTING": "ACTOR: Aborting the Actor run gracefully (sending the aborting event).",
    "ABORTED": "ACTOR: The Actor run was aborted.",
    "SUCCEEDED": "ACTOR: Finished with exit code {code}.",
    "FAILED": "ACTOR: Finished with exit code {code}.",
}
_BUILD_CHANGES = {
    "RUNNING": "ACTOR: Building Docker image for version {version}.",
    "SUCCEEDED": "ACTOR: Build finished, image pushed as build {number}.",
    "FAILED": "ACTOR: Build failed.",
    "ABORTED": "ACTOR: The build was aborted.",
    "TIMED-OUT": "ACTOR: The build has timed out.",
}


def log_lines(job: JobRecord, scale: float) -> list[tuple[float, str]]:
    """Return every ``(moment, text)`` line of ``job``'s log, past and scheduled, in order."""
    build = job.kind == "build"
    first = (
        f"ACTOR: Creating build {job.build_number} of Actor {job.actor.full_name}."
        if build
        else f"ACTOR: Pulling Docker image of build {job.build_number} ({job.build_id}) from the registry."
    )
    lines = [(job.created, first)]
    code = job.timeline.exit_code
    code = (0 if job.timeline.outcome == "SUCCEEDED" else 1) if code is None else code
    for phase in job.phases[1:]:
        template = (_BUILD_CHANGES if build else _CHANGES).get(phase.status)
        if template:
            lines.append((phase.at, template.format(code=code, version=job.version, number=job.build_number)))
    started, count = phase_start(job.phases, "RUNNING"), job.timeline.log_lines
    if started is not None and count:
        step = job.timeline.running_secs * scale / (count + 1)
        for k in range(1, count + 1):
            at = started + k * step
            if status_at(job.phases, at) == "RUNNING":
                lines.append((at, f"INFO  {'Build step' if build else 'Progress'}: {k} of {count} done."))
    lines.sort(key=lambda line: line[0])
    return lines


def render_lines(lines: list[tuple[float, str]], wall: Callable[[float], datetime]) -> str:
    """Return the text of ``lines``, each prefixed with its ISO time."""
    return "".join(f"{iso_ms(wall(at))} {text}\n" for at, text in lines)


def generated_item(index: int, item_bytes: int = 0) -> dict[str, Any]:
    """Return the generated dataset item at ``index`` (always the same for the same index).

    :param item_bytes: pad the item's JSON to about this many bytes with a ``padding`` field.
    """
    item: dict[str, Any] = {"index": index, "title": f"Item {index}", "url": f"https://example.com/items/{index}"}
    if item_bytes:
        size = len(json.dumps(item)) + len(', "padding": ""')
        item["padding"] = "x" * max(0, item_bytes - size)
    return item


S = TypeVar("S", "DatasetRecord", "KeyValueStoreRecord")


@dataclass
class DatasetRecord:
    """A dataset: generated items (a run's, or a fixed number), then pushed ones."""

    id: str
    job: JobRecord | None = None
    generated: int = 0
    item_bytes: int = 0
    pushed: list[Any] = field(default_factory=list)

    def generated_count(self, now: float, scale: float) -> int:
        """Return how many generated items exist at ``now`` (a run writes them as it runs)."""
        if self.job is None:
            return self.generated
        if self.job.status(now) == "SUCCEEDED":  # all of them (the float fraction may be 0.99999...)
            return self.job.timeline.items
        return int(self.job.timeline.items * self.job.running_fraction(now, scale))

    def item(self, index: int, generated: int) -> Any:
        """Return the item at ``index`` when ``generated`` items come before the pushed ones."""
        if index < generated:
            return generated_item(index, self.job.timeline.item_bytes if self.job else self.item_bytes)
        return self.pushed[index - generated]


@dataclass
class StoredRecord:
    """A key-value store record: its bytes and their content type."""

    value: bytes
    content_type: str


@dataclass
class KeyValueStoreRecord:
    """A key-value store (a run's default one has ``job``)."""

    id: str
    job: JobRecord | None = None
    records: dict[str, StoredRecord] = field(default_factory=dict)


def _encode(value: Any, content_type: str | None, base64_value: str | None) -> StoredRecord:
    if base64_value is not None:
        return StoredRecord(base64.b64decode(base64_value), content_type or "application/octet-stream")
    if content_type is None or "json" in content_type:
        return StoredRecord(json.dumps(value).encode(), content_type or JSON_CONTENT_TYPE)
    if isinstance(value, bytes):
        return StoredRecord(value, content_type)
    return StoredRecord(str(value).encode(), content_type)


class ApifyStorage:
    """Datasets and key-value stores, sharing the lock and clock of the Apify state.

    :param apify: the Apify state whose runs own default storages.
    """

    def __init__(self, apify: ApifyState) -> None:
        self.apify = apify
        self.lock = apify.lock
        self.datasets: dict[str, DatasetRecord] = {}
        self.stores: dict[str, KeyValueStoreRecord] = {}

    def _default_of_run(
        self, table: dict[str, S], kind: str, storage_id: str, make: Callable[[str, JobRecord], S]
    ) -> S | None:
        """Return ``table[storage_id]``; a run's default storage of ``kind`` is made on first use."""
        with self.lock:
            if storage_id not in table:
                runs = self.apify.runs.values()
                job = next((job for job in runs if job.storage_ids.get(kind) == storage_id), None)
                if job is None:
                    return None
                table[storage_id] = make(storage_id, job)
            return table[storage_id]

    def dataset(self, dataset_id: str) -> DatasetRecord | None:
        """Return a dataset (a run's default one included), if there is one."""
        return self._default_of_run(self.datasets, "dataset", dataset_id, DatasetRecord)

    def store(self, store_id: str) -> KeyValueStoreRecord | None:
        """Return a key-value store (a run's default one included), if there is one."""
        return self._default_of_run(self.stores, "keyValueStore", store_id, KeyValueStoreRecord)

    def log_of(self, job_id: str) -> str:
        """Return the log of a run or build as ``GET /v2/logs/{buildOrRunId}`` returns it now."""
        job = or_unknown(self.apify.job("run", job_id) or self.apify.job("build", job_id), f"run or build {job_id!r}")
        return render_lines(self.written_log(job)[0], self.apify.runtime.clock.to_wall)

    def written_log(self, job: JobRecord) -> tuple[list[tuple[float, str]], float | None, bool]:
        """Return the log lines of ``job`` written by now, in how long the next one is due (``None``
        if none is) and whether the job has ended."""
        rt = self.apify.runtime
        with self.lock:
            now, lines = rt.now(), log_lines(job, rt.time_scale)
            upcoming = [at for at, _ in lines if at > now]
            due = (min(upcoming) - now) if upcoming else None
            return [line for line in lines if line[0] <= now], due, self.apify.is_terminal(job)

    # -- datasets -----------------------------------------------------------------------------
    def create_dataset(self, items: list[Any] | None = None, *, generated_items: int = 0, item_bytes: int = 0) -> str:
        """Create a dataset and return its id.

        :param items: items it holds (after the generated ones).
        :param generated_items: how many generated items (:func:`generated_item`) come first.
        :param item_bytes: pad each generated item's JSON to about this many bytes.
        """
        with self.lock:
            record = DatasetRecord(apify_id(), generated=generated_items, item_bytes=item_bytes)
            record.pushed.extend(items or [])
            self.datasets[record.id] = record
            return record.id

    def push_items(self, dataset_id: str, items: list[Any]) -> int:
        """Append ``items`` to a dataset (created when the id is new); return its item count."""
        with self.lock:
            record = self.dataset(dataset_id) or self.datasets.setdefault(dataset_id, DatasetRecord(dataset_id))
            record.pushed.extend(items)
            rt = self.apify.runtime
            return record.generated_count(rt.now(), rt.time_scale) + len(record.pushed)

    def rows(self, record: DatasetRecord, offset: int, limit: int | None, desc: bool) -> tuple[Iterator[Any], int, int]:
        """Return ``(rows, scanned, total)``: the rows of one page, read lazily, newest first if ``desc``."""
        rt = self.apify.runtime
        with self.lock:
            generated = record.generated_count(rt.now(), rt.time_scale)
            total = generated + len(record.pushed)
        end = total if limit is None else min(total, offset + limit)
        positions = range(offset, max(offset, end))
        indexes = (total - 1 - pos for pos in positions) if desc else iter(positions)
        return (record.item(index, generated) for index in indexes), len(positions), total

    def dataset_items(self, dataset_id: str, *, offset: int = 0, limit: int = 1000, desc: bool = False) -> list[Any]:
        """Return a page of a dataset's items, as stored (no filters)."""
        record = or_unknown(self.dataset(dataset_id), f"dataset {dataset_id!r}")
        return list(self.rows(record, offset, limit, desc)[0])

    # -- key-value stores ---------------------------------------------------------------------
    def put_record(
        self,
        store_id: str,
        record_key: str,
        value: Any = None,
        *,
        content_type: str | None = None,
        base64_value: str | None = None,
    ) -> None:
        """Store a record (the store is created when the id is new).

        :param value: the value: JSON-encoded unless ``content_type`` is given and not JSON
            (then text).
        :param content_type: its ``Content-Type`` (default ``application/json; charset=utf-8``).
        :param base64_value: binary content, base64-encoded (then ``value`` is ignored).
        """
        with self.lock:
            store = self.store(store_id) or self.stores.setdefault(store_id, KeyValueStoreRecord(store_id))
            store.records[record_key] = _encode(value, content_type, base64_value)

    def record(self, store: KeyValueStoreRecord, record_key: str) -> StoredRecord | None:
        """Return a record of ``store`` now (a run's ``INPUT``/``OUTPUT`` included), if it exists."""
        with self.lock:
            if record_key in store.records:
                return store.records[record_key]
            job = store.job
            if job is None:
                return None
            if record_key == "INPUT" and job.run_input is not None:
                return _encode(job.run_input, None, None)
            output = job.timeline.output
            done = job.status(self.apify.runtime.now()) == "SUCCEEDED"
            return _encode(output, None, None) if record_key == "OUTPUT" and done and output is not None else None

    def get_record(self, store_id: str, record_key: str) -> dict[str, Any]:
        """Return a record as ``{"content_type", "base64_value", "value"}`` (``value`` for JSON/text)."""
        store = self.store(store_id)
        found = self.record(store, record_key) if store is not None else None
        if found is None:
            raise UnknownRecordError(f"no record {record_key!r} in key-value store {store_id!r}")
        value: Any = None
        if "json" in found.content_type:
            value = json.loads(found.value)
        elif found.content_type.startswith("text/"):
            value = found.value.decode("utf-8", errors="replace")
        return {
            "content_type": found.content_type,
            "base64_value": base64.b64encode(found.value).decode(),
            "value": value,
        }

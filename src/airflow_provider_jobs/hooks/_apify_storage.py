"""Reading a run's results through the Apify hook: dataset items, key-value records, logs.

:class:`ApifyStorageOperations` is a base of :class:`~airflow_provider_jobs.hooks.apify.ApifyHook`
(the one public class): its methods build calls for the HTTP core and leave the bookkeeping to the
I/O-free helpers of :mod:`._apify_results`. Every read is a GET, so the core retries each page or
request on 429, 5xx and network errors like any other read.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator
from typing import Any

import httpx

from airflow_provider_jobs._call import Call
from airflow_provider_jobs._validation import (
    normalize_named_id,
    validate_count,
    validate_field_names,
    validate_flag,
    validate_job_id,
    validate_record_key,
)
from airflow_provider_jobs.exceptions import NotFoundError
from airflow_provider_jobs.hooks._apify_results import (
    LOG_READ_TIMEOUT,
    ItemPages,
    LogTail,
    is_missing_store,
    parse_items,
    record_value,
)
from airflow_provider_jobs.hooks._apify_service import (
    DATASET_ID,
    DATASET_ITEMS_PATH,
    JOB_ID,
    LOG_PATH,
    RECORD_PATH,
    STORE_ID,
    seg,
)
from airflow_provider_jobs.hooks._base import JobsHook, Operation

STREAM_ERRORS = (httpx.TransportError, httpx.DecodingError)
"""What reading an open log stream may raise when the connection breaks."""


class _DatasetRead:
    """One dataset read: its checked arguments, its page bookkeeping and the call of each page."""

    def __init__(self, conn_id: str, dataset_id: Any, **opts: Any) -> None:
        self.conn_id = conn_id
        self.dataset_id = normalize_named_id(dataset_id, DATASET_ID, "dataset")
        params = {"format": "json"}
        for key in ("fields", "omit"):
            names = validate_field_names(opts[key], key)
            if names:
                params[key] = ",".join(names)
        for key in ("clean", "desc"):
            if validate_flag(opts[key], key):
                params[key] = "true"
        self.params = params
        limit = None if opts["limit"] is None else validate_count(opts["limit"], "limit", minimum=0)
        self.pages = ItemPages(validate_count(opts["offset"], "offset", minimum=0), limit, filtered="clean" in params)

    def next_op(self) -> tuple[int, Operation[tuple[list[Any], str | None]]]:
        offset, size = self.pages.next_page()
        call = Call(
            "GET", DATASET_ITEMS_PATH.format(dataset_id=seg(self.dataset_id)),
            f"Read of Apify dataset {self.dataset_id} (items {offset}-{offset + size - 1})", DATASET_ID,
            params={**self.params, "offset": str(offset), "limit": str(size)}, expect_json=False,
        )
        return size, Operation(call, lambda response: parse_items(call, self.conn_id, response))


class ApifyStorageOperations(JobsHook):
    """Dataset, key-value store and log reads of :class:`~airflow_provider_jobs.hooks.apify.ApifyHook`."""

    # ---------------------------------------------------------------- datasets
    def iter_dataset_items(
        self,
        dataset_id: str,
        *,
        fields: list[str] | None = None,
        omit: list[str] | None = None,
        clean: bool = False,
        desc: bool = False,
        offset: int = 0,
        limit: int | None = None,
    ) -> Iterator[Any]:
        """Yield a dataset's items, reading pages of 1,000 lazily (``GET /v2/datasets/{datasetId}/items``).

        Only one page is held in memory at a time; the next is requested when the caller has taken
        the previous one. A page is a GET, retried by the core on 429, 5xx and network errors. Each
        page advances by the rows it scanned (``X-Apify-Pagination-Count``, which also counts the
        items ``clean`` skipped). The read ends at a page shorter than asked, or with ``clean`` at a
        page that scanned nothing, or after ``limit`` rows. Arguments are checked when the
        generator is created, before any request.

        :param dataset_id: dataset id, ``username~dataset-name`` or ``username/dataset-name``
        :param fields: keep only these fields, in this order
        :param omit: drop these fields
        :param clean: skip empty items and hidden fields (``#name``)
        :param desc: newest items first
        :param offset: items to skip at the start
        :param limit: items to scan at most (``None``: the whole dataset)
        :raises InvalidArgumentError: a refused argument (no request made)
        :raises NotFoundError: no such dataset
        """
        read = _DatasetRead(self.conn_id, dataset_id, fields=fields, omit=omit, clean=clean, desc=desc,
                            offset=offset, limit=limit)
        return self._pages(read)

    def _pages(self, read: _DatasetRead) -> Iterator[Any]:
        while not read.pages.done:
            asked, op = read.next_op()
            items, counted = self._run(op)
            read.pages.after(asked, len(items), counted)
            yield from items

    def aiter_dataset_items(
        self,
        dataset_id: str,
        *,
        fields: list[str] | None = None,
        omit: list[str] | None = None,
        clean: bool = False,
        desc: bool = False,
        offset: int = 0,
        limit: int | None = None,
    ) -> AsyncIterator[Any]:
        """Async twin of :meth:`iter_dataset_items` (an async iterator)."""
        read = _DatasetRead(self.conn_id, dataset_id, fields=fields, omit=omit, clean=clean, desc=desc,
                            offset=offset, limit=limit)
        return self._apages(read)

    async def _apages(self, read: _DatasetRead) -> AsyncIterator[Any]:
        while not read.pages.done:
            asked, op = read.next_op()
            items, counted = await self._arun(op)
            read.pages.after(asked, len(items), counted)
            for item in items:
                yield item

    # ----------------------------------------------------------------- records
    def _record_op(self, store_id: Any, key: Any) -> Operation[Any]:
        store = normalize_named_id(store_id, STORE_ID, "store")
        key = validate_record_key(key)
        call = Call(
            "GET", RECORD_PATH.format(store_id=seg(store), key=seg(key, safe="!'()")),
            f"Get of record '{key}' of Apify key-value store {store}", "record key and key-value store id",
            params={"attachment": "true"}, expect_json=False,
        )
        return Operation(call, record_value)

    def get_record(self, store_id: str, key: str) -> Any:
        """Return a key-value record (``GET /v2/key-value-stores/{storeId}/records/{recordKey}``), or ``None``.

        The value is decoded JSON when the record's Content-Type is JSON, else its raw bytes
        (sent with ``attachment=true``, so HTML comes back unmodified). The API answers a missing
        record and a missing store with the same 404 ``record-not-found`` and tells them apart only
        in its message ("Record was not found", "Key-value store was not found"): a 404 whose
        message names the store raises :class:`~airflow_provider_jobs.exceptions.NotFoundError`,
        any other 404 returns ``None`` (apify-client returns ``None`` for both). A record the API
        serves by redirect (302 to a signed URL) raises
        :class:`~airflow_provider_jobs.exceptions.UnexpectedResponseError`: the core never follows
        redirects, so the token cannot travel to another host.

        :param store_id: store id, ``username~store-name`` or ``username/store-name``
        :param key: the record key (at most 256 characters from ``a-zA-Z0-9!-_.'()``)
        :raises InvalidArgumentError: a refused id or key (no request made)
        :raises NotFoundError: no such key-value store
        """
        op = self._record_op(store_id, key)
        try:
            return self._run(op)
        except NotFoundError as err:
            if is_missing_store(err):
                raise
            return None

    async def aget_record(self, store_id: str, key: str) -> Any:
        """Async twin of :meth:`get_record`."""
        op = self._record_op(store_id, key)
        try:
            return await self._arun(op)
        except NotFoundError as err:
            if is_missing_store(err):
                raise
            return None

    # -------------------------------------------------------------------- logs
    def _log_call(self, job_id: Any, *, stream: bool) -> Call:
        job_id = validate_job_id(job_id, JOB_ID)
        verb = "Stream" if stream else "Get"
        return Call(
            "GET", LOG_PATH.format(job_id=seg(job_id)), f"{verb} of the log of Apify run or build {job_id}",
            JOB_ID, params={"stream": "true"} if stream else None, job_id=job_id, expect_json=False,
            read_timeout=LOG_READ_TIMEOUT if stream else None, held_open=stream,
        )

    def _log_stream(self, job_id: Any, max_reconnects: Any) -> tuple[Call, LogTail]:
        call = self._log_call(job_id, stream=True)
        return call, LogTail(call.job_id or "", validate_count(max_reconnects, "max_reconnects", minimum=0))

    def get_log(self, job_id: str) -> str:
        """Return the log of a run or build as it is now (``GET /v2/logs/{buildOrRunId}``).

        :param job_id: the run or build id
        :raises NotFoundError: no such run or build
        """
        return self._run(Operation(self._log_call(job_id, stream=False), _response_text))

    async def aget_log(self, job_id: str) -> str:
        """Async twin of :meth:`get_log`."""
        return await self._arun(Operation(self._log_call(job_id, stream=False), _response_text))

    def stream_log(self, job_id: str, *, max_reconnects: int = 5) -> Iterator[str]:
        """Yield the lines of a run's or build's log as they are written (``GET /v2/logs/{buildOrRunId}?stream=true``).

        Lines come without their line ending. The stream ends when the job does. When the
        connection breaks, it is opened again; the API sends the log from its start again, so the
        bytes of the lines already yielded are skipped and no line is repeated. Opening is retried
        by the core like any GET; ``max_reconnects`` broken connections in a row without a new line
        end the stream with the error.

        :param job_id: the run or build id
        :param max_reconnects: reconnects in a row without a new line before giving up
        :raises NotFoundError: no such run or build
        """
        call, tail = self._log_stream(job_id, max_reconnects)
        return self._stream_lines(call, tail)

    def _stream_lines(self, call: Call, tail: LogTail) -> Iterator[str]:
        core = self.get_conn()
        while True:
            try:
                yield from self._log_connection(call, tail)
                yield from tail.finish()
                return
            except STREAM_ERRORS as exc:
                pause = tail.after_drop(core.map_stream_error(call, exc), quiet=isinstance(exc, httpx.ReadTimeout))
            time.sleep(pause)

    def _log_connection(self, call: Call, tail: LogTail) -> Generator[str, None, None]:
        """One connection of a log read: the new whole lines ``tail`` lets through (a last line without
        its line end stays in ``tail.finish()``); a drop raises one of :data:`STREAM_ERRORS` (the job
        lifecycle follows a log connection by connection)."""
        tail.connected()
        with self.get_conn().stream(call) as response:
            for chunk in response.iter_bytes():
                yield from tail.feed(chunk)

    def astream_log(self, job_id: str, *, max_reconnects: int = 5) -> AsyncIterator[str]:
        """Async twin of :meth:`stream_log` (an async iterator)."""
        call, tail = self._log_stream(job_id, max_reconnects)
        return self._astream_lines(call, tail)

    async def _astream_lines(self, call: Call, tail: LogTail) -> AsyncIterator[str]:
        core = await self.aget_conn()
        while True:
            try:
                async for line in self._alog_connection(call, tail):
                    yield line
                for line in tail.finish():
                    yield line
                return
            except STREAM_ERRORS as exc:
                pause = tail.after_drop(core.map_stream_error(call, exc), quiet=isinstance(exc, httpx.ReadTimeout))
            await asyncio.sleep(pause)

    async def _alog_connection(self, call: Call, tail: LogTail) -> AsyncGenerator[str, None]:
        """Async twin of :meth:`_log_connection`."""
        tail.connected()
        async with (await self.aget_conn()).astream(call) as response:
            async for chunk in response.aiter_bytes():
                for line in tail.feed(chunk):
                    yield line


def _response_text(response: httpx.Response) -> str:
    return response.text

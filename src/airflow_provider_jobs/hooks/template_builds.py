"""Hook for the Nullspace template-build API v1: start, get, wait, cancel, stream logs."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, ClassVar
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from airflow_provider_jobs._call import Call
from airflow_provider_jobs._connection import ErrorBody, ServiceInfo
from airflow_provider_jobs._retry import Idempotency
from airflow_provider_jobs._sse import SSEEvent, aiter_sse, iter_sse
from airflow_provider_jobs._validation import show_value, validate_job_id, validate_reason
from airflow_provider_jobs.exceptions import InvalidArgumentError, JobsApiError
from airflow_provider_jobs.hooks._base import JobsHook, Operation, json_body, model_operation
from airflow_provider_jobs.hooks._forms import with_connection_form
from airflow_provider_jobs.models.template_builds import (
    TemplateBuild,
    TemplateBuildLogEntry,
    TemplateBuildSnapshot,
    TemplateInfo,
)

log = logging.getLogger(__name__)

BUILDS_PATH = "/v1/templates/builds"
BUILD_PATH = "/v1/templates/builds/{build_id}"
CANCEL_PATH = "/v1/templates/builds/{build_id}/cancel"
LOGS_PATH = "/v1/templates/builds/{build_id}/logs"
TEMPLATES_PATH = "/v1/templates"

BUILD_ID = "template build id"
FOLLOW_READ_TIMEOUT = 120.0
"""Read timeout of a followed log stream: a quiet build may send nothing for a while."""


def _seg(value: str) -> str:
    return quote(value, safe="")


def _read_error(body: Mapping[str, Any]) -> ErrorBody:
    """The flat ``{"error": "<message>", "code", "request_id"}`` body and its nested variant
    ``{"error": {"message", "code", "request_id"}}``, whose outer keys fill any gaps."""
    error = body.get("error")
    nested: Mapping[str, Any] = error if isinstance(error, dict) else {}
    message = nested.get("message") if nested else error if isinstance(error, str) else body.get("message")
    return ErrorBody(nested.get("code") or body.get("code") or body.get("type"), message,
                     nested.get("request_id") or body.get("request_id"))


def _created_id(body: Any) -> Any:
    """A started build in ``{"build_id": ...}``."""
    return body.get("build_id") if isinstance(body, dict) else None


TEMPLATE_BUILDS_SERVICE = ServiceInfo(
    label="Nullspace template builds", conn_type="template_builds", default_base_url=None,
    token_hint="an API key such as ns_live_...", created_id=_created_id, read_error=_read_error,
)
"""The templates API as the HTTP core sees it (no long poll: builds are polled)."""


class LogCursor:
    """I/O-free state of one template build's log: offsets, dedupe, reconnect budget.

    :meth:`TemplateBuildHook.stream_logs` and its async twin feed it the stream's events and
    status snapshots; the template-build job kind (``lifecycle.template_builds``) feeds it the
    snapshots of a wait or a cancel. Either way an entry is handed out once, in offset order.

    :param build_id: the template build whose log this is (for messages)
    :param offset: the first entry wanted
    :param max_reconnects: closed streams in a row without a new entry before giving up
    """

    def __init__(self, build_id: str, offset: int, max_reconnects: int) -> None:
        self.build_id = build_id
        self.next_offset = offset
        self.max_reconnects = max_reconnects
        self.failures = 0
        self.progressed = False
        self.done = False

    def accept(self, event: SSEEvent) -> TemplateBuildLogEntry | None:
        """Parse an event; return the entry if it is new."""
        try:
            # strict=False: a raw control character inside a string (a lax server's) loses nothing
            entry = TemplateBuildLogEntry.model_validate(json.loads(event.data, strict=False))
        except (ValueError, ValidationError):
            log.warning("Template build %s: skipped a log event that is not a log entry.", self.build_id)
            return None
        if entry.offset < self.next_offset:
            return None
        self.next_offset = entry.offset + 1
        self.progressed = True
        self.done = entry.is_terminal
        return entry

    def accept_snapshot(self, snapshot: TemplateBuildSnapshot) -> list[TemplateBuildLogEntry]:
        """Take the entries of a status snapshot; mark the stream done if the build ended."""
        fresh = [e for e in sorted(snapshot.entries, key=lambda e: e.offset) if e.offset >= self.next_offset]
        if fresh:
            self.next_offset = fresh[-1].offset + 1
            self.progressed = True
        self.next_offset = max(self.next_offset, snapshot.next_offset)
        self.done = snapshot.build.is_terminal
        return fresh

    def after_close(self, error: BaseException | None, *, quiet: bool = False) -> float:
        """Count a closed stream; return the pause before reconnecting, or raise when spent.

        A stream that stayed open until its read timeout (a build that logged nothing for
        :data:`FOLLOW_READ_TIMEOUT` seconds while the snapshot says it is still going) is not a
        failure: reconnect at once, without spending the budget.
        """
        if quiet:
            self.progressed = False
            return 0.0
        self.failures = 0 if self.progressed else self.failures + 1
        self.progressed = False
        if self.failures > self.max_reconnects:
            if isinstance(error, JobsApiError):
                raise error
            raise JobsApiError(
                f"Log stream of template build {self.build_id} kept closing without new entries "
                f"({self.failures} times in a row); last offset {self.next_offset}.",
                job_id=self.build_id,
            ) from error
        return min(5.0, 0.25 * (2 ** max(0, self.failures - 1)))


@with_connection_form
class TemplateBuildHook(JobsHook):
    """Talk to the Nullspace template-build API through the connection ``template_builds_conn_id``.

    The connection's password is the API key and ``host`` the API base URL (required: the
    service has no public default). Every method has an async twin with an ``a`` prefix.

    :param template_builds_conn_id: the Airflow connection id (type ``template_builds``)
    """

    service: ClassVar[ServiceInfo] = TEMPLATE_BUILDS_SERVICE
    conn_type: ClassVar[str] = "template_builds"
    conn_name_attr: ClassVar[str] = "template_builds_conn_id"
    default_conn_name: ClassVar[str] = "template_builds_default"
    hook_name: ClassVar[str] = "Nullspace Template Builds"

    def __init__(self, template_builds_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(template_builds_conn_id, **kwargs)
        self.template_builds_conn_id = template_builds_conn_id

    # --------------------------------------------------------- request building
    def _snapshot_op(self, call: Call) -> Operation[TemplateBuildSnapshot]:
        return model_operation(TemplateBuildSnapshot, call, self.conn_id, None)

    def _get_op(self, build_id: str, offset: Any = None) -> Operation[TemplateBuildSnapshot]:
        build_id = validate_job_id(build_id, BUILD_ID)
        params = {"offset": str(_offset(offset))} if offset is not None else None
        return self._snapshot_op(Call(
            "GET", BUILD_PATH.format(build_id=_seg(build_id)), f"Get of template build {build_id}", BUILD_ID,
            params=params, job_id=build_id,
        ))

    def _cancel_op(self, build_id: str, reason: Any = None) -> Operation[TemplateBuildSnapshot]:
        build_id = validate_job_id(build_id, BUILD_ID)
        text = validate_reason(reason)
        return self._snapshot_op(Call(
            "POST", CANCEL_PATH.format(build_id=_seg(build_id)), f"Cancel of template build {build_id}",
            BUILD_ID, json={"reason": text} if text else {}, job_id=build_id,
        ))

    def _start_op(self, request: Mapping[str, Any] | None, fields: dict[str, Any]) -> Operation[TemplateBuild]:
        if request is not None and not isinstance(request, Mapping):
            raise InvalidArgumentError(
                f"Invalid template build request: expected a dict, got {type(request).__name__}."
            )
        body = json_body({**dict(request or {}), **fields}, "template build request")
        if "tags" in body and body["tags"] == []:
            raise InvalidArgumentError(
                "Invalid template build request: 'tags' must not be empty (omit it for ['default'])."
            )
        call = Call("POST", BUILDS_PATH, "Start of a template build", "template", json=body,
                    idempotency=Idempotency.CREATE)
        return model_operation(TemplateBuild, call, self.conn_id, None)

    def _templates_op(self, limit: int) -> Operation[list[TemplateInfo]]:
        call = Call("GET", TEMPLATES_PATH, "Listing templates", "API key", params={"limit": str(limit)})

        def parse(payload: Any) -> list[TemplateInfo]:
            items = payload.get("templates", payload.get("items")) if isinstance(payload, dict) else payload
            if not isinstance(items, list):
                items = []
            return [TemplateInfo.model_validate(i) for i in items if isinstance(i, dict) and "id" in i]

        return Operation(call, parse)

    def _logs_call(self, build_id: str, offset: int, follow: bool) -> Call:
        return Call(
            "GET", LOGS_PATH.format(build_id=_seg(build_id)), f"Log stream of template build {build_id}",
            BUILD_ID, params={"offset": str(offset), "follow": "true" if follow else "false"},
            job_id=build_id, read_timeout=FOLLOW_READ_TIMEOUT if follow else None, expect_json=False,
            held_open=follow,
            accept="text/event-stream",
        )

    # ------------------------------------------------------------------- sync
    def get_build(self, build_id: str, offset: int | None = None) -> TemplateBuildSnapshot:
        """Get a build with its log entries from ``offset`` (``GET /v1/templates/builds/{build_id}``).

        :param build_id: the build id (``tb_...``)
        :param offset: first log entry to return (pass back the previous ``next_offset``)
        """
        return self._run(self._get_op(build_id, offset))

    def cancel_build(self, build_id: str, reason: str | None = None) -> TemplateBuildSnapshot:
        """Cancel a build (``POST /v1/templates/builds/{build_id}/cancel``).

        Idempotent: a finished build comes back unchanged. On an active build the answer may
        still be ``waiting``/``building`` with ``cancel_requested_at`` set: the cancel is pending.

        :param build_id: the build id
        :param reason: recorded on the build as ``cancellation_reason`` (at most 500 characters)
        """
        return self._run(self._cancel_op(build_id, reason))

    def start_build(self, request: Mapping[str, Any] | None = None, **fields: Any) -> TemplateBuild:
        """Start a build in the background (``POST /v1/templates/builds``, 202); never retried once sent.

        :param request: the ``CreateTemplateRequest`` body (``name``, ``dockerfile``, ``tags``...)
        :param fields: body fields given as keywords (they win over ``request``)
        """
        return self._run(self._start_op(request, fields))

    def list_templates(self, limit: int = 100) -> list[TemplateInfo]:
        """List the caller's templates (``GET /v1/templates``)."""
        return self._run(self._templates_op(limit))

    def wait_for_build(
        self, build_id: str, timeout: float | None, *, poll_interval: float = 2.0, not_found_grace: float = 0.0
    ) -> TemplateBuild:
        """Poll until a build is terminal and return it.

        :param build_id: the build id
        :param timeout: seconds to wait at most (``None``: no limit)
        :param poll_interval: seconds between polls
        :param not_found_grace: seconds during which a 404 is taken as replication lag
        :raises JobWaitTimeout: the build was still active at the deadline
        """
        from airflow_provider_jobs.lifecycle.template_builds import TEMPLATE_BUILD  # the lifecycle's wait

        watch = TEMPLATE_BUILD.watch(self, build_id)
        return watch.wait_end(timeout, poll_interval=poll_interval, not_found_grace=not_found_grace).build

    def stream_logs(
        self, build_id: str, offset: int | None = None, follow: bool = True, *, max_reconnects: int = 5
    ) -> Iterator[TemplateBuildLogEntry]:
        """Yield log entries from the SSE stream (``GET /v1/templates/builds/{build_id}/logs``).

        With ``follow`` the stream is resumed from the last offset when it closes or breaks,
        and ends after the build's terminal entry (``end``, ``error``, ``cancelled``).

        :param build_id: the build id
        :param offset: first entry to replay
        :param follow: keep reading live entries until the build ends
        :param max_reconnects: reconnects in a row without a new entry before giving up
        """
        build_id = validate_job_id(build_id, BUILD_ID)
        cursor = LogCursor(build_id, _offset(0 if offset is None else offset), max_reconnects)
        core = self.get_conn()
        while True:
            call = self._logs_call(build_id, cursor.next_offset, follow)
            error: BaseException | None = None
            quiet = False
            try:
                with core.stream(call) as response:
                    for event in iter_sse(response.iter_text()):
                        if (entry := cursor.accept(event)) is not None:
                            yield entry
                            if cursor.done:
                                return
            except (httpx.TransportError, httpx.DecodingError) as exc:
                error = core.map_stream_error(call, exc)
                quiet = isinstance(exc, httpx.ReadTimeout)  # the stream opened, then nothing came
                if not follow:
                    raise error from exc
            if not follow:
                return
            yield from cursor.accept_snapshot(self.get_build(build_id, offset=cursor.next_offset))
            if cursor.done:
                return
            time.sleep(cursor.after_close(error, quiet=quiet))

    def test_connection(self) -> tuple[bool, str]:
        """Check the API key with an authenticated read-only call (``GET /v1/templates``)."""
        return self._test(lambda: self._connected(self.list_templates(limit=1)))

    def _connected(self, _templates: list[TemplateInfo]) -> str:
        return f"Connected to {self.settings.base_url}; the API key was accepted."

    # ------------------------------------------------------------ async twins
    async def aget_build(self, build_id: str, offset: int | None = None) -> TemplateBuildSnapshot:
        """Async twin of :meth:`get_build`."""
        return await self._arun(self._get_op(build_id, offset))

    async def acancel_build(self, build_id: str, reason: str | None = None) -> TemplateBuildSnapshot:
        """Async twin of :meth:`cancel_build`."""
        return await self._arun(self._cancel_op(build_id, reason))

    async def astart_build(self, request: Mapping[str, Any] | None = None, **fields: Any) -> TemplateBuild:
        """Async twin of :meth:`start_build`."""
        return await self._arun(self._start_op(request, fields))

    async def alist_templates(self, limit: int = 100) -> list[TemplateInfo]:
        """Async twin of :meth:`list_templates`."""
        return await self._arun(self._templates_op(limit))

    async def await_for_build(
        self, build_id: str, timeout: float | None, *, poll_interval: float = 2.0, not_found_grace: float = 0.0
    ) -> TemplateBuild:
        """Async twin of :meth:`wait_for_build`."""
        from airflow_provider_jobs.lifecycle.template_builds import TEMPLATE_BUILD

        watch = TEMPLATE_BUILD.watch(self, build_id)
        return (await watch.await_end(timeout, poll_interval=poll_interval, not_found_grace=not_found_grace)).build

    async def astream_logs(
        self, build_id: str, offset: int | None = None, follow: bool = True, *, max_reconnects: int = 5
    ) -> AsyncIterator[TemplateBuildLogEntry]:
        """Async twin of :meth:`stream_logs`."""
        build_id = validate_job_id(build_id, BUILD_ID)
        cursor = LogCursor(build_id, _offset(0 if offset is None else offset), max_reconnects)
        core = await self.aget_conn()
        while True:
            call = self._logs_call(build_id, cursor.next_offset, follow)
            error: BaseException | None = None
            quiet = False
            try:
                async with core.astream(call) as response:
                    async for event in aiter_sse(response.aiter_text()):
                        if (entry := cursor.accept(event)) is not None:
                            yield entry
                            if cursor.done:
                                return
            except (httpx.TransportError, httpx.DecodingError) as exc:
                error = core.map_stream_error(call, exc)
                quiet = isinstance(exc, httpx.ReadTimeout)  # the stream opened, then nothing came
                if not follow:
                    raise error from exc
            if not follow:
                return
            for entry in cursor.accept_snapshot(await self.aget_build(build_id, offset=cursor.next_offset)):
                yield entry
            if cursor.done:
                return
            await asyncio.sleep(cursor.after_close(error, quiet=quiet))

    async def atest_connection(self) -> tuple[bool, str]:
        """Async twin of :meth:`test_connection`."""
        try:
            return True, self._connected(await self.alist_templates(limit=1))
        except Exception as exc:
            return False, str(exc)


def _offset(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidArgumentError(f"Invalid log offset: expected a non-negative integer, got {show_value(value)}.")
    return value

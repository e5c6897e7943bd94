"""A job's log while a task waits for it, and the end of its log when it ends badly.

For kinds whose service streams the log while the job runs (``JobKind.streams_log``: Apify runs
and builds).

**Following** (``stream_logs``): when the watch's log lines go somewhere, the wait reads the job's
log stream instead of long-polling its status, and hands each line to ``log_line`` as it is
written. The stream ends when the job does; then one status get (no long poll) says whether it is
over. A stream that broke, or stayed silent for :data:`QUIET_READ` seconds, is opened again; the
API sends the log from its first byte every time and the shared
:class:`~airflow_provider_jobs.hooks._apify_results.LogTail` skips the bytes already shown, so no
line appears twice. The wait loop around it (:mod:`.wait`) keeps its deadline, ``should_stop`` and
404 grace: each connection may stay silent no longer than the time left, a connection is left as
soon as the deadline passes or ``should_stop`` says so, and the async read is cancellable at every
``await``. A stream that fails :data:`MAX_STREAM_FAILURES` times in a row without a new line is
given up for the rest of the wait, which goes on with long polls as without streaming. While the
job waits, the stream replaces the long polls: one stream and one status get per connection.

**The tail**: when a job ends badly, the last :data:`LOG_TAIL_LINES` lines of its log go into the
failure message, streamed or not. They are read best-effort on a quick hook; a read that fails is
logged and the failure is raised without them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Iterator
from contextlib import aclosing, closing, contextmanager
from typing import Any, Generic, TypeVar

import httpx

from airflow_provider_jobs.exceptions import JobFailedError, JobsApiError, NotFoundError, TransportError
from airflow_provider_jobs.hooks._apify_results import LogTail
from airflow_provider_jobs.hooks._apify_storage import STREAM_ERRORS
from airflow_provider_jobs.hooks._base import JobsHook
from airflow_provider_jobs.lifecycle.abort import Logger, quick_hook
from airflow_provider_jobs.lifecycle.kind import JobWatch, Outcome
from airflow_provider_jobs.lifecycle.wait import await_until_terminal, wait_until_terminal

log = logging.getLogger(__name__)

H = TypeVar("H", bound=JobsHook)
J = TypeVar("J")

QUIET_READ = 60.0
"""Seconds a followed log may stay silent before it is reopened (and the status checked): what a
status long poll is held at most."""
MIN_READ = 0.5
"""The shortest silence allowed to a connection opened just before the deadline."""
MAX_STREAM_FAILURES = 3
"""Failed connections in a row without a new line before the wait gives up following the log."""
LOG_TAIL_LINES = 30
"""Lines of the log in the message of a job that ended badly."""
LOG_TAIL_LINE_CHARS = 500
"""Each of those lines is cut to this many characters."""
LOG_TAIL_DEADLINE = 10.0
"""Seconds the opening of the log read for those lines may take with its retries (each read may then
stay silent a quarter of it); the download of a long log itself is not cut short."""


def follows_log(watch: JobWatch[Any, Any]) -> bool:
    """Whether a wait of ``watch`` follows the job's log (its kind streams one, and lines go somewhere)."""
    return watch.kind.streams_log and watch.log_line is not None


class LogFollow(Generic[H, J]):
    """The fetch of a wait driven by the job's log stream: show new lines until the stream ends,
    then get the status once.

    :param watch: the job (its ``log_line`` gets the lines)
    :param should_stop: leave the stream when this says so (``on_kill``)
    :param clock: monotonic seconds
    """

    def __init__(self, watch: JobWatch[H, J], should_stop: Callable[[], bool] = lambda: False,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.watch = watch
        self.should_stop = should_stop
        self.clock = clock
        self.tail = LogTail(watch.job_id, MAX_STREAM_FAILURES)
        self.given_up = False
        """The stream kept failing: the rest of the wait long-polls the status."""
        self._pause = 0.0
        self._ends_at: float | None = None

    def _open(self, budget: float | None) -> float:
        """Start a connection that may last ``budget`` seconds; return its silence limit."""
        self._ends_at = None if budget is None else self.clock() + budget
        return QUIET_READ if budget is None else max(MIN_READ, min(QUIET_READ, budget))

    def _pause_before(self, budget: float | None) -> float:
        pause, self._pause = self._pause, 0.0
        return pause if budget is None else min(pause, budget)

    def _show(self, line: str) -> bool:
        """Hand out a line; return True when the connection is to be left (stop asked, deadline passed)."""
        if self.watch.log_line is not None:
            self.watch.log_line(line)
        return self.should_stop() or (self._ends_at is not None and self.clock() >= self._ends_at)

    def _failed(self, exc: BaseException) -> None:
        """Count a connection that broke, stayed silent or could not be opened."""
        if isinstance(exc, NotFoundError):  # not visible yet after a start: the status get decides
            return
        quiet = isinstance(exc, httpx.ReadTimeout)
        error = exc if isinstance(exc, JobsApiError) else TransportError(
            f"Log stream of {self.watch.kind.name} {self.watch.job_id} broke: {type(exc).__name__}: {exc}",
            job_id=self.watch.job_id)
        try:
            self._pause = self.tail.after_drop(error, quiet=quiet)
        except JobsApiError:
            self.given_up = True
            log.warning("%s %s: the log stream keeps failing (%s); waiting without it.",
                        self.watch.kind.name, self.watch.job_id, error)

    def _ended(self, job: J, clean: bool) -> bool:
        """After the status get: whether the rest of the log is to be read (the job ended while its
        stream was not read to its end); a job that ended gets its last line without a line end."""
        if self.watch.kind.outcome(job) is Outcome.RUNNING:
            return False
        if clean:
            self._flush()
        return not clean

    def _flush(self) -> None:
        for line in self.tail.finish():
            self._show(line)

    @contextmanager
    def _reading(self) -> Iterator[None]:
        """Count a connection that breaks, stays silent or cannot be opened, instead of raising."""
        try:
            yield
        except (*STREAM_ERRORS, JobsApiError) as exc:
            self._failed(exc)

    def _read(self, lines: Generator[str, None, None]) -> bool:
        """Show the lines of one connection; return whether it ended by itself (the job's end)."""
        ended = False
        with self._reading(), closing(lines):
            ended = not any(self._show(line) for line in lines)
        return ended

    async def _aread(self, lines: AsyncGenerator[str, None]) -> bool:
        """Async twin of :meth:`_read`."""
        ended = False
        with self._reading():
            async with aclosing(lines):
                async for line in lines:
                    if self._show(line):
                        break
                else:
                    ended = True
        return ended

    def fetch(self, budget: float | None) -> J | None:
        """Show the job's new log lines until its stream ends, then get the job (``None``: stop asked)."""
        watch, kind = self.watch, self.watch.kind
        if self.given_up:
            return watch.fetch(budget)
        time.sleep(self._pause_before(budget))
        clean = self._read(kind.log_connection(watch.hook, watch.job_id, self.tail, follow=True,
                                               read_timeout=self._open(budget)))
        if self.should_stop():
            return None
        job = watch.fetch(0)
        if self._ended(job, clean):  # the stream broke off: what the job wrote after that, once
            self._ends_at = None  # the job has ended: its whole log is shown, even past the deadline
            if self._read(kind.log_connection(watch.hook, watch.job_id, self.tail, follow=False)):
                self._flush()
        return job

    async def afetch(self, budget: float | None) -> J | None:
        """Async twin of :meth:`fetch`."""
        watch, kind = self.watch, self.watch.kind
        if self.given_up:
            return await watch.afetch(budget)
        await asyncio.sleep(self._pause_before(budget))
        clean = await self._aread(kind.alog_connection(watch.hook, watch.job_id, self.tail, follow=True,
                                                       read_timeout=self._open(budget)))
        if self.should_stop():
            return None
        job = await watch.afetch(0)
        if self._ended(job, clean):
            self._ends_at = None
            if await self._aread(kind.alog_connection(watch.hook, watch.job_id, self.tail, follow=False)):
                self._flush()
        return job


def wait_end(watch: JobWatch[H, J], timeout: float | None, *, not_found_grace: float = 0.0,
             poll_interval: float | None = None, should_stop: Callable[[], bool] = lambda: False) -> J:
    """:meth:`JobWatch.wait_end <airflow_provider_jobs.lifecycle.kind.JobWatch.wait_end>`, following
    the job's log when :func:`follows_log`."""
    if not follows_log(watch):
        return watch.wait_end(timeout, not_found_grace=not_found_grace, poll_interval=poll_interval,
                              should_stop=should_stop)
    spec = watch.kind.wait_spec(watch.job_id, timeout, not_found_grace=not_found_grace, poll_interval=poll_interval)
    return wait_until_terminal(spec, LogFollow(watch, should_stop).fetch, should_stop=should_stop)


def afetcher(watch: JobWatch[H, J]) -> Callable[[float | None], Awaitable[J | None]]:
    """The fetch of an async wait of ``watch``: following the log when :func:`follows_log`."""
    return LogFollow(watch).afetch if follows_log(watch) else watch.afetch


async def await_end(watch: JobWatch[H, J], timeout: float | None, *, not_found_grace: float = 0.0,
                    poll_interval: float | None = None) -> J:
    """Async twin of :func:`wait_end`."""
    spec = watch.kind.wait_spec(watch.job_id, timeout, not_found_grace=not_found_grace, poll_interval=poll_interval)
    fetch = afetcher(watch)
    return await await_until_terminal(spec, fetch)


# ------------------------------------------------------------------ the tail
def _tail_failed(watch: JobWatch[Any, Any], exc: Exception, logger: Logger) -> list[str]:
    logger.warning("%s %s: could not read the end of its log: %s", watch.kind.name, watch.job_id, exc)
    return []


def _tail_reader(watch: JobWatch[H, J]) -> tuple[H, LogTail, deque[str]]:
    hook = quick_hook(watch.kind, watch.hook.conn_id, LOG_TAIL_DEADLINE, base=watch.hook)
    return hook, LogTail(watch.job_id, 0), deque(maxlen=LOG_TAIL_LINES)


def log_tail(watch: JobWatch[Any, Any], logger: Logger = log) -> list[str]:
    """The last :data:`LOG_TAIL_LINES` lines of the job's log (``[]``: no log, or it could not be read)."""
    if not watch.kind.streams_log:
        return []
    hook, tail, last = _tail_reader(watch)
    try:
        with closing(watch.kind.log_connection(hook, watch.job_id, tail, follow=False)) as lines:
            last.extend(line[:LOG_TAIL_LINE_CHARS] for line in lines)
        last.extend(line[:LOG_TAIL_LINE_CHARS] for line in tail.finish())
    except Exception as exc:  # noqa: BLE001 - the job's failure matters more than its log
        return _tail_failed(watch, exc, logger)
    return list(last)


async def alog_tail(watch: JobWatch[Any, Any], logger: Logger = log) -> list[str]:
    """Async twin of :func:`log_tail`."""
    if not watch.kind.streams_log:
        return []
    hook, tail, last = _tail_reader(watch)
    try:
        async with aclosing(watch.kind.alog_connection(hook, watch.job_id, tail, follow=False)) as lines:
            async for line in lines:
                last.append(line[:LOG_TAIL_LINE_CHARS])
        last.extend(line[:LOG_TAIL_LINE_CHARS] for line in tail.finish())
    except Exception as exc:  # noqa: BLE001 - the job's failure matters more than its log
        return _tail_failed(watch, exc, logger)
    return list(last)


def job_failure(watch: JobWatch[Any, J], job: J, logger: Logger = log) -> JobFailedError:
    """The error of a job that ended badly, with the last lines of its log."""
    return watch.kind.failure(watch.hook, job, log_tail(watch, logger))


async def ajob_failure(watch: JobWatch[Any, J], job: J, logger: Logger = log) -> JobFailedError:
    """Async twin of :func:`job_failure`."""
    return watch.kind.failure(watch.hook, job, await alog_tail(watch, logger))

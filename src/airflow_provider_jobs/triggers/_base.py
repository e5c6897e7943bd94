"""The deferrable wait, shared by the three job kinds.

A trigger watches one job until it is terminal and yields one event built by
:func:`~airflow_provider_jobs.lifecycle.make_event`. It is given the task's deadline
(``end_time``, epoch seconds) and, when that passes, aborts the job itself (if allowed) before
yielding a ``timeout`` event, so the abort does not depend on Airflow's own defer timeout.

* ``on_kill`` (Airflow >= 3.3; the user marked the deferred task failed/success or cleared it)
  aborts the job when ``abort_on_kill`` is set.
* ``cleanup`` runs on every exit, including triggerer restarts, and never aborts.
* All I/O is async; triggers in one triggerer share one connection pool per service.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any, ClassVar

from airflow_provider_jobs._compat import BaseTrigger, Feature, TriggerEvent, supports
from airflow_provider_jobs.exceptions import (
    AuthError,
    JobsApiError,
    JobsError,
    JobWaitTimeout,
    NotFoundError,
    RequestRejectedError,
)
from airflow_provider_jobs.lifecycle import (
    CALLBACK_ABORT_DEADLINE,
    EVENT_ERROR,
    EVENT_TERMINAL,
    EVENT_TIMEOUT,
    AbortOptions,
    JobKind,
    JobWatch,
    aabort_quietly,
    await_until_terminal,
    make_event,
)
from airflow_provider_jobs.lifecycle.kind import Outcome
from airflow_provider_jobs.lifecycle.logs import afetcher, alog_tail

_FATAL = (NotFoundError, AuthError, RequestRejectedError)


class JobTrigger(BaseTrigger):
    """Wait for a job to end; abort it at the deadline or when the task is killed.

    :param job_id: the run/build id
    :param conn_id: the Airflow connection id
    :param end_time: epoch seconds after which the wait ends (``None``: no deadline)
    :param abort_on_timeout: abort/cancel the job when ``end_time`` passes
    :param abort_on_kill: abort/cancel the job in ``on_kill``
    :param gracefully: Apify runs: graceful abort
    :param reason: template builds: cancel reason
    :param poll_interval: seconds between polls (long polls return as soon as the job ends)
    :param not_found_grace: seconds during which a 404 is taken as replication lag
    :param stream_logs: write the job's log lines to the log (the triggerer routes a trigger's log
        to the deferred task's log); Apify jobs are then waited for through their log stream
    """

    kind: ClassVar[JobKind[Any, Any]]

    def __init__(
        self,
        job_id: str,
        conn_id: str,
        end_time: float | None = None,
        abort_on_timeout: bool = True,
        abort_on_kill: bool = True,
        gracefully: bool = False,
        reason: str | None = None,
        poll_interval: float | None = None,
        not_found_grace: float = 0.0,
        stream_logs: bool = False,
    ) -> None:
        super().__init__()
        self.job_id = job_id
        self.conn_id = conn_id
        self.end_time = end_time
        self.abort_on_timeout = abort_on_timeout
        self.abort_on_kill = abort_on_kill
        self.gracefully = gracefully
        self.reason = reason
        self.poll_interval = poll_interval
        self.not_found_grace = not_found_grace
        self.stream_logs = stream_logs
        self._watch: JobWatch[Any, Any] | None = None  # the wait's log cursor, shared by its abort

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the class path and the plain kwargs that rebuild this trigger."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "job_id": self.job_id,
                "conn_id": self.conn_id,
                "end_time": self.end_time,
                "abort_on_timeout": self.abort_on_timeout,
                "abort_on_kill": self.abort_on_kill,
                "gracefully": self.gracefully,
                "reason": self.reason,
                "poll_interval": self.poll_interval,
                "not_found_grace": self.not_found_grace,
                "stream_logs": self.stream_logs,
            },
        )

    def _options(self) -> AbortOptions:
        return AbortOptions(gracefully=self.gracefully, reason=self.reason)

    async def _abort(self) -> Any:
        return await aabort_quietly(
            self.kind, self.conn_id, self.job_id, self._options(), deadline=CALLBACK_ABORT_DEADLINE,
            watch=self._watch, logger=self.log,
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Yield one event: ``terminal`` (with the job's summary), ``timeout`` or ``error``."""
        kind = self.kind
        if self.abort_on_kill:
            supports(Feature.TRIGGER_ON_KILL)  # logs once per triggerer process where on_kill is never called
        hook = kind.hook(self.conn_id)
        watch = self._watch = kind.watch(hook, self.job_id, self.log.info if self.stream_logs else None)
        timeout = None if self.end_time is None else max(0.0, self.end_time - time.time())
        spec = kind.wait_spec(self.job_id, timeout, not_found_grace=self.not_found_grace,
                              poll_interval=self.poll_interval)

        fetch_once = afetcher(watch)

        async def fetch(budget: float | None) -> Any:
            try:
                return await fetch_once(budget)
            except _FATAL:
                raise
            except JobsApiError as exc:  # still failing after the core's retries: keep waiting
                self.log.warning("%s %s: %s; will try again.", kind.name, self.job_id, exc)
                return None

        try:
            job = await await_until_terminal(spec, fetch)
        except JobWaitTimeout as exc:
            job = await self._abort() if self.abort_on_timeout else None
            aborted = None if not self.abort_on_timeout else job is not None
            if aborted is None:
                action = " (left running: abort_on_timeout is off)"
            elif aborted:
                action = f"; {kind.verb} sent"
            else:
                action = f"; the {kind.verb} failed (the task tries again when it resumes)"
            message = f"{exc}{action}."
            self.log.warning(message)
            yield TriggerEvent(make_event(kind, EVENT_TIMEOUT, self.job_id, hook=hook if job else None,
                                          job=job, message=message, aborted=aborted))
            return
        except JobsError as exc:
            self.log.error("%s %s: %s", kind.name, self.job_id, exc)
            yield TriggerEvent(make_event(kind, EVENT_ERROR, self.job_id, message=str(exc)))
            return
        log_tail = await alog_tail(watch, self.log) if kind.outcome(job) is Outcome.FAILED else []
        yield TriggerEvent(make_event(kind, EVENT_TERMINAL, self.job_id, hook=hook, job=job, log_tail=log_tail))

    async def on_kill(self) -> None:
        """Abort/cancel the job: the user marked the deferred task failed/success or cleared it."""
        if self.abort_on_kill:
            self.log.warning("%s %s: the deferred task was stopped by a user; sending %s.",
                             self.kind.name, self.job_id, self.kind.verb)
            await self._abort()

    async def cleanup(self) -> None:
        """Release nothing remote: cleanup runs on every exit, including triggerer restarts."""

"""The task side of the lifecycle: the job a task instance owns, and what operators and sensors share.

:class:`TrackedJob` is the state an operator or sensor keeps about its job, as one object it
composes (instead of flags on the operator): the job id, whether an abort was sent, whether the
task is done with the job, whether it was killed. It pushes the id to XCom, aborts at most once
(best-effort, retried by a later path when it could not be delivered), and settles trigger
events. The helpers below it are the Airflow-facing rules every task of this provider follows.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from airflow_provider_jobs._compat import AirflowFailException
from airflow_provider_jobs._validation import validate_reason
from airflow_provider_jobs._watchdog.parent import JobWatchdog
from airflow_provider_jobs.exceptions import InvalidArgumentError, StartOutcomeUnknownError
from airflow_provider_jobs.hooks._base import JobsHook
from airflow_provider_jobs.lifecycle.abort import CALLBACK_ABORT_DEADLINE, KILL_ABORT_DEADLINE, abort_quietly
from airflow_provider_jobs.lifecycle.events import EVENT_TERMINAL, EVENT_TIMEOUT, read_event
from airflow_provider_jobs.lifecycle.guard import guard_job
from airflow_provider_jobs.lifecycle.kind import PLAIN_ABORT, AbortOptions, JobKind, JobWatch, LogLine, Outcome

if TYPE_CHECKING:
    from airflow_provider_jobs._compat import Context

H = TypeVar("H", bound=JobsHook)
J = TypeVar("J")
F = TypeVar("F", bound=Callable[..., Any])

GRACEFUL_WAIT = 45.0
"""How long to wait for a gracefully aborted run to end (the platform stops it after ~30 s)."""


class TrackedJob(Generic[H, J]):
    """The job one task instance started, adopted or watches, and what the task did about it.

    :param kind: the job's kind
    :param conn_id: the Airflow connection id
    :param logger: the task's logger
    :param options: how to abort (graceful, cancel reason)
    :param abort_enabled: whether this task aborts the job on its failure paths at all
    :param links: the task's extra links; the job's console URL is pushed under each one's XCom key
    :param log_line: where the job's log lines go while the task waits (``None``: nowhere)
    """

    def __init__(self, kind: JobKind[H, J], conn_id: str, *, logger: Any, options: AbortOptions = PLAIN_ABORT,
                 abort_enabled: bool = True, links: Iterable[Any] = (), log_line: LogLine | None = None) -> None:
        self.kind = kind
        self.conn_id = conn_id
        self.log = logger
        self.options = options
        self.abort_enabled = abort_enabled
        self.links = tuple(links)
        self.log_line = log_line
        self.job_id: str | None = None
        self.abort_sent = False
        """An abort/cancel was delivered (by this task, or by its trigger at the deadline)."""
        self.done = False
        """The task is done with the job: it ended, or the task returned without waiting for it."""
        self.killed = False
        """The task was told to stop (SIGTERM, execution_timeout)."""
        self._hook: H | None = None
        self._watch: JobWatch[H, J] | None = None
        self._watchdog: JobWatchdog | None = None

    def __repr__(self) -> str:
        return f"TrackedJob({self.kind.name} {self.job_id or '?'}, conn_id={self.conn_id!r})"

    @property
    def hook(self) -> H:
        """The task's hook (created once)."""
        if self._hook is None:
            self._hook = self.kind.hook(self.conn_id)
        return self._hook

    def watch(self) -> JobWatch[H, J]:
        """The task's watch of its job: one log cursor for every fetch, wait and abort."""
        assert self.job_id is not None, "no job yet"
        if self._watch is None or self._watch.job_id != self.job_id:
            self._watch = self.kind.watch(self.hook, self.job_id, self.log_line)
        return self._watch

    # ----------------------------------------------------------- owning it
    def own(self, job_id: str) -> None:
        """Take the job: from here on the failure paths abort it."""
        self.job_id = job_id

    def finished(self) -> None:
        """The task is done with the job (it ended, or the task does not wait for it): never abort it."""
        self.done = True
        self.release()

    def guard(self) -> None:
        """Start the watchdog that aborts the job if this task process dies without releasing it
        (SIGKILL, the OOM killer): see :mod:`~airflow_provider_jobs.lifecycle.guard`. Nothing
        happens without a job, when aborting is off, or once the task is done with the job."""
        if self.job_id and self.abort_enabled and not self.done and not self.abort_sent and self._watchdog is None:
            self._watchdog = guard_job(self.hook, self.kind, self.job_id, self.options, self.log)

    def release(self) -> None:
        """The task no longer owns the job (it ended, the trigger has it, it was aborted): the
        watchdog, if any, exits without a request. Idempotent."""
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None:
            watchdog.release()

    @property
    def guarded(self) -> bool:
        """Whether a watchdog guards the job now."""
        return self._watchdog is not None and self._watchdog.active

    def remember(self, context: Context, job: J) -> None:
        """Push the job id to XCom at once (and the console URL under the links' keys)."""
        context["ti"].xcom_push(key=self.kind.xcom_key, value=self.kind.job_id(job))
        if url := self.push_links(context, job):
            self.log.info("%s %s: %s", self.kind.name, self.kind.job_id(job), url)

    def push_links(self, context: Context, job: J) -> str | None:
        """Push the job's console URL under each extra link's XCom key; return the URL."""
        url = self.kind.console_url(self.hook, job)
        if url:
            for link in self.links:
                context["ti"].xcom_push(key=link.xcom_key, value=url)
        return url

    def id_from_xcom(self, context: Context) -> str | None:
        """This task instance's own job id from XCom (its map index only, not every index's ids)."""
        return own_job_id(self.kind, context)

    # ------------------------------------------------------------- aborting
    def abort_once(self, why: str, *, deadline: float = KILL_ABORT_DEADLINE, wait_for_end: float = 0.0) -> None:
        """Abort the job best-effort, once; after a graceful abort, wait up to ``wait_for_end`` s for its end.

        Does nothing without a job, after an abort went through, once the task is done with the
        job, or when aborting is off. An abort that could not be delivered (or was interrupted,
        e.g. by ``execution_timeout``) leaves the door open for the next path (``on_kill``, resume).
        """
        if not self.job_id or self.abort_sent or self.done or not self.abort_enabled:
            return
        self.abort_sent = True  # set first: on_kill may run (signal handler) while this abort is under way
        kind, job_id = self.kind, self.job_id
        self.log.warning("%s %s: %s; sending %s.", kind.name, job_id, why, kind.verb)
        try:
            job = abort_quietly(kind, self.conn_id, job_id, self.options, deadline=deadline, base=self._hook,
                                watch=self._watch, logger=self.log)
        except BaseException:  # e.g. execution_timeout interrupting the retries: on_kill tries again
            self.abort_sent = False
            raise
        if job is None:  # not delivered (logged): a later path (on_kill, resume, the watchdog) may try again
            self.abort_sent = False
            return
        self.release()  # the abort went through: nothing for the watchdog to do
        if wait_for_end and self.options.gracefully and kind.outcome(job) is Outcome.RUNNING:
            try:
                job = self.watch().wait_end(wait_for_end)
                self.log.warning("%s %s ended %s after the %s.", kind.name, job_id, kind.status(job), kind.verb)
            except Exception as exc:  # noqa: BLE001 - reporting only
                self.log.warning("%s %s: not finished after the %s: %s", kind.name, job_id, kind.verb, exc)

    # ---------------------------------------------------------- deferring
    def trigger_kwargs(self, *, end_time: float | None, abort_on_timeout: bool, abort_on_kill: bool,
                       poll_interval: float | None, not_found_grace: float = 0.0) -> dict[str, Any]:
        """The JSON-safe arguments of the trigger that watches this job while the task is deferred."""
        assert self.job_id is not None, "no job yet"
        return {
            "job_id": self.job_id, "conn_id": self.conn_id, "end_time": end_time,
            "abort_on_timeout": abort_on_timeout, "abort_on_kill": abort_on_kill,
            "gracefully": self.options.gracefully, "reason": self.options.reason, "poll_interval": poll_interval,
            "not_found_grace": not_found_grace, "stream_logs": self.log_line is not None,
        }

    def settle(self, event: Any, *, fail: type[BaseException], timeout: type[BaseException],
               abort_on_error: bool) -> dict[str, Any]:
        """Act on a trigger event: return the summary on success; raise ``fail`` on a bad end,
        ``timeout`` on a timeout and ``fail`` on a failed wait.

        A timeout whose abort the trigger could not deliver is aborted from here before raising,
        and so is the job of a failed wait (``error`` outcome) when ``abort_on_error``.
        """
        kind = self.kind
        try:
            event = read_event(kind, event)
        except ValueError as exc:
            raise fail(str(exc)) from exc
        self.own(event["job_id"])
        if event["outcome"] == EVENT_TERMINAL:
            self.finished()
            if kind.statuses.is_success(event["status"]):
                return cast(dict[str, Any], event["summary"])
            raise fail(event.get("failure") or f"{kind.name} {self.job_id}: {event['status']}")
        if event["outcome"] == EVENT_TIMEOUT:
            if event.get("aborted") is False:  # the trigger's abort failed: try again from here
                self.abort_once("the trigger could not deliver its abort at the deadline",
                                deadline=CALLBACK_ABORT_DEADLINE)
            else:
                self.abort_sent = True  # the trigger already handled the job at its deadline
            raise timeout(event.get("message") or f"{kind.name} {self.job_id}: timed out")
        if abort_on_error:
            self.abort_once("the deferred wait failed", deadline=CALLBACK_ABORT_DEADLINE)
        raise fail(event.get("message") or f"{kind.name} {self.job_id}: wait failed")


# ---------------------------------------------------------------- task rules
def own_job_id(kind: JobKind[Any, Any], context: Context) -> str | None:
    """The job id the context's task instance pushed to XCom (its own map index only)."""
    ti = context.get("ti") or context.get("task_instance")
    if ti is None:
        return None
    value = ti.xcom_pull(task_ids=ti.task_id, key=kind.xcom_key, map_indexes=getattr(ti, "map_index", -1))
    return value if isinstance(value, str) and value else None


def no_retry_when_pointless_or_harmful(execute: F) -> F:
    """Fail without Airflow's retries where a retry cannot help or would do harm.

    * An argument refused before any request: a retry with the same (rendered) input would fail
      the same way.
    * A start whose outcome is unknown (the request may have created the job, the answer was
      lost): a retry would start a second, paid job next to one nobody watches.
    """

    @functools.wraps(execute)
    def wrapper(self: Any, context: Context) -> Any:
        try:
            return execute(self, context)
        except InvalidArgumentError as exc:
            raise AirflowFailException(f"{exc} The task is not retried: the same input would fail again.") from exc
        except StartOutcomeUnknownError as exc:
            raise AirflowFailException(
                f"{exc} The task is not retried, so that a retry cannot start a duplicate; look for the job in "
                "the service's console and abort it there if it runs."
            ) from exc

    return cast(F, wrapper)


def default_cancel_reason(context: Context) -> str:
    """``airflow: dag=... task=... run=... try=...``, bounded to the API's limit."""
    ti = context.get("ti")
    parts = [
        f"dag={getattr(ti, 'dag_id', '?')}",
        f"task={getattr(ti, 'task_id', '?')}",
        f"run={context.get('run_id') or getattr(ti, 'run_id', None) or '?'}",
        f"try={getattr(ti, 'try_number', '?')}",
    ]
    return validate_reason("airflow: " + " ".join(parts)) or "airflow"


def cancel_options(reason: str | None, context: Context) -> AbortOptions:
    """Cancel with the given reason, or one naming the DAG, task, run and try."""
    return AbortOptions(reason=validate_reason(reason) or default_cancel_reason(context))


def seconds(value: timedelta | float | int | None) -> float | None:
    """Coerce a timedelta or number of seconds to float seconds."""
    if value is None:
        return None
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def store_get(store: Any, key: str) -> Any:
    """Read ``key`` from the task state store (Airflow >= 3.3), ``None`` without one or on any error."""
    if store is None:
        return None
    try:
        return store.get(key)
    except Exception:  # noqa: BLE001 - a broken state store must not stop the task
        logging.getLogger(__name__).warning("task_state_store.get(%r) failed; treated as empty.", key)
        return None


def store_set(store: Any, key: str, value: str) -> None:
    """Write ``key`` to the task state store, if there is one; never raise."""
    if store is None:
        return
    try:
        store.set(key, value)
    except Exception:  # noqa: BLE001
        logging.getLogger(__name__).warning("task_state_store.set(%r) failed; a retry cannot adopt the job.", key)


__all__ = [
    "GRACEFUL_WAIT",
    "TrackedJob",
    "cancel_options",
    "default_cancel_reason",
    "no_retry_when_pointless_or_harmful",
    "own_job_id",
    "seconds",
    "store_get",
    "store_set",
]

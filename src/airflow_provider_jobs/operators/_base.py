"""Operator side of the job lifecycle: start, remember, wait or defer, finish, abort on every path.

:class:`JobOperator` is the start-and-wait base of ``ApifyRunActorOperator``,
``ApifyBuildActorOperator`` and ``TemplateBuildOperator``; a subclass only says how to start
its job. Paths that abort the job (unless ``abort_on_kill=False``):

* ``on_kill``: SIGTERM from a user marking the running task failed or clearing it, and
  ``execution_timeout`` (Airflow calls ``on_kill`` after the timeout interrupts ``execute``);
* any exception while waiting (API errors after retries, the wait deadline);
* the trigger's own deadline and ``trigger.on_kill`` while deferred;
* ``resume_execution`` after Airflow's defer timeout (the trigger's kwargs are gone by then, so
  the id comes from XCom).

A job that reaches a bad terminal status is reported (:class:`JobFailedError`), not aborted.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

from airflow_provider_jobs._compat import (
    AirflowException,
    AirflowFailException,
    BaseOperator,
    Feature,
    TaskDeferralError,
    TaskDeferralTimeout,
    TaskDeferred,
    supports,
)
from airflow_provider_jobs._validation import validate_reason
from airflow_provider_jobs._wait import WaitInterrupted, wait_until_terminal
from airflow_provider_jobs.exceptions import (
    InvalidIdError,
    JobFailedError,
    JobWaitTimeout,
    NotFoundError,
    StartOutcomeUnknownError,
)
from airflow_provider_jobs.lifecycle import (
    CALLBACK_ABORT_DEADLINE,
    EVENT_TERMINAL,
    EVENT_TIMEOUT,
    KILL_ABORT_DEADLINE,
    AbortOptions,
    JobAdapter,
    Outcome,
    abort_quietly,
    decide,
    read_event,
)

if TYPE_CHECKING:
    from airflow_provider_jobs._compat import Context
    from airflow_provider_jobs.triggers._base import JobTrigger

DEFAULT_DEFER_TIMEOUT = timedelta(days=7)
"""Deadline of a deferred wait when neither ``wait_timeout`` nor ``execution_timeout`` is set."""
DEFER_TIMEOUT_MARGIN = 120.0
"""Airflow's defer timeout is set this much after the trigger's own deadline, so the trigger,
which aborts the job itself, normally fires first."""
GRACEFUL_WAIT = 45.0
"""How long to wait for a gracefully aborted run to end (the platform stops it after ~30 s)."""
NOT_FOUND_GRACE = 10.0
"""Seconds a job this task has just started may answer 404 (API replicas lag after a start)."""


def seconds(value: timedelta | float | int | None) -> float | None:
    """Coerce a timedelta or number of seconds to float seconds."""
    if value is None:
        return None
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


F = TypeVar("F", bound=Callable[..., Any])


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
        except InvalidIdError as exc:
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


class JobLifecycleMixin:
    """What operators and sensors share: the adapter, the hook, remembering and aborting a job."""

    adapter: ClassVar[JobAdapter[Any, Any]]
    trigger_class: ClassVar[type[JobTrigger]]
    log: Any

    _job_id: str | None = None
    _abort_sent: bool = False
    _terminal: bool = False
    _killed: bool = False
    _hook_instance: Any = None
    _abort_options: AbortOptions = AbortOptions()
    graceful_wait: float = GRACEFUL_WAIT
    defer_timeout_margin: float = DEFER_TIMEOUT_MARGIN

    @property
    def conn_id(self) -> str:
        """The connection id (``apify_conn_id`` / ``template_builds_conn_id``)."""
        return getattr(self, self.adapter.conn_attr)

    @property
    def hook(self) -> Any:
        """The hook of this task (created once per task process)."""
        if self._hook_instance is None:
            self._hook_instance = self.adapter.hook(self.conn_id)
        return self._hook_instance

    def _remember(self, context: Context, job: Any) -> None:
        """Push the job id (and console URL) to XCom at once, and keep it for on_kill."""
        adapter = self.adapter
        self._job_id = adapter.job_id(job)
        context["ti"].xcom_push(key=adapter.xcom_key, value=self._job_id)
        if url := self._push_links(context, job):
            self.log.info("%s %s: %s", adapter.kind, self._job_id, url)

    def _push_links(self, context: Context, job: Any) -> str | None:
        """Push the job's console URL under each extra link's XCom key; return the URL."""
        url = self.adapter.console_url(self.hook, job)
        if url:
            for link in getattr(self, "operator_extra_links", ()):
                context["ti"].xcom_push(key=link.xcom_key, value=url)
        return url

    def _job_id_from_xcom(self, context: Context) -> str | None:
        ti = context.get("ti")
        if ti is None:
            return None
        # this task instance's own value: without map_indexes a mapped task gets every index's ids
        value = ti.xcom_pull(task_ids=ti.task_id, key=self.adapter.xcom_key, map_indexes=ti.map_index)
        return value if isinstance(value, str) and value else None

    def _abort_once(self, why: str, *, deadline: float = KILL_ABORT_DEADLINE, wait: bool = False) -> None:
        """Abort the job (best-effort, once); after a graceful abort, optionally wait (bounded) for the end."""
        if not self._job_id or self._abort_sent or self._terminal or not self._abort_enabled():
            return
        self._abort_sent = True  # set first: on_kill may run (signal handler) while this abort is under way
        adapter = self.adapter
        self.log.warning("%s %s: %s; sending %s.", adapter.kind, self._job_id, why, adapter.verb)
        try:
            job = abort_quietly(adapter, self.conn_id, self._job_id, self._abort_options, deadline=deadline,
                                base=self._hook_instance, logger=self.log)
        except BaseException:  # e.g. execution_timeout interrupting the retries: on_kill tries again
            self._abort_sent = False
            raise
        if job is None:  # not delivered (logged): a later path (on_kill, resume) may try again
            self._abort_sent = False
            return
        wait = wait and self._abort_options.gracefully
        if wait and job is not None and decide(adapter.statuses, adapter.status(job)) is Outcome.RUNNING:
            try:
                spec = adapter.wait_spec(self._job_id, timeout=self.graceful_wait)
                job = wait_until_terminal(spec, adapter.watcher(self.hook, self._job_id, None).fetch)
                self.log.warning("%s %s ended %s after the %s.", adapter.kind, self._job_id,
                                 adapter.status(job), adapter.verb)
            except Exception as exc:  # noqa: BLE001 - reporting only
                self.log.warning("%s %s: not finished after the %s: %s", adapter.kind, self._job_id, adapter.verb, exc)

    def _abort_enabled(self) -> bool:
        raise NotImplementedError

    def abort_options(self, context: Context) -> AbortOptions:
        """How this task aborts its job (graceful abort, cancel reason)."""
        return AbortOptions()

    def _complete(
        self, event: Any, context: Context, *, fail: type[BaseException], timeout: type[BaseException]
    ) -> tuple[bool, dict[str, Any]]:
        """Act on a trigger event: ``(True, summary)`` on success; raise on a bad end or a timeout.

        A timeout whose abort the trigger could not deliver is aborted here before raising. An
        ``error`` outcome gives ``(False, event)`` for the caller to handle.
        """
        adapter = self.adapter
        self._abort_options = self.abort_options(context)
        try:
            event = read_event(adapter, event)
        except ValueError as exc:
            raise fail(str(exc)) from exc
        self._job_id = event["job_id"]
        if event["outcome"] == EVENT_TERMINAL:
            self._terminal = True
            if decide(adapter.statuses, event["status"]) is Outcome.SUCCEEDED:
                return True, event["summary"]
            raise fail(event.get("failure") or f"{adapter.kind} {self._job_id}: {event['status']}")
        if event["outcome"] == EVENT_TIMEOUT:
            if event.get("aborted") is False:  # the trigger's abort failed: try again from here
                self._abort_once("the trigger could not deliver its abort at the deadline",
                                 deadline=CALLBACK_ABORT_DEADLINE)
            else:
                self._abort_sent = True  # the trigger already handled the job at its deadline
            raise timeout(event.get("message") or f"{adapter.kind} {self._job_id}: timed out")
        return False, event

    def _trigger(self, job_id: str, end_time: float | None, *, abort_on_timeout: bool, abort_on_kill: bool,
                 not_found_grace: float = 0.0) -> JobTrigger:
        return self.trigger_class(
            job_id=job_id, conn_id=self.conn_id, end_time=end_time, abort_on_timeout=abort_on_timeout,
            abort_on_kill=abort_on_kill, gracefully=self._abort_options.gracefully,
            reason=self._abort_options.reason, poll_interval=getattr(self, "poll_interval", None),
            not_found_grace=not_found_grace, stream_logs=self.log_line() is not None,
        )

    def log_line(self) -> Any:
        """Where job log lines go while waiting (``None``: nowhere)."""
        return None


class JobOperator(JobLifecycleMixin, BaseOperator):
    """Start a remote job, push its id to XCom at once, wait (blocking or deferred), return a summary.

    :param wait_for_termination: wait for the job to end (otherwise return right after the start)
    :param deferrable: wait in the triggerer instead of holding a worker slot
    :param abort_on_kill: abort/cancel the job when the task is killed, times out or fails while
        waiting
    :param wait_timeout: give up waiting after this long (and abort); default: no limit beyond
        ``execution_timeout`` (deferred: ``execution_timeout`` or 7 days)
    :param poll_interval: seconds between status checks (Apify long polls answer at once when
        the job ends, so this only spaces out the requests)
    :param reattach: on a retry, adopt the previous try's job if it is still running (Airflow >= 3.3,
        through ``task_state_store``) instead of starting a duplicate; with ``False`` that job is
        aborted first
    """

    def __init__(
        self,
        *,
        wait_for_termination: bool = True,
        deferrable: bool = False,
        abort_on_kill: bool = True,
        wait_timeout: timedelta | float | None = None,
        poll_interval: float | None = None,
        reattach: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.wait_for_termination = wait_for_termination
        self.deferrable = deferrable
        self.abort_on_kill = abort_on_kill
        self.wait_timeout = wait_timeout
        self.poll_interval = poll_interval
        self.reattach = reattach

    # ---------------------------------------------------------- to override
    def start_job(self, hook: Any, context: Context) -> Any:
        """Start the job and return it (as the start answered)."""
        raise NotImplementedError

    # ------------------------------------------------------------- execute
    def _abort_enabled(self) -> bool:
        return bool(self.abort_on_kill)

    @no_retry_when_pointless_or_harmful
    def execute(self, context: Context) -> Any:
        """Start (or adopt) the job, push its id, then wait or defer."""
        self._abort_options = self.abort_options(context)
        job = self._adopt_or_start(context)
        self._job_id = self.adapter.job_id(job)  # from here on, on_kill can abort it
        if self._killed:  # SIGTERM arrived while the start request was in flight
            self._abort_once("the task was killed while the job was starting")
            raise AirflowException(f"{self.adapter.kind} {self._job_id}: the task was killed while starting it.")
        self._remember(context, job)
        if not self.wait_for_termination:
            self._terminal = True  # nothing to abort: the task is done with the job
            return self.adapter.summary(self.hook, job)
        try:
            if decide(self.adapter.statuses, self.adapter.status(job)) is Outcome.RUNNING:
                if self.deferrable:
                    try:
                        job = self.adapter.watcher(self.hook, self._job_id, None).fetch(0)
                    except NotFoundError:  # not visible yet right after the start: the trigger has the grace
                        self._defer()
                    if decide(self.adapter.statuses, self.adapter.status(job)) is Outcome.RUNNING:
                        self._defer()
                else:
                    job = self._wait()
            return self._finish(job)
        except (TaskDeferred, JobFailedError):
            raise
        except JobWaitTimeout as exc:
            self._abort_once(f"still running after wait_timeout ({exc.waited:.0f} s)",
                             deadline=CALLBACK_ABORT_DEADLINE, wait=True)
            raise AirflowException(f"{exc} The task gave up waiting.") from exc
        except WaitInterrupted as exc:
            raise AirflowException(f"{self.adapter.kind} {self._job_id}: the task was stopped while waiting.") from exc
        except BaseException as exc:
            self._abort_once(f"the task is failing while waiting ({type(exc).__name__})")
            raise

    def _adopt_or_start(self, context: Context) -> Any:
        adapter = self.adapter
        store = context.get("task_state_store")
        if store is None:
            supports(Feature.TASK_STATE_STORE)  # Airflow < 3.3: says once that a retry cannot reattach
        previous = _store_get(store, adapter.xcom_key)
        if previous:
            try:
                job = adapter.watcher(self.hook, previous, None).fetch(0)
            except NotFoundError:
                job = None
            if job is not None:
                outcome = decide(adapter.statuses, adapter.status(job))
                if outcome is Outcome.RUNNING and adapter.stopping(job):  # e.g. the previous try aborted it
                    self.log.warning("%s %s from the previous try is being %sed (%s): starting another.",
                                     adapter.kind, previous, adapter.verb.rstrip("e"), adapter.status(job))
                elif self.reattach and outcome is not Outcome.FAILED:
                    self.log.warning("%s %s from the previous try is %s: adopting it instead of starting another.",
                                     adapter.kind, previous, adapter.status(job))
                    return job
                elif outcome is Outcome.RUNNING:
                    self.log.warning("%s %s from the previous try is still %s and reattach is off: %s it first.",
                                     adapter.kind, previous, adapter.status(job), adapter.verb)
                    abort_quietly(adapter, self.conn_id, previous, self._abort_options,
                                  deadline=CALLBACK_ABORT_DEADLINE, base=self.hook, logger=self.log)
        if self._killed:  # SIGTERM while the previous try's job was checked or aborted
            raise AirflowException(f"The task was killed before it started a {adapter.kind}; nothing was started.")
        try:
            job = self.start_job(self.hook, context)
        except StartOutcomeUnknownError as exc:
            if exc.job_id and self.abort_on_kill:  # created, but its answer was unreadable: stop it
                self.log.warning("%s %s was created but its answer could not be read; sending %s.",
                                 adapter.kind, exc.job_id, adapter.verb)
                abort_quietly(adapter, self.conn_id, exc.job_id, self._abort_options, deadline=KILL_ABORT_DEADLINE,
                              base=self.hook, logger=self.log)
            raise
        self.log.info("Started %s %s.", adapter.kind, adapter.job_id(job))
        _store_set(store, adapter.xcom_key, adapter.job_id(job))
        return job

    def _deadline_seconds(self, deferring: bool) -> float | None:
        limit = seconds(self.wait_timeout)
        if limit is None and deferring:
            limit = seconds(self.execution_timeout) or DEFAULT_DEFER_TIMEOUT.total_seconds()
        return limit

    def _wait(self) -> Any:
        assert self._job_id is not None
        spec = self.adapter.wait_spec(self._job_id, timeout=self._deadline_seconds(False),
                                      not_found_grace=NOT_FOUND_GRACE)
        if self.poll_interval is not None:
            spec.poll_interval = self.poll_interval
        watcher = self.adapter.watcher(self.hook, self._job_id, self.log_line())
        return wait_until_terminal(spec, watcher.fetch, should_stop=lambda: self._killed)

    def _defer(self) -> None:
        assert self._job_id is not None
        limit = self._deadline_seconds(True) or DEFAULT_DEFER_TIMEOUT.total_seconds()
        trigger = self._trigger(self._job_id, time.time() + limit, abort_on_timeout=self.abort_on_kill,
                                abort_on_kill=self.abort_on_kill, not_found_grace=NOT_FOUND_GRACE)
        self.log.info("%s %s: deferring for up to %.0f s.", self.adapter.kind, self._job_id, limit)
        self.defer(trigger=trigger, method_name="execute_complete",
                   timeout=timedelta(seconds=max(1.0, limit + self.defer_timeout_margin)))

    def _finish(self, job: Any) -> dict[str, Any]:
        adapter = self.adapter
        self._terminal = True
        outcome = decide(adapter.statuses, adapter.status(job))
        if outcome is Outcome.SUCCEEDED:
            self.log.info("%s %s %s.", adapter.kind, adapter.job_id(job), adapter.status(job))
            return adapter.summary(self.hook, job)
        raise JobFailedError(adapter.kind, adapter.job_id(job), str(adapter.status(job)),
                             detail=adapter.detail(job), console_url=adapter.console_url(self.hook, job))

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None, **_: Any) -> Any:
        """Resume after the trigger: succeed, or fail with the job's status."""
        done, payload = self._complete(event, context, fail=AirflowException, timeout=AirflowException)
        if done:
            return payload
        self._abort_once("the deferred wait failed", deadline=CALLBACK_ABORT_DEADLINE)
        raise AirflowException(payload.get("message") or f"{self.adapter.kind} {self._job_id}: wait failed")

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context: Context) -> Any:
        """Resume after deferral; on Airflow's defer timeout, or a trigger that failed (raised, could not
        be loaded on the triggerer), abort the job before failing."""
        try:
            return super().resume_execution(next_method, next_kwargs, context)
        except (TaskDeferralTimeout, TaskDeferralError) as exc:
            self._job_id = self._job_id or self._job_id_from_xcom(context)
            self._abort_options = self.abort_options(context)
            timed_out = isinstance(exc, TaskDeferralTimeout)
            why = "Airflow's defer timeout passed" if timed_out else f"the trigger failed ({exc})"
            self._abort_once(why, deadline=CALLBACK_ABORT_DEADLINE)
            raise

    def on_kill(self) -> None:
        """SIGTERM (mark failed / clear) or execution_timeout: abort within ~4 s and stop waiting."""
        self._killed = True
        self._abort_once("the task was killed")


def _store_get(store: Any, key: str) -> Any:
    if store is None:
        return None
    try:
        return store.get(key)
    except Exception:  # noqa: BLE001 - a broken state store must not stop the task
        return None


def _store_set(store: Any, key: str, value: str) -> None:
    if store is None:
        return
    try:
        store.set(key, value)
    except Exception:  # noqa: BLE001
        pass


class JobAbortOperator(JobLifecycleMixin, BaseOperator):
    """Abort/cancel a job by id and report where it ended up.

    The request is retried like every idempotent call; a job that had already finished comes
    back unchanged and the task succeeds (the job is not running, which is what was asked).

    :param wait_for_termination: wait (bounded by ``wait_timeout``) for the job to reach a
        terminal status and report it; otherwise report the status the abort answered with
    :param wait_timeout: seconds to wait for the terminal status
    """

    job_id_attr: ClassVar[str]

    def __init__(self, *, wait_for_termination: bool = True, wait_timeout: timedelta | float = 60.0,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.wait_for_termination = wait_for_termination
        self.wait_timeout = wait_timeout

    def _abort_enabled(self) -> bool:
        return False

    def abort_options(self, context: Context) -> AbortOptions:
        """How to abort (graceful abort, cancel reason)."""
        return AbortOptions()

    @no_retry_when_pointless_or_harmful
    def execute(self, context: Context) -> dict[str, Any]:
        """Send the abort/cancel, optionally wait for the end, return the job's summary."""
        adapter = self.adapter
        job_id = getattr(self, self.job_id_attr)
        job = adapter.abort(self.hook, job_id, self.abort_options(context))
        self._job_id = adapter.job_id(job)
        if decide(adapter.statuses, adapter.status(job)) is Outcome.RUNNING and self.wait_for_termination:
            spec = adapter.wait_spec(job_id, timeout=seconds(self.wait_timeout))
            try:
                job = wait_until_terminal(spec, adapter.watcher(self.hook, job_id, None).fetch)
            except JobWaitTimeout as exc:
                self.log.warning("%s", exc)
        status = adapter.status(job)
        if decide(adapter.statuses, status) is Outcome.RUNNING:
            self.log.warning("%s %s: %s requested but not yet done (status %s).", adapter.kind, job_id,
                             adapter.verb, status)
        else:
            self.log.info("%s %s is %s.", adapter.kind, job_id, status)
        return adapter.summary(self.hook, job)

"""Operator side of the job lifecycle: start, remember, wait or defer, finish, abort on every path.

:class:`JobOperator` is the start-and-wait base of ``ApifyRunActorOperator``,
``ApifyBuildActorOperator`` and ``TemplateBuildOperator``; a subclass only says how to start its
job. The job's state lives in a :class:`~airflow_provider_jobs.lifecycle.task.TrackedJob`. Paths
that abort the job (unless ``abort_on_kill=False``):

* ``on_kill``: SIGTERM from a user marking the running task failed or clearing it, and
  ``execution_timeout`` (Airflow calls ``on_kill`` after the timeout interrupts ``execute``);
* any exception while waiting (API errors after retries, the wait deadline);
* the trigger's own deadline and ``trigger.on_kill`` while deferred;
* ``resume_execution`` after Airflow's defer timeout or a failed trigger (the trigger's kwargs
  are gone by then, so the id comes from XCom).

A job that reaches a bad terminal status is reported (:class:`JobFailedError`), not aborted.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_jobs._compat import (
    AirflowException,
    BaseOperator,
    Feature,
    TaskDeferralError,
    TaskDeferralTimeout,
    conf,
    supports,
)
from airflow_provider_jobs.exceptions import JobWaitTimeout, NotFoundError, StartOutcomeUnknownError
from airflow_provider_jobs.lifecycle import (
    CALLBACK_ABORT_DEADLINE,
    KILL_ABORT_DEADLINE,
    AbortOptions,
    JobKind,
    Outcome,
    TrackedJob,
    WaitInterrupted,
    abort_quietly,
)
from airflow_provider_jobs.lifecycle.callback import AbortOnFailure, with_abort_on_failure
from airflow_provider_jobs.lifecycle.kind import LogLine
from airflow_provider_jobs.lifecycle.logs import job_failure, wait_end
from airflow_provider_jobs.lifecycle.task import (
    GRACEFUL_WAIT,
    no_retry_when_pointless_or_harmful,
    seconds,
    store_get,
    store_set,
)

if TYPE_CHECKING:
    from airflow_provider_jobs._compat import Context
    from airflow_provider_jobs.triggers._base import JobTrigger

DEFAULT_DEFER_TIMEOUT = timedelta(days=7)
"""Deadline of a deferred wait when neither ``wait_timeout`` nor ``execution_timeout`` is set."""
DEFER_TIMEOUT_MARGIN = 120.0
"""Airflow's defer timeout is set this much after the trigger's own deadline, so the trigger,
which aborts the job itself, normally fires first."""
NOT_FOUND_GRACE = 10.0
"""Seconds a job this task has just started may answer 404 (API replicas lag after a start)."""


def default_deferrable() -> bool:
    """The deployment's ``[operators] default_deferrable`` (read when a task is built, not at import)."""
    return conf.getboolean("operators", "default_deferrable", fallback=False)


class JobTask(BaseOperator):
    """What every operator and sensor of this provider has: a job kind, a connection, a tracked job."""

    kind: ClassVar[JobKind[Any, Any]]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._job: TrackedJob[Any, Any] | None = None

    @property
    def conn_id(self) -> str:
        """The Airflow connection id (``apify_conn_id`` / ``template_builds_conn_id``)."""
        raise NotImplementedError

    def abort_options(self, context: Context) -> AbortOptions:
        """How this task aborts (graceful abort, cancel reason)."""
        return AbortOptions()

    def log_line(self) -> LogLine | None:
        """Where job log lines go while the task waits (``None``: nowhere)."""
        return None

    def _abort_enabled(self) -> bool:
        return False

    def _track(self, context: Context) -> TrackedJob[Any, Any]:
        """A fresh tracked job for this run of the task (what ``on_kill`` will look at)."""
        self._job = TrackedJob(self.kind, self.conn_id, logger=self.log, options=self.abort_options(context),
                               abort_enabled=self._abort_enabled(), links=self.operator_extra_links,
                               log_line=self.log_line())
        return self._job


class JobOperator(JobTask):
    """Start a remote job, push its id to XCom at once, wait (blocking or deferred), return a summary.

    :param wait_for_termination: wait for the job to end (otherwise return right after the start)
    :param deferrable: wait in the triggerer instead of holding a worker slot (default:
        ``[operators] default_deferrable``, which is off unless the deployment sets it)
    :param abort_on_kill: abort/cancel the job when the task is killed, times out or fails while
        waiting
    :param wait_timeout: give up waiting after this long (and abort); default: no limit beyond
        ``execution_timeout`` (deferred: ``execution_timeout`` or 7 days)
    :param poll_interval: seconds between status checks (Apify long polls answer at once when
        the job ends, so this only spaces out the requests)
    :param reattach: on a retry, adopt the previous try's job if it is still running (Airflow >= 3.3,
        through ``task_state_store``) instead of starting a duplicate; with ``False`` that job is
        aborted first
    :param abort_on_process_death: abort/cancel the job when the task dies without warning: a
        watchdog process aborts it within milliseconds when the task process is SIGKILLed (the OOM
        killer, ``kill -9``), and the operator's own ``on_failure_callback`` (added after the DAG
        author's) aborts it when the whole worker is lost (run by the DAG processor after the
        heartbeat timeout). Off with ``False``; ``abort_on_kill=False`` turns it off too
    :param stream_logs: copy the job's log lines into the task log while it waits, blocking or
        deferred (the trigger writes them), each line once. Apify runs and builds: the wait reads
        the log stream instead of long-polling the status (see
        :mod:`~airflow_provider_jobs.lifecycle.logs`). Template builds: their log entries come with
        each status fetch, and ``TemplateBuildOperator`` has it on by default. Whether on or off, a
        job ending badly fails the task with the last lines of its log
    """

    trigger_class: ClassVar[type[JobTrigger]]
    graceful_wait: float = GRACEFUL_WAIT
    defer_timeout_margin: float = DEFER_TIMEOUT_MARGIN

    def __init__(
        self,
        *,
        wait_for_termination: bool = True,
        deferrable: bool | None = None,
        abort_on_kill: bool = True,
        wait_timeout: timedelta | float | None = None,
        poll_interval: float | None = None,
        reattach: bool = True,
        abort_on_process_death: bool = True,
        stream_logs: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.stream_logs = stream_logs
        self.wait_for_termination = wait_for_termination
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self.abort_on_kill = abort_on_kill
        self.wait_timeout = wait_timeout
        self.poll_interval = poll_interval
        self.reattach = reattach
        self.abort_on_process_death = abort_on_process_death
        if abort_on_process_death and abort_on_kill and wait_for_termination:
            self.on_failure_callback = with_abort_on_failure(
                self.on_failure_callback, AbortOnFailure(self.kind, self))

    def start_job(self, hook: Any, context: Context) -> Any:
        """Start the job and return it (as the start answered)."""
        raise NotImplementedError

    def _abort_enabled(self) -> bool:
        return bool(self.abort_on_kill)

    def log_line(self) -> LogLine | None:
        """Send the job's log lines to the task log when ``stream_logs`` is on."""
        return self.log.info if self.stream_logs else None

    # ------------------------------------------------------------- execute
    @no_retry_when_pointless_or_harmful
    def execute(self, context: Context) -> Any:
        """Start (or adopt) the job, push its id, then wait or defer."""
        tracked = self._track(context)
        job = self._adopt_or_start(tracked, context)
        tracked.own(self.kind.job_id(job))  # from here on, on_kill can abort it
        if tracked.killed:  # SIGTERM arrived while the start request was in flight
            tracked.abort_once("the task was killed while the job was starting")
            raise AirflowException(f"{self.kind.name} {tracked.job_id}: the task was killed while starting it.")
        tracked.remember(context, job)
        if not self.wait_for_termination:
            tracked.finished()  # nothing to abort: the task is done with the job
            return self.kind.summary(tracked.hook, job)
        if self.abort_on_process_death:
            tracked.guard()  # a watchdog aborts the job if this process dies before releasing it
        if self.kind.outcome(job) is Outcome.RUNNING:
            if self.deferrable:
                with self._aborting_on_failure(tracked):
                    job = self._peek(tracked)
                    trigger = self._trigger(tracked)
                if job is None or self.kind.outcome(job) is Outcome.RUNNING:
                    self._defer(tracked, trigger)
            else:
                with self._aborting_on_failure(tracked):
                    job = wait_end(tracked.watch(), self._deadline(deferring=False), not_found_grace=NOT_FOUND_GRACE,
                                   poll_interval=self.poll_interval, should_stop=lambda: tracked.killed)
        return self._finish(tracked, job)

    @contextmanager
    def _aborting_on_failure(self, tracked: TrackedJob[Any, Any]) -> Iterator[None]:
        """Abort the job when the wait fails; say why in the task's error."""
        try:
            yield
        except JobWaitTimeout as exc:
            tracked.abort_once(f"still running after wait_timeout ({exc.waited:.0f} s)",
                               deadline=CALLBACK_ABORT_DEADLINE, wait_for_end=self.graceful_wait)
            raise AirflowException(f"{exc} The task gave up waiting.") from exc
        except WaitInterrupted as exc:
            raise AirflowException(f"{self.kind.name} {tracked.job_id}: the task was stopped while waiting.") from exc
        except BaseException as exc:
            tracked.abort_once(f"the task is failing while waiting ({type(exc).__name__})")
            raise

    def _peek(self, tracked: TrackedJob[Any, Any]) -> Any:
        """Fetch the job once before deferring; ``None`` when it is not visible yet right after the start
        (the trigger has the 404 grace window)."""
        try:
            return tracked.watch().fetch(0)
        except NotFoundError:
            return None

    def _adopt_or_start(self, tracked: TrackedJob[Any, Any], context: Context) -> Any:
        kind = self.kind
        store = context.get("task_state_store")
        if store is None:
            supports(Feature.TASK_STATE_STORE)  # Airflow < 3.3: says once that a retry cannot reattach
        previous = store_get(store, kind.xcom_key)
        if previous:
            try:
                job = kind.watch(tracked.hook, previous).fetch(0)
            except NotFoundError:
                job = None
            if job is not None:
                outcome = kind.outcome(job)
                if outcome is Outcome.RUNNING and kind.stopping(job):  # e.g. the previous try aborted it
                    self.log.warning("%s %s from the previous try is about to end (%s): starting another.",
                                     kind.name, previous, kind.status(job))
                elif self.reattach and outcome is not Outcome.FAILED:
                    self.log.warning("%s %s from the previous try is %s: adopting it instead of starting another.",
                                     kind.name, previous, kind.status(job))
                    return job
                elif outcome is Outcome.RUNNING:
                    self.log.warning("%s %s from the previous try is still %s and reattach is off: %s it first.",
                                     kind.name, previous, kind.status(job), kind.verb)
                    abort_quietly(kind, self.conn_id, previous, tracked.options, deadline=CALLBACK_ABORT_DEADLINE,
                                  base=tracked.hook, logger=self.log)
        if tracked.killed:  # SIGTERM while the previous try's job was checked or aborted
            raise AirflowException(f"The task was killed before it started a {kind.name}; nothing was started.")
        try:
            job = self.start_job(tracked.hook, context)
        except StartOutcomeUnknownError as exc:
            if exc.job_id and self.abort_on_kill:  # created, but its answer was unreadable: stop it
                self.log.warning("%s %s was created but its answer could not be read; sending %s.",
                                 kind.name, exc.job_id, kind.verb)
                abort_quietly(kind, self.conn_id, exc.job_id, tracked.options, deadline=KILL_ABORT_DEADLINE,
                              base=tracked.hook, logger=self.log)
            raise
        self.log.info("Started %s %s.", kind.name, kind.job_id(job))
        store_set(store, kind.xcom_key, kind.job_id(job))
        return job

    def _deadline(self, *, deferring: bool) -> float | None:
        limit = seconds(self.wait_timeout)
        if limit is None and deferring:
            limit = seconds(self.execution_timeout) or DEFAULT_DEFER_TIMEOUT.total_seconds()
        return limit

    def _defer_limit(self) -> float:
        return self._deadline(deferring=True) or DEFAULT_DEFER_TIMEOUT.total_seconds()

    def _trigger(self, tracked: TrackedJob[Any, Any]) -> JobTrigger:
        return self.trigger_class(**tracked.trigger_kwargs(
            end_time=time.time() + self._defer_limit(), abort_on_timeout=self.abort_on_kill,
            abort_on_kill=self.abort_on_kill, poll_interval=self.poll_interval, not_found_grace=NOT_FOUND_GRACE))

    def _defer(self, tracked: TrackedJob[Any, Any], trigger: JobTrigger) -> None:
        limit = self._defer_limit()
        self.log.info("%s %s: deferring for up to %.0f s.", self.kind.name, tracked.job_id, limit)
        tracked.release()  # the trigger owns the job from here
        self.defer(trigger=trigger, method_name="execute_complete",
                   timeout=timedelta(seconds=max(1.0, limit + self.defer_timeout_margin)))

    def _finish(self, tracked: TrackedJob[Any, Any], job: Any) -> dict[str, Any]:
        tracked.finished()
        if self.kind.outcome(job) is not Outcome.SUCCEEDED:
            raise job_failure(tracked.watch(), job, self.log)
        self.log.info("%s %s %s.", self.kind.name, self.kind.job_id(job), self.kind.status(job))
        return self.kind.summary(tracked.hook, job)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None, **_: Any) -> Any:
        """Resume after the trigger: succeed, or fail with the job's status."""
        return self._track(context).settle(event, fail=AirflowException, timeout=AirflowException,
                                           abort_on_error=True)

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context: Context) -> Any:
        """Resume after deferral; on Airflow's defer timeout, or a trigger that failed (raised, could not
        be loaded on the triggerer), abort the job before failing."""
        try:
            return super().resume_execution(next_method, next_kwargs, context)
        except (TaskDeferralTimeout, TaskDeferralError) as exc:
            tracked = self._job if self._job is not None and self._job.job_id else self._track(context)
            if tracked.job_id is None and (job_id := tracked.id_from_xcom(context)):
                tracked.own(job_id)
            timed_out = isinstance(exc, TaskDeferralTimeout)
            why = "Airflow's defer timeout passed" if timed_out else f"the trigger failed ({exc})"
            tracked.abort_once(why, deadline=CALLBACK_ABORT_DEADLINE)
            raise

    def on_kill(self) -> None:
        """SIGTERM (mark failed / clear) or execution_timeout: abort within ~4 s and stop waiting."""
        if self._job is not None:
            self._job.killed = True
            self._job.abort_once("the task was killed")


class JobAbortOperator(JobTask):
    """Abort/cancel a job by id and report where it ended up.

    The request is retried like every idempotent call; a job that had already finished comes
    back unchanged and the task succeeds (the job is not running, which is what was asked).

    :param wait_for_termination: wait (bounded by ``wait_timeout``) for the job to reach a
        terminal status and report it; otherwise report the status the abort answered with
    :param wait_timeout: seconds to wait for the terminal status
    """

    def __init__(self, *, wait_for_termination: bool = True, wait_timeout: timedelta | float = 60.0,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.wait_for_termination = wait_for_termination
        self.wait_timeout = wait_timeout

    def job_id_to_abort(self) -> str:
        """The id of the job to abort/cancel."""
        raise NotImplementedError

    @no_retry_when_pointless_or_harmful
    def execute(self, context: Context) -> dict[str, Any]:
        """Send the abort/cancel, optionally wait for the end, return the job's summary."""
        kind, tracked = self.kind, self._track(context)
        tracked.own(self.job_id_to_abort())
        watch = tracked.watch()
        job = watch.abort(tracked.options)
        if kind.outcome(job) is Outcome.RUNNING and self.wait_for_termination:
            try:
                job = watch.wait_end(seconds(self.wait_timeout))
            except JobWaitTimeout as exc:
                self.log.warning("%s", exc)
        status = kind.status(job)
        if kind.outcome(job) is Outcome.RUNNING:
            self.log.warning("%s %s: %s requested but not yet done (status %s).", kind.name, watch.job_id,
                             kind.verb, status)
        else:
            self.log.info("%s %s is %s.", kind.name, watch.job_id, status)
        return kind.summary(tracked.hook, job)

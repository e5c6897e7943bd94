"""Sensor side of the job lifecycle: wait for someone's job, fail on a bad end, abort on timeout.

A sensor succeeds on the success status and fails without pointless retries
(``AirflowFailException``) on any other terminal status or on a 404. When its own ``timeout``
passes — in poke mode, reschedule mode, deferred (the trigger aborts at the deadline; if
Airflow's defer timeout fires first, ``resume_execution`` aborts) or by ``execution_timeout`` —
it aborts/cancels the job unless ``abort_on_timeout=False``. Marked failed or cleared by a user
while it pokes (``on_kill``) or while it is deferred (the trigger's ``on_kill``, Airflow >= 3.3),
it aborts/cancels the job too, unless ``abort_on_kill=False`` (for jobs the DAG does not own).
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_jobs._compat import (
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
    AirflowTaskTimeout,
    BaseSensorOperator,
    PokeReturnValue,
)
from airflow_provider_jobs.exceptions import NotFoundError
from airflow_provider_jobs.lifecycle import CALLBACK_ABORT_DEADLINE, Outcome, TrackedJob
from airflow_provider_jobs.lifecycle.task import no_retry_when_pointless_or_harmful
from airflow_provider_jobs.operators._base import DEFER_TIMEOUT_MARGIN, JobTask, default_deferrable

if TYPE_CHECKING:
    from airflow_provider_jobs._compat import Context
    from airflow_provider_jobs.triggers._base import JobTrigger


class JobSensor(JobTask, BaseSensorOperator):
    """Wait for a job to end.

    :param abort_on_timeout: abort/cancel the job when the sensor times out
    :param abort_on_kill: abort/cancel the job when the sensor is marked failed or cleared while it
        pokes or is deferred (``False``: leave a job the DAG does not own alone)
    :param deferrable: wait in the triggerer (the trigger long-polls and aborts at the deadline); default:
        ``[operators] default_deferrable``
    """

    trigger_class: ClassVar[type[JobTrigger]]
    defer_timeout_margin: float = DEFER_TIMEOUT_MARGIN

    def __init__(self, *, abort_on_timeout: bool = True, abort_on_kill: bool = True, deferrable: bool | None = None,
                 poke_interval: float = 30, **kwargs: Any) -> None:
        super().__init__(poke_interval=poke_interval, **kwargs)
        self.abort_on_timeout = abort_on_timeout
        self.abort_on_kill = abort_on_kill
        self._timed_out = False
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self._links_pushed = False

    def watched_job_id(self) -> str:
        """The id of the job this sensor watches."""
        raise NotImplementedError

    def _abort_enabled(self) -> bool:
        return bool(self.abort_on_timeout or self.abort_on_kill)

    def _abort_on_timeout(self, tracked: TrackedJob[Any, Any], why: str, **kwargs: Any) -> None:
        self._timed_out = True  # Airflow calls on_kill after an execution_timeout: that is not a kill
        if self.abort_on_timeout:
            tracked.abort_once(why, **kwargs)

    def on_kill(self) -> None:
        """Marked failed or cleared while poking: abort/cancel the watched job (unless ``abort_on_kill=False``).
        After a timeout (``execution_timeout`` also calls ``on_kill``) ``abort_on_timeout`` has decided."""
        if self._job is not None and self.abort_on_kill and not self._timed_out:
            self._job.killed = True
            self._job.abort_once("the sensor was stopped (marked failed or cleared)")

    @property
    def poll_interval(self) -> float | None:
        """Pause between the deferred wait's status requests: ``poke_interval``, except for
        services that long-poll (Apify), whose requests return as soon as the job ends."""
        return None if self.kind.long_polls else float(self.poke_interval)

    def _tracked(self, context: Context) -> TrackedJob[Any, Any]:
        """The tracked job of this run of the sensor (made on first use: ``poke`` may come first)."""
        if self._job is None:
            self._track(context).own(self.watched_job_id())
        assert self._job is not None
        return self._job

    def poke(self, context: Context) -> bool | PokeReturnValue:
        """Get the job once: done on success, fail on any other terminal status."""
        tracked = self._tracked(context)
        try:
            job = tracked.watch().fetch(0)
        except NotFoundError as exc:
            raise AirflowFailException(str(exc)) from exc
        if not self._links_pushed:  # the extra link works while the sensor waits, not only at the end
            self._links_pushed = True
            tracked.push_links(context, job)
        outcome = self.kind.outcome(job)
        if outcome is Outcome.RUNNING:
            return False
        tracked.finished()
        if outcome is Outcome.FAILED:
            raise AirflowFailException(str(self.kind.failure(tracked.hook, job)))
        self.log.info("%s %s %s.", self.kind.name, self.kind.job_id(job), self.kind.status(job))
        return PokeReturnValue(is_done=True, xcom_value=self.kind.summary(tracked.hook, job))

    @no_retry_when_pointless_or_harmful
    def execute(self, context: Context) -> Any:
        """Poke (or defer); abort the job if the sensor times out."""
        self._job, self._timed_out = None, False
        tracked = self._tracked(context)
        try:
            if self.deferrable:
                done = self._first_poke(context)
                if done:
                    return done.xcom_value if isinstance(done, PokeReturnValue) else None
            else:
                return super().execute(context)
        except (AirflowSensorTimeout, AirflowTaskTimeout):
            self._abort_on_timeout(tracked, "the sensor timed out")
            raise
        except AirflowSkipException as exc:
            # soft_fail/never_fail turn a timeout into a skip: its own ("Sensor has timed out"), or
            # execution_timeout landing inside a poke (the AirflowTaskTimeout is the cause)
            if isinstance(exc.__cause__, (AirflowSensorTimeout, AirflowTaskTimeout)) or "timed out" in str(exc):
                self._abort_on_timeout(tracked, "the sensor timed out (soft_fail)")
            raise
        trigger = self.trigger_class(**tracked.trigger_kwargs(
            end_time=time.time() + self.timeout, abort_on_timeout=self.abort_on_timeout,
            abort_on_kill=self.abort_on_kill, poll_interval=self.poll_interval))
        self.defer(trigger=trigger, method_name="execute_complete",
                   timeout=timedelta(seconds=max(1.0, self.timeout + self.defer_timeout_margin)))

    def _first_poke(self, context: Context) -> bool | PokeReturnValue:
        """Poke once before deferring, with the soft_fail rule of ``BaseSensorOperator.execute``
        (which the deferred path bypasses)."""
        try:
            return self.poke(context)
        except AirflowFailException as exc:
            if self.soft_fail or getattr(self, "never_fail", False):  # never_fail: Airflow >= 3.1
                raise AirflowSkipException(f"Skipping due to soft_fail/never_fail: {exc}") from exc
            raise

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None, **_: Any) -> Any:
        """Resume after the trigger."""
        return self._track(context).settle(event, fail=AirflowFailException, timeout=AirflowSensorTimeout,
                                           abort_on_error=False)

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context: Context) -> Any:
        """Resume after deferral; on Airflow's defer timeout, abort the job before failing."""
        try:
            return super().resume_execution(next_method, next_kwargs, context)
        except (AirflowSensorTimeout, AirflowSkipException) as exc:
            timed_out = isinstance(exc, AirflowSensorTimeout) or isinstance(exc.__cause__, AirflowSensorTimeout)
            if timed_out:  # the tracked job of execute_complete, if it ran, knows whether the trigger aborted
                self._abort_on_timeout(self._tracked(context), "Airflow's defer timeout passed",
                                       deadline=CALLBACK_ABORT_DEADLINE)
            raise

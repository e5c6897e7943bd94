"""Sensor side of the job lifecycle: wait for someone's job, fail on a bad end, abort on timeout.

A sensor succeeds on the success status and fails without pointless retries
(``AirflowFailException``) on any other terminal status or on a 404. When its own ``timeout``
passes — in poke mode, reschedule mode, deferred (the trigger aborts at the deadline; if
Airflow's defer timeout fires first, ``resume_execution`` aborts) or by ``execution_timeout`` —
it aborts/cancels the job unless ``abort_on_timeout=False``. Being marked failed by a user does
not abort a job the sensor only watches.
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
from airflow_provider_jobs.lifecycle import CALLBACK_ABORT_DEADLINE, Outcome, decide
from airflow_provider_jobs.operators._base import JobLifecycleMixin, no_retry_when_pointless_or_harmful

if TYPE_CHECKING:
    from airflow_provider_jobs._compat import Context


class JobSensor(JobLifecycleMixin, BaseSensorOperator):
    """Wait for a job to end.

    :param abort_on_timeout: abort/cancel the job when the sensor times out
    :param deferrable: wait in the triggerer (the trigger long-polls and aborts at the deadline)
    """

    job_id_attr: ClassVar[str]
    _links_pushed: bool = False

    def __init__(self, *, abort_on_timeout: bool = True, deferrable: bool = False, poke_interval: float = 30,
                 **kwargs: Any) -> None:
        super().__init__(poke_interval=poke_interval, **kwargs)
        self.abort_on_timeout = abort_on_timeout
        self.deferrable = deferrable

    def _abort_enabled(self) -> bool:
        return bool(self.abort_on_timeout)

    @property
    def poll_interval(self) -> float | None:
        """Pause between the deferred wait's status requests: ``poke_interval``, except for
        services that long-poll (Apify), whose requests return as soon as the job ends."""
        return None if self.adapter.long_polls else float(self.poke_interval)

    def _prepare(self, context: Context) -> str:
        self._job_id = getattr(self, self.job_id_attr)
        self._abort_options = self.abort_options(context)
        return self._job_id

    def _judge(self, job: Any) -> Any:
        adapter = self.adapter
        outcome = decide(adapter.statuses, adapter.status(job))
        if outcome is Outcome.RUNNING:
            return False
        self._terminal = True
        if outcome is Outcome.SUCCEEDED:
            self.log.info("%s %s %s.", adapter.kind, adapter.job_id(job), adapter.status(job))
            return PokeReturnValue(is_done=True, xcom_value=adapter.summary(self.hook, job))
        raise AirflowFailException(adapter.failure_message(self.hook, job))

    def poke(self, context: Context) -> bool | PokeReturnValue:
        """Get the job once: done on success, fail on any other terminal status."""
        job_id = self._job_id or self._prepare(context)
        try:
            job = self.adapter.watcher(self.hook, job_id, None).fetch(0)
        except NotFoundError as exc:
            raise AirflowFailException(str(exc)) from exc
        if not self._links_pushed:  # the extra link works while the sensor waits, not only at the end
            self._links_pushed = True
            self._push_links(context, job)
        return self._judge(job)

    @no_retry_when_pointless_or_harmful
    def execute(self, context: Context) -> Any:
        """Poke (or defer); abort the job if the sensor times out."""
        job_id = self._prepare(context)
        try:
            if self.deferrable:
                try:
                    done = self.poke(context)
                except AirflowFailException as exc:  # what BaseSensorOperator.execute does, as it is bypassed here
                    if self.soft_fail or getattr(self, "never_fail", False):
                        raise AirflowSkipException(f"Skipping due to soft_fail/never_fail: {exc}") from exc
                    raise
                if done:
                    return done.xcom_value if isinstance(done, PokeReturnValue) else None
                trigger = self._trigger(job_id, time.time() + self.timeout, abort_on_timeout=self.abort_on_timeout,
                                        abort_on_kill=False)
                self.defer(trigger=trigger, method_name="execute_complete",
                           timeout=timedelta(seconds=max(1.0, self.timeout + self.defer_timeout_margin)))
            return super().execute(context)
        except (AirflowSensorTimeout, AirflowTaskTimeout):
            self._abort_once("the sensor timed out")
            raise
        except AirflowSkipException as exc:
            # soft_fail/never_fail turn a timeout into a skip: its own ("Sensor has timed out"), or
            # execution_timeout landing inside a poke (the AirflowTaskTimeout is the cause)
            if isinstance(exc.__cause__, (AirflowSensorTimeout, AirflowTaskTimeout)) or "timed out" in str(exc):
                self._abort_once("the sensor timed out (soft_fail)")
            raise

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None, **_: Any) -> Any:
        """Resume after the trigger."""
        done, payload = self._complete(event, context, fail=AirflowFailException, timeout=AirflowSensorTimeout)
        if done:
            return payload
        raise AirflowFailException(payload.get("message") or f"{self.adapter.kind} {self._job_id}: wait failed")

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context: Context) -> Any:
        """Resume after deferral; on Airflow's defer timeout, abort the job before failing."""
        try:
            return super().resume_execution(next_method, next_kwargs, context)
        except (AirflowSensorTimeout, AirflowSkipException) as exc:
            timed_out = isinstance(exc, AirflowSensorTimeout) or isinstance(exc.__cause__, AirflowSensorTimeout)
            if timed_out:
                self._prepare(context)
                self._abort_once("Airflow's defer timeout passed", deadline=CALLBACK_ABORT_DEADLINE)
            raise

"""The start-and-wait operators' own failure callback: abort the job when the whole worker is gone.

When a task process and its supervisor die together (node loss, pod eviction, spot reclaim),
nothing runs on the worker; after ``[scheduler] task_instance_heartbeat_timeout`` Airflow's DAG
processor runs the task's ``on_failure_callback`` (``reference/airflow3/NOTES.md`` Q12). The
operators append an :class:`AbortOnFailure` to the DAG author's callbacks (none replaced), so that
this path aborts the job too.

The callback is a no-op when the task already dealt with the job in its own process (it ended,
or an abort went through), when the job has ended or is already stopping (a second call for the
same failure), and when no job id was pushed. It never raises.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from airflow_provider_jobs.lifecycle.abort import CALLBACK_ABORT_DEADLINE, abort_quietly, quick_hook
from airflow_provider_jobs.lifecycle.kind import AbortOptions, JobKind, Outcome
from airflow_provider_jobs.lifecycle.task import own_job_id

if TYPE_CHECKING:
    from airflow_provider_jobs._compat import Context

log = logging.getLogger(__name__)

Callbacks = Callable[..., Any] | Sequence[Callable[..., Any]] | None


class OwningTask(Protocol):
    """What the callback reads from its operator when it runs (after templates are rendered)."""

    @property
    def conn_id(self) -> str:
        """The Airflow connection id."""

    def abort_options(self, context: Context) -> AbortOptions:
        """How the task aborts its job."""


class AbortOnFailure:
    """``on_failure_callback`` that aborts/cancels the failed task's own job (its XCom id) if it still runs.

    :param kind: the job kind
    :param task: the operator it belongs to (its connection id and abort options are read at call time)
    :param deadline: seconds the status check and the abort may take, retries included
    """

    def __init__(self, kind: JobKind[Any, Any], task: OwningTask, *, deadline: float = CALLBACK_ABORT_DEADLINE) -> None:
        self.kind = kind
        self.task = task
        self.deadline = deadline

    def __repr__(self) -> str:
        return f"AbortOnFailure({self.kind.name})"

    def __call__(self, context: Context) -> None:
        kind = self.kind
        try:
            task = context.get("task") or self.task
            tracked = getattr(task, "_job", None)
            if tracked is not None and tracked.job_id and (tracked.done or tracked.abort_sent):
                return  # this process already finished with the job, or aborted it
            job_id = own_job_id(kind, context)
            if not job_id:
                return
            conn_id = getattr(task, "conn_id", None) or self.task.conn_id
            hook = quick_hook(kind, conn_id, self.deadline)
            job = kind.watch(hook, job_id).fetch(0)
            if kind.outcome(job) is not Outcome.RUNNING or kind.stopping(job):
                log.info("%s %s is %s; nothing to %s.", kind.name, job_id, kind.status(job), kind.verb)
                return
            log.warning("%s %s: its task failed while it runs (the worker is gone?); sending %s.",
                        kind.name, job_id, kind.verb)
            options = getattr(task, "abort_options", self.task.abort_options)(context)
            abort_quietly(kind, conn_id, job_id, options, deadline=self.deadline, base=hook, logger=log)
        except Exception as exc:  # noqa: BLE001 - a callback never raises
            log.error("%s failure callback: %s: %s", kind.name, type(exc).__name__, exc)


def with_abort_on_failure(callbacks: Callbacks, abort: AbortOnFailure) -> list[Callable[..., Any]]:
    """The DAG author's callbacks (one, a list, or none), then ``abort`` (once)."""
    given: list[Callable[..., Any]]
    if callbacks is None:
        given = []
    elif isinstance(callbacks, Sequence):
        given = list(callbacks)
    else:
        given = [callbacks]
    return [*(c for c in given if not isinstance(c, AbortOnFailure)), abort]


__all__ = ["AbortOnFailure", "with_abort_on_failure"]

"""Failure callbacks that abort/cancel a job: usable as ``on_failure_callback`` (alone or in lists).

With no id given, the notifier takes the id the failing task pushed to XCom (``run_id`` /
``build_id``), or the one ``task_id`` pushed when the callback sits on another task or on the
DAG. A notifier logs what it did and never raises.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_jobs._compat import BaseNotifier
from airflow_provider_jobs.lifecycle import CALLBACK_ABORT_DEADLINE, AbortOptions, JobKind, abort_quietly

if TYPE_CHECKING:
    from airflow_provider_jobs._compat import Context

log = logging.getLogger(__name__)


class JobAbortNotifier(BaseNotifier):
    """Abort/cancel the job of a failed task.

    :param job_id: the job to abort; default: the id the task pushed to XCom
    :param task_id: read the id from this task's XCom instead of the failing task's
    :param deadline: seconds the abort may take, retries included
    """

    kind: ClassVar[JobKind[Any, Any]]

    def __init__(self, *, task_id: str | None = None, deadline: float = CALLBACK_ABORT_DEADLINE) -> None:
        super().__init__()
        self.task_id = task_id
        self.deadline = deadline

    @property
    def conn_id(self) -> str:
        """The connection id (``apify_conn_id`` / ``template_builds_conn_id``)."""
        raise NotImplementedError

    def given_job_id(self) -> str | None:
        """The id given to the notifier (``run_id`` / ``build_id``), if any."""
        raise NotImplementedError

    def abort_options(self, context: Context) -> AbortOptions:
        """How to abort (graceful abort, cancel reason)."""
        return AbortOptions()

    def _job_ids(self, context: Context) -> list[str]:
        """The given id; else the failing task instance's own id (its map index only); else every id
        that ``task_id`` pushed (all its map indexes)."""
        given = self.given_job_id()
        if given:
            return [str(given)]
        ti = context.get("ti") or context.get("task_instance")
        if ti is None:
            return []
        key = self.kind.xcom_key
        if self.task_id is None or self.task_id == ti.task_id:
            value = ti.xcom_pull(task_ids=ti.task_id, key=key, map_indexes=getattr(ti, "map_index", -1))
        else:
            value = ti.xcom_pull(task_ids=self.task_id, key=key)
        values = value if isinstance(value, list) else [value]
        return list(dict.fromkeys(str(v) for v in values if v))

    def notify(self, context: Context) -> None:
        """Abort/cancel the job(s); log and return on any problem."""
        kind = self.kind
        try:
            job_ids = self._job_ids(context)
            if not job_ids:
                log.warning("%s notifier: no %s given and none in XCom key '%s' of task %s; nothing to %s.",
                            kind.name, kind.xcom_key, kind.xcom_key, self.task_id or "(the failing task)", kind.verb)
                return
            for job_id in job_ids:
                abort_quietly(kind, self.conn_id, job_id, self.abort_options(context), deadline=self.deadline,
                              logger=log)
        except Exception as exc:  # noqa: BLE001 - a callback never raises
            log.error("%s notifier failed: %s: %s", kind.name, type(exc).__name__, exc)

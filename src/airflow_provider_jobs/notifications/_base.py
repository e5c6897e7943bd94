"""Failure callbacks that abort/cancel a job: usable as ``on_failure_callback`` (alone or in lists).

With no id given, the notifier takes the id the failing task pushed to XCom (``run_id`` /
``build_id``), or the one ``task_id`` pushed when the callback sits on another task or on the
DAG. A notifier logs what it did and never raises.

Each notifier also runs awaited, in the triggerer (Airflow >= 3.1, e.g. as the callback of a
deadline alert: ``AsyncCallback(TemplateBuildCancelNotifier, kwargs={"build_id": ...})``):
:meth:`JobAbortNotifier.async_notify` aborts through the async hook without blocking the event
loop. The triggerer's context has no task instance, so there the id must be given.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, cast

from airflow_provider_jobs._compat import BaseNotifier
from airflow_provider_jobs.lifecycle import (
    CALLBACK_ABORT_DEADLINE,
    AbortOptions,
    JobKind,
    aabort_quietly,
    abort_quietly,
)

if TYPE_CHECKING:
    from airflow_provider_jobs._compat import Context


class JobAbortNotifier(BaseNotifier):
    """Abort/cancel the job of a failed task (``notify``), or of a missed deadline (``async_notify``).

    :param job_id: the job to abort; default: the id the task pushed to XCom
    :param task_id: read the id from this task's XCom instead of the failing task's
    :param deadline: seconds the abort may take, retries included
    :param context: the context of an awaited notifier (Airflow passes it to a triggerer callback)
    """

    kind: ClassVar[JobKind[Any, Any]]

    def __init__(self, *, task_id: str | None = None, deadline: float = CALLBACK_ABORT_DEADLINE,
                 context: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        self.context = cast("Context", dict(context or {}))  # what `await notifier` renders and passes on
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

    @property
    def abort_log(self) -> logging.Logger:
        """The notifier's logger: the name of ``self.log``, through the standard library (Airflow routes it
        into the task's or the triggerer's log on every version; tests can capture it)."""
        return logging.getLogger(f"{type(self).__module__}.{type(self).__name__}")

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

    def _targets(self, context: Context) -> tuple[list[str], AbortOptions]:
        """The ids to abort and how; no ids (logged) when there is nothing to abort."""
        kind = self.kind
        job_ids = self._job_ids(context)
        if not job_ids:
            self.abort_log.warning(
                "%s notifier: no %s given and none in XCom key '%s' of task %s; nothing to %s.",
                kind.name, kind.xcom_key, kind.xcom_key, self.task_id or "(the failing task)", kind.verb,
            )
            return [], AbortOptions()
        return job_ids, self.abort_options(context)

    def _failed(self, exc: Exception) -> None:
        self.abort_log.error("%s notifier failed: %s: %s", self.kind.name, type(exc).__name__, exc)

    def notify(self, context: Context) -> None:
        """Abort/cancel the job(s); log and return on any problem."""
        try:
            job_ids, options = self._targets(context)
            for job_id in job_ids:
                abort_quietly(self.kind, self.conn_id, job_id, options, deadline=self.deadline,
                              logger=self.abort_log)
        except Exception as exc:  # noqa: BLE001 - a callback never raises
            self._failed(exc)

    async def async_notify(self, context: Context) -> None:
        """Async twin of :meth:`notify` (the triggerer awaits it): the abort does not block the event loop."""
        try:
            job_ids, options = self._targets(context)
            for job_id in job_ids:
                await aabort_quietly(self.kind, self.conn_id, job_id, options, deadline=self.deadline,
                                     logger=self.abort_log)
        except Exception as exc:  # noqa: BLE001 - a callback never raises
            self._failed(exc)

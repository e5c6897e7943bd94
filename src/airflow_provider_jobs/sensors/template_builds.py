"""Sensor for Nullspace template builds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_jobs.hooks.template_builds import TemplateBuildHook
from airflow_provider_jobs.lifecycle import TEMPLATE_BUILD, AbortOptions, TemplateBuildKind
from airflow_provider_jobs.lifecycle.task import cancel_options
from airflow_provider_jobs.sensors._base import JobSensor
from airflow_provider_jobs.triggers._base import JobTrigger
from airflow_provider_jobs.triggers.template_builds import TemplateBuildTrigger

if TYPE_CHECKING:
    from airflow_provider_jobs._compat import Context

TEMPLATE_BUILDS_DEFAULT_CONN_ID = TemplateBuildHook.default_conn_name


class TemplateBuildSensor(JobSensor):
    """Wait for a template build to end: succeed on ``ready``, fail (no retry) on ``error``/``cancelled``.

    On the sensor's own timeout the build is cancelled unless ``cancel_on_timeout=False``.

    Templated: ``build_id``, ``cancel_reason``.

    :param build_id: the build to watch
    :param cancel_on_timeout: cancel the build when the sensor times out
    :param cancel_reason: reason recorded on the build (default names the DAG, task, run and try)
    :param deferrable: wait in the triggerer (default: ``[operators] default_deferrable``)
    :param template_builds_conn_id: the template-builds connection id
    """

    kind: ClassVar[TemplateBuildKind] = TEMPLATE_BUILD
    trigger_class: ClassVar[type[JobTrigger]] = TemplateBuildTrigger
    template_fields: Sequence[str] = ("build_id", "cancel_reason")

    def __init__(self, *, build_id: str, cancel_on_timeout: bool = True, cancel_reason: str | None = None,
                 deferrable: bool | None = None, template_builds_conn_id: str = TEMPLATE_BUILDS_DEFAULT_CONN_ID,
                 **kwargs: Any) -> None:
        super().__init__(abort_on_timeout=cancel_on_timeout, deferrable=deferrable, **kwargs)
        self.build_id = build_id
        self.cancel_on_timeout = cancel_on_timeout
        self.cancel_reason = cancel_reason
        self.template_builds_conn_id = template_builds_conn_id

    @property
    def conn_id(self) -> str:
        """The template-builds connection id."""
        return self.template_builds_conn_id

    def watched_job_id(self) -> str:
        """The build to watch."""
        return self.build_id

    def abort_options(self, context: Context) -> AbortOptions:
        """The given reason, or one naming the DAG, task, run and try."""
        return cancel_options(self.cancel_reason, context)

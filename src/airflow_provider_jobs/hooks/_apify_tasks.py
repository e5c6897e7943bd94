"""Starting runs of saved actor tasks through the Apify hook (``POST /v2/actor-tasks/{actorTaskId}/runs``).

:class:`ApifyTaskOperations` is a base of :class:`~airflow_provider_jobs.hooks.apify.ApifyHook`.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_jobs._validation import normalize_named_id
from airflow_provider_jobs.hooks._apify_service import TASK_ID, TASK_RUNS_PATH, run_start_op, seg
from airflow_provider_jobs.hooks._base import JobsHook, Operation
from airflow_provider_jobs.models.apify import ApifyRun


class ApifyTaskOperations(JobsHook):
    """Actor-task starts of :class:`~airflow_provider_jobs.hooks.apify.ApifyHook`."""

    def _start_task_run_op(self, actor_task_id: str, task_input: Any, **opts: Any) -> Operation[ApifyRun]:
        task = normalize_named_id(actor_task_id, TASK_ID, "task")
        return run_start_op(ApifyRun, self.conn_id, TASK_RUNS_PATH.format(task_id=seg(task)),
                            f"Start of a run of Apify actor task {task}", TASK_ID, task_input, "task_input", opts)

    def start_task_run(
        self,
        actor_task_id: str,
        task_input: dict[str, Any] | None = None,
        *,
        build: str | None = None,
        timeout_secs: int | None = None,
        memory_mbytes: int | None = None,
        max_items: int | None = None,
        max_total_charge_usd: float | None = None,
        restart_on_error: bool | None = None,
        webhooks: list[dict[str, Any]] | None = None,
        wait_for_finish: float | None = None,
    ) -> ApifyRun:
        """Start a run of a saved actor task (``POST /v2/actor-tasks/{actorTaskId}/runs``).

        A start is not idempotent: it is retried only on 429 or when the request provably never
        left (connection refused); otherwise a failure raises
        :class:`~airflow_provider_jobs.exceptions.StartOutcomeUnknownError`. Options left ``None``
        take the task's saved settings.

        :param actor_task_id: task id, ``username~task-name`` or ``username/task-name``
        :param task_input: fields that override the task's saved input (``{}``: none)
        :param build: build tag or number to run
        :param timeout_secs: the run's own timeout on the platform
        :param memory_mbytes: memory for the run (a power of 2, at least 128)
        :param max_items: cap of charged dataset items (pay-per-result actors)
        :param max_total_charge_usd: cap of the run's cost (pay-per-event actors)
        :param restart_on_error: restart the run's process whenever it fails
        :param webhooks: ad-hoc webhooks for this run, dicts in the API's shape
            (``{"eventTypes": ["ACTOR.RUN.FAILED"], "requestUrl": "https://..."}``), sent base64-encoded
        :param wait_for_finish: seconds (max 60) to hold the request open for the run to finish
        :raises JobsApiError: with ``is_capacity_refusal`` set when the account is at its memory or
            concurrent-runs limit (wait for other runs to finish, then start again)
        """
        return self._run(self._start_task_run_op(
            actor_task_id, task_input, build=build, timeout_secs=timeout_secs, memory_mbytes=memory_mbytes,
            max_items=max_items, max_total_charge_usd=max_total_charge_usd, restart_on_error=restart_on_error,
            webhooks=webhooks, wait_for_finish=wait_for_finish,
        ))

    async def astart_task_run(
        self,
        actor_task_id: str,
        task_input: dict[str, Any] | None = None,
        *,
        build: str | None = None,
        timeout_secs: int | None = None,
        memory_mbytes: int | None = None,
        max_items: int | None = None,
        max_total_charge_usd: float | None = None,
        restart_on_error: bool | None = None,
        webhooks: list[dict[str, Any]] | None = None,
        wait_for_finish: float | None = None,
    ) -> ApifyRun:
        """Async twin of :meth:`start_task_run`."""
        return await self._arun(self._start_task_run_op(
            actor_task_id, task_input, build=build, timeout_secs=timeout_secs, memory_mbytes=memory_mbytes,
            max_items=max_items, max_total_charge_usd=max_total_charge_usd, restart_on_error=restart_on_error,
            webhooks=webhooks, wait_for_finish=wait_for_finish,
        ))

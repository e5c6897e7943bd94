"""Apify actor tasks and account limits of an emulator.

A task names an actor, a default input and default run options. A task run
(``POST /v2/actor-tasks/{actorTaskId}/runs``) is an ordinary run of that actor: its options
are the request's, else the task's, else the actor's; its input is the task's input with the
request body's properties laid over it (a shallow merge, as the API documents); it carries
``actorTaskId``.

Account limits refuse run starts while a user's active runs leave no room
(:meth:`ApifyTasks.set_account_limits`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from airflow_provider_jobs.emulator._util import apify_id, iso_ms
from airflow_provider_jobs.emulator.apify_records import ActorRecord, ApifyUser, RunOptions
from airflow_provider_jobs.emulator.apify_state import ApifyState
from airflow_provider_jobs.emulator.errors import or_unknown
from airflow_provider_jobs.emulator.refs import ActorSpec, find_named


@dataclass
class TaskRecord:
    """A saved actor task."""

    id: str
    name: str
    actor: ActorRecord
    user: ApifyUser
    created_at: datetime
    task_input: dict[str, Any] | None = None
    options: RunOptions = field(default_factory=RunOptions)
    total_runs: int = 0

    @property
    def username(self) -> str:
        """Return the owner's username."""
        return self.user.username

    def to_json(self) -> dict[str, Any]:
        """Render the ``Task`` object as ``GET /v2/actor-tasks/{actorTaskId}`` returns it."""
        return {
            "id": self.id,
            "userId": self.user.id,
            "actId": self.actor.id,
            "name": self.name,
            "username": self.user.username,
            "createdAt": iso_ms(self.created_at),
            "modifiedAt": iso_ms(self.created_at),
            "removedAt": None,
            "stats": {"totalRuns": self.total_runs},
            "options": self.options.by_api_name(),
            "input": self.task_input,
            "title": None,
        }

    def run_input(self, body: Any) -> Any:
        """Return the input of a run: the task's input with the body's properties over it."""
        if body is None:
            return self.task_input
        return {**(self.task_input or {}), **body}


class ApifyTasks:
    """Actor tasks and account limits, sharing the lock of the Apify state.

    :param apify: the Apify state whose actors the tasks run.
    """

    def __init__(self, apify: ApifyState) -> None:
        self.apify = apify
        self.lock = apify.lock
        self.tasks: dict[str, TaskRecord] = {}

    def seed_task(
        self,
        actor: ActorSpec,
        name: str,
        *,
        task_input: dict[str, Any] | None = None,
        build: str | None = None,
        timeout_secs: int | None = None,
        memory_mbytes: int | None = None,
        max_items: int | None = None,
        restart_on_error: bool | None = None,
        task_id: str | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        """Create an actor task and return it as the API renders it (``id``, ``name``, ``username``...).

        :param actor: the actor it runs.
        :param name: task name; the task is also found as ``username~name``.
        :param task_input: default input of its runs.
        :param task_id: fixed 17-character id (random when not given).
        :param token: Apify token of the owner (default: the first token).
        """
        with self.lock:
            record = TaskRecord(
                task_id or apify_id(),
                name,
                self.apify._actor(actor),
                self.apify._owner(token),
                self.apify.runtime.clock.to_wall(self.apify.runtime.now()),
                task_input,
                RunOptions(
                    build=build,
                    timeout_secs=timeout_secs,
                    memory_mbytes=memory_mbytes,
                    max_items=max_items,
                    restart_on_error=restart_on_error,
                ),
            )
            self.tasks[record.id] = record
            return record.to_json()

    def find_task(self, ref: str, user: ApifyUser | None = None) -> TaskRecord | None:
        """Resolve a task by id, ``username~name``, ``username/name`` or ``~name`` (``user``'s own)."""
        with self.lock:
            return find_named(self.tasks, ref, lambda: (user or self.apify._owner()).username)

    def get_task(self, task_id: str) -> dict[str, Any]:
        """Return a task as ``GET /v2/actor-tasks/{actorTaskId}`` would (``data`` unwrapped)."""
        task = or_unknown(self.find_task(task_id), f"actor task {task_id!r}")
        with self.lock:
            return task.to_json()

    def set_account_limits(
        self,
        *,
        max_concurrent_runs: int | None = None,
        max_memory_mbytes: int | None = None,
        status: int = 402,
        token: str | None = None,
    ) -> None:
        """Limit a user's concurrent runs and their total memory (``None``: unlimited).

        API starts of runs (actor and task) that would exceed a limit fail with ``status`` (402 as in the
        API's error table) and ``concurrent-runs-limit-exceeded`` / ``actor-memory-limit-exceeded``, until
        enough runs finish; runs created by the Python API are never refused, but count. To refuse a number
        of starts regardless, add a ``status`` fault instead, e.g. ``Fault(route="POST /v2/actors/{actorId}/runs",
        status=402, error_type="concurrent-runs-limit-exceeded", times=2)``.

        :param token: Apify token of the user (default: the first token).
        """
        with self.lock:
            user = self.apify._owner(token)
            user.max_concurrent_runs, user.max_memory_mbytes = max_concurrent_runs, max_memory_mbytes
            user.refusal_status = status

    def run_start_options(self, run_id: str) -> dict[str, Any]:
        """Return what a run's start asked for beyond its ``options``.

        ``{"actorTaskId", "input", "restartOnError", "webhooks"}``: the webhooks as decoded from the
        request (the emulator records them; it never calls them).
        """
        job = self.apify._known("run", run_id)
        with self.lock:
            return {
                "actorTaskId": job.task_id,
                "input": job.run_input,
                "restartOnError": job.restart_on_error,
                "webhooks": list(job.webhooks),
            }

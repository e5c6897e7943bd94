"""Operators for Apify actor runs (of an actor or a saved actor task) and builds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_jobs._compat import openlineage_classes
from airflow_provider_jobs._lineage import apify_dataset_name
from airflow_provider_jobs._retry import RetryPolicy
from airflow_provider_jobs._validation import as_bool, as_float, as_int
from airflow_provider_jobs.exceptions import InvalidArgumentError
from airflow_provider_jobs.hooks.apify import ApifyHook
from airflow_provider_jobs.lifecycle import APIFY_BUILD, APIFY_RUN, AbortOptions, ApifyBuildKind, ApifyRunKind
from airflow_provider_jobs.lifecycle.capacity import CAPACITY_BACKOFF, capacity_wait_seconds, start_when_capacity_allows
from airflow_provider_jobs.links.apify import ApifyBuildLink, ApifyRunLink
from airflow_provider_jobs.operators._base import JobAbortOperator, JobOperator
from airflow_provider_jobs.triggers._base import JobTrigger
from airflow_provider_jobs.triggers.apify import ApifyBuildTrigger, ApifyRunTrigger

if TYPE_CHECKING:
    from airflow_provider_jobs._compat import Context
    from airflow_provider_jobs.models.apify import ApifyRun

APIFY_DEFAULT_CONN_ID = ApifyHook.default_conn_name
_RUN_OPTION_FIELDS = ("build", "run_timeout_secs", "memory_mbytes", "max_items", "max_total_charge_usd",
                      "restart_on_error", "webhooks", "wait_for_capacity")
"""Templated fields of both run operators after their actor/task id and input."""


class _ApifyRunOperator(JobOperator):
    """What the operators that start an actor run share: options, capacity wait, abort, lineage.

    A subclass says how to start its run (:meth:`_start_run`) and which of its fields are templated.
    """

    kind: ClassVar[ApifyRunKind] = APIFY_RUN
    trigger_class: ClassVar[type[JobTrigger]] = ApifyRunTrigger
    operator_extra_links = (ApifyRunLink(),)
    ui_color = "#97e8d5"
    capacity_backoff: RetryPolicy = CAPACITY_BACKOFF
    """Delays between starts refused for account capacity (``wait_for_capacity``)."""

    def __init__(
        self,
        *,
        build: str | None = None,
        run_timeout_secs: int | None = None,
        memory_mbytes: int | None = None,
        max_items: int | None = None,
        max_total_charge_usd: float | None = None,
        restart_on_error: bool | None = None,
        webhooks: list[dict[str, Any]] | None = None,
        wait_for_capacity: float = 0,
        gracefully: bool = False,
        apify_conn_id: str = APIFY_DEFAULT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.build = build
        self.run_timeout_secs = run_timeout_secs
        self.memory_mbytes = memory_mbytes
        self.max_items = max_items
        self.max_total_charge_usd = max_total_charge_usd
        self.restart_on_error = restart_on_error
        self.webhooks = webhooks
        self.wait_for_capacity = wait_for_capacity
        self.gracefully = gracefully
        self.apify_conn_id = apify_conn_id
        self._lineage: tuple[str, str] | None = None

    @property
    def conn_id(self) -> str:
        """The Apify connection id."""
        return self.apify_conn_id

    def _start_run(self, hook: ApifyHook, options: dict[str, Any]) -> ApifyRun:
        """Send the start request once, with the converted run ``options``."""
        raise NotImplementedError

    def start_job(self, hook: ApifyHook, context: Context) -> ApifyRun:
        """Start the run; while the account is at its limit, try again for ``wait_for_capacity`` seconds."""
        wait_for = capacity_wait_seconds(self.wait_for_capacity)  # checked before any request
        options = {
            "build": self.build, "timeout_secs": as_int(self.run_timeout_secs),
            "memory_mbytes": as_int(self.memory_mbytes), "max_items": as_int(self.max_items),
            "max_total_charge_usd": as_float(self.max_total_charge_usd),
            "restart_on_error": as_bool(self.restart_on_error), "webhooks": self.webhooks,
        }
        return start_when_capacity_allows(
            lambda: self._start_run(hook, options), wait_for, what=self.kind.name, logger=self.log,
            should_stop=lambda: self._job is not None and self._job.killed, backoff=self.capacity_backoff)

    def abort_options(self, context: Context) -> AbortOptions:
        """Abort gracefully when asked to."""
        return AbortOptions(gracefully=bool(as_bool(self.gracefully)))

    def execute(self, context: Context) -> Any:
        """Start (or adopt) the run, push its id, then wait or defer; remember its dataset for lineage."""
        return self._remember_dataset(super().execute(context))

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """Resume after the trigger: succeed, or fail with the run's status."""
        return self._remember_dataset(super().execute_complete(context, event, **kwargs))

    def _remember_dataset(self, summary: Any) -> Any:
        dataset_id = summary.get("default_dataset_id") if isinstance(summary, dict) else None
        if dataset_id and self._job is not None:
            self._lineage = (self._job.hook.settings.base_url, dataset_id)
        return summary

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """Report the run's default dataset as the task's output (OpenLineage provider only).

        The dataset is ``apify://<API host>`` / ``datasets/<id>``, as the dataset transfer names
        its input. With ``wait_for_termination=False`` it is the dataset the started run writes to.
        Returns ``None`` when apache-airflow-providers-openlineage is not installed (then nothing of
        it is imported) or when this task has no run.
        """
        classes = openlineage_classes()
        if classes is None or self._lineage is None:
            return None
        operator_lineage, dataset = classes
        return operator_lineage(outputs=[dataset(*apify_dataset_name(*self._lineage))])


class ApifyRunActorOperator(_ApifyRunOperator):
    """Run an Apify actor and wait for the run; abort it if the task dies first.

    Pushes the run id to XCom key ``run_id`` as soon as the run exists, and returns a small
    summary (``id``, ``status``, timestamps, ``console_url``, ``default_dataset_id`` and the other
    storage ids, ``usage_total_usd``) — never dataset items. A run ending FAILED, TIMED-OUT or
    ABORTED fails the task with its status message and console URL. With the OpenLineage provider
    installed, the run's default dataset is reported as the task's output.

    Templated: ``actor_id``, ``run_input``, ``build``, ``run_timeout_secs``, ``memory_mbytes``,
    ``max_items``, ``max_total_charge_usd``, ``restart_on_error``, ``webhooks``,
    ``wait_for_capacity``; rendered numbers and flags (``"300"``, ``"1.5"``, ``"True"``) are
    converted and checked before the start request, and a bad one fails the task without a retry.

    :param actor_id: actor id, ``username~actor-name`` or ``username/actor-name``
    :param run_input: the actor input (a JSON object)
    :param build: build tag or number (default: the actor's default build)
    :param run_timeout_secs: the run's own timeout on the platform
    :param memory_mbytes: memory for the run
    :param max_items: cap of charged dataset items (pay-per-result actors)
    :param max_total_charge_usd: cap of the run's cost (pay-per-event actors)
    :param restart_on_error: restart the run's process whenever it fails
    :param webhooks: ad-hoc webhooks of the run, dicts in the API's shape
        (``{"eventTypes": ["ACTOR.RUN.FAILED"], "requestUrl": "https://..."}``)
    :param wait_for_capacity: seconds to keep starting again, with backoff, while the account is at
        its concurrent-runs or memory limit (0, the default: fail at the first refusal)
    :param gracefully: abort gracefully (the actor gets ``aborting``/``persistState`` and ~30 s)
    :param apify_conn_id: the Apify connection id
    :param wait_for_termination: wait for the run to end (otherwise return right after the start)
    :param deferrable: wait in the triggerer instead of a worker slot (default: ``[operators] default_deferrable``)
    :param abort_on_kill: abort the run when the task is killed, times out or fails while waiting
    :param wait_timeout: give up waiting (and abort) after this long
    :param reattach: on retry, adopt the previous try's still-running run (Airflow >= 3.3)
    """

    template_fields: Sequence[str] = ("actor_id", "run_input", *_RUN_OPTION_FIELDS)
    template_fields_renderers = {"run_input": "json", "webhooks": "json"}

    def __init__(self, *, actor_id: str, run_input: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.actor_id = actor_id
        self.run_input = run_input

    def _start_run(self, hook: ApifyHook, options: dict[str, Any]) -> ApifyRun:
        """Start the run (``POST /v2/actors/{actorId}/runs``)."""
        return hook.start_run(self.actor_id, self.run_input, **options)


class ApifyRunActorTaskOperator(_ApifyRunOperator):
    """Run a saved Apify actor task and wait for the run; abort it if the task dies first.

    The run is an ordinary actor run, with :class:`ApifyRunActorOperator`'s lifecycle: its id in
    XCom key ``run_id`` at once, the same summary, an abort on every failure path, deferral,
    reattach on retry, the Console link, ``wait_for_capacity`` and OpenLineage output. Options left
    ``None`` take the task's saved settings; ``task_input`` fields override the saved input's.

    Templated: ``actor_task_id``, ``task_input``, ``build``, ``run_timeout_secs``,
    ``memory_mbytes``, ``max_items``, ``max_total_charge_usd``, ``restart_on_error``,
    ``webhooks``, ``wait_for_capacity`` (converted and checked as the run operator's).

    Every other argument (``build``, ``run_timeout_secs``, ``memory_mbytes``, ``max_items``,
    ``max_total_charge_usd``, ``restart_on_error``, ``webhooks``, ``wait_for_capacity``,
    ``gracefully``, ``apify_conn_id`` and the waiting options) means what it means for
    :class:`ApifyRunActorOperator`.

    :param actor_task_id: task id, ``username~task-name`` or ``username/task-name``
    :param task_input: fields that override the task's saved input (``None``: the saved input)
    """

    template_fields: Sequence[str] = ("actor_task_id", "task_input", *_RUN_OPTION_FIELDS)
    template_fields_renderers = {"task_input": "json", "webhooks": "json"}

    def __init__(self, *, actor_task_id: str, task_input: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.actor_task_id = actor_task_id
        self.task_input = task_input

    def _start_run(self, hook: ApifyHook, options: dict[str, Any]) -> ApifyRun:
        """Start a run of the task (``POST /v2/actor-tasks/{actorTaskId}/runs``)."""
        return hook.start_task_run(self.actor_task_id, self.task_input, **options)


class ApifyBuildActorOperator(JobOperator):
    """Build an Apify actor version and wait for the build; abort it if the task dies first.

    Pushes the build id to XCom key ``build_id`` at once; returns a summary with ``id``,
    ``status``, ``build_number``, timestamps and ``console_url``.

    Templated: ``actor_id``, ``version``, ``tag``, ``use_cache``, ``beta_packages``; a rendered
    ``"True"``/``"false"`` becomes a bool, anything else fails the task before the start request.

    :param actor_id: actor id or ``username~actor-name``
    :param version: actor version ``MAJOR.MINOR``, e.g. ``"0.0"``
    :param tag: tag for the build, e.g. ``"latest"``
    :param use_cache: use the Docker layer cache
    :param beta_packages: install beta Apify packages
    :param apify_conn_id: the Apify connection id
    """

    kind: ClassVar[ApifyBuildKind] = APIFY_BUILD
    trigger_class: ClassVar[type[JobTrigger]] = ApifyBuildTrigger
    template_fields: Sequence[str] = ("actor_id", "version", "tag", "use_cache", "beta_packages")
    operator_extra_links = (ApifyBuildLink(),)
    ui_color = "#97e8d5"

    def __init__(
        self,
        *,
        actor_id: str,
        version: str,
        tag: str | None = None,
        use_cache: bool | None = None,
        beta_packages: bool | None = None,
        apify_conn_id: str = APIFY_DEFAULT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.actor_id = actor_id
        self.version = version
        self.tag = tag
        self.use_cache = use_cache
        self.beta_packages = beta_packages
        self.apify_conn_id = apify_conn_id

    @property
    def conn_id(self) -> str:
        """The Apify connection id."""
        return self.apify_conn_id

    def start_job(self, hook: ApifyHook, context: Context) -> Any:
        """Start the build (``POST /v2/actors/{actorId}/builds``)."""
        return hook.start_build(self.actor_id, self.version, tag=self.tag, use_cache=as_bool(self.use_cache),
                                beta_packages=as_bool(self.beta_packages))


class ApifyAbortRunOperator(JobAbortOperator):
    """Abort an Apify run and report its final status (a finished run is left as it is).

    Templated: ``run_id``, ``gracefully``.

    :param run_id: the run to abort
    :param gracefully: graceful abort (ABORTING, then force-stopped after ~30 s)
    :param wait_for_termination: wait, at most ``wait_timeout`` seconds, for the run to end
    :param apify_conn_id: the Apify connection id
    """

    kind: ClassVar[ApifyRunKind] = APIFY_RUN
    template_fields: Sequence[str] = ("run_id", "gracefully")
    operator_extra_links = ()

    def __init__(self, *, run_id: str, gracefully: bool = False,
                 apify_conn_id: str = APIFY_DEFAULT_CONN_ID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.run_id = run_id
        self.gracefully = gracefully
        self.apify_conn_id = apify_conn_id

    @property
    def conn_id(self) -> str:
        """The Apify connection id."""
        return self.apify_conn_id

    def job_id_to_abort(self) -> str:
        """The run to abort."""
        return self.run_id

    def abort_options(self, context: Context) -> AbortOptions:
        """Graceful or immediate."""
        gracefully = as_bool(self.gracefully)
        if not isinstance(gracefully, bool):
            raise InvalidArgumentError(f"Invalid gracefully: expected True or False, got {self.gracefully!r}.")
        return AbortOptions(gracefully=gracefully)


class ApifyAbortBuildOperator(JobAbortOperator):
    """Abort an Apify build and report its final status.

    Templated: ``build_id``.

    :param build_id: the build to abort
    :param apify_conn_id: the Apify connection id
    """

    kind: ClassVar[ApifyBuildKind] = APIFY_BUILD
    template_fields: Sequence[str] = ("build_id",)

    def __init__(self, *, build_id: str, apify_conn_id: str = APIFY_DEFAULT_CONN_ID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.build_id = build_id
        self.apify_conn_id = apify_conn_id

    @property
    def conn_id(self) -> str:
        """The Apify connection id."""
        return self.apify_conn_id

    def job_id_to_abort(self) -> str:
        """The build to abort."""
        return self.build_id

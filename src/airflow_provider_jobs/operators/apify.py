"""Operators for Apify actor runs and builds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_jobs.exceptions import InvalidArgumentError
from airflow_provider_jobs.hooks.apify import ApifyHook
from airflow_provider_jobs.lifecycle import APIFY_BUILD, APIFY_RUN, AbortOptions, ApifyBuildKind, ApifyRunKind
from airflow_provider_jobs.lifecycle.task import as_bool, as_float, as_int
from airflow_provider_jobs.links.apify import ApifyBuildLink, ApifyRunLink
from airflow_provider_jobs.operators._base import JobAbortOperator, JobOperator
from airflow_provider_jobs.triggers._base import JobTrigger
from airflow_provider_jobs.triggers.apify import ApifyBuildTrigger, ApifyRunTrigger

if TYPE_CHECKING:
    from airflow_provider_jobs._compat import Context

APIFY_DEFAULT_CONN_ID = ApifyHook.default_conn_name


class ApifyRunActorOperator(JobOperator):
    """Run an Apify actor and wait for the run; abort it if the task dies first.

    Pushes the run id to XCom key ``run_id`` as soon as the run exists, and returns a small
    summary (``id``, ``status``, timestamps, ``console_url``, ``default_dataset_id`` and the other
    storage ids, ``usage_total_usd``) — never dataset items. A run ending FAILED, TIMED-OUT or
    ABORTED fails the task with its status message and console URL.

    Templated: ``actor_id``, ``run_input``, ``build``, ``run_timeout_secs``, ``memory_mbytes``,
    ``max_items``, ``max_total_charge_usd``; rendered numbers (``"300"``, ``"1.5"``) are converted
    and checked before the start request, and a bad one fails the task without a retry.

    :param actor_id: actor id, ``username~actor-name`` or ``username/actor-name``
    :param run_input: the actor input (a JSON object)
    :param build: build tag or number (default: the actor's default build)
    :param run_timeout_secs: the run's own timeout on the platform
    :param memory_mbytes: memory for the run
    :param max_items: cap of charged dataset items (pay-per-result actors)
    :param max_total_charge_usd: cap of the run's cost (pay-per-event actors)
    :param gracefully: abort gracefully (the actor gets ``aborting``/``persistState`` and ~30 s)
    :param apify_conn_id: the Apify connection id
    :param wait_for_termination: wait for the run to end (otherwise return right after the start)
    :param deferrable: wait in the triggerer instead of a worker slot (default: ``[operators] default_deferrable``)
    :param abort_on_kill: abort the run when the task is killed, times out or fails while waiting
    :param wait_timeout: give up waiting (and abort) after this long
    :param reattach: on retry, adopt the previous try's still-running run (Airflow >= 3.3)
    """

    kind: ClassVar[ApifyRunKind] = APIFY_RUN
    trigger_class: ClassVar[type[JobTrigger]] = ApifyRunTrigger
    template_fields: Sequence[str] = ("actor_id", "run_input", "build", "run_timeout_secs", "memory_mbytes",
                                      "max_items", "max_total_charge_usd")
    template_fields_renderers = {"run_input": "json"}
    operator_extra_links = (ApifyRunLink(),)
    ui_color = "#97e8d5"

    def __init__(
        self,
        *,
        actor_id: str,
        run_input: dict[str, Any] | None = None,
        build: str | None = None,
        run_timeout_secs: int | None = None,
        memory_mbytes: int | None = None,
        max_items: int | None = None,
        max_total_charge_usd: float | None = None,
        gracefully: bool = False,
        apify_conn_id: str = APIFY_DEFAULT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.actor_id = actor_id
        self.run_input = run_input
        self.build = build
        self.run_timeout_secs = run_timeout_secs
        self.memory_mbytes = memory_mbytes
        self.max_items = max_items
        self.max_total_charge_usd = max_total_charge_usd
        self.gracefully = gracefully
        self.apify_conn_id = apify_conn_id

    @property
    def conn_id(self) -> str:
        """The Apify connection id."""
        return self.apify_conn_id

    def start_job(self, hook: ApifyHook, context: Context) -> Any:
        """Start the run (``POST /v2/actors/{actorId}/runs``)."""
        return hook.start_run(
            self.actor_id, self.run_input, build=self.build, timeout_secs=as_int(self.run_timeout_secs),
            memory_mbytes=as_int(self.memory_mbytes), max_items=as_int(self.max_items),
            max_total_charge_usd=as_float(self.max_total_charge_usd),
        )

    def abort_options(self, context: Context) -> AbortOptions:
        """Abort gracefully when asked to."""
        return AbortOptions(gracefully=bool(as_bool(self.gracefully)))


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

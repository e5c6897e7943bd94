"""Hook for the Apify API v2: actor runs and builds (start, get, wait, abort, list), actor task runs,
dataset items, key-value records and logs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from airflow_provider_jobs._connection import ServiceInfo
from airflow_provider_jobs.exceptions import AuthError
from airflow_provider_jobs.hooks._apify_jobs import ApifyJobOperations
from airflow_provider_jobs.hooks._apify_service import (
    ACTOR_BUILDS_PATH,
    ACTOR_RUNS_PATH,
    APIFY_DEFAULT_BASE_URL,
    APIFY_SERVICE,
    BUILD_ABORT_PATH,
    BUILD_ID,
    BUILD_PATH,
    JOB_FINISHED,
    RUN_ABORT_PATH,
    RUN_ID,
    RUN_PATH,
    USER_ME_PATH,
    long_poll_seconds,
)
from airflow_provider_jobs.hooks._apify_storage import ApifyStorageOperations
from airflow_provider_jobs.hooks._apify_tasks import ApifyTaskOperations
from airflow_provider_jobs.hooks._forms import with_connection_form
from airflow_provider_jobs.models.apify import DEFAULT_CONSOLE_URL, ApifyBuild, ApifyRun, ApifyRunList, ApifyUser

# Re-exported: the service description and endpoint catalogue live in ._apify_service.
__all__ = ["ACTOR_BUILDS_PATH", "ACTOR_RUNS_PATH", "APIFY_DEFAULT_BASE_URL", "APIFY_SERVICE", "BUILD_ABORT_PATH",
           "BUILD_ID", "BUILD_PATH", "RUN_ABORT_PATH", "RUN_ID", "RUN_PATH", "USER_ME_PATH", "ApifyHook",
           "long_poll_seconds"]

@with_connection_form
class ApifyHook(ApifyJobOperations, ApifyTaskOperations, ApifyStorageOperations):
    """Talk to the Apify API v2 through the connection ``apify_conn_id``.

    The connection's password is the API token; ``host`` defaults to ``https://api.apify.com``.
    Every method has an async twin with an ``a`` prefix (``aget_run``, ``aabort_run``...). All
    methods validate their arguments before any request, return pydantic models and raise
    :class:`~airflow_provider_jobs.exceptions.JobsApiError` subclasses on API errors (after
    retries where retrying is safe; starts are never retried once sent).

    :param apify_conn_id: the Airflow connection id (type ``apify``)
    """

    service: ClassVar[ServiceInfo] = APIFY_SERVICE
    conn_type: ClassVar[str] = "apify"
    conn_name_attr: ClassVar[str] = "apify_conn_id"
    default_conn_name: ClassVar[str] = "apify_default"
    hook_name: ClassVar[str] = "Apify"

    def __init__(self, apify_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(apify_conn_id, **kwargs)
        self.apify_conn_id = apify_conn_id

    @property
    def console_base_url(self) -> str:
        """Apify Console base URL (connection extra ``console_url``, else the public console)."""
        value = self.settings.extra.get("console_url")
        return str(value).rstrip("/") if value else DEFAULT_CONSOLE_URL

    # ------------------------------------------------------------------- runs
    def get_run(self, run_id: str, wait_for_finish: float | None = None) -> ApifyRun:
        """Get a run (``GET /v2/actor-runs/{runId}``).

        :param run_id: the run id
        :param wait_for_finish: hold the request open up to this many seconds (the server caps it
            at 60) and answer as soon as the run is terminal
        """
        return self._run(self._get_run_op(run_id, wait_for_finish))

    def abort_run(self, run_id: str, gracefully: bool = False) -> ApifyRun:
        """Abort a run (``POST /v2/actor-runs/{runId}/abort``); a finished run comes back unchanged.

        :param run_id: the run id
        :param gracefully: send the run ``aborting``/``persistState`` first; the platform
            force-stops it about 30 s later (the run reads ABORTING meanwhile)
        """
        try:
            return self._run(self._abort_run_op(run_id, gracefully))
        except AuthError as err:
            if err.error_type != JOB_FINISHED:
                raise
            return self.get_run(run_id)

    def start_run(
        self,
        actor_id: str,
        run_input: dict[str, Any] | None = None,
        *,
        build: str | None = None,
        timeout_secs: int | None = None,
        memory_mbytes: int | None = None,
        wait_for_finish: float | None = None,
        max_items: int | None = None,
        max_total_charge_usd: float | None = None,
        restart_on_error: bool | None = None,
        webhooks: list[dict[str, Any]] | None = None,
    ) -> ApifyRun:
        """Start a run of an actor (``POST /v2/actors/{actorId}/runs``).

        Starts are not idempotent: retried only on 429 or when the request provably never left
        (connection refused); otherwise a failure raises
        :class:`~airflow_provider_jobs.exceptions.StartOutcomeUnknownError`.

        :param actor_id: actor id, ``username~actor-name`` or ``username/actor-name``
        :param run_input: the actor input (a JSON object; ``{}`` when omitted)
        :param build: build tag or number to run (default: the actor's default build)
        :param timeout_secs: the run's own timeout on the platform
        :param memory_mbytes: memory for the run (a power of 2, at least 128)
        :param wait_for_finish: seconds (max 60) to hold the request open for the run to finish
        :param max_items: cap of charged dataset items (pay-per-result actors)
        :param max_total_charge_usd: cap of the run's cost (pay-per-event actors)
        :param restart_on_error: restart the run's process whenever it fails
        :param webhooks: ad-hoc webhooks for this run, dicts in the API's shape
            (``{"eventTypes": ["ACTOR.RUN.FAILED"], "requestUrl": "https://..."}``), sent base64-encoded
        :raises JobsApiError: with ``is_capacity_refusal`` set when the account is at its memory or
            concurrent-runs limit (wait for other runs to finish, then start again)
        """
        return self._run(self._start_run_op(
            actor_id, run_input, build=build, timeout_secs=timeout_secs, memory_mbytes=memory_mbytes,
            wait_for_finish=wait_for_finish, max_items=max_items, max_total_charge_usd=max_total_charge_usd,
            restart_on_error=restart_on_error, webhooks=webhooks,
        ))

    def list_runs(
        self, actor_id: str, status: str | Iterable[str] | None = None, offset: int = 0, limit: int = 100,
        desc: bool = True,
    ) -> ApifyRunList:
        """List runs of an actor (``GET /v2/actors/{actorId}/runs``), newest first by default.

        :param actor_id: actor id or ``username~actor-name``
        :param status: one status or several (sent comma-separated)
        :param offset: items to skip
        :param limit: items to return (the API caps it at 1000)
        :param desc: newest first
        """
        return self._run(self._list_runs_op(actor_id, status, offset, limit, desc))

    def wait_for_run(self, run_id: str, timeout: float | None, *, not_found_grace: float = 0.0) -> ApifyRun:
        """Wait with the ``waitForFinish`` long poll until a run is terminal, and return it.

        :param run_id: the run id
        :param timeout: seconds to wait at most (``None``: no limit)
        :param not_found_grace: seconds during which a 404 is taken as replication lag
        :raises JobWaitTimeout: the run was still active at the deadline
        """
        from airflow_provider_jobs.lifecycle.apify import APIFY_RUN  # the lifecycle's wait, offered on the hook

        return APIFY_RUN.watch(self, run_id).wait_end(timeout, not_found_grace=not_found_grace)

    # ----------------------------------------------------------------- builds
    def get_build(self, build_id: str, wait_for_finish: float | None = None) -> ApifyBuild:
        """Get a build (``GET /v2/actor-builds/{buildId}``).

        :param build_id: the build id
        :param wait_for_finish: hold the request open up to this many seconds (max 60)
        """
        return self._run(self._get_build_op(build_id, wait_for_finish))

    def abort_build(self, build_id: str) -> ApifyBuild:
        """Abort a build (``POST /v2/actor-builds/{buildId}/abort``); a finished one comes back unchanged.

        :param build_id: the build id
        """
        try:
            return self._run(self._abort_build_op(build_id))
        except AuthError as err:
            if err.error_type != JOB_FINISHED:
                raise
            return self.get_build(build_id)

    def start_build(
        self,
        actor_id: str,
        version: str,
        *,
        tag: str | None = None,
        use_cache: bool | None = None,
        beta_packages: bool | None = None,
        wait_for_finish: float | None = None,
    ) -> ApifyBuild:
        """Start a build of an actor version (``POST /v2/actors/{actorId}/builds``); never retried once sent.

        :param actor_id: actor id or ``username~actor-name``
        :param version: actor version ``MAJOR.MINOR``, e.g. ``"0.0"``
        :param tag: tag to give the build, e.g. ``"latest"``
        :param use_cache: use the Docker layer cache
        :param beta_packages: install beta versions of Apify packages
        :param wait_for_finish: seconds (max 60) to hold the request open for the build to finish
        """
        return self._run(self._start_build_op(
            actor_id, version, tag=tag, use_cache=use_cache, beta_packages=beta_packages,
            wait_for_finish=wait_for_finish,
        ))

    def wait_for_build(self, build_id: str, timeout: float | None, *, not_found_grace: float = 0.0) -> ApifyBuild:
        """Wait with the ``waitForFinish`` long poll until a build is terminal, and return it.

        :param build_id: the build id
        :param timeout: seconds to wait at most (``None``: no limit)
        :param not_found_grace: seconds during which a 404 is taken as replication lag
        :raises JobWaitTimeout: the build was still active at the deadline
        """
        from airflow_provider_jobs.lifecycle.apify import APIFY_BUILD  # the lifecycle's wait, offered on the hook

        return APIFY_BUILD.watch(self, build_id).wait_end(timeout, not_found_grace=not_found_grace)

    # ------------------------------------------------------------------ other
    def get_user(self) -> ApifyUser:
        """Return the token's user (``GET /v2/users/me``)."""
        return self._run(self._user_op())

    def test_connection(self) -> tuple[bool, str]:
        """Check the token with a read-only call (``GET /v2/users/me``); used by the Test button."""
        return self._test(lambda: self._connected(self.get_user()))

    def _connected(self, user: ApifyUser) -> str:
        return f"Connected to {self.settings.base_url} as Apify user {user.username or user.id}."

    # ------------------------------------------------------------ async twins
    async def aget_run(self, run_id: str, wait_for_finish: float | None = None) -> ApifyRun:
        """Async twin of :meth:`get_run`."""
        return await self._arun(self._get_run_op(run_id, wait_for_finish))

    async def aabort_run(self, run_id: str, gracefully: bool = False) -> ApifyRun:
        """Async twin of :meth:`abort_run`."""
        try:
            return await self._arun(self._abort_run_op(run_id, gracefully))
        except AuthError as err:
            if err.error_type != JOB_FINISHED:
                raise
            return await self.aget_run(run_id)

    async def astart_run(
        self,
        actor_id: str,
        run_input: dict[str, Any] | None = None,
        *,
        build: str | None = None,
        timeout_secs: int | None = None,
        memory_mbytes: int | None = None,
        wait_for_finish: float | None = None,
        max_items: int | None = None,
        max_total_charge_usd: float | None = None,
        restart_on_error: bool | None = None,
        webhooks: list[dict[str, Any]] | None = None,
    ) -> ApifyRun:
        """Async twin of :meth:`start_run`."""
        return await self._arun(self._start_run_op(
            actor_id, run_input, build=build, timeout_secs=timeout_secs, memory_mbytes=memory_mbytes,
            wait_for_finish=wait_for_finish, max_items=max_items, max_total_charge_usd=max_total_charge_usd,
            restart_on_error=restart_on_error, webhooks=webhooks,
        ))

    async def alist_runs(
        self, actor_id: str, status: str | Iterable[str] | None = None, offset: int = 0, limit: int = 100,
        desc: bool = True,
    ) -> ApifyRunList:
        """Async twin of :meth:`list_runs`."""
        return await self._arun(self._list_runs_op(actor_id, status, offset, limit, desc))

    async def await_for_run(self, run_id: str, timeout: float | None, *, not_found_grace: float = 0.0) -> ApifyRun:
        """Async twin of :meth:`wait_for_run`."""
        from airflow_provider_jobs.lifecycle.apify import APIFY_RUN

        return await APIFY_RUN.watch(self, run_id).await_end(timeout, not_found_grace=not_found_grace)

    async def aget_build(self, build_id: str, wait_for_finish: float | None = None) -> ApifyBuild:
        """Async twin of :meth:`get_build`."""
        return await self._arun(self._get_build_op(build_id, wait_for_finish))

    async def aabort_build(self, build_id: str) -> ApifyBuild:
        """Async twin of :meth:`abort_build`."""
        try:
            return await self._arun(self._abort_build_op(build_id))
        except AuthError as err:
            if err.error_type != JOB_FINISHED:
                raise
            return await self.aget_build(build_id)

    async def astart_build(
        self,
        actor_id: str,
        version: str,
        *,
        tag: str | None = None,
        use_cache: bool | None = None,
        beta_packages: bool | None = None,
        wait_for_finish: float | None = None,
    ) -> ApifyBuild:
        """Async twin of :meth:`start_build`."""
        return await self._arun(self._start_build_op(
            actor_id, version, tag=tag, use_cache=use_cache, beta_packages=beta_packages,
            wait_for_finish=wait_for_finish,
        ))

    async def await_for_build(
        self, build_id: str, timeout: float | None, *, not_found_grace: float = 0.0
    ) -> ApifyBuild:
        """Async twin of :meth:`wait_for_build`."""
        from airflow_provider_jobs.lifecycle.apify import APIFY_BUILD

        return await APIFY_BUILD.watch(self, build_id).await_end(timeout, not_found_grace=not_found_grace)

    async def aget_user(self) -> ApifyUser:
        """Async twin of :meth:`get_user`."""
        return await self._arun(self._user_op())

    async def atest_connection(self) -> tuple[bool, str]:
        """Async twin of :meth:`test_connection`."""
        try:
            return True, self._connected(await self.aget_user())
        except Exception as exc:
            return False, str(exc)

"""Hook for the Apify API v2: actor runs and builds (start, get, wait, abort, list)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar
from urllib.parse import quote

from airflow_provider_jobs._call import Call
from airflow_provider_jobs._connection import ErrorBody, ServiceInfo, plain_error_body
from airflow_provider_jobs._retry import Idempotency
from airflow_provider_jobs._validation import (
    normalize_actor_id,
    show_value,
    validate_count,
    validate_flag,
    validate_job_id,
    validate_positive_number,
    validate_wait_seconds,
)
from airflow_provider_jobs.exceptions import AuthError, InvalidArgumentError
from airflow_provider_jobs.hooks._base import JobsHook, Operation, json_body, model_operation
from airflow_provider_jobs.hooks._forms import with_connection_form
from airflow_provider_jobs.models.apify import (
    DEFAULT_CONSOLE_URL,
    ApifyBuild,
    ApifyJobStatus,
    ApifyRun,
    ApifyRunList,
    ApifyUser,
)

APIFY_DEFAULT_BASE_URL = "https://api.apify.com"

# Endpoint catalogue (current /v2/actors/ prefix; /v2/acts/ is the deprecated alias).
RUN_PATH = "/v2/actor-runs/{run_id}"
RUN_ABORT_PATH = "/v2/actor-runs/{run_id}/abort"
ACTOR_RUNS_PATH = "/v2/actors/{actor_id}/runs"
BUILD_PATH = "/v2/actor-builds/{build_id}"
BUILD_ABORT_PATH = "/v2/actor-builds/{build_id}/abort"
ACTOR_BUILDS_PATH = "/v2/actors/{actor_id}/builds"
USER_ME_PATH = "/v2/users/me"

MAX_WAIT_FOR_FINISH = 60
"""The server clamps ``waitForFinish`` to 60 s."""
LONG_POLL_PARAM = "waitForFinish"
JOB_FINISHED = "job-finished"
"""Error type some deployments answer an abort of a finished job with (403)."""

RUN_ID, BUILD_ID, ACTOR_ID = "Apify run id", "Apify build id", "Apify actor id"


def _seg(value: str) -> str:
    return quote(value, safe="~")


def _flag(value: Any, what: str) -> str:
    return "true" if validate_flag(value, what) else "false"


def _count(value: Any, what: str, *, minimum: int = 1) -> str:
    return str(validate_count(value, what, minimum=minimum))


def _wait(value: Any) -> float | None:
    seconds = validate_wait_seconds(value, "wait_for_finish")
    return None if not seconds else min(float(MAX_WAIT_FOR_FINISH), seconds)


def long_poll_seconds(budget: float | None) -> int:
    """Seconds to ask the server to hold a GET open: the budget left, at most 60."""
    return MAX_WAIT_FOR_FINISH if budget is None else max(0, min(MAX_WAIT_FOR_FINISH, int(budget)))


def _op(model: type[Any], conn_id: str, call: Call) -> Operation[Any]:
    return model_operation(model, call, conn_id, "data")


def _read_error(body: Mapping[str, Any]) -> ErrorBody:
    """Apify's error body ``{"error": {"type", "message"}}`` (anything else read as a plain body)."""
    error = body.get("error")
    return ErrorBody(error.get("type"), error.get("message")) if isinstance(error, dict) else plain_error_body(body)


def _created_id(body: Any) -> Any:
    """A started run or build in ``{"data": {"id": ...}}``."""
    data = body.get("data") if isinstance(body, dict) else None
    return data.get("id") if isinstance(data, dict) else None


APIFY_SERVICE = ServiceInfo(
    label="Apify", conn_type="apify", default_base_url=APIFY_DEFAULT_BASE_URL,
    token_hint="Apify Console > Settings > API & Integrations",
    long_poll_param=LONG_POLL_PARAM, created_id=_created_id, read_error=_read_error,
)
"""The Apify API as the HTTP core sees it: where errors, new ids and the long poll are."""


@with_connection_form
class ApifyHook(JobsHook):
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

    # --------------------------------------------------------- request building
    def _get_run_op(self, run_id: str, wait_for_finish: Any = None) -> Operation[ApifyRun]:
        run_id = validate_job_id(run_id, RUN_ID)
        wait = _wait(wait_for_finish)
        return _op(ApifyRun, self.conn_id, Call(
            "GET", RUN_PATH.format(run_id=_seg(run_id)), f"Get of Apify run {run_id}", RUN_ID,
            job_id=run_id, long_poll=wait,
        ))

    def _abort_run_op(self, run_id: str, gracefully: Any = False) -> Operation[ApifyRun]:
        run_id = validate_job_id(run_id, RUN_ID)
        params = {"gracefully": "true"} if _flag(gracefully, "gracefully") == "true" else None
        return _op(ApifyRun, self.conn_id, Call(
            "POST", RUN_ABORT_PATH.format(run_id=_seg(run_id)), f"Abort of Apify run {run_id}", RUN_ID,
            params=params, job_id=run_id,
        ))

    def _start_run_op(self, actor_id: str, run_input: Any, **opts: Any) -> Operation[ApifyRun]:
        actor = normalize_actor_id(actor_id)
        body = json_body({} if run_input is None else run_input, "run_input")
        params: dict[str, str] = {}
        if opts.get("build") is not None:
            params["build"] = validate_job_id(opts["build"], "Apify build tag or number")
        for key, param in (("timeout_secs", "timeout"), ("memory_mbytes", "memory"), ("max_items", "maxItems")):
            if opts.get(key) is not None:
                params[param] = _count(opts[key], key)
        charge = opts.get("max_total_charge_usd")
        if charge is not None:
            params["maxTotalChargeUsd"] = repr(validate_positive_number(charge, "max_total_charge_usd"))
        return _op(ApifyRun, self.conn_id, Call(
            "POST", ACTOR_RUNS_PATH.format(actor_id=_seg(actor)), f"Start of a run of Apify actor {actor}",
            ACTOR_ID, params=params or None, json=body, idempotency=Idempotency.CREATE,
            long_poll=_wait(opts.get("wait_for_finish")),
        ))

    def _list_runs_op(
        self, actor_id: str, status: str | Iterable[str] | None = None, offset: int = 0, limit: int = 100,
        desc: bool = True,
    ) -> Operation[ApifyRunList]:
        actor = normalize_actor_id(actor_id)
        params = {"offset": _count(offset, "offset", minimum=0), "limit": _count(limit, "limit"),
                  "desc": _flag(desc, "desc")}
        if status is not None:
            statuses = [status] if isinstance(status, str) else list(status)
            known = [m.value for m in ApifyJobStatus]
            bad = [s for s in statuses if s not in known]
            if bad or not statuses:
                raise InvalidArgumentError(
                    f"Invalid run status filter {show_value(bad or statuses)}: use some of {known}."
                )
            params["status"] = ",".join(str(s) for s in statuses)
        return _op(ApifyRunList, self.conn_id, Call(
            "GET", ACTOR_RUNS_PATH.format(actor_id=_seg(actor)), f"Listing runs of Apify actor {actor}",
            ACTOR_ID, params=params,
        ))

    def _get_build_op(self, build_id: str, wait_for_finish: Any = None) -> Operation[ApifyBuild]:
        build_id = validate_job_id(build_id, BUILD_ID)
        wait = _wait(wait_for_finish)
        return _op(ApifyBuild, self.conn_id, Call(
            "GET", BUILD_PATH.format(build_id=_seg(build_id)), f"Get of Apify build {build_id}", BUILD_ID,
            job_id=build_id, long_poll=wait,
        ))

    def _abort_build_op(self, build_id: str) -> Operation[ApifyBuild]:
        build_id = validate_job_id(build_id, BUILD_ID)
        return _op(ApifyBuild, self.conn_id, Call(
            "POST", BUILD_ABORT_PATH.format(build_id=_seg(build_id)), f"Abort of Apify build {build_id}",
            BUILD_ID, job_id=build_id,
        ))

    def _start_build_op(self, actor_id: str, version: str, **opts: Any) -> Operation[ApifyBuild]:
        actor = normalize_actor_id(actor_id)
        params = {"version": validate_job_id(version, "Apify actor version (e.g. '0.0')")}
        if opts.get("tag") is not None:
            params["tag"] = validate_job_id(opts["tag"], "Apify build tag")
        for key, param in (("use_cache", "useCache"), ("beta_packages", "betaPackages")):
            if opts.get(key) is not None:
                params[param] = _flag(opts[key], key)
        return _op(ApifyBuild, self.conn_id, Call(
            "POST", ACTOR_BUILDS_PATH.format(actor_id=_seg(actor)), f"Start of a build of Apify actor {actor}",
            ACTOR_ID, params=params, idempotency=Idempotency.CREATE, long_poll=_wait(opts.get("wait_for_finish")),
        ))

    def _user_op(self) -> Operation[ApifyUser]:
        return _op(ApifyUser, self.conn_id, Call("GET", USER_ME_PATH, "Get of the Apify user", "API token"))

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
        """
        return self._run(self._start_run_op(
            actor_id, run_input, build=build, timeout_secs=timeout_secs, memory_mbytes=memory_mbytes,
            wait_for_finish=wait_for_finish, max_items=max_items, max_total_charge_usd=max_total_charge_usd,
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
    ) -> ApifyRun:
        """Async twin of :meth:`start_run`."""
        return await self._arun(self._start_run_op(
            actor_id, run_input, build=build, timeout_secs=timeout_secs, memory_mbytes=memory_mbytes,
            wait_for_finish=wait_for_finish, max_items=max_items, max_total_charge_usd=max_total_charge_usd,
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

"""Request building of the Apify hook's runs, builds and user: one :class:`Operation` per endpoint.

:class:`ApifyJobOperations` is a base of :class:`~airflow_provider_jobs.hooks.apify.ApifyHook`;
each sync method and its async twin there is one line over the operation built here (the
lifecycle builds abort operations through the hook too).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from airflow_provider_jobs._call import Call
from airflow_provider_jobs._retry import Idempotency
from airflow_provider_jobs._validation import normalize_actor_id, show_value, validate_job_id
from airflow_provider_jobs.exceptions import InvalidArgumentError
from airflow_provider_jobs.hooks._apify_service import (
    ACTOR_BUILDS_PATH,
    ACTOR_ID,
    ACTOR_RUNS_PATH,
    BUILD_ABORT_PATH,
    BUILD_ID,
    BUILD_PATH,
    RUN_ABORT_PATH,
    RUN_ID,
    RUN_PATH,
    USER_ME_PATH,
    count,
    data_op,
    flag,
    job_get_op,
    run_start_op,
    seg,
    wait_seconds,
)
from airflow_provider_jobs.hooks._base import JobsHook, Operation
from airflow_provider_jobs.models.apify import ApifyBuild, ApifyJobStatus, ApifyRun, ApifyRunList, ApifyUser


class ApifyJobOperations(JobsHook):
    """Operations (validated arguments, :class:`Call`, parser) of the runs, builds and user endpoints."""

    def _get_run_op(self, run_id: str, wait_for_finish: Any = None) -> Operation[ApifyRun]:
        run_id = validate_job_id(run_id, RUN_ID)
        return job_get_op(ApifyRun, self.conn_id, RUN_PATH.format(run_id=seg(run_id)), "Apify run", RUN_ID, run_id,
                          wait_for_finish)

    def _abort_run_op(self, run_id: str, gracefully: Any = False) -> Operation[ApifyRun]:
        run_id = validate_job_id(run_id, RUN_ID)
        params = {"gracefully": "true"} if flag(gracefully, "gracefully") == "true" else None
        return data_op(ApifyRun, self.conn_id, Call(
            "POST", RUN_ABORT_PATH.format(run_id=seg(run_id)), f"Abort of Apify run {run_id}", RUN_ID,
            params=params, job_id=run_id,
        ))

    def _start_run_op(self, actor_id: str, run_input: Any, **opts: Any) -> Operation[ApifyRun]:
        actor = normalize_actor_id(actor_id)
        return run_start_op(ApifyRun, self.conn_id, ACTOR_RUNS_PATH.format(actor_id=seg(actor)),
                            f"Start of a run of Apify actor {actor}", ACTOR_ID, run_input, "run_input", opts)

    def _list_runs_op(
        self, actor_id: str, status: str | Iterable[str] | None = None, offset: int = 0, limit: int = 100,
        desc: bool = True,
    ) -> Operation[ApifyRunList]:
        actor = normalize_actor_id(actor_id)
        params = {"offset": count(offset, "offset", minimum=0), "limit": count(limit, "limit"),
                  "desc": flag(desc, "desc")}
        if status is not None:
            statuses = [status] if isinstance(status, str) else list(status)
            known = [m.value for m in ApifyJobStatus]
            bad = [s for s in statuses if s not in known]
            if bad or not statuses:
                raise InvalidArgumentError(
                    f"Invalid run status filter {show_value(bad or statuses)}: use some of {known}."
                )
            params["status"] = ",".join(str(s) for s in statuses)
        return data_op(ApifyRunList, self.conn_id, Call(
            "GET", ACTOR_RUNS_PATH.format(actor_id=seg(actor)), f"Listing runs of Apify actor {actor}",
            ACTOR_ID, params=params,
        ))

    def _get_build_op(self, build_id: str, wait_for_finish: Any = None) -> Operation[ApifyBuild]:
        build_id = validate_job_id(build_id, BUILD_ID)
        return job_get_op(ApifyBuild, self.conn_id, BUILD_PATH.format(build_id=seg(build_id)), "Apify build",
                          BUILD_ID, build_id, wait_for_finish)

    def _abort_build_op(self, build_id: str) -> Operation[ApifyBuild]:
        build_id = validate_job_id(build_id, BUILD_ID)
        return data_op(ApifyBuild, self.conn_id, Call(
            "POST", BUILD_ABORT_PATH.format(build_id=seg(build_id)), f"Abort of Apify build {build_id}",
            BUILD_ID, job_id=build_id,
        ))

    def _start_build_op(self, actor_id: str, version: str, **opts: Any) -> Operation[ApifyBuild]:
        actor = normalize_actor_id(actor_id)
        params = {"version": validate_job_id(version, "Apify actor version (e.g. '0.0')")}
        if opts.get("tag") is not None:
            params["tag"] = validate_job_id(opts["tag"], "Apify build tag")
        for key, param in (("use_cache", "useCache"), ("beta_packages", "betaPackages")):
            if opts.get(key) is not None:
                params[param] = flag(opts[key], key)
        return data_op(ApifyBuild, self.conn_id, Call(
            "POST", ACTOR_BUILDS_PATH.format(actor_id=seg(actor)), f"Start of a build of Apify actor {actor}",
            ACTOR_ID, params=params, idempotency=Idempotency.CREATE,
            long_poll=wait_seconds(opts.get("wait_for_finish")),
        ))

    def _user_op(self) -> Operation[ApifyUser]:
        return data_op(ApifyUser, self.conn_id, Call("GET", USER_ME_PATH, "Get of the Apify user", "API token"))

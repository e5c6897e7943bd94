"""Apify operations on the in-memory records: tokens, actors, runs, builds, abort, listing.

The caller (the :class:`~airflow_provider_jobs.emulator.emulator.Emulator`) holds the lock.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any

from airflow_provider_jobs.emulator._util import Runtime, apify_id
from airflow_provider_jobs.emulator.apify_state import (
    ActorRecord,
    ApifyUser,
    JobKind,
    JobRecord,
    new_storage_ids,
)
from airflow_provider_jobs.emulator.errors import EmulatedApiError
from airflow_provider_jobs.emulator.timelines import (
    APIFY_TERMINAL,
    Phase,
    Timeline,
    apify_abort,
    apify_schedule,
    backdate,
    terminal_phase,
)

_BUILD_NUMBER = re.compile(r"^\d+\.\d+\.\d+$")


@dataclass
class RunOptions:
    """Options of ``POST /v2/actors/{actorId}/runs`` after parsing the query string."""

    timeout_secs: int | None = None
    memory_mbytes: int | None = None
    build: str | None = None
    max_items: int | None = None
    max_total_charge_usd: float | None = None
    restart_on_error: bool | None = None


class ApifyBackend:
    """Apify users, actors, runs and builds.

    :param runtime: shared clock and time scale.
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.tokens: dict[str, ApifyUser] = {}
        self.users: dict[str, ApifyUser] = {}
        self.actors: dict[str, ActorRecord] = {}
        self.runs: dict[str, JobRecord] = {}
        self.builds: dict[str, JobRecord] = {}
        self._seq = itertools.count(1)

    # -- users and tokens -------------------------------------------------------------------
    def user_named(self, username: str) -> ApifyUser:
        """Return the user with ``username``, creating it if needed."""
        user = self.users.get(username)
        if user is None:
            user = ApifyUser(apify_id(), username, self.runtime.clock.to_wall(self.runtime.now()))
            self.users[username] = user
        return user

    def add_token(self, token: str, username: str | None = None) -> ApifyUser:
        """Make ``token`` valid for the user ``username`` (a new user when not given)."""
        if not token:
            raise ValueError("a token must be a non-empty string")
        name = username or ("demo" if not self.users else f"user{len(self.users) + 1}")
        user = self.user_named(name)
        self.tokens[token] = user
        return user

    def default_user(self) -> ApifyUser:
        """Return the user of the first registered token (owner of seeded actors)."""
        if self.tokens:
            return next(iter(self.tokens.values()))
        return self.user_named("demo")

    # -- actors -----------------------------------------------------------------------------
    def seed_actor(
        self,
        name: str,
        *,
        actor_id: str | None,
        run: Timeline,
        build: Timeline,
        default_timeout_secs: int,
        default_memory_mbytes: int,
    ) -> ActorRecord:
        """Create (or re-script) an actor and give it a finished ``0.0.1`` build tagged latest."""
        full = name.replace("/", "~")
        username, _, short = full.rpartition("~")
        username = username or self.default_user().username
        existing = self.find_actor(f"{username}~{short}")
        if existing is not None:
            existing.run_timeline, existing.build_timeline = run, build
            existing.default_timeout_secs = default_timeout_secs
            existing.default_memory_mbytes = default_memory_mbytes
            return existing
        actor = ActorRecord(
            id=actor_id or apify_id(),
            name=short,
            username=username,
            run_timeline=run,
            build_timeline=build,
            default_timeout_secs=default_timeout_secs,
            default_memory_mbytes=default_memory_mbytes,
        )
        self.actors[actor.id] = actor
        self.new_build(actor, self.user_named(username), version="0.0", status="SUCCEEDED")
        return actor

    def find_actor(
        self, ref: str, user: ApifyUser | None = None, *, bare_name: bool = False
    ) -> ActorRecord | None:
        """Resolve an actor by id, ``username~name``, ``username/name`` or ``~name``."""
        ref = ref.replace("/", "~")
        if ref in self.actors:
            return self.actors[ref]
        username, tilde, short = ref.rpartition("~")
        if tilde and not username:
            username = (user or self.default_user()).username
        for actor in self.actors.values():
            if tilde and actor.username == username and actor.name == short:
                return actor
        if bare_name and not tilde:
            named = [actor for actor in self.actors.values() if actor.name == ref]
            if len(named) == 1:
                return named[0]
        return None

    # -- jobs -------------------------------------------------------------------------------
    def _job(
        self, kind: JobKind, actor: ActorRecord, user: ApifyUser, timeline: Timeline, **fields: Any
    ) -> JobRecord:
        return JobRecord(
            kind=kind,
            id=apify_id(),
            actor=actor,
            user=user,
            created=0.0,
            phases=[],
            timeline=timeline,
            seq=next(self._seq),
            **fields,
        )

    def _place(self, job: JobRecord, status: str | None, timeout: float | None) -> None:
        """Schedule ``job`` so it is in ``status`` now (just created when ``None``)."""
        rt = self.runtime
        now = rt.now()
        if status in {"SUCCEEDED", "FAILED", "TIMED-OUT", "TIMING-OUT"}:
            job.timeline = job.timeline.model_copy(
                update={"outcome": "TIMED-OUT" if "TIM" in status else status}
            )
            timeout = None  # the requested outcome wins over the run timeout
        target = {"ABORTING": "RUNNING", "ABORTED": "RUNNING"}.get(status or "READY", status or "READY")

        def schedule(start: float) -> list[Phase]:
            return apify_schedule(job.timeline, start, rt.time_scale, timeout)

        job.created = now if target == "READY" else backdate(schedule, target, now)
        job.phases = schedule(job.created)
        if status in {"ABORTING", "ABORTED"}:
            self.abort(job, gracefully=status == "ABORTING")

    def latest_build(self, actor: ActorRecord, build: str) -> JobRecord:
        """Resolve a run's ``build`` option to a build of ``actor``.

        A build number names that build; a tag names the build that most recently finished
        ``SUCCEEDED`` with that tag (the tag moves when a build succeeds).
        """
        now = self.runtime.now()
        builds = [job for job in self.builds.values() if job.actor is actor]
        if _BUILD_NUMBER.match(build):
            for job in builds:
                if job.build_number == build:
                    return job
            raise EmulatedApiError(403, "build-not-found", f'Build with number "{build}" was not found')
        tagged = [job for job in builds if job.tag == build and job.status(now) == "SUCCEEDED"]
        if not tagged:
            raise EmulatedApiError(403, "unknown-build-tag", f'Build with tag "{build}" was not found')
        return max(tagged, key=lambda job: (job.finished_at(now) or 0.0, job.seq))

    def new_run(
        self,
        actor: ActorRecord,
        user: ApifyUser,
        *,
        options: RunOptions | None = None,
        run_input: Any = None,
        input_body_len: int = 0,
        webhooks: list[Any] | None = None,
        client_ip: str = "127.0.0.1",
        user_agent: str = "airflow-jobs-emulator",
        status: str | None = None,
    ) -> JobRecord:
        """Start a run of ``actor`` (or create one already in ``status``)."""
        opts = options or RunOptions()
        build = self.latest_build(actor, opts.build or "latest")
        memory = opts.memory_mbytes or actor.default_memory_mbytes
        timeout = actor.default_timeout_secs if opts.timeout_secs is None else opts.timeout_secs
        run_options: dict[str, Any] = {
            "build": opts.build or "latest",
            "timeoutSecs": timeout,
            "memoryMbytes": memory,
            "diskMbytes": memory * 2,
        }
        if opts.max_items is not None:
            run_options["maxItems"] = opts.max_items
        if opts.max_total_charge_usd is not None:
            run_options["maxTotalChargeUsd"] = opts.max_total_charge_usd
        job = self._job(
            "run",
            actor,
            user,
            actor.run_timeline,
            options=run_options,
            run_input=run_input,
            input_body_len=input_body_len,
            build_id=build.id,
            build_number=build.build_number,
            webhooks=webhooks or [],
            storage_ids=new_storage_ids(),
            client_ip=client_ip,
            user_agent=user_agent,
        )
        self._place(job, status, float(timeout) if timeout else None)
        self.runs[job.id] = job
        return job

    def new_build(
        self,
        actor: ActorRecord,
        user: ApifyUser,
        *,
        version: str,
        tag: str | None = "latest",
        use_cache: bool = False,
        beta_packages: bool = False,
        client_ip: str = "127.0.0.1",
        user_agent: str = "airflow-jobs-emulator",
        status: str | None = None,
    ) -> JobRecord:
        """Start a build of ``actor`` for ``version`` (or create one already in ``status``)."""
        counter = actor.build_counters.get(version, 0) + 1
        actor.build_counters[version] = counter
        job = self._job(
            "build",
            actor,
            user,
            actor.build_timeline,
            options={
                "useCache": use_cache,
                "betaPackages": beta_packages,
                "memoryMbytes": 4096,
                "diskMbytes": 8192,
            },
            build_number=f"{version}.{counter}",
            version=version,
            tag=tag or "latest",
            client_ip=client_ip,
            user_agent=user_agent,
        )
        job.build_id = job.id
        self._place(job, status, None)
        self.builds[job.id] = job
        return job

    def abort(self, job: JobRecord, *, gracefully: bool = False) -> JobRecord:
        """Abort ``job`` now (builds are never graceful); terminal jobs are left unchanged."""
        rt = self.runtime
        job.phases = apify_abort(
            job.phases,
            rt.now(),
            gracefully=gracefully and job.kind == "run",
            grace_secs=job.timeline.abort_grace_secs,
            scale=rt.time_scale,
        )
        rt.waker.notify(job.id)
        return job

    def next_change_in(self, job: JobRecord) -> float:
        """Seconds until ``job``'s schedule turns it terminal (``inf`` if never)."""
        return terminal_phase(job.phases, APIFY_TERMINAL).at - self.runtime.now()

    def list_runs(
        self,
        actor: ActorRecord,
        user: ApifyUser | None,
        *,
        statuses: set[str] | None = None,
        desc: bool = False,
        started_after: float | None = None,
        started_before: float | None = None,
    ) -> list[JobRecord]:
        """Return the runs of ``actor`` (started by ``user`` when given), oldest first unless ``desc``."""
        now = self.runtime.now()
        runs = [
            run
            for run in self.runs.values()
            if run.actor is actor
            and (user is None or run.user is user)
            and (not statuses or run.status(now) in statuses)
            and (started_after is None or run.created >= started_after)
            and (started_before is None or run.created <= started_before)
        ]
        runs.sort(key=lambda run: (run.created, run.seq), reverse=desc)
        return runs

    def is_terminal(self, job: JobRecord) -> bool:
        """Return whether ``job`` has reached a terminal status."""
        return job.status(self.runtime.now()) in APIFY_TERMINAL

    def render(self, job: JobRecord, *, with_usage: bool = True) -> dict[str, Any]:
        """Render ``job`` (run or build) as the API returns it now."""
        rt = self.runtime
        return job.to_json(rt.now(), rt.time_scale, rt.clock.to_wall, with_usage=with_usage)

"""The Apify state of an emulator: users, actors, runs and builds, and all that is done to them.

One :class:`ApifyState` holds the records (:mod:`~airflow_provider_jobs.emulator.apify_records`)
and the behaviour; the HTTP handlers and the operations of
:class:`~airflow_provider_jobs.emulator.ops.EmulatorApi` call its methods. Lock discipline:
every public method takes ``self.lock`` (shared with the templates state, re-entrant) and
records change only inside them, so no caller locks.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from typing import Any

from airflow_provider_jobs.emulator._util import Runtime, apify_id
from airflow_provider_jobs.emulator.apify_records import (
    ActorRecord,
    ApifyUser,
    JobKind,
    JobRecord,
    RunOptions,
    capacity_refusal,
    new_storage_ids,
)
from airflow_provider_jobs.emulator.errors import EmulatedApiError, UnknownRecordError, or_unknown
from airflow_provider_jobs.emulator.refs import ActorRef, ActorSpec, find_named, record_key
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


class ApifyState:
    """Apify users (by token), actors, runs and builds.

    :param runtime: clock, time scale, waker and lock shared with the templates state.
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.lock = runtime.lock
        self.tokens: dict[str, ApifyUser] = {}
        self.users: dict[str, ApifyUser] = {}
        self.actors: dict[str, ActorRecord] = {}
        self.runs: dict[str, JobRecord] = {}
        self.builds: dict[str, JobRecord] = {}
        self._seq = itertools.count(1)

    # -- users and tokens -------------------------------------------------------------------
    def _user_named(self, username: str) -> ApifyUser:
        user = self.users.get(username)
        if user is None:
            user = ApifyUser(apify_id(), username, self.runtime.clock.to_wall(self.runtime.now()))
            self.users[username] = user
        return user

    def add_token(self, token: str, *, username: str | None = None) -> str:
        """Register an Apify token for ``username`` (a new user by default); return the username."""
        if not token:
            raise ValueError("a token must be a non-empty string")
        with self.lock:
            name = username or ("demo" if not self.users else f"user{len(self.users) + 1}")
            self.tokens[token] = self._user_named(name)
            return name

    def user_of(self, token: str) -> ApifyUser | None:
        """Return the user of an API token, if it is valid."""
        with self.lock:
            return self.tokens.get(token)

    def _owner(self, token: str | None = None) -> ApifyUser:
        """The user of ``token``; of the first token (owner of seeded actors) when ``None``."""
        if token is None:
            return next(iter(self.tokens.values())) if self.tokens else self._user_named("demo")
        if token not in self.tokens:
            raise UnknownRecordError(f"unknown Apify token {token!r}")
        return self.tokens[token]

    # -- actors -----------------------------------------------------------------------------
    def seed_actor(
        self,
        name: str,
        *,
        actor_id: str | None = None,
        run: Timeline | None = None,
        build: Timeline | None = None,
        default_timeout_secs: int = 3600,
        default_memory_mbytes: int = 1024,
    ) -> ActorRef:
        """Create an actor (or re-script an existing one) and return a reference to it.

        A new actor gets a finished build ``0.0.1`` tagged ``latest``.

        :param name: ``name``, ``username~name`` or ``username/name``; the owner defaults to
            the user of the first Apify token (``demo``).
        :param actor_id: fixed 17-character id (random when not given).
        :param run: timeline every run of the actor follows.
        :param build: timeline every build of the actor follows.
        :param default_timeout_secs: ``options.timeoutSecs`` when a run sends no ``timeout``.
        :param default_memory_mbytes: ``options.memoryMbytes`` when a run sends no ``memory``.
        """
        run, build = run or Timeline(), build or Timeline(ready_secs=2, running_secs=20)
        username, _, short = name.replace("/", "~").rpartition("~")
        with self.lock:
            username = username or self._owner().username
            actor = self.find_actor(f"{username}~{short}")
            if actor is None:
                actor = ActorRecord(actor_id or apify_id(), short, username, run, build)
                self.actors[actor.id] = actor
                self.new_build(actor, self._user_named(username), version="0.0", status="SUCCEEDED")
            actor.run_timeline, actor.build_timeline = run, build
            actor.default_timeout_secs = default_timeout_secs
            actor.default_memory_mbytes = default_memory_mbytes
            return actor.ref()

    def actors_seeded(self) -> list[ActorRef]:
        """Return every seeded actor."""
        with self.lock:
            return [actor.ref() for actor in self.actors.values()]

    def find_actor(self, ref: str, user: ApifyUser | None = None, *, bare_name: bool = False) -> ActorRecord | None:
        """Resolve an actor by id, ``username~name``, ``username/name`` or ``~name`` (``user``'s own)."""
        with self.lock:
            return find_named(self.actors, ref, lambda: (user or self._owner()).username, bare_name=bare_name)

    def _actor(self, spec: ActorSpec) -> ActorRecord:
        return or_unknown(self.find_actor(record_key(spec), bare_name=True), f"actor {spec!r}")

    # -- creating jobs ----------------------------------------------------------------------
    def _place(self, job: JobRecord, status: str | None, timeout: float | None) -> JobRecord:
        """Schedule ``job`` so it is in ``status`` now (just created when ``None``); store it."""
        rt = self.runtime
        now = rt.now()  # read once: the phases are placed around this instant
        if status in {"SUCCEEDED", "FAILED", "TIMED-OUT", "TIMING-OUT"}:
            job.timeline = job.timeline.model_copy(update={"outcome": "TIMED-OUT" if "TIM" in status else status})
            timeout = None  # the requested outcome wins over the run timeout
        target = {"ABORTING": "RUNNING", "ABORTED": "RUNNING"}.get(status or "READY", status or "READY")

        def schedule(start: float) -> list[Phase]:
            return apify_schedule(job.timeline, start, rt.time_scale, timeout)

        job.created = now if target == "READY" else backdate(schedule, target, now)
        job.phases, job.seq = schedule(job.created), next(self._seq)
        (self.runs if job.kind == "run" else self.builds)[job.id] = job
        if status in {"ABORTING", "ABORTED"}:
            self.abort(job, gracefully=status == "ABORTING")
        return job

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
        options: RunOptions,
        *,
        status: str | None = None,
        enforce_limits: bool = False,
        **fields: Any,
    ) -> JobRecord:
        """Start a run of ``actor`` (or create one already in ``status``).

        :param enforce_limits: refuse the start when the user's account limits leave no room
            (starts through the API do; runs created by the Python API never are refused).
        :param fields: :class:`~airflow_provider_jobs.emulator.apify_records.JobRecord` fields
            (``run_input``, ``input_body_len``, ``webhooks``, ``restart_on_error``, ``task_id``,
            ``client_ip``, ``user_agent``).
        :raises EmulatedApiError: the user's account limits refuse the start.
        """
        run_options = options.to_json(actor)
        with self.lock:
            if enforce_limits:
                active = [job for job in self.runs.values() if job.user is user and not self.is_terminal(job)]
                refusal = capacity_refusal(user, active, int(run_options["memoryMbytes"]))
                if refusal is not None:
                    raise refusal
            build = self.latest_build(actor, run_options["build"])
            job = JobRecord("run", actor, user, actor.run_timeline, options=run_options, **fields)
            job.build_id, job.build_number, job.storage_ids = build.id, build.build_number, new_storage_ids()
            timeout = run_options["timeoutSecs"]
            return self._place(job, status, float(timeout) if timeout else None)

    def new_build(
        self,
        actor: ActorRecord,
        user: ApifyUser,
        *,
        version: str,
        use_cache: bool = False,
        beta_packages: bool = False,
        status: str | None = None,
        **fields: Any,
    ) -> JobRecord:
        """Start a build of ``actor`` for ``version`` (or create one already in ``status``).

        :param fields: :class:`~airflow_provider_jobs.emulator.apify_records.JobRecord` fields
            (``tag``, ``client_ip``, ``user_agent``).
        """
        options = {"useCache": use_cache, "betaPackages": beta_packages, "memoryMbytes": 4096, "diskMbytes": 8192}
        with self.lock:
            counter = actor.build_counters[version] = actor.build_counters.get(version, 0) + 1
            job = JobRecord("build", actor, user, actor.build_timeline, version=version, **fields)
            job.options, job.build_id, job.build_number = options, job.id, f"{version}.{counter}"
            return self._place(job, status, None)

    def create_run(
        self,
        actor: ActorSpec,
        *,
        status: str | None = None,
        token: str | None = None,
        run_input: Any = None,
        timeout_secs: int | None = None,
        memory_mbytes: int | None = None,
    ) -> str:
        """Create a run directly (no API request) and return its id.

        :param status: status the run is in right now (``RUNNING``, ``ABORTING``, ``SUCCEEDED``,
            ...); it then follows the actor's timeline from that point. ``None`` means just started.
        :param token: Apify token of the user who owns the run (default: the first token).
        """
        options = RunOptions(timeout_secs=timeout_secs, memory_mbytes=memory_mbytes)
        with self.lock:
            return self.new_run(self._actor(actor), self._owner(token), options, status=status, run_input=run_input).id

    def create_build(
        self,
        actor: ActorSpec,
        *,
        version: str = "0.0",
        status: str | None = None,
        token: str | None = None,
        tag: str = "latest",
    ) -> str:
        """Create an actor build directly and return its id (``status`` as in :meth:`create_run`)."""
        with self.lock:
            return self.new_build(self._actor(actor), self._owner(token), version=version, tag=tag, status=status).id

    # -- finding, aborting, rendering -------------------------------------------------------
    def job(self, kind: JobKind, job_id: str) -> JobRecord | None:
        """Return the run or build with ``job_id``, if there is one."""
        with self.lock:
            return (self.runs if kind == "run" else self.builds).get(job_id)

    def _known(self, kind: JobKind, job_id: str) -> JobRecord:
        return or_unknown(self.job(kind, job_id), f"{kind} {job_id!r}")

    def get_run(self, run_id: str) -> dict[str, Any]:
        """Return a run as ``GET /v2/actor-runs/{runId}`` would (``data`` unwrapped)."""
        return self.render(self._known("run", run_id))

    def get_build(self, build_id: str) -> dict[str, Any]:
        """Return an actor build as ``GET /v2/actor-builds/{buildId}`` would."""
        return self.render(self._known("build", build_id))

    def runs_of(self, actor: ActorSpec) -> list[dict[str, Any]]:
        """Return every run of an actor (any user), oldest first."""
        with self.lock:
            return [self.render(job) for job in self.list_runs(self._actor(actor), None)]

    def builds_of(self, actor: ActorSpec) -> list[dict[str, Any]]:
        """Return every build of an actor, oldest first (the seeded ``0.0.1`` build included)."""
        with self.lock:
            record = self._actor(actor)
            jobs = [job for job in self.builds.values() if job.actor is record]
            return [self.render(job) for job in sorted(jobs, key=lambda j: (j.created, j.seq))]

    def abort(self, job: JobRecord, *, gracefully: bool = False) -> JobRecord:
        """Abort ``job`` now (builds are never graceful); terminal jobs are left unchanged."""
        rt = self.runtime
        with self.lock:
            graceful = gracefully and job.kind == "run"
            grace, now = job.timeline.abort_grace_secs, rt.now()
            job.phases = apify_abort(job.phases, now, gracefully=graceful, grace_secs=grace, scale=rt.time_scale)
        rt.waker.notify(job.id)
        return job

    def abort_run(self, run_id: str, *, gracefully: bool = False) -> dict[str, Any]:
        """Abort a run as if someone else did (e.g. in the Apify Console); return it."""
        return self.render(self.abort(self._known("run", run_id), gracefully=gracefully))

    def abort_build(self, build_id: str) -> dict[str, Any]:
        """Abort an actor build as if someone else did; return it."""
        return self.render(self.abort(self._known("build", build_id)))

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
        with self.lock:
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
        return sorted(runs, key=lambda run: (run.created, run.seq), reverse=desc)

    def is_terminal(self, job: JobRecord) -> bool:
        """Return whether ``job`` has reached a terminal status."""
        with self.lock:
            return job.status(self.runtime.now()) in APIFY_TERMINAL

    def pause_before_end(self, job: JobRecord, changed: asyncio.Event) -> float | None:
        """Return the seconds until ``job`` ends on its schedule (``None`` once it has ended).

        ``changed`` (set by an abort) is cleared in the same step, so no abort slips in between.
        """
        with self.lock:
            if self.is_terminal(job):
                return None
            changed.clear()
            return terminal_phase(job.phases, APIFY_TERMINAL).at - self.runtime.now()

    def render(self, job: JobRecord, *, with_usage: bool = True) -> dict[str, Any]:
        """Render ``job`` (run or build) as the API returns it now."""
        rt = self.runtime
        with self.lock:
            return job.to_json(rt.now(), rt.time_scale, rt.clock.to_wall, with_usage=with_usage)

    def render_short(self, jobs: list[JobRecord]) -> list[dict[str, Any]]:
        """Render the ``RunShort`` items of a run list."""
        rt = self.runtime
        with self.lock:
            return [job.run_short_json(rt.now(), rt.time_scale, rt.clock.to_wall) for job in jobs]

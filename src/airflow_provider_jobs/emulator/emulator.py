"""The :class:`Emulator`: in-memory state of both APIs, plus journal and faults, behind one lock.

The HTTP server (:mod:`~airflow_provider_jobs.emulator.server`) serves an ``Emulator``; tests
seed and inspect the same object from their own thread.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from airflow_provider_jobs.emulator._util import Clock, RealClock, Runtime
from airflow_provider_jobs.emulator.apify_backend import ApifyBackend, RunOptions
from airflow_provider_jobs.emulator.apify_state import ActorRecord, ApifyUser
from airflow_provider_jobs.emulator.errors import UnknownRecordError
from airflow_provider_jobs.emulator.faults import Fault, FaultRegistry
from airflow_provider_jobs.emulator.journal import Journal, JournalEntry, filter_entries
from airflow_provider_jobs.emulator.refs import (
    DEFAULT_APIFY_TOKEN,
    DEFAULT_TEMPLATES_TOKEN,
    ActorRef,
    actor_key,
    connection_env,
)
from airflow_provider_jobs.emulator.template_backend import TemplateBackend
from airflow_provider_jobs.emulator.timelines import TemplateTimeline, Timeline


class Emulator:
    """In-memory Apify and templates APIs: seeding, inspection, journal and faults.

    Every method is thread-safe. Durations in timelines are emulated seconds, multiplied by
    ``time_scale`` to get real seconds (``0.01`` runs a 30 s grace period in 0.3 s).

    :param time_scale: real seconds per emulated second; applies to jobs created afterwards.
    :param apify_tokens: valid Apify tokens; the first one owns seeded actors.
    :param template_tokens: valid templates API keys.
    :param seed_demo: seed the demo actors and templates (:mod:`~airflow_provider_jobs.emulator.demo`).
    :param clock: time source (a :class:`~airflow_provider_jobs.emulator._util.ManualClock` in unit tests).
    """

    def __init__(
        self,
        *,
        time_scale: float = 1.0,
        apify_tokens: Iterable[str] = (DEFAULT_APIFY_TOKEN,),
        template_tokens: Iterable[str] = (DEFAULT_TEMPLATES_TOKEN,),
        seed_demo: bool = False,
        clock: Clock | None = None,
    ) -> None:
        self._initial = (float(time_scale), tuple(apify_tokens), tuple(template_tokens), seed_demo)
        self._lock = threading.RLock()
        self._clock = clock or RealClock()
        self._journal = Journal()
        self._faults = FaultRegistry()
        self.base_url: str | None = None
        self.max_wait_for_finish = 60.0
        self._build_state()

    def _build_state(self) -> None:
        time_scale, apify_tokens, template_tokens, seed_demo = self._initial
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.runtime = Runtime(self._clock, time_scale)
        self.apify = ApifyBackend(self.runtime)
        self.templates = TemplateBackend(self.runtime)
        for token in apify_tokens:
            self.apify.add_token(token)
        for token in template_tokens:
            self.templates.add_token(token)
        if seed_demo:
            from airflow_provider_jobs.emulator.demo import seed_demo_data

            seed_demo_data(self)

    # -- housekeeping -------------------------------------------------------------------------
    @property
    def lock(self) -> threading.RLock:
        """Return the lock guarding the state (held by HTTP handlers while they touch it)."""
        return self._lock

    def reset(self) -> None:
        """Forget every actor, job, template, extra token, fault and journal entry.

        Tokens, time scale and demo data return to what the constructor was given.
        """
        with self._lock:
            self._journal.clear()
            self._faults.clear()
            self._build_state()

    @property
    def time_scale(self) -> float:
        """Return real seconds per emulated second."""
        return self.runtime.time_scale

    def set_time_scale(self, time_scale: float) -> None:
        """Change the time scale for jobs created (or aborted/cancelled) from now on."""
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        with self._lock:
            self.runtime.time_scale = float(time_scale)

    @property
    def apify_token(self) -> str:
        """Return the first (default) Apify token."""
        return next(iter(self.apify.tokens))

    @property
    def templates_token(self) -> str:
        """Return the first (default) templates API key."""
        return next(iter(self.templates.callers))

    def add_apify_token(self, token: str, *, username: str | None = None) -> str:
        """Register an Apify token for ``username`` (a new user by default); return the username."""
        with self._lock:
            return self.apify.add_token(token, username).username

    def add_template_token(self, token: str, *, namespace: str | None = None) -> str:
        """Register a templates API key with its own namespace; return the namespace."""
        with self._lock:
            return self.templates.add_token(token, namespace).namespace

    # -- Apify seeding and inspection -------------------------------------------------------
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

        :param name: ``name``, ``username~name`` or ``username/name``; the owner defaults to
            the user of the first Apify token (``demo``).
        :param actor_id: fixed 17-character id (random when not given).
        :param run: timeline every run of the actor follows.
        :param build: timeline every build of the actor follows.
        :param default_timeout_secs: ``options.timeoutSecs`` when a run sends no ``timeout``.
        :param default_memory_mbytes: ``options.memoryMbytes`` when a run sends no ``memory``.
        """
        with self._lock:
            record = self.apify.seed_actor(
                name,
                actor_id=actor_id,
                run=run or Timeline(),
                build=build or Timeline(ready_secs=2, running_secs=20),
                default_timeout_secs=default_timeout_secs,
                default_memory_mbytes=default_memory_mbytes,
            )
            return ActorRef.from_record(record)

    def actors(self) -> list[ActorRef]:
        """Return every seeded actor."""
        with self._lock:
            return [ActorRef.from_record(record) for record in self.apify.actors.values()]

    def _actor(self, actor: str | ActorRef | Mapping[str, Any]) -> ActorRecord:
        record = self.apify.find_actor(actor_key(actor), bare_name=True)
        if record is None:
            raise UnknownRecordError(f"no actor {actor!r}")
        return record

    def _user(self, token: str | None) -> ApifyUser:
        if token is None:
            return self.apify.default_user()
        if token not in self.apify.tokens:
            raise UnknownRecordError(f"unknown Apify token {token!r}")
        return self.apify.tokens[token]

    def create_run(
        self,
        actor: str | ActorRef | Mapping[str, Any],
        *,
        status: str | None = None,
        token: str | None = None,
        run_input: Any = None,
        timeout_secs: int | None = None,
        memory_mbytes: int | None = None,
    ) -> str:
        """Create a run directly (no HTTP request) and return its id.

        :param status: status the run is in right now (``RUNNING``, ``ABORTING``, ``SUCCEEDED``,
            ...); it then follows the actor's timeline from that point. ``None`` means just started.
        :param token: Apify token of the user who owns the run (default: the first token).
        """
        with self._lock:
            options = RunOptions(timeout_secs=timeout_secs, memory_mbytes=memory_mbytes)
            job = self.apify.new_run(
                self._actor(actor), self._user(token), options=options, run_input=run_input, status=status
            )
            return job.id

    def create_build(
        self,
        actor: str | ActorRef | Mapping[str, Any],
        *,
        version: str = "0.0",
        status: str | None = None,
        token: str | None = None,
        tag: str = "latest",
    ) -> str:
        """Create an actor build directly and return its id (``status`` as in :meth:`create_run`)."""
        with self._lock:
            job = self.apify.new_build(
                self._actor(actor), self._user(token), version=version, tag=tag, status=status
            )
            return job.id

    def get_run(self, run_id: str) -> dict[str, Any]:
        """Return a run as ``GET /v2/actor-runs/{runId}`` would (``data`` unwrapped)."""
        with self._lock:
            if run_id not in self.apify.runs:
                raise UnknownRecordError(f"no run {run_id!r}")
            return self.apify.render(self.apify.runs[run_id])

    def get_build(self, build_id: str) -> dict[str, Any]:
        """Return an actor build as ``GET /v2/actor-builds/{buildId}`` would."""
        with self._lock:
            if build_id not in self.apify.builds:
                raise UnknownRecordError(f"no build {build_id!r}")
            return self.apify.render(self.apify.builds[build_id])

    def runs_of(self, actor: str | ActorRef | Mapping[str, Any]) -> list[dict[str, Any]]:
        """Return every run of an actor (any user), oldest first."""
        with self._lock:
            return [self.apify.render(job) for job in self.apify.list_runs(self._actor(actor), None)]

    def builds_of(self, actor: str | ActorRef | Mapping[str, Any]) -> list[dict[str, Any]]:
        """Return every build of an actor, oldest first (the seeded ``0.0.1`` build included)."""
        with self._lock:
            record = self._actor(actor)
            jobs = sorted(
                (job for job in self.apify.builds.values() if job.actor is record),
                key=lambda j: (j.created, j.seq),
            )
            return [self.apify.render(job) for job in jobs]

    def abort_run(self, run_id: str, *, gracefully: bool = False) -> dict[str, Any]:
        """Abort a run as if someone else did (e.g. in the Apify Console); return it."""
        with self._lock:
            if run_id not in self.apify.runs:
                raise UnknownRecordError(f"no run {run_id!r}")
            return self.apify.render(self.apify.abort(self.apify.runs[run_id], gracefully=gracefully))

    def abort_build(self, build_id: str) -> dict[str, Any]:
        """Abort an actor build as if someone else did; return it."""
        with self._lock:
            if build_id not in self.apify.builds:
                raise UnknownRecordError(f"no build {build_id!r}")
            return self.apify.render(self.apify.abort(self.apify.builds[build_id]))

    # -- templates seeding and inspection -----------------------------------------------------
    def seed_template(
        self,
        name: str,
        timeline: TemplateTimeline | None = None,
        *,
        namespace: str | None = None,
        description: str = "",
        alias: str | None = None,
    ) -> dict[str, Any]:
        """Add a template whose builds (by ``name`` or ``alias``) follow ``timeline``; return its info."""
        with self._lock:
            return self.templates.seed_template(
                name, timeline, namespace=namespace, description=description, alias=alias
            ).info_json()

    def create_template_build(
        self,
        name: str,
        *,
        status: str | None = None,
        token: str | None = None,
        timeline: TemplateTimeline | None = None,
        tags: list[str] | None = None,
        reason: str | None = None,
    ) -> str:
        """Create a template build directly and return its ``tb_`` id.

        :param name: template name (its seeded timeline applies unless ``timeline`` is given).
        :param status: ``waiting``, ``building``, ``ready``, ``error`` or ``cancelled`` now.
        :param token: API key that owns the build (default: the first key).
        :param reason: cancellation reason of a build created ``cancelled``.
        """
        with self._lock:
            caller = self.templates.callers.get(token) if token else self.templates.default_caller()
            if caller is None:
                raise UnknownRecordError(f"unknown templates token {token!r}")
            record = self.templates.new_build(
                caller, name=name, tags=tags, timeline=timeline, status=status, reason=reason
            )
            return record.id

    def get_template_build(self, build_id: str, *, offset: int = 0) -> dict[str, Any]:
        """Return the ``{build, entries, next_offset}`` snapshot of any key's build."""
        with self._lock:
            if build_id not in self.templates.builds:
                raise UnknownRecordError(f"no template build {build_id!r}")
            return self.templates.render_snapshot(self.templates.builds[build_id], offset)

    def template_builds(self, name: str | None = None) -> list[dict[str, Any]]:
        """Return every template build (of template ``name`` when given), oldest first."""
        with self._lock:
            records = sorted(self.templates.builds.values(), key=lambda record: record.created)
            return [
                self.templates.render_build(r) for r in records if name is None or r.template.name == name
            ]

    def cancel_template_build(self, build_id: str, *, reason: str | None = None) -> dict[str, Any]:
        """Request cancellation of a template build as its owner would; return the snapshot."""
        with self._lock:
            if build_id not in self.templates.builds:
                raise UnknownRecordError(f"no template build {build_id!r}")
            record = self.templates.builds[build_id]
            self.templates.cancel(record, self.templates.callers.get(record.owner_token), reason)
            return self.templates.render_snapshot(record)

    # -- journal and faults -------------------------------------------------------------------
    @property
    def journal(self) -> list[JournalEntry]:
        """Return every journaled request, oldest first."""
        return self._journal.entries()

    @property
    def journal_store(self) -> Journal:
        """Return the underlying journal (used by the HTTP app to record requests)."""
        return self._journal

    def requests(
        self,
        method: str | None = None,
        route: str | None = None,
        *,
        path: str | None = None,
        path_regex: str | None = None,
        api: str | None = None,
    ) -> list[JournalEntry]:
        """Return journaled requests matching every given criterion (see :func:`filter_entries`)."""
        return filter_entries(
            self.journal, method=method, route=route, path=path, path_regex=path_regex, api=api
        )

    def clear_journal(self) -> None:
        """Forget every journaled request."""
        self._journal.clear()

    def add_fault(self, fault: Fault | None = None, **fields: Any) -> Fault:
        """Activate a fault rule, given as a :class:`Fault` or as its fields; return it."""
        return self._faults.add(fault if fault is not None else Fault(**fields))

    def remove_fault(self, fault_id: str) -> bool:
        """Deactivate one fault rule; return whether it was active."""
        return self._faults.remove(fault_id)

    def clear_faults(self) -> None:
        """Deactivate every fault rule."""
        self._faults.clear()

    @property
    def faults(self) -> list[dict[str, Any]]:
        """Return the active fault rules with their ``remaining`` and ``hits`` counts."""
        return self._faults.active()

    @property
    def fault_registry(self) -> FaultRegistry:
        """Return the underlying registry (used by the HTTP app)."""
        return self._faults

    def fault_hits(self, fault_id: str) -> int:
        """Return how many requests a fault rule has affected so far."""
        return self._faults.hits(fault_id)

    def connection_env(self) -> dict[str, str]:
        """Return the ``AIRFLOW_CONN_*`` variables of both default connections for the served URL."""
        if self.base_url is None:
            raise RuntimeError("the emulator is not being served; start an EmulatorServer first")
        return connection_env(self.base_url, self.apify_token, self.templates_token)

    def state(self) -> dict[str, Any]:
        """Return a summary: base URL, time scale, tokens and record counts."""
        with self._lock:
            return {
                "base_url": self.base_url,
                "time_scale": self.time_scale,
                "apify_tokens": list(self.apify.tokens),
                "template_tokens": list(self.templates.callers),
                "actors": [ActorRef.from_record(a).full_name for a in self.apify.actors.values()],
                "templates": sorted(self.templates.templates),
                "runs": len(self.apify.runs),
                "builds": len(self.apify.builds),
                "template_builds": len(self.templates.builds),
                "faults": len(self._faults.active()),
                "journal": len(self._journal.entries()),
            }

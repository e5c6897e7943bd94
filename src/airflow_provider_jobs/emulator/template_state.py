"""The templates state of an emulator: API keys, the template catalogue, builds, cancel.

One :class:`TemplateState` holds the records (:mod:`~airflow_provider_jobs.emulator.template_records`)
and the behaviour, with the lock discipline of
:class:`~airflow_provider_jobs.emulator.apify_state.ApifyState`: every public method takes
``self.lock`` and records change only inside them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airflow_provider_jobs.emulator._util import Runtime, short_token
from airflow_provider_jobs.emulator.errors import EmulatedApiError, UnknownRecordError, or_unknown
from airflow_provider_jobs.emulator.template_records import TemplateBuildRecord, TemplateRecord
from airflow_provider_jobs.emulator.timelines import Phase, TemplateTimeline, backdate, template_schedule

DEFAULT_BUILD_CONFIG: dict[str, Any] = {"vcpus": 2, "memory_mib": 512, "internet_access": True, "disk_mb": 4096}


@dataclass
class TemplateCaller:
    """The identity behind a templates API key: builds are visible to their key only."""

    token: str
    namespace: str
    principal: str


class TemplateState:
    """Template catalogue, template builds and the API keys that own them.

    :param runtime: clock, time scale, waker and lock shared with the Apify state.
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.lock = runtime.lock
        self.callers: dict[str, TemplateCaller] = {}
        self.templates: dict[str, TemplateRecord] = {}
        self.builds: dict[str, TemplateBuildRecord] = {}

    # -- keys and the catalogue -------------------------------------------------------------
    def add_token(self, token: str, *, namespace: str | None = None) -> str:
        """Register a templates API key with its own namespace (its builds are invisible to
        every other key); return the namespace."""
        if not token:
            raise ValueError("a token must be a non-empty string")
        with self.lock:
            number = len(self.callers) + 1
            space = namespace or ("emulator" if number == 1 else f"team{number}")
            self.callers[token] = TemplateCaller(token, space, f"{space}-ci")
            return space

    def caller_of(self, token: str) -> TemplateCaller | None:
        """Return the caller behind an API key, if it is valid."""
        with self.lock:
            return self.callers.get(token)

    def seed_template(
        self,
        name: str,
        timeline: TemplateTimeline | None = None,
        *,
        namespace: str | None = None,
        description: str = "",
        alias: str | None = None,
    ) -> dict[str, Any]:
        """Add (or re-script) a template whose builds (by ``name`` or ``alias``) follow ``timeline``;
        return its ``TemplateInfo``."""
        with self.lock:
            return self._seed(name, timeline, namespace, description, alias).info_json()

    def _seed(
        self, name: str, timeline: TemplateTimeline | None, namespace: str | None, description: str, alias: str | None
    ) -> TemplateRecord:
        existing = self.templates.get(name)
        record = TemplateRecord(
            id=existing.id if existing else "tmpl_" + short_token(8),
            name=name,
            namespace=namespace or (existing.namespace if existing else "emulator"),
            timeline=timeline or TemplateTimeline(),
            description=description,
            alias=alias,
        )
        self.templates[name] = record
        return record

    def find_template(self, name: str) -> TemplateRecord | None:
        """Return the template called ``name`` (or aliased so)."""
        with self.lock:
            if name in self.templates:
                return self.templates[name]
            return next((record for record in self.templates.values() if record.alias == name), None)

    def catalogue(self) -> list[dict[str, Any]]:
        """Render every template (``TemplateInfo`` list)."""
        with self.lock:
            return [record.info_json() for record in self.templates.values()]

    # -- builds -----------------------------------------------------------------------------
    def new_build(
        self,
        caller: TemplateCaller,
        *,
        name: str,
        tags: list[str] | None = None,
        build_config: dict[str, Any] | None = None,
        timeline: TemplateTimeline | None = None,
        request: dict[str, Any] | None = None,
        status: str | None = None,
        reason: str | None = None,
    ) -> TemplateBuildRecord:
        """Start a build of template ``name`` (or create one already in ``status``)."""
        with self.lock:
            template = self.find_template(name) or self._seed(name, None, caller.namespace, "", None)
            chosen = timeline or template.timeline
            if status in {"ready", "error"}:
                chosen = chosen.model_copy(update={"outcome": status})
            scale, now = self.runtime.time_scale, self.runtime.now()
            target = {None: "waiting", "cancelled": "building"}.get(status, status)
            if target not in {"waiting", "building", "ready", "error"}:
                raise ValueError(f"unknown template build status {status!r}")

            def schedule(start: float) -> list[Phase]:
                return template_schedule(chosen, start, scale)

            record = TemplateBuildRecord(
                id="tb_" + short_token(10),
                template=template,
                owner_token=caller.token,
                principal=caller.principal,
                created=now if target == "waiting" else backdate(schedule, target, now),
                timeline=chosen,
                tags=list(tags) if tags else ["default"],
                build_config={**DEFAULT_BUILD_CONFIG, **(build_config or {})},
                scale=scale,
                request=request or {},
            )
            if status == "cancelled":
                record.timeline = chosen.model_copy(update={"cancel_delay_secs": 0.0})
                record.cancel(now, by=caller.principal, reason=reason, scale=scale)
            self.builds[record.id] = record
            return record

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
        with self.lock:
            if not token and not self.callers:
                raise ValueError("no templates API key is registered")
            caller = self.callers.get(token) if token else next(iter(self.callers.values()))
            if caller is None:
                raise UnknownRecordError(f"unknown templates token {token!r}")
            return self.new_build(caller, name=name, tags=tags, timeline=timeline, status=status, reason=reason).id

    def get_build(self, build_id: str, caller: TemplateCaller) -> TemplateBuildRecord:
        """Return a build visible to ``caller``, else raise the API's 404."""
        with self.lock:
            record = self.builds.get(build_id)
        if record is None or record.owner_token != caller.token:
            raise EmulatedApiError(404, "template_build_not_found", "template build not found", build_id=build_id)
        return record

    def _known(self, build_id: str) -> TemplateBuildRecord:
        with self.lock:
            return or_unknown(self.builds.get(build_id), f"template build {build_id!r}")

    def cancel(self, record: TemplateBuildRecord, principal: str, reason: str | None) -> dict[str, Any]:
        """Request cancellation of ``record`` (idempotent; terminal builds are unchanged); render the snapshot."""
        with self.lock:
            record.cancel(self.runtime.now(), by=principal, reason=reason, scale=self.runtime.time_scale)
            return self.render_snapshot(record)

    def cancel_template_build(self, build_id: str, *, reason: str | None = None) -> dict[str, Any]:
        """Request cancellation of a template build as its owner would; return the snapshot."""
        with self.lock:
            record = self._known(build_id)
            caller = self.callers.get(record.owner_token)
            return self.cancel(record, caller.principal if caller else "emulator", reason)

    def get_template_build(self, build_id: str, *, offset: int = 0) -> dict[str, Any]:
        """Return the ``{build, entries, next_offset}`` snapshot of any key's build."""
        return self.render_snapshot(self._known(build_id), offset)

    def template_builds(self, name: str | None = None) -> list[dict[str, Any]]:
        """Return every template build (of template ``name`` when given), oldest first."""
        with self.lock:
            records = sorted(self.builds.values(), key=lambda record: record.created)
            return [self.render_build(r) for r in records if name is None or r.template.name == name]

    def builds_of(self, template_id: str, caller: TemplateCaller) -> list[dict[str, Any]] | None:
        """Render ``caller``'s builds of a template, newest first (``None`` if there is no such template)."""
        with self.lock:
            if not any(record.id == template_id for record in self.templates.values()):
                return None
            records = sorted(self.builds.values(), key=lambda item: item.created, reverse=True)
            return [
                self.render_build(r) for r in records if r.template.id == template_id and r.owner_token == caller.token
            ]

    def render_build(self, record: TemplateBuildRecord) -> dict[str, Any]:
        """Render the bare ``TemplateBuild`` object now."""
        with self.lock:
            return record.build_json(self.runtime.now(), self.runtime.clock.to_wall)

    def render_snapshot(self, record: TemplateBuildRecord, offset: int = 0) -> dict[str, Any]:
        """Render the ``{build, entries, next_offset}`` snapshot now."""
        with self.lock:
            return record.snapshot_json(self.runtime.now(), self.runtime.clock.to_wall, offset)

    def entries_since(self, record: TemplateBuildRecord, offset: int) -> tuple[list[dict[str, Any]], float | None]:
        """Render the log entries from ``offset`` on; also return in how long the next one appears."""
        with self.lock:
            now = self.runtime.now()
            upcoming = record.next_change_after(now)
            due = None if upcoming is None else upcoming - now
            return record.entries_json(now, self.runtime.clock.to_wall, offset), due

"""Template-build operations: API keys, the template catalogue, builds, cancel.

The caller (the :class:`~airflow_provider_jobs.emulator.emulator.Emulator`) holds the lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airflow_provider_jobs.emulator._util import Runtime, template_build_id, template_id
from airflow_provider_jobs.emulator.errors import EmulatedApiError
from airflow_provider_jobs.emulator.template_state import TemplateBuildRecord, TemplateRecord
from airflow_provider_jobs.emulator.timelines import (
    TEMPLATE_TERMINAL,
    Phase,
    TemplateTimeline,
    backdate,
    template_schedule,
)

DEFAULT_BUILD_CONFIG: dict[str, Any] = {
    "vcpus": 2,
    "memory_mib": 512,
    "internet_access": True,
    "disk_mb": 4096,
}


@dataclass
class TemplateCaller:
    """The identity behind a templates API key: builds are visible to their key only."""

    token: str
    namespace: str
    principal: str


class TemplateBackend:
    """Template catalogue, template builds and the API keys that own them.

    :param runtime: shared clock and time scale.
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.callers: dict[str, TemplateCaller] = {}
        self.templates: dict[str, TemplateRecord] = {}
        self.builds: dict[str, TemplateBuildRecord] = {}
        self.default_timeline = TemplateTimeline()

    def add_token(
        self, token: str, namespace: str | None = None, principal: str | None = None
    ) -> TemplateCaller:
        """Make ``token`` a valid API key (its builds are invisible to every other key)."""
        if not token:
            raise ValueError("a token must be a non-empty string")
        number = len(self.callers) + 1
        space = namespace or ("emulator" if number == 1 else f"team{number}")
        caller = TemplateCaller(token, space, principal or f"{space}-ci")
        self.callers[token] = caller
        return caller

    def default_caller(self) -> TemplateCaller:
        """Return the caller of the first registered key."""
        if not self.callers:
            raise ValueError("no templates API key is registered")
        return next(iter(self.callers.values()))

    def seed_template(
        self,
        name: str,
        timeline: TemplateTimeline | None,
        *,
        namespace: str | None = None,
        description: str = "",
        tags: tuple[str, ...] = ("default",),
        alias: str | None = None,
    ) -> TemplateRecord:
        """Add (or re-script) a template; builds started under ``name`` or ``alias`` follow ``timeline``."""
        existing = self.templates.get(name)
        record = TemplateRecord(
            id=existing.id if existing else template_id(),
            name=name,
            namespace=namespace or (existing.namespace if existing else "emulator"),
            timeline=timeline or self.default_timeline,
            description=description,
            tags=tags,
            alias=alias,
        )
        self.templates[name] = record
        return record

    def find_template(self, name: str) -> TemplateRecord | None:
        """Return the template called ``name`` (or aliased so)."""
        if name in self.templates:
            return self.templates[name]
        for record in self.templates.values():
            if record.alias == name:
                return record
        return None

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
        template = self.find_template(name) or self.seed_template(name, None, namespace=caller.namespace)
        chosen = timeline or template.timeline
        if status in {"ready", "error"}:
            chosen = chosen.model_copy(update={"outcome": status})
        scale = self.runtime.time_scale
        now = self.runtime.now()
        target = {None: "waiting", "cancelled": "building"}.get(status, status)
        if target not in {"waiting", "building", "ready", "error"}:
            raise ValueError(f"unknown template build status {status!r}")

        def schedule(start: float) -> list[Phase]:
            return template_schedule(chosen, start, scale)

        created = now if target == "waiting" else backdate(schedule, target, now)
        record = TemplateBuildRecord.create(
            build_id=template_build_id(),
            template=template,
            owner_token=caller.token,
            principal=caller.principal,
            created=created,
            scale=scale,
            timeline=chosen,
            tags=list(tags) if tags else ["default"],
            build_config={**DEFAULT_BUILD_CONFIG, **(build_config or {})},
            request=request,
        )
        if status == "cancelled":
            record.timeline = chosen.model_copy(update={"cancel_delay_secs": 0.0})
            record.cancel(now, by=caller.principal, reason=reason, scale=scale)
        self.builds[record.id] = record
        return record

    def get_build(self, build_id: str, caller: TemplateCaller | None) -> TemplateBuildRecord:
        """Return a build visible to ``caller`` (any build when ``None``), else raise a 404."""
        record = self.builds.get(build_id)
        if record is None or (caller is not None and record.owner_token != caller.token):
            raise EmulatedApiError(
                404, "template_build_not_found", "template build not found", build_id=build_id
            )
        return record

    def cancel(self, record: TemplateBuildRecord, caller: TemplateCaller | None, reason: str | None) -> None:
        """Request cancellation of ``record`` (idempotent; terminal builds are unchanged)."""
        principal = caller.principal if caller else "emulator"
        record.cancel(self.runtime.now(), by=principal, reason=reason, scale=self.runtime.time_scale)

    def is_terminal(self, record: TemplateBuildRecord) -> bool:
        """Return whether ``record`` has reached a terminal status."""
        return record.status(self.runtime.now()) in TEMPLATE_TERMINAL

    def render_build(self, record: TemplateBuildRecord) -> dict[str, Any]:
        """Render the bare ``TemplateBuild`` object now."""
        return record.build_json(self.runtime.now(), self.runtime.clock.to_wall)

    def render_snapshot(self, record: TemplateBuildRecord, offset: int = 0) -> dict[str, Any]:
        """Render the ``{build, entries, next_offset}`` snapshot now."""
        return record.snapshot_json(self.runtime.now(), self.runtime.clock.to_wall, offset)

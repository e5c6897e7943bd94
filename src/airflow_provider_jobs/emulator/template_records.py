"""The template records (catalogue entries, builds with log entries that appear over time).

Plain values: :class:`~airflow_provider_jobs.emulator.template_state.TemplateState` owns them
and changes them under its lock. A build's status phases and its log entries are both
scheduled on the emulator clock when the build is created; a cancel rewrites the tail of both.
Entries visible at a moment are those scheduled at or before it, so offsets only ever grow.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import InitVar, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from airflow_provider_jobs.emulator._util import iso_ms
from airflow_provider_jobs.emulator.timelines import (
    TEMPLATE_TERMINAL,
    Phase,
    TemplateTimeline,
    phase_start,
    status_at,
    template_schedule,
    terminal_phase,
)

WallFn = Callable[[float], datetime]
TERMINAL_KINDS = frozenset({"end", "error", "cancelled"})


@dataclass
class TemplateRecord:
    """A template in the catalogue; its timeline scripts every build started under its name."""

    id: str
    name: str
    namespace: str
    timeline: TemplateTimeline
    description: str = ""
    tags: tuple[str, ...] = ("default",)
    alias: str | None = None

    @property
    def canonical_ref(self) -> str:
        """Return ``namespace/name``."""
        return f"{self.namespace}/{self.name}"

    def info_json(self) -> dict[str, Any]:
        """Render the ``TemplateInfo`` object (``GET /v1/templates`` items, ``end`` entries)."""
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "builtin": False,
            "canonical_ref": self.canonical_ref,
            "namespace_slug": self.namespace,
            "visibility": "private",
            "tags": list(self.tags),
            "default_tag": self.tags[0] if self.tags else "default",
        }


@dataclass
class ScheduledEntry:
    """A log entry that becomes visible at ``at`` (fields other than ids, offset and timestamp)."""

    at: float
    fields: dict[str, Any]


def _digest(seed: str) -> str:
    return "sha256:" + hashlib.sha256(seed.encode()).hexdigest()


def _runtime_defaults() -> dict[str, Any]:
    return {
        "default_env_keys": ["APP_ENV"],
        "start_cmd": "python -m app",
        "default_user": "app",
        "default_workdir": "/srv/app",
        "readiness": {"kind": "tcp", "port": 3000, "timeout_secs": 30, "interval_ms": 500, "startup_grace_secs": 2},
    }


def _moments(start: float, end: float, count: int, quick: float) -> list[float]:
    """Return ``count`` moments in ``[start, end)``: the first two within ``quick`` (the build
    starts and checks its cache at once), the others evenly spread over the rest."""
    first = [start, start + min(quick, (end - start) / count)]
    rest = count - 2
    span = end - first[1]
    return first + [first[1] + span * index / (rest + 1) for index in range(1, rest + 1)]


def _entry(kind: str, level: str, message: str, phase: str, **extra: Any) -> dict[str, Any]:
    """Return the fields of a log entry besides its ids, offset and timestamp."""
    return {"kind": kind, "level": level, "message": message, "phase": phase, **extra}


@dataclass
class TemplateBuildRecord:
    """A template build owned by one API key, queued at ``created``; its status and log entries
    follow the schedule made from ``timeline`` and the time ``scale`` at creation."""

    id: str
    template: TemplateRecord
    owner_token: str
    principal: str
    created: float
    timeline: TemplateTimeline
    tags: list[str]
    build_config: dict[str, Any]
    scale: InitVar[float]
    request: dict[str, Any] = field(default_factory=dict)
    phases: list[Phase] = field(init=False)
    entries: list[ScheduledEntry] = field(init=False)
    cancel_requested_at: float | None = None
    cancel_requested_by: str | None = None
    cancellation_reason: str | None = None

    def __post_init__(self, scale: float) -> None:
        self.phases = template_schedule(self.timeline, self.created, scale)
        self.entries = self._schedule_entries(scale)

    def _error_detail(self) -> dict[str, Any]:
        steps = self.timeline.steps or ("build",)
        step = min(self.timeline.error_step or len(steps), len(steps))
        message = self.timeline.error_message or f"step {step} of {len(steps)} exited with status 2"
        return {
            "code": "build_error",
            "message": message,
            "phase": self.timeline.failure_phase,
            "retryable": False,
            "suggested_action": "Fix the failing step and start a new build.",
            "step_index": step,
            "attempt": 1,
            "max_attempts": 1,
            "cache_subject": steps[step - 1],
            "build_id": self.id,
            "details": {"reason": "build_step_nonzero_exit"},
        }

    def _schedule_entries(self, scale: float) -> list[ScheduledEntry]:
        end = terminal_phase(self.phases, TEMPLATE_TERMINAL)
        steps = self.timeline.steps or ("build",)
        failing = self.timeline.outcome == "error"
        shown = min(self.timeline.error_step or len(steps), len(steps)) if failing else len(steps)
        cache = {"cache_kind": "layer", "cache_status": "hit", "cache_subject": steps[0]}
        planned = [
            _entry("start", "info", "build started", "preparing"),
            _entry("cache", "debug", "layer cache hit", "cache", **cache),
        ]
        for index in range(1, shown + 1):
            message = f"running step {index} of {len(steps)}: {steps[index - 1]}"
            planned.append(_entry("message", "info", message, "step", step_index=index, total_steps=len(steps)))
        if failing:
            detail = self._error_detail()
            extra = {"step_index": detail["step_index"], "total_steps": len(steps), "error_detail": detail}
            terminal = _entry("error", "error", detail["message"], "step", **extra)
        else:
            planned.append(_entry("message", "info", "creating snapshot", "snapshot"))
            result = {"result": self.template.info_json(), "result_metadata": {"runtime_defaults": _runtime_defaults()}}
            terminal = _entry("end", "info", "template ready", "finalize", **result)
        moments = _moments(self.phases[1].at, end.at, len(planned), 0.5 * scale)
        scheduled = [ScheduledEntry(at, fields) for at, fields in zip(moments, planned, strict=True)]
        return [*scheduled, ScheduledEntry(end.at, terminal)]

    def status(self, now: float) -> str:
        """Return the status at ``now``."""
        return status_at(self.phases, now)

    def cancel(self, now: float, *, by: str, reason: str | None, scale: float) -> None:
        """Request cancellation at ``now``; terminal builds are left as they are.

        The build stays ``waiting``/``building`` for the timeline's cancel delay and then becomes
        ``cancelled`` with a ``cancelled`` log entry, unless its scripted end comes first.
        """
        if self.status(now) in TEMPLATE_TERMINAL or self.cancel_requested_at is not None:
            return
        self.cancel_requested_at = now
        self.cancel_requested_by = by
        self.cancellation_reason = reason
        effective = now + self.timeline.cancel_delay_secs * scale
        if terminal_phase(self.phases, TEMPLATE_TERMINAL).at <= effective:
            return
        self.phases = [phase for phase in self.phases if phase.at < effective or phase.at <= now]
        self.phases.append(Phase(effective, "cancelled"))
        self.entries = [entry for entry in self.entries if entry.at < effective or entry.at <= now]
        message = "template build cancelled" + (f": {reason}" if reason else "")
        self.entries.append(ScheduledEntry(effective, _entry("cancelled", "warn", message, "cleanup")))

    def visible_count(self, now: float) -> int:
        """Return how many log entries exist at ``now`` (the next offset)."""
        return sum(1 for entry in self.entries if entry.at <= now)

    def entries_json(self, now: float, wall: WallFn, offset: int = 0) -> list[dict[str, Any]]:
        """Render the entries visible at ``now`` whose offset is at least ``offset``."""
        rendered = []
        for index, entry in enumerate(self.entries):
            if entry.at > now:
                break
            if index < offset:
                continue
            rendered.append(
                {
                    "build_id": self.id,
                    "template_id": self.template.id,
                    "offset": index,
                    "timestamp": iso_ms(wall(entry.at)),
                    **entry.fields,
                }
            )
        return rendered

    def next_change_after(self, now: float) -> float | None:
        """Return when the next log entry appears, if one is still scheduled."""
        upcoming = [entry.at for entry in self.entries if entry.at > now]
        return min(upcoming) if upcoming else None

    def build_json(self, now: float, wall: WallFn) -> dict[str, Any]:
        """Render the ``TemplateBuild`` object at ``now``."""
        status = self.status(now)
        started = phase_start(self.phases, "building")
        started = started if started is not None and started <= now else None
        end = terminal_phase(self.phases, TEMPLATE_TERMINAL)
        finished = end.at if end.at <= now else None
        changes = [phase.at for phase in self.phases if phase.at <= now]
        if self.cancel_requested_at is not None:
            changes.append(self.cancel_requested_at)
        data: dict[str, Any] = {
            "build_id": self.id,
            "template_id": self.template.id,
            "name": self.template.name,
            "tags": list(self.tags),
            "status": status,
            "build_backend": self.timeline.build_backend,
            "source_type": self.timeline.source_type,
            "canonical_ref": self.template.canonical_ref,
            "namespace_slug": self.template.namespace,
            "visibility": "private",
            "created_at": iso_ms(wall(self.created)),
            "updated_at": iso_ms(wall(max(changes))),
            "context_digest": _digest(self.id + ":context"),
            "build_config": dict(self.build_config),
            "triggered_by": self.principal,
            "queued_at": iso_ms(wall(self.created)),
        }
        if self.timeline.source_type == "dockerfile":
            data["dockerfile_digest"] = _digest(self.id + ":dockerfile")
        if started is not None:
            data["started_at"] = iso_ms(wall(started))
        if finished is not None:
            data["finished_at"] = iso_ms(wall(finished))
            data["duration_ms"] = int((finished - (started if started is not None else self.created)) * 1000)
        if self.cancel_requested_at is not None:
            data["cancel_requested_at"] = iso_ms(wall(self.cancel_requested_at))
            data["cancel_requested_by"] = self.cancel_requested_by
            if self.cancellation_reason is not None:
                data["cancellation_reason"] = self.cancellation_reason
        data.update(self._outcome_fields(status, wall, finished))
        return data

    def _outcome_fields(self, status: str, wall: WallFn, finished: float | None) -> dict[str, Any]:
        if status == "ready" and finished is not None:
            hits = {"final_artifact": (0, 1, 0, 1), "layer": (3, 2, 0, 2), "file_blob": (11, 1, 0, 1)}
            summary = {
                f"{kind}_{name}": value
                for kind, values in hits.items()
                for name, value in zip(("hits", "misses", "bypasses", "stores"), values, strict=True)
            }
            return {
                "cache_summary": summary,
                "artifact_availability": {"status": "available"},
                "promotability": {"status": "promotable", "promotable": True},
                "retention_expires_at": iso_ms(wall(finished) + timedelta(days=90)),
                "runtime_defaults": _runtime_defaults(),
                "artifact_ids": ["art_" + self.id[3:11]],
            }
        if status == "error":
            detail = self._error_detail()
            return {
                "failure_phase": detail["phase"],
                "error": detail["message"],
                "error_detail": detail,
                "artifact_availability": {"status": "unavailable", "reason": "build failed"},
                "promotability": {"status": "not_ready", "promotable": False, "reason": "build failed"},
            }
        if status == "cancelled":
            return {
                "artifact_availability": {"status": "unavailable", "reason": "build did not complete"},
                "promotability": {"status": "not_ready", "promotable": False, "reason": "build was cancelled"},
            }
        return {}

    def snapshot_json(self, now: float, wall: WallFn, offset: int = 0) -> dict[str, Any]:
        """Render the status snapshot ``{build, entries, next_offset}``."""
        return {
            "build": self.build_json(now, wall),
            "entries": self.entries_json(now, wall, offset),
            "next_offset": self.visible_count(now),
        }

"""Models of the Nullspace template-build API: builds, log entries, status snapshots.

The API is snake_case already. Every documented-required field the provider does not need is
optional here, so a leaner server response still parses; unknown fields are kept.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from airflow_provider_jobs.models._base import ApiModel, JobStatusEnum, StatusEnum, coerce_status


class TemplateBuildStatus(JobStatusEnum):
    """Status of a template build. There is no "cancelling": a pending cancel is a live status
    with ``cancel_requested_at`` set."""

    WAITING = "waiting"
    BUILDING = "building"
    READY = "ready"
    ERROR = "error"
    CANCELLED = "cancelled"


TEMPLATE_BUILD_STATUSES = TemplateBuildStatus.define_sets(
    terminal={TemplateBuildStatus.READY, TemplateBuildStatus.ERROR, TemplateBuildStatus.CANCELLED},
    success={TemplateBuildStatus.READY},
)
TEMPLATE_BUILD_TERMINAL = TEMPLATE_BUILD_STATUSES.terminal
TEMPLATE_BUILD_SUCCESS = TEMPLATE_BUILD_STATUSES.success


class LogKind(StatusEnum):
    """Kind of a build log entry; ``end``, ``error`` and ``cancelled`` close the log."""

    START = "start"
    MESSAGE = "message"
    CACHE = "cache"
    RETRY = "retry"
    WARNING = "warning"
    ERROR = "error"
    CANCELLED = "cancelled"
    END = "end"


TERMINAL_LOG_KINDS = frozenset({LogKind.END, LogKind.ERROR, LogKind.CANCELLED})

TemplateBuildStatusField = Annotated[
    TemplateBuildStatus | str, BeforeValidator(lambda v: coerce_status(TemplateBuildStatus, v))
]
LogKindField = Annotated[LogKind | str, BeforeValidator(lambda v: coerce_status(LogKind, v))]


class FailureDetail(ApiModel):
    """Structured failure (``error_detail``)."""

    code: str | None = None
    message: str | None = None
    phase: str | None = None
    retryable: bool | None = None
    suggested_action: str | None = None


class TemplateBuild(ApiModel):
    """A template build (the ``build`` of a snapshot, or the body of a start)."""

    build_id: str
    template_id: str | None = None
    name: str | None = None
    tags: list[str] = Field(default_factory=list)
    status: TemplateBuildStatusField
    build_backend: str | None = None
    source_type: str | None = None
    canonical_ref: str | None = None
    namespace_slug: str | None = None
    visibility: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    triggered_by: str | None = None
    queued_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_ms: int | None = None
    failure_phase: str | None = None
    artifact_ids: list[str] = Field(default_factory=list)
    retry_of_build_id: str | None = None
    original_build_id: str | None = None
    cancel_requested_at: datetime | None = None
    cancel_requested_by: str | None = None
    cancellation_reason: str | None = None
    error: str | None = None
    error_detail: FailureDetail | None = None

    @property
    def is_terminal(self) -> bool:
        """True once the build is ready, error or cancelled."""
        return TEMPLATE_BUILD_STATUSES.is_terminal(self.status)

    @property
    def is_success(self) -> bool:
        """True if the build is ready."""
        return TEMPLATE_BUILD_STATUSES.is_success(self.status)

    @property
    def cancel_pending(self) -> bool:
        """True if a cancel was requested but the build has not ended yet."""
        return self.cancel_requested_at is not None and not self.is_terminal

    @property
    def failure_text(self) -> str | None:
        """The best human-readable failure description the build carries."""
        if self.error_detail and self.error_detail.message:
            return self.error_detail.message
        return self.error or self.cancellation_reason

    def summary(self) -> dict[str, Any]:
        """Return the small JSON-safe dict an operator returns (no log entries)."""
        return {
            "id": self.build_id,
            "build_id": self.build_id,
            "status": str(self.status),
            "template_id": self.template_id,
            "name": self.name,
            "canonical_ref": self.canonical_ref,
            "tags": list(self.tags),
            "created_at": _iso(self.created_at),
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "duration_ms": self.duration_ms,
            "cancel_requested_at": _iso(self.cancel_requested_at),
            "cancel_pending": self.cancel_pending,
            "cancel_requested_by": self.cancel_requested_by,
            "cancellation_reason": self.cancellation_reason,
            "error": self.failure_text if str(self.status) == TemplateBuildStatus.ERROR else None,
            "artifact_ids": list(self.artifact_ids),
        }


class TemplateBuildLogEntry(ApiModel):
    """One durable log entry of a build; ``offset`` is the resume key."""

    build_id: str | None = None
    template_id: str | None = None
    offset: int
    timestamp: datetime | None = None
    kind: LogKindField = LogKind.MESSAGE
    level: str = "info"
    message: str = ""
    phase: str | None = None
    step_index: int | None = None
    total_steps: int | None = None
    error_detail: FailureDetail | None = None

    @property
    def is_terminal(self) -> bool:
        """True for the ``end``, ``error`` and ``cancelled`` entries that close a log."""
        return self.kind in TERMINAL_LOG_KINDS

    def format_line(self) -> str:
        """Return a one-line rendering for task logs."""
        phase = f" [{self.phase}]" if self.phase else ""
        return f"#{self.offset} {self.level.upper()}{phase} {self.message}"


class TemplateBuildSnapshot(ApiModel):
    """The answer of GET and cancel: the build, log entries from the offset, and the next offset."""

    build: TemplateBuild
    entries: list[TemplateBuildLogEntry] = Field(default_factory=list)
    next_offset: int = 0

    @property
    def is_terminal(self) -> bool:
        """True once the build has ended."""
        return self.build.is_terminal

    @property
    def status(self) -> TemplateBuildStatus | str:
        """The build's status."""
        return self.build.status


class TemplateInfo(ApiModel):
    """A template (``GET /v1/templates``)."""

    id: str
    name: str | None = None
    canonical_ref: str | None = None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None

"""Scripted timelines: how an emulated job moves through its statuses.

Durations are *emulated seconds*. The emulator multiplies them by its time scale to get real
seconds, so ``Timeline(running_secs=60)`` at ``time_scale=0.01`` runs for 0.6 real seconds.
Schedules are computed once, when a job is created (or aborted/cancelled), as a list of
:class:`Phase` objects on the emulator clock; the status at any moment is then a pure lookup.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ApifyOutcome = Literal["SUCCEEDED", "FAILED", "TIMED-OUT"]
TemplateOutcome = Literal["ready", "error"]

APIFY_STATUSES = ("READY", "RUNNING", "SUCCEEDED", "FAILED", "TIMING-OUT", "TIMED-OUT", "ABORTING", "ABORTED")
APIFY_TERMINAL = frozenset({"SUCCEEDED", "FAILED", "TIMED-OUT", "ABORTED"})
TEMPLATE_STATUSES = ("waiting", "building", "ready", "error", "cancelled")
TEMPLATE_TERMINAL = frozenset({"ready", "error", "cancelled"})
_EPSILON = 1e-6

DEFAULT_STEPS = (
    "FROM python:3.12-slim",
    "RUN pip install -r requirements.txt",
    "COPY . /srv/app",
    "WORKDIR /srv/app",
)


class Timeline(BaseModel):
    """Scripted life of an Apify run or build: READY, then RUNNING, then an outcome.

    :param ready_secs: emulated seconds spent in ``READY`` before a worker picks the job up.
    :param running_secs: emulated seconds spent in ``RUNNING``.
    :param outcome: terminal status reached after ``running_secs``: ``SUCCEEDED``, ``FAILED``
        or ``TIMED-OUT`` (the last one passes through ``TIMING-OUT`` first).
    :param timing_out_secs: emulated seconds spent in ``TIMING-OUT`` before ``TIMED-OUT``.
    :param abort_grace_secs: emulated seconds a graceful abort stays ``ABORTING`` (Apify: 30 s).
    :param status_message: final ``statusMessage``; a default per outcome when ``None``.
    :param running_message: ``statusMessage`` while the job is running.
    :param exit_code: final ``exitCode``; 0 for ``SUCCEEDED`` and 1 for ``FAILED`` when ``None``.
    :param usage_total_usd: ``usageTotalUsd`` of a job that ran to its end; partial runs are
        charged in proportion to the time they ran.
    :param items: items a run writes to its default dataset, spread evenly over its running
        time (a run that stops early keeps the ones written so far). They are generated from
        their index when read, so a million of them cost no memory.
    :param item_bytes: pad each generated item's JSON to about this many bytes (0: no padding).
    :param output: JSON value of the ``OUTPUT`` record of a run's default key-value store,
        present once the run has ``SUCCEEDED`` (none when ``None``).
    :param log_lines: progress lines the job's log gets while it is ``RUNNING`` (besides the
        lines of each status change).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    ready_secs: float = Field(default=1.0, ge=0)
    running_secs: float = Field(default=5.0, ge=0)
    outcome: ApifyOutcome = "SUCCEEDED"
    timing_out_secs: float = Field(default=2.0, ge=0)
    abort_grace_secs: float = Field(default=30.0, ge=0)
    status_message: str | None = None
    running_message: str | None = "Actor is running"
    exit_code: int | None = None
    usage_total_usd: float = Field(default=0.0042, ge=0)
    items: int = Field(default=0, ge=0)
    item_bytes: int = Field(default=0, ge=0)
    output: Any = None
    log_lines: int = Field(default=3, ge=0)


class TemplateTimeline(BaseModel):
    """Scripted life of a template build: waiting, building (with log entries), an outcome.

    :param waiting_secs: emulated seconds in ``waiting`` (queued, no log entries yet).
    :param building_secs: emulated seconds in ``building``; the log entries are spread over it.
    :param outcome: ``ready`` or ``error``.
    :param steps: build steps; each one gets a ``message`` log entry.
    :param error_step: 1-based step that fails when ``outcome="error"`` (default: the last one).
    :param error_message: failure text of an ``error`` build.
    :param failure_phase: ``failure_phase`` / ``error_detail.phase`` of an ``error`` build.
    :param cancel_delay_secs: emulated seconds between a cancel request and ``cancelled``;
        0 makes the cancel response itself say ``cancelled``.
    :param build_backend: ``native`` or ``buildkit``.
    :param source_type: ``declarative``, ``dockerfile``, ``oci_import`` or ``template_base``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    waiting_secs: float = Field(default=1.0, ge=0)
    building_secs: float = Field(default=4.0, ge=0)
    outcome: TemplateOutcome = "ready"
    steps: tuple[str, ...] = DEFAULT_STEPS
    error_step: int | None = Field(default=None, ge=1)
    error_message: str | None = None
    failure_phase: str = "build_step"
    cancel_delay_secs: float = Field(default=1.0, ge=0)
    build_backend: Literal["buildkit", "native"] = "native"
    source_type: Literal["declarative", "dockerfile", "oci_import", "template_base"] = "declarative"


@dataclass(frozen=True)
class Phase:
    """A status that starts at a moment of the emulator clock and lasts until the next phase."""

    at: float
    status: str


def status_at(phases: list[Phase], now: float) -> str:
    """Return the status of a schedule at ``now`` (the last phase that has started)."""
    current = phases[0].status
    for phase in phases:
        if phase.at <= now:
            current = phase.status
        else:
            break
    return current


def phase_start(phases: list[Phase], status: str) -> float | None:
    """Return when the first phase with ``status`` starts, or ``None``."""
    return next((phase.at for phase in phases if phase.status == status), None)


def terminal_phase(phases: list[Phase], terminal: frozenset[str]) -> Phase:
    """Return the (single, last) terminal phase of a schedule."""
    for phase in phases:
        if phase.status in terminal:
            return phase
    raise ValueError("schedule has no terminal phase")


def apify_schedule(timeline: Timeline, start: float, scale: float, timeout_secs: float | None) -> list[Phase]:
    """Compute the phases of an Apify job created at ``start``.

    A run ``timeout`` shorter than ``running_secs`` (both emulated seconds; 0 means none)
    turns the outcome into ``TIMING-OUT`` then ``TIMED-OUT``, counted from ``RUNNING``.
    """
    phases = [Phase(start, "READY")]
    running_at = start + timeline.ready_secs * scale
    phases.append(Phase(running_at, "RUNNING"))
    if timeout_secs and timeout_secs < timeline.running_secs:
        timing_out_at = running_at + timeout_secs * scale
    elif timeline.outcome == "TIMED-OUT":
        timing_out_at = running_at + timeline.running_secs * scale
    else:
        phases.append(Phase(running_at + timeline.running_secs * scale, timeline.outcome))
        return phases
    phases.append(Phase(timing_out_at, "TIMING-OUT"))
    phases.append(Phase(timing_out_at + timeline.timing_out_secs * scale, "TIMED-OUT"))
    return phases


def apify_abort(phases: list[Phase], now: float, *, gracefully: bool, grace_secs: float, scale: float) -> list[Phase]:
    """Return the schedule after an abort at ``now``.

    Terminal jobs are unchanged. A graceful abort of a started job goes ``ABORTING`` and ends
    ``ABORTED`` after the grace period, or sooner when the job would have ended on its own.
    A non-graceful abort (also of an ``ABORTING`` job) and any abort of a ``READY`` job end
    ``ABORTED`` at once.
    """
    current = status_at(phases, now)
    if current in APIFY_TERMINAL:
        return phases
    natural_end = terminal_phase(phases, APIFY_TERMINAL).at
    kept = [phase for phase in phases if phase.at <= now]
    if current == "ABORTING" and gracefully:
        return phases
    if current == "ABORTING" or current == "READY" or not gracefully:
        return [*kept, Phase(now, "ABORTED")]
    end = min(now + grace_secs * scale, max(natural_end, now))
    return [*kept, Phase(now, "ABORTING"), Phase(end, "ABORTED")]


def template_schedule(timeline: TemplateTimeline, start: float, scale: float) -> list[Phase]:
    """Compute the status phases of a template build queued at ``start``."""
    building_at = start + timeline.waiting_secs * scale
    end_at = building_at + timeline.building_secs * scale
    return [Phase(start, "waiting"), Phase(building_at, "building"), Phase(end_at, timeline.outcome)]


def backdate(schedule: Callable[[float], list[Phase]], status: str, now: float) -> float:
    """Return the start time that makes ``schedule(start)`` be in ``status`` at ``now``."""
    phases = schedule(0.0)
    for index, phase in enumerate(phases):
        if phase.status != status:
            continue
        following = phases[index + 1].at if index + 1 < len(phases) else phase.at + 1.0
        if following <= phase.at:
            break
        return now - phase.at - min(_EPSILON, (following - phase.at) / 2)
    raise ValueError(f"the timeline gives status {status} no time, so a job cannot be created in it")

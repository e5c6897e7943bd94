"""The log of an emulated Apify run or build, derived from its schedule.

Each line has the moment of the emulator clock it is written at: one when the job is created,
one per status change, and ``Timeline.log_lines`` progress lines spread over the ``RUNNING``
time (only those the job is still running for). The log at a moment is the lines written by
then, so it grows as the job runs and the same job always has the same lines.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from airflow_provider_jobs.emulator._util import iso_ms
from airflow_provider_jobs.emulator.apify_records import JobRecord
from airflow_provider_jobs.emulator.timelines import phase_start, status_at

_CHANGES = {
    "RUNNING": "ACTOR: Starting Docker container.",
    "TIMING-OUT": "ACTOR: The Actor run has reached its timeout, stopping it.",
    "TIMED-OUT": "ACTOR: The Actor run has timed out.",
    "ABORTING": "ACTOR: Aborting the Actor run gracefully (sending the aborting event).",
    "ABORTED": "ACTOR: The Actor run was aborted.",
    "SUCCEEDED": "ACTOR: Finished with exit code {code}.",
    "FAILED": "ACTOR: Finished with exit code {code}.",
}
_BUILD_CHANGES = {
    "RUNNING": "ACTOR: Building Docker image for version {version}.",
    "SUCCEEDED": "ACTOR: Build finished, image pushed as build {number}.",
    "FAILED": "ACTOR: Build failed.",
    "ABORTED": "ACTOR: The build was aborted.",
    "TIMED-OUT": "ACTOR: The build has timed out.",
}


def log_lines(job: JobRecord, scale: float) -> list[tuple[float, str]]:
    """Return every ``(moment, text)`` line of ``job``'s log, past and scheduled, in order."""
    build = job.kind == "build"
    first = (
        f"ACTOR: Creating build {job.build_number} of Actor {job.actor.full_name}."
        if build
        else f"ACTOR: Pulling Docker image of build {job.build_number} ({job.build_id}) from the registry."
    )
    lines = [(job.created, first)]
    code = (
        0
        if job.timeline.exit_code is None and job.timeline.outcome == "SUCCEEDED"
        else job.timeline.exit_code
    )
    for phase in job.phases[1:]:
        template = (_BUILD_CHANGES if build else _CHANGES).get(phase.status)
        if template:
            text = template.format(
                code=1 if code is None else code, version=job.version, number=job.build_number
            )
            lines.append((phase.at, text))
    started, count = phase_start(job.phases, "RUNNING"), job.timeline.log_lines
    if started is not None and count:
        step = job.timeline.running_secs * scale / (count + 1)
        for k in range(1, count + 1):
            at = started + k * step
            if status_at(job.phases, at) == "RUNNING":
                lines.append((at, f"INFO  {'Build step' if build else 'Progress'}: {k} of {count} done."))
    lines.sort(key=lambda line: line[0])
    return lines


def render_lines(lines: list[tuple[float, str]], wall: Callable[[float], datetime]) -> str:
    """Return the text of ``lines``, each prefixed with its ISO time."""
    return "".join(f"{iso_ms(wall(at))} {text}\n" for at, text in lines)


def log_text(job: JobRecord, now: float, scale: float, wall: Callable[[float], datetime]) -> str:
    """Return the log of ``job`` as it reads at ``now``."""
    return render_lines([line for line in log_lines(job, scale) if line[0] <= now], wall)

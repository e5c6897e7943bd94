"""Demo data seeded by default when the emulator runs from the command line."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_jobs.emulator.timelines import TemplateTimeline, Timeline

if TYPE_CHECKING:
    from airflow_provider_jobs.emulator.emulator import Emulator

DEMO_ACTORS: dict[str, Timeline] = {
    "demo~hello": Timeline(ready_secs=1, running_secs=5, status_message="Finished! Greeted 1 person."),
    "demo~slow": Timeline(ready_secs=2, running_secs=120, running_message="Crawled 12 of 500 pages"),
    "demo~fails": Timeline(
        ready_secs=1,
        running_secs=4,
        outcome="FAILED",
        exit_code=91,
        status_message="Error: the crawler crashed",
    ),
    "demo~times-out": Timeline(ready_secs=1, running_secs=6, outcome="TIMED-OUT"),
}
DEMO_TEMPLATES: dict[str, TemplateTimeline] = {
    "demo-ready": TemplateTimeline(waiting_secs=1, building_secs=6),
    "demo-error": TemplateTimeline(
        waiting_secs=1,
        building_secs=5,
        outcome="error",
        error_step=2,
        error_message="step 2 of 4 exited with status 2",
    ),
    "demo-slow": TemplateTimeline(waiting_secs=5, building_secs=300, cancel_delay_secs=3),
}


def seed_demo_data(emulator: Emulator) -> None:
    """Seed the demo actors (``demo~hello``, ``demo~slow``, ``demo~fails``, ``demo~times-out``)
    and templates (``demo-ready``, ``demo-error``, ``demo-slow``)."""
    for name, timeline in DEMO_ACTORS.items():
        emulator.seed_actor(name, run=timeline, build=Timeline(ready_secs=2, running_secs=15))
    for name, template_timeline in DEMO_TEMPLATES.items():
        emulator.seed_template(name, template_timeline, description=f"Emulator demo template {name}")

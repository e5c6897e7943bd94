"""Demo data seeded by default when the emulator runs from the command line."""

from __future__ import annotations

from airflow_provider_jobs.emulator.apify_state import ApifyState
from airflow_provider_jobs.emulator.template_state import TemplateState
from airflow_provider_jobs.emulator.timelines import TemplateTimeline, Timeline

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
    # The names the example DAGs use, so they run unchanged against the emulator.
    "apify~hello-world": Timeline(ready_secs=1, running_secs=4, status_message="Actor finished successfully"),
    "apify~web-scraper": Timeline(ready_secs=2, running_secs=600, running_message="Crawled 3 of 100 pages"),
    "demo~my-scraper": Timeline(ready_secs=1, running_secs=5, status_message="Scraped 12 pages"),
    "apify~website-content-crawler": Timeline(
        ready_secs=1, running_secs=4, items=500, item_bytes=300, log_lines=6, status_message="Crawled 500 pages"
    ),
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
    # The names the example DAGs use.
    "etl-runner": TemplateTimeline(waiting_secs=3, building_secs=300, cancel_delay_secs=2),
    "python-etl": TemplateTimeline(waiting_secs=1, building_secs=6),
}


def seed_demo_data(apify: ApifyState, templates: TemplateState) -> None:
    """Seed the demo actors and templates (see ``DEMO_ACTORS`` / ``DEMO_TEMPLATES``)."""
    for name, timeline in DEMO_ACTORS.items():
        apify.seed_actor(name, run=timeline, build=Timeline(ready_secs=2, running_secs=15))
    for name, template_timeline in DEMO_TEMPLATES.items():
        templates.seed_template(name, template_timeline, description=f"Emulator demo template {name}")

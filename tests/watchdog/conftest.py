"""Fixtures of the watchdog tests (helpers: ``_wd``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from _wd import ACTOR, FOREVER, TEMPLATE, Owner

from airflow_provider_jobs.emulator.timelines import TemplateTimeline, Timeline


@pytest.fixture
def emu(jobs_emulator: Any) -> Any:
    """The session emulator with an actor and a template whose jobs never end on their own."""
    forever = Timeline(ready_secs=0, running_secs=FOREVER)
    jobs_emulator.seed_actor(ACTOR, run=forever, build=forever, default_timeout_secs=10**9)
    jobs_emulator.seed_template(TEMPLATE, TemplateTimeline(waiting_secs=0, building_secs=FOREVER))
    return jobs_emulator


@pytest.fixture
def owners() -> Iterator[list[Owner]]:
    """Stand-in task processes of a test; any still running at the end are killed."""
    started: list[Owner] = []
    yield started
    for owner in started:
        if owner.proc.poll() is None:
            owner.proc.kill()
            owner.proc.wait()

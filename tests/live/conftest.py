"""A real local Airflow stack for the paths ``dag.test()`` cannot show.

``dag.test()`` never calls ``trigger.on_kill`` and ignores the defer timeout, so marking a
deferred task failed and Airflow's own defer timeout are proven here, on api-server +
scheduler (LocalExecutor) + dag-processor + triggerer, SQLite, in a temporary AIRFLOW_HOME,
driven through the REST API. The emulator runs in the pytest process; the stack reaches it
over HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _stack import Stack, airflow_stack


@pytest.fixture(scope="session")
def live_stack(jobs_emulator_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Start the stack once per session; stop it (and its children) at the end."""
    home = tmp_path_factory.mktemp("live-airflow-home")
    with airflow_stack(jobs_emulator_server.emulator, home, Path(__file__).resolve().parent / "dags") as stack:
        yield stack

"""pytest plugin (registered through the ``pytest11`` entry point): the ``jobs_emulator`` fixture.

The emulator starts once per test session on a free port in a background thread; before each
test that uses ``jobs_emulator`` it is reset, and ``AIRFLOW_CONN_APIFY_DEFAULT`` and
``AIRFLOW_CONN_TEMPLATE_BUILDS_DEFAULT`` point at it for the duration of the test.

Time runs fast: the default time scale is 0.01 (one emulated second lasts 10 ms). Change it
with the ``jobs_emulator_time_scale`` ini option, the ``AIRFLOW_JOBS_EMULATOR_TIME_SCALE``
environment variable, ``@pytest.mark.jobs_emulator(time_scale=...)`` on a test, or
``jobs_emulator.set_time_scale(...)`` inside one.

Importing this module is cheap on purpose (pytest imports it at start-up, before the test
suite configures Airflow): it imports neither Airflow nor the web stack; the fixture does,
lazily.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from airflow_provider_jobs.emulator.emulator import Emulator
    from airflow_provider_jobs.emulator.server import EmulatorServer

DEFAULT_TIME_SCALE = 0.01
TIME_SCALE_ENV = "AIRFLOW_JOBS_EMULATOR_TIME_SCALE"
TIME_SCALE_INI = "jobs_emulator_time_scale"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the ``jobs_emulator_time_scale`` ini option."""
    parser.addini(
        TIME_SCALE_INI,
        help="real seconds per emulated second for the jobs_emulator fixture (default 0.01)",
        default=None,
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``jobs_emulator`` marker."""
    config.addinivalue_line(
        "markers", "jobs_emulator(time_scale=None): options of the jobs_emulator fixture for one test"
    )


def session_time_scale(config: pytest.Config) -> float:
    """Return the time scale of the session emulator: env var, then ini option, then 0.01."""
    raw = os.environ.get(TIME_SCALE_ENV) or config.getini(TIME_SCALE_INI)
    return float(raw) if raw else DEFAULT_TIME_SCALE


@pytest.fixture(scope="session")
def jobs_emulator_server(pytestconfig: pytest.Config) -> Iterator[EmulatorServer]:
    """Serve one emulator (demo data seeded) on a free local port for the whole session."""
    from airflow_provider_jobs.emulator.emulator import Emulator
    from airflow_provider_jobs.emulator.server import EmulatorServer

    server = EmulatorServer(Emulator(time_scale=session_time_scale(pytestconfig), seed_demo=True))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def jobs_emulator(
    jobs_emulator_server: EmulatorServer, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[Emulator]:
    """Return the session's :class:`~airflow_provider_jobs.emulator.emulator.Emulator`, freshly reset.

    It has ``base_url``, ``apify_token`` and ``templates_token``, seeding methods
    (``seed_actor``, ``seed_template``, ``create_run``, ``create_template_build``, ...),
    the request journal (``journal``, ``requests(...)``) and faults (``add_fault``). Both
    default Airflow connections point at it (JSON ``AIRFLOW_CONN_*`` variables) during the test.
    """
    emulator = jobs_emulator_server.emulator
    emulator.reset()
    marker = request.node.get_closest_marker("jobs_emulator")
    if marker is not None and marker.kwargs.get("time_scale") is not None:
        emulator.set_time_scale(float(marker.kwargs["time_scale"]))
    for name, value in emulator.connection_env().items():
        monkeypatch.setenv(name, value)
    yield emulator
    emulator.clear_faults()

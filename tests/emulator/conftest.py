"""Fixtures of the emulator tests: one served emulator per session, reset before each test.

Time runs at ``TIME_SCALE`` (one emulated second lasts 10 ms), so a default actor run
(1 s ready + 5 s running) finishes in about 60 ms of real time.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from _emulator_helpers import TIME_SCALE

from airflow_provider_jobs.emulator.emulator import Emulator
from airflow_provider_jobs.emulator.server import EmulatorServer


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[EmulatorServer]:
    """An emulator served on a free port for the whole session (no demo data)."""
    server = EmulatorServer(Emulator(time_scale=TIME_SCALE))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def emu(emulator_server: EmulatorServer) -> Iterator[Emulator]:
    """The served emulator, reset; ``base_url`` is set."""
    emulator = emulator_server.emulator
    emulator.reset()
    emulator.max_wait_for_finish = 60.0
    yield emulator
    emulator.clear_faults()


@pytest.fixture
def base_url(emu: Emulator) -> str:
    """Base URL of the served emulator."""
    assert emu.base_url is not None
    return emu.base_url


@pytest.fixture
def apify(emu: Emulator) -> Iterator[httpx.Client]:
    """An httpx client for the Apify API with the default token in the header."""
    assert emu.base_url is not None
    with httpx.Client(
        base_url=emu.base_url, headers={"Authorization": f"Bearer {emu.apify_token}"}, timeout=10
    ) as client:
        yield client


@pytest.fixture
def templates(emu: Emulator) -> Iterator[httpx.Client]:
    """An httpx client for the templates API with the default key in the header."""
    assert emu.base_url is not None
    with httpx.Client(
        base_url=emu.base_url, headers={"Authorization": f"Bearer {emu.templates_token}"}, timeout=10
    ) as client:
        yield client

"""Local in-memory emulator of the Apify API v2 and the Nullspace templates API v1.

Both APIs are served on one port, with scripted job timelines, the real error bodies, a
request journal and fault injection. Start it with ``python -m airflow_provider_jobs.emulator``
or, in tests, with the ``jobs_emulator`` pytest fixture.

This package never imports Airflow. Names are imported lazily (PEP 562), so importing the
package (as the pytest plugin does at start-up) costs nothing until a name is used.

Public names:

- :class:`Emulator`, :class:`ActorRef` (state, seeding, inspection, journal, faults)
- :class:`Timeline`, :class:`TemplateTimeline` (scripted job lives)
- :class:`Fault` (fault-injection rules), :class:`JournalEntry` (journaled requests)
- :class:`EmulatorServer` (serve in a background thread), :class:`EmulatorClient` (control API client)
- :class:`ManualClock` (deterministic time for unit tests)
- ``DEFAULT_APIFY_TOKEN``, ``DEFAULT_TEMPLATES_TOKEN``
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_jobs.emulator._util import ManualClock
    from airflow_provider_jobs.emulator.client import EmulatorClient, EmulatorClientError
    from airflow_provider_jobs.emulator.emulator import Emulator
    from airflow_provider_jobs.emulator.errors import UnknownRecordError
    from airflow_provider_jobs.emulator.faults import Fault
    from airflow_provider_jobs.emulator.journal import JournalEntry
    from airflow_provider_jobs.emulator.refs import DEFAULT_APIFY_TOKEN, DEFAULT_TEMPLATES_TOKEN, ActorRef
    from airflow_provider_jobs.emulator.server import EmulatorServer
    from airflow_provider_jobs.emulator.timelines import TemplateTimeline, Timeline

_EXPORTS = {
    "ActorRef": "refs",
    "DEFAULT_APIFY_TOKEN": "refs",
    "DEFAULT_TEMPLATES_TOKEN": "refs",
    "Emulator": "emulator",
    "EmulatorClient": "client",
    "EmulatorClientError": "client",
    "EmulatorServer": "server",
    "Fault": "faults",
    "JournalEntry": "journal",
    "ManualClock": "_util",
    "TemplateTimeline": "timelines",
    "Timeline": "timelines",
    "UnknownRecordError": "errors",
}

__all__ = [
    "DEFAULT_APIFY_TOKEN",
    "DEFAULT_TEMPLATES_TOKEN",
    "ActorRef",
    "Emulator",
    "EmulatorClient",
    "EmulatorClientError",
    "EmulatorServer",
    "Fault",
    "JournalEntry",
    "ManualClock",
    "TemplateTimeline",
    "Timeline",
    "UnknownRecordError",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))

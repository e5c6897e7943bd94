"""Local in-memory emulator of the Apify API v2 and the Nullspace templates API v1.

Both APIs are served on one port, with scripted job timelines, the real error bodies, a
request journal and fault injection. Start it with ``python -m airflow_provider_jobs.emulator``
or, in tests, with the ``jobs_emulator`` pytest fixture.

This package never imports Airflow, and importing it (as the pytest plugin does at start-up)
imports neither pydantic nor the web stack: it re-exports only the light names below. Import
the others from the module that defines them:

- ``emulator.emulator``: :class:`Emulator` (state, seeding, inspection, journal, faults)
- ``emulator.timelines``: :class:`Timeline`, :class:`TemplateTimeline` (scripted job lives)
- ``emulator.faults``: :class:`Fault` (fault-injection rules)
- ``emulator.server``: :class:`EmulatorServer` (serve in a background thread)
- ``emulator.client``: :class:`EmulatorClient` (control API client)

Re-exported here: :class:`ActorRef`, ``DEFAULT_APIFY_TOKEN``, ``DEFAULT_TEMPLATES_TOKEN``,
:class:`JournalEntry` (journaled requests), :class:`ManualClock` (deterministic time for unit
tests), :class:`UnknownRecordError` and :class:`EmulatorClientError`.
"""

from __future__ import annotations

from airflow_provider_jobs.emulator._util import ManualClock
from airflow_provider_jobs.emulator.errors import EmulatorClientError, UnknownRecordError
from airflow_provider_jobs.emulator.journal import JournalEntry
from airflow_provider_jobs.emulator.refs import DEFAULT_APIFY_TOKEN, DEFAULT_TEMPLATES_TOKEN, ActorRef

__all__ = [
    "DEFAULT_APIFY_TOKEN",
    "DEFAULT_TEMPLATES_TOKEN",
    "ActorRef",
    "EmulatorClientError",
    "JournalEntry",
    "ManualClock",
    "UnknownRecordError",
]

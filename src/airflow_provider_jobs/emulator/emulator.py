"""The :class:`Emulator`: both emulated APIs in memory, with the operations of the table.

The HTTP server (:mod:`~airflow_provider_jobs.emulator.server`) serves an ``Emulator``; tests
seed and inspect the same object from their own thread.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_jobs.emulator.ops import EmulatorApi, Operation
from airflow_provider_jobs.emulator.state import EmulatorState


class Emulator(EmulatorState, EmulatorApi):
    """In-memory Apify and templates APIs: seeding, inspection, journal and faults.

    Every method is thread-safe. Durations in timelines are emulated seconds, multiplied by
    ``time_scale`` to get real seconds (``0.01`` runs a 30 s grace period in 0.3 s). The
    operations (:class:`~airflow_provider_jobs.emulator.ops.EmulatorApi`) run on the service
    states ``apify`` and ``templates``, ``journal_store`` and ``fault_registry``. ``base_url`` is
    set while an :class:`~airflow_provider_jobs.emulator.server.EmulatorServer` serves it, and
    ``max_wait_for_finish`` caps ``waitForFinish`` (real seconds; 60 as on Apify).

    :param time_scale: real seconds per emulated second; applies to jobs created afterwards.
    :param apify_tokens: valid Apify tokens; the first one owns seeded actors.
    :param template_tokens: valid templates API keys.
    :param seed_demo: seed the demo actors and templates (:mod:`~airflow_provider_jobs.emulator.demo`).
    :param clock: time source (a :class:`~airflow_provider_jobs.emulator._util.ManualClock` in unit tests).
    """

    def _invoke(self, op: Operation[..., Any], args: dict[str, Any]) -> Any:
        return op.call_on(self, args)

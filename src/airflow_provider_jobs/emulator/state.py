"""Everything an emulator holds: one state per service, the request journal and the fault rules."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from airflow_provider_jobs.emulator._util import Clock, RealClock, Runtime
from airflow_provider_jobs.emulator.apify_state import ApifyState
from airflow_provider_jobs.emulator.apify_storage import ApifyStorage
from airflow_provider_jobs.emulator.apify_tasks import ApifyTasks
from airflow_provider_jobs.emulator.demo import seed_demo_data
from airflow_provider_jobs.emulator.faults import FaultRegistry
from airflow_provider_jobs.emulator.journal import Journal
from airflow_provider_jobs.emulator.refs import DEFAULT_APIFY_TOKEN, DEFAULT_TEMPLATES_TOKEN, connection_env
from airflow_provider_jobs.emulator.template_state import TemplateState


class EmulatorState:
    """The in-memory state the HTTP app serves and the operations act on (parameters as
    :class:`~airflow_provider_jobs.emulator.emulator.Emulator`'s)."""

    def __init__(
        self,
        *,
        time_scale: float = 1.0,
        apify_tokens: Iterable[str] = (DEFAULT_APIFY_TOKEN,),
        template_tokens: Iterable[str] = (DEFAULT_TEMPLATES_TOKEN,),
        seed_demo: bool = False,
        clock: Clock | None = None,
    ) -> None:
        self._initial = (float(time_scale), tuple(apify_tokens), tuple(template_tokens), seed_demo)
        self._clock = clock or RealClock()
        self.journal_store = Journal()
        self.fault_registry = FaultRegistry()
        self.base_url: str | None = None
        self.max_wait_for_finish = 60.0
        self._build()

    def _build(self) -> None:
        time_scale, apify_tokens, template_tokens, seed_demo = self._initial
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        runtime = Runtime(self._clock, time_scale)
        self.apify = ApifyState(runtime)
        self.apify_storage = ApifyStorage(self.apify)
        self.apify_tasks = ApifyTasks(self.apify)
        self.templates = TemplateState(runtime)
        for token in apify_tokens:
            self.apify.add_token(token)
        for token in template_tokens:
            self.templates.add_token(token)
        if seed_demo:
            seed_demo_data(self.apify, self.templates)

    def reset(self) -> None:
        """Forget every actor, job, template, extra token, fault and journal entry.

        Tokens, time scale and demo data return to what the emulator was created with.
        """
        self.journal_store.clear()
        self.fault_registry.clear()
        self._build()

    def set_time_scale(self, time_scale: float) -> None:
        """Change the time scale for jobs created (or aborted/cancelled) from now on."""
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.apify.runtime.time_scale = float(time_scale)

    def state(self) -> dict[str, Any]:
        """Return a summary: base URL, time scale, tokens and record counts."""
        apify, templates = self.apify, self.templates
        with apify.lock:
            return {
                "base_url": self.base_url,
                "time_scale": apify.runtime.time_scale,
                "apify_tokens": list(apify.tokens),
                "template_tokens": list(templates.callers),
                "actors": [actor.full_name for actor in apify.actors.values()],
                "templates": sorted(templates.templates),
                "runs": len(apify.runs),
                "builds": len(apify.builds),
                "template_builds": len(templates.builds),
                "faults": len(self.fault_registry.active()),
                "journal": len(self.journal_store.select()),
            }

    def connection_env(self) -> dict[str, str]:
        """Return the ``AIRFLOW_CONN_*`` variables of both default connections for the served URL."""
        if self.base_url is None:
            raise RuntimeError("the emulator is not being served; start an EmulatorServer first")
        state = self.state()
        return connection_env(self.base_url, state["apify_tokens"][0], state["template_tokens"][0])

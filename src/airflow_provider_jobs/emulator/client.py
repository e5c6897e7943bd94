"""Drive an emulator running elsewhere (another process, the CLI) through its control API.

:class:`EmulatorClient` has the same method names and arguments as
:class:`~airflow_provider_jobs.emulator.emulator.Emulator`, so a test can seed, inject faults
and read the journal the same way whether the emulator runs in-process or not.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

from airflow_provider_jobs.emulator.errors import UnknownRecordError
from airflow_provider_jobs.emulator.faults import Fault
from airflow_provider_jobs.emulator.journal import JournalEntry
from airflow_provider_jobs.emulator.refs import ActorRef, actor_key
from airflow_provider_jobs.emulator.timelines import TemplateTimeline, Timeline


def _seg(value: str) -> str:
    return quote(value, safe="")


class EmulatorClientError(RuntimeError):
    """The control API rejected a request (bad arguments)."""


class EmulatorClient:
    """HTTP client for the ``/_emulator`` control API of a running emulator.

    :param base_url: the emulator's base URL, e.g. ``http://127.0.0.1:8089``.
    :param timeout: HTTP timeout in seconds.
    """

    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url + "/_emulator", timeout=timeout)

    def close(self) -> None:
        """Close the underlying HTTP client."""
        self._http.close()

    def __enter__(self) -> EmulatorClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _call(
        self,
        verb: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        query = {key: value for key, value in (params or {}).items() if value is not None}
        response = self._http.request(verb, path, json=dict(body) if body is not None else None, params=query)
        if response.status_code == 404:
            raise UnknownRecordError(response.json().get("error", response.text))
        if response.status_code >= 400:
            raise EmulatorClientError(f"{verb} {path}: HTTP {response.status_code}: {response.text}")
        return response.json()

    @staticmethod
    def _drop_none(**values: Any) -> dict[str, Any]:
        return {key: value for key, value in values.items() if value is not None}

    # -- housekeeping -------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """Return the emulator summary (base URL, time scale, tokens, counts)."""
        return dict(self._call("GET", "/state"))

    def reset(self) -> None:
        """Reset the emulator (see :meth:`Emulator.reset`)."""
        self._call("POST", "/reset")

    @property
    def time_scale(self) -> float:
        """Return real seconds per emulated second."""
        return float(self.state()["time_scale"])

    def set_time_scale(self, time_scale: float) -> None:
        """Change the time scale for jobs created from now on."""
        self._call("POST", "/time-scale", {"time_scale": time_scale})

    @property
    def apify_token(self) -> str:
        """Return the first (default) Apify token."""
        return str(self.state()["apify_tokens"][0])

    @property
    def templates_token(self) -> str:
        """Return the first (default) templates API key."""
        return str(self.state()["template_tokens"][0])

    def add_apify_token(self, token: str, *, username: str | None = None) -> str:
        """Register an Apify token; return its username."""
        body = self._drop_none(api="apify", token=token, username=username)
        return str(self._call("POST", "/tokens", body)["username"])

    def add_template_token(self, token: str, *, namespace: str | None = None) -> str:
        """Register a templates API key; return its namespace."""
        body = self._drop_none(api="templates", token=token, namespace=namespace)
        return str(self._call("POST", "/tokens", body)["namespace"])

    # -- Apify --------------------------------------------------------------------------------
    def seed_actor(
        self,
        name: str,
        *,
        actor_id: str | None = None,
        run: Timeline | None = None,
        build: Timeline | None = None,
        default_timeout_secs: int = 3600,
        default_memory_mbytes: int = 1024,
    ) -> ActorRef:
        """Create or re-script an actor (see :meth:`Emulator.seed_actor`)."""
        body = self._drop_none(
            name=name,
            actor_id=actor_id,
            run=run.model_dump() if run else None,
            build=build.model_dump() if build else None,
            default_timeout_secs=default_timeout_secs,
            default_memory_mbytes=default_memory_mbytes,
        )
        return ActorRef(**self._call("POST", "/actors", body))

    def actors(self) -> list[ActorRef]:
        """Return every seeded actor."""
        return [ActorRef(**item) for item in self._call("GET", "/actors")]

    def create_run(
        self,
        actor: str | ActorRef | Mapping[str, Any],
        *,
        status: str | None = None,
        token: str | None = None,
        run_input: Any = None,
        timeout_secs: int | None = None,
        memory_mbytes: int | None = None,
    ) -> str:
        """Create a run directly; return its id (see :meth:`Emulator.create_run`)."""
        body = self._drop_none(
            status=status,
            token=token,
            run_input=run_input,
            timeout_secs=timeout_secs,
            memory_mbytes=memory_mbytes,
        )
        return str(self._call("POST", f"/actors/{_seg(actor_key(actor))}/runs", body)["id"])

    def create_build(
        self,
        actor: str | ActorRef | Mapping[str, Any],
        *,
        version: str = "0.0",
        status: str | None = None,
        token: str | None = None,
        tag: str = "latest",
    ) -> str:
        """Create an actor build directly; return its id."""
        body = self._drop_none(version=version, status=status, token=token, tag=tag)
        return str(self._call("POST", f"/actors/{_seg(actor_key(actor))}/builds", body)["id"])

    def get_run(self, run_id: str) -> dict[str, Any]:
        """Return a run as the API renders it."""
        return dict(self._call("GET", f"/runs/{_seg(run_id)}"))

    def get_build(self, build_id: str) -> dict[str, Any]:
        """Return an actor build as the API renders it."""
        return dict(self._call("GET", f"/builds/{_seg(build_id)}"))

    def runs_of(self, actor: str | ActorRef | Mapping[str, Any]) -> list[dict[str, Any]]:
        """Return every run of an actor, oldest first."""
        return list(self._call("GET", f"/actors/{_seg(actor_key(actor))}/runs"))

    def builds_of(self, actor: str | ActorRef | Mapping[str, Any]) -> list[dict[str, Any]]:
        """Return every build of an actor, oldest first."""
        return list(self._call("GET", f"/actors/{_seg(actor_key(actor))}/builds"))

    def abort_run(self, run_id: str, *, gracefully: bool = False) -> dict[str, Any]:
        """Abort a run out of band; return it."""
        return dict(self._call("POST", f"/runs/{_seg(run_id)}/abort", {"gracefully": gracefully}))

    def abort_build(self, build_id: str) -> dict[str, Any]:
        """Abort an actor build out of band; return it."""
        return dict(self._call("POST", f"/builds/{_seg(build_id)}/abort"))

    # -- templates ----------------------------------------------------------------------------
    def seed_template(
        self,
        name: str,
        timeline: TemplateTimeline | None = None,
        *,
        namespace: str | None = None,
        description: str = "",
        alias: str | None = None,
    ) -> dict[str, Any]:
        """Add a template with a scripted timeline; return its ``TemplateInfo``."""
        body = self._drop_none(
            name=name,
            timeline=timeline.model_dump() if timeline else None,
            namespace=namespace,
            description=description,
            alias=alias,
        )
        return dict(self._call("POST", "/templates", body))

    def create_template_build(
        self,
        name: str,
        *,
        status: str | None = None,
        token: str | None = None,
        timeline: TemplateTimeline | None = None,
        tags: list[str] | None = None,
        reason: str | None = None,
    ) -> str:
        """Create a template build directly; return its id."""
        body = self._drop_none(
            name=name,
            status=status,
            token=token,
            timeline=timeline.model_dump() if timeline else None,
            tags=tags,
            reason=reason,
        )
        return str(self._call("POST", "/template-builds", body)["id"])

    def get_template_build(self, build_id: str, *, offset: int = 0) -> dict[str, Any]:
        """Return a template build's ``{build, entries, next_offset}`` snapshot."""
        return dict(self._call("GET", f"/template-builds/{_seg(build_id)}", params={"offset": offset}))

    def template_builds(self, name: str | None = None) -> list[dict[str, Any]]:
        """Return every template build (of template ``name``), oldest first."""
        return list(self._call("GET", "/template-builds", params={"name": name}))

    def cancel_template_build(self, build_id: str, *, reason: str | None = None) -> dict[str, Any]:
        """Request cancellation of a template build; return the snapshot."""
        return dict(
            self._call("POST", f"/template-builds/{_seg(build_id)}/cancel", self._drop_none(reason=reason))
        )

    # -- journal and faults -------------------------------------------------------------------
    @property
    def journal(self) -> list[JournalEntry]:
        """Return every journaled request, oldest first."""
        return self.requests()

    def requests(
        self,
        method: str | None = None,
        route: str | None = None,
        *,
        path: str | None = None,
        path_regex: str | None = None,
        api: str | None = None,
    ) -> list[JournalEntry]:
        """Return journaled requests matching every given criterion."""
        filters = {"method": method, "route": route, "path": path, "path_regex": path_regex, "api": api}
        found = self._call("GET", "/journal", params=filters)
        return [JournalEntry.from_dict(item) for item in found]

    def clear_journal(self) -> None:
        """Forget every journaled request."""
        self._call("DELETE", "/journal")

    def add_fault(self, fault: Fault | None = None, **fields: Any) -> Fault:
        """Activate a fault rule; return it (with its id)."""
        rule = fault if fault is not None else Fault(**fields)
        return Fault.model_validate(self._call("POST", "/faults", rule.model_dump()))

    def remove_fault(self, fault_id: str) -> bool:
        """Deactivate one fault rule; return whether it was active."""
        return bool(self._call("DELETE", f"/faults/{_seg(fault_id)}")["removed"])

    def clear_faults(self) -> None:
        """Deactivate every fault rule."""
        self._call("DELETE", "/faults")

    @property
    def faults(self) -> list[dict[str, Any]]:
        """Return the active fault rules with ``remaining`` and ``hits``."""
        return list(self._call("GET", "/faults"))

    def fault_hits(self, fault_id: str) -> int:
        """Return how many requests a fault rule has affected so far."""
        return int(self._call("GET", f"/faults/{_seg(fault_id)}")["hits"])

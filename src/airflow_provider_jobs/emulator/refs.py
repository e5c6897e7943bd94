"""Small public value types and constants shared by the emulator, its client and the CLI, and
how records are found by reference."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

DEFAULT_APIFY_TOKEN = "emulator-apify-token"
DEFAULT_TEMPLATES_TOKEN = "emulator-templates-token"


def connection_env(base_url: str, apify_token: str, templates_token: str) -> dict[str, str]:
    """Return ``AIRFLOW_CONN_*`` values (JSON form) for both default connections."""
    return {
        "AIRFLOW_CONN_APIFY_DEFAULT": json.dumps({"conn_type": "apify", "host": base_url, "password": apify_token}),
        "AIRFLOW_CONN_TEMPLATE_BUILDS_DEFAULT": json.dumps(
            {"conn_type": "template_builds", "host": base_url, "password": templates_token}
        ),
    }


@dataclass(frozen=True)
class ActorRef:
    """A seeded actor: its id, owner and name (``full_name`` is ``username~name``)."""

    id: str
    name: str
    username: str

    @property
    def full_name(self) -> str:
        """Return ``username~name``, usable as ``{actorId}`` in paths."""
        return f"{self.username}~{self.name}"


ActorSpec = str | ActorRef | Mapping[str, Any]
"""An actor: an :class:`ActorRef`, its id, ``user~name``, ``user/name`` or a bare name if unique."""


def record_key(record: ActorSpec) -> str:
    """Return the id or name to look a record up by, from a reference, a dict or a string."""
    if isinstance(record, ActorRef):
        return record.id
    if isinstance(record, Mapping):
        return str(record["id"])
    return record


class Named(Protocol):
    """A record found by ``username~name``: an actor or an actor task."""

    @property
    def name(self) -> str: ...
    @property
    def username(self) -> str: ...


N = TypeVar("N", bound=Named)


def find_named(
    records: Mapping[str, N], ref: str, own_username: Callable[[], str], *, bare_name: bool = False
) -> N | None:
    """Resolve a record by id, ``username~name``, ``username/name`` or ``~name`` (the user
    ``own_username()`` names), or with ``bare_name`` by a name only one record has."""
    ref = ref.replace("/", "~")
    if ref in records:
        return records[ref]
    username, tilde, short = ref.rpartition("~")
    if not tilde:
        named = [record for record in records.values() if record.name == ref] if bare_name else []
        return named[0] if len(named) == 1 else None
    username = username or own_username()
    return next((r for r in records.values() if r.username == username and r.name == short), None)

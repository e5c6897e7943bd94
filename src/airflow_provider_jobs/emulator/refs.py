"""Small public value types and constants shared by the emulator, its client and the CLI."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_APIFY_TOKEN = "emulator-apify-token"
DEFAULT_TEMPLATES_TOKEN = "emulator-templates-token"


def connection_env(base_url: str, apify_token: str, templates_token: str) -> dict[str, str]:
    """Return ``AIRFLOW_CONN_*`` values (JSON form) for both default connections."""
    return {
        "AIRFLOW_CONN_APIFY_DEFAULT": json.dumps(
            {"conn_type": "apify", "host": base_url, "password": apify_token}
        ),
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

"""What the task process tells its watchdog, and how: the spec, then one release byte or nothing.

The pipe carries, in this order and nothing else:

1. one **spec frame**: 4-byte big-endian length, then the spec as UTF-8 JSON (:class:`WatchdogSpec`);
2. later, at most one **release byte** :data:`RELEASE`: the task no longer owns the job.

End of file before the release byte means the owner is gone: the watchdog aborts the job. The
token travels only here (a pipe between two processes of one user), never in argv, the
environment or a file.

Stdlib only: the watchdog child imports this before it knows whether it will ever send a request.
"""

from __future__ import annotations

import json
import struct
from dataclasses import asdict, dataclass, field
from typing import Any

PROTOCOL_VERSION = 1
RELEASE = b"R"
"""The byte that releases the job: the watchdog exits without a request."""
MAX_SPEC_BYTES = 1 << 20
"""A spec is ~1 KiB; anything near this is a bug, not a spec."""
_LENGTH = struct.Struct(">I")


@dataclass(frozen=True)
class AbortRequest:
    """The abort/cancel request, prepared by the task process with the hook's own request builder.

    :param method: HTTP method
    :param path: path starting with ``/``, segments already encoded
    :param action: what the request does, for messages (``"Abort of Apify run abc"``)
    :param params: query parameters (never secrets)
    :param body: JSON body; ``None`` sends none
    """

    method: str
    path: str
    action: str
    params: dict[str, str] | None = None
    body: Any = None


@dataclass(frozen=True)
class WatchdogSettings:
    """The connection, resolved by the task process (the watchdog cannot look it up: the task may be
    gone, and with it the link to the supervisor). Mirrors ``ConnectionSettings`` minus ``extra``.

    :param conn_id: Airflow connection id (for messages)
    :param service: ``ServiceInfo`` fields (``label``, ``conn_type``, ``default_base_url``, ``token_hint``)
    :param base_url: validated base URL
    :param token: the API token (only ever sent in ``Authorization``)
    :param timeouts: ``connect``/``read``/``write``/``pool`` seconds
    """

    conn_id: str
    service: dict[str, Any]
    base_url: str
    token: str = field(repr=False)
    timeouts: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class WatchdogSpec:
    """Everything the watchdog needs to abort one job on its own.

    :param kind: job kind for messages (``"Apify run"``, ``"Apify build"``, ``"template build"``)
    :param job_id: the job's id
    :param owner_pid: the task process: the watchdog aborts when it ends without releasing
    :param request: the abort/cancel request
    :param settings: the connection
    :param deadline: seconds the abort may take, retries included
    :param preload: load the HTTP core and build the client as soon as the watchdog starts (the abort
        leaves at once), rather than when the owner dies (a smaller idle watchdog, a later abort)
    """

    kind: str
    job_id: str
    owner_pid: int
    request: AbortRequest
    settings: WatchdogSettings = field(repr=False)
    deadline: float = 30.0
    preload: bool = True

    def describe(self) -> str:
        """``Apify run abc`` (no secret)."""
        return f"{self.kind} {self.job_id}"


def encode_spec(spec: WatchdogSpec) -> bytes:
    """Frame ``spec`` for the pipe."""
    data = json.dumps({"v": PROTOCOL_VERSION, **asdict(spec)}, separators=(",", ":")).encode()
    return _LENGTH.pack(len(data)) + data


def decode_spec(data: bytes) -> WatchdogSpec:
    """Parse a spec frame's payload (without its length prefix).

    :raises ValueError: not a spec of this protocol version
    """
    raw = json.loads(data)
    if not isinstance(raw, dict) or raw.pop("v", None) != PROTOCOL_VERSION:
        raise ValueError("not a watchdog spec of protocol version %d" % PROTOCOL_VERSION)
    return WatchdogSpec(
        kind=str(raw["kind"]),
        job_id=str(raw["job_id"]),
        owner_pid=int(raw["owner_pid"]),
        request=AbortRequest(**raw["request"]),
        settings=WatchdogSettings(**raw["settings"]),
        deadline=float(raw["deadline"]),
        preload=bool(raw.get("preload", True)),
    )


def frame_length(header: bytes) -> int:
    """The payload length announced by a 4-byte frame header.

    :raises ValueError: a length no spec can have
    """
    (length,) = _LENGTH.unpack(header)
    if not 0 < length <= MAX_SPEC_BYTES:
        raise ValueError(f"watchdog spec frame of {length} bytes refused")
    return length


HEADER_BYTES = _LENGTH.size

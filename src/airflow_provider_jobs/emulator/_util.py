"""Small helpers shared by the emulator modules: ids, clocks and timestamp formatting."""

from __future__ import annotations

import asyncio
import secrets
import string
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Protocol

_ALNUM = string.ascii_letters + string.digits
_LOWER_ALNUM = string.ascii_lowercase + string.digits


def apify_id() -> str:
    """Return a random 17-character alphanumeric id, the shape of Apify run, build and storage ids."""
    return "".join(secrets.choice(_ALNUM) for _ in range(17))


def request_id() -> str:
    """Return a random request id, sent as the ``x-request-id`` header."""
    return "req_" + secrets.token_hex(8)


def short_token(length: int = 12) -> str:
    """Return a random lower-case alphanumeric string of ``length`` characters."""
    return "".join(secrets.choice(_LOWER_ALNUM) for _ in range(length))


def iso_ms(moment: datetime) -> str:
    """Format a UTC datetime the way both APIs do: ``2019-11-30T07:34:24.202Z``."""
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class Clock(Protocol):
    """Source of time for the emulator: a monotonic reading and its wall-clock equivalent."""

    def monotonic(self) -> float:
        """Return the current monotonic time in seconds."""

    def to_wall(self, monotonic: float) -> datetime:
        """Convert a monotonic reading of this clock to an aware UTC datetime."""


class RealClock:
    """The real clock: ``time.monotonic`` anchored to the wall clock at construction."""

    def __init__(self) -> None:
        self._mono0 = time.monotonic()
        self._wall0 = datetime.now(timezone.utc)

    def monotonic(self) -> float:
        """Return ``time.monotonic()``."""
        return time.monotonic()

    def to_wall(self, monotonic: float) -> datetime:
        """Convert a monotonic reading to UTC wall time."""
        return self._wall0 + timedelta(seconds=monotonic - self._mono0)


class ManualClock:
    """A clock that only moves when told to; for deterministic unit tests of timelines.

    :param start: wall-clock time that monotonic reading ``0.0`` corresponds to.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._now = 0.0
        self._wall0 = start or datetime(2026, 1, 1, tzinfo=timezone.utc)
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        """Return the current manual reading."""
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        with self._lock:
            self._now += seconds

    def to_wall(self, monotonic: float) -> datetime:
        """Convert a reading of this clock to UTC wall time."""
        return self._wall0 + timedelta(seconds=monotonic)


class Waker:
    """Wakes the requests held open on a job (long polls) when it changes off its schedule.

    A job's scheduled changes are known in advance, so a held request sleeps until the next one;
    an abort (from a request or from the Python API, in another thread) calls :meth:`notify`.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}

    @contextmanager
    def watch(self, key: str) -> Iterator[asyncio.Event]:
        """Register an event, set whenever ``key`` is notified, for the duration of the block."""
        entry = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._waiters.setdefault(key, set()).add(entry)
        try:
            yield entry[1]
        finally:
            with self._lock:
                waiters = self._waiters.get(key)
                if waiters is not None:
                    waiters.discard(entry)
                    if not waiters:
                        del self._waiters[key]

    def notify(self, key: str) -> None:
        """Wake every request held on ``key`` (safe from any thread)."""
        with self._lock:
            waiters = list(self._waiters.get(key, ()))
        for loop, event in waiters:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # that request's loop has closed
                pass


@dataclass
class Runtime:
    """What both services share: the clock, the time scale, the waker of held requests and the
    lock every method of a service state takes (re-entrant: one method may call another)."""

    clock: Clock
    time_scale: float
    waker: Waker = field(default_factory=Waker)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def now(self) -> float:
        """Return the current clock reading."""
        return self.clock.monotonic()

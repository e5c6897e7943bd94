"""Shared pieces of the response models: tolerant status enums and terminal/success sets."""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

log = logging.getLogger(__name__)

E = TypeVar("E", bound="StatusEnum")
_WARNED: set[tuple[str, str]] = set()


class StatusEnum(str, enum.Enum):
    """A status that compares equal to the API's string (``ApifyJobStatus.SUCCEEDED == "SUCCEEDED"``)."""

    def __str__(self) -> str:
        return str(self.value)


class JobStatusEnum(StatusEnum):
    """A job's status whose members know whether they end the job (sets given by :meth:`define_sets`)."""

    @classmethod
    def define_sets(cls, terminal: Iterable[str], success: Iterable[str], stopping: Iterable[str] = ()) -> StatusSets:
        """Build this enum's terminal, success and stopping sets (see :meth:`StatusSets.of`) and return them."""
        sets = _JOB_STATUS_SETS[cls] = StatusSets.of(terminal, success, stopping)
        return sets

    @property
    def is_terminal(self) -> bool:
        """True for a status that ends the job."""
        return _JOB_STATUS_SETS[type(self)].is_terminal(self)

    @property
    def is_success(self) -> bool:
        """True for the successful end."""
        return _JOB_STATUS_SETS[type(self)].is_success(self)


def coerce_status(enum_cls: type[E], value: Any) -> E | str:
    """Return the enum member for ``value``; keep an unknown string as is and warn once.

    A status the provider does not know yet must not break parsing: it counts as not terminal,
    so a wait keeps going until a known terminal status (or the deadline) arrives.
    """
    if isinstance(value, enum_cls):
        return value
    if not isinstance(value, str):
        raise ValueError(f"status must be a string, got {type(value).__name__}")
    try:
        return enum_cls(value)
    except ValueError:
        key = (enum_cls.__name__, value)
        if key not in _WARNED:
            _WARNED.add(key)
            log.warning("Unknown %s %r: treated as not terminal.", enum_cls.__name__, value)
        return value


_JOB_STATUS_SETS: dict[type[JobStatusEnum], StatusSets] = {}


@dataclass(frozen=True)
class StatusSets:
    """The terminal, success and stopping statuses of one job kind.

    *Stopping* statuses are not terminal but say the job is about to end without success (Apify
    ``ABORTING``, ``TIMING-OUT``): a retry must not adopt such a job.
    """

    terminal: frozenset[str]
    success: frozenset[str]
    stopping: frozenset[str] = frozenset()

    @classmethod
    def of(cls, terminal: Iterable[str], success: Iterable[str], stopping: Iterable[str] = ()) -> StatusSets:
        """Build the sets; every success status must be terminal, no stopping status terminal."""
        t, s, st = frozenset(terminal), frozenset(success), frozenset(stopping)
        if not s <= t:
            raise ValueError("every success status must be terminal")
        if st & t:
            raise ValueError("a stopping status cannot be terminal")
        return cls(t, s, st)

    def is_terminal(self, status: str | None) -> bool:
        """Return True if ``status`` ends the job."""
        return status in self.terminal

    def is_success(self, status: str | None) -> bool:
        """Return True if ``status`` is a successful end."""
        return status in self.success

    def is_stopping(self, status: str | None) -> bool:
        """Return True if ``status`` says the job is about to end without success."""
        return status in self.stopping


class ApiModel(BaseModel):
    """Base of every response model: unknown fields are kept, extra attributes allowed."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=False, defer_build=True)

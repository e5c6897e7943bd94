"""Checks applied to ids and arguments before any request is made.

Ids are opaque to us (Apify documents no pattern, template build ids only a ``tb_`` prefix),
so the check is about safety, not format: an id must be a short string of URL-unreserved
characters (letters, digits, ``-``, ``.``, ``_``, ``~``) that cannot change the request's path
or query. A refused id raises :class:`~airflow_provider_jobs.exceptions.InvalidIdError`, any other
refused argument :class:`~airflow_provider_jobs.exceptions.InvalidArgumentError` (its base), naming
the argument and the problem.
"""

from __future__ import annotations

import math
import re
from typing import Any

from airflow_provider_jobs.exceptions import InvalidArgumentError, InvalidIdError

MAX_ID_LENGTH = 128
MAX_ACTOR_ID_LENGTH = 256
MAX_REASON_LENGTH = 500

_SAFE_ID = re.compile(r"[A-Za-z0-9._~-]+")
_PROBLEMS: tuple[tuple[str, str], ...] = (
    ("/", "'/'"),
    ("\\", "'\\'"),
    ("?", "'?'"),
    ("#", "'#'"),
    ("%", "'%' (ids are sent encoded; pass the raw id)"),
)


def _show(value: str) -> str:
    shown = value if len(value) <= 40 else value[:37] + "..."
    return repr(shown)


def show_value(value: Any) -> str:
    """``repr(value)`` cut to a readable length, for messages about a refused argument."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _problem(value: str) -> str | None:
    if value == "":
        return "it is empty"
    if value.strip() != value or any(ch.isspace() for ch in value):
        return "it contains whitespace"
    for needle, label in _PROBLEMS:
        if needle in value:
            return f"it contains {label}"
    if value in (".", "..") or ".." in value:
        return "it contains '..'"
    if not _SAFE_ID.fullmatch(value):
        return "it contains characters other than letters, digits, '-', '.', '_' and '~'"
    return None


def validate_job_id(value: Any, what: str) -> str:
    """Return ``value`` if it is a safe job id, else raise :class:`InvalidIdError`.

    :param value: the id given by the user
    :param what: what the id is, for the message, e.g. ``"Apify run id"``
    """
    if not isinstance(value, str):
        raise InvalidIdError(f"Invalid {what}: expected a string, got {type(value).__name__}.")
    if len(value) > MAX_ID_LENGTH:
        raise InvalidIdError(
            f"Invalid {what} {_show(value)}: it is {len(value)} characters long "
            f"(at most {MAX_ID_LENGTH})."
        )
    problem = _problem(value)
    if problem:
        raise InvalidIdError(f"Invalid {what} {_show(value)}: {problem}.")
    return value


def normalize_actor_id(value: Any) -> str:
    """Return an Apify actor reference ready for a URL path segment.

    Accepts an actor id (``HDSasDasz78YcAPEB``), ``username~actor-name``, ``~actor-name`` and
    ``username/actor-name`` (turned into the ``~`` form, as the official client does).

    :param value: the actor reference given by the user
    """
    return normalize_named_id(value, "Apify actor id", "actor")


def normalize_named_id(value: Any, what: str, kind: str) -> str:
    """Return an Apify resource reference (actor, task, dataset, key-value store) ready for a path segment.

    Accepts an id, ``username~name``, ``~name`` and ``username/name`` (turned into the ``~`` form, as
    the official client does); refuses anything else with :class:`InvalidIdError`.

    :param value: the reference given by the user
    :param what: what it is, for the message, e.g. ``"Apify dataset id"``
    :param kind: the resource's name in the usage hint, e.g. ``"dataset"``
    """
    if not isinstance(value, str):
        raise InvalidIdError(f"Invalid {what}: expected a string, got {type(value).__name__}.")
    if len(value) > MAX_ACTOR_ID_LENGTH:
        raise InvalidIdError(
            f"Invalid {what} {_show(value)}: it is {len(value)} characters long "
            f"(at most {MAX_ACTOR_ID_LENGTH})."
        )
    an = "an" if kind[:1] in "aeiou" else "a"
    candidate = value
    if value.count("/") == 1 and "~" not in value:
        owner, _, name = value.partition("/")
        if owner and name:
            candidate = f"{owner}~{name}"
    problem = _problem(candidate)
    if problem is None and candidate.count("~") > 1:
        problem = f"it has more than one '~' (use 'username~{kind}-name' or {an} {kind} id)"
    if problem is None and candidate.endswith("~"):
        problem = f"the {kind} name after '~' is empty"
    if problem:
        raise InvalidIdError(
            f"Invalid {what} {_show(value)}: {problem}. "
            f"Use {an} {kind} id or 'username~{kind}-name' / 'username/{kind}-name'."
        )
    return candidate


def validate_reason(value: Any, what: str = "cancel reason") -> str | None:
    """Return a cancel reason that is safe to send, or raise :class:`InvalidArgumentError`.

    ``None`` stays ``None``. Control characters other than tab and newline are refused; a reason
    longer than :data:`MAX_REASON_LENGTH` is cut with an ellipsis (the API documents no limit,
    so we stay well under any plausible one).
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidArgumentError(f"Invalid {what}: expected a string, got {type(value).__name__}.")
    if any((ord(ch) < 32 and ch not in "\t\n") or ord(ch) == 127 for ch in value):
        raise InvalidArgumentError(f"Invalid {what}: it contains control characters.")
    value = value.strip()
    if not value:
        return None
    if len(value) > MAX_REASON_LENGTH:
        value = value[: MAX_REASON_LENGTH - 3] + "..."
    return value


def validate_wait_seconds(value: Any, what: str) -> float | None:
    """Return a finite, non-negative number of seconds, ``None`` unchanged; refuse anything else."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidArgumentError(f"Invalid {what}: expected a number of seconds, got {type(value).__name__}.")
    try:
        seconds = float(value)
    except OverflowError:  # an int beyond float range
        seconds = math.inf
    if not math.isfinite(seconds) or seconds < 0:  # NaN, infinite or negative
        raise InvalidArgumentError(
            f"Invalid {what}: {show_value(value)} is not a finite, non-negative number of seconds."
        )
    return seconds


def validate_flag(value: Any, what: str) -> bool:
    """Return ``value`` if it is ``True`` or ``False``; refuse anything else (``"yes"``, ``1``)."""
    if not isinstance(value, bool):
        raise InvalidArgumentError(f"Invalid {what}: expected True or False, got {show_value(value)}.")
    return value


def validate_count(value: Any, what: str, *, minimum: int = 1) -> int:
    """Return ``value`` if it is an integer (not a bool) of at least ``minimum``; refuse anything else."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidArgumentError(f"Invalid {what}: expected an integer >= {minimum}, got {show_value(value)}.")
    return value


def validate_positive_number(value: Any, what: str) -> float:
    """Return ``value`` as a float if it is a finite number above 0; refuse anything else."""
    try:
        number = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan
    except OverflowError:  # an int beyond float range
        number = math.inf
    if not (math.isfinite(number) and number > 0):
        raise InvalidArgumentError(f"Invalid {what}: expected a positive number, got {show_value(value)}.")
    return number


MAX_RECORD_KEY_LENGTH = 256
_RECORD_KEY = re.compile(r"[A-Za-z0-9!\-_.'()]+")


def validate_record_key(value: Any) -> str:
    """Return ``value`` if it is a valid key-value store key, else raise :class:`InvalidArgumentError`.

    Apify's rule (docs, *Key-value store*): at most 256 characters from ``a-zA-Z0-9!-_.'()``.
    """
    if not isinstance(value, str):
        raise InvalidArgumentError(f"Invalid record key: expected a string, got {type(value).__name__}.")
    if not value or len(value) > MAX_RECORD_KEY_LENGTH:
        raise InvalidArgumentError(
            f"Invalid record key {_show(value)}: it must be 1 to {MAX_RECORD_KEY_LENGTH} characters long."
        )
    if not _RECORD_KEY.fullmatch(value):
        raise InvalidArgumentError(
            f"Invalid record key {_show(value)}: use only letters, digits and the characters ! - _ . ' ( )."
        )
    return value


def validate_field_names(value: Any, what: str) -> list[str] | None:
    """Return a list of item field names (``fields``, ``omit``), ``None`` unchanged; refuse anything else.

    A name must be a non-empty string without ``,`` (the API joins the list with commas) or whitespace
    at either end. A bare string is refused too: ``fields="a,b"`` is almost always a mistake for
    ``["a", "b"]``.
    """
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise InvalidArgumentError(f"Invalid {what}: expected a list of field names, got {show_value(value)}.")
    names = list(value)
    bad = [n for n in names if not isinstance(n, str) or not n or "," in n or n.strip() != n]
    if bad or not names:
        raise InvalidArgumentError(
            f"Invalid {what}: {show_value(bad[0]) if bad else 'the list is empty'}; "
            "each field name must be a non-empty string without commas."
        )
    return names


# ------------------------------------------------ rendered templates back to values
def as_int(value: Any) -> Any:
    """Turn a rendered template such as ``"300"`` back into ``300``; leave anything else as is."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return value


def as_float(value: Any) -> Any:
    """Turn a rendered template such as ``"1.5"`` back into ``1.5``; leave anything else as is."""
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return value
    return value


def as_bool(value: Any) -> Any:
    """Turn a rendered ``"True"``/``"false"`` back into a bool; leave anything else as is."""
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return value

"""Starting a job again while the account has no room for it (``wait_for_capacity``).

Apify refuses a start with ``concurrent-runs-limit-exceeded`` or ``actor-memory-limit-exceeded``
when the account's other runs use up its concurrent-runs or memory limit
(:attr:`~airflow_provider_jobs.exceptions.JobsApiError.is_capacity_refusal`). Such a refusal is
given before any work is done, so the start may be sent again; it passes once other runs end.
:func:`start_when_capacity_allows` is the one loop that does so, for every operator that starts
runs. It repeats nothing else: a start is not idempotent, and any other error may mean a run was
created.
"""

from __future__ import annotations

import copy
import logging
import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

from airflow_provider_jobs._retry import RetryPolicy
from airflow_provider_jobs._validation import as_float, validate_wait_seconds
from airflow_provider_jobs.exceptions import JobsApiError

J = TypeVar("J")

CAPACITY_BACKOFF = RetryPolicy(base_delay=4.0, max_delay=60.0)
"""Delays between starts refused for capacity: 2-4 s, then doubling, up to 30-60 s with jitter
(only :meth:`RetryPolicy.backoff` is used; ``wait_for_capacity`` is the budget)."""

log = logging.getLogger(__name__)


def capacity_wait_seconds(value: Any) -> float:
    """``wait_for_capacity`` as seconds (a rendered ``"600"`` too); ``None`` or 0: do not wait.

    :raises InvalidArgumentError: for anything but a finite number of seconds >= 0
    """
    return validate_wait_seconds(as_float(value), "wait_for_capacity") or 0.0


def start_when_capacity_allows(
    start: Callable[[], J],
    wait_for: float,
    *,
    what: str,
    logger: logging.Logger | Any = log,
    should_stop: Callable[[], bool] = lambda: False,
    backoff: RetryPolicy = CAPACITY_BACKOFF,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    rng: Callable[[], float] = random.random,
) -> J:
    """Call ``start`` until it is not refused for account capacity, for at most ``wait_for`` seconds.

    Each capacity refusal logs one line, then the next start follows a jittered exponential
    backoff, never later than the deadline (the last start is sent at the deadline). Any other
    error, and a refusal with ``wait_for`` 0, is raised as it is.

    :param start: sends the start request once and returns the job
    :param wait_for: seconds to keep trying (0: do not wait)
    :param what: what is started, for the log (``"Apify run"``)
    :param logger: the task's logger
    :param should_stop: true when the task was told to stop (then the last refusal is raised)
    :param backoff: the delays between refused starts
    :param clock: monotonic seconds (injected by tests)
    :param sleep: waits between starts (injected by tests)
    :param rng: the jitter's random source
    :raises JobsApiError: the last refusal once ``wait_for`` seconds passed, its message saying how
        long the task waited; any other error of ``start`` at once
    """
    began = clock()
    refusals = 0
    while True:
        try:
            return start()
        except JobsApiError as exc:
            if not exc.is_capacity_refusal or wait_for <= 0:
                raise
            waited = clock() - began
            if waited >= wait_for:
                raise _noted(exc, f"Waited {waited:.0f} s (wait_for_capacity={wait_for:g}) for the account to "
                                  "have room; giving up.") from None
            refusals += 1
            delay = min(backoff.backoff(refusals, rng), wait_for - waited)
            logger.warning("Start of %s refused: the account is at its limit (%s: %s). Trying again in %.1f s "
                           "(waited %.0f of %g s).", what, exc.error_type, exc.api_message or "no message",
                           delay, waited, wait_for)
            sleep(delay)
            if should_stop():  # SIGTERM while sleeping: start nothing more
                raise _noted(exc, f"The task was stopped while waiting for capacity ({clock() - began:.0f} s); "
                                  "nothing was started.") from None


def _noted(exc: JobsApiError, note: str) -> JobsApiError:
    """A copy of ``exc`` (same class and attributes) whose message ends with ``note``."""
    noted = copy.copy(exc)  # JobsError.__reduce__ keeps every attribute
    noted.args = (f"{exc} {note}",)
    return noted


__all__ = ["CAPACITY_BACKOFF", "capacity_wait_seconds", "start_when_capacity_allows"]

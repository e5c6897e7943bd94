"""The one attempt loop of the HTTP core, without I/O.

A sender (``request``, ``arequest``, ``stream``, ``astream`` of :class:`~._http.HttpCore`) makes
an attempt, hands what it ended in to :meth:`Attempts.after` and does what the answer says:

* :class:`Wait` — sleep ``delay`` seconds, then send again;
* :class:`Done` — the call succeeded: return ``result``;
* :class:`Fail` — give up: raise ``error``.

Everything else (classifying the answer, the retry policy and its budget, Retry-After, the
wording of the error, the log line of a retry) is decided here, once for all four senders::

    attempts = Attempts(call, settings, policy)
    while isinstance(step := attempts.after(send(call)), Wait):
        sleep(step.delay)
    return step.unwrap()
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

import httpx

from airflow_provider_jobs._call import Call
from airflow_provider_jobs._classify import classify
from airflow_provider_jobs._connection import ConnectionSettings
from airflow_provider_jobs._describe import describe, retry_reason
from airflow_provider_jobs._retry import RetryPolicy
from airflow_provider_jobs.exceptions import JobsApiError

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Wait:
    """Sleep ``delay`` seconds, then make the next attempt."""

    delay: float


@dataclass(slots=True)
class Done:
    """The call succeeded with ``result``."""

    result: Any

    def unwrap(self) -> Any:
        """Return the result."""
        return self.result


@dataclass(slots=True)
class Fail:
    """The call failed: ``error`` is what to raise."""

    error: JobsApiError

    def unwrap(self) -> NoReturn:
        """Raise the error."""
        raise self.error


class Attempts:
    """The attempts of one call: fed each attempt's outcome, it answers what to do next.

    :param call: the call being made
    :param settings: its connection (service description, id, base URL, token to scrub)
    :param policy: how many times and how long to retry
    :param clock: monotonic clock (the elapsed budget counts from construction)
    :param rng: random source for jitter
    """

    __slots__ = ("call", "number", "_settings", "_policy", "_clock", "_rng", "_start")

    def __init__(
        self,
        call: Call,
        settings: ConnectionSettings,
        policy: RetryPolicy,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.call = call
        self.number = 0
        """Attempts made so far."""
        self._settings = settings
        self._policy = policy
        self._clock = clock
        self._rng = rng
        self._start = clock()

    def after(self, result: httpx.Response | BaseException) -> Wait | Done | Fail:
        """Judge the attempt just made and say what to do next.

        :param result: the response (body read, unless it is a successful stream), or the
            exception raised while sending or reading
        """
        self.number += 1
        c = classify(self.call, result, self._settings.service)
        if c.problem is None:
            return Done(c.payload)
        if c.retryable:
            # Retry-After is honoured on 429 only: a rate limit says when to come back.
            hint = c.retry_after if c.status == 429 else None
            delay = self._policy.next_delay(self.number, self._clock() - self._start, hint, self._rng)
            if delay is not None:
                log.info(
                    "%s: %s; retrying in %.2f s (attempt %d of %d).",
                    self.call.action,
                    retry_reason(c, self._settings),
                    delay,
                    self.number + 1,
                    self._policy.max_retries + 1,
                )
                return Wait(delay)
        return Fail(describe(self.call, c, self.number, self._settings))

"""One wait loop for every job kind: fetch until terminal, bounded by a deadline.

``fetch(budget)`` gets the job once; ``budget`` is the seconds left, which a service with a
long poll (Apify's ``waitForFinish``) uses to hold the request open until the job ends. The loop
raises :class:`~airflow_provider_jobs.exceptions.JobWaitTimeout` at the deadline instead of
quietly returning an unfinished job, tolerates a 404 for ``not_found_grace`` seconds (replicas
lag right after a start), logs one line per status change, and stops early when ``should_stop``
says so (used by ``on_kill``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from airflow_provider_jobs.exceptions import JobWaitTimeout, NotFoundError
from airflow_provider_jobs.models._base import StatusSets

log = logging.getLogger(__name__)
J = TypeVar("J")


class WaitInterrupted(Exception):
    """The wait was asked to stop (``should_stop`` returned True)."""


@dataclass
class WaitSpec(Generic[J]):
    """What the loop needs to know about one job.

    :param kind: ``"Apify run"``, ``"Apify build"``, ``"template build"``
    :param job_id: the job's id
    :param statuses: terminal/success sets
    :param status_of: read the status from a fetched job
    :param timeout: seconds to wait at most (``None``: no deadline)
    :param poll_interval: pause between fetches (long polls return at once when the job ends,
        so they need only a small floor here)
    :param not_found_grace: seconds during which a 404 is taken as replication lag
    """

    kind: str
    job_id: str
    statuses: StatusSets
    status_of: Callable[[J], Any]
    timeout: float | None
    poll_interval: float = 0.25
    not_found_grace: float = 0.0


class _Loop(Generic[J]):
    """The I/O-free state of one wait; the sync and async drivers only fetch and sleep."""

    def __init__(self, spec: WaitSpec[J], clock: Callable[[], float]) -> None:
        self.spec = spec
        self.clock = clock
        self.start = clock()
        self.last_ok = self.start
        self.last_status: Any = None

    def budget(self) -> float | None:
        if self.spec.timeout is None:
            return None
        return max(0.0, self.spec.timeout - (self.clock() - self.start))

    def seen(self, job: J | None) -> bool:
        """Record a fetched job (``None``: nothing learnt this time); return True if terminal."""
        if job is None:
            return False
        self.last_ok = self.clock()
        status = self.spec.status_of(job)
        if status != self.last_status:
            log.info("%s %s is %s.", self.spec.kind, self.spec.job_id, status)
            self.last_status = status
        return self.spec.statuses.is_terminal(status)

    def not_found(self, err: NotFoundError) -> None:
        """Re-raise ``err`` unless it falls inside the grace window."""
        if self.clock() - self.last_ok >= self.spec.not_found_grace:
            raise err
        log.info("%s %s not visible yet (HTTP 404); retrying.", self.spec.kind, self.spec.job_id)

    def pause(self) -> float:
        """Return how long to sleep before the next fetch; raise at the deadline."""
        budget = self.budget()
        if budget is not None and budget <= 0:
            raise JobWaitTimeout(
                self.spec.kind, self.spec.job_id, self.last_status, self.clock() - self.start
            )
        pause = self.spec.poll_interval
        return pause if budget is None else min(pause, budget)


def wait_until_terminal(
    spec: WaitSpec[J],
    fetch: Callable[[float | None], J | None],
    *,
    should_stop: Callable[[], bool] = lambda: False,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> J:
    """Fetch the job until it is terminal and return it.

    :raises JobWaitTimeout: still not terminal at the deadline
    :raises WaitInterrupted: ``should_stop()`` became true
    :raises NotFoundError: a 404 outside the grace window
    """
    loop = _Loop(spec, clock)
    while True:
        if should_stop():
            raise WaitInterrupted(f"wait for {spec.kind} {spec.job_id} interrupted")
        try:
            job = fetch(loop.budget())
        except NotFoundError as err:
            loop.not_found(err)
        else:
            if loop.seen(job):
                return job  # type: ignore[return-value]
        sleep(loop.pause())


async def await_until_terminal(
    spec: WaitSpec[J],
    fetch: Callable[[float | None], Awaitable[J | None]],
    *,
    should_stop: Callable[[], bool] = lambda: False,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
) -> J:
    """Async twin of :func:`wait_until_terminal`."""
    loop = _Loop(spec, clock)
    while True:
        if should_stop():
            raise WaitInterrupted(f"wait for {spec.kind} {spec.job_id} interrupted")
        try:
            job = await fetch(loop.budget())
        except NotFoundError as err:
            loop.not_found(err)
        else:
            if loop.seen(job):
                return job  # type: ignore[return-value]
        await sleep(loop.pause())

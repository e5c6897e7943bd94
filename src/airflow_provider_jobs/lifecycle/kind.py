"""What the lifecycle knows about one job kind, and one job seen through it.

A :class:`JobKind` describes a kind of remote job (an Apify run, an Apify build, a template
build): its hook class, its statuses, the words of its API ("abort" / "cancel"), how to read an id,
a status, a summary and a console link from a fetched job, and the one request each for getting
and aborting it. The three kinds are subclasses in ``lifecycle/apify.py`` and
``lifecycle/template_builds.py``: data and hook calls, no loops.

A :class:`JobWatch` is one job seen through its kind by one hook: fetch, abort, wait, and the
job's log lines not shown yet (the log cursor). Operators, sensors, triggers and the hooks'
own ``wait_for_*`` methods all wait through it.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncGenerator, Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from airflow_provider_jobs._call import Call
from airflow_provider_jobs._validation import validate_job_id, validate_wait_seconds
from airflow_provider_jobs.exceptions import JobFailedError
from airflow_provider_jobs.hooks._apify_results import LogTail
from airflow_provider_jobs.hooks._base import JobsHook
from airflow_provider_jobs.lifecycle.wait import WaitSpec, await_until_terminal, wait_until_terminal
from airflow_provider_jobs.models._base import StatusSets

H = TypeVar("H", bound=JobsHook)
J = TypeVar("J")
J_contra = TypeVar("J_contra", contravariant=True)

LogLine = Callable[[str], Any]
"""Where a job's log lines go (``task.log.info``); ``None`` where they go nowhere."""


class Outcome(enum.Enum):
    """What a job status means for the task waiting on it."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


def decide(statuses: StatusSets, status: Any) -> Outcome:
    """Judge a job status: still running, succeeded, or ended badly."""
    if not statuses.is_terminal(status):
        return Outcome.RUNNING
    return Outcome.SUCCEEDED if statuses.is_success(status) else Outcome.FAILED


@dataclass(frozen=True)
class AbortOptions:
    """How to abort or cancel.

    :param gracefully: Apify runs: graceful abort (ABORTING, force-stopped ~30 s later)
    :param reason: template builds: the cancel reason recorded on the build
    """

    gracefully: bool = False
    reason: str | None = None


PLAIN_ABORT = AbortOptions()
"""An immediate abort, or a cancel without a reason."""


class LogCursor(Protocol[J_contra]):
    """Remembers which of a job's log lines were shown; each line is handed out once."""

    @property
    def next_offset(self) -> int:
        """The first log entry not seen yet (sent back to the service on the next fetch)."""

    def new_lines(self, job: J_contra) -> list[str]:
        """Return the lines of ``job`` (a fetch or an abort answer) not handed out before."""


class JobKind(Generic[H, J]):
    """One kind of remote job, as the lifecycle sees it.

    Subclasses set the class attributes and implement the reading and request methods.

    :cvar name: human name, ``"Apify run"``
    :cvar id_label: what its id is called in messages, ``"Apify run id"``
    :cvar xcom_key: XCom key of the job id (``run_id`` / ``build_id``)
    :cvar verb: the API's word, ``"abort"`` or ``"cancel"``
    :cvar verbed: its past participle, ``"aborted"`` or ``"cancelled"``
    :cvar hook_class: the hook talking to the service
    :cvar statuses: terminal, success and stopping statuses
    :cvar long_polls: the service holds a status request open until the job ends (Apify
        ``waitForFinish``), so a wait needs no poll interval of its own
    :cvar poll_interval: default pause between two fetches of a wait
    :cvar streams_log: the service streams the job's log while it runs (Apify): a wait whose log
        lines go somewhere reads that stream instead of long-polling the status, and a bad end
        carries the last lines of the log
    """

    name: ClassVar[str]
    id_label: ClassVar[str]
    xcom_key: ClassVar[str]
    verb: ClassVar[str]
    verbed: ClassVar[str]
    hook_class: type[H]
    statuses: ClassVar[StatusSets]
    long_polls: ClassVar[bool] = False
    poll_interval: ClassVar[float] = 2.0
    streams_log: ClassVar[bool] = False

    def __repr__(self) -> str:
        return f"<job kind {self.name}>"

    @property
    def default_conn_id(self) -> str:
        """The hook's default connection id."""
        return self.hook_class.default_conn_name

    def hook(self, conn_id: str, **kwargs: Any) -> H:
        """Return a hook for ``conn_id`` (``kwargs``: transports, retry policy, request timeout)."""
        return self.hook_class(conn_id, **kwargs)

    # ------------------------------------------------------------ reading a job
    def job_id(self, job: J) -> str:
        """The id of a fetched job."""
        raise NotImplementedError

    def status(self, job: J) -> Any:
        """The status of a fetched job."""
        raise NotImplementedError

    def detail(self, job: J) -> str | None:
        """The service's status message or error text, if any."""
        return None

    def summary(self, hook: H, job: J) -> dict[str, Any]:
        """The small JSON dict operators return and push (never items or whole logs)."""
        raise NotImplementedError

    def console_url(self, hook: H, job: J) -> str | None:
        """Where a human can look at the job, if anywhere."""
        return None

    def stopping(self, job: J) -> bool:
        """Whether a job that has not ended is already being aborted/cancelled or timed out."""
        return self.statuses.is_stopping(self.status(job))

    def outcome(self, job: J) -> Outcome:
        """Judge a fetched job."""
        return decide(self.statuses, self.status(job))

    def failure(self, hook: H, job: J, log_tail: Sequence[str] = ()) -> JobFailedError:
        """The error for a job that ended in a bad terminal status: kind, id, status, detail, link and
        the last lines of its log (``log_tail``, fetched by the caller)."""
        return JobFailedError(self.name, self.job_id(job), str(self.status(job)), detail=self.detail(job),
                              console_url=self.console_url(hook, job), log_tail=log_tail)

    # ---------------------------------------------------- one request each
    def log_cursor(self, job_id: str) -> LogCursor[J] | None:
        """A cursor over the job's log lines carried by fetches and aborts (``None``: none)."""
        return None

    def get(self, hook: H, job_id: str, budget: float | None, cursor: LogCursor[J] | None) -> J:
        """Fetch the job once; a long-polling service may hold the request ``budget`` seconds."""
        raise NotImplementedError

    async def aget(self, hook: H, job_id: str, budget: float | None, cursor: LogCursor[J] | None) -> J:
        """Async twin of :meth:`get`."""
        raise NotImplementedError

    def abort(self, hook: H, job_id: str, options: AbortOptions) -> J:
        """Abort/cancel the job; return it as the service answered."""
        raise NotImplementedError

    async def aabort(self, hook: H, job_id: str, options: AbortOptions) -> J:
        """Async twin of :meth:`abort`."""
        raise NotImplementedError

    def abort_call(self, hook: H, job_id: str, options: AbortOptions) -> Call:
        """The request :meth:`abort` sends, validated and encoded by the hook but not sent (the
        watchdog sends it from another process)."""
        raise NotImplementedError

    # -------------------------------------------------------- the log (streams_log)
    def log_connection(self, hook: H, job_id: str, tail: LogTail, *, follow: bool,
                       read_timeout: float | None = None) -> Generator[str, None, None]:
        """Read the job's log over one connection: the whole lines ``tail`` has not let through yet
        (a last line without its line end is left in ``tail.finish()``).

        :param follow: keep reading while the job runs (the stream ends when the job does);
            otherwise the log as it is now
        :param read_timeout: seconds the connection may stay silent (a followed log)
        :raises httpx.TransportError: the connection broke or stayed silent (``httpx.ReadTimeout``)
        :raises JobsApiError: it could not be opened (after the core's retries)
        """
        raise NotImplementedError

    def alog_connection(self, hook: H, job_id: str, tail: LogTail, *, follow: bool,
                        read_timeout: float | None = None) -> AsyncGenerator[str, None]:
        """Async twin of :meth:`log_connection`."""
        raise NotImplementedError

    # ----------------------------------------------------------------- waiting
    def wait_spec(self, job_id: str, timeout: float | None, *, not_found_grace: float = 0.0,
                  poll_interval: float | None = None) -> WaitSpec[J]:
        """Describe a wait for one job of this kind (``poll_interval``: the kind's own by default).

        :raises InvalidIdError: a bad job id
        :raises InvalidArgumentError: a timeout or poll interval that is not a non-negative number
        """
        pause = self.poll_interval if poll_interval is None else validate_wait_seconds(poll_interval, "poll_interval")
        return WaitSpec(kind=self.name, job_id=validate_job_id(job_id, self.id_label), statuses=self.statuses,
                        status_of=self.status, timeout=validate_wait_seconds(timeout, "timeout"),
                        poll_interval=pause or 0.0, not_found_grace=not_found_grace)

    def watch(self, hook: H, job_id: str, log_line: LogLine | None = None) -> JobWatch[H, J]:
        """See one job of this kind through ``hook`` (log lines, if any, go to ``log_line``)."""
        return JobWatch(self, hook, job_id, log_line)


class JobWatch(Generic[H, J]):
    """One job seen through its kind and a hook: fetch, abort, wait; new log lines go out once.

    :param kind: the job's kind
    :param hook: the hook to talk through
    :param job_id: the job's id
    :param log_line: where the job's log lines go (``None``: nowhere; the cursor still advances)
    """

    def __init__(self, kind: JobKind[H, J], hook: H, job_id: str, log_line: LogLine | None = None) -> None:
        self.kind = kind
        self.hook = hook
        self.job_id = job_id
        self.log_line = log_line
        self.cursor = kind.log_cursor(job_id)

    def through(self, hook: H) -> JobWatch[H, J]:
        """The same job through another hook (e.g. one with a short deadline), sharing the log cursor."""
        other = JobWatch(self.kind, hook, self.job_id, self.log_line)
        other.cursor = self.cursor
        return other

    def _seen(self, job: J) -> J:
        if self.cursor is not None:
            for line in self.cursor.new_lines(job):
                if self.log_line is not None:
                    self.log_line(line)
        return job

    def fetch(self, budget: float | None = 0) -> J:
        """Fetch the job once (``budget``: seconds a long poll may hold the request)."""
        return self._seen(self.kind.get(self.hook, self.job_id, budget, self.cursor))

    async def afetch(self, budget: float | None = 0) -> J:
        """Async twin of :meth:`fetch`."""
        return self._seen(await self.kind.aget(self.hook, self.job_id, budget, self.cursor))

    def abort(self, options: AbortOptions = PLAIN_ABORT) -> J:
        """Abort/cancel the job once; log lines in the answer go out like a fetch's."""
        return self._seen(self.kind.abort(self.hook, self.job_id, options))

    async def aabort(self, options: AbortOptions = PLAIN_ABORT) -> J:
        """Async twin of :meth:`abort`."""
        return self._seen(await self.kind.aabort(self.hook, self.job_id, options))

    def wait_end(self, timeout: float | None, *, not_found_grace: float = 0.0, poll_interval: float | None = None,
                 should_stop: Callable[[], bool] = lambda: False) -> J:
        """Fetch until the job is terminal and return it.

        :raises JobWaitTimeout: still not terminal after ``timeout`` seconds
        :raises WaitInterrupted: ``should_stop()`` became true
        :raises NotFoundError: a 404 outside ``not_found_grace``
        """
        spec = self.kind.wait_spec(self.job_id, timeout, not_found_grace=not_found_grace, poll_interval=poll_interval)
        return wait_until_terminal(spec, self.fetch, should_stop=should_stop)

    async def await_end(self, timeout: float | None, *, not_found_grace: float = 0.0,
                        poll_interval: float | None = None) -> J:
        """Async twin of :meth:`wait_end`."""
        spec = self.kind.wait_spec(self.job_id, timeout, not_found_grace=not_found_grace, poll_interval=poll_interval)
        return await await_until_terminal(spec, self.afetch)

"""The task side of the watchdog: start one per owned job, release it on every normal end.

::

    watchdog = JobWatchdog.start(spec)   # right after the job exists and its id is in XCom
    ...                                  # wait for the job
    watchdog.release()                   # terminal, deferred, not waiting, or an abort already ran

Between the two calls, if the task process dies by any means (SIGKILL, the OOM killer, a
segfault, ``os._exit``), the watchdog aborts the job at once with the connection it was given.
``start`` costs one ``fork``/``exec`` (a few ms; it never waits for the child) and never raises:
a watchdog that cannot start is logged and inactive.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from typing import IO, ClassVar

from airflow_provider_jobs._watchdog.protocol import RELEASE, WatchdogSpec, encode_spec

log = logging.getLogger(__name__)

CHILD_MODULE = "airflow_provider_jobs._watchdog.child"
REAP_TIMEOUT = 2.0
"""Seconds :meth:`JobWatchdog.release` waits for the released child to exit (it takes ~ms)."""
ENV_ALLOWLIST = frozenset({
    "PATH", "LANG", "LANGUAGE", "TZ", "TMPDIR", "PYTHONPATH", "PYTHONHASHSEED", "PYTHONDONTWRITEBYTECODE",
    "SSL_CERT_FILE", "SSL_CERT_DIR",
    "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy", "no_proxy",
})
"""The only variables a watchdog inherits: how to find Python and the package, the locale, and how to
reach the service (proxies, CA bundle). Never ``AIRFLOW_CONN_*``, ``AIRFLOW_VAR_*`` or any secret."""


def child_environment(environ: dict[str, str] | os._Environ[str]) -> dict[str, str]:
    """The environment of a watchdog: ``environ`` reduced to :data:`ENV_ALLOWLIST` and ``LC_*``."""
    return {k: v for k, v in environ.items() if k in ENV_ALLOWLIST or k.startswith("LC_")}


class JobWatchdog:
    """A process that aborts one job if the process that started it ends before releasing it.

    Use :meth:`start`; see the module docstring. Only the process that started a watchdog can
    release it (a forked copy of the task cannot).
    """

    command: ClassVar[tuple[str, ...]] = (sys.executable, "-m", CHILD_MODULE)
    """How the watchdog process is started (no secret ever goes here: the spec goes over the pipe)."""
    _live: ClassVar[set[JobWatchdog]] = set()
    """Started and not yet released: the pipe's write end must not be closed by garbage collection
    while the task still owns the job (that would abort it)."""

    def __init__(self, spec: WatchdogSpec, proc: subprocess.Popen[bytes] | None) -> None:
        self.spec = spec
        self._proc = proc
        self._owner_pid = os.getpid()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"JobWatchdog({self.spec.describe()}, pid={self.pid}, active={self.active})"

    @classmethod
    def start(cls, spec: WatchdogSpec, *, stderr: int | IO[bytes] | None = subprocess.DEVNULL) -> JobWatchdog:
        """Start a watchdog for ``spec`` (its ``owner_pid`` must be this process); never raises.

        :param spec: the job and how to abort it (see :func:`~._watchdog.jobs.watchdog_spec`)
        :param stderr: where the watchdog writes its few lines (default: nowhere; never the task's
            own stdout/stderr, which the supervisor waits on)
        :return: the watchdog; inactive (``active`` False) if it could not be started
        """
        if spec.owner_pid != os.getpid():
            raise ValueError(f"the watchdog spec names owner {spec.owner_pid}, not this process ({os.getpid()})")
        try:
            proc = subprocess.Popen(
                list(cls.command), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                stderr=stderr, env=child_environment(os.environ), cwd="/", close_fds=True, start_new_session=True,
                bufsize=0,
            )
        except OSError as exc:
            log.warning("Could not start the watchdog of %s (%s): if this task process dies, nothing aborts it.",
                        spec.describe(), exc)
            return cls(spec, None)
        watchdog = cls(spec, proc)
        try:
            assert proc.stdin is not None
            proc.stdin.write(encode_spec(spec))  # ~1 KiB: fits the pipe buffer, never blocks
        except OSError as exc:  # the child died at birth
            log.warning("The watchdog of %s did not start (%s).", spec.describe(), exc)
            watchdog._finish()
            return cls(spec, None)
        cls._live.add(watchdog)
        return watchdog

    @property
    def pid(self) -> int | None:
        """The watchdog's pid (``None`` if it never started)."""
        return self._proc.pid if self._proc is not None else None

    @property
    def active(self) -> bool:
        """Whether the watchdog still guards the job (started and not released)."""
        return self._proc is not None and self._proc.stdin is not None and not self._proc.stdin.closed

    def release(self, *, reap_timeout: float = REAP_TIMEOUT) -> None:
        """Tell the watchdog the task no longer owns the job, so it exits without a request.

        Call it whenever the task stops owning the job normally: the job reached a terminal state,
        the task deferred (the trigger owns the job), the operator returned without waiting, or an
        abort path already ran. Idempotent; safe in a signal handler (``on_kill``); a no-op in a
        forked copy of the task process.

        :param reap_timeout: seconds to wait for the child's exit (it exits at once); a child still
            there after that is killed, so nothing is left behind
        """
        if os.getpid() != self._owner_pid or not self._lock.acquire(blocking=False):
            return
        try:
            if self.active:
                assert self._proc is not None and self._proc.stdin is not None
                try:
                    self._proc.stdin.write(RELEASE)
                except OSError:  # the watchdog is gone already (killed by hand)
                    pass
                self._finish(reap_timeout)
        finally:
            self._lock.release()

    def _finish(self, reap_timeout: float = REAP_TIMEOUT) -> None:
        """Close our end of the pipe and reap the child (kill it if it does not exit in time)."""
        proc = self._proc
        if proc is None:
            return
        if proc.stdin is not None:
            try:
                proc.stdin.close()
            except OSError:
                pass
        try:
            proc.wait(timeout=reap_timeout)
        except subprocess.TimeoutExpired:
            log.warning("The watchdog of %s did not exit after its release; killing it.", self.spec.describe())
            proc.kill()
            proc.wait()
        JobWatchdog._live.discard(self)

"""The watchdog process: abort the job at once if its owner ends before releasing it.

Run as ``python -m airflow_provider_jobs._watchdog.child`` by :class:`~._watchdog.parent.JobWatchdog`,
with the pipe from the owner on stdin (see :mod:`.protocol`), its own session (the task's process
group signals do not reach it), a scrubbed environment, and stdout/stderr away from the task's
log sockets (the supervisor waits for those to close).

It waits on two things at once:

* the pipe: the release byte -> exit quietly; end of file -> the owner is gone -> abort;
* the owner's pidfd (Linux >= 5.3; elsewhere a 100 ms ``getppid()`` poll): the owner exited, even
  when a process it forked still holds the pipe's write end open -> abort.

SIGTERM, SIGINT and SIGHUP are ignored: a worker shutdown signals every process, and the owner's
own death (or release) is what ends the watchdog. Core dumps are off (the token is in memory).
"""

from __future__ import annotations

import os
import resource
import select
import signal
import sys
import time
from collections.abc import Callable

from airflow_provider_jobs._watchdog.protocol import HEADER_BYTES, RELEASE, WatchdogSpec, decode_spec, frame_length

PPID_POLL_SECONDS = 0.1
"""Poll interval of the ``getppid()`` fallback where pidfds do not exist."""
EXIT_RELEASED, EXIT_ABORTED, EXIT_ABORT_FAILED, EXIT_BAD_SPEC = 0, 3, 4, 5


def _say(message: str) -> None:
    try:
        os.write(2, f"airflow-provider-jobs watchdog[{os.getpid()}]: {message}\n".encode())
    except OSError:  # stderr gone: nothing to tell anyone
        pass


def _read_exactly(fd: int, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = os.read(fd, left)
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_spec(fd: int) -> WatchdogSpec:
    """Read the spec frame from ``fd``.

    :raises EOFError: the pipe closed before a whole spec arrived
    :raises ValueError: not a spec
    """
    return decode_spec(_read_exactly(fd, frame_length(_read_exactly(fd, HEADER_BYTES))))


def _owner_watch(owner_pid: int) -> int | None:
    """A pidfd of the owner if the owner is our live parent, else ``None``.

    :raises ProcessLookupError: the owner is gone already (we were re-parented)
    """
    pidfd = None
    if hasattr(os, "pidfd_open"):
        try:
            pidfd = os.pidfd_open(owner_pid)
        except (ProcessLookupError, OSError):
            pidfd = None
    if os.getppid() != owner_pid:  # checked after pidfd_open: the pidfd cannot name a reused pid
        if pidfd is not None:
            os.close(pidfd)
        raise ProcessLookupError(owner_pid)
    return pidfd


def wait_for_owner(fd: int, owner_pid: int) -> bool:
    """Block until the owner releases the job (``True``) or is gone (``False``)."""
    try:
        pidfd = _owner_watch(owner_pid)
    except ProcessLookupError:
        return _released_at_exit(fd)
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    if pidfd is not None:
        poller.register(pidfd, select.POLLIN)
    timeout_ms = None if pidfd is not None else int(PPID_POLL_SECONDS * 1000)
    while True:
        for ready, _events in poller.poll(timeout_ms):
            if ready == pidfd:
                return _released_at_exit(fd)
            data = os.read(fd, 1)
            if data == RELEASE:
                return True
            if not data:
                return False
        if pidfd is None and os.getppid() != owner_pid:
            return _released_at_exit(fd)


def _released_at_exit(fd: int) -> bool:
    """Whether the release byte is already in the pipe (the owner exited, or released at once);
    leaves ``fd`` non-blocking."""
    os.set_blocking(fd, False)
    try:
        return os.read(fd, 1) == RELEASE
    except BlockingIOError:
        return False


def load_abort(spec: WatchdogSpec) -> Callable[[], None]:
    """Load the HTTP core (~120 ms of CPU, ~17 MB) and build the client of ``spec``'s abort.

    Imported here, not at the top: a watchdog released before it got this far (a task that does
    not wait for its job) exits without paying for it, and ``spec.preload=False`` defers it to the
    owner's death (see watchdog-design.md for the measured trade-off).
    """
    # httpx imports its command-line client (rich, click, pygments: ~6 MB) whenever those are
    # installed, and Airflow installs them; the watchdog never runs it.
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    from airflow_provider_jobs._watchdog.abort import prepare_abort

    return prepare_abort(spec)


def main() -> int:
    """Run the watchdog on stdin; return the exit status."""
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    fd = 0  # stdin: the pipe from the owner
    try:
        spec = read_spec(fd)
    except EOFError:
        return EXIT_RELEASED  # the owner ended before it could hand over a job: nothing to watch
    except ValueError as exc:
        _say(f"refused its spec: {exc}")
        return EXIT_BAD_SPEC
    if _released_at_exit(fd):  # released before we even looked (a task that does not wait for its job)
        return EXIT_RELEASED
    os.set_blocking(fd, True)
    send_abort = None
    if spec.preload:
        try:
            send_abort = load_abort(spec)
        except Exception as exc:  # noqa: BLE001 - try again on death rather than watch nothing
            _say(f"could not prepare {spec.request.action} ({type(exc).__name__}: {exc}); will try on death.")
    if wait_for_owner(fd, spec.owner_pid):
        return EXIT_RELEASED
    started = time.monotonic()
    _say(f"task process {spec.owner_pid} ended while it owned {spec.describe()}: sending {spec.request.action}.")
    try:
        (send_abort or load_abort(spec))()
    except Exception as exc:  # noqa: BLE001 - the core's errors are scrubbed of the token
        _say(f"{spec.request.action} failed: {exc}")
        return EXIT_ABORT_FAILED
    _say(f"{spec.request.action} accepted after {time.monotonic() - started:.2f} s.")
    return EXIT_ABORTED


if __name__ == "__main__":
    os._exit(main())  # no interpreter teardown: nothing to flush, and a release ends the process in ~1 ms

"""A stand-in task process: takes a watchdog spec on stdin, starts the watchdog, then obeys commands.

Run as a script (``python _owner.py``); it imports no Airflow, so it starts in ~50 ms. Protocol on
stdin, one line each: the spec as JSON (``protocol.encode_spec`` without the length prefix and with
any ``owner_pid``: it is replaced by this process's pid), then commands:

* ``sigkill`` / ``exit`` (``os._exit(1)``) / ``segv`` (``ctypes.string_at(0)``): die while owning;
* ``release``: release the job, then report ``released`` and wait for the next command;
* ``fork``: fork a grandchild that keeps every inherited fd (the pipe's write end too) and sleeps;
  report ``forked <pid>``;
* ``quit``: exit normally (after a release: nothing left to own).

With ``WATCHDOG_TEST_NO_PIDFD=1`` the watchdog runs without ``os.pidfd_open`` (its fallback).

It answers ``ready <watchdog pid>`` once the watchdog is started.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys
import time
from dataclasses import replace

from airflow_provider_jobs._watchdog.parent import JobWatchdog
from airflow_provider_jobs._watchdog.protocol import decode_spec

NO_PIDFD = (sys.executable, "-c", "import os; del os.pidfd_open;"
            " from airflow_provider_jobs._watchdog.child import main; os._exit(main())")
"""The watchdog as on a system without pidfds (Linux < 5.3, macOS): it polls ``getppid()``."""


def main() -> None:
    if os.environ.get("WATCHDOG_TEST_NO_PIDFD"):
        JobWatchdog.command = NO_PIDFD
    spec = decode_spec(json.dumps({**json.loads(sys.stdin.readline()), "owner_pid": os.getpid()}).encode())
    stderr_path = os.environ.get("WATCHDOG_TEST_STDERR")
    stderr = open(stderr_path, "ab") if stderr_path else None
    watchdog = JobWatchdog.start(replace(spec, owner_pid=os.getpid()), stderr=stderr)
    print(f"ready {watchdog.pid}", flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "sigkill":
            os.kill(os.getpid(), signal.SIGKILL)
        elif command == "exit":
            os._exit(1)
        elif command == "segv":
            ctypes.string_at(0)
        elif command == "release":
            watchdog.release()
            print("released", flush=True)
        elif command == "fork":
            pid = os.fork()
            if pid == 0:
                time.sleep(60)
                os._exit(0)
            print(f"forked {pid}", flush=True)
        elif command == "quit":
            return


if __name__ == "__main__":
    main()

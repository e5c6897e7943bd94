"""The watchdog keeps the token to itself and leaves nothing behind.

* the token is in no process's argv or environment, and in no line the watchdog writes, even when
  the service's error message quotes it;
* the watchdog inherits no ``AIRFLOW_CONN_*``/``AIRFLOW_VAR_*`` or other secret variable, and no fd
  but its pipe, ``/dev/null`` and the stderr it was given;
* 1,000 start/release cycles leave no watchdog process and no zombie.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from _wd import Owner, aborts, alive, launch, start_job, wait_until

from airflow_provider_jobs._watchdog.parent import CHILD_MODULE, JobWatchdog, child_environment
from airflow_provider_jobs.lifecycle import APIFY_RUN

SECRET_VAR = "AIRFLOW_VAR_WATCHDOG_TEST_SECRET"


def _proc_text(pid: int, name: str) -> str:
    with open(f"/proc/{pid}/{name}", "rb") as f:
        return f.read().replace(b"\0", b"\n").decode(errors="replace")


def watchdog_pids() -> list[int]:
    """Every live watchdog process on the machine started from this test run's Python."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = _proc_text(int(entry), "cmdline")
            except OSError:
                continue
            if CHILD_MODULE in cmdline and alive(int(entry)):
                found.append(int(entry))
    return found


def zombie_children(pid: int) -> list[int]:
    """Children of ``pid`` that exited and were never reaped."""
    zombies = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = _proc_text(int(entry), "stat").rsplit(")", 1)[1].split()
            except OSError:
                continue
            if stat[0] == "Z" and int(stat[1]) == pid:
                zombies.append(int(entry))
    return zombies


def test_the_token_is_in_no_argv_environment_or_log_line(
    emu: Any, owners: list[Owner], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = emu.apify_token
    monkeypatch.setenv(SECRET_VAR, "var-secret-value")
    # The service's error message quotes the token: the watchdog's log line must not.
    emu.add_fault(route="POST /v2/actor-runs/{runId}/abort", status=401, message=f"bad token {token}", times=None)
    log_file = tmp_path / "watchdog.log"
    spec, owner = launch(emu, owners, APIFY_RUN, stderr_path=log_file)
    time.sleep(0.5)
    pid = owner.watchdog_pid
    cmdline, environ = _proc_text(pid, "cmdline"), _proc_text(pid, "environ")
    assert token not in cmdline and token not in environ
    assert CHILD_MODULE in cmdline
    assert token in _proc_text(owner.proc.pid, "environ"), "the test must give the owner the token to leak"
    for name in environ.splitlines():
        assert not name.startswith(("AIRFLOW_CONN_", "AIRFLOW_VAR_")), name
    assert "var-secret-value" not in environ
    fds = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
    assert not [fd for fd in fds if fd.startswith("/") and fd not in ("/dev/null", str(log_file))], fds
    owner.kill_by("sigkill")
    assert wait_until(lambda: aborts(emu, spec) and not alive(pid), 10)
    text = log_file.read_text()
    assert "failed" in text and "401" in text, text
    assert token not in text
    assert not [p for p in tmp_path.iterdir() if p != log_file], "the watchdog wrote a file"


def test_the_environment_keeps_only_what_reaching_the_service_needs() -> None:
    env = child_environment({
        "PATH": "/usr/bin", "HTTPS_PROXY": "http://proxy:3128", "SSL_CERT_FILE": "/ca.pem", "LC_ALL": "C",
        "AIRFLOW_CONN_APIFY_DEFAULT": "apify://:tok@", "AIRFLOW_VAR_X": "v", "AWS_SECRET_ACCESS_KEY": "k",
        "AIRFLOW__CORE__FERNET_KEY": "f", "APIFY_TOKEN": "t", "HOME": "/root",
    })
    assert env == {"PATH": "/usr/bin", "HTTPS_PROXY": "http://proxy:3128", "SSL_CERT_FILE": "/ca.pem", "LC_ALL": "C"}


def test_1000_start_release_cycles_leave_no_process_and_no_zombie(emu: Any) -> None:
    spec = start_job(emu, APIFY_RUN)  # owner: this process
    before = set(watchdog_pids())
    # Watchdogs other tests of this worker left guarding on purpose (an abort that never got through
    # keeps its watchdog, which aborts when the process ends) are not this test's.
    live_before = set(JobWatchdog._live)

    def cycle(_: int) -> int:
        watchdog = JobWatchdog.start(spec)
        assert watchdog.active and watchdog.pid is not None
        watchdog.release()
        assert not watchdog.active
        return watchdog.pid

    with ThreadPoolExecutor(4) as pool:  # four tasks at a time, like a small worker
        pids = list(pool.map(cycle, range(1000)))
    assert len(set(pids)) == 1000
    assert set(watchdog_pids()) - before == set()
    assert zombie_children(os.getpid()) == []
    assert JobWatchdog._live - live_before == set()
    assert aborts(emu, spec) == []


def test_a_watchdog_outlives_the_signals_of_its_task_process_group(emu: Any, owners: list[Owner]) -> None:
    """The supervisor signals the task's whole process group (SIGTERM, then SIGKILL 5 s later)."""
    spec, owner = launch(emu, owners, APIFY_RUN)
    time.sleep(0.5)
    assert os.getsid(owner.watchdog_pid) == owner.watchdog_pid
    assert os.getpgid(owner.watchdog_pid) != os.getpgid(owner.proc.pid)
    os.kill(owner.watchdog_pid, 15)  # a worker shutdown signals everyone: the owner decides
    time.sleep(0.3)
    assert alive(owner.watchdog_pid)
    assert aborts(emu, spec) == []
    owner.send("release")
    assert owner.answer() == "released"
    assert not alive(owner.watchdog_pid)

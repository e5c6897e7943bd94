"""Helpers of the watchdog tests: jobs that run forever on the emulator, and stand-in task processes.

A stand-in task process (``_owner.py``) gets a spec built in this process with the real hooks
(``watchdog_spec``), starts the watchdog, and dies on command; the emulator's journal is the
witness of the abort and of its timing (``JournalEntry.monotonic`` and ``time.monotonic()`` in
this process read the same system-wide clock).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airflow_provider_jobs._watchdog.protocol import WatchdogSpec, encode_spec
from airflow_provider_jobs.hooks.apify import ApifyHook
from airflow_provider_jobs.hooks.template_builds import TemplateBuildHook
from airflow_provider_jobs.lifecycle import APIFY_BUILD, APIFY_RUN, TEMPLATE_BUILD, AbortOptions
from airflow_provider_jobs.lifecycle.guard import watchdog_spec

HERE = Path(__file__).resolve().parent
OWNER = HERE / "_owner.py"
FOREVER = 10_000_000.0
ACTOR = "wd~forever"
TEMPLATE = "wd-forever"
KINDS = (APIFY_RUN, APIFY_BUILD, TEMPLATE_BUILD)
ABORT_ROUTES = {
    APIFY_RUN: "POST /v2/actor-runs/{runId}/abort",
    APIFY_BUILD: "POST /v2/actor-builds/{buildId}/abort",
    TEMPLATE_BUILD: "POST /v1/templates/builds/{build_id}/cancel",
}


def start_job(emu: Any, kind: Any, options: AbortOptions | None = None) -> WatchdogSpec:
    """Create a job of ``kind`` on the emulator; return the spec of its watchdog (owner: this process)."""
    if kind is TEMPLATE_BUILD:
        return watchdog_spec(TemplateBuildHook(), kind, emu.create_template_build(TEMPLATE), options)
    job_id = emu.create_run(ACTOR) if kind is APIFY_RUN else emu.create_build(ACTOR)
    return watchdog_spec(ApifyHook(), kind, job_id, options)


def aborts(emu: Any, spec: WatchdogSpec) -> list[Any]:
    """The abort/cancel requests the emulator received for ``spec``'s job."""
    return [e for e in emu.journal if e.method == "POST" and e.path == spec.request.path]


@dataclass
class Owner:
    """A running stand-in task process and its watchdog."""

    proc: subprocess.Popen[str]
    watchdog_pid: int

    def send(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def answer(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline().strip()

    def kill_by(self, command: str) -> float:
        """Make the owner die by ``command``; return the monotonic time just before."""
        died = time.monotonic()
        self.send(command)
        self.proc.wait(timeout=10)
        return died


def start_owner(spec: WatchdogSpec, stderr_path: Path | None = None, *, pidfd: bool = True) -> Owner:
    """Start a stand-in task process that starts a watchdog for ``spec`` (``pidfd=False``: its fallback)."""
    env = dict(os.environ)
    if stderr_path is not None:
        env["WATCHDOG_TEST_STDERR"] = str(stderr_path)
    if not pidfd:
        env["WATCHDOG_TEST_NO_PIDFD"] = "1"
    proc = subprocess.Popen([sys.executable, str(OWNER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, env=env)
    assert proc.stdin is not None
    proc.stdin.write(encode_spec(spec)[4:].decode() + "\n")
    proc.stdin.flush()
    assert proc.stdout is not None
    ready = proc.stdout.readline().split()
    assert ready and ready[0] == "ready", f"owner did not start: {ready}"
    return Owner(proc, int(ready[1]))


def launch(emu: Any, owners: list[Owner], kind: Any, options: AbortOptions | None = None,
           **owner_options: Any) -> tuple[WatchdogSpec, Owner]:
    """Start a job of ``kind`` and a stand-in task process watching it (killed at the test's end)."""
    spec = start_job(emu, kind, options)
    owner = start_owner(spec, **owner_options)
    owners.append(owner)
    return spec, owner


def wait_until(predicate: Any, limit: float, step: float = 0.01) -> bool:
    """Poll ``predicate`` until it is true or ``limit`` seconds passed."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


def alive(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def spec_json(spec: WatchdogSpec) -> dict[str, Any]:
    """The spec as the pipe carries it."""
    return dict(json.loads(encode_spec(spec)[4:]))

"""Kill paths under faults on the abort route (see ``_killpaths.py``), and a real SIGTERM in dag.test()."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from _killpaths import FAULTS, PATHS, run_kill_column, seed
from _rel import FULL
from _seed import ABORT_ROUTES, aborts_of, job_id, status_of
from _seed import seed as seed_e2e

from airflow_provider_jobs.lifecycle import KILL_ABORT_DEADLINE

REPEAT = int(os.environ.get("RELIABILITY_REPEAT", "1"))
E2E_DAGS = Path(__file__).resolve().parents[1] / "e2e" / "dags"
SIGTERM_FAULTS = {"429 Retry-After 1 s x2": {"status": 429, "retry_after": 1, "times": 2},
                  "503 x2": {"status": 503, "times": 2}}
SIGTERM_CASES = [(kind, fault) for kind in ("apify_run", "apify_build", "template_build") for fault in SIGTERM_FAULTS] \
    if FULL else [("apify_run", "429 Retry-After 1 s x2")]


@pytest.fixture
def emu(jobs_emulator: Any) -> Any:
    seed(jobs_emulator)
    return jobs_emulator


@pytest.mark.parametrize("rep", range(REPEAT), ids=lambda r: f"rep{r}")
@pytest.mark.parametrize("fault", list(FAULTS))
def test_kill_column(emu: Any, fault: str, rep: int, record_property: Any) -> None:
    """All five paths x three kinds under one fault on the abort route."""
    cells = run_kill_column(emu, fault)
    record_property("cells", json.dumps([c.as_dict() for c in cells]))
    assert len(cells) == len(PATHS) * 3
    failures = [f"{c.path} / {c.kind}: {c.failure}" for c in cells if c.failure]
    assert not failures, "\n".join(failures)


@pytest.mark.rel_e2e
@pytest.mark.parametrize("kind,fault", SIGTERM_CASES)
def test_sigterm_in_a_real_dag_run_aborts_through_a_faulty_abort_route(
        jobs_emulator: Any, rel_run_dag: Any, kind: str, fault: str, record_property: Any) -> None:
    """``dag.test()`` of tests/e2e's ``e2e_sigterm_<kind>`` gets SIGTERM while waiting; the abort route
    answers 429 (Retry-After: 1) or 503 twice: the third attempt must land within the 4 s kill window."""
    seed_e2e(jobs_emulator)
    jobs_emulator.add_fault(route=ABORT_ROUTES[kind], **SIGTERM_FAULTS[fault])

    def waiting() -> bool:
        if kind == "template_build":
            started = bool(jobs_emulator.template_builds("e2e-forever"))
        else:
            started = bool(jobs_emulator.runs_of("e2e~forever") if kind == "apify_run"
                           else jobs_emulator.builds_of("e2e~forever")[1:])  # [0] is the seeded build
        return started and len(jobs_emulator.requests("GET")) > 0

    result = rel_run_dag(E2E_DAGS / "e2e_operators.py", f"e2e_sigterm_{kind}", kill_when=waiting,
                         env={"AIRFLOW__CORE__DAGS_FOLDER": str(E2E_DAGS)})
    run = result.dags[f"e2e_sigterm_{kind}"]
    assert run.state_of(kind) == "failed", run.output[-3000:]
    job = job_id(run, kind, kind)
    attempts = aborts_of(jobs_emulator, kind, job)
    assert [bool(a.fault) for a in attempts] == [True, True, False], [(a.fault, a.status) for a in attempts]
    latency = attempts[-1].monotonic - result.events["sigterm"]
    record_property("latency", round(latency, 3))
    assert 0 <= latency < KILL_ABORT_DEADLINE, f"abort landed {latency:.2f} s after SIGTERM"
    assert status_of(jobs_emulator, kind, job) in ("ABORTED", "cancelled", "building")  # a cancel lands in 0.5 s

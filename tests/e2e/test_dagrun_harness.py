"""The DAG runner the e2e and reliability tests share (tests/_dagrun.py): each run is a process of its
own, forked from a warm server (tests/_dagfork.py) unless DAGRUN_FORK=0, and both ways report alike."""

from __future__ import annotations

import os
from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def test_forked_runs_are_processes_of_their_own_with_the_call_s_environment(
        run_dag: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = []
    for value in ("first", "second"):
        result = run_dag("e2e_harness.py", "e2e_harness", env={"E2E_HARNESS_VALUE": value})
        assert result.state == "success" and result.returncode == 0, result.output[-3000:]
        seen.append(result.xcom("what_the_process_sees"))
    first, second = seen
    assert [s["value"] for s in seen] == ["first", "second"]
    assert first["pid"] != second["pid"] and os.getpid() not in (first["pid"], second["pid"])
    assert first["ppid"] == second["ppid"] != os.getpid(), "both runs are forks of one server"
    assert first["random"] != second["random"], "each fork re-seeds random"
    assert first["argv"] == second["argv"] and first["argv"][1:] == ["e2e_harness"]

    monkeypatch.setenv("DAGRUN_FORK", "0")
    fresh = run_dag("e2e_harness.py", "e2e_harness", env={"E2E_HARNESS_VALUE": "fresh"})
    assert fresh.state == "success" and fresh.returncode == 0, fresh.output[-3000:]
    seen_fresh = fresh.xcom("what_the_process_sees")
    assert seen_fresh["ppid"] == os.getpid() and seen_fresh["value"] == "fresh"
    assert seen_fresh["argv"] == first["argv"]
    assert set(fresh.tasks) == set(result.tasks) and fresh.times_logged("Pushing xcom") == 1

"""``decide``: a status read against a job kind's status sets (lifecycle/kind.py), for each job kind."""

from __future__ import annotations

from _kinds import KindCase

from airflow_provider_jobs.lifecycle import Outcome, decide


def test_decide(job_kind: KindCase) -> None:
    statuses = job_kind.kind.statuses
    assert decide(statuses, job_kind.running) is Outcome.RUNNING
    assert decide(statuses, job_kind.succeeded) is Outcome.SUCCEEDED
    assert decide(statuses, job_kind.failed) is Outcome.FAILED
    assert decide(statuses, job_kind.aborted) is Outcome.FAILED
    assert decide(statuses, "SOMETHING-NEW") is Outcome.RUNNING

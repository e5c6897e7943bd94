"""The abort/cancel notifiers (notifications/_base.py) for each job kind: which ids, and never raising."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from _kinds import KindCase, aborts, fake_context
from _support import Recorder


def test_notifier_aborts_the_id_from_xcom(job_kind: KindCase, api: Recorder) -> None:
    api.default = job_kind.response(job_kind.aborted)
    ctx = fake_context(xcom={job_kind.kind.xcom_key: job_kind.job_id})
    job_kind.notifier().notify(ctx)
    assert len(aborts(api, job_kind)) == 1
    if job_kind.name == "template_build":
        assert json.loads(aborts(api, job_kind)[0].content)["reason"] == \
            "airflow: dag=dag1 task=t run=manual__1 try=1"


def test_notifier_for_another_task_aborts_every_id_it_pushed(job_kind: KindCase, api: Recorder) -> None:
    api.default = job_kind.response(job_kind.aborted)
    ctx = fake_context()
    ctx["ti"].xcom_pull.side_effect = lambda task_ids=None, key=None, map_indexes=None: [
        job_kind.job_id, None, job_kind.job_id, "other-job-2"]
    job_kind.notifier(task_id="start")(ctx)
    assert sorted(r.url.path for r in api.requests) == sorted(
        [job_kind.abort_path, job_kind.abort_path.replace(job_kind.job_id, "other-job-2")])


@pytest.mark.parametrize("failure", ["missing", "404", "401", "dead", "no-ti"])
def test_notifier_never_raises(job_kind: KindCase, api: Recorder, failure: str,
                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    ctx = fake_context(xcom={} if failure == "missing" else {job_kind.kind.xcom_key: job_kind.job_id})
    if failure == "no-ti":
        ctx = {}
    api.default = {
        "404": httpx.Response(404, json={"error": {"type": "record-not-found", "message": "gone"}}),
        "401": httpx.Response(401, json={"error": {"type": "user-or-token-not-found", "message": "bad"}}),
        "dead": httpx.ConnectError("Connection refused", request=httpx.Request("POST", "http://x")),
    }.get(failure)
    job_kind.notifier(deadline=1.0).notify(ctx)
    text = " ".join(r.getMessage() for r in caplog.records)
    expected = {"missing": "nothing to", "no-ti": "nothing to", "404": "404", "401": "401", "dead": "ConnectError"}
    assert expected[failure] in text

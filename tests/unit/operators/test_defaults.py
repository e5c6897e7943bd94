"""Deployment-wide defaults: ``deferrable`` follows ``[operators] default_deferrable``, read when a task is built."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_jobs.operators.apify import ApifyBuildActorOperator, ApifyRunActorOperator
from airflow_provider_jobs.operators.template_builds import TemplateBuildOperator
from airflow_provider_jobs.sensors.apify import ApifyBuildSensor, ApifyRunSensor
from airflow_provider_jobs.sensors.template_builds import TemplateBuildSensor

ENV = "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE"

TASKS: dict[str, Callable[..., Any]] = {
    "run operator": lambda **kw: ApifyRunActorOperator(task_id="t", actor_id="janedoe~my-actor", **kw),
    "build operator": lambda **kw: ApifyBuildActorOperator(task_id="t", actor_id="janedoe~my-actor", version="0.1",
                                                           **kw),
    "template build operator": lambda **kw: TemplateBuildOperator(task_id="t", build_request={"name": "etl"}, **kw),
    "run sensor": lambda **kw: ApifyRunSensor(task_id="s", run_id="HG7ML7M8z78YcAPEB", **kw),
    "build sensor": lambda **kw: ApifyBuildSensor(task_id="s", build_id="HG7ML7M8z78YcAPEB", **kw),
    "template build sensor": lambda **kw: TemplateBuildSensor(task_id="s", build_id="tb_1", **kw),
}


@pytest.mark.parametrize("make", TASKS.values(), ids=list(TASKS))
def test_deferrable_defaults_to_the_deployment_setting_read_when_the_task_is_built(
    make: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV, raising=False)
    assert make().deferrable is False
    monkeypatch.setenv(ENV, "True")  # after the modules were imported: the value is read at construction
    assert make().deferrable is True
    assert make(deferrable=False).deferrable is False
    monkeypatch.setenv(ENV, "False")
    assert make().deferrable is False
    assert make(deferrable=True).deferrable is True

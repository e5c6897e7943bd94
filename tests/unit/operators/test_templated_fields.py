"""Every start option a DAG author may take from Jinja is templated, converted after rendering and checked.

Rendered through Airflow's own ``render_template_fields``, then executed against the emulator: the
strings ``"300"``, ``"True"`` and ``"1.5"`` reach the API as the numbers and flags they stand for, and a
bad rendered value fails the task (without a retry) before any request.
"""

from __future__ import annotations

from typing import Any
from unittest.mock import MagicMock

import pytest
from airflow.sdk import DAG

from airflow_provider_jobs._compat import AirflowFailException
from airflow_provider_jobs.emulator.emulator import Emulator
from airflow_provider_jobs.emulator.timelines import Timeline
from airflow_provider_jobs.operators.apify import ApifyBuildActorOperator, ApifyRunActorOperator

RUN_START = "POST /v2/actors/{actorId}/runs"
BUILD_START = "POST /v2/actors/{actorId}/builds"


@pytest.fixture
def emu(jobs_emulator: Emulator) -> Emulator:
    jobs_emulator.seed_actor("ops~tmpl", run=Timeline(ready_secs=0, running_secs=100),
                             build=Timeline(ready_secs=0, running_secs=100))
    return jobs_emulator


def rendered(op: Any, **params: Any) -> Any:
    """Render ``op``'s templated fields as Airflow does before ``execute`` (``params`` in the context)."""
    ti = MagicMock()
    ti.dag_id, ti.task_id, ti.run_id, ti.try_number, ti.map_index = "tmpl", op.task_id, "manual__1", 1, -1
    context: dict[str, Any] = {"params": params, "ti": ti, "run_id": "manual__1", "dag": op.dag, "task": op}
    op.render_template_fields(context)
    op.test_context = context
    return op


def run_operator(**overrides: Any) -> ApifyRunActorOperator:
    fields = {"run_timeout_secs": "{{ params.timeout }}", "memory_mbytes": "{{ params.memory }}",
              "max_items": "{{ params.item_cap }}", "max_total_charge_usd": "{{ params.charge }}", **overrides}
    with DAG("tmpl", schedule=None):
        return ApifyRunActorOperator(task_id="run", actor_id="ops~tmpl", wait_for_termination=False, **fields)


def build_operator(**overrides: Any) -> ApifyBuildActorOperator:
    fields = {"version": "{{ params.version }}", "tag": "{{ params.tag }}", "use_cache": "{{ params.cache }}",
              "beta_packages": "{{ params.beta }}", **overrides}
    with DAG("tmpl", schedule=None):
        return ApifyBuildActorOperator(task_id="build", actor_id="ops~tmpl", wait_for_termination=False, **fields)


def test_the_run_options_are_templated() -> None:
    assert {"run_timeout_secs", "memory_mbytes", "max_items", "max_total_charge_usd"} <= set(
        ApifyRunActorOperator.template_fields)
    assert {"version", "tag", "use_cache", "beta_packages"} <= set(ApifyBuildActorOperator.template_fields)


def test_rendered_run_options_reach_the_api_as_numbers(emu: Emulator) -> None:
    op = rendered(run_operator(), timeout="300", memory="256", item_cap="1000", charge="1.5")
    assert (op.run_timeout_secs, op.max_items, op.max_total_charge_usd) == ("300", "1000", "1.5")
    op.execute(op.test_context)
    query = emu.requests(route=RUN_START)[0].query
    assert query == {"timeout": "300", "memory": "256", "maxItems": "1000", "maxTotalChargeUsd": "1.5"}


def test_rendered_build_options_reach_the_api_as_flags(emu: Emulator) -> None:
    op = rendered(build_operator(), version="0.0", tag="nightly", cache="True", beta="false")
    op.execute(op.test_context)
    query = emu.requests(route=BUILD_START)[0].query
    assert query["version"] == "0.0" and query["tag"] == "nightly"
    assert (query["useCache"], query["betaPackages"]) == ("true", "false")


@pytest.mark.parametrize(("field", "value", "message"), [
    ("max_items", "many", "Invalid max_items"),
    ("max_total_charge_usd", "lots", "Invalid max_total_charge_usd"),
    ("max_total_charge_usd", "nan", "Invalid max_total_charge_usd"),
    ("run_timeout_secs", "-5", "Invalid timeout_secs"),
])
def test_a_bad_rendered_run_option_fails_before_any_request(emu: Emulator, field: str, value: str,
                                                            message: str) -> None:
    op = rendered(run_operator(**{field: "{{ params.bad }}"}), timeout="300", memory="256", item_cap="10",
                  charge="1.5", bad=value)
    with pytest.raises(AirflowFailException, match=f"{message}.*not retried"):
        op.execute(op.test_context)
    assert not emu.requests(route=RUN_START)


def test_a_bad_rendered_build_flag_fails_before_any_request(emu: Emulator) -> None:
    op = rendered(build_operator(), version="0.0", tag="nightly", cache="yes", beta="false")
    with pytest.raises(AirflowFailException, match="Invalid use_cache.*not retried"):
        op.execute(op.test_context)
    assert not emu.requests(route=BUILD_START)

"""Every example DAG runs unchanged against the emulator (its demo data has the actors and
templates the examples name) and does what its docstring says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

EXAMPLES = Path(__file__).resolve().parents[2] / "example_dags"


def check_run_dataset(emu: Any, result: Any) -> None:
    assert result.state == "success", result.output[-3000:]
    summary = result.xcom("run_actor")
    run = emu.get_run(summary["id"])
    assert result.xcom("load_dataset") == run["defaultDatasetId"] == summary["default_dataset_id"]
    assert emu.requests(route="POST /v2/actors/{actorId}/runs")[0].body["message"].startswith("Hello from Airflow")


def check_build_then_run(emu: Any, result: Any) -> None:
    assert result.state == "success", result.output[-3000:]
    build = result.xcom("build_actor")
    run = emu.get_run(result.xcom("run_new_build")["id"])
    assert run["options"]["build"] == build["build_number"]


def check_abort_on_failure(emu: Any, result: Any) -> None:
    assert result.state_of("start_scraper") == "success" and result.state_of("consume") == "failed"
    run_id = result.xcom("start_scraper", "run_id")
    aborts = emu.requests(route="POST /v2/actor-runs/{runId}/abort")
    assert [a.path_params["runId"] for a in aborts] == [run_id] and aborts[0].query == {"gracefully": "true"}
    assert emu.get_run(run_id)["status"] in ("ABORTING", "ABORTED")


def check_sensor(emu: Any, result: Any) -> None:
    assert result.state_of("wait_for_run") == "failed"
    run_id = result.xcom("start_run", "run_id")
    assert emu.get_run(run_id)["status"] == "ABORTED"


def check_template_cancel(emu: Any, result: Any) -> None:
    assert result.state == "success", result.output[-3000:]
    summary = result.xcom("cancel_superseded_build")
    assert summary["status"] == "cancelled" and summary["cancellation_reason"].startswith("superseded")


def check_run_stream_dataset(emu: Any, result: Any) -> None:
    assert result.state == "success", result.output[-3000:]
    summary = result.xcom("crawl")
    written = result.xcom("export_items")
    assert written["items"] == result.xcom("count_lines") == 500
    path = Path(written["destination"].removeprefix("file://"))
    assert path.stat().st_size == written["bytes"] and not list(path.parent.glob(".*.part"))
    assert emu.requests(route="GET /v2/datasets/{datasetId}/items")[0].path_params["datasetId"] == \
        summary["default_dataset_id"]
    assert emu.requests(route="GET /v2/logs/{buildOrRunId}")  # the log was followed...
    for line in ("Progress: 1 of 6 done.", "Progress: 6 of 6 done.", "Finished with exit code 0."):
        assert result.times_logged(line) == 1, line  # ...into the task log, each line once


def check_template_logs(emu: Any, result: Any) -> None:
    assert result.state == "success", result.output[-3000:]
    assert result.xcom("announce") == result.xcom("build_template", "build_id")
    assert "#0 INFO" in result.output  # build log lines reached the task log


SCENARIOS = {
    "example_apify_run_dataset": ({}, check_run_dataset),
    "example_apify_run_stream_dataset": ({}, check_run_stream_dataset),
    "example_apify_build_then_run": ({}, check_build_then_run),
    "example_apify_abort_on_failure": ({}, check_abort_on_failure),
    "example_apify_sensor_deferrable": ({"EXAMPLE_SENSOR_TIMEOUT_S": "2"}, check_sensor),
    "example_template_build_cancel": ({}, check_template_cancel),
    "example_template_build_logs": ({}, check_template_logs),
}


def test_every_example_has_a_scenario() -> None:
    assert {p.stem for p in EXAMPLES.glob("example_*.py")} == set(SCENARIOS)


@pytest.mark.parametrize("dag_id", sorted(SCENARIOS))
def test_example_dag(jobs_emulator: Any, run_dag: Any, dag_id: str, tmp_path: Path) -> None:
    env, check = SCENARIOS[dag_id]
    env = {**env, "EXAMPLE_EXPORT_DIR": str(tmp_path / "exports")}
    result = run_dag(f"{dag_id}.py", dag_id, env=env, dags_dir=EXAMPLES)
    check(jobs_emulator, result)

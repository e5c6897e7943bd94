"""OpenLineage of the run operators: the run's default dataset as output, named as the dataset
transfer names its input; without the OpenLineage provider nothing of it is imported.

The provider is not among the pinned test dependencies: the tests that need it skip without it, and
the others stand in for its two classes.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from _kinds import fake_context

from airflow_provider_jobs.emulator.emulator import Emulator
from airflow_provider_jobs.emulator.timelines import Timeline
from airflow_provider_jobs.lifecycle import EVENT_TERMINAL
from airflow_provider_jobs.operators import apify as operators_module
from airflow_provider_jobs.operators.apify import ApifyRunActorOperator, ApifyRunActorTaskOperator
from airflow_provider_jobs.transfers.apify import ApifyDatasetToObjectStorageOperator


@dataclass
class Lineage:
    """Stands in for OperatorLineage."""

    inputs: list[Any] = field(default_factory=list)
    outputs: list[Any] = field(default_factory=list)


@dataclass
class Dataset:
    """Stands in for the OpenLineage Dataset."""

    namespace: str
    name: str


@pytest.fixture
def emu(jobs_emulator: Emulator) -> Emulator:
    jobs_emulator.seed_actor("ol~scraper", run=Timeline(ready_secs=1, running_secs=10, items=3))
    jobs_emulator.seed_task("ol~scraper", "nightly")
    return jobs_emulator


@pytest.fixture
def classes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(operators_module, "openlineage_classes", lambda: (Lineage, Dataset))


def names(datasets: list[Any]) -> list[tuple[str, str]]:
    return [(d.namespace, d.name) for d in datasets]


@pytest.mark.usefixtures("classes")
@pytest.mark.parametrize("operator", [
    lambda: ApifyRunActorOperator(task_id="t", actor_id="ol~scraper", poll_interval=0.05),
    lambda: ApifyRunActorTaskOperator(task_id="t", actor_task_id="~nightly", poll_interval=0.05),
], ids=["actor", "task"])
def test_the_run_s_dataset_is_the_output(emu: Emulator, operator: Any) -> None:
    op = operator()
    assert op.get_openlineage_facets_on_complete(None) is None  # nothing ran yet
    summary = op.execute(fake_context())
    lineage = op.get_openlineage_facets_on_complete(None)
    host = str(emu.base_url).split("://", 1)[1]
    assert names(lineage.outputs) == [(f"apify://{host}", f"datasets/{summary['default_dataset_id']}")]
    assert lineage.inputs == []


@pytest.mark.usefixtures("classes")
def test_the_run_and_the_transfer_name_the_dataset_alike(emu: Emulator, tmp_path: Path) -> None:
    import airflow_provider_jobs.transfers.apify as transfer_module

    run = ApifyRunActorOperator(task_id="t", actor_id="ol~scraper", poll_interval=0.05)
    dataset_id = run.execute(fake_context())["default_dataset_id"]
    export = ApifyDatasetToObjectStorageOperator(task_id="x", dataset_id=dataset_id,
                                                 destination=f"file://{tmp_path / 'out.jsonl'}")
    export.execute({})
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(transfer_module, "openlineage_classes", lambda: (Lineage, Dataset))
        read = export.get_openlineage_facets_on_complete(None)
    assert names(read.inputs) == names(run.get_openlineage_facets_on_complete(None).outputs)


@pytest.mark.usefixtures("classes", "mock_connections")
def test_a_deferred_run_reports_its_dataset_on_completion() -> None:
    op = ApifyRunActorTaskOperator(task_id="t", actor_task_id="~nightly", deferrable=True)
    event = {"outcome": EVENT_TERMINAL, "kind": "Apify run", "job_id": "r1", "message": "m", "status": "SUCCEEDED",
             "summary": {"id": "r1", "status": "SUCCEEDED", "default_dataset_id": "ds9"}, "failure": ""}
    op.execute_complete(fake_context(), event)
    assert names(op.get_openlineage_facets_on_complete(None).outputs) == [("apify://127.0.0.1:18089", "datasets/ds9")]


def test_without_the_openlineage_provider_there_is_no_lineage(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "airflow.providers.openlineage.extractors", None)  # import raises ImportError
    op = ApifyRunActorOperator(task_id="t", actor_id="ol~scraper", poll_interval=0.05)
    op.execute(fake_context())
    assert op.get_openlineage_facets_on_complete(None) is None


def test_the_operators_module_imports_no_openlineage() -> None:
    # (Airflow's providers manager itself may load an installed provider's get_provider_info.)
    heavy = ("openlineage", "airflow.providers.openlineage.extractors", "airflow.providers.common.compat.openlineage")
    code = (f"import sys, airflow_provider_jobs.operators.apify; "
            f"print(sorted(m for m in sys.modules if m.startswith({heavy!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_with_the_openlineage_provider_the_output_is_an_openlineage_dataset(emu: Emulator) -> None:
    pytest.importorskip("airflow.providers.openlineage.extractors")
    from airflow.providers.common.compat.openlineage.facet import Dataset as OpenLineageDataset
    from airflow.providers.openlineage.extractors import OperatorLineage

    op = ApifyRunActorTaskOperator(task_id="t", actor_task_id="~nightly", poll_interval=0.05)
    dataset_id = op.execute(fake_context())["default_dataset_id"]
    lineage = op.get_openlineage_facets_on_complete(None)
    assert isinstance(lineage, OperatorLineage) and isinstance(lineage.outputs[0], OpenLineageDataset)
    assert lineage.outputs[0].name == f"datasets/{dataset_id}" and lineage.outputs[0].namespace.startswith("apify://")

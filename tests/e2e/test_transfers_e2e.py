"""The dataset transfer in real DAG runs (dag.test in a subprocess) against the emulator."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_jobs.emulator.timelines import Timeline

pytestmark = pytest.mark.e2e
ITEMS = 1234


@pytest.fixture
def emu(jobs_emulator: Any) -> Any:
    jobs_emulator.seed_actor("e2e~items", run=Timeline(ready_secs=10, running_secs=50, items=ITEMS, item_bytes=100))
    return jobs_emulator


def test_a_run_s_dataset_is_exported_in_every_format(emu: Any, run_dag: Any, tmp_path: Path) -> None:
    result = run_dag("e2e_transfers.py", "e2e_dataset_export", env={"E2E_EXPORT_DIR": str(tmp_path)})
    assert result.state == "success", result.output[-3000:]
    dataset_id = result.xcom("scrape")["default_dataset_id"]
    (day,) = list(tmp_path.iterdir())
    files = {p.suffix[1:]: p for p in day.iterdir()}
    assert sorted(files) == ["csv", "json", "jsonl"]  # and no temporary .part file left
    items = [json.loads(line) for line in files["jsonl"].read_text().splitlines()]
    assert len(items) == ITEMS and json.loads(files["json"].read_text()) == items
    rows = list(csv.DictReader(io.StringIO(files["csv"].read_text(), newline="")))
    assert len(rows) == ITEMS
    for fmt, path in files.items():
        summary = result.xcom(f"export_{fmt}")
        assert summary == {"destination": f"file://{path}", "items": ITEMS, "bytes": path.stat().st_size}
    pages = [e for e in emu.requests(route="GET /v2/datasets/{datasetId}/items") if dataset_id in e.path]
    # per export: 1,000 + 234 items, then (clean=True, the default) a page that scans nothing ends the read
    assert sorted(int(p.query["offset"]) for p in pages) == [0, 0, 0, 1000, 1000, 1000, 1234, 1234, 1234]


def test_an_unwritable_destination_fails_the_task_and_leaves_no_file(emu: Any, run_dag: Any, tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a regular file")
    result = run_dag("e2e_transfers.py", "e2e_dataset_export_unwritable", env={"E2E_BLOCKER": str(blocker)})
    assert result.state == "failed" and result.state_of("export") == "failed"
    assert result.state_of("scrape") == "success"
    assert str(blocker / "items.jsonl") in result.output
    assert list(tmp_path.iterdir()) == [blocker] and blocker.read_text() == "a regular file"

"""ApifyDatasetToObjectStorageOperator: formats, streaming, refusals before reading, no partial file, lineage."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from _support import Recorder, apify_error

from airflow_provider_jobs import _compat
from airflow_provider_jobs._retry import RetryPolicy
from airflow_provider_jobs.exceptions import InvalidArgumentError, NotFoundError
from airflow_provider_jobs.get_provider_info import get_provider_info
from airflow_provider_jobs.hooks.apify import ApifyHook
from airflow_provider_jobs.transfers import _formats
from airflow_provider_jobs.transfers import apify as transfer_module
from airflow_provider_jobs.transfers.apify import ApifyDatasetToObjectStorageOperator

FAST = RetryPolicy(max_retries=1, base_delay=0.0, max_delay=0.0)

pytestmark = pytest.mark.usefixtures("mock_connections")


def pages(items: list[Any]) -> Any:
    def answer(request: httpx.Request) -> httpx.Response:
        offset, limit = int(request.url.params["offset"]), int(request.url.params["limit"])
        page = items[offset:offset + limit]
        return httpx.Response(200, json=page, headers={"X-Apify-Pagination-Count": str(len(page))})

    return answer


@pytest.fixture
def api(recorder: Recorder, monkeypatch: pytest.MonkeyPatch) -> Recorder:
    """The operator's hook talks to ``recorder``."""
    monkeypatch.setattr(transfer_module, "ApifyHook",
                        lambda conn_id: ApifyHook(conn_id, transport=recorder.transport(), retry_policy=FAST))
    return recorder


def run(tmp_path: Path, name: str = "out.jsonl", dataset_id: str = "ds1", **kwargs: Any) -> tuple[dict[str, Any], Path]:
    target = tmp_path / "sub" / name
    op = ApifyDatasetToObjectStorageOperator(task_id="t", dataset_id=dataset_id, destination=f"file://{target}",
                                             **kwargs)
    return op.execute({}), target


ITEMS = [{"url": "https://a", "title": "A, \"quoted\"", "n": 1}, {"url": "https://b", "tags": ["x"], "n": None},
         {"title": "only title \u00e9"}]


def test_jsonl_streams_every_item(api: Recorder, tmp_path: Path) -> None:
    api.default = pages(ITEMS * 700)  # 2100 items: three pages
    result, target = run(tmp_path)
    lines = target.read_bytes().splitlines()
    assert [json.loads(line) for line in lines] == ITEMS * 700
    assert result == {"destination": f"file://{target}", "items": 2100, "bytes": target.stat().st_size}
    assert {r.url.params["clean"] for r in api.requests} == {"true"}  # clean=True by default
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.jsonl"]


def test_json_is_one_array(api: Recorder, tmp_path: Path) -> None:
    api.default = pages(ITEMS)
    result, target = run(tmp_path, "out.json", format="json", clean=False)
    assert json.loads(target.read_text()) == ITEMS and result["items"] == 3
    assert "clean" not in api.last.url.params


def test_csv_header_is_the_union_of_keys_in_first_seen_order(api: Recorder, tmp_path: Path) -> None:
    api.default = pages(ITEMS)
    result, target = run(tmp_path, "out.csv", format="csv")
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8"), newline="")))
    assert rows == [["url", "title", "n", "tags"], ["https://a", 'A, "quoted"', "1", ""],
                    ["https://b", "", "", '["x"]'], ["", "only title \u00e9", "", ""]]
    assert result["items"] == 3 and result["bytes"] == target.stat().st_size


def test_csv_with_fields_uses_their_order_and_sends_them(api: Recorder, tmp_path: Path) -> None:
    api.default = pages([{"n": 1, "url": "u"}])
    _, target = run(tmp_path, "out.csv", format="csv", fields=["n", "url"], omit=["tags"])
    assert target.read_text().splitlines() == ["n,url", "1,u"]
    assert (api.last.url.params["fields"], api.last.url.params["omit"]) == ("n,url", "tags")


@pytest.mark.parametrize(("fmt", "content"), [("jsonl", b""), ("json", b"[]"), ("csv", b"")])
def test_an_empty_dataset_gives_an_empty_file(api: Recorder, tmp_path: Path, fmt: str, content: bytes) -> None:
    api.default = pages([])
    result, target = run(tmp_path, f"out.{fmt}", format=fmt)
    assert target.read_bytes() == content and result["items"] == 0 and result["bytes"] == len(content)


def test_an_empty_dataset_to_csv_with_fields_has_the_header(api: Recorder, tmp_path: Path) -> None:
    api.default = pages([])
    _, target = run(tmp_path, "out.csv", format="csv", fields=["a", "b"])
    assert target.read_bytes() == b"a,b\r\n"


def test_an_existing_file_is_replaced_whole(api: Recorder, tmp_path: Path) -> None:
    api.default = pages(ITEMS)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "out.jsonl").write_text("old content that is longer than the new one\n" * 100)
    _, target = run(tmp_path)
    assert len(target.read_text().splitlines()) == 3


@pytest.mark.parametrize("fmt", ["xml", "JSONL", "", None])
def test_an_unknown_format_is_refused_when_the_dag_is_parsed(fmt: Any) -> None:
    with pytest.raises(InvalidArgumentError, match="format"):
        ApifyDatasetToObjectStorageOperator(task_id="t", dataset_id="ds1", destination="file:///tmp/x", format=fmt)


@pytest.mark.parametrize("kwargs", [{"fields": "a,b"}, {"omit": [""]}, {"clean": "yes"}])
def test_bad_options_are_refused_when_the_dag_is_parsed(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgumentError):
        ApifyDatasetToObjectStorageOperator(task_id="t", dataset_id="ds1", destination="file:///tmp/x", **kwargs)


@pytest.mark.parametrize("destination", ["nosuchscheme://bucket/key", "memory://bucket/key", "s3://bucket/key"])
def test_a_destination_without_a_filesystem_fails_before_anything_is_read(api: Recorder, destination: str) -> None:
    op = ApifyDatasetToObjectStorageOperator(task_id="t", dataset_id="ds1", destination=destination)
    with pytest.raises(InvalidArgumentError, match="estination"):
        op.execute({})
    assert api.requests == []


def test_a_bad_dataset_id_fails_before_anything_is_read(api: Recorder, tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError):
        run(tmp_path, dataset_id="..")
    assert api.requests == []


def test_an_unwritable_destination_fails_with_its_path_and_leaves_no_file(api: Recorder, tmp_path: Path) -> None:
    api.default = pages(ITEMS)
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    target = blocker / "out.jsonl"
    op = ApifyDatasetToObjectStorageOperator(task_id="t", dataset_id="ds1", destination=f"file://{target}")
    with pytest.raises(_compat.AirflowException, match=str(target)):
        op.execute({})
    assert not target.exists() and blocker.read_text() == "not a directory"


def test_a_directory_as_destination_fails_before_anything_is_read(api: Recorder, tmp_path: Path) -> None:
    op = ApifyDatasetToObjectStorageOperator(task_id="t", dataset_id="ds1", destination=f"file://{tmp_path}/")
    with pytest.raises(InvalidArgumentError, match=f"{tmp_path}/ is a directory"):
        op.execute({})
    assert list(tmp_path.iterdir()) == [] and api.requests == []


def test_a_read_failing_midway_leaves_no_file_under_the_final_name(api: Recorder, tmp_path: Path) -> None:
    api.responses = [pages(ITEMS * 400)] + [apify_error(404, "record-not-found", "Dataset was not found")]
    with pytest.raises(NotFoundError):
        run(tmp_path)
    assert list((tmp_path / "sub").iterdir()) == []  # neither out.jsonl nor the .part file


def test_writes_go_out_in_chunks_as_pages_arrive(
    api: Recorder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_formats, "BUFFER", 1000)
    sizes: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        part = next((tmp_path / "sub").glob(".out.jsonl.*.part"), None)
        sizes.append(part.stat().st_size if part else -1)
        return pages([{"x": "y" * 50}] * 2500)(request)

    api.default = answer
    run(tmp_path)
    assert sizes[0] == 0 and 0 < sizes[1] < sizes[2]  # the file grows while the dataset is still being read


def test_templated_fields() -> None:
    assert ApifyDatasetToObjectStorageOperator.template_fields == ("dataset_id", "destination")


def test_object_storage_path_comes_from_the_task_sdk() -> None:
    from airflow.sdk import ObjectStoragePath

    assert _compat.ObjectStoragePath is ObjectStoragePath


def test_the_transfer_is_registered_in_the_provider_info() -> None:
    (entry,) = get_provider_info()["transfers"]
    assert entry["python-module"] == transfer_module.__name__ and entry["source-integration-name"] == "Apify"


# ------------------------------------------------------------------------------------------- lineage
def test_without_the_openlineage_provider_no_lineage_and_nothing_imported(
    api: Recorder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "airflow.providers.openlineage.extractors", None)  # import raises ImportError
    api.default = pages(ITEMS)
    target = tmp_path / "o.jsonl"
    op = ApifyDatasetToObjectStorageOperator(task_id="t", dataset_id="ds1", destination=f"file://{target}")
    op.execute({})
    assert op.get_openlineage_facets_on_complete(None) is None


def test_the_module_imports_no_openlineage() -> None:
    import subprocess

    # (Airflow's providers manager itself may load an installed provider's get_provider_info.)
    heavy = ("openlineage", "airflow.providers.openlineage.extractors", "airflow.providers.common.compat.openlineage")
    code = (f"import sys, airflow_provider_jobs.transfers.apify; "
            f"print(sorted(m for m in sys.modules if m.startswith({heavy!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_with_the_openlineage_provider_input_and_output_are_reported(api: Recorder, tmp_path: Path) -> None:
    pytest.importorskip("airflow.providers.openlineage.extractors")
    api.default = pages(ITEMS)
    target = tmp_path / "o.jsonl"
    op = ApifyDatasetToObjectStorageOperator(task_id="t", dataset_id="janedoe/ds", destination=f"file://{target}")
    assert op.get_openlineage_facets_on_complete(None) is None  # nothing ran yet
    op.execute({})
    lineage = op.get_openlineage_facets_on_complete(None)
    assert [(d.namespace, d.name) for d in lineage.inputs] == [("apify://127.0.0.1:18089", "datasets/janedoe~ds")]
    assert [(d.namespace, d.name) for d in lineage.outputs] == [("file", str(target))]

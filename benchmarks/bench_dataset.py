"""Dataset export: 1,000,000 items of ~1 KB from the emulator to a local file, ours vs apify-client.

Two ways of writing the same dataset as JSON lines to a local file, each in a fresh child process
(so that its peak memory is its own), one after the other against the same emulator process:

* ours: ``ApifyDatasetToObjectStorageOperator(format="jsonl", clean=False).execute()`` to a
  ``file://`` destination (pages of 1,000 read lazily, written as they arrive);
* apify-client: ``ApifyClient(...).dataset(id).iterate_items()``, each item ``json.dumps``-ed to a
  line of a file opened for writing (the same bytes per item as ours).

Figures: items/s and MB/s of each, their ratio (ours / client), and the *added* peak RSS of each
child: the peak resident set size during the export minus the resident size just before it (the
peak is reset with ``/proc/self/clear_refs`` after imports and set-up, so imports do not count).
Goal: ours adds < 100 MB whatever the dataset's size.

``BENCH_DATASET_ITEMS`` (default 1,000,000) and ``BENCH_DATASET_ITEM_BYTES`` (default 1000)
change the size. The emulator generates the items of a run's default dataset itself (seeded with
``items=`` and ``item_bytes=``), so nothing of that size is uploaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import EmulatorProcess, airflow_env, print_rows, quiet_logging, write_result  # noqa: E402

ITEMS = int(os.environ.get("BENCH_DATASET_ITEMS", "1000000"))
ITEM_BYTES = int(os.environ.get("BENCH_DATASET_ITEM_BYTES", "1000"))
GOAL_MB = 100.0


# --------------------------------------------------------------------------------- child process
def _status_kb(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # Linux: VmHWM := VmRSS


def child(side: str, base_url: str, dataset_id: str, out: str) -> None:
    """Export the dataset one way; print one JSON line of figures."""
    airflow_env()
    quiet_logging()
    if side == "ours":
        from airflow_provider_jobs.transfers.apify import ApifyDatasetToObjectStorageOperator

        op = ApifyDatasetToObjectStorageOperator(
            task_id="bench", dataset_id=dataset_id, destination=f"file://{out}", format="jsonl", clean=False,
        )

        def export() -> int:
            return int(op.execute({})["items"])
    else:
        from apify_client import ApifyClient

        token = json.loads(os.environ["AIRFLOW_CONN_APIFY_DEFAULT"])["password"]
        dataset = ApifyClient(token, api_url=base_url).dataset(dataset_id)

        def export() -> int:
            n = 0
            with open(out, "w", encoding="utf-8") as f:
                for item in dataset.iterate_items():
                    f.write(json.dumps(item, ensure_ascii=False, separators=(",", ":")) + "\n")
                    n += 1
            return n

    before_kb = _status_kb("VmRSS")
    _reset_peak()
    started = time.perf_counter()
    items = export()
    seconds = time.perf_counter() - started
    peak_kb = _status_kb("VmHWM")
    size = os.path.getsize(out)
    print(json.dumps({"side": side, "items": items, "bytes": size, "seconds": seconds,
                      "rss_before_mb": before_kb / 1024, "added_peak_mb": (peak_kb - before_kb) / 1024}))


def run_child(side: str, emu: EmulatorProcess, dataset_id: str, out: Path) -> dict[str, Any]:
    env = {**os.environ, **emu.env}
    proc = subprocess.run([sys.executable, __file__, "--child", side, emu.base_url, dataset_id, str(out)],
                          env=env, capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        raise RuntimeError(f"{side} export failed:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    out.unlink()
    return result


# --------------------------------------------------------------------------------------- dataset
def make_dataset(emu: EmulatorProcess, items: int, item_bytes: int) -> str:
    """A finished run whose default dataset holds ``items`` generated items; return the dataset id."""
    from airflow_provider_jobs.emulator.timelines import Timeline

    emu.client.seed_actor("bench~dataset", run=Timeline(ready_secs=0, running_secs=1, items=items,
                                                        item_bytes=item_bytes))
    run_id = emu.client.create_run("bench~dataset", status="SUCCEEDED")
    return str(emu.client.get_run(run_id)["defaultDatasetId"])


def main() -> None:
    airflow_env()
    quiet_logging()
    with EmulatorProcess(time_scale=1.0) as emu, tempfile.TemporaryDirectory(prefix="bench-dataset-") as tmp:
        dataset_id = make_dataset(emu, ITEMS, ITEM_BYTES)
        results = {side: run_child(side, emu, dataset_id, Path(tmp) / f"{side}.jsonl") for side in ("ours", "client")}
    ours, client = results["ours"], results["client"]
    for r in (ours, client):
        r["items_per_s"] = r["items"] / r["seconds"]
        r["mb_per_s"] = r["bytes"] / r["seconds"] / 1e6
    ratio = ours["items_per_s"] / client["items_per_s"]
    print_rows(f"Dataset export: {ITEMS:,} items of ~{ITEM_BYTES} B to a local file (JSON lines)", [
        ("", "items", "MB written", "seconds", "items/s", "MB/s", "added peak RSS (MB)"),
        *[(name, f"{r['items']:,}", f"{r['bytes'] / 1e6:.0f}", f"{r['seconds']:.1f}", f"{r['items_per_s']:,.0f}",
           f"{r['mb_per_s']:.1f}", f"{r['added_peak_mb']:.1f}") for name, r in (("ours", ours),
                                                                                 ("apify-client", client))],
    ])
    ok = ours["added_peak_mb"] < GOAL_MB and ours["items"] == ITEMS
    print(f"throughput ours / apify-client: {ratio:.2f}; added peak RSS {ours['added_peak_mb']:.1f} MB "
          f"(goal < {GOAL_MB:.0f} MB): {'met' if ok else 'NOT met'}")
    write_result("dataset", {"items": ITEMS, "item_bytes": ITEM_BYTES, "ours": ours, "client": client,
                             "throughput_ratio": ratio, "goal_mb": GOAL_MB, "goal_met": ok})


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:6])
    else:
        main()

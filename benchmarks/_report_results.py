"""Sections of RESULTS.md on what users do after a job: the dataset export (``bench_dataset.py`` ->
``results/dataset.json``: ours vs apify-client's ``iterate_items`` writing the same JSON lines) and
log streaming (``bench_logstream.py`` -> ``results/logstream.json``: requests per waiting job with
``stream_logs`` on vs off), each against its baseline measured in the same run.
"""

from __future__ import annotations

from typing import Any


def _verdict(ok: bool) -> str:
    return "**met**" if ok else "**MISSED**"


def summary_rows(dataset: dict[str, Any] | None, logstream: dict[str, Any] | None) -> list[list[Any]]:
    """Summary lines: dataset throughput and memory vs apify-client; requests added by stream_logs."""
    rows: list[list[Any]] = []
    if dataset:
        ours, client, ratio = dataset["ours"], dataset["client"], dataset["throughput_ratio"]
        rows.append(["8", f"dataset export, {dataset['items']:,} items of ~{dataset['item_bytes']} B to file://: "
                     "items/s", f"{ours['items_per_s']:,.0f}", f"apify-client iterate_items: "
                     f"{client['items_per_s']:,.0f}", f"{ratio:.2f}", ">= 1", _verdict(ratio >= 1.0)])
        rows.append(["8'", "dataset export: added peak RSS", f"{ours['added_peak_mb']:.1f} MB",
                     f"apify-client: {client['added_peak_mb']:.1f} MB", "", f"< {dataset['goal_mb']:.0f} MB",
                     _verdict(ours["added_peak_mb"] < dataset["goal_mb"] and ours["items"] == dataset["items"])])
    if logstream:
        groups = logstream["groups"]
        added = max(groups[f"{m}, added"]["status_gets"] for m in ("operator", "trigger"))
        total = max(groups[f"{m}, added"]["total"] for m in ("operator", "trigger"))
        off = groups["operator, stream_logs off"]["total_mean"]
        rows.append(["9", "stream_logs on: requests added per waiting job besides the log stream (worst of "
                     "operator/trigger)", f"{added:+.1f} status gets ({total:+.1f} in all)",
                     f"stream_logs off: {off:.1f} requests per job", "", "0 status gets added",
                     _verdict(logstream["goal_met"])])
    return rows


def section(dataset: dict[str, Any] | None, logstream: dict[str, Any] | None) -> str:
    """The "after the job" section."""
    out = ["## After the job: dataset export and log streaming\n"]
    if dataset:
        out.append(
            f"`bench_dataset.py`: a finished run's dataset of {dataset['items']:,} generated items (~"
            f"{dataset['item_bytes']} B each) read from the emulator (its own process) and written to a local "
            "file as JSON lines, each side in a fresh process: ours is `ApifyHook.iter_dataset_items` through the "
            "transfer operator's JSON-lines writer; the baseline is apify-client's "
            "`DatasetClient.iterate_items()`, each item `json.dumps`-ed to the same kind of file. Added peak RSS "
            "is the process's high-water mark during the export minus its RSS before it.\n")
        out.append("| side | items | MB written | seconds | items/s | MB/s | added peak RSS |\n"
                   "|---|---|---|---|---|---|---|")
        for name, r in (("ours", dataset["ours"]), ("apify-client", dataset["client"])):
            out.append(f"| {name} | {r['items']:,} | {r['bytes'] / 1e6:.0f} | {r['seconds']:.1f} | "
                       f"{r['items_per_s']:,.0f} | {r['mb_per_s']:.1f} | {r['added_peak_mb']:.1f} MB |")
        out.append(f"\nThroughput ours / apify-client: **{dataset['throughput_ratio']:.2f}**.\n")
    if logstream:
        out.append(
            f"`bench_logstream.py`: {logstream['jobs_per_group']} runs per group, each {logstream['run_secs']:.0f} s "
            f"long writing {logstream['log_lines']} log lines, waited for by a blocking operator and by a trigger, "
            "with `stream_logs` off and on; the emulator's journal counts each run's requests.\n")
        out.append("| group | requests per job (mean) |\n|---|---|")
        for group, figures in logstream["groups"].items():
            if group.endswith(", added"):
                continue
            kinds = ", ".join(f"{k} {v['mean']:.1f}" for k, v in figures["requests"].items())
            out.append(f"| {group} | {figures['total_mean']:.1f} ({kinds}) |")
        out.append("")
    return "\n".join(out) + "\n"

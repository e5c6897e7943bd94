"""The demo: the example DAGs, run by Airflow's own ``airflow dags test`` against the bundled emulator.

Each scenario runs one example DAG, injects a failure or a timeout where there is one, and checks
with the emulator's request journal that every job the DAG started ended up finished, aborted
or cancelled. It prints progress while it works and a report at the end, and exits non-zero if
any expectation fails. Run it through ``bash scripts/demo.sh`` (which sets up ``.venv``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "example_dags"
HOME = Path(tempfile.mkdtemp(prefix="airflow-jobs-demo-"))
os.environ.update({
    "AIRFLOW_HOME": str(HOME),
    "AIRFLOW__CORE__DAGS_FOLDER": str(EXAMPLES),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
})

from airflow_provider_jobs.emulator.emulator import Emulator  # noqa: E402
from airflow_provider_jobs.emulator.server import EmulatorServer  # noqa: E402

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
TIME_SCALE = 0.05  # one emulated second lasts 50 ms


@dataclass
class Scenario:
    """One example DAG run, what is done to it, and what must be true afterwards."""

    dag_id: str
    title: str
    injected: str
    check: Callable[[Emulator, dict[str, Any]], list[str]]
    conf: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    kill_when: Callable[[Emulator], bool] | None = None
    kill_signal: signal.Signals = signal.SIGTERM


@dataclass
class Outcome:
    scenario: Scenario
    seconds: float
    tasks: dict[str, Any]
    problems: list[str]
    notes: list[str]


def say(text: str) -> None:
    print(f"[demo {time.strftime('%H:%M:%S')}] {text}", flush=True)


# ------------------------------------------------------------------ checks
def _aborts(emu: Emulator, route: str) -> list[Any]:
    return emu.requests(route=route)


def check_dataset(emu: Emulator, tasks: dict[str, Any]) -> list[str]:
    summary = tasks["run_actor"]["xcom"].get("return_value") or {}
    loaded = tasks["load_dataset"]["xcom"].get("return_value")
    problems = [] if tasks["load_dataset"]["state"] == "success" else ["load_dataset did not succeed"]
    if not summary or loaded != summary.get("default_dataset_id"):
        problems.append(f"dataset id not passed downstream ({loaded!r})")
    if _aborts(emu, "POST /v2/actor-runs/{runId}/abort"):
        problems.append("a successful run was aborted")
    return problems


def check_export(emu: Emulator, tasks: dict[str, Any]) -> list[str]:
    written = tasks["export_items"]["xcom"].get("return_value") or {}
    counted = tasks["count_lines"]["xcom"].get("return_value")
    if tasks["count_lines"]["state"] != "success" or not written:
        return ["the export or the count did not succeed"]
    path = Path(str(written["destination"]).removeprefix("file://"))
    problems = [] if written["items"] == counted == 500 else [f"wrote {written['items']}, counted {counted}"]
    if not path.is_file() or path.stat().st_size != written["bytes"]:
        problems.append(f"{path} missing or not {written['bytes']} bytes")
    return problems


def check_build_run(emu: Emulator, tasks: dict[str, Any]) -> list[str]:
    build = tasks["build_actor"]["xcom"].get("return_value") or {}
    run = tasks["run_new_build"]["xcom"].get("return_value") or {}
    if tasks["run_new_build"]["state"] != "success":
        return ["the run of the new build did not succeed"]
    used = emu.get_run(run["id"])["options"]["build"]
    return [] if used == build.get("build_number") else [f"run used build {used}, not {build.get('build_number')}"]


def _run_aborted(emu: Emulator, run_id: str | None, gracefully: bool | None = None) -> list[str]:
    if not run_id:
        return ["no run id in XCom"]
    aborts = [a for a in _aborts(emu, "POST /v2/actor-runs/{runId}/abort") if a.path_params.get("runId") == run_id]
    if not aborts:
        return [f"run {run_id} was never aborted (status {emu.get_run(run_id)['status']})"]
    if gracefully is not None and (aborts[0].query.get("gracefully") == "true") != gracefully:
        return ["the abort was not of the expected kind (graceful or not)"]
    return []


def check_notifier(emu: Emulator, tasks: dict[str, Any]) -> list[str]:
    problems = [] if tasks["consume"]["state"] == "failed" else ["the consumer should have failed"]
    return problems + _run_aborted(emu, tasks["start_scraper"]["xcom"].get("run_id"), gracefully=True)


def check_killed(emu: Emulator, tasks: dict[str, Any]) -> list[str]:
    problems = [] if tasks["run_actor"]["state"] == "failed" else ["the killed task should have failed"]
    return problems + _run_aborted(emu, tasks["run_actor"]["xcom"].get("run_id"))


def check_sigkilled(emu: Emulator, tasks: dict[str, Any]) -> list[str]:
    """SIGKILL runs no Airflow code (no on_kill, no callback): the operator's watchdog aborts the run."""
    run_id = tasks["run_actor"]["xcom"].get("run_id")
    if not run_id:
        return ["no run id in XCom"]
    deadline = time.monotonic() + 5  # the watchdog answers in milliseconds; allow for a busy machine
    while not emu.requests(route="POST /v2/actor-runs/{runId}/abort") and time.monotonic() < deadline:
        time.sleep(0.05)
    return _run_aborted(emu, run_id)


def check_sensor(emu: Emulator, tasks: dict[str, Any]) -> list[str]:
    problems = [] if tasks["wait_for_run"]["state"] == "failed" else ["the sensor should have timed out"]
    return problems + _run_aborted(emu, tasks["start_run"]["xcom"].get("run_id"))


def check_cancel(emu: Emulator, tasks: dict[str, Any]) -> list[str]:
    summary = tasks["cancel_superseded_build"]["xcom"].get("return_value") or {}
    if summary.get("status") != "cancelled":
        return [f"build ended {summary.get('status')!r}, not cancelled"]
    return [] if str(summary.get("cancellation_reason", "")).startswith("superseded") else ["no reason recorded"]


def check_logs(emu: Emulator, tasks: dict[str, Any]) -> list[str]:
    summary = tasks["build_template"]["xcom"].get("return_value") or {}
    return [] if summary.get("status") == "ready" else [f"build ended {summary.get('status')!r}"]


def run_started(emu: Emulator) -> bool:
    runs = emu.runs_of("apify~web-scraper")
    return bool(runs) and any(e.method == "GET" for e in emu.journal)


SCENARIOS = [
    Scenario("example_apify_run_dataset", "Run an actor, pass its dataset id downstream", "none (happy path)",
             check_dataset),
    Scenario("example_apify_run_stream_dataset", "Run with its log in the task log, export the dataset, count it",
             "none (happy path)", check_export),
    Scenario("example_apify_build_then_run", "Build an actor, then run that build", "none (happy path)",
             check_build_run),
    Scenario("example_apify_run_dataset", "Task killed while the run is going", "SIGTERM to the task "
             "(what 'mark failed' does)", check_killed, conf={"actor_id": "apify/web-scraper"},
             kill_when=run_started),
    Scenario("example_apify_run_dataset", "Task process SIGKILLed mid-run (the OOM killer)", "SIGKILL to the "
             "task process: no on_kill, no callback", check_sigkilled, conf={"actor_id": "apify/web-scraper"},
             kill_when=run_started, kill_signal=signal.SIGKILL),
    Scenario("example_apify_abort_on_failure", "A later step fails; the failure callback aborts",
             "the consumer task raises", check_notifier),
    Scenario("example_apify_sensor_deferrable", "Deferrable sensor times out", "sensor timeout of 3 s",
             check_sensor, env={"EXAMPLE_SENSOR_TIMEOUT_S": "3"}),
    Scenario("example_template_build_cancel", "Cancel a superseded template build", "cancel with a reason",
             check_cancel),
    Scenario("example_template_build_logs", "Template build with its logs in the task log", "none (happy path)",
             check_logs),
]


# ------------------------------------------------------------------ running
def dag_report(dag_id: str) -> dict[str, Any]:
    """Task states and XComs of the newest run of ``dag_id``, from the metadata DB."""
    from airflow.models import DagRun, TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        run = session.query(DagRun).filter_by(dag_id=dag_id).order_by(DagRun.id.desc()).first()
        tasks: dict[str, Any] = {}
        for ti in session.query(TaskInstance).filter_by(dag_id=dag_id, run_id=run.run_id):
            tasks[ti.task_id] = {"state": str(ti.state), "xcom": {}}
        for row in session.query(XComModel).filter_by(dag_id=dag_id, run_id=run.run_id):
            tasks.setdefault(row.task_id, {"state": "?", "xcom": {}})["xcom"][row.key] = \
                XComModel.deserialize_value(row)
        return {"state": str(run.state), "tasks": tasks}


def run_scenario(emu: Emulator, scenario: Scenario, env: dict[str, str]) -> Outcome:
    emu.reset()
    cmd = [AIRFLOW, "dags", "test", scenario.dag_id]
    if scenario.conf:
        cmd += ["--conf", json.dumps(scenario.conf)]
    started = time.monotonic()
    log_path = HOME / f"{scenario.dag_id}-{int(started)}.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, env={**env, **scenario.env}, stdout=log, stderr=subprocess.STDOUT)
        killed_at = None
        while proc.poll() is None:
            if scenario.kill_when is not None and killed_at is None and scenario.kill_when(emu):
                time.sleep(0.5)
                killed_at = time.monotonic()
                say(f"  injecting: {scenario.kill_signal.name} to the task process (pid {proc.pid})")
                proc.send_signal(scenario.kill_signal)
            if time.monotonic() - started > 300:
                proc.kill()
                break
            time.sleep(0.1)
    seconds = time.monotonic() - started
    report = dag_report(scenario.dag_id)
    problems = scenario.check(emu, report["tasks"])
    notes = describe_jobs(emu, report["tasks"], started, killed_at, scenario.kill_signal.name)
    if problems:
        problems.append(f"(task log: {log_path})")
    return Outcome(scenario, seconds, report["tasks"], problems, notes)


def describe_jobs(emu: Emulator, tasks: dict[str, Any], started: float, killed_at: float | None,
                  killed_by: str = "SIGTERM") -> list[str]:
    """One line per job the DAG started (ids from XCom): where it ended, when it was aborted/cancelled."""
    lines = []
    for task_id, info in sorted(tasks.items()):
        for key in ("run_id", "build_id"):
            job_id = info["xcom"].get(key)
            if not job_id:
                continue
            if key == "run_id":
                kind, route, param, status = "Apify run", "POST /v2/actor-runs/{runId}/abort", "runId", \
                    emu.get_run(job_id)["status"]
            elif str(job_id).startswith("tb_"):
                kind, route, param, status = "template build", "POST /v1/templates/builds/{build_id}/cancel", \
                    "build_id", emu.get_template_build(job_id)["build"]["status"]
            else:
                kind, route, param, status = "Apify build", "POST /v2/actor-builds/{buildId}/abort", "buildId", \
                    emu.get_build(job_id)["status"]
            line = f"{kind} {job_id} (started by {task_id}): now {status}"
            stopped = [e for e in emu.requests(route=route) if e.path_params.get(param) == job_id]
            if stopped:
                anchor, base = ((f"after the {killed_by}", killed_at) if killed_at
                                else ("after the DAG started", started))
                verb = "cancelled" if kind == "template build" else "aborted"
                line += f", {verb} {stopped[0].monotonic - base:.1f} s {anchor}"
                reason = stopped[0].body.get("reason") if isinstance(stopped[0].body, dict) else None
                if reason:
                    line += f" with reason {reason!r}"
            lines.append(line)
    return lines


def show(outcome: Outcome) -> None:
    s = outcome.scenario
    verdict = "PASS" if not outcome.problems else "FAIL"
    print(f"\n{verdict}  {s.title}  [{s.dag_id}, {outcome.seconds:.0f} s]")
    print(f"      injected: {s.injected}")
    for task_id, info in sorted(outcome.tasks.items()):
        value = info["xcom"].get("return_value")
        shown = ""
        if isinstance(value, dict):
            keys = ("id", "status", "default_dataset_id", "build_number", "cancellation_reason", "console_url",
                    "destination", "items", "bytes")
            shown = " -> " + json.dumps({k: value[k] for k in keys if value.get(k)})
        elif value is not None:
            shown = f" -> {value!r}"
        print(f"      task {task_id}: {info['state']}{shown}")
    for note in outcome.notes:
        print(f"      job  {note}")
    for problem in outcome.problems:
        print(f"      !! {problem}")


def main() -> int:
    say(f"temporary AIRFLOW_HOME {HOME}")
    server = EmulatorServer(Emulator(time_scale=TIME_SCALE, seed_demo=True))
    base_url = server.start()
    emu = server.emulator
    say(f"emulator of the Apify and template-build APIs on {base_url} (time x{1 / TIME_SCALE:.0f})")
    env = {**os.environ, **emu.connection_env(), "EXAMPLE_EXPORT_DIR": str(HOME / "exports")}
    say("airflow db migrate (SQLite)...")
    subprocess.run([AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True)
    outcomes = []
    try:
        for number, scenario in enumerate(SCENARIOS, 1):
            say(f"[{number}/{len(SCENARIOS)}] {scenario.title}: airflow dags test {scenario.dag_id}")
            outcomes.append(run_scenario(emu, scenario, env))
            say(f"  {'ok' if not outcomes[-1].problems else 'FAILED'} in {outcomes[-1].seconds:.0f} s")
    finally:
        server.stop()
    print("\n" + "=" * 78 + "\nairflow-provider-jobs demo report\n" + "=" * 78)
    for outcome in outcomes:
        show(outcome)
    failed = [o for o in outcomes if o.problems]
    print(f"\n{len(outcomes) - len(failed)} of {len(outcomes)} scenarios passed; "
          f"no job was left running behind a failed task: {'yes' if not failed else 'NO'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

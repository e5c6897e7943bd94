"""The command line: ``python -m airflow_provider_jobs.emulator`` and the console script."""

from __future__ import annotations

import json
import os
import queue
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from airflow_provider_jobs._version import __version__
from airflow_provider_jobs.emulator.__main__ import main


def read_lines(process: subprocess.Popen[str], count: int, timeout: float = 20.0) -> list[str]:
    """Read ``count`` stdout lines from ``process``, failing after ``timeout`` seconds."""
    assert process.stdout is not None
    stream = process.stdout
    found: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in iter(stream.readline, ""):
            found.put(line)

    threading.Thread(target=pump, daemon=True).start()
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while len(lines) < count:
        try:
            lines.append(found.get(timeout=max(0.01, deadline - time.monotonic())).rstrip("\n"))
        except queue.Empty:
            raise AssertionError(f"the emulator printed only {lines!r}") from None
    return lines


def exported(line: str) -> tuple[str, dict[str, str]]:
    """Parse ``export NAME='<json>'`` the way a shell would."""
    words = shlex.split(line)
    assert words[0] == "export"
    name, _, value = words[1].partition("=")
    return name, json.loads(value)


@pytest.fixture
def cli() -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "airflow_provider_jobs.emulator",
            "--port",
            "0",
            "--time-scale",
            "0.01",
            "--apify-token",
            "cli-apify",
            "--apify-token",
            "cli-apify-2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    yield process
    process.terminate()
    try:
        assert process.wait(timeout=10) == 0  # a graceful shutdown on SIGTERM
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_cli_prints_connection_lines_and_serves_demo_data(cli: subprocess.Popen[str]) -> None:
    banner, apify_line, templates_line, control_line = read_lines(cli, 4)
    base_url = banner.rsplit(" ", 1)[-1]
    assert base_url.startswith("http://127.0.0.1:") and not base_url.endswith(":0")
    assert exported(apify_line) == (
        "AIRFLOW_CONN_APIFY_DEFAULT",
        {"conn_type": "apify", "host": base_url, "password": "cli-apify"},
    )
    assert exported(templates_line) == (
        "AIRFLOW_CONN_TEMPLATE_BUILDS_DEFAULT",
        {"conn_type": "template_builds", "host": base_url, "password": "emulator-templates-token"},
    )
    assert templates_line.startswith('export AIRFLOW_CONN_TEMPLATE_BUILDS_DEFAULT=\'{"conn_type": ')
    assert f"{base_url}/_emulator/state" in control_line
    headers = {"Authorization": "Bearer cli-apify-2"}
    started = httpx.post(
        f"{base_url}/v2/actors/demo~hello/runs", headers=headers, params={"waitForFinish": 5}
    )
    assert started.status_code == 201 and started.json()["data"]["status"] == "SUCCEEDED"
    state = httpx.get(f"{base_url}/_emulator/state").json()
    assert (
        state["time_scale"] == 0.01 and "demo~slow" in state["actors"] and "demo-ready" in state["templates"]
    )


def test_cli_without_demo_data_stops_quietly_on_ctrl_c() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_jobs.emulator", "--port", "0", "--no-seed-demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base_url = read_lines(process, 1)[0].rsplit(" ", 1)[-1]
        assert httpx.get(f"{base_url}/_emulator/state").json()["actors"] == []
    finally:
        process.send_signal(signal.SIGINT)  # Ctrl+C
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0 and "Traceback" not in stderr


def test_cli_rejects_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--time-scale", "0"]) == 2
    assert "--time-scale must be positive" in capsys.readouterr().err
    with pytest.raises(SystemExit) as version:
        main(["--version"])
    assert version.value.code == 0 and f"airflow-jobs-emulator {__version__}" in capsys.readouterr().out


def test_console_script_is_installed() -> None:
    script = shutil.which("airflow-jobs-emulator", path=os.path.dirname(sys.executable))
    if script is None:
        pytest.skip("the package is not installed with its console scripts in this environment")
    result = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and "--time-scale" in result.stdout and "--seed-demo" in result.stdout

"""The ``jobs_emulator`` fixture of the pytest plugin, used directly and in a fresh pytest run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from airflow_provider_jobs.emulator.emulator import Emulator
from airflow_provider_jobs.emulator.pytest_plugin import session_time_scale
from airflow_provider_jobs.emulator.timelines import Timeline


def test_fixture_points_both_connections_at_the_emulator(
    jobs_emulator: Emulator, pytestconfig: pytest.Config
) -> None:
    apify = json.loads(os.environ["AIRFLOW_CONN_APIFY_DEFAULT"])
    templates = json.loads(os.environ["AIRFLOW_CONN_TEMPLATE_BUILDS_DEFAULT"])
    assert apify == {
        "conn_type": "apify",
        "host": jobs_emulator.base_url,
        "password": jobs_emulator.apify_token,
    }
    assert templates == {
        "conn_type": "template_builds",
        "host": jobs_emulator.base_url,
        "password": jobs_emulator.templates_token,
    }
    assert (
        jobs_emulator.time_scale == session_time_scale(pytestconfig)
        and jobs_emulator.runs_of("demo~hello") == []
    )
    jobs_emulator.seed_actor("acme~etl", run=Timeline(running_secs=10))
    response = httpx.post(
        f"{apify['host']}/v2/actors/acme~etl/runs",
        headers={"Authorization": f"Bearer {apify['password']}"},
        params={"waitForFinish": 5},
    )
    assert response.json()["data"]["status"] == "SUCCEEDED"
    assert jobs_emulator.requests("POST", "/v2/actors/{actorId}/runs")[0].status == 201


@pytest.mark.jobs_emulator(time_scale=0.5)
def test_marker_sets_the_time_scale(jobs_emulator: Emulator) -> None:
    assert jobs_emulator.time_scale == 0.5


def test_importing_the_plugin_is_cheap() -> None:
    code = (
        "import sys, airflow_provider_jobs.emulator.pytest_plugin, airflow_provider_jobs.emulator as e;"
        "heavy = {'airflow', 'fastapi', 'starlette', 'uvicorn', 'pydantic'};"
        "heavy = [m for m in sys.modules if m.split('.')[0] in heavy];"
        "print(heavy)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"


INNER_TESTS = """
import json, os
import httpx
import pytest

def test_one(jobs_emulator):
    jobs_emulator.seed_actor("acme~leftover")
    jobs_emulator.add_fault(status=500, times=None)
    jobs_emulator.set_time_scale(2.0)
    assert json.loads(os.environ["AIRFLOW_CONN_APIFY_DEFAULT"])["host"] == jobs_emulator.base_url

def test_two_sees_a_reset_emulator(jobs_emulator):
    names = [actor.full_name for actor in jobs_emulator.actors()]
    assert "acme~leftover" not in names and "demo~hello" in names
    assert jobs_emulator.faults == [] and jobs_emulator.time_scale == 0.05
    url = jobs_emulator.base_url + "/v2/users/me"
    assert httpx.get(url, headers={"Authorization": "Bearer " + jobs_emulator.apify_token}).status_code == 200

def test_three_without_the_fixture_has_no_connection():
    assert "AIRFLOW_CONN_APIFY_DEFAULT" not in os.environ

@pytest.mark.jobs_emulator(time_scale=1.0)
def test_four_marker(jobs_emulator):
    assert jobs_emulator.time_scale == 1.0
"""


def test_fixture_in_a_fresh_pytest_session(tmp_path: Path) -> None:
    """Run a user's test file in a new process: the plugin loads through its entry point."""
    (tmp_path / "test_inner.py").write_text(textwrap.dedent(INNER_TESTS))
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\njobs_emulator_time_scale = 0.05\naddopts = --strict-markers\n"
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AIRFLOW_CONN_") and k != "AIRFLOW_JOBS_EMULATOR_TIME_SCALE"
    }
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_inner.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout

"""The connection form and Test button, checked in a real Airflow 3 api-server.

The UI builds the connection form from ``GET /ui/connections/hook_meta``; the Test button calls
``POST /api/v2/connections/test`` (enabled by ``[core] test_connection = Enabled``), which runs
the hook's ``test_connection`` inside the api-server.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _stack import Stack, airflow_stack

pytestmark = [pytest.mark.live, pytest.mark.timeout(300), pytest.mark.xdist_group("airflow_stack")]


@pytest.fixture(scope="module")
def api_server(jobs_emulator_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    home = tmp_path_factory.mktemp("ui-airflow-home")
    dags = home / "dags"
    dags.mkdir()
    with airflow_stack(jobs_emulator_server.emulator, home, dags, components=("api-server",),
                       extra_env={"AIRFLOW__CORE__TEST_CONNECTION": "Enabled"}) as stack:
        yield stack


@pytest.fixture(scope="module")
def hook_meta(api_server: Stack) -> dict[str, Any]:
    response = api_server.http.get(f"{api_server.base}/ui/connections/hook_meta")
    assert response.status_code == 200, response.text[:500]
    return {item["connection_type"]: item for item in response.json()}


@pytest.mark.parametrize(
    ("conn_type", "hook_name", "secret_label", "host_placeholder"),
    [("apify", "Apify", "API token", "https://api.apify.com (default)"),
     ("template_builds", "Nullspace Template Builds", "API key", "https://templates.example.com (required)")],
)
def test_form_metadata(hook_meta: dict[str, Any], conn_type: str, hook_name: str, secret_label: str,
                       host_placeholder: str) -> None:
    meta = hook_meta[conn_type]
    assert meta["hook_name"] == hook_name and meta["hook_class_name"].startswith("airflow_provider_jobs.hooks.")
    fields = meta["standard_fields"]
    assert fields["password"] == {"hidden": False, "title": secret_label, "placeholder": fields["password"]["placeholder"]}
    assert fields["password"]["placeholder"]
    assert fields["host"]["title"] == "API base URL" and fields["host"]["placeholder"] == host_placeholder
    assert fields["login"]["hidden"] is True
    extra = meta["extra_fields"]
    assert {"allow_insecure_http", "connect_timeout", "read_timeout", "max_retries", "retry_max_elapsed"} <= set(extra)
    assert extra["allow_insecure_http"]["schema"]["type"] == ["boolean", "null"]
    assert extra["read_timeout"]["schema"]["title"] == "Read timeout (s)"
    if conn_type == "apify":
        assert extra["console_url"]["value"] == "https://console.apify.com"


def test_test_button_succeeds_against_the_emulator(api_server: Stack, jobs_emulator: Any) -> None:
    for conn_type, token in (("apify", jobs_emulator.apify_token), ("template_builds", jobs_emulator.templates_token)):
        response = api_server.http.post("/connections/test", json={
            "connection_id": f"ui_{conn_type}", "conn_type": conn_type, "host": jobs_emulator.base_url,
            "password": token,
        })
        assert response.status_code == 200, response.text[:500]
        body = response.json()
        assert body["status"] is True, body
        assert "Connected to" in body["message"]


def test_test_button_fails_clearly_with_a_bad_token(api_server: Stack, jobs_emulator: Any) -> None:
    for conn_type in ("apify", "template_builds"):
        response = api_server.http.post("/connections/test", json={
            "connection_id": f"ui_bad_{conn_type}", "conn_type": conn_type, "host": jobs_emulator.base_url,
            "password": "definitely-not-a-valid-token",
        })
        body = response.json()
        assert body["status"] is False, body
        assert "401" in body["message"] and "Check the API token" in body["message"]
        assert "definitely-not-a-valid-token" not in body["message"]


def test_test_button_explains_an_insecure_host(api_server: Stack) -> None:
    response = api_server.http.post("/connections/test", json={
        "connection_id": "ui_insecure", "conn_type": "apify", "host": "http://api.example.com", "password": "tok",
    })
    body = response.json()
    assert body["status"] is False and "allow_insecure_http" in body["message"]

"""The emulated templates API over HTTP: builds, snapshots, cancel, SSE logs, errors."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from _emulator_helpers import wait_until

from airflow_provider_jobs.emulator.emulator import Emulator
from airflow_provider_jobs.emulator.timelines import TemplateTimeline

SLOW = TemplateTimeline(waiting_secs=0, building_secs=100_000, cancel_delay_secs=20)


def sse_entries(text: str) -> list[dict[str, object]]:
    """Parse an SSE body, checking the ``id: <offset>`` / ``data: <json>`` framing of every event."""
    entries = []
    for frame in text.split("\n\n"):
        if not frame:
            continue
        id_line, data_line = frame.split("\n")
        entry = json.loads(data_line.removeprefix("data: "))
        assert id_line == f"id: {entry['offset']}" and data_line.startswith("data: {")
        assert ", " not in data_line.split('"message"')[0]  # compact JSON
        entries.append(entry)
    assert text.endswith("\n\n") or not text
    return entries


def test_start_build_returns_202_with_a_bare_build(emu: Emulator, templates: httpx.Client) -> None:
    emu.seed_template(
        "etl-runner",
        TemplateTimeline(build_backend="buildkit", source_type="dockerfile"),
        namespace="dataops",
    )
    body = {
        "name": "etl-runner",
        "tags": ["nightly"],
        "build_config": {"vcpus": 4},
        "dockerfile": "FROM python:3.12",
    }
    response = templates.post("/v1/templates/builds", json=body)
    assert response.status_code == 202
    build = response.json()
    assert build["build_id"].startswith("tb_") and build["template_id"].startswith("tmpl_")
    assert (build["status"], build["tags"], build["canonical_ref"]) == (
        "waiting",
        ["nightly"],
        "dataops/etl-runner",
    )
    assert (build["build_backend"], build["source_type"], build["visibility"]) == (
        "buildkit",
        "dockerfile",
        "private",
    )
    assert build["build_config"]["vcpus"] == 4 and build["build_config"]["memory_mib"] == 512
    assert build["dockerfile_digest"].startswith("sha256:") and build["created_at"] == build["queued_at"]
    assert response.headers["x-request-id"].startswith("req_")


def test_start_build_picks_the_timeline_by_alias_and_defaults_tags(
    emu: Emulator, templates: httpx.Client
) -> None:
    emu.seed_template(
        "python-dev", TemplateTimeline(outcome="error", waiting_secs=0, building_secs=1), alias="pydev"
    )
    build = templates.post("/v1/templates/builds", json={"alias": "pydev"}).json()
    assert build["name"] == "python-dev" and build["tags"] == ["default"]
    wait_until(lambda: emu.get_template_build(build["build_id"])["build"]["status"] == "error")
    unknown = templates.post("/v1/templates/builds", json={"name": "brand-new"}).json()
    assert unknown["name"] == "brand-new" and unknown["canonical_ref"] == "emulator/brand-new"


@pytest.mark.parametrize("body", [{"tags": []}, {"tags": "x"}, {"name": 3}, {"build_config": []}, [1]])
def test_start_build_validation(templates: httpx.Client, body: object) -> None:
    response = templates.post("/v1/templates/builds", json=body)
    assert response.status_code == 400
    payload = response.json()
    assert payload["code"] == "invalid_request" and payload["request_id"] == response.headers["x-request-id"]


def test_snapshot_offsets_and_next_offset(emu: Emulator, templates: httpx.Client) -> None:
    build_id = emu.create_template_build("quick", timeline=TemplateTimeline(waiting_secs=0, building_secs=10))
    wait_until(lambda: emu.get_template_build(build_id)["build"]["status"] == "ready")
    full = templates.get(f"/v1/templates/builds/{build_id}", params={"offset": 0}).json()
    assert [e["offset"] for e in full["entries"]] == list(range(full["next_offset"]))
    tail = templates.get(f"/v1/templates/builds/{build_id}", params={"offset": 5}).json()
    assert [e["offset"] for e in tail["entries"]] == list(range(5, full["next_offset"]))
    beyond = templates.get(f"/v1/templates/builds/{build_id}", params={"offset": 99}).json()
    assert beyond["entries"] == [] and beyond["next_offset"] == full["next_offset"]
    assert templates.get(f"/v1/templates/builds/{build_id}", params={"offset": -1}).status_code == 400
    assert templates.get(f"/v1/templates/builds/{build_id}", params={"offset": "x"}).status_code == 400


def test_cancel_with_reason_is_pending_then_cancelled(emu: Emulator, templates: httpx.Client) -> None:
    emu.seed_template("slow", SLOW)
    build_id = templates.post("/v1/templates/builds", json={"name": "slow"}).json()["build_id"]
    wait_until(lambda: emu.get_template_build(build_id)["next_offset"] >= 2)
    response = templates.post(
        f"/v1/templates/builds/{build_id}/cancel", json={"reason": "Airflow task timed out"}
    )
    assert response.status_code == 200
    pending = response.json()
    assert pending["build"]["status"] == "building" and pending["build"]["cancel_requested_at"]
    assert pending["build"]["cancellation_reason"] == "Airflow task timed out"
    again = templates.post(f"/v1/templates/builds/{build_id}/cancel", json={})
    assert again.json()["build"]["cancel_requested_at"] == pending["build"]["cancel_requested_at"]
    wait_until(
        lambda: templates.get(f"/v1/templates/builds/{build_id}").json()["build"]["status"] == "cancelled"
    )
    final = templates.get(f"/v1/templates/builds/{build_id}").json()
    assert final["entries"][-1]["kind"] == "cancelled" and final["entries"][-1]["level"] == "warn"
    assert final["build"]["finished_at"] and final["build"]["promotability"]["promotable"] is False


def test_cancel_with_zero_delay_answers_cancelled(emu: Emulator, templates: httpx.Client) -> None:
    build_id = emu.create_template_build("now", timeline=SLOW.model_copy(update={"cancel_delay_secs": 0}))
    snapshot = templates.post(f"/v1/templates/builds/{build_id}/cancel").json()
    assert snapshot["build"]["status"] == "cancelled"
    assert snapshot["entries"][-1]["message"] == "template build cancelled"


def test_cancel_of_terminal_build_is_an_idempotent_200(emu: Emulator, templates: httpx.Client) -> None:
    build_id = emu.create_template_build("done", status="ready")
    before = templates.get(f"/v1/templates/builds/{build_id}").json()
    response = templates.post(f"/v1/templates/builds/{build_id}/cancel", json={"reason": "late"})
    assert response.status_code == 200 and response.json() == before


@pytest.mark.parametrize("body", [b"[1]", b"{bad", b'{"reason": 5}'])
def test_cancel_body_validation(emu: Emulator, templates: httpx.Client, body: bytes) -> None:
    build_id = emu.create_template_build("x", timeline=SLOW)
    response = templates.post(
        f"/v1/templates/builds/{build_id}/cancel", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400 and response.json()["code"] == "invalid_request"


def test_other_keys_builds_are_404_and_missing_keys_401(emu: Emulator, base_url: str) -> None:
    emu.add_template_token("team-b-key", namespace="team-b")
    build_id = emu.create_template_build("private", timeline=SLOW)
    other = httpx.Client(base_url=base_url, headers={"Authorization": "Bearer team-b-key"})
    for method, path in (
        ("GET", f"/v1/templates/builds/{build_id}"),
        ("POST", f"/v1/templates/builds/{build_id}/cancel"),
        ("GET", f"/v1/templates/builds/{build_id}/logs"),
    ):
        response = other.request(method, path)
        assert response.status_code == 404
        assert response.json() == {
            "error": "template build not found",
            "code": "template_build_not_found",
            "request_id": response.headers["x-request-id"],
            "build_id": build_id,
        }
    assert emu.get_template_build(build_id)["build"].get("cancel_requested_at") is None
    theirs = other.post("/v1/templates/builds", json={"name": "mine"}).json()
    assert theirs["namespace_slug"] == "team-b"
    anonymous = httpx.get(f"{base_url}/v1/templates/builds/{build_id}")
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "unauthorized"
    query_key = httpx.get(f"{base_url}/v1/templates", params={"token": emu.templates_token})
    assert query_key.status_code == 401  # the templates API takes the key from the header only


def test_sse_replay_without_follow_closes_at_once(emu: Emulator, templates: httpx.Client) -> None:
    build_id = emu.create_template_build("slow", timeline=SLOW)
    wait_until(lambda: emu.get_template_build(build_id)["next_offset"] >= 2)
    started = time.monotonic()
    response = templates.get(f"/v1/templates/builds/{build_id}/logs", params={"follow": "false", "offset": 1})
    assert time.monotonic() - started < 1.0
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    entries = sse_entries(response.text)
    assert entries and entries[0]["offset"] == 1 and entries[0]["build_id"] == build_id


def test_sse_follow_streams_live_entries_until_the_terminal_one(
    emu: Emulator, templates: httpx.Client
) -> None:
    build_id = emu.create_template_build("live", timeline=TemplateTimeline(waiting_secs=10, building_secs=30))
    started = time.monotonic()
    with templates.stream(
        "GET", f"/v1/templates/builds/{build_id}/logs", params={"follow": "true"}
    ) as response:
        text = "".join(response.iter_text())
    elapsed = time.monotonic() - started
    entries = sse_entries(text)
    assert [e["offset"] for e in entries] == list(range(len(entries)))
    assert entries[0]["kind"] == "start" and entries[-1]["kind"] == "end"
    assert 0.3 < elapsed < 3.0  # it really waited for the live entries


def test_sse_follow_ends_with_the_cancelled_entry(
    emu: Emulator, templates: httpx.Client, base_url: str
) -> None:
    build_id = emu.create_template_build("slow", timeline=SLOW.model_copy(update={"cancel_delay_secs": 5}))
    wait_until(lambda: emu.get_template_build(build_id)["next_offset"] >= 2)

    def cancel_soon() -> None:
        time.sleep(0.1)
        emu.cancel_template_build(build_id, reason="stop")

    import threading

    threading.Thread(target=cancel_soon).start()
    response = templates.get(f"/v1/templates/builds/{build_id}/logs", params={"follow": "true", "cursor": 1})
    entries = sse_entries(response.text)
    assert entries[0]["offset"] == 1 and entries[-1]["kind"] == "cancelled"


def test_sse_offset_wins_over_cursor_and_errors_come_before_the_stream(
    emu: Emulator, templates: httpx.Client
) -> None:
    build_id = emu.create_template_build("done", status="ready")
    both = templates.get(f"/v1/templates/builds/{build_id}/logs", params={"offset": 3, "cursor": 1})
    assert sse_entries(both.text)[0]["offset"] == 3
    missing = templates.get("/v1/templates/builds/tb_missing/logs")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/json")
    bad = templates.get(f"/v1/templates/builds/{build_id}/logs", params={"follow": "maybe"})
    assert bad.status_code == 400


def test_list_templates_healthz_and_list_builds(
    emu: Emulator, templates: httpx.Client, base_url: str
) -> None:
    info = emu.seed_template("listed", description="shown")
    listed = templates.get("/v1/templates").json()
    assert listed == [info] and info["id"].startswith("tmpl_") and info["builtin"] is False
    health = httpx.get(f"{base_url}/healthz")
    assert health.status_code == 200 and health.headers["x-request-id"]
    ready = emu.create_template_build("listed", status="ready")
    emu.create_template_build("listed", status="error")
    builds = templates.get(f"/v1/templates/{info['id']}/builds", params={"status": "ready"}).json()["builds"]
    assert [b["build_id"] for b in builds] == [ready] and "canonical_ref" not in builds[0]
    assert templates.get("/v1/templates/tmpl_nope/builds").status_code == 404


def test_unknown_paths_and_methods(templates: httpx.Client) -> None:
    assert templates.get("/v1/nothing").status_code == 404
    wrong = templates.delete("/v1/templates/builds")
    assert wrong.status_code == 405 and wrong.headers["allow"] == "OPTIONS,POST"
    assert wrong.json()["code"] == "method_not_allowed"

"""Airflow discovers the provider, its connection types and their form metadata."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from importlib.metadata import entry_points, version

import pytest

import airflow_provider_jobs
from airflow_provider_jobs.get_provider_info import get_provider_info


def test_entry_point_and_versions_agree() -> None:
    eps = [ep for ep in entry_points(group="apache_airflow_provider") if ep.value.startswith("airflow_provider_jobs")]
    assert len(eps) == 1 and eps[0].load() is get_provider_info
    info = get_provider_info()
    assert info["package-name"] == "airflow-provider-jobs"  # must equal the distribution name
    assert version("airflow-provider-jobs") == airflow_provider_jobs.__version__ == info["versions"][0]


def test_provider_info_validates_against_airflows_runtime_schema() -> None:
    import jsonschema
    from importlib.resources import files

    schema = json.loads(files("airflow").joinpath("provider_info.schema.json").read_text())
    jsonschema.validate(get_provider_info(), schema)


def test_every_registered_module_and_class_imports() -> None:
    info = get_provider_info()
    modules = [m for section in ("hooks", "operators", "sensors", "triggers") for item in info.get(section, [])
               for m in item["python-modules"]]
    for module in modules:
        importlib.import_module(module)
    classes = [c["hook-class-name"] for c in info["connection-types"]]
    classes += info.get("extra-links", []) + info.get("notifications", [])
    for path in classes:
        module, _, name = path.rpartition(".")
        assert hasattr(importlib.import_module(module), name), path


def test_get_provider_info_module_imports_nothing() -> None:
    code = ("import sys; before=set(sys.modules); import airflow_provider_jobs.get_provider_info as g; "
            "g.get_provider_info(); new={m for m in set(sys.modules)-before if not m.startswith('airflow_provider_jobs')};"
            "print(sorted(m for m in new if m.split('.')[0] in ('airflow','httpx','pydantic')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_providers_manager_sees_hooks_and_form_metadata() -> None:
    from airflow.providers_manager import ProvidersManager

    try:  # Airflow >= 3.2 moved hook discovery to the task SDK
        from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

        hooks = ProvidersManagerTaskRuntime().hooks
    except ImportError:  # pragma: no cover
        hooks = ProvidersManager().hooks
    pm = ProvidersManager()
    assert "airflow-provider-jobs" in pm.providers
    for conn_type, cls in (("apify", "ApifyHook"), ("template_builds", "TemplateBuildHook")):
        hook_info = hooks[conn_type]
        assert hook_info is not None and hook_info.hook_class_name.endswith(cls)
        assert hook_info.connection_testable
    behaviours = pm.field_behaviours
    assert behaviours["apify"]["relabeling"]["password"] == "API token"
    assert "login" in behaviours["template_builds"]["hidden_fields"]


def test_airflow_providers_list_shows_the_provider(tmp_path: pytest.TempPathFactory) -> None:
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path)}
    airflow = os.path.join(os.path.dirname(sys.executable), "airflow")
    result = subprocess.run([airflow, "providers", "list"], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("airflow-provider-jobs"))
    assert airflow_provider_jobs.__version__ in line
    hooks = subprocess.run([airflow, "providers", "hooks"], capture_output=True, text=True, env=env, timeout=120)
    assert "airflow_provider_jobs.hooks.apify.ApifyHook" in hooks.stdout
    assert "airflow_provider_jobs.hooks.template_builds.TemplateBuildHook" in hooks.stdout

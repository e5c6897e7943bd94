"""Every public class, and every public method it defines, has a docstring."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import airflow_provider_jobs

MODULES = sorted(
    m.name for m in pkgutil.walk_packages(airflow_provider_jobs.__path__, "airflow_provider_jobs.")
    if not any(part.startswith("_") for part in m.name.split(".")[1:]) and ".emulator" not in m.name
)


def test_modules_found() -> None:
    assert "airflow_provider_jobs.operators.apify" in MODULES and len(MODULES) > 15


@pytest.mark.parametrize("module_name", MODULES)
def test_public_api_is_documented(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert module.__doc__, module_name
    missing = []
    for name, cls in inspect.getmembers(module, inspect.isclass):
        if name.startswith("_") or cls.__module__ != module_name:
            continue
        if not cls.__doc__:
            missing.append(name)
        for attr, value in vars(cls).items():
            if attr.startswith("_"):
                continue
            func = value.fget if isinstance(value, property) else value
            if isinstance(func, (staticmethod, classmethod)):
                func = func.__func__
            if inspect.isfunction(func) and not func.__doc__:
                missing.append(f"{name}.{attr}")
    assert not missing, f"{module_name}: undocumented {missing}"

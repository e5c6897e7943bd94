"""The connection form Airflow 3.0/3.1 builds from the hook equals the declarative one of 3.2+."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest

from airflow_provider_jobs._compat import AIRFLOW_VERSION
from airflow_provider_jobs.get_provider_info import get_provider_info
from airflow_provider_jobs.hooks._forms import connection_form_widgets, ui_field_behaviour, with_connection_form

DECLARED = {entry["connection-type"]: entry for entry in get_provider_info()["connection-types"]}
CONN_TYPES = sorted(DECLARED)


class _Field:
    """Stands in for a wtforms field class: records what it was built with."""

    def __init__(self, label: str, validators: Any = None, description: str = "", default: Any = None) -> None:
        self.label, self.validators, self.description, self.default = label, validators, description, default


@pytest.fixture
def fake_wtforms(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """A ``wtforms`` module with recording field classes (Airflow 3.0/3.1 swap in stand-ins too)."""
    module = types.ModuleType("wtforms")
    for name in ("BooleanField", "IntegerField", "PasswordField", "StringField"):
        setattr(module, name, type(name, (_Field,), {}))
    validators = types.ModuleType("wtforms.validators")
    validators.Optional = type("Optional", (), {})  # type: ignore[attr-defined]
    module.validators = validators  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "wtforms", module)
    monkeypatch.setitem(sys.modules, "wtforms.validators", validators)
    return module


@pytest.mark.parametrize("conn_type", CONN_TYPES)
def test_field_behaviour_is_the_declared_one(conn_type: str) -> None:
    declared = DECLARED[conn_type]["ui-field-behaviour"]
    assert ui_field_behaviour(conn_type) == {
        "hidden_fields": declared["hidden-fields"],
        "relabeling": declared["relabeling"],
        "placeholders": declared["placeholders"],
    }


@pytest.mark.parametrize("conn_type", CONN_TYPES)
def test_widgets_carry_the_declared_labels_descriptions_and_defaults(
    conn_type: str, fake_wtforms: types.ModuleType
) -> None:
    fields = DECLARED[conn_type]["conn-fields"]
    widgets = connection_form_widgets(conn_type)
    assert set(widgets) == set(fields)
    for name, spec in fields.items():
        widget, schema = widgets[name], spec["schema"]
        assert widget.label == spec["label"]
        assert widget.description == spec.get("description", "")
        kinds = set(schema["type"]) - {"null"}
        expected_class = {"boolean": "BooleanField", "integer": "IntegerField"}.get(kinds.pop(), "StringField")
        assert type(widget).__name__ == expected_class
        expected_default = schema.get("default")
        if expected_class == "StringField" and expected_default is not None:
            expected_default = str(expected_default)  # 3.0/3.1 have no number field: numbers travel as text
        assert widget.default == expected_default


def test_the_decorator_puts_both_classmethods_in_the_hooks_own_namespace(fake_wtforms: types.ModuleType) -> None:
    @with_connection_form
    class Hook:
        conn_type = "apify"

    class SubHook(Hook):
        pass

    assert {"get_ui_field_behaviour", "get_connection_form_widgets"} <= set(vars(Hook))
    assert Hook.get_ui_field_behaviour() == ui_field_behaviour("apify")  # type: ignore[attr-defined]
    assert set(Hook.get_connection_form_widgets()) == set(DECLARED["apify"]["conn-fields"])  # type: ignore[attr-defined]
    assert "get_ui_field_behaviour" not in vars(SubHook)  # Airflow reads only the class's own dict


def test_an_undeclared_connection_type_fails_when_the_hook_is_defined() -> None:
    with pytest.raises(KeyError, match="not declared"):

        @with_connection_form
        class Hook:
            conn_type = "no_such_type"


def test_airflows_connection_form_service_shows_the_declared_form() -> None:
    """What the UI's hook_meta endpoint serves: declarative on 3.2+, the hook's classmethods before."""
    if AIRFLOW_VERSION < (3, 2, 0):
        try:
            import wtforms  # noqa: F401
        except ImportError:
            pytest.fail("Airflow < 3.2 builds the connection form only where wtforms is installed (scripts/_lowest.sh)")
    from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService

    served = {meta.connection_type: meta for meta in HookMetaService.hook_meta_data()}
    for conn_type, declared in DECLARED.items():
        meta = served[conn_type]
        behaviour = declared["ui-field-behaviour"]
        assert meta.standard_fields is not None, f"{conn_type}: the form is not customised"
        for field in ("login", "schema"):
            assert getattr(meta.standard_fields, "url_schema" if field == "schema" else field).hidden
        assert meta.standard_fields.password.title == behaviour["relabeling"]["password"]
        assert meta.standard_fields.password.placeholder == behaviour["placeholders"]["password"]
        assert meta.standard_fields.host.placeholder == behaviour["placeholders"]["host"]
        extra = meta.extra_fields or {}
        assert set(extra) == set(declared["conn-fields"])
        for name, spec in declared["conn-fields"].items():
            assert extra[name]["schema"]["title"] == spec["label"]
            assert extra[name]["description"] == spec.get("description")

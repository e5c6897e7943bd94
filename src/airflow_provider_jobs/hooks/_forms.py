"""The connection form for Airflow 3.0 and 3.1, built from the declarative one.

Airflow 3.2+ builds the connection form from ``conn-fields`` and ``ui-field-behaviour`` in
:func:`~airflow_provider_jobs.get_provider_info.get_provider_info`, without importing the hook.
Airflow 3.0 and 3.1 read neither: they call the hook's own ``get_connection_form_widgets()`` and
``get_ui_field_behaviour()`` classmethods, looked up in the hook class's ``__dict__`` only (not
inherited), and only where ``wtforms`` is importable (the FAB provider brings it; the 3.0/3.1 UI
replaces its field classes with stand-ins). Airflow 3.2+ does not call them when the declarative
metadata exists, so defining both is safe, as the dbt Cloud provider 4.11 does.

:func:`with_connection_form` puts both classmethods on a hook class; they derive everything
from the provider info, so the two forms cannot drift apart.
"""

from __future__ import annotations

from typing import Any, TypeVar

from airflow_provider_jobs.get_provider_info import get_provider_info

__all__ = ["connection_form_widgets", "ui_field_behaviour", "with_connection_form"]

H = TypeVar("H", bound=type)


def _connection_type(conn_type: str) -> dict[str, Any]:
    for entry in get_provider_info()["connection-types"]:
        if entry["connection-type"] == conn_type:
            return dict(entry)
    raise KeyError(f"connection type {conn_type!r} is not declared in get_provider_info()")


def ui_field_behaviour(conn_type: str) -> dict[str, Any]:
    """Return ``ui-field-behaviour`` of ``conn_type`` in the shape ``get_ui_field_behaviour()`` returns.

    :param conn_type: a connection type declared in the provider info.
    """
    behaviour = _connection_type(conn_type)["ui-field-behaviour"]
    return {
        "hidden_fields": list(behaviour.get("hidden-fields", [])),
        "relabeling": dict(behaviour.get("relabeling", {})),
        "placeholders": dict(behaviour.get("placeholders", {})),
    }


def connection_form_widgets(conn_type: str) -> dict[str, Any]:
    """Return ``conn-fields`` of ``conn_type`` as the wtforms fields ``get_connection_form_widgets()`` returns.

    Airflow 3.0/3.1 accept only string, integer, password and boolean fields, so a ``number``
    field is a string field (the connection parser reads numbers from strings).

    :param conn_type: a connection type declared in the provider info.
    :raises ImportError: without ``wtforms`` (Airflow then logs that the form is not customised).
    """
    from wtforms import BooleanField, IntegerField, PasswordField, StringField
    from wtforms.validators import Optional

    widgets: dict[str, Any] = {}
    for name, spec in _connection_type(conn_type).get("conn-fields", {}).items():
        schema = spec.get("schema", {})
        types = schema.get("type", "string")
        types = {types} if isinstance(types, str) else set(types)
        default = schema.get("default")
        if "boolean" in types:
            field_class: Any = BooleanField
        elif "integer" in types:
            field_class = IntegerField
        else:
            field_class = PasswordField if schema.get("format") == "password" else StringField
            default = None if default is None else str(default)
        widgets[name] = field_class(
            spec["label"], validators=[Optional()], description=spec.get("description", ""), default=default
        )
    return widgets


def with_connection_form(hook_class: H) -> H:
    """Class decorator: give ``hook_class`` the form classmethods Airflow 3.0/3.1 read.

    The hook must set ``conn_type``. Airflow looks the methods up in the class's own
    ``__dict__``, so each concrete hook is decorated, not a base class.

    :param hook_class: a hook class whose ``conn_type`` is declared in the provider info.
    """
    conn_type: str = vars(hook_class)["conn_type"]
    _connection_type(conn_type)  # fail at import, not in the UI, on an undeclared type

    def get_ui_field_behaviour(cls: type) -> dict[str, Any]:
        """Return the connection form's field behaviour (Airflow 3.0/3.1; 3.2+ reads the provider info)."""
        return ui_field_behaviour(conn_type)

    def get_connection_form_widgets(cls: type) -> dict[str, Any]:
        """Return the connection form's extra fields (Airflow 3.0/3.1; 3.2+ reads the provider info)."""
        return connection_form_widgets(conn_type)

    setattr(hook_class, "get_ui_field_behaviour", classmethod(get_ui_field_behaviour))  # noqa: B010
    setattr(hook_class, "get_connection_form_widgets", classmethod(get_connection_form_widgets))  # noqa: B010
    return hook_class

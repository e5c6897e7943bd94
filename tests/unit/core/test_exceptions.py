"""The exception family: names for what they mean, and the deprecated old name of a 400/422."""

from __future__ import annotations

import warnings

import pytest

from airflow_provider_jobs import exceptions
from airflow_provider_jobs.exceptions import (
    InvalidArgumentError,
    InvalidIdError,
    JobsApiError,
    JobsError,
    RequestRejectedError,
    error_class_for_status,
)


def test_a_refused_argument_and_a_refused_id_are_value_errors_and_not_api_errors() -> None:
    assert issubclass(InvalidIdError, InvalidArgumentError)
    for cls in (InvalidArgumentError, InvalidIdError):
        assert issubclass(cls, JobsError) and issubclass(cls, ValueError) and not issubclass(cls, JobsApiError)


@pytest.mark.parametrize("status", [400, 422])
def test_the_api_refusing_a_request_is_a_request_rejected_error(status: int) -> None:
    assert error_class_for_status(status) is RequestRejectedError
    assert not issubclass(RequestRejectedError, ValueError)


def test_invalid_input_error_is_a_deprecated_alias_that_warns_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exceptions, "_warned", set())
    with pytest.warns(DeprecationWarning, match="InvalidInputError is deprecated.*use RequestRejectedError"):
        from airflow_provider_jobs.exceptions import InvalidInputError
    assert InvalidInputError is RequestRejectedError
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert exceptions.InvalidInputError is RequestRejectedError  # no second warning
    assert "InvalidInputError" not in exceptions.__all__ and "RequestRejectedError" in exceptions.__all__


def test_unknown_names_are_still_attribute_errors() -> None:
    with pytest.raises(AttributeError, match="NoSuchError"):
        exceptions.NoSuchError  # noqa: B018
    assert "InvalidArgumentError" in exceptions.__all__ and "InvalidIdError" in exceptions.__all__

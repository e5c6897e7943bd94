"""Ids and arguments are refused before any request, with a message naming the problem."""

from __future__ import annotations

import pytest

from airflow_provider_jobs._validation import (
    MAX_ID_LENGTH,
    MAX_REASON_LENGTH,
    normalize_actor_id,
    validate_count,
    validate_flag,
    validate_job_id,
    validate_positive_number,
    validate_reason,
    validate_wait_seconds,
)
from airflow_provider_jobs.exceptions import InvalidArgumentError, InvalidIdError

GOOD_IDS = ["HG7ML7M8z78YcAPEB", "tb_8k2m4q7wz1", "a", "x-y_z.1~2", "A" * MAX_ID_LENGTH]
BAD_IDS = [
    ("", "empty"),
    ("   ", "whitespace"),
    (" abc", "whitespace"),
    ("ab c", "whitespace"),
    ("abc\n", "whitespace"),
    ("a/b", "'/'"),
    ("../etc", "'/'"),
    ("..", "'..'"),
    ("a..b", "'..'"),
    ("a?b=1", "'?'"),
    ("a#frag", "'#'"),
    ("a%2Fb", "'%'"),
    ("a\\b", "'\\'"),
    ("ünïcode", "characters other than"),
    ("a;b", "characters other than"),
    ("a" * (MAX_ID_LENGTH + 1), "characters long"),
]


@pytest.mark.parametrize("value", GOOD_IDS)
def test_good_ids_pass_unchanged(value: str) -> None:
    assert validate_job_id(value, "Apify run id") == value


@pytest.mark.parametrize(("value", "why"), BAD_IDS)
def test_bad_ids_are_refused_with_reason(value: str, why: str) -> None:
    with pytest.raises(InvalidIdError) as err:
        validate_job_id(value, "Apify run id")
    assert "Apify run id" in str(err.value)
    assert why in str(err.value)
    assert len(str(err.value)) < 300  # a 10 kB id is not echoed whole


@pytest.mark.parametrize("value", [None, 123, 1.5, b"abc", ["a"], {"a": 1}, True])
def test_non_strings_are_refused(value: object) -> None:
    with pytest.raises(InvalidIdError, match="expected a string"):
        validate_job_id(value, "Apify build id")


def test_invalid_id_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        validate_job_id("a/b", "x")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("HDSasDasz78YcAPEB", "HDSasDasz78YcAPEB"),
        ("janedoe~my-actor", "janedoe~my-actor"),
        ("janedoe/my-actor", "janedoe~my-actor"),
        ("~my-actor", "~my-actor"),
        ("apify/web-scraper", "apify~web-scraper"),
    ],
)
def test_actor_forms_are_normalised(given: str, expected: str) -> None:
    assert normalize_actor_id(given) == expected


@pytest.mark.parametrize(
    "value",
    ["", "a/b/c", "/actor", "user/", "a~b~c", "user~", "a/../b", "user~act?x", "user~act#", "u/a%2F", " u/a", None, 7],
)
def test_bad_actor_ids_are_refused(value: object) -> None:
    with pytest.raises(InvalidIdError, match="actor id"):
        normalize_actor_id(value)


def test_reason_is_trimmed_and_bounded() -> None:
    assert validate_reason(None) is None
    assert validate_reason("   ") is None
    assert validate_reason("  timed out \n") == "timed out"
    long = validate_reason("x" * 10_000)
    assert long is not None and len(long) == MAX_REASON_LENGTH and long.endswith("...")
    assert validate_reason("naïve ünïcode ✓") == "naïve ünïcode ✓"


@pytest.mark.parametrize("value", ["bad\x00reason", "bell\x07", 42, ["a"]])
def test_bad_reasons_are_refused(value: object) -> None:
    with pytest.raises(InvalidArgumentError) as err:
        validate_reason(value)
    assert not isinstance(err.value, InvalidIdError)  # a reason is not an id


@pytest.mark.parametrize("value", [-1, float("nan"), "10", True])
def test_bad_wait_seconds(value: object) -> None:
    with pytest.raises(InvalidArgumentError) as err:
        validate_wait_seconds(value, "timeout")
    assert not isinstance(err.value, InvalidIdError)  # a number of seconds is not an id


def test_good_wait_seconds() -> None:
    assert validate_wait_seconds(None, "t") is None
    assert validate_wait_seconds(0, "t") == 0.0
    assert validate_wait_seconds(2.5, "t") == 2.5


def test_flags_counts_and_positive_numbers() -> None:
    assert validate_flag(True, "desc") is True and validate_count(0, "offset", minimum=0) == 0
    assert validate_positive_number(2, "max_total_charge_usd") == 2.0
    for check, value in [(validate_flag, "yes"), (validate_flag, 1), (validate_count, True), (validate_count, 0),
                         (validate_count, "3"), (validate_positive_number, 0), (validate_positive_number, 10**400),
                         (validate_positive_number, float("nan")), (validate_positive_number, True)]:
        with pytest.raises(InvalidArgumentError, match="^Invalid x: expected") as err:
            check(value, "x")  # type: ignore[operator]
        assert not isinstance(err.value, InvalidIdError)

"""``wait_for_capacity``: a start refused because the account is at its limit is sent again, with
backoff, until it passes or the time is up; no other error is ever repeated (a start is not idempotent).

The loop (lifecycle/capacity.py) runs on a fake clock; the operators run against the emulator, whose
journal counts the starts, with a backoff of milliseconds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from _kinds import fake_context
from _support import FakeClock, Recorder, apify_error

from airflow_provider_jobs._compat import AirflowFailException
from airflow_provider_jobs._retry import RetryPolicy
from airflow_provider_jobs.emulator.emulator import Emulator
from airflow_provider_jobs.emulator.timelines import Timeline
from airflow_provider_jobs.exceptions import (
    InvalidArgumentError,
    JobsApiError,
    PaymentRequiredError,
    RequestRejectedError,
    ServerError,
    StartOutcomeUnknownError,
)
from airflow_provider_jobs.lifecycle.capacity import capacity_wait_seconds, start_when_capacity_allows
from airflow_provider_jobs.operators.apify import ApifyRunActorOperator, ApifyRunActorTaskOperator

QUICK = RetryPolicy(base_delay=0.01, max_delay=0.02)
RUN_START = "POST /v2/actors/{actorId}/runs"
TASK_START = "POST /v2/actor-tasks/{actorTaskId}/runs"


def refusal(error_type: str = "concurrent-runs-limit-exceeded") -> PaymentRequiredError:
    return PaymentRequiredError(f"Start of Apify run failed: HTTP 402 {error_type}.", status=402,
                                error_type=error_type, api_message="By launching this job you will exceed the limit",
                                conn_id="apify_default")


class Starts:
    """A start that raises the given errors in turn, then returns ``"run-1"``."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "run-1"


def loop(start: Callable[[], str], wait_for: float, clock: FakeClock, **kwargs: Any) -> str:
    return start_when_capacity_allows(start, wait_for, what="Apify run", clock=clock, sleep=clock.sleep,
                                      rng=lambda: 0.5, **kwargs)


def test_refusals_are_tried_again_with_growing_jittered_delays(fake_clock: FakeClock,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    start = Starts(refusal(), refusal("actor-memory-limit-exceeded"), refusal())
    with caplog.at_level(logging.WARNING):
        assert loop(start, 600, fake_clock) == "run-1"
    assert start.calls == 4
    assert fake_clock.sleeps == [3.0, 6.0, 12.0]  # 0.75 of windows 4, 8, 16 s (rng 0.5: the middle of the upper half)
    lines = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(lines) == 3 and "actor-memory-limit-exceeded" in lines[1] and "exceed the limit" in lines[0]


def test_the_deadline_is_honoured_and_the_error_says_how_long_it_waited(fake_clock: FakeClock) -> None:
    start = Starts(*[refusal() for _ in range(100)])
    with pytest.raises(PaymentRequiredError) as err:
        loop(start, 100, fake_clock)
    assert sum(fake_clock.sleeps) == pytest.approx(100)  # the last delay is cut to the deadline
    assert fake_clock.sleeps[-1] < 30 and start.calls == len(fake_clock.sleeps) + 1
    assert "Waited 100 s (wait_for_capacity=100)" in str(err.value) and "HTTP 402" in str(err.value)
    assert err.value.is_capacity_refusal and err.value.conn_id == "apify_default"  # same class and data


@pytest.mark.parametrize("error", [
    PaymentRequiredError("paid actor", status=402, error_type="not-enough-usage-to-run-paid-actor"),
    RequestRejectedError("bad input", status=400, error_type="invalid-input"),
    StartOutcomeUnknownError("the start may have created a run", status=None),
    ServerError("500", status=500),
])
def test_no_other_error_is_ever_tried_again(fake_clock: FakeClock, error: JobsApiError) -> None:
    start = Starts(refusal(), error)
    with pytest.raises(type(error)) as err:
        loop(start, 600, fake_clock)
    assert err.value is error and start.calls == 2 and len(fake_clock.sleeps) == 1


def test_without_wait_for_capacity_a_refusal_fails_at_once(fake_clock: FakeClock) -> None:
    first = refusal()
    with pytest.raises(PaymentRequiredError) as err:
        loop(Starts(first), 0, fake_clock)
    assert err.value is first and not fake_clock.sleeps


def test_a_stop_while_waiting_starts_nothing_more(fake_clock: FakeClock) -> None:
    start = Starts(refusal(), refusal())
    with pytest.raises(PaymentRequiredError, match="stopped while waiting for capacity.*nothing was started"):
        loop(start, 600, fake_clock, should_stop=lambda: bool(fake_clock.sleeps))
    assert start.calls == 1


@pytest.mark.parametrize(("value", "seconds"), [(None, 0.0), (0, 0.0), ("90", 90.0), (" 1.5 ", 1.5), (30, 30.0)])
def test_wait_for_capacity_values(value: Any, seconds: float) -> None:
    assert capacity_wait_seconds(value) == seconds


@pytest.mark.parametrize("value", ["soon", "-1", float("inf"), float("nan"), True, [5]])
def test_bad_wait_for_capacity_values_are_refused(value: Any) -> None:
    with pytest.raises(InvalidArgumentError, match="Invalid wait_for_capacity"):
        capacity_wait_seconds(value)


# ----------------------------------------------------------------------------------- operators
@pytest.fixture
def emu(jobs_emulator: Emulator) -> Emulator:
    jobs_emulator.seed_actor("cap~scraper", run=Timeline(ready_secs=1, running_secs=10))
    jobs_emulator.seed_task("cap~scraper", "nightly")
    return jobs_emulator


OPERATORS: dict[str, tuple[Callable[..., Any], str]] = {
    "actor": (lambda **kw: ApifyRunActorOperator(task_id="t", actor_id="cap~scraper", **kw), RUN_START),
    "task": (lambda **kw: ApifyRunActorTaskOperator(task_id="t", actor_task_id="~nightly", **kw), TASK_START),
}


@pytest.mark.parametrize("which", list(OPERATORS))
def test_the_operators_start_once_the_account_has_room(emu: Emulator, which: str) -> None:
    make, route = OPERATORS[which]
    emu.add_fault(route=route, status=402, error_type="concurrent-runs-limit-exceeded", times=2)
    op = make(wait_for_capacity="30", wait_for_termination=False)
    op.capacity_backoff = QUICK
    summary = op.execute(fake_context())
    assert len(emu.requests(route=route)) == 3 and emu.get_run(summary["id"])["status"]


@pytest.mark.parametrize("which", list(OPERATORS))
def test_the_operators_give_up_after_wait_for_capacity(emu: Emulator, which: str) -> None:
    make, route = OPERATORS[which]
    emu.add_fault(route=route, status=402, error_type="actor-memory-limit-exceeded", times=None)
    op = make(wait_for_capacity=0.1, wait_for_termination=False)
    op.capacity_backoff = QUICK
    expected = r"actor-memory-limit-exceeded.*Waited 0 s \(wait_for_capacity=0.1\)"
    with pytest.raises(PaymentRequiredError, match=expected):
        op.execute(fake_context())
    assert len(emu.requests(route=route)) >= 2 and not emu.runs_of("cap~scraper")  # tried again, then gave up


def test_the_operators_do_not_repeat_another_refusal(emu: Emulator) -> None:
    make, route = OPERATORS["task"]
    emu.add_fault(route=route, status=402, error_type="not-enough-usage-to-run-paid-actor", times=None)
    op = make(wait_for_capacity=30, wait_for_termination=False)
    with pytest.raises(PaymentRequiredError):
        op.execute(fake_context())
    assert len(emu.requests(route=route)) == 1


def test_a_bad_wait_for_capacity_fails_the_task_before_any_request(emu: Emulator) -> None:
    make, route = OPERATORS["actor"]
    with pytest.raises(AirflowFailException, match="Invalid wait_for_capacity.*not retried"):
        make(wait_for_capacity="a while").execute(fake_context())
    assert not emu.requests(route=route)


def test_the_task_operator_waits_for_another_run_to_end(emu: Emulator) -> None:
    """The emulator's account limit: one concurrent run. The first run ends after ~0.1 s; then the
    task's run starts."""
    first = emu.create_run("cap~scraper")
    emu.set_account_limits(max_concurrent_runs=1)
    make, route = OPERATORS["task"]
    op = make(wait_for_capacity=10, wait_for_termination=False)
    op.capacity_backoff = QUICK
    summary = op.execute(fake_context())
    assert emu.get_run(first)["status"] == "SUCCEEDED" and summary["id"] != first
    assert len(emu.requests(route=route)) >= 2  # refused at least once, then started


@pytest.mark.usefixtures("mock_connections")
def test_a_kill_while_waiting_for_capacity_starts_nothing_more(api: Recorder) -> None:
    op = ApifyRunActorTaskOperator(task_id="t", actor_task_id="janedoe~nightly", wait_for_capacity=30)
    op.capacity_backoff = QUICK
    refused = apify_error(402, "concurrent-runs-limit-exceeded", "By launching this job you will exceed the limit")

    def refuse_then_sigterm(request: httpx.Request) -> httpx.Response:
        op.on_kill()  # SIGTERM while the task waits for room
        return refused

    api.responses = [refused, refuse_then_sigterm]
    with pytest.raises(PaymentRequiredError, match="stopped while waiting for capacity"):
        op.execute(fake_context())
    assert len(api.requests) == 2  # no third start, and no abort: nothing was started

"""Helpers of the emulator tests (imported as ``_emulator_helpers``)."""

from __future__ import annotations

import time
from collections.abc import Callable

TIME_SCALE = 0.01


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0, interval: float = 0.01) -> None:
    """Poll ``predicate`` until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(interval)

"""A response the core hands back is freed as soon as the caller drops it (no reference cycle).

httpx leaves a finished response and its spent stream pointing at each other; bodies then wait for
the cyclic garbage collector, and a dataset export piled up 1 MB pages (~8 MB per 100,000 items)."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator

import pytest
from _support import FakeClock, Recorder, apify_ok
from test_http import make_core

from airflow_provider_jobs._call import Call

PAGE = Call("GET", "/v2/datasets/d1/items", "Read of Apify dataset d1", "Apify dataset id", expect_json=False)


@pytest.fixture
def no_cyclic_gc() -> Iterator[None]:
    was = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def test_a_read_response_is_freed_without_the_cyclic_gc(
    recorder: Recorder, fake_clock: FakeClock, no_cyclic_gc: None
) -> None:
    recorder.responses = [apify_ok([{"n": i} for i in range(100)])]
    response = make_core(recorder, fake_clock).request(PAGE)
    last = response.json()["data"][99]  # still readable after it was detached
    gone = weakref.ref(response)
    del response
    assert last == {"n": 99}
    assert gone() is None


def test_an_async_read_response_is_freed_without_the_cyclic_gc(
    recorder: Recorder, fake_clock: FakeClock, no_cyclic_gc: None
) -> None:
    recorder.responses = [apify_ok([1, 2, 3])]
    core = make_core(recorder, fake_clock)

    async def read() -> weakref.ref[object]:
        response = await core.arequest(PAGE)
        body = response.json()
        gone = weakref.ref(response)
        del response
        assert body == {"data": [1, 2, 3]}
        return gone

    assert asyncio.run(read())() is None

"""Hypothesis strategies and the catalogue of public arguments for the bad-input suite."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from airflow_provider_jobs.hooks.apify import ApifyHook
from airflow_provider_jobs.hooks.template_builds import TemplateBuildHook

# Pieces that must never reach a URL path or query through an id.
HOSTILE = ["", " ", "\t", "\n", "../", "..", "/", "\\", "?", "#", "%2F", "%", "&", "a b", "\x00", "\x7f",
           "ü", "運行", "😀", "\u202e", "\ufeff"]
SAMPLES = ["", " ", "  \t", "../", "../../etc/passwd", "/", "a/b/c", "?", "run?x=1", "#", "run#frag", "%2F",
           "run%2Fabort", "ünïcödé", "運行", "😀", "x" * 10_000, "..", "a..b", "\x00", " leading", "trailing ",
           "abc/../def", "a\r\nX-Injected: 1", "x" * 129]
WRONG_TYPES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.binary(max_size=8),
                        st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=2), st.integers(),
                                                                             max_size=2))
SAFE_ID = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-~", min_size=1, max_size=20)


def bad_id_text() -> st.SearchStrategy[str]:
    """Strings that are not acceptable job ids."""
    return st.one_of(
        st.sampled_from(SAMPLES),
        st.builds(lambda a, bad, b: a + bad + b, SAFE_ID, st.sampled_from(HOSTILE[1:]), SAFE_ID),
        st.text(min_size=129, max_size=400),
        st.text(max_size=40).filter(lambda s: not s or any(not (ch.isascii() and (ch.isalnum() or ch in "._~-"))
                                                           for ch in s)),
    )


def bad_ids() -> st.SearchStrategy[Any]:
    return st.one_of(bad_id_text(), WRONG_TYPES)


def bad_actor_ids() -> st.SearchStrategy[Any]:
    """Actor references that must be refused (see ``valid_actor_id`` for the accepted forms)."""
    return bad_ids().filter(lambda value: not valid_actor_id(value))


def valid_actor_id(value: Any) -> bool:
    """The documented forms: an id, ``username~actor-name``, ``~actor-name``, ``username/actor-name``."""
    if not isinstance(value, str) or len(value) > 256:
        return False
    owner, slash, name = value.partition("/")
    candidate = f"{owner}~{name}" if slash and value.count("/") == 1 and owner and name and "~" not in value else value
    return _safe(candidate) and candidate.count("~") <= 1 and not candidate.endswith("~")


def _safe(text: str) -> bool:
    return bool(text) and all(ch.isascii() and (ch.isalnum() or ch in "._~-") for ch in text) and ".." not in text


def bad_seconds() -> st.SearchStrategy[Any]:
    """Not a non-negative number of seconds."""
    return st.one_of(
        st.booleans(), st.text(max_size=5), st.floats(max_value=-1e-9), st.just(math.nan), st.integers(max_value=-1),
        st.integers(min_value=10**309, max_value=10**400), st.lists(st.integers(), max_size=1),
    )


def bad_counts(minimum: int) -> st.SearchStrategy[Any]:
    """Not an integer >= minimum."""
    return st.one_of(st.booleans(), st.integers(max_value=minimum - 1), st.floats(), st.text(max_size=4), st.none())


def bad_bodies() -> st.SearchStrategy[Any]:
    """Not a JSON object that can be sent."""
    return st.one_of(
        st.none().map(lambda _: "not a dict"), st.lists(st.integers(), max_size=2), st.integers(),
        st.just({"x": math.nan}), st.just({"x": math.inf}), st.just({"x": {1, 2}}), st.just({"x": object()}),
        st.just({("tuple", "key"): 1}), st.just(_deep(50_000)), st.just(_circular()), st.binary(max_size=4),
    )


def _deep(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


def _circular() -> dict[str, Any]:
    value: dict[str, Any] = {}
    value["self"] = value
    return value


# Each target: (label, hook class, call(hook, value), strategy)
Target = tuple[str, type, Callable[[Any, Any], Any], Callable[[], st.SearchStrategy[Any]]]


def _arun(coro: Any) -> Any:
    return asyncio.run(coro)


TARGETS: list[Target] = [
    ("ApifyHook.get_run(run_id)", ApifyHook, lambda h, v: h.get_run(v), bad_ids),
    ("ApifyHook.get_run(wait_for_finish)", ApifyHook, lambda h, v: h.get_run("run1", wait_for_finish=v), bad_seconds),
    ("ApifyHook.abort_run(run_id)", ApifyHook, lambda h, v: h.abort_run(v), bad_ids),
    ("ApifyHook.abort_run(gracefully)", ApifyHook, lambda h, v: h.abort_run("run1", gracefully=v),
     lambda: st.one_of(st.text(max_size=5), st.integers(), st.none(), st.floats())),
    ("ApifyHook.start_run(actor_id)", ApifyHook, lambda h, v: h.start_run(v), bad_actor_ids),
    ("ApifyHook.start_run(run_input)", ApifyHook, lambda h, v: h.start_run("a~b", v), bad_bodies),
    ("ApifyHook.start_run(build)", ApifyHook, lambda h, v: h.start_run("a~b", build=v),
     lambda: st.one_of(bad_id_text(), st.integers(), st.booleans())),
    ("ApifyHook.start_run(timeout_secs)", ApifyHook, lambda h, v: h.start_run("a~b", timeout_secs=v),
     lambda: bad_counts(1).filter(lambda v: v is not None)),
    ("ApifyHook.start_run(memory_mbytes)", ApifyHook, lambda h, v: h.start_run("a~b", memory_mbytes=v),
     lambda: bad_counts(1).filter(lambda v: v is not None)),
    ("ApifyHook.start_run(wait_for_finish)", ApifyHook, lambda h, v: h.start_run("a~b", wait_for_finish=v),
     bad_seconds),
    ("ApifyHook.start_run(max_items)", ApifyHook, lambda h, v: h.start_run("a~b", max_items=v),
     lambda: bad_counts(1).filter(lambda v: v is not None)),
    ("ApifyHook.start_run(max_total_charge_usd)", ApifyHook, lambda h, v: h.start_run("a~b", max_total_charge_usd=v),
     lambda: st.one_of(st.floats(max_value=0), st.just(math.nan), st.just(math.inf), st.booleans(),
                       st.text(max_size=3), st.integers(min_value=10**309, max_value=10**400))),
    ("ApifyHook.list_runs(actor_id)", ApifyHook, lambda h, v: h.list_runs(v), bad_actor_ids),
    ("ApifyHook.list_runs(offset)", ApifyHook, lambda h, v: h.list_runs("a~b", offset=v),
     lambda: bad_counts(0).filter(lambda v: v is not None)),
    ("ApifyHook.list_runs(limit)", ApifyHook, lambda h, v: h.list_runs("a~b", limit=v),
     lambda: bad_counts(1).filter(lambda v: v is not None)),
    ("ApifyHook.list_runs(status)", ApifyHook, lambda h, v: h.list_runs("a~b", status=v),
     lambda: st.one_of(bad_id_text(), st.lists(bad_id_text(), max_size=2), st.just([]))),
    ("ApifyHook.get_build(build_id)", ApifyHook, lambda h, v: h.get_build(v), bad_ids),
    ("ApifyHook.abort_build(build_id)", ApifyHook, lambda h, v: h.abort_build(v), bad_ids),
    ("ApifyHook.start_build(actor_id)", ApifyHook, lambda h, v: h.start_build(v, "0.1"), bad_actor_ids),
    ("ApifyHook.start_build(version)", ApifyHook, lambda h, v: h.start_build("a~b", v), bad_ids),
    ("ApifyHook.start_build(tag)", ApifyHook, lambda h, v: h.start_build("a~b", "0.1", tag=v),
     lambda: st.one_of(bad_id_text(), st.integers(), st.booleans())),
    ("ApifyHook.start_build(use_cache)", ApifyHook, lambda h, v: h.start_build("a~b", "0.1", use_cache=v),
     lambda: st.one_of(st.text(max_size=5), st.integers())),
    ("ApifyHook.wait_for_run(run_id)", ApifyHook, lambda h, v: h.wait_for_run(v, timeout=1), bad_ids),
    ("ApifyHook.wait_for_run(timeout)", ApifyHook, lambda h, v: h.wait_for_run("run1", timeout=v), bad_seconds),
    ("ApifyHook.aget_run(run_id)", ApifyHook, lambda h, v: _arun(h.aget_run(v)), bad_ids),
    ("ApifyHook.aabort_run(run_id)", ApifyHook, lambda h, v: _arun(h.aabort_run(v)), bad_ids),
    ("ApifyHook.aabort_build(build_id)", ApifyHook, lambda h, v: _arun(h.aabort_build(v)), bad_ids),
    ("ApifyHook.astart_run(run_input)", ApifyHook, lambda h, v: _arun(h.astart_run("a~b", v)), bad_bodies),
    ("TemplateBuildHook.get_build(build_id)", TemplateBuildHook, lambda h, v: h.get_build(v), bad_ids),
    ("TemplateBuildHook.get_build(offset)", TemplateBuildHook, lambda h, v: h.get_build("tb_1", offset=v),
     lambda: bad_counts(0).filter(lambda v: v is not None)),
    ("TemplateBuildHook.cancel_build(build_id)", TemplateBuildHook, lambda h, v: h.cancel_build(v), bad_ids),
    ("TemplateBuildHook.cancel_build(reason)", TemplateBuildHook, lambda h, v: h.cancel_build("tb_1", reason=v),
     lambda: st.one_of(st.integers(), st.booleans(), st.lists(st.text(max_size=2), max_size=1),
                       st.builds(lambda a, c: a + c, st.text(max_size=5), st.sampled_from(["\x00", "\x1b[31m", "\r",
                                                                                          "\x7f", "\x08"])))),
    ("TemplateBuildHook.start_build(request)", TemplateBuildHook, lambda h, v: h.start_build(v),
     lambda: st.one_of(bad_bodies().filter(lambda v: v is not None), st.just({"name": "x", "tags": []}))),
    ("TemplateBuildHook.stream_logs(build_id)", TemplateBuildHook, lambda h, v: list(h.stream_logs(v)), bad_ids),
    ("TemplateBuildHook.stream_logs(offset)", TemplateBuildHook, lambda h, v: list(h.stream_logs("tb_1", offset=v)),
     lambda: bad_counts(0).filter(lambda v: v not in (None, 0, False))),
    ("TemplateBuildHook.wait_for_build(timeout)", TemplateBuildHook,
     lambda h, v: h.wait_for_build("tb_1", timeout=v), bad_seconds),
    ("TemplateBuildHook.wait_for_build(poll_interval)", TemplateBuildHook,
     lambda h, v: h.wait_for_build("tb_1", timeout=1, poll_interval=v), bad_seconds),
    ("TemplateBuildHook.acancel_build(build_id)", TemplateBuildHook, lambda h, v: _arun(h.acancel_build(v)), bad_ids),
    ("TemplateBuildHook.aget_build(build_id)", TemplateBuildHook, lambda h, v: _arun(h.aget_build(v)), bad_ids),
]

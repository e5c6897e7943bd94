"""One job lifecycle for Apify runs, Apify builds and template builds.

Start -> wait until terminal -> succeed, or fail on a bad terminal status -> abort/cancel on every
path by which a task can die. Everything that differs between the three job kinds is in a
:class:`JobKind` (``APIFY_RUN``, ``APIFY_BUILD``, ``TEMPLATE_BUILD``); operators, sensors,
triggers and notifiers only ever talk to a kind.

* ``kind.py``: :class:`JobKind`, :class:`JobWatch` (one job through a hook, with its log cursor),
  :func:`decide` / :class:`Outcome`, :class:`AbortOptions`.
* ``apify.py``, ``template_builds.py``: the three kinds.
* ``wait.py``: the one wait loop (fetch until terminal, deadline, 404 grace), sync and async.
* ``logs.py``: a wait that follows the job's log stream (``stream_logs``, Apify) and the last
  lines of the log in the failure of a job that ended badly.
* ``abort.py``: :func:`abort_quietly` / :func:`aabort_quietly`, the best-effort abort every
  failure path calls.
* ``events.py``: the trigger events, built by :func:`make_event` and checked by :func:`read_event`.
* ``task.py``: :class:`TrackedJob`, the job a task owns, and the rules every task follows.
"""

from __future__ import annotations

from airflow_provider_jobs.lifecycle.abort import (
    CALLBACK_ABORT_DEADLINE,
    KILL_ABORT_DEADLINE,
    aabort_quietly,
    abort_quietly,
    quick_hook,
)
from airflow_provider_jobs.lifecycle.apify import APIFY_BUILD, APIFY_RUN, ApifyBuildKind, ApifyRunKind
from airflow_provider_jobs.lifecycle.events import EVENT_ERROR, EVENT_TERMINAL, EVENT_TIMEOUT, make_event, read_event
from airflow_provider_jobs.lifecycle.kind import AbortOptions, JobKind, JobWatch, Outcome, decide
from airflow_provider_jobs.lifecycle.task import TrackedJob
from airflow_provider_jobs.lifecycle.template_builds import TEMPLATE_BUILD, TemplateBuildKind
from airflow_provider_jobs.lifecycle.wait import WaitInterrupted, WaitSpec, await_until_terminal, wait_until_terminal

__all__ = [
    "APIFY_BUILD",
    "APIFY_RUN",
    "CALLBACK_ABORT_DEADLINE",
    "EVENT_ERROR",
    "EVENT_TERMINAL",
    "EVENT_TIMEOUT",
    "KILL_ABORT_DEADLINE",
    "TEMPLATE_BUILD",
    "AbortOptions",
    "ApifyBuildKind",
    "ApifyRunKind",
    "JobKind",
    "JobWatch",
    "Outcome",
    "TemplateBuildKind",
    "TrackedJob",
    "WaitInterrupted",
    "WaitSpec",
    "aabort_quietly",
    "abort_quietly",
    "await_until_terminal",
    "decide",
    "make_event",
    "quick_hook",
    "read_event",
    "wait_until_terminal",
]

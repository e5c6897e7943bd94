"""The three job kinds as lifecycle adapters: data and hook method references, no loops.

The adapters (``APIFY_RUN``, ``APIFY_BUILD``, ``TEMPLATE_BUILD``) are built on first use
(PEP 562), and operators, sensors, triggers and notifiers hold an :class:`AdapterRef` that
resolves to them when first read. So importing an operator module, as the DAG processor does
for every DAG file, loads neither the hooks nor the pydantic response models; a task, trigger or
callback loads them when it first talks to the service.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, overload

from airflow_provider_jobs.lifecycle import AbortOptions, JobAdapter

if TYPE_CHECKING:
    from airflow_provider_jobs.hooks.apify import ApifyHook
    from airflow_provider_jobs.hooks.template_builds import TemplateBuildHook
    from airflow_provider_jobs.models.apify import ApifyBuild, ApifyRun
    from airflow_provider_jobs.models.template_builds import TemplateBuildSnapshot

    APIFY_RUN: JobAdapter[ApifyHook, ApifyRun]
    APIFY_BUILD: JobAdapter[ApifyHook, ApifyBuild]
    TEMPLATE_BUILD: JobAdapter[TemplateBuildHook, TemplateBuildSnapshot]

RUN_ID_KEY = "run_id"
BUILD_ID_KEY = "build_id"
APIFY_DEFAULT_CONN_ID = "apify_default"
"""``ApifyHook.default_conn_name``, without importing the hook (checked when the adapters are built)."""
TEMPLATE_BUILDS_DEFAULT_CONN_ID = "template_builds_default"
"""``TemplateBuildHook.default_conn_name``, without importing the hook."""


@dataclass
class _ApifyWatcher:
    """Long-polls an Apify run or build (``waitForFinish``, up to 60 s per request)."""

    hook: ApifyHook
    job_id: str
    runs: bool

    def fetch(self, budget: float | None) -> Any:
        from airflow_provider_jobs.hooks.apify import long_poll_seconds

        get = self.hook.get_run if self.runs else self.hook.get_build
        return get(self.job_id, long_poll_seconds(budget))

    async def afetch(self, budget: float | None) -> Any:
        from airflow_provider_jobs.hooks.apify import long_poll_seconds

        get = self.hook.aget_run if self.runs else self.hook.aget_build
        return await get(self.job_id, long_poll_seconds(budget))


@dataclass
class _TemplateWatcher:
    """Polls a template build from the last seen log offset and hands new entries to ``log_line``."""

    hook: TemplateBuildHook
    job_id: str
    log_line: Callable[[str], None] | None
    offset: int = field(default=0)

    def _seen(self, snap: TemplateBuildSnapshot) -> TemplateBuildSnapshot:
        for entry in sorted(snap.entries, key=lambda e: e.offset):
            if entry.offset >= self.offset:
                if self.log_line is not None:
                    self.log_line(entry.format_line())
                self.offset = entry.offset + 1
        self.offset = max(self.offset, snap.next_offset)
        return snap

    def fetch(self, budget: float | None) -> TemplateBuildSnapshot:
        return self._seen(self.hook.get_build(self.job_id, offset=self.offset))

    async def afetch(self, budget: float | None) -> TemplateBuildSnapshot:
        return self._seen(await self.hook.aget_build(self.job_id, offset=self.offset))


def _apify_summary(hook: ApifyHook, job: ApifyRun | ApifyBuild) -> dict[str, Any]:
    return job.summary(hook.console_base_url)


def _apify_console(hook: ApifyHook, job: ApifyRun | ApifyBuild) -> str:
    return job.console_url(hook.console_base_url)


def _cancel(hook: TemplateBuildHook, job_id: str, opts: AbortOptions) -> TemplateBuildSnapshot:
    return hook.cancel_build(job_id, reason=opts.reason)


async def _acancel(hook: TemplateBuildHook, job_id: str, opts: AbortOptions) -> TemplateBuildSnapshot:
    return await hook.acancel_build(job_id, reason=opts.reason)


def _build() -> dict[str, JobAdapter[Any, Any]]:
    """Import the hooks and models and describe the three job kinds."""
    from airflow_provider_jobs.hooks.apify import ApifyHook
    from airflow_provider_jobs.hooks.template_builds import TemplateBuildHook
    from airflow_provider_jobs.models.apify import APIFY_STATUSES
    from airflow_provider_jobs.models.template_builds import TEMPLATE_BUILD_STATUSES

    assert ApifyHook.default_conn_name == APIFY_DEFAULT_CONN_ID
    assert TemplateBuildHook.default_conn_name == TEMPLATE_BUILDS_DEFAULT_CONN_ID
    def apify(kind: str, xcom_key: str, *, runs: bool, **specific: Any) -> JobAdapter[ApifyHook, Any]:
        """Runs and builds share the API's statuses, ids, console links and long poll."""
        return JobAdapter(
            kind=kind, xcom_key=xcom_key, verb="abort", hook_class=ApifyHook, statuses=APIFY_STATUSES,
            watcher=lambda hook, job_id, _log: _ApifyWatcher(hook, job_id, runs=runs),
            job_id=lambda job: job.id, status=lambda job: job.status, summary=_apify_summary,
            console_url=_apify_console, stopping=lambda job: job.status == "ABORTING", long_polls=True,
            **specific,
        )

    apify_run: JobAdapter[ApifyHook, ApifyRun] = apify(
        "Apify run", RUN_ID_KEY, runs=True,
        abort=lambda hook, job_id, opts: hook.abort_run(job_id, gracefully=opts.gracefully),
        aabort=lambda hook, job_id, opts: hook.aabort_run(job_id, gracefully=opts.gracefully),
        detail=lambda run: run.status_message, wait_spec=ApifyHook.run_wait_spec,
    )
    apify_build: JobAdapter[ApifyHook, ApifyBuild] = apify(
        "Apify build", BUILD_ID_KEY, runs=False,
        abort=lambda hook, job_id, _opts: hook.abort_build(job_id),
        aabort=lambda hook, job_id, _opts: hook.aabort_build(job_id),
        detail=lambda build: None, wait_spec=ApifyHook.build_wait_spec,
    )
    template_build: JobAdapter[TemplateBuildHook, TemplateBuildSnapshot] = JobAdapter(
        kind="template build",
        xcom_key=BUILD_ID_KEY,
        verb="cancel",
        hook_class=TemplateBuildHook,
        statuses=TEMPLATE_BUILD_STATUSES,
        watcher=lambda hook, job_id, log_line: _TemplateWatcher(hook, job_id, log_line),
        abort=_cancel,
        aabort=_acancel,
        job_id=lambda snap: snap.build.build_id,
        status=lambda snap: snap.build.status,
        detail=lambda snap: snap.build.failure_text,
        summary=lambda hook, snap: snap.build.summary(),
        console_url=lambda hook, snap: None,
        wait_spec=TemplateBuildHook.build_wait_spec,
        stopping=lambda snap: snap.build.cancel_pending,
    )
    return {"APIFY_RUN": apify_run, "APIFY_BUILD": apify_build, "TEMPLATE_BUILD": template_build}


_ADAPTERS: dict[str, JobAdapter[Any, Any]] = {}
_LOCK = threading.Lock()


def adapter(name: str) -> JobAdapter[Any, Any]:
    """Return the adapter ``APIFY_RUN``, ``APIFY_BUILD`` or ``TEMPLATE_BUILD`` (built once, thread-safe)."""
    if not _ADAPTERS:
        with _LOCK:
            if not _ADAPTERS:
                built = _build()
                globals().update(built)
                _ADAPTERS.update(built)
    return _ADAPTERS[name]


def __getattr__(name: str) -> Any:
    """``APIFY_RUN``, ``APIFY_BUILD``, ``TEMPLATE_BUILD``: built on first use."""
    if name in ("APIFY_RUN", "APIFY_BUILD", "TEMPLATE_BUILD"):
        return adapter(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class AdapterRef:
    """A class attribute that reads as the named adapter, resolved on first access.

    ``adapter = AdapterRef("APIFY_RUN")`` on an operator class makes ``Op.adapter`` and
    ``op.adapter`` the ``APIFY_RUN`` adapter itself, without importing the hooks when the
    operator module is imported.

    :param name: ``APIFY_RUN``, ``APIFY_BUILD`` or ``TEMPLATE_BUILD``
    """

    def __init__(self, name: str) -> None:
        if name not in ("APIFY_RUN", "APIFY_BUILD", "TEMPLATE_BUILD"):
            raise ValueError(f"unknown adapter {name!r}")
        self.name = name

    def __repr__(self) -> str:
        return f"AdapterRef({self.name!r})"

    @overload
    def __get__(self, obj: None, owner: type) -> JobAdapter[Any, Any]: ...

    @overload
    def __get__(self, obj: object, owner: type | None = None) -> JobAdapter[Any, Any]: ...

    def __get__(self, obj: object | None, owner: type | None = None) -> JobAdapter[Any, Any]:
        return adapter(self.name)

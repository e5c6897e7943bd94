"""The three job kinds as lifecycle adapters: data and hook method references, no loops."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_jobs.hooks.apify import ApifyHook, long_poll_seconds
from airflow_provider_jobs.hooks.template_builds import TemplateBuildHook
from airflow_provider_jobs.lifecycle import AbortOptions, JobAdapter
from airflow_provider_jobs.models.apify import APIFY_STATUSES, ApifyBuild, ApifyRun
from airflow_provider_jobs.models.template_builds import TEMPLATE_BUILD_STATUSES, TemplateBuildSnapshot

RUN_ID_KEY = "run_id"
BUILD_ID_KEY = "build_id"


@dataclass
class _ApifyWatcher:
    """Long-polls an Apify run or build (``waitForFinish``, up to 60 s per request)."""

    hook: ApifyHook
    job_id: str
    runs: bool

    def fetch(self, budget: float | None) -> Any:
        get = self.hook.get_run if self.runs else self.hook.get_build
        return get(self.job_id, long_poll_seconds(budget))

    async def afetch(self, budget: float | None) -> Any:
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


APIFY_RUN: JobAdapter[ApifyHook, ApifyRun] = JobAdapter(
    kind="Apify run",
    xcom_key=RUN_ID_KEY,
    verb="abort",
    hook_class=ApifyHook,
    statuses=APIFY_STATUSES,
    watcher=lambda hook, job_id, _log: _ApifyWatcher(hook, job_id, runs=True),
    abort=lambda hook, job_id, opts: hook.abort_run(job_id, gracefully=opts.gracefully),
    aabort=lambda hook, job_id, opts: hook.aabort_run(job_id, gracefully=opts.gracefully),
    job_id=lambda run: run.id,
    status=lambda run: run.status,
    detail=lambda run: run.status_message,
    summary=_apify_summary,
    console_url=_apify_console,
    wait_spec=ApifyHook.run_wait_spec,
)

APIFY_BUILD: JobAdapter[ApifyHook, ApifyBuild] = JobAdapter(
    kind="Apify build",
    xcom_key=BUILD_ID_KEY,
    verb="abort",
    hook_class=ApifyHook,
    statuses=APIFY_STATUSES,
    watcher=lambda hook, job_id, _log: _ApifyWatcher(hook, job_id, runs=False),
    abort=lambda hook, job_id, _opts: hook.abort_build(job_id),
    aabort=lambda hook, job_id, _opts: hook.aabort_build(job_id),
    job_id=lambda build: build.id,
    status=lambda build: build.status,
    detail=lambda build: None,
    summary=_apify_summary,
    console_url=_apify_console,
    wait_spec=ApifyHook.build_wait_spec,
)


def _cancel(hook: TemplateBuildHook, job_id: str, opts: AbortOptions) -> TemplateBuildSnapshot:
    return hook.cancel_build(job_id, reason=opts.reason)


async def _acancel(hook: TemplateBuildHook, job_id: str, opts: AbortOptions) -> TemplateBuildSnapshot:
    return await hook.acancel_build(job_id, reason=opts.reason)


TEMPLATE_BUILD: JobAdapter[TemplateBuildHook, TemplateBuildSnapshot] = JobAdapter(
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
)

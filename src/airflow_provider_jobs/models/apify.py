"""Models of Apify API responses: runs, builds, run lists, the current user.

Fields are snake_case (``act_id``, ``default_dataset_id``, ``usage_total_usd``); the API's
camelCase names are accepted as aliases, and fields this model does not name are kept in
``model_extra``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, Field
from pydantic.alias_generators import to_camel

from airflow_provider_jobs.models._base import ApiModel, JobStatusEnum, coerce_status

DEFAULT_CONSOLE_URL = "https://console.apify.com"


class ApifyJobStatus(JobStatusEnum):
    """Status of an Apify run or build (both share one lifecycle)."""

    READY = "READY"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    TIMING_OUT = "TIMING-OUT"
    TIMED_OUT = "TIMED-OUT"
    ABORTING = "ABORTING"
    ABORTED = "ABORTED"


APIFY_STATUSES = ApifyJobStatus.define_sets(
    terminal={
        ApifyJobStatus.SUCCEEDED,
        ApifyJobStatus.FAILED,
        ApifyJobStatus.TIMED_OUT,
        ApifyJobStatus.ABORTED,
    },
    success={ApifyJobStatus.SUCCEEDED},
    stopping={ApifyJobStatus.ABORTING, ApifyJobStatus.TIMING_OUT},
)
APIFY_TERMINAL = APIFY_STATUSES.terminal
APIFY_SUCCESS = APIFY_STATUSES.success

ApifyStatusField = Annotated[
    ApifyJobStatus | str, BeforeValidator(lambda v: coerce_status(ApifyJobStatus, v))
]


class _ApifyModel(ApiModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, alias_generator=to_camel)


class ApifyRunStats(_ApifyModel):
    """Run statistics (``stats``)."""

    duration_millis: int | None = None
    run_time_secs: float | None = None
    compute_units: float | None = None
    restart_count: int | None = None
    resurrect_count: int | None = None
    mem_max_bytes: float | None = None


class ApifyRunOptions(_ApifyModel):
    """Options a run was started with (``options``)."""

    build: str | None = None
    timeout_secs: int | None = None
    memory_mbytes: int | None = None
    disk_mbytes: int | None = None
    max_items: int | None = None
    max_total_charge_usd: float | None = None


class _ApifyJob(_ApifyModel):
    id: str
    act_id: str | None = None
    user_id: str | None = None
    status: ApifyStatusField
    started_at: datetime | None = None
    finished_at: datetime | None = None
    meta: dict[str, Any] | None = None
    usage: dict[str, Any] | None = None
    usage_total_usd: float | None = None
    usage_usd: dict[str, Any] | None = None
    build_number: str | None = None

    @property
    def is_terminal(self) -> bool:
        """True once the job has ended (SUCCEEDED, FAILED, TIMED-OUT, ABORTED)."""
        return APIFY_STATUSES.is_terminal(self.status)

    @property
    def is_success(self) -> bool:
        """True if the job SUCCEEDED."""
        return APIFY_STATUSES.is_success(self.status)

    def _base_summary(self, console_url: str | None) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": str(self.status),
            "actor_id": self.act_id,
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "console_url": console_url,
            "build_number": self.build_number,
            "usage_total_usd": self.usage_total_usd,
        }


class ApifyRun(_ApifyJob):
    """An Apify actor run (``GET /v2/actor-runs/{runId}``)."""

    actor_task_id: str | None = None
    status_message: str | None = None
    is_status_message_terminal: bool | None = None
    stats: ApifyRunStats | None = None
    options: ApifyRunOptions | None = None
    build_id: str | None = None
    exit_code: int | None = None
    default_key_value_store_id: str | None = None
    default_dataset_id: str | None = None
    default_request_queue_id: str | None = None
    container_url: str | None = None
    general_access: str | None = None

    def console_url(self, console_base: str = DEFAULT_CONSOLE_URL) -> str:
        """Return the Apify Console page of this run."""
        base = console_base.rstrip("/")
        if self.act_id:
            return f"{base}/actors/{self.act_id}/runs/{self.id}"
        return f"{base}/actors/runs/{self.id}"

    def summary(self, console_base: str = DEFAULT_CONSOLE_URL) -> dict[str, Any]:
        """Return the small JSON-safe dict an operator returns (never dataset items)."""
        data = self._base_summary(self.console_url(console_base))
        data.update(
            status_message=self.status_message,
            build_id=self.build_id,
            exit_code=self.exit_code,
            default_dataset_id=self.default_dataset_id,
            default_key_value_store_id=self.default_key_value_store_id,
            default_request_queue_id=self.default_request_queue_id,
        )
        return data


class ApifyBuildStats(_ApifyModel):
    """Build statistics (``stats``)."""

    duration_millis: int | None = None
    run_time_secs: float | None = None
    compute_units: float | None = None
    image_size_bytes: int | None = None


class ApifyBuildOptions(_ApifyModel):
    """Options a build was started with (``options``)."""

    use_cache: bool | None = None
    beta_packages: bool | None = None
    memory_mbytes: int | None = None
    disk_mbytes: int | None = None


class ApifyBuild(_ApifyJob):
    """An Apify actor build (``GET /v2/actor-builds/{buildId}``)."""

    stats: ApifyBuildStats | None = None
    options: ApifyBuildOptions | None = None
    act_version: dict[str, Any] | None = None

    def console_url(self, console_base: str = DEFAULT_CONSOLE_URL) -> str:
        """Return the Apify Console page of this build (it is addressed by build number)."""
        base = console_base.rstrip("/")
        if self.act_id and self.build_number:
            return f"{base}/actors/{self.act_id}/builds/{self.build_number}"
        if self.act_id:
            return f"{base}/actors/{self.act_id}/builds"
        return f"{base}/actors"

    def summary(self, console_base: str = DEFAULT_CONSOLE_URL) -> dict[str, Any]:
        """Return the small JSON-safe dict an operator returns."""
        return self._base_summary(self.console_url(console_base))


class ApifyRunList(_ApifyModel):
    """One page of runs (``GET /v2/actors/{actorId}/runs``); items are short run objects."""

    total: int = 0
    offset: int = 0
    limit: int = 0
    count: int = 0
    desc: bool = False
    items: list[ApifyRun] = Field(default_factory=list)


class ApifyUser(_ApifyModel):
    """The token's owner (``GET /v2/users/me``)."""

    id: str
    username: str | None = None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None

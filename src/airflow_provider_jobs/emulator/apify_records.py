"""The Apify records (users, actors, runs, builds) and how the API renders them.

Plain values: :class:`~airflow_provider_jobs.emulator.apify_state.ApifyState` owns them and
changes them under its lock. Statuses are computed lazily from each job's schedule.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Literal

from airflow_provider_jobs.emulator._util import apify_id, iso_ms, short_token
from airflow_provider_jobs.emulator.errors import EmulatedApiError
from airflow_provider_jobs.emulator.refs import ActorRef
from airflow_provider_jobs.emulator.timelines import (
    APIFY_TERMINAL,
    Phase,
    Timeline,
    phase_start,
    status_at,
    terminal_phase,
)

JobKind = Literal["run", "build"]
WallFn = Callable[[float], datetime]
_FEATURES = tuple(
    "ACTORS STORAGE SCHEDULER PROXY PROXY_EXTERNAL_ACCESS PROXY_RESIDENTIAL PROXY_SERPS WEBHOOKS "
    "ACTORS_PUBLIC_ALL ACTORS_PUBLIC_DEVELOPER".split()
)


@dataclass
class RunOptions:
    """Options of ``POST /v2/actors/{actorId}/runs`` after parsing the query string."""

    build: str | None = None
    timeout_secs: int | None = None
    memory_mbytes: int | None = None
    max_items: int | None = None
    max_total_charge_usd: float | None = None
    restart_on_error: bool | None = None

    def over(self, defaults: RunOptions) -> RunOptions:
        """Return these options, with those of ``defaults`` where these are not set."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return RunOptions(**{k: getattr(defaults, k) if v is None else v for k, v in values.items()})

    def by_api_name(self) -> dict[str, Any]:
        """Return every option under its API name (``timeoutSecs``...), ``None`` where not set."""
        return {re.sub(r"_(\w)", lambda m: m[1].upper(), f.name): getattr(self, f.name) for f in fields(self)}

    def to_json(self, actor: ActorRecord) -> dict[str, Any]:
        """Render the run's ``options``, the actor's defaults filling the gaps."""
        memory = self.memory_mbytes or actor.default_memory_mbytes
        timeout = actor.default_timeout_secs if self.timeout_secs is None else self.timeout_secs
        data: dict[str, Any] = {
            "build": self.build or "latest",
            "timeoutSecs": timeout,
            "memoryMbytes": memory,
            "diskMbytes": memory * 2,
        }
        if self.max_items is not None:
            data["maxItems"] = self.max_items
        if self.max_total_charge_usd is not None:
            data["maxTotalChargeUsd"] = self.max_total_charge_usd
        return data


@dataclass
class ApifyUser:
    """An Apify account reachable through one or more API tokens.

    ``max_concurrent_runs`` and ``max_memory_mbytes`` (``None``: unlimited) make run starts that
    would exceed them fail with ``refusal_status`` (see :func:`capacity_refusal`).
    """

    id: str
    username: str
    created_at: datetime
    max_concurrent_runs: int | None = None
    max_memory_mbytes: int | None = None
    refusal_status: int = 402

    def to_json(self) -> dict[str, Any]:
        """Render ``UserPrivateInfo`` as ``GET /v2/users/me`` returns it."""
        feature = {
            "isEnabled": True,
            "disabledReason": None,
            "disabledReasonType": None,
            "isTrial": False,
            "trialExpirationAt": None,
        }
        return {
            "id": self.id,
            "username": self.username,
            "profile": {"name": self.username.title(), "pictureUrl": None, "bio": None},
            "email": f"{self.username}@example.com",
            "proxy": {
                "password": "emulatorproxy" + self.id[:6],
                "groups": [{"name": "BUYPROXIES94952", "description": "Datacenter proxies", "availableCount": 5}],
            },
            "plan": {
                "id": "FREE",
                "description": "Emulated free plan",
                "isEnabled": True,
                "monthlyBasePriceUsd": 0,
                "monthlyUsageCreditsUsd": 5,
                "enabledPlatformFeatures": list(_FEATURES[:5]),
                "maxActorMemoryGbytes": (self.max_memory_mbytes or 8192) / 1024,
                "maxConcurrentActorRuns": self.max_concurrent_runs or 25,
                "availableProxyGroups": {"BUYPROXIES94952": 5},
                "tier": "FREE",
            },
            "effectivePlatformFeatures": {name: dict(feature) for name in _FEATURES},
            "createdAt": iso_ms(self.created_at),
            "isPaying": False,
        }


@dataclass
class ActorRecord:
    """A seeded actor with the timelines its runs and builds follow."""

    id: str
    name: str
    username: str
    run_timeline: Timeline
    build_timeline: Timeline
    default_timeout_secs: int = 3600
    default_memory_mbytes: int = 1024
    build_counters: dict[str, int] = field(default_factory=dict)

    @property
    def full_name(self) -> str:
        """Return ``username~name``."""
        return f"{self.username}~{self.name}"

    def ref(self) -> ActorRef:
        """Return the public reference to this actor."""
        return ActorRef(self.id, self.name, self.username)


@dataclass
class JobRecord:
    """An Apify run or build: identity, options and the schedule its status follows."""

    kind: JobKind
    actor: ActorRecord
    user: ApifyUser
    timeline: Timeline
    id: str = field(default_factory=apify_id)
    created: float = 0.0
    phases: list[Phase] = field(default_factory=list)
    client_ip: str = "127.0.0.1"
    user_agent: str = "airflow-jobs-emulator"
    options: dict[str, Any] = field(default_factory=dict)
    run_input: Any = None
    input_body_len: int = 0
    build_id: str = ""
    build_number: str = "0.0.1"
    version: str = "0.0"
    tag: str | None = "latest"
    webhooks: list[Any] = field(default_factory=list)
    restart_on_error: bool | None = None
    task_id: str | None = None
    storage_ids: dict[str, str] = field(default_factory=dict)
    container_host: str = field(default_factory=short_token)
    seq: int = 0

    def status(self, now: float) -> str:
        """Return the status at ``now``."""
        return status_at(self.phases, now)

    def finished_at(self, now: float) -> float | None:
        """Return when the job reached its terminal status, if it has by ``now``."""
        end = terminal_phase(self.phases, APIFY_TERMINAL)
        return end.at if end.at <= now else None

    def running_fraction(self, now: float, scale: float) -> float:
        """Return how much of the scripted running time has elapsed by ``now`` (0..1)."""
        started = phase_start(self.phases, "RUNNING")
        if started is None or started > now:
            return 0.0
        finished = self.finished_at(now)
        end = finished if finished is not None else now
        planned = self.timeline.running_secs * scale
        if planned <= 0:
            return 1.0
        return max(0.0, min(1.0, (end - started) / planned))

    def _status_message(self, status: str) -> str | None:
        messages = {
            "READY": None,
            "RUNNING": self.timeline.running_message,
            "TIMING-OUT": "The Actor run is timing out",
            "TIMED-OUT": "The Actor run has timed out",
            "ABORTING": "The Actor run is being aborted",
            "ABORTED": "Actor was aborted",
        }
        if status == "SUCCEEDED":
            return self.timeline.status_message or "Actor finished successfully"
        if status == "FAILED":
            return self.timeline.status_message or f"Actor failed with exit code {self._exit_code(status)}"
        return messages.get(status)

    def _exit_code(self, status: str) -> int | None:
        if status == "SUCCEEDED":
            return 0 if self.timeline.exit_code is None else self.timeline.exit_code
        if status == "FAILED":
            return 1 if self.timeline.exit_code is None else self.timeline.exit_code
        return None

    def _usage(self, now: float, scale: float, runtime_secs: float) -> tuple[float, float]:
        """Return ``(computeUnits, usageTotalUsd)`` at ``now``."""
        memory_gb = float(self.options.get("memoryMbytes", 4096)) / 1024
        compute_units = round(runtime_secs * memory_gb / 3600, 6)
        total = round(self.timeline.usage_total_usd * self.running_fraction(now, scale), 6)
        return compute_units, total

    def _times(self, now: float, wall: WallFn) -> tuple[str, str | None, float]:
        finished = self.finished_at(now)
        if finished is None:
            return iso_ms(wall(self.created)), None, now - self.created
        return iso_ms(wall(self.created)), iso_ms(wall(finished)), finished - self.created

    def run_json(self, now: float, scale: float, wall: WallFn, *, with_usage: bool = True) -> dict[str, Any]:
        """Render the full ``Run`` object as ``GET /v2/actor-runs/{runId}`` returns it."""
        status = self.status(now)
        started_at, finished_at, runtime = self._times(now, wall)
        compute_units, total_usd = self._usage(now, scale, runtime)
        active = status in {"RUNNING", "TIMING-OUT", "ABORTING"}
        fraction = self.running_fraction(now, scale)
        data: dict[str, Any] = {
            "id": self.id,
            "actId": self.actor.id,
            "userId": self.user.id,
            "actorTaskId": self.task_id,
            "startedAt": started_at,
            "finishedAt": finished_at,
            "status": status,
            "statusMessage": self._status_message(status),
            "isStatusMessageTerminal": status in APIFY_TERMINAL,
            "meta": {"origin": "API", "clientIp": self.client_ip, "userAgent": self.user_agent},
            "stats": {
                "inputBodyLen": self.input_body_len,
                "migrationCount": 0,
                "rebootCount": 0,
                "restartCount": 0,
                "resurrectCount": 0,
                "memAvgBytes": round(41_943_040 * fraction, 1),
                "memMaxBytes": int(67_108_864 * fraction),
                "memCurrentBytes": 52_428_800 if active else 0,
                "cpuAvgUsage": round(12.5 * fraction, 4),
                "cpuMaxUsage": round(87.25 * fraction, 4),
                "cpuCurrentUsage": 9.75 if active else 0,
                "netRxBytes": int(204_800 * fraction),
                "netTxBytes": int(51_200 * fraction),
                "durationMillis": int(runtime * 1000),
                "runTimeSecs": round(runtime, 3),
                "metamorph": 0,
                "computeUnits": compute_units,
            },
            "options": dict(self.options),
            "buildId": self.build_id,
            "buildNumber": self.build_number,
            "exitCode": self._exit_code(status),
            "generalAccess": "FOLLOW_USER_SETTING",
            "defaultKeyValueStoreId": self.storage_ids["keyValueStore"],
            "defaultDatasetId": self.storage_ids["dataset"],
            "defaultRequestQueueId": self.storage_ids["requestQueue"],
            "storageIds": {
                "datasets": {"default": self.storage_ids["dataset"]},
                "keyValueStores": {"default": self.storage_ids["keyValueStore"]},
                "requestQueues": {"default": self.storage_ids["requestQueue"]},
            },
            "containerUrl": f"https://{self.container_host}.runs.apify.net",
            "isContainerServerReady": status == "RUNNING",
            "usage": {"ACTOR_COMPUTE_UNITS": compute_units, "DATASET_WRITES": int(10 * fraction)},
            "platformUsageBillingModel": "USER",
        }
        if with_usage:
            data["usageTotalUsd"] = total_usd
            data["usageUsd"] = {"ACTOR_COMPUTE_UNITS": total_usd, "DATASET_WRITES": 0.0}
        return data

    def run_short_json(self, now: float, scale: float, wall: WallFn) -> dict[str, Any]:
        """Render the ``RunShort`` item of ``GET /v2/actors/{actorId}/runs``."""
        full = self.run_json(now, scale, wall)
        major, minor, patch = (int(part) for part in self.build_number.split("."))
        keys = (
            "id actId userId actorTaskId status startedAt finishedAt buildId buildNumber meta usageTotalUsd "
            "defaultKeyValueStoreId defaultDatasetId defaultRequestQueueId"
        ).split()
        short = {key: full[key] for key in keys}
        short["buildNumberInt"] = major * 1_000_000 + minor * 10_000 + patch
        return short

    def build_json(self, now: float, scale: float, wall: WallFn, *, with_usage: bool = True) -> dict[str, Any]:
        """Render the ``Build`` object as ``GET /v2/actor-builds/{buildId}`` returns it."""
        status = self.status(now)
        started_at, finished_at, runtime = self._times(now, wall)
        compute_units, total_usd = self._usage(now, scale, runtime)
        data: dict[str, Any] = {
            "id": self.id,
            "actId": self.actor.id,
            "userId": self.user.id,
            "startedAt": started_at,
            "finishedAt": finished_at,
            "status": status,
            "meta": {"origin": "API", "clientIp": self.client_ip, "userAgent": self.user_agent},
            "stats": {
                "durationMillis": int(runtime * 1000),
                "runTimeSecs": round(runtime, 3),
                "computeUnits": compute_units,
                "imageSizeBytes": 975_770_223 if status == "SUCCEEDED" else None,
            },
            "options": dict(self.options),
            "usage": {"ACTOR_COMPUTE_UNITS": compute_units},
            "buildNumber": self.build_number,
            "actVersion": {
                "versionNumber": self.version,
                "buildTag": self.tag or "latest",
                "sourceType": "SOURCE_FILES",
            },
        }
        if with_usage:
            data["usageTotalUsd"] = total_usd
            data["usageUsd"] = {"ACTOR_COMPUTE_UNITS": total_usd}
        return data

    def to_json(self, now: float, scale: float, wall: WallFn, *, with_usage: bool = True) -> dict[str, Any]:
        """Render the run or build object, whichever this job is."""
        if self.kind == "run":
            return self.run_json(now, scale, wall, with_usage=with_usage)
        return self.build_json(now, scale, wall, with_usage=with_usage)


def new_storage_ids() -> dict[str, str]:
    """Return fresh default dataset, key-value store and request queue ids for a run."""
    return {"dataset": apify_id(), "keyValueStore": apify_id(), "requestQueue": apify_id()}


def capacity_refusal(user: ApifyUser, active: list[JobRecord], memory_mbytes: int) -> EmulatedApiError | None:
    """Return the error a run start gets when ``user``'s limits leave no room, else ``None``.

    :param active: the user's runs that are not terminal yet.
    :param memory_mbytes: memory of the run being started.
    """
    if user.max_concurrent_runs is not None and len(active) >= user.max_concurrent_runs:
        return EmulatedApiError(
            user.refusal_status,
            "concurrent-runs-limit-exceeded",
            f"By launching this job you will exceed the maximum number of concurrent runs of your "
            f"account ({user.max_concurrent_runs}). Upgrade your plan or abort some of your runs.",
        )
    used = sum(int(job.options.get("memoryMbytes", 0)) for job in active)
    if user.max_memory_mbytes is not None and used + memory_mbytes > user.max_memory_mbytes:
        return EmulatedApiError(
            user.refusal_status,
            "actor-memory-limit-exceeded",
            f"By launching this job you will exceed the memory limit of {user.max_memory_mbytes}MB for all "
            f"your Actor runs and builds (currently used: {used}MB, requested: {memory_mbytes}MB).",
        )
    return None

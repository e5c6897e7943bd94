"""DAGs of the reliability suite, run with ``dag.test()`` by ``rel_run_dag``.

* ``rel_bad_input``: operators, sensors and a notifier whose templated ids (or connections) are
  bad; every task must fail with a message naming the cause, and no request may be sent.
* ``rel_secrets``: every operator, sensor, notifier and hook path (errors included) with
  recognisable tokens; the test looks for them in the output, XCom, rendered fields and journal.
  Job ids come from the Variable ``rel_jobs`` (``AIRFLOW_VAR_REL_JOBS``, JSON).

With ``REL_UNMASK=1`` Airflow's secret masker is switched off in this process, so a token that
leaked anywhere would show in the task logs instead of being hidden as ``***``; the ``canary``
task proves that masking is off.
"""

from __future__ import annotations

import datetime
import os
from typing import Any

from airflow.sdk import DAG, task

from airflow_provider_jobs.notifications.apify import ApifyAbortBuildNotifier, ApifyAbortRunNotifier
from airflow_provider_jobs.notifications.template_builds import TemplateBuildCancelNotifier
from airflow_provider_jobs.operators.apify import (
    ApifyAbortBuildOperator,
    ApifyAbortRunOperator,
    ApifyBuildActorOperator,
    ApifyRunActorOperator,
)
from airflow_provider_jobs.operators.template_builds import TemplateBuildCancelOperator, TemplateBuildOperator
from airflow_provider_jobs.sensors.apify import ApifyBuildSensor, ApifyRunSensor
from airflow_provider_jobs.sensors.template_builds import TemplateBuildSensor

if os.environ.get("REL_UNMASK") == "1":
    from airflow.sdk._shared.secrets_masker.secrets_masker import SecretsMasker

    SecretsMasker.add_mask = lambda self, secret, name=None: None  # type: ignore[method-assign]

START = datetime.datetime(2024, 1, 1)
CANARY = "rel-canary-value-5d1e"


def dag(dag_id: str) -> DAG:
    return DAG(dag_id, schedule=None, start_date=START, catchup=False, default_args={"retries": 0})


def job(key: str) -> str:
    return "{{ var.json.rel_jobs['%s'] }}" % key


with dag("rel_bad_input") as rel_bad_input:
    ApifyRunSensor(task_id="sensor_slash", run_id="{{ 'a/../b' }}", poke_interval=0.1, timeout=5)
    ApifyAbortRunOperator(task_id="abort_run_query", run_id="{{ 'run?id=1' }}")
    ApifyAbortBuildOperator(task_id="abort_build_empty", build_id="{{ '' }}")
    TemplateBuildCancelOperator(task_id="cancel_percent", build_id="{{ 'tb_%2F' }}")
    ApifyRunActorOperator(task_id="run_actor_hash", actor_id="{{ 'x#y' }}")
    ApifyBuildActorOperator(task_id="build_version_dots", actor_id="rel~quick", version="{{ '../0.1' }}")
    TemplateBuildOperator(task_id="template_request_text", build_request="{{ 'not a dict' }}")  # type: ignore[arg-type]
    TemplateBuildSensor(task_id="template_sensor_long", build_id="{{ 'x' * 200 }}", poke_interval=0.1, timeout=5)
    ApifyBuildSensor(task_id="sensor_unicode", build_id="{{ 'ünïcödé' }}", poke_interval=0.1, timeout=5)
    ApifyRunSensor(task_id="bad_extra", run_id="abc", apify_conn_id="apify_bad_extra", poke_interval=0.1, timeout=5)
    ApifyRunSensor(task_id="insecure_http", run_id="abc", apify_conn_id="apify_insecure", poke_interval=0.1,
                   timeout=5)
    ApifyRunSensor(task_id="missing_conn", run_id="abc", apify_conn_id="apify_nowhere", poke_interval=0.1, timeout=5)

    @task(on_failure_callback=ApifyAbortRunNotifier(run_id="{{ 'a/b' }}"))
    def load_fails() -> None:
        raise RuntimeError("the load step failed")

    load_fails()


with dag("rel_secrets") as rel_secrets:
    @task
    def canary() -> None:
        from airflow.sdk.log import mask_secret

        mask_secret(CANARY)
        print(f"canary: {CANARY}")

    canary()
    ApifyRunActorOperator(task_id="run_actor", actor_id="rel~quick", run_input={"pages": 1}, poll_interval=0.1)
    ApifyRunActorOperator(task_id="run_actor_deferred", actor_id="rel~quick", deferrable=True, poll_interval=0.1)
    ApifyRunActorOperator(task_id="run_actor_fails", actor_id="rel~fails", poll_interval=0.1)
    ApifyBuildActorOperator(task_id="build_actor", actor_id="rel~quick", version="0.1", poll_interval=0.1)
    ApifyBuildActorOperator(task_id="build_actor_deferred", actor_id="rel~quick", version="0.1", deferrable=True,
                            poll_interval=0.1)
    TemplateBuildOperator(task_id="template_build", build_request={"name": "rel-quick"}, poll_interval=0.1)
    TemplateBuildOperator(task_id="template_build_deferred", build_request={"name": "rel-quick"}, deferrable=True,
                          poll_interval=0.1)
    ApifyRunActorOperator(task_id="run_actor_timeout", actor_id="rel~forever", wait_timeout=0.5, poll_interval=0.1)
    ApifyAbortRunOperator(task_id="abort_run", run_id=job("abort_run"), gracefully=True, wait_timeout=10)
    ApifyAbortBuildOperator(task_id="abort_build", build_id=job("abort_build"))
    TemplateBuildCancelOperator(task_id="cancel_template_build", build_id=job("cancel"), reason="secrets suite")
    ApifyRunSensor(task_id="run_sensor", run_id=job("done_run"), poke_interval=0.1, timeout=30)
    ApifyRunSensor(task_id="run_sensor_deferred", run_id=job("done_run"), deferrable=True, timeout=30)
    ApifyBuildSensor(task_id="build_sensor", build_id=job("done_build"), poke_interval=0.1, timeout=30)
    TemplateBuildSensor(task_id="template_sensor", build_id=job("done_template"), deferrable=True, timeout=30)
    ApifyRunSensor(task_id="sensor_timeout", run_id=job("sensor_timeout"), poke_interval=0.1, timeout=0.5)
    TemplateBuildSensor(task_id="template_sensor_timeout", build_id=job("template_timeout"), poke_interval=0.1,
                        timeout=0.5)
    ApifyRunSensor(task_id="sensor_not_found", run_id="NoSuchRun12345", poke_interval=0.1, timeout=5)

    starters = [
        ApifyRunActorOperator(task_id="start_run", actor_id="rel~forever", wait_for_termination=False),
        ApifyBuildActorOperator(task_id="start_build", actor_id="rel~forever", version="0.1",
                                wait_for_termination=False),
        TemplateBuildOperator(task_id="start_template_build", build_request={"name": "rel-forever"},
                              wait_for_termination=False),
    ]

    @task(on_failure_callback=[
        ApifyAbortRunNotifier(task_id="start_run"),
        ApifyAbortBuildNotifier(task_id="start_build"),
        TemplateBuildCancelNotifier(task_id="start_template_build", reason="{{ ti.task_id }} failed"),
    ])
    def downstream_fails() -> None:
        raise RuntimeError("the load step failed")

    starters >> downstream_fails()

    @task
    def hook_paths() -> dict[str, Any]:
        """Every hook method, sync and async, and the error paths; returns reprs and messages (to XCom)."""
        import asyncio
        import logging
        import pickle

        from airflow_provider_jobs._http import aclose_shared_clients
        from airflow_provider_jobs._retry import RetryPolicy
        from airflow_provider_jobs.hooks.apify import ApifyHook
        from airflow_provider_jobs.hooks.template_builds import TemplateBuildHook

        log = logging.getLogger("rel.hook_paths")
        quick = RetryPolicy(max_retries=1, base_delay=0.01, max_delay=0.02)
        apify, templates = ApifyHook(), TemplateBuildHook()
        out: dict[str, Any] = {"reprs": [repr(apify), repr(templates)]}
        out["user"] = apify.get_user().username
        out["test_connection"] = [apify.test_connection(), templates.test_connection()]
        run = apify.start_run("rel~quick", {"query": "secrets"}, timeout_secs=600, memory_mbytes=256)
        out["run"] = apify.wait_for_run(run.id, timeout=30).summary()
        out["listed"] = len(apify.list_runs("rel~quick", status="SUCCEEDED").items)
        out["abort_finished"] = apify.abort_run(run.id).status
        build = apify.start_build("rel~quick", "0.2", tag="latest")
        out["build"] = apify.wait_for_build(build.id, timeout=30).status
        out["get_build"] = apify.get_build(build.id).status
        out["abort_build_finished"] = apify.abort_build(build.id).status
        tb = templates.start_build(name="rel-quick", tags=["default"])
        out["template"] = templates.wait_for_build(tb.build_id, timeout=30, poll_interval=0.05).status
        for entry in templates.stream_logs(tb.build_id, follow=False):
            log.info("template log: %s", entry.format_line())
        out["cancel_finished"] = templates.cancel_build(tb.build_id, reason="after the end").build.status
        out["templates"] = len(templates.list_templates())
        out["reprs"] += [repr(apify.get_conn()), repr(apify.settings), repr(templates.get_conn()),
                         repr(templates.settings)]

        async def twins() -> list[Any]:
            async_apify, async_templates = ApifyHook(), TemplateBuildHook()
            started = await async_apify.astart_run("rel~quick")
            results = [
                (await async_apify.await_for_run(started.id, timeout=30)).status,
                (await async_apify.aabort_run(started.id)).status,
                (await async_apify.aget_user()).username,
                len((await async_apify.alist_runs("rel~quick")).items),
                await async_apify.atest_connection(),
                await async_templates.atest_connection(),
            ]
            tb2 = await async_templates.astart_build(name="rel-quick")
            results.append((await async_templates.await_for_build(tb2.build_id, timeout=30, poll_interval=0.05)).status)
            results.append(len([e async for e in async_templates.astream_logs(tb2.build_id, follow=False)]))
            results.append((await async_templates.acancel_build(tb2.build_id)).build.status)
            await aclose_shared_clients()
            return results

        out["async"] = asyncio.run(twins())
        errors: list[str] = []
        failing = [
            lambda: apify.get_run("NoSuchRun12345"),                                  # 404
            lambda: ApifyHook("apify_wrong").get_user(),                             # 401 with another token
            lambda: TemplateBuildHook("template_builds_wrong").list_templates(),     # 401
            lambda: apify.start_run("rel~start-500"),                                # StartOutcomeUnknownError
            lambda: ApifyHook(retry_policy=quick).get_run("RateLimited12345"),        # RateLimitError
            lambda: ApifyHook(retry_policy=quick).get_run("Malformed123456"),         # UnexpectedResponseError
            lambda: ApifyHook(retry_policy=quick).abort_run("Dropped1234567"),       # TransportError
            lambda: templates.cancel_build("tb_nosuchbuild"),                        # 404
            lambda: apify.get_run("../etc"),                                         # InvalidIdError
            lambda: apify.wait_for_run(out["run"]["id"], timeout=-1),                # InvalidArgumentError
            lambda: ApifyHook("apify_wrong").test_connection(),                      # (False, message)
        ]
        for call in failing:
            try:
                result = call()
                errors.append(f"no error: {result!r}")
            except Exception as exc:
                log.error("expected failure: %s", exc)
                log.exception("with its traceback")
                errors += [str(exc), repr(exc), repr(vars(exc)), repr(pickle.loads(pickle.dumps(exc))),
                           str(pickle.loads(pickle.dumps(exc)))]
        out["errors"] = errors
        return out

    hook_paths()

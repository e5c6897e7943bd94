"""The watchdog's only contact with the provider's HTTP core: send one prepared abort request.

Everything the watchdog knows about the core is in :func:`prepare_abort`; it uses
``ConnectionSettings``/``ServiceInfo``/``Timeouts``/``Secret`` (``_connection``), ``HttpCore`` and
``Call`` (``_http``) and ``RetryPolicy`` (``_retry``). None of them imports Airflow or pydantic.
"""

from __future__ import annotations

from collections.abc import Callable

from airflow_provider_jobs._call import NO_BODY, Call
from airflow_provider_jobs._connection import ConnectionSettings, Secret, ServiceInfo, Timeouts
from airflow_provider_jobs._http import HttpCore
from airflow_provider_jobs._retry import Idempotency, RetryPolicy
from airflow_provider_jobs._watchdog.protocol import WatchdogSpec


def prepare_abort(spec: WatchdogSpec) -> Callable[[], None]:
    """Build the client for ``spec`` now; return the function that sends its abort, retrying 429, 5xx
    and transport errors within ``spec.deadline`` (like ``lifecycle.quick_hook``: each attempt may
    take a quarter of the deadline, at most 3 s).

    Building ahead (TLS context, connection pool) is what lets the abort leave at once when the
    owner dies. The returned function raises the core's ``JobsApiError`` when the abort fails.
    """
    per_request = max(0.5, min(3.0, spec.deadline / 4))
    s = spec.settings
    settings = ConnectionSettings(
        conn_id=s.conn_id,
        service=ServiceInfo(**s.service),
        base_url=s.base_url,
        token=Secret(s.token),
        timeouts=Timeouts(**{k: min(float(v), per_request) for k, v in s.timeouts.items()}),
    )
    policy = RetryPolicy(max_retries=8, base_delay=0.2, max_delay=2.0,
                         max_elapsed=max(0.0, spec.deadline - per_request), max_retry_after=spec.deadline)
    core = HttpCore(settings, policy=policy)
    core._sync_client()  # build the client (TLS context, pool) before it is needed
    r = spec.request
    call = Call(r.method, r.path, r.action, params=r.params, json=NO_BODY if r.body is None else r.body,
                idempotency=Idempotency.SAFE, job_id=spec.job_id, expect_json=False)

    def send() -> None:
        try:
            core.request(call)
        finally:
            core.close()

    return send

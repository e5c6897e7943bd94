"""The few Airflow entry points whose import path moved between 3.x releases."""

from __future__ import annotations

from collections.abc import Callable


def _load_mask_secret() -> Callable[..., None]:
    try:  # Airflow >= 3.1
        from airflow.sdk.log import mask_secret

        return mask_secret
    except ImportError:  # pragma: no cover - Airflow 3.0
        from airflow.sdk.execution_time.secrets_masker import mask_secret  # type: ignore[no-redef]

        return mask_secret


def mask_secret(value: str, name: str | None = None) -> None:
    """Register ``value`` with Airflow's secret masker (task logs show ``***`` instead)."""
    try:
        _load_mask_secret()(value, name)
    except Exception:  # pragma: no cover - masking must never break a request
        pass


def connection_not_found_types() -> tuple[type[BaseException], ...]:
    """The exception types Airflow raises for an undefined connection id."""
    from airflow.sdk.exceptions import AirflowNotFoundException

    return (AirflowNotFoundException,)


async def amask_secret(value: str, name: str | None = None) -> None:
    """Async twin of :func:`mask_secret`, for the triggerer's event loop.

    The sync version talks to the supervisor with a blocking send, which deadlocks a triggerer
    that already has an async request in flight.
    """
    try:
        from airflow.sdk.log import amask_secret as _amask
    except ImportError:  # pragma: no cover - Airflow < 3.1: no supervisor round trip to block on
        mask_secret(value, name)
        return
    try:
        await _amask(value, name)
    except Exception:  # pragma: no cover
        pass

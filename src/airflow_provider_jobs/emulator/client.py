"""Drive an emulator running elsewhere (another process, the CLI) through its control API.

:class:`EmulatorClient` has the operations of :class:`~airflow_provider_jobs.emulator.ops.EmulatorApi`,
like :class:`~airflow_provider_jobs.emulator.emulator.Emulator`, so a test seeds, injects faults
and reads the journal the same way whether the emulator runs in process or not.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import httpx

from airflow_provider_jobs.emulator.errors import EmulatorClientError, UnknownRecordError
from airflow_provider_jobs.emulator.ops import EmulatorApi, Operation

__all__ = ["EmulatorClient", "EmulatorClientError"]


class EmulatorClient(EmulatorApi):
    """HTTP client for the ``/_emulator`` control API of a running emulator.

    Unknown records raise :class:`~airflow_provider_jobs.emulator.errors.UnknownRecordError`,
    other refusals :class:`EmulatorClientError`.

    :param base_url: the emulator's base URL, e.g. ``http://127.0.0.1:8089``.
    :param timeout: HTTP timeout in seconds.
    """

    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url + "/_emulator", timeout=timeout)

    def close(self) -> None:
        """Close the underlying HTTP client."""
        self._http.close()

    def __enter__(self) -> EmulatorClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _invoke(self, op: Operation[..., Any], args: dict[str, Any]) -> Any:
        path, query, body = op.request(args)
        response = self._http.request(op.verb, path, params=query, json=body)
        if response.status_code == 404:
            raise UnknownRecordError(response.json().get("error", response.text))
        if response.status_code >= 400:
            raise EmulatorClientError(f"{op.verb} {path}: HTTP {response.status_code}: {response.text}")
        return op.result(response.json())

"""Extra links from a task to the Apify Console page of its run or build.

The operator pushes the console URL to the link's XCom key as soon as the job exists, so the
link works while the task is still running; Airflow stores ``get_link``'s answer under the same
key when the task ends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_jobs._compat import BaseOperatorLink, XCom

if TYPE_CHECKING:
    from airflow_provider_jobs._compat import TaskInstanceKey


class _ConsoleLink(BaseOperatorLink):
    def get_link(self, operator: Any, *, ti_key: TaskInstanceKey) -> str:
        """Return the console URL the task pushed, or an empty string."""
        value = XCom.get_value(ti_key=ti_key, key=self.xcom_key)
        return value if isinstance(value, str) else ""


class ApifyRunLink(_ConsoleLink):
    """Link to the Apify Console page of the task's actor run."""

    name = "Apify run"


class ApifyBuildLink(_ConsoleLink):
    """Link to the Apify Console page of the task's actor build."""

    name = "Apify build"

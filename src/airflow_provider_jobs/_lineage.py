"""OpenLineage names of Apify storages, shared by every operator that reports lineage.

A dataset is ``namespace="apify://<API host>"``, ``name="datasets/<dataset id>"``, so the run that
wrote a dataset and the transfer that read it name it alike. Nothing here imports OpenLineage.
"""

from __future__ import annotations

from urllib.parse import urlsplit


def apify_dataset_name(base_url: str, dataset_id: str) -> tuple[str, str]:
    """The OpenLineage ``(namespace, name)`` of an Apify dataset.

    :param base_url: the connection's API base URL (``https://api.apify.com``)
    :param dataset_id: the dataset's id (or ``username~name``)
    """
    host = urlsplit(base_url).netloc or base_url
    return f"apify://{host}", f"datasets/{dataset_id}"


__all__ = ["apify_dataset_name"]

"""Transfer an Apify dataset to object storage (a local file, S3, GCS... wherever fsspec reaches)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any

from airflow_provider_jobs._compat import (
    AirflowException,
    BaseOperator,
    Context,
    ObjectStoragePath,
    object_storage_path,
    openlineage_classes,
)
from airflow_provider_jobs._lineage import apify_dataset_name
from airflow_provider_jobs._validation import normalize_named_id, validate_field_names, validate_flag
from airflow_provider_jobs.exceptions import InvalidArgumentError
from airflow_provider_jobs.hooks.apify import ApifyHook
from airflow_provider_jobs.transfers._formats import FORMATS, WRITERS

log = logging.getLogger(__name__)


class ApifyDatasetToObjectStorageOperator(BaseOperator):
    """Stream the items of an Apify dataset to a file in object storage, writing as it reads.

    Items are read a page (1,000 items) at a time (:meth:`ApifyHook.iter_dataset_items`) and
    written at once, so memory stays flat whatever the dataset's size. The file is written under a
    temporary name next to ``destination`` (``.<name>.<random>.part``) and renamed to it at the end:
    a failed or killed task leaves no partial file under the final name. An empty dataset gives an
    empty file (``[]`` for ``json``; for ``csv`` a header only when ``fields`` names the columns).

    Formats: ``jsonl`` (one JSON object per line), ``json`` (one array, streamed), ``csv`` (header:
    ``fields`` in that order, else the union of the items' keys in first-seen order, found by
    spooling the items to a local temporary file during the single read of the dataset; nested
    values are written as JSON text).

    Templated fields: ``dataset_id``, ``destination``. The return value (XCom ``return_value``) is
    ``{"destination": str, "items": n, "bytes": m}``.

    :param dataset_id: dataset id, ``username~dataset-name`` or ``username/dataset-name`` (e.g. a
        run's ``default_dataset_id`` from XCom)
    :param destination: an ``ObjectStoragePath`` or its URL (``file:///data/out.jsonl``,
        ``s3://bucket/key`` with a connection: ``s3://aws_default@bucket/key``)
    :param format: ``jsonl``, ``json`` or ``csv``
    :param fields: keep only these item fields, in this order
    :param omit: drop these item fields
    :param clean: skip empty items and hidden fields (``#name``)
    :param apify_conn_id: the Apify connection
    """

    template_fields: Sequence[str] = ("dataset_id", "destination")
    ui_color = "#97e6c6"

    def __init__(
        self,
        *,
        dataset_id: str,
        destination: str | ObjectStoragePath,
        format: str = "jsonl",
        fields: list[str] | None = None,
        omit: list[str] | None = None,
        clean: bool = True,
        apify_conn_id: str = ApifyHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if format not in FORMATS:
            raise InvalidArgumentError(f"Invalid format {format!r}: use one of {', '.join(FORMATS)}.")
        self.dataset_id = dataset_id
        self.destination = destination
        self.format = format
        self.fields = validate_field_names(fields, "fields")
        self.omit = validate_field_names(omit, "omit")
        self.clean = validate_flag(clean, "clean")
        self.apify_conn_id = apify_conn_id
        self._lineage: tuple[str, str, ObjectStoragePath] | None = None

    def _target(self) -> ObjectStoragePath:
        """The rendered destination, refused before anything is read when no filesystem serves it."""
        dest = self.destination
        try:
            path = dest if isinstance(dest, ObjectStoragePath) else object_storage_path(str(dest))
            path.fs  # noqa: B018 - resolving the filesystem is the check
        except (ValueError, ImportError, TypeError) as exc:
            raise InvalidArgumentError(
                f"Cannot write to destination {dest!s}: {exc}. Use a URL whose scheme has a filesystem "
                "(file://, or s3://, gs://... with the provider that registers it installed)."
            ) from exc
        if not path.name or path.is_dir():  # moving a file onto a directory would put it inside
            raise InvalidArgumentError(f"Destination {dest!s} is a directory: name the file to write.")
        return path

    def execute(self, context: Context) -> dict[str, Any]:
        """Read the dataset and write the file; return ``{"destination", "items", "bytes"}``."""
        dest = self._target()
        dataset_id = normalize_named_id(self.dataset_id, "Apify dataset id", "dataset")
        hook = ApifyHook(self.apify_conn_id)
        items = hook.iter_dataset_items(dataset_id, fields=self.fields, omit=self.omit, clean=self.clean)
        part = dest.parent / f".{dest.name}.{uuid.uuid4().hex[:12]}.part"
        log.info("Writing Apify dataset %s to %s (%s).", dataset_id, dest, self.format)
        try:
            try:
                dest.parent.mkdir(parents=True, exist_ok=True)
                with part.open("wb") as out:
                    count, size = WRITERS[self.format](items, out, self.fields)
                part.rename(dest)
            except OSError as exc:
                raise AirflowException(
                    f"Writing Apify dataset {dataset_id} to {dest} failed: {exc}. "
                    "Check that the destination is writable."
                ) from exc
        except BaseException:
            _remove_quietly(part)
            raise
        finally:
            hook.close()
        log.info("Wrote %d items (%d bytes) of Apify dataset %s to %s.", count, size, dataset_id, dest)
        self._lineage = (hook.settings.base_url, dataset_id, dest)
        shown = self.destination if isinstance(self.destination, str) else str(dest)
        return {"destination": shown, "items": count, "bytes": size}

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """Report the Apify dataset as input and the destination as output (OpenLineage provider only).

        Returns ``None`` when apache-airflow-providers-openlineage is not installed (then nothing
        of it is imported) or when :meth:`execute` did not complete.
        """
        classes = openlineage_classes()
        if classes is None or self._lineage is None:
            return None
        operator_lineage, dataset = classes
        base_url, dataset_id, dest = self._lineage
        bucket = getattr(dest, "bucket", "") or ""
        if dest.protocol in ("file", "local", ""):
            out_namespace, out_name = "file", "/" + str(dest.path).lstrip("/")
        else:
            out_namespace, out_name = f"{dest.protocol}://{bucket}", str(getattr(dest, "key", dest.path))
        return operator_lineage(
            inputs=[dataset(*apify_dataset_name(base_url, dataset_id))],
            outputs=[dataset(namespace=out_namespace, name=out_name)],
        )


def _remove_quietly(path: ObjectStoragePath) -> None:
    try:
        path.unlink(missing_ok=True)
    except Exception:  # the original error is what matters
        log.debug("Could not remove the partial file %s.", path, exc_info=True)

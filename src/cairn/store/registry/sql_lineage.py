"""Where a registered version came from: its run (name, experiment, git commit, the datasets it
consumed) and its logged model, read through the tracking store of the same database.

A version keeps its run and model ids without foreign keys, so either may be gone; the parts
that are gone come back as None or empty rather than as an error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cairn.entities.registry import ModelVersionLineage
from cairn.errors import RESOURCE_DOES_NOT_EXIST, CairnError

if TYPE_CHECKING:
    from cairn.store.tracking.sql import SqlTrackingStore

GIT_COMMIT_TAG = "mlflow.source.git.commit"
DATASET_CONTEXT_TAG = "mlflow.data.context"


def _or_none(read: Any, *args: Any) -> Any:
    try:
        return read(*args)
    except CairnError as exc:
        if exc.error_code == RESOURCE_DOES_NOT_EXIST:
            return None
        raise


def version_lineage(version: Any, tracking: SqlTrackingStore) -> ModelVersionLineage:
    """The lineage of ``version`` (a ``model_versions`` row)."""
    run = _or_none(tracking.get_run, version.run_id) if version.run_id else None
    model = (
        _or_none(lambda mid: tracking.get_logged_model(mid, allow_deleted=True), version.model_id)
        if version.model_id
        else None
    )
    datasets: list[dict[str, str]] = []
    if run is not None:
        for item in run.inputs.dataset_inputs:
            tags = {tag.key: tag.value for tag in item.tags}
            datasets.append(
                {
                    "name": item.dataset.name,
                    "digest": item.dataset.digest,
                    "context": tags.get(DATASET_CONTEXT_TAG, ""),
                }
            )
    return ModelVersionLineage(
        name=version.name,
        version=version.version,
        source=version.source,
        run_id=version.run_id,
        run_name=run.info.run_name if run is not None else None,
        experiment_id=run.info.experiment_id if run is not None else None,
        git_commit=run.data.tags.get(GIT_COMMIT_TAG) if run is not None else None,
        model_id=version.model_id,
        model_name=model.name if model is not None else None,
        datasets=datasets,
    )

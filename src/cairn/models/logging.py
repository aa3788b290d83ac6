"""``log_model`` as MLflow 3 does it, shared by every flavor.

The model becomes a logged model (its own entity, with an id) before any file is written:
create it PENDING in the run's experiment, record it as the run's output, save the directory
locally, upload it to the logged model's ``artifact_location``, then mark it READY (FAILED if
anything went wrong) and append it to the run's ``mlflow.log-model.history`` tag. With
``registered_model_name`` the READY model (``models:/<model_id>``) then becomes a new version of
that registered model.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cairn.errors import CairnError
from cairn.models.mlmodel import Model

if TYPE_CHECKING:
    from cairn.models.signature import ModelSignature

_log = logging.getLogger("cairn.models")
LOG_MODEL_HISTORY_TAG = "mlflow.log-model.history"
_MAX_TAG_VALUE = 8000  # a run tag value's limit (validation.py)


@dataclass
class ModelInfo:
    """What ``log_model`` returns: where the model is and what it is."""

    model_uri: str
    model_id: str | None
    name: str
    artifact_path: str
    run_id: str | None
    flavors: dict[str, dict[str, Any]]
    model_uuid: str
    utc_time_created: str
    signature: ModelSignature | None = None
    saved_input_example_info: dict[str, Any] | None = None
    model_size_bytes: int | None = None
    metadata: dict[str, Any] | None = None
    mlflow_version: str | None = None
    cairn_version: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    registered_model_version: int | None = None

    @property
    def signature_dict(self) -> dict[str, Any] | None:
        return self.signature.to_dict() if self.signature is not None else None


def _history_entry(model: Model) -> dict[str, Any]:
    entry = {
        "run_id": model.run_id,
        "artifact_path": model.artifact_path,
        "utc_time_created": model.utc_time_created,
        "model_uuid": model.model_uuid,
        "flavors": model.flavors,
    }
    if model.model_id is not None:
        entry["model_id"] = model.model_id
    return entry


def _append_history(client: Any, run_id: str, model: Model) -> None:
    """Add the model to the run's ``mlflow.log-model.history`` tag (oldest dropped past the
    tag size limit)."""
    run = client.get_run(run_id)
    try:
        history = json.loads(run.data.tags.get(LOG_MODEL_HISTORY_TAG, "[]"))
        if not isinstance(history, list):
            history = []
    except ValueError:
        history = []
    history.append(_history_entry(model))
    value = json.dumps(history)
    while len(value) > _MAX_TAG_VALUE and len(history) > 1:
        history.pop(0)
        value = json.dumps(history)
    if len(value) <= _MAX_TAG_VALUE:
        client.set_tag(run_id, LOG_MODEL_HISTORY_TAG, value)


def _str_map(values: Mapping[str, Any] | None) -> dict[str, str]:
    from cairn.validation import stringify_value

    return {str(k): stringify_value(v) for k, v in (values or {}).items()}


def log_model(
    save: Callable[..., Any],
    name: str,
    *,
    params: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
    model_type: str | None = None,
    step: int = 0,
    run_id: str | None = None,
    registered_model_name: str | None = None,
    **save_kwargs: Any,
) -> ModelInfo:
    """Log a model with ``save(path, mlflow_model=..., **save_kwargs)`` (a flavor's save_model
    with the model bound) into the active run, or ``run_id``, or no run at all."""
    from cairn.entities import LoggedModelOutput
    from cairn.entities.logged_model import LoggedModelStatus
    from cairn.store.artifacts import get_artifact_repository
    from cairn.tracking import fluent

    if not isinstance(name, str) or not name or "/" in name:
        raise CairnError.invalid(f"Invalid model name {name!r}: a non-empty name without '/'.")
    if registered_model_name is not None and (
        not isinstance(registered_model_name, str) or not registered_model_name.strip()
    ):
        raise CairnError.invalid(
            f"Invalid registered_model_name {registered_model_name!r}: a non-empty name."
        )
    active = fluent.active_run()
    if run_id is None and active is not None:
        run_id = active.run_id
        client = active._client
    else:
        client = fluent._client()
    store = client.store
    if run_id is not None:
        experiment_id = client.get_run(run_id).info.experiment_id
    else:
        experiment_id = fluent._current_experiment_id()
    str_params = _str_map(params)
    str_tags = _str_map(tags)
    logged = store.create_logged_model(
        experiment_id,
        name=name,
        source_run_id=run_id,
        tags=str_tags or None,
        params=str_params or None,
        model_type=model_type,
    )
    try:
        if run_id is not None:
            store.log_outputs(run_id, [LoggedModelOutput(logged.model_id, step)])
        mlmodel = Model(artifact_path=name, run_id=run_id, model_id=logged.model_id)
        with tempfile.TemporaryDirectory(prefix="cairn-log-model-") as tmp:
            local = Path(tmp) / "model"
            mlmodel = save(local, mlflow_model=mlmodel, **save_kwargs)
            repo = get_artifact_repository(logged.artifact_location, client.tracking_uri)
            repo.log_artifacts(str(local))
        store.finalize_logged_model(logged.model_id, LoggedModelStatus.READY)
    except BaseException:
        try:
            store.finalize_logged_model(logged.model_id, LoggedModelStatus.FAILED)
        except Exception as failed:  # the original error is the one worth raising
            _log.warning("Could not mark logged model %s FAILED: %s", logged.model_id, failed)
        raise
    if run_id is not None:
        _append_history(client, run_id, mlmodel)
    registered_version = None
    if registered_model_name is not None:
        from cairn.registry.fluent import register_with

        model_uri = f"models:/{logged.model_id}"
        registered_version = register_with(client, model_uri, registered_model_name).version
    return ModelInfo(
        model_uri=f"models:/{logged.model_id}",
        model_id=logged.model_id,
        name=name,
        artifact_path=name,
        run_id=run_id,
        flavors=mlmodel.flavors,
        model_uuid=mlmodel.model_uuid,
        utc_time_created=mlmodel.utc_time_created,
        signature=mlmodel.signature,
        saved_input_example_info=mlmodel.saved_input_example_info,
        model_size_bytes=mlmodel.model_size_bytes,
        metadata=mlmodel.metadata,
        mlflow_version=mlmodel.mlflow_version,
        cairn_version=mlmodel.cairn_version,
        params=str_params,
        tags=str_tags,
        registered_model_version=registered_version,
    )


def get_model_info(model_uri: str) -> ModelInfo:
    """The ModelInfo of a saved or logged model, from its MLmodel."""
    from cairn.pyfunc import _download

    path = _download(model_uri)
    model = Model.load(path)
    return ModelInfo(
        model_uri=model_uri,
        model_id=model.model_id,
        name=model.artifact_path or "",
        artifact_path=model.artifact_path or "",
        run_id=model.run_id,
        flavors=model.flavors,
        model_uuid=model.model_uuid,
        utc_time_created=model.utc_time_created,
        signature=model.signature,
        saved_input_example_info=model.saved_input_example_info,
        model_size_bytes=model.model_size_bytes,
        metadata=model.metadata,
        mlflow_version=model.mlflow_version,
        cairn_version=model.cairn_version,
    )

"""The explicit client: every call goes straight to the store, named as ``MlflowClient`` names it.

Use it for scripts that manage runs they are not inside of (comparing, tagging, cleaning up).
The fluent API (``cairn.log_metric`` ...) builds on it and adds the active-run stack and the
batching logger. Like ``MlflowClient`` it also has the model registry's methods, shared with
:class:`~cairn.registry.client.RegistryClient`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cairn import validation
from cairn.clock import now_ms
from cairn.entities import (
    DatasetInput,
    Experiment,
    Metric,
    MetricHistory,
    PagedList,
    Param,
    Run,
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
)
from cairn.errors import CairnError
from cairn.registry.client import RegistryMethods
from cairn.tracking import config
from cairn.tracking.context import current_user

if TYPE_CHECKING:
    from cairn.store.artifacts.protocol import ArtifactRepository, FileInfo
    from cairn.store.tracking.protocol import TrackingStore


class TrackingClient(RegistryMethods):
    """Experiments, runs and what they log, in the store at ``tracking_uri``; registered
    models in the registry at ``registry_uri`` (default: the same place)."""

    def __init__(self, tracking_uri: str | None = None, registry_uri: str | None = None) -> None:
        self._tracking_uri = tracking_uri
        self._registry_uri = registry_uri

    @property
    def tracking_uri(self) -> str:
        return self._tracking_uri or config.get_tracking_uri()

    @property
    def store(self) -> TrackingStore:
        return config.get_store(self.tracking_uri)

    # ------------------------------------------------------------------ experiments

    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: dict[str, Any] | None = None
    ) -> str:
        return self.store.create_experiment(name, artifact_location, _str_dict(tags))

    def get_experiment(self, experiment_id: str) -> Experiment:
        return self.store.get_experiment(experiment_id)

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        return self.store.get_experiment_by_name(name)

    def search_experiments(
        self,
        view_type: str | int = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        filter_string: str | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        return self.store.search_experiments(
            ViewType.validate(view_type), max_results, filter_string, order_by, page_token
        )

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self.store.rename_experiment(experiment_id, new_name)

    def delete_experiment(self, experiment_id: str) -> None:
        self.store.delete_experiment(experiment_id)

    def restore_experiment(self, experiment_id: str) -> None:
        self.store.restore_experiment(experiment_id)

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        self.store.set_experiment_tag(experiment_id, key, value)

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        self.store.delete_experiment_tag(experiment_id, key)

    # ------------------------------------------------------------------ runs

    def create_run(
        self,
        experiment_id: str,
        start_time: int | None = None,
        tags: dict[str, Any] | None = None,
        run_name: str | None = None,
    ) -> Run:
        tags = _str_dict(tags)
        user = tags.get("mlflow.user") or current_user()
        return self.store.create_run(experiment_id, user, start_time, tags, run_name)

    def get_run(self, run_id: str) -> Run:
        return self.store.get_run(run_id)

    def update_run(self, run_id: str, status: str | None = None, name: str | None = None) -> None:
        end_time = now_ms() if status in RunStatus.TERMINATED else None
        self.store.update_run_info(run_id, status=status, end_time=end_time, run_name=name)

    def set_terminated(
        self, run_id: str, status: str = RunStatus.FINISHED, end_time: int | None = None
    ) -> RunInfo:
        return self.store.update_run_info(
            run_id, status=RunStatus.validate(status), end_time=end_time or now_ms()
        )

    def delete_run(self, run_id: str) -> None:
        self.store.delete_run(run_id)

    def restore_run(self, run_id: str) -> None:
        self.store.restore_run(run_id)

    def search_runs(
        self,
        experiment_ids: str | Sequence[str],
        filter_string: str = "",
        run_view_type: str | int = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        ids = [experiment_ids] if isinstance(experiment_ids, str) else list(experiment_ids)
        return self.store.search_runs(
            ids,
            filter_string or None,
            ViewType.validate(run_view_type),
            max_results,
            order_by,
            page_token,
        )

    # ------------------------------------------------------------------ logging

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        timestamp: int | None = None,
        step: int | None = None,
        model_id: str | None = None,
        dataset: Any = None,
    ) -> None:
        """One point; with ``model_id`` also a metric of that logged model (on ``dataset``)."""
        point = Metric(
            key,
            value,
            now_ms() if timestamp is None else timestamp,
            step or 0,
            model_id,
            getattr(dataset, "name", None),
            getattr(dataset, "digest", None),
        )
        self.store.log_batch(run_id, metrics=[point])

    def log_param(self, run_id: str, key: str, value: Any) -> Any:
        self.store.log_batch(run_id, params=[Param(key, validation.stringify_value(value))])
        return value

    def set_tag(self, run_id: str, key: str, value: Any) -> None:
        self.store.log_batch(run_id, tags=[RunTag(key, validation.stringify_value(value))])

    def delete_tag(self, run_id: str, key: str) -> None:
        self.store.delete_tag(run_id, key)

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        self.store.log_batch(run_id, list(metrics), list(params), list(tags))

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput]) -> None:
        self.store.log_inputs(run_id, list(datasets))

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        return self.store.get_metric_history(run_id, key)

    def get_metric_history_columns(self, run_id: str, key: str) -> MetricHistory:
        """The whole history as numpy columns: the fast path for long histories."""
        return self.store.get_metric_history_columns(run_id, key)

    # ------------------------------------------------------------------ artifacts

    def artifact_repository(self, run_id: str) -> ArtifactRepository:
        from cairn.store.artifacts import get_artifact_repository

        # A proxied root (mlflow-artifacts:/) means this client's server, not the global one.
        return get_artifact_repository(self.get_run(run_id).info.artifact_uri, self.tracking_uri)

    def log_artifact(self, run_id: str, local_path: str, artifact_path: str | None = None) -> None:
        if not os.path.isfile(local_path):
            raise CairnError.invalid(f"No such file to log as an artifact: {local_path!r}.")
        self.artifact_repository(run_id).log_artifact(local_path, artifact_path)

    def log_artifacts(self, run_id: str, local_dir: str, artifact_path: str | None = None) -> None:
        if not os.path.isdir(local_dir):
            raise CairnError.invalid(f"No such directory to log as artifacts: {local_dir!r}.")
        self.artifact_repository(run_id).log_artifacts(local_dir, artifact_path)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        from cairn.tracking.artifact_helpers import text_bytes

        self.artifact_repository(run_id).log_bytes(text_bytes(text), artifact_file)

    def log_dict(self, run_id: str, dictionary: Any, artifact_file: str) -> None:
        from cairn.tracking.artifact_helpers import dict_bytes

        self.artifact_repository(run_id).log_bytes(
            dict_bytes(dictionary, artifact_file), artifact_file
        )

    def log_figure(self, run_id: str, figure: Any, artifact_file: str) -> None:
        from cairn.tracking.artifact_helpers import figure_bytes

        self.artifact_repository(run_id).log_bytes(
            figure_bytes(figure, artifact_file), artifact_file
        )

    def log_image(self, run_id: str, image: Any, artifact_file: str) -> None:
        from cairn.tracking.artifact_helpers import image_bytes

        self.artifact_repository(run_id).log_bytes(image_bytes(image, artifact_file), artifact_file)

    def log_table(self, run_id: str, data: Any, artifact_file: str) -> None:
        from cairn.tracking.artifact_helpers import table_bytes

        self.artifact_repository(run_id).log_bytes(table_bytes(data, artifact_file), artifact_file)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        return self.artifact_repository(run_id).list_artifacts(path)

    def download_artifacts(self, run_id: str, path: str = "", dst_path: str | None = None) -> str:
        dst = dst_path or tempfile.mkdtemp(prefix="cairn-download-")
        return self.artifact_repository(run_id).download_artifacts(path, dst)


def _str_dict(values: dict[str, Any] | None) -> dict[str, str]:
    return {k: validation.stringify_value(v) for k, v in (values or {}).items()}

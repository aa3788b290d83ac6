"""What every tracking store does, whatever keeps the data (SQL now, REST later).

Writes are validated by the caller-facing clients *and* by the store, so a store used directly
(by the server, say) never accepts what a client would refuse.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import msgspec

from cairn.entities import (
    DatasetInput,
    Experiment,
    LoggedModel,
    LoggedModelOutput,
    Metric,
    MetricHistory,
    PagedList,
    Param,
    Run,
    RunInfo,
    RunTag,
)
from cairn.store.tracking.columns import MetricColumns

# Column names of a run table: the search language's prefixes and a key ("metrics.loss").
RUN_TABLE_PREFIXES = ("metrics", "params", "tags")


class ExperimentSummary(msgspec.Struct, frozen=True):
    """What a list of experiments shows beside each name, counted by the database."""

    experiment_id: str
    run_count: int  # active runs
    last_activity: int | None  # ms: the latest run start or end, or the experiment's update


class ExperimentKeys(msgspec.Struct, frozen=True):
    """The distinct keys the active runs of some experiments logged, each list sorted."""

    params: list[str]
    metrics: list[str]
    tags: list[str]


class RunTable(msgspec.Struct, frozen=True):
    """One page of a run search as columns (one list per field, one entry per run).

    What a table of thousands of runs needs, without a Run object per run: the attributes
    every row shows, and ``columns`` for the requested ``metrics.``/``params.``/``tags.``
    names: latest metric values as floats (NaN and infinities as they are), params and tags
    as strings, None where a run lacks the key.
    """

    run_id: list[str]
    run_name: list[str]
    experiment_id: list[str]
    status: list[str]
    start_time: list[int | None]
    end_time: list[int | None]
    user_id: list[str]
    parent_run_id: list[str | None]
    lifecycle_stage: list[str]
    columns: dict[str, list[Any]]
    next_page_token: str | None = None


@runtime_checkable
class TrackingStore(Protocol):
    # experiments
    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: dict[str, str] | None = None
    ) -> str: ...
    def get_experiment(self, experiment_id: str) -> Experiment: ...
    def get_experiment_by_name(self, name: str) -> Experiment | None: ...
    def search_experiments(
        self,
        view_type: str = "ACTIVE_ONLY",
        max_results: int = 1000,
        filter_string: str | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]: ...
    def rename_experiment(self, experiment_id: str, new_name: str) -> None: ...
    def delete_experiment(self, experiment_id: str) -> None: ...
    def restore_experiment(self, experiment_id: str) -> None: ...
    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None: ...
    def delete_experiment_tag(self, experiment_id: str, key: str) -> None: ...

    # runs
    def create_run(
        self,
        experiment_id: str,
        user_id: str,
        start_time: int | None,
        tags: dict[str, str] | None,
        run_name: str | None,
    ) -> Run: ...
    def get_run(self, run_id: str) -> Run: ...
    def update_run_info(
        self,
        run_id: str,
        status: str | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo: ...
    def delete_run(self, run_id: str) -> None: ...
    def restore_run(self, run_id: str) -> None: ...
    def search_runs(
        self,
        experiment_ids: list[str],
        filter_string: str | None = None,
        run_view_type: str = "ACTIVE_ONLY",
        max_results: int = 1000,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]: ...

    # what the web UI reads in bulk
    def get_experiment_summaries(
        self, experiment_ids: Sequence[str] | None = None
    ) -> list[ExperimentSummary]:
        """Run counts and last activity of the given experiments (every one if None), by id;
        ids that match no experiment are left out."""
        ...

    def get_experiment_keys(self, experiment_ids: Sequence[str]) -> ExperimentKeys:
        """The param, metric and tag keys of the experiments' active runs."""
        ...

    def search_runs_table(
        self,
        experiment_ids: list[str],
        columns: Sequence[str] = (),
        filter_string: str | None = None,
        run_view_type: str = "ACTIVE_ONLY",
        max_results: int = 10000,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> RunTable:
        """:meth:`search_runs` (same filter, order and pages) as columns: see :class:`RunTable`."""
        ...

    # what runs log
    def log_batch(
        self,
        run_id: str,
        metrics: list[Metric] | None = None,
        params: list[Param] | None = None,
        tags: list[RunTag] | None = None,
    ) -> None: ...
    def log_columns(
        self,
        run_id: str,
        metrics: dict[str, MetricColumns] | None = None,
        params: dict[str, str] | None = None,
        tags: dict[str, str] | None = None,
    ) -> None: ...
    def delete_tag(self, run_id: str, key: str) -> None: ...
    def log_inputs(self, run_id: str, datasets: list[DatasetInput]) -> None: ...
    def get_metric_history(self, run_id: str, key: str) -> list[Metric]: ...
    def get_metric_history_columns(self, run_id: str, key: str) -> MetricHistory: ...

    # housekeeping
    def purge_deleted_runs(
        self, older_than_ms: int, run_ids: list[str] | None = None, dry_run: bool = False
    ) -> list[Run]:
        """Remove deleted runs for good; returns them so their artifacts can go too."""
        ...

    def purge_deleted_experiments(
        self, older_than_ms: int, dry_run: bool = False
    ) -> list[Experiment]: ...

    # logged models (MLflow 3)
    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        model_type: str | None = None,
    ) -> LoggedModel: ...
    def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> LoggedModel: ...
    def finalize_logged_model(self, model_id: str, status: str | int) -> LoggedModel: ...
    def log_logged_model_params(self, model_id: str, params: Mapping[str, str]) -> None: ...
    def set_logged_model_tags(self, model_id: str, tags: Mapping[str, str]) -> None: ...
    def delete_logged_model_tag(self, model_id: str, key: str) -> None: ...
    def delete_logged_model(self, model_id: str) -> None: ...
    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        order_by: Sequence[Mapping[str, Any]] | None = None,
        max_results: int = 100,
        page_token: str | None = None,
        datasets: Sequence[Mapping[str, Any]] | None = None,
    ) -> PagedList[LoggedModel]: ...
    def log_outputs(self, run_id: str, models: Sequence[LoggedModelOutput]) -> None: ...
    def get_run_outputs(self, run_ids: Sequence[str]) -> dict[str, list[LoggedModelOutput]]: ...

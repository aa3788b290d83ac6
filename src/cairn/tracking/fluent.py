"""The fluent API: ``cairn.start_run()``, ``cairn.log_metric()`` ... on an active-run stack.

Metric, param and tag calls are validated here, at once, then handed to the store's
:class:`~cairn.tracking.logger.BatchingLogger`; everything else goes through
:class:`~cairn.tracking.client.TrackingClient`. Names and semantics follow MLflow's fluent API.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cairn import validation
from cairn.entities import (
    Dataset,
    DatasetInput,
    Experiment,
    InputTag,
    Metric,
    Run,
    RunStatus,
    ViewType,
)
from cairn.errors import RESOURCE_ALREADY_EXISTS, CairnError
from cairn.tracking import config, context
from cairn.tracking.client import TrackingClient
from cairn.tracking.logger import BatchingLogger

if TYPE_CHECKING:
    import pandas as pd

    from cairn.store.artifacts.protocol import FileInfo

EXPERIMENT_NAME_ENV = "CAIRN_EXPERIMENT_NAME"
EXPERIMENT_ID_ENV = "CAIRN_EXPERIMENT_ID"
RUN_ID_ENV = "CAIRN_RUN_ID"
MLFLOW_RUN_ID_ENV = "MLFLOW_RUN_ID"
DATASET_CONTEXT_TAG = "mlflow.data.context"

_log = logging.getLogger("cairn")
_stack: list[ActiveRun] = []
_stack_lock = threading.RLock()
_active_experiment_id: str | None = None
_last_run_id: str | None = None
_loggers: dict[str, BatchingLogger] = {}
_time_ns = time.time_ns


class ActiveRun:
    """The run ``start_run`` returned; ending the ``with`` block ends the run.

    An exception leaving the block marks the run FAILED (KILLED on Ctrl-C) after everything
    logged so far is written.
    """

    def __init__(self, run: Run, client: TrackingClient, logger: BatchingLogger) -> None:
        self._run = run
        # The run logs into the store it was started in, even if the tracking URI changes.
        self._client = client
        self._logger = logger

    @property
    def info(self):  # type: ignore[no-untyped-def]
        return self._run.info

    @property
    def data(self):  # type: ignore[no-untyped-def]
        return self._run.data

    @property
    def run_id(self) -> str:
        return self._run.info.run_id

    def __repr__(self) -> str:
        return f"<ActiveRun: run_id={self.run_id!r}, run_name={self.info.run_name!r}>"

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: object, tb: object) -> None:
        if exc_type is None:
            status = RunStatus.FINISHED
        elif issubclass(exc_type, KeyboardInterrupt):
            status = RunStatus.KILLED
        else:
            status = RunStatus.FAILED
        if any(r is self for r in _stack):
            _end(self, status, raise_errors=exc_type is None)


def _client() -> TrackingClient:
    return TrackingClient()


def _logger() -> BatchingLogger:
    uri = config.resolve_uri(config.get_tracking_uri())
    logger = _loggers.get(uri)
    if logger is None:
        with _stack_lock:
            logger = _loggers.get(uri)
            if logger is None:
                logger = _loggers[uri] = BatchingLogger(config.get_store(uri))
    return logger


# ---------------------------------------------------------------------- tracking URI


def set_tracking_uri(uri: str | os.PathLike[str] | None) -> None:
    config.set_tracking_uri(uri)


def get_tracking_uri() -> str:
    return config.get_tracking_uri()


# ---------------------------------------------------------------------- experiments


def set_experiment(
    experiment_name: str | None = None, experiment_id: str | None = None
) -> Experiment:
    """Make an experiment active for new runs, creating it by name on first use."""
    global _active_experiment_id
    if (experiment_name is None) == (experiment_id is None):
        raise CairnError.invalid("Pass exactly one of experiment_name or experiment_id.")
    client = _client()
    if experiment_id is not None:
        experiment = client.get_experiment(experiment_id)
    else:
        experiment = client.get_experiment_by_name(experiment_name)  # type: ignore[arg-type]
        if experiment is None:
            try:
                client.create_experiment(experiment_name)  # type: ignore[arg-type]
            except CairnError as exc:  # another process created it first
                if exc.error_code != RESOURCE_ALREADY_EXISTS:
                    raise
            experiment = client.get_experiment_by_name(experiment_name)  # type: ignore[arg-type]
            assert experiment is not None
    if experiment.lifecycle_stage != "active":
        raise CairnError.invalid(
            f"Cannot make experiment '{experiment.name}' active: it is deleted. Restore it "
            "with `cairn experiments restore` or choose another name."
        )
    _active_experiment_id = experiment.experiment_id
    return experiment


def _current_experiment_id() -> str:
    if _active_experiment_id is not None:
        return _active_experiment_id
    if os.environ.get(EXPERIMENT_ID_ENV):
        return os.environ[EXPERIMENT_ID_ENV]
    if os.environ.get(EXPERIMENT_NAME_ENV):
        return set_experiment(os.environ[EXPERIMENT_NAME_ENV]).experiment_id
    return "0"


def create_experiment(
    name: str, artifact_location: str | None = None, tags: dict[str, Any] | None = None
) -> str:
    return _client().create_experiment(name, artifact_location, tags)


def get_experiment(experiment_id: str) -> Experiment:
    return _client().get_experiment(experiment_id)


def get_experiment_by_name(name: str) -> Experiment | None:
    return _client().get_experiment_by_name(name)


def delete_experiment(experiment_id: str) -> None:
    _client().delete_experiment(experiment_id)


def search_experiments(
    view_type: str | int = ViewType.ACTIVE_ONLY,
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: list[str] | None = None,
) -> list[Experiment]:
    """Every matching experiment (all pages), or the first ``max_results``."""
    client, found, token = _client(), [], None
    while True:
        page_size = 1000 if max_results is None else min(1000, max_results - len(found))
        page = client.search_experiments(view_type, page_size, filter_string, order_by, token)
        found.extend(page)
        token = page.token
        if not token or (max_results is not None and len(found) >= max_results):
            return found


def set_experiment_tag(key: str, value: Any) -> None:
    _client().set_experiment_tag(_current_experiment_id(), key, value)


def set_experiment_tags(tags: dict[str, Any]) -> None:
    for key, value in tags.items():
        set_experiment_tag(key, value)


# ---------------------------------------------------------------------- runs


def start_run(
    run_id: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    nested: bool = False,
    parent_run_id: str | None = None,
    tags: dict[str, Any] | None = None,
    description: str | None = None,
) -> ActiveRun:
    """Start a new run (or resume ``run_id``) and make it the active run."""
    global _last_run_id
    client = _client()
    with _stack_lock:
        if _stack and not nested:
            raise CairnError.invalid(
                f"Run '{_stack[-1].run_id}' is already active. End it with cairn.end_run() "
                "first, or pass nested=True to start a run inside it."
            )
        parent = parent_run_id or (_stack[-1].run_id if _stack and nested else None)
        if run_id is None and not _stack:
            # Inside `cairn run`, the script's first run is the project's run.
            run_id = os.environ.get(RUN_ID_ENV) or os.environ.get(MLFLOW_RUN_ID_ENV) or None
        if run_id is not None:
            run = client.get_run(run_id)
            if run.info.lifecycle_stage != "active":
                raise CairnError.invalid(f"Cannot resume run '{run_id}': it is deleted.")
            if experiment_id is not None and str(experiment_id) != run.info.experiment_id:
                raise CairnError.invalid(
                    f"Run '{run_id}' belongs to experiment '{run.info.experiment_id}', "
                    f"not '{experiment_id}'."
                )
            client.store.update_run_info(run_id, status=RunStatus.RUNNING, run_name=run_name)
            run = client.get_run(run_id)
        else:
            all_tags = context.system_tags()
            all_tags.update(tags or {})
            if parent:
                all_tags[context.PARENT_RUN_ID] = parent
            if description is not None:
                all_tags[context.NOTE] = description
            run = client.create_run(
                str(experiment_id) if experiment_id is not None else _current_experiment_id(),
                tags=all_tags,
                run_name=run_name,
            )
        active = ActiveRun(run, TrackingClient(client.tracking_uri), _logger())
        _stack.append(active)
        _last_run_id = run.info.run_id
        return active


def end_run(status: str = RunStatus.FINISHED) -> None:
    """End the active run: write everything it logged, then record status and end time."""
    with _stack_lock:
        if _stack:
            _end(_stack[-1], RunStatus.validate(status), raise_errors=True)


def _end(run: ActiveRun, status: str, raise_errors: bool) -> None:
    with _stack_lock:
        while _stack:
            top = _stack.pop()
            try:
                top._logger._write_pending(top.run_id)
            finally:
                top._client.set_terminated(top.run_id, status)
            if top is run:
                break
    if raise_errors:
        run._logger.raise_pending_error()


def active_run() -> ActiveRun | None:
    return _stack[-1] if _stack else None


def last_active_run() -> Run | None:
    """The active run, or the last run this process started."""
    run_id = _stack[-1].run_id if _stack else _last_run_id
    return None if run_id is None else get_run(run_id)


def get_run(run_id: str) -> Run:
    flush()
    return _client().get_run(run_id)


def delete_run(run_id: str) -> None:
    _client().delete_run(run_id)


def _run_id(run_id: str | None) -> str:
    return _target(run_id)[0]


def _target(run_id: str | None) -> tuple[str, BatchingLogger]:
    """The run a call logs into (the active one, started on demand) and that run's logger."""
    if run_id is not None:
        return run_id, _logger()
    top = _stack[-1] if _stack else start_run()
    return top.run_id, top._logger


# ---------------------------------------------------------------------- logging values


def log_metric(
    key: str,
    value: float,
    step: int | None = None,
    synchronous: bool | None = None,
    timestamp: int | None = None,
    run_id: str | None = None,
    model_id: str | None = None,
    dataset: Any = None,
) -> None:
    """Log one metric point; returns in microseconds and never waits for the database.

    With ``model_id`` (a logged model's id) the point is also that model's metric, measured on
    ``dataset`` (anything with ``name`` and ``digest``, e.g. what ``cairn.data`` builds); such
    a point is written at once, so an unknown model is reported here.
    """
    if model_id is not None or dataset is not None:
        rid, logger = _target(run_id)
        key = validation.validate_key(key)
        point = Metric(
            key,
            validation.validate_metric_value(key, value),
            _time_ns() // 1_000_000
            if timestamp is None
            else validation.validate_timestamp(timestamp),
            0 if step is None else validation.validate_step(step),
            model_id,
            getattr(dataset, "name", None),
            getattr(dataset, "digest", None),
        )
        logger.flush(rid)  # the run's earlier points first
        logger.store.log_batch(rid, metrics=[point])
        return
    if run_id is None and _stack:  # the hot path, inlined
        top = _stack[-1]
        rid, logger = top._run.info.run_id, top._logger
    else:
        rid, logger = _target(run_id)
    if logger._error is not None:
        logger.raise_pending_error()
    key = validation.validate_key(key)
    logger.log_metric(
        rid,
        key,
        validation.validate_metric_value(key, value),
        _time_ns() // 1_000_000 if timestamp is None else validation.validate_timestamp(timestamp),
        0 if step is None else validation.validate_step(step),
    )
    if synchronous:
        logger.flush(rid)


def log_metrics(
    metrics: dict[str, float],
    step: int | None = None,
    synchronous: bool | None = None,
    timestamp: int | None = None,
    run_id: str | None = None,
) -> None:
    ts = _time_ns() // 1_000_000 if timestamp is None else validation.validate_timestamp(timestamp)
    step = 0 if step is None else validation.validate_step(step)
    checked = [
        (key, validation.validate_metric_value(key, value))
        for key, value in ((validation.validate_key(k), v) for k, v in metrics.items())
    ]
    rid, logger = _target(run_id)
    logger.raise_pending_error()
    for key, value in checked:
        logger.log_metric(rid, key, value, ts, step)
    if synchronous:
        logger.flush(rid)


def log_param(key: str, value: Any, synchronous: bool | None = None) -> Any:
    log_params({key: value}, synchronous=synchronous)
    return value


def log_params(
    params: dict[str, Any], synchronous: bool | None = None, run_id: str | None = None
) -> None:
    checked = dict(validation.validate_param(k, v) for k, v in params.items())
    rid, logger = _target(run_id)
    logger.raise_pending_error()
    logger.log_params(rid, checked)
    if synchronous:
        logger.flush(rid)


def set_tag(key: str, value: Any, synchronous: bool | None = None) -> None:
    set_tags({key: value}, synchronous=synchronous)


def set_tags(tags: dict[str, Any], synchronous: bool | None = None) -> None:
    checked = dict(validation.validate_tag(k, v) for k, v in tags.items())
    rid, logger = _target(None)
    logger.raise_pending_error()
    logger.set_tags(rid, checked)
    if synchronous:
        logger.flush(rid)


def delete_tag(key: str) -> None:
    rid, logger = _target(None)
    logger.flush(rid)
    _client().delete_tag(rid, key)


def flush() -> None:
    """Write every buffered value now and raise any error a write reported."""
    for logger in list(_loggers.values()):
        logger.flush()


def log_input(
    dataset: Dataset | Any,
    context: str | None = None,
    tags: dict[str, str] | None = None,
    name: str | None = None,
) -> Dataset:
    """Record that the active run used a dataset (a ``Dataset``, DataFrame or numpy array)."""
    from cairn.data import to_dataset

    ds = to_dataset(dataset, name=name)
    input_tags = [InputTag(k, validation.stringify_value(v)) for k, v in (tags or {}).items()]
    if context is not None:
        input_tags.append(InputTag(DATASET_CONTEXT_TAG, context))
    _client().log_inputs(_run_id(None), [DatasetInput(ds, input_tags)])
    return ds


# ---------------------------------------------------------------------- artifacts


def _artifact_run() -> tuple[TrackingClient, str]:
    return _client(), _run_id(None)


def get_artifact_uri(artifact_path: str | None = None) -> str:
    from cairn.store.artifacts.paths import join_uri, safe_relative_path

    root = _client().get_run(_run_id(None)).info.artifact_uri
    return join_uri(root, safe_relative_path(artifact_path)) if artifact_path else root


def log_artifact(local_path: str | os.PathLike[str], artifact_path: str | None = None) -> None:
    client, rid = _artifact_run()
    client.log_artifact(rid, os.fspath(local_path), artifact_path)


def log_artifacts(local_dir: str | os.PathLike[str], artifact_path: str | None = None) -> None:
    client, rid = _artifact_run()
    client.log_artifacts(rid, os.fspath(local_dir), artifact_path)


def log_text(text: str, artifact_file: str) -> None:
    client, rid = _artifact_run()
    client.log_text(rid, text, artifact_file)


def log_dict(dictionary: Any, artifact_file: str) -> None:
    client, rid = _artifact_run()
    client.log_dict(rid, dictionary, artifact_file)


def log_figure(figure: Any, artifact_file: str) -> None:
    client, rid = _artifact_run()
    client.log_figure(rid, figure, artifact_file)


def log_image(image: Any, artifact_file: str) -> None:
    client, rid = _artifact_run()
    client.log_image(rid, image, artifact_file)


def log_table(data: Any, artifact_file: str) -> None:
    client, rid = _artifact_run()
    client.log_table(rid, data, artifact_file)


def list_artifacts(run_id: str | None = None, path: str | None = None) -> list[FileInfo]:
    return _client().list_artifacts(_run_id(run_id), path)


def download_artifacts(
    run_id: str | None = None, artifact_path: str = "", dst_path: str | None = None
) -> str:
    return _client().download_artifacts(_run_id(run_id), artifact_path, dst_path)


# ---------------------------------------------------------------------- search


def search_runs(
    experiment_ids: Sequence[str] | None = None,
    filter_string: str = "",
    run_view_type: str | int = ViewType.ACTIVE_ONLY,
    max_results: int = 100_000,
    order_by: list[str] | None = None,
    output_format: str = "pandas",
    search_all_experiments: bool = False,
    experiment_names: Sequence[str] | None = None,
) -> pd.DataFrame | list[Run]:
    """Runs matching the filter, as a pandas DataFrame (default) or a list of ``Run``."""
    if output_format not in ("pandas", "list"):
        raise CairnError.invalid(
            f"Invalid output_format {output_format!r}: use 'pandas' or 'list'."
        )
    flush()
    client = _client()
    ids = list(experiment_ids or [])
    for name in experiment_names or ():
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            raise CairnError.not_found(f"No experiment named '{name}'.")
        ids.append(experiment.experiment_id)
    if not ids:
        if search_all_experiments:
            ids = [e.experiment_id for e in search_experiments(view_type=ViewType.ALL)]
        else:
            ids = [_current_experiment_id()]
    runs: list[Run] = []
    token = None
    while len(runs) < max_results:
        page = client.search_runs(
            ids,
            filter_string,
            run_view_type,
            min(max_results - len(runs), 50_000),
            order_by,
            token,
        )
        runs.extend(page)
        token = page.token
        if not token:
            break
    if output_format == "list":
        return runs
    from cairn.tracking.frames import runs_to_frame

    return runs_to_frame(runs)


def get_metric_history(run_id: str, key: str) -> list[Metric]:
    flush()
    return _client().get_metric_history(run_id, key)


# ---------------------------------------------------------------------- process exit


def _end_runs_at_exit() -> None:
    try:
        while _stack:
            _end(_stack[-1], RunStatus.FINISHED, raise_errors=False)
        for logger in list(_loggers.values()):
            logger.close()
    except Exception as exc:  # at exit there is no caller left to raise to
        _log.error("cairn could not finish its runs at exit: %s", exc)


atexit.register(_end_runs_at_exit)


def _reset() -> None:
    """End every run, stop the loggers and forget the active experiment and tracking URI.

    For test suites and long-lived processes that switch stores; not part of the public API.
    """
    global _active_experiment_id, _last_run_id
    _end_runs_at_exit()
    _loggers.clear()
    _active_experiment_id = _last_run_id = None
    config.set_tracking_uri(None)

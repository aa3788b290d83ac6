"""Tracking: experiments, runs, metrics, params, tags, batches, datasets, search, artifact lists.

A thin skin over the tracking store: each endpoint parses its request into the message struct of
:mod:`cairn.server.wire` (every JSON type checked there), calls the store, which decides every
rule, and answers with the message MLflow would. Only wire-level limits of endpoints the store
has no counterpart for (history paging, bulk-interval sampling) are checked here.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from cairn import validation
from cairn.entities import LoggedModelOutput, MetricHistory, Param, Run, RunTag
from cairn.errors import CairnError
from cairn.search.paging import decode_page_token, encode_page_token
from cairn.server import wire
from cairn.server.context import ServerContext
from cairn.server.http import MAX_JSON_BODY, json_response, read_json
from cairn.store.artifacts import safe_relative_path
from cairn.store.db.engine import WriteWouldWait, writes_without_waiting
from cairn.store.tracking.columns import MetricColumns
from cairn.store.tracking.protocol import TrackingStore

M = TypeVar("M", bound=msgspec.Struct)
Body = dict[str, Any]

LOG_MODEL_HISTORY_TAG = "mlflow.log-model.history"
_MODEL_JSON_FIELDS = ("artifact_path", "flavors", "run_id", "utc_time_created")
# get-history pages: the mlflow client asks for 25,000 points at a time.
HISTORY_PAGE_DEFAULT = 25_000
HISTORY_PAGE_MAX = 1_000_000
# get-history-bulk-interval, as MLflow's server limits it.
BULK_INTERVAL_MAX_RUNS = 100
BULK_INTERVAL_DEFAULT_RESULTS = 320
BULK_INTERVAL_MAX_RESULTS = 2500
_ID_BATCH = 5000
POST, GET = ["POST"], ["GET"]


# Endpoints whose handler is one small write transaction and nothing else. On a store whose
# writes can refuse to wait (SQLite), they run on the event loop: ~0.1 ms of write is cheaper
# than the ~0.1 ms thread hop. When another process holds the write lock the write refuses
# before touching anything and goes to a thread to wait there.
INLINE_WRITES = frozenset(
    {"/runs/log-metric", "/runs/log-parameter", "/runs/set-tag", "/runs/log-batch"}
)


def routes(ctx: ServerContext) -> list[BaseRoute]:
    api = TrackingApi(ctx)
    inline_ok = bool(getattr(ctx.tracking, "nonblocking_writes", False))
    return [
        Route(
            path,
            _endpoint(
                message_type,
                functools.partial(handler, api),
                inline=inline_ok and path in INLINE_WRITES,
            ),
            methods=methods,
        )
        for path, methods, message_type, handler in ENDPOINTS
    ]


def _endpoint(
    message_type: type[M], handler: Callable[[M], Body], inline: bool = False
) -> Callable[[Request], Awaitable[Response]]:
    """An ASGI endpoint: parse the request, run the handler (database work) off the loop, or
    with ``inline`` on it when that needs no waiting."""

    async def endpoint(request: Request) -> Response:
        message = await read_message(request, message_type)
        if inline:
            try:
                with writes_without_waiting():
                    return json_response(handler(message))
            except WriteWouldWait:
                pass
        return json_response(await run_in_threadpool(handler, message))

    return endpoint


async def read_message(request: Request, message_type: type[M]) -> M:
    """The request as ``message_type``: JSON bodies are decoded and type-checked in one pass;
    anything else (query strings, empty or broken bodies) goes the general way, which reports
    malformed JSON and non-object bodies as such."""
    is_query = request.method in ("GET", "HEAD")
    if not is_query:
        body = await request.body()
        if body and len(body) <= MAX_JSON_BODY:
            try:
                return wire.decode_message(body, message_type)
            except msgspec.DecodeError:  # also ValidationError: say why below
                pass
    data = await read_json(request)
    if is_query:
        for name in wire.list_fields(message_type):
            if name in data and not isinstance(data[name], list):
                data[name] = [data[name]]
    return wire.parse_message(data, message_type)


class TrackingApi:
    """The endpoints' handlers: a message in, the response body out."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.store: TrackingStore = ctx.tracking

    # ------------------------------------------------------------------ experiments

    def create_experiment(self, req: wire.CreateExperiment) -> Body:
        experiment_id = self.store.create_experiment(
            req.name, req.artifact_location or None, wire.key_values_from_json(req.tags)
        )
        return {"experiment_id": experiment_id}

    def get_experiment(self, req: wire.ExperimentRef) -> Body:
        experiment = self.store.get_experiment(req.experiment_id)
        return {"experiment": wire.experiment_to_json(experiment)}

    def get_experiment_by_name(self, req: wire.GetExperimentByName) -> Body:
        experiment = self.store.get_experiment_by_name(req.experiment_name)
        if experiment is None:
            raise CairnError.not_found(f"No experiment named '{req.experiment_name}'.")
        return {"experiment": wire.experiment_to_json(experiment)}

    def search_experiments(self, req: wire.SearchExperiments) -> Body:
        page = self.store.search_experiments(
            view_type=req.view_type,  # type: ignore[arg-type]  # the store accepts enum numbers
            filter_string=req.filter or None,
            order_by=req.order_by or None,
            page_token=req.page_token or None,
            **wire.given(max_results=req.max_results),
        )
        return wire.page_to_json(
            "experiments", [wire.experiment_to_json(e) for e in page], page.token
        )

    def update_experiment(self, req: wire.UpdateExperiment) -> Body:
        self.store.rename_experiment(req.experiment_id, req.new_name)
        return {}

    def delete_experiment(self, req: wire.ExperimentRef) -> Body:
        self.store.delete_experiment(req.experiment_id)
        return {}

    def restore_experiment(self, req: wire.ExperimentRef) -> Body:
        self.store.restore_experiment(req.experiment_id)
        return {}

    def set_experiment_tag(self, req: wire.SetExperimentTag) -> Body:
        self.store.set_experiment_tag(req.experiment_id, req.key, req.value)
        return {}

    def delete_experiment_tag(self, req: wire.DeleteExperimentTag) -> Body:
        self.store.delete_experiment_tag(req.experiment_id, req.key)
        return {}

    # ------------------------------------------------------------------ runs

    def create_run(self, req: wire.CreateRun) -> Body:
        run = self.store.create_run(
            experiment_id=req.experiment_id,
            user_id=req.user_id,
            start_time=req.start_time,
            tags=wire.key_values_from_json(req.tags),
            run_name=req.run_name or None,
        )
        return {"run": wire.run_to_json(run)}

    def get_run(self, req: wire.RunRef) -> Body:
        run = self.store.get_run(req.id)
        return {"run": self._runs_json([run])[0]}

    def update_run(self, req: wire.UpdateRun) -> Body:
        info = self.store.update_run_info(
            req.id,
            status=None if req.status is None else wire.run_status_from_wire(req.status),
            end_time=req.end_time,
            run_name=req.run_name or None,
        )
        return {"run_info": wire.run_info_to_json(info)}

    def delete_run(self, req: wire.RunRef) -> Body:
        self.store.delete_run(req.id)
        return {}

    def restore_run(self, req: wire.RunRef) -> Body:
        self.store.restore_run(req.id)
        return {}

    def search_runs(self, req: wire.SearchRuns) -> Body:
        page = self.store.search_runs(
            experiment_ids=req.experiment_ids,
            filter_string=req.filter or None,
            run_view_type=req.run_view_type,  # type: ignore[arg-type]  # enum numbers too
            max_results=req.max_results,
            order_by=req.order_by or None,
            page_token=req.page_token or None,
        )
        return wire.page_to_json("runs", self._runs_json(page), page.token)

    def _runs_json(self, runs: Sequence[Run]) -> list[Body]:
        """Runs as MLflow 3 returns them: latest metrics with step and timestamp, outputs."""
        ids = [r.info.run_id for r in runs]
        outputs = self.store.get_run_outputs(ids) if ids else {}
        return [wire.run_to_json(run, outputs=outputs.get(run.info.run_id, [])) for run in runs]

    # ------------------------------------------------------------------ logging

    def log_metric(self, req: wire.LogMetric) -> Body:
        self.store.log_batch(req.id, metrics=[wire.metric_from_message(req)])
        return {}

    def log_param(self, req: wire.SetKeyValue) -> Body:
        self.store.log_batch(req.id, params=[Param(req.key, req.value)])
        return {}

    def set_tag(self, req: wire.SetKeyValue) -> Body:
        self.store.log_batch(req.id, tags=[RunTag(req.key, req.value)])
        return {}

    def delete_tag(self, req: wire.DeleteTag) -> Body:
        self.store.delete_tag(req.id, req.key)
        return {}

    def log_batch(self, req: wire.LogBatch) -> Body:
        """Metrics go to the store as columns (one array append per point, no entities); a
        batch with params or with metrics of a logged model takes the entity path, where the
        store checks repeated params and records the model links."""
        validation.validate_batch_sizes(len(req.metrics), len(req.params), len(req.tags))
        if req.params or any(m.model_id for m in req.metrics):
            self.store.log_batch(
                req.id,
                metrics=[wire.metric_from_message(m) for m in req.metrics],
                params=[Param(p.key, p.value) for p in req.params],
                tags=[RunTag(t.key, t.value) for t in req.tags],
            )
        else:
            self.store.log_columns(
                req.id,
                metrics=MetricColumns.group(req.metrics),  # type: ignore[arg-type]  # duck-typed
                tags=wire.key_values_from_json(req.tags),
            )
        return {}

    def log_inputs(self, req: wire.LogInputs) -> Body:
        datasets = [wire.dataset_input_from_message(d) for d in req.datasets]
        self.store.log_inputs(req.id, datasets)
        return {}

    def log_model(self, req: wire.LogModel) -> Body:
        """MLflow 2's model record: appended to the run's ``mlflow.log-model.history`` tag."""
        model = _model_json(req.model_json)
        run = self.store.get_run(req.id)
        history = _json_list(run.data.tags.get(LOG_MODEL_HISTORY_TAG))
        history.append(model)
        self.store.log_batch(req.id, tags=[RunTag(LOG_MODEL_HISTORY_TAG, json.dumps(history))])
        return {}

    def log_outputs(self, req: wire.LogOutputs) -> Body:
        models = [LoggedModelOutput(m.model_id, m.step) for m in req.models]
        self.store.log_outputs(req.id, models)
        return {}

    # ------------------------------------------------------------------ metric histories

    def get_metric_history(self, req: wire.GetMetricHistory) -> Body:
        limit = validation.validate_max_results(
            HISTORY_PAGE_DEFAULT if req.max_results is None else req.max_results,
            HISTORY_PAGE_MAX,
        )
        offset = decode_page_token(req.page_token or None)
        history = self.store.get_metric_history_columns(req.id, req.metric_key)
        end = offset + limit
        metrics = wire.metric_history_to_json(history, offset, end)
        return wire.page_to_json(
            "metrics", metrics, encode_page_token(end) if end < len(history) else None
        )

    def get_metric_history_bulk_interval(self, req: wire.GetMetricHistoryBulkInterval) -> Body:
        """Each run's history sampled at up to ``max_results`` steps, spread evenly over the
        steps it logged in ``[start_step, end_step]``, always with the first and the last."""
        limit = _bulk_interval_limits(req)
        metrics: list[wire.MetricPoint] = []
        for run_id in dict.fromkeys(req.run_ids):
            history = self.store.get_metric_history_columns(run_id, req.metric_key)
            sampled = sample_history(history, limit, req.start_step, req.end_step)
            metrics.extend(wire.metric_history_to_json(sampled, run_id=run_id))
        return wire.page_to_json("metrics", metrics, None)

    # ------------------------------------------------------------------ artifacts

    def list_artifacts(self, req: wire.ListArtifacts) -> Body:
        run = self.store.get_run(req.id)
        root = run.info.artifact_uri
        path = safe_relative_path(req.path)
        files = self.ctx.artifact_repository(root).list_artifacts(path or None)
        body: Body = {"root_uri": root}
        if files:
            body["files"] = [wire.file_info_to_json(f) for f in files]
        return body


# path, methods, request message, handler
ENDPOINTS: list[tuple[str, list[str], type[msgspec.Struct], Callable[..., Body]]] = [
    ("/experiments/create", POST, wire.CreateExperiment, TrackingApi.create_experiment),
    ("/experiments/get", GET, wire.ExperimentRef, TrackingApi.get_experiment),
    ("/experiments/get-by-name", GET, wire.GetExperimentByName, TrackingApi.get_experiment_by_name),
    ("/experiments/search", [*GET, *POST], wire.SearchExperiments, TrackingApi.search_experiments),
    ("/experiments/update", POST, wire.UpdateExperiment, TrackingApi.update_experiment),
    ("/experiments/delete", POST, wire.ExperimentRef, TrackingApi.delete_experiment),
    ("/experiments/restore", POST, wire.ExperimentRef, TrackingApi.restore_experiment),
    (
        "/experiments/set-experiment-tag",
        POST,
        wire.SetExperimentTag,
        TrackingApi.set_experiment_tag,
    ),
    (
        "/experiments/delete-experiment-tag",
        POST,
        wire.DeleteExperimentTag,
        TrackingApi.delete_experiment_tag,
    ),
    ("/runs/create", POST, wire.CreateRun, TrackingApi.create_run),
    ("/runs/get", GET, wire.RunRef, TrackingApi.get_run),
    ("/runs/update", POST, wire.UpdateRun, TrackingApi.update_run),
    ("/runs/delete", POST, wire.RunRef, TrackingApi.delete_run),
    ("/runs/restore", POST, wire.RunRef, TrackingApi.restore_run),
    ("/runs/search", POST, wire.SearchRuns, TrackingApi.search_runs),
    ("/runs/log-metric", POST, wire.LogMetric, TrackingApi.log_metric),
    ("/runs/log-parameter", POST, wire.SetKeyValue, TrackingApi.log_param),
    ("/runs/set-tag", POST, wire.SetKeyValue, TrackingApi.set_tag),
    ("/runs/delete-tag", POST, wire.DeleteTag, TrackingApi.delete_tag),
    ("/runs/log-batch", POST, wire.LogBatch, TrackingApi.log_batch),
    ("/runs/log-inputs", POST, wire.LogInputs, TrackingApi.log_inputs),
    ("/runs/log-model", POST, wire.LogModel, TrackingApi.log_model),
    ("/runs/outputs", POST, wire.LogOutputs, TrackingApi.log_outputs),
    ("/metrics/get-history", GET, wire.GetMetricHistory, TrackingApi.get_metric_history),
    (
        "/metrics/get-history-bulk-interval",
        GET,
        wire.GetMetricHistoryBulkInterval,
        TrackingApi.get_metric_history_bulk_interval,
    ),
    ("/artifacts/list", GET, wire.ListArtifacts, TrackingApi.list_artifacts),
]


# ------------------------------------------------------------------ helpers


def _model_json(text: str) -> dict[str, Any]:
    try:
        model = json.loads(text)
    except ValueError:
        model = None
    if not isinstance(model, dict):
        raise CairnError.invalid("Invalid model_json: it must be a JSON object (an MLmodel).")
    missing = [f for f in _MODEL_JSON_FIELDS if f not in model]
    if missing:
        raise CairnError.invalid(f"Invalid model_json: missing fields {', '.join(missing)}.")
    return model


def _json_list(text: str | None) -> list[Any]:
    """A tag holding a JSON list; anything else (absent, edited by hand) starts a new list."""
    try:
        value = json.loads(text) if text else []
    except ValueError:
        return []
    return value if isinstance(value, list) else []


def _bulk_interval_limits(req: wire.GetMetricHistoryBulkInterval) -> int:
    """Checks the request's run count and step range; returns the number of steps to sample."""
    if not req.run_ids:
        raise CairnError.invalid("Missing value for required parameter 'run_ids'.")
    if len(req.run_ids) > BULK_INTERVAL_MAX_RUNS:
        raise CairnError.invalid(
            f"get-history-bulk-interval takes at most {BULK_INTERVAL_MAX_RUNS} run_ids; "
            f"got {len(req.run_ids)}."
        )
    if (req.start_step is None) != (req.end_step is None):
        raise CairnError.invalid("Give both start_step and end_step, or neither.")
    if req.start_step is not None and req.end_step is not None and req.start_step > req.end_step:
        raise CairnError.invalid(
            f"end_step ({req.end_step}) must not be less than start_step ({req.start_step})."
        )
    return validation.validate_max_results(
        BULK_INTERVAL_DEFAULT_RESULTS if req.max_results is None else req.max_results,
        BULK_INTERVAL_MAX_RESULTS,
    )


def sample_history(
    history: MetricHistory, max_steps: int, start_step: int | None, end_step: int | None
) -> MetricHistory:
    """The points at up to ``max_steps`` distinct steps of ``[start_step, end_step]``, evenly
    spaced over the steps logged there (first and last included), ordered by step, timestamp."""
    import numpy as np

    steps = history.steps
    keep = np.ones(len(steps), dtype=bool)
    if start_step is not None:
        keep &= steps >= start_step
    if end_step is not None:
        keep &= steps <= end_step
    distinct = np.unique(steps[keep])
    if len(distinct) > max_steps:
        picks = np.unique(np.round(np.linspace(0, len(distinct) - 1, max_steps)).astype(np.int64))
        keep &= np.isin(steps, distinct[picks])
    index = np.flatnonzero(keep)
    index = index[np.lexsort((history.timestamps[index], steps[index]))]
    return MetricHistory(
        key=history.key,
        steps=steps[index],
        timestamps=history.timestamps[index],
        values=history.values[index],
    )

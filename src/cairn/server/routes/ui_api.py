"""The web UI's read endpoints: what its pages need in one request where MLflow's API needs many.

Under ``/api/2.0/cairn/`` and ``/ajax-api/2.0/cairn/``: experiment summaries and keys, a run
search answered as columns (a 10,000-run table is one response of a few lists, not 10,000 Run
objects), min/max-downsampled metric series and the first rows of tabular artifacts. At the
root, ``/get-artifact``: MLflow's UI download route, streaming a run's file with headers that
keep it from running script in the UI's origin.

Requests are parsed into message structs like the tracking endpoints' (every JSON type checked,
a wrong one is INVALID_PARAMETER_VALUE) and the store does every rule of search; database and
file work runs in worker threads, never on the event loop.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from cairn.errors import CairnError
from cairn.server import wire
from cairn.server.artifact_responses import artifact_file_response
from cairn.server.artifact_tables import MAX_TABLE_ROWS, read_table
from cairn.server.context import ServerContext
from cairn.server.http import json_response, wire_float
from cairn.server.routes import API_PREFIXES
from cairn.server.routes.tracking import read_message
from cairn.store.artifacts import ArtifactRepository, safe_relative_path
from cairn.tracking.downsample import downsample_minmax

PREFIXES = ("/api/2.0/cairn", "/ajax-api/2.0/cairn")
MAX_DOWNSAMPLE_RUNS = 1000
MAX_BUCKETS = 10_000
MAX_TABLE_COLUMNS = 1000
X_AXES = ("step", "wall", "relative")
Body = dict[str, Any]

_TRUE, _FALSE = ("1", "true", "yes"), ("", "0", "false", "no")


# ------------------------------------------------------------------ request messages


class ExperimentIds(wire.Message):
    experiment_ids: list[str] = []


class RunsTable(wire.Message):
    experiment_ids: list[str] = []
    filter: str = ""
    order_by: list[str] = []
    run_view_type: str | int = "ACTIVE_ONLY"
    columns: list[str] = []
    max_results: wire.Int64 = 10_000
    page_token: str | None = None


class Downsample(wire.Message):
    run_ids: list[str]
    metric_key: str
    x_axis: str = "step"
    x_min: float | None = None
    x_max: float | None = None
    buckets: wire.Int64 = 1000


class ArtifactTable(wire.RunRef):
    path: str = ""
    max_rows: wire.Int64 = 100


class GetArtifact(wire.RunRef):
    path: str = ""
    download: str = ""


class GetModelArtifact(msgspec.Struct):
    artifact_file_path: str = ""
    download: str = ""


# ------------------------------------------------------------------ routes


def routes(ctx: ServerContext) -> list[BaseRoute]:
    api = UiApi(ctx)
    table: list[tuple[str, str, type[msgspec.Struct], Callable[[Any], Body]]] = [
        ("/experiments/summary", "GET", ExperimentIds, api.experiments_summary),
        ("/experiments/keys", "GET", ExperimentIds, api.experiments_keys),
        ("/runs/table", "POST", RunsTable, api.runs_table),
        ("/metrics/downsample", "POST", Downsample, api.downsample),
        ("/artifacts/table", "GET", ArtifactTable, api.artifact_table),
    ]
    found = [
        Route(prefix + path, _endpoint(message_type, handler), methods=[method])
        for prefix in PREFIXES
        for path, method, message_type, handler in table
    ]
    found.append(Route("/get-artifact", api.get_artifact, methods=["GET"]))
    found.extend(
        Route(
            prefix + "/logged-models/{model_id}/artifacts/files",
            api.get_model_artifact,
            methods=["GET"],
        )
        for prefix in API_PREFIXES
    )
    return found


def _endpoint(
    message_type: type[msgspec.Struct], handler: Callable[[Any], Body]
) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        message = await read_message(request, message_type)
        return json_response(await run_in_threadpool(handler, message))

    return endpoint


class UiApi:
    """The handlers: a parsed message in, the response body out (run in a worker thread)."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.store = ctx.tracking

    # -------------------------------------------------------------- experiments

    def experiments_summary(self, req: ExperimentIds) -> Body:
        """Every experiment's when no ids are given; unknown ids are left out."""
        summaries = self.store.get_experiment_summaries(req.experiment_ids or None)
        return {"experiments": [msgspec.structs.asdict(s) for s in summaries]}

    def experiments_keys(self, req: ExperimentIds) -> Body:
        if not req.experiment_ids:
            raise CairnError.invalid("Missing value for required parameter 'experiment_ids'.")
        return msgspec.structs.asdict(self.store.get_experiment_keys(req.experiment_ids))

    # -------------------------------------------------------------- runs

    def runs_table(self, req: RunsTable) -> Body:
        if len(req.columns) > MAX_TABLE_COLUMNS:
            raise CairnError.invalid(
                f"runs/table takes at most {MAX_TABLE_COLUMNS} columns; got {len(req.columns)}."
            )
        table = self.store.search_runs_table(
            experiment_ids=req.experiment_ids,
            columns=req.columns,
            filter_string=req.filter or None,
            run_view_type=req.run_view_type,  # type: ignore[arg-type]  # enum numbers too
            max_results=req.max_results,
            order_by=req.order_by or None,
            page_token=req.page_token or None,
        )
        body = msgspec.structs.asdict(table)
        for name, values in table.columns.items():
            if name.startswith("metrics.") and not _all_finite(values):
                body["columns"][name] = [_wire_number(v) for v in values]
        return body

    # -------------------------------------------------------------- metrics

    def downsample(self, req: Downsample) -> Body:
        run_ids = list(dict.fromkeys(req.run_ids))
        _check_downsample(req, len(run_ids))
        return {"series": [self._series(run_id, req) for run_id in run_ids]}

    def _series(self, run_id: str, req: Downsample) -> Body:
        import numpy as np

        history = self.store.get_metric_history_columns(run_id, req.metric_key)
        if req.x_axis == "relative":
            start = self.store.get_run(run_id).info.start_time
            if start is None and len(history):
                start = int(history.timestamps.min())
            x: Any = (history.timestamps - (start or 0)) / 1000.0
        else:
            x = history.steps if req.x_axis == "step" else history.timestamps
        picked = downsample_minmax(x, history.values, int(req.buckets), req.x_min, req.x_max)
        values = history.values[picked.index]
        y: list[Any] = values.tolist()
        if not bool(np.isfinite(values).all()):
            for i in np.flatnonzero(~np.isfinite(values)).tolist():
                y[i] = None
        return {
            "run_id": run_id,
            "x": x[picked.index].tolist(),
            "y": y,
            "total_points": len(history),
            "points_in_range": picked.points_in_range,
            "downsampled": picked.downsampled,
            "x_extent": [x.min().item(), x.max().item()] if len(history) else None,
        }

    # -------------------------------------------------------------- artifacts

    def _run_artifacts(self, req: wire.RunRef, path: str) -> tuple[ArtifactRepository, str]:
        """The run's artifact repository and the confined, non-empty file path in it."""
        rel = safe_relative_path(path)
        if not rel:
            raise CairnError.invalid("Missing value for required parameter 'path'.")
        run = self.store.get_run(req.id)
        return self.ctx.artifact_repository(run.info.artifact_uri), rel

    def artifact_table(self, req: ArtifactTable) -> Body:
        if not 1 <= req.max_rows <= MAX_TABLE_ROWS:
            raise CairnError.invalid(
                f"Invalid max_rows {req.max_rows}: it must be between 1 and {MAX_TABLE_ROWS}."
            )
        repo, rel = self._run_artifacts(req, req.path)
        return read_table(repo, rel, int(req.max_rows)).to_json()

    async def get_artifact(self, request: Request) -> Response:
        """The file, streamed (sendfile for local stores), typed for a safe preview."""
        req = await read_message(request, GetArtifact)
        repo, rel = await run_in_threadpool(self._run_artifacts, req, req.path)
        return await artifact_file_response(
            repo, rel, preview=True, as_attachment=_flag(req.download, "download")
        )

    async def get_model_artifact(self, request: Request) -> Response:
        """A logged model's file (MLflow's ``logged-models/{id}/artifacts/files``), as
        ``/get-artifact`` serves a run's."""
        req = await read_message(request, GetModelArtifact)
        model_id = request.path_params["model_id"]
        rel = safe_relative_path(req.artifact_file_path)
        if not rel:
            raise CairnError.invalid("Missing value for required parameter 'artifact_file_path'.")
        model = await run_in_threadpool(self.store.get_logged_model, model_id)
        repo = self.ctx.artifact_repository(model.artifact_location)
        return await artifact_file_response(
            repo, rel, preview=True, as_attachment=_flag(req.download, "download")
        )


# ------------------------------------------------------------------ helpers


def _all_finite(values: list[float | None]) -> bool:
    """No NaN or infinity among ``values`` (None allowed): one finite sum settles the common
    case without a call per value."""
    if math.isfinite(sum(v for v in values if v is not None)):
        return True
    return all(v is None or math.isfinite(v) for v in values)  # an overflowing sum, or not


def _wire_number(value: float | None) -> float | str | None:
    return None if value is None else wire_float(value)


def _check_downsample(req: Downsample, n_runs: int) -> None:
    if not n_runs:
        raise CairnError.invalid("Missing value for required parameter 'run_ids'.")
    if n_runs > MAX_DOWNSAMPLE_RUNS:
        raise CairnError.invalid(
            f"metrics/downsample takes at most {MAX_DOWNSAMPLE_RUNS} run_ids; got {n_runs}."
        )
    if not req.metric_key:
        raise CairnError.invalid("Missing value for required parameter 'metric_key'.")
    if req.x_axis not in X_AXES:
        raise CairnError.invalid(
            f"Invalid x_axis {req.x_axis!r}: expected one of {', '.join(X_AXES)}."
        )
    if not 1 <= req.buckets <= MAX_BUCKETS:
        raise CairnError.invalid(
            f"Invalid buckets {req.buckets}: it must be between 1 and {MAX_BUCKETS}."
        )
    for field, value in (("x_min", req.x_min), ("x_max", req.x_max)):
        if value is not None and not math.isfinite(value):
            raise CairnError.invalid(f"Invalid {field} {value!r}: it must be a finite number.")
    if req.x_min is not None and req.x_max is not None and req.x_min > req.x_max:
        raise CairnError.invalid(
            f"x_min ({req.x_min}) must not be greater than x_max ({req.x_max})."
        )


def _flag(value: str, name: str) -> bool:
    """A yes/no query parameter (1/true/yes, 0/false/no or empty)."""
    text = value.strip().lower()
    if text not in _TRUE + _FALSE:
        raise CairnError.invalid(f"Invalid value {value!r} for parameter {name!r}.")
    return text in _TRUE

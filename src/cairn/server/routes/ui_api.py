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
import mimetypes
import posixpath
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO
from urllib.parse import quote

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from cairn.errors import RESOURCE_DOES_NOT_EXIST, CairnError
from cairn.server import wire
from cairn.server.artifact_tables import MAX_TABLE_ROWS, read_table
from cairn.server.context import ServerContext
from cairn.server.http import json_response, wire_float
from cairn.server.routes.tracking import read_message
from cairn.store.artifacts import ArtifactRepository, LocalPaths, safe_relative_path
from cairn.tracking.downsample import downsample_minmax

PREFIXES = ("/api/2.0/cairn", "/ajax-api/2.0/cairn")
MAX_DOWNSAMPLE_RUNS = 1000
MAX_BUCKETS = 10_000
MAX_TABLE_COLUMNS = 1000
X_AXES = ("step", "wall", "relative")
Body = dict[str, Any]

# Types an artifact is served as when a browser may show it inline: the UI previews them.
_INLINE_TYPES = frozenset({
    "text/plain", "text/csv", "text/tab-separated-values", "text/markdown", "application/json",
    "application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp",
    "image/avif", "image/x-icon", "image/vnd.microsoft.icon",
})  # fmt: skip
# Documents that may hold script: served as themselves (for a sandboxed preview), but under
# ``Content-Security-Policy: sandbox``, which runs no script and gives them an opaque origin.
_SANDBOXED_TYPES = frozenset({
    "text/html", "application/xhtml+xml", "image/svg+xml", "application/xml", "text/xml",
})  # fmt: skip
# Text MLflow artifacts come as, which mimetypes does not know (MLmodel, conda.yaml, ...).
_TEXT_EXTENSIONS = frozenset({
    "txt", "log", "err", "out", "cfg", "conf", "ini", "toml", "yaml", "yml", "md", "rst", "py",
    "r", "sh", "mlmodel", "mlproject", "requirements", "jsonl", "ipynb",
})  # fmt: skip
_TRUE, _FALSE = ("1", "true", "yes"), ("", "0", "false", "no")
_BLOCK = 1024 * 1024


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
        """The file, streamed (sendfile for local stores), typed by its extension."""
        req = await read_message(request, GetArtifact)
        download = req.download.strip().lower()
        if download not in _TRUE + _FALSE:
            raise CairnError.invalid(f"Invalid value {req.download!r} for parameter 'download'.")
        repo, rel = await run_in_threadpool(self._run_artifacts, req, req.path)
        name = posixpath.basename(rel)
        media_type, sandbox = artifact_media_type(name)
        headers = {"X-Content-Type-Options": "nosniff"}
        if sandbox:
            headers["Content-Security-Policy"] = "sandbox"
        if download in _TRUE:
            headers["Content-Disposition"] = _attachment(name)
        if isinstance(repo, LocalPaths):
            path = await run_in_threadpool(_existing, repo, rel, repo.local_path)
            return FileResponse(path, media_type=media_type, headers=headers)
        stream = await run_in_threadpool(_existing, repo, rel, repo.open_artifact)
        return StreamingResponse(_blocks(stream), media_type=media_type, headers=headers)


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


def artifact_media_type(name: str) -> tuple[str, bool]:
    """``(content type, needs a sandbox)`` for serving artifact ``name`` to a browser.

    Only types that cannot run script in a page are served as they are; documents that can
    (HTML, SVG, XML) keep their type but get sandboxed; other text becomes text/plain, never a
    script or style type that this origin's CSP would let a page load (``nosniff`` holds the
    browser to it); anything else is a sandboxed octet stream.
    """
    stem, ext = posixpath.splitext(name.lower())
    guess = mimetypes.guess_type(name, strict=False)[0]
    if guess in _SANDBOXED_TYPES:
        return guess, True
    if guess in _INLINE_TYPES:
        return guess, False
    if (ext[1:] or stem) in _TEXT_EXTENSIONS or (guess or "").startswith("text/"):
        return "text/plain", False
    if guess is not None and guess.split("/")[0] in ("audio", "video"):
        return guess, False
    return "application/octet-stream", True


def _attachment(name: str) -> str:
    """A save-as file name; RFC 6266's encoded form for names plain ASCII cannot carry."""
    quoted = quote(name)
    if quoted == name:
        return f'attachment; filename="{name}"'
    return f"attachment; filename*=utf-8''{quoted}"


def _existing(repo: ArtifactRepository, rel: str, open_file: Callable[[str], Any]) -> Any:
    """``open_file(rel)``, or 400 for a directory and 404 for nothing there; the store's own
    message would name the server's artifact location."""
    try:
        return open_file(rel)
    except CairnError as exc:
        if exc.error_code != RESOURCE_DOES_NOT_EXIST:
            raise
        if repo.list_artifacts(rel):
            raise CairnError.invalid(f"Artifact path {rel!r} is a directory, not a file.") from None
        raise CairnError.not_found(f"No artifact {rel!r} in this run.") from None


def _blocks(stream: BinaryIO) -> Iterator[bytes]:
    """A stream in blocks (Starlette iterates a sync iterator in worker threads)."""
    with stream:
        while block := stream.read(_BLOCK):
            yield block

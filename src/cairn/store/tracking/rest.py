"""The tracking store behind ``http(s)://`` URIs: a cairn or MLflow server, over MLflow's REST API.

Every protocol method is one endpoint of ``/api/2.0/mlflow`` (log writes may be split into several
``log-batch`` requests to stay within MLflow's per-request limits). Entities travel as MLflow's
JSON, translated by :mod:`cairn.server.wire`, the same functions the server answers with. The
server does the validating; this store only checks what an MLflow server would silently accept
(run statuses, view types, values protobuf JSON reads as unset) so both kinds of server refuse
the same calls. Credentials, retries and error codes are :mod:`cairn.store.http`'s, shared with
the artifact proxy's client.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import httpx
import msgspec

from cairn import errors, validation
from cairn.entities import (
    DatasetInput,
    Experiment,
    LoggedModel,
    LoggedModelOutput,
    LoggedModelStatus,
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
from cairn.server import wire
from cairn.store.http import HttpSettings, HttpTransport
from cairn.store.tracking.columns import MetricColumns
from cairn.store.tracking.protocol import ExperimentKeys, ExperimentSummary, RunTable

# One request for any history up to a million points (a cairn server serves pages that size;
# MLflow servers accept it too), where MLflow's own client pages by 25,000 and each page
# costs the server a read of the whole history.
HISTORY_PAGE_SIZE = 1_000_000
USER_TAG = "mlflow.user"


# ---------------------------------------------------------------------------- log-batch limits


def split_batch(
    metrics: list[dict[str, Any]], params: list[dict[str, str]], tags: list[dict[str, str]]
) -> Iterator[dict[str, list[Any]]]:
    """``log-batch`` bodies within MLflow's per-request limits, params and tags first.

    Each request holds at most 100 params, 100 tags, 1,000 metrics and 1,000 items in all.
    Params lead so a refused param (they are immutable) stops the call before any metric of it
    is written; one call that fits the limits is one atomic request. Always yields at least one
    body, so an empty call still checks the run, as the SQL store does.
    """
    p = t = m = 0
    while True:
        ps = params[p : p + validation.MAX_PARAMS_TAGS_PER_BATCH]
        ts = tags[t : t + validation.MAX_PARAMS_TAGS_PER_BATCH]
        room = min(
            validation.MAX_METRICS_PER_BATCH,
            validation.MAX_ENTITIES_PER_BATCH - len(ps) - len(ts),
        )
        ms = metrics[m : m + room]
        p, t, m = p + len(ps), t + len(ts), m + len(ms)
        body: dict[str, list[Any]] = {}
        for field, items in (("params", ps), ("tags", ts), ("metrics", ms)):
            if items:
                body[field] = items
        yield body
        if p >= len(params) and t >= len(tags) and m >= len(metrics):
            return


def _columns_to_json(metrics: Mapping[str, MetricColumns]) -> list[dict[str, Any]]:
    """The batching logger's columns as Metric messages, built column-wise by the wire module.

    The columns are copied, not viewed: a numpy view would stop the logger's arrays growing.
    """
    import numpy as np

    out: list[dict[str, Any]] = []
    for key, cols in metrics.items():
        if len(cols):
            history = MetricHistory(
                key=key,
                steps=np.array(cols.steps, dtype=np.int64),
                timestamps=np.array(cols.timestamps, dtype=np.int64),
                values=np.array(cols.values, dtype=np.float64),
            )
            out.extend(wire.metric_history_to_json(history))
    return out


def _metric_to_json(metric: Metric) -> dict[str, Any]:
    """An entity metric as JSON; numbers are checked first since JSON cannot carry the rest."""
    key = metric.key
    return wire.metric_to_json(
        Metric(
            key,
            validation.validate_metric_value(key, metric.value),
            validation.validate_timestamp(metric.timestamp),
            validation.validate_step(metric.step),
            metric.model_id,
            metric.dataset_name,
            metric.dataset_digest,
        )
    )


# Response envelopes around wire's own messages, decoded in one typed pass.


class _MetricHistoryPage(wire.Message):
    metrics: list[wire.MetricMessage] = []
    next_page_token: str = ""


class _RunOutputs(wire.Message):
    model_outputs: list[wire.ModelIdMessage] = []


class _RunWithOutputs(wire.Message):
    outputs: _RunOutputs = msgspec.field(default_factory=_RunOutputs)


class _GetRunOutputs(wire.Message):
    run: _RunWithOutputs


# ---------------------------------------------------------------------------- the store


class RestTrackingStore:
    """A :class:`~cairn.store.tracking.protocol.TrackingStore` on a tracking server's REST API.

    ``artifact_root`` is accepted for the common store signature and ignored: the server decides
    where new experiments keep their artifacts.
    """

    def __init__(
        self,
        base_url: str,
        artifact_root: str | None = None,
        *,
        settings: HttpSettings | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.uri = base_url
        self.artifact_root = artifact_root
        extra = {} if transport is None else {"transport": transport}
        self._http = HttpTransport(base_url, settings, **extra)

    def close(self) -> None:
        self._http.close()

    def _get(self, endpoint: str, **params: Any) -> Any:
        return self._http.call("GET", endpoint, params=params, idempotent=True)

    def _post(self, endpoint: str, body: Mapping[str, Any], *, idempotent: bool = False) -> Any:
        return self._http.call("POST", endpoint, body, idempotent=idempotent)

    # ------------------------------------------------------------------ experiments

    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: dict[str, str] | None = None
    ) -> str:
        body: dict[str, Any] = {"name": name}
        if artifact_location:
            body["artifact_location"] = artifact_location
        if tags:
            body["tags"] = wire.key_values_to_json(tags)
        return str(self._post("experiments/create", body)["experiment_id"])

    def get_experiment(self, experiment_id: str) -> Experiment:
        data = self._get("experiments/get", experiment_id=experiment_id)
        return wire.experiment_from_json(data["experiment"])

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        try:
            data = self._get("experiments/get-by-name", experiment_name=name)
        except CairnError as exc:
            if exc.error_code == errors.RESOURCE_DOES_NOT_EXIST:
                return None
            raise
        return wire.experiment_from_json(data["experiment"])

    def search_experiments(
        self,
        view_type: str = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        filter_string: str | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        body = _search_body(max_results, filter_string, order_by, page_token)
        body["view_type"] = ViewType.validate(view_type)
        data = self._post("experiments/search", body, idempotent=True)
        experiments = [wire.experiment_from_json(e) for e in data.get("experiments", ())]
        return PagedList(experiments, data.get("next_page_token") or None)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self._post(
            "experiments/update",
            {"experiment_id": experiment_id, "new_name": new_name},
            idempotent=True,
        )

    def delete_experiment(self, experiment_id: str) -> None:
        self._post("experiments/delete", {"experiment_id": experiment_id})

    def restore_experiment(self, experiment_id: str) -> None:
        self._post("experiments/restore", {"experiment_id": experiment_id})

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        # Strings, as the SQL store makes them: MLflow servers refuse other JSON types.
        text = value if value is None else validation.stringify_value(value)
        body = {"experiment_id": experiment_id, "key": key, "value": text}
        self._post("experiments/set-experiment-tag", body, idempotent=True)

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        body = {"experiment_id": experiment_id, "key": key}
        self._post("experiments/delete-experiment-tag", body)

    # ------------------------------------------------------------------ runs

    def create_run(
        self,
        experiment_id: str,
        user_id: str = "",
        start_time: int | None = None,
        tags: dict[str, str] | None = None,
        run_name: str | None = None,
    ) -> Run:
        tags = dict(tags or {})
        if user_id:
            tags.setdefault(USER_TAG, user_id)  # cairn servers add it; MLflow servers do not
        body: dict[str, Any] = {
            "experiment_id": experiment_id,
            "user_id": user_id or "",
            # MLflow servers record 0 for a missing start time; send the time, as its client does.
            "start_time": time.time_ns() // 1_000_000 if start_time is None else start_time,
            "tags": wire.key_values_to_json(tags),
        }
        if run_name is not None:
            body["run_name"] = run_name
        return wire.run_from_json(self._post("runs/create", body)["run"])

    def get_run(self, run_id: str) -> Run:
        return wire.run_from_json(self._get("runs/get", run_id=run_id, run_uuid=run_id)["run"])

    def update_run_info(
        self,
        run_id: str,
        status: str | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo:
        body: dict[str, Any] = {"run_id": run_id, "run_uuid": run_id}
        if status is not None:
            body["status"] = RunStatus.validate(status)  # MLflow servers ignore unknown names
        if end_time is not None:
            body["end_time"] = end_time
        if run_name:
            body["run_name"] = run_name
        data = self._post("runs/update", body, idempotent=True)
        return wire.run_info_from_json(data["run_info"])

    def delete_run(self, run_id: str) -> None:
        self._post("runs/delete", {"run_id": run_id})

    def restore_run(self, run_id: str) -> None:
        self._post("runs/restore", {"run_id": run_id})

    def search_runs(
        self,
        experiment_ids: list[str],
        filter_string: str | None = None,
        run_view_type: str = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        if isinstance(experiment_ids, str):
            experiment_ids = [experiment_ids]
        body = _search_body(max_results, filter_string, order_by, page_token)
        body["experiment_ids"] = [str(e) for e in experiment_ids]
        body["run_view_type"] = ViewType.validate(run_view_type)
        data = self._post("runs/search", body, idempotent=True)
        runs = [wire.run_from_json(r) for r in data.get("runs", ())]
        return PagedList(runs, data.get("next_page_token") or None)

    # ------------------------------------------------------------------ bulk reads (web UI)

    def _cairn(self, method: str, endpoint: str, **kw: Any) -> Any:
        """A call to cairn's own ``/api/2.0/cairn/`` endpoints, which MLflow servers lack."""
        return self._http.call_cairn(method, endpoint, **kw)

    def get_experiment_summaries(
        self, experiment_ids: Sequence[str] | None = None
    ) -> list[ExperimentSummary]:
        if isinstance(experiment_ids, str):
            experiment_ids = [experiment_ids]
        if experiment_ids is not None and not experiment_ids:
            return []
        params = {} if experiment_ids is None else {"experiment_ids": list(experiment_ids)}
        data = self._cairn("GET", "experiments/summary", params=params)
        return msgspec.convert(data.get("experiments", []), list[ExperimentSummary])

    def get_experiment_keys(self, experiment_ids: Sequence[str]) -> ExperimentKeys:
        if isinstance(experiment_ids, str):
            experiment_ids = [experiment_ids]
        if not experiment_ids:
            return ExperimentKeys([], [], [])
        data = self._cairn("GET", "experiments/keys", params={"experiment_ids": experiment_ids})
        return msgspec.convert(data, ExperimentKeys)

    def search_runs_table(
        self,
        experiment_ids: list[str],
        columns: Sequence[str] = (),
        filter_string: str | None = None,
        run_view_type: str = ViewType.ACTIVE_ONLY,
        max_results: int = 10000,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> RunTable:
        if isinstance(experiment_ids, str):
            experiment_ids = [experiment_ids]
        body = _search_body(max_results, filter_string, order_by, page_token)
        body["experiment_ids"] = [str(e) for e in experiment_ids]
        body["run_view_type"] = ViewType.validate(run_view_type)
        body["columns"] = [columns] if isinstance(columns, str) else list(columns)
        data = self._cairn("POST", "runs/table", body=body)
        for name, values in data.get("columns", {}).items():
            if name.startswith("metrics."):  # non-finite values travel as strings
                data["columns"][name] = [float(v) if isinstance(v, str) else v for v in values]
        return msgspec.convert(data, RunTable)

    # ------------------------------------------------------------------ what runs log

    def log_batch(
        self,
        run_id: str,
        metrics: list[Metric] | None = None,
        params: list[Param] | None = None,
        tags: list[RunTag] | None = None,
    ) -> None:
        self._log_batch(
            run_id,
            [_metric_to_json(m) for m in metrics or ()],
            [{"key": p.key, "value": p.value} for p in params or ()],
            [{"key": t.key, "value": t.value} for t in tags or ()],
        )

    def log_columns(
        self,
        run_id: str,
        metrics: dict[str, MetricColumns] | None = None,
        params: dict[str, str] | None = None,
        tags: dict[str, str] | None = None,
    ) -> None:
        """The batching logger's write: as few ``log-batch`` requests as the limits allow."""
        self._log_batch(
            run_id,
            _columns_to_json(metrics or {}),
            wire.key_values_to_json(params or {}),
            wire.key_values_to_json(tags or {}),
        )

    def _log_batch(
        self,
        run_id: str,
        metrics: list[dict[str, Any]],
        params: list[dict[str, str]],
        tags: list[dict[str, str]],
    ) -> None:
        for body in split_batch(metrics, params, tags):
            self._post("runs/log-batch", {"run_id": run_id, **body})

    def delete_tag(self, run_id: str, key: str) -> None:
        self._post("runs/delete-tag", {"run_id": run_id, "key": key})

    def log_inputs(self, run_id: str, datasets: list[DatasetInput]) -> None:
        body = {"run_id": run_id, "datasets": [wire.dataset_input_to_json(d) for d in datasets]}
        self._post("runs/log-inputs", body, idempotent=True)

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        return self.get_metric_history_columns(run_id, key).to_metrics()

    def get_metric_history_columns(self, run_id: str, key: str) -> MetricHistory:
        """Every page of ``metrics/get-history``, decoded typed and gathered into numpy columns."""
        import numpy as np

        steps: list[int] = []
        stamps: list[int] = []
        values: list[float] = []
        params: dict[str, Any] = {
            "run_id": run_id,
            "run_uuid": run_id,
            "metric_key": key,
            "max_results": HISTORY_PAGE_SIZE,
        }
        while True:
            page = self._http.call(
                "GET",
                "metrics/get-history",
                params=params,
                idempotent=True,
                into=_MetricHistoryPage,
            )
            points = page.metrics
            steps.extend([p.step for p in points])
            stamps.extend([p.timestamp for p in points])
            values.extend([p.value for p in points])
            if not page.next_page_token or not points:
                break
            params["page_token"] = page.next_page_token
        return MetricHistory(
            key=key,
            steps=np.array(steps, dtype=np.int64),
            timestamps=np.array(stamps, dtype=np.int64),
            values=np.array(values, dtype=np.float64),
        )

    # ------------------------------------------------------------------ housekeeping

    def purge_deleted_runs(
        self, older_than_ms: int, run_ids: list[str] | None = None, dry_run: bool = False
    ) -> list[Run]:
        raise _no_purge("runs")

    def purge_deleted_experiments(
        self, older_than_ms: int, dry_run: bool = False
    ) -> list[Experiment]:
        raise _no_purge("experiments")

    # ------------------------------------------------------------------ logged models (MLflow 3)

    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        model_type: str | None = None,
    ) -> LoggedModel:
        if name == "":  # protobuf JSON would read it as unset and pick a name
            raise CairnError.invalid("Invalid logged model name '': it must not be empty.")
        body: dict[str, Any] = {"experiment_id": experiment_id}
        for field, value in (
            ("name", name),
            ("source_run_id", source_run_id),
            ("model_type", model_type),
        ):
            if value is not None:
                body[field] = value
        # Strings, as the SQL store makes them: servers refuse other JSON types.
        if tags:
            body["tags"] = _key_values(tags, validation.validate_tag)
        if params:
            body["params"] = _key_values(params, validation.validate_param)
        return wire.logged_model_from_json(self._post("logged-models", body)["model"])

    def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> LoggedModel:
        params = {"allow_deleted": "true"} if allow_deleted else {}
        data = self._get(_model_path(model_id), **params)
        return wire.logged_model_from_json(data["model"])

    def finalize_logged_model(self, model_id: str, status: str | int) -> LoggedModel:
        # By its wire name: MLflow servers know LOGGED_MODEL_READY, not READY.
        wire_status = LoggedModelStatus.to_wire(LoggedModelStatus.validate(status))
        body = {"model_id": model_id, "status": wire_status}
        data = self._http.call("PATCH", _model_path(model_id), body, idempotent=True)
        return wire.logged_model_from_json(data["model"])

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        order_by: Sequence[Mapping[str, Any]] | None = None,
        max_results: int = 100,
        page_token: str | None = None,
        datasets: Sequence[Mapping[str, Any]] | None = None,
    ) -> PagedList[LoggedModel]:
        if isinstance(experiment_ids, str):
            experiment_ids = [experiment_ids]
        if max_results == 0:  # protobuf JSON would read it as unset, the default
            raise CairnError.invalid("Invalid max_results 0: it must be a positive integer.")
        body = _search_body(max_results, filter_string, None, page_token)
        body["experiment_ids"] = [str(e) for e in experiment_ids]
        if order_by:
            body["order_by"] = list(order_by)
        if datasets:
            body["datasets"] = list(datasets)
        data = self._post("logged-models/search", body, idempotent=True)
        return wire.logged_models_page_from_json(data)

    def log_logged_model_params(self, model_id: str, params: Mapping[str, str]) -> None:
        body = {"model_id": model_id, "params": wire.key_values_to_json(params)}
        self._post(f"{_model_path(model_id)}/params", body, idempotent=True)

    def set_logged_model_tags(self, model_id: str, tags: Mapping[str, str]) -> None:
        body = {"model_id": model_id, "tags": wire.key_values_to_json(tags)}
        self._http.call("PATCH", f"{_model_path(model_id)}/tags", body, idempotent=True)

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        path = f"{_model_path(model_id)}/tags/{_segment(key)}"
        self._http.call("DELETE", path, idempotent=False)

    def delete_logged_model(self, model_id: str) -> None:
        self._http.call("DELETE", _model_path(model_id), idempotent=False)

    def log_outputs(self, run_id: str, models: Sequence[LoggedModelOutput]) -> None:
        body = {
            "run_id": run_id,
            # Checked here: protobuf JSON would read a step "1" as 1, which the SQL store refuses.
            "models": [
                {"model_id": m.model_id, "step": validation.validate_step(m.step)} for m in models
            ],
        }
        self._post("runs/outputs", body, idempotent=True)

    def get_run_outputs(self, run_ids: Sequence[str]) -> dict[str, list[LoggedModelOutput]]:
        """The models each run produced, from ``runs/get`` (MLflow has no bulk endpoint);
        runs without any, or unknown, are left out as the SQL store leaves them out."""
        out: dict[str, list[LoggedModelOutput]] = {}
        for run_id in dict.fromkeys(run_ids):
            params = {"run_id": run_id, "run_uuid": run_id}
            try:
                page = self._http.call(
                    "GET", "runs/get", params=params, idempotent=True, into=_GetRunOutputs
                )
            except CairnError as exc:
                if exc.error_code == errors.RESOURCE_DOES_NOT_EXIST:
                    continue
                raise
            outputs = page.run.outputs.model_outputs
            if outputs:
                out[run_id] = [LoggedModelOutput(o.model_id, o.step) for o in outputs]
        return out


def _search_body(
    max_results: int, filter_string: str | None, order_by: list[str] | None, page_token: str | None
) -> dict[str, Any]:
    body: dict[str, Any] = {"max_results": max_results}
    if filter_string:
        body["filter"] = filter_string
    if order_by:
        body["order_by"] = list(order_by)
    if page_token:
        body["page_token"] = page_token
    return body


def _segment(text: str) -> str:
    """One URL path segment: ``/`` and everything else unsafe percent-encoded."""
    return quote(text, safe="")


def _model_path(model_id: str) -> str:
    """``logged-models/<id>``; an empty id would name another endpoint, so it is refused here."""
    if not model_id:
        raise CairnError.not_found(f"Logged model with ID '{model_id}' not found.")
    return f"logged-models/{_segment(model_id)}"


def _key_values(
    items: Mapping[str, Any], validate: Callable[[object, object], tuple[str, str]]
) -> list[dict[str, str]]:
    return wire.key_values_to_json(dict(validate(k, v) for k, v in items.items()))


def _no_purge(what: str) -> CairnError:
    return CairnError(
        f"Deleted {what} cannot be purged through a tracking server: run `cairn gc` on the "
        "server machine, against its backend store.",
        errors.NOT_IMPLEMENTED,
    )

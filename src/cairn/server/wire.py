"""MLflow's REST JSON, both directions: entities to protobuf-style JSON and JSON back to entities.

The server builds its responses with the ``*_to_json`` functions and the REST client store reads
them with the ``*_from_json`` functions, so the shape of each message is written down once.

Requests are parsed into the message structs below (named after MLflow's protobuf messages) by
:func:`parse_message` / :func:`decode_message`: msgspec checks every JSON type in C, with
protobuf JSON's leniency (int64 as digit strings, doubles as ``"NaN"``/``"Infinity"``), and a
wrong type anywhere becomes INVALID_PARAMETER_VALUE, never a server error. Output follows
protobuf JSON too: unset fields and empty lists are left out, NaN/±inf travel as strings.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any, TypeVar

import msgspec

from cairn.entities import (
    Dataset,
    DatasetInput,
    Experiment,
    InputTag,
    LifecycleStage,
    LoggedModel,
    LoggedModelMetric,
    LoggedModelOutput,
    LoggedModelStatus,
    Metric,
    MetricHistory,
    PagedList,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunStatus,
)
from cairn.errors import CairnError
from cairn.server.http import wire_float
from cairn.store.artifacts import FileInfo

M = TypeVar("M", bound=msgspec.Struct)

Int64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
# Protobuf enums travel as their names or their numbers.
_RUN_STATUS_NUMBERS = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}


# ------------------------------------------------------------------ messages


class Message(msgspec.Struct, omit_defaults=True):
    """Base of the wire messages: unknown fields are ignored, as protobuf JSON parsers do.

    Subclasses with required fields after inherited optional ones need ``kw_only=True``.
    """


class KeyValue(Message):
    """Params, run tags, experiment tags and input tags: ``{"key", "value"}``."""

    key: str
    value: str = ""


class MetricMessage(Message):
    key: str
    value: float
    timestamp: Int64
    step: Int64 = 0
    model_id: str = ""
    dataset_name: str = ""
    dataset_digest: str = ""


class DatasetMessage(Message):
    name: str
    digest: str
    source_type: str = ""
    source: str = ""
    schema: str | None = None
    profile: str | None = None


class DatasetInputMessage(Message):
    dataset: DatasetMessage
    tags: list[KeyValue] = []


class ModelIdMessage(Message):
    model_id: str
    step: Int64 = 0


class ExperimentMessage(Message):
    experiment_id: str
    name: str
    artifact_location: str = ""
    lifecycle_stage: str = LifecycleStage.ACTIVE
    last_update_time: Int64 | None = None
    creation_time: Int64 | None = None
    tags: list[KeyValue] = []


class RunInfoMessage(Message):
    experiment_id: str
    run_id: str = ""
    run_uuid: str = ""
    run_name: str = ""
    user_id: str = ""
    status: str | int = RunStatus.RUNNING
    start_time: Int64 | None = None
    end_time: Int64 | None = None
    artifact_uri: str = ""
    lifecycle_stage: str = LifecycleStage.ACTIVE


class RunDataMessage(Message):
    metrics: list[MetricMessage] = []
    params: list[KeyValue] = []
    tags: list[KeyValue] = []


class RunInputsMessage(Message):
    dataset_inputs: list[DatasetInputMessage] = []


class RunMessage(Message):
    info: RunInfoMessage
    data: RunDataMessage = msgspec.field(default_factory=RunDataMessage)
    inputs: RunInputsMessage = msgspec.field(default_factory=RunInputsMessage)


class LoggedModelMetricMessage(MetricMessage):
    """MLflow's Metric as a logged model carries it: with its run, dataset and model."""

    run_id: str = ""
    dataset_name: str | None = None
    dataset_digest: str | None = None
    model_id: str = ""


class LoggedModelInfoMessage(Message):
    model_id: str
    experiment_id: str
    name: str = ""
    creation_timestamp_ms: Int64 = 0
    last_updated_timestamp_ms: Int64 = 0
    artifact_uri: str = ""
    status: str | int = "LOGGED_MODEL_STATUS_UNSPECIFIED"
    status_message: str = ""
    model_type: str = ""
    source_run_id: str = ""
    tags: list[KeyValue] = []


class LoggedModelDataMessage(Message):
    params: list[KeyValue] = []
    metrics: list[LoggedModelMetricMessage] = []


class LoggedModelMessage(Message):
    info: LoggedModelInfoMessage
    data: LoggedModelDataMessage = msgspec.field(default_factory=LoggedModelDataMessage)


class SearchLoggedModelsResponse(Message):
    models: list[LoggedModelMessage] = []
    next_page_token: str = ""


class RunRef(Message):
    """Requests about one run: MLflow clients send both ``run_id`` and the older ``run_uuid``."""

    run_id: str = ""
    run_uuid: str = ""

    @property
    def id(self) -> str:
        run_id = self.run_id or self.run_uuid
        if not run_id:
            raise CairnError.invalid("Missing value for required parameter 'run_id'.")
        return run_id


# Request bodies of the tracking endpoints (fields as in MLflow's service.proto).


class CreateExperiment(Message):
    name: str
    artifact_location: str = ""
    tags: list[KeyValue] = []


class ExperimentRef(Message):
    """GetExperiment, DeleteExperiment, RestoreExperiment."""

    experiment_id: str


class GetExperimentByName(Message):
    experiment_name: str


class SearchExperiments(Message):
    max_results: Int64 | None = None
    page_token: str = ""
    filter: str = ""
    order_by: list[str] = []
    view_type: str | int = "ACTIVE_ONLY"


class UpdateExperiment(Message):
    experiment_id: str
    new_name: str


class SetExperimentTag(Message):
    experiment_id: str
    key: str
    value: str = ""


class DeleteExperimentTag(Message):
    experiment_id: str
    key: str


class CreateRun(Message):
    experiment_id: str
    user_id: str = ""
    run_name: str = ""
    start_time: Int64 | None = None
    tags: list[KeyValue] = []


class UpdateRun(RunRef):
    status: str | int | None = None
    end_time: Int64 | None = None
    run_name: str = ""


class SearchRuns(Message):
    experiment_ids: list[str] = []
    filter: str = ""
    run_view_type: str | int = "ACTIVE_ONLY"
    max_results: Int64 = 1000
    order_by: list[str] = []
    page_token: str = ""


class LogMetric(RunRef, kw_only=True):
    key: str
    value: float
    timestamp: Int64
    step: Int64 = 0
    model_id: str = ""
    dataset_name: str = ""
    dataset_digest: str = ""


class SetKeyValue(RunRef, kw_only=True):
    """LogParam and SetTag."""

    key: str
    value: str = ""


class DeleteTag(RunRef, kw_only=True):
    key: str


class LogBatch(RunRef):
    metrics: list[MetricMessage] = []
    params: list[KeyValue] = []
    tags: list[KeyValue] = []


class LogInputs(RunRef):
    datasets: list[DatasetInputMessage] = []
    models: list[ModelIdMessage] = []


class LogModel(RunRef, kw_only=True):
    model_json: str


class LogOutputs(RunRef, kw_only=True):
    models: list[ModelIdMessage]


class GetMetricHistory(RunRef, kw_only=True):
    metric_key: str
    page_token: str = ""
    max_results: Int64 | None = None


class GetMetricHistoryBulkInterval(Message):
    run_ids: list[str]
    metric_key: str
    start_step: Int64 | None = None
    end_step: Int64 | None = None
    max_results: Int64 | None = None


class ListArtifacts(RunRef):
    path: str = ""
    page_token: str = ""


# ------------------------------------------------------------------ parsing


_MISSING_FIELD = re.compile(r"Object missing required field `([^`]+)`(?: - at `\$\.?(.*)`)?")


def _invalid(exc: msgspec.ValidationError) -> CairnError:
    """msgspec's message, reworded as MLflow's when a required field is missing."""
    text = str(exc)
    missing = _MISSING_FIELD.fullmatch(text)
    if missing:
        field, parent = missing.groups()
        name = f"{parent}.{field}" if parent else field
        return CairnError.invalid(f"Missing value for required parameter '{name}'.")
    return CairnError.invalid(f"Invalid request parameter: {text}.")


def parse_message(data: Any, message_type: type[M]) -> M:
    """Already-decoded JSON (a dict) as ``message_type``, with protobuf JSON's leniency: among
    other things, ``null`` means "not set" for any field, as proto3's JSON mapping defines."""
    if isinstance(data, dict):
        data = _without_nulls(data)
    try:
        return msgspec.convert(data, message_type, strict=False)
    except msgspec.ValidationError as exc:
        raise _invalid(exc) from None


def _without_nulls(value: Any) -> Any:
    """Object members that are ``null`` dropped, at any depth; a ``null`` list element stays
    (and is refused as the wrong type: proto3 has no null elements)."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) if isinstance(v, dict) else v for v in value]
    return value


@functools.cache
def _decoder(message_type: type[M]) -> msgspec.json.Decoder[M]:
    return msgspec.json.Decoder(message_type, strict=False)


def decode_message(body: bytes, message_type: type[M]) -> M:
    """JSON bytes straight to ``message_type`` in one pass (the fast path for big requests).

    Raises msgspec's errors unchanged, so a caller can tell malformed JSON from a wrong type.
    """
    return _decoder(message_type).decode(body)


@functools.cache
def list_fields(message_type: type[msgspec.Struct]) -> frozenset[str]:
    """Fields holding lists: a query string carries one element as a plain string."""
    return frozenset(
        f.encode_name
        for f in msgspec.structs.fields(message_type)
        if getattr(f.type, "__origin__", None) is list
    )


def run_status_from_wire(status: str | int) -> str:
    """A RunStatus given by name or by its protobuf enum number."""
    if type(status) is int:
        status = _RUN_STATUS_NUMBERS.get(status, str(status))
    return RunStatus.validate(status)


# ------------------------------------------------------------------ bodies


def given(**fields: Any) -> dict[str, Any]:
    """Only the fields that are set: a request that leaves the rest to the other side's
    defaults (a store's arguments, a server's parameters)."""
    return {k: v for k, v in fields.items() if v is not None}


def page_to_json(field: str, items: Sequence[Any], token: str | None) -> dict[str, Any]:
    """A list answer as protobuf JSON (and MLflow's server) writes it: an empty list and a
    missing token are left out."""
    body: dict[str, Any] = {}
    if items:
        body[field] = list(items)
    if token:
        body["next_page_token"] = token
    return body


# ------------------------------------------------------------------ key/value lists


def key_values_to_json(items: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in items.items()]


def key_values_from_json(items: Iterable[KeyValue | Mapping[str, Any]]) -> dict[str, str]:
    """``[{"key", "value"}, ...]`` as a dict (later entries win, as the stores do for tags)."""
    pairs = (i if isinstance(i, KeyValue) else parse_message(i, KeyValue) for i in items)
    return {p.key: p.value for p in pairs}


# ------------------------------------------------------------------ experiments


def experiment_to_json(experiment: Experiment) -> dict[str, Any]:
    out: dict[str, Any] = {
        "experiment_id": experiment.experiment_id,
        "name": experiment.name,
        "artifact_location": experiment.artifact_location,
        "lifecycle_stage": experiment.lifecycle_stage,
    }
    if experiment.last_update_time is not None:
        out["last_update_time"] = experiment.last_update_time
    if experiment.creation_time is not None:
        out["creation_time"] = experiment.creation_time
    if experiment.tags:
        out["tags"] = key_values_to_json(experiment.tags)
    return out


def experiment_from_json(data: Mapping[str, Any]) -> Experiment:
    msg = parse_message(data, ExperimentMessage)
    return Experiment(
        experiment_id=msg.experiment_id,
        name=msg.name,
        artifact_location=msg.artifact_location,
        lifecycle_stage=msg.lifecycle_stage,
        tags=key_values_from_json(msg.tags),
        creation_time=msg.creation_time,
        last_update_time=msg.last_update_time,
    )


# ------------------------------------------------------------------ metrics


def metric_to_json(metric: Metric, run_id: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "key": metric.key,
        "value": wire_float(metric.value),
        "timestamp": metric.timestamp,
        "step": metric.step,
    }
    if run_id is not None:
        out["run_id"] = run_id
    for field in ("model_id", "dataset_name", "dataset_digest"):
        if getattr(metric, field, None):
            out[field] = getattr(metric, field)
    return out


def metric_from_message(msg: MetricMessage | LogMetric) -> Metric:
    return Metric(
        msg.key,
        msg.value,
        msg.timestamp,
        msg.step,
        msg.model_id or None,
        msg.dataset_name or None,
        msg.dataset_digest or None,
    )


def metric_from_json(data: Mapping[str, Any]) -> Metric:
    return metric_from_message(parse_message(data, MetricMessage))


class KeyValuePair(msgspec.Struct, gc=False):
    """A KeyValue as the encoder writes it (every field, empty values too)."""

    key: str
    value: str


class MetricPoint(msgspec.Struct, gc=False):
    """A Metric message as the encoder writes it: the same JSON object as a dict, but a long
    history builds and encodes about twice as fast this way."""

    key: str
    value: float | str  # non-finite values as their protobuf JSON strings
    timestamp: int
    step: int


class RunMetricPoint(MetricPoint, gc=False):
    """MLflow's ``MetricWithRunId``."""

    run_id: str


def metric_history_to_json(
    history: MetricHistory, start: int = 0, stop: int | None = None, run_id: str | None = None
) -> list[MetricPoint]:
    """Points ``start:stop`` of a history as Metric messages, built column-wise (no entities)."""
    key = history.key
    values = history.values[start:stop]
    steps = history.steps[start:stop].tolist()
    stamps = history.timestamps[start:stop].tolist()
    value_list: list[Any] = values.tolist()
    if len(values) and not _all_finite(values):
        value_list = [wire_float(v) for v in value_list]
    if run_id is None:
        return [
            MetricPoint(key, v, t, s) for v, t, s in zip(value_list, stamps, steps, strict=True)
        ]
    return [
        RunMetricPoint(key, v, t, s, run_id)
        for v, t, s in zip(value_list, stamps, steps, strict=True)
    ]


def _all_finite(values: Any) -> bool:
    import numpy as np

    return bool(np.isfinite(values).all())


# ------------------------------------------------------------------ datasets


def dataset_input_to_json(dataset_input: DatasetInput) -> dict[str, Any]:
    ds = dataset_input.dataset
    dataset: dict[str, Any] = {
        "name": ds.name,
        "digest": ds.digest,
        "source_type": ds.source_type,
        "source": ds.source,
    }
    if ds.schema is not None:
        dataset["schema"] = ds.schema
    if ds.profile is not None:
        dataset["profile"] = ds.profile
    out: dict[str, Any] = {}
    if dataset_input.tags:
        out["tags"] = [{"key": t.key, "value": t.value} for t in dataset_input.tags]
    out["dataset"] = dataset
    return out


def dataset_input_from_message(msg: DatasetInputMessage) -> DatasetInput:
    ds = msg.dataset
    return DatasetInput(
        Dataset(ds.name, ds.digest, ds.source_type, ds.source, ds.schema, ds.profile),
        [InputTag(t.key, t.value) for t in msg.tags],
    )


def dataset_input_from_json(data: Mapping[str, Any]) -> DatasetInput:
    return dataset_input_from_message(parse_message(data, DatasetInputMessage))


# ------------------------------------------------------------------ runs


def run_info_to_json(info: RunInfo) -> dict[str, Any]:
    out: dict[str, Any] = {
        "run_id": info.run_id,
        "run_uuid": info.run_id,
        "run_name": info.run_name,
        "experiment_id": info.experiment_id,
        "user_id": info.user_id,
        "status": info.status,
    }
    if info.start_time is not None:
        out["start_time"] = info.start_time
    if info.end_time is not None:
        out["end_time"] = info.end_time
    out["artifact_uri"] = info.artifact_uri
    out["lifecycle_stage"] = info.lifecycle_stage
    return out


def run_info_from_message(msg: RunInfoMessage) -> RunInfo:
    return RunInfo(
        run_id=msg.run_id or msg.run_uuid,
        experiment_id=msg.experiment_id,
        run_name=msg.run_name,
        user_id=msg.user_id,
        status=run_status_from_wire(msg.status),
        start_time=msg.start_time,
        end_time=msg.end_time,
        artifact_uri=msg.artifact_uri,
        lifecycle_stage=msg.lifecycle_stage,
    )


def run_info_from_json(data: Mapping[str, Any]) -> RunInfo:
    return run_info_from_message(parse_message(data, RunInfoMessage))


def run_to_json(run: Run, outputs: Sequence[LoggedModelOutput] | None = None) -> dict[str, Any]:
    """A Run message, with each latest metric's step and timestamp where the store knows them.

    ``outputs`` adds the ``outputs`` message MLflow 3 returns from runs/get and runs/search.
    """
    data: dict[str, Any] = {}
    latest = run.data.latest
    if run.data.metrics:
        no_point = (0.0, 0, 0)  # (value, step, timestamp) unknown: MLflow's zeros
        data["metrics"] = [
            MetricPoint(k, wire_float(v), (p := latest.get(k, no_point))[2], p[1])
            for k, v in run.data.metrics.items()
        ]
    # Structs, not dicts: a page of 1,000 runs builds and encodes ~2x faster.
    if run.data.params:
        data["params"] = list(map(KeyValuePair, run.data.params, run.data.params.values()))
    if run.data.tags:
        data["tags"] = list(map(KeyValuePair, run.data.tags, run.data.tags.values()))
    inputs: dict[str, Any] = {}
    if run.inputs.dataset_inputs:
        inputs["dataset_inputs"] = [dataset_input_to_json(d) for d in run.inputs.dataset_inputs]
    out = {"info": run_info_to_json(run.info), "data": data, "inputs": inputs}
    if outputs is not None:
        out["outputs"] = (
            {"model_outputs": [{"model_id": o.model_id, "step": o.step} for o in outputs]}
            if outputs
            else {}
        )
    return out


def run_from_json(data: Mapping[str, Any]) -> Run:
    msg = parse_message(data, RunMessage)
    return Run(
        info=run_info_from_message(msg.info),
        data=RunData(
            metrics={m.key: m.value for m in msg.data.metrics},
            params=key_values_from_json(msg.data.params),
            tags=key_values_from_json(msg.data.tags),
            latest={m.key: (m.value, m.step, m.timestamp) for m in msg.data.metrics},
        ),
        inputs=RunInputs([dataset_input_from_message(d) for d in msg.inputs.dataset_inputs]),
    )


# ------------------------------------------------------------------ logged models (MLflow 3)


def logged_model_to_json(model: LoggedModel) -> dict[str, Any]:
    """A model as MLflow's ``LoggedModel`` message (``model_type``/``source_run_id`` always)."""
    info: dict[str, Any] = {
        "model_id": model.model_id,
        "experiment_id": model.experiment_id,
        "name": model.name,
        "creation_timestamp_ms": model.creation_timestamp,
        "last_updated_timestamp_ms": model.last_updated_timestamp,
        "artifact_uri": model.artifact_location,
        "status": LoggedModelStatus.to_wire(model.status),
        "model_type": model.model_type or "",
        "source_run_id": model.source_run_id or "",
    }
    if model.status_message:
        info["status_message"] = model.status_message
    if model.tags:
        info["tags"] = key_values_to_json(dict(sorted(model.tags.items())))
    data: dict[str, Any] = {}
    if model.params:
        data["params"] = key_values_to_json(dict(sorted(model.params.items())))
    if model.metrics:
        data["metrics"] = [_logged_model_metric_to_json(model.model_id, m) for m in model.metrics]
    return {"info": info, "data": data}


def _logged_model_metric_to_json(model_id: str, metric: LoggedModelMetric) -> dict[str, Any]:
    point = Metric(metric.key, metric.value, metric.timestamp, metric.step)
    out = metric_to_json(point, metric.run_id)
    if metric.dataset_name is not None:
        out["dataset_name"] = metric.dataset_name
    if metric.dataset_digest is not None:
        out["dataset_digest"] = metric.dataset_digest
    out["model_id"] = model_id
    return out


def logged_model_from_message(msg: LoggedModelMessage) -> LoggedModel:
    """The entity back; empty strings are the unset fields protobuf JSON cannot tell apart."""
    info = msg.info
    return LoggedModel(
        model_id=info.model_id,
        experiment_id=info.experiment_id,
        name=info.name,
        artifact_location=info.artifact_uri,
        creation_timestamp=info.creation_timestamp_ms,
        last_updated_timestamp=info.last_updated_timestamp_ms,
        status=LoggedModelStatus.canonical(info.status) or str(info.status),
        model_type=info.model_type or None,
        source_run_id=info.source_run_id or None,
        status_message=info.status_message or None,
        tags=key_values_from_json(info.tags),
        params=key_values_from_json(msg.data.params),
        metrics=[
            LoggedModelMetric(
                m.key, m.value, m.timestamp, m.step, m.run_id, m.dataset_name, m.dataset_digest
            )
            for m in msg.data.metrics
        ],
    )


def logged_model_from_json(data: Mapping[str, Any]) -> LoggedModel:
    return logged_model_from_message(parse_message(data, LoggedModelMessage))


def logged_models_page_to_json(page: PagedList[LoggedModel]) -> dict[str, Any]:
    """A ``logged-models/search`` answer: the models and the next page's token, if any."""
    return page_to_json("models", [logged_model_to_json(m) for m in page], page.token)


def logged_models_page_from_json(data: Mapping[str, Any]) -> PagedList[LoggedModel]:
    msg = parse_message(data, SearchLoggedModelsResponse)
    models = [logged_model_from_message(m) for m in msg.models]
    return PagedList(models, msg.next_page_token or None)


# ------------------------------------------------------------------ artifacts


def file_info_to_json(info: FileInfo) -> dict[str, Any]:
    out: dict[str, Any] = {"path": info.path, "is_dir": info.is_dir}
    if info.file_size is not None:
        out["file_size"] = info.file_size
    return out

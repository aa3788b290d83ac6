"""The API as data: one line per endpoint, expanded into an OpenAPI 3.1 document.

The field names, JSON types and required flags are those of MLflow's protobuf messages (the
``mlflow.protos.service_pb2`` and ``mlflow_artifacts_pb2`` request and response messages), so
the document describes the wire format MLflow clients speak. A field is written
``name[:type][[]][!]``: the type defaults to ``string``, ``[]`` means repeated and ``!`` means
required. GET requests carry their fields as query parameters, other methods as a JSON body;
fields named in the path template become path parameters.

``build_document(served)`` keeps only the operations an app actually serves, so the document a
server hands out (and the fuzzer explores) never lists an endpoint that is not there, and
``app_operations`` lets a test prove every served route is described.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from starlette.routing import BaseRoute, Mount, Route

from cairn.version import __version__

API = "/api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts"
CAIRN = "/api/2.0/cairn"  # cairn's own read endpoints for the web UI
OPENAPI_PATHS = ("/openapi.json", f"{API}/openapi.json")

JSON = "application/json"
TEXT = "text/plain"
HTML = "text/html"
BINARY = "application/octet-stream"

_INT64 = 2**63
_INT32 = 2**31
_DIGITS = {"type": "string", "pattern": "^-?[0-9]+$"}
SCALARS: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "bool": {"type": "boolean"},
    # protobuf JSON sends 64-bit integers as numbers or as strings of digits; both are accepted.
    "int64": {"anyOf": [{"type": "integer", "minimum": -_INT64, "maximum": _INT64 - 1}, _DIGITS]},
    "int32": {"anyOf": [{"type": "integer", "minimum": -_INT32, "maximum": _INT32 - 1}, _DIGITS]},
    # Non-finite doubles travel as the strings protobuf JSON uses for them.
    "double": {"anyOf": [{"type": "number"}, {"enum": ["NaN", "Infinity", "-Infinity"]}]},
    "map": {"type": "object", "additionalProperties": {"type": "string"}},
    "any": {},  # any JSON value (cairn's own responses: mixed-type columns, nulls)
}

ENUMS: dict[str, tuple[str, ...]] = {
    "ViewType": ("ACTIVE_ONLY", "DELETED_ONLY", "ALL"),
    "RunStatus": ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"),
    "LoggedModelStatus": (
        "LOGGED_MODEL_STATUS_UNSPECIFIED",
        "LOGGED_MODEL_PENDING",
        "LOGGED_MODEL_READY",
        "LOGGED_MODEL_UPLOAD_FAILED",
    ),
    "XAxis": ("step", "wall", "relative"),
    "ModelVersionStatus": ("PENDING_REGISTRATION", "FAILED_REGISTRATION", "READY"),
    "WebhookStatus": ("ACTIVE", "DISABLED"),
    "WebhookEntity": (
        "ENTITY_UNSPECIFIED",
        "REGISTERED_MODEL",
        "MODEL_VERSION",
        "MODEL_VERSION_TAG",
        "MODEL_VERSION_ALIAS",
        "PROMPT",
        "PROMPT_VERSION",
        "PROMPT_TAG",
        "PROMPT_VERSION_TAG",
        "PROMPT_ALIAS",
        "BUDGET_POLICY",
    ),
    "WebhookAction": ("ACTION_UNSPECIFIED", "CREATED", "UPDATED", "DELETED", "SET", "EXCEEDED"),
}

MESSAGES: dict[str, str] = {
    "ExperimentTag": "key value",
    "Experiment": "experiment_id name artifact_location lifecycle_stage "
    "last_update_time:int64 creation_time:int64 tags:ExperimentTag[]",
    "RunTag": "key value",
    "Param": "key value",
    "Metric": "key value:double timestamp:int64 step:int64 dataset_name dataset_digest "
    "model_id run_id",
    "MetricWithRunId": "key value:double timestamp:int64 step:int64 run_id",
    "RunInfo": "run_id run_uuid run_name experiment_id user_id status:RunStatus "
    "start_time:int64 end_time:int64 artifact_uri lifecycle_stage",
    "RunData": "metrics:Metric[] params:Param[] tags:RunTag[]",
    "InputTag": "key! value!",
    "Dataset": "name! digest! source_type! source! schema profile",
    "DatasetInput": "tags:InputTag[] dataset:Dataset!",
    "ModelInput": "model_id!",
    "ModelOutput": "model_id! step:int64!",
    "RunInputs": "dataset_inputs:DatasetInput[] model_inputs:ModelInput[]",
    "RunOutputs": "model_outputs:ModelOutput[]",
    "Run": "info:RunInfo data:RunData inputs:RunInputs outputs:RunOutputs",
    "DatasetSummary": "experiment_id! name! digest! context",
    "FileInfo": "path is_dir:bool file_size:int64",
    "LoggedModelParameter": "key value",
    "LoggedModelTag": "key value",
    "LoggedModelRegistrationInfo": "name version",
    "LoggedModelInfo": "model_id experiment_id name creation_timestamp_ms:int64 "
    "last_updated_timestamp_ms:int64 artifact_uri status:LoggedModelStatus creator_id:int64 "
    "model_type source_run_id status_message tags:LoggedModelTag[] "
    "registrations:LoggedModelRegistrationInfo[]",
    "LoggedModelData": "params:LoggedModelParameter[] metrics:Metric[]",
    "LoggedModel": "info:LoggedModelInfo data:LoggedModelData",
    "LoggedModelDatasetFilter": "dataset_name! dataset_digest",
    "LoggedModelOrderBy": "field_name! ascending:bool dataset_name dataset_digest",
    "MultipartUploadCredential": "url part_number:int64 headers:map",
    "MultipartUploadPart": "part_number:int64 etag url",
    # the model registry (MLflow's model_registry.proto)
    "RegisteredModelTag": "key value",
    "ModelVersionTag": "key value",
    "RegisteredModelAlias": "alias version",
    "ModelVersion": "name version creation_timestamp:int64 last_updated_timestamp:int64 user_id "
    "current_stage description source run_id status:ModelVersionStatus status_message "
    "tags:ModelVersionTag[] run_link aliases[] model_id",
    "RegisteredModel": "name creation_timestamp:int64 last_updated_timestamp:int64 user_id "
    "description latest_versions:ModelVersion[] tags:RegisteredModelTag[] "
    "aliases:RegisteredModelAlias[]",
    # registry webhooks (MLflow's webhooks.proto; cairn's answers add fields of its own)
    "WebhookEvent": "entity:WebhookEntity! action:WebhookAction!",
    "Webhook": "webhook_id name description url events:WebhookEvent[] status:WebhookStatus "
    "creation_timestamp:int64 last_updated_timestamp:int64",
    "WebhookTestResult": "success:bool response_status:int32 response_body error_message",
}


# cairn's own messages (the web UI's endpoints): no MLflow counterpart to match.
UI_MESSAGES: dict[str, str] = {
    "ExperimentSummary": "experiment_id run_count:int64 last_activity:int64",
    "DownsampledSeries": "run_id x:any[] y:any[] total_points:int64 points_in_range:int64 "
    "downsampled:bool x_extent:any[]",
    "RegistryEvent": "event_id:int64 timestamp:int64 user_id event name version:any "
    "before:any after:any",
    "ModelVersionLineage": "name version:int64 source run_id:any run_name:any "
    "experiment_id:any git_commit:any model_id:any model_name:any datasets:any[]",
}


@dataclass(frozen=True)
class Endpoint:
    """One operation: its request and JSON response as field specs, or a raw media type."""

    method: str
    path: str
    summary: str
    request: str = ""
    response: str = ""
    consumes: str = JSON  # BINARY: the body is the raw bytes of a file
    produces: str = JSON  # TEXT, HTML or BINARY: ``response`` is ignored


def _op(method: str, path: str, summary: str, request: str = "", response: str = "") -> Endpoint:
    return Endpoint(method, path, summary, request, response)


_SEARCH_EXPERIMENTS = "max_results:int64 page_token filter order_by[] view_type:ViewType"
_EXPERIMENTS_PAGE = "experiments:Experiment[] next_page_token"
_RUN_TAG = "run_id run_uuid key! value!"
_LISTING = "root_uri files:FileInfo[] next_page_token"
_RM, _MV = f"{API}/registered-models", f"{API}/model-versions"
_REGISTERED_MODEL = "registered_model:RegisteredModel"
_MODEL_VERSION = "model_version:ModelVersion"
_VERSION_REF = "name! version!"
_SEARCH_REGISTRY = "filter max_results:int64 order_by[] page_token"
_LATEST_VERSIONS = ("name! stages[]", "model_versions:ModelVersion[]")
_WEBHOOK = "webhook:Webhook"
_RUN_COLUMNS = (
    "run_id[] run_name[] experiment_id[] status[] start_time:any[] end_time:any[] user_id[] "
    "parent_run_id:any[] lifecycle_stage[] columns:any next_page_token:any"
)

ENDPOINTS: tuple[Endpoint, ...] = (
    # ---------------------------------------------------------------- experiments
    _op("POST", f"{API}/experiments/create", "Create an experiment",
        "name! artifact_location tags:ExperimentTag[]", "experiment_id"),
    _op("GET", f"{API}/experiments/get", "Get an experiment",
        "experiment_id!", "experiment:Experiment"),
    _op("GET", f"{API}/experiments/get-by-name", "Get an experiment by name",
        "experiment_name!", "experiment:Experiment"),
    _op("POST", f"{API}/experiments/search", "Search experiments",
        _SEARCH_EXPERIMENTS, _EXPERIMENTS_PAGE),
    _op("GET", f"{API}/experiments/search", "Search experiments (query string)",
        _SEARCH_EXPERIMENTS, _EXPERIMENTS_PAGE),
    _op("POST", f"{API}/experiments/update", "Rename an experiment",
        "experiment_id! new_name"),
    _op("POST", f"{API}/experiments/delete", "Delete an experiment (soft)", "experiment_id!"),
    _op("POST", f"{API}/experiments/restore", "Restore a deleted experiment", "experiment_id!"),
    _op("POST", f"{API}/experiments/set-experiment-tag", "Set an experiment tag",
        "experiment_id! key! value!"),
    _op("POST", f"{API}/experiments/delete-experiment-tag", "Delete an experiment tag",
        "experiment_id! key!"),
    _op("POST", f"{API}/experiments/search-datasets", "Datasets logged to experiments' runs",
        "experiment_ids[]", "dataset_summaries:DatasetSummary[]"),
    # ---------------------------------------------------------------- runs
    _op("POST", f"{API}/runs/create", "Create a run",
        "experiment_id user_id run_name start_time:int64 tags:RunTag[]", "run:Run"),
    _op("GET", f"{API}/runs/get", "Get a run", "run_id run_uuid", "run:Run"),
    _op("POST", f"{API}/runs/update", "Update a run's status, end time or name",
        "run_id run_uuid status:RunStatus end_time:int64 run_name", "run_info:RunInfo"),
    _op("POST", f"{API}/runs/delete", "Delete a run (soft)", "run_id!"),
    _op("POST", f"{API}/runs/restore", "Restore a deleted run", "run_id!"),
    _op("POST", f"{API}/runs/search", "Search runs",
        "experiment_ids[] filter run_view_type:ViewType max_results:int32 order_by[] page_token",
        "runs:Run[] next_page_token"),
    _op("POST", f"{API}/runs/log-metric", "Log a metric value",
        "run_id run_uuid key! value:double! timestamp:int64! step:int64 model_id "
        "dataset_name dataset_digest"),
    _op("POST", f"{API}/runs/log-parameter", "Log a parameter", _RUN_TAG),
    _op("POST", f"{API}/runs/set-tag", "Set a run tag", _RUN_TAG),
    _op("POST", f"{API}/runs/delete-tag", "Delete a run tag", "run_id! key!"),
    _op("POST", f"{API}/runs/log-batch", "Log metrics, params and tags at once",
        "run_id metrics:Metric[] params:Param[] tags:RunTag[]"),
    _op("POST", f"{API}/runs/log-model", "Record a model's MLmodel metadata",
        "run_id model_json"),
    _op("POST", f"{API}/runs/log-inputs", "Log dataset and model inputs",
        "run_id! datasets:DatasetInput[] models:ModelInput[]"),
    _op("POST", f"{API}/runs/outputs", "Log model outputs", "run_id! models:ModelOutput[]"),
    # ---------------------------------------------------------------- metrics and artifacts
    _op("GET", f"{API}/metrics/get-history", "A metric's full history",
        "run_id run_uuid metric_key! page_token max_results:int32",
        "metrics:Metric[] next_page_token"),
    _op("GET", f"{API}/metrics/get-history-bulk", "A metric's history across runs",
        "run_id[] metric_key! max_results:int32", "metrics:MetricWithRunId[]"),
    _op("GET", f"{API}/metrics/get-history-bulk-interval", "Sampled history across runs",
        "run_ids[] metric_key! start_step:int32 end_step:int32 max_results:int32",
        "metrics:MetricWithRunId[]"),
    _op("GET", f"{API}/artifacts/list", "List a run's artifacts",
        "run_id run_uuid path page_token", _LISTING),
    # ---------------------------------------------------------------- logged models
    _op("POST", f"{API}/logged-models", "Create a logged model",
        "experiment_id! name model_type source_run_id params:LoggedModelParameter[] "
        "tags:LoggedModelTag[]", "model:LoggedModel"),
    _op("GET", f"{API}/logged-models/{{model_id}}", "Get a logged model",
        "model_id!", "model:LoggedModel"),
    _op("PATCH", f"{API}/logged-models/{{model_id}}", "Finalize a logged model",
        "model_id! status:LoggedModelStatus!", "model:LoggedModel"),
    _op("DELETE", f"{API}/logged-models/{{model_id}}", "Delete a logged model", "model_id!"),
    _op("POST", f"{API}/logged-models/search", "Search logged models",
        "experiment_ids[] filter datasets:LoggedModelDatasetFilter[] max_results:int32 "
        "order_by:LoggedModelOrderBy[] page_token", "models:LoggedModel[] next_page_token"),
    _op("PATCH", f"{API}/logged-models/{{model_id}}/tags", "Set logged model tags",
        "model_id! tags:LoggedModelTag[]", "model:LoggedModel"),
    _op("DELETE", f"{API}/logged-models/{{model_id}}/tags/{{tag_key}}",
        "Delete a logged model tag", "model_id! tag_key!"),
    _op("POST", f"{API}/logged-models/{{model_id}}/params", "Log logged model params",
        "model_id! params:LoggedModelParameter[]"),
    _op("GET", f"{API}/logged-models/{{model_id}}/artifacts/directories",
        "List a logged model's artifacts", "model_id! artifact_directory_path page_token",
        _LISTING),
    Endpoint("GET", f"{API}/logged-models/{{model_id}}/artifacts/files",
             "Download a logged model's artifact", "model_id! artifact_file_path",
             produces=BINARY),
    # ---------------------------------------------------------------- the model registry
    _op("POST", f"{_RM}/create", "Create a registered model",
        "name! tags:RegisteredModelTag[] description", _REGISTERED_MODEL),
    _op("GET", f"{_RM}/get", "Get a registered model", "name!", _REGISTERED_MODEL),
    _op("POST", f"{_RM}/rename", "Rename a registered model", "name! new_name",
        _REGISTERED_MODEL),
    _op("PATCH", f"{_RM}/update", "Update a registered model's description",
        "name! description", _REGISTERED_MODEL),
    _op("DELETE", f"{_RM}/delete", "Delete a registered model and its versions", "name!"),
    _op("GET", f"{_RM}/search", "Search registered models", _SEARCH_REGISTRY,
        "registered_models:RegisteredModel[] next_page_token"),
    _op("POST", f"{_RM}/get-latest-versions", "The newest version in each stage",
        *_LATEST_VERSIONS),
    _op("GET", f"{_RM}/get-latest-versions", "The newest version in each stage (query)",
        *_LATEST_VERSIONS),
    _op("POST", f"{_RM}/set-tag", "Set a registered model tag", "name! key! value!"),
    _op("DELETE", f"{_RM}/delete-tag", "Delete a registered model tag", "name! key!"),
    _op("POST", f"{_RM}/alias", "Point an alias at a version", "name! alias! version!"),
    _op("DELETE", f"{_RM}/alias", "Delete an alias", "name! alias!"),
    _op("GET", f"{_RM}/alias", "The version an alias points at", "name! alias!",
        _MODEL_VERSION),
    _op("POST", f"{_MV}/create", "Register a model version",
        "name! source! run_id tags:ModelVersionTag[] run_link description model_id",
        _MODEL_VERSION),
    _op("GET", f"{_MV}/get", "Get a model version", _VERSION_REF, _MODEL_VERSION),
    _op("PATCH", f"{_MV}/update", "Update a model version's description",
        f"{_VERSION_REF} description", _MODEL_VERSION),
    _op("POST", f"{_MV}/transition-stage", "Move a model version to a stage",
        f"{_VERSION_REF} stage! archive_existing_versions:bool!", _MODEL_VERSION),
    _op("DELETE", f"{_MV}/delete", "Delete a model version", _VERSION_REF),
    _op("GET", f"{_MV}/get-download-uri", "Where a model version's files are",
        _VERSION_REF, "artifact_uri"),
    _op("GET", f"{_MV}/search", "Search model versions", _SEARCH_REGISTRY,
        "model_versions:ModelVersion[] next_page_token"),
    _op("POST", f"{_MV}/set-tag", "Set a model version tag", f"{_VERSION_REF} key! value!"),
    _op("DELETE", f"{_MV}/delete-tag", "Delete a model version tag", f"{_VERSION_REF} key!"),
    # ---------------------------------------------------------------- registry webhooks
    _op("POST", f"{API}/webhooks", "Create a webhook",
        "name! description url! events:WebhookEvent[]! secret status:WebhookStatus",
        _WEBHOOK),
    _op("GET", f"{API}/webhooks", "List webhooks", "max_results:int32 page_token",
        "webhooks:Webhook[] next_page_token"),
    _op("GET", f"{API}/webhooks/{{webhook_id}}", "Get a webhook", "webhook_id!", _WEBHOOK),
    _op("PATCH", f"{API}/webhooks/{{webhook_id}}", "Update a webhook",
        "webhook_id! name description url events:WebhookEvent[] secret status:WebhookStatus",
        _WEBHOOK),
    _op("DELETE", f"{API}/webhooks/{{webhook_id}}", "Delete a webhook", "webhook_id!"),
    _op("POST", f"{API}/webhooks/{{webhook_id}}/test", "Send a webhook a test event",
        "webhook_id! event:WebhookEvent", "result:WebhookTestResult"),
    # ---------------------------------------------------------------- artifact proxy
    Endpoint("GET", "/get-artifact", "Download a run artifact",
             "run_id run_uuid path! download", produces=BINARY),
    _op("GET", f"{ARTIFACTS}/artifacts", "List proxied artifacts", "path", "files:FileInfo[]"),
    Endpoint("GET", f"{ARTIFACTS}/artifacts/{{artifact_path}}", "Download a proxied artifact",
             produces=BINARY),
    Endpoint("PUT", f"{ARTIFACTS}/artifacts/{{artifact_path}}", "Upload a proxied artifact",
             consumes=BINARY),
    _op("DELETE", f"{ARTIFACTS}/artifacts/{{artifact_path}}", "Delete a proxied artifact"),
    _op("POST", f"{ARTIFACTS}/mpu/create/{{artifact_path}}", "Start a multipart upload",
        "path num_parts:int64", "upload_id credentials:MultipartUploadCredential[]"),
    _op("POST", f"{ARTIFACTS}/mpu/complete/{{artifact_path}}", "Complete a multipart upload",
        "path upload_id parts:MultipartUploadPart[]"),
    _op("POST", f"{ARTIFACTS}/mpu/abort/{{artifact_path}}", "Abort a multipart upload",
        "path upload_id"),
    _op("GET", f"{ARTIFACTS}/presigned/{{artifact_path}}", "A presigned download URL", "",
        "url headers:map file_size:int64"),
    # ---------------------------------------------------------------- the web UI's reads
    _op("GET", f"{CAIRN}/experiments/summary", "Run counts and last activity of experiments",
        "experiment_ids[]", "experiments:ExperimentSummary[]"),
    _op("GET", f"{CAIRN}/experiments/keys", "Param, metric and tag keys of experiments' runs",
        "experiment_ids[]!", "params[] metrics[] tags[]"),
    _op("POST", f"{CAIRN}/runs/table", "Search runs, answered as columns",
        "experiment_ids[] filter order_by[] run_view_type:ViewType columns[] "
        "max_results:int32 page_token", _RUN_COLUMNS),
    _op("POST", f"{CAIRN}/metrics/downsample", "Metric series, min/max downsampled",
        "run_ids[]! metric_key! x_axis:XAxis x_min:double x_max:double buckets:int32",
        "series:DownsampledSeries[]"),
    _op("GET", f"{CAIRN}/artifacts/table", "The first rows of a tabular artifact",
        "run_id run_uuid path! max_rows:int32",
        "columns[] rows:any[] total_rows:int64 truncated:bool"),
    _op("GET", f"{CAIRN}/registry/history", "The registry's audit trail",
        "name version max_results:int64 page_token", "events:RegistryEvent[] next_page_token"),
    _op("GET", f"{CAIRN}/webhooks/deliveries", "A webhook's delivery log, newest first",
        "webhook_id! max_results:int64 page_token", "deliveries:any[] next_page_token"),
    _op("GET", f"{CAIRN}/registry/lineage", "Where a model version came from", _VERSION_REF,
        "lineage:ModelVersionLineage"),
    _op("POST", f"{CAIRN}/registry/copy-version", "Copy a model version into another model",
        f"{_VERSION_REF} dst_name!", _MODEL_VERSION),
    # ---------------------------------------------------------------- system
    Endpoint("GET", "/", "The web UI's page", produces=HTML),
    Endpoint("GET", "/health", "Liveness probe", produces=TEXT),
    Endpoint("GET", "/version", "Server version", produces=TEXT),
    _op("GET", "/api/3.0/mlflow/server-info", "Server identity", "", "store_type server version"),
    Endpoint("GET", "/metrics", "Prometheus metrics", produces=TEXT),
    *(_op("GET", path, "This OpenAPI document") for path in OPENAPI_PATHS),
)  # fmt: skip

_FIELD = re.compile(r"^(?P<name>\w+)(?::(?P<type>\w+))?(?P<repeated>\[\])?(?P<required>!)?$")
_PATH_PARAM = re.compile(r"\{([^}:]*)(?::[^}]*)?\}")


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    repeated: bool
    required: bool


def parse_fields(spec: str) -> list[Field]:
    """``"run_id! tags:RunTag[]"`` as fields; a malformed spec is a programming error."""
    fields = []
    for token in spec.split():
        match = _FIELD.match(token)
        if match is None:
            raise ValueError(f"Bad field spec {token!r}")
        kind = match["type"] or "string"
        if not any(kind in known for known in (SCALARS, ENUMS, MESSAGES, UI_MESSAGES)):
            raise ValueError(f"Unknown type {kind!r} in {token!r}")
        fields.append(Field(match["name"], kind, bool(match["repeated"]), bool(match["required"])))
    return fields


def _type_schema(field: Field) -> dict[str, Any]:
    if field.type in SCALARS:
        schema: dict[str, Any] = dict(SCALARS[field.type])
    else:
        schema = {"$ref": f"#/components/schemas/{field.type}"}
    return {"type": "array", "items": schema} if field.repeated else schema


def object_schema(spec: str) -> dict[str, Any]:
    return _object_schema(parse_fields(spec))


def _object_schema(fields: list[Field]) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {field.name: _type_schema(field) for field in fields},
    }
    required = [field.name for field in fields if field.required]
    if required:
        schema["required"] = required
    return schema


def operation_key(method: str, path: str) -> tuple[str, str]:
    """What identifies an operation across the document and the router: parameter names and
    Starlette convertors are dropped, and ``/ajax-api/`` (the UI's alias) counts as ``/api/``."""
    path = _PATH_PARAM.sub("{}", path)
    if path.startswith("/ajax-api/"):
        path = "/api/" + path[len("/ajax-api/") :]
    return method.upper(), path


def app_operations(routes: Iterable[BaseRoute], prefix: str = "") -> set[tuple[str, str]]:
    """Every (method, path) an app's router serves, as :func:`operation_key` gives them."""
    found: set[tuple[str, str]] = set()
    for route in routes:
        if isinstance(route, Mount):
            found |= app_operations(route.routes, prefix + route.path)
        elif isinstance(route, Route):
            for method in route.methods or ("GET",):
                if method != "HEAD":
                    found.add(operation_key(method, prefix + route.path))
    return found


def _operation(endpoint: Endpoint) -> dict[str, Any]:
    path_names = _PATH_PARAM.findall(endpoint.path)
    fields = [f for f in parse_fields(endpoint.request) if f.name not in path_names]
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
        for name in path_names
    ]
    operation: dict[str, Any] = {
        "operationId": _operation_id(endpoint),
        "summary": endpoint.summary,
        "tags": [_tag(endpoint.path)],
    }
    if endpoint.consumes == BINARY:
        operation["requestBody"] = {
            "required": True,
            "content": {BINARY: {"schema": {"type": "string", "format": "binary"}}},
        }
    elif endpoint.method == "GET":
        parameters += [
            {"name": f.name, "in": "query", "required": f.required, "schema": _type_schema(f)}
            for f in fields
        ]
    elif fields:
        body = _object_schema(fields)
        operation["requestBody"] = {
            "required": any(f.required for f in fields),
            "content": {JSON: {"schema": body}},
        }
    if parameters:
        operation["parameters"] = parameters
    if endpoint.produces == JSON:
        content = {JSON: {"schema": object_schema(endpoint.response)}}
    elif endpoint.produces in (TEXT, HTML):
        content = {endpoint.produces: {"schema": {"type": "string"}}}
    else:
        content = {BINARY: {"schema": {"type": "string", "format": "binary"}}}
    operation["responses"] = {
        "200": {"description": "Success", "content": content},
        "default": {"$ref": "#/components/responses/Error"},
    }
    return operation


def _operation_id(endpoint: Endpoint) -> str:
    words = re.sub(r"[^A-Za-z0-9]+", "_", _PATH_PARAM.sub(r"by_\1", endpoint.path)).strip("_")
    return f"{endpoint.method.lower()}_{words}"


def _tag(path: str) -> str:
    if path.startswith(ARTIFACTS) or path == "/get-artifact":
        return "artifacts"
    if path.startswith(CAIRN + "/"):
        return "ui"
    if path.startswith(API + "/"):
        return path[len(API) + 1 :].split("/")[0]
    return "system"


ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"error_code": {"type": "string"}, "message": {"type": "string"}},
    "required": ["error_code", "message"],
}


def build_document(served: set[tuple[str, str]] | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document; with ``served``, only the operations in it (see module doc)."""
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in ENDPOINTS:
        if served is not None and operation_key(endpoint.method, endpoint.path) not in served:
            continue
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(endpoint)
    messages = {**MESSAGES, **UI_MESSAGES}
    schemas: dict[str, Any] = {name: object_schema(spec) for name, spec in messages.items()}
    schemas.update({name: {"type": "string", "enum": list(v)} for name, v in ENUMS.items()})
    schemas["Error"] = ERROR_SCHEMA
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "cairn tracking server",
            "version": __version__,
            "description": "MLflow's REST API as cairn serves it. Every /api/ path is also "
            "served under /ajax-api/ (the web UI's prefix). Errors are MLflow's JSON: "
            '{"error_code": ..., "message": ...}.',
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": {
                "Error": {
                    "description": "MLflow error JSON with MLflow's HTTP status",
                    "content": {JSON: {"schema": {"$ref": "#/components/schemas/Error"}}},
                }
            },
        },
    }

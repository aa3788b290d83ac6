"""MLflow 3 logged models: /logged-models create, get, search, finalize, params, tags, delete.

Bodies are MLflow's protobuf JSON: a model is ``{"info": {...}, "data": {...}}``, statuses are
``LOGGED_MODEL_*`` names, empty lists are left out. The store does the validating; this module
only checks JSON types and translates. ``POST /runs/outputs`` belongs to the tracking routes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from cairn.errors import CairnError
from cairn.server import wire
from cairn.server.context import ServerContext
from cairn.server.http import json_response, optional, parse_int, read_json, require
from cairn.store.artifacts import safe_relative_path

Handler = Callable[[Request, dict[str, Any]], Response]


def routes(ctx: ServerContext) -> list[BaseRoute]:
    store = ctx.tracking

    def create(request: Request, data: dict[str, Any]) -> Response:
        model = store.create_logged_model(
            experiment_id=require(data, "experiment_id"),
            name=optional(data, "name") or None,
            source_run_id=optional(data, "source_run_id") or None,
            tags=dict(_key_values(data, "tags")),
            params=_params(data),
            model_type=optional(data, "model_type") or None,
        )
        return json_response({"model": wire.logged_model_to_json(model)})

    def get(request: Request, data: dict[str, Any]) -> Response:
        allow_deleted = str(data.get("allow_deleted", "")).lower() == "true"
        model = store.get_logged_model(_model_id(request, data), allow_deleted=allow_deleted)
        return json_response({"model": wire.logged_model_to_json(model)})

    def finalize(request: Request, data: dict[str, Any]) -> Response:
        status = data.get("status")
        if status is None:
            raise CairnError.invalid("Missing value for required parameter 'status'.")
        model = store.finalize_logged_model(_model_id(request, data), status)
        return json_response({"model": wire.logged_model_to_json(model)})

    def delete(request: Request, data: dict[str, Any]) -> Response:
        store.delete_logged_model(_model_id(request, data))
        return json_response()

    def log_params(request: Request, data: dict[str, Any]) -> Response:
        store.log_logged_model_params(_model_id(request, data), _params(data))
        return json_response()

    def set_tags(request: Request, data: dict[str, Any]) -> Response:
        store.set_logged_model_tags(_model_id(request, data), dict(_key_values(data, "tags")))
        return json_response()

    def delete_tag(request: Request, data: dict[str, Any]) -> Response:
        store.delete_logged_model_tag(_model_id(request, data), request.path_params["tag_key"])
        return json_response()

    def search(request: Request, data: dict[str, Any]) -> Response:
        experiment_ids = require(data, "experiment_ids", list)
        if not all(isinstance(e, str) for e in experiment_ids):
            raise CairnError.invalid(
                f"Invalid value {experiment_ids!r} for parameter 'experiment_ids': "
                "expected a list of strings."
            )
        # Protobuf JSON cannot tell 0 from unset: both leave the store's default, as in MLflow.
        max_results = parse_int(data.get("max_results") or 0, "max_results")
        page = store.search_logged_models(
            experiment_ids,
            filter_string=optional(data, "filter") or None,
            order_by=optional(data, "order_by", list),
            page_token=optional(data, "page_token") or None,
            datasets=optional(data, "datasets", list),
            **({"max_results": max_results} if max_results else {}),
        )
        return json_response(wire.logged_models_page_to_json(page))

    def list_artifacts(request: Request, data: dict[str, Any]) -> Response:
        model = store.get_logged_model(_model_id(request, data))
        path = safe_relative_path(optional(data, "artifact_directory_path"))
        files = ctx.artifact_repository(model.artifact_location).list_artifacts(path or None)
        body: dict[str, Any] = {"root_uri": model.artifact_location}
        if files:
            body["files"] = [wire.file_info_to_json(f) for f in files]
        return json_response(body)

    one = "/logged-models/{model_id}"
    return [
        Route("/logged-models", _endpoint(create), methods=["POST"]),
        Route("/logged-models/search", _endpoint(search), methods=["POST"]),
        Route(one, _endpoint(get), methods=["GET"]),
        Route(one, _endpoint(finalize), methods=["PATCH"]),
        Route(one, _endpoint(delete), methods=["DELETE"]),
        Route(f"{one}/params", _endpoint(log_params), methods=["POST"]),
        Route(f"{one}/tags", _endpoint(set_tags), methods=["PATCH"]),
        Route(one + "/tags/{tag_key:path}", _endpoint(delete_tag), methods=["DELETE"]),
        Route(f"{one}/artifacts/directories", _endpoint(list_artifacts), methods=["GET"]),
    ]


def _endpoint(handler: Handler) -> Callable[[Request], Any]:
    """An ASGI endpoint that reads the JSON, then runs ``handler`` (database work) off the loop."""

    async def endpoint(request: Request) -> Response:
        data = await read_json(request)
        return await run_in_threadpool(handler, request, data)

    return endpoint


# ------------------------------------------------------------------ JSON in


def _model_id(request: Request, data: dict[str, Any]) -> str:
    """The path's model id; a body that names another model is refused, not silently ignored."""
    model_id: str = request.path_params["model_id"]
    body_id = optional(data, "model_id")
    if body_id not in (None, "", model_id):
        raise CairnError.invalid(
            f"The body's model_id {body_id!r} differs from the model id in the path {model_id!r}."
        )
    return model_id


def _key_values(data: dict[str, Any], field: str) -> list[tuple[str, str]]:
    """``[{"key": k, "value": v}, ...]`` as pairs; a missing value is "" as in protobuf."""
    pairs = []
    for item in optional(data, field, list, []):
        key = item.get("key") if isinstance(item, dict) else None
        value = item.get("value") if isinstance(item, dict) else None
        value = "" if value is None else value
        if not isinstance(key, str) or not isinstance(value, str):
            raise CairnError.invalid(
                f"Invalid entry {item!r} in '{field}': expected "
                '{"key": <string>, "value": <string>}.'
            )
        pairs.append((key, value))
    return pairs


def _params(data: dict[str, Any]) -> dict[str, str]:
    params: dict[str, str] = {}
    for key, value in _key_values(data, "params"):
        if params.setdefault(key, value) != value:
            raise CairnError.invalid(
                f"Param '{key}' appears twice in one request with different values "
                f"({params[key]!r} and {value!r})."
            )
    return params

"""MLflow's model-registry endpoints: registered models, versions, tags, aliases, stages.

A thin skin over the registry store, like the tracking routes: each endpoint parses its
request into a message of :mod:`cairn.server.registry_wire` (JSON types and required fields
checked there), calls the store, which decides every rule (names, sources, stages, aliases) and
records the change in the audit trail, and answers with MLflow's message. Store calls run in
worker threads acting as the request's declared user (:mod:`cairn.server.actor`).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from cairn.server import registry_wire as rw
from cairn.server.actor import run_as_requester
from cairn.server.context import ServerContext
from cairn.server.http import json_response
from cairn.server.routes.tracking import read_message
from cairn.server.wire import key_values_from_json, page_to_json
from cairn.store.registry.protocol import RegistryStore

Body = dict[str, Any]
GET, POST, PATCH, DELETE = ["GET"], ["POST"], ["PATCH"], ["DELETE"]


def routes(ctx: ServerContext) -> list[BaseRoute]:
    api = RegistryApi(ctx.registry)
    return [
        Route(path, endpoint(message_type, functools.partial(handler, api)), methods=methods)
        for path, methods, message_type, handler in ENDPOINTS
    ]


def endpoint(
    message_type: type[msgspec.Struct], handler: Callable[[Any], Body]
) -> Callable[[Request], Awaitable[Response]]:
    """An ASGI endpoint: parse and check the request, run the handler in a worker thread as
    the request's user. Registry writes are rare; none is worth running on the event loop."""

    async def endpoint(request: Request) -> Response:
        message = rw.check_required(await read_message(request, message_type))
        return json_response(await run_as_requester(request, handler, message))

    return endpoint


class RegistryApi:
    """The endpoints' handlers: a message in, the response body out."""

    def __init__(self, store: RegistryStore) -> None:
        self.store = store

    # ------------------------------------------------------------------ registered models

    def create_registered_model(self, req: rw.CreateRegisteredModel) -> Body:
        model = self.store.create_registered_model(
            req.name, key_values_from_json(req.tags), req.description or None
        )
        return {"registered_model": rw.registered_model_to_json(model)}

    def get_registered_model(self, req: rw.NameRef) -> Body:
        model = self.store.get_registered_model(req.name)
        return {"registered_model": rw.registered_model_to_json(model)}

    def rename_registered_model(self, req: rw.RenameRegisteredModel) -> Body:
        model = self.store.rename_registered_model(req.name, req.new_name)
        return {"registered_model": rw.registered_model_to_json(model)}

    def update_registered_model(self, req: rw.UpdateRegisteredModel) -> Body:
        model = self.store.update_registered_model(req.name, req.description)
        return {"registered_model": rw.registered_model_to_json(model)}

    def delete_registered_model(self, req: rw.NameRef) -> Body:
        self.store.delete_registered_model(req.name)
        return {}

    def search_registered_models(self, req: rw.SearchRegistry) -> Body:
        page = self.store.search_registered_models(**_search_args(req))
        models = [rw.registered_model_to_json(m) for m in page]
        return page_to_json("registered_models", models, page.token)

    def get_latest_versions(self, req: rw.GetLatestVersions) -> Body:
        versions = self.store.get_latest_versions(req.name, req.stages or None)
        return page_to_json("model_versions", _versions(versions), None)

    def set_registered_model_tag(self, req: rw.SetRegisteredModelTag) -> Body:
        self.store.set_registered_model_tag(req.name, req.key, req.value)
        return {}

    def delete_registered_model_tag(self, req: rw.DeleteRegisteredModelTag) -> Body:
        self.store.delete_registered_model_tag(req.name, req.key)
        return {}

    # ------------------------------------------------------------------ aliases

    def set_alias(self, req: rw.SetRegisteredModelAlias) -> Body:
        self.store.set_registered_model_alias(req.name, req.alias, req.version)
        return {}

    def delete_alias(self, req: rw.AliasRef) -> Body:
        self.store.delete_registered_model_alias(req.name, req.alias)
        return {}

    def get_by_alias(self, req: rw.AliasRef) -> Body:
        version = self.store.get_model_version_by_alias(req.name, req.alias)
        return {"model_version": rw.model_version_to_json(version)}

    # ------------------------------------------------------------------ model versions

    def create_model_version(self, req: rw.CreateModelVersion) -> Body:
        version = self.store.create_model_version(
            req.name,
            req.source,
            run_id=req.run_id or None,
            tags=key_values_from_json(req.tags),
            run_link=req.run_link or None,
            description=req.description or None,
            model_id=req.model_id or None,
        )
        return {"model_version": rw.model_version_to_json(version)}

    def get_model_version(self, req: rw.VersionRef) -> Body:
        version = self.store.get_model_version(req.name, req.version)
        return {"model_version": rw.model_version_to_json(version)}

    def update_model_version(self, req: rw.UpdateModelVersion) -> Body:
        version = self.store.update_model_version(req.name, req.version, req.description)
        return {"model_version": rw.model_version_to_json(version)}

    def transition_stage(self, req: rw.TransitionModelVersionStage) -> Body:
        version = self.store.transition_model_version_stage(
            req.name, req.version, req.stage, req.archive_existing_versions
        )
        return {"model_version": rw.model_version_to_json(version)}

    def delete_model_version(self, req: rw.VersionRef) -> Body:
        self.store.delete_model_version(req.name, req.version)
        return {}

    def get_download_uri(self, req: rw.VersionRef) -> Body:
        return {"artifact_uri": self.store.get_model_version_download_uri(req.name, req.version)}

    def search_model_versions(self, req: rw.SearchRegistry) -> Body:
        page = self.store.search_model_versions(**_search_args(req))
        return page_to_json("model_versions", _versions(page), page.token)

    def set_model_version_tag(self, req: rw.SetModelVersionTag) -> Body:
        self.store.set_model_version_tag(req.name, req.version, req.key, req.value)
        return {}

    def delete_model_version_tag(self, req: rw.DeleteModelVersionTag) -> Body:
        self.store.delete_model_version_tag(req.name, req.version, req.key)
        return {}


RM, MV = "/registered-models", "/model-versions"

# path, methods, request message, handler
ENDPOINTS: list[tuple[str, list[str], type[msgspec.Struct], Callable[..., Body]]] = [
    (f"{RM}/create", POST, rw.CreateRegisteredModel, RegistryApi.create_registered_model),
    (f"{RM}/get", GET, rw.NameRef, RegistryApi.get_registered_model),
    (f"{RM}/rename", POST, rw.RenameRegisteredModel, RegistryApi.rename_registered_model),
    (f"{RM}/update", PATCH, rw.UpdateRegisteredModel, RegistryApi.update_registered_model),
    (f"{RM}/delete", DELETE, rw.NameRef, RegistryApi.delete_registered_model),
    (f"{RM}/search", GET, rw.SearchRegistry, RegistryApi.search_registered_models),
    (
        f"{RM}/get-latest-versions",
        [*POST, *GET],
        rw.GetLatestVersions,
        RegistryApi.get_latest_versions,
    ),
    (f"{RM}/set-tag", POST, rw.SetRegisteredModelTag, RegistryApi.set_registered_model_tag),
    (
        f"{RM}/delete-tag",
        DELETE,
        rw.DeleteRegisteredModelTag,
        RegistryApi.delete_registered_model_tag,
    ),
    (f"{RM}/alias", POST, rw.SetRegisteredModelAlias, RegistryApi.set_alias),
    (f"{RM}/alias", DELETE, rw.AliasRef, RegistryApi.delete_alias),
    (f"{RM}/alias", GET, rw.AliasRef, RegistryApi.get_by_alias),
    (f"{MV}/create", POST, rw.CreateModelVersion, RegistryApi.create_model_version),
    (f"{MV}/get", GET, rw.VersionRef, RegistryApi.get_model_version),
    (f"{MV}/update", PATCH, rw.UpdateModelVersion, RegistryApi.update_model_version),
    (
        f"{MV}/transition-stage",
        POST,
        rw.TransitionModelVersionStage,
        RegistryApi.transition_stage,
    ),
    (f"{MV}/delete", DELETE, rw.VersionRef, RegistryApi.delete_model_version),
    (f"{MV}/get-download-uri", GET, rw.VersionRef, RegistryApi.get_download_uri),
    (f"{MV}/search", GET, rw.SearchRegistry, RegistryApi.search_model_versions),
    (f"{MV}/set-tag", POST, rw.SetModelVersionTag, RegistryApi.set_model_version_tag),
    (f"{MV}/delete-tag", DELETE, rw.DeleteModelVersionTag, RegistryApi.delete_model_version_tag),
]


# ------------------------------------------------------------------ helpers


def _search_args(req: rw.SearchRegistry) -> dict[str, Any]:
    """The request's search arguments; an unset (or, in protobuf JSON, zero) max_results leaves
    the store's default, as MLflow does."""
    args: dict[str, Any] = {
        "filter_string": req.filter or None,
        "order_by": req.order_by or None,
        "page_token": req.page_token or None,
    }
    if req.max_results:
        args["max_results"] = req.max_results
    return args


def _versions(versions: list[Any]) -> list[Body]:
    return [rw.model_version_to_json(v) for v in versions]

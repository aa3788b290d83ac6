"""The registry store behind ``http(s)://`` URIs: a cairn or MLflow server's registry API.

Every protocol method is one endpoint of MLflow's registry API (``copy_model_version``, which
MLflow's API lacks, is the two calls MLflow's client makes for it), and entities travel as the
JSON :mod:`cairn.server.registry_wire` writes and reads on both sides. The server does the
validating, the auditing and the webhooks; the audit trail and lineage are cairn's own
``/api/2.0/cairn/registry/`` reads (NOT_IMPLEMENTED against an MLflow server). Credentials,
retries, error codes and the ``X-Cairn-User`` header naming the user are
:mod:`cairn.store.http`'s, shared with the tracking store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from cairn import validation
from cairn.entities import PagedList
from cairn.entities.registry import (
    ModelVersion,
    ModelVersionLineage,
    RegisteredModel,
    RegistryEvent,
)
from cairn.server import registry_wire as rw
from cairn.server.wire import given, key_values_to_json
from cairn.store.http import HttpSettings, HttpTransport
from cairn.store.registry.copying import copy_model_version
from cairn.store.registry.protocol import (
    SEARCH_MODEL_VERSIONS_DEFAULT,
    SEARCH_REGISTERED_MODELS_DEFAULT,
)
from cairn.store.registry.rest_webhooks import RestWebhooksMixin

RM, MV = "registered-models", "model-versions"


class RestRegistryStore(RestWebhooksMixin):
    """A :class:`~cairn.store.registry.protocol.RegistryStore` on a server's REST API.

    ``_call`` is what every endpoint goes through (the webhooks mixin's too).
    """

    def __init__(
        self,
        base_url: str,
        *,
        settings: HttpSettings | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.uri = base_url
        extra = {} if transport is None else {"transport": transport}
        self._http = HttpTransport(base_url, settings, **extra)

    def close(self) -> None:
        self._http.close()

    def _call(
        self,
        method: str,
        endpoint: str,
        body: Mapping[str, Any] | None = None,
        *,
        idempotent: bool | None = None,
    ) -> Any:
        """``method endpoint``: GET requests carry ``body`` as a query string (lists as repeated
        keys, as MLflow's client sends them). Reads, PATCH and DELETE are retried unless told
        otherwise: a DELETE whose repeat fails once the first succeeded (a model, a version, a
        webhook: RESOURCE_DOES_NOT_EXIST) passes ``idempotent=False``; deleting a tag or an
        alias that is gone is no error, so those repeat safely."""
        if idempotent is None:
            idempotent = method != "POST"
        if method == "GET":
            return self._http.call(method, endpoint, params=body, idempotent=idempotent)
        return self._http.call(method, endpoint, body or {}, idempotent=idempotent)

    # ------------------------------------------------------------------ registered models

    def create_registered_model(
        self,
        name: str,
        tags: Mapping[str, str] | None = None,
        description: str | None = None,
    ) -> RegisteredModel:
        body: dict[str, Any] = {"name": name}
        if tags:
            body["tags"] = _tags(tags)
        if description is not None:
            body["description"] = description
        data = self._call("POST", f"{RM}/create", body)
        return rw.registered_model_from_json(data["registered_model"])

    def get_registered_model(self, name: str) -> RegisteredModel:
        data = self._call("GET", f"{RM}/get", {"name": name})
        return rw.registered_model_from_json(data["registered_model"])

    def update_registered_model(self, name: str, description: str | None) -> RegisteredModel:
        body = given(name=name, description=description)
        data = self._call("PATCH", f"{RM}/update", body)
        return rw.registered_model_from_json(data["registered_model"])

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        data = self._call("POST", f"{RM}/rename", {"name": name, "new_name": new_name})
        return rw.registered_model_from_json(data["registered_model"])

    def delete_registered_model(self, name: str) -> None:
        self._call("DELETE", f"{RM}/delete", {"name": name}, idempotent=False)

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = SEARCH_REGISTERED_MODELS_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        data = self._call(
            "GET", f"{RM}/search", _search_params(filter_string, max_results, order_by, page_token)
        )
        models = [rw.registered_model_from_json(m) for m in data.get("registered_models", ())]
        return PagedList(models, data.get("next_page_token") or None)

    def get_latest_versions(
        self, name: str, stages: Sequence[str] | None = None
    ) -> list[ModelVersion]:
        body: dict[str, Any] = {"name": name}
        if stages:
            body["stages"] = [stages] if isinstance(stages, str) else list(stages)
        data = self._call("POST", f"{RM}/get-latest-versions", body, idempotent=True)
        return rw.model_versions_from_json(data.get("model_versions", []))

    def set_registered_model_tag(self, name: str, key: str, value: str) -> None:
        body = {"name": name, "key": key, "value": _text(value)}
        self._call("POST", f"{RM}/set-tag", body, idempotent=True)

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        self._call("DELETE", f"{RM}/delete-tag", {"name": name, "key": key})

    # ------------------------------------------------------------------ aliases

    def set_registered_model_alias(self, name: str, alias: str, version: int | str) -> None:
        body = {"name": name, "alias": alias, "version": str(version)}
        self._call("POST", f"{RM}/alias", body, idempotent=True)

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        self._call("DELETE", f"{RM}/alias", {"name": name, "alias": alias})

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        data = self._call("GET", f"{RM}/alias", {"name": name, "alias": alias})
        return rw.model_version_from_json(data["model_version"])

    # ------------------------------------------------------------------ model versions

    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        model_id: str | None = None,
    ) -> ModelVersion:
        body = given(
            name=name,
            source=source,
            run_id=run_id or None,
            tags=_tags(tags) if tags else None,
            run_link=run_link or None,
            description=description,
            model_id=model_id or None,
        )
        data = self._call("POST", f"{MV}/create", body)
        return rw.model_version_from_json(data["model_version"])

    def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        data = self._call("GET", f"{MV}/get", _version_ref(name, version))
        return rw.model_version_from_json(data["model_version"])

    def update_model_version(
        self, name: str, version: int | str, description: str | None
    ) -> ModelVersion:
        body = {**_version_ref(name, version), **given(description=description)}
        data = self._call("PATCH", f"{MV}/update", body)
        return rw.model_version_from_json(data["model_version"])

    def transition_model_version_stage(
        self, name: str, version: int | str, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        body = {
            **_version_ref(name, version),
            "stage": stage,
            "archive_existing_versions": bool(archive_existing_versions),
        }
        data = self._call("POST", f"{MV}/transition-stage", body)
        return rw.model_version_from_json(data["model_version"])

    def delete_model_version(self, name: str, version: int | str) -> None:
        self._call("DELETE", f"{MV}/delete", _version_ref(name, version), idempotent=False)

    def get_model_version_download_uri(self, name: str, version: int | str) -> str:
        data = self._call("GET", f"{MV}/get-download-uri", _version_ref(name, version))
        return str(data.get("artifact_uri", ""))

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = SEARCH_MODEL_VERSIONS_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        data = self._call(
            "GET", f"{MV}/search", _search_params(filter_string, max_results, order_by, page_token)
        )
        versions = rw.model_versions_from_json(data.get("model_versions", []))
        return PagedList(versions, data.get("next_page_token") or None)

    def set_model_version_tag(self, name: str, version: int | str, key: str, value: str) -> None:
        body = {**_version_ref(name, version), "key": key, "value": _text(value)}
        self._call("POST", f"{MV}/set-tag", body, idempotent=True)

    def delete_model_version_tag(self, name: str, version: int | str, key: str) -> None:
        self._call("DELETE", f"{MV}/delete-tag", {**_version_ref(name, version), "key": key})

    def copy_model_version(self, name: str, version: int | str, dst_name: str) -> ModelVersion:
        return copy_model_version(self, name, version, dst_name)

    # ------------------------------------------------------------------ lineage and audit

    def get_model_version_lineage(self, name: str, version: int | str) -> ModelVersionLineage:
        data = self._http.call_cairn("GET", "registry/lineage", params=_version_ref(name, version))
        return rw.lineage_from_json(data.get("lineage") or {})

    def get_registry_history(
        self,
        name: str | None = None,
        version: int | str | None = None,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> PagedList[RegistryEvent]:
        params = given(
            name=name,
            version=None if version is None else str(version),
            max_results=max_results,
            page_token=page_token or None,
        )
        data = self._http.call_cairn("GET", "registry/history", params=params)
        return rw.registry_events_from_json(data)


# ---------------------------------------------------------------------------- helpers


def _text(value: object) -> str:
    """Tag values are strings, as the SQL store makes them: MLflow servers refuse others."""
    return validation.stringify_value(value)


def _tags(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return key_values_to_json({k: _text(v) for k, v in tags.items()})


def _version_ref(name: str, version: int | str) -> dict[str, str]:
    return {"name": name, "version": str(version)}


def _search_params(
    filter_string: str | None,
    max_results: int,
    order_by: Sequence[str] | None,
    page_token: str | None,
) -> dict[str, Any]:
    params: dict[str, Any] = {"max_results": max_results}
    if filter_string:
        params["filter"] = filter_string
    if order_by:
        params["order_by"] = [order_by] if isinstance(order_by, str) else list(order_by)
    if page_token:
        params["page_token"] = page_token
    return params

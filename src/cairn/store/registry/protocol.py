"""What every registry store does: the SQL store (embedded, and behind the server) and the REST
store (a cairn or MLflow server) answer the same calls with the same entities and errors.

Names, arguments and errors follow MLflow's registry API. Versions are ints here; the wire
carries them as strings. Every change is recorded in the audit trail (who, when, before/after)
in the transaction that makes it, and queued for the webhooks subscribed to it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

from cairn.entities import PagedList
from cairn.entities.registry import (
    ModelVersion,
    ModelVersionLineage,
    RegisteredModel,
    RegistryEvent,
)
from cairn.entities.webhook import Webhook, WebhookDelivery

SEARCH_REGISTERED_MODELS_DEFAULT = 100
SEARCH_MODEL_VERSIONS_DEFAULT = 10_000  # MLflow's default page for version search


@runtime_checkable
class RegistryStore(Protocol):
    # ------------------------------------------------------------------ registered models
    def create_registered_model(
        self,
        name: str,
        tags: Mapping[str, str] | None = None,
        description: str | None = None,
    ) -> RegisteredModel: ...
    def get_registered_model(self, name: str) -> RegisteredModel: ...
    def update_registered_model(self, name: str, description: str | None) -> RegisteredModel: ...
    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel: ...
    def delete_registered_model(self, name: str) -> None: ...
    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = SEARCH_REGISTERED_MODELS_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]: ...
    def get_latest_versions(
        self, name: str, stages: Sequence[str] | None = None
    ) -> list[ModelVersion]: ...
    def set_registered_model_tag(self, name: str, key: str, value: str) -> None: ...
    def delete_registered_model_tag(self, name: str, key: str) -> None: ...

    # ------------------------------------------------------------------ aliases
    def set_registered_model_alias(self, name: str, alias: str, version: int | str) -> None: ...
    def delete_registered_model_alias(self, name: str, alias: str) -> None: ...
    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion: ...

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
    ) -> ModelVersion: ...
    def get_model_version(self, name: str, version: int | str) -> ModelVersion: ...
    def update_model_version(
        self, name: str, version: int | str, description: str | None
    ) -> ModelVersion: ...
    def transition_model_version_stage(
        self, name: str, version: int | str, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion: ...
    def delete_model_version(self, name: str, version: int | str) -> None: ...
    def get_model_version_download_uri(self, name: str, version: int | str) -> str: ...
    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = SEARCH_MODEL_VERSIONS_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]: ...
    def set_model_version_tag(
        self, name: str, version: int | str, key: str, value: str
    ) -> None: ...
    def delete_model_version_tag(self, name: str, version: int | str, key: str) -> None: ...
    def copy_model_version(self, name: str, version: int | str, dst_name: str) -> ModelVersion: ...

    # ------------------------------------------------------------------ lineage and audit
    def get_model_version_lineage(self, name: str, version: int | str) -> ModelVersionLineage: ...
    def get_registry_history(
        self,
        name: str | None = None,
        version: int | str | None = None,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> PagedList[RegistryEvent]: ...

    # ------------------------------------------------------------------ webhooks
    def create_webhook(
        self,
        name: str,
        url: str,
        events: Sequence[str],
        description: str | None = None,
        secret: str | None = None,
        status: str = "ACTIVE",
    ) -> Webhook: ...
    def get_webhook(self, webhook_id: str) -> Webhook: ...
    def list_webhooks(
        self, max_results: int = 100, page_token: str | None = None
    ) -> PagedList[Webhook]: ...
    def update_webhook(
        self,
        webhook_id: str,
        name: str | None = None,
        url: str | None = None,
        events: Sequence[str] | None = None,
        description: str | None = None,
        secret: str | None = None,
        status: str | None = None,
    ) -> Webhook: ...
    def delete_webhook(self, webhook_id: str) -> None: ...
    def test_webhook(self, webhook_id: str, event: str | None = None) -> WebhookDelivery: ...
    def list_webhook_deliveries(
        self, webhook_id: str, max_results: int = 100, page_token: str | None = None
    ) -> PagedList[WebhookDelivery]: ...

"""The registry half of ``MlflowClient``: registered models, versions, aliases, stages, tags,
the audit trail and webhooks, under MLflow's method names.

:class:`RegistryMethods` is written once and shared: :class:`RegistryClient` is just these
methods, and :class:`~cairn.tracking.client.TrackingClient` has them too (as ``MlflowClient``
does). Arguments are converted as MLflow's client converts them (versions as ints or strings,
tag values to strings); every rule beyond that is the store's.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from cairn import validation
from cairn.entities import PagedList
from cairn.errors import CairnError
from cairn.tracking import config

if TYPE_CHECKING:
    from cairn.entities.registry import (
        ModelVersion,
        ModelVersionLineage,
        RegisteredModel,
        RegistryEvent,
    )
    from cairn.entities.webhook import Webhook, WebhookDelivery
    from cairn.store.registry.protocol import RegistryStore

# How long create_model_version waits for a version a server still registers (MLflow's 300 s).
DEFAULT_AWAIT_REGISTRATION_S = 300
_POLL_S = 1.0


def version_number(version: int | str) -> int:
    """A version as MLflow's client takes it (``3`` or ``"3"``) as the int the stores use."""
    return validation.validate_model_version(version)


def _tags(tags: Mapping[str, Any] | None) -> dict[str, str] | None:
    if tags is None:
        return None
    return {str(k): validation.stringify_value(v) for k, v in tags.items()}


def _event_name(event: Any) -> str:
    """``"model_version.created"``, or MLflow's WebhookEvent(entity, action) as that string."""
    if isinstance(event, str):
        return event
    entity, action = getattr(event, "entity", None), getattr(event, "action", None)
    if entity is None or action is None:
        raise CairnError.invalid(f"Invalid webhook event {event!r}: expected '<entity>.<action>'.")
    return f"{getattr(entity, 'value', entity)}.{getattr(action, 'value', action)}"


class RegistryMethods:
    """Registry calls against the store at ``registry_uri`` (by default beside the tracking
    data). Classes using it set ``_tracking_uri`` and ``_registry_uri`` (None: the globals)."""

    _tracking_uri: str | None
    _registry_uri: str | None

    @property
    def registry_uri(self) -> str:
        """MLflow's order: this client's registry URI, the process's (``set_registry_uri``,
        ``CAIRN_REGISTRY_URI``), this client's tracking URI, the process's tracking URI."""
        return (
            self._registry_uri
            or config.explicit_registry_uri()
            or self._tracking_uri
            or config.get_tracking_uri()
        )

    @property
    def registry_store(self) -> RegistryStore:
        return config.get_registry_store(self.registry_uri)

    # ------------------------------------------------------------------ registered models

    def create_registered_model(
        self,
        name: str,
        tags: Mapping[str, Any] | None = None,
        description: str | None = None,
    ) -> RegisteredModel:
        return self.registry_store.create_registered_model(name, _tags(tags), description)

    def get_registered_model(self, name: str) -> RegisteredModel:
        return self.registry_store.get_registered_model(name)

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        return self.registry_store.rename_registered_model(name, new_name)

    def update_registered_model(self, name: str, description: str | None = None) -> RegisteredModel:
        return self.registry_store.update_registered_model(name, description)

    def delete_registered_model(self, name: str) -> None:
        self.registry_store.delete_registered_model(name)

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        return self.registry_store.search_registered_models(
            filter_string or None, max_results, list(order_by) if order_by else None, page_token
        )

    def get_latest_versions(
        self, name: str, stages: Sequence[str] | None = None
    ) -> list[ModelVersion]:
        return self.registry_store.get_latest_versions(name, list(stages) if stages else None)

    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        self.registry_store.set_registered_model_tag(name, key, validation.stringify_value(value))

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        self.registry_store.delete_registered_model_tag(name, key)

    # ------------------------------------------------------------------ aliases

    def set_registered_model_alias(self, name: str, alias: str, version: int | str) -> None:
        self.registry_store.set_registered_model_alias(name, alias, version_number(version))

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        self.registry_store.delete_registered_model_alias(name, alias)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        return self.registry_store.get_model_version_by_alias(name, alias)

    # ------------------------------------------------------------------ model versions

    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        await_creation_for: int = DEFAULT_AWAIT_REGISTRATION_S,
        model_id: str | None = None,
    ) -> ModelVersion:
        """A new version of ``name`` from ``source``; waits (up to ``await_creation_for``
        seconds) while a server still reports it PENDING_REGISTRATION."""
        from cairn.entities.registry import ModelVersionStatus

        version = self.registry_store.create_model_version(
            name, source, run_id, _tags(tags), run_link, description, model_id
        )
        deadline = time.monotonic() + max(await_creation_for or 0, 0)
        while (
            version.status == ModelVersionStatus.PENDING_REGISTRATION
            and time.monotonic() < deadline
        ):
            time.sleep(_POLL_S)
            version = self.registry_store.get_model_version(name, version.version)
        if version.status == ModelVersionStatus.FAILED_REGISTRATION:
            raise CairnError(
                f"Registering version {version.version} of {name!r} failed: "
                f"{version.status_message or 'no reason given'}.",
                "INVALID_STATE",
            )
        return version

    def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        return self.registry_store.get_model_version(name, version_number(version))

    def update_model_version(
        self, name: str, version: int | str, description: str | None = None
    ) -> ModelVersion:
        return self.registry_store.update_model_version(name, version_number(version), description)

    def transition_model_version_stage(
        self,
        name: str,
        version: int | str,
        stage: str,
        archive_existing_versions: bool = False,
    ) -> ModelVersion:
        return self.registry_store.transition_model_version_stage(
            name, version_number(version), stage, archive_existing_versions
        )

    def delete_model_version(self, name: str, version: int | str) -> None:
        self.registry_store.delete_model_version(name, version_number(version))

    def get_model_version_download_uri(self, name: str, version: int | str) -> str:
        return self.registry_store.get_model_version_download_uri(name, version_number(version))

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 10_000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        return self.registry_store.search_model_versions(
            filter_string or None, max_results, list(order_by) if order_by else None, page_token
        )

    def set_model_version_tag(self, name: str, version: int | str, key: str, value: Any) -> None:
        self.registry_store.set_model_version_tag(
            name, version_number(version), key, validation.stringify_value(value)
        )

    def delete_model_version_tag(self, name: str, version: int | str, key: str) -> None:
        self.registry_store.delete_model_version_tag(name, version_number(version), key)

    def copy_model_version(self, src_model_uri: str, dst_name: str) -> ModelVersion:
        """A new version of ``dst_name`` (created if missing) with the files and lineage of
        the version ``src_model_uri`` names (``models:/<name>/<version>``, ``@alias``, ...)."""
        from cairn.registry.uri import resolve_model_version

        store = self.registry_store
        source = resolve_model_version(store, src_model_uri)
        return store.copy_model_version(source.name, source.version, dst_name)

    # ------------------------------------------------------------------ lineage and audit

    def get_model_version_lineage(self, name: str, version: int | str) -> ModelVersionLineage:
        """The run, experiment, datasets, git commit and logged model a version came from."""
        return self.registry_store.get_model_version_lineage(name, version_number(version))

    def get_registry_history(
        self,
        name: str | None = None,
        version: int | str | None = None,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> PagedList[RegistryEvent]:
        """The audit trail, newest first: every change with who, when, before and after."""
        number = None if version is None else version_number(version)
        return self.registry_store.get_registry_history(name, number, max_results, page_token)

    # ------------------------------------------------------------------ webhooks

    def create_webhook(
        self,
        name: str,
        url: str,
        events: Sequence[Any],
        description: str | None = None,
        secret: str | None = None,
        status: str | None = None,
    ) -> Webhook:
        return self.registry_store.create_webhook(
            name,
            url,
            [_event_name(e) for e in events],
            description,
            secret,
            str(getattr(status, "value", status)) if status is not None else "ACTIVE",
        )

    def get_webhook(self, webhook_id: str) -> Webhook:
        return self.registry_store.get_webhook(webhook_id)

    def list_webhooks(
        self, max_results: int | None = None, page_token: str | None = None
    ) -> PagedList[Webhook]:
        return self.registry_store.list_webhooks(max_results or 100, page_token)

    def update_webhook(
        self,
        webhook_id: str,
        name: str | None = None,
        description: str | None = None,
        url: str | None = None,
        events: Sequence[Any] | None = None,
        secret: str | None = None,
        status: str | None = None,
    ) -> Webhook:
        return self.registry_store.update_webhook(
            webhook_id,
            name=name,
            url=url,
            events=None if events is None else [_event_name(e) for e in events],
            description=description,
            secret=secret,
            status=None if status is None else str(getattr(status, "value", status)),
        )

    def delete_webhook(self, webhook_id: str) -> None:
        self.registry_store.delete_webhook(webhook_id)

    def test_webhook(self, webhook_id: str, event: Any = None) -> WebhookDelivery:
        """Send a sample payload now; the delivery says what the receiver answered."""
        return self.registry_store.test_webhook(
            webhook_id, None if event is None else _event_name(event)
        )

    def list_webhook_deliveries(
        self, webhook_id: str, max_results: int = 100, page_token: str | None = None
    ) -> PagedList[WebhookDelivery]:
        return self.registry_store.list_webhook_deliveries(webhook_id, max_results, page_token)


class RegistryClient(RegistryMethods):
    """The model registry at ``registry_uri`` (default: beside the tracking data)."""

    def __init__(self, tracking_uri: str | None = None, registry_uri: str | None = None) -> None:
        self._tracking_uri = tracking_uri
        self._registry_uri = registry_uri

    @property
    def tracking_uri(self) -> str:
        return self._tracking_uri or config.get_tracking_uri()

    def __repr__(self) -> str:
        return f"RegistryClient(registry_uri={self.registry_uri!r})"

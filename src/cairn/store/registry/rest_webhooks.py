"""Webhook calls of the REST registry store (MLflow's /webhooks endpoints).

Works against cairn's server and MLflow's. The delivery log is cairn's own endpoint; from an
MLflow server a test ping comes back as a delivery that was not logged (no id).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from cairn.clock import now_ms
from cairn.entities import PagedList
from cairn.entities.webhook import DeliveryStatus, Webhook, WebhookDelivery
from cairn.server.wire import given
from cairn.store.http import HttpTransport
from cairn.webhooks import wire


class RestWebhooksMixin:
    _http: HttpTransport

    if TYPE_CHECKING:  # the REST registry store's request helper

        def _call(
            self,
            method: str,
            endpoint: str,
            body: Mapping[str, Any] | None = None,
            *,
            idempotent: bool | None = None,
        ) -> Any: ...

    def create_webhook(
        self,
        name: str,
        url: str,
        events: Sequence[str],
        description: str | None = None,
        secret: str | None = None,
        status: str | None = "ACTIVE",
    ) -> Webhook:
        body = given(
            name=name,
            url=url,
            events=[wire.event_to_json(e) for e in events],
            description=description,
            secret=secret,
            status=status,
        )
        return wire.webhook_from_json(self._call("POST", "webhooks", body)["webhook"])

    def get_webhook(self, webhook_id: str) -> Webhook:
        return wire.webhook_from_json(self._call("GET", _path(webhook_id))["webhook"])

    def list_webhooks(
        self, max_results: int = 100, page_token: str | None = None
    ) -> PagedList[Webhook]:
        params = given(max_results=max_results, page_token=page_token)
        data = self._call("GET", "webhooks", params)
        webhooks = [wire.webhook_from_json(w) for w in data.get("webhooks") or []]
        return PagedList(webhooks, data.get("next_page_token") or None)

    def update_webhook(
        self,
        webhook_id: str,
        name: str | None = None,
        url: str | None = None,
        events: Sequence[str] | None = None,
        description: str | None = None,
        secret: str | None = None,
        status: str | None = None,
    ) -> Webhook:
        body = given(
            name=name,
            url=url,
            events=None if events is None else [wire.event_to_json(e) for e in events],
            description=description,
            secret=secret,
            status=status,
        )
        return wire.webhook_from_json(self._call("PATCH", _path(webhook_id), body)["webhook"])

    def delete_webhook(self, webhook_id: str) -> None:
        # Not retried: a repeat after a lost answer would report the deleted webhook missing.
        self._call("DELETE", _path(webhook_id), idempotent=False)

    def test_webhook(self, webhook_id: str, event: str | None = None) -> WebhookDelivery:
        body = {"event": wire.event_to_json(event)} if event else {}
        data = self._call("POST", f"{_path(webhook_id)}/test", body)
        if isinstance(data.get("delivery"), dict):
            return wire.delivery_from_json(data["delivery"])
        result = data.get("result") or {}  # an MLflow server: only the outcome
        return WebhookDelivery(
            delivery_id="",
            webhook_id=webhook_id,
            event=event or "",
            status=DeliveryStatus.SUCCEEDED if result.get("success") else DeliveryStatus.FAILED,
            attempts=1,
            creation_timestamp=now_ms(),
            payload="",
            response_status=result.get("response_status"),
            error=result.get("error_message") or None,
        )

    def list_webhook_deliveries(
        self, webhook_id: str, max_results: int = 100, page_token: str | None = None
    ) -> PagedList[WebhookDelivery]:
        params = given(webhook_id=webhook_id, max_results=max_results, page_token=page_token)
        data = self._http.call_cairn("GET", "webhooks/deliveries", params=params)
        deliveries = [wire.delivery_from_json(d) for d in data.get("deliveries") or []]
        return PagedList(deliveries, data.get("next_page_token") or None)


def _path(webhook_id: str) -> str:
    return f"webhooks/{quote(webhook_id, safe='')}"

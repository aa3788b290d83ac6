"""Webhook calls of the REST registry store (MLflow's /webhooks endpoints)."""

from __future__ import annotations


class RestWebhooksMixin:
    """Placeholder until the webhooks work fills it in."""

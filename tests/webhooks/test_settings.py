"""Webhook settings: an operator's typo is a warning and a default, never a user's 400."""

from __future__ import annotations

import logging

import pytest

from cairn.store.registry.sql import SqlRegistryStore
from cairn.webhooks.settings import WebhookSettings


def test_bad_values_fall_back_to_their_defaults_one_by_one(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("CAIRN_WEBHOOK_TIMEOUT_S", "ten")
    monkeypatch.setenv("CAIRN_WEBHOOK_WORKERS", "0")
    monkeypatch.setenv("CAIRN_WEBHOOK_SWEEP_S", "nan")
    monkeypatch.setenv("CAIRN_WEBHOOK_MAX_ATTEMPTS", "7")
    monkeypatch.setenv("CAIRN_WEBHOOK_ALLOW_PRIVATE_IPS", "false")
    with caplog.at_level(logging.WARNING, logger="cairn.webhooks"):
        settings = WebhookSettings.from_env()
    defaults = WebhookSettings()
    assert (settings.timeout_s, settings.workers, settings.sweep_s) == (
        defaults.timeout_s,
        defaults.workers,
        defaults.sweep_s,
    )
    # The good values stay in force: one typo does not reopen private networks.
    assert (settings.max_attempts, settings.allow_private) == (7, False)
    logged = caplog.text
    assert "CAIRN_WEBHOOK_TIMEOUT_S='ten'" in logged
    assert "CAIRN_WEBHOOK_WORKERS='0'" in logged


def test_an_unreadable_flag_is_its_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAIRN_WEBHOOK_ALLOW_PRIVATE_IPS", "flase")
    assert WebhookSettings.from_env().allow_private is WebhookSettings().allow_private


def test_a_bad_setting_is_not_the_users_error(
    store: SqlRegistryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAIRN_WEBHOOK_TIMEOUT_S", "-1")
    hook = store.create_webhook("ok", "http://127.0.0.1:9/", ["registered_model.created"])
    assert store.update_webhook(hook.webhook_id, url="http://127.0.0.1:10/").url.endswith(":10/")
    result = store.test_webhook(hook.webhook_id)  # a closed port: reported, not raised
    assert result.status == "FAILED"

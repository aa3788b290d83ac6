"""``cairn webhooks``: create, list, describe, update, test, deliveries and delete, for people
(tables) and scripts (JSON), on the embedded SQLite store with a real receiver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cairn.webhooks import dispatcher
from cli_support import Cli
from webhook_receiver import Receiver, running_receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running
    dispatcher.shutdown()


def test_the_whole_life_of_a_webhook(cli: Cli, receiver: Receiver) -> None:
    created = cli.json(
        "webhooks", "create", "ci", "--url", receiver.url,
        "--event", "model_version.created", "--event", "registered_model.created",
        "--secret", "k", "--description", "notify CI",
    )  # fmt: skip
    hook_id = created["webhook_id"]
    assert created["events"] == ["model_version.created", "registered_model.created"]
    assert created["has_secret"] is True and "secret" not in created

    listed = cli.json("webhooks", "list")
    assert [w["webhook_id"] for w in listed["webhooks"]] == [hook_id]
    table = cli("webhooks", "list").stdout
    assert hook_id in table and "ci" in table

    described = cli("webhooks", "describe", hook_id).stdout
    assert "notify CI" in described and "set" in described
    assert cli.json("webhooks", "describe", hook_id)["url"] == receiver.url

    result = cli.json("webhooks", "test", hook_id, "--event", "registered_model.created")
    assert (result["status"], result["response_status"]) == ("SUCCEEDED", 200)
    assert receiver.requests[0].signed_by("k")

    updated = cli.json("webhooks", "update", hook_id, "--status", "disabled", "--secret", "")
    assert (updated["status"], updated["has_secret"]) == ("DISABLED", False)

    log = cli.json("webhooks", "deliveries", hook_id)
    assert [d["event"] for d in log["deliveries"]] == ["registered_model.created"]
    assert "SUCCEEDED" in cli("webhooks", "deliveries", hook_id).stdout

    assert hook_id in cli("webhooks", "delete", hook_id).stdout
    assert "No webhooks" in cli("webhooks", "list").stderr


def test_a_failed_test_ping_exits_1(cli: Cli, receiver: Receiver) -> None:
    receiver.status = 503
    hook_id = cli("webhooks", "create", "down", "--url", receiver.url, "--event",
                  "registered_model.created").stdout.strip()  # fmt: skip
    result = cli.invoke("webhooks", "test", hook_id)
    assert result.exit_code == 1
    assert "503" in result.stdout and "FAILED" in result.stdout


def test_bad_input_is_a_clean_error(cli: Cli) -> None:
    assert "scheme" in cli.fails(
        "webhooks", "create", "x", "--url", "ftp://x", "--event", "registered_model.created"
    )
    assert "not found" in cli.fails("webhooks", "describe", "no-such-id")
    assert "Invalid webhook name" in cli.fails(
        "webhooks", "create", "bad name", "--url", "https://x.example.com",
        "--event", "registered_model.created",
    )  # fmt: skip
    usage = cli.invoke("webhooks", "create", "x", "--url", "https://x.example.com")
    assert usage.exit_code == 2  # --event is required
    wrong_event = cli.invoke(
        "webhooks", "create", "x", "--url", "https://x.example.com", "--event", "run.created"
    )
    assert wrong_event.exit_code == 2

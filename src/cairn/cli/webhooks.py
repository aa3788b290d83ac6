"""``cairn webhooks``: registry webhooks and their delivery log.

The registry is the one the tracking URI names (a database or a server), as for every other
command; every call goes through :class:`~cairn.registry.client.RegistryClient`, as in
``cairn models``. JSON output is the entities as they are (``cairn models`` prints its own the
same way). Secrets are never printed: ``has_secret`` says whether one is set.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from cairn.cli import output
from cairn.entities.webhook import WEBHOOK_EVENTS, Webhook, WebhookDelivery, WebhookStatus

if TYPE_CHECKING:
    from cairn.registry.client import RegistryClient


def _client() -> RegistryClient:
    from cairn.registry.client import RegistryClient

    return RegistryClient()


def _print_webhook(webhook: Webhook, fmt: str) -> None:
    if fmt == output.JSON:
        output.print_json(webhook)
        return
    output.print_fields(
        {
            "ID": webhook.webhook_id,
            "Name": webhook.name,
            "URL": webhook.url,
            "Events": ", ".join(webhook.events),
            "Status": webhook.status,
            "Description": webhook.description or "",
            "Secret": "set" if webhook.has_secret else "none",
            "Created": output.format_time(webhook.creation_timestamp),
            "Updated": output.format_time(webhook.last_updated_timestamp),
        }
    )


def _print_delivery(delivery: WebhookDelivery, fmt: str) -> None:
    if fmt == output.JSON:
        output.print_json(delivery)
        return
    answer = delivery.response_status
    output.print_fields(
        {
            "Delivery": delivery.delivery_id or "(not logged)",
            "Event": delivery.event,
            "Status": delivery.status,
            "HTTP status": "" if answer is None else str(answer),
            "Error": delivery.error or "",
        }
    )


event_choice = click.Choice(list(WEBHOOK_EVENTS))
max_results_option = click.option(
    "--max-results",
    type=click.IntRange(1, 1000),
    default=100,
    show_default=True,
    help="At most this many.",
)


@click.group(cls=output.CairnGroup)
def webhooks() -> None:
    """Create, list, update, delete and test registry webhooks; show their deliveries."""


@webhooks.command("create")
@click.argument("name")
@click.option("--url", required=True, help="Where to POST the events (http or https).")
@click.option(
    "--event",
    "events",
    multiple=True,
    required=True,
    type=event_choice,
    help="An event to send, like model_version.created; repeat for more.",
)
@click.option("--description", help="What the webhook is for.")
@click.option(
    "--secret",
    envvar="CAIRN_WEBHOOK_SECRET",
    help="HMAC key that signs each delivery (X-MLflow-Signature) [env: CAIRN_WEBHOOK_SECRET].",
)
@click.option("--disabled", is_flag=True, help="Create it DISABLED (it sends nothing).")
@output.output_option
def create(
    name: str,
    url: str,
    events: tuple[str, ...],
    description: str | None,
    secret: str | None,
    disabled: bool,
    fmt: str,
) -> None:
    """Create webhook NAME; print its id."""
    status = WebhookStatus.DISABLED if disabled else WebhookStatus.ACTIVE
    webhook = _client().create_webhook(name, url, list(events), description, secret, status)
    if fmt == output.JSON:
        output.print_json(webhook)
    else:
        output.echo(webhook.webhook_id)


@webhooks.command("list")
@max_results_option
@click.option("--page-token", help="Continue after an earlier page (JSON output gives it).")
@output.output_option
def list_webhooks(max_results: int, page_token: str | None, fmt: str) -> None:
    """List webhooks, newest first."""
    page = _client().list_webhooks(max_results, page_token)
    if fmt == output.JSON:
        output.print_json({"webhooks": list(page), "next_page_token": page.token})
    elif not page:
        output.note("No webhooks.")
    else:
        output.print_table(
            ["ID", "Name", "Status", "Events", "URL"],
            ([w.webhook_id, w.name, w.status, ", ".join(w.events), w.url] for w in page),
            no_wrap=["ID"],
        )
        if page.token:
            output.note(f"More: --page-token {page.token}")


@webhooks.command("describe")
@click.argument("webhook_id")
@output.output_option
def describe(webhook_id: str, fmt: str) -> None:
    """Show one webhook."""
    _print_webhook(_client().get_webhook(webhook_id), fmt)


@webhooks.command("update")
@click.argument("webhook_id")
@click.option("--name", help="A new name.")
@click.option("--url", help="A new URL.")
@click.option(
    "--event",
    "events",
    multiple=True,
    type=event_choice,
    help="Replace the events with these; repeat for more.",
)
@click.option("--description", help="A new description ('' clears it).")
@click.option("--secret", help="A new HMAC key ('' removes it).")
@click.option(
    "--status", type=click.Choice(list(WebhookStatus.ALL), case_sensitive=False), default=None
)
@output.output_option
def update(
    webhook_id: str,
    name: str | None,
    url: str | None,
    events: tuple[str, ...],
    description: str | None,
    secret: str | None,
    status: str | None,
    fmt: str,
) -> None:
    """Change a webhook's fields (the others stay)."""
    webhook = _client().update_webhook(
        webhook_id,
        name=name,
        url=url,
        events=list(events) or None,
        description=description,
        secret=secret,
        status=status.upper() if status else None,
    )
    _print_webhook(webhook, fmt)


@webhooks.command("delete")
@click.argument("webhook_id")
def delete(webhook_id: str) -> None:
    """Delete a webhook and its delivery log."""
    _client().delete_webhook(webhook_id)
    output.echo(f"Deleted webhook {webhook_id}.")


@webhooks.command("test")
@click.argument("webhook_id")
@click.option("--event", type=event_choice, help="The event to imitate [default: its first].")
@output.output_option
def test(webhook_id: str, event: str | None, fmt: str) -> None:
    """Send an example event now and show the receiver's answer; exit 1 if it failed."""
    delivery = _client().test_webhook(webhook_id, event)
    _print_delivery(delivery, fmt)
    if delivery.status != "SUCCEEDED":
        raise SystemExit(1)


@webhooks.command("deliveries")
@click.argument("webhook_id")
@max_results_option
@click.option("--page-token", help="Continue after an earlier page (JSON output gives it).")
@output.output_option
def deliveries(webhook_id: str, max_results: int, page_token: str | None, fmt: str) -> None:
    """A webhook's deliveries, newest first: status, attempts, the receiver's answers."""
    page = _client().list_webhook_deliveries(webhook_id, max_results, page_token)
    if fmt == output.JSON:
        output.print_json({"deliveries": list(page), "next_page_token": page.token})
    elif not page:
        output.note("No deliveries.")
    else:
        output.print_table(
            ["Delivery", "Event", "Status", "Attempts", "HTTP", "Last attempt", "Error"],
            (
                [
                    d.delivery_id,
                    d.event,
                    d.status,
                    str(d.attempts),
                    "" if d.response_status is None else str(d.response_status),
                    output.format_time(d.last_attempt_timestamp),
                    d.error or "",
                ]
                for d in page
            ),
            no_wrap=["Delivery", "Last attempt"],
        )
        if page.token:
            output.note(f"More: --page-token {page.token}")

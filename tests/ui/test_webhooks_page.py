"""The webhooks page (#/webhooks) in Chromium, against a real receiver on 127.0.0.1.

Webhooks made in the UI are checked in the SQL store the server writes; registry events are
made through that store in this process (whose dispatcher then sends them), and what the
receiver got is compared with the delivery log the page shows.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from browser import set_theme
from cairn.entities.webhook import WEBHOOK_EVENTS
from cairn.errors import CairnError
from rest_server import CairnServer, free_port
from webhook_receiver import Receiver, running_receiver

API_JS = Path(__file__).resolve().parents[2] / "src" / "cairn" / "ui" / "static" / "api.js"
XSS_URL = 'http://127.0.0.1:9/h?"><img/src=x/onerror=alert(1)>'
XSS_DESCRIPTION = "<img src=x onerror=alert(2)><script>alert(3)</script>"
_names = itertools.count()


def fresh(prefix: str) -> str:
    return f"{prefix}-{next(_names)}"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


@pytest.fixture(scope="module")
def run_id(ui_client: Any) -> str:
    """A run to register versions from (``runs:/<id>/model`` sources)."""
    exp = ui_client.create_experiment("webhooks-ui")
    run = ui_client.create_run(exp, run_name="hooked-run").info.run_id
    ui_client.set_terminated(run)
    return run


def open_webhooks(page: Any, server: CairnServer, webhook_id: str = "") -> None:
    query = f"?webhook={webhook_id}" if webhook_id else ""
    page.goto(f"{server.url}/#/webhooks{query}")
    page.wait_for_selector('[data-testid="webhooks-page"][data-ready="true"]')


def row(page: Any, name: str) -> Any:
    return page.locator(f'[data-testid="webhook-row"][data-name="{name}"]')


def wait_log(page: Any, webhook_id: str) -> None:
    page.wait_for_selector(
        f'[data-testid="deliveries-body"][data-webhook-id="{webhook_id}"][data-ready="true"]'
    )


def log_rows(page: Any) -> list[dict[str, str]]:
    return page.eval_on_selector_all(
        '[data-testid="delivery-row"]',
        """rows => rows.map(r => ({
            id: r.dataset.deliveryId, status: r.dataset.status, event: r.dataset.event,
            test: r.dataset.test,
            attempts: r.querySelector('[data-testid=delivery-attempts]').textContent,
            response: r.querySelector('[data-testid=delivery-response]').textContent,
            error: r.querySelector('[data-testid=delivery-error]').textContent}))""",
    )


def wait_rows(page: Any, count: int, status: str) -> None:
    """Until the log shows ``count`` deliveries, all with ``status`` (it reloads itself while
    one it shows is pending)."""
    page.wait_for_function(
        """([n, s]) => {
            const rows = [...document.querySelectorAll('[data-testid=delivery-row]')];
            return rows.length === n && rows.every(r => r.dataset.status === s);
        }""",
        arg=[count, status],
    )


def handlers_in_page(page: Any) -> int:
    """Elements with an inline event handler (onerror, onclick, ...) anywhere in the page."""
    return page.evaluate(
        "() => [...document.querySelectorAll('*')].filter(e => [...e.attributes]"
        ".some(a => a.name.startsWith('on'))).length"
    )


def fill_form(page: Any, name: str, url: str, events: list[str], secret: str = "") -> None:
    page.click('[data-testid="webhook-new"]')
    form = page.locator('[data-testid="webhook-form"]')
    form.wait_for()
    form.locator('[data-testid="webhook-name-input"]').fill(name)
    form.locator('[data-testid="webhook-url-input"]').fill(url)
    if secret:
        form.locator('[data-testid="webhook-secret-input"]').fill(secret)
    for box in form.locator('[data-testid="webhook-event"]').all():
        box.set_checked(box.get_attribute("value") in events)


# ------------------------------------------------------------------ the event list


def test_the_ui_offers_exactly_the_servers_webhook_events() -> None:
    source = API_JS.read_text()
    block = re.search(r"export const WEBHOOK_EVENTS = \[(.*?)\];", source, re.DOTALL)
    assert block, "api.js must define WEBHOOK_EVENTS"
    assert tuple(re.findall(r'"([^"]+)"', block.group(1))) == WEBHOOK_EVENTS


# ------------------------------------------------------------------ create and deliver


def test_a_webhook_made_in_the_ui_gets_registry_events_and_logs_them(
    page: Any,
    ui_server: CairnServer,
    registry_store: Any,
    receiver: Receiver,
    run_id: str,
    screenshot: Callable[[Any, str], Any],
) -> None:
    name = fresh("ci-deploy")
    page.goto(ui_server.url + "/#/")
    page.click('[data-testid="nav-webhooks"]')
    page.wait_for_selector('[data-testid="webhooks-page"][data-ready="true"]')
    assert "active" in (page.get_attribute('[data-testid="nav-webhooks"]', "class") or "")

    fill_form(
        page,
        name,
        receiver.url,
        ["registered_model.created", "model_version.created"],
        secret="s3cret",
    )
    form = page.locator('[data-testid="webhook-form"]')
    assert form.locator('[data-testid="webhook-event"]').count() == len(WEBHOOK_EVENTS)
    set_theme(page, "light")
    screenshot(page, "webhooks-form-light")
    form.locator('[data-testid="webhook-create"]').click()
    form.wait_for(state="detached")

    created = row(page, name)
    created.wait_for()
    webhook_id = created.get_attribute("data-webhook-id")
    stored = registry_store.get_webhook(webhook_id)
    assert stored.events == ["registered_model.created", "model_version.created"]
    assert (stored.url, stored.status, stored.has_secret) == (receiver.url, "ACTIVE", True)
    assert created.locator('[data-testid="webhook-secret"]').inner_text() == "set"
    assert created.locator('[data-testid="webhook-status"]').inner_text() == "active"
    assert created.locator('[data-testid="webhook-events"]').get_attribute("data-events") == (
        "registered_model.created model_version.created"
    )
    # The new webhook's (empty) log opens under the list, its id in the URL.
    wait_log(page, webhook_id)
    page.wait_for_selector('[data-testid="deliveries-empty"]')
    assert f"webhook={webhook_id}" in page.evaluate("() => location.hash")

    model = fresh("hooked-model")
    registry_store.create_registered_model(model)
    registry_store.create_model_version(model, f"runs:/{run_id}/model", run_id=run_id)
    got = receiver.wait_for(2)  # sent in parallel: in either order
    assert {(r.json["entity"], r.json["action"], r.json["data"]["name"]) for r in got} == {
        ("registered_model", "created", model),
        ("model_version", "created", model),
    }
    assert all(r.signed_by("s3cret") for r in got)

    # The log showed nothing pending, so it does not poll: "Refresh" reads the new deliveries
    # (written with their events), and it polls while they are pending.
    page.click('[data-testid="deliveries-refresh"]')
    wait_rows(page, 2, "SUCCEEDED")
    rows = log_rows(page)
    assert sorted(r["event"] for r in rows) == ["model_version.created", "registered_model.created"]
    assert all(r["attempts"] == "1" and r["response"] == "200" for r in rows)
    assert all(r["test"] == "false" and r["error"] == "" for r in rows)
    stored_ids = [d.delivery_id for d in registry_store.list_webhook_deliveries(webhook_id, 10)]
    assert [r["id"] for r in rows] == stored_ids

    screenshot(page, "webhooks-page-light")
    set_theme(page, "dark")
    screenshot(page, "webhooks-page-dark")


def test_send_test_shows_the_receivers_answer_and_logs_the_ping(
    page: Any, ui_server: CairnServer, registry_store: Any
) -> None:
    with running_receiver(statuses=[500]) as receiver:  # the first ping fails, then 200s
        hook = registry_store.create_webhook(
            fresh("ping"), receiver.url, ["model_version_alias.created"]
        )
        open_webhooks(page, ui_server, hook.webhook_id)
        wait_log(page, hook.webhook_id)
        target = row(page, hook.name)
        assert target.get_attribute("aria-selected") == "true"
        assert target.locator('[data-testid="webhook-secret"]').inner_text() == "not set"

        target.locator('[data-testid="webhook-test"]').click()
        result = target.locator('[data-testid="webhook-test-result"][data-success="false"]')
        result.wait_for()
        assert "HTTP 500" in result.inner_text()
        wait_rows(page, 1, "FAILED")
        [failed] = log_rows(page)
        assert failed["test"] == "true" and failed["event"] == "model_version_alias.created"
        assert failed["response"] == "500" and "500" in failed["error"]

        target.locator('[data-testid="webhook-test"]').click()
        ok = target.locator('[data-testid="webhook-test-result"][data-success="true"]')
        ok.wait_for()
        assert ok.get_attribute("data-response-status") == "200"
        page.wait_for_function(
            "() => document.querySelectorAll('[data-testid=delivery-row]').length === 2"
        )
        assert [r["status"] for r in log_rows(page)] == ["SUCCEEDED", "FAILED"]
        pings = receiver.wait_for(2)
        assert {(p.json["entity"], p.json["action"]) for p in pings} == {
            ("model_version_alias", "created")
        }


def test_send_test_to_a_closed_port_shows_the_error(
    page: Any, ui_server: CairnServer, registry_store: Any
) -> None:
    hook = registry_store.create_webhook(
        fresh("closed"), f"http://127.0.0.1:{free_port()}/hook", ["model_version.created"]
    )
    open_webhooks(page, ui_server, hook.webhook_id)
    target = row(page, hook.name)
    target.locator('[data-testid="webhook-test"]').click()
    result = target.locator('[data-testid="webhook-test-result"][data-success="false"]')
    result.wait_for()
    assert result.get_attribute("data-response-status") == ""
    delivery = registry_store.list_webhook_deliveries(hook.webhook_id, 10)[0]
    assert delivery.error and delivery.error in result.inner_text()
    wait_rows(page, 1, "FAILED")
    assert log_rows(page)[0]["error"] == delivery.error


# ------------------------------------------------------------------ disable, delete


def test_a_disabled_webhook_gets_nothing_until_enabled_again(
    page: Any, ui_server: CairnServer, registry_store: Any, receiver: Receiver
) -> None:
    hook = registry_store.create_webhook(
        fresh("toggle"), receiver.url, ["registered_model.created"]
    )
    open_webhooks(page, ui_server)
    target = row(page, hook.name)
    target.locator('[data-testid="webhook-toggle"]').click()
    page.wait_for_selector(
        f'[data-testid="webhook-row"][data-name="{hook.name}"][data-status="DISABLED"]'
    )
    assert target.locator('[data-testid="webhook-status"]').inner_text() == "disabled"
    assert registry_store.get_webhook(hook.webhook_id).status == "DISABLED"

    # The outbox row is written with the event, in its transaction: none means none is coming.
    unheard = fresh("unheard")
    registry_store.create_registered_model(unheard)
    assert list(registry_store.list_webhook_deliveries(hook.webhook_id, 10)) == []

    target.locator('[data-testid="webhook-toggle"]').click()
    page.wait_for_selector(
        f'[data-testid="webhook-row"][data-name="{hook.name}"][data-status="ACTIVE"]'
    )
    assert registry_store.get_webhook(hook.webhook_id).status == "ACTIVE"
    heard = fresh("heard")
    registry_store.create_registered_model(heard)
    [got] = receiver.wait_for(1)
    assert got.json["data"]["name"] == heard
    target.locator('[data-testid="webhook-log"]').click()
    wait_log(page, hook.webhook_id)
    wait_rows(page, 1, "SUCCEEDED")
    assert [r.json["data"]["name"] for r in receiver.requests] == [heard]


def test_delete_asks_first(page: Any, ui_server: CairnServer, registry_store: Any) -> None:
    hook = registry_store.create_webhook(
        fresh("doomed"), "http://127.0.0.1:9/hook", ["model_version.created"]
    )
    open_webhooks(page, ui_server, hook.webhook_id)
    wait_log(page, hook.webhook_id)
    target = row(page, hook.name)
    target.locator('[data-testid="webhook-delete"]').click()
    dialog = page.locator('[data-testid="webhook-delete-dialog"]')
    dialog.wait_for()
    assert dialog.locator('[data-testid="webhook-delete-name"]').inner_text() == hook.name
    dialog.locator('[data-testid="dialog-cancel"]').click()
    dialog.wait_for(state="detached")
    assert registry_store.get_webhook(hook.webhook_id).name == hook.name

    target.locator('[data-testid="webhook-delete"]').click()
    dialog.locator('[data-testid="dialog-confirm"]').click()
    target.wait_for(state="detached")
    with pytest.raises(CairnError):
        registry_store.get_webhook(hook.webhook_id)
    page.wait_for_selector('[data-testid="webhook-deliveries"]', state="detached")
    assert "webhook=" not in page.evaluate("() => location.hash")


# ------------------------------------------------------------------ refusals


def test_the_servers_refusal_is_shown_in_the_form(
    page: Any, ui_server: CairnServer, registry_store: Any, request: pytest.FixtureRequest
) -> None:
    request.node.allowed_console_errors = ("status of 400",)
    name = fresh("refused")
    open_webhooks(page, ui_server)
    fill_form(page, name, "ftp://example.com/hook", ["model_version.created"])
    form = page.locator('[data-testid="webhook-form"]')
    form.locator('[data-testid="webhook-create"]').click()
    error = form.locator(".error-box")
    error.wait_for()
    assert "INVALID_PARAMETER_VALUE" in error.inner_text()
    assert "the scheme must be http or https" in error.inner_text()

    form.locator('[data-testid="webhook-url-input"]').fill("http://169.254.169.254/latest")
    form.locator('[data-testid="webhook-create"]').click()
    error.filter(has_text="169.254.169.254").wait_for()
    names = [w.name for w in registry_store.list_webhooks(1000)]
    assert name not in names

    # No event chosen: nothing to send.
    for box in form.locator('[data-testid="webhook-event"]').all():
        box.set_checked(False)
    expect(form.locator('[data-testid="webhook-create"]')).to_be_disabled()
    form.locator('[data-testid="webhook-form-cancel"]').click()
    form.wait_for(state="detached")
    assert row(page, name).count() == 0


# ------------------------------------------------------------------ user content stays text


def test_markup_in_urls_descriptions_and_errors_is_shown_as_text(
    page: Any, ui_server: CairnServer, registry_store: Any, request: pytest.FixtureRequest
) -> None:
    request.node.allowed_console_errors = ("status of 400",)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    hook = registry_store.create_webhook(
        fresh("markup"), XSS_URL, ["model_version.created"], description=XSS_DESCRIPTION
    )
    open_webhooks(page, ui_server, hook.webhook_id)
    target = row(page, hook.name)
    assert target.locator('[data-testid="webhook-url"]').inner_text() == XSS_URL
    assert target.locator('[data-testid="webhook-description"]').inner_text() == XSS_DESCRIPTION
    target.locator('[data-testid="webhook-test"]').click()  # port 9: refused
    target.locator('[data-testid="webhook-test-result"][data-success="false"]').wait_for()
    wait_rows(page, 1, "FAILED")
    page.click('[data-testid="delivery-row"] .delivery-payload summary')

    # A name the server refuses comes back in its message: as text too.
    fill_form(
        page, "<img src=x onerror=alert(5)>", "http://127.0.0.1:9/", ["model_version.created"]
    )
    form = page.locator('[data-testid="webhook-form"]')
    form.locator('[data-testid="webhook-create"]').click()
    error = form.locator(".error-box")
    error.wait_for()
    assert "<img src=x onerror=alert(5)>" in error.inner_text()
    assert page.locator("img[src=x]").count() == 0
    assert page.locator(".webhooks-page script").count() == 0
    assert handlers_in_page(page) == 0
    assert dialogs == []


# ------------------------------------------------------------------ paging


def test_the_delivery_log_pages_through_older_deliveries(
    page: Any, ui_server: CairnServer, registry_store: Any, receiver: Receiver
) -> None:
    hook = registry_store.create_webhook(
        fresh("chatty"), receiver.url, ["registered_model_tag.set"]
    )
    model = fresh("tagged")
    registry_store.create_registered_model(model)
    for i in range(30):
        registry_store.set_registered_model_tag(model, f"k{i}", str(i))
    receiver.wait_for(30)
    open_webhooks(page, ui_server, hook.webhook_id)
    wait_log(page, hook.webhook_id)
    assert len(log_rows(page)) == 25
    page.click('[data-testid="deliveries-load-more"]')
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=delivery-row]').length === 30"
    )
    wait_log(page, hook.webhook_id)
    assert page.locator('[data-testid="deliveries-load-more"]').count() == 0
    stored = [d.delivery_id for d in registry_store.list_webhook_deliveries(hook.webhook_id, 100)]
    assert [r["id"] for r in log_rows(page)] == stored


def test_a_link_to_a_webhook_that_is_gone_says_so(
    page: Any, ui_server: CairnServer, request: pytest.FixtureRequest
) -> None:
    request.node.allowed_console_errors = ("status of 404",)
    open_webhooks(page, ui_server, "no-such-webhook")
    error = page.wait_for_selector(".webhooks-page .error-box")
    assert "RESOURCE_DOES_NOT_EXIST" in error.inner_text()
    assert page.query_selector('[data-testid="webhook-deliveries"]') is None

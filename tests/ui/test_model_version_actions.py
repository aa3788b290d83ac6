"""The version page's actions in Chromium: "Delete version" and "Copy to model…", both behind
a confirmation dialog. What they did is checked in the SQL store the server writes and on the
pages the UI goes to afterwards."""

from __future__ import annotations

import itertools
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from cairn.errors import CairnError
from rest_server import CairnServer

_names = itertools.count()


def fresh_name(prefix: str) -> str:
    return f"{prefix}-{next(_names)}"


@pytest.fixture(scope="module")
def source(ui_client: Any) -> dict[str, str]:
    """A run with a logged model, to register versions from."""
    exp = ui_client.create_experiment("version-actions")
    run = ui_client.create_run(exp, run_name="actions-run").info.run_id
    model = ui_client.store.create_logged_model(exp, name="clf", source_run_id=run)
    ui_client.store.finalize_logged_model(model.model_id, "READY")
    ui_client.set_terminated(run)
    return {"run_id": run, "model_id": model.model_id}


def make_model(client: Any, source: dict[str, str], prefix: str, versions: int) -> str:
    name = fresh_name(prefix)
    client.create_registered_model(name)
    for _ in range(versions):
        client.create_model_version(
            name,
            f"models:/{source['model_id']}",
            run_id=source["run_id"],
            model_id=source["model_id"],
        )
    return name


def version_url(server: CairnServer, name: str, version: int | str) -> str:
    return f"{server.url}/#/models/{quote(name, safe='')}/versions/{version}"


def open_version(page: Any, server: CairnServer, name: str, version: int | str) -> None:
    page.goto(version_url(server, name, version))
    wait_version(page, name, version)


def wait_version(page: Any, name: str, version: int | str) -> None:
    page.wait_for_selector(
        f'[data-testid="version-page"][data-version="{version}"][data-ready="true"]'
    )
    assert page.get_attribute('[data-testid="version-page"]', "data-name") == name
    page.wait_for_selector('[data-testid="history-body"][data-ready="true"]')


def wait_model(page: Any, name: str) -> None:
    page.wait_for_selector(f'[data-testid="model-page"][data-name="{name}"][data-ready="true"]')
    page.wait_for_selector('[data-testid="history-body"][data-ready="true"]')


def history_kinds(page: Any) -> list[list[str | None]]:
    return page.eval_on_selector_all(
        '[data-testid="history-event"]',
        "items => items.map(li => [li.dataset.event, li.dataset.version || null])",
    )


# ------------------------------------------------------------------ delete


def test_delete_version_asks_first_and_takes_its_aliases_along(
    page: Any,
    ui_server: CairnServer,
    ui_client: Any,
    source: dict[str, str],
    registry_store: Any,
    screenshot: Any,
) -> None:
    name = make_model(ui_client, source, "delete-version", versions=2)
    ui_client.set_registered_model_alias(name, "champion", 1)
    ui_client.set_registered_model_alias(name, "keep", 2)
    open_version(page, ui_server, name, 1)

    page.click('[data-testid="version-delete"]')
    dialog = page.locator('[data-testid="delete-version-dialog"]')
    dialog.wait_for()
    assert dialog.locator('[data-testid="delete-version-number"]').inner_text() == "1"
    assert dialog.locator('[data-testid="delete-version-name"]').inner_text() == name
    assert f"Delete version 1 of {name} and its alias champion?" in dialog.inner_text()
    screenshot(page, "model-version-delete-dialog")
    dialog.locator('[data-testid="dialog-cancel"]').click()
    dialog.wait_for(state="detached")
    assert registry_store.get_model_version(name, 1).version == 1

    page.click('[data-testid="version-delete"]')
    dialog.wait_for()
    page.keyboard.press("Escape")
    dialog.wait_for(state="detached")
    assert registry_store.get_model_version(name, 1).version == 1

    page.click('[data-testid="version-delete"]')
    dialog.locator('[data-testid="dialog-confirm"]').click()
    wait_model(page, name)
    assert page.evaluate("() => location.hash") == f"#/models/{quote(name, safe='')}"
    with pytest.raises(CairnError):
        registry_store.get_model_version(name, 1)
    with pytest.raises(CairnError):
        registry_store.get_model_version_by_alias(name, "champion")
    assert registry_store.get_model_version_by_alias(name, "keep").version == 2

    rows = page.eval_on_selector_all(
        '[data-testid="version-row"]', "rows => rows.map(r => r.dataset.version)"
    )
    assert rows == ["2"]
    chips = page.eval_on_selector_all(
        '[data-testid="alias-editor"] [data-testid="alias-chip"]',
        "cs => cs.map(c => c.dataset.alias + ':' + c.dataset.version)",
    )
    assert chips == ["keep:2"]
    assert ["model_version.deleted", "1"] in history_kinds(page)


def test_deleting_a_version_that_is_already_gone_shows_the_error(
    page: Any,
    ui_server: CairnServer,
    ui_client: Any,
    source: dict[str, str],
    registry_store: Any,
    request: pytest.FixtureRequest,
) -> None:
    request.node.allowed_console_errors = ("status of 404",)
    name = make_model(ui_client, source, "delete-gone", versions=1)
    open_version(page, ui_server, name, 1)
    registry_store.delete_model_version(name, 1)  # someone else was quicker
    page.click('[data-testid="version-delete"]')
    dialog = page.locator('[data-testid="delete-version-dialog"]')
    dialog.locator('[data-testid="dialog-confirm"]').click()
    error = dialog.locator(".error-box")
    error.wait_for()
    assert "RESOURCE_DOES_NOT_EXIST" in error.inner_text()
    assert page.evaluate("() => location.hash").endswith("/versions/1")  # stayed


# ------------------------------------------------------------------ copy


def copy_to(page: Any, target: str) -> None:
    page.click('[data-testid="version-copy"]')
    dialog = page.locator('[data-testid="copy-version-dialog"]')
    dialog.wait_for()
    expect(dialog.locator('[data-testid="dialog-confirm"]')).to_be_disabled()  # no target yet
    dialog.locator('[data-testid="copy-target-input"]').fill(target)
    dialog.locator('[data-testid="dialog-confirm"]').click()


def test_copy_into_a_new_model_creates_it_with_the_source_version(
    page: Any,
    ui_server: CairnServer,
    ui_client: Any,
    source: dict[str, str],
    registry_store: Any,
    screenshot: Any,
) -> None:
    name = make_model(ui_client, source, "copy-src", versions=2)
    ui_client.set_model_version_tag(name, 2, "validated", "yes")
    ui_client.update_model_version(name, 2, description="calibrated on May data")
    target = fresh_name("prod.copy ü")
    with pytest.raises(CairnError):
        registry_store.get_registered_model(target)
    open_version(page, ui_server, name, 2)

    page.click('[data-testid="version-copy"]')
    dialog = page.locator('[data-testid="copy-version-dialog"]')
    dialog.locator('[data-testid="copy-target-input"]').fill(target)
    assert f"whose source is models:/{name}/2," in dialog.inner_text()
    screenshot(page, "model-version-copy-dialog")
    dialog.locator('[data-testid="dialog-cancel"]').click()
    dialog.wait_for(state="detached")
    with pytest.raises(CairnError):
        registry_store.get_registered_model(target)

    copy_to(page, target)
    wait_version(page, target, 1)
    assert page.evaluate("() => location.hash") == (f"#/models/{quote(target, safe='')}/versions/1")
    copy = registry_store.get_model_version(target, 1)
    src = registry_store.get_model_version(name, 2)
    assert copy.source == f"models:/{name}/2"
    assert (copy.run_id, copy.model_id) == (src.run_id, src.model_id)
    assert copy.tags == {"validated": "yes"}
    assert copy.description == "calibrated on May data"
    assert page.inner_text('[data-testid="version-source"]') == f"models:/{name}/2"

    # The copy's files are where the source's are.
    storage = page.locator('[data-testid="version-storage"]')
    storage.wait_for()
    assert storage.inner_text() == registry_store.get_model_version_download_uri(name, 2)
    assert storage.inner_text() == registry_store.get_model_version_download_uri(target, 1)
    assert ["model_version.created", "1"] in history_kinds(page)


def test_copy_into_an_existing_model_adds_a_version(
    page: Any,
    ui_server: CairnServer,
    ui_client: Any,
    source: dict[str, str],
    registry_store: Any,
) -> None:
    name = make_model(ui_client, source, "copy-from", versions=1)
    target = make_model(ui_client, source, "copy-into", versions=2)
    open_version(page, ui_server, name, 1)
    copy_to(page, target)
    wait_version(page, target, 3)
    copy = registry_store.get_model_version(target, 3)
    assert copy.source == f"models:/{name}/1"
    assert page.inner_text('[data-testid="version-source"]') == f"models:/{name}/1"
    storage = page.locator('[data-testid="version-storage"]')
    storage.wait_for()
    assert storage.inner_text() == registry_store.get_model_version_download_uri(name, 1)

    page.click('[data-testid="crumb-model"]')
    wait_model(page, target)
    assert ["model_version.created", "3"] in history_kinds(page)
    rows = page.eval_on_selector_all(
        '[data-testid="version-row"]', "rows => rows.map(r => r.dataset.version)"
    )
    assert rows == ["3", "2", "1"]


def test_copy_to_an_invalid_name_shows_the_server_error(
    page: Any,
    ui_server: CairnServer,
    ui_client: Any,
    source: dict[str, str],
    request: pytest.FixtureRequest,
) -> None:
    request.node.allowed_console_errors = ("status of 400",)
    name = make_model(ui_client, source, "copy-bad", versions=1)
    open_version(page, ui_server, name, 1)
    copy_to(page, "a/b:c" * 100)
    error = page.locator('[data-testid="copy-version-dialog"] .error-box')
    error.wait_for()
    assert "INVALID_PARAMETER_VALUE" in error.inner_text()
    assert page.evaluate("() => location.hash").endswith("/versions/1")

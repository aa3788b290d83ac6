"""The model registry pages in Chromium: the models list (#/models), a model's page
(#/models/<name>), a version's page (#/models/<name>/versions/<v>) and the run page's
registered versions. Changes made through the UI are checked in the SQL store the server
writes, and in the audit history the page shows."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from browser import set_theme
from cairn.entities import Dataset, DatasetInput, InputTag
from cairn.errors import CairnError
from rest_server import CairnServer

COMMIT = "9c1d5e7b8a0f4c6d2e1b9a8c7d6e5f4a3b2c3f2a"
MAIN = "fraud detector ü"
XSS = "<img src=x onerror=alert(1)> \"q\" 'x' #?%& \\"
XSS_DESCRIPTION = "**bold** text\n\n<script>alert(3)</script>\n\n<img src=x onerror=alert(4)>"
XSS_TAG_VALUE = "<img src=x onerror=alert(2)>"
SCHEMA = json.dumps({"mlflow_colspec": [{"type": "double", "name": "x"}]})
_names = itertools.count()


@dataclass
class Seeded:
    experiment_id: str
    run: str
    model_id: str
    gone_run: str


def fresh_name(prefix: str) -> str:
    """A model name no other test uses (tests that change a model get their own)."""
    return f"{prefix}-{next(_names)}"


@pytest.fixture(scope="module")
def seeded(ui_client: Any, ui_server: CairnServer) -> Seeded:
    client = ui_client
    exp = client.create_experiment("registry-ui")
    run = client.create_run(
        exp, run_name="train-run", tags={"mlflow.source.git.commit": COMMIT}
    ).info.run_id
    client.log_inputs(
        run,
        [
            DatasetInput(
                Dataset("train-set", "d1g3st", "local", '{"uri": "/data/train.csv"}', SCHEMA),
                [InputTag("mlflow.data.context", "training")],
            )
        ],
    )
    model = client.store.create_logged_model(exp, name="clf", source_run_id=run)
    client.store.finalize_logged_model(model.model_id, "READY")
    client.set_terminated(run)

    client.create_registered_model(
        MAIN, tags={"team": "risk"}, description="# Fraud\n\nCatches **fraud** early."
    )
    for _ in range(3):
        client.create_model_version(
            MAIN, f"models:/{model.model_id}", run_id=run, model_id=model.model_id
        )
    client.transition_model_version_stage(MAIN, 1, "Production")
    client.transition_model_version_stage(MAIN, 2, "Staging")
    client.set_registered_model_alias(MAIN, "champion", 3)
    client.set_registered_model_alias(MAIN, "challenger", 2)

    client.create_registered_model(XSS, tags={"note": XSS_TAG_VALUE}, description=XSS_DESCRIPTION)
    client.create_model_version(XSS, f"runs:/{run}/model", run_id=run)

    # A version whose run was deleted for good: the lineage shows the run as gone.
    gone = client.create_run(exp, run_name="gone-run").info.run_id
    client.create_registered_model("gone-run-model")
    client.create_model_version("gone-run-model", f"runs:/{gone}/model", run_id=gone)
    client.delete_run(gone)
    from cairn.store.tracking import get_tracking_store

    get_tracking_store(ui_server.backend_store_uri).purge_deleted_runs(0, [gone])
    return Seeded(exp, run, model.model_id, gone)


def make_model(client: Any, seeded: Seeded, prefix: str, versions: int = 1) -> str:
    """A model of its own for a test that changes it: ``versions`` versions from the run."""
    name = fresh_name(prefix)
    client.create_registered_model(name, description="first words")
    for _ in range(versions):
        client.create_model_version(
            name, f"models:/{seeded.model_id}", run_id=seeded.run, model_id=seeded.model_id
        )
    return name


def model_url(server: CairnServer, name: str) -> str:
    return f"{server.url}/#/models/{quote(name, safe='')}"


def version_url(server: CairnServer, name: str, version: int) -> str:
    return f"{model_url(server, name)}/versions/{version}"


def open_models(page: Any, server: CairnServer, query: str = "") -> None:
    page.goto(f"{server.url}/#/models{query}")
    page.wait_for_selector('[data-testid="models-page"][data-ready="true"]')


def open_model(page: Any, server: CairnServer, name: str) -> None:
    page.goto(model_url(server, name))
    wait_model_ready(page)


def wait_model_ready(page: Any) -> None:
    page.wait_for_selector('[data-testid="model-page"][data-ready="true"]')
    page.wait_for_selector('[data-testid="history-body"][data-ready="true"]')


def open_version(page: Any, server: CairnServer, name: str, version: int) -> None:
    page.goto(version_url(server, name, version))
    page.wait_for_selector('[data-testid="version-page"][data-ready="true"]')
    page.wait_for_selector('[data-testid="history-body"][data-ready="true"]')


def listed_names(page: Any) -> list[str]:
    return page.eval_on_selector_all(
        '[data-testid="model-row"]', "rows => rows.map(r => r.dataset.name)"
    )


def history_events(page: Any) -> list[dict[str, Any]]:
    """The timeline as shown: event, version and each change's key -> [before, after]."""
    return page.eval_on_selector_all(
        '[data-testid="history-event"]',
        """items => items.map(li => ({
            event: li.dataset.event, version: li.dataset.version || null,
            user: li.querySelector('[data-testid=history-user]').textContent,
            text: li.textContent,
            changes: Object.fromEntries(
              [...li.querySelectorAll('[data-testid=history-change]')].map(c => [
              c.dataset.key,
              [c.querySelector('[data-testid=history-before]')?.title ?? null,
               c.querySelector('[data-testid=history-after]')?.title ?? null]]))}))""",
    )


def handlers_in_page(page: Any) -> int:
    """Elements with an inline event handler (onerror, onclick, ...) anywhere in the page."""
    return page.evaluate(
        "() => [...document.querySelectorAll('*')].filter(e => [...e.attributes]"
        ".some(a => a.name.startsWith('on'))).length"
    )


def wait_history(page: Any, event: str) -> None:
    page.wait_for_selector(f'[data-testid="history-event"][data-event="{event}"]')


# ------------------------------------------------------------------ the list


def test_nav_opens_the_models_list_with_versions_aliases_tags_and_descriptions(
    page: Any, ui_server: CairnServer, seeded: Seeded, screenshot: Callable[[Any, str], Any]
) -> None:
    page.goto(ui_server.url + "/#/")
    page.click('[data-testid="nav-models"]')
    page.wait_for_selector('[data-testid="models-page"][data-ready="true"]')
    assert "active" in (page.get_attribute('[data-testid="nav-models"]', "class") or "")
    names = listed_names(page)
    assert names == sorted(names, key=str) and MAIN in names and XSS in names

    row = page.locator(f'[data-testid="model-row"][data-name="{MAIN}"]')
    assert row.locator('[data-testid="model-latest"]').inner_text() == "v3"
    chips = row.locator('[data-testid="alias-chip"]')
    assert chips.all_inner_texts() == ["challenger → v2", "champion → v3"]
    assert "team=risk" in row.locator('[data-testid="model-tags"]').inner_text()
    assert row.locator('[data-testid="model-description"]').inner_text() == "Fraud"
    chip_href = chips.first.locator("a").get_attribute("href")
    assert chip_href == f"#/models/{quote(MAIN, safe='')}/versions/2"

    set_theme(page, "light")
    screenshot(page, "models-list-light")
    set_theme(page, "dark")
    screenshot(page, "models-list-dark")

    row.locator('[data-testid="model-link"]').click()
    wait_model_ready(page)
    assert page.inner_text('[data-testid="model-name"]') == MAIN


def test_the_list_sorts_by_name_and_by_last_modified_on_the_server(
    page: Any, ui_server: CairnServer, seeded: Seeded, registry_store: Any
) -> None:
    open_models(page, ui_server)
    page.click('[data-testid="sort-name"]')
    page.wait_for_function("() => location.hash.includes('sort=name%3Adesc')")
    page.wait_for_selector('[data-testid="models-page"][data-ready="true"]')
    names = listed_names(page)
    assert names == sorted(names, key=str, reverse=True)

    page.click('[data-testid="sort-modified"]')
    page.wait_for_function("() => location.hash.includes('sort=modified%3Adesc')")
    page.wait_for_selector('[data-testid="models-page"][data-ready="true"]')
    expected = [
        m.name
        for m in registry_store.search_registered_models(
            order_by=["last_updated_timestamp DESC"], max_results=50
        )
    ]
    assert listed_names(page) == expected


def test_search_by_name_words_and_by_filter(
    page: Any, ui_server: CairnServer, seeded: Seeded, request: pytest.FixtureRequest
) -> None:
    request.node.allowed_console_errors = ("status of 400",)
    open_models(page, ui_server)
    page.fill('[data-testid="models-search"]', "detector Ü".lower())
    page.press('[data-testid="models-search"]', "Enter")
    page.wait_for_function(
        "n => [...document.querySelectorAll('[data-testid=model-row]')].map(r => r.dataset.name)"
        ".join('|') === n",
        arg=MAIN,
    )
    # Quotes, a backslash and LIKE's wildcards in plain words are searched for literally.
    page.fill('[data-testid="models-search"]', "\"q\" 'x' #?%& \\")
    page.press('[data-testid="models-search"]', "Enter")
    page.wait_for_function(
        "n => [...document.querySelectorAll('[data-testid=model-row]')].map(r => r.dataset.name)"
        ".join('|') === n",
        arg=XSS,
    )
    page.fill('[data-testid="models-search"]', "tags.team = 'risk'")
    page.press('[data-testid="models-search"]', "Enter")
    page.wait_for_function(
        "n => [...document.querySelectorAll('[data-testid=model-row]')].map(r => r.dataset.name)"
        ".join('|') === n",
        arg=MAIN,
    )
    page.fill('[data-testid="models-search"]', "tags.team = ")
    page.press('[data-testid="models-search"]', "Enter")
    error = page.wait_for_selector(".models-page .error-box")
    assert "INVALID_PARAMETER_VALUE" in error.inner_text()
    page.fill('[data-testid="models-search"]', "no such model anywhere")
    page.press('[data-testid="models-search"]', "Enter")
    page.wait_for_selector('[data-testid="models-none"]')
    assert page.query_selector('[data-testid="models-empty"]') is None


# ------------------------------------------------------------------ the model page


def test_model_page_shows_versions_aliases_tags_and_history(
    page: Any, ui_server: CairnServer, seeded: Seeded, screenshot: Callable[[Any, str], Any]
) -> None:
    open_model(page, ui_server, MAIN)
    assert page.title().startswith(MAIN)
    rows = page.eval_on_selector_all(
        '[data-testid="version-row"]',
        "rows => rows.map(r => [r.dataset.version, r.querySelector('[data-testid=stage-badge]')"
        ".textContent, r.querySelector('[data-testid=version-status]').textContent])",
    )
    assert rows == [["3", "None", "ready"], ["2", "Staging", "ready"], ["1", "Production", "ready"]]
    run_link = page.locator(
        '[data-testid="version-row"][data-version="3"] [data-testid="version-run-link"]'
    )
    assert run_link.get_attribute("href") == f"#/runs/{seeded.run}"
    assert page.locator(
        '[data-testid="alias-editor"] [data-testid="alias-chip"] a'
    ).all_inner_texts() == [
        "challenger → v2",
        "champion → v3",
    ]
    tags = page.eval_on_selector_all(
        '[data-testid="model-tags"] [data-testid="tag-row"]', "rows => rows.map(r => r.dataset.key)"
    )
    assert tags == ["team"]
    assert page.locator('[data-testid="model-description"] h1').inner_text() == "Fraud"

    events = history_events(page)
    kinds = [e["event"] for e in events]
    assert kinds[0] == "model_version_alias.created"  # newest first
    assert kinds[-1] == "registered_model.created"
    stage = next(
        e for e in events if e["event"] == "model_version.stage_changed" and e["version"] == "2"
    )
    assert stage["changes"] == {"current_stage": ["None", "Staging"]}
    set_theme(page, "light")
    screenshot(page, "model-page-light")
    set_theme(page, "dark")
    screenshot(page, "model-page-dark")

    run_link.click()
    page.wait_for_selector(
        f'[data-testid="run-page"][data-run-id="{seeded.run}"][data-ready="true"]'
    )


def test_editing_the_description_reaches_the_store_and_the_history(
    page: Any, ui_server: CairnServer, seeded: Seeded, ui_client: Any, registry_store: Any
) -> None:
    name = make_model(ui_client, seeded, "describe")
    open_model(page, ui_server, name)
    page.click('[data-testid="model-description"] [data-testid="description-edit"]')
    page.fill('[data-testid="description-input"]', "## Better\n\nnew words")
    page.click('[data-testid="description-save"]')
    page.locator('[data-testid="model-description"] h2', has_text="Better").wait_for()
    wait_history(page, "registered_model.updated")
    assert registry_store.get_registered_model(name).description == "## Better\n\nnew words"
    event = next(e for e in history_events(page) if e["event"] == "registered_model.updated")
    assert event["changes"] == {"description": ["first words", "## Better\n\nnew words"]}
    assert event["user"] == "anonymous"  # the browser declares no user


def test_tags_are_added_edited_and_deleted(
    page: Any, ui_server: CairnServer, seeded: Seeded, ui_client: Any, registry_store: Any
) -> None:
    name = make_model(ui_client, seeded, "tags")
    open_model(page, ui_server, name)
    tags = page.locator('[data-testid="model-tags"]')
    tags.locator('[data-testid="tag-add-key"]').fill("owner")
    tags.locator('[data-testid="tag-add-value"]').fill("alice")
    tags.locator('[data-testid="tag-add"]').click()
    tags.locator('[data-testid="tag-row"][data-key="owner"]').wait_for()
    assert registry_store.get_registered_model(name).tags == {"owner": "alice"}

    row = tags.locator('[data-testid="tag-row"][data-key="owner"]')
    row.locator('[data-testid="tag-edit"]').click()
    row.locator('[data-testid="tag-value-input"]').fill("bob")
    row.locator('[data-testid="tag-save"]').click()
    row.locator("td.kv-value", has_text="bob").wait_for()
    assert registry_store.get_registered_model(name).tags == {"owner": "bob"}
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=history-event]"
        '[data-event="registered_model_tag.set"]\').length === 2'
    )
    edit = next(e for e in history_events(page) if e["event"] == "registered_model_tag.set")
    assert edit["changes"]["value"] == ["alice", "bob"]

    row.locator('[data-testid="tag-delete"]').click()
    row.wait_for(state="detached")
    assert registry_store.get_registered_model(name).tags == {}
    wait_history(page, "registered_model_tag.deleted")


def test_aliases_are_set_and_removed(
    page: Any, ui_server: CairnServer, seeded: Seeded, ui_client: Any, registry_store: Any
) -> None:
    name = make_model(ui_client, seeded, "aliases", versions=2)
    open_model(page, ui_server, name)
    editor = page.locator('[data-testid="alias-editor"]')
    assert editor.locator('[data-testid="alias-version-input"]').input_value() == "2"  # latest
    editor.locator('[data-testid="alias-input"]').fill("latest")
    expect(editor.locator(".field-problem")).to_have_text("“latest” is reserved.")
    expect(editor.locator('[data-testid="alias-add"]')).to_be_disabled()
    editor.locator('[data-testid="alias-input"]').fill("champion")
    editor.locator('[data-testid="alias-version-input"]').fill("1")
    editor.locator('[data-testid="alias-add"]').click()
    editor.locator('[data-testid="alias-chip"][data-alias="champion"]').wait_for()
    assert registry_store.get_model_version_by_alias(name, "champion").version == 1
    page.locator('[data-testid="version-row"][data-version="1"]', has_text="@champion").wait_for()
    wait_history(page, "model_version_alias.created")

    # Pointing it at another version moves it; the history shows from which version to which.
    editor.locator('[data-testid="alias-input"]').fill("champion")
    expect(editor.locator('[data-testid="alias-version-input"]')).to_have_value("2")
    editor.locator('[data-testid="alias-add"]').click()
    editor.locator('[data-testid="alias-chip"][data-alias="champion"][data-version="2"]').wait_for()
    assert registry_store.get_model_version_by_alias(name, "champion").version == 2
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=history-event]"
        '[data-event^="model_version_alias."]\').length === 2'
    )
    moved = history_events(page)[0]
    assert moved["version"] == "2"
    assert moved["changes"] == {"version": ["1", "2"]}

    editor.locator(
        '[data-testid="alias-chip"][data-alias="champion"] [data-testid="alias-remove"]'
    ).click()
    editor.locator('[data-testid="alias-chip"]').first.wait_for(state="detached")
    with pytest.raises(CairnError):
        registry_store.get_model_version_by_alias(name, "champion")
    wait_history(page, "model_version_alias.deleted")


def test_rename_and_delete_ask_first(
    page: Any, ui_server: CairnServer, seeded: Seeded, ui_client: Any, registry_store: Any
) -> None:
    name = make_model(ui_client, seeded, "old name")
    new_name = name.replace("old", "new") + " ✓"
    open_model(page, ui_server, name)
    page.click('[data-testid="model-rename"]')
    dialog = page.locator('[data-testid="rename-dialog"]')
    dialog.wait_for()
    dialog.locator('[data-testid="dialog-cancel"]').click()
    dialog.wait_for(state="detached")
    assert registry_store.get_registered_model(name).name == name

    page.click('[data-testid="model-rename"]')
    dialog.locator('[data-testid="rename-input"]').fill(new_name)
    dialog.locator('[data-testid="dialog-confirm"]').click()
    page.wait_for_selector(f'[data-testid="model-page"][data-name="{new_name}"][data-ready="true"]')
    assert page.evaluate("() => location.hash") == f"#/models/{quote(new_name, safe='')}"
    assert registry_store.get_registered_model(new_name).name == new_name
    with pytest.raises(CairnError):
        registry_store.get_registered_model(name)
    wait_history(page, "registered_model.renamed")

    page.click('[data-testid="model-delete"]')
    dialog = page.locator('[data-testid="delete-dialog"]')
    dialog.wait_for()  # visible: open as a modal, as a user would see it
    assert dialog.locator('[data-testid="delete-name"]').inner_text() == new_name
    assert "its 1 version" in dialog.inner_text()
    page.keyboard.press("Escape")
    dialog.wait_for(state="detached")
    assert registry_store.get_registered_model(new_name).name == new_name

    page.click('[data-testid="model-delete"]')
    dialog.locator('[data-testid="dialog-confirm"]').click()
    page.wait_for_selector('[data-testid="models-page"][data-ready="true"]')
    assert page.evaluate("() => location.hash") == "#/models"
    with pytest.raises(CairnError):
        registry_store.get_registered_model(new_name)
    assert new_name not in listed_names(page)


def test_a_missing_model_shows_the_error(
    page: Any, ui_server: CairnServer, request: pytest.FixtureRequest
) -> None:
    request.node.allowed_console_errors = ("status of 404",)
    page.goto(model_url(ui_server, "no such model"))
    error = page.wait_for_selector(".model-page .error-box")
    assert "RESOURCE_DOES_NOT_EXIST" in error.inner_text()


# ------------------------------------------------------------------ the version page


def test_version_page_details_lineage_and_run_link(
    page: Any, ui_server: CairnServer, seeded: Seeded, screenshot: Callable[[Any, str], Any]
) -> None:
    open_version(page, ui_server, MAIN, 3)
    assert page.inner_text('[data-testid="version-number"]') == "3"
    assert page.inner_text('[data-testid="version-source"]') == f"models:/{seeded.model_id}"
    storage = page.locator('[data-testid="version-storage"]')
    storage.wait_for()
    assert storage.inner_text().endswith(f"/models/{seeded.model_id}/artifacts")
    assert page.inner_text('[data-testid="version-run-link"]') == "train-run"
    assert seeded.model_id in page.inner_text('[data-testid="version-model-id"]')
    assert page.locator(
        '[data-testid="version-page"] .registry-title-row .alias-badge'
    ).all_inner_texts() == ["@champion"]

    graph = page.locator('[data-testid="lineage-graph"]')
    graph.wait_for()
    nodes = page.eval_on_selector_all(
        '[data-testid="lineage-node"]',
        "ns => ns.map(n => [n.dataset.kind, n.dataset.state, n.textContent])",
    )
    kinds = [(k, s) for k, s, _ in nodes]
    assert kinds == [
        ("dataset", "present"),
        ("run", "present"),
        ("model", "present"),
        ("version", "present"),
    ]
    texts = {k: t for k, _, t in nodes}
    assert "train-set" in texts["dataset"] and "training" in texts["dataset"]
    assert "train-run" in texts["run"] and COMMIT[:12] in texts["run"]
    assert "clf" in texts["model"]
    assert "version 3" in texts["version"]
    assert page.eval_on_selector_all(".lineage-edge", "es => es.length") == 3
    set_theme(page, "light")
    screenshot(page, "model-version-light")
    set_theme(page, "dark")
    screenshot(page, "model-version-dark")

    page.click('[data-testid="lineage-node"][data-kind="run"]')
    page.wait_for_selector(
        f'[data-testid="run-page"][data-run-id="{seeded.run}"][data-ready="true"]'
    )


def test_lineage_shows_a_run_that_is_gone(
    page: Any, ui_server: CairnServer, seeded: Seeded
) -> None:
    open_version(page, ui_server, "gone-run-model", 1)
    page.wait_for_selector('[data-testid="lineage-graph"]')
    run = page.locator('[data-testid="lineage-node"][data-kind="run"]')
    assert run.get_attribute("data-state") == "gone"
    assert "run · gone" in run.text_content()
    assert seeded.gone_run in run.text_content()
    assert page.evaluate("() => document.querySelector('a.lineage-node')") is None  # no link
    states = page.eval_on_selector_all(
        '[data-testid="lineage-node"]', "ns => ns.map(n => n.dataset.kind + ':' + n.dataset.state)"
    )
    assert states == ["dataset:absent", "run:gone", "model:absent", "version:present"]


def test_stage_transition_archives_the_existing_version(
    page: Any, ui_server: CairnServer, seeded: Seeded, ui_client: Any, registry_store: Any
) -> None:
    name = make_model(ui_client, seeded, "stages", versions=2)
    ui_client.transition_model_version_stage(name, 1, "Production")
    open_version(page, ui_server, name, 2)
    page.select_option('[data-testid="stage-select"]', "Production")
    page.check('[data-testid="stage-archive"]')
    page.click('[data-testid="stage-apply"]')
    page.wait_for_selector(
        '[data-testid="stage-control"] [data-testid="stage-badge"]:text-is("Production")'
    )
    assert registry_store.get_model_version(name, 2).current_stage == "Production"
    assert registry_store.get_model_version(name, 1).current_stage == "Archived"
    wait_history(page, "model_version.stage_changed")
    event = next(e for e in history_events(page) if e["event"] == "model_version.stage_changed")
    assert event["version"] == "2"
    assert event["changes"] == {"current_stage": ["None", "Production"]}


def test_version_description_tags_and_aliases_are_edited_on_its_page(
    page: Any, ui_server: CairnServer, seeded: Seeded, ui_client: Any, registry_store: Any
) -> None:
    name = make_model(ui_client, seeded, "version-edits", versions=2)
    open_version(page, ui_server, name, 1)
    page.click('[data-testid="version-description"] [data-testid="description-edit"]')
    page.fill('[data-testid="description-input"]', "calibrated")
    page.click('[data-testid="description-save"]')
    page.locator(
        '[data-testid="version-description"] [data-testid="description-view"]',
        has_text="calibrated",
    ).wait_for()
    assert registry_store.get_model_version(name, 1).description == "calibrated"

    tags = page.locator('[data-testid="version-tags"]')
    tags.locator('[data-testid="tag-add-key"]').fill("validated")
    tags.locator('[data-testid="tag-add-value"]').fill("yes")
    tags.locator('[data-testid="tag-add"]').click()
    tags.locator('[data-testid="tag-row"][data-key="validated"]').wait_for()
    assert registry_store.get_model_version(name, 1).tags == {"validated": "yes"}

    aliases = page.locator('[data-testid="alias-editor"]')
    aliases.locator('[data-testid="alias-input"]').fill("stable")
    aliases.locator('[data-testid="alias-add"]').click()
    aliases.locator('[data-testid="alias-chip"][data-alias="stable"][data-version="1"]').wait_for()
    assert registry_store.get_model_version_by_alias(name, "stable").version == 1

    wait_history(page, "model_version_alias.created")
    kinds = {e["event"] for e in history_events(page)}
    assert {"model_version.updated", "model_version_tag.set", "model_version.created"} <= kinds
    assert all(e["version"] == "1" for e in history_events(page))  # this version's only

    page.click('[data-testid="crumb-model"]')
    wait_model_ready(page)
    assert page.inner_text('[data-testid="model-name"]') == name


# ------------------------------------------------------------------ the run page


def test_run_page_lists_the_versions_made_from_the_run(
    page: Any, ui_server: CairnServer, seeded: Seeded
) -> None:
    page.goto(f"{ui_server.url}/#/runs/{seeded.run}")
    page.wait_for_selector('[data-testid="run-registered-version"]')
    found = page.eval_on_selector_all(
        '[data-testid="run-registered-version"]',
        "items => items.map(i => i.dataset.name + ' v' + i.dataset.version)",
    )
    assert {f"{MAIN} v1", f"{MAIN} v2", f"{MAIN} v3", f"{XSS} v1"} <= set(found)
    page.click(
        f'[data-testid="run-registered-version"][data-name="{MAIN}"][data-version="2"]'
        ' [data-testid="run-version-link"]'
    )
    page.wait_for_selector('[data-testid="version-page"][data-version="2"][data-ready="true"]')
    assert page.inner_text('[data-testid="version-number"]') == "2"


# ------------------------------------------------------------------ user content stays text


def test_markup_in_names_tags_and_descriptions_is_shown_as_text(
    page: Any, ui_server: CairnServer, seeded: Seeded, request: pytest.FixtureRequest
) -> None:
    # The sanitized description keeps <img src=x> without its handler: the image 404s.
    request.node.allowed_console_errors = ("status of 404",)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    open_models(page, ui_server)
    row = page.locator('[data-testid="model-row"]').filter(has_text='"q"')
    assert row.get_attribute("data-name") == XSS
    assert row.locator('[data-testid="model-link"]').inner_text() == XSS

    row.locator('[data-testid="model-link"]').click()
    wait_model_ready(page)
    assert page.inner_text('[data-testid="model-name"]') == XSS
    value = page.locator(
        '[data-testid="model-tags"] [data-testid="tag-row"][data-key="note"] td.kv-value'
    )
    assert value.inner_text() == XSS_TAG_VALUE
    description = page.locator('[data-testid="model-description"] .markdown')
    description.locator("strong").wait_for()
    assert description.locator("script").count() == 0
    assert handlers_in_page(page) == 0

    page.click('[data-testid="version-link"]')
    page.wait_for_selector('[data-testid="version-page"][data-ready="true"]')
    page.wait_for_selector('[data-testid="lineage-graph"]')
    assert page.inner_text('[data-testid="crumb-model"]') == XSS
    assert handlers_in_page(page) == 0
    assert dialogs == []


def test_run_links_encode_the_run_id(page: Any, ui_server: CairnServer) -> None:
    """A run id is one path segment of the link: ``/``, ``?`` and ``#`` in it still route to
    that run (the registry pages link runs through ``runHref``, the lineage graph too)."""
    page.goto(ui_server.url + "/#/")
    odd = "a/b c?d#e%"
    routed = page.evaluate(
        """async (id) => {
          const lib = await import("/static/lib.js");
          const lineage = await import("/static/components/registry-lineage.js");
          const links = [lib.runHref(id), lib.runHref(id, { tab: "artifacts", model: "m-1" })];
          const nodes = lineage.lineageNodes({ run_id: id, run_name: "r", experiment_id: "0",
            model_id: "m-1", model_name: "mod" }, {}).flat();
          links.push(...nodes.filter((n) => n.link).map((n) => n.link));
          // Read back as the router reads them; the hash is set back in the same task, so the
          // app only ever routes to "/" (no run page loads for the made-up id).
          const routed = links.map((link) => {
            location.hash = link.slice(1);
            const r = lib.currentRoute();
            return [r.segments, r.query.get("tab"), r.query.get("model")];
          });
          location.hash = "/";
          return routed;
        }""",
        odd,
    )
    assert routed == [
        [["runs", odd], None, None],
        [["runs", odd], "artifacts", "m-1"],
        [["runs", odd], None, None],
        [["runs", odd], "artifacts", "m-1"],
    ]

"""The run page (#/runs/<id>): overview, editing tags/description/name, parent and child links,
live updates of a running run, lifecycle, and user content rendered as text."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from browser import set_theme
from cairn.entities import Dataset, DatasetInput, InputTag
from rest_server import CairnServer

COMMIT = "3f2a9c1d5e7b8a0f4c6d2e1b9a8c7d6e5f4a3b2c"
DESCRIPTION = "# Baseline model\n\nTrained on the **small** split.\n\n- first point\n- second\n"
SCHEMA = json.dumps(
    {"mlflow_colspec": [{"type": "double", "name": "x"}, {"type": "long", "name": "y"}]}
)


@dataclass
class Seeded:
    experiment_id: str
    parent: str
    run: str
    child: str
    model_id: str


@pytest.fixture(scope="module")
def seeded(ui_client: Any) -> Seeded:
    client = ui_client
    exp = client.create_experiment("run-page")
    parent = client.create_run(exp, run_name="parent-run").info.run_id
    run = client.create_run(
        exp,
        run_name="main-run",
        tags={
            "mlflow.parentRunId": parent,
            "mlflow.source.name": "train.py",
            "mlflow.source.type": "LOCAL",
            "mlflow.source.git.commit": COMMIT,
            "mlflow.source.git.branch": "main",
            "mlflow.source.git.repoURL": "https://example.com/team/repo.git",
            "mlflow.note.content": DESCRIPTION,
            "team": "vision",
            "stage": "dev",
        },
    ).info.run_id
    child = client.create_run(
        exp, run_name="child-run", tags={"mlflow.parentRunId": run}
    ).info.run_id
    client.log_param(run, "lr", "0.01")
    for i in range(12):
        client.log_param(run, f"layer_{i:02d}_width", str(64 * (i + 1)))
    for step in range(5):
        client.log_metric(run, "loss", 1.0 / (step + 1), step=step)
    client.log_metric(run, "accuracy", 0.875, step=4)
    client.log_inputs(
        run,
        [
            DatasetInput(
                Dataset(
                    "train-set",
                    "abc123",
                    "local",
                    '{"uri": "/data/train.csv"}',
                    SCHEMA,
                    '{"num_rows": 1234}',
                ),
                [InputTag("mlflow.data.context", "training")],
            )
        ],
    )
    model = client.store.create_logged_model(exp, name="clf", source_run_id=run)
    client.store.finalize_logged_model(model.model_id, "READY")
    history = [
        {
            "artifact_path": "sk_model",
            "flavors": {"python_function": {}, "sklearn": {}},
            "utc_time_created": "2025-01-01 12:00:00.000000",
            "model_uuid": "m-1",
        }
    ]
    client.set_tag(run, "mlflow.log-model.history", json.dumps(history))
    for r in (child, run, parent):
        client.set_terminated(r)
    return Seeded(exp, parent, run, child, model.model_id)


def open_run(page: Any, server: CairnServer, run_id: str, query: str = "") -> None:
    page.goto(f"{server.url}/#/runs/{run_id}{query}")
    page.wait_for_selector(f'[data-testid="run-page"][data-run-id="{run_id}"][data-ready="true"]')


def table_rows(page: Any, testid: str) -> dict[str, list[str]]:
    """Rows of the run page's ``testid`` rows, keyed by data-key: each row's cell texts."""
    return page.eval_on_selector_all(
        f'[data-testid="{testid}"]',
        "rows => Object.fromEntries(rows.map(r => [r.dataset.key,"
        " [...r.querySelectorAll('td')].map(td => td.innerText.trim())]))",
    )


def local_time(page: Any, ms: int) -> str:
    """``ms`` as the page shows times: the browser's local "YYYY-MM-DD HH:MM:SS"."""
    return page.evaluate(
        "ms => { const d = new Date(ms); const p = n => String(n).padStart(2, '0');"
        " return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + ' '"
        " + p(d.getHours()) + ':' + p(d.getMinutes()) + ':' + p(d.getSeconds()); }",
        ms,
    )


def test_overview_shows_details_params_metrics_tags_and_models(
    page: Any, ui_server: CairnServer, seeded: Seeded, ui_client: Any
) -> None:
    open_run(page, ui_server, seeded.run)
    assert page.inner_text('[data-testid="run-name"]') == "main-run"
    assert page.inner_text('[data-testid="run-id"]') == seeded.run
    assert page.inner_text('[data-testid="run-status"]').strip() == "finished"
    link = page.get_attribute('[data-testid="run-experiment-link"]', "href")
    assert link == f"#/experiments/{seeded.experiment_id}"
    page.wait_for_selector('[data-testid="run-experiment-link"]:has-text("run-page")')

    info = ui_client.get_run(seeded.run).info
    assert local_time(page, info.start_time) in page.inner_text('[data-testid="run-start"]')
    assert page.inner_text('[data-testid="run-end"]').strip()[:4].isdigit()
    assert page.inner_text('[data-testid="run-duration"]').strip()
    assert page.inner_text('[data-testid="run-user"]') == info.user_id
    assert "train.py" in page.inner_text('[data-testid="run-source"]')
    assert page.get_attribute('[data-testid="run-git-commit"]', "title") == COMMIT
    assert page.inner_text('[data-testid="run-git-commit"]') == COMMIT[:12]
    assert page.inner_text('[data-testid="run-git-branch"]') == "main"
    assert page.locator('a[href="https://example.com/team/repo.git"]').count() == 1

    params = table_rows(page, "param-row")
    assert params["lr"] == ["lr", "0.01"]
    assert params["layer_11_width"] == ["layer_11_width", "768"]
    assert len(params) == 13
    # Many params: a search box narrows them.
    page.fill('[data-testid="params-search"]', "layer_0")
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=\"param-row\"]').length === 10"
    )
    assert "lr" not in table_rows(page, "param-row")

    metrics = table_rows(page, "metric-row")
    assert metrics["loss"][:3] == ["loss", "0.2", "4"]
    assert metrics["accuracy"][:3] == ["accuracy", "0.875", "4"]
    loss = ui_client.get_metric_history(seeded.run, "loss")[-1]
    assert metrics["loss"][3] == local_time(page, loss.timestamp)
    href = page.get_attribute('[data-testid="metric-row"][data-key="loss"] a', "href")
    assert href == f"#/metric?runs={seeded.run}&key=loss"

    tags = table_rows(page, "tag-row")
    assert tags["team"][:2] == ["team", "vision"]
    assert tags["stage"][:2] == ["stage", "dev"]
    assert not any(k.startswith("mlflow.") for k in tags)
    # System tags are there, collapsed.
    assert page.locator('[data-testid="system-tags"]').get_attribute("open") is None
    system = page.eval_on_selector_all(
        '[data-testid="system-tag-row"]', "rows => rows.map(r => r.dataset.key)"
    )
    assert "mlflow.source.git.commit" in system

    dataset = page.locator('[data-testid="dataset"]')
    assert dataset.count() == 1
    text = dataset.inner_text()
    assert "train-set" in text and "abc123" in text and "local" in text
    assert page.inner_text('[data-testid="dataset-context"]') == "training"
    dataset.locator("summary", has_text="Schema").click()
    # As shown (inner text): a closed <details> shows none of it.
    schema = dataset.locator(".dataset-schema li")
    expect(schema).to_have_text(["x double", "y long"], use_inner_text=True)
    dataset.locator("summary", has_text="Profile").click()
    expect(dataset).to_contain_text('"num_rows": 1234', use_inner_text=True)

    page.wait_for_selector(f'[data-testid="logged-model"][data-model-id="{seeded.model_id}"]')
    model = page.inner_text(f'[data-testid="logged-model"][data-model-id="{seeded.model_id}"]')
    assert "clf" in model and seeded.model_id in model and "ready" in model
    card = page.locator(f'[data-testid="logged-model"][data-model-id="{seeded.model_id}"]')
    # Its files (MLflow 3: at the model's own location) open in the artifacts tab.
    files = card.locator('[data-testid="model-files-link"]')
    assert files.get_attribute("href") == (
        f"#/runs/{seeded.run}?tab=artifacts&model={seeded.model_id}"
    )
    history = page.inner_text('[data-testid="history-model"]')
    assert "sk_model" in history and "sklearn" in history
    browse = page.get_attribute('[data-testid="history-model"] a', "href")
    assert browse == f"#/runs/{seeded.run}?tab=artifacts&path=sk_model%2FMLmodel"
    files.click()
    page.wait_for_selector("text=This model has no files.")
    # Named once the run's models are listed.
    page.wait_for_function(
        "t => document.querySelector('[data-testid=artifact-source]').title === t",
        arg=f"Logged model clf ({seeded.model_id})",
    )


def test_run_id_copies_to_the_clipboard(page: Any, ui_server: CairnServer, seeded: Seeded) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    open_run(page, ui_server, seeded.run)
    page.click('[data-testid="copy-run-id"]')
    page.wait_for_selector('[data-testid="copy-run-id"]:has-text("Copied")')
    assert page.evaluate("() => navigator.clipboard.readText()") == seeded.run


def test_description_renders_markdown_and_edits_persist(
    page: Any, ui_server: CairnServer, ui_client: Any, seeded: Seeded
) -> None:
    open_run(page, ui_server, seeded.run)
    view = page.locator('[data-testid="description-view"]')
    view.locator("h1", has_text="Baseline model").wait_for()
    assert view.locator("li").all_inner_texts() == ["first point", "second"]
    assert view.locator("strong").inner_text() == "small"

    page.click('[data-testid="description-edit"]')
    page.fill('[data-testid="description-input"]', "## Second try\n\n1. alpha\n2. beta")
    preview = page.locator('[data-testid="description-preview"]')
    preview.locator("h2", has_text="Second try").wait_for()
    assert preview.locator("ol li").all_inner_texts() == ["alpha", "beta"]
    page.click('[data-testid="description-save"]')
    view.locator("h2", has_text="Second try").wait_for()
    tags = ui_client.get_run(seeded.run).data.tags
    assert tags["mlflow.note.content"] == "## Second try\n\n1. alpha\n2. beta"
    page.reload()
    page.locator('[data-testid="description-view"] h2', has_text="Second try").wait_for()
    ui_client.set_tag(seeded.run, "mlflow.note.content", DESCRIPTION)


def test_tags_edit_add_and_delete_persist(
    page: Any, ui_server: CairnServer, ui_client: Any, seeded: Seeded
) -> None:
    open_run(page, ui_server, seeded.run)
    row = page.locator('[data-testid="tag-row"][data-key="team"]')
    row.locator('[data-testid="tag-edit"]').click()
    row.locator('[data-testid="tag-value-input"]').fill("speech")
    row.locator('[data-testid="tag-value-input"]').press("Enter")
    row.locator("td", has_text="speech").wait_for()
    assert ui_client.get_run(seeded.run).data.tags["team"] == "speech"

    page.fill('[data-testid="tag-add-key"]', "owner")
    page.fill('[data-testid="tag-add-value"]', "ada")
    page.click('[data-testid="tag-add"]')
    page.wait_for_selector('[data-testid="tag-row"][data-key="owner"]')
    assert ui_client.get_run(seeded.run).data.tags["owner"] == "ada"
    assert page.input_value('[data-testid="tag-add-key"]') == ""

    page.click('[data-testid="tag-row"][data-key="stage"] [data-testid="tag-delete"]')
    page.wait_for_selector('[data-testid="tag-row"][data-key="stage"]', state="detached")
    tags = ui_client.get_run(seeded.run).data.tags
    assert "stage" not in tags and tags["owner"] == "ada"
    # Restore for the other tests of the module.
    ui_client.set_tag(seeded.run, "team", "vision")
    ui_client.set_tag(seeded.run, "stage", "dev")
    ui_client.delete_tag(seeded.run, "owner")


def test_rename_run_persists(
    page: Any, ui_server: CairnServer, ui_client: Any, seeded: Seeded
) -> None:
    open_run(page, ui_server, seeded.child)
    page.click('[data-testid="run-rename"]')
    page.fill('[data-testid="run-name-input"]', "renamed-child")
    page.press('[data-testid="run-name-input"]', "Enter")
    page.wait_for_selector('[data-testid="run-name"]:text-is("renamed-child")')
    assert ui_client.get_run(seeded.child).info.run_name == "renamed-child"
    # Escape abandons an edit.
    page.click('[data-testid="run-rename"]')
    page.fill('[data-testid="run-name-input"]', "not saved")
    page.press('[data-testid="run-name-input"]', "Escape")
    expect(page.locator('[data-testid="run-name-input"]')).to_have_count(0)
    expect(page.locator('[data-testid="run-name"]')).to_have_text("renamed-child")
    ui_client.update_run(seeded.child, name="child-run")


def test_parent_and_child_links_navigate(page: Any, ui_server: CairnServer, seeded: Seeded) -> None:
    open_run(page, ui_server, seeded.run)
    child = page.locator(f'[data-testid="run-children"] a[data-run-id="{seeded.child}"]')
    child.wait_for()
    assert child.inner_text() == "child-run"
    parent = page.locator(f'[data-testid="run-parent"] a[data-run-id="{seeded.parent}"]')
    parent.locator("text=parent-run").wait_for()
    parent.click()
    page.wait_for_selector(
        f'[data-testid="run-page"][data-run-id="{seeded.parent}"][data-ready="true"]'
    )
    assert page.inner_text('[data-testid="run-name"]') == "parent-run"
    page.locator(f'[data-testid="run-children"] a[data-run-id="{seeded.run}"]').click()
    page.wait_for_selector(
        f'[data-testid="run-page"][data-run-id="{seeded.run}"][data-ready="true"]'
    )
    assert page.inner_text('[data-testid="run-name"]') == "main-run"


def test_running_run_updates_without_reload(
    page: Any, ui_server: CairnServer, ui_client: Any, seeded: Seeded
) -> None:
    run = ui_client.create_run(seeded.experiment_id, run_name="live-run").info.run_id
    ui_client.log_metric(run, "loss", 0.5, step=1)
    open_run(page, ui_server, run)
    page.wait_for_selector('[data-testid="run-live"]')
    assert page.inner_text('[data-testid="run-status"]').strip() == "running"
    duration = page.inner_text('[data-testid="run-duration"]')
    assert "so far" in duration
    page.wait_for_function(
        "d => document.querySelector('[data-testid=\"run-duration\"]').innerText !== d",
        arg=duration,
    )

    ui_client.log_metric(run, "loss", 0.25, step=2)
    ui_client.log_metric(run, "val_loss", 0.3, step=2)
    page.wait_for_selector('[data-testid="metric-row"][data-key="val_loss"]')
    page.wait_for_function(
        '() => document.querySelector(\'[data-testid="metric-row"][data-key="loss"] td.num\')'
        ".innerText === '0.25'"
    )
    ui_client.set_terminated(run)
    page.wait_for_selector('[data-testid="run-page"][data-status="FINISHED"]')
    page.wait_for_selector('[data-testid="run-live"]', state="detached")
    assert page.inner_text('[data-testid="run-status"]').strip() == "finished"


def test_delete_and_restore(
    page: Any, ui_server: CairnServer, ui_client: Any, seeded: Seeded
) -> None:
    run = ui_client.create_run(seeded.experiment_id, run_name="doomed").info.run_id
    open_run(page, ui_server, run)
    page.click('[data-testid="run-delete"]')
    page.click('[data-testid="run-delete-confirm"]')
    page.wait_for_selector('[data-testid="run-deleted"]')
    assert ui_client.get_run(run).info.lifecycle_stage == "deleted"
    page.click('[data-testid="run-restore"]')
    page.wait_for_selector('[data-testid="run-deleted"]', state="detached")
    assert ui_client.get_run(run).info.lifecycle_stage == "active"


def test_unknown_run_says_so(page: Any, ui_server: CairnServer, request: Any) -> None:
    # The failed runs/get is a 404 the browser logs: that is the behaviour under test.
    request.node.allowed_console_errors = ("404",)
    page.goto(ui_server.url + "/#/runs/0123456789abcdef0123456789abcdef")
    page.wait_for_selector('[data-testid="run-page"] [role="alert"]')
    assert "RESOURCE_DOES_NOT_EXIST" in page.inner_text('[data-testid="run-page"]')


XSS = "<script>alert(1)</script>"
XSS_IMG = "<img src=x onerror=alert(1)>"
XSS_MARKDOWN = (
    "# Notes\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n"
    '[x](javascript:alert(1))\n\n<a href="javascript:alert(2)">raw link</a>\n'
)


def assert_no_injected_markup(page: Any) -> None:
    """No user content became live markup: no script in the app, no handlers, no js: URLs."""
    assert page.evaluate("() => document.querySelectorAll('#app script').length") == 0
    assert (
        page.evaluate(
            "() => [...document.querySelectorAll('#app *')].filter(el =>"
            " [...el.attributes].some(a => a.name.startsWith('on'))).length"
        )
        == 0
    )
    assert (
        page.evaluate(
            "() => [...document.querySelectorAll('#app [href], #app [src]')].filter(el =>"
            " /^\\s*javascript:/i.test(el.getAttribute('href') || el.getAttribute('src'))).length"
        )
        == 0
    )


def test_user_content_renders_as_text(
    page: Any, ui_server: CairnServer, ui_client: Any, seeded: Seeded, request: Any
) -> None:
    # The sanitized markdown keeps <img src="x"> (its handler stripped): the browser's failed
    # fetch of "x" is logged as a 404, which is expected.
    request.node.allowed_console_errors = ("404",)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    run = ui_client.create_run(
        seeded.experiment_id,
        run_name=XSS,
        tags={
            "mlflow.note.content": XSS_MARKDOWN,
            "note": XSS_IMG,
            "mlflow.source.git.commit": COMMIT,
            "mlflow.source.git.repoURL": "javascript:alert(3)",
            "mlflow.source.name": XSS,
        },
    ).info.run_id
    ui_client.log_param(run, "payload", XSS_IMG)
    ui_client.set_terminated(run)
    open_run(page, ui_server, run)
    page.locator('[data-testid="description-view"] h1', has_text="Notes").wait_for()

    assert page.inner_text('[data-testid="run-name"]') == XSS
    assert table_rows(page, "param-row")["payload"][1] == XSS_IMG
    assert table_rows(page, "tag-row")["note"][1] == XSS_IMG
    assert XSS in page.inner_text('[data-testid="run-source"]')
    # A javascript: repo URL is shown, never linked.
    repo = page.locator('[data-testid="run-git-repo"]')
    assert repo.inner_text() == "javascript:alert(3)"
    assert repo.locator("a").count() == 0
    view = page.locator('[data-testid="description-view"]')
    assert view.locator("script").count() == 0
    assert view.locator("img").count() == 1
    assert view.locator("img").get_attribute("onerror") is None
    for link in view.locator("a").all():
        assert not (link.get_attribute("href") or "").lower().startswith("javascript:")
    assert_no_injected_markup(page)
    # The editor's live preview is sanitized the same way.
    page.click('[data-testid="description-edit"]')
    page.locator('[data-testid="description-preview"] h1', has_text="Notes").wait_for()
    assert_no_injected_markup(page)
    page.keyboard.press("Escape")
    assert dialogs == []


def test_keyboard_reaches_tabs_and_tag_editing(
    page: Any, ui_server: CairnServer, seeded: Seeded
) -> None:
    open_run(page, ui_server, seeded.run)
    focused: list[str] = []
    for _ in range(60):
        page.keyboard.press("Tab")
        testid = page.evaluate("() => document.activeElement.dataset.testid || ''")
        focused.append(testid)
        if testid == "tab-artifacts":
            break
    assert "run-rename" in focused and "tab-artifacts" in focused
    page.keyboard.press("Enter")
    page.wait_for_selector('[data-testid="tab-artifacts"][aria-current="page"]')
    assert "tab=artifacts" in page.url


def test_layout_holds_and_screenshots(
    page: Any, ui_server: CairnServer, seeded: Seeded, screenshot: Callable[[Any, str], Path]
) -> None:
    open_run(page, ui_server, seeded.run)
    page.wait_for_selector(f'[data-testid="logged-model"][data-model-id="{seeded.model_id}"]')
    for theme in ("light", "dark"):
        set_theme(page, theme)
        screenshot(page, f"run-overview-{theme}")
    for width, height, name in ((1280, 720, "1280"), (3840, 2160, "4k")):
        page.set_viewport_size({"width": width, "height": height})
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"horizontal overflow of {overflow}px at {name}"
    screenshot(page, "run-overview-dark-4k")

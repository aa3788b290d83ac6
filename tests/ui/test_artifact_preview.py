"""The run page's artifacts tab: the lazy tree, a preview per file type, downloads, shareable
preview links, and artifacts (names and contents) that cannot run script in the UI."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from browser import set_theme
from rest_server import CairnServer

XSS_NAME = "<img src=x onerror=alert(1)>.txt"
MLMODEL = """artifact_path: model
flavors:
  python_function:
    env:
      conda: conda.yaml
    loader_module: mlflow.sklearn
    python_version: 3.11.4
  sklearn:
    pickled_model: model.pkl
    sklearn_version: 1.4.2
mlflow_version: 2.12.1
model_uuid: 0f9a4c2e
run_id: abc
utc_time_created: '2025-01-01 12:00:00.000000'
"""
HTML = """<!doctype html><html><head><title>report</title></head><body>
<h1 id="h">Report body</h1>
<script>alert("from the artifact"); document.getElementById("h").textContent = "script ran";
parent.document.title = "pwned";</script>
</body></html>
"""
SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20">'
    '<rect width="40" height="20" fill="#2f6db3"/><script>alert(1)</script></svg>'
)
BIG_LINE = "0123456789 the quick brown fox jumps over the lazy dog, again and again\n"


def minimal_pdf() -> bytes:
    """A one-page PDF with a correct cross-reference table."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length 44 >>\nstream\nBT /F1 18 Tf 20 40 Td (Hello PDF) Tj ET\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def write_artifacts(root: Path) -> dict[str, bytes]:
    """The files of the test run, by artifact path."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq
    from PIL import Image

    png = io.BytesIO()
    Image.new("RGB", (64, 32), (200, 60, 40)).save(png, format="PNG")
    parquet = io.BytesIO()
    pq.write_table(pa.table({"epoch": [1, 2, 3], "loss": [0.5, 0.25, 0.125]}), parquet)
    files = {
        "notes.txt": b"hello artifact\nsecond line\n",
        "README.md": b"# Read me\n\nSome *notes*.\n\n- one\n- two\n",
        "logs/train.log": b"epoch 1 loss 0.5\nepoch 2 loss 0.25\n",
        "logs/big.log": (BIG_LINE * (1_600_000 // len(BIG_LINE))).encode(),
        "config/params.json": json.dumps({"lr": 0.01, "layers": [64, 32]}).encode(),
        "config/conf.yaml": b"optimizer:\n  name: adam\n  lr: 0.001\n",
        "records.json": json.dumps([{"city": "Oslo", "n": 3}, {"city": "Lima", "n": 5}]).encode(),
        "data/table.csv": b"name,score\nalpha,1.5\nbeta,2.5\n",
        "data/table.tsv": b"name\tscore\ngamma\t3\n",
        "data/table.parquet": parquet.getvalue(),
        "images/plot.png": png.getvalue(),
        "images/shape.svg": SVG.encode(),
        "report.html": HTML.encode(),
        "model/MLmodel": MLMODEL.encode(),
        "model/conda.yaml": b"name: env\ndependencies:\n  - python=3.11\n",
        "doc.pdf": minimal_pdf(),
        "deep/a/b/leaf.txt": b"deep leaf\n",
        "blob.bin": bytes(range(256)) * 4,
        XSS_NAME: b"harmless contents\n",
    }
    for path, data in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return files


class ArtifactRun:
    def __init__(self, run_id: str, files: dict[str, bytes]) -> None:
        self.run_id = run_id
        self.files = files


@pytest.fixture(scope="module")
def art(
    ui_client: Any, ui_server: CairnServer, tmp_path_factory: pytest.TempPathFactory
) -> ArtifactRun:
    exp = ui_client.create_experiment("artifact-previews")
    run = ui_client.create_run(exp, run_name="with-artifacts").info.run_id
    root = tmp_path_factory.mktemp("artifacts")
    files = write_artifacts(root)
    # The run's mlflow-artifacts:/ root resolves against the tracking URI in the environment.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CAIRN_TRACKING_URI", ui_server.url)
        ui_client.log_artifacts(run, str(root))
    ui_client.set_terminated(run)
    return ArtifactRun(run, files)


@pytest.fixture
def dialogs(page: Any) -> list[str]:
    seen: list[str] = []
    page.on("dialog", lambda d: (seen.append(d.message), d.dismiss()))
    return seen


def open_artifacts(page: Any, server: CairnServer, run_id: str, path: str = "") -> None:
    from urllib.parse import quote

    query = "?tab=artifacts" + (f"&path={quote(path, safe='')}" if path else "")
    page.goto(f"{server.url}/#/runs/{run_id}{query}")
    page.wait_for_selector('[data-testid="run-page"][data-ready="true"]')
    page.wait_for_selector('[data-testid="artifact-entry"]')


def entry(page: Any, path: str) -> Any:
    return page.locator(f'[data-testid="artifact-entry"][data-path="{path}"]')


def preview(page: Any, path: str) -> Any:
    """Select ``path`` in the tree (opening its folders) and return the preview pane."""
    parts = path.split("/")
    for i in range(1, len(parts)):
        folder = entry(page, "/".join(parts[:i]))
        if folder.get_attribute("aria-expanded") != "true":
            folder.click()
    entry(page, path).click()
    pane = page.locator(f'[data-testid="artifact-preview"][data-path="{path}"]')
    pane.locator('[data-ready="true"]').first.wait_for()
    return pane


def test_tree_lists_nested_directories_lazily(
    page: Any, ui_server: CairnServer, art: ArtifactRun
) -> None:
    open_artifacts(page, ui_server, art.run_id)
    roots = page.eval_on_selector_all(
        '[data-testid="artifact-entry"]', "els => els.map(e => [e.dataset.path, e.dataset.dir])"
    )
    # Folders first, then files; nothing below the top level is listed yet.
    assert roots[:7] == [
        ["config", "true"],
        ["data", "true"],
        ["deep", "true"],
        ["images", "true"],
        ["logs", "true"],
        ["model", "true"],
        [XSS_NAME, "false"],
    ]
    assert ["notes.txt", "false"] in roots
    assert all("/" not in p for p, _ in roots)
    assert "B" in entry(page, "notes.txt").inner_text()  # its size

    entry(page, "deep").click()
    entry(page, "deep/a").click()
    entry(page, "deep/a/b").click()
    leaf = entry(page, "deep/a/b/leaf.txt")
    leaf.wait_for()
    assert leaf.get_attribute("aria-level") == "4"
    assert "10 B" in leaf.inner_text()
    # Closing a folder hides what is inside it.
    entry(page, "deep").click()
    leaf.wait_for(state="detached")
    assert entry(page, "deep").get_attribute("aria-expanded") == "false"


def test_refresh_lists_artifacts_logged_since(
    page: Any, ui_server: CairnServer, ui_client: Any, art: ArtifactRun, tmp_path: Path
) -> None:
    run = ui_client.create_run(ui_client.get_run(art.run_id).info.experiment_id).info.run_id
    open_artifacts_empty = f"{ui_server.url}/#/runs/{run}?tab=artifacts"
    page.goto(open_artifacts_empty)
    page.wait_for_selector("text=This run has no artifacts.")
    (tmp_path / "late.txt").write_text("late\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CAIRN_TRACKING_URI", ui_server.url)
        ui_client.log_artifact(run, str(tmp_path / "late.txt"), "later")
    page.click('[data-testid="artifact-refresh"]')
    entry(page, "later").click()
    pane = preview(page, "later/late.txt")
    assert pane.locator('[data-testid="artifact-text"]').inner_text() == "late\n"


def test_text_preview_and_shared_link(page: Any, ui_server: CairnServer, art: ArtifactRun) -> None:
    open_artifacts(page, ui_server, art.run_id)
    pane = preview(page, "logs/train.log")
    assert (
        pane.locator('[data-testid="artifact-text"]').inner_text()
        == "epoch 1 loss 0.5\nepoch 2 loss 0.25\n"
    )
    assert "path=logs%2Ftrain.log" in page.url
    shared = page.url

    # The link opens the same preview, with its folder open and its entry selected.
    page.goto("about:blank")
    page.goto(shared)
    page.wait_for_selector(
        '[data-testid="artifact-preview"][data-path="logs/train.log"] [data-ready="true"]'
    )
    assert entry(page, "logs/train.log").get_attribute("aria-selected") == "true"
    assert entry(page, "logs").get_attribute("aria-expanded") == "true"
    # Back to an earlier preview with the browser's history: its folder opens again.
    page.goto(shared.replace("logs%2Ftrain.log", "deep%2Fa%2Fb%2Fleaf.txt"))
    page.wait_for_selector('[data-testid="artifact-preview"][data-path="deep/a/b/leaf.txt"]')
    entry(page, "deep/a/b/leaf.txt").wait_for()


def test_large_text_shows_only_its_first_megabyte(
    page: Any, ui_server: CairnServer, art: ArtifactRun
) -> None:
    open_artifacts(page, ui_server, art.run_id)
    pane = preview(page, "logs/big.log")
    assert "Truncated" in pane.locator('[data-testid="artifact-truncated"]').inner_text()
    shown = pane.locator('[data-testid="artifact-text"]').evaluate("el => el.textContent.length")
    assert shown == 1024 * 1024
    assert len(art.files["logs/big.log"]) > shown


def test_markdown_renders(page: Any, ui_server: CairnServer, art: ArtifactRun) -> None:
    open_artifacts(page, ui_server, art.run_id)
    pane = preview(page, "README.md")
    md = pane.locator('[data-testid="artifact-markdown"]')
    md.locator("h1", has_text="Read me").wait_for()
    assert md.locator("li").all_inner_texts() == ["one", "two"]
    pane.locator("button", has_text="Source").click()
    assert pane.locator('[data-testid="artifact-text"]').inner_text().startswith("# Read me")


def test_json_is_pretty_printed(page: Any, ui_server: CairnServer, art: ArtifactRun) -> None:
    open_artifacts(page, ui_server, art.run_id)
    pane = preview(page, "config/params.json")
    text = pane.locator('[data-testid="artifact-json"]').inner_text()
    assert text == json.dumps({"lr": 0.01, "layers": [64, 32]}, indent=2)


def table_cells(pane: Any) -> list[list[str]]:
    pane.locator('[data-testid="artifact-table"]').wait_for()
    return pane.locator('[data-testid="artifact-table"]').evaluate(
        "t => [[...t.querySelectorAll('thead th')].map(c => c.innerText)].concat("
        "[...t.querySelectorAll('tbody tr')].map(r => [...r.cells].map(c => c.innerText)))"
    )


def test_json_records_show_as_a_table(page: Any, ui_server: CairnServer, art: ArtifactRun) -> None:
    open_artifacts(page, ui_server, art.run_id)
    pane = preview(page, "records.json")
    assert table_cells(pane) == [["#", "city", "n"], ["1", "Oslo", "3"], ["2", "Lima", "5"]]
    pane.locator("button", has_text="JSON").click()
    assert '"city": "Oslo"' in pane.locator('[data-testid="artifact-json"]').inner_text()


@pytest.mark.parametrize(
    ("path", "cells"),
    [
        ("data/table.csv", [["#", "name", "score"], ["1", "alpha", "1.5"], ["2", "beta", "2.5"]]),
        ("data/table.tsv", [["#", "name", "score"], ["1", "gamma", "3"]]),
        (
            "data/table.parquet",
            [["#", "epoch", "loss"], ["1", "1", "0.5"], ["2", "2", "0.25"], ["3", "3", "0.125"]],
        ),
    ],
)
def test_tables_show_their_cells(
    page: Any, ui_server: CairnServer, art: ArtifactRun, path: str, cells: list[list[str]]
) -> None:
    open_artifacts(page, ui_server, art.run_id)
    pane = preview(page, path)
    assert table_cells(pane) == cells
    assert f"of {len(cells) - 1} row" in pane.inner_text()


def test_yaml_and_mlmodel(page: Any, ui_server: CairnServer, art: ArtifactRun) -> None:
    open_artifacts(page, ui_server, art.run_id)
    pane = preview(page, "config/conf.yaml")
    assert pane.locator('[data-testid="artifact-text"]').inner_text() == (
        "optimizer:\n  name: adam\n  lr: 0.001\n"
    )
    pane = preview(page, "model/MLmodel")
    summary = pane.locator('[data-testid="mlmodel-summary"]')
    assert summary.locator('[data-testid="mlmodel-flavor"]').all_inner_texts() == [
        "python_function",
        "sklearn",
    ]
    text = summary.inner_text()
    assert "mlflow.sklearn" in text and "1.4.2" in text and "0f9a4c2e" in text
    assert pane.locator('[data-testid="artifact-text"]').inner_text() == MLMODEL


def test_images_show_as_images(page: Any, ui_server: CairnServer, art: ArtifactRun) -> None:
    open_artifacts(page, ui_server, art.run_id)
    for path, width in (("images/plot.png", 64), ("images/shape.svg", 40)):
        pane = preview(page, path)
        img = pane.locator('img[data-testid="artifact-image"]')
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=img.element_handle()
        )
        assert img.evaluate("img => img.naturalWidth") == width
    assert page.locator('[data-testid="artifact-preview"] svg').count() == 0


def test_html_runs_in_a_sandbox_without_scripts(
    page: Any, ui_server: CairnServer, art: ArtifactRun, dialogs: list[str], request: Any
) -> None:
    # Chromium reports the blocked script of the sandboxed frame: that is the point of the test.
    request.node.allowed_console_errors = ("Blocked script execution",)
    open_artifacts(page, ui_server, art.run_id)
    pane = preview(page, "report.html")
    frame = pane.locator("iframe[data-testid='artifact-html']")
    assert frame.get_attribute("sandbox") == ""
    body = pane.frame_locator("iframe").locator("#h")
    body.wait_for()
    assert body.inner_text() == "Report body"
    assert dialogs == []
    assert page.title() != "pwned"


def test_pdf_shows_in_a_frame(page: Any, ui_server: CairnServer, art: ArtifactRun) -> None:
    open_artifacts(page, ui_server, art.run_id)
    pane = preview(page, "doc.pdf")
    frame = pane.locator("iframe[data-testid='artifact-pdf']")
    src = frame.get_attribute("src")
    assert "get-artifact" in src and "doc.pdf" in src
    response = page.request.get(src)
    assert response.headers["content-type"] == "application/pdf"
    assert response.body() == art.files["doc.pdf"]


def test_unknown_binary_offers_download_only(
    page: Any, ui_server: CairnServer, art: ArtifactRun
) -> None:
    open_artifacts(page, ui_server, art.run_id)
    pane = preview(page, "blob.bin")
    assert "No preview" in pane.inner_text()
    assert pane.locator('[data-testid="artifact-download"]').is_visible()


@pytest.mark.parametrize("path", ["notes.txt", "images/plot.png", "blob.bin", "report.html"])
def test_download_yields_the_files_bytes(
    page: Any, ui_server: CairnServer, art: ArtifactRun, path: str, request: Any
) -> None:
    # Selecting the HTML file previews it, and Chromium reports its script blocked by the sandbox.
    request.node.allowed_console_errors = ("Blocked script execution",)
    open_artifacts(page, ui_server, art.run_id)
    parts = path.split("/")
    if len(parts) > 1:
        entry(page, parts[0]).click()
    entry(page, path).click()
    button = page.locator(
        f'[data-testid="artifact-preview"][data-path="{path}"] [data-testid="artifact-download"]'
    )
    with page.expect_download() as info:
        button.click()
    download = info.value
    assert download.suggested_filename == parts[-1]
    assert Path(download.path()).read_bytes() == art.files[path]


def test_artifact_named_like_markup_is_text(
    page: Any, ui_server: CairnServer, art: ArtifactRun, dialogs: list[str]
) -> None:
    open_artifacts(page, ui_server, art.run_id)
    item = entry(page, XSS_NAME)
    assert item.locator(".artifact-entry-name").inner_text() == XSS_NAME
    pane = preview(page, XSS_NAME)
    assert pane.locator('[data-testid="artifact-text"]').inner_text() == "harmless contents\n"
    assert XSS_NAME in pane.locator(".artifact-name").inner_text()
    assert page.evaluate("() => document.querySelectorAll('.run-page img').length") == 0
    assert (
        page.evaluate(
            "() => [...document.querySelectorAll('#app *')].filter(el =>"
            " [...el.attributes].some(a => a.name.startsWith('on'))).length"
        )
        == 0
    )
    # Its download works under the same odd name.
    with page.expect_download() as info:
        pane.locator('[data-testid="artifact-download"]').click()
    assert Path(info.value.path()).read_bytes() == b"harmless contents\n"
    assert dialogs == []


def test_tree_is_keyboard_navigable(page: Any, ui_server: CairnServer, art: ArtifactRun) -> None:
    open_artifacts(page, ui_server, art.run_id)
    entry(page, "config").focus()
    focused = "() => document.activeElement.dataset.path"
    page.keyboard.press("ArrowRight")  # opens config
    entry(page, "config/conf.yaml").wait_for()
    page.keyboard.press("ArrowRight")  # into it
    assert page.evaluate(focused) == "config/conf.yaml"
    page.keyboard.press("ArrowDown")
    assert page.evaluate(focused) == "config/params.json"
    page.keyboard.press("Enter")
    page.wait_for_selector(
        '[data-testid="artifact-preview"][data-path="config/params.json"] [data-ready="true"]'
    )
    page.keyboard.press("ArrowLeft")  # to the folder
    assert page.evaluate(focused) == "config"
    page.keyboard.press("ArrowLeft")  # closes it
    entry(page, "config/conf.yaml").wait_for(state="detached")
    page.keyboard.press("End")
    assert page.evaluate(focused) == "report.html"


def test_screenshots(
    page: Any, ui_server: CairnServer, art: ArtifactRun, screenshot: Callable[[Any, str], Path]
) -> None:
    open_artifacts(page, ui_server, art.run_id)
    preview(page, "model/MLmodel")
    for theme in ("light", "dark"):
        set_theme(page, theme)
        screenshot(page, f"run-artifact-mlmodel-{theme}")
    pane = preview(page, "data/table.csv")
    assert pane.is_visible()
    for theme in ("dark", "light"):
        set_theme(page, theme)
        screenshot(page, f"run-artifact-table-{theme}")
    preview(page, "images/plot.png")
    screenshot(page, "run-artifact-image-light")
    page.set_viewport_size({"width": 3840, "height": 2160})
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    screenshot(page, "run-artifact-image-4k")


# ------------------------------------------------------------------------------------------------
# A logged model's own files (MLflow 3 keeps them at the model's artifact_location, outside the
# run's artifacts): the same browser, reached from the model on the run page.

MODEL_CSV = b"x,y\n1,2\n3,4\n"


class ModelRun:
    def __init__(self, run_id: str, model_id: str, linked_id: str, files: dict[str, bytes]) -> None:
        self.run_id = run_id
        self.model_id = model_id
        self.linked_id = linked_id
        self.files = files


@pytest.fixture(scope="module")
def model_run(
    ui_client: Any, ui_server: CairnServer, tmp_path_factory: pytest.TempPathFactory
) -> ModelRun:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq
    from PIL import Image

    from cairn.entities.logged_model import LoggedModelOutput
    from cairn.store.artifacts.http import HttpArtifactRepository

    exp = ui_client.create_experiment("model-files")
    run = ui_client.create_run(exp, run_name="trains-a-model").info.run_id
    root = tmp_path_factory.mktemp("run-files")
    (root / "run-notes.txt").write_text("the run's own file\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CAIRN_TRACKING_URI", ui_server.url)
        ui_client.log_artifacts(run, str(root))

    png = io.BytesIO()
    Image.new("RGB", (48, 24), (40, 120, 200)).save(png, format="PNG")
    parquet = io.BytesIO()
    pq.write_table(pa.table({"x": [1, 3]}), parquet)
    files = {
        "MLmodel": MLMODEL.encode(),
        "conda.yaml": b"name: env\ndependencies:\n  - python=3.11\n",
        "model.pkl": bytes(range(256)) * 8,
        "input_example.csv": MODEL_CSV,
        "data/sample.parquet": parquet.getvalue(),
        "plots/confusion.png": png.getvalue(),
    }
    model = ui_client.store.create_logged_model(exp, name="classifier", source_run_id=run)
    repo = HttpArtifactRepository(model.artifact_location, tracking_uri=ui_server.url)
    for path, data in files.items():
        repo.log_bytes(data, path)
    ui_client.store.finalize_logged_model(model.model_id, "READY")
    # A model the run names only among its outputs (logged elsewhere, used here).
    linked = ui_client.store.create_logged_model(exp, name="linked-model")
    HttpArtifactRepository(linked.artifact_location, tracking_uri=ui_server.url).log_bytes(
        b"linked\n", "notes.txt"
    )
    ui_client.store.log_outputs(run, [LoggedModelOutput(linked.model_id, 3)])
    ui_client.set_terminated(run)
    return ModelRun(run, model.model_id, linked.model_id, files)


def open_model_files(page: Any, server: CairnServer, run_id: str, model_id: str) -> None:
    """The run page's overview, then its model's "Browse files" link."""
    page.goto(f"{server.url}/#/runs/{run_id}")
    card = page.locator(f'[data-testid="logged-model"][data-model-id="{model_id}"]')
    card.locator('[data-testid="model-files-link"]').click()
    page.wait_for_selector(f'[data-testid="artifact-browser"][data-source="model:{model_id}"]')


def test_model_files_open_from_the_run_page_on_their_mlmodel(
    page: Any, ui_server: CairnServer, model_run: ModelRun
) -> None:
    open_model_files(page, ui_server, model_run.run_id, model_run.model_id)
    assert f"model={model_run.model_id}" in page.url and "tab=artifacts" in page.url
    # The model's files, not the run's: folders first, then files.
    entry(page, "MLmodel").wait_for()
    roots = page.eval_on_selector_all(
        '[data-testid="artifact-entry"]', "els => els.map(e => e.dataset.path)"
    )
    assert roots == ["data", "plots", "conda.yaml", "input_example.csv", "MLmodel", "model.pkl"]
    # With no file chosen, a model opens on its MLmodel.
    pane = page.locator('[data-testid="artifact-preview"][data-path="MLmodel"]')
    pane.locator('[data-ready="true"]').first.wait_for()
    summary = pane.locator('[data-testid="mlmodel-summary"]')
    assert summary.locator('[data-testid="mlmodel-flavor"]').all_inner_texts() == [
        "python_function",
        "sklearn",
    ]
    assert pane.locator('[data-testid="artifact-text"]').inner_text() == MLMODEL
    assert "path=MLmodel" in page.url
    assert entry(page, "MLmodel").get_attribute("aria-selected") == "true"
    # The file is the model's, served by MLflow's logged-models route.
    src = pane.locator('[data-testid="artifact-open"]').get_attribute("href")
    assert f"logged-models/{model_run.model_id}/artifacts/files" in src


def test_model_files_preview_nested_files_and_download(
    page: Any, ui_server: CairnServer, model_run: ModelRun
) -> None:
    open_model_files(page, ui_server, model_run.run_id, model_run.model_id)
    pane = preview(page, "plots/confusion.png")
    img = pane.locator('img[data-testid="artifact-image"]')
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img.element_handle())
    assert img.evaluate("img => img.naturalWidth") == 48
    # A CSV of a model reads as its text (the tabular reader serves run artifacts only).
    pane = preview(page, "input_example.csv")
    assert pane.locator('[data-testid="artifact-text"]').inner_text() == MODEL_CSV.decode()
    pane = preview(page, "data/sample.parquet")
    assert "download" in pane.locator('[data-testid="artifact-no-preview"]').inner_text()

    pane = preview(page, "model.pkl")
    assert "No preview" in pane.inner_text()
    with page.expect_download() as info:
        pane.locator('[data-testid="artifact-download"]').click()
    assert info.value.suggested_filename == "model.pkl"
    assert Path(info.value.path()).read_bytes() == model_run.files["model.pkl"]


def test_model_files_link_is_shareable_and_the_source_switches(
    page: Any, ui_server: CairnServer, model_run: ModelRun
) -> None:
    from urllib.parse import quote

    shared = (
        f"{ui_server.url}/#/runs/{model_run.run_id}?tab=artifacts"
        f"&model={model_run.model_id}&path={quote('data/sample.parquet', safe='')}"
    )
    page.goto(shared)
    page.wait_for_selector(
        '[data-testid="artifact-preview"][data-path="data/sample.parquet"] [data-ready="true"]'
    )
    assert entry(page, "data").get_attribute("aria-expanded") == "true"
    picker = page.locator('[data-testid="artifact-source"]')
    page.wait_for_function(
        "sel => sel.options.length === 3", arg=picker.element_handle()
    )  # the run, its model, the model among its outputs
    assert picker.input_value() == model_run.model_id

    # The artifacts tab's own link names the model too.
    tab_href = page.get_attribute('[data-testid="tab-artifacts"]', "href")
    assert f"model={model_run.model_id}" in tab_href

    # The run's own artifacts, then the model among the run's outputs.
    picker.select_option("")
    page.wait_for_selector(
        f'[data-testid="artifact-browser"][data-source="run:{model_run.run_id}"]'
    )
    entry(page, "run-notes.txt").wait_for()
    assert "model=" not in page.url and "path=" not in page.url
    picker.select_option(model_run.linked_id)
    pane = preview(page, "notes.txt")
    assert pane.locator('[data-testid="artifact-text"]').inner_text() == "linked\n"
    # The browser's back button returns to the run's artifacts.
    page.go_back()
    page.wait_for_selector(
        f'[data-testid="artifact-browser"][data-source="run:{model_run.run_id}"]'
    )


def test_model_files_screenshots(
    page: Any, ui_server: CairnServer, model_run: ModelRun, screenshot: Callable[[Any, str], Path]
) -> None:
    open_model_files(page, ui_server, model_run.run_id, model_run.model_id)
    page.locator(
        '[data-testid="artifact-preview"][data-path="MLmodel"] [data-ready="true"]'
    ).wait_for()
    for theme in ("light", "dark"):
        set_theme(page, theme)
        screenshot(page, f"run-model-files-mlmodel-{theme}")
    preview(page, "plots/confusion.png")
    screenshot(page, "run-model-files-image-dark")
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0

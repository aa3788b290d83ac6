"""The compare page (#/compare?runs=...): diff table, a chart per metric, scatter plot and
parallel coordinates of three runs, run names escaped everywhere, both themes, 1280x720 and 4K."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from browser import set_theme
from cairn.entities import Metric, Param, RunTag
from rest_server import CairnServer

START_MS = 1_700_000_000_000
XSS_NAME = "<img src=x onerror=alert(1)>"
PAGE_READY = '[data-testid="compare-page"][data-ready="true"]'
RUNS = [
    # name, lr (differs), batch (equal), optimizer (categorical, differs), loss scale
    ("baseline", "0.1", "32", "adam", 1.0),
    ("small-lr", "0.01", "32", "sgd", 2.0),
    (XSS_NAME, "0.001", "32", "adam", 3.0),
]


@pytest.fixture(scope="module")
def run_ids(ui_client: Any) -> list[str]:
    exp = ui_client.create_experiment("compare")
    ids = []
    for i, (name, lr, batch, optimizer, scale) in enumerate(RUNS):
        run_id = ui_client.create_run(exp, start_time=START_MS + i, run_name=name).info.run_id
        metrics = [
            Metric(key, value, START_MS + 1000 * step, step)
            for step in range(50)
            for key, value in (("loss", scale / (1 + step)), ("acc", 1 - 1 / (2 + step)))
        ]
        ui_client.log_batch(
            run_id,
            metrics=metrics,
            params=[Param("lr", lr), Param("batch", batch), Param("optimizer", optimizer)],
            tags=[RunTag("team", "vision"), RunTag("note", f"run {i}")],
        )
        ui_client.set_terminated(run_id, end_time=START_MS + 60_000)
        ids.append(run_id)
    return ids


def open_compare(page: Any, server: CairnServer, run_ids: list[str]) -> None:
    page.goto(f"{server.url}/#/compare?runs={','.join(run_ids)}")
    page.wait_for_selector(PAGE_READY)


def test_diff_table_highlights_only_what_differs(
    page: Any, ui_server: CairnServer, run_ids: list[str]
) -> None:
    open_compare(page, ui_server, run_ids)
    table = page.locator('[data-testid="diff-table"]')
    headers = table.locator('[data-testid="diff-run-header"]')
    assert headers.all_inner_texts() == [name for name, *_ in RUNS]
    for i, run_id in enumerate(run_ids):
        link = headers.nth(i).locator("a")
        assert link.get_attribute("href") == f"#/runs/{run_id}"

    def row(key: str) -> Any:
        return table.locator(f'[data-testid="diff-row"][data-key="{key}"]')

    differing = ("params.lr", "params.optimizer", "metrics.loss", "tags.note")
    equal = ("params.batch", "metrics.acc", "tags.team", "attributes.status")
    for key in differing:
        assert "diff" in row(key).get_attribute("class").split(), key
    for key in equal:
        assert "diff" not in (row(key).get_attribute("class") or "").split(), key
    assert row("params.lr").locator("td").all_inner_texts() == ["0.1", "0.01", "0.001"]
    assert row("params.batch").locator("td").all_inner_texts() == ["32", "32", "32"]
    # The highlight is visible: the differing row's cells have a background, equal ones none.
    bg = "el => getComputedStyle(el).backgroundColor"
    highlighted = row("params.lr").locator("td").first.evaluate(bg)
    assert highlighted != row("params.batch").locator("td").first.evaluate(bg)

    page.check('[data-testid="diff-only"]')
    page.wait_for_selector('[data-testid="diff-row"][data-key="params.batch"]', state="detached")
    keys = table.locator('[data-testid="diff-row"]').evaluate_all(
        "rows => rows.map(r => r.dataset.key)"
    )
    assert set(differing) <= set(keys)
    assert not set(equal) & set(keys)
    assert "diffonly=1" in page.url
    page.uncheck('[data-testid="diff-only"]')
    page.wait_for_selector('[data-testid="diff-row"][data-key="params.batch"]')


def test_a_chart_per_metric_with_every_run(
    page: Any, ui_server: CairnServer, run_ids: list[str]
) -> None:
    open_compare(page, ui_server, run_ids)
    charts = page.locator('[data-testid="metric-chart"]')
    assert charts.evaluate_all("cs => cs.map(c => c.dataset.metricKey)") == ["acc", "loss"]
    for key in ("acc", "loss"):
        chart = page.locator(f'[data-testid="metric-chart"][data-metric-key="{key}"]')
        chart.scroll_into_view_if_needed()
        page.wait_for_selector(
            f'[data-testid="metric-chart"][data-metric-key="{key}"][data-ready="true"]'
        )
        series = chart.evaluate("c => c.__chartData.series")
        assert [s["runId"] for s in series] == run_ids
        assert all(s["totalPoints"] == 50 for s in series)
        assert int(chart.get_attribute("data-points")) == 150
        assert chart.locator(".legend-name").all_inner_texts() == [n for n, *_ in RUNS]
        # The chart's title links to the metric page of these runs.
        link = chart.locator(".chart-title a")
        assert link.get_attribute("href").startswith("#/metric?runs=" + "%2C".join(run_ids))

    # Hovering a chart shows each run's value at the cursor.
    chart = page.locator('[data-testid="metric-chart"][data-metric-key="loss"]')
    box = chart.locator(".u-over").bounding_box()
    page.mouse.move(box["x"] + 2, box["y"] + box["height"] / 2)
    page.wait_for_function(
        "() => document.querySelector('[data-metric-key=\"loss\"]').classList.contains('hovering')"
    )
    values = chart.locator(".legend-value").all_inner_texts()
    assert [float(v) for v in values] == pytest.approx([1.0, 2.0, 3.0])


def test_scatter_plot_places_a_point_per_run(
    page: Any, ui_server: CairnServer, run_ids: list[str]
) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    open_compare(page, ui_server, run_ids)
    scatter = page.locator('[data-testid="scatter-plot"]')
    points = scatter.locator('[data-testid="scatter-point"]')
    assert points.count() == 3
    # Numeric params and metrics are offered; the categorical optimizer is not.
    options = scatter.locator('[data-testid="scatter-x"] option').all_inner_texts()
    assert "params.lr" in options and "metrics.loss" in options
    assert "params.optimizer" not in options
    page.select_option('[data-testid="scatter-x"]', "params.lr")
    page.select_option('[data-testid="scatter-y"]', "metrics.loss")
    page.wait_for_function("() => location.hash.includes('sy=metrics.loss')")
    # Higher lr -> further right; the lowest lr has the highest loss -> highest up (smaller y).
    centers = {
        p.get_attribute("data-run-id"): p.locator("circle").bounding_box() for p in points.all()
    }
    xs = [centers[r]["x"] for r in run_ids]
    ys = [centers[r]["y"] for r in run_ids]
    assert xs[0] > xs[1] > xs[2]
    assert ys[0] > ys[1] > ys[2]
    # Hover shows the run's name as text.
    points.nth(2).locator("circle").hover()
    tooltip = page.locator('[data-testid="scatter-tooltip"]')
    tooltip.wait_for()
    assert XSS_NAME in tooltip.inner_text()
    assert page.locator("main img[src='x']").count() == 0
    assert dialogs == []


def test_parallel_coordinates_draw_a_line_per_run_and_highlight_on_hover(
    page: Any, ui_server: CairnServer, run_ids: list[str]
) -> None:
    open_compare(page, ui_server, run_ids)
    pc = page.locator('[data-testid="parallel-coords"]')
    pc.scroll_into_view_if_needed()
    lines = pc.locator('[data-testid="pc-line"]')
    assert lines.count() == 3
    axes = pc.locator(".pc-axis").evaluate_all("gs => gs.map(g => g.dataset.key)")
    # Differing params (including the categorical one) and the metrics.
    assert {"params.lr", "params.optimizer", "metrics.loss", "metrics.acc"} <= set(axes)
    # Categorical params sit at evenly spaced positions: adam and sgd, two labels on the axis.
    labels = pc.locator('.pc-axis[data-key="params.optimizer"] text.tick').evaluate_all(
        "ts => ts.map(t => [...t.childNodes].filter(n => n.nodeType === 3)"
        ".map(n => n.textContent).join('').trim())"
    )
    assert sorted(labels) == ["adam", "sgd"]
    # Move onto the middle of the third run's line, as a user does.
    target = run_ids[2]
    point = pc.locator(f'.pc-hits path[data-run-id="{target}"]').evaluate(
        "p => { const l = p.getTotalLength(); const q = p.getPointAtLength(l * 0.37);"
        " const m = p.getScreenCTM(); return [q.x * m.a + q.y * m.c + m.e,"
        " q.x * m.b + q.y * m.d + m.f]; }"
    )
    page.mouse.move(point[0], point[1])
    page.wait_for_selector(f'[data-testid="pc-line"][data-run-id="{target}"].hot')
    assert page.locator('[data-testid="pc-hover"]').inner_text().strip() == XSS_NAME
    assert page.locator("main img[src='x']").count() == 0


def test_unknown_runs_are_named_and_the_rest_compared(
    page: Any, ui_server: CairnServer, run_ids: list[str], request: pytest.FixtureRequest
) -> None:
    # The browser logs the 404 of looking the unknown run up; that one is expected.
    request.node.allowed_console_errors = ("status of 404",)
    open_compare(page, ui_server, [*run_ids[:2], "0123456789abcdef0123456789abcdef"])
    assert "0123456789abcdef" in page.inner_text('[data-testid="missing-runs"]')
    assert page.locator('[data-testid="diff-run-header"]').count() == 2


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_screenshots_of_the_compare_page(
    page: Any,
    ui_server: CairnServer,
    run_ids: list[str],
    theme: str,
    screenshot: Callable[[Any, str], Path],
) -> None:
    open_compare(page, ui_server, run_ids)
    set_theme(page, theme)
    page.wait_for_selector(PAGE_READY)
    screenshot(page, f"compare-{theme}")
    page.locator('[data-testid="parallel-coords"]').scroll_into_view_if_needed()
    page.locator('[data-testid="scatter-point"]').first.locator("circle").hover()
    screenshot(page, f"compare-plots-{theme}")
    page.locator('[data-testid="metric-chart"]').last.scroll_into_view_if_needed()
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=\"metric-chart\"]')]"
        ".every(c => c.dataset.ready === 'true')"
    )
    page.wait_for_selector(PAGE_READY)
    screenshot(page, f"compare-charts-{theme}")
    assert page.evaluate(
        "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


def test_4k_layout_has_no_overflow(
    page: Any, ui_server: CairnServer, run_ids: list[str], screenshot: Callable[[Any, str], Path]
) -> None:
    page.set_viewport_size({"width": 3840, "height": 2160})
    open_compare(page, ui_server, run_ids)
    assert page.evaluate(
        "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
    widths = page.locator('[data-testid="metric-chart"]').evaluate_all(
        "cs => cs.map(c => c.getBoundingClientRect().width)"
    )
    assert all(400 < w < 3840 for w in widths)
    screenshot(page, "compare-4k")

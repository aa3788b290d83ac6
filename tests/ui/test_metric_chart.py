"""The metric chart (#/metric): a 10^6-point series drawn from min/max buckets, zoom by drag,
x axis, smoothing and log scale in the URL, hover values, live refresh, escaped run names."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from browser import set_theme
from cairn.entities import Metric
from cairn.store.tracking.columns import MetricColumns
from rest_server import CairnServer

N_POINTS = 1_000_000
START_MS = 1_700_000_000_000
SPIKE_AT, SPIKE = 654_321, 50.0  # the global max, one point among a million
DIP_AT, DIP = 123_456, -5.0  # the global min
XSS_NAME = "<img src=x onerror=alert(1)>"
CHART = '[data-testid="metric-chart"]'
READY = CHART + '[data-ready="true"]'


def long_values() -> np.ndarray:
    i = np.arange(N_POINTS, dtype=np.float64)
    values = 1.0 / (1.0 + i / 20_000.0) + 0.01 * np.sin(i / 50.0)
    values[SPIKE_AT] = SPIKE
    values[DIP_AT] = DIP
    return values


def log_long_series(client: Any, run_id: str) -> None:
    """10^6 points through the REST API: column batches (1,000 metrics a request) in threads."""
    values = long_values()
    chunk = 50_000

    def push(lo: int) -> None:
        hi = min(lo + chunk, N_POINTS)
        cols = MetricColumns()
        cols.steps = np.arange(lo, hi, dtype=np.int64)  # type: ignore[assignment]
        cols.timestamps = START_MS + 10 * cols.steps  # type: ignore[assignment]
        cols.values = values[lo:hi]  # type: ignore[assignment]
        client.store.log_columns(run_id, metrics={"loss": cols})

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(push, range(0, N_POINTS, chunk)))


def log_short(client: Any, run_id: str, key: str, values: list[float], t0: int) -> None:
    client.log_batch(
        run_id, metrics=[Metric(key, v, t0 + 1000 * s, s) for s, v in enumerate(values)]
    )


@pytest.fixture(scope="module")
def runs(ui_client: Any) -> dict[str, str]:
    exp = ui_client.create_experiment("charts")
    long_run = ui_client.create_run(exp, start_time=START_MS, run_name="long").info.run_id
    log_long_series(ui_client, long_run)
    ui_client.log_batch(long_run, metrics=[Metric("acc", 0.5, START_MS, 0)])
    ui_client.set_terminated(long_run, end_time=START_MS + 10 * N_POINTS)

    rng = np.random.default_rng(7)
    ids = {"long": long_run}
    for name, scale in (("short-a", 1.0), ("short-b", 3.0)):
        run_id = ui_client.create_run(exp, start_time=START_MS, run_name=name).info.run_id
        noisy = scale * np.exp(-np.arange(200) / 60) + 0.2 * rng.random(200) + 0.05
        log_short(ui_client, run_id, "loss", noisy.tolist(), START_MS)
        ui_client.set_terminated(run_id, end_time=START_MS + 200_000)
        ids[name] = run_id
    gappy = ui_client.create_run(exp, start_time=START_MS, run_name="gappy").info.run_id
    log_short(ui_client, gappy, "loss", [1.0, 2.0, float("nan"), 3.0, float("inf"), 4.0], START_MS)
    ids["gappy"] = gappy
    xss = ui_client.create_run(exp, start_time=START_MS, run_name=XSS_NAME).info.run_id
    log_short(ui_client, xss, "loss", [3.0, 2.0, 1.5, 1.0], START_MS)
    ui_client.set_terminated(xss, end_time=START_MS + 10_000)
    ids["xss"] = xss
    return ids


def open_chart(page: Any, server: CairnServer, query: str) -> None:
    """Open #/metric?query and wait until the chart painted those runs' series."""
    params = dict(p.split("=", 1) for p in query.split("&"))
    page.goto(f"{server.url}/#/metric?{query}")
    page.wait_for_function(
        "([ids, key]) => { const c = document.querySelector('[data-testid=\"metric-chart\"]');"
        " return !!c && c.dataset.ready === 'true' && !!c.__chartData"
        " && c.__chartData.metricKey === key"
        " && c.__chartData.series.map(s => s.runId).join(',') === ids; }",
        arg=[params["runs"], params["key"]],
    )


def chart_data(page: Any) -> dict[str, Any]:
    return page.evaluate(f"() => document.querySelector('{CHART}').__chartData")  # type: ignore[no-any-return]


def render_count(page: Any) -> int:
    return int(page.get_attribute(CHART, "data-render-count"))


def test_million_point_metric_paints_downsampled_keeping_the_extremes(
    page: Any, ui_server: CairnServer, runs: dict[str, str]
) -> None:
    open_chart(page, ui_server, f"runs={runs['long']}&key=loss")
    points = int(page.get_attribute(CHART, "data-points"))
    width = page.evaluate(f"() => document.querySelector('{CHART} .chart-plot').clientWidth")
    assert 0 < points <= 2 * width + 2, (points, width)  # min/max buckets, not 10^6 points
    data = chart_data(page)
    (series,) = data["series"]
    assert series["totalPoints"] == N_POINTS
    assert series["downsampled"] is True
    assert len(series["x"]) == points
    ys = [y for y in series["y"] if y is not None]
    # One spike and one dip among a million points survive bucketing: min/max per bucket.
    assert max(ys) == SPIKE and min(ys) == DIP
    assert data["yRange"][0] < DIP and data["yRange"][1] > SPIKE
    assert data["xRange"] == [0, N_POINTS - 1]


def drag(page: Any, start: float, end: float) -> None:
    """Drag across the plot from ``start`` to ``end`` (fractions of its width), as a user zooms."""
    box = page.locator(f"{CHART} .u-over").bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * start, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * (start + end) / 2, y, steps=4)
    page.mouse.move(box["x"] + box["width"] * end, y, steps=4)
    page.mouse.up()


def test_drag_zooms_into_a_refetched_range_and_double_click_resets(
    page: Any, ui_server: CairnServer, runs: dict[str, str]
) -> None:
    open_chart(page, ui_server, f"runs={runs['long']}&key=loss")
    before = render_count(page)
    full = chart_data(page)["xRange"]

    drag(page, 0.3, 0.4)
    page.wait_for_function(
        "n => { const c = document.querySelector('[data-testid=\"metric-chart\"]');"
        " return Number(c.dataset.renderCount) > n && c.__chartData.zoomed; }",
        arg=before,
    )
    # The refetched answer covers the zoom window only, at full bucket resolution.
    page.wait_for_function(
        "() => { const s = document.querySelector('[data-testid=\"metric-chart\"]')"
        ".__chartData.series[0]; return s.pointsInRange < 1000000; }"
    )
    zoomed = chart_data(page)
    lo, hi = zoomed["xRange"]
    assert full[0] < lo < hi < full[1]
    assert hi - lo < 0.2 * (full[1] - full[0])
    series = zoomed["series"][0]
    assert 0 < series["pointsInRange"] < N_POINTS
    inside = [x for x in series["x"] if lo <= x <= hi]
    assert len(inside) >= len(series["x"]) - 2  # plus at most one point beyond each edge
    assert len(inside) > 100  # the window is drawn at full resolution, not from the coarse pass
    assert page.is_visible('[data-testid="reset-zoom"]')

    count = render_count(page)
    page.dblclick(f"{CHART} .u-over")
    page.wait_for_function(
        "n => { const c = document.querySelector('[data-testid=\"metric-chart\"]');"
        " return Number(c.dataset.renderCount) > n && !c.__chartData.zoomed; }",
        arg=count,
    )
    assert chart_data(page)["xRange"] == full
    assert not page.is_visible('[data-testid="reset-zoom"]')


def test_keyboard_zooms_pans_and_resets(
    page: Any, ui_server: CairnServer, runs: dict[str, str]
) -> None:
    open_chart(page, ui_server, f"runs={runs['long']}&key=loss")
    full = chart_data(page)["xRange"]
    page.focus(f"{CHART} .chart-plot")
    page.keyboard.press("+")
    page.wait_for_function(
        "() => { const d = document.querySelector('[data-testid=\"metric-chart\"]').__chartData;"
        " return d.zoomed && d.series[0].pointsInRange < 1000000; }"
    )
    lo, hi = chart_data(page)["xRange"]
    assert hi - lo == pytest.approx((full[1] - full[0]) / 2)
    page.keyboard.press("ArrowLeft")
    page.wait_for_function(
        "lo => document.querySelector('[data-testid=\"metric-chart\"]').__chartData.xRange[0] < lo",
        arg=lo,
    )
    assert chart_data(page)["xRange"][0] == pytest.approx(lo - (hi - lo) / 4)
    page.keyboard.press("0")
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"metric-chart\"]').__chartData.zoomed"
    )
    assert chart_data(page)["xRange"] == full


def test_x_axis_switches_to_wall_and_relative_time(
    page: Any, ui_server: CairnServer, runs: dict[str, str]
) -> None:
    open_chart(page, ui_server, f"runs={runs['long']}&key=loss")
    page.select_option('[data-testid="x-axis-select"]', "wall")
    page.wait_for_function(
        "() => { const d = document.querySelector('[data-testid=\"metric-chart\"]').__chartData;"
        " return d.xAxis === 'wall' && d.xRange[0] > 1e12; }"
    )
    assert chart_data(page)["xRange"] == [START_MS, START_MS + 10 * (N_POINTS - 1)]
    assert "x=wall" in page.url

    page.select_option('[data-testid="x-axis-select"]', "relative")
    page.wait_for_function(
        "() => { const d = document.querySelector('[data-testid=\"metric-chart\"]').__chartData;"
        " return d.xAxis === 'relative' && d.xRange[1] < 1e5; }"
    )
    lo, hi = chart_data(page)["xRange"]
    assert lo == 0 and hi == pytest.approx(10 * (N_POINTS - 1) / 1000)
    assert "x=relative" in page.url


def total_variation(values: list[float]) -> float:
    return sum(abs(b - a) for a, b in itertools.pairwise(values))


def test_smoothing_and_log_scale_change_what_is_drawn(
    page: Any, ui_server: CairnServer, runs: dict[str, str]
) -> None:
    open_chart(page, ui_server, f"runs={runs['short-a']},{runs['short-b']}&key=loss")
    raw = chart_data(page)
    assert [s["runId"] for s in raw["series"]] == [runs["short-a"], runs["short-b"]]
    assert all(s["smoothed"] == s["y"] for s in raw["series"])

    page.locator('[data-testid="smoothing"]').fill("0.8")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=\"metric-chart\"]').__chartData.smoothing"
        " === 0.8"
    )
    smoothed = chart_data(page)
    assert "smooth=0.8" in page.url
    for s in smoothed["series"]:
        assert len(s["smoothed"]) == len(s["y"])
        assert s["smoothed"] != s["y"]
        # An average never leaves the raw values' envelope, and is calmer than them.
        assert min(s["y"]) <= min(s["smoothed"]) and max(s["smoothed"]) <= max(s["y"])
        assert total_variation(s["smoothed"]) < total_variation(s["y"])

    assert chart_data(page)["scaleDistr"] == 1
    page.check('[data-testid="log-scale"]')
    page.wait_for_function(
        "() => document.querySelector('[data-testid=\"metric-chart\"]').__chartData.log"
    )
    logged = chart_data(page)
    assert logged["scaleDistr"] == 3  # uPlot's log distribution
    assert logged["yRange"][0] > 0
    assert "log=1" in page.url

    # The options are the URL: a reload restores them.
    page.reload()
    page.wait_for_selector(READY)
    again = chart_data(page)
    assert again["smoothing"] == 0.8 and again["log"] is True
    assert page.is_checked('[data-testid="log-scale"]')


def test_hover_shows_every_series_value_at_the_cursor(
    page: Any, ui_server: CairnServer, runs: dict[str, str]
) -> None:
    open_chart(page, ui_server, f"runs={runs['short-a']},{runs['short-b']}&key=loss")
    legend = page.locator('[data-testid="chart-legend"]')
    box = page.locator(f"{CHART} .u-over").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=\"metric-chart\"]')"
        ".classList.contains('hovering')"
    )
    assert legend.locator(".legend-x").inner_text().startswith("step ")
    step = int(legend.locator(".legend-x").inner_text().split()[1])
    assert 80 <= step <= 120
    data = chart_data(page)
    for s in data["series"]:
        item = legend.locator(f'.legend-item[data-run-id="{s["runId"]}"]')
        shown = float(item.locator(".legend-value").inner_text())
        expected = s["y"][s["x"].index(step)] if step in s["x"] else None
        assert expected is not None and shown == pytest.approx(expected, rel=1e-5)
    names = legend.locator(".legend-name").all_inner_texts()
    assert names == ["short-a", "short-b"]


def test_non_finite_values_are_gaps_not_points(
    page: Any, ui_server: CairnServer, runs: dict[str, str]
) -> None:
    open_chart(page, ui_server, f"runs={runs['gappy']}&key=loss")
    (series,) = chart_data(page)["series"]
    assert series["x"] == [0, 1, 2, 3, 4, 5]
    assert series["y"] == [1.0, 2.0, None, 3.0, None, 4.0]
    # uPlot drew the line in pieces: its path builder found a gap at each null.
    assert series["gaps"] == 2


def test_chart_follows_its_container_and_the_theme(
    page: Any, ui_server: CairnServer, runs: dict[str, str]
) -> None:
    open_chart(page, ui_server, f"runs={runs['short-a']}&key=loss")
    set_theme(page, "light")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=\"metric-chart\"]')"
        ".__chartData.colors.axis === getComputedStyle(document.documentElement)"
        ".getPropertyValue('--chart-axis').trim()"
    )
    light = chart_data(page)
    set_theme(page, "dark")
    page.wait_for_function(
        "c => document.querySelector('[data-testid=\"metric-chart\"]')"
        ".__chartData.colors.axis !== c",
        arg=light["colors"]["axis"],
    )
    dark = chart_data(page)
    assert dark["colors"]["grid"] != light["colors"]["grid"]

    page.set_viewport_size({"width": 900, "height": 720})
    page.wait_for_function(
        "w => document.querySelector('[data-testid=\"metric-chart\"]').__chartData.width < w",
        arg=light["width"],
    )
    canvas = page.locator(f"{CHART} canvas").bounding_box()
    plot = page.locator(f"{CHART} .chart-plot").bounding_box()
    assert canvas["width"] == pytest.approx(plot["width"], abs=1)


def test_metric_picker_lists_the_runs_metrics(
    page: Any, ui_server: CairnServer, runs: dict[str, str]
) -> None:
    open_chart(page, ui_server, f"runs={runs['long']}&key=loss")
    options = page.locator('[data-testid="metric-picker"] option').all_inner_texts()
    assert options == ["acc", "loss"]
    page.select_option('[data-testid="metric-picker"]', "acc")
    page.wait_for_selector(CHART + '[data-metric-key="acc"][data-ready="true"]')
    assert "key=acc" in page.url
    assert chart_data(page)["series"][0]["totalPoints"] == 1


def test_run_names_render_as_text_in_the_legend(
    page: Any, ui_server: CairnServer, runs: dict[str, str]
) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    open_chart(page, ui_server, f"runs={runs['xss']},{runs['short-a']}&key=loss")
    names = page.locator(f"{CHART} .legend-name").all_inner_texts()
    assert XSS_NAME in names
    assert page.locator("main img[src='x']").count() == 0
    assert page.locator(".run-chips a", has_text=XSS_NAME).count() == 1
    assert dialogs == []


def test_a_running_run_updates_live(
    page: Any, ui_server: CairnServer, ui_client: Any, runs: dict[str, str]
) -> None:
    exp = ui_client.get_run(runs["long"]).info.experiment_id
    run_id = ui_client.create_run(exp, start_time=START_MS, run_name="live").info.run_id
    log_short(ui_client, run_id, "loss", [1.0, 0.9, 0.8], START_MS)
    open_chart(page, ui_server, f"runs={run_id}&key=loss")
    assert page.is_visible(".live-badge")
    assert chart_data(page)["series"][0]["totalPoints"] == 3
    ui_client.log_batch(run_id, metrics=[Metric("loss", 0.5, START_MS + 5000, 5)])
    page.wait_for_function(
        "() => document.querySelector('[data-testid=\"metric-chart\"]')"
        ".__chartData.series[0].totalPoints === 4"
    )
    assert chart_data(page)["xRange"] == [0, 5]
    ui_client.set_terminated(run_id)


def test_screenshots_of_a_metric_chart_light_and_dark(
    page: Any,
    ui_server: CairnServer,
    runs: dict[str, str],
    screenshot: Callable[[Any, str], Path],
) -> None:
    ids = ",".join(runs[n] for n in ("short-a", "short-b", "xss"))
    open_chart(page, ui_server, f"runs={ids}&key=loss&smooth=0.6")
    set_theme(page, "light")
    box = page.locator(f"{CHART} .u-over").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5)
    screenshot(page, "metric-chart-light")
    background = page.evaluate(
        f"() => getComputedStyle(document.querySelector('{CHART}')).backgroundColor"
    )
    set_theme(page, "dark")
    page.wait_for_function(
        "bg => getComputedStyle(document.querySelector('[data-testid=\"metric-chart\"]'))"
        ".backgroundColor !== bg",
        arg=background,
    )
    page.mouse.move(box["x"] + box["width"] * 0.31, box["y"] + box["height"] * 0.5)
    screenshot(page, "metric-chart-dark")
    open_chart(page, ui_server, f"runs={runs['long']}&key=loss")
    screenshot(page, "metric-chart-million-dark")

"""The web UIs in headless Chromium: cairn's (``cairn server``) vs MLflow's (``mlflow server``).

Issue #4's targets, on the same data in both stores:

1. An experiment of 10,000 runs x (20 params, 10 metrics): the runs table interactive after
   navigation (<= 1 s), and sorted by a metric after a click on its column header (<= 200 ms).
2. One run's metric of 10^6 points: the chart's first paint (<= 1 s) and its redraw after a
   zoom (a mouse drag over the plot; <= 200 ms), which both UIs answer with a refetch.
3. 100 runs compared on one page (<= 2 s): their metric charts (cairn's compare page; MLflow's
   chart view of the same runs) and the compare page itself (MLflow's compare-runs page).

The browser is Debian's Chromium driven by Playwright (``executable_path``, the launch
arguments of ``tests/ui/conftest.py``). Every figure is read from the page's own clock:
``performance.now()`` (zero at navigation start) at the first animation frame in which the
awaited state holds, or that minus the time a capturing listener stamped the click / mouseup
that started an interaction. cairn's states are the data-testid / data-* attributes of the UI
brief; MLflow's were found by inspecting its DOM (ag-grid rows, plotly paths). Each measurement
runs on fresh pages of one browser context (a warm-up page, then the median of up to 5); a view
that does not get there within 60 s is reported as timed out, not as a number.

The data is seeded through each tool's own client (cairn: ``TrackingClient.log_batch``; MLflow:
``MlflowClient.log_batch``, at most 1,000 metrics per call) into SQLite files cached under
``benchmarks/.cache/`` (MLflow's takes ~8 minutes to build; cairn's, keyed by a hash of its
schema, ~2). Runs 0..99 carry a 100-step history of every metric (the compared runs); a second
experiment holds the 10^6-point run. ``BENCH_UI_QUICK=1`` shrinks everything (300 runs, 20,000
points, 2 samples) to try the script out.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench_server_tracking import server
from common import (
    CACHE_DIR,
    MISSING,
    Row,
    bench_main,
    call_mlflow,
    fresh_dir,
    log,
    mlflow_available,
    mlflow_version,
)

# --------------------------------------------------------------------------- the data

DATA_VERSION = 1  # bump when the seeded data changes: both caches are rebuilt
SEED = 20_250_204
N_RUNS = 10_000
N_PARAMS = 20
N_METRICS = 10
HISTORY_RUNS = 100  # runs 0..99 get a history of every metric (the compare page's charts)
HISTORY_STEPS = 100  # 10 metrics x 100 steps = 1,000 points: one MLflow log_batch
LONG_POINTS = 1_000_000
BASE_TIME_MS = 1_700_000_000_000
EXPERIMENT = "ui-bench-10k"
LONG_EXPERIMENT = "ui-bench-long"
LONG_RUN = "long-run"
LONG_KEY = "loss"
CAIRN_LONG_BATCH = 100_000
MLFLOW_MAX_METRICS = 1_000  # MLflow's log_batch limit (metrics per call, and entities per call)


def make_runs(n: int, seed: int) -> list[dict[str, Any]]:
    """The runs of the big experiment, as plain data: name, 20 params, 10 metrics, 1 tag."""
    import random

    rng = random.Random(seed)
    runs = []
    for i in range(n):
        params = {"p00": rng.choice(["adam", "sgd", "lion", "adagrad"])}
        params.update({f"p{k:02d}": str(rng.randrange(1000)) for k in range(1, N_PARAMS)})
        runs.append(
            {
                "name": f"run-{i:05d}",
                "start": BASE_TIME_MS + i * 1000,
                "params": params,
                "metrics": {f"m{k}": rng.random() for k in range(N_METRICS)},
                "tags": {"team": rng.choice(["red", "blue", "green"])},
            }
        )
    return runs


def run_points(i: int, spec: dict[str, Any]) -> list[tuple[str, float, int, int]]:
    """(key, value, timestamp, step) of run ``i``'s metrics: one point each, or for the first
    ``HISTORY_RUNS`` runs a curve of ``HISTORY_STEPS`` steps ending at the same final value."""
    start = spec["start"]
    if i >= HISTORY_RUNS:
        return [(key, value, start, 0) for key, value in spec["metrics"].items()]
    last = HISTORY_STEPS - 1
    points = []
    for k, (key, final) in enumerate(spec["metrics"].items()):
        for s in range(HISTORY_STEPS):
            wobble = 0.05 * math.sin(0.37 * s + k + i)
            value = final if s == last else final + (1 - s / last) * (0.6 + wobble)
            points.append((key, value, start + 100 * s, s))
    return points


def long_points(lo: int, hi: int) -> list[tuple[float, int, int]]:
    """(value, timestamp, step) of the 10^6-point metric, steps lo..hi-1: a decaying, wiggling
    curve with deterministic noise (so min/max downsampling has something to keep)."""
    out = []
    for i in range(lo, hi):
        noise = ((i * 2_654_435_761) % 10_007) / 10_007 - 0.5
        value = 1 / (1 + i / 50_000) + 0.05 * math.sin(i / 3_000) + 0.02 * noise
        out.append((value, BASE_TIME_MS + 10 * i, i))
    return out


def data_key() -> str:
    return (
        f"ui-{N_RUNS}x{N_PARAMS}p{N_METRICS}m-h{HISTORY_RUNS}x{HISTORY_STEPS}-"
        f"long{LONG_POINTS}-seed{SEED}-v{DATA_VERSION}"
    )


# --------------------------------------------------------------------------- cairn's store


def cairn_schema_digest() -> str:
    """A hash of cairn's schema and migrations: the cached store is rebuilt when they change."""
    import cairn.store.db as db_package

    db_dir = Path(db_package.__file__).parent
    files = [db_dir / "schema.py", *sorted((db_dir / "migrations" / "versions").glob("*.py"))]
    return hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()[:10]


def populate_cairn(path: Path, n_runs: int, long_points_n: int) -> dict[str, Any]:
    """Seed a new cairn SQLite store at ``path`` through ``TrackingClient``; returns the ids."""
    from cairn import TrackingClient
    from cairn.entities import Metric, Param, RunTag
    from cairn.store.db.engine import dispose_engines

    client = TrackingClient(f"sqlite:///{path}")
    start = time.perf_counter()
    experiment_id = client.create_experiment(EXPERIMENT)
    names: dict[str, str] = {}
    for i, spec in enumerate(make_runs(n_runs, SEED)):
        run = client.create_run(experiment_id, start_time=spec["start"], run_name=spec["name"])
        run_id = run.info.run_id
        client.log_batch(
            run_id,
            metrics=[Metric(k, v, t, s) for k, v, t, s in run_points(i, spec)],
            params=[Param(k, v) for k, v in spec["params"].items()],
            tags=[RunTag(k, v) for k, v in spec["tags"].items()],
        )
        client.set_terminated(run_id, end_time=spec["start"] + 60_000)
        if i < HISTORY_RUNS:
            names[spec["name"]] = run_id
    runs_s = time.perf_counter() - start
    long_experiment = client.create_experiment(LONG_EXPERIMENT)
    long_run = client.create_run(long_experiment, start_time=BASE_TIME_MS, run_name=LONG_RUN)
    long_id = long_run.info.run_id
    for lo in range(0, long_points_n, CAIRN_LONG_BATCH):
        hi = min(lo + CAIRN_LONG_BATCH, long_points_n)
        client.log_batch(
            long_id, metrics=[Metric(LONG_KEY, v, t, s) for v, t, s in long_points(lo, hi)]
        )
    client.set_terminated(long_id, end_time=BASE_TIME_MS + 10 * long_points_n)
    dispose_engines()
    return {
        "experiment_id": experiment_id,
        "history_runs": names,
        "long_experiment_id": long_experiment,
        "long_run_id": long_id,
        "populate_runs_s": runs_s,
        "populate_long_s": time.perf_counter() - start - runs_s,
    }


def cached_store(
    who: str, prefix: str, n_runs: int, long_n: int, build: Callable[[Path], dict[str, Any]]
) -> tuple[Path, dict[str, Any]]:
    """``benchmarks/.cache/<prefix>-<data key>.db`` and its ids, built by ``build(path)`` the
    first time (a few minutes) and kept; smaller data sets get names of their own."""
    name = f"{prefix}-{data_key()}"
    if (n_runs, long_n) != (N_RUNS, LONG_POINTS):
        name += f"-small{n_runs}-{long_n}"
    cache, meta_path = CACHE_DIR / f"{name}.db", CACHE_DIR / f"{name}.db.json"
    if cache.exists() and meta_path.exists():
        return cache, json.loads(meta_path.read_text())
    log(f"{who}: building {cache.name} ({n_runs:,} runs + {long_n:,} points; cached after)")
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    meta = build(tmp)
    tmp.replace(cache)
    meta_path.write_text(json.dumps(meta))
    log(
        f"{who}: {n_runs:,} runs in {meta['populate_runs_s']:.0f} s, {long_n:,} points in "
        f"{meta['populate_long_s']:.0f} s"
    )
    return cache, meta


def cairn_store(n_runs: int = N_RUNS, long_n: int = LONG_POINTS) -> tuple[Path, dict[str, Any]]:
    """The cached cairn store (rebuilt whenever the schema changes) and its ids."""
    import cairn

    prefix = f"cairn-{cairn.__version__}-schema-{cairn_schema_digest()}"
    return cached_store(
        "cairn", prefix, n_runs, long_n, lambda path: populate_cairn(path, n_runs, long_n)
    )


# --------------------------------------------------------------------------- MLflow's store


def mlflow_populate(path: str, n_runs: int, long_points_n: int) -> dict[str, Any]:
    """MLflow venv: seed a new SQLite DB at ``path`` with MLflow's own client (log_batch in
    batches of at most 1,000 entities, MLflow's limit); returns the ids."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param, RunTag

    client = MlflowClient(f"sqlite:///{path}")
    start = time.perf_counter()
    experiment_id = client.create_experiment(EXPERIMENT)
    names: dict[str, str] = {}
    for i, spec in enumerate(make_runs(n_runs, SEED)):
        run = client.create_run(experiment_id, start_time=spec["start"], run_name=spec["name"])
        run_id = run.info.run_id
        client.log_batch(
            run_id,
            params=[Param(k, v) for k, v in spec["params"].items()],
            tags=[RunTag(k, v) for k, v in spec["tags"].items()],
        )
        points = run_points(i, spec)
        for lo in range(0, len(points), MLFLOW_MAX_METRICS):
            chunk = points[lo : lo + MLFLOW_MAX_METRICS]
            client.log_batch(run_id, metrics=[Metric(k, v, t, s) for k, v, t, s in chunk])
        client.set_terminated(run_id, end_time=spec["start"] + 60_000)
        if i < HISTORY_RUNS:
            names[spec["name"]] = run_id
        if i % 1000 == 999:
            print(f"mlflow: {i + 1} runs in {time.perf_counter() - start:.0f} s", flush=True)
    runs_s = time.perf_counter() - start
    long_experiment = client.create_experiment(LONG_EXPERIMENT)
    long_run = client.create_run(long_experiment, start_time=BASE_TIME_MS, run_name=LONG_RUN)
    long_id = long_run.info.run_id
    for lo in range(0, long_points_n, MLFLOW_MAX_METRICS):
        hi = min(lo + MLFLOW_MAX_METRICS, long_points_n)
        client.log_batch(
            long_id, metrics=[Metric(LONG_KEY, v, t, s) for v, t, s in long_points(lo, hi)]
        )
    client.set_terminated(long_id, end_time=BASE_TIME_MS + 10 * long_points_n)
    return {
        "experiment_id": experiment_id,
        "history_runs": names,
        "long_experiment_id": long_experiment,
        "long_run_id": long_id,
        "populate_runs_s": runs_s,
        "populate_long_s": time.perf_counter() - start - runs_s,
    }


def mlflow_store(n_runs: int = N_RUNS, long_n: int = LONG_POINTS) -> tuple[Path, dict[str, Any]]:
    """The cached MLflow DB (built once: ~10 min) and its ids."""

    def build(path: Path) -> dict[str, Any]:
        return call_mlflow(
            __file__, "mlflow_populate", path=str(path), n_runs=n_runs, long_points_n=long_n
        )

    return cached_store("mlflow", f"mlflow-{mlflow_version()}", n_runs, long_n, build)


# --------------------------------------------------------------------------- the browser

VIEWPORT = {"width": 1280, "height": 720}
TIMEOUT_S = 60.0  # a view that is not ready after this long is reported as timed out
REPEATS = 5  # timed samples per measurement (each on a fresh page), after a warm-up load
BUDGET_S = 120.0  # stop repeating a measurement after this long (at least one sample)
SLOW_MS = 5_000.0  # a warm-up slower than this counts as a sample (no time for more)
SORT_KEY = "m0"
ZOOM_FROM, ZOOM_TO = 0.30, 0.60  # the dragged span, as fractions of the plot's width

# JavaScript helpers: function strings (the cairn UI's CSP forbids eval of bare expressions).
INIT_JS = """() => {
  performance.setResourceTimingBufferSize(10000);
  window.__bench = {t0: null, mutations: []};
  for (const type of ['click', 'mouseup']) {
    addEventListener(type, () => { if (window.__bench.arm === type) {
      window.__bench.t0 = performance.now(); window.__bench.arm = null; } }, true);
  }
}"""
ARM_JS = "(type) => { window.__bench.t0 = null; window.__bench.arm = type; }"
T0_JS = "() => window.__bench.t0"
RESOURCES_JS = """(since) => performance.getEntriesByType('resource')
  .filter((r) => r.name.includes('/ajax-api/') && r.startTime >= since)
  .map((r) => ({name: r.name.split('/ajax-api/')[1].split('?')[0], start: r.startTime,
                ttfb: r.responseStart, end: r.responseEnd, bytes: r.decodedBodySize}))"""
NAV_JS = """() => { const n = performance.getEntriesByType('navigation')[0];
  const statics = performance.getEntriesByType('resource').filter(
    (r) => /\\/static/.test(r.name));
  return {html: n ? n.responseEnd : null, dcl: n ? n.domContentLoadedEventEnd : null,
          statics: statics.length,
          static_end: Math.max(0, ...statics.map((r) => r.responseEnd))}; }"""


def chromium() -> str:
    """Debian's Chromium, found and launched as the browser tests do (tests/browser.py)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from browser import chromium_path

    found = chromium_path()
    if not found:
        raise RuntimeError("no Chromium: install Debian's `chromium` (or set CAIRN_TEST_CHROMIUM)")
    return found


def chromium_args() -> list[str]:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from browser import CHROMIUM_ARGS

    return CHROMIUM_ARGS


class TimedOut(Exception):
    """The page never reached the awaited state within ``TIMEOUT_S``."""


def frame_time(page: Any, condition: str, arg: Any = None, timeout_s: float = TIMEOUT_S) -> float:
    """performance.now() (ms since the navigation started) at the first animation frame in which
    ``condition(arg)`` holds: the frame that paints that state."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    js = f"(arg) => (({condition})(arg) ? performance.now() : false)"
    try:
        handle = page.wait_for_function(js, arg=arg, polling="raf", timeout=timeout_s * 1000)
    except PlaywrightTimeout as exc:
        raise TimedOut(f"not ready within {timeout_s:g} s") from exc
    return float(handle.json_value())


def navigate(page: Any, url: str, condition: str, arg: Any = None) -> float:
    """ms from navigation start to the first frame where ``condition`` holds (fresh page)."""
    page.goto(url, wait_until="commit")
    return frame_time(page, condition, arg)


def interaction(page: Any, event: str, act: Any, condition: str, arg: Any = None) -> dict:
    """ms from the ``event`` (``click``/``mouseup``) that ``act()`` causes to the first frame
    where ``condition`` holds (the event is stamped in the page by a capturing listener), and
    the API requests made since, with times relative to the event."""
    page.evaluate(ARM_JS, event)
    act()
    end = frame_time(page, condition, arg)
    t0 = page.evaluate(T0_JS)
    if t0 is None:
        raise RuntimeError(f"no {event} event reached the page")
    api = [
        {**r, "start": r["start"] - t0, "ttfb": r["ttfb"] - t0, "end": r["end"] - t0}
        for r in page.evaluate(RESOURCES_JS, t0)
    ]
    return {"ms": end - float(t0), "api": api}


def drag_across(page: Any, selector: str) -> None:
    """Drag horizontally over ``selector`` from 30% to 60% of its width (a zoom selection)."""
    box = page.locator(selector).first.bounding_box()
    if box is None:
        raise RuntimeError(f"nothing to drag on: {selector}")
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * ZOOM_FROM, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * (ZOOM_FROM + ZOOM_TO) / 2, y, steps=4)
    page.mouse.move(box["x"] + box["width"] * ZOOM_TO, y, steps=4)
    page.mouse.up()


def sample_series(
    browser: Any, init: str | None, sample: Any, repeats: int = REPEATS
) -> dict[str, Any]:
    """``sample(page) -> {"ms": ..., ...}`` on fresh pages of one browser context (so the HTTP
    cache and the app's stored settings persist, as for a returning user): a warm-up, then up to
    ``repeats`` timed samples within ``BUDGET_S``. A timeout ends the series."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(f"({INIT_JS})()")
    if init:
        context.add_init_script(init)
    samples: list[dict[str, Any]] = []
    out: dict[str, Any] = {}
    start = time.perf_counter()
    try:
        while len(samples) < repeats:
            page = context.new_page()
            try:
                result = sample(page)
            except (TimedOut, PlaywrightTimeout) as exc:
                out["timed_out"] = str(exc).splitlines()[0]
                break
            finally:
                page.close()
            if "first" not in out:
                out["first"] = result
                if result["ms"] < SLOW_MS:
                    continue
            samples.append(result)
            if time.perf_counter() - start > BUDGET_S:
                break
    finally:
        context.close()
    if samples:
        ordered = sorted(samples, key=lambda r: r["ms"])
        out["median_sample"] = ordered[(len(ordered) - 1) // 2]
        out["ms"] = statistics.median(r["ms"] for r in samples)
        out["all_ms"] = [round(r["ms"], 1) for r in samples]
    out["n"] = len(samples)
    return out


# --------------------------------------------------------------------------- cairn's pages

CAIRN_TABLE_READY = """() => {
  const t = document.querySelector('[data-testid="runs-table"][data-ready="true"]');
  const r = t && t.querySelector('[data-testid="run-row"][data-index="0"]');
  return !!r && r.getBoundingClientRect().height > 0; }"""
CAIRN_SORTED = """(col) => {
  const t = document.querySelector('[data-testid="runs-table"][data-ready="true"]');
  return !!t && (t.dataset.sort || '').startsWith(col + ':')
    && !!t.querySelector('[data-testid="run-row"][data-index="0"]'); }"""
CAIRN_FIRST_ROW = """() => {
  const t = document.querySelector('[data-testid="runs-table"]');
  const r = t && t.querySelector('[data-testid="run-row"][data-index="0"]');
  const m = r && r.textContent.match(/run-\\d{5}/);
  return {name: m ? m[0] : null, sort: t ? t.dataset.sort || null : null,
          total: t ? t.dataset.total : null}; }"""
CAIRN_CHART = '[data-testid="metric-chart"]'
CAIRN_CHART_READY = """() =>
  !!document.querySelector('[data-testid="metric-chart"][data-ready="true"]')"""
CAIRN_REDRAWN = """(n) => {
  const c = document.querySelector('[data-testid="metric-chart"]');
  return !!c && Number(c.dataset.renderCount) > n; }"""
CAIRN_CHART_STATE = """() => { const c = document.querySelector('[data-testid="metric-chart"]');
  return {renders: Number(c.dataset.renderCount), points: Number(c.dataset.points)}; }"""
CAIRN_COMPARE_READY = """() =>
  !!document.querySelector('[data-testid="compare-page"][data-ready="true"]')"""
# The compare page's metric charts (below the diff table and plots): every one in the viewport
# has painted its data (they are built lazily, when scrolled near the viewport).
CAIRN_CHARTS_READY = """() => {
  const charts = [...document.querySelectorAll(
    '[data-testid="compare-page"] [data-testid="metric-chart"]')].filter((c) => {
      const r = c.getBoundingClientRect(); return r.bottom > 0 && r.top < innerHeight; });
  return charts.length > 0 && charts.every((c) => c.dataset.ready === 'true'); }"""
CAIRN_SCROLL_TO_CHARTS = """() => document.querySelector(
  '[data-testid="compare-page"] [data-testid="metric-chart"]').scrollIntoView({block: 'start'})"""
CAIRN_CHARTS_STATE = """() => {
  const charts = [...document.querySelectorAll(
    '[data-testid="compare-page"] [data-testid="metric-chart"]')];
  const visible = charts.filter((c) => {
    const r = c.getBoundingClientRect(); return r.bottom > 0 && r.top < innerHeight; });
  return {charts: charts.length, visible_charts: visible.length,
          points: visible.map((c) => Number(c.dataset.points))}; }"""
CAIRN_COMPARE_STATE = """() => ({
  charts: document.querySelectorAll('[data-testid="compare-page"] [data-testid="metric-chart"]')
    .length,
  canvases: document.querySelectorAll('[data-testid="compare-page"] canvas').length})"""


class CairnUI:
    """How each view is reached and recognised in cairn's UI (the brief's data-testids)."""

    tool = "cairn"

    def __init__(self, base: str, meta: dict[str, Any], expect: dict[str, Any]) -> None:
        self.base = base
        self.meta = meta
        self.expect = expect
        columns = [f"metrics.m{k}" for k in range(N_METRICS)]
        columns += [f"params.p{k:02d}" for k in range(N_PARAMS)]
        self.default_table_url = f"{base}#/experiments/{meta['experiment_id']}"
        self.table_url = f"{self.default_table_url}?cols={','.join(columns)}"
        self.chart_url = f"{base}#/metric?runs={meta['long_run_id']}&key={LONG_KEY}"
        ids = ",".join(meta["history_runs"].values())
        self.compare_url = f"{base}#/compare?runs={ids}"

    def init(self, view: str) -> str | None:
        return None

    def table(self, page: Any) -> dict[str, Any]:
        ms = navigate(page, self.table_url, CAIRN_TABLE_READY)
        return {"ms": ms, **page.evaluate(CAIRN_FIRST_ROW), **loading(page, 0)}

    def table_default(self, page: Any) -> dict[str, Any]:
        """The runs table as a click on the experiment opens it: no ``cols=``, so the page picks
        its default columns from ``experiments/keys`` first."""
        ms = navigate(page, self.default_table_url, CAIRN_TABLE_READY)
        return {"ms": ms, **page.evaluate(CAIRN_FIRST_ROW), **loading(page, 0)}

    def sort(self, page: Any) -> dict[str, Any]:
        navigate(page, self.table_url, CAIRN_TABLE_READY)
        column = f"metrics.{SORT_KEY}"
        header = f'[data-testid="col-header"][data-col="{column}"]'
        timing = interaction(page, "click", lambda: page.click(header), CAIRN_SORTED, column)
        row = page.evaluate(CAIRN_FIRST_ROW)
        direction = (row["sort"] or ":").split(":")[1]
        row["expected"] = self.expect["sorted_first"].get(direction)
        return {**timing, **row}

    def chart(self, page: Any) -> dict[str, Any]:
        ms = navigate(page, self.chart_url, CAIRN_CHART_READY)
        return {"ms": ms, **page.evaluate(CAIRN_CHART_STATE), **loading(page, 0)}

    def zoom(self, page: Any) -> dict[str, Any]:
        navigate(page, self.chart_url, CAIRN_CHART_READY)
        page.wait_for_timeout(300)  # let the first paint settle (no resize refetch under way)
        before = page.evaluate(CAIRN_CHART_STATE)["renders"]
        timing = interaction(
            page,
            "mouseup",
            lambda: drag_across(page, f"{CAIRN_CHART} .u-over"),
            CAIRN_REDRAWN,
            before,
        )
        return {**timing, **page.evaluate(CAIRN_CHART_STATE)}

    def compare(self, page: Any) -> dict[str, Any]:
        ms = navigate(page, self.compare_url, CAIRN_COMPARE_READY)
        return {"ms": ms, **page.evaluate(CAIRN_COMPARE_STATE), **loading(page, 0)}

    def charts(self, page: Any) -> dict[str, Any]:
        """Navigation to the compare page's metric charts painted, scrolled to as soon as they
        exist (a user scrolls later: this is the soonest they can be seen)."""
        page.goto(self.compare_url, wait_until="commit")
        page.wait_for_selector(
            '[data-testid="compare-page"] [data-testid="metric-chart"]',
            state="attached",
            timeout=TIMEOUT_S * 1000,
        )
        page.evaluate(CAIRN_SCROLL_TO_CHARTS)
        ms = frame_time(page, CAIRN_CHARTS_READY)
        return {"ms": ms, **page.evaluate(CAIRN_CHARTS_STATE), **loading(page, 0)}


def loading(page: Any, since: float) -> dict[str, Any]:
    """Where a page load's time went: HTML, static modules, each API request (resource timing)."""
    return {**page.evaluate(NAV_JS), "api": page.evaluate(RESOURCES_JS, since)}


# --------------------------------------------------------------------------- MLflow's pages

MLFLOW_TABLE_READY = """(col) => {
  const a = document.querySelector(
    '.ag-pinned-left-cols-container .ag-row[row-index="0"] a[href*="/runs/"]');
  const c = document.querySelector(
    '.ag-center-cols-container .ag-row[row-index="0"] [col-id="' + col + '"]');
  return !!a && a.getBoundingClientRect().height > 0 && !!c && c.textContent.trim() !== ''; }"""
MLFLOW_FIRST_ROW = """() => {
  const a = document.querySelector(
    '.ag-pinned-left-cols-container .ag-row[row-index="0"] a[href*="/runs/"]');
  return {name: a ? a.textContent.trim() : null,
          rows: document.querySelectorAll('.ag-pinned-left-cols-container .ag-row').length}; }"""
MLFLOW_SORTED = """(a) => {
  const link = document.querySelector(
    '.ag-pinned-left-cols-container .ag-row[row-index="0"] a[href*="/runs/"]');
  const c = document.querySelector(
    '.ag-center-cols-container .ag-row[row-index="0"] [col-id="' + a.col + '"]');
  return !!link && a.names.includes(link.textContent.trim()) && !!c
    && c.textContent.trim() !== ''; }"""
MLFLOW_CARD = '[data-testid="experiment-view-compare-runs-card"]'
MLFLOW_CHART_READY = """() => {
  const p = document.querySelector(
    '[data-testid="experiment-view-compare-runs-card"] .js-plotly-plot path.js-line');
  return !!p && (p.getAttribute('d') || '').length > 20; }"""
MLFLOW_WATCH = """() => {
  performance.clearResourceTimings();
  window.__bench.mutations = [];
  const root = document.querySelector('[data-testid="experiment-view-compare-runs-card"]');
  new MutationObserver(() => window.__bench.mutations.push(performance.now())).observe(
    root, {subtree: true, childList: true, attributes: true, attributeFilter: ['d']}); }"""
# Redrawn with new data: a change of the plot after the zoom's refetch arrived.
MLFLOW_REDRAWN = """() => {
  const got = performance.getEntriesByType('resource').filter(
    (r) => r.name.includes('get-history-bulk-interval') && r.name.includes('start_step='));
  if (!got.length) return false;
  const at = got[got.length - 1].responseEnd;
  return window.__bench.mutations.some((t) => t > at); }"""
MLFLOW_CHART_STATE = """() => { const p = document.querySelector(
    '[data-testid="experiment-view-compare-runs-card"] .js-plotly-plot path.js-line');
  return {path_chars: p ? (p.getAttribute('d') || '').length : 0}; }"""
# The chart view is ready when every chart card in the viewport draws a line for each run.
MLFLOW_CHARTS_READY = """(n) => {
  const cards = [...document.querySelectorAll(
    '[data-testid="experiment-view-compare-runs-card"]')].filter((c) => {
      const r = c.getBoundingClientRect(); return r.bottom > 0 && r.top < innerHeight; });
  return cards.length > 0 && cards.every((c) => [...c.querySelectorAll('g.trace')].filter(
    (g) => { const p = g.querySelector('path.js-line');
             return !!p && (p.getAttribute('d') || '').length > 10; }).length >= n); }"""
MLFLOW_CHARTS_STATE = """() => {
  const cards = [...document.querySelectorAll(
    '[data-testid="experiment-view-compare-runs-card"]')];
  const visible = cards.filter((c) => {
    const r = c.getBoundingClientRect(); return r.bottom > 0 && r.top < innerHeight; });
  return {cards: cards.length, visible_cards: visible.length,
          traces: visible.map((c) => c.querySelectorAll('g.trace').length)}; }"""
# The compare-runs page: the details table names every run and the parallel coordinates are drawn.
MLFLOW_COMPARE_READY = """(names) => {
  if (!document.querySelector('.js-plotly-plot .parcoords')) return false;
  const shown = new Set([...document.querySelectorAll('td.data-value')].map(
    (td) => td.textContent.trim()));
  return names.every((n) => shown.has(n)); }"""


class MlflowUI:
    """How each view is reached and recognised in MLflow's UI (found by inspecting its DOM)."""

    tool = "mlflow"

    def __init__(self, base: str, meta: dict[str, Any], expect: dict[str, Any]) -> None:
        from urllib.parse import quote

        self.base = base
        self.meta = meta
        self.expect = expect
        eid = meta["experiment_id"]
        self.table_url = f"{base}#/experiments/{eid}/runs"
        self.chart_url = (
            f"{base}#/experiments/{meta['long_experiment_id']}/runs/{meta['long_run_id']}"
            "/model-metrics"
        )
        self.history_filter = "attributes.run_name LIKE 'run-000%'"  # exactly runs 0..99
        self.charts_url = (
            f"{base}#/experiments/{eid}/runs?compareRunsMode=CHART&searchFilter="
            + quote(self.history_filter)
        )
        ids = json.dumps(list(meta["history_runs"].values()), separators=(",", ":"))
        self.compare_url = (
            f"{base}#/compare-runs?runs={quote(ids)}&experiments={quote(json.dumps([eid]))}"
        )

    def init(self, view: str) -> str:
        """Settings a user would have made once: the 30 columns shown in the runs table, the
        assistant side panel closed; for the chart view, the 100 runs filtered and all shown."""
        columns = [f"metrics.`m{k}`" for k in range(N_METRICS)]
        columns += [f"params.`p{k:02d}`" for k in range(N_PARAMS)]
        state = {
            "searchFilter": self.history_filter if view == "charts" else "",
            "orderByKey": "attributes.start_time",
            "orderByAsc": False,
            "startTime": "ALL",
            "lifecycleFilter": "Active",
            "datasetsFilter": [],
            "modelVersionFilter": "All Runs",
            "selectedColumns": columns,
            "columnOrder": [],
            "columnWidths": {},
            "runsExpanded": {},
            "runsPinned": [],
            "runsHidden": [],
            "runsVisibilityMap": {},
            "runsHiddenMode": "SHOW_ALL" if view == "charts" else "FIRST_10_RUNS",
            "viewMaximized": False,
            "runListHidden": False,
            "isAccordionReordered": False,
            "useGroupedValuesInCharts": True,
            "hideEmptyCharts": True,
            "groupBy": None,
            "groupsExpanded": {},
            "autoRefreshEnabled": True,
            "globalLineChartConfig": {
                "xAxisKey": "step",
                "lineSmoothness": 0,
                "selectedXAxisMetricKey": "",
            },
        }
        eid = self.meta["experiment_id"]
        storage = {
            f'MLflowLocalStorage-1.1-ExperimentPage-["{eid}"]-ReactComponentState': json.dumps(
                state
            ),
            "mlflow.assistant.panelOpen_v1": "false",
            "mlflow.assistant.fab.autoOpenedOnFirstLoad_v1": "true",
        }
        return (
            f"(() => {{ for (const [k, v] of Object.entries({json.dumps(storage)})) "
            "localStorage.setItem(k, v); })()"
        )

    def table(self, page: Any) -> dict[str, Any]:
        ms = navigate(page, self.table_url, MLFLOW_TABLE_READY, f"metrics.`{SORT_KEY}`")
        return {"ms": ms, **page.evaluate(MLFLOW_FIRST_ROW), **loading(page, 0)}

    def sort(self, page: Any) -> dict[str, Any]:
        column = f"metrics.`{SORT_KEY}`"
        navigate(page, self.table_url, MLFLOW_TABLE_READY, column)
        header = f'[data-testid="sort-header-{SORT_KEY}"]'
        arg = {"col": column, "names": list(self.expect["sorted_first"].values())}
        timing = interaction(page, "click", lambda: page.click(header), MLFLOW_SORTED, arg)
        row = page.evaluate(MLFLOW_FIRST_ROW)
        row["expected"] = self.expect["sorted_first"]["desc"]
        return {**timing, **row}

    def chart(self, page: Any) -> dict[str, Any]:
        ms = navigate(page, self.chart_url, MLFLOW_CHART_READY)
        return {"ms": ms, **page.evaluate(MLFLOW_CHART_STATE), **loading(page, 0)}

    def zoom(self, page: Any) -> dict[str, Any]:
        navigate(page, self.chart_url, MLFLOW_CHART_READY)
        page.wait_for_timeout(300)
        page.evaluate(MLFLOW_WATCH)
        timing = interaction(
            page, "mouseup", lambda: drag_across(page, f"{MLFLOW_CARD} .nsewdrag"), MLFLOW_REDRAWN
        )
        return {**timing, **page.evaluate(MLFLOW_CHART_STATE)}

    def charts(self, page: Any) -> dict[str, Any]:
        ms = navigate(page, self.charts_url, MLFLOW_CHARTS_READY, HISTORY_RUNS)
        return {"ms": ms, **page.evaluate(MLFLOW_CHARTS_STATE), **loading(page, 0)}

    def compare(self, page: Any) -> dict[str, Any]:
        names = list(self.meta["history_runs"])
        ms = navigate(page, self.compare_url, MLFLOW_COMPARE_READY, names)
        return {"ms": ms, **loading(page, 0)}


# --------------------------------------------------------------------------- one tool


def expectations(n_runs: int) -> dict[str, Any]:
    """What a correct page shows: the first row when sorted by SORT_KEY either way."""
    runs = make_runs(n_runs, SEED)
    by_key = sorted(runs, key=lambda r: r["metrics"][SORT_KEY])
    return {"sorted_first": {"asc": by_key[0]["name"], "desc": by_key[-1]["name"]}}


def measure_tool(
    tool: str, db: Path, meta: dict[str, Any], browser: Any, expect: dict[str, Any], repeats: int
) -> dict[str, Any]:
    """Start ``tool``'s server on a copy of its store and time every view in the browser."""
    workers = 1 if tool == "cairn" else 4  # each server's default
    out: dict[str, Any] = {"workers": workers}
    with fresh_dir(f"bench-ui-{tool}-") as workdir:
        copy = workdir / f"{tool}.db"
        shutil.copyfile(db, copy)
        with server(tool, f"sqlite:///{copy}", workdir, workers) as port:
            base = f"http://127.0.0.1:{port}/"
            ui: CairnUI | MlflowUI = (CairnUI if tool == "cairn" else MlflowUI)(base, meta, expect)
            views = [("table", "table"), ("sort", "table"), ("chart", "chart")]
            views += [("zoom", "chart"), ("charts", "charts"), ("compare", "compare")]
            if tool == "cairn":
                views.append(("table_default", "table"))
            for name, view in views:
                if name == "zoom" and "ms" not in out["chart"]:
                    out[name] = {"skipped": "not measured: the chart never painted"}
                    continue
                try:
                    out[name] = sample_series(browser, ui.init(view), getattr(ui, name), repeats)
                except Exception as exc:  # a broken page must not hide the other figures
                    out[name] = {"error": f"{type(exc).__name__}: {exc}".splitlines()[0][:300]}
                log(f"{tool} {name}: {summary(out[name])}")
    return out


def summary(result: dict[str, Any]) -> str:
    if "ms" in result:
        first = result.get("first", {}).get("ms")
        warm = f", warm-up {first:,.0f} ms" if first is not None else ""
        return f"median {result['ms']:,.0f} ms of {result['all_ms']}{warm}"
    return result.get("timed_out") or result.get("error") or result.get("skipped") or "?"


# --------------------------------------------------------------------------- report

TARGET_TABLE_S = 1.0
TARGET_SORT_S = 0.200
TARGET_CHART_S = 1.0
TARGET_ZOOM_S = 0.200
TARGET_COMPARE_S = 2.0


def cell(results: dict[str, Any], tool: str, name: str) -> float | str | None:
    """A table cell: seconds, or what happened instead."""
    if tool not in results:
        return MISSING
    result = results[tool].get(name, {})
    if "ms" in result:
        return float(result["ms"]) / 1000
    if "timed_out" in result:
        return f"> {TIMEOUT_S:g} s (timed out)"
    if "skipped" in result:
        return "not measured"
    if "error" in result:
        return "failed"
    return None


def describe_api(sample: dict[str, Any], limit: int = 4) -> str:
    """The API requests of one sample: endpoint start->end ms (server wait, size), slowest last."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for request in sample.get("api", []):
        groups.setdefault(request["name"], []).append(request)
    parts = []
    for name, requests in sorted(groups.items(), key=lambda kv: max(r["end"] for r in kv[1])):
        start = min(r["start"] for r in requests)
        end = max(r["end"] for r in requests)
        wait = max(r["ttfb"] - r["start"] for r in requests)
        size = sum(r["bytes"] or 0 for r in requests)
        count = f"{len(requests)}x " if len(requests) > 1 else ""
        parts.append(
            f"{count}{name} {start:,.0f}->{end:,.0f} ms (server {wait:,.0f} ms, "
            f"{size / 1e6:.2f} MB)"
        )
    return "; ".join(parts[-limit:]) if parts else "no API requests"


def describe(results: dict[str, Any], tool: str, name: str) -> str:
    """One tool's part of a row's note: samples, warm-up, where the median sample's time went."""
    result = results.get(tool, {}).get(name)
    if result is None:
        return ""
    label = "cairn" if tool == "cairn" else "MLflow"
    if "error" in result:
        return f"{label}: FAILED: {result['error']}."
    if "ms" not in result:
        return f"{label}: {result.get('timed_out') or result.get('skipped')}."
    sample = result["median_sample"]
    first = result.get("first", {}).get("ms")
    text = f"{label}: {result['all_ms']} ms"
    if first is not None and result.get("first") is not sample:
        text += f", warm-up (new browser context, cold cache) {first:,.0f} ms"
    if sample.get("html") is not None:
        text += (
            f"; median sample: HTML {sample['html']:,.0f} ms, {sample['statics']} static files "
            f"by {sample['static_end']:,.0f} ms"
        )
    text += "; " + describe_api(sample)
    extras = [f"{k} {sample[k]}" for k in ("name", "sort", "total", "rows") if sample.get(k)]
    extras += [f"{k} {sample[k]}" for k in ("points", "renders", "path_chars") if k in sample]
    extras += [f"{k} {sample[k]}" for k in ("charts", "canvases", "cards", "traces") if k in sample]
    if sample.get("expected"):
        ok = "ok" if sample.get("name") == sample["expected"] else "WRONG"
        extras.append(f"expected first row {sample['expected']}: {ok}")
    if extras:
        text += " [" + ", ".join(extras) + "]"
    return text + "."


def sizes() -> tuple[int, int, int]:
    """(runs, points of the long metric, repeats); BENCH_UI_QUICK=1 shrinks them to try it out."""
    if os.environ.get("BENCH_UI_QUICK") == "1":
        return 300, 20_000, 2
    return N_RUNS, LONG_POINTS, REPEATS


def run() -> list[Row]:
    import concurrent.futures

    from playwright.sync_api import sync_playwright

    started = time.perf_counter()
    load_before = os.getloadavg()
    n_runs, long_n, repeats = sizes()
    have_mlflow = mlflow_available()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        mlflow_future = pool.submit(mlflow_store, n_runs, long_n) if have_mlflow else None
        stores = {"cairn": cairn_store(n_runs, long_n)}
        if mlflow_future is not None:
            stores["mlflow"] = mlflow_future.result()
    expect = expectations(n_runs)
    results: dict[str, Any] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium(), headless=True, args=chromium_args()
        )
        version = browser.version
        try:
            for tool, (db, meta) in stores.items():
                log(f"=== {tool} UI")
                results[tool] = measure_tool(tool, db, meta, browser, expect, repeats)
        finally:
            browser.close()

    def both(name: str, mlflow_name: str | None = None) -> tuple[Any, Any, str]:
        notes = [describe(results, "cairn", name), describe(results, "mlflow", mlflow_name or name)]
        return cell(results, "cairn", name), cell(results, "mlflow", mlflow_name or name), notes

    rows = []
    specs = [
        (
            f"runs table, {n_runs:,} runs x {N_METRICS + N_PARAMS} columns: interactive",
            "table",
            None,
            TARGET_TABLE_S,
            "Navigation start (a fresh page) to the first frame with the first row drawn "
            "and clickable: cairn `runs-table[data-ready=true]` with row 0; MLflow the run-name "
            f"link and {SORT_KEY} cell of ag-grid row 0. Both show the {N_METRICS} metric and "
            f"{N_PARAMS} param columns (cairn via `cols=` in the URL, MLflow via its saved column "
            "selection). cairn loads every run (virtualized rows); MLflow loads its first page of "
            "100 runs ('Load more' for the rest).",
        ),
        (
            f"sort by a metric (click the {SORT_KEY} header)",
            "sort",
            None,
            TARGET_SORT_S,
            "The header's click event to the first frame with the sorted rows: cairn "
            "`data-sort` set to that column (sorts ascending first, locally: all rows are "
            "loaded); MLflow's row 0 becomes the run with the largest value (it sorts descending "
            "first, with a new runs/search request).",
        ),
        (
            f"chart of a {long_n:,}-point metric: first paint",
            "chart",
            None,
            TARGET_CHART_S,
            "Navigation start to the first frame with the line drawn: cairn "
            "`#/metric?runs=<id>&key=loss` -> `metric-chart[data-ready=true]`; MLflow the run's "
            "Model metrics tab -> the plotly line path of the chart card.",
        ),
        (
            f"chart of a {long_n:,}-point metric: zoom redraw",
            "zoom",
            None,
            TARGET_ZOOM_S,
            f"A mouse drag over {ZOOM_FROM:.0%}..{ZOOM_TO:.0%} of the plot's width; from mouseup "
            "to the first frame drawn with the zoomed range's refetched data: cairn "
            "`data-render-count` increases; MLflow the plot changes after its "
            "get-history-bulk-interval?start_step=... response arrived (plotly rescales its "
            "old points at once; that instant redraw is not counted).",
        ),
        (
            f"compare {HISTORY_RUNS} runs: metric charts painted",
            "charts",
            None,
            TARGET_COMPARE_S,
            f"Navigation start to the first frame in which every metric chart in the viewport "
            f"has painted all {HISTORY_RUNS} runs ({N_METRICS} metrics, {HISTORY_STEPS} steps "
            f"each). cairn `#/compare?runs=<{HISTORY_RUNS} ids>`: its charts sit below the diff "
            "table and the plots, so the first chart is scrolled into view as soon as it exists; "
            "then every `metric-chart` in the viewport has data-ready=true. MLflow: the "
            f"experiment's chart view filtered to the same {HISTORY_RUNS} runs, all shown (a "
            f"grid of {N_METRICS} charts) -> every chart card in the viewport draws "
            f"{HISTORY_RUNS} lines. Both build off-screen charts lazily.",
        ),
        (
            f"compare {HISTORY_RUNS} runs: compare page ready",
            "compare",
            None,
            TARGET_COMPARE_S,
            f"cairn `#/compare?runs=<{HISTORY_RUNS} ids>` -> `compare-page[data-ready=true]` "
            "(the diff table, scatter and parallel coordinates; at 1280x720 no metric chart is "
            "in the viewport then, see the row above); MLflow's "
            f"`#/compare-runs?runs=[...]` page -> its details table names all {HISTORY_RUNS} "
            "runs and the parallel coordinates plot exists (that page has no metric history "
            "charts).",
        ),
    ]
    for name, key, mlflow_key, target, how in specs:
        c, m, details = both(key, mlflow_key)
        note = how + " " + " ".join(d for d in details if d)
        rows.append(Row(name, c, m, "ms", target, note))
    if "cairn" in results:
        how = (
            "cairn's runs table opened as a click on the experiment opens it (`#/experiments/<id>`"
            ", no `cols=`): 10 metric and 10 param columns, chosen from experiments/keys, or "
            "from the keys the page remembered (localStorage) on an earlier visit, so only the "
            "warm-up page waits for experiments/keys before requesting runs/table. MLflow has no "
            "counterpart (its default view shows no metric or param column): see the row above. "
        )
        rows.insert(
            1,
            Row(
                "runs table, cairn's default columns (no cols= in the URL)",
                cell(results, "cairn", "table_default"),
                None,
                "ms",
                TARGET_TABLE_S,
                how + describe(results, "cairn", "table_default"),
            ),
        )
    workers = {tool: results[tool]["workers"] for tool in results}
    rows[0].note = (
        f"Measured {time.strftime('%Y-%m-%d %H:%M')} in {time.perf_counter() - started:.0f} s; "
        f"load average {load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after, "
        f"{os.cpu_count()} CPUs shared by the servers, the browser and other work: browser "
        "timings on a loaded machine vary by tens of percent. Headless Chromium "
        f"{version} ({chromium()}), {VIEWPORT['width']}x{VIEWPORT['height']}; each figure "
        f"is the median of up to {repeats} fresh pages in one browser context (HTTP cache and "
        "the app's saved settings kept, like a returning user) after one warm-up page; times are "
        "the page's own clock (performance.now() at the first animation frame in which the "
        f"awaited state holds; timeout {TIMEOUT_S:g} s). Servers: cairn server --workers "
        f"{workers.get('cairn', 1)}, mlflow server --workers {workers.get('mlflow', 4)} (their "
        f"defaults), each on a copy of its cached SQLite store ({n_runs:,} runs x {N_PARAMS} "
        f"params x {N_METRICS} metrics; runs 0..{HISTORY_RUNS - 1} with {HISTORY_STEPS}-step "
        f"histories; one run with {long_n:,} points of '{LONG_KEY}'). " + rows[0].note
    )
    return rows


if __name__ == "__main__":
    bench_main(run, __doc__ or "")

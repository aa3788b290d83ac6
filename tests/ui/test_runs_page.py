"""The runs table (``#/experiments/<ids>``) in real Chromium against a live server: filter
language, sorting, columns, grouping, nesting, selection, delete/restore, live refresh,
virtualization and escaping."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from playwright.sync_api import expect

from browser import set_theme
from cairn.entities import Metric, Param, RunTag
from cairn.tracking.client import TrackingClient
from rest_server import CairnServer

TABLE = '[data-testid="runs-table"]'
READY = TABLE + '[data-ready="true"]'
PARENT_TAG = "mlflow.parentRunId"
XSS = "<img src=x onerror=alert(1)><script>alert(2)</script>"


def new_experiment(client: Any, prefix: str = "runs") -> str:
    return str(client.create_experiment(f"{prefix}-{uuid.uuid4().hex[:8]}"))


def make_run(
    client: Any,
    experiment_id: str,
    name: str,
    metrics: dict[str, float] | None = None,
    params: dict[str, str] | None = None,
    tags: dict[str, str] | None = None,
    *,
    parent: str | None = None,
    start: int | None = None,
    finish: bool = True,
) -> str:
    all_tags = dict(tags or {})
    if parent:
        all_tags[PARENT_TAG] = parent
    run = client.create_run(experiment_id, start_time=start, run_name=name, tags=all_tags)
    run_id = str(run.info.run_id)
    now = int(time.time() * 1000)
    client.log_batch(
        run_id,
        metrics=[Metric(k, v, now, 0) for k, v in (metrics or {}).items()],
        params=[Param(k, v) for k, v in (params or {}).items()],
    )
    if finish:
        client.set_terminated(run_id)
    return run_id


def open_runs(page: Any, server: CairnServer, ids: str, **query: str) -> None:
    qs = urlencode(query, quote_via=quote)
    page.goto(f"{server.url}/#/experiments/{ids}" + (f"?{qs}" if qs else ""))
    page.wait_for_selector(READY)


def shown_ids(page: Any) -> list[str]:
    """Run ids of the rows in the DOM, top to bottom."""
    return list(
        page.evaluate(
            "() => [...document.querySelectorAll('[data-testid=run-row]')]"
            ".sort((a, b) => a.dataset.index - b.dataset.index).map((r) => r.dataset.runId)"
        )
    )


def cell(page: Any, run_id: str, col: str) -> Any:
    return page.locator(f'[data-testid="run-row"][data-run-id="{run_id}"] [data-col="{col}"]')


def wait_total(page: Any, n: int) -> None:
    page.wait_for_function(
        "n => { const t = document.querySelector('[data-testid=runs-table]');"
        " return t && t.dataset.ready === 'true' && t.dataset.total === String(n); }",
        arg=n,
    )


def apply_filter(page: Any, text: str) -> None:
    box = page.locator('[data-testid="filter-input"]')
    box.fill(text)
    box.press("Escape")  # close any suggestion list: Enter then applies
    box.press("Enter")


def test_table_shows_the_runs_with_status_and_fixed_columns(
    page: Any, ui_server: CairnServer, ui_client: Any
) -> None:
    exp = new_experiment(ui_client)
    done = make_run(ui_client, exp, "done", {"loss": 0.5}, {"lr": "0.1"})
    running = make_run(ui_client, exp, "still-going", {"loss": 0.7}, finish=False)
    failed = make_run(ui_client, exp, "broke")
    ui_client.set_terminated(failed, status="FAILED")

    open_runs(page, ui_server, exp)
    assert sorted(shown_ids(page)) == sorted([done, running, failed])
    assert page.get_attribute(TABLE, "data-total") == "3"
    for col in ("attributes.status", "attributes.run_name", "attributes.start_time", "duration"):
        assert page.locator(f'[data-testid="col-header"][data-col="{col}"]').count() == 1
    assert cell(page, running, "attributes.status").inner_text() == "running"
    assert cell(page, failed, "attributes.status").inner_text() == "failed"
    assert cell(page, done, "metrics.loss").inner_text() == "0.5"
    assert cell(page, done, "params.lr").inner_text() == "0.1"
    link = cell(page, done, "attributes.run_name").get_by_role("link")
    assert link.inner_text() == "done"
    assert link.get_attribute("href") == f"#/runs/{done}"
    # Exact start time on hover, relative in the cell.
    start = cell(page, done, "attributes.start_time")
    assert "ago" in start.inner_text()
    assert start.get_attribute("title")[:2] == "20"


def test_filter_narrows_rows_and_a_bad_filter_is_shown_inline(
    page: Any, ui_server: CairnServer, ui_client: Any, request: pytest.FixtureRequest
) -> None:
    # Chromium logs the rejected request (400) on the console: expected here.
    request.node.allowed_console_errors = ("status of 400",)
    exp = new_experiment(ui_client)
    runs = {
        i: make_run(ui_client, exp, f"r{i}", {"loss": i / 10}, {"model": "cnn" if i % 2 else "mlp"})
        for i in range(1, 7)
    }
    open_runs(page, ui_server, exp)
    apply_filter(page, "metrics.loss < 0.45 and params.model = 'cnn'")
    wait_total(page, 2)
    assert sorted(shown_ids(page)) == sorted([runs[1], runs[3]])
    assert "filter=" in page.evaluate("() => location.hash")

    apply_filter(page, "metrics.loss <")
    error = page.locator('[data-testid="filter-error"]')
    error.wait_for()
    assert "position" in error.inner_text()
    # The table keeps its last rows.
    assert sorted(shown_ids(page)) == sorted([runs[1], runs[3]])

    # The filter lives in the URL: a reload restores the view.
    apply_filter(page, "params.model = 'mlp'")
    wait_total(page, 3)
    expect(error).to_have_count(0)
    page.reload()
    wait_total(page, 3)
    assert sorted(shown_ids(page)) == sorted([runs[2], runs[4], runs[6]])
    assert page.input_value('[data-testid="filter-input"]') == "params.model = 'mlp'"


def test_filter_autocompletes_prefixes_and_keys(
    page: Any, ui_server: CairnServer, ui_client: Any
) -> None:
    exp = new_experiment(ui_client)
    low = make_run(ui_client, exp, "low", {"val_loss": 0.1, "accuracy": 0.9})
    make_run(ui_client, exp, "high", {"val_loss": 0.9, "accuracy": 0.2})
    open_runs(page, ui_server, exp)
    box = page.locator('[data-testid="filter-input"]')
    box.click()
    box.press_sequentially("met")
    options = page.locator('[role="option"]')
    options.first.wait_for()
    assert options.all_inner_texts()[0].startswith("metrics.")
    box.press("Enter")  # accepts the prefix, then offers the keys
    expect(box).to_have_value("metrics.")
    page.wait_for_function(
        "() => [...document.querySelectorAll('[role=option]')]"
        ".some((o) => o.textContent.includes('metrics.val_loss'))"
    )
    box.press_sequentially("val")
    expect(options).to_have_count(1)
    box.press("Tab")
    expect(box).to_have_value("metrics.val_loss ")
    expect(options).to_have_count(0)
    box.press_sequentially("< 0.5")
    box.press("Enter")
    wait_total(page, 1)
    assert shown_ids(page) == [low]
    # Escape closes the list without applying anything.
    box.press("End")
    box.press_sequentially(" and par")
    options.first.wait_for()
    box.press("ArrowDown")
    box.press("Escape")
    expect(options).to_have_count(0)
    assert "par" in box.input_value()


def test_sort_by_metric_orders_rows_and_flips(
    page: Any, ui_server: CairnServer, ui_client: Any
) -> None:
    exp = new_experiment(ui_client)
    losses = [0.3, 0.05, 2.5, 1.0, 0.7, -1.0]
    ids = [make_run(ui_client, exp, f"r{i}", {"loss": v}) for i, v in enumerate(losses)]
    no_loss = make_run(ui_client, exp, "no-loss", {"other": 1.0})
    by_loss = [rid for _, rid in sorted(zip(losses, ids, strict=True))]

    open_runs(page, ui_server, exp, cols="metrics.loss")
    header = page.locator('[data-testid="col-header"][data-col="metrics.loss"]')
    header.click()
    page.wait_for_selector(TABLE + '[data-sort="metrics.loss:asc"]')
    assert shown_ids(page) == [*by_loss, no_loss]  # no value: last
    header.click()
    page.wait_for_selector(TABLE + '[data-sort="metrics.loss:desc"]')
    assert shown_ids(page) == [*reversed(by_loss), no_loss]
    assert header.locator("xpath=..").get_attribute("aria-sort") == "descending"
    # The sort is part of the URL.
    page.reload()
    page.wait_for_selector(READY + '[data-sort="metrics.loss:desc"]')
    assert shown_ids(page) == [*reversed(by_loss), no_loss]

    # Run names sort as text.
    page.locator('[data-testid="col-header"][data-col="attributes.run_name"]').click()
    page.wait_for_selector(TABLE + '[data-sort="attributes.run_name:asc"]')
    assert shown_ids(page)[0] == no_loss


def test_sort_goes_to_the_server_when_rows_were_truncated(
    page: Any, ui_server: CairnServer, ui_client: Any
) -> None:
    exp = new_experiment(ui_client)
    values = [(i * 12) % 25 for i in range(25)]  # 0..24, shuffled
    by_value = {v: make_run(ui_client, exp, f"r{v}", {"m": float(v)}) for v in values}
    open_runs(page, ui_server, exp, cols="metrics.m", limit="5")
    assert page.get_attribute(TABLE, "data-total") == "5"
    header = page.locator('[data-testid="col-header"][data-col="metrics.m"]')
    header.click()
    page.wait_for_selector(READY + '[data-sort="metrics.m:asc"]')
    assert shown_ids(page) == [by_value[v] for v in range(5)]  # the 5 smallest of all 25
    header.click()
    page.wait_for_selector(READY + '[data-sort="metrics.m:desc"]')
    assert shown_ids(page) == [by_value[v] for v in range(24, 19, -1)]
    page.click('[data-testid="load-all"]')
    wait_total(page, 25)
    assert shown_ids(page) == [by_value[v] for v in range(24, -1, -1)]


def test_server_sort_quotes_keys_that_are_not_identifiers(
    page: Any, ui_server: CairnServer, ui_client: Any
) -> None:
    """order_by speaks the search language: a key with a space is backquoted."""
    exp = new_experiment(ui_client)
    key = "val loss"
    col = f"metrics.{key}"
    values = [(i * 7) % 12 for i in range(12)]  # 0..11, shuffled
    by_value = {v: make_run(ui_client, exp, f"r{v}", {key: float(v)}) for v in values}
    sent: list[list[str]] = []
    page.on(
        "request",
        lambda r: r.url.endswith("/runs/table") and sent.append(r.post_data_json["order_by"]),
    )
    open_runs(page, ui_server, exp, cols=col, limit="4")
    assert page.get_attribute(TABLE, "data-total") == "4"  # truncated: sorting asks the server
    header = page.locator(f'[data-testid="col-header"][data-col="{col}"]')
    header.click()
    page.wait_for_selector(READY + f'[data-sort="{col}:asc"]')
    assert shown_ids(page) == [by_value[v] for v in range(4)]  # the 4 smallest of all 12
    header.click()
    page.wait_for_selector(READY + f'[data-sort="{col}:desc"]')
    assert shown_ids(page) == [by_value[v] for v in range(11, 7, -1)]
    assert ["metrics.`val loss` DESC"] in sent
    assert page.locator('[data-testid="filter-error"]').count() == 0


def test_column_picker_adds_columns_kept_in_the_url(
    page: Any, ui_server: CairnServer, ui_client: Any
) -> None:
    exp = new_experiment(ui_client)
    run = make_run(ui_client, exp, "r", {"loss": 0.25}, {"lr": "0.01"}, {"team": "red"})
    open_runs(page, ui_server, exp)
    # By default metrics and params are shown, tags are not.
    header = '[data-testid="col-header"][data-col="{}"]'
    assert page.locator(header.format("metrics.loss")).count() == 1
    assert page.locator(header.format("tags.team")).count() == 0

    page.click('[data-testid="column-picker"]')
    page.fill('[data-testid="column-search"]', "tea")
    page.check('.picker-panel input[data-col="tags.team"]')
    assert page.locator('.picker-panel input[data-col="params.lr"]').count() == 0  # searched out
    page.fill('[data-testid="column-search"]', "")
    page.uncheck('.picker-panel input[data-col="params.lr"]')
    page.keyboard.press("Escape")
    page.wait_for_selector(READY + " " + header.format("tags.team"))
    assert cell(page, run, "tags.team").inner_text() == "red"
    assert page.locator(header.format("params.lr")).count() == 0
    assert "cols=" in page.evaluate("() => location.hash")

    page.reload()
    page.wait_for_selector(READY)
    assert cell(page, run, "tags.team").inner_text() == "red"
    assert page.locator(header.format("params.lr")).count() == 0
    assert page.locator(header.format("metrics.loss")).count() == 1


def test_group_by_param_shows_groups_with_counts_and_aggregates(
    page: Any, ui_server: CairnServer, ui_client: Any
) -> None:
    exp = new_experiment(ui_client)
    adam = [
        make_run(ui_client, exp, f"a{i}", {"loss": v}, {"opt": "adam"})
        for i, v in enumerate([0.2, 0.4, 0.9])
    ]
    sgd = [
        make_run(ui_client, exp, f"s{i}", {"loss": v}, {"opt": "sgd"})
        for i, v in enumerate([1.0, 3.0])
    ]
    loner = make_run(ui_client, exp, "none", {"loss": 5.0})
    open_runs(page, ui_server, exp, cols="metrics.loss")
    page.select_option('[data-testid="group-by"]', "params.opt")
    page.wait_for_selector('[data-testid="group-row"]')
    groups = page.evaluate(
        "() => [...document.querySelectorAll('[data-testid=group-row]')]"
        ".map((g) => [g.dataset.group, Number(g.dataset.count)])"
    )
    assert groups == [["adam", 3], ["sgd", 2], ["", 1]]
    assert "group=params.opt" in page.evaluate("() => location.hash")

    def group_loss() -> str:
        return str(page.locator('[data-group="adam"] .group-agg').first.inner_text())

    assert float(group_loss()) == 0.5  # mean
    page.select_option('[data-testid="group-agg"]', "max")
    page.wait_for_function(
        "() => document.querySelector('[data-group=adam] .group-agg').textContent.trim() === '0.9'"
    )
    # Collapsing a group hides its runs.
    assert set(adam) <= set(shown_ids(page))
    page.locator('[data-group="adam"] .row-toggle').click()
    page.wait_for_function(
        "() => !document.querySelector('[data-group=adam] [aria-expanded=true]')"
    )
    assert not set(adam) & set(shown_ids(page))
    assert {*sgd, loner} <= set(shown_ids(page))


def test_child_runs_are_collapsed_under_their_parent(
    page: Any, ui_server: CairnServer, ui_client: Any
) -> None:
    exp = new_experiment(ui_client)
    parent = make_run(ui_client, exp, "sweep", start=1_700_000_000_000)
    kids = [
        make_run(ui_client, exp, f"trial-{i}", parent=parent, start=1_700_000_001_000 + i)
        for i in range(2)
    ]
    other = make_run(ui_client, exp, "solo", start=1_600_000_000_000)
    open_runs(page, ui_server, exp, sort="attributes.start_time:asc")
    assert page.get_attribute(TABLE, "data-total") == "4"
    assert shown_ids(page) == [other, parent]
    toggle = cell(page, parent, "attributes.run_name").locator(".row-toggle")
    assert toggle.get_attribute("aria-expanded") == "false"
    toggle.click()
    page.wait_for_function("() => document.querySelectorAll('[data-testid=run-row]').length === 4")
    assert shown_ids(page) == [other, parent, *kids]
    depths = page.evaluate(
        "() => Object.fromEntries([...document.querySelectorAll('[data-testid=run-row]')]"
        ".map((r) => [r.dataset.runId, r.dataset.depth]))"
    )
    assert depths == {other: "0", parent: "0", kids[0]: "1", kids[1]: "1"}
    # A filter that leaves the parent out shows the children on their own.
    apply_filter(page, "attributes.run_name LIKE 'trial-%'")
    wait_total(page, 2)
    assert sorted(shown_ids(page)) == sorted(kids)


def test_selected_runs_open_compare_and_chart(
    page: Any, ui_server: CairnServer, ui_client: Any
) -> None:
    exp = new_experiment(ui_client)
    ids = [make_run(ui_client, exp, f"r{i}", {"loss": float(i)}) for i in range(4)]
    open_runs(page, ui_server, exp)
    compare = page.locator('[data-testid="compare-button"]')
    assert compare.is_disabled()
    for run_id in ids[:3]:
        page.locator(f'[data-run-id="{run_id}"] [data-testid="run-select"]').check()
    assert page.locator('[data-testid="run-select"]:checked').count() == 3
    page.select_option('[data-testid="chart-metric"]', "loss")
    compare.click()
    page.wait_for_function("() => location.hash.startsWith('#/compare?')")
    hash_ = page.evaluate("() => location.hash")
    runs = hash_.split("runs=")[1].split("&")[0].replace("%2C", ",").split(",")
    assert sorted(runs) == sorted(ids[:3])

    page.go_back()
    page.wait_for_selector(READY)
    for run_id in ids[:2]:
        page.locator(f'[data-run-id="{run_id}"] [data-testid="run-select"]').check()
    page.click('[data-testid="chart-button"]')
    page.wait_for_function("() => location.hash.startsWith('#/metric?')")
    hash_ = page.evaluate("() => location.hash").replace("%2C", ",")
    assert "key=loss" in hash_
    assert sorted(hash_.split("runs=")[1].split("&")[0].split(",")) == sorted(ids[:2])


def test_delete_and_restore_runs(page: Any, ui_server: CairnServer, ui_client: Any) -> None:
    exp = new_experiment(ui_client)
    keep = make_run(ui_client, exp, "keep")
    doomed = make_run(ui_client, exp, "doomed")
    open_runs(page, ui_server, exp)
    page.locator(f'[data-run-id="{doomed}"] [data-testid="run-select"]').check()
    page.click('[data-testid="delete-runs"]')
    page.click('[data-testid="confirm-delete"]')
    wait_total(page, 1)
    assert shown_ids(page) == [keep]
    assert ui_client.get_run(doomed).info.lifecycle_stage == "deleted"

    page.select_option('[data-testid="view-type"]', "deleted")
    wait_total(page, 1)
    assert shown_ids(page) == [doomed]
    assert "view=deleted" in page.evaluate("() => location.hash")
    page.locator(f'[data-run-id="{doomed}"] [data-testid="run-select"]').check()
    page.click('[data-testid="restore-runs"]')
    wait_total(page, 0)
    assert ui_client.get_run(doomed).info.lifecycle_stage == "active"
    page.select_option('[data-testid="view-type"]', "active")
    wait_total(page, 2)


def test_running_run_updates_in_place(page: Any, ui_server: CairnServer, ui_client: Any) -> None:
    exp = new_experiment(ui_client)
    running = make_run(ui_client, exp, "live", {"acc": 0.5}, finish=False)
    other = make_run(ui_client, exp, "done", {"acc": 0.1})
    open_runs(page, ui_server, exp, cols="metrics.acc")
    assert cell(page, running, "metrics.acc").inner_text() == "0.5"
    page.locator(f'[data-run-id="{other}"] [data-testid="run-select"]').check()
    page.evaluate("() => { window.__notReloaded = true; }")

    ui_client.log_metric(running, "acc", 0.75, step=1)
    page.wait_for_function(
        "id => document.querySelector(`[data-run-id='${id}'] [data-col='metrics.acc']`)"
        ".textContent.trim() === '0.75'",
        arg=running,
        timeout=20_000,
    )
    assert page.evaluate("() => window.__notReloaded") is True
    assert page.locator(f'[data-run-id="{other}"] [data-testid="run-select"]').is_checked()

    # Finishing shows in place too.
    ui_client.set_terminated(running)
    page.wait_for_function(
        "id => document.querySelector(`[data-run-id='${id}'] .badge`).textContent === 'finished'",
        arg=running,
        timeout=20_000,
    )


def test_thousands_of_runs_are_virtualized(
    page: Any, ui_server: CairnServer, ui_client: Any
) -> None:
    # Seeded through the store on the server's database: 5,000 REST round trips would be slow.
    client = TrackingClient(ui_server.backend_store_uri)
    exp = new_experiment(client, "big")
    base = 1_700_000_000_000
    ids = []
    for i in range(5000):
        run = client.create_run(exp, start_time=base + i * 1000, run_name=f"run-{i:04d}")
        run_id = str(run.info.run_id)
        client.log_batch(
            run_id,
            metrics=[Metric("m", float((i * 7919) % 5000), base, 0)],
            params=[Param("p", str(i % 5))],
            tags=[RunTag("team", "red" if i % 2 else "blue")],
        )
        ids.append(run_id)

    open_runs(page, ui_server, exp, cols="metrics.m,params.p")
    assert page.get_attribute(TABLE, "data-total") == "5000"
    in_dom = page.locator('[data-testid="run-row"]').count()
    assert 0 < in_dom < 150
    assert shown_ids(page)[0] == ids[-1]  # newest first

    page.eval_on_selector(".runs-scroll", "el => { el.scrollTop = el.scrollHeight; }")
    page.wait_for_selector(f'[data-testid="run-row"][data-run-id="{ids[0]}"]')
    assert page.locator('[data-testid="run-row"]').count() < 150
    assert page.locator(f'[data-run-id="{ids[0]}"]').is_visible()

    # Sorting 5,000 rows by a metric: the largest value first.
    page.eval_on_selector(".runs-scroll", "el => { el.scrollTop = 0; }")
    page.click('[data-testid="col-header"][data-col="metrics.m"]')
    page.click('[data-testid="col-header"][data-col="metrics.m"]')
    page.wait_for_selector(TABLE + '[data-sort="metrics.m:desc"]')
    # The top row (the table scrolled back up): the largest value.
    top = page.locator('[data-testid="run-row"][data-index="0"] [data-col="metrics.m"]')
    expect(top).to_have_text("4999")


def test_keyboard_moves_between_rows(page: Any, ui_server: CairnServer, ui_client: Any) -> None:
    exp = new_experiment(ui_client)
    ids = [make_run(ui_client, exp, f"r{i}", start=1_700_000_000_000 + i) for i in range(3)]
    open_runs(page, ui_server, exp, sort="attributes.start_time:asc")
    page.locator(f'[data-run-id="{ids[0]}"] [data-col="attributes.run_name"] a').focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    focused = page.evaluate(
        "() => document.activeElement.closest('[data-testid=run-row]').dataset.runId"
    )
    assert focused == ids[2]
    page.keyboard.press("ArrowUp")
    assert page.evaluate("() => document.activeElement.textContent") == "r1"
    page.keyboard.press("Enter")
    page.wait_for_function("id => location.hash === `#/runs/${id}`", arg=ids[1])


def test_user_strings_render_as_text(page: Any, ui_server: CairnServer, ui_client: Any) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    exp = new_experiment(ui_client)
    run = make_run(ui_client, exp, XSS, params={"p": XSS}, tags={"t": XSS})
    open_runs(page, ui_server, exp, cols="params.p,tags.t")
    for col in ("attributes.run_name", "params.p", "tags.t"):
        assert cell(page, run, col).inner_text().strip() == XSS
    assert page.locator(TABLE + " img, " + TABLE + " script").count() == 0
    page.locator('[data-testid="filter-input"]').fill(f"params.p = '{XSS}'")
    page.locator('[data-testid="filter-input"]').press("Enter")
    wait_total(page, 1)
    assert dialogs == []


def test_screenshots(
    page: Any,
    ui_server: CairnServer,
    ui_client: Any,
    screenshot: Callable[[Any, str], Path],
) -> None:
    exp = new_experiment(ui_client, "screens")
    parent = make_run(ui_client, exp, "sweep-parent", {"loss": 0.31, "acc": 0.9})
    for i in range(40):
        make_run(
            ui_client,
            exp,
            f"trial-{i:02d}",
            {"loss": round(1 / (i + 2), 4), "acc": round(0.5 + i / 100, 3), "f1": i / 50},
            {
                "lr": str(10 ** -(i % 4)),
                "optimizer": ["adam", "sgd"][i % 2],
                "batch": str(32 * (i % 3 + 1)),
            },
            {"team": ["red", "blue"][i % 2]},
            parent=parent if i < 3 else None,
            finish=i % 9 != 0,
        )
    cols = "metrics.loss,metrics.acc,metrics.f1,params.lr,params.optimizer,params.batch,tags.team"
    open_runs(page, ui_server, exp, cols=cols, sort="metrics.loss:asc")
    set_theme(page, "light")
    screenshot(page, "runs-table-light")
    set_theme(page, "dark")
    screenshot(page, "runs-table-dark")
    page.select_option('[data-testid="group-by"]', "params.optimizer")
    page.wait_for_selector('[data-testid="group-row"]')
    screenshot(page, "runs-table-grouped-dark")
    page.click('[data-testid="column-picker"]')
    screenshot(page, "runs-table-picker-dark")
    page.keyboard.press("Escape")
    set_theme(page, "light")
    page.locator('[data-testid="filter-input"]').press_sequentially("metrics.l")
    screenshot(page, "runs-table-autocomplete-light")
    page.keyboard.press("Escape")
    page.set_viewport_size({"width": 3840, "height": 2160})
    screenshot(page, "runs-table-light-4k")
    # Scrolled sideways and down: the header and the select/status/name columns stay.
    page.set_viewport_size({"width": 1280, "height": 720})
    page.eval_on_selector(".runs-scroll", "el => { el.scrollLeft = 300; el.scrollTop = 200; }")
    page.wait_for_timeout(100)  # a frame for the scroll to be drawn (not an assertion)
    screenshot(page, "runs-table-scrolled-light")


DURATIONS = [
    # milliseconds, as shown: one decimal below a minute, then min/s, then h/min; rounded to
    # the precision shown before the unit is chosen.
    (0, "0.0 s"),
    (40, "0.0 s"),
    (460, "0.5 s"),
    (12_340, "12.3 s"),
    (59_940, "59.9 s"),
    (59_950, "1 min 0 s"),
    (60_000, "1 min 0 s"),
    (60_499, "1 min 0 s"),
    (61_000, "1 min 1 s"),
    (3_599_499, "59 min 59 s"),
    (3_599_500, "1 h 0 min"),
    (5_400_000, "1 h 30 min"),
    (90_061_000, "25 h 1 min"),
]


def test_durations_read_the_same_at_the_precision_shown(page: Any, ui_server: CairnServer) -> None:
    page.goto(ui_server.url + "/#/")
    shown = page.evaluate(
        """async (cases) => {
          const lib = await import("/static/lib.js");
          const start = 1700000000000;
          const texts = cases.map(([ms]) => lib.formatDuration(start, start + ms));
          // Longer never reads shorter: the text read back as seconds never decreases.
          const seconds = (t) => {
            let m = t.match(/^([\\d.]+) s$/);
            if (m) return Number(m[1]);
            m = t.match(/^(\\d+) min (\\d+) s$/);
            if (m) return Number(m[1]) * 60 + Number(m[2]);
            m = t.match(/^(\\d+) h (\\d+) min$/);
            return Number(m[1]) * 3600 + Number(m[2]) * 60;
          };
          let last = -1;
          let decreasing = null;
          for (let ms = 0; ms < 2 * 3600 * 1000 && decreasing === null; ms += 47) {
            const s = seconds(lib.formatDuration(start, start + ms));
            if (!(s >= last)) decreasing = ms;
            last = s;
          }
          return { texts, decreasing, none: lib.formatDuration(0, 5) };
        }""",
        DURATIONS,
    )
    assert shown["texts"] == [text for _, text in DURATIONS]
    assert shown["decreasing"] is None
    assert shown["none"] == ""


def test_compare_does_not_flag_durations_that_read_the_same(
    page: Any, ui_server: CairnServer, ui_client: Any
) -> None:
    exp = new_experiment(ui_client)
    start = int(time.time() * 1000) - 3_600_000
    runs = []
    # 59.96 s and 60.02 s: both "1 min 0 s" (the first once read "60.0 s"); 61.2 s differs.
    for name, ms in (("a", 59_960), ("b", 60_020), ("c", 61_200)):
        run_id = make_run(ui_client, exp, name, {"loss": 1.0}, start=start, finish=False)
        ui_client.set_terminated(run_id, end_time=start + ms)
        runs.append(run_id)

    def duration_row(run_ids: list[str]) -> tuple[str | None, list[str]]:
        page.goto(f"{ui_server.url}/#/compare?runs={','.join(run_ids)}")
        page.wait_for_selector('[data-testid="compare-page"][data-ready="true"]')
        row = page.locator('[data-testid="diff-row"][data-key="attributes.duration"]')
        row.locator(f"td >> nth={len(run_ids) - 1}").wait_for()  # this comparison's row
        return row.get_attribute("data-differs"), row.locator("td").all_inner_texts()

    assert duration_row(runs[:2]) == ("false", ["1 min 0 s", "1 min 0 s"])
    assert duration_row(runs) == ("true", ["1 min 0 s", "1 min 0 s", "1 min 1 s"])

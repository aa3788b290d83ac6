"""Registered-model and model-version search on SQLite and PostgreSQL: the filter language
(AND/OR/NOT/parentheses, tags, attributes, LIKE/ILIKE, numbers), order_by, paging and the
prompt clause the mlflow client appends to every model search."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from cairn.entities import Run
from cairn.errors import INVALID_PARAMETER_VALUE, CairnError
from cairn.store.registry.sql import SqlRegistryStore

PROMPT_CLAUSE = "tag.`mlflow.prompt.is_prompt` != 'true'"


def _names(page: list) -> list[str]:
    return [m.name for m in page]


def _keys(page: list) -> list[tuple[str, int]]:
    return [(v.name, v.version) for v in page]


def _invalid(call: Callable[..., object], *args: object, **kwargs: object) -> str:
    with pytest.raises(CairnError) as info:
        call(*args, **kwargs)
    assert info.value.error_code == INVALID_PARAMETER_VALUE, info.value.message
    return info.value.message


@pytest.fixture
def models(store: SqlRegistryStore) -> SqlRegistryStore:
    store.create_registered_model("alpha", tags={"team": "vision", "tier": "gold"})
    store.create_registered_model("beta", tags={"team": "nlp"})
    store.create_registered_model("Gamma", tags={"team": "Vision"})
    store.create_registered_model("delta")
    return store


def test_models_default_order_is_name_ascending(models: SqlRegistryStore) -> None:
    assert _names(models.search_registered_models()) == ["Gamma", "alpha", "beta", "delta"]


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("name = 'alpha'", ["alpha"]),
        ("name != 'alpha'", ["Gamma", "beta", "delta"]),
        ("name LIKE '%a'", ["Gamma", "alpha", "beta", "delta"]),
        ("name LIKE 'g%'", []),  # LIKE is case-sensitive on every backend
        ("name ILIKE 'g%'", ["Gamma"]),
        ("name IN ('beta', 'delta', 'zeta')", ["beta", "delta"]),
        ("name NOT IN ('beta')", ["Gamma", "alpha", "delta"]),
        ("tags.team = 'vision'", ["alpha"]),
        ("tag.team ILIKE 'VISION'", ["Gamma", "alpha"]),
        ("tags.team != 'nlp'", ["Gamma", "alpha"]),  # a missing tag matches no comparison
        ("tags.`team` = 'nlp' OR tags.tier = 'gold'", ["alpha", "beta"]),
        ("tags.team = 'vision' AND tags.tier = 'gold'", ["alpha"]),
        ("NOT tags.team = 'nlp'", ["Gamma", "alpha", "delta"]),
        ("(name = 'beta' OR name = 'delta') AND NOT tags.team = 'nlp'", ["delta"]),
        ("tags.team IS NULL", ["delta"]),
        ("tags.tier IS NOT NULL", ["alpha"]),
        ("creation_timestamp > 0 AND last_updated_timestamp >= creation_timestamp", None),
        (f"name LIKE '%' AND {PROMPT_CLAUSE}", ["Gamma", "alpha", "beta", "delta"]),
    ],
)
def test_model_filters(
    models: SqlRegistryStore, filter_string: str, expected: list[str] | None
) -> None:
    if expected is None:  # comparing two attributes is not part of the language
        _invalid(models.search_registered_models, filter_string)
        return
    assert _names(models.search_registered_models(filter_string)) == expected


def test_model_timestamp_filters(models: SqlRegistryStore) -> None:
    created = {m.name: m.creation_timestamp for m in models.search_registered_models()}
    ts = created["beta"]
    expected = sorted(name for name, c in created.items() if c <= ts)
    assert "beta" in expected
    assert _names(models.search_registered_models(f"creation_timestamp <= {ts}")) == expected
    assert _names(models.search_registered_models("creation_timestamp < 0")) == []
    touched = models.update_registered_model("alpha", "touched").last_updated_timestamp
    assert "alpha" in _names(
        models.search_registered_models(f"last_updated_timestamp >= {touched}")
    )
    assert "alpha" not in _names(
        models.search_registered_models(f"last_updated_timestamp < {touched}")
    )


def test_prompts_are_left_out_unless_asked_for(models: SqlRegistryStore) -> None:
    """MLflow keeps prompts in the registry and its client appends the prompt clause to every
    model search: models without the tag must still match it."""
    models.create_registered_model("prompt", tags={"mlflow.prompt.is_prompt": "true"})
    models.create_registered_model("not-prompt", tags={"mlflow.prompt.is_prompt": "false"})
    every_model = ["Gamma", "alpha", "beta", "delta", "not-prompt"]
    assert _names(models.search_registered_models()) == every_model
    assert _names(models.search_registered_models(PROMPT_CLAUSE)) == every_model
    assert _names(models.search_registered_models(f"name = 'beta' AND {PROMPT_CLAUSE}")) == ["beta"]
    assert _names(models.search_registered_models("tags.`mlflow.prompt.is_prompt` = 'true'")) == [
        "prompt"
    ]
    assert (
        _names(models.search_registered_models("tags.`mlflow.prompt.is_prompt` = 'false'"))
        == every_model
    )


def test_the_prompt_tag_reads_false_where_missing(models: SqlRegistryStore) -> None:
    models.create_registered_model("prompt", tags={"mlflow.prompt.is_prompt": "true"})
    ordinary = ["Gamma", "alpha", "beta", "delta"]
    key = "tags.`mlflow.prompt.is_prompt`"
    assert _names(models.search_registered_models(f"{key} LIKE 'f%'")) == ordinary
    assert _names(models.search_registered_models(f"{key} ILIKE 'FALS_'")) == ordinary
    assert _names(models.search_registered_models(f"{key} LIKE 't%'")) == ["prompt"]
    assert _names(models.search_registered_models(f"{key} IS NULL")) == ordinary
    assert _names(models.search_registered_models(f"NOT {key} = 'true'")) == ordinary


def test_model_order_by(models: SqlRegistryStore) -> None:
    assert _names(models.search_registered_models(order_by=["name DESC"])) == [
        "delta",
        "beta",
        "alpha",
        "Gamma",
    ]
    models.update_registered_model("beta", "newest change")
    assert (
        _names(models.search_registered_models(order_by=["last_updated_timestamp DESC"]))[0]
        == "beta"
    )
    assert _names(models.search_registered_models(order_by=["timestamp DESC"]))[0] == "beta"
    oldest_first = _names(models.search_registered_models(order_by=["creation_timestamp ASC"]))
    assert sorted(oldest_first) == sorted(["alpha", "beta", "Gamma", "delta"])
    _invalid(models.search_registered_models, order_by=["tags.team"])
    _invalid(models.search_registered_models, order_by=["description"])
    _invalid(models.search_registered_models, order_by=["name", "name DESC"])
    _invalid(models.search_registered_models, order_by=["name sideways"])


def test_model_paging(store: SqlRegistryStore) -> None:
    for i in range(7):
        store.create_registered_model(f"m{i}")
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        page = store.search_registered_models(max_results=3, page_token=token)
        seen += _names(page)
        pages += 1
        token = page.token
        if token is None:
            break
    assert seen == [f"m{i}" for i in range(7)]
    assert pages == 3
    exact = store.search_registered_models(max_results=7)
    assert len(exact) == 7 and exact.token is None


def test_model_search_limits(models: SqlRegistryStore) -> None:
    assert len(models.search_registered_models(max_results=1000)) == 4
    for bad in (0, -1, 1001, "10", None):
        _invalid(models.search_registered_models, max_results=bad)
    _invalid(models.search_registered_models, page_token="not-a-token")
    _invalid(models.search_registered_models, "name = ")
    _invalid(models.search_registered_models, "run_id = 'x'")
    _invalid(models.search_registered_models, "name > 'a'")
    _invalid(models.search_registered_models, "creation_timestamp = 'yesterday'")


# ---------------------------------------------------------------- versions


@pytest.fixture
def versions(store: SqlRegistryStore, make_run: Callable[..., Run]) -> dict[str, Run]:
    runs = {"r1": make_run(), "r2": make_run()}
    store.create_registered_model("a")
    store.create_registered_model("b")
    for name, run, tags in [
        ("a", "r1", {"stage": "dev"}),
        ("a", "r2", {"stage": "prod"}),
        ("b", "r1", {}),
        ("a", "r1", {"stage": "Prod"}),
    ]:
        store.create_model_version(name, f"runs:/{runs[run].info.run_id}/model", tags=tags or None)
    store.transition_model_version_stage("b", 1, "Production")
    return runs


def test_version_default_order_is_recently_changed_first(
    store: SqlRegistryStore, versions: dict[str, Run]
) -> None:
    """MLflow's default: last_updated_timestamp DESC, then name ASC, version DESC."""
    page = store.search_model_versions()
    assert page[0] == store.get_model_version("b", 1)  # changed last
    by_time = sorted(page, key=lambda v: (-v.last_updated_timestamp, v.name, -v.version))
    assert _keys(page) == _keys(by_time)


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("name = 'a'", [("a", 3), ("a", 2), ("a", 1)]),
        ("name IN ('b')", [("b", 1)]),
        ("version_number = 2", [("a", 2)]),
        ("version_number >= 2", [("a", 3), ("a", 2)]),
        ("name = 'a' AND version_number < 3", [("a", 2), ("a", 1)]),
        ("current_stage = 'Production'", [("b", 1)]),
        ("tags.stage = 'prod'", [("a", 2)]),
        ("tag.stage ILIKE 'prod'", [("a", 3), ("a", 2)]),
        ("tags.stage LIKE 'P%'", [("a", 3)]),
        ("tags.stage IS NULL", [("b", 1)]),
        ("NOT tags.stage = 'dev' AND name = 'a'", [("a", 3), ("a", 2)]),
        ("source_path LIKE 'runs:/%/model'", [("a", 3), ("a", 2), ("a", 1), ("b", 1)]),
        ("source = 'nope'", []),
        ("model_id IS NULL AND name = 'b'", [("b", 1)]),
        ("user_id IS NOT NULL AND name = 'b'", [("b", 1)]),
        ("status = 'READY' AND name = 'b'", [("b", 1)]),
    ],
)
def test_version_filters(
    store: SqlRegistryStore,
    versions: dict[str, Run],
    filter_string: str,
    expected: list[tuple[str, int]],
) -> None:
    page = store.search_model_versions(filter_string, order_by=["name", "version_number DESC"])
    assert _keys(page) == expected


def test_versions_by_run(store: SqlRegistryStore, versions: dict[str, Run]) -> None:
    """The run -> versions direction of lineage."""
    r1, r2 = versions["r1"].info.run_id, versions["r2"].info.run_id
    order = ["name", "version_number"]
    assert _keys(store.search_model_versions(f"run_id = '{r1}'", order_by=order)) == [
        ("a", 1),
        ("a", 3),
        ("b", 1),
    ]
    assert _keys(store.search_model_versions(f"run_id IN ('{r2}', 'other')", order_by=order)) == [
        ("a", 2)
    ]
    assert len(store.search_model_versions(f"run_id != '{r1}'")) == 1


def test_version_order_by_and_paging(store: SqlRegistryStore, versions: dict[str, Run]) -> None:
    assert _keys(store.search_model_versions(order_by=["version_number ASC", "name DESC"])) == [
        ("b", 1),
        ("a", 1),
        ("a", 2),
        ("a", 3),
    ]
    assert _keys(store.search_model_versions(order_by=["name DESC"])) == [
        ("b", 1),
        ("a", 3),
        ("a", 2),
        ("a", 1),
    ]
    first = store.search_model_versions(max_results=3, order_by=["creation_timestamp"])
    second = store.search_model_versions(
        max_results=3, order_by=["creation_timestamp"], page_token=first.token
    )
    assert second.token is None
    assert sorted(_keys(first) + _keys(second)) == [("a", 1), ("a", 2), ("a", 3), ("b", 1)]
    _invalid(store.search_model_versions, order_by=["run_id"])
    _invalid(store.search_model_versions, order_by=["version_number", "version_number"])


def test_version_search_limits(store: SqlRegistryStore, versions: dict[str, Run]) -> None:
    assert len(store.search_model_versions(max_results=200_000)) == 4
    for bad in (0, 200_001):
        _invalid(store.search_model_versions, max_results=bad)
    _invalid(store.search_model_versions, "version_number = 'two'")
    _invalid(store.search_model_versions, "stage = 'x'")
    _invalid(store.search_model_versions, "metrics.x > 1")


def test_prompt_versions_are_left_out(store: SqlRegistryStore, run: Run) -> None:
    store.create_registered_model("p")
    store.create_model_version("p", "dummy-source", tags={"mlflow.prompt.is_prompt": "true"})
    store.create_model_version("p", f"runs:/{run.info.run_id}/m")
    assert _keys(store.search_model_versions("name = 'p'")) == [("p", 2)]
    assert _keys(
        store.search_model_versions("name = 'p' AND tags.`mlflow.prompt.is_prompt` = 'true'")
    ) == [("p", 1)]


def test_a_page_of_models_loads_in_a_few_queries(store: SqlRegistryStore, run: Run) -> None:
    """No query per model: tags, aliases and latest versions come in batches."""
    from sqlalchemy import event

    for i in range(20):
        store.create_registered_model(f"m{i:02d}", tags={"k": str(i)})
        store.create_model_version(f"m{i:02d}", f"runs:/{run.info.run_id}/m", tags={"t": "1"})
        store.set_registered_model_alias(f"m{i:02d}", "champion", 1)
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(store.engine, "before_cursor_execute", count)
    try:
        page = store.search_registered_models(max_results=20)
    finally:
        event.remove(store.engine, "before_cursor_execute", count)
    assert len(page) == 20
    assert all(m.latest_versions[0].tags == {"t": "1"} for m in page)
    assert all(m.latest_versions[0].aliases == ["champion"] for m in page)
    assert len(statements) <= 8, statements

"""Experiment search SQL against a real database: exact ids, in exact order.

Runs on SQLite (in memory) and PostgreSQL (skipped when no server can be started), against:

    id  name     creation  last_update  stage    tags
    1   alpha    100       150          active   team=vision, a.b=x
    2   alpha-2  200       -            active   team=Vision
    3   beta     200       300          active   -
    4   Gamma    -         -            active   note=it's
    5   old      500       500          deleted  team=vision

Default order (creation_time DESC, missing last, then id): 2 3 1 4.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, insert

from cairn.errors import CairnError
from cairn.search.experiments import select_experiment_ids
from cairn.store.db import schema

DEFAULT_ORDER = [2, 3, 1, 4]


def _seed(engine: Engine) -> None:
    experiments = [
        dict(
            experiment_id=i,
            name=name,
            artifact_location=f"/a/{i}",
            lifecycle_stage=stage,
            creation_time=created,
            last_update_time=updated,
        )
        for i, name, created, updated, stage in [
            (1, "alpha", 100, 150, "active"),
            (2, "alpha-2", 200, None, "active"),
            (3, "beta", 200, 300, "active"),
            (4, "Gamma", None, None, "active"),
            (5, "old", 500, 500, "deleted"),
        ]
    ]
    tags = [
        dict(experiment_id=i, key=k, value=v)
        for i, k, v in [
            (1, "team", "vision"),
            (1, "a.b", "x"),
            (2, "team", "Vision"),
            (4, "note", "it's"),
            (5, "team", "vision"),
        ]
    ]
    with engine.begin() as conn:
        conn.execute(insert(schema.experiments), experiments)
        conn.execute(insert(schema.experiment_tags), tags)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A seeded database per backend, shared by the module's (read-only) tests."""
    if request.param == "sqlite":
        eng = create_engine("sqlite://")
        schema.metadata.create_all(eng)
        _seed(eng)
        yield eng
        eng.dispose()
        return
    server = request.getfixturevalue("postgres_server")
    name = f"search_{uuid.uuid4().hex[:12]}"
    eng = create_engine(server.create_database(name))
    try:
        schema.metadata.create_all(eng)
        _seed(eng)
        yield eng
    finally:
        eng.dispose()
        server.drop_database(name)


def search(
    engine: Engine,
    filter_string: str | None = None,
    order_by: list[str] | None = None,
    *,
    stages: tuple[str, ...] = ("active",),
    offset: int = 0,
    limit: int = 100,
) -> list[int]:
    stmt = select_experiment_ids(
        stages=stages, filter_string=filter_string, order_by=order_by, offset=offset, limit=limit
    )
    with engine.connect() as conn:
        return list(conn.execute(stmt).scalars())


def test_default_order_stages_and_paging(engine: Engine) -> None:
    assert search(engine) == DEFAULT_ORDER
    assert search(engine, "") == DEFAULT_ORDER
    assert search(engine, stages=("deleted",)) == [5]
    assert search(engine, stages=("active", "deleted")) == [5, *DEFAULT_ORDER]
    assert search(engine, offset=1, limit=2) == [3, 1]
    assert search(engine, offset=3, limit=2) == [4]


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("name = 'alpha'", [1]),
        ("attributes.name = 'alpha'", [1]),
        ("name != 'alpha'", [2, 3, 4]),
        ("name LIKE 'alpha%'", [2, 1]),
        ("name LIKE 'g%'", []),
        ("name LIKE 'G%'", [4]),
        ("name ILIKE 'g%'", [4]),
        ("name ILIKE 'ALPHA_%'", [2]),
        ("name LIKE 'alpha\\-2'", [2]),
        ("name IN ('beta', 'Gamma', 'nope')", [3, 4]),
        ("name NOT IN ('beta', 'Gamma')", [2, 1]),
        ("creation_time >= 200", [2, 3]),
        ("attributes.creation_time < 200", [1]),
        ("creation_time != 200", [1]),
        ("creation_time IS NULL", [4]),
        ("last_update_time IS NULL", [2, 4]),
        ("last_update_time IS NOT NULL", [3, 1]),
        ("NOT last_update_time > 200", [2, 1, 4]),
        ("last_update_time = 150", [1]),
        ("experiment_id = '3'", [3]),
        ("experiment_id IN ('1', '4', 'x')", [1, 4]),
        ("experiment_id NOT IN ('1', '4')", [2, 3]),
        ("experiment_id LIKE '%2'", [2]),
        ("experiment_id = '03'", []),
        ("tags.team = 'vision'", [1]),
        ("tag.team ILIKE 'VISION'", [2, 1]),
        ("tags.team LIKE 'V%'", [2]),
        ("tags.team != 'vision'", [2]),
        ("tags.team IS NULL", [3, 4]),
        ("tags.team IS NOT NULL", [2, 1]),
        ("tags.`a.b` = 'x'", [1]),
        ("tags.a.b = 'x'", [1]),
        ('tags.note = "it\'s"', [4]),
        ("NOT tags.team = 'vision'", [2, 3, 4]),
        ("name = 'alpha' OR tags.team = 'Vision'", [2, 1]),
        ("(name LIKE 'a%' OR name = 'beta') AND creation_time > 150", [2, 3]),
        ("name LIKE 'a%' OR name = 'beta' AND creation_time > 150", [2, 3, 1]),
    ],
)
def test_filters(engine: Engine, filter_string: str, expected: list[int]) -> None:
    assert search(engine, filter_string) == expected


def test_filter_with_deleted_stage(engine: Engine) -> None:
    assert search(engine, "tags.team = 'vision'", stages=("active", "deleted")) == [5, 1]


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        (["creation_time"], [1, 2, 3, 4]),
        (["attributes.creation_time DESC"], DEFAULT_ORDER),
        (["last_update_time DESC"], [3, 1, 2, 4]),
        (["last_update_time"], [1, 3, 2, 4]),
        (["experiment_id DESC"], [4, 3, 2, 1]),
        (["experiment_id"], [1, 2, 3, 4]),
    ],
)
def test_order_by(engine: Engine, order_by: list[str], expected: list[int]) -> None:
    assert search(engine, order_by=order_by) == expected


def test_order_by_name(engine: Engine) -> None:
    # Mixed-case order depends on the database collation, so leave 'Gamma' out.
    assert search(engine, "name != 'Gamma'", ["name DESC"]) == [3, 2, 1]
    assert search(engine, "name != 'Gamma'", ["attributes.name", "experiment_id"]) == [1, 2, 3]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"filter_string": "metrics.a > 1"},
            "Invalid filter 'metrics.a > 1': unknown identifier 'metrics.a' at position 0; "
            "expected an attribute name or a key after tags. or attributes.",
        ),
        (
            {"filter_string": "creation_time > 'x'"},
            "Invalid filter \"creation_time > 'x'\": expected a number for 'creation_time', "
            "found 'x' at position 16",
        ),
        (
            {"order_by": ["tags.team"]},
            "Invalid order_by clause 'tags.team': cannot order by 'tags.team' at position 0",
        ),
        (
            {"order_by": ["name sideways"]},
            "Invalid order_by clause 'name sideways': expected ASC or DESC after 'name', "
            "found 'sideways' at position 5",
        ),
    ],
)
def test_bad_input(engine: Engine, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(CairnError) as info:
        search(engine, **kwargs)  # type: ignore[arg-type]
    assert info.value.message == message

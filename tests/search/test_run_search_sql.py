"""Run search SQL against a real database: exact ids, in exact order, for every construct.

Every test takes the module's ``engine`` fixture, seeded once with the runs below, and runs on
SQLite (in memory) and PostgreSQL (skipped when no server can be started).

    run  exp  name         status    user   start  end   stage    loss  acc     lr      model
    r1   1    Alpha-one    FINISHED  alice  100    200   active   0.5   0.9     0.01    CNN
    r2   1    alpha-two    FAILED    bob    200    -     active   0.25  0.8     0.1     cnn
    r3   1    beta_3       RUNNING   alice  300    -     active   NaN   -       0.01    rnn
    r4   1    100%         FINISHED  carol  -      -     active   -     -1500   -       Cnn_v2
    r5   1    deleted-run  FINISHED  alice  500    600   deleted  0.0   -       -       -
    r6   2    other-exp    FINISHED  bob    600    700   active   0.1   -       -       -
    r7   1    tie          KILLED    dave   300    400   active   1.0   -       1e-3    -

Default order (start_time DESC, missing last, then run id): r3 r7 r2 r1 r4.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Sequence

import pytest
from sqlalchemy import Engine, create_engine, insert
from sqlalchemy.dialects import postgresql, sqlite

from cairn.errors import CairnError
from cairn.search.runs import select_run_ids
from cairn.store.db import schema
from cairn.store.tracking.sql import exact_text

DEFAULT_ORDER = ["r3", "r7", "r2", "r1", "r4"]


def _run(
    run_id: str,
    exp: int,
    name: str,
    status: str,
    user: str,
    start: int | None,
    end: int | None,
    stage: str = "active",
) -> dict[str, object]:
    return dict(
        run_uuid=run_id,
        name=name,
        experiment_id=exp,
        user_id=user,
        status=status,
        start_time=start,
        end_time=end,
        lifecycle_stage=stage,
        artifact_uri=f"file:///artifacts/{run_id}",
    )


def _metric(run_id: str, key: str, value: float | None) -> dict[str, object]:
    """value None stands for NaN, stored the way the store stores it."""
    nan = value is None
    text = exact_text(float("nan") if nan else value)  # type: ignore[arg-type]
    return dict(
        run_uuid=run_id, key=key, value=value, is_nan=nan, value_text=text, step=0, timestamp=0
    )


def _seed(engine: Engine) -> None:
    experiments = [
        dict(experiment_id=i, name=f"exp{i}", artifact_location="/a", lifecycle_stage="active")
        for i in (1, 2)
    ]
    runs = [
        _run("r1", 1, "Alpha-one", "FINISHED", "alice", 100, 200),
        _run("r2", 1, "alpha-two", "FAILED", "bob", 200, None),
        _run("r3", 1, "beta_3", "RUNNING", "alice", 300, None),
        _run("r4", 1, "100%", "FINISHED", "carol", None, None),
        _run("r5", 1, "deleted-run", "FINISHED", "alice", 500, 600, stage="deleted"),
        _run("r6", 2, "other-exp", "FINISHED", "bob", 600, 700),
        _run("r7", 1, "tie", "KILLED", "dave", 300, 400),
    ]
    metrics = [
        _metric("r1", "loss", 0.5),
        _metric("r2", "loss", 0.25),
        _metric("r3", "loss", None),
        _metric("r5", "loss", 0.0),
        _metric("r6", "loss", 0.1),
        _metric("r7", "loss", 1.0),
        _metric("r1", "acc", 0.9),
        _metric("r2", "acc", 0.8),
        _metric("r4", "acc", -1500.0),
    ]
    params = [
        dict(run_uuid=r, key=k, value=v)
        for r, k, v in [
            ("r1", "lr", "0.01"),
            ("r2", "lr", "0.1"),
            ("r3", "lr", "0.01"),
            ("r7", "lr", "1e-3"),
            ("r1", "model", "CNN"),
            ("r2", "model", "cnn"),
            ("r3", "model", "rnn"),
            ("r4", "model", "Cnn_v2"),
            ("r1", "a.b", "dotted"),
            ("r2", "my key", "spaced"),
        ]
    ]
    tags = [
        dict(run_uuid=r, key=k, value=v)
        for r, k, v in [
            ("r1", "team", "Vision"),
            ("r2", "team", "vision"),
            ("r3", "team", "nlp"),
            ("r1", "group", "g2"),
            ("r2", "group", "g1"),
            ("r3", "group", "g2"),
            ("r4", "mlflow.note", "it's"),
            ("r1", "pattern", "50%"),
            ("r2", "pattern", "50x"),
            ("r3", "pattern", "a_b"),
            ("r4", "pattern", "axb"),
            ("r7", "pattern", "[x]*?"),
        ]
    ]
    datasets = [
        dict(
            dataset_uuid=f"d{i}",
            experiment_id=1,
            name=name,
            digest=digest,
            source_type="local",
            source="{}",
        )
        for i, name, digest in [(1, "mnist", "abc123"), (2, "cifar", "def456")]
    ]
    used = [
        ("r1", "d1", "train"),
        ("r2", "d2", "eval"),
        ("r3", "d1", "train"),
        ("r3", "d2", "test"),
    ]
    inputs = [dict(run_uuid=r, dataset_uuid=d) for r, d, _ in used]
    input_tags = [
        dict(run_uuid=r, dataset_uuid=d, key="mlflow.data.context", value=c) for r, d, c in used
    ]
    with engine.begin() as conn:
        for table, rows in [
            (schema.experiments, experiments),
            (schema.runs, runs),
            (schema.latest_metrics, metrics),
            (schema.params, params),
            (schema.tags, tags),
            (schema.datasets, datasets),
            (schema.inputs, inputs),
            (schema.input_tags, input_tags),
        ]:
            conn.execute(insert(table), rows)


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
    experiment_ids: Sequence[str] = ("1",),
    stages: tuple[str, ...] = ("active",),
    offset: int = 0,
    limit: int = 100,
) -> list[str]:
    stmt = select_run_ids(
        experiment_ids=list(experiment_ids),
        stages=stages,
        filter_string=filter_string,
        order_by=order_by,
        offset=offset,
        limit=limit,
    )
    with engine.connect() as conn:
        return list(conn.execute(stmt).scalars())


# --- scope, default order, paging -------------------------------------------------------------


def test_default_order_is_newest_first_then_run_id(engine: Engine) -> None:
    assert search(engine) == DEFAULT_ORDER
    assert search(engine, "   ") == DEFAULT_ORDER


def test_experiment_ids_and_stages(engine: Engine) -> None:
    assert search(engine, experiment_ids=["1", "2"]) == ["r6", *DEFAULT_ORDER]
    assert search(engine, experiment_ids=["2"]) == ["r6"]
    assert search(engine, experiment_ids=[]) == []
    assert search(engine, experiment_ids=["99"]) == []
    assert search(engine, stages=("deleted",)) == ["r5"]
    assert search(engine, stages=("active", "deleted")) == ["r5", *DEFAULT_ORDER]


def test_offset_and_limit(engine: Engine) -> None:
    assert search(engine, offset=1, limit=2) == ["r7", "r2"]
    assert search(engine, offset=4, limit=2) == ["r4"]
    assert search(engine, offset=5) == []
    assert search(engine, limit=0) == []
    pages = [search(engine, offset=o, limit=2) for o in (0, 2, 4)]
    assert [r for page in pages for r in page] == DEFAULT_ORDER


@pytest.mark.parametrize("bad", ["abc", "1.5", "-1", ""])
def test_bad_experiment_ids(engine: Engine, bad: str) -> None:
    with pytest.raises(CairnError, match=f"Invalid experiment id '{bad}': expected digits"):
        search(engine, experiment_ids=["1", bad])


def test_negative_paging_is_rejected(engine: Engine) -> None:
    with pytest.raises(CairnError, match="offset -1 and limit 5 must be >= 0"):
        search(engine, offset=-1, limit=5)


# --- filters ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        # metrics: only runs that have the metric; NaN never satisfies a comparison
        ("metrics.loss < 0.3", ["r2"]),
        ("metrics.loss <= 0.5", ["r2", "r1"]),
        ("metrics.loss = 0.25", ["r2"]),
        ("metrics.loss = 0.3", []),
        ("metrics.loss != 0.5", ["r7", "r2"]),
        ("metrics.loss > -1e308", ["r7", "r2", "r1"]),
        ("metrics.loss >= 1", ["r7"]),
        ("metric.acc < -1.4e3", ["r4"]),
        ("metrics.acc > 0", ["r2", "r1"]),
        ("metrics.loss IS NOT NULL", ["r3", "r7", "r2", "r1"]),
        ("metrics.loss IS NULL", ["r4"]),
        ("metrics.nope > 0", []),
        ("NOT metrics.loss < 0.3", ["r3", "r7", "r1", "r4"]),
        # params
        ("params.lr = '0.01'", ["r3", "r1"]),
        ("params.lr != '0.01'", ["r7", "r2"]),
        ("params.lr IS NULL", ["r4"]),
        ("params.lr IS NOT NULL", ["r3", "r7", "r2", "r1"]),
        ("params.a.b = 'dotted'", ["r1"]),
        ("params.`a.b` = 'dotted'", ["r1"]),
        ('params."my key" = "spaced"', ["r2"]),
        ("params.model LIKE 'c%'", ["r2"]),
        ("params.model LIKE 'C%'", ["r1", "r4"]),
        ("params.model LIKE '_nn'", ["r3", "r2"]),
        ("params.model LIKE 'CNN'", ["r1"]),
        ("params.model ILIKE 'c%'", ["r2", "r1", "r4"]),
        ("params.model ILIKE 'CNN'", ["r2", "r1"]),
        ("params.model ILIKE '%\\_V2'", ["r4"]),
        ("NOT params.model LIKE 'c%'", ["r3", "r7", "r1", "r4"]),
        # tags, with LIKE wildcards escaped and GLOB metacharacters taken literally
        ("tags.team = 'vision'", ["r2"]),
        ("tags.team ILIKE 'VISION'", ["r2", "r1"]),
        ("tags.team != 'nlp'", ["r2", "r1"]),
        ("tags.`mlflow.note` = 'it''s'", ["r4"]),
        ('tags."mlflow.note" LIKE "it\\\'%"', ["r4"]),
        ("tags.pattern LIKE '50%'", ["r2", "r1"]),
        ("tags.pattern LIKE '50\\%'", ["r1"]),
        ("tags.pattern LIKE 'a_b'", ["r3", "r4"]),
        ("tags.pattern LIKE 'a\\_b'", ["r3"]),
        ("tags.pattern = '[x]*?'", ["r7"]),
        ("tags.pattern LIKE '[x]*?'", ["r7"]),
        ("tags.pattern LIKE '[%'", ["r7"]),
        ("tags.pattern LIKE '%?'", ["r7"]),
        ("tags.pattern LIKE '*'", []),
        ("tags.pattern ILIKE '%X%'", ["r7", "r2", "r4"]),
        ("tags.pattern LIKE '%X%'", []),
        # attributes
        ("attributes.status = 'FINISHED'", ["r1", "r4"]),
        ("status IN ('FAILED', 'KILLED')", ["r7", "r2"]),
        ("status NOT IN ('FINISHED')", ["r3", "r7", "r2"]),
        ("attributes.status != 'FINISHED'", ["r3", "r7", "r2"]),
        ("run_name LIKE 'alpha%'", ["r2"]),
        ("run_name ILIKE 'alpha%'", ["r2", "r1"]),
        ("attributes.run_name LIKE '100\\%'", ["r4"]),
        ("run.run_name = 'tie'", ["r7"]),
        ("attributes.run_id IN ('r1', 'r3', 'r6')", ["r3", "r1"]),
        ("attributes.run_id NOT IN ('r1', 'r3')", ["r7", "r2", "r4"]),
        ("run_id = 'r2'", ["r2"]),
        ("user_id = 'alice'", ["r3", "r1"]),
        ("attributes.user_id ILIKE 'A%'", ["r3", "r1"]),
        ("start_time >= 200", ["r3", "r7", "r2"]),
        ("created < 200", ["r1"]),
        ("attributes.Created = 300", ["r3", "r7"]),
        ("start_time != 300", ["r2", "r1"]),
        ("start_time IS NULL", ["r4"]),
        ("end_time IS NULL", ["r3", "r2", "r4"]),
        ("end_time IS NOT NULL", ["r7", "r1"]),
        ("end_time > 250", ["r7"]),
        ("NOT end_time > 250", ["r3", "r2", "r1", "r4"]),
        ("artifact_uri LIKE '%/r1'", ["r1"]),
        ("lifecycle_stage = 'active'", DEFAULT_ORDER),
        ("experiment_id = '1'", DEFAULT_ORDER),
        ("experiment_id != '1'", []),
        ("experiment_id = '01'", []),
        ("experiment_id IN ('2', '1')", DEFAULT_ORDER),
        ("experiment_id LIKE '1%'", DEFAULT_ORDER),
        # datasets
        ("datasets.name = 'mnist'", ["r3", "r1"]),
        ("dataset.name IN ('cifar')", ["r3", "r2"]),
        ("datasets.name NOT IN ('mnist')", ["r3", "r2"]),
        ("datasets.name != 'cifar'", ["r3", "r1"]),
        ("datasets.digest = 'def456'", ["r3", "r2"]),
        ("datasets.digest LIKE 'ABC%'", []),
        ("datasets.digest ILIKE 'ABC%'", ["r3", "r1"]),
        ("datasets.context = 'train'", ["r3", "r1"]),
        ("datasets.context IN ('eval', 'test')", ["r3", "r2"]),
        ("datasets.name = 'mnist' AND datasets.context = 'test'", ["r3"]),
        ("NOT datasets.name = 'mnist'", ["r7", "r2", "r4"]),
        # AND / OR / NOT and precedence
        ("metrics.loss < 1 and params.model = 'cnn'", ["r2"]),
        ("metrics.loss < 1 aNd params.model like 'C%'", ["r1"]),
        ("params.lr = '0.01' OR params.lr = '0.1' AND tags.team = 'nlp'", ["r3", "r1"]),
        ("(params.lr = '0.01' OR params.lr = '0.1') AND tags.team = 'nlp'", ["r3"]),
        ("NOT (status = 'FINISHED' OR status = 'RUNNING')", ["r7", "r2"]),
        ("NOT status = 'FINISHED' AND NOT status = 'RUNNING'", ["r7", "r2"]),
        ("metrics.loss IS NULL OR metrics.acc < 0.85 OR run_name = 'tie'", ["r7", "r2", "r4"]),
        ("NOT NOT tags.team = 'nlp'", ["r3"]),
        ("tags.team = 'nlp' OR datasets.name = 'cifar' OR metrics.acc = -1500", ["r3", "r2", "r4"]),
    ],
)
def test_filters(engine: Engine, filter_string: str, expected: list[str]) -> None:
    assert search(engine, filter_string) == expected


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("NOT " * 32 + "metrics.loss < 0.3", ["r2"]),
        (
            "".join(f"NOT (metrics.x{i} > 1 OR " for i in range(16))
            + "datasets.name = 'mnist'"
            + ")" * 16,
            ["r3", "r1"],  # an even number of NOTs over conditions no run meets
        ),
        (
            "".join(f"params.x{i} = 'y' OR (tags.t{i} LIKE 'y' AND " for i in range(16))
            + "end_time > 250"
            + ")" * 16,
            [],
        ),
    ],
)
def test_deepest_allowed_filters_run(
    engine: Engine, filter_string: str, expected: list[str]
) -> None:
    assert search(engine, filter_string) == expected


def test_filter_scope_still_applies(engine: Engine) -> None:
    assert search(engine, "metrics.loss < 0.2", experiment_ids=["1", "2"]) == ["r6"]
    assert search(engine, "metrics.loss < 0.2", stages=("active", "deleted")) == ["r5"]
    assert search(engine, "user_id = 'alice'", stages=("active", "deleted")) == ["r5", "r3", "r1"]


def test_like_statements_with_different_patterns_do_not_share_cached_values(
    engine: Engine,
) -> None:
    # The same statement shape is compiled once and cached; the patterns must still differ.
    for _ in range(2):
        assert search(engine, "params.model LIKE 'c%'") == ["r2"]
        assert search(engine, "params.model LIKE 'C%'") == ["r1", "r4"]
        assert search(engine, "params.model LIKE 'r%'") == ["r3"]


def test_bad_filter_raises_invalid_parameter(engine: Engine) -> None:
    with pytest.raises(CairnError) as info:
        search(engine, "metrics.loss <")
    assert info.value.message == (
        "Invalid filter 'metrics.loss <': expected a value after '<' at position 14"
    )
    assert info.value.http_status == 400


# --- order_by ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        # NaN after every number, runs without the metric last
        (["metrics.loss ASC"], ["r2", "r1", "r7", "r3", "r4"]),
        (["metrics.loss"], ["r2", "r1", "r7", "r3", "r4"]),
        # NaN above every number, runs without the metric still last
        (["metrics.loss DESC"], ["r3", "r7", "r1", "r2", "r4"]),
        (["metrics.acc asc"], ["r4", "r2", "r1", "r3", "r7"]),
        (["metrics.acc DESC"], ["r1", "r2", "r4", "r3", "r7"]),
        # params / tags compare as strings; ties fall back to start_time DESC, run id
        (["params.lr ASC"], ["r3", "r1", "r2", "r7", "r4"]),
        (["params.lr DESC"], ["r7", "r2", "r3", "r1", "r4"]),
        (["tags.group DESC"], ["r3", "r1", "r2", "r7", "r4"]),
        (["tags.`group` ASC"], ["r2", "r3", "r1", "r7", "r4"]),
        (["tags.group DESC", "metrics.loss ASC"], ["r1", "r3", "r2", "r7", "r4"]),
        (["metrics.loss ASC", "metrics.loss DESC"], ["r2", "r1", "r7", "r3", "r4"]),
        # attributes; a missing start/end time sorts last both ways
        (["attributes.start_time ASC"], ["r1", "r2", "r3", "r7", "r4"]),
        (["start_time DESC"], DEFAULT_ORDER),
        (["Created"], ["r1", "r2", "r3", "r7", "r4"]),
        (["end_time DESC"], ["r7", "r1", "r3", "r2", "r4"]),
        (["end_time"], ["r1", "r7", "r3", "r2", "r4"]),
        (["attributes.run_id DESC"], ["r7", "r4", "r3", "r2", "r1"]),
        (["status", "run_id DESC"], ["r2", "r4", "r1", "r7", "r3"]),
        (["user_id DESC"], ["r7", "r4", "r2", "r3", "r1"]),
        (["experiment_id"], DEFAULT_ORDER),
        (["metrics.missing DESC"], DEFAULT_ORDER),
    ],
)
def test_order_by(engine: Engine, order_by: list[str], expected: list[str]) -> None:
    assert search(engine, order_by=order_by) == expected


def test_order_by_with_filter_and_paging(engine: Engine) -> None:
    order = ["metrics.loss DESC"]
    assert search(engine, "metrics.loss IS NOT NULL", order) == ["r3", "r7", "r1", "r2"]
    assert search(engine, "metrics.loss IS NOT NULL", order, offset=1, limit=2) == ["r7", "r1"]
    assert search(engine, "params.lr = '0.01'", ["metrics.loss"]) == ["r1", "r3"]
    assert search(engine, "metrics.loss < 1", ["metrics.loss DESC"], experiment_ids=["1", "2"]) == [
        "r1",
        "r2",
        "r6",
    ]


def test_order_by_across_experiments_and_stages(engine: Engine) -> None:
    assert search(
        engine, order_by=["metrics.loss"], experiment_ids=["1", "2"], stages=("active", "deleted")
    ) == ["r5", "r6", "r2", "r1", "r7", "r3", "r4"]


def test_bad_order_by_raises_invalid_parameter(engine: Engine) -> None:
    with pytest.raises(CairnError, match=r"Invalid order_by clause 'metrics.loss up': expected"):
        search(engine, order_by=["metrics.loss up"])


# --- SQL shape --------------------------------------------------------------------------------


def test_like_is_glob_on_sqlite_and_like_on_postgres() -> None:
    stmt = select_run_ids(
        experiment_ids=["1"],
        stages=("active",),
        filter_string="params.model LIKE 'C%' AND params.model ILIKE 'c%'",
        order_by=None,
        offset=0,
        limit=10,
    )
    on_sqlite = str(stmt.compile(dialect=sqlite.dialect()))
    on_postgres = str(stmt.compile(dialect=postgresql.dialect()))
    assert "params.value GLOB ?" in on_sqlite
    assert "lower(params.value) LIKE lower(?)" in on_sqlite
    assert re.search(r"params\.value LIKE %\(\w+\)s(::VARCHAR)? ESCAPE '\\'", on_postgres)
    assert "params.value ILIKE" in on_postgres
    assert "GLOB" not in on_postgres


def test_metric_order_is_one_outer_join_per_key() -> None:
    stmt = select_run_ids(
        experiment_ids=["1"],
        stages=("active",),
        filter_string=None,
        order_by=["metrics.a", "metrics.b DESC", "metrics.a DESC", "params.p"],
        offset=0,
        limit=10,
    )
    sql = str(stmt.compile(dialect=sqlite.dialect()))
    assert sql.count("LEFT OUTER JOIN latest_metrics AS order_") == 2
    assert sql.count("LEFT OUTER JOIN params AS order_") == 1
    assert "EXISTS" not in sql

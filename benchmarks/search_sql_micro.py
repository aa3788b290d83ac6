"""Time run search SQL (ids only) on SQLite: 10,000 runs x (10 params, 5 metrics, 2 tags).

Usage: python benchmarks/search_sql_micro.py [path/to/db.sqlite]   (default: in memory)

Prints the median time of the brief's reference query and SQLite's query plan, so a change
that stops the search from using an index shows up as a plan and a number, not a hunch.
"""

from __future__ import annotations

import random
import statistics
import sys
import time

from sqlalchemy import Engine, create_engine, insert, text
from sqlalchemy.dialects import sqlite

from cairn.search.runs import select_run_ids
from cairn.store.db import schema

N_RUNS = 10_000


def build(uri: str) -> Engine:
    engine = create_engine(uri)
    schema.metadata.create_all(engine)
    rng = random.Random(0)
    runs, params, metrics, tags = [], [], [], []
    for i in range(N_RUNS):
        run_id = f"{i:032x}"
        runs.append(
            dict(
                run_uuid=run_id,
                name=f"run-{i}",
                experiment_id=1,
                user_id="bench",
                status="FINISHED",
                start_time=1_700_000_000_000 + i,
                end_time=None,
                lifecycle_stage="active",
                artifact_uri=f"/a/{run_id}",
            )
        )
        params += [
            dict(run_uuid=run_id, key=f"p{k}", value=str(rng.randrange(10))) for k in range(10)
        ]
        metrics += [
            dict(
                run_uuid=run_id, key=f"m{k}", value=rng.random(), is_nan=False, step=0, timestamp=0
            )
            for k in range(5)
        ]
        tags += [dict(run_uuid=run_id, key=f"t{k}", value=f"v{i % 7}") for k in range(2)]
    with engine.begin() as conn:
        conn.execute(
            insert(schema.experiments),
            [dict(experiment_id=1, name="bench", artifact_location="/a", lifecycle_stage="active")],
        )
        for table, rows in (
            (schema.runs, runs),
            (schema.params, params),
            (schema.latest_metrics, metrics),
            (schema.tags, tags),
        ):
            conn.execute(insert(table), rows)
    return engine


def main() -> None:
    uri = f"sqlite:///{sys.argv[1]}" if len(sys.argv) > 1 else "sqlite://"
    engine = build(uri)
    stmt = select_run_ids(
        experiment_ids=["1"],
        stages=("active",),
        filter_string="metrics.m1 < 0.5 and params.p1 = '3'",
        order_by=["metrics.m2 ASC"],
        offset=0,
        limit=1000,
    )
    compiled = stmt.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True})
    for label in ("without statistics", "after ANALYZE"):
        with engine.connect() as conn:
            if label == "after ANALYZE":
                conn.exec_driver_sql("ANALYZE")
            plan = conn.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))
            timings = []
            for _ in range(30):
                start = time.perf_counter()
                ids = conn.execute(stmt).scalars().all()
                timings.append(time.perf_counter() - start)
        print(f"-- {label}:")
        for row in plan:
            print(f"   {row[-1]}")
        print(
            f"   {len(ids)} ids; median {statistics.median(timings) * 1e3:.2f} ms, "
            f"min {min(timings) * 1e3:.2f} ms"
        )


if __name__ == "__main__":
    main()

"""The tracking store on SQL databases (SQLite embedded, PostgreSQL for teams).

Every rule about what may be written lives here or in :mod:`cairn.validation`; the fluent API,
the explicit client and the server all reach the data through this class. Each public write is
one transaction: it succeeds whole or leaves the database as it was.
"""

from __future__ import annotations

import functools
import math
import uuid
import weakref
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import msgspec
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    Table,
    Text,
    and_,
    bindparam,
    cast,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError

from cairn import validation
from cairn.clock import now_ms
from cairn.entities import (
    Dataset,
    DatasetInput,
    Experiment,
    InputTag,
    LifecycleStage,
    Metric,
    MetricHistory,
    PagedList,
    Param,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunStatus,
    RunTag,
    ViewType,
)
from cairn.errors import CairnError
from cairn.store.artifacts.paths import join_uri
from cairn.store.db import schema as t
from cairn.store.db.driver import DriverStatement
from cairn.store.db.engine import get_engine, is_sqlite, read_transaction, write_transaction
from cairn.store.db.migrate import ensure_schema
from cairn.store.db.upsert import dialect_insert, upsert
from cairn.store.tracking.columns import MetricColumns, pack
from cairn.store.tracking.history_cache import HistoryCache
from cairn.store.tracking.protocol import (
    RUN_TABLE_PREFIXES,
    ExperimentKeys,
    ExperimentSummary,
    RunTable,
)
from cairn.store.tracking.sql_logged_models import SqlLoggedModelsMixin
from cairn.tracking.names import generate_run_name

DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_EXPERIMENT_NAME = "Default"
RUN_NAME_TAG = "mlflow.runName"
USER_TAG = "mlflow.user"
PARENT_RUN_TAG = "mlflow.parentRunId"
DEFAULT_ARTIFACT_ROOT = "./cairn-artifacts"

# Up to this many runs, experiment keys are read run by run; beyond, by a walk of the key index.
KEYS_RUN_BY_RUN_MAX_RUNS = 1000
# Appends smaller than this top up a tail chunk of fewer points; big appends are split at MAX.
SMALL_CHUNK_POINTS = 256
MAX_CHUNK_POINTS = 65536
_ID_BATCH = 5000
_ANALYZE_MIN_RUNS = 1000
_json_decoder = msgspec.json.Decoder(dict[str, str])
# key -> [value, step, timestamp]; strict=False reads "NaN"/"Infinity" and exact decimal text.
_metrics_decoder = msgspec.json.Decoder(dict[str, tuple[float, int, int]], strict=False)

_initialised: weakref.WeakSet[Engine] = weakref.WeakSet()


def resolve_artifact_root(artifact_root: str | None) -> str:
    root = artifact_root or DEFAULT_ARTIFACT_ROOT
    if "://" in root or ":" in root.split("/", 1)[0]:
        return root
    return str(Path(root).expanduser().resolve())


class SqlTrackingStore(SqlLoggedModelsMixin):
    """A :class:`~cairn.store.tracking.protocol.TrackingStore` on SQLAlchemy Core."""

    def __init__(self, uri: str, artifact_root: str | None = None) -> None:
        self.uri = uri
        self._next_analyze_at = _ANALYZE_MIN_RUNS
        self.engine = get_engine(uri)
        self.artifact_root = resolve_artifact_root(artifact_root)
        if self.engine not in _initialised:
            ensure_schema(self.engine)
            self._ensure_default_experiment()
            self._refresh_sqlite_statistics()
            _initialised.add(self.engine)

    # ------------------------------------------------------------------ experiments

    def _ensure_default_experiment(self) -> None:
        """Create experiment 0; an upsert, as processes starting together all try at once."""
        now = now_ms()
        row = {
            "experiment_id": 0,
            "name": DEFAULT_EXPERIMENT_NAME,
            "artifact_location": join_uri(self.artifact_root, DEFAULT_EXPERIMENT_ID),
            "lifecycle_stage": LifecycleStage.ACTIVE,
            "creation_time": now,
            "last_update_time": now,
        }
        with write_transaction(self.engine) as conn:
            upsert(conn, t.experiments, [row], keys=("experiment_id",), update=None)

    def _refresh_sqlite_statistics(self) -> None:
        """Give SQLite's planner statistics at start (PostgreSQL autovacuums)."""
        if self.engine.dialect.name != "sqlite":
            return
        with write_transaction(self.engine) as conn:
            rows = conn.execute(select(func.max(literal_column("rowid"))).select_from(t.runs))
            self._analyze_if_grown(conn, rows.scalar() or 0)

    def _analyze_if_grown(self, conn: Connection, runs: int) -> None:
        """ANALYZE once there are 1,000 runs and again each time their number doubles.

        Statistics of a nearly empty database mislead the planner later, so small databases
        keep none; a process that started small refreshes them as it grows (``runs`` is the
        newest run's rowid, known for free). A sampled ANALYZE reads a bounded number of rows
        per index: milliseconds on any size of database.
        """
        if runs < self._next_analyze_at:
            return
        conn.exec_driver_sql("PRAGMA analysis_limit = 1000")
        conn.exec_driver_sql("ANALYZE")
        self._next_analyze_at = 2 * runs

    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: dict[str, str] | None = None
    ) -> str:
        name = validation.validate_experiment_name(name)
        tag_rows = [
            validation.validate_tag(k, v, validation.MAX_EXPERIMENT_TAG_VAL_LENGTH)
            for k, v in (tags or {}).items()
        ]
        now = now_ms()
        try:
            with write_transaction(self.engine) as conn:
                if self._experiment_id_by_name(conn, name) is not None:
                    raise _experiment_exists(name)
                experiment_id = conn.execute(
                    insert(t.experiments)
                    .values(
                        name=name,
                        artifact_location=artifact_location or "",
                        lifecycle_stage=LifecycleStage.ACTIVE,
                        creation_time=now,
                        last_update_time=now,
                    )
                    .returning(t.experiments.c.experiment_id)
                ).scalar_one()
                if not artifact_location:
                    conn.execute(
                        update(t.experiments)
                        .where(t.experiments.c.experiment_id == experiment_id)
                        .values(artifact_location=join_uri(self.artifact_root, str(experiment_id)))
                    )
                if tag_rows:
                    conn.execute(
                        insert(t.experiment_tags),
                        [
                            {"experiment_id": experiment_id, "key": k, "value": v}
                            for k, v in tag_rows
                        ],
                    )
        except IntegrityError:
            raise _experiment_exists(name) from None
        return str(experiment_id)

    def get_experiment(self, experiment_id: str) -> Experiment:
        eid = int(validation.validate_experiment_id(experiment_id))
        with read_transaction(self.engine) as conn:
            experiments = self._load_experiments(conn, [eid])
        if not experiments:
            raise CairnError.not_found(f"No experiment with id '{experiment_id}'.")
        return experiments[0]

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        with read_transaction(self.engine) as conn:
            eid = self._experiment_id_by_name(conn, name)
            return None if eid is None else self._load_experiments(conn, [eid])[0]

    def search_experiments(
        self,
        view_type: str = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        filter_string: str | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        from cairn.search.experiments import select_experiment_ids
        from cairn.search.paging import decode_page_token, encode_page_token

        stages = ViewType.stages(ViewType.validate(view_type))
        limit = validation.validate_max_results(
            max_results, validation.MAX_RESULTS_SEARCH_EXPERIMENTS
        )
        offset = decode_page_token(page_token)
        query = select_experiment_ids(
            stages=stages,
            filter_string=filter_string,
            order_by=order_by,
            offset=offset,
            limit=limit + 1,
        )
        with read_transaction(self.engine) as conn:
            ids = list(conn.execute(query).scalars())
            experiments = self._load_experiments(conn, ids[:limit])
        token = encode_page_token(offset + limit) if len(ids) > limit else None
        return PagedList(experiments, token)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        new_name = validation.validate_experiment_name(new_name)
        try:
            with write_transaction(self.engine) as conn:
                row = self._experiment_row(conn, experiment_id)
                if row.lifecycle_stage != LifecycleStage.ACTIVE:
                    raise CairnError.invalid(
                        f"Cannot rename experiment '{experiment_id}': it is deleted. "
                        "Restore it first."
                    )
                other = self._experiment_id_by_name(conn, new_name)
                if other is not None and other != row.experiment_id:
                    raise _experiment_exists(new_name)
                conn.execute(
                    update(t.experiments)
                    .where(t.experiments.c.experiment_id == row.experiment_id)
                    .values(name=new_name, last_update_time=now_ms())
                )
        except IntegrityError:
            raise _experiment_exists(new_name) from None

    def delete_experiment(self, experiment_id: str) -> None:
        """Mark the experiment and its active runs deleted (``gc`` removes them for good)."""
        if validation.validate_experiment_id(experiment_id) == DEFAULT_EXPERIMENT_ID:
            raise CairnError.invalid("The default experiment (id 0) cannot be deleted.")
        now = now_ms()
        with write_transaction(self.engine) as conn:
            row = self._experiment_row(conn, experiment_id)
            if row.lifecycle_stage == LifecycleStage.DELETED:
                raise CairnError.invalid(f"Experiment '{experiment_id}' is already deleted.")
            self._set_experiment_stage(conn, row.experiment_id, LifecycleStage.DELETED, now)
            conn.execute(
                update(t.runs)
                .where(
                    t.runs.c.experiment_id == row.experiment_id,
                    t.runs.c.lifecycle_stage == LifecycleStage.ACTIVE,
                )
                .values(lifecycle_stage=LifecycleStage.DELETED, deleted_time=now)
            )

    def restore_experiment(self, experiment_id: str) -> None:
        """Restore the experiment and the runs that were deleted together with it."""
        with write_transaction(self.engine) as conn:
            row = self._experiment_row(conn, experiment_id)
            if row.lifecycle_stage != LifecycleStage.DELETED:
                raise CairnError.invalid(f"Experiment '{experiment_id}' is not deleted.")
            self._set_experiment_stage(conn, row.experiment_id, LifecycleStage.ACTIVE, None)
            conn.execute(
                update(t.runs)
                .where(
                    t.runs.c.experiment_id == row.experiment_id,
                    t.runs.c.lifecycle_stage == LifecycleStage.DELETED,
                    t.runs.c.deleted_time == row.deleted_time,
                )
                .values(lifecycle_stage=LifecycleStage.ACTIVE, deleted_time=None)
            )

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        key, value = validation.validate_tag(key, value, validation.MAX_EXPERIMENT_TAG_VAL_LENGTH)
        with write_transaction(self.engine) as conn:
            row = self._experiment_row(conn, experiment_id)
            if row.lifecycle_stage != LifecycleStage.ACTIVE:
                raise CairnError.invalid(
                    f"Cannot set a tag on experiment '{experiment_id}': it is deleted."
                )
            upsert(
                conn,
                t.experiment_tags,
                [{"experiment_id": row.experiment_id, "key": key, "value": value}],
                keys=("experiment_id", "key"),
                update=("value",),
            )

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        with write_transaction(self.engine) as conn:
            row = self._experiment_row(conn, experiment_id)
            deleted = conn.execute(
                delete(t.experiment_tags).where(
                    t.experiment_tags.c.experiment_id == row.experiment_id,
                    t.experiment_tags.c.key == key,
                )
            ).rowcount
            if not deleted:
                raise CairnError.not_found(f"No tag '{key}' on experiment '{experiment_id}'.")

    def _experiment_id_by_name(self, conn: Connection, name: str) -> int | None:
        return conn.execute(
            select(t.experiments.c.experiment_id).where(t.experiments.c.name == name)
        ).scalar()

    def _experiment_row(self, conn: Connection, experiment_id: str):  # type: ignore[no-untyped-def]
        eid = int(validation.validate_experiment_id(experiment_id))
        row = conn.execute(
            select(t.experiments).where(t.experiments.c.experiment_id == eid)
        ).first()
        if row is None:
            raise CairnError.not_found(f"No experiment with id '{experiment_id}'.")
        return row

    def _set_experiment_stage(
        self, conn: Connection, eid: int, stage: str, deleted_time: int | None
    ) -> None:
        conn.execute(
            update(t.experiments)
            .where(t.experiments.c.experiment_id == eid)
            .values(lifecycle_stage=stage, deleted_time=deleted_time, last_update_time=now_ms())
        )

    def _load_experiments(self, conn: Connection, ids: Sequence[int]) -> list[Experiment]:
        if not ids:
            return []
        e, et = t.experiments, t.experiment_tags
        rows = {
            r.experiment_id: r for r in conn.execute(select(e).where(e.c.experiment_id.in_(ids)))
        }
        tags: dict[int, dict[str, str]] = {}
        for eid, key, value in conn.execute(
            select(et.c.experiment_id, et.c.key, et.c.value).where(et.c.experiment_id.in_(ids))
        ):
            tags.setdefault(eid, {})[key] = value
        return [
            Experiment(
                experiment_id=str(r.experiment_id),
                name=r.name,
                artifact_location=r.artifact_location,
                lifecycle_stage=r.lifecycle_stage,
                tags=tags.get(r.experiment_id, {}),
                creation_time=r.creation_time,
                last_update_time=r.last_update_time,
            )
            for r in (rows[i] for i in ids if i in rows)
        ]

    # ------------------------------------------------------------------ runs

    def create_run(
        self,
        experiment_id: str,
        user_id: str = "",
        start_time: int | None = None,
        tags: dict[str, str] | None = None,
        run_name: str | None = None,
    ) -> Run:
        tags = dict(validation.validate_tag(k, v) for k, v in (tags or {}).items())
        tag_name = tags.get(RUN_NAME_TAG)
        if run_name is not None and tag_name is not None and run_name != tag_name:
            raise CairnError.invalid(
                f"Both run_name ({run_name!r}) and the {RUN_NAME_TAG} tag ({tag_name!r}) were "
                "given and they differ: pass one of them."
            )
        name = validation.validate_run_name(run_name or tag_name or generate_run_name())
        tags[RUN_NAME_TAG] = name
        if user_id:
            tags.setdefault(USER_TAG, user_id)
        run_id = uuid.uuid4().hex
        start = now_ms() if start_time is None else validation.validate_timestamp(start_time)
        with write_transaction(self.engine) as conn:
            exp = self._experiment_row(conn, experiment_id)
            if exp.lifecycle_stage != LifecycleStage.ACTIVE:
                raise CairnError.invalid(
                    f"Cannot create a run in experiment '{experiment_id}': it is deleted."
                )
            artifact_uri = join_uri(exp.artifact_location, run_id, "artifacts")
            inserted = conn.execute(
                insert(t.runs).values(
                    run_uuid=run_id,
                    name=name,
                    experiment_id=exp.experiment_id,
                    user_id=user_id or "",
                    status=RunStatus.RUNNING,
                    start_time=start,
                    end_time=None,
                    lifecycle_stage=LifecycleStage.ACTIVE,
                    artifact_uri=artifact_uri,
                )
            )
            conn.execute(
                insert(t.tags),
                [{"run_uuid": run_id, "key": k, "value": v} for k, v in tags.items()],
            )
            refresh_run_summary(conn, run_id, tags=True)
            if conn.dialect.name == "sqlite":
                self._analyze_if_grown(conn, inserted.lastrowid or 0)
        return Run(
            info=RunInfo(
                run_id=run_id,
                experiment_id=str(exp.experiment_id),
                run_name=name,
                user_id=user_id or "",
                status=RunStatus.RUNNING,
                start_time=start,
                end_time=None,
                artifact_uri=artifact_uri,
                lifecycle_stage=LifecycleStage.ACTIVE,
            ),
            data=RunData(tags=tags),
        )

    def get_run(self, run_id: str) -> Run:
        with read_transaction(self.engine) as conn:
            runs = self._load_runs(conn, [validation.validate_run_id(run_id)])
        if not runs:
            raise CairnError.not_found(f"Run '{run_id}' not found.")
        return runs[0]

    def update_run_info(
        self,
        run_id: str,
        status: str | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo:
        values: dict[str, object] = {}
        if status is not None:
            values["status"] = RunStatus.validate(status)
        if end_time is not None:
            values["end_time"] = validation.validate_timestamp(end_time)
        if run_name:
            values["name"] = validation.validate_run_name(run_name)
        with write_transaction(self.engine) as conn:
            self._active_run_row(conn, run_id)
            if values:
                conn.execute(update(t.runs).where(t.runs.c.run_uuid == run_id).values(**values))
            if run_name:
                self._write_tags(conn, run_id, {RUN_NAME_TAG: values["name"]})  # type: ignore[dict-item]
                refresh_run_summary(conn, run_id, tags=True)
            return self._load_runs(conn, [run_id])[0].info

    def delete_run(self, run_id: str) -> None:
        self._set_run_stage(run_id, LifecycleStage.DELETED, now_ms())

    def restore_run(self, run_id: str) -> None:
        self._set_run_stage(run_id, LifecycleStage.ACTIVE, None)

    def _set_run_stage(self, run_id: str, stage: str, deleted_time: int | None) -> None:
        with write_transaction(self.engine) as conn:
            self._run_row(conn, run_id)
            conn.execute(
                update(t.runs)
                .where(t.runs.c.run_uuid == run_id)
                .values(lifecycle_stage=stage, deleted_time=deleted_time)
            )

    def search_runs(
        self,
        experiment_ids: list[str],
        filter_string: str | None = None,
        run_view_type: str = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        from cairn.search.paging import encode_page_token

        query, offset, limit = _run_search_query(
            experiment_ids, filter_string, run_view_type, max_results, order_by, page_token
        )
        with read_transaction(self.engine) as conn:
            ids = list(conn.execute(query).scalars())
            runs = self._load_runs(conn, ids[:limit])
        token = encode_page_token(offset + limit) if len(ids) > limit else None
        return PagedList(runs, token)

    # ------------------------------------------------------------------ bulk reads (web UI)

    def get_experiment_summaries(
        self, experiment_ids: Sequence[str] | None = None
    ) -> list[ExperimentSummary]:
        """One grouped query: the runs are counted through ``ix_runs_experiment_start``."""
        e, r = t.experiments, t.runs
        active = and_(
            r.c.experiment_id == e.c.experiment_id, r.c.lifecycle_stage == LifecycleStage.ACTIVE
        )
        query = (
            select(
                e.c.experiment_id,
                e.c.last_update_time,
                func.count(r.c.run_uuid),
                func.max(r.c.start_time),
                func.max(r.c.end_time),
            )
            .select_from(e.outerjoin(r, active))
            .group_by(e.c.experiment_id, e.c.last_update_time)
            .order_by(e.c.experiment_id)
        )
        if experiment_ids is not None:
            if isinstance(experiment_ids, str):
                experiment_ids = [experiment_ids]
            ids = [int(validation.validate_experiment_id(e)) for e in experiment_ids]
            if not ids:
                return []
            query = query.where(e.c.experiment_id.in_(ids))
        with read_transaction(self.engine) as conn:
            rows = conn.execute(query).all()
        summaries = []
        for eid, updated, count, started, ended in rows:
            times = [v for v in (updated, started, ended) if v is not None]
            summaries.append(ExperimentSummary(str(eid), count, max(times) if times else None))
        return summaries

    def get_experiment_keys(self, experiment_ids: Sequence[str]) -> ExperimentKeys:
        """The distinct param, metric and tag keys of the experiments' active runs.

        Two plans, picked by the number of runs: a few runs are read run by run (their rows
        probed by the ``(run_uuid, key)`` primary keys); many runs would mean reading every row
        of every run, so instead the distinct keys of the whole table are walked along the key
        index (a recursive "loose index scan": one seek per distinct key) and each is kept if an
        active run of these experiments has it.
        """
        if isinstance(experiment_ids, str):
            experiment_ids = [experiment_ids]
        ids = [int(validation.validate_experiment_id(e)) for e in experiment_ids]
        if not ids:
            return ExperimentKeys([], [], [])
        r = t.runs
        in_experiments = (r.c.experiment_id.in_(ids), r.c.lifecycle_stage == LifecycleStage.ACTIVE)
        keys: list[list[str]] = []
        with read_transaction(self.engine) as conn:
            n_runs = conn.execute(select(func.count()).where(*in_experiments)).scalar_one()
            for table in (t.params, t.latest_metrics, t.tags):
                if n_runs <= KEYS_RUN_BY_RUN_MAX_RUNS:
                    active = select(r.c.run_uuid).where(*in_experiments)
                    query = (
                        select(table.c.key)
                        .where(table.c.run_uuid.in_(active))
                        .distinct()
                        .order_by(table.c.key)
                    )
                else:
                    query = _keys_by_loose_index_scan(table, in_experiments)
                keys.append(list(conn.execute(query).scalars()))
        return ExperimentKeys(params=keys[0], metrics=keys[1], tags=keys[2])

    def search_runs_table(
        self,
        experiment_ids: list[str],
        columns: Sequence[str] = (),
        filter_string: str | None = None,
        run_view_type: str = ViewType.ACTIVE_ONLY,
        max_results: int = 10000,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> RunTable:
        """The search's own query, selecting each run's attributes and only the summary JSON
        the requested columns need instead of its id, decoded once per run: no Run objects."""
        from cairn.search.paging import encode_page_token

        wanted = parse_run_table_columns(columns)
        query, offset, limit = _run_search_query(
            experiment_ids, filter_string, run_view_type, max_results, order_by, page_token
        )
        needed = tuple(sorted({prefix for _, prefix, _ in wanted}))
        query = query.with_only_columns(*_run_table_columns(needed), maintain_column_froms=False)
        with read_transaction(self.engine) as conn:
            found = conn.execute(query).all()
        token = encode_page_token(offset + limit) if len(found) > limit else None
        rows = found[:limit]
        fields: list[tuple[Any, ...]] = list(zip(*rows, strict=True)) or [()] * (9 + len(needed))
        decoded: dict[str, list[dict[str, Any]]] = {}
        for i, prefix in enumerate(needed):
            decode = _metrics_decoder.decode if prefix == "metrics" else _json_decoder.decode
            decoded[prefix] = [decode(text) if text else {} for text in fields[9 + i]]
        table: dict[str, list[Any]] = {}
        for name, prefix, key in wanted:
            if prefix == "metrics":
                table[name] = [m[key][0] if key in m else None for m in decoded[prefix]]
            else:
                table[name] = [d.get(key) for d in decoded[prefix]]
        return RunTable(
            run_id=list(fields[0]),
            run_name=list(fields[1]),
            experiment_id=[str(e) for e in fields[2]],
            status=list(fields[3]),
            start_time=list(fields[4]),
            end_time=list(fields[5]),
            user_id=list(fields[6]),
            parent_run_id=list(fields[7]),
            lifecycle_stage=list(fields[8]),
            columns=table,
            next_page_token=token,
        )

    @property
    def nonblocking_writes(self) -> bool:
        """Whether a write under :func:`~cairn.store.db.engine.writes_without_waiting` raises
        instead of waiting for another writer (SQLite; elsewhere writes always wait)."""
        return is_sqlite(self.engine)

    def _run_row(self, conn: Connection, run_id: str, lock: bool = False) -> RunRow:
        validation.validate_run_id(run_id)
        statements = self._write_statements
        query = statements.run_row_for_update if lock else statements.run_row
        row = query.execute(conn, {"run": run_id}).fetchone()
        if row is None:
            raise CairnError.not_found(f"Run '{run_id}' not found.")
        return RunRow(*row)

    def _active_run_row(self, conn: Connection, run_id: str) -> RunRow:
        """The run about to be written, locked until the transaction ends.

        On PostgreSQL (READ COMMITTED) writers of one run must queue here: a statement that
        waits on another writer's row lock later would not see that writer's other rows, and
        the run's summaries would silently miss them. SQLite serialises writers anyway.
        """
        row = self._run_row(conn, run_id, lock=True)
        if row.lifecycle_stage != LifecycleStage.ACTIVE:
            raise CairnError.invalid(f"Run '{run_id}' is deleted; restore it before changing it.")
        return row

    def _load_runs(self, conn: Connection, ids: Sequence[str]) -> list[Run]:
        """Whole runs for ``ids``, in that order, in one query per batch of ids.

        Each run row carries its params, tags and latest metrics as JSON (see
        :func:`refresh_run_summary`), so a thousand runs are a thousand rows to read.
        """
        if not ids:
            return []
        rows = []
        inputs: dict[str, list[DatasetInput]] = {}
        for batch in _batches(ids, _ID_BATCH):
            rows.extend(conn.execute(self._runs_query, {"ids": list(batch)}))
            self._load_inputs(conn, batch, inputs)
        by_id = {row[0]: row for row in rows}
        decode, decode_metrics = _json_decoder.decode, _metrics_decoder.decode
        no_inputs = RunInputs()
        runs = []
        for rid in ids:
            row = by_id.get(rid)
            if row is None:
                continue
            info = RunInfo(rid, str(row[1]), row[2], row[3], row[4], row[5], row[6], row[7], row[8])
            points = decode_metrics(row[11]) if row[11] else {}
            data = RunData(
                {key: value for key, (value, _, _) in points.items()},
                decode(row[9]) if row[9] else {},
                decode(row[10]) if row[10] else {},
                points,
            )
            runs.append(Run(info, data, RunInputs(inputs[rid]) if rid in inputs else no_inputs))
        return runs

    @functools.cached_property
    def _runs_query(self) -> Select:  # type: ignore[type-arg]
        r = t.runs
        return select(
            r.c.run_uuid,
            r.c.experiment_id,
            r.c.name,
            r.c.user_id,
            r.c.status,
            r.c.start_time,
            r.c.end_time,
            r.c.artifact_uri,
            r.c.lifecycle_stage,
            r.c.params_json,
            r.c.tags_json,
            r.c.metrics_json,
        ).where(r.c.run_uuid.in_(bindparam("ids", expanding=True)))

    def _load_inputs(
        self, conn: Connection, run_ids: Sequence[str], out: dict[str, list[DatasetInput]]
    ) -> None:
        i, d, it = t.inputs, t.datasets, t.input_tags
        rows = conn.execute(
            select(
                i.c.run_uuid,
                d.c.dataset_uuid,
                d.c.name,
                d.c.digest,
                d.c.source_type,
                d.c.source,
                d.c.schema,
                d.c.profile,
            )
            .join(d, d.c.dataset_uuid == i.c.dataset_uuid)
            .where(i.c.run_uuid.in_(bindparam("ids", expanding=True)))
            .order_by(i.c.run_uuid, d.c.name),
            {"ids": list(run_ids)},
        ).all()
        if not rows:
            return
        input_tags: dict[tuple[str, str], list[InputTag]] = {}
        for rid, dsid, key, value in conn.execute(
            select(it.c.run_uuid, it.c.dataset_uuid, it.c.key, it.c.value)
            .where(it.c.run_uuid.in_(bindparam("ids", expanding=True)))
            .order_by(it.c.key),
            {"ids": list(run_ids)},
        ):
            input_tags.setdefault((rid, dsid), []).append(InputTag(key, value))
        for rid, dsid, name, digest, source_type, source, schema, profile in rows:
            out.setdefault(rid, []).append(
                DatasetInput(
                    Dataset(name, digest, source_type, source, schema, profile),
                    input_tags.get((rid, dsid), []),
                )
            )

    # ------------------------------------------------------------------ logging

    def log_batch(
        self,
        run_id: str,
        metrics: list[Metric] | None = None,
        params: list[Param] | None = None,
        tags: list[RunTag] | None = None,
    ) -> None:
        """MLflow's log-batch, entity by entity; same rules and one transaction."""
        metric_cols: dict[str, MetricColumns] = {}
        for m in metrics or ():
            key = validation.validate_key(m.key, "metric")
            cols = metric_cols.get(key)
            if cols is None:
                cols = metric_cols[key] = MetricColumns()
            cols.append(
                validation.validate_metric_value(key, m.value),
                validation.validate_timestamp(m.timestamp),
                validation.validate_step(m.step),
            )
        param_map: dict[str, str] = {}
        for p in params or ():
            key, value = validation.validate_param(p.key, p.value)
            if param_map.get(key, value) != value:
                raise CairnError.invalid(
                    f"Param '{key}' appears twice in one batch with different values "
                    f"({param_map[key]!r} and {value!r})."
                )
            param_map[key] = value
        tag_map = dict(validation.validate_tag(tag.key, tag.value) for tag in tags or ())
        model_metrics = [m for m in metrics or () if m.model_id]
        self._write(run_id, metric_cols, param_map, tag_map, model_metrics)

    def log_columns(
        self,
        run_id: str,
        metrics: dict[str, MetricColumns] | None = None,
        params: dict[str, str] | None = None,
        tags: dict[str, str] | None = None,
    ) -> None:
        """The batching logger's write: columns already hold validated numbers."""
        for key in metrics or ():
            validation.validate_key(key, "metric")
        param_map = dict(validation.validate_param(k, v) for k, v in (params or {}).items())
        tag_map = dict(validation.validate_tag(k, v) for k, v in (tags or {}).items())
        self._write(run_id, metrics or {}, param_map, tag_map)

    def log_metric(self, run_id: str, metric: Metric) -> None:
        self.log_batch(run_id, metrics=[metric])

    def log_param(self, run_id: str, param: Param) -> None:
        self.log_batch(run_id, params=[param])

    def set_tag(self, run_id: str, tag: RunTag) -> None:
        self.log_batch(run_id, tags=[tag])

    def delete_tag(self, run_id: str, key: str) -> None:
        with write_transaction(self.engine) as conn:
            self._active_run_row(conn, run_id)
            deleted = conn.execute(
                delete(t.tags).where(t.tags.c.run_uuid == run_id, t.tags.c.key == key)
            ).rowcount
            if not deleted:
                raise CairnError.not_found(f"No tag '{key}' on run '{run_id}'.")
            refresh_run_summary(conn, run_id, tags=True)

    def _write(
        self,
        run_id: str,
        metrics: dict[str, MetricColumns],
        params: dict[str, str],
        tags: dict[str, str],
        model_metrics: Sequence[Metric] = (),
    ) -> None:
        if RUN_NAME_TAG in tags:
            validation.validate_run_name(tags[RUN_NAME_TAG])
        with write_transaction(self.engine) as conn:
            self._active_run_row(conn, run_id)
            if params:
                self._write_params(conn, run_id, params)
            if tags:
                self._write_tags(conn, run_id, tags)
            metrics = {k: c for k, c in metrics.items() if len(c)}
            if metrics:
                self._write_metrics(conn, run_id, metrics)
            if model_metrics:
                self._link_model_metrics(conn, run_id, model_metrics)
            refresh_run_summary(
                conn, run_id, params=bool(params), tags=bool(tags), metrics=bool(metrics)
            )

    def _write_params(self, conn: Connection, run_id: str, params: dict[str, str]) -> None:
        p = t.params
        upsert(
            conn,
            p,
            [{"run_uuid": run_id, "key": k, "value": v} for k, v in params.items()],
            keys=("run_uuid", "key"),
            update=None,
        )
        # Read back after inserting: a concurrent writer's value is visible now too.
        stored = conn.execute(
            select(p.c.key, p.c.value).where(p.c.run_uuid == run_id, p.c.key.in_(list(params)))
        ).all()
        for key, value in stored:
            if value != params[key]:
                raise CairnError.invalid(
                    f"Changing param values is not allowed. Param '{key}' was already logged "
                    f"with value {value!r} for run '{run_id}'; attempted to log "
                    f"{params[key]!r}."
                )

    def _write_tags(self, conn: Connection, run_id: str, tags: dict[str, str]) -> None:
        upsert(
            conn,
            t.tags,
            [{"run_uuid": run_id, "key": k, "value": v} for k, v in tags.items()],
            keys=("run_uuid", "key"),
            update=("value",),
        )
        if RUN_NAME_TAG in tags:
            conn.execute(
                update(t.runs).where(t.runs.c.run_uuid == run_id).values(name=tags[RUN_NAME_TAG])
            )

    def _write_metrics(
        self, conn: Connection, run_id: str, metrics: dict[str, MetricColumns]
    ) -> None:
        """Append each key's points as a chunk, topping up a small tail chunk when cheap.

        Rewriting a tail costs its size again, so only small appends go into small tails
        (history logged point by point still reads back in chunks of hundreds); anything
        larger becomes a chunk of its own. Statements are built once per store.
        """
        statements = self._write_statements
        small = [key for key, cols in metrics.items() if len(cols) < SMALL_CHUNK_POINTS]
        tails = {}
        if small:
            query = statements.last_chunks(len(small))
            params: dict[str, object] = {f"k{i}": key for i, key in enumerate(small)}
            params["run"] = run_id
            tails = {row[1]: row for row in query.execute(conn, params).fetchall()}
        new_chunks: list[dict[str, object]] = []
        merged: list[dict[str, object]] = []
        latest_rows: list[dict[str, object]] = []
        for key, cols in metrics.items():
            steps, stamps, values = pack(cols.steps), pack(cols.timestamps), pack(cols.values)
            n = len(cols)
            tail = tails.get(key)  # (chunk_id, key, n, steps, timestamps, metric_values)
            if tail is not None and tail[2] + n <= SMALL_CHUNK_POINTS:
                merged.append(
                    {
                        "b_chunk_id": tail[0],
                        "b_n": tail[2] + n,
                        "b_steps": bytes(tail[3]) + steps,
                        "b_timestamps": bytes(tail[4]) + stamps,
                        "b_values": bytes(tail[5]) + values,
                    }
                )
            else:
                for start in range(0, n, MAX_CHUNK_POINTS):
                    stop = min(start + MAX_CHUNK_POINTS, n)
                    new_chunks.append(
                        {
                            "run_uuid": run_id,
                            "key": key,
                            "n": stop - start,
                            "steps": steps[start * 8 : stop * 8],
                            "timestamps": stamps[start * 8 : stop * 8],
                            "metric_values": values[start * 8 : stop * 8],
                        }
                    )
            latest_rows.append(_latest_row(run_id, key, cols))
        statements.top_up.executemany(conn, merged)
        statements.insert_chunk.executemany(conn, new_chunks)
        statements.upsert_latest.executemany(conn, latest_rows)

    @functools.cached_property
    def _write_statements(self) -> _WriteStatements:
        return _WriteStatements(self.engine.dialect)

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        return self.get_metric_history_columns(run_id, key).to_metrics()

    def get_metric_history_columns(self, run_id: str, key: str) -> MetricHistory:
        """The whole history as numpy columns, ordered by timestamp then step; long ones are
        kept in memory for the next read while their chunks stay unchanged
        (:mod:`~cairn.store.tracking.history_cache`)."""
        import numpy as np

        mc = t.metric_chunks
        where = (mc.c.run_uuid == run_id, mc.c.key == key)
        with read_transaction(self.engine) as conn:
            self._run_row(conn, run_id)
            if self._history_cache.holds(run_id, key):
                count, newest, points = conn.execute(
                    select(func.count(), func.max(mc.c.chunk_id), func.sum(mc.c.n)).where(*where)
                ).one()
                version = (count, newest or 0, int(points or 0))
                cached = self._history_cache.get(run_id, key, version)
                if cached is not None:
                    return cached
            chunks = conn.execute(
                select(mc.c.chunk_id, mc.c.n, mc.c.steps, mc.c.timestamps, mc.c.metric_values)
                .where(*where)
                .order_by(mc.c.chunk_id)
            ).all()
        steps = np.frombuffer(b"".join(c[2] for c in chunks), dtype="<i8")
        stamps = np.frombuffer(b"".join(c[3] for c in chunks), dtype="<i8")
        values = np.frombuffer(b"".join(c[4] for c in chunks), dtype="<f8")
        if len(steps) > 1:
            dt = np.diff(stamps)
            if not bool(np.all((dt > 0) | ((dt == 0) & (np.diff(steps) >= 0)))):
                order = np.lexsort((steps, stamps))
                steps, stamps, values = steps[order], stamps[order], values[order]
        history = MetricHistory(key=key, steps=steps, timestamps=stamps, values=values)
        if chunks:
            version = (len(chunks), chunks[-1][0], sum(c[1] for c in chunks))
            self._history_cache.put(run_id, key, version, history)
        return history

    @functools.cached_property
    def _history_cache(self) -> HistoryCache:
        return HistoryCache()

    def log_inputs(self, run_id: str, datasets: list[DatasetInput]) -> None:
        for di in datasets:
            _validate_dataset_input(di)
        with write_transaction(self.engine) as conn:
            run = self._active_run_row(conn, run_id)
            d = t.datasets
            for di in datasets:
                ds = di.dataset
                dataset_uuid = conn.execute(
                    select(d.c.dataset_uuid).where(
                        d.c.experiment_id == run.experiment_id,
                        d.c.name == ds.name,
                        d.c.digest == ds.digest,
                    )
                ).scalar()
                if dataset_uuid is None:
                    dataset_uuid = uuid.uuid4().hex
                    conn.execute(
                        insert(d).values(
                            dataset_uuid=dataset_uuid,
                            experiment_id=run.experiment_id,
                            name=ds.name,
                            digest=ds.digest,
                            source_type=ds.source_type,
                            source=ds.source,
                            schema=ds.schema,
                            profile=ds.profile,
                        )
                    )
                upsert(
                    conn,
                    t.inputs,
                    [{"run_uuid": run_id, "dataset_uuid": dataset_uuid}],
                    keys=("run_uuid", "dataset_uuid"),
                    update=None,
                )
                upsert(
                    conn,
                    t.input_tags,
                    [
                        {
                            "run_uuid": run_id,
                            "dataset_uuid": dataset_uuid,
                            "key": tag.key,
                            "value": tag.value,
                        }
                        for tag in di.tags
                    ],
                    keys=("run_uuid", "dataset_uuid", "key"),
                    update=("value",),
                )

    # ------------------------------------------------------------------ housekeeping

    def purge_deleted_runs(
        self, older_than_ms: int, run_ids: list[str] | None = None, dry_run: bool = False
    ) -> list[Run]:
        """Remove runs deleted at least ``older_than_ms`` ago; returns them (``dry_run``: only
        returns them) so the caller can remove their artifacts too."""
        r = t.runs
        query = select(r.c.run_uuid).where(_purgeable_run(now_ms() - older_than_ms))
        if run_ids is not None:
            query = query.where(r.c.run_uuid.in_(run_ids))
        with write_transaction(self.engine) as conn:
            ids = list(conn.execute(query).scalars())
            purged = self._load_runs(conn, ids)
            if not dry_run:
                for batch in _batches(ids, _ID_BATCH):
                    conn.execute(delete(r).where(r.c.run_uuid.in_(batch)))
        return purged

    def purge_deleted_experiments(
        self, older_than_ms: int, dry_run: bool = False
    ) -> list[Experiment]:
        """Remove experiments deleted at least ``older_than_ms`` ago, with their runs, when every
        run in them is purgeable too (a run restored inside keeps its experiment)."""
        cutoff = now_ms() - older_than_ms
        e, r = t.experiments, t.runs
        keeps = (
            select(r.c.run_uuid)
            .where(r.c.experiment_id == e.c.experiment_id, ~_purgeable_run(cutoff))
            .exists()
        )
        query = select(e.c.experiment_id).where(
            e.c.lifecycle_stage == LifecycleStage.DELETED, e.c.deleted_time <= cutoff, ~keeps
        )
        with write_transaction(self.engine) as conn:
            ids = list(conn.execute(query).scalars())
            purged = self._load_experiments(conn, ids)
            if ids and not dry_run:
                conn.execute(delete(e).where(e.c.experiment_id.in_(ids)))
        return purged


def _run_search_query(
    experiment_ids: Sequence[str],
    filter_string: str | None,
    run_view_type: str,
    max_results: int,
    order_by: list[str] | None,
    page_token: str | None,
) -> tuple[Select[Any], int, int]:
    """A run search's checked arguments as the SELECT of one page of ids (one row more than
    the page, to tell whether another follows), its offset and its page size."""
    from cairn.search.paging import decode_page_token
    from cairn.search.runs import select_run_ids

    if isinstance(experiment_ids, str):
        experiment_ids = [experiment_ids]
    experiment_ids = [validation.validate_experiment_id(e) for e in experiment_ids]
    stages = ViewType.stages(ViewType.validate(run_view_type))
    limit = validation.validate_max_results(max_results, validation.MAX_RESULTS_SEARCH_RUNS)
    offset = decode_page_token(page_token)
    query = select_run_ids(
        experiment_ids=experiment_ids,
        stages=stages,
        filter_string=filter_string,
        order_by=order_by,
        offset=offset,
        limit=limit + 1,
    )
    return query, offset, limit


def _run_table_columns(summaries: tuple[str, ...]) -> list[ColumnElement[Any]]:
    """What a run table shows of a run: its attributes, the parent run tag and the
    ``metrics``/``params``/``tags`` summary columns named in ``summaries``."""
    r, tg = t.runs, t.tags
    parent = (
        select(tg.c.value)
        .where(tg.c.run_uuid == r.c.run_uuid, tg.c.key == PARENT_RUN_TAG)
        .scalar_subquery()
    )
    json_columns = {"metrics": r.c.metrics_json, "params": r.c.params_json, "tags": r.c.tags_json}
    return [
        r.c.run_uuid,
        r.c.name,
        r.c.experiment_id,
        r.c.status,
        r.c.start_time,
        r.c.end_time,
        r.c.user_id,
        parent,
        r.c.lifecycle_stage,
        *(json_columns[name] for name in summaries),
    ]


def parse_run_table_columns(columns: Sequence[str]) -> list[tuple[str, str, str]]:
    """``(name, prefix, key)`` of each distinct column name (``"params.lr"``: the prefix up to
    the first dot, the key after it, so keys may hold dots); a bad name is INVALID_PARAMETER."""
    if isinstance(columns, str):
        columns = [columns]
    parsed = []
    for name in dict.fromkeys(columns):
        prefix, dot, key = name.partition(".") if isinstance(name, str) else ("", "", "")
        if not dot or not key or prefix not in RUN_TABLE_PREFIXES:
            raise CairnError.invalid(
                f"Invalid column {name!r}: expected metrics.<key>, params.<key> or tags.<key>."
            )
        parsed.append((name, prefix, key))
    return parsed


def _purgeable_run(cutoff: int) -> ColumnElement[bool]:
    return and_(t.runs.c.lifecycle_stage == LifecycleStage.DELETED, t.runs.c.deleted_time <= cutoff)


class RunRow(NamedTuple):
    run_uuid: str
    lifecycle_stage: str
    experiment_id: Any


class _WriteStatements:
    """The write path's statements, compiled once per store for its dialect and run on the
    driver's cursor (:mod:`cairn.store.db.driver`): building and dispatching them through
    SQLAlchemy cost more than running them."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        r, mc, lm = t.runs, t.metric_chunks, t.latest_metrics
        run_row = select(r.c.run_uuid, r.c.lifecycle_stage, r.c.experiment_id).where(
            r.c.run_uuid == bindparam("run")
        )
        self.run_row = DriverStatement(run_row, dialect)
        # On PostgreSQL writers of a run queue on its row; SQLite's BEGIN IMMEDIATE
        # already serialises writers (and has no FOR UPDATE).
        self.run_row_for_update = DriverStatement(run_row.with_for_update(), dialect)
        self.top_up = DriverStatement(
            update(mc)
            .where(mc.c.chunk_id == bindparam("b_chunk_id"))
            .values(
                n=bindparam("b_n"),
                steps=bindparam("b_steps"),
                timestamps=bindparam("b_timestamps"),
                metric_values=bindparam("b_values"),
            ),
            dialect,
        )
        chunk_columns = ("run_uuid", "key", "n", "steps", "timestamps", "metric_values")
        self.insert_chunk = DriverStatement(
            insert(mc).values({name: bindparam(name) for name in chunk_columns}), dialect
        )
        latest_columns = ("run_uuid", "key", "value", "is_nan", "value_text", "step", "timestamp")
        upsert_latest = dialect_insert(dialect.name, lm).values(
            {name: bindparam(name) for name in latest_columns}
        )
        new = upsert_latest.excluded
        self.upsert_latest = DriverStatement(
            upsert_latest.on_conflict_do_update(
                index_elements=["run_uuid", "key"],
                set_={name: new[name] for name in latest_columns[2:]},
                # The latest point is the highest step, then the latest timestamp.
                where=or_(
                    new.step > lm.c.step,
                    and_(new.step == lm.c.step, new.timestamp >= lm.c.timestamp),
                ),
            ),
            dialect,
        )
        self._last_chunks: dict[int, DriverStatement] = {}

    def last_chunks(self, n_keys: int) -> DriverStatement:
        """The newest chunk of each of ``n_keys`` keys (params run, k0, k1, ...) of a run,
        locked on PostgreSQL so concurrent writers top up in turn."""
        statement = self._last_chunks.get(n_keys)
        if statement is None:
            mc = t.metric_chunks
            keys = [bindparam(f"k{i}") for i in range(n_keys)]
            last_ids = (
                select(func.max(mc.c.chunk_id))
                .where(mc.c.run_uuid == bindparam("run"), mc.c.key.in_(keys))
                .group_by(mc.c.key)
            )
            query = select(
                mc.c.chunk_id, mc.c.key, mc.c.n, mc.c.steps, mc.c.timestamps, mc.c.metric_values
            ).where(mc.c.chunk_id.in_(last_ids))
            if self.dialect.name == "postgresql":
                query = query.with_for_update()
            statement = self._last_chunks[n_keys] = DriverStatement(query, self.dialect)
        return statement


def _keys_by_loose_index_scan(table: Table, run_filter: tuple[Any, ...]) -> Select[Any]:
    """The distinct keys of ``table`` (walked along its key index, one seek each) that a run
    matching ``run_filter`` has."""
    r = t.runs
    walk = select(func.min(table.c.key).label("key")).cte("key_walk", recursive=True)
    following = select(func.min(table.c.key)).where(table.c.key > walk.c.key).scalar_subquery()
    walk = walk.union_all(select(following).where(walk.c.key.is_not(None)))
    row = table.alias("row")
    used = (
        select(literal_column("1"))
        .select_from(row.join(r, r.c.run_uuid == row.c.run_uuid))
        .where(row.c.key == walk.c.key, *run_filter)
        .exists()
    )
    return select(walk.c.key).where(walk.c.key.is_not(None), used).order_by(walk.c.key)


def refresh_run_summary(
    conn: Connection,
    run_id: str,
    *,
    params: bool = False,
    tags: bool = False,
    metrics: bool = False,
) -> None:
    """Recompute the run's JSON summaries from the params/tags/latest_metrics rows.

    Every write of those tables calls this in the same transaction, so the summaries can never
    disagree with the rows they are derived from. The aggregation runs inside the database.
    """
    if params or tags or metrics:
        statement = _summary_statement(conn.dialect, params, tags, metrics)
        statement.execute(conn, {"run": run_id})


@functools.cache
def _summary_statement(
    dialect: Dialect, params: bool, tags: bool, metrics: bool
) -> DriverStatement:
    r, lm = t.runs, t.latest_metrics
    postgres = dialect.name == "postgresql"

    def summary(table: Table, value: ColumnElement[Any]) -> ColumnElement[Any]:
        agg = (
            cast(func.json_object_agg(table.c.key, value), Text)
            if postgres
            else func.json_group_object(table.c.key, value)
        )
        return select(agg).where(table.c.run_uuid == r.c.run_uuid).scalar_subquery()

    values: dict[str, ColumnElement[Any]] = {}
    if params:
        values["params_json"] = summary(t.params, t.params.c.value)
    if tags:
        values["tags_json"] = summary(t.tags, t.tags.c.value)
    if metrics:
        # [value, step, timestamp] per key, the value as the exact text stored beside it.
        array = func.json_build_array if postgres else func.json_array
        values["metrics_json"] = summary(lm, array(lm.c.value_text, lm.c.step, lm.c.timestamp))
    return DriverStatement(
        update(r).where(r.c.run_uuid == bindparam("run")).values(**values), dialect
    )


def _experiment_exists(name: str) -> CairnError:
    return CairnError.exists(f"Experiment '{name}' already exists.")


def _batches(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _latest_row(run_id: str, key: str, cols: MetricColumns) -> dict[str, object]:
    """The point that becomes the run's latest value: highest step, then latest timestamp."""
    steps, stamps = cols.steps, cols.timestamps
    best = 0
    best_step, best_ts = steps[0], stamps[0]
    if len(steps) > 1:
        if steps[-1] >= best_step and steps[-1] == max(steps):
            # The common case (steps never go down): scan only the tail of equal max steps.
            best_step = steps[-1]
            best = len(steps) - 1
            best_ts = stamps[best]
            i = best - 1
            while i >= 0 and steps[i] == best_step:
                if stamps[i] > best_ts:
                    best, best_ts = i, stamps[i]
                i -= 1
        else:
            for i in range(1, len(steps)):
                if steps[i] > best_step or (steps[i] == best_step and stamps[i] >= best_ts):
                    best, best_step, best_ts = i, steps[i], stamps[i]
    value = cols.values[best]
    is_nan = value != value
    return {
        "run_uuid": run_id,
        "key": key,
        "value": None if is_nan else value,
        "is_nan": is_nan,
        "value_text": exact_text(value),
        "step": best_step,
        "timestamp": best_ts,
    }


def exact_text(value: float) -> str:
    """The shortest decimal text that reads back exactly as ``value`` (protobuf JSON spelling)."""
    if value != value:
        return "NaN"
    if value in (math.inf, -math.inf):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(value)


def _validate_dataset_input(di: DatasetInput) -> None:
    ds = di.dataset
    limits = (
        ("name", ds.name, validation.MAX_DATASET_NAME_LENGTH),
        ("digest", ds.digest, validation.MAX_DATASET_DIGEST_LENGTH),
        ("source", ds.source, validation.MAX_DATASET_SOURCE_LENGTH),
        ("schema", ds.schema, validation.MAX_DATASET_SCHEMA_LENGTH),
        ("profile", ds.profile, validation.MAX_DATASET_PROFILE_LENGTH),
    )
    for field, value, limit in limits:
        if field in ("name", "digest") and not value:
            raise CairnError.invalid(f"A dataset needs a non-empty {field}.")
        if value is not None and len(value) > limit:
            raise CairnError.invalid(
                f"Dataset {field} is {len(value)} characters long; the limit is {limit}."
            )
    if not ds.source_type:
        raise CairnError.invalid("A dataset needs a source_type.")
    for tag in di.tags:
        validation.validate_key(tag.key, "input tag")

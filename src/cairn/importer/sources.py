"""Where an import reads from: an MLflow tracking database, or an MLflow tracking server.

Both sources hand the importer the same plain records, so the writer never knows which one it
reads. Metric histories are fetched separately and only for the keys the destination lacks:
re-importing an unchanged store then reads no history at all from a database source.

The database source reads MLflow's own tables through SQLAlchemy reflection, read-only; it
depends only on the columns it uses, so stores written by older MLflow versions import too.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from cairn.entities import Dataset, DatasetInput, InputTag, LifecycleStage, RunStatus
from cairn.errors import CairnError
from cairn.importer.registry import (
    SourceRegisteredModel,
    read_server_registry,
    read_sql_registry,
)
from cairn.store.tracking.columns import MetricColumns

REQUIRED_TABLES = ("experiments", "experiment_tags", "runs", "metrics", "params", "tags")
DATASET_TABLES = ("datasets", "inputs", "input_tags")
# MLflow data the importer does not copy yet, reported so nobody believes it was copied.
NOT_IMPORTED = {
    "logged_models": "logged model",
    "trace_info": "trace",
}
DEFAULT_WORKSPACE = "default"
_ID_BATCH = 500
_PAGE = 1000


@dataclass(frozen=True)
class SourceExperiment:
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str
    creation_time: int | None
    last_update_time: int | None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceRun:
    """A run without its metric histories (see :meth:`Source.metric_histories`).

    ``metric_counts`` is the number of points per key when the source can count cheaply (a
    database); None when it cannot (a server), and then ``metric_keys`` names the keys.
    """

    run_id: str
    experiment_id: str
    name: str
    user_id: str
    status: str
    start_time: int | None
    end_time: int | None
    lifecycle_stage: str
    deleted_time: int | None
    artifact_uri: str
    params: dict[str, str]
    tags: dict[str, str]
    inputs: list[DatasetInput]
    metric_keys: list[str]
    metric_counts: dict[str, int] | None = None


class Source(Protocol):
    uri: str

    def experiments(self) -> list[SourceExperiment]: ...

    def count_runs(self, experiment_ids: Sequence[str]) -> int: ...

    def runs(self, experiment_id: str) -> Iterator[SourceRun]: ...

    def metric_histories(
        self, run: SourceRun, keys: Collection[str]
    ) -> dict[str, MetricColumns]: ...

    def artifact_tracking_uri(self) -> str | None:
        """The server that resolves ``mlflow-artifacts:`` URIs for this source, if any."""
        ...

    def registered_models(self) -> tuple[list[SourceRegisteredModel], int]:
        """The model registry (deleted versions left out), and how many prompts it holds."""
        ...

    def run_artifact_uris(self, run_ids: Collection[str]) -> dict[str, str]:
        """The artifact roots of these runs (those the source has)."""
        ...

    def notes(self) -> list[str]:
        """What the source holds that the import does not copy."""
        ...

    def close(self) -> None: ...


def open_source(uri: str) -> Source:
    """The source behind ``uri``; every bad input fails here, before anything is written."""
    scheme = urlparse(uri).scheme.split("+", 1)[0].lower()
    if scheme in ("sqlite", "postgresql", "postgres", "mysql", "mssql"):
        return MlflowSqlSource(uri)
    if scheme in ("http", "https"):
        return MlflowServerSource(uri)
    if scheme in ("", "file"):
        path = Path(urlparse(uri).path if scheme == "file" else uri)
        if path.is_dir():
            raise CairnError.invalid(
                f"{uri!r} is a directory: MLflow file stores (mlruns) cannot be imported yet. "
                "Import from MLflow's database (sqlite:///mlflow.db) or its server (http://...)."
            )
        if scheme == "" and path.is_file():
            return MlflowSqlSource(f"sqlite:///{path.resolve()}")
    raise CairnError.invalid(
        f"Cannot import from {uri!r}: use an MLflow tracking database (sqlite:///mlflow.db, "
        "postgresql://..., mysql://...) or an MLflow tracking server (http(s)://host:port)."
    )


# ----------------------------------------------------------------------------- database


class MlflowSqlSource:
    """An MLflow tracking database, read through reflection and never written."""

    def __init__(self, uri: str) -> None:
        from sqlalchemy import MetaData, create_engine, inspect
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError, SQLAlchemyError

        self.uri = redact(uri)
        try:
            url = make_url(uri)
        except ArgumentError:
            raise CairnError.invalid(f"Not a database URI: {uri!r}.") from None
        options: dict[str, Any] = {}
        if url.get_backend_name() == "sqlite":
            if not url.database or url.database == ":memory:":
                raise CairnError.invalid(f"{uri!r} names no SQLite file to import from.")
            path = Path(url.database).expanduser()
            if not path.is_file():
                raise CairnError.not_found(f"No MLflow database at {path}: the file is missing.")
            # Read-only at the driver: the import can never change (or create) the source.
            url = url.set(database=path.resolve().as_uri(), query={"mode": "ro", "uri": "true"})
        elif url.get_backend_name() == "postgresql":
            if url.drivername in ("postgresql", "postgres"):
                url = url.set(drivername="postgresql+psycopg")
            options["connect_args"] = {"options": "-c default_transaction_read_only=on"}
        try:
            self.engine = create_engine(url, **options)
            with self.engine.connect() as conn:
                present = set(inspect(conn).get_table_names())
                missing = [name for name in REQUIRED_TABLES if name not in present]
                if missing:
                    raise CairnError.invalid(_not_mlflow(self.uri, present, missing))
                wanted = [*REQUIRED_TABLES, *(n for n in DATASET_TABLES if n in present)]
                self.meta = MetaData()
                self.meta.reflect(bind=conn, only=wanted)
                self._notes = self._count_not_imported(conn, present)
        except ModuleNotFoundError as exc:
            raise CairnError.invalid(
                f"Reading {self.uri!r} needs the {exc.name!r} database driver: pip install it."
            ) from None
        except SQLAlchemyError as exc:
            raise CairnError.invalid(
                f"Cannot read the MLflow database {self.uri!r}: {_db_error(exc)}"
            ) from None
        self.tables = self.meta.tables
        self.has_datasets = all(n in self.tables for n in DATASET_TABLES)

    def close(self) -> None:
        self.engine.dispose()

    def artifact_tracking_uri(self) -> str | None:
        return None

    def run_artifact_uris(self, run_ids: Collection[str]) -> dict[str, str]:
        from sqlalchemy import select

        r = self.tables["runs"]
        ids = list(run_ids)
        out: dict[str, str] = {}
        with self._connect() as conn:
            for start in range(0, len(ids), _ID_BATCH):
                query = select(r.c.run_uuid, r.c.artifact_uri).where(
                    r.c.run_uuid.in_(ids[start : start + _ID_BATCH])
                )
                out.update((rid, uri) for rid, uri in conn.execute(query) if uri)
        return out

    def registered_models(self) -> tuple[list[SourceRegisteredModel], int]:
        from sqlalchemy.exc import SQLAlchemyError

        try:
            return read_sql_registry(self.engine)
        except SQLAlchemyError as exc:
            raise CairnError(
                f"Cannot read the MLflow registry in {self.uri!r}: {_db_error(exc)}"
            ) from None

    def notes(self) -> list[str]:
        return list(self._notes)

    def _count_not_imported(self, conn: Any, present: set[str]) -> list[str]:
        from sqlalchemy import func, select, table

        notes = []
        for name, noun in NOT_IMPORTED.items():
            if name in present:
                count = conn.execute(select(func.count()).select_from(table(name))).scalar_one()
                if count:
                    notes.append(f"{count} {noun}{'s' if count != 1 else ''}")
        e = self._experiments_table()
        if "workspace" in e.c:
            others = conn.execute(
                select(func.count()).where(e.c.workspace != DEFAULT_WORKSPACE)
            ).scalar_one()
            if others:
                notes.append(f"{others} experiment(s) outside the {DEFAULT_WORKSPACE!r} workspace")
        return notes

    def _experiments_table(self) -> Any:
        return self.meta.tables["experiments"]

    @contextlib.contextmanager
    def _connect(self) -> Iterator[Any]:
        """A connection whose database errors (locked, gone) read as one-line CairnErrors."""
        from sqlalchemy.exc import SQLAlchemyError

        try:
            with self.engine.connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise CairnError(
                f"Cannot read the MLflow database {self.uri!r}: {_db_error(exc)}"
            ) from None

    def experiments(self) -> list[SourceExperiment]:
        from sqlalchemy import select

        e, et = self._experiments_table(), self.tables["experiment_tags"]
        query = select(e).order_by(e.c.experiment_id)
        if "workspace" in e.c:
            query = query.where(e.c.workspace == DEFAULT_WORKSPACE)
        with self._connect() as conn:
            rows = conn.execute(query).mappings().all()
            tags: dict[str, dict[str, str]] = {}
            for eid, key, value in conn.execute(select(et.c.experiment_id, et.c.key, et.c.value)):
                tags.setdefault(str(eid), {})[key] = value or ""
        return [
            SourceExperiment(
                experiment_id=str(r["experiment_id"]),
                name=r["name"],
                artifact_location=r.get("artifact_location") or "",
                lifecycle_stage=r.get("lifecycle_stage") or LifecycleStage.ACTIVE,
                creation_time=r.get("creation_time"),
                last_update_time=r.get("last_update_time"),
                tags=tags.get(str(r["experiment_id"]), {}),
            )
            for r in rows
        ]

    def count_runs(self, experiment_ids: Sequence[str]) -> int:
        from sqlalchemy import func, select

        r = self.tables["runs"]
        ids = [int(e) for e in experiment_ids]
        with self._connect() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(r).where(r.c.experiment_id.in_(ids))
                ).scalar_one()
            )

    def runs(self, experiment_id: str) -> Iterator[SourceRun]:
        from sqlalchemy import select

        r = self.tables["runs"]
        with self._connect() as conn:
            rows = (
                conn.execute(
                    select(r)
                    .where(r.c.experiment_id == int(experiment_id))
                    .order_by(r.c.start_time, r.c.run_uuid)
                )
                .mappings()
                .all()
            )
        for start in range(0, len(rows), _ID_BATCH):
            batch = rows[start : start + _ID_BATCH]
            with self._connect() as conn:
                details = self._details(conn, [row["run_uuid"] for row in batch])
            for row in batch:
                yield self._run(row, experiment_id, *(d.get(row["run_uuid"]) for d in details))

    def _run(
        self,
        row: Any,
        experiment_id: str,
        params: dict[str, str] | None,
        tags: dict[str, str] | None,
        counts: dict[str, int] | None,
        inputs: list[DatasetInput] | None,
    ) -> SourceRun:
        tags = tags or {}
        counts = counts or {}
        return SourceRun(
            run_id=row["run_uuid"],
            experiment_id=experiment_id,
            name=row.get("name") or tags.get("mlflow.runName") or "",
            user_id=row.get("user_id") or "",
            status=row.get("status") or RunStatus.FINISHED,
            start_time=row.get("start_time"),
            end_time=row.get("end_time"),
            lifecycle_stage=row.get("lifecycle_stage") or LifecycleStage.ACTIVE,
            deleted_time=row.get("deleted_time"),
            artifact_uri=row.get("artifact_uri") or "",
            params=params or {},
            tags=tags,
            inputs=inputs or [],
            metric_keys=sorted(counts),
            metric_counts=counts,
        )

    def _details(self, conn: Any, run_ids: list[str]) -> tuple[dict[str, Any], ...]:
        """Params, tags, metric counts and inputs of a batch of runs: one query each."""
        from sqlalchemy import func, select

        params: dict[str, dict[str, str]] = {}
        p = self.tables["params"]
        for rid, key, value in conn.execute(
            select(p.c.run_uuid, p.c.key, p.c.value).where(p.c.run_uuid.in_(run_ids))
        ):
            params.setdefault(rid, {})[key] = value
        tags: dict[str, dict[str, str]] = {}
        t = self.tables["tags"]
        for rid, key, value in conn.execute(
            select(t.c.run_uuid, t.c.key, t.c.value).where(t.c.run_uuid.in_(run_ids))
        ):
            tags.setdefault(rid, {})[key] = value or ""
        counts: dict[str, dict[str, int]] = {}
        m = self.tables["metrics"]
        for rid, key, n in conn.execute(
            select(m.c.run_uuid, m.c.key, func.count())
            .where(m.c.run_uuid.in_(run_ids))
            .group_by(m.c.run_uuid, m.c.key)
        ):
            counts.setdefault(rid, {})[key] = int(n)
        inputs = self._inputs(conn, run_ids) if self.has_datasets else {}
        return params, tags, counts, inputs

    def _inputs(self, conn: Any, run_ids: list[str]) -> dict[str, list[DatasetInput]]:
        from sqlalchemy import select

        d, i, it = self.tables["datasets"], self.tables["inputs"], self.tables["input_tags"]
        rows = conn.execute(
            select(
                i.c.destination_id,
                i.c.input_uuid,
                d.c.name,
                d.c.digest,
                d.c.dataset_source_type,
                d.c.dataset_source,
                d.c.dataset_schema,
                d.c.dataset_profile,
            )
            .join(d, d.c.dataset_uuid == i.c.source_id)
            .where(
                i.c.source_type == "DATASET",
                i.c.destination_type == "RUN",
                i.c.destination_id.in_(run_ids),
            )
            .order_by(i.c.destination_id, d.c.name, d.c.digest)
        ).all()
        if not rows:
            return {}
        tags: dict[str, list[InputTag]] = {}
        for input_uuid, name, value in conn.execute(
            select(it.c.input_uuid, it.c.name, it.c.value)
            .where(it.c.input_uuid.in_([row[1] for row in rows]))
            .order_by(it.c.name)
        ):
            tags.setdefault(input_uuid, []).append(InputTag(name, value))
        out: dict[str, list[DatasetInput]] = {}
        for rid, input_uuid, name, digest, source_type, source, schema, profile in rows:
            dataset = Dataset(name, digest, source_type, source, schema, profile)
            out.setdefault(rid, []).append(DatasetInput(dataset, tags.get(input_uuid, [])))
        return out

    def metric_histories(self, run: SourceRun, keys: Collection[str]) -> dict[str, MetricColumns]:
        """The points of ``keys``, each ordered by timestamp then step (MLflow's history order).

        Rows become columns in bulk (numpy), not point by point: this is most of an import's
        work on long histories.
        """
        import numpy as np
        from sqlalchemy import select

        if not keys:
            return {}
        m = self.tables["metrics"]
        query = (
            select(m.c.key, m.c.step, m.c.timestamp, m.c.value, m.c.is_nan)
            .where(m.c.run_uuid == run.run_id)
            .order_by(m.c.key, m.c.timestamp, m.c.step, m.c.value)
        )
        if set(keys) != set(run.metric_keys):
            query = query.where(m.c.key.in_(list(keys)))
        with self._connect() as conn:
            # Straight through the driver's cursor: SQLAlchemy's rows cost as much as the
            # query itself here. Literal binds are rendered (and escaped) by the dialect.
            sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
            cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            try:
                cursor.execute(sql)
                rows = cursor.fetchall()
            finally:
                cursor.close()
        if not rows:
            return {}
        names, steps, stamps, values, nans = zip(*rows, strict=True)
        steps_a = np.array(steps, dtype=np.int64)
        stamps_a = np.array(stamps, dtype=np.int64)
        values_a = np.array(values, dtype=np.float64)
        values_a[np.array(nans, dtype=bool)] = np.nan  # MLflow keeps NaN as 0 + is_nan
        keys_a = np.array(names, dtype=object)
        bounds = [0, *(np.flatnonzero(keys_a[1:] != keys_a[:-1]) + 1).tolist(), len(names)]
        return {
            names[start]: _columns(steps_a, stamps_a, values_a, start, end)
            for start, end in itertools.pairwise(bounds)
        }


def _columns(steps: Any, stamps: Any, values: Any, start: int, end: int) -> MetricColumns:
    cols = MetricColumns()
    cols.steps.frombytes(steps[start:end].tobytes())
    cols.timestamps.frombytes(stamps[start:end].tobytes())
    cols.values.frombytes(values[start:end].tobytes())
    return cols


def _db_error(exc: Exception) -> str:
    """The driver's own one-line message, without SQLAlchemy's statement and links."""
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]


def redact(uri: str) -> str:
    """``uri`` with any password masked, for messages and summaries."""
    parsed = urlparse(uri)
    if not parsed.password:
        return uri
    return parsed._replace(netloc=parsed.netloc.replace(f":{parsed.password}@", ":***@")).geturl()


def _not_mlflow(uri: str, present: set[str], missing: list[str]) -> str:
    if "metric_chunks" in present:
        return f"{uri!r} is a cairn database, not an MLflow one: there is nothing to import."
    if not present:
        return f"{uri!r} is an empty database, not an MLflow tracking database."
    return (
        f"{uri!r} is not an MLflow tracking database: it has no {', '.join(missing)} "
        f"table{'s' if len(missing) > 1 else ''}."
    )


# ----------------------------------------------------------------------------- server


class MlflowServerSource:
    """An MLflow (or cairn) tracking server, through cairn's REST store.

    The REST API cannot count metric points, so every key's history is fetched and the writer
    keeps only the points it lacks. Deleted runs carry no deletion time over REST.
    """

    def __init__(self, uri: str) -> None:
        from cairn.store.tracking.rest import RestTrackingStore

        self.store = RestTrackingStore(uri.rstrip("/"))
        self.server = uri.rstrip("/")
        self.uri = redact(self.server)
        self._runs: dict[str, list[SourceRun]] = {}
        try:
            self._experiments = self._search_experiments()
        except CairnError as exc:
            self.store.close()
            raise CairnError(
                f"Cannot import from the tracking server at {self.uri}: {exc.message}",
                exc.error_code,
            ) from None

    def close(self) -> None:
        self.store.close()

    def artifact_tracking_uri(self) -> str | None:
        return self.server

    def registered_models(self) -> tuple[list[SourceRegisteredModel], int]:
        return read_server_registry(self.server)

    def run_artifact_uris(self, run_ids: Collection[str]) -> dict[str, str]:
        out = {}
        for run_id in run_ids:
            try:
                out[run_id] = self.store.get_run(run_id).info.artifact_uri
            except CairnError:
                continue  # a run the server no longer has
        return out

    def _search_experiments(self) -> list[SourceExperiment]:
        out: list[SourceExperiment] = []
        token: str | None = None
        while True:
            page = self.store.search_experiments("ALL", max_results=_PAGE, page_token=token)
            out.extend(
                SourceExperiment(
                    experiment_id=e.experiment_id,
                    name=e.name,
                    artifact_location=e.artifact_location,
                    lifecycle_stage=e.lifecycle_stage,
                    creation_time=e.creation_time,
                    last_update_time=e.last_update_time,
                    tags=dict(e.tags),
                )
                for e in page
            )
            token = page.token
            if not token or not page:
                break
        out.sort(key=lambda e: int(e.experiment_id) if e.experiment_id.isdigit() else 0)
        return out

    def experiments(self) -> list[SourceExperiment]:
        return list(self._experiments)

    def _list_runs(self, experiment_id: str) -> list[SourceRun]:
        runs = self._runs.get(experiment_id)
        if runs is not None:
            return runs
        runs = []
        token: str | None = None
        while True:
            page = self.store.search_runs(
                [experiment_id], run_view_type="ALL", max_results=_PAGE, page_token=token
            )
            for run in page:
                info, data = run.info, run.data
                runs.append(
                    SourceRun(
                        run_id=info.run_id,
                        experiment_id=experiment_id,
                        name=info.run_name or data.tags.get("mlflow.runName", ""),
                        user_id=info.user_id or "",
                        status=info.status,
                        start_time=info.start_time,
                        end_time=info.end_time,
                        lifecycle_stage=info.lifecycle_stage,
                        deleted_time=None,
                        artifact_uri=info.artifact_uri,
                        params=dict(data.params),
                        tags=dict(data.tags),
                        inputs=list(run.inputs.dataset_inputs),
                        metric_keys=sorted(data.metrics),
                    )
                )
            token = page.token
            if not token or not page:
                break
        runs.sort(key=lambda r: (r.start_time or 0, r.run_id))
        self._runs[experiment_id] = runs
        return runs

    def count_runs(self, experiment_ids: Sequence[str]) -> int:
        return sum(len(self._list_runs(e)) for e in experiment_ids)

    def runs(self, experiment_id: str) -> Iterator[SourceRun]:
        yield from self._list_runs(experiment_id)
        self._runs.pop(experiment_id, None)

    def metric_histories(self, run: SourceRun, keys: Collection[str]) -> dict[str, MetricColumns]:
        import numpy as np

        out = {}
        for key in keys:
            history = self.store.get_metric_history_columns(run.run_id, key)
            order = np.lexsort((history.steps, history.timestamps))
            out[key] = _columns(
                history.steps[order].astype(np.int64),
                history.timestamps[order].astype(np.int64),
                history.values[order].astype(np.float64),
                0,
                len(order),
            )
        return out

    def notes(self) -> list[str]:
        count = self._count_logged_models()
        return [f"{count} logged model{'s' if count != 1 else ''}"] if count else []

    def _count_logged_models(self) -> int:
        ids = [e.experiment_id for e in self._experiments]
        count, token = 0, None
        try:
            for start in range(0, len(ids), 100):
                while True:
                    page = self.store.search_logged_models(
                        ids[start : start + 100], max_results=100, page_token=token
                    )
                    count += len(page)
                    token = page.token
                    if not token or not page:
                        break
        except CairnError:
            pass  # a server without logged models has none to note
        return count


def local_sqlite_path(uri: str) -> str | None:
    """The absolute file behind a ``sqlite:///`` URI (to refuse importing a file into itself)."""
    prefix = "sqlite:///"
    if not uri.startswith(prefix):
        return None
    path = uri[len(prefix) :].split("?", 1)[0]
    return os.path.realpath(path) if path and path != ":memory:" else None

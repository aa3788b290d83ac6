"""The cairn side of an import: writes imported runs straight into cairn's tables.

The store's API makes new run ids and stamps the current time; an import must keep MLflow's
run ids, names, times and lifecycle stages, so it writes through the store's engine and schema
instead, with the store's own helpers for what must match (chunk layout, latest metrics, run
summaries). Each run is one transaction: it arrives whole or not at all.

Re-importing is safe: a run that exists already only gains what it lacks. Params that exist
keep their value, tags are overwritten, metric points are appended only when missing (a key
with as many points as the source is complete; otherwise the exact points are compared), and
dataset inputs are matched by name and digest. Nothing is ever deleted.
"""

from __future__ import annotations

import posixpath
import tempfile
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, insert, select, text, update

from cairn.clock import now_ms
from cairn.entities import DatasetInput, LifecycleStage
from cairn.importer.sources import SourceExperiment, SourceRun
from cairn.store.artifacts import ArtifactRepository, StreamWritable
from cairn.store.artifacts.paths import join_uri
from cairn.store.db import schema as t
from cairn.store.db.engine import read_transaction, write_transaction
from cairn.store.db.upsert import upsert
from cairn.store.tracking.columns import MetricColumns
from cairn.store.tracking.sql import DEFAULT_EXPERIMENT_ID, SqlTrackingStore, refresh_run_summary

_CANONICAL_NAN = 0x7FF8000000000000


@dataclass
class ExperimentResult:
    """Where a source experiment goes. ``experiment_id`` is None only in a dry run, for an
    experiment the import would create."""

    experiment_id: str | None
    name: str
    created: bool = False
    changed: bool = False


@dataclass
class RunResult:
    run_id: str
    created: bool = False
    info_changed: bool = False
    params: int = 0
    tags: int = 0
    metric_points: int = 0
    inputs: int = 0
    artifact_uri: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.created or bool(
            self.info_changed or self.params or self.tags or self.metric_points or self.inputs
        )


class CairnWriter:
    """Writes source experiments and runs into one cairn SQL store (or, with ``dry_run``,
    only works out what it would write)."""

    def __init__(self, store: SqlTrackingStore, *, dry_run: bool = False) -> None:
        self._store = store
        self.engine = store.engine
        self.artifact_root = store.artifact_root
        self.dry_run = dry_run

    def _transaction(self) -> Any:
        return read_transaction(self.engine) if self.dry_run else write_transaction(self.engine)

    # ------------------------------------------------------------------ experiments

    def import_experiment(self, exp: SourceExperiment) -> ExperimentResult:
        """Match by name (the default experiment by id), else create one, keeping the source
        id when it is free. Tags are merged and the lifecycle stage follows the source."""
        e = t.experiments
        with self._transaction() as conn:
            if exp.experiment_id == DEFAULT_EXPERIMENT_ID:
                row = conn.execute(select(e).where(e.c.experiment_id == 0)).first()
            else:
                row = conn.execute(select(e).where(e.c.name == exp.name)).first()
            if row is None:
                if self.dry_run:
                    return ExperimentResult(None, exp.name, created=True)
                return ExperimentResult(
                    str(self._create_experiment(conn, exp)), exp.name, created=True
                )
            changed = self._merge_experiment_tags(conn, row.experiment_id, exp.tags)
            stage = exp.lifecycle_stage
            if row.experiment_id != 0 and stage != row.lifecycle_stage:
                changed = True
                if not self.dry_run:
                    deleted = exp.last_update_time or now_ms()
                    conn.execute(
                        update(e)
                        .where(e.c.experiment_id == row.experiment_id)
                        .values(
                            lifecycle_stage=stage,
                            deleted_time=deleted if stage == LifecycleStage.DELETED else None,
                            last_update_time=now_ms(),
                        )
                    )
            return ExperimentResult(str(row.experiment_id), row.name, changed=changed)

    def _create_experiment(self, conn: Connection, exp: SourceExperiment) -> int:
        e = t.experiments
        now = now_ms()
        values: dict[str, Any] = {
            "name": exp.name,
            "artifact_location": "",
            "lifecycle_stage": exp.lifecycle_stage,
            "creation_time": exp.creation_time or now,
            "last_update_time": exp.last_update_time or now,
            "deleted_time": (exp.last_update_time or now)
            if exp.lifecycle_stage == LifecycleStage.DELETED
            else None,
        }
        source_id = int(exp.experiment_id) if exp.experiment_id.isdigit() else 0
        taken = conn.execute(select(e.c.experiment_id).where(e.c.experiment_id == source_id))
        if source_id and taken.first() is None:
            conn.execute(insert(e).values(experiment_id=source_id, **values))
            eid = source_id
            if conn.dialect.name == "postgresql":
                # An explicit id leaves the serial sequence behind; later creates would collide.
                conn.execute(
                    text(
                        "SELECT setval(pg_get_serial_sequence('experiments', 'experiment_id'), "
                        "(SELECT MAX(experiment_id) FROM experiments))"
                    )
                )
        else:
            eid = conn.execute(insert(e).values(**values).returning(e.c.experiment_id)).scalar_one()
        conn.execute(
            update(e)
            .where(e.c.experiment_id == eid)
            .values(artifact_location=join_uri(self.artifact_root, str(eid)))
        )
        self._merge_experiment_tags(conn, eid, exp.tags)
        return int(eid)

    def _merge_experiment_tags(self, conn: Connection, eid: int, tags: Mapping[str, str]) -> bool:
        et = t.experiment_tags
        existing = dict(
            conn.execute(select(et.c.key, et.c.value).where(et.c.experiment_id == eid)).all()
        )
        rows = [
            {"experiment_id": eid, "key": k, "value": v}
            for k, v in tags.items()
            if existing.get(k) != v
        ]
        if rows and not self.dry_run:
            upsert(conn, et, rows, keys=("experiment_id", "key"), update=("value",))
        return bool(rows)

    # ------------------------------------------------------------------ runs

    def metric_counts(self, run_id: str) -> dict[str, int]:
        """Points per key cairn holds for the run ({} for a run it does not have)."""
        mc = t.metric_chunks
        with read_transaction(self.engine) as conn:
            rows = conn.execute(
                select(mc.c.key, func.sum(mc.c.n)).where(mc.c.run_uuid == run_id).group_by(mc.c.key)
            ).all()
        return {key: int(n) for key, n in rows}

    def import_run(
        self,
        run: SourceRun,
        experiment_id: str | None,
        histories: Mapping[str, MetricColumns],
    ) -> RunResult:
        """Copy or update one run in one transaction. ``histories`` holds the source points of
        the keys that may be incomplete in cairn; other keys are left alone."""
        result = RunResult(run.run_id)
        with self._transaction() as conn:
            row = conn.execute(
                select(
                    t.runs.c.experiment_id,
                    t.runs.c.name,
                    t.runs.c.user_id,
                    t.runs.c.status,
                    t.runs.c.start_time,
                    t.runs.c.end_time,
                    t.runs.c.lifecycle_stage,
                    t.runs.c.deleted_time,
                    t.runs.c.artifact_uri,
                ).where(t.runs.c.run_uuid == run.run_id)
            ).first()
            if row is None:
                result.created = True
                if experiment_id is not None:
                    result.artifact_uri = self._insert_run(conn, run, int(experiment_id))
                eid = int(experiment_id) if experiment_id is not None else None
            else:
                eid = row.experiment_id
                result.artifact_uri = row.artifact_uri
                if experiment_id is not None and str(eid) != experiment_id:
                    result.warnings.append(
                        f"run {run.run_id} already exists in cairn experiment {eid}; "
                        "updated it there"
                    )
                result.info_changed = self._update_run_info(conn, run, row)
            result.params = self._params(conn, run, result)
            result.tags = self._tags(conn, run)
            new_points = self._new_points(conn, run.run_id, histories)
            result.metric_points = sum(len(c) for c in new_points.values())
            result.inputs = self._inputs(conn, run, eid)
            if not self.dry_run:
                if new_points:
                    # The store's own append: same chunk layout, same "latest point" rule.
                    self._store._write_metrics(conn, run.run_id, new_points)
                refresh_run_summary(
                    conn,
                    run.run_id,
                    params=bool(result.params),
                    tags=bool(result.tags),
                    metrics=bool(new_points),
                )
        return result

    def _run_values(self, run: SourceRun) -> dict[str, Any]:
        deleted = run.lifecycle_stage == LifecycleStage.DELETED
        return {
            "name": run.name,
            "user_id": run.user_id,
            "status": run.status,
            "start_time": run.start_time,
            "end_time": run.end_time,
            "lifecycle_stage": run.lifecycle_stage,
            # A server does not say when a run was deleted: retention then counts from now.
            "deleted_time": (run.deleted_time or now_ms()) if deleted else None,
        }

    def _insert_run(self, conn: Connection, run: SourceRun, eid: int) -> str:
        location = conn.execute(
            select(t.experiments.c.artifact_location).where(t.experiments.c.experiment_id == eid)
        ).scalar_one()
        artifact_uri = join_uri(location, run.run_id, "artifacts")
        if not self.dry_run:
            conn.execute(
                insert(t.runs).values(
                    run_uuid=run.run_id,
                    experiment_id=eid,
                    artifact_uri=artifact_uri,
                    **self._run_values(run),
                )
            )
        return artifact_uri

    def _update_run_info(self, conn: Connection, run: SourceRun, row: Any) -> bool:
        values = self._run_values(run)
        if values["deleted_time"] is not None and run.deleted_time is None and row.deleted_time:
            values["deleted_time"] = row.deleted_time  # keep the time of the first import
        changed = {k: v for k, v in values.items() if getattr(row, k) != v}
        if changed and not self.dry_run:
            conn.execute(update(t.runs).where(t.runs.c.run_uuid == run.run_id).values(**changed))
        return bool(changed)

    def _params(self, conn: Connection, run: SourceRun, result: RunResult) -> int:
        """Params are immutable: new keys are added, a differing value keeps cairn's."""
        p = t.params
        existing = dict(
            conn.execute(select(p.c.key, p.c.value).where(p.c.run_uuid == run.run_id)).all()
        )
        new = []
        for key, value in run.params.items():
            if key not in existing:
                new.append({"run_uuid": run.run_id, "key": key, "value": value})
            elif existing[key] != value:
                result.warnings.append(
                    f"run {run.run_id}: param {key!r} is {existing[key]!r} in cairn and "
                    f"{value!r} in the source; kept cairn's value"
                )
        if new and not self.dry_run:
            upsert(conn, p, new, keys=("run_uuid", "key"), update=None)
        return len(new)

    def _tags(self, conn: Connection, run: SourceRun) -> int:
        tg = t.tags
        existing = dict(
            conn.execute(select(tg.c.key, tg.c.value).where(tg.c.run_uuid == run.run_id)).all()
        )
        rows = [
            {"run_uuid": run.run_id, "key": k, "value": v}
            for k, v in run.tags.items()
            if existing.get(k) != v
        ]
        if rows and not self.dry_run:
            upsert(conn, tg, rows, keys=("run_uuid", "key"), update=("value",))
        return len(rows)

    # ------------------------------------------------------------------ metrics

    def _new_points(
        self, conn: Connection, run_id: str, histories: Mapping[str, MetricColumns]
    ) -> dict[str, MetricColumns]:
        """The source points cairn lacks, per key: all of them for a key it does not have,
        none when it has as many, else those missing from an exact comparison of points."""
        if not histories:
            return {}
        mc = t.metric_chunks
        counts = dict(
            conn.execute(
                select(mc.c.key, func.sum(mc.c.n))
                .where(mc.c.run_uuid == run_id, mc.c.key.in_(list(histories)))
                .group_by(mc.c.key)
            ).all()
        )
        out: dict[str, MetricColumns] = {}
        for key, cols in histories.items():
            have = int(counts.get(key) or 0)
            if not len(cols) or have == len(cols):
                continue
            missing = cols if have == 0 else _missing_points(cols, self._stored(conn, run_id, key))
            if len(missing):
                out[key] = missing
        return out

    def _stored(self, conn: Connection, run_id: str, key: str) -> Counter[tuple[int, int, int]]:
        import numpy as np

        mc = t.metric_chunks
        chunks = conn.execute(
            select(mc.c.steps, mc.c.timestamps, mc.c.metric_values)
            .where(mc.c.run_uuid == run_id, mc.c.key == key)
            .order_by(mc.c.chunk_id)
        ).all()
        steps = np.frombuffer(b"".join(bytes(c[0]) for c in chunks), dtype="<i8")
        stamps = np.frombuffer(b"".join(bytes(c[1]) for c in chunks), dtype="<i8")
        values = np.frombuffer(b"".join(bytes(c[2]) for c in chunks), dtype="<f8")
        return Counter(_point_keys(steps, stamps, values))

    # ------------------------------------------------------------------ datasets

    def _inputs(self, conn: Connection, run: SourceRun, eid: int | None) -> int:
        """Datasets are shared per experiment by name and digest, as the store does; returns
        how many inputs were added or had tags changed."""
        if not run.inputs:
            return 0
        d, i, it = t.datasets, t.inputs, t.input_tags
        known: dict[tuple[str, str], str] = {}
        if eid is not None:
            known = {
                (name, digest): dsid
                for dsid, name, digest in conn.execute(
                    select(d.c.dataset_uuid, d.c.name, d.c.digest).where(
                        d.c.experiment_id == eid,
                        d.c.name.in_({di.dataset.name for di in run.inputs}),
                    )
                )
            }
        linked = set(
            conn.execute(select(i.c.dataset_uuid).where(i.c.run_uuid == run.run_id)).scalars()
        )
        tags: dict[tuple[str, str], str] = {
            (dsid, key): value
            for dsid, key, value in conn.execute(
                select(it.c.dataset_uuid, it.c.key, it.c.value).where(it.c.run_uuid == run.run_id)
            )
        }
        changed = 0
        for di in _unique_inputs(run.inputs):
            ds = di.dataset
            dsid = known.get((ds.name, ds.digest))
            new_tags = [tag for tag in di.tags if tags.get((dsid or "", tag.key)) != tag.value]
            if dsid in linked and not new_tags:
                continue
            changed += 1
            if self.dry_run:
                continue
            if dsid is None:
                dsid = known[(ds.name, ds.digest)] = uuid.uuid4().hex
                conn.execute(
                    insert(d).values(
                        dataset_uuid=dsid,
                        experiment_id=eid,
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
                i,
                [{"run_uuid": run.run_id, "dataset_uuid": dsid}],
                keys=("run_uuid", "dataset_uuid"),
                update=None,
            )
            upsert(
                conn,
                it,
                [
                    {"run_uuid": run.run_id, "dataset_uuid": dsid, "key": g.key, "value": g.value}
                    for g in new_tags
                ],
                keys=("run_uuid", "dataset_uuid", "key"),
                update=("value",),
            )
        return changed


def _unique_inputs(inputs: list[DatasetInput]) -> Iterator[DatasetInput]:
    seen: set[tuple[str, str]] = set()
    for di in inputs:
        ident = (di.dataset.name, di.dataset.digest)
        if ident not in seen:
            seen.add(ident)
            yield di


def _point_keys(steps: Any, stamps: Any, values: Any) -> Iterator[tuple[int, int, int]]:
    """(step, timestamp, value bits) per point; every NaN counts as the same value."""
    import numpy as np

    bits = np.asarray(values, dtype=np.float64).view(np.int64).copy()
    bits[np.isnan(values)] = _CANONICAL_NAN
    return zip(np.asarray(steps).tolist(), np.asarray(stamps).tolist(), bits.tolist(), strict=True)


def _missing_points(cols: MetricColumns, stored: Counter[tuple[int, int, int]]) -> MetricColumns:
    """The points of ``cols`` not in ``stored``, as a multiset: a point logged twice in the
    source and once in cairn is missing once."""
    import numpy as np

    values = np.frombuffer(cols.values, dtype=np.float64)
    missing = MetricColumns()
    for i, point in enumerate(_point_keys(cols.steps, cols.timestamps, values)):
        if stored[point] > 0:
            stored[point] -= 1
        else:
            missing.append(cols.values[i], cols.timestamps[i], cols.steps[i])
    return missing


# ---------------------------------------------------------------------------- artifacts

_COPY_BUFFER = 1024 * 1024


def artifact_sizes(repo: ArtifactRepository, path: str = "") -> dict[str, int | None]:
    """Every file under ``path``, recursively, with its size (None when the store has none)."""
    files: dict[str, int | None] = {}
    for info in repo.list_artifacts(path or None):
        if info.is_dir:
            files.update(artifact_sizes(repo, info.path))
        else:
            files[info.path] = info.file_size
    return files


def missing_artifacts(
    source: ArtifactRepository, destination: ArtifactRepository | None
) -> dict[str, int | None]:
    """Source files the destination lacks, or holds with another size: what a copy must move.

    Comparing listings (no marker files) means a re-import copies nothing, and an artifact
    logged to the source since the last import is copied next time.
    """
    wanted = artifact_sizes(source)
    if not wanted or destination is None:
        return wanted
    have = artifact_sizes(destination)
    return {
        path: size
        for path, size in wanted.items()
        if path not in have or (size is not None and have[path] != size)
    }


def copy_artifacts(
    source: ArtifactRepository, destination: ArtifactRepository, paths: Iterable[str]
) -> None:
    """Stream each file across when the destination takes streams, else via a temp file."""
    for path in paths:
        if isinstance(destination, StreamWritable):
            with source.open_artifact(path) as f:
                destination.write_stream(path, iter(lambda f=f: f.read(_COPY_BUFFER), b""))
            continue
        with tempfile.TemporaryDirectory(prefix="cairn-import-") as tmp:
            local = source.download_artifacts(path, tmp)
            destination.log_artifact(local, posixpath.dirname(path) or None)

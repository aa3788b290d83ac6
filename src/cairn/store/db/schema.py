"""The tracking schema, as SQLAlchemy Core tables.

Metric history is columnar: each row of ``metric_chunks`` packs many points of one run's one
key as little-endian int64 steps, int64 timestamps and float64 values. Writing 10^5 points is a
handful of rows and reading a 10^6-point history is a few hundred blobs, never a million rows.
``latest_metrics`` keeps each run's current value per key for search and run summaries.

The Alembic migrations under ``migrations/`` must build exactly this; a test compares them.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

experiments = Table(
    "experiments",
    metadata,
    Column("experiment_id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(500), nullable=False),
    Column("artifact_location", Text, nullable=False),
    Column("lifecycle_stage", String(32), nullable=False),
    Column("creation_time", BigInteger),
    Column("last_update_time", BigInteger),
    Column("deleted_time", BigInteger),
    UniqueConstraint("name", name="uq_experiments_name"),
)

experiment_tags = Table(
    "experiment_tags",
    metadata,
    Column(
        "experiment_id",
        Integer,
        ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("key", String(250), nullable=False),
    Column("value", Text, nullable=False),
    PrimaryKeyConstraint("experiment_id", "key", name="pk_experiment_tags"),
)

runs = Table(
    "runs",
    metadata,
    Column("run_uuid", String(32), primary_key=True),
    Column("name", String(250), nullable=False),
    Column(
        "experiment_id",
        Integer,
        ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("user_id", String(256), nullable=False),
    Column("status", String(20), nullable=False),
    Column("start_time", BigInteger),
    Column("end_time", BigInteger),
    Column("deleted_time", BigInteger),
    Column("lifecycle_stage", String(20), nullable=False),
    Column("artifact_uri", Text, nullable=False),
    # JSON objects of the run's params, tags and latest metric values (exact decimal text),
    # recomputed by SQL from those tables in every transaction that changes them: reading a
    # thousand runs is then a thousand rows. NULL means none.
    Column("params_json", Text),
    Column("tags_json", Text),
    Column("metrics_json", Text),
    Index("ix_runs_experiment_start", "experiment_id", "start_time"),
)

_run_fk = {"ondelete": "CASCADE"}

params = Table(
    "params",
    metadata,
    Column("run_uuid", String(32), ForeignKey("runs.run_uuid", **_run_fk), nullable=False),
    Column("key", String(250), nullable=False),
    Column("value", Text, nullable=False),
    PrimaryKeyConstraint("run_uuid", "key", name="pk_params"),
    Index("ix_params_key_value", "key", "value"),
    sqlite_with_rowid=False,  # clustered on (run_uuid, key): one B-tree search per lookup
)

tags = Table(
    "tags",
    metadata,
    Column("run_uuid", String(32), ForeignKey("runs.run_uuid", **_run_fk), nullable=False),
    Column("key", String(250), nullable=False),
    Column("value", Text, nullable=False),
    PrimaryKeyConstraint("run_uuid", "key", name="pk_tags"),
    Index("ix_tags_key", "key"),
    sqlite_with_rowid=False,  # clustered on (run_uuid, key): one B-tree search per lookup
)

latest_metrics = Table(
    "latest_metrics",
    metadata,
    Column("run_uuid", String(32), ForeignKey("runs.run_uuid", **_run_fk), nullable=False),
    Column("key", String(250), nullable=False),
    # NULL when the value is NaN (SQLite cannot store NaN); is_nan tells the two apart.
    Column("value", Float(precision=53)),
    Column("is_nan", Boolean, nullable=False),
    # The value's shortest exact decimal text ("NaN", "Infinity" too), for the run summaries:
    # SQLite's own float-to-text conversion is not exact for every double.
    Column("value_text", String(32), nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    PrimaryKeyConstraint("run_uuid", "key", name="pk_latest_metrics"),
    Index("ix_latest_metrics_key_value", "key", "value"),
    sqlite_with_rowid=False,  # clustered on (run_uuid, key): one B-tree search per lookup
)

metric_chunks = Table(
    "metric_chunks",
    metadata,
    Column("chunk_id", Integer, primary_key=True, autoincrement=True),
    Column("run_uuid", String(32), ForeignKey("runs.run_uuid", **_run_fk), nullable=False),
    Column("key", String(250), nullable=False),
    Column("n", Integer, nullable=False),
    Column("steps", LargeBinary, nullable=False),
    Column("timestamps", LargeBinary, nullable=False),
    Column("metric_values", LargeBinary, nullable=False),
    Index("ix_metric_chunks_run_key", "run_uuid", "key", "chunk_id"),
    # Small chunks stay in their row on PostgreSQL (migration 0003 says why).
    postgresql_with={"toast_tuple_target": 8160},
)

datasets = Table(
    "datasets",
    metadata,
    Column("dataset_uuid", String(36), primary_key=True),
    Column(
        "experiment_id",
        Integer,
        ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name", String(500), nullable=False),
    Column("digest", String(36), nullable=False),
    Column("source_type", String(36), nullable=False),
    Column("source", Text, nullable=False),
    Column("schema", Text),
    Column("profile", Text),
    UniqueConstraint("experiment_id", "name", "digest", name="uq_datasets_exp_name_digest"),
)

inputs = Table(
    "inputs",
    metadata,
    Column("run_uuid", String(32), ForeignKey("runs.run_uuid", **_run_fk), nullable=False),
    Column(
        "dataset_uuid",
        String(36),
        ForeignKey("datasets.dataset_uuid", ondelete="CASCADE"),
        nullable=False,
    ),
    PrimaryKeyConstraint("run_uuid", "dataset_uuid", name="pk_inputs"),
    Index("ix_inputs_dataset", "dataset_uuid"),
)

input_tags = Table(
    "input_tags",
    metadata,
    Column("run_uuid", String(32), ForeignKey("runs.run_uuid", **_run_fk), nullable=False),
    Column("dataset_uuid", String(36), nullable=False),
    Column("key", String(255), nullable=False),
    Column("value", String(500), nullable=False),
    PrimaryKeyConstraint("run_uuid", "dataset_uuid", "key", name="pk_input_tags"),
)

# --- MLflow 3 logged models ------------------------------------------------------------------
# A logged model belongs to an experiment, not to a run: ``source_run_id`` records the run that
# produced it without a foreign key, so purging the run leaves the model (as in MLflow).

logged_models = Table(
    "logged_models",
    metadata,
    Column("model_id", String(36), primary_key=True),
    Column(
        "experiment_id",
        Integer,
        ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name", String(500), nullable=False),
    Column("artifact_location", Text, nullable=False),
    Column("creation_timestamp", BigInteger, nullable=False),
    Column("last_updated_timestamp", BigInteger, nullable=False),
    Column("status", String(20), nullable=False),
    Column("status_message", Text),
    Column("lifecycle_stage", String(32), nullable=False),
    Column("model_type", String(500)),
    Column("source_run_id", String(32)),
    Index("ix_logged_models_experiment_created", "experiment_id", "creation_timestamp"),
    Index("ix_logged_models_experiment_name", "experiment_id", "name"),
    Index("ix_logged_models_source_run", "source_run_id"),
)

_model_fk = {"ondelete": "CASCADE"}

logged_model_params = Table(
    "logged_model_params",
    metadata,
    Column(
        "model_id", String(36), ForeignKey("logged_models.model_id", **_model_fk), nullable=False
    ),
    Column("key", String(250), nullable=False),
    Column("value", Text, nullable=False),
    PrimaryKeyConstraint("model_id", "key", name="pk_logged_model_params"),
)

logged_model_tags = Table(
    "logged_model_tags",
    metadata,
    Column(
        "model_id", String(36), ForeignKey("logged_models.model_id", **_model_fk), nullable=False
    ),
    Column("key", String(250), nullable=False),
    Column("value", Text, nullable=False),
    PrimaryKeyConstraint("model_id", "key", name="pk_logged_model_tags"),
)

logged_model_metrics = Table(
    "logged_model_metrics",
    metadata,
    Column(
        "model_id", String(36), ForeignKey("logged_models.model_id", **_model_fk), nullable=False
    ),
    Column("key", String(250), nullable=False),
    # NULL when the value is NaN, as in latest_metrics; is_nan tells the two apart.
    Column("value", Float(precision=53)),
    Column("is_nan", Boolean, nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("run_id", String(32), ForeignKey("runs.run_uuid", **_run_fk), nullable=False),
    Column("dataset_name", String(500)),
    Column("dataset_digest", String(36)),
    PrimaryKeyConstraint(
        "model_id", "key", "timestamp", "step", "run_id", name="pk_logged_model_metrics"
    ),
    Index("ix_logged_model_metrics_run", "run_id"),
)

# MLflow's ``runs/outputs``: which models a run produced, and at which step.
run_outputs = Table(
    "run_outputs",
    metadata,
    Column("run_uuid", String(32), ForeignKey("runs.run_uuid", **_run_fk), nullable=False),
    Column(
        "model_id", String(36), ForeignKey("logged_models.model_id", **_model_fk), nullable=False
    ),
    Column("step", BigInteger, nullable=False),
    PrimaryKeyConstraint("run_uuid", "model_id", "step", name="pk_run_outputs"),
    Index("ix_run_outputs_model", "model_id"),
)

# --- The model registry ----------------------------------------------------------------------
# Registered models are keyed by name; their versions, tags and aliases follow a rename through
# ON UPDATE CASCADE. A version records its run and logged model without foreign keys, so
# purging a run leaves the registry whole (as in MLflow). Version numbers are never reused:
# ``next_version`` only grows.

_registered_fk = {"ondelete": "CASCADE", "onupdate": "CASCADE"}

registered_models = Table(
    "registered_models",
    metadata,
    Column("name", String(256), primary_key=True),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_updated_time", BigInteger, nullable=False),
    Column("description", Text),
    Column("user_id", String(256)),
    Column("next_version", Integer, nullable=False),
)

registered_model_tags = Table(
    "registered_model_tags",
    metadata,
    Column(
        "name",
        String(256),
        ForeignKey("registered_models.name", **_registered_fk),
        nullable=False,
    ),
    Column("key", String(250), nullable=False),
    Column("value", Text, nullable=False),
    PrimaryKeyConstraint("name", "key", name="pk_registered_model_tags"),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column(
        "name",
        String(256),
        ForeignKey("registered_models.name", **_registered_fk),
        nullable=False,
    ),
    Column("version", Integer, nullable=False),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_updated_time", BigInteger, nullable=False),
    Column("description", Text),
    Column("user_id", String(256)),
    Column("current_stage", String(20), nullable=False),
    # What the user registered (runs:/..., models:/m-..., an artifact URI) and where its files
    # are (the artifact location it resolved to, which get-download-uri answers).
    Column("source", Text, nullable=False),
    Column("storage_location", Text),
    Column("run_id", String(32)),
    Column("model_id", String(36)),
    Column("run_link", Text),
    Column("status", String(20), nullable=False),
    Column("status_message", Text),
    PrimaryKeyConstraint("name", "version", name="pk_model_versions"),
    Index("ix_model_versions_run", "run_id"),
    Index("ix_model_versions_model", "model_id"),
)

model_version_tags = Table(
    "model_version_tags",
    metadata,
    Column("name", String(256), nullable=False),
    Column("version", Integer, nullable=False),
    Column("key", String(250), nullable=False),
    Column("value", Text, nullable=False),
    PrimaryKeyConstraint("name", "version", "key", name="pk_model_version_tags"),
    ForeignKeyConstraint(
        ["name", "version"],
        ["model_versions.name", "model_versions.version"],
        name="fk_model_version_tags_version",
        **_registered_fk,
    ),
)

registered_model_aliases = Table(
    "registered_model_aliases",
    metadata,
    Column("name", String(256), nullable=False),
    Column("alias", String(256), nullable=False),
    Column("version", Integer, nullable=False),
    PrimaryKeyConstraint("name", "alias", name="pk_registered_model_aliases"),
    # Deleting a version drops the aliases that pointed at it, as in MLflow.
    ForeignKeyConstraint(
        ["name", "version"],
        ["model_versions.name", "model_versions.version"],
        name="fk_registered_model_aliases_version",
        **_registered_fk,
    ),
)

# The audit trail: one row per change to a registered model or version, written in the
# transaction that made the change. ``name`` follows renames so a model's history stays whole;
# rows outlive the model (deleting a model is itself an event). Also the webhook outbox's source.
registry_events = Table(
    "registry_events",
    metadata,
    Column("event_id", Integer, primary_key=True, autoincrement=True),
    Column("timestamp", BigInteger, nullable=False),
    Column("user_id", String(256), nullable=False),
    Column("event", String(64), nullable=False),  # "model_version_alias.created", ...
    Column("name", String(256), nullable=False),
    Column("version", Integer),
    Column("before_json", Text),  # JSON objects of the changed fields, before and after
    Column("after_json", Text),
    Index("ix_registry_events_name", "name", "event_id"),
)

# --- Webhooks: subscriptions to registry events, and the outbox of their deliveries -----------
# A delivery row is written in the same transaction as the event it reports, so an event is
# never lost and never blocks the call that caused it; a background dispatcher sends it.

webhooks = Table(
    "webhooks",
    metadata,
    Column("webhook_id", String(36), primary_key=True),
    Column("name", String(256), nullable=False),
    Column("url", Text, nullable=False),
    Column("description", Text),
    Column("secret", Text),  # the HMAC key; never returned by the API
    Column("status", String(20), nullable=False),  # ACTIVE, DISABLED
    Column("events_json", Text, nullable=False),  # JSON list of "entity.action" names
    Column("creation_time", BigInteger, nullable=False),
    Column("last_updated_time", BigInteger, nullable=False),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("delivery_id", String(36), primary_key=True),
    Column(
        "webhook_id",
        String(36),
        ForeignKey("webhooks.webhook_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("event", String(64), nullable=False),
    Column("event_id", Integer),  # the registry_events row; NULL for test pings
    Column("payload", Text, nullable=False),  # the JSON body sent
    Column("status", String(20), nullable=False),  # PENDING, SUCCEEDED, FAILED
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_time", BigInteger),  # NULL once finished
    Column("last_attempt_time", BigInteger),
    Column("response_status", Integer),
    Column("error", Text),
    Column("creation_time", BigInteger, nullable=False),
    Index("ix_webhook_deliveries_due", "status", "next_attempt_time"),
    Index("ix_webhook_deliveries_webhook", "webhook_id", "creation_time"),
)

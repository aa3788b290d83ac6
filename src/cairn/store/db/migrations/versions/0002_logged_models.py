"""MLflow 3 logged models: the models, their params, tags and metrics, and run outputs.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _model_id_column() -> sa.Column:
    return sa.Column(
        "model_id",
        sa.String(36),
        sa.ForeignKey("logged_models.model_id", ondelete="CASCADE"),
        nullable=False,
    )


def _run_fk() -> sa.ForeignKey:
    return sa.ForeignKey("runs.run_uuid", ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "logged_models",
        sa.Column("model_id", sa.String(36), primary_key=True),
        sa.Column(
            "experiment_id",
            sa.Integer,
            sa.ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("artifact_location", sa.Text, nullable=False),
        sa.Column("creation_timestamp", sa.BigInteger, nullable=False),
        sa.Column("last_updated_timestamp", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("status_message", sa.Text),
        sa.Column("lifecycle_stage", sa.String(32), nullable=False),
        sa.Column("model_type", sa.String(500)),
        sa.Column("source_run_id", sa.String(32)),
    )
    op.create_index(
        "ix_logged_models_experiment_created",
        "logged_models",
        ["experiment_id", "creation_timestamp"],
    )
    op.create_index("ix_logged_models_experiment_name", "logged_models", ["experiment_id", "name"])
    op.create_index("ix_logged_models_source_run", "logged_models", ["source_run_id"])
    for name in ("params", "tags"):
        op.create_table(
            f"logged_model_{name}",
            _model_id_column(),
            sa.Column("key", sa.String(250), nullable=False),
            sa.Column("value", sa.Text, nullable=False),
            sa.PrimaryKeyConstraint("model_id", "key", name=f"pk_logged_model_{name}"),
        )
    op.create_table(
        "logged_model_metrics",
        _model_id_column(),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("value", sa.Float(precision=53)),
        sa.Column("is_nan", sa.Boolean, nullable=False),
        sa.Column("step", sa.BigInteger, nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("run_id", sa.String(32), _run_fk(), nullable=False),
        sa.Column("dataset_name", sa.String(500)),
        sa.Column("dataset_digest", sa.String(36)),
        sa.PrimaryKeyConstraint(
            "model_id", "key", "timestamp", "step", "run_id", name="pk_logged_model_metrics"
        ),
    )
    op.create_index("ix_logged_model_metrics_run", "logged_model_metrics", ["run_id"])
    op.create_table(
        "run_outputs",
        sa.Column("run_uuid", sa.String(32), _run_fk(), nullable=False),
        _model_id_column(),
        sa.Column("step", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("run_uuid", "model_id", "step", name="pk_run_outputs"),
    )
    op.create_index("ix_run_outputs_model", "run_outputs", ["model_id"])


def downgrade() -> None:
    for name in (
        "run_outputs",
        "logged_model_metrics",
        "logged_model_tags",
        "logged_model_params",
        "logged_models",
    ):
        op.drop_table(name)

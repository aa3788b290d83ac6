"""Metric points, one at a time or a whole history as columns."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


class Metric(msgspec.Struct, frozen=True, gc=False):
    """One point. With ``model_id`` (MLflow 3) it is also recorded as a metric of that logged
    model, measured on the dataset named by ``dataset_name``/``dataset_digest`` if given."""

    key: str
    value: float
    timestamp: int
    step: int = 0
    model_id: str | None = None
    dataset_name: str | None = None
    dataset_digest: str | None = None


class MetricHistory(msgspec.Struct, frozen=True):
    """One metric's history as numpy columns, ordered by timestamp then step.

    The fast way to read long histories: a million points arrive as three arrays, not a
    million objects. ``to_metrics()`` gives the MLflow-style list when that is wanted.
    """

    key: str
    steps: np.ndarray
    timestamps: np.ndarray
    values: np.ndarray

    def __len__(self) -> int:
        return len(self.steps)

    def to_metrics(self) -> list[Metric]:
        key = self.key
        return [
            Metric(key, v, t, s)
            for s, t, v in zip(
                self.steps.tolist(), self.timestamps.tolist(), self.values.tolist(), strict=True
            )
        ]

    def to_pandas(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(
            {"step": self.steps, "timestamp": self.timestamps, "value": self.values}
        )

"""Runs as a pandas DataFrame, with the column names MLflow's ``search_runs`` uses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cairn.entities import Run

if TYPE_CHECKING:
    import pandas as pd


def runs_to_frame(runs: list[Run]) -> pd.DataFrame:
    """One row per run: info columns, then ``metrics.*``, ``params.*``, ``tags.*`` (sorted)."""
    import numpy as np
    import pandas as pd

    infos = [r.info for r in runs]
    columns: dict[str, object] = {
        "run_id": [i.run_id for i in infos],
        "experiment_id": [i.experiment_id for i in infos],
        "status": [i.status for i in infos],
        "artifact_uri": [i.artifact_uri for i in infos],
        "start_time": pd.to_datetime([i.start_time for i in infos], unit="ms", utc=True),
        "end_time": pd.to_datetime([i.end_time for i in infos], unit="ms", utc=True),
    }
    for prefix, field, missing in (
        ("metrics", "metrics", np.nan),
        ("params", "params", None),
        ("tags", "tags", None),
    ):
        dicts = [getattr(r.data, field) for r in runs]
        keys: set[str] = set()
        for d in dicts:
            keys.update(d)
        for key in sorted(keys):
            values = [d.get(key, missing) for d in dicts]
            columns[f"{prefix}.{key}"] = (
                np.array(values, dtype=np.float64) if prefix == "metrics" else values
            )
    return pd.DataFrame(columns)

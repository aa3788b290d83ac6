"""A model's predictions, whatever their shape, as a table: batch output files and Spark
results are both built from it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def predictions_frame(predictions: Any) -> pd.DataFrame:
    """Any prediction (array, Series, DataFrame, list, dict of lists) as a DataFrame."""
    if isinstance(predictions, pd.DataFrame):
        return predictions.reset_index(drop=True)
    if isinstance(predictions, pd.Series):
        return predictions.reset_index(drop=True).to_frame(name=predictions.name or 0)
    if isinstance(predictions, dict):
        return pd.DataFrame({k: list(v) for k, v in predictions.items()})
    if np.isscalar(predictions):
        return pd.DataFrame({0: [predictions]})
    array = np.asarray(predictions) if not isinstance(predictions, list) else None
    if array is not None and array.dtype != object and array.ndim <= 2:
        return pd.DataFrame(array.reshape(len(array), -1))
    values = list(predictions)
    if values and all(isinstance(v, dict) for v in values):
        return pd.DataFrame(values)
    return pd.DataFrame({0: values}) if not _rows_of_scalars(values) else pd.DataFrame(values)


def _rows_of_scalars(values: list[Any]) -> bool:
    """A list of equally long rows of scalars (a 2-D table), rather than one column."""
    if not values or not all(isinstance(v, (list, tuple, np.ndarray)) for v in values):
        return False
    lengths = {len(v) for v in values}
    return len(lengths) == 1 and all(np.isscalar(x) or x is None for v in values for x in v)

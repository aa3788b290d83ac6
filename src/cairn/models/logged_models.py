"""``cairn.get_logged_model`` and ``cairn.search_logged_models``: MLflow 3's logged models in
the current tracking store."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from cairn.errors import CairnError

if TYPE_CHECKING:
    import pandas as pd

    from cairn.entities import LoggedModel

_PAGE = 1000


def get_logged_model(model_id: str) -> LoggedModel:
    from cairn.tracking import fluent

    return fluent._client().store.get_logged_model(model_id)


def _order(order_by: Sequence[str | Mapping[str, Any]] | None) -> list[dict[str, Any]] | None:
    """``"name DESC"`` strings or MLflow's ``{"field_name", "ascending"}`` dicts, as dicts."""
    if not order_by:
        return None
    out = []
    for item in order_by:
        if isinstance(item, Mapping):
            out.append(dict(item))
            continue
        if not isinstance(item, str) or not item.strip():
            raise CairnError.invalid(f"Invalid order_by entry {item!r}.")
        field, _, direction = item.strip().partition(" ")
        direction = direction.strip().upper() or "ASC"
        if direction not in ("ASC", "DESC"):
            raise CairnError.invalid(f"Invalid order_by direction in {item!r}: ASC or DESC.")
        out.append({"field_name": field, "ascending": direction == "ASC"})
    return out


def search_logged_models(
    experiment_ids: Sequence[str] | None = None,
    filter_string: str | None = None,
    datasets: Sequence[Mapping[str, Any]] | None = None,
    max_results: int | None = None,
    order_by: Sequence[str | Mapping[str, Any]] | None = None,
    output_format: str = "pandas",
) -> pd.DataFrame | list[LoggedModel]:
    """Logged models of the experiments (default: the current one), as a DataFrame or a list."""
    from cairn.tracking import fluent

    if output_format not in ("pandas", "list"):
        raise CairnError.invalid(f"Invalid output_format {output_format!r}: 'pandas' or 'list'.")
    store = fluent._client().store
    ids = [str(i) for i in experiment_ids] if experiment_ids else [fluent._current_experiment_id()]
    found: list[LoggedModel] = []
    token = None
    while max_results is None or len(found) < max_results:
        size = _PAGE if max_results is None else min(_PAGE, max_results - len(found))
        page = store.search_logged_models(
            ids, filter_string, _order(order_by), size, token, datasets
        )
        found.extend(page)
        token = page.token
        if not token:
            break
    if output_format == "list":
        return found
    import pandas as pd

    rows = [msgspec.structs.asdict(m) for m in found]
    columns = [f.name for f in msgspec.structs.fields(_logged_model_type())]
    return pd.DataFrame(rows, columns=columns)


def _logged_model_type() -> type:
    from cairn.entities import LoggedModel

    return LoggedModel

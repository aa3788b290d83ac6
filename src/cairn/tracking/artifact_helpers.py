"""Python objects as artifact bytes: text, dicts, figures, images and tables.

Independent of runs: the fluent API calls these, then ``repo.log_bytes``. numpy, pandas,
matplotlib, plotly and Pillow are imported only inside the function that needs them, and
objects are recognized through ``sys.modules`` (an object of a library that was never imported
cannot exist), so importing this module loads none of them.
"""

from __future__ import annotations

import io
import posixpath
import sys

from cairn.errors import CairnError

# Not ``from typing import TYPE_CHECKING``: even typing, json and collections.abc are loaded
# lazily here, so the fluent API pays nothing for this module until an artifact is logged.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    import numpy as np

_MATPLOTLIB_FORMATS = ("png", "jpg", "jpeg", "svg", "pdf")
_PLOTLY_IMAGE_FORMATS = ("png", "jpg", "jpeg", "svg", "pdf", "webp")


def _is_instance(obj: object, module: str, name: str) -> bool:
    """``isinstance`` against a class of a library, without importing the library."""
    cls = getattr(sys.modules.get(module), name, None)
    return cls is not None and isinstance(obj, cls)


def _is_mapping(value: object) -> bool:
    """Anything ``dict()`` would copy as a mapping (duck-typed, so no collections.abc)."""
    return isinstance(value, dict) or (hasattr(value, "keys") and hasattr(value, "__getitem__"))


def _extension(artifact_file: str) -> str:
    return posixpath.splitext(artifact_file)[1].lower().lstrip(".")


def _unsupported(obj: object, what: str) -> CairnError:
    tp = type(obj)
    return CairnError.invalid(
        f"Cannot log an object of type {tp.__module__}.{tp.__qualname__} {what}."
    )


def _plain(value: Any) -> Any:
    """A JSON/YAML-friendly stand-in for a value json cannot encode (numpy, pandas, dates...)."""
    if hasattr(value, "tolist"):  # numpy arrays and scalars, pandas Series and Index
        return value.tolist()
    if _is_instance(value, "pandas", "DataFrame"):
        return value.to_dict(orient="list")
    if hasattr(value, "isoformat"):  # datetime, date, time, pandas Timestamp
        return value.isoformat()
    if _is_mapping(value):
        return dict(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if hasattr(value, "__fspath__"):
        return str(value)
    raise _unsupported(value, "in a dict artifact: it is not JSON/YAML serializable")


def _plain_tree(value: Any) -> Any:
    """``value`` with every container and leaf made plain, for ``yaml.safe_dump``."""
    if value is None or type(value) in (str, int, float, bool):
        return value
    for base in (bool, int, float, str):  # subclasses (np.float64, IntEnum) as the base type
        if isinstance(value, base):
            return base(value)
    if isinstance(value, dict):
        return {_plain_tree(k): _plain_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_tree(v) for v in value]
    return _plain_tree(_plain(value))


def text_bytes(text: str) -> bytes:
    """UTF-8, as MLflow's ``log_text`` writes it."""
    if not isinstance(text, str):
        raise _unsupported(text, "as text: pass a str")
    return text.encode("utf-8")


def dict_bytes(obj: dict[str, Any] | list[Any], artifact_file: str) -> bytes:
    """YAML for ``.yaml``/``.yml`` files, JSON (indented) for anything else, as MLflow's
    ``log_dict``; numpy and pandas values become plain lists and numbers."""
    if not (_is_mapping(obj) or isinstance(obj, (list, tuple))):
        raise _unsupported(obj, "as a dict: pass a mapping or a list")
    if _extension(artifact_file) in ("yaml", "yml"):
        import yaml

        text = yaml.safe_dump(
            _plain_tree(obj), sort_keys=False, default_flow_style=False, allow_unicode=True
        )
        return text.encode("utf-8")
    import json

    plain = dict(obj) if _is_mapping(obj) else obj
    try:
        text = json.dumps(plain, indent=2, ensure_ascii=False, default=_plain)
    except (TypeError, ValueError) as exc:  # non-str keys, circular references
        raise CairnError.invalid(f"Cannot log this dict as JSON: {exc}.") from exc
    return text.encode("utf-8")


def figure_bytes(figure: Any, artifact_file: str) -> bytes:
    """A matplotlib Figure or a plotly figure, in the format the file extension names."""
    ext = _extension(artifact_file)
    if _is_instance(figure, "matplotlib.figure", "Figure"):
        if ext not in _MATPLOTLIB_FORMATS:
            raise CairnError.invalid(
                f"Cannot save a matplotlib figure as {artifact_file!r}: the file must end with "
                f"one of {', '.join('.' + f for f in _MATPLOTLIB_FORMATS)}."
            )
        buffer = io.BytesIO()
        figure.savefig(buffer, format=ext)
        return buffer.getvalue()
    if _is_instance(figure, "plotly.basedatatypes", "BaseFigure"):
        if ext == "html":
            return figure.to_html(include_plotlyjs="cdn").encode("utf-8")
        if ext not in _PLOTLY_IMAGE_FORMATS:
            raise CairnError.invalid(
                f"Cannot save a plotly figure as {artifact_file!r}: the file must end with .html "
                f"or one of {', '.join('.' + f for f in _PLOTLY_IMAGE_FORMATS)}."
            )
        import importlib.util

        if importlib.util.find_spec("kaleido") is None:
            raise CairnError.invalid(
                f"Saving a plotly figure as .{ext} needs the 'kaleido' package "
                "(pip install kaleido); or log it as .html, which needs nothing more."
            )
        return figure.to_image(format="jpeg" if ext == "jpg" else ext)
    raise _unsupported(figure, "as a figure: pass a matplotlib Figure or a plotly figure")


def _to_uint8(array: np.ndarray) -> np.ndarray:
    """Pixels Pillow can take: HxW, HxWx3 or HxWx4 uint8 (HxWx1 is squeezed to HxW).

    Floats must lie in [0, 1] and are scaled to 0..255 (rounded); bools become 0/255; other
    integers are clipped to 0..255.
    """
    import numpy as np

    a = np.asarray(array)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.size == 0 or not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (3, 4))):
        raise CairnError.invalid(
            f"Cannot log an image of shape {a.shape}: expected HxW, HxWx1, HxWx3 or HxWx4."
        )
    if a.dtype == np.uint8:
        pass
    elif a.dtype == np.bool_:
        a = a.astype(np.uint8) * 255
    elif np.issubdtype(a.dtype, np.floating):
        if not np.isfinite(a).all() or a.min() < 0 or a.max() > 1:
            raise CairnError.invalid(
                f"Float image pixels must lie in [0, 1]; got values from {a.min()} to {a.max()}."
                " Scale the image, or pass uint8 values in 0..255."
            )
        a = np.rint(a * 255).astype(np.uint8)
    elif np.issubdtype(a.dtype, np.integer):
        a = np.clip(a, 0, 255).astype(np.uint8)
    else:
        raise CairnError.invalid(f"Cannot log an image of dtype {a.dtype}: use uint8 or float.")
    return np.ascontiguousarray(a)


def image_bytes(image: Any, artifact_file: str) -> bytes:
    """A numpy array or a PIL Image, encoded by Pillow in the format of the file extension."""
    is_array = _is_instance(image, "numpy", "ndarray")
    if not (is_array or _is_instance(image, "PIL.Image", "Image")):
        raise _unsupported(image, "as an image: pass a numpy array or a PIL Image")
    try:
        from PIL import Image
    except ImportError as exc:
        raise CairnError.invalid(
            "Logging numpy arrays as images needs Pillow: pip install 'cairn[images]'."
        ) from exc
    ext = _extension(artifact_file)
    image_format = Image.registered_extensions().get(f".{ext}")
    if image_format is None:
        raise CairnError.invalid(
            f"Cannot save an image as {artifact_file!r}: Pillow knows no format for '.{ext}' "
            "(use .png, .jpg, ...)."
        )
    picture = Image.fromarray(_to_uint8(image)) if is_array else image
    if image_format == "JPEG" and picture.mode not in ("L", "RGB", "CMYK"):
        picture = picture.convert("RGB")  # JPEG has no alpha channel or palette
    buffer = io.BytesIO()
    picture.save(buffer, format=image_format)
    return buffer.getvalue()


def table_bytes(data: Any, artifact_file: str) -> bytes:
    """A dict of columns or a DataFrame as MLflow's table JSON: ``{"columns", "data"}``.

    Missing values (None, NaN, NaT, pd.NA) and infinities become ``null``, so the file is
    strict JSON the UI can parse; floats keep full precision.
    """
    if _extension(artifact_file) != "json":
        raise CairnError.invalid(f"Table artifact {artifact_file!r} must be a .json file.")
    if not (_is_instance(data, "pandas", "DataFrame") or _is_mapping(data)):
        raise _unsupported(data, "as a table: pass a dict of columns or a pandas DataFrame")
    import json
    import math

    import pandas as pd

    if isinstance(data, pd.DataFrame):
        frame = data
    else:
        try:
            frame = pd.DataFrame(dict(data))
        except ValueError as exc:
            raise CairnError.invalid(
                f"Cannot log this dict as a table: {exc}. Its values must be columns "
                "(lists or arrays) of one length."
            ) from exc

    def cell(value: Any) -> Any:
        if value is None or value is pd.NA or value is pd.NaT:
            return None
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return value

    rows = [[cell(v) for v in row] for row in frame.to_dict(orient="split", index=False)["data"]]
    table = {"columns": [str(c) for c in frame.columns], "data": rows}
    return json.dumps(table, ensure_ascii=False, allow_nan=False, default=_plain).encode("utf-8")

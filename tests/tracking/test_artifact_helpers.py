"""Python objects to artifact bytes: text, dicts, figures, images, tables."""

from __future__ import annotations

import enum
import importlib.util
import io
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image

from cairn.errors import INVALID_PARAMETER_VALUE, CairnError
from cairn.tracking.artifact_helpers import (
    dict_bytes,
    figure_bytes,
    image_bytes,
    table_bytes,
    text_bytes,
)


class Kind(enum.IntEnum):
    A = 1
    B = 2


HEAVY = ("numpy", "pandas", "matplotlib", "plotly", "PIL", "yaml")


def test_import_loads_no_heavy_library() -> None:
    code = (
        "import sys, cairn.tracking.artifact_helpers\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# -- text and dicts ---------------------------------------------------------------------------


def test_text_bytes() -> None:
    assert text_bytes("héllo\n") == "héllo\n".encode()
    with pytest.raises(CairnError, match=r"builtins\.bytes"):
        text_bytes(b"raw")  # type: ignore[arg-type]


def test_dict_bytes_json_handles_numpy_and_pandas() -> None:
    obj = {
        "b": np.int64(3),
        "a": np.float32(0.5),
        "arr": np.arange(3),
        "flag": np.bool_(True),
        "series": pd.Series([1.5, 2.5]),
        "when": pd.Timestamp("2024-01-02T03:04:05"),
        "nested": {"tuple": (1, 2), "set": {7}},
    }
    for name in ["d.json", "d.txt", "noext"]:
        data = json.loads(dict_bytes(obj, name))
        assert list(data) == list(obj)  # key order kept
        assert data["b"] == 3
        assert data["a"] == 0.5
        assert data["arr"] == [0, 1, 2]
        assert data["flag"] is True
        assert data["series"] == [1.5, 2.5]
        assert data["when"] == "2024-01-02T03:04:05"
        assert data["nested"] == {"tuple": [1, 2], "set": [7]}
    assert dict_bytes({"k": 1}, "d.json") == b'{\n  "k": 1\n}'


def test_dict_bytes_yaml_keeps_order_and_converts_values() -> None:
    obj = {"z": 1, "a": {"x": np.float64(0.25), "arr": np.array([1, 2])}, "s": "ü", "k": Kind.B}
    for name in ["cfg.yaml", "cfg.YML"]:
        text = dict_bytes(obj, name).decode()
        assert yaml.safe_load(text) == {"z": 1, "a": {"x": 0.25, "arr": [1, 2]}, "s": "ü", "k": 2}
        assert text.index("z:") < text.index("a:")  # not sorted
        assert "ü" in text


def test_dict_bytes_accepts_lists_and_refuses_other_objects() -> None:
    assert json.loads(dict_bytes([1, np.int8(2)], "l.json")) == [1, 2]
    with pytest.raises(CairnError, match=r"builtins\.str") as info:
        dict_bytes("not a dict", "d.json")  # type: ignore[arg-type]
    assert info.value.error_code == INVALID_PARAMETER_VALUE
    with pytest.raises(CairnError, match=r"builtins\.object"):
        dict_bytes({"x": object()}, "d.json")
    with pytest.raises(CairnError, match=r"builtins\.object"):
        dict_bytes({"x": object()}, "d.yaml")
    circular: dict[str, object] = {}
    circular["self"] = circular
    with pytest.raises(CairnError, match="Circular"):
        dict_bytes(circular, "d.json")
    with pytest.raises(CairnError, match="keys must be"):
        dict_bytes({(1, 2): "tuple key"}, "d.json")


# -- figures ----------------------------------------------------------------------------------


@pytest.fixture
def mpl_figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 1.5), dpi=50)
    ax.plot([0, 1, 2], [1, 0, 1])
    yield fig
    plt.close(fig)


def test_matplotlib_png(mpl_figure) -> None:
    data = figure_bytes(mpl_figure, "plots/fig.png")
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "PNG"
        assert img.size == (100, 75)


def test_matplotlib_svg_pdf_jpg(mpl_figure) -> None:
    assert b"<svg" in figure_bytes(mpl_figure, "fig.svg")
    assert figure_bytes(mpl_figure, "fig.pdf").startswith(b"%PDF")
    for name in ["fig.jpg", "fig.JPEG"]:
        with Image.open(io.BytesIO(figure_bytes(mpl_figure, name))) as img:
            assert img.format == "JPEG"


def test_matplotlib_unknown_extension(mpl_figure) -> None:
    with pytest.raises(CairnError, match=r"fig\.gif"):
        figure_bytes(mpl_figure, "fig.gif")


def test_plotly_html() -> None:
    import plotly.graph_objects as go

    fig = go.Figure(go.Scatter(x=[1, 2], y=[3, 4]))
    html = figure_bytes(fig, "fig.html").decode()
    assert "<html>" in html
    assert html.rstrip().endswith("</html>")
    assert "cdn.plot.ly" in html
    assert len(html) < 100_000  # plotly.js itself is not embedded


@pytest.mark.skipif(importlib.util.find_spec("kaleido") is not None, reason="kaleido installed")
def test_plotly_image_without_kaleido_says_so() -> None:
    import plotly.graph_objects as go

    with pytest.raises(CairnError, match="kaleido"):
        figure_bytes(go.Figure(), "fig.png")


def test_plotly_unknown_extension() -> None:
    import plotly.graph_objects as go

    with pytest.raises(CairnError, match=r"\.html"):
        figure_bytes(go.Figure(), "fig.txt")


def test_figure_refuses_other_objects() -> None:
    with pytest.raises(CairnError, match=r"builtins\.dict"):
        figure_bytes({"data": []}, "fig.png")


# -- images -----------------------------------------------------------------------------------


def decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "PNG"
        return np.asarray(img)


RNG = np.random.default_rng(0)


@pytest.mark.parametrize("shape", [(5, 7), (5, 7, 3), (5, 7, 4)])
def test_uint8_round_trips(shape: tuple[int, ...]) -> None:
    pixels = RNG.integers(0, 256, size=shape, dtype=np.uint8)
    np.testing.assert_array_equal(decode(image_bytes(pixels, "img.png")), pixels)


def test_single_channel_is_grayscale() -> None:
    pixels = RNG.integers(0, 256, size=(4, 6, 1), dtype=np.uint8)
    np.testing.assert_array_equal(decode(image_bytes(pixels, "img.png")), pixels[:, :, 0])


def test_non_contiguous_array() -> None:
    pixels = RNG.integers(0, 256, size=(6, 4, 3), dtype=np.uint8)
    view = pixels.transpose(1, 0, 2)
    np.testing.assert_array_equal(decode(image_bytes(view, "img.png")), view)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_floats_in_unit_range_are_scaled(dtype: type) -> None:
    expected = RNG.integers(0, 256, size=(3, 4, 3), dtype=np.uint8)
    floats = (expected / 255).astype(dtype)
    np.testing.assert_array_equal(decode(image_bytes(floats, "img.png")), expected)


@pytest.mark.parametrize("bad", [1.5, -0.1, np.nan, np.inf])
def test_floats_out_of_range_are_refused(bad: float) -> None:
    pixels = np.zeros((2, 2))
    pixels[1, 1] = bad
    with pytest.raises(CairnError, match=r"\[0, 1\]") as info:
        image_bytes(pixels, "img.png")
    assert info.value.error_code == INVALID_PARAMETER_VALUE


def test_other_dtypes_are_cast() -> None:
    assert decode(image_bytes(np.array([[True, False]]), "b.png")).tolist() == [[255, 0]]
    ints = np.array([[-5, 0, 128, 255, 300]], dtype=np.int16)
    assert decode(image_bytes(ints, "i.png")).tolist() == [[0, 0, 128, 255, 255]]
    assert decode(image_bytes(np.array([[7, 9]]), "i.png")).tolist() == [[7, 9]]


@pytest.mark.parametrize("shape", [(5,), (2, 2, 2), (2, 2, 5), (1, 2, 2, 3), (0, 3)])
def test_bad_shapes_are_refused(shape: tuple[int, ...]) -> None:
    with pytest.raises(CairnError, match="shape"):
        image_bytes(np.zeros(shape, dtype=np.uint8), "img.png")


def test_unsupported_dtype_is_refused() -> None:
    with pytest.raises(CairnError, match="dtype"):
        image_bytes(np.zeros((2, 2), dtype=np.complex64), "img.png")


def test_pil_image_and_formats() -> None:
    pil = Image.new("RGBA", (3, 2), (10, 20, 30, 40))
    np.testing.assert_array_equal(decode(image_bytes(pil, "img.png")), np.asarray(pil))
    rgba = np.full((4, 4, 4), 200, dtype=np.uint8)
    for name in ["img.jpg", "img.jpeg"]:  # JPEG has no alpha: converted, not an error
        with Image.open(io.BytesIO(image_bytes(rgba, name))) as img:
            assert (img.format, img.mode) == ("JPEG", "RGB")


def test_image_refuses_unknown_extension_and_types() -> None:
    with pytest.raises(CairnError, match=r"'\.nope'"):
        image_bytes(np.zeros((2, 2), dtype=np.uint8), "img.nope")
    with pytest.raises(CairnError, match=r"builtins\.list"):
        image_bytes([[0, 1], [1, 0]], "img.png")


# -- tables -----------------------------------------------------------------------------------


def test_table_from_dict_round_trips() -> None:
    data = {"x": [1, 2, 3], "y": np.array([0.1, 0.2, 0.30000000000000004]), "name": ["a", "b", "c"]}
    table = json.loads(table_bytes(data, "t.json"))
    assert table == {
        "columns": ["x", "y", "name"],
        "data": [[1, 0.1, "a"], [2, 0.2, "b"], [3, 0.30000000000000004, "c"]],
    }
    back = pd.DataFrame(table["data"], columns=table["columns"])
    pd.testing.assert_frame_equal(back, pd.DataFrame(data), check_dtype=False)


def test_table_from_dataframe_with_missing_values_is_strict_json() -> None:
    frame = pd.DataFrame(
        {
            "f": [1.5, np.nan, np.inf],
            "t": pd.to_datetime(["2024-01-01", None, "2024-01-03"]),
            "i": pd.array([1, None, 3], dtype="Int64"),
            "s": ["a", None, "c"],
        },
        index=[10, 20, 30],
    )
    raw = table_bytes(frame, "t.json")
    table = json.loads(raw, parse_constant=lambda c: pytest.fail(f"non-strict JSON: {c}"))
    assert table["columns"] == ["f", "t", "i", "s"]
    assert table["data"] == [
        [1.5, "2024-01-01T00:00:00", 1, "a"],
        [None, None, None, None],
        [None, "2024-01-03T00:00:00", 3, "c"],
    ]


def test_table_column_names_become_strings() -> None:
    table = json.loads(table_bytes(pd.DataFrame({0: [1], 1: [2]}), "t.json"))
    assert table == {"columns": ["0", "1"], "data": [[1, 2]]}


def test_table_errors() -> None:
    with pytest.raises(CairnError, match=r"must be a \.json file"):
        table_bytes({"x": [1]}, "t.csv")
    with pytest.raises(CairnError, match="one length"):
        table_bytes({"x": [1, 2], "y": [1]}, "t.json")
    with pytest.raises(CairnError, match=r"builtins\.list"):
        table_bytes([[1, 2]], "t.json")

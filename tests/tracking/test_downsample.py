"""Min/max bucket downsampling (cairn.tracking.downsample), checked against a plain-Python
reference of the rule on random and hand-made series."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cairn.tracking.downsample import downsample_minmax


def reference(x: list[float], y: list[float], buckets: int, lo: float, hi: float) -> set[int]:
    """The rule written out point by point: each bucket's first min, first max and first
    non-finite point (x sorted, every point in [lo, hi])."""
    width = (hi - lo) / buckets
    members: dict[int, list[int]] = {}
    for i, xi in enumerate(x):
        b = min(int((xi - lo) / width), buckets - 1) if width else 0
        members.setdefault(b, []).append(i)
    keep: set[int] = set()
    for idx in members.values():
        finite = [i for i in idx if math.isfinite(y[i])]
        if finite:
            keep.add(min(finite, key=lambda i: (y[i], i)))
            keep.add(min(finite, key=lambda i: (-y[i], i)))
        bad = [i for i in idx if not math.isfinite(y[i])]
        if bad:
            keep.add(bad[0])
    return keep


def test_each_bucket_keeps_its_min_and_max_in_x_order() -> None:
    rng = np.random.default_rng(7)
    x = np.arange(10_000, dtype=np.int64)
    y = rng.normal(size=10_000)
    y[1234], y[8765] = 50.0, -50.0  # spikes that averaging or striding would lose
    result = downsample_minmax(x, y, 100)
    assert result.downsampled and result.points_in_range == 10_000
    assert set(result.index.tolist()) == reference(x.tolist(), y.tolist(), 100, 0, 9999)
    assert len(result.index) <= 200
    assert np.all(np.diff(result.x) > 0)
    assert result.y.max() == 50.0 and result.y.min() == -50.0
    assert np.array_equal(result.x, x[result.index]) and np.array_equal(result.y, y[result.index])


@pytest.mark.parametrize("seed", range(5))
def test_random_series_match_the_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(50, 3000))
    x = np.sort(rng.uniform(-100, 100, size=n))
    y = rng.integers(0, 5, size=n).astype(float)  # many ties: the earliest one is kept
    y[rng.random(n) < 0.05] = np.nan
    buckets = int(rng.integers(1, 20))
    result = downsample_minmax(x, y, buckets)
    if n > 2 * buckets:
        assert result.downsampled
        expected = reference(x.tolist(), y.tolist(), buckets, x[0], x[-1])
        assert set(result.index.tolist()) == expected
    assert np.array_equal(result.index, np.sort(result.index))


def test_a_range_keeps_the_nearest_point_outside_each_edge() -> None:
    x = np.arange(100, dtype=np.int64)
    y = np.sin(x / 5.0)
    result = downsample_minmax(x, y, 5, 20.5, 60)
    inside = [i for i in result.index.tolist() if 20.5 <= i <= 60]
    assert result.index[0] == 20 and result.index[-1] == 61  # one point beyond each edge
    assert result.points_in_range == 40  # 21..60
    assert result.downsampled
    assert set(inside) == {
        21 + i for i in reference(x[21:61].tolist(), y[21:61].tolist(), 5, 20.5, 60)
    }


def test_a_small_range_comes_back_as_it_is_with_its_edges() -> None:
    x = np.arange(1000, dtype=np.int64)
    y = x * 2.0
    result = downsample_minmax(x, y, 10, 100, 119)  # 20 points = 2 * buckets
    assert not result.downsampled and result.points_in_range == 20
    assert result.index.tolist() == list(range(99, 121))


def test_a_small_series_is_unchanged() -> None:
    x = np.array([3, 1, 2, 5], dtype=np.int64)  # unsorted: sorted stably
    y = np.array([0.3, 0.1, 0.2, 0.5])
    result = downsample_minmax(x, y, 2)
    assert not result.downsampled and result.points_in_range == 4
    assert result.index.tolist() == [1, 2, 0, 3]
    assert result.x.tolist() == [1, 2, 3, 5] and result.y.tolist() == [0.1, 0.2, 0.3, 0.5]


def test_unsorted_x_with_ties_keeps_the_given_order_of_equal_x() -> None:
    x = np.array([2, 1, 2, 1], dtype=np.int64)
    result = downsample_minmax(x, np.array([1.0, 2.0, 3.0, 4.0]), 10)
    assert result.index.tolist() == [1, 3, 0, 2]


def test_empty() -> None:
    result = downsample_minmax(np.array([], dtype=np.int64), np.array([]), 10, 0, 5)
    assert len(result.index) == 0 and result.points_in_range == 0 and not result.downsampled


def test_a_range_outside_the_series_keeps_only_edge_points() -> None:
    x = np.arange(10, dtype=np.int64)
    y = x.astype(float)
    assert downsample_minmax(x, y, 3, 20, 30).index.tolist() == [9]
    assert downsample_minmax(x, y, 3, -9, -1).index.tolist() == [0]
    between = downsample_minmax(x, y, 3, 4.2, 4.8)
    assert between.index.tolist() == [4, 5] and between.points_in_range == 0


def test_non_finite_values_leave_a_gap_marker_in_their_bucket() -> None:
    x = np.arange(40, dtype=np.int64)
    y = np.linspace(0, 1, 40)
    y[5] = np.nan
    y[6] = np.inf  # not an extreme: a gap too
    y[20:30] = np.nan  # a bucket with nothing finite keeps one marker
    result = downsample_minmax(x, y, 4)
    kept = result.index.tolist()
    assert 5 in kept and 6 not in kept  # the first non-finite point of its bucket
    assert [i for i in kept if 20 <= i < 30] == [20]
    finite = result.y[np.isfinite(result.y)]
    assert finite.max() == 1.0 and finite.min() == 0.0
    assert set(kept) == reference(x.tolist(), y.tolist(), 4, 0, 39)


def test_a_zero_width_range_is_one_bucket() -> None:
    x = np.array([5, 5, 5, 5, 5, 5, 6], dtype=np.int64)
    y = np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 0.0])
    result = downsample_minmax(x, y, 1, 5, 5)
    assert result.downsampled and result.index.tolist() == [1, 5, 6]


def test_the_last_bucket_includes_x_max() -> None:
    x = np.arange(11, dtype=np.int64)
    y = np.zeros(11)
    y[10] = 7.0
    result = downsample_minmax(x, y, 2, 0, 10)
    assert result.index.tolist() == [0, 5, 10]  # [0, 5) then [5, 10] with its max at 10


@pytest.mark.parametrize(
    ("buckets", "lo", "hi"),
    [(0, None, None), (-1, None, None), (True, None, None), (2, 5, 1), (2, math.nan, 1)],
)
def test_bad_arguments(buckets: int, lo: float | None, hi: float | None) -> None:
    with pytest.raises(ValueError):
        downsample_minmax(np.arange(5), np.arange(5.0), buckets, lo, hi)


def test_a_million_points_become_two_per_bucket() -> None:
    n = 1_000_000
    x = np.arange(n, dtype=np.int64)
    y = np.cos(x / 1000.0) + (x % 997 == 0) * 3.0
    result = downsample_minmax(x, y, 1000)
    assert result.downsampled and 1000 <= len(result.index) <= 2000
    assert result.y.max() == y.max() and result.y.min() == y.min()

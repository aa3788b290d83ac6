"""Min/max bucket downsampling: a long metric series cut to what a chart can show.

A chart a thousand pixels wide cannot show more than a couple of thousand points, but it must
not lose a spike either: averaging or picking every n-th point would. So the visible x range is
cut into equal-width buckets and each bucket keeps its lowest and its highest point (and, if it
has one, its first non-finite point, so a NaN gap stays visible). The result is drawn exactly as
the full series would be at that width. The nearest point outside each edge of the range comes
along too, so lines run on to the chart's border instead of stopping short of it.

Everything is whole-array numpy (bucket edges by binary search, minima and maxima by
``reduceat``): a 10^6-point series is a handful of passes over memory, no Python loop per point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Downsampled", "downsample_minmax"]


@dataclass(frozen=True)
class Downsampled:
    """What :func:`downsample_minmax` kept: positions into the given arrays, in x order."""

    index: np.ndarray  # int64 positions into the caller's x and y
    x: np.ndarray
    y: np.ndarray
    points_in_range: int  # points with x_min <= x <= x_max (edge points not counted)
    downsampled: bool  # False when the range's points came back as they are


def downsample_minmax(
    x: np.ndarray,
    y: np.ndarray,
    buckets: int,
    x_min: float | None = None,
    x_max: float | None = None,
) -> Downsampled:
    """The points of ``(x, y)`` that draw the series over ``[x_min, x_max]`` at ``buckets``
    buckets: each non-empty bucket's min and max point (plus its first non-finite one), or
    every point of the range when it holds at most ``2 * buckets`` of them; in both cases with
    the nearest point before ``x_min`` and after ``x_max``, if there are such points.

    ``x`` must be finite; it need not be sorted (it is, stably, when it is not). A bound left
    ``None`` is the series' own first or last x. Ties keep the earliest point.
    """
    if isinstance(buckets, bool) or not isinstance(buckets, int | np.integer) or buckets < 1:
        raise ValueError(f"buckets must be a positive integer, got {buckets!r}")
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    if xs.ndim != 1 or xs.shape != ys.shape:
        raise ValueError(f"x and y must be 1-D and of one length, got {xs.shape} and {ys.shape}")
    n = len(xs)
    if n == 0:
        empty = np.empty(0, dtype=np.int64)
        return Downsampled(empty, xs[:0], ys[:0], 0, False)
    order = None
    if n > 1 and not bool(np.all(xs[1:] >= xs[:-1])):
        order = np.argsort(xs, kind="stable")
        xs, ys = xs[order], ys[order]
    lo_x = float(xs[0]) if x_min is None else float(x_min)
    hi_x = float(xs[-1]) if x_max is None else float(x_max)
    if not (np.isfinite(lo_x) and np.isfinite(hi_x)):
        raise ValueError(f"the x range must be finite, got [{lo_x}, {hi_x}]")
    if lo_x > hi_x:
        raise ValueError(f"x_min ({lo_x}) is greater than x_max ({hi_x})")
    lo = int(np.searchsorted(xs, lo_x, side="left"))
    hi = int(np.searchsorted(xs, hi_x, side="right"))
    in_range = hi - lo
    downsampled = in_range > 2 * buckets
    if downsampled:
        inner = lo + _bucket_extremes(xs[lo:hi], ys[lo:hi], buckets, lo_x, hi_x)
    else:
        inner = np.arange(lo, hi, dtype=np.int64)
    parts = [inner]
    if lo > 0:
        parts.insert(0, np.array([lo - 1], dtype=np.int64))
    if hi < n:
        parts.append(np.array([hi], dtype=np.int64))
    picked = np.concatenate(parts) if len(parts) > 1 else inner
    index = picked if order is None else order[picked]
    return Downsampled(
        index.astype(np.int64, copy=False), xs[picked], ys[picked], in_range, downsampled
    )


def _bucket_extremes(
    xw: np.ndarray, yw: np.ndarray, buckets: int, lo_x: float, hi_x: float
) -> np.ndarray:
    """Sorted positions (into ``xw``) of each bucket's min, max and first non-finite point.

    Bucket ``k`` holds ``lo_x + k*w <= x < lo_x + (k+1)*w`` (the last one includes ``hi_x``),
    so its start is a binary search of the sorted x: no per-point bucket numbers are built.
    """
    m = len(xw)
    inner_edges = lo_x + (hi_x - lo_x) * (np.arange(1, buckets, dtype=np.float64) / buckets)
    starts = np.empty(buckets, dtype=np.int64)
    starts[0] = 0
    starts[1:] = np.searchsorted(xw, inner_edges, side="left")
    ends = np.empty(buckets, dtype=np.int64)
    ends[:-1] = starts[1:]
    ends[-1] = m
    keep = ends > starts
    starts, ends = starts[keep], ends[keep]
    lengths = ends - starts

    seg_min = np.minimum.reduceat(yw, starts)
    seg_max = np.maximum.reduceat(yw, starts)
    extras: list[np.ndarray] = []
    # NaN propagates through minimum/maximum and ±inf would be an extreme: finite extremes
    # everywhere mean every value is finite, the common case, which needs no mask at all.
    if not (np.isfinite(seg_min).all() and np.isfinite(seg_max).all()):
        finite = np.isfinite(yw)
        bad = np.flatnonzero(~finite)
        first_bad = np.searchsorted(bad, starts)
        hit = first_bad < len(bad)
        hit[hit] = bad[first_bad[hit]] < ends[hit]
        extras.append(bad[first_bad[hit]])
        # Extremes among the finite values; an all-non-finite bucket keeps only its marker.
        yw_min = np.where(finite, yw, np.inf)
        yw_max = np.where(finite, yw, -np.inf)
        seg_min = np.minimum.reduceat(yw_min, starts)
        seg_max = np.maximum.reduceat(yw_max, starts)
        has_finite = np.isfinite(seg_min)
        extras.append(_first_equal(yw_min, seg_min, starts, lengths)[has_finite])
        extras.append(_first_equal(yw_max, seg_max, starts, lengths)[has_finite])
    else:
        extras.append(_first_equal(yw, seg_min, starts, lengths))
        extras.append(_first_equal(yw, seg_max, starts, lengths))
    return np.unique(np.concatenate(extras))


def _first_equal(
    values: np.ndarray, per_segment: np.ndarray, starts: np.ndarray, lengths: np.ndarray
) -> np.ndarray:
    """For each segment, the first position whose value equals the segment's ``per_segment``
    value (which occurs in it: it is the segment's own min or max)."""
    hits = np.flatnonzero(values == np.repeat(per_segment, lengths))
    return hits[np.searchsorted(hits, starts)]

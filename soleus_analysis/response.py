"""Post-meal response measures: one definition of each, on (minutes, glucose) curves.

Every measure treats the readings as a piecewise-linear curve through the samples (the
trapezoid rule), so dense CGM traces (5- or 15-minute) and sparse lab samples (e.g. 0, 15, 30,
60, 90, 120, 180 min, irregular spacing included) are handled the same way.

Conventions shared by every function here
-----------------------------------------
- ``minutes`` are minutes relative to the meal or drink (t = 0), so ``time_to_peak_min`` is
  minutes after the meal; ``glucose`` is in mg/dL (any other unit works, the areas are then in
  that unit x min).
- Points with a NaN time or NaN glucose are skipped: the curve joins the neighbouring valid
  points. Samples need not be sorted (they are sorted by time).
- ``window=(start, end)``, when given, restricts the curve to ``start <= t <= end``; the curve is
  cut at the window edges by linear interpolation, so a 5-minute CGM grid that is not aligned to
  the meal still yields an area over exactly 0..120 min. A window edge outside the data is not
  extrapolated: the curve simply starts (ends) at the first (last) sample.
- A curve with fewer than two valid points has NaN areas; a NaN baseline gives NaN for every
  baseline-relative measure.

The scalar functions (:func:`iauc`, :func:`auc_measures`, ...) run the batch implementation
(:func:`iauc_batch`, :func:`auc_measures_batch`) on a single row, so each measure has exactly one
definition. The batch versions take padded 2-D arrays (one window per row, NaN padding) and are
vectorised across rows (no Python loop per window or per reading).

References
----------
Wolever TMS, Jenkins DJA. The use of the glycemic index in predicting the blood glucose response
to mixed meals. Am J Clin Nutr 1986;43:167-172.
ISO 26642:2010 Food products - Determination of the glycaemic index (GI) and recommendation for
food classification.
Chkroun H et al. Front Nutr 2023;10:1203899 (40th percentile of the previous 24 h as baseline).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .core.errors import InputError

__all__ = [
    "MEASURE_COLUMNS",
    "iauc",
    "net_auc",
    "total_auc",
    "peak",
    "delta_peak",
    "time_to_peak",
    "value_at",
    "time_back_to_baseline",
    "decay_rate",
    "auc_measures",
    "iauc_batch",
    "value_at_batch",
    "auc_measures_batch",
    "measures_of_rows",
    "baseline_t0",
    "baseline_premeal",
    "baseline_percentile",
]

#: Output keys of :func:`auc_measures` / columns of :func:`auc_measures_batch`, in order.
MEASURE_COLUMNS: tuple[str, ...] = (
    "iauc_mgdl_min",
    "net_auc_mgdl_min",
    "total_auc_mgdl_min",
    "peak_mgdl",
    "delta_peak_mgdl",
    "time_to_peak_min",
    "glucose_120_mgdl",
    "time_to_baseline_min",
    "decay_mgdl_per_min",
)

#: Default horizon (min) of the post-peak decay rate.
DECAY_SPAN_MIN: float = 60.0

Window = tuple[float, float] | None


# --------------------------------------------------------------------------- array plumbing


def _as_rows(minutes, glucose) -> tuple[np.ndarray, np.ndarray]:
    """Return float 2-D (rows, samples) arrays; a 1-D input becomes one row."""
    t = np.asarray(minutes, dtype=float)
    y = np.asarray(glucose, dtype=float)
    if t.ndim == 1:
        t = t[None, :]
    if y.ndim == 1:
        y = y[None, :]
    if t.ndim != 2 or y.ndim != 2:
        raise InputError("minutes and glucose must be 1-D (one curve) or 2-D (rows of curves)")
    try:
        t, y = np.broadcast_arrays(t, y)
    except ValueError as exc:
        raise InputError(
            f"minutes {t.shape} and glucose {y.shape} must have the same shape"
        ) from exc
    return t, y


def _row_param(value, n_rows: int, name: str) -> np.ndarray:
    """Broadcast a scalar or per-row parameter to a float (n_rows,) array."""
    arr = np.asarray(value, dtype=float).reshape(-1)
    if arr.size == 1:
        return np.full(n_rows, arr[0])
    if arr.size != n_rows:
        raise InputError(f"{name} has {arr.size} values; expected 1 or {n_rows} (one per row)")
    return arr


def _compact(t: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sort each row by time with invalid points (NaN time or value) moved to the end as NaN.

    Returns ``(t, y, n)`` where ``n`` is the number of valid points per row; in the result,
    ``t[i, :n[i]]`` is sorted ascending and every later entry is NaN.
    """
    valid = np.isfinite(t) & np.isfinite(y)
    key = np.where(valid, t, np.inf)
    order = np.argsort(key, axis=1, kind="stable")
    t = np.take_along_axis(np.where(valid, t, np.nan), order, axis=1)
    y = np.take_along_axis(np.where(valid, y, np.nan), order, axis=1)
    return t, y, valid.sum(axis=1)


def _interp(
    t: np.ndarray, y: np.ndarray, n: np.ndarray, x: np.ndarray, k: np.ndarray | None = None
) -> np.ndarray:
    """Linear interpolation of compacted rows at one time per row; NaN outside each row's span.

    ``k``, when the caller has it, is ``(t <= x).sum(axis=1) - 1`` (the last sample at or
    before ``x``).
    """
    rows = np.arange(t.shape[0])
    if k is None:
        k = (t <= x[:, None]).sum(axis=1) - 1  # index of the last sample at or before x
    out = np.full(t.shape[0], np.nan)
    if t.shape[1] == 0:
        return out
    kc = np.clip(k, 0, t.shape[1] - 1)
    k1 = np.clip(k + 1, 0, t.shape[1] - 1)
    t0, y0 = t[rows, kc], y[rows, kc]
    t1, y1 = t[rows, k1], y[rows, k1]
    exact = (k >= 0) & (t0 == x)
    inside = (k >= 0) & (k + 1 < n) & ~exact
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = (x - t0) / (t1 - t0)
        between = y0 + frac * (y1 - y0)
    out[exact] = y0[exact]
    out[inside] = between[inside]
    return out


def _clip(
    t: np.ndarray, y: np.ndarray, n: np.ndarray, start: np.ndarray, end: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut compacted rows to ``start <= t <= end`` (NaN bounds = open), interpolating the edges."""
    lo = np.where(np.isnan(start), -np.inf, start)
    hi = np.where(np.isnan(end), np.inf, end)
    y_lo = _interp(t, y, n, lo)  # NaN when lo is outside the data (or infinite)
    y_hi = _interp(t, y, n, hi)
    keep = (t > lo[:, None]) & (t < hi[:, None])
    t_in = np.where(keep, t, np.nan)
    t_all = np.column_stack([lo, t_in, hi])
    y_all = np.column_stack([y_lo, np.where(keep, y, np.nan), y_hi])
    t_all = np.where(np.isfinite(t_all), t_all, np.nan)
    return _compact(t_all, y_all)


def _clip_sorted(
    t: np.ndarray, y: np.ndarray, n: np.ndarray, start: np.ndarray, end: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_clip` of compacted rows, without sorting again.

    In a compacted row the samples strictly inside ``(start, end)`` are one run of columns,
    found by counting; the result (the interpolated start edge, the run, the end edge, NaN
    after) is placed by index arithmetic. Equal, value for value, to :func:`_clip`.
    """
    m, w = t.shape
    lo = np.where(np.isnan(start), -np.inf, start)
    hi = np.where(np.isnan(end), np.inf, end)
    with np.errstate(invalid="ignore"):
        p = (t <= lo[:, None]).sum(axis=1)  # samples at or before the start
        q = (t < hi[:, None]).sum(axis=1)  # samples before the end
    y_lo = _interp(t, y, n, lo, p - 1)  # NaN when lo is outside the data (or infinite)
    y_hi = _interp(t, y, n, hi, (t <= hi[:, None]).sum(axis=1) - 1)
    v_lo = (np.isfinite(lo) & np.isfinite(y_lo)).astype(np.int64)
    v_hi = np.isfinite(hi) & np.isfinite(y_hi)
    run = np.maximum(q - p, 0)
    cols = np.arange(w + 2)[None, :]
    src = np.clip(cols + (p - v_lo)[:, None], 0, w - 1)
    inside = (cols >= v_lo[:, None]) & (cols < (v_lo + run)[:, None])
    t_out = np.where(inside, np.take_along_axis(t, src, axis=1), np.nan)
    y_out = np.where(inside, np.take_along_axis(y, src, axis=1), np.nan)
    first = np.flatnonzero(v_lo)
    t_out[first, 0], y_out[first, 0] = lo[first], y_lo[first]
    last = np.flatnonzero(v_hi)
    at = (v_lo + run)[last]
    t_out[last, at], y_out[last, at] = hi[last], y_hi[last]
    return t_out, y_out, v_lo + run + v_hi


def _prepare(minutes, glucose, window: Window, sorted_rows: bool = False):
    t, y = _as_rows(minutes, glucose)
    if sorted_rows and t.shape[1] > 0:
        n = np.isfinite(t).sum(axis=1)
    else:
        t, y, n = _compact(t, y)
    if window is not None:
        start, end = window
        start = _row_param(np.nan if start is None else start, t.shape[0], "window start")
        end = _row_param(np.nan if end is None else end, t.shape[0], "window end")
        if np.any(start > end):
            raise InputError(f"window start must not be after its end; got {window!r}")
        if sorted_rows and t.shape[1] > 0:
            t, y, n = _clip_sorted(t, y, n, start, end)
        else:
            t, y, n = _clip(t, y, n, start, end)
    return t, y, n


# --------------------------------------------------------------------------- measures on rows


def _segment_areas(t: np.ndarray, y: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
    """Per-row incremental, net and total trapezoid areas of compacted rows."""
    dt = t[:, 1:] - t[:, :-1]
    d = y - b[:, None]
    d0 = d[:, :-1]
    d1 = d[:, 1:]
    seg = np.isfinite(dt)  # both ends valid (a compacted row is NaN in t and y together)
    # Wolever / ISO 26642: area above baseline only; a segment crossing the baseline keeps only
    # the triangle above it, whose base is cut at the linearly interpolated crossing. The
    # segments past a row's last sample count exactly 0.
    with np.errstate(invalid="ignore", divide="ignore"):
        both_up = (d0 >= 0) & (d1 >= 0)
        crossing = (d0 > 0) != (d1 > 0)
        crossing &= ~both_up
        tri = dt * np.maximum(d0, d1) ** 2 / (2.0 * (np.abs(d0) + np.abs(d1)))
        half = dt * (d0 + d1) / 2.0
        inc = np.where(both_up, half, np.where(crossing, tri, 0.0))
        total = dt * (y[:, :-1] + y[:, 1:]) / 2.0
    inc = np.where(seg, inc, 0.0)
    net = np.where(seg, half, 0.0)
    total = np.where(seg, total, 0.0)
    return {"inc": inc.sum(axis=1), "net": net.sum(axis=1), "total": total.sum(axis=1)}


def _measures(
    t: np.ndarray, y: np.ndarray, n: np.ndarray, b: np.ndarray, decay_span: float
) -> dict[str, np.ndarray]:
    """All measures of compacted rows ``t, y`` (n valid points each) against baselines ``b``."""
    n_rows = t.shape[0]
    rows = np.arange(n_rows)
    two = n >= 2
    any_pt = n >= 1
    with np.errstate(invalid="ignore"):
        areas = _segment_areas(t, y, np.where(np.isnan(b), 0.0, b))
    has_b = ~np.isnan(b)
    iauc_v = np.where(two & has_b, areas["inc"], np.nan)
    net_v = np.where(two & has_b, areas["net"], np.nan)
    total_v = np.where(two, areas["total"], np.nan)

    if t.shape[1] == 0:
        t = y = np.full((n_rows, 1), np.nan)
    filled = np.where(np.isnan(y), -np.inf, y)
    ipk = np.argmax(filled, axis=1)  # first occurrence of the maximum
    pk = np.where(any_pt, y[rows, ipk], np.nan)
    tpk = np.where(any_pt, t[rows, ipk], np.nan)
    g120 = _interp(t, y, n, np.full(n_rows, 120.0))

    # time back to baseline: first time at or after the peak where the curve is <= baseline
    cols = np.arange(t.shape[1])[None, :]
    with np.errstate(invalid="ignore"):
        at_or_below = (cols >= ipk[:, None]) & (y <= b[:, None])
    found = at_or_below.any(axis=1) & any_pt & has_b
    j = np.argmax(at_or_below, axis=1)
    jm = np.maximum(j - 1, 0)
    tj, yj = t[rows, j], y[rows, j]
    tp, yp = t[rows, jm], y[rows, jm]
    with np.errstate(invalid="ignore", divide="ignore"):
        t_cross = tp + (yp - b) / (yp - yj) * (tj - tp)
    t_back = np.where(j == ipk, tj, t_cross)
    t_back = np.where(found, t_back, np.nan)

    g_after = _interp(t, y, n, tpk + decay_span)
    decay = (pk - g_after) / decay_span
    return {
        "iauc_mgdl_min": iauc_v,
        "net_auc_mgdl_min": net_v,
        "total_auc_mgdl_min": total_v,
        "peak_mgdl": pk,
        "delta_peak_mgdl": pk - b,
        "time_to_peak_min": tpk,
        "glucose_120_mgdl": g120,
        "time_to_baseline_min": t_back,
        "decay_mgdl_per_min": decay,
    }


# --------------------------------------------------------------------------- batch API


def auc_measures_batch(
    minutes_2d: np.ndarray,
    glucose_2d: np.ndarray,
    baseline_1d: np.ndarray | float,
    window: Window = None,
    decay_span: float = DECAY_SPAN_MIN,
) -> pd.DataFrame:
    """All response measures for many windows at once.

    Parameters
    ----------
    minutes_2d : array_like, shape (n_windows, n_samples)
        Sample times, minutes relative to each meal; NaN padding allowed.
    glucose_2d : array_like, shape (n_windows, n_samples)
        Glucose, mg/dL; NaN = missing/padding (skipped).
    baseline_1d : array_like, shape (n_windows,) or scalar
        Baseline glucose per window, mg/dL.
    window : (float, float), optional
        ``(start, end)`` minutes; the curve is cut there by linear interpolation. Each bound may
        be a scalar or a per-row array; ``None`` keeps all samples.
    decay_span : float, default 60
        Horizon of the post-peak decay rate, minutes.

    Returns
    -------
    pandas.DataFrame
        One row per window, columns :data:`MEASURE_COLUMNS` (see :func:`auc_measures`).
    """
    out = measures_of_rows(minutes_2d, glucose_2d, baseline_1d, window, decay_span)
    return pd.DataFrame(out, columns=list(MEASURE_COLUMNS))


def measures_of_rows(
    minutes_2d: np.ndarray,
    glucose_2d: np.ndarray,
    baseline_1d: np.ndarray | float,
    window: Window = None,
    decay_span: float = DECAY_SPAN_MIN,
    sorted_rows: bool = False,
) -> dict[str, np.ndarray]:
    """:func:`auc_measures_batch` as a dict of arrays (no table built), for callers that make
    their own table (:func:`soleus_analysis.align.meal_responses`).

    Parameters
    ----------
    minutes_2d, glucose_2d : array_like, shape (n_windows, n_samples)
        Minutes after each meal and glucose (mg/dL), NaN padded.
    baseline_1d : array_like, shape (n_windows,) or scalar
        Baseline per window, mg/dL.
    window : (float, float), optional
        ``(start, end)`` minutes.
    decay_span : float, default 60
        Horizon of the decay rate, minutes.
    sorted_rows : bool, default False
        The caller guarantees that each row is sorted by time with its valid samples first and
        NaN (in both arrays) after them, as :func:`soleus_analysis.align.meal_windows` builds
        them: the rows are then neither sorted nor compacted again (same results, faster).

    Returns
    -------
    dict of str to numpy.ndarray
        :data:`MEASURE_COLUMNS` -> float array of shape (n_windows,), units as in
        :func:`auc_measures`.
    """
    t, y, n = _prepare(minutes_2d, glucose_2d, window, sorted_rows)
    b = _row_param(baseline_1d, t.shape[0], "baseline")
    return _measures(t, y, n, b, float(decay_span))


def iauc_batch(
    minutes_2d: np.ndarray,
    glucose_2d: np.ndarray,
    baseline_1d: np.ndarray | float,
    window: Window = None,
) -> np.ndarray:
    """Incremental AUC (Wolever / ISO 26642) of many windows, mg/dL·min; see :func:`iauc`.

    Parameters
    ----------
    minutes_2d, glucose_2d : array_like, shape (n_windows, n_samples)
        Minutes and glucose (mg/dL) with NaN padding.
    baseline_1d : array_like, shape (n_windows,) or scalar
        Baseline per window, mg/dL.
    window : (float, float), optional
        ``(start, end)`` minutes to integrate over.

    Returns
    -------
    numpy.ndarray, shape (n_windows,)
        iAUC in mg/dL·min (NaN for fewer than two valid points or a NaN baseline).
    """
    t, y, n = _prepare(minutes_2d, glucose_2d, window)
    b = _row_param(baseline_1d, t.shape[0], "baseline")
    areas = _segment_areas(t, y, np.where(np.isnan(b), 0.0, b))
    return np.where((n >= 2) & ~np.isnan(b), areas["inc"], np.nan)


def value_at_batch(minutes_2d: np.ndarray, glucose_2d: np.ndarray, t: np.ndarray | float):
    """Linearly interpolated glucose at time ``t`` (scalar or one per row), mg/dL.

    NaN when ``t`` lies outside the row's valid samples (no extrapolation).
    """
    tt, yy, n = _prepare(minutes_2d, glucose_2d, None)
    return _interp(tt, yy, n, _row_param(t, tt.shape[0], "t"))


# --------------------------------------------------------------------------- scalar API


def auc_measures(
    minutes: Sequence[float] | np.ndarray,
    glucose: Sequence[float] | np.ndarray,
    baseline: float,
    window: Window = None,
    decay_span: float = DECAY_SPAN_MIN,
) -> dict[str, float]:
    """Every post-meal response measure of one curve.

    Parameters
    ----------
    minutes : array_like
        Sample times, minutes relative to the meal (t = 0); any spacing.
    glucose : array_like
        Glucose at those times, mg/dL; NaN readings are skipped.
    baseline : float
        Baseline glucose, mg/dL (see :func:`baseline_t0`, :func:`baseline_premeal`,
        :func:`baseline_percentile`).
    window : (float, float), optional
        Restrict to ``start <= t <= end`` minutes (edges interpolated).
    decay_span : float, default 60
        Horizon of the decay rate, minutes.

    Returns
    -------
    dict
        ``iauc_mgdl_min``
            Incremental AUC, mg/dL·min (:func:`iauc`).
        ``net_auc_mgdl_min``
            Signed area of ``glucose - baseline``, mg/dL·min (:func:`net_auc`).
        ``total_auc_mgdl_min``
            Plain trapezoid area under glucose (from 0 mg/dL), mg/dL·min (:func:`total_auc`).
        ``peak_mgdl``
            Highest glucose, mg/dL.
        ``delta_peak_mgdl``
            ``peak - baseline``, mg/dL.
        ``time_to_peak_min``
            Time of the (first) highest value, minutes.
        ``glucose_120_mgdl``
            Glucose at 120 min, interpolated, mg/dL (NaN outside the curve).
        ``time_to_baseline_min``
            First time at or after the peak when the curve is back to <= baseline, minutes
            (NaN if never) (:func:`time_back_to_baseline`).
        ``decay_mgdl_per_min``
            Post-peak decay rate, mg/dL/min (:func:`decay_rate`).
    """
    out = auc_measures_batch(minutes, glucose, baseline, window=window, decay_span=decay_span)
    return {k: float(v) for k, v in out.iloc[0].items()}


def iauc(
    minutes: Sequence[float] | np.ndarray,
    glucose: Sequence[float] | np.ndarray,
    baseline: float,
    window: Window = None,
) -> float:
    """Incremental area under the curve above baseline (Wolever & Jenkins 1986; ISO 26642).

    The sum over consecutive samples of the trapezoid area of ``glucose - baseline``, counting
    only the area above the baseline. A segment whose ends lie on opposite sides of the baseline
    is split at the crossing (found by linear interpolation) and only the triangle above the
    baseline counts; a segment entirely at or below the baseline counts zero.

    Parameters
    ----------
    minutes : array_like
        Sample times, minutes; any (irregular) spacing, NaN-free or not.
    glucose : array_like
        Glucose, mg/dL; NaN readings are skipped (the curve joins their neighbours).
    baseline : float
        Baseline, mg/dL.
    window : (float, float), optional
        ``(start, end)`` minutes; the curve is cut there by linear interpolation.

    Returns
    -------
    float
        iAUC in mg/dL·min; always >= 0; NaN with fewer than two valid samples or a NaN baseline.

    Examples
    --------
    >>> iauc([0, 10, 20], [100, 120, 80], baseline=100)  # 100 + triangle 5 * 20 / 2
    150.0
    """
    return float(iauc_batch(minutes, glucose, baseline, window=window)[0])


def net_auc(minutes, glucose, baseline: float, window: Window = None) -> float:
    """Net (signed) AUC: trapezoid area of ``glucose - baseline``, mg/dL·min (below counts < 0)."""
    return auc_measures(minutes, glucose, baseline, window=window)["net_auc_mgdl_min"]


def total_auc(minutes, glucose, window: Window = None) -> float:
    """Total AUC: plain trapezoid area under glucose (from 0 mg/dL), mg/dL·min."""
    return auc_measures(minutes, glucose, np.nan, window=window)["total_auc_mgdl_min"]


def peak(minutes, glucose, window: Window = None) -> float:
    """Highest glucose on the curve, mg/dL (NaN if no valid sample)."""
    return auc_measures(minutes, glucose, np.nan, window=window)["peak_mgdl"]


def delta_peak(minutes, glucose, baseline: float, window: Window = None) -> float:
    """Peak minus baseline, mg/dL (negative when the curve never reaches the baseline)."""
    return auc_measures(minutes, glucose, baseline, window=window)["delta_peak_mgdl"]


def time_to_peak(minutes, glucose, window: Window = None) -> float:
    """Time of the first occurrence of the highest glucose, minutes (in the input's frame)."""
    return auc_measures(minutes, glucose, np.nan, window=window)["time_to_peak_min"]


def value_at(minutes, glucose, t: float) -> float:
    """Glucose at time ``t`` (minutes) by linear interpolation, mg/dL; NaN outside the samples.

    ``value_at(minutes, glucose, 120)`` is the 2-hour value ``glucose_120_mgdl``.
    """
    return float(value_at_batch(minutes, glucose, t)[0])


def time_back_to_baseline(minutes, glucose, baseline: float, window: Window = None) -> float:
    """First time at or after the peak when the curve is back at or below baseline, minutes.

    The crossing between two samples is found by linear interpolation. If the peak itself is at
    or below the baseline (no excursion) this is the time of the peak; NaN if the curve stays
    above the baseline until its last sample.
    """
    return auc_measures(minutes, glucose, baseline, window=window)["time_to_baseline_min"]


def decay_rate(
    minutes, glucose, window: Window = None, decay_span: float = DECAY_SPAN_MIN
) -> float:
    """Post-peak decay rate: mean rate of fall over ``decay_span`` minutes after the peak.

    ``(peak - G(t_peak + decay_span)) / decay_span`` in mg/dL/min, with ``G`` linearly
    interpolated; positive when glucose falls. NaN when the curve (or window) ends before
    ``t_peak + decay_span``. This form is used rather than a log-linear slope because it is
    defined on sparse lab grids and does not need the curve to stay above baseline.
    """
    out = auc_measures(minutes, glucose, np.nan, window=window, decay_span=decay_span)
    return out["decay_mgdl_per_min"]


# --------------------------------------------------------------------------- baselines


def baseline_t0(minutes, glucose, t0: float | np.ndarray = 0.0):
    """Baseline as the glucose at meal time ``t0`` (minutes), linearly interpolated, mg/dL.

    Takes one curve (returns a float) or a 2-D batch of rows (returns an array, one per row).
    NaN when no samples lie on both sides of ``t0`` (and none exactly at it).
    """
    out = value_at_batch(minutes, glucose, t0)
    return float(out[0]) if np.ndim(minutes) == 1 and np.ndim(glucose) == 1 else out


def baseline_premeal(minutes, glucose, span: tuple[float, float] = (-30.0, 0.0)):
    """Baseline as the mean of the valid readings with ``span[0] <= t <= span[1]`` minutes, mg/dL.

    Takes one curve (returns a float) or a 2-D batch (returns an array, one per row). NaN when
    no reading lies in the span. Readings are averaged as they are (not time-weighted).
    """
    t, y = _as_rows(minutes, glucose)
    inside = np.isfinite(y) & (t >= span[0]) & (t <= span[1])
    cnt = inside.sum(axis=1)
    tot = np.where(inside, y, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan)
    return float(out[0]) if np.ndim(minutes) == 1 and np.ndim(glucose) == 1 else out


def baseline_percentile(values_prev_24h, q: float = 40.0):
    """Baseline as the ``q``-th percentile of the readings of the previous 24 h, mg/dL.

    Chkroun et al. 2023 use the 40th percentile. ``values_prev_24h`` is 1-D (one meal; returns a
    float) or 2-D with one row per meal and NaN padding (returns an array). NaN readings are
    ignored; NaN when none are left. The caller selects the 24 h before the meal.
    """
    v = np.asarray(values_prev_24h, dtype=float)
    if v.size == 0:
        return np.nan if v.ndim <= 1 else np.full(v.shape[0], np.nan)
    rows = v.reshape(1, -1) if v.ndim <= 1 else v
    # numpy's "linear" rule, NaN ignored; sorted once for all rows (meal_responses passes
    # a thousand rows at a time)
    srt = np.sort(rows, axis=1)  # NaN sort last
    cnt = np.isfinite(srt).sum(axis=1)
    pos = q / 100.0 * np.maximum(cnt - 1, 0)
    below = np.floor(pos).astype(np.int64)
    above = np.minimum(below + 1, np.maximum(cnt - 1, 0))
    frac = pos - below
    v0 = np.take_along_axis(srt, below[:, None], axis=1)[:, 0]
    v1 = np.take_along_axis(srt, above[:, None], axis=1)[:, 0]
    out = np.where(cnt > 0, v0 + frac * (v1 - v0), np.nan)
    return float(out[0]) if v.ndim <= 1 else out

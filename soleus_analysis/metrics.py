"""Standard CGM summary metrics (one row per subject) and AGP percentiles by time of day.

Every column follows a published definition, cited in :func:`glycemic_metrics`. Where a metric
needs a regular time grid (CONGA, MODD, MAGE), the readings are put on one the way the open
reference implementation iglu (Broll et al. 2021, R package; Python port ``iglu-python``) does it
in ``CGMS2DayByDay``: a grid from midnight of the first day to midnight after the last, linear
interpolation between readings, and no values inside gaps longer than ``inter_gap`` minutes.

Censored readings (``censored`` = ``"low"``/``"high"``) count at the device limit held in
``glucose_mgdl`` (e.g. 40 or 400 mg/dL): a "Low" reading is below 54 and a "High" reading above
250, so the time-in-range bands are right, while means, SDs and risk indices are bounded
estimates (slightly high for "Low", slightly low for "High").

All computations are vectorised across subjects with numpy segment operations; only MAGE's
excursion walk loops in Python, over turning points (a few per day), never over readings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .clean import as_clean, clean, range_reduce
from .core.errors import InputError
from .core.rules import Rules
from .core.schema import DEVICE_UNITS, MGDL_PER_MMOL

__all__ = [
    "glycemic_metrics",
    "agp_percentiles",
    "agp_period",
    "gri_zone",
    "gri_components",
    "METRIC_COLUMNS",
    "GRI_ZONES",
]

#: Output columns of :func:`glycemic_metrics`, in order.
METRIC_COLUMNS: tuple[str, ...] = (
    "subject",
    "days",
    "coverage_pct",
    "n_readings",
    "interval_min",
    "mean_mgdl",
    "sd_mgdl",
    "cv_pct",
    "gmi_pct",
    "tir_pct",
    "titr_pct",
    "tbr_70_pct",
    "tbr_54_pct",
    "tbr_54_69_pct",
    "tar_180_pct",
    "tar_181_250_pct",
    "tar_250_pct",
    "gri",
    "mage_mgdl",
    "conga1_mgdl",
    "modd_mgdl",
    "lbgi",
    "hbgi",
    "j_index",
)

_NS_PER_MIN = 60_000_000_000
_MIN_PER_DAY = 1440


# --------------------------------------------------------------------------------------------
# input preparation
# --------------------------------------------------------------------------------------------
def _prepare_groups(readings: Any, interval_min: float | None = None) -> tuple:
    """Arrays of the clean stage's readings (:func:`soleus_analysis.clean.clean`).

    Returns
    -------
    t, per_min, gl, starts, stops, subjects, codes, interval, mmol
        Times as integers in the column's own unit (``per_min`` units per minute), glucose
        (mg/dL), each subject's row range ``[starts, stops)``, the sorted subjects, the
        per-row subject codes, each subject's sampling interval (minutes) and which readings
        the device reported in mmol/L (None when none say so).
    """
    rules = None if interval_min is None else Rules(interval_min=interval_min)
    c = as_clean(readings, rules)
    if interval_min is not None and c.rules.interval_min != interval_min:
        c = clean(c.readings, rules)
    t = c.readings["time"].to_numpy()
    unit, count = np.datetime_data(t.dtype)
    if unit not in ("s", "ms", "us", "ns") or count != 1:
        t, unit = t.astype("datetime64[ns]"), "ns"
    per_min = 60 * {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}[unit]
    gl = c.readings["glucose_mgdl"].to_numpy(dtype="float64")
    starts, stops = c.bounds[:-1], c.bounds[1:]
    t = t.view("int64")
    mmol = (
        (c.readings[DEVICE_UNITS] == "mmol/L").to_numpy(dtype=bool)
        if DEVICE_UNITS in c.readings.columns
        else None
    )
    if len(t) > 1 and np.any((t[1:] < t[:-1]) & (c.codes[1:] == c.codes[:-1])):
        # a clock change repeated local times (the clean stage orders by the device's clock):
        # the metrics are defined on local time, as iglu's, so order by it here
        o = np.lexsort((t, c.codes))
        t, gl = t[o], gl[o]
        mmol = None if mmol is None else mmol[o]
    return (
        t,
        per_min,
        gl,
        starts,
        stops,
        list(c.subjects),
        c.codes,
        c.interval_min.to_numpy(dtype=np.float64),
        mmol if mmol is not None and mmol.any() else None,
    )


def _prepare(readings: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
    """Sorted (subject code, time in ns, glucose) arrays of the clean readings, and the subjects."""
    t, per_min, gl, _, _, subjects, codes, _, _ = _prepare_groups(readings)
    return codes, t * (_NS_PER_MIN // per_min), gl, subjects


# --------------------------------------------------------------------------------------------
# segment reductions (contiguous index ranges; no per-element group labels)
# --------------------------------------------------------------------------------------------
def _broadcast_ranges(vals: np.ndarray, lo: np.ndarray, hi: np.ndarray, n: int, fill: float):
    """Array of length ``n`` holding ``vals[i]`` on ``[lo[i], hi[i])`` and ``fill`` elsewhere."""
    edges = np.empty(2 * len(lo) + 2, dtype=np.intp)
    edges[0], edges[-1] = 0, n
    edges[1:-1:2] = lo
    edges[2:-1:2] = hi
    seg = np.full(2 * len(lo) + 1, fill)
    seg[1::2] = vals
    return np.repeat(seg, np.diff(edges))


def _range_mean_sd(
    a: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    want_sd: bool = True,
    ok: np.ndarray | None = None,
    scratch: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Count, mean and SD (ddof=1) of the finite values of ``a`` over each range ``[lo, hi)``.

    Ranges must be sorted and non-overlapping; empty ranges give count 0 and NaN mean and SD.
    ``ok`` marks the values to use (default: the finite ones; others may be NaN or 0). With
    ``scratch`` the caller gives up ``a``, which is then overwritten instead of copied.
    """
    k = len(lo)
    n, s, ss = np.zeros(k), np.zeros(k), np.zeros(k)
    full = hi > lo
    if not full.any() or len(a) == 0:
        with np.errstate(invalid="ignore", divide="ignore"):
            return n, s / n, np.full(k, np.nan)
    rlo, rhi = lo[full], hi[full]
    if ok is None:
        ok = np.isfinite(a)
    clean = bool(ok.all())
    if clean:
        n[full] = rhi - rlo
    else:
        n[full] = range_reduce(np.add, ok, rlo, rhi, dtype=np.intp)
        bad = ~ok
        if not scratch:
            a = a.copy()
            scratch = True
        np.copyto(a, 0.0, where=bad)
    s[full] = range_reduce(np.add, a, rlo, rhi)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s / n
        if want_sd:
            if not scratch:
                a = a.copy()
            m_full = mean[full]
            if len(rlo) <= 64:
                for j in range(len(rlo)):
                    a[rlo[j] : rhi[j]] -= m_full[j]
            else:
                a -= _broadcast_ranges(m_full, rlo, rhi, len(a), 0.0)
            np.multiply(a, a, out=a)
            if not clean:
                np.copyto(a, 0.0, where=bad)
            ss[full] = range_reduce(np.add, a, rlo, rhi)
        sd = np.sqrt(ss / (n - 1))
    sd[n < 2] = np.nan
    return n, mean, sd


# --------------------------------------------------------------------------------------------
# iglu-style regular day-by-day grid
# --------------------------------------------------------------------------------------------
# Longer than most functions here: one vectorised pass over every subject's readings builds the
# day-by-day grid (interpolation, gap limits, day edges); split up, each part would re-walk the
# same arrays, and this is the hot path of every metric (see benchmarks/bench_metrics.py).
def _day_grid(
    t: np.ndarray,
    per_min: int,
    gl: np.ndarray,
    starts: np.ndarray,
    stops: np.ndarray,
    dt_min: np.ndarray,
    inter_gap: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Interpolate every subject's readings onto a regular grid, as iglu's ``CGMS2DayByDay``.

    ``t`` are integer times (``per_min`` units per minute) sorted within each subject's rows
    ``[starts, stops)``. The grid of subject ``s`` runs from midnight before its first reading
    plus ``dt_min[s]`` (whole minutes) up to midnight after its last (iglu's R-compatible grid),
    point ``k`` at ``k * dt_min[s]`` minutes after that midnight. Values are interpolated
    linearly between the readings on either side (``numpy.interp``'s formula); grid points
    before the first or after the last reading, or strictly inside a gap longer than
    ``inter_gap`` minutes, are NaN. Every reading interval writes its own grid points, so there
    is no search, and the work is done in place on a few reading-sized arrays.

    Returns
    -------
    values, g_starts
        Grid glucose (mg/dL) of all subjects one after the other, and the index where each
        subject's grid begins (length ``n_groups + 1``).
    """
    n_groups = len(starts)
    day = _MIN_PER_DAY * per_min
    first, last = t[starts], t[stops - 1]
    origin = (first // day) * day
    end = -((-last) // day) * day
    n_days = (end - origin) // day
    dt = np.where(np.isfinite(dt_min) & (dt_min > 0), dt_min, 5.0)
    n_pts = (n_days * _MIN_PER_DAY // dt).astype(np.int64)
    g_starts = np.concatenate([[0], np.cumsum(n_pts)])
    values = np.full(int(g_starts[-1]), np.nan)
    n = len(t)
    if n == 0 or len(values) == 0:
        return values, g_starts
    step = np.rint(dt * per_min).astype(np.int64)
    lens = stops - starts
    one_step = bool(np.all(step == step[0]))

    def per_row(a: np.ndarray) -> np.ndarray:
        return a[0] if n_groups == 1 else np.repeat(a, lens)

    # k: index (from 1) of the first grid point at or after each reading, built in place
    k = np.subtract(t, per_row(origin))
    # x: minutes since the subject's grid origin
    x = k / per_min
    buf = np.empty(n)  # dx, then the values written at each reading's first grid point
    np.subtract(x[1:], x[:-1], out=buf[:-1])
    slope = np.empty(n)
    np.subtract(gl[1:], gl[:-1], out=slope[:-1])
    with np.errstate(invalid="ignore", divide="ignore"):
        slope[:-1] /= buf[:-1]
    slope[:-1][buf[:-1] == 0] = 0.0  # readings at one time own no grid point between them
    lasts = stops - 1
    slope[lasts] = 0.0
    gap = np.flatnonzero(buf[:-1] > inter_gap)
    few = np.concatenate([lasts, gap])
    rel_few = k[few]
    np.negative(k, out=k)
    np.floor_divide(k, step[0] if one_step else per_row(step), out=k)
    np.negative(k, out=k)
    on_grid = k[few] * (step[0] if one_step else per_row(step)[few]) == rel_few
    # interval i runs from reading i to reading i + 1 and owns grid points k[i] .. k[i + 1] - 1;
    # a subject's last reading, and the left reading of a gap longer than inter_gap, own only
    # a grid point they fall on exactly
    cnt = np.empty(n, dtype=np.int32)
    np.subtract(k[1:], k[:-1], out=cnt[:-1], casting="unsafe")
    cnt[few] = np.minimum(cnt[few], on_grid) if len(gap) else on_grid
    cnt[lasts] = on_grid[: len(lasts)]
    # grid points must lie in 1..n_pts (not midnight itself, nor past a grid short of the day)
    outside = bool(np.any(k[starts] < 1) or np.any(k[lasts] > n_pts))
    # values at each reading's first grid point: slope * (k dt - x) + gl
    w = buf
    np.multiply(k, dt[0] if n_groups == 1 else per_row(dt), out=w)
    w -= x
    w *= slope
    w += gl
    kk = k.copy() if outside else k
    off = g_starts[:-1] - 1
    np.add(k, per_row(off), out=k)  # k is now the index in ``values``
    own = cnt > 0
    if outside:
        own &= (kk >= 1) & (kk <= per_row(n_pts))
        values[k[own]] = w[own]
    else:
        # a last reading off the grid would write the grid point just after it (still inside
        # its own grid): write everything at once, then clear those
        own[lasts] = True
        if own.all():
            values[k] = w
            values[k[lasts[~on_grid[: len(lasts)]]]] = np.nan
        else:
            own[lasts] = on_grid[: len(lasts)]
            values[k[own]] = w[own]
    # the further grid points of intervals owning several (short gaps; data sparser than dt)
    sel = np.flatnonzero(cnt > 1)
    sub = np.searchsorted(stops, sel, side="right")
    loc = k[sel] - off[sub]
    r = 1
    while len(sel):
        fine = loc + r <= n_pts[sub]
        s_, loc_, sub_ = sel[fine], loc[fine], sub[fine]
        g = (loc_ + r) * dt[sub_]
        values[k[s_] + r] = slope[s_] * (g - x[s_]) + gl[s_]
        r += 1
        more = cnt[sel] > r
        sel, sub, loc = sel[more], sub[more], loc[more]
    return values, g_starts


def _lag_stats(
    values: np.ndarray, g_starts: np.ndarray, lag: np.ndarray, absolute: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Count, mean and SD of ``v[p + lag] - v[p]`` (or its absolute value) within each subject."""
    n_groups = len(lag)
    n, mean, sd = np.zeros(n_groups), np.full(n_groups, np.nan), np.full(n_groups, np.nan)
    for lg in np.unique(lag):
        subj = np.flatnonzero(lag == lg)
        if lg >= len(values):
            continue
        d = values[lg:] - values[:-lg]
        if absolute:
            np.abs(d, out=d)
        lo = g_starts[subj]
        hi = np.maximum(g_starts[subj + 1] - lg, lo)
        n[subj], mean[subj], sd[subj] = _range_mean_sd(
            d, lo, hi, want_sd=not absolute, scratch=True
        )
    return n, mean, sd


# --------------------------------------------------------------------------------------------
# MAGE (iglu's default: Fernandes et al. 2022 moving-average algorithm)
# --------------------------------------------------------------------------------------------
def _rolling_means(
    cs: np.ndarray,
    cn: np.ndarray | None,
    seg_lo: np.ndarray,
    seg_len: np.ndarray,
    w: int,
    out: np.ndarray,
) -> np.ndarray:
    """Trailing mean over ``w`` grid points ignoring NaN, restarted in each segment.

    ``cs`` is the running sum of the grid (NaN as 0) with a leading 0 and ``cn`` the running
    count of finite values (None when every value inside the segments is finite). Equivalent
    to pandas ``rolling(w, min_periods=1).mean()`` within each segment, after which iglu sets
    the first ``w`` points of a segment to the value at point ``min(w, n) - 1``. Points outside
    the segments are left undefined. The result is written to ``out`` (length ``len(cs) - 1``).
    """
    g = len(cs) - 1
    m = out
    with np.errstate(invalid="ignore", divide="ignore"):
        if g >= w:
            np.subtract(cs[w:], cs[:-w], out=m[w - 1 :])
            if cn is None:
                m[w - 1 :] /= w
            else:
                m[w - 1 :] /= cn[w:] - cn[:-w]
        head = np.minimum(w, seg_len)
        fill_to = seg_lo + head
        den = head if cn is None else cn[fill_to] - cn[seg_lo]
        fill = (cs[fill_to] - cs[seg_lo]) / den
    off = np.arange(w)
    pos = seg_lo[:, None] + off[None, :]
    use = off[None, :] < head[:, None]
    m[pos[use]] = np.broadcast_to(fill[:, None], pos.shape)[use]
    return m


def _argext_ranges(x: np.ndarray, lo: np.ndarray, hi: np.ndarray, is_max: np.ndarray) -> np.ndarray:
    """First position of the maximum (``is_max``) or minimum of ``x`` over each ``[lo, hi]``.

    NaN counts as the worst value; ranges may overlap and must be non-empty. Used on the few
    ranges left after the partitioned first passes of :func:`_turning_points`.
    """
    lengths = hi - lo + 1
    offs = np.concatenate([[0], np.cumsum(lengths)])
    rid = np.repeat(np.arange(len(lo)), lengths)
    idx = np.arange(offs[-1]) - offs[rid] + lo[rid]
    v = x[idx]
    vals = np.where(is_max[rid], v, -v)
    vals[np.isnan(vals)] = -np.inf
    best = np.maximum.reduceat(vals, offs[:-1])
    flat = np.arange(len(vals))
    first = np.minimum.reduceat(np.where(vals == best[rid], flat, len(vals)), offs[:-1])
    return lo + (first - offs[:-1])


def _extreme_values(x: np.ndarray, lo: np.ndarray, hi: np.ndarray, is_max: np.ndarray):
    """Largest (``is_max``) or smallest finite ``x`` over sorted, disjoint, non-empty ``[lo, hi)``."""
    hmax = range_reduce(np.fmax, x, lo, hi)
    hmin = range_reduce(np.fmin, x, lo, hi)
    return np.where(is_max, hmax, hmin)


def _signed_key(v: np.ndarray, is_max: np.ndarray) -> np.ndarray:
    """``v`` for maxima, ``-v`` for minima, NaN as -inf: larger is better for both."""
    key = np.where(is_max, v, -v)
    key[np.isnan(key)] = -np.inf
    return key


def _turning_points(
    x: np.ndarray,
    cross: np.ndarray,
    is_max: np.ndarray,
    seg_first: np.ndarray,
) -> np.ndarray:
    """Positions of iglu's turning points (``_calculate_extrema``), vectorised.

    ``cross`` lists, segment after segment, each segment's first point, its moving-average
    crossings and its last point (positions in ``x``); ``is_max`` the type of each entry;
    ``seg_first`` marks the first entry of each segment. Turning point ``i`` (for every entry
    but a segment's last) is the first extreme of ``x`` over ``[previous turning point,
    cross[i + 1]]`` (``[cross[i], ...]`` for a segment's first), NaN never chosen over a number.

    The recurrence is solved by fixed-point iteration: the extreme over each row's own interval
    ``[cross[i], cross[i + 1]]`` (these tile the segments, so one ``reduceat`` pass), then the
    part before ``cross[i]`` down to the previous turning point (disjoint in the first round,
    again one pass); later rounds touch only the few rows whose predecessor moved.
    """
    last = np.ones(len(cross), dtype=bool)
    last[:-1] = seg_first[1:]
    rows = np.flatnonzero(~last)  # entries that define a turning point
    if len(rows) == 0:
        return np.empty(0, dtype=np.int64)
    c_i, hi = cross[rows], cross[rows + 1]
    first_row = seg_first[rows]
    row_max = is_max[rows]
    # own interval: [c_i, hi) tiles the segment, then the end point hi (wins only if better)
    nonempty = hi > c_i
    h_best = np.full(len(rows), np.nan)
    h_best[nonempty] = _extreme_values(x, c_i[nonempty], hi[nonempty], row_max[nonempty])
    h_ok = ~np.isnan(h_best)
    h_pos = c_i.copy()
    if h_ok.any():
        h_lo, h_hi = c_i[h_ok], hi[h_ok]
        hits = np.flatnonzero(x == _broadcast_ranges(h_best[h_ok], h_lo, h_hi, len(x), np.nan))
        h_pos[h_ok] = hits[np.searchsorted(hits, h_lo)]
    h_key = np.where(h_ok, np.where(row_max, h_best, -h_best), -np.inf)
    end_key = _signed_key(x[hi], row_max)
    own = np.where(end_key > h_key, hi, h_pos)
    key = np.maximum(end_key, h_key)
    ext = own.copy()
    lo = c_i.copy()
    # first round: the part [own[i - 1], c_i) before each row's own interval (disjoint)
    todo = np.flatnonzero(~first_row)
    changed = todo[own[todo - 1] != c_i[todo]]
    if len(changed):
        lo[changed] = own[changed - 1]
        p_best = _extreme_values(x, lo[changed], c_i[changed], row_max[changed])
        p_key = _signed_key(p_best, row_max[changed])
        win = changed[p_key >= key[changed]]
        if len(win):
            ext[win] = _argext_ranges(x, lo[win], c_i[win] - 1, row_max[win])
        todo = win + 1
        todo = todo[todo < len(rows)]
        todo = todo[~first_row[todo]]
    else:
        todo = todo[:0]
    while len(todo):
        new_lo = ext[todo - 1]  # <= cross[i] always
        changed = todo[new_lo != lo[todo]]
        if len(changed) == 0:
            break
        lo[changed] = ext[changed - 1]
        new = own[changed].copy()
        in_part = np.flatnonzero(lo[changed] < c_i[changed])
        part = changed[in_part]
        if len(part):
            # extreme over [previous turning point, cross[i] - 1]; it wins ties (leftmost)
            cand = _argext_ranges(x, lo[part], c_i[part] - 1, row_max[part])
            ck = _signed_key(x[cand], row_max[part])
            pick = ck >= key[part]
            new[in_part[pick]] = cand[pick]
        moved = changed[new != ext[changed]]
        ext[changed] = new
        todo = moved + 1
        todo = todo[todo < len(rows)]
        todo = todo[~first_row[todo]]
    return ext


def _mage_plus(mm: list[float], sd: float) -> list[float]:
    """Heights of nadir-to-peak excursions larger than ``sd`` (iglu ``calculate_mage_plus``)."""
    n = len(mm)
    out: list[float] = []
    j = 0
    run_min, run_arg = mm[0], 0
    while j < n:
        mj = mm[j]
        if mj < run_min:
            run_min, run_arg = mj, j
        if mj - run_min > sd:
            low = mm[run_arg]
            k = j
            while k < n:
                mk = mm[k]
                if mk >= mj:  # ride the peak upward
                    mj = mk
                if mk - mj < -sd or k == n - 1:
                    out.append(mj - low)
                    j = k
                    run_min, run_arg = mk, k
                    break
                k += 1
        else:
            j += 1
    return out


def _mage_minus(mm: list[float], sd: float) -> list[float]:
    """Depths (positive) of peak-to-nadir excursions larger than ``sd`` (iglu ``calculate_mage_minus``).

    After an excursion the running peak restarts as the first maximum over [nadir, end],
    tracked while riding the nadir down (Python's ``max`` semantics, NaN included).
    """
    n = len(mm)
    out: list[float] = []
    j = 0
    run_max, run_arg = mm[0], 0
    while j < n:
        mj = mm[j]
        if mj > run_max:
            run_max, run_arg = mj, j
        if mj - run_max < -sd:
            high = mm[run_arg]
            top, top_arg = mj, j  # first maximum since the current nadir
            k = j
            while k < n:
                mk = mm[k]
                if mk <= mj:  # ride the nadir downward
                    mj = mk
                    top, top_arg = mk, k
                elif mk > top:
                    top, top_arg = mk, k
                if mk - mj > sd or k == n - 1:
                    out.append(high - mj)
                    j = k
                    run_max, run_arg = top, top_arg
                    break
                k += 1
        else:
            j += 1
    return out


# Longer than most: iglu's MAGE algorithm (moving averages, crossings, turning points, the
# plus/minus excursions) kept in one place in its published order, so it can be read against
# iglu line by line; the tests compare it with iglu-python.
def _mage(
    values: np.ndarray,
    g_starts: np.ndarray,
    short_ma: int = 5,
    long_ma: int = 32,
    max_gap: float = 180.0,
    dt: float = 5.0,
) -> np.ndarray:
    """MAGE per subject on a ``dt``-minute grid (iglu ``mage(version="ma", direction="avg")``).

    Works on the whole grid at once: running sums are taken over all subjects, and segment
    boundaries (subject changes, gaps longer than ``max_gap`` minutes) only restart the moving
    averages and bound the crossings.
    """
    n_groups = len(g_starts) - 1
    out = np.full(n_groups, np.nan)
    ok = np.isfinite(values)
    # runs of valid grid points, [run_lo, run_hi], never across two subjects' grids
    edge = np.flatnonzero(ok[1:] != ok[:-1]) + 1
    bounds = np.union1d(np.concatenate([[0], edge, [len(ok)]]), g_starts[1:-1])
    run_lo, run_hi = bounds[:-1], bounds[1:] - 1
    is_valid = ok[run_lo]
    run_lo, run_hi = run_lo[is_valid], run_hi[is_valid]
    if len(run_lo) == 0:
        return out
    # segments: runs joined across gaps <= max_gap, split at subjects and at gaps > max_gap
    brk = np.ones(len(run_lo), dtype=bool)
    brk[1:] = (run_lo[1:] - run_hi[:-1]) * dt > max_gap
    run_sub = np.searchsorted(g_starts, run_lo, side="right") - 1
    brk[1:] |= run_sub[1:] != run_sub[:-1]
    first_i = np.flatnonzero(brk)
    seg_lo = run_lo[first_i]
    seg_hi = run_hi[np.append(first_i[1:] - 1, len(run_lo) - 1)]
    seg_sub = run_sub[first_i]
    seg_len = seg_hi - seg_lo + 1
    n_valid = int((run_hi - run_lo + 1).sum())
    holes = n_valid < seg_len.sum()  # NaN inside a segment
    # running sums over the whole grid (NaN as 0); windows never mix segments that matter
    v0 = np.where(ok, values, 0.0)
    cs = np.zeros(len(values) + 1)
    np.cumsum(v0, out=cs[1:])
    cn = None
    if holes:
        cn = np.zeros(len(values) + 1)
        np.cumsum(ok, out=cn[1:])
    # per-segment SD of the grid values and validity (iglu: n >= 7, n >= short_ma, SD >= 1)
    n_ok, _, seg_sd = _range_mean_sd(v0, seg_lo, seg_hi + 1, ok=ok, scratch=True)
    seg_ok = (seg_len >= 7) & (seg_len >= short_ma) & (n_ok > 0) & (seg_sd >= 1)
    delta = _rolling_means(cs, cn, seg_lo, seg_len, short_ma, np.empty(len(values)))
    delta -= _rolling_means(cs, cn, seg_lo, seg_len, long_ma, v0)
    del v0, cs, cn
    first_type_max = delta[seg_lo] > 0
    # crossings: a valid (finite, non-zero) delta whose sign differs from the previous valid
    # delta of its segment
    pos = delta > 0
    dv = np.flatnonzero(pos | (delta < 0))
    sgn = pos[dv]
    flip = np.flatnonzero(sgn[1:] != sgn[:-1])
    cross, prev = dv[flip + 1], dv[flip]
    sid = np.searchsorted(seg_lo, cross, side="right") - 1
    keep = sid >= 0
    sid = np.where(keep, sid, 0)
    keep &= (cross <= seg_hi[sid]) & (prev >= seg_lo[sid]) & seg_ok[sid]
    cross = cross[keep]
    ok_seg = np.flatnonzero(seg_ok)
    if len(ok_seg) == 0:
        return out
    # entries: each valid segment's first point, its crossings, its last point
    e_pos = np.concatenate([seg_lo[ok_seg], cross, seg_hi[ok_seg]])
    e_kind = np.concatenate(
        [np.zeros(len(ok_seg), np.int64), np.ones(len(cross), np.int64), np.full(len(ok_seg), 2)]
    )
    e_max = np.concatenate([first_type_max[ok_seg], pos[cross], np.zeros(len(ok_seg), bool)])
    order = np.lexsort((e_kind, e_pos))
    e_pos, e_kind, e_max = e_pos[order], e_kind[order], e_max[order]
    ext = _turning_points(values, e_pos, e_max, e_kind == 0)
    # turning points grouped by segment (every entry but a segment's last makes one)
    tp_seg = np.searchsorted(seg_lo, e_pos[e_kind != 2], side="right") - 1
    mm_all = values[ext].tolist()
    tp_lo = np.searchsorted(tp_seg, ok_seg, side="left").tolist()
    tp_hi = np.searchsorted(tp_seg, ok_seg, side="right").tolist()
    num = np.zeros(n_groups)
    den = np.zeros(n_groups)
    hours_all = ((seg_hi - seg_lo) * dt).tolist()
    sd_all = seg_sd.tolist()
    sub_all = seg_sub.tolist()
    for j, s in enumerate(ok_seg.tolist()):
        mm = mm_all[tp_lo[j] : tp_hi[j]]
        if not mm:
            continue
        hours, sub = hours_all[s], sub_all[s]
        for heights in (_mage_plus(mm, sd_all[s]), _mage_minus(mm, sd_all[s])):
            if heights:
                num[sub] += sum(heights) / len(heights) * hours
                den[sub] += hours
    with np.errstate(invalid="ignore", divide="ignore"):
        res = num / den
    has = den > 0
    out[has] = res[has]
    return out


#: Consensus band limits (Battelino 2019/2023) in each unit: very low, low, tight, range, high.
BAND_LIMITS: dict[str, tuple[float, float, float, float, float]] = {
    "mg/dL": (54.0, 70.0, 140.0, 180.0, 250.0),
    "mmol/L": (3.0, 3.9, 7.8, 10.0, 13.9),
}


def _bands_in(v: np.ndarray, limits: tuple[float, float, float, float, float]) -> np.ndarray:
    very_low, low, tight, high, very_high = limits
    return (
        (v >= very_low).view(np.int8)
        + (v >= low).view(np.int8)
        + (v > tight).view(np.int8)
        + (v > high).view(np.int8)
        + (v > very_high).view(np.int8)
    )


def _bands(g: np.ndarray, mmol: np.ndarray | None = None) -> np.ndarray:
    """Band of each glucose value (mg/dL): 0 <54 | 1 54-<70 | 2 70-140 | 3 >140-180 |
    4 >180-250 | 5 >250, or by the mmol/L limits 3.0/3.9/7.8/10.0/13.9 for the readings
    ``mmol`` marks, on the value as the device reported it (mg/dL / 18.0156, to 0.01 mmol/L):
    a reading of 10.0 mmol/L is in range although 180.16 mg/dL is not."""
    band = _bands_in(g, BAND_LIMITS["mg/dL"])
    if mmol is not None and mmol.any():
        v = np.round(g[mmol] / MGDL_PER_MMOL, 2)
        band[mmol] = _bands_in(v, BAND_LIMITS["mmol/L"])
    return band


def _risk_f(g: np.ndarray) -> np.ndarray:
    """Kovatchev's symmetrised glucose f(g) = 1.509 (ln(g)^1.084 - 5.381), g in mg/dL."""
    return 1.509 * (np.log(g) ** 1.084 - 5.381)


#: Largest whole mg/dL value handled through a per-value histogram (CGM values are whole mg/dL).
_MAX_HIST_MGDL = 4096


def _level_stats(
    gl: np.ndarray, starts: np.ndarray, stops: np.ndarray, mmol: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean, SD (ddof=1), band counts (n_groups x 6), LBGI and HBGI of each subject's readings.

    Whole-number readings (the usual mg/dL export) go through one per-subject histogram of the
    values, so each reading is touched once; other values (and readings reported in mmol/L,
    ``mmol``, banded by the mmol/L limits) are reduced over each subject's contiguous rows.
    """
    n_groups = len(starts)
    n = (stops - starts).astype(float)
    gi = gl.astype(np.int64)
    top = int(gi.max()) if len(gi) else 0
    hist_ok = mmol is None and top <= _MAX_HIST_MGDL and n_groups * (top + 1) <= 50_000_000
    if hist_ok and np.array_equal(gi, gl):
        k = top + 1
        if n_groups > 1:  # bin of (subject, value): subject * k + value
            gi += np.repeat(np.arange(n_groups) * k, stops - starts)
        hist = np.bincount(gi, minlength=n_groups * k).reshape(n_groups, k).astype(float)
        v = np.arange(k, dtype=float)
        mean = (hist @ v) / n  # exact: sums of whole numbers
        dev = v[None, :] - mean[:, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            sd = np.sqrt(np.einsum("ij,ij,ij->i", hist, dev, dev) / (n - 1))
        sd[n < 2] = np.nan
        band = _bands(v)
        counts = np.stack([hist[:, band == b].sum(axis=1) for b in range(6)], axis=1)
        f = np.zeros(k)
        f[1:] = _risk_f(v[1:])
        risk = 10.0 * f**2
        lbgi = (hist @ np.where(f < 0, risk, 0.0)) / n
        hbgi = (hist @ np.where(f > 0, risk, 0.0)) / n
        return mean, sd, counts, lbgi, hbgi
    del gi
    lo, hi = starts, stops
    _, mean, sd = _range_mean_sd(gl, lo, hi, ok=np.ones(len(gl), dtype=bool))
    band = _bands(gl, mmol)
    counts = np.stack(
        [range_reduce(np.add, band == b, lo, hi, dtype=np.intp) for b in range(6)], axis=1
    )
    f = _risk_f(gl)
    risk = 10.0 * f**2
    lbgi = range_reduce(np.add, np.where(f < 0, risk, 0.0), lo, hi) / n
    hbgi = range_reduce(np.add, np.where(f > 0, risk, 0.0), lo, hi) / n
    return mean, sd, counts, lbgi, hbgi


def glycemic_metrics(
    readings: pd.DataFrame,
    *,
    interval_min: float | None = None,
    conga_hours: int = 1,
    modd_lag_days: int = 1,
    inter_gap_min: float = 45.0,
    mage_short_ma: int = 5,
    mage_long_ma: int = 32,
    mage_max_gap_min: float = 180.0,
) -> pd.DataFrame:
    """Standard CGM summary, one row per subject.

    Parameters
    ----------
    readings : pandas.DataFrame or CleanReadings
        Canonical readings: ``subject``, ``time`` (local, tz-naive), ``glucose_mgdl`` (mg/dL).
        Rows with missing glucose are ignored (a subject without any usable reading gets no
        row); censored readings count at the device limit. Readings whose optional
        ``device_units`` is ``"mmol/L"`` are put in the time-in-range bands by the mmol/L
        consensus limits (3.0, 3.9, 7.8, 10.0, 13.9) as the device reported them.
    interval_min : float, optional
        Expected spacing of readings (min). By default the median spacing of each subject's
        consecutive distinct readings.
    conga_hours : int, default 1
        Lag of CONGA (hours); the column keeps its name ``conga1_mgdl``.
    modd_lag_days : int, default 1
        Lag of MODD (days).
    inter_gap_min : float, default 45
        Longest gap (min) bridged by linear interpolation on the regular grid (iglu's default).
    mage_short_ma, mage_long_ma : int, default 5 and 32
        Short and long moving-average lengths (grid points of 5 min) for MAGE.
    mage_max_gap_min : float, default 180
        Gaps longer than this (min) split the trace into segments for MAGE.

    Returns
    -------
    pandas.DataFrame
        One row per subject (sorted), columns :data:`METRIC_COLUMNS`:

        - ``days``: span covered, (last - first reading + one interval) / 24 h.
        - ``coverage_pct``: readings present / expected, expected = span / interval + 1
          (interval from ``interval_min`` or the median spacing), capped at 100 %.
        - ``n_readings``, ``interval_min`` (min).
        - ``mean_mgdl``, ``sd_mgdl`` (sample SD, ddof=1), ``cv_pct`` = 100 SD / mean
          (Battelino et al. 2019, Diabetes Care 42:1593; Battelino et al. 2023, Lancet Diabetes
          Endocrinol 11:42).
        - ``gmi_pct`` = 3.31 + 0.02392 x mean (mg/dL) (Bergenstal et al. 2018, Diabetes Care
          41:2275).
        - Time in ranges, % of readings (Battelino 2019/2023): ``tir_pct`` 70-180 inclusive,
          ``titr_pct`` 70-140 inclusive, ``tbr_70_pct`` < 70, ``tbr_54_pct`` < 54,
          ``tbr_54_69_pct`` 54 to < 70, ``tar_180_pct`` > 180, ``tar_181_250_pct`` > 180 to 250,
          ``tar_250_pct`` > 250. The five bands < 54, 54-69, 70-180, 181-250, > 250 sum to 100.
        - ``gri`` = 3.0 VLow + 2.4 Low + 1.6 VHigh + 0.8 High (% time), capped at 100 (Klonoff
          et al. 2023, J Diabetes Sci Technol 17:1226; the same as 3.0 (VLow + 0.8 Low) +
          1.6 (VHigh + 0.5 High)).
        - ``mage_mgdl``: mean amplitude of glycemic excursions (Service et al. 1970, Diabetes
          19:644) by the moving-average algorithm of Fernandes et al. 2022 (J Diabetes Sci Technol
          16:576) as in iglu's default ``mage(version="ma", direction="avg")``: readings on a
          5-min grid, segments split at gaps > ``mage_max_gap_min``, turning points from crossings
          of the 5- and 32-point moving averages, excursions > 1 SD counted, MAGE+ and MAGE-
          averaged, segments weighted by duration.
        - ``conga1_mgdl``: SD (ddof=1) of differences between grid values ``conga_hours`` apart
          (McDonnell et al. 2005, Diabetes Technol Ther 7:253; iglu ``conga``).
        - ``modd_mgdl``: mean absolute difference between grid values ``modd_lag_days`` days apart
          (Service & Nelson 1980, Diabetes Care 3:58; iglu ``modd``).
        - ``lbgi``, ``hbgi``: mean of 10 f(g)^2 over readings with f < 0 (resp. f > 0), where
          f = 1.509 (ln(g)^1.084 - 5.381), g in mg/dL (Kovatchev et al. 1997/2006; iglu).
        - ``j_index`` = 0.001 (mean + SD)^2 (Wojcicki 1995, Horm Metab Res 27:41).

    Notes
    -----
    CONGA and MODD use a grid at the data's own interval (rounded to whole minutes; iglu takes
    the truncated mode of the spacings, which is the same for regular data) and MAGE a 5-min grid,
    built as iglu's ``CGMS2DayByDay``. Checked against ``iglu-python`` 0.4.3 in the tests.
    """
    if interval_min is not None and not interval_min > 0:
        raise InputError(f"interval_min must be > 0 minutes, got {interval_min!r}")
    t, per_min, gl, starts, stops, subjects, _, interval, mmol = _prepare_groups(
        readings, interval_min
    )
    n_groups = len(subjects)
    if n_groups == 0:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in METRIC_COLUMNS}).astype(
            {"subject": "object"}
        )
    n = (stops - starts).astype(float)
    steps = np.diff(t)  # time steps between consecutive rows (across subjects at boundaries)
    span_min = (t[stops - 1] - t[starts]) / per_min
    step = np.where(np.isfinite(interval), interval, 0.0)
    days = (span_min + step) / _MIN_PER_DAY
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = np.where(step > 0, np.floor(span_min / np.where(step > 0, step, 1) + 0.5), 0) + 1
    # distinct times present (duplicated timestamps count once)
    dup = np.flatnonzero(steps == 0) + 1
    dup = dup[~np.isin(dup, starts)]
    present = (stops - starts) - np.bincount(
        np.searchsorted(stops, dup, side="right"), minlength=n_groups
    )
    coverage = np.minimum(100.0, 100.0 * present / expected)
    del steps

    mean, sd, counts, lbgi, hbgi = _level_stats(gl, starts, stops, mmol)
    share = 100.0 * counts / n[:, None]
    tbr54, tbr70 = share[:, 0], share[:, 0] + share[:, 1]
    titr, tir = share[:, 2], share[:, 2] + share[:, 3]
    tar250, tar180 = share[:, 5], share[:, 4] + share[:, 5]
    gri = np.minimum(
        100.0, 3.0 * tbr54 + 2.4 * (tbr70 - tbr54) + 1.6 * tar250 + 0.8 * (tar180 - tar250)
    )

    # regular grid at the data interval for CONGA and MODD
    dt_grid = np.maximum(1.0, np.round(np.where(np.isfinite(interval), interval, 5.0)))
    vals, g_starts = _day_grid(t, per_min, gl, starts, stops, dt_grid, inter_gap_min)
    lag_c = (np.round(60.0 / dt_grid) * conga_hours).astype(np.int64)
    _, _, conga = _lag_stats(vals, g_starts, np.maximum(lag_c, 1), absolute=False)
    lag_m = (modd_lag_days * _MIN_PER_DAY // dt_grid).astype(np.int64)
    _, modd, _ = _lag_stats(vals, g_starts, np.maximum(lag_m, 1), absolute=True)
    # MAGE on a 5-minute grid
    if np.all(dt_grid == 5.0):
        v5, s5 = vals, g_starts
    else:
        v5, s5 = _day_grid(t, per_min, gl, starts, stops, np.full(n_groups, 5.0), inter_gap_min)
    mage = _mage(v5, s5, mage_short_ma, mage_long_ma, mage_max_gap_min)

    with np.errstate(invalid="ignore", divide="ignore"):
        cv = 100.0 * sd / mean
    return pd.DataFrame(
        {
            "subject": pd.Series(subjects, dtype="object"),
            "days": days,
            "coverage_pct": coverage,
            "n_readings": n.astype(np.int64),
            "interval_min": interval,
            "mean_mgdl": mean,
            "sd_mgdl": sd,
            "cv_pct": cv,
            "gmi_pct": 3.31 + 0.02392 * mean,
            "tir_pct": tir,
            "titr_pct": titr,
            "tbr_70_pct": tbr70,
            "tbr_54_pct": tbr54,
            "tbr_54_69_pct": share[:, 1],
            "tar_180_pct": tar180,
            "tar_181_250_pct": share[:, 4],
            "tar_250_pct": tar250,
            "gri": gri,
            "mage_mgdl": mage,
            "conga1_mgdl": conga,
            "modd_mgdl": modd,
            "lbgi": lbgi,
            "hbgi": hbgi,
            "j_index": 0.001 * (mean + sd) ** 2,
        },
        columns=list(METRIC_COLUMNS),
    )


def agp_percentiles(
    readings: pd.DataFrame,
    bin_minutes: int = 15,
    percentiles: Sequence[float] = (5, 25, 50, 75, 95),
    smooth: int = 0,
) -> pd.DataFrame:
    """Glucose percentiles by time of day, midnight to midnight (the AGP; Battelino et al. 2019).

    Parameters
    ----------
    readings : pandas.DataFrame or CleanReadings
        Canonical readings (``subject``, ``time``, ``glucose_mgdl`` in mg/dL).
    bin_minutes : int, default 15
        Width of the time-of-day bins (min); must divide 1440.
    percentiles : sequence of float, default (5, 25, 50, 75, 95)
        Percentiles (0-100) to compute, linear interpolation between order statistics.
    smooth : int, default 0
        Half-width (in bins) of a centred moving average applied to each percentile curve,
        wrapping around midnight; 0 for none.

    Returns
    -------
    pandas.DataFrame
        Columns ``subject``, ``minute_of_day`` (start of the bin, min after midnight), ``n``
        (readings in the bin) and one column ``p<q>`` per percentile (mg/dL), e.g. ``p5``,
        ``p50``. Every subject has all ``1440 / bin_minutes`` bins (NaN where empty).
    """
    if bin_minutes <= 0 or _MIN_PER_DAY % bin_minutes:
        raise InputError(f"bin_minutes must divide 1440, got {bin_minutes!r}")
    qs = [float(q) for q in percentiles]
    if any(not 0 <= q <= 100 for q in qs):
        raise InputError(f"percentiles must lie in 0..100, got {list(percentiles)!r}")
    names = [f"p{q:g}".replace(".", "_") for q in qs]
    codes, t_ns, gl, subjects = _prepare(readings)
    n_bins = _MIN_PER_DAY // bin_minutes
    n_groups = len(subjects)
    minute = (t_ns // _NS_PER_MIN) % _MIN_PER_DAY
    cell = codes * n_bins + minute // bin_minutes
    n_cells = n_groups * n_bins
    counts = np.bincount(cell, minlength=n_cells)
    # sort within cells and read order statistics directly (type-7 quantiles)
    order = np.lexsort((gl, cell))
    sorted_gl = gl[order]
    cell_start = np.concatenate([[0], np.cumsum(counts)])[:-1]
    table = np.full((n_cells, len(qs)), np.nan)
    has = counts > 0
    for j, q in enumerate(qs):
        h = (counts[has] - 1) * q / 100.0
        lo = np.floor(h).astype(np.int64)
        hi = np.minimum(lo + 1, counts[has] - 1)
        base = cell_start[has]
        a, b = sorted_gl[base + lo], sorted_gl[base + hi]
        table[has, j] = a + (h - lo) * (b - a)
    if smooth > 0:
        cube = table.reshape(n_groups, n_bins, len(qs))
        acc = np.zeros_like(cube)
        cnt = np.zeros_like(cube)
        for shift in range(-smooth, smooth + 1):
            rolled = np.roll(cube, shift, axis=1)
            ok = np.isfinite(rolled)
            acc += np.where(ok, rolled, 0.0)
            cnt += ok
        with np.errstate(invalid="ignore", divide="ignore"):
            sm = acc / cnt
        sm[~np.isfinite(cube)] = np.nan
        table = sm.reshape(n_cells, len(qs))
    out = pd.DataFrame(
        {
            "subject": pd.Series(np.repeat(np.array(subjects, dtype=object), n_bins), dtype=object),
            "minute_of_day": np.tile(np.arange(n_bins) * bin_minutes, n_groups),
            "n": counts,
        }
    )
    for j, name in enumerate(names):
        out[name] = table[:, j]
    return out


# --------------------------------------------------------------------------------------------
# the AGP report's period and the GRI's zones
# --------------------------------------------------------------------------------------------
#: GRI zones (Klonoff et al. 2023, J Diabetes Sci Technol 17:1226): the zone and the highest
#: GRI it holds (A 0-20, B 21-40, C 41-60, D 61-80, E 81-100).
GRI_ZONES: tuple[tuple[str, float], ...] = (
    ("A", 20.0),
    ("B", 40.0),
    ("C", 60.0),
    ("D", 80.0),
    ("E", 100.0),
)


def gri_zone(gri: float) -> str:
    """The GRI's zone, ``"A"`` (lowest risk, GRI <= 20) to ``"E"`` (GRI > 80); ``""`` for NaN."""
    try:
        v = float(gri)
    except (TypeError, ValueError):
        return ""
    if not np.isfinite(v):
        return ""
    return next(z for z, top in GRI_ZONES if v <= top or z == "E")


def gri_components(metrics_row: Any) -> tuple[float, float]:
    """The GRI grid's two axes from a :func:`glycemic_metrics` row, % of time.

    Hypoglycemia component = VLow + 0.8 Low (< 54, 54-69 mg/dL); hyperglycemia component =
    VHigh + 0.5 High (> 250, 181-250 mg/dL); GRI = 3.0 hypo + 1.6 hyper (Klonoff et al. 2023).
    """
    m = dict(metrics_row)
    hypo = float(m["tbr_54_pct"]) + 0.8 * (float(m["tbr_70_pct"]) - float(m["tbr_54_pct"]))
    hyper = float(m["tar_250_pct"]) + 0.5 * (float(m["tar_180_pct"]) - float(m["tar_250_pct"]))
    return hypo, hyper


def agp_period(readings: Any, days: int = 14) -> pd.Series:
    """The AGP report's period: the last ``days`` calendar days with data, and the % time the
    CGM was active in them (one subject).

    The period ends at midnight after the last reading's day and starts ``days`` days earlier,
    or at midnight of the first reading's day when the data are shorter. The CGM was active
    for (distinct reading times x the sampling interval) of the time from the period's start
    (or the first reading, if later) to its end (or the last reading plus one interval, if
    earlier), capped at 100 %: an export taken in the morning is not counted short for the
    rest of that day, while gaps inside the period are.

    Parameters
    ----------
    readings : pandas.DataFrame or CleanReadings
        One subject's readings (``time`` local, ``glucose_mgdl``).
    days : int, default 14
        Length of the period, days (the AGP report's 14 by default).

    Returns
    -------
    pandas.Series
        ``start`` and ``end`` (midnights, ``end`` exclusive), ``days`` (calendar days in the
        period), ``first_reading``, ``last_reading``, ``n_readings`` (in the period),
        ``interval_min`` and ``cgm_active_pct``; NaT/NaN without readings.
    """
    if int(days) != days or days < 1:
        raise InputError(f"days must be a whole number >= 1, got {days!r}")
    c = as_clean(readings)
    t = pd.to_datetime(c.readings["time"])
    if len(c.subjects) > 1:
        raise InputError(f"agp_period takes one person's readings, got {len(c.subjects)} subjects")
    if t.empty:
        return pd.Series(
            {
                "start": pd.NaT,
                "end": pd.NaT,
                "days": 0,
                "first_reading": pd.NaT,
                "last_reading": pd.NaT,
                "n_readings": 0,
                "interval_min": np.nan,
                "cgm_active_pct": np.nan,
            }
        )
    last, first = t.max(), t.min()
    end = last.normalize() + pd.Timedelta(days=1)
    start = max(end - pd.Timedelta(days=int(days)), first.normalize())
    inside = t[(t >= start) & (t < end)]
    interval = float(c.interval_min.iloc[0]) if len(c.interval_min) else np.nan
    step = pd.Timedelta(minutes=interval) if np.isfinite(interval) else pd.Timedelta(0)
    active_from = max(start, inside.min())
    active_to = min(end, inside.max() + step)
    span_min = (active_to - active_from) / pd.Timedelta(minutes=1)
    n_times = int(inside.nunique())
    active = (
        min(100.0, 100.0 * n_times * interval / span_min)
        if span_min > 0 and np.isfinite(interval)
        else np.nan
    )
    return pd.Series(
        {
            "start": start,
            "end": end,
            "days": int(round((end - start) / pd.Timedelta(days=1))),
            "first_reading": inside.min(),
            "last_reading": inside.max(),
            "n_readings": int(len(inside)),
            "interval_min": interval,
            "cgm_active_pct": active,
        }
    )

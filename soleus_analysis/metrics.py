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

import numpy as np
import pandas as pd

from .errors import InputError

__all__ = ["glycemic_metrics", "agp_percentiles", "METRIC_COLUMNS"]

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
def _prepare(readings: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
    """Sorted (subject code, time in ns, glucose) arrays of the usable readings, and the subjects."""
    for col in ("subject", "time", "glucose_mgdl"):
        if col not in readings.columns:
            raise InputError(f"readings lack column {col!r}; expected subject, time, glucose_mgdl")
    time = pd.to_datetime(readings["time"])
    if getattr(time.dt, "tz", None) is not None:
        time = time.dt.tz_localize(None)
    t_ns = time.to_numpy(dtype="datetime64[ns]").view("int64")
    gl = pd.to_numeric(readings["glucose_mgdl"], errors="coerce").to_numpy(dtype="float64")
    codes, uniques = pd.factorize(readings["subject"].astype(str), sort=True)
    keep = (codes >= 0) & np.isfinite(gl) & (gl > 0) & ~pd.isna(time).to_numpy()
    codes, t_ns, gl = codes[keep], t_ns[keep], gl[keep]
    # subjects without a usable reading are left out
    present = np.flatnonzero(np.bincount(codes, minlength=len(uniques)))
    remap = np.zeros(len(uniques), dtype=np.int64)
    remap[present] = np.arange(len(present))
    codes = remap[codes]
    subjects = [uniques[i] for i in present]
    dc, dt = np.diff(codes), np.diff(t_ns)
    if np.all((dc > 0) | ((dc == 0) & (dt >= 0))):  # already sorted, as readers return them
        return codes, t_ns, gl, subjects
    order = np.lexsort((t_ns, codes))
    return codes[order], t_ns[order], gl[order], subjects


def _group_bounds(codes: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Start and stop index of each subject's run in the sorted code array."""
    starts = np.searchsorted(codes, np.arange(n_groups), side="left")
    stops = np.searchsorted(codes, np.arange(n_groups), side="right")
    return starts, stops


def _infer_interval(codes: np.ndarray, t_ns: np.ndarray, n_groups: int) -> np.ndarray:
    """Median spacing (min) of consecutive distinct readings per subject; NaN when undefined."""
    out = np.full(n_groups, np.nan)
    if len(t_ns) < 2:
        return out
    d = np.diff(t_ns) / _NS_PER_MIN
    same = (codes[1:] == codes[:-1]) & (d > 0)
    d, c = d[same], codes[1:][same]
    if len(d) == 0:
        return out
    med = pd.Series(d).groupby(c).median()
    out[med.index.to_numpy()] = med.to_numpy()
    return out


# --------------------------------------------------------------------------------------------
# iglu-style regular day-by-day grid
# --------------------------------------------------------------------------------------------
def _day_grid(
    codes: np.ndarray,
    t_ns: np.ndarray,
    gl: np.ndarray,
    n_groups: int,
    dt_min: np.ndarray,
    inter_gap: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Interpolate every subject's readings onto a regular grid, as iglu's ``CGMS2DayByDay``.

    The grid of subject ``s`` runs from midnight before its first reading plus ``dt_min[s]`` up
    to midnight after its last (iglu's R-compatible grid). Grid points before the first or after
    the last reading, or strictly inside a gap longer than ``inter_gap`` minutes, are NaN.

    Returns
    -------
    values, subject, minute, starts
        Grid glucose (mg/dL), subject code of each grid point, minutes since the subject's grid
        origin, and the index where each subject's grid begins (length ``n_groups + 1``).
    """
    starts, stops = _group_bounds(codes, n_groups)
    has = stops > starts
    day_ns = _MIN_PER_DAY * _NS_PER_MIN
    first = np.where(has, t_ns[np.minimum(starts, len(t_ns) - 1)], 0)
    last = np.where(has, t_ns[np.maximum(stops - 1, 0)], 0)
    origin = (first // day_ns) * day_ns
    end = -((-last) // day_ns) * day_ns
    n_days = np.where(has, (end - origin) // day_ns, 0)
    dt = np.where(np.isfinite(dt_min) & (dt_min > 0), dt_min, 5.0)
    n_pts = (n_days * _MIN_PER_DAY // dt).astype(np.int64)
    g_starts = np.concatenate([[0], np.cumsum(n_pts)])
    g_sub = np.repeat(np.arange(n_groups), n_pts)
    g_k = np.arange(g_starts[-1]) - g_starts[g_sub] + 1
    g_min = g_k * dt[g_sub]
    # one global time axis in minutes: each subject offset far from the next
    span = float(n_days.max() if n_groups else 0) * _MIN_PER_DAY + 2 * _MIN_PER_DAY
    x_read = (t_ns - origin[codes]) / _NS_PER_MIN + codes * span
    x_grid = g_min + g_sub * span
    values = np.interp(x_grid, x_read, gl) if len(x_read) else np.full(len(x_grid), np.nan)
    # outside each subject's first..last reading
    lo = ((first - origin) / _NS_PER_MIN)[g_sub]
    hi = ((last - origin) / _NS_PER_MIN)[g_sub]
    bad = (g_min < lo) | (g_min > hi)
    # strictly inside a gap longer than inter_gap
    if len(x_read) > 1:
        j = np.searchsorted(x_read, x_grid, side="right")
        j = np.clip(j, 1, len(x_read) - 1)
        left, right = x_read[j - 1], x_read[j]
        bad |= (x_grid > left) & (x_grid < right) & ((right - left) > inter_gap)
    values[bad] = np.nan
    return values, g_sub, g_min, g_starts


def _lagged_pairs(
    g_sub: np.ndarray, g_starts: np.ndarray, lag: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (p, p + lag[subject]) that stay within the same subject's grid."""
    p = np.arange(len(g_sub))
    q = p + lag[g_sub]
    ok = q < g_starts[g_sub + 1]
    return p[ok], q[ok]


def _grouped_mean_sd(
    values: np.ndarray, groups: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Count, mean and SD (ddof=1) per group of the finite ``values``."""
    ok = np.isfinite(values)
    v, g = (values, groups) if ok.all() else (values[ok], groups[ok])
    n = np.bincount(g, minlength=n_groups).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(g, weights=v, minlength=n_groups) / n
        ss = np.bincount(g, weights=(v - mean[g]) ** 2, minlength=n_groups)
        sd = np.sqrt(ss / (n - 1))
    sd[n < 2] = np.nan
    return n, mean, sd


# --------------------------------------------------------------------------------------------
# MAGE (iglu's default: Fernandes et al. 2022 moving-average algorithm)
# --------------------------------------------------------------------------------------------
def _segment_rolling_mean(
    x: np.ndarray, seg_id: np.ndarray, offs: np.ndarray, w: int
) -> np.ndarray:
    """Trailing mean over ``w`` points ignoring NaN, per segment, as iglu's moving averages.

    Equivalent to pandas ``rolling(w, min_periods=1).mean()`` within each segment, after which
    iglu sets the first ``w`` points of a segment to the value at point ``min(w, n) - 1``.
    ``offs`` holds the start of each segment in ``x`` and, last, ``len(x)``.
    """
    ok = np.isfinite(x)
    cs = np.concatenate([[0.0], np.cumsum(np.where(ok, x, 0.0))])
    cn = np.concatenate([[0], np.cumsum(ok)])
    m = np.empty(len(x))
    with np.errstate(invalid="ignore", divide="ignore"):
        if len(x) >= w:
            m[w - 1 :] = (cs[w:] - cs[:-w]) / (cn[w:] - cn[:-w])
        seg_start = offs[:-1]
        fill_at = seg_start + np.minimum(w, offs[1:] - seg_start) - 1
        fill = (cs[fill_at + 1] - cs[seg_start]) / (cn[fill_at + 1] - cn[seg_start])
    loc = np.arange(len(x)) - seg_start[seg_id]
    head = loc < w
    m[head] = fill[seg_id[head]]
    return m


def _range_argext(
    lo: np.ndarray, hi: np.ndarray, is_max: np.ndarray, key_max: np.ndarray, key_min: np.ndarray
) -> np.ndarray:
    """First position of the maximum (``is_max``) or minimum of ``x`` over each ``[lo, hi]``.

    ``key_max`` is ``x`` with NaN as -inf and ``key_min`` is ``-x`` with NaN as -inf, so both
    reduce to a maximum; ranges must be non-empty.
    """
    lengths = hi - lo + 1
    offs = np.concatenate([[0], np.cumsum(lengths)])
    rid = np.repeat(np.arange(len(lo)), lengths)
    idx = np.arange(offs[-1]) - offs[rid] + lo[rid]
    vals = np.where(is_max[rid], key_max[idx], key_min[idx])
    best = np.maximum.reduceat(vals, offs[:-1])
    flat = np.arange(len(vals))
    first = np.minimum.reduceat(np.where(vals == best[rid], flat, len(vals)), offs[:-1])
    return lo + (first - offs[:-1])


def _turning_points(
    x: np.ndarray,
    cross: np.ndarray,
    is_max: np.ndarray,
    seg_first: np.ndarray,
) -> np.ndarray:
    """Positions of iglu's turning points (``_calculate_extrema``), vectorised.

    ``cross`` lists, segment after segment, each segment's first point, its moving-average
    crossings and its last point; ``is_max`` the type of each entry; ``seg_first`` marks the
    first entry of each segment. Turning point ``i`` (for every entry but a segment's last) is
    the extreme of ``x`` over ``[previous turning point, cross[i + 1]]`` (``[cross[i], ...]``
    for a segment's first). The recurrence is solved by fixed-point iteration: each pass is
    exact for one more link of any chain, and chains are short.
    """
    key_max = np.where(np.isfinite(x), x, -np.inf)
    key_min = np.where(np.isfinite(x), -x, -np.inf)
    last = np.ones(len(cross), dtype=bool)
    last[:-1] = seg_first[1:]
    rows = np.flatnonzero(~last)  # entries that define a turning point
    if len(rows) == 0:
        return np.empty(0, dtype=np.int64)
    c_i, hi = cross[rows], cross[rows + 1]
    first_row = seg_first[rows]
    row_max = is_max[rows]
    # extreme over the row's own interval [cross[i], cross[i + 1]]
    own = _range_argext(c_i, hi, row_max, key_max, key_min)
    key = np.where(row_max, key_max[own], key_min[own])
    ext = own.copy()
    lo = c_i.copy()
    todo = np.flatnonzero(~first_row)
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
            cand = _range_argext(lo[part], c_i[part] - 1, row_max[part], key_max, key_min)
            ck = np.where(row_max[part], key_max[cand], key_min[cand])
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
    j = prev = 0
    run_min, run_arg = mm[0], 0
    while j < n:
        if mm[j] < run_min:
            run_min, run_arg = mm[j], j
        if mm[j] - run_min > sd:
            i = run_arg
            k = j
            while k < n:
                if mm[k] >= mm[j]:
                    j = k
                if mm[k] - mm[j] < -sd or k == n - 1:
                    out.append(mm[j] - mm[i])
                    prev = j = k
                    run_min, run_arg = mm[prev], prev
                    break
                k += 1
        else:
            j += 1
    return out


def _mage_minus(mm: list[float], sd: float) -> list[float]:
    """Depths (positive) of peak-to-nadir excursions larger than ``sd`` (iglu ``calculate_mage_minus``)."""
    n = len(mm)
    out: list[float] = []
    j = prev = 0
    run_max, run_arg = mm[0], 0
    while j < n:
        if mm[j] > run_max:
            run_max, run_arg = mm[j], j
        if mm[j] - run_max < -sd:
            i = run_arg
            k = j
            while k < n:
                if mm[k] <= mm[j]:
                    j = k
                if mm[k] - mm[j] > sd or k == n - 1:
                    out.append(mm[i] - mm[j])
                    prev, j = j, k
                    window = mm[prev : j + 1]
                    run_max = max(window)
                    run_arg = prev + window.index(run_max)
                    break
                k += 1
        else:
            j += 1
    return out


def _mage(
    values: np.ndarray,
    g_sub: np.ndarray,
    g_min: np.ndarray,
    n_groups: int,
    short_ma: int = 5,
    long_ma: int = 32,
    max_gap: float = 180.0,
) -> np.ndarray:
    """MAGE per subject on a 5-minute grid (iglu ``mage(version="ma", direction="avg")``)."""
    out = np.full(n_groups, np.nan)
    valid = np.flatnonzero(np.isfinite(values))
    if len(valid) == 0:
        return out
    vs, vt = g_sub[valid], g_min[valid]
    brk = np.ones(len(valid), dtype=bool)
    brk[1:] = (vs[1:] != vs[:-1]) | (np.diff(vt) > max_gap)
    first_i = np.flatnonzero(brk)
    seg_lo = valid[first_i]
    seg_hi = valid[np.concatenate([first_i[1:] - 1, [len(valid) - 1]])]
    seg_sub = vs[first_i]
    seg_len = seg_hi - seg_lo + 1
    # flat array of all segments (grid rows between each segment's first and last valid value)
    seg_id = np.repeat(np.arange(len(seg_lo)), seg_len)
    offs = np.concatenate([[0], np.cumsum(seg_len)])
    pos = np.arange(offs[-1]) - offs[seg_id] + seg_lo[seg_id]
    x = values[pos]
    ma_s = _segment_rolling_mean(x, seg_id, offs, short_ma)
    ma_l = _segment_rolling_mean(x, seg_id, offs, long_ma)
    delta = ma_s - ma_l
    first_pos = offs[:-1]
    first_type_max = delta[first_pos] > 0
    delta[delta == 0] = np.nan
    # crossings: a valid delta whose sign differs from the previous valid delta of its segment
    dv = np.flatnonzero(np.isfinite(delta))
    sgn = delta[dv] > 0
    same_seg = seg_id[dv][1:] == seg_id[dv][:-1]
    cross = dv[1:][same_seg & (sgn[1:] != sgn[:-1])]
    # per-segment SD of the grid values and validity (iglu: n >= 7, n >= short_ma, SD >= 1)
    n_ok, _, seg_sd = _grouped_mean_sd(x, seg_id, len(seg_lo))
    seg_ok = (seg_len >= 7) & (seg_len >= short_ma) & (n_ok > 0) & (seg_sd >= 1)
    cross = cross[seg_ok[seg_id[cross]]]
    ok_seg = np.flatnonzero(seg_ok)
    # entries: each valid segment's first point, its crossings, its last point
    e_pos = np.concatenate([first_pos[ok_seg], cross, offs[1:][ok_seg] - 1])
    e_kind = np.concatenate(
        [np.zeros(len(ok_seg), np.int64), np.ones(len(cross), np.int64), np.full(len(ok_seg), 2)]
    )
    e_max = np.concatenate([first_type_max[ok_seg], delta[cross] > 0, np.zeros(len(ok_seg), bool)])
    order = np.lexsort((e_kind, e_pos))
    e_pos, e_kind, e_max = e_pos[order], e_kind[order], e_max[order]
    ext = _turning_points(x, e_pos, e_max, e_kind == 0)
    # turning points grouped by segment (every entry but a segment's last makes one)
    tp_seg = seg_id[e_pos[e_kind != 2]]
    mm_all = x[ext].tolist()
    tp_lo = np.searchsorted(tp_seg, ok_seg, side="left").tolist()
    tp_hi = np.searchsorted(tp_seg, ok_seg, side="right").tolist()
    num = np.zeros(n_groups)
    den = np.zeros(n_groups)
    hours_all = (g_min[seg_hi] - g_min[seg_lo]).tolist()
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


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------
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
    readings : pandas.DataFrame
        Canonical readings: ``subject``, ``time`` (local, tz-naive), ``glucose_mgdl`` (mg/dL).
        Rows with missing glucose are ignored (a subject without any usable reading gets no
        row); censored readings count at the device limit.
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
    codes, t_ns, gl, subjects = _prepare(readings)
    n_groups = len(subjects)
    if n_groups == 0:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in METRIC_COLUMNS}).astype(
            {"subject": "object"}
        )
    starts, stops = _group_bounds(codes, n_groups)
    n = (stops - starts).astype(float)
    if interval_min is None:
        interval = _infer_interval(codes, t_ns, n_groups)
    else:
        if not interval_min > 0:
            raise InputError(f"interval_min must be > 0 minutes, got {interval_min!r}")
        interval = np.full(n_groups, float(interval_min))
    span_min = (t_ns[stops - 1] - t_ns[starts]) / _NS_PER_MIN
    step = np.where(np.isfinite(interval), interval, 0.0)
    days = (span_min + step) / _MIN_PER_DAY
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = np.where(step > 0, np.floor(span_min / np.where(step > 0, step, 1) + 0.5), 0) + 1
    # distinct times present (duplicated timestamps count once)
    distinct = np.ones(len(t_ns), dtype=bool)
    distinct[1:] = (codes[1:] != codes[:-1]) | (t_ns[1:] != t_ns[:-1])
    present = np.bincount(codes[distinct], minlength=n_groups)
    coverage = np.minimum(100.0, 100.0 * present / expected)

    _, mean, sd = _grouped_mean_sd(gl, codes, n_groups)

    # bands: 0 <54 | 1 54-<70 | 2 70-140 | 3 >140-180 | 4 >180-250 | 5 >250 (counts per subject)
    band = (
        (gl >= 54).view(np.int8)
        + (gl >= 70).view(np.int8)
        + (gl > 140).view(np.int8)
        + (gl > 180).view(np.int8)
        + (gl > 250).view(np.int8)
    )
    counts = np.bincount(codes * 6 + band, minlength=6 * n_groups).reshape(n_groups, 6)
    share = 100.0 * counts / n[:, None]
    tbr54, tbr70 = share[:, 0], share[:, 0] + share[:, 1]
    titr, tir = share[:, 2], share[:, 2] + share[:, 3]
    tar250, tar180 = share[:, 5], share[:, 4] + share[:, 5]
    gri = np.minimum(
        100.0, 3.0 * tbr54 + 2.4 * (tbr70 - tbr54) + 1.6 * tar250 + 0.8 * (tar180 - tar250)
    )
    f = 1.509 * (np.log(gl) ** 1.084 - 5.381)
    risk = 10.0 * f**2
    lbgi = np.bincount(codes, weights=np.where(f < 0, risk, 0.0), minlength=n_groups) / n
    hbgi = np.bincount(codes, weights=np.where(f > 0, risk, 0.0), minlength=n_groups) / n

    # regular grid at the data interval for CONGA and MODD
    dt_grid = np.maximum(1.0, np.round(np.where(np.isfinite(interval), interval, 5.0)))
    vals, g_sub, g_min, g_starts = _day_grid(codes, t_ns, gl, n_groups, dt_grid, inter_gap_min)
    lag_c = (np.round(60.0 / dt_grid) * conga_hours).astype(np.int64)
    p, q = _lagged_pairs(g_sub, g_starts, np.maximum(lag_c, 1))
    _, _, conga = _grouped_mean_sd(vals[q] - vals[p], g_sub[p], n_groups)
    lag_m = (modd_lag_days * _MIN_PER_DAY // dt_grid).astype(np.int64)
    p, q = _lagged_pairs(g_sub, g_starts, np.maximum(lag_m, 1))
    modd_n, modd, _ = _grouped_mean_sd(np.abs(vals[q] - vals[p]), g_sub[p], n_groups)
    # MAGE on a 5-minute grid
    if np.all(dt_grid == 5.0):
        v5, s5, m5 = vals, g_sub, g_min
    else:
        v5, s5, m5, _ = _day_grid(codes, t_ns, gl, n_groups, np.full(n_groups, 5.0), inter_gap_min)
    mage = _mage(v5, s5, m5, n_groups, mage_short_ma, mage_long_ma, mage_max_gap_min)

    with np.errstate(invalid="ignore", divide="ignore"):
        cv = 100.0 * sd / mean
    out = pd.DataFrame(
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
        }
    )
    return out[list(METRIC_COLUMNS)]


def agp_percentiles(
    readings: pd.DataFrame,
    bin_minutes: int = 15,
    percentiles: Sequence[float] = (5, 25, 50, 75, 95),
    smooth: int = 0,
) -> pd.DataFrame:
    """Glucose percentiles by time of day, midnight to midnight (the AGP; Battelino et al. 2019).

    Parameters
    ----------
    readings : pandas.DataFrame
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

"""Meal windows: align CGM readings to meals, decide SPU vs control, measure each response.

:func:`meal_responses` returns one row per meal (after merging meals eaten close together),
every meal included, excluded ones with their reason. :func:`meal_curves` puts the glucose
after each meal on a common minute grid for mean-curve plots. The measures themselves (iAUC,
peak, ...) are defined once, in :mod:`soleus_analysis.response`; this module only cuts the
windows and decides the rules.

Rules and their defaults (all parameters of :func:`meal_responses`)
--------------------------------------------------------------------
- Window: ``window=(0, 120)`` minutes after the meal; the curve is cut at the window edges by
  linear interpolation with the readings just outside (only across a spacing no longer than
  the gap limit), so an off-grid meal still gets an area over exactly 0..120 min.
- Merging: meals of one subject less than ``merge_meals_within_min=30`` minutes after the
  previous meal are merged into it (chained: 0, 20 and 40 min become one meal at 0 min);
  carbs are summed, labels joined with ``" + "``, ``merged_meals`` counts the logged meals.
- Second meal: a (merged) meal starting after 0 and no later than the window end flags
  ``second_meal_in_window``; it excludes the meal only with ``exclude_second_meal=True``
  (default False: a free-living day is full of such meals; the flag lets the analysis adjust).
- Coverage: readings in the half-open window ``[start, end)`` divided by the expected number
  ``(end - start) / interval_min`` (capped at 1), so complete 5-min data give 24/24 for 0..120
  whether or not the meal is on the sensor's grid. Below ``min_coverage=0.7`` -> excluded.
- Gaps: the longest spacing between consecutive readings that overlaps the window (a window
  edge stands in for a missing reading before or after the data); longer than ``max_gap_min``
  (default ``max(20, 3 * interval)``: 20 min for 5-min data, 45 min for 15-min data) ->
  excluded.
- Censored readings (device "Low"/"High") in the window -> excluded (``exclude_censored``).
- Baselines: ``"t0"`` (interpolated at the meal time), ``"premeal"`` (mean of the readings
  with ``premeal_span[0] <= t <= premeal_span[1]``, default -30..0 min), ``"p40_24h"`` (40th
  percentile of the readings in the 24 h before the meal, needing ``p40_min_coverage=0.5`` of
  the expected readings), or a number in mg/dL. None -> excluded "no baseline".
- Condition: minutes of SPU bouts (events of kind ``"spu"``, ``time`` to ``end``; overlapping
  bouts counted once) inside ``[meal + spu_span[0], meal + spu_span[1]]`` (``None`` = window
  end; default -15 min to the window end); ``"spu"`` when at least ``min_spu_minutes=1``,
  else ``"control"``; the minutes are kept as ``spu_minutes`` (a dose). A bout without an end
  lasts ``spu_default_min=1`` minute and is counted in ``spu_bouts_no_end``.
- Other exercise (kind ``"exercise"``, an event without end being an instant) overlapping the
  window flags ``other_exercise``.

Excluded meals keep their computed measures (useful for inspection); use the rows whose
``excluded_reason`` is missing (``included`` is True) for analysis. Several reasons are joined
with ``"; "`` in the order: no meal time, no readings, no baseline, coverage, gap, censored,
second meal.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from . import response
from .clean import default_max_gap, median_spacing
from .core.errors import InputError

__all__ = [
    "meal_responses",
    "meal_curves",
    "merge_meals",
    "prepare_meals",
    "recognised_events",
    "recognition_summary",
    "same_person",
]

_NS_PER_MIN = 60_000_000_000
_DEFAULT_SUBJECT = "unknown"
_BASELINE_RULES = ("t0", "premeal", "p40_24h")


# --------------------------------------------------------------------------- input plumbing


def _time_ns(values: Any) -> np.ndarray:
    """Datetimes (any resolution) as int64 ns; NaT becomes int64 min."""
    return pd.to_datetime(pd.Series(values)).to_numpy(dtype="datetime64[ns]").view("i8")


def _subjects(frame: pd.DataFrame) -> pd.Series | None:
    if "subject" not in frame.columns or frame["subject"].isna().all():
        return None
    return frame["subject"].astype(object)


@dataclass
class _Readings:
    """Readings as arrays: sorted by subject code then time; subject i is ``bounds[i]:bounds[i+1]``."""

    subjects: dict[Any, int]
    bounds: np.ndarray
    t: np.ndarray  # int64 ns
    g: np.ndarray  # mg/dL
    cens: np.ndarray  # bool
    interval: np.ndarray  # median spacing per subject, minutes

    def of(self, subject: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, float] | None:
        """(t, g, cens, interval) of one subject, or None when it has no readings."""
        i = self.subjects.get(subject)
        if i is None:
            return None
        sl = slice(self.bounds[i], self.bounds[i + 1])
        return self.t[sl], self.g[sl], self.cens[sl], float(self.interval[i])


def _prepare_readings(readings: pd.DataFrame) -> _Readings:
    """Sorted, NaN-free, de-duplicated reading arrays of every subject.

    Sorted by subject and time, stably (repeated local times keep ``transmitter_time_s`` order
    when present, else their original order); exact duplicates (same subject, time, value and
    censoring) are dropped.
    """
    for col in ("time", "glucose_mgdl"):
        if col not in readings.columns:
            raise InputError(f"readings lack column {col!r}; expected subject, time, glucose_mgdl")
    subj = _subjects(readings)
    if subj is None:
        subj_arr = np.full(len(readings), _DEFAULT_SUBJECT, dtype=object)
    else:
        subj_arr = subj.to_numpy(dtype=object)
    codes, uniques = pd.factorize(subj_arr, use_na_sentinel=False)
    t = _time_ns(readings["time"].to_numpy())
    g = pd.to_numeric(readings["glucose_mgdl"], errors="coerce").to_numpy(dtype=np.float64)
    cens = (
        readings["censored"].notna().to_numpy(dtype=bool)
        if "censored" in readings.columns
        else np.zeros(len(readings), dtype=bool)
    )
    ok = (t != np.iinfo(np.int64).min) & np.isfinite(g)
    keys = [t, codes]
    if "transmitter_time_s" in readings.columns:
        tx = pd.to_numeric(readings["transmitter_time_s"], errors="coerce").to_numpy(np.float64)
        keys = [tx, *keys]
    order = np.lexsort([k[ok] for k in keys])
    sel = np.flatnonzero(ok)[order]
    t, g, cens, codes = t[sel], g[sel], cens[sel], codes[sel]
    # exact duplicates: only rows sharing a time with a neighbour can be one
    tie = np.zeros(len(t), dtype=bool)
    if len(t) > 1:
        same = (t[1:] == t[:-1]) & (codes[1:] == codes[:-1])
        tie[1:] |= same
        tie[:-1] |= same
    keep = np.ones(len(t), dtype=bool)
    if tie.any():
        ti = np.flatnonzero(tie)
        sub = pd.DataFrame({"c": codes[ti], "t": t[ti], "g": g[ti], "z": cens[ti]})
        keep[ti[sub.duplicated().to_numpy()]] = False
    codes, t, g, cens = codes[keep], t[keep], g[keep], cens[keep]
    k = len(uniques)
    bounds = np.searchsorted(codes, np.arange(k + 1))
    return _Readings(
        subjects={s: i for i, s in enumerate(uniques)},
        bounds=bounds,
        t=t,
        g=g,
        cens=cens,
        interval=median_spacing(codes, t, k),
    )


def prepare_meals(events: pd.DataFrame, subjects: list[Any] | None = None) -> pd.DataFrame:
    """The meal rows of an events table, in canonical form.

    Parameters
    ----------
    events : pandas.DataFrame
        Events as the readers return them, or a bare table of meal times: only ``time`` is
        required (``start`` is accepted instead); ``subject``, ``kind`` (missing = every row is a
        meal), ``carbs_g`` (g) and ``label`` are optional.
    subjects : list, optional
        Subjects present in the readings; meals without a subject are given the only one
        (an error when there are several).

    Returns
    -------
    pandas.DataFrame
        ``subject``, ``time``, ``carbs_g``, ``label`` for the meals, original order.
    """
    ev = _with_time(events)
    if "kind" in ev.columns:
        kind = ev["kind"].astype(object).where(ev["kind"].notna(), "meal")
        ev = ev.loc[kind.astype(str).str.strip().str.lower() == "meal"]
    subj = _fill_subject(ev, subjects)
    return pd.DataFrame(
        {
            "subject": subj,
            "time": pd.to_datetime(ev["time"]).to_numpy(dtype="datetime64[ns]"),
            "carbs_g": (
                pd.to_numeric(ev["carbs_g"], errors="coerce").astype(np.float64).to_numpy()
                if "carbs_g" in ev.columns
                else np.nan
            ),
            "label": (
                ev["label"].astype(object).where(ev["label"].notna(), None).to_numpy()
                if "label" in ev.columns
                else None
            ),
        }
    ).reset_index(drop=True)


def _with_time(events: pd.DataFrame) -> pd.DataFrame:
    if "time" not in events.columns:
        if "start" in events.columns:
            return events.rename(columns={"start": "time"})
        raise InputError(
            "events lack a 'time' column; expected at least time (and optionally subject, kind, "
            "end, carbs_g, label)"
        )
    return events


def _fill_subject(ev: pd.DataFrame, subjects: list[Any] | None) -> np.ndarray:
    subj = (
        ev["subject"].astype(object).to_numpy()
        if "subject" in ev.columns
        else np.full(len(ev), None, dtype=object)
    )
    missing = pd.isna(subj)
    if missing.any():
        if subjects is not None and len(subjects) > 1:
            raise InputError(
                f"{int(missing.sum())} event(s) have no subject while the readings hold "
                f"{len(subjects)} subjects; give events a 'subject' column"
            )
        fill = subjects[0] if subjects else _DEFAULT_SUBJECT
        subj = subj.copy()
        subj[missing] = fill
    return subj


def same_person(events: pd.DataFrame, subjects: list[Any]) -> pd.DataFrame:
    """Events under the readings' subject when each frame names exactly one, different, person.

    One person's CGM export and log read from two files without ``subject=`` may carry two
    different ids; matching nothing, every meal would be excluded as ``"no readings"``. When
    the readings hold one subject and the events one other, the events are taken as that
    person's, with a :class:`UserWarning` saying so. With several subjects on either side
    nothing is changed (ids must then match).
    """
    if "subject" not in events.columns or len(subjects) != 1 or len(events) == 0:
        return events
    ids = pd.unique(events["subject"].dropna().astype(str))
    if len(ids) == 1 and ids[0] != str(subjects[0]):
        warnings.warn(
            f"the readings are of subject {subjects[0]!r} and the events of {ids[0]!r}; "
            f"taking the events as {subjects[0]!r}'s (give both the same subject to silence this)",
            UserWarning,
            stacklevel=3,
        )
        return events.assign(subject=subjects[0])
    return events


def _events_of_kind(events: pd.DataFrame, kind: str, subjects: list[Any]) -> pd.DataFrame:
    """subject, start, end (int64 ns; end = start when missing), no_end flag."""
    if events is None or "kind" not in events.columns or len(events) == 0:
        return pd.DataFrame({"subject": [], "start": [], "end": [], "no_end": []})
    ev = _with_time(events)
    k = ev["kind"].astype(object).where(ev["kind"].notna(), "").astype(str).str.strip().str.lower()
    ev = ev.loc[(k == kind).to_numpy() & ev["time"].notna().to_numpy()]
    start = _time_ns(ev["time"])
    end = _time_ns(ev["end"]) if "end" in ev.columns else np.full(len(ev), np.iinfo(np.int64).min)
    no_end = end == np.iinfo(np.int64).min
    end = np.where(no_end, start, np.maximum(end, start))
    return pd.DataFrame(
        {"subject": _fill_subject(ev, subjects), "start": start, "end": end, "no_end": no_end}
    )


# --------------------------------------------------------------------------- merging meals


def merge_meals(meals: pd.DataFrame, within_min: float | None = 30.0) -> pd.DataFrame:
    """Merge meals of one subject eaten less than ``within_min`` minutes after the previous one.

    Parameters
    ----------
    meals : pandas.DataFrame
        ``subject``, ``time`` and optionally ``carbs_g`` (g), ``label`` (as from
        :func:`prepare_meals`). Rows with a missing time are kept unmerged.
    within_min : float or None, default 30
        Minutes; a meal starting strictly less than this after the previous meal (chained)
        joins it. None or 0 disables merging.

    Returns
    -------
    pandas.DataFrame
        ``subject``, ``meal_time`` (first meal's time), ``carbs_g`` (sum; NaN when none
        known), ``meal_label`` (labels joined with ``" + "``), ``merged_meals`` (number of
        logged meals in this one, >= 1); sorted by subject and time, missing times last.
    """
    m = meals.copy()
    if "carbs_g" not in m.columns:
        m["carbs_g"] = np.nan
    if "label" not in m.columns:
        m["label"] = None
    m["_t"] = _time_ns(m["time"])
    nat = m["_t"].to_numpy() == np.iinfo(np.int64).min
    ok = m.loc[~nat].sort_values(["subject", "_t"], kind="stable").reset_index(drop=True)
    t = ok["_t"].to_numpy()
    codes = pd.factorize(ok["subject"])[0]
    new = np.ones(len(ok), dtype=bool)
    if len(ok) > 1:
        gap = np.diff(t) / _NS_PER_MIN
        limit = float(within_min) if within_min else -np.inf
        new[1:] = (codes[1:] != codes[:-1]) | ~(gap < limit)
    cluster = np.cumsum(new) - 1
    size = np.bincount(cluster, minlength=int(new.sum())) if len(ok) else np.zeros(0, int)
    first = np.flatnonzero(new)
    carbs = ok["carbs_g"].to_numpy(dtype=np.float64)
    has_carbs = np.bincount(cluster, weights=np.isfinite(carbs), minlength=len(first))
    carb_sum = np.bincount(cluster, weights=np.nan_to_num(carbs), minlength=len(first))
    labels = ok["label"].to_numpy(dtype=object).copy()
    out_labels = labels[first].copy() if len(first) else np.zeros(0, dtype=object)
    multi = np.flatnonzero(size > 1)
    for c in multi:  # only the merged meals need joining (few)
        parts = [str(x) for x in labels[cluster == c] if x is not None and not pd.isna(x)]
        out_labels[c] = " + ".join(dict.fromkeys(parts)) if parts else None
    merged = pd.DataFrame(
        {
            "subject": ok["subject"].to_numpy(dtype=object)[first],
            "meal_time": ok["time"].to_numpy(dtype="datetime64[ns]")[first],
            "carbs_g": np.where(has_carbs > 0, carb_sum, np.nan),
            "meal_label": out_labels,
            "merged_meals": size.astype(np.int64),
        }
    )
    rest = m.loc[nat]
    if len(rest):
        tail = pd.DataFrame(
            {
                "subject": rest["subject"].to_numpy(dtype=object),
                "meal_time": np.full(len(rest), np.datetime64("NaT"), dtype="datetime64[ns]"),
                "carbs_g": rest["carbs_g"].to_numpy(dtype=np.float64),
                "meal_label": rest["label"].to_numpy(dtype=object),
                "merged_meals": np.ones(len(rest), dtype=np.int64),
            }
        )
        merged = pd.concat([merged, tail], ignore_index=True)
    return merged


# --------------------------------------------------------------------------- array helpers


def _padded_idx(start: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Index rows ``start[i] .. start[i] + count[i] - 1``, padded with -1 to a 2-D int array."""
    m = len(start)
    count = np.maximum(count, 0)
    width = int(count.max()) if m else 0
    out = np.full((m, max(width, 1)), -1, dtype=np.int64)
    total = int(count.sum())
    if total:
        rows = np.repeat(np.arange(m), count)
        pos = np.arange(total) - np.repeat(np.cumsum(count) - count, count)
        out[rows, pos] = np.repeat(start, count) + pos
    return out


def _padded(values: np.ndarray, start: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Rows ``values[start[i] : start[i] + count[i]]``, NaN-padded to a 2-D float array."""
    idx = _padded_idx(start, count)
    if len(values) == 0:
        return np.full(idx.shape, np.nan)
    return np.where(idx >= 0, values[np.maximum(idx, 0)], np.nan)


def _rel_minutes(t: np.ndarray, mt: np.ndarray, start: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Reading times ``t`` (ns) of each row's index range as minutes after ``mt`` (ns), padded.

    The difference is taken in integer nanoseconds, so a reading exactly 30 min before a meal is
    exactly -30.0 (float64 cannot hold epoch nanoseconds exactly).
    """
    idx = _padded_idx(start, count)
    if len(t) == 0:
        return np.full(idx.shape, np.nan)
    diff = (t[np.maximum(idx, 0)] - mt[:, None]).astype(np.float64) / _NS_PER_MIN
    return np.where(idx >= 0, diff, np.nan)


def _interp_gap(t: np.ndarray, g: np.ndarray, x: np.ndarray, gap_ns: float) -> np.ndarray:
    """Linear interpolation of the readings (t ns, g) at times x (ns); NaN across a gap."""
    n = len(t)
    out = np.full(x.shape, np.nan)
    if n == 0:
        return out
    k = np.searchsorted(t, x, side="right")  # first reading after x
    left = np.clip(k - 1, 0, n - 1)
    right = np.clip(k, 0, n - 1)
    exact = (k >= 1) & (t[left] == x)
    span = (t[right] - t[left]).astype(np.float64)
    inside = (k >= 1) & (k < n) & ~exact & (span <= gap_ns) & (span > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = (x - t[left]) / span
        val = g[left] + frac * (g[right] - g[left])
    out[exact] = g[left][exact]
    out[inside] = val[inside]
    return out


def _range_max(d: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """max(d[a_i..b_i]) inclusive per row; NaN for an empty range."""
    cnt = np.where(b >= a, b - a + 1, 0)
    block = _padded(d, np.maximum(a, 0), cnt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmax(block, axis=1) if block.shape[1] else np.full(len(a), np.nan)


def _overlap_minutes(
    starts: np.ndarray, ends: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> np.ndarray:
    """Minutes of the union of intervals [starts, ends] (ns) inside each [lo, hi] (ns)."""
    if len(starts) == 0:
        return np.zeros(len(lo))
    order = np.argsort(starts, kind="stable")
    s, e = starts[order], ends[order]
    # union of overlapping intervals: a new block starts where s exceeds every earlier end
    run_end = np.maximum.accumulate(e)
    new = np.ones(len(s), dtype=bool)
    new[1:] = s[1:] > run_end[:-1]
    bs = s[new]
    be = np.maximum.reduceat(e, np.flatnonzero(new))
    dur = (be - bs).astype(np.float64)
    cum = np.concatenate([[0.0], np.cumsum(dur)])

    def covered(x: np.ndarray) -> np.ndarray:
        k = np.searchsorted(bs, x, side="right") - 1
        kk = np.maximum(k, 0)
        part = np.clip((x - bs[kk]).astype(np.float64), 0.0, dur[kk])
        return np.where(k >= 0, cum[kk] + part, 0.0)

    return np.maximum(covered(hi) - covered(lo), 0.0) / _NS_PER_MIN


def _any_overlap(
    starts: np.ndarray, ends: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> np.ndarray:
    """True where some closed interval [starts, ends] meets the closed window [lo, hi]."""
    if len(starts) == 0:
        return np.zeros(len(lo), dtype=bool)
    # an interval meets [lo, hi] iff start <= hi and end >= lo; count by sorted searches
    s_sorted = np.sort(starts)
    e_sorted = np.sort(ends)
    n_start_le_hi = np.searchsorted(s_sorted, hi, side="right")
    n_end_lt_lo = np.searchsorted(e_sorted, lo, side="left")
    # intervals with end < lo also have start <= hi (since start <= end < lo <= hi)
    return (n_start_le_hi - n_end_lt_lo) > 0


# --------------------------------------------------------------------------- main


def _floor2(x: float) -> str:
    return f"{math.floor(x * 100 + 1e-9) / 100:.2f}"


def meal_responses(
    readings: pd.DataFrame,
    events: pd.DataFrame | None = None,
    window: tuple[float, float] = (0, 120),
    baseline: str | float = "premeal",
    *,
    premeal_span: tuple[float, float] = (-30, 0),
    spu_span: tuple[float, float | None] = (-15, None),
    min_spu_minutes: float = 1.0,
    spu_default_min: float = 1.0,
    merge_meals_within_min: float | None = 30,
    min_coverage: float = 0.7,
    max_gap_min: float | None = None,
    exclude_censored: bool = True,
    exclude_second_meal: bool = False,
    interval_min: float | None = None,
    p40_min_coverage: float = 0.5,
    decay_span_min: float = response.DECAY_SPAN_MIN,
    insulin_proxy: bool = False,
) -> pd.DataFrame:
    """One row per meal: window measures, baseline, SPU condition and dose, exclusions.

    The rules are described in the module docstring (:mod:`soleus_analysis.align`).

    Parameters
    ----------
    readings : pandas.DataFrame or Recording
        Readings: ``time``, ``glucose_mgdl`` (mg/dL), optional ``subject``, ``censored``. A
        :class:`~soleus_analysis.core.recording.Recording` may be given instead (then ``events``
        defaults to its events).
    events : pandas.DataFrame
        Events as the readers return them (``subject``, ``time``, ``end``, ``kind``,
        ``carbs_g``, ``label`` ...) or a bare table of meal times (``time``, optional
        ``subject``; without ``kind`` every row is a meal).
    window : (float, float), default (0, 120)
        Minutes relative to the meal.
    baseline : {"premeal", "t0", "p40_24h"} or float
        Baseline rule, or a fixed baseline in mg/dL.
    premeal_span : (float, float), default (-30, 0)
        Minutes of the ``"premeal"`` mean (both ends included).
    spu_span : (float, float or None), default (-15, None)
        Minutes relative to the meal over which SPU bouts count; None = window end.
    min_spu_minutes : float, default 1
        SPU minutes in the span needed for condition ``"spu"``.
    spu_default_min : float, default 1
        Duration (minutes) given to an SPU bout without an end.
    merge_meals_within_min : float or None, default 30
        Meals closer than this (minutes) are merged; None disables.
    min_coverage : float, default 0.7
        Fraction of expected readings needed in the window.
    max_gap_min : float, optional
        Longest tolerated spacing of readings in the window, minutes (default per subject
        ``max(20, 3 * interval)``).
    exclude_censored : bool, default True
        Exclude windows holding a censored (Low/High) reading.
    exclude_second_meal : bool, default False
        Exclude meals with another meal inside the window (they are always flagged).
    interval_min : float, optional
        Sampling interval (minutes); default each subject's median spacing.
    p40_min_coverage : float, default 0.5
        Fraction of the expected 24 h of readings needed for the ``"p40_24h"`` baseline.
    decay_span_min : float, default 60
        Horizon of the post-peak decay rate, minutes.
    insulin_proxy : bool, default False
        Add ``insulin_proxy_baseline_pmol_l``, ``insulin_proxy_iauc_pmol_l_min`` (pmol/L·min)
        and ``insulin_proxy_peak_pmol_l`` from
        :func:`soleus_analysis.insulin.insulin_proxy_measures_batch`: a model-based *proxy* of
        insulin exposure driven by the glucose trace from ``min(window[0], premeal_span[0])``
        with the meal's baseline as basal glucose; not measured insulin.

    Returns
    -------
    pandas.DataFrame
        One row per (merged) meal, sorted by subject and time: ``subject``, ``meal_time``,
        ``meal_label``, ``carbs_g`` (g), ``merged_meals``, ``time_of_day_h`` (h),
        ``condition`` (``"spu"``/``"control"``), ``spu_minutes`` (min),
        ``spu_bouts_no_end``, ``other_exercise``, ``second_meal_in_window``,
        ``minutes_to_next_meal``, ``minutes_since_prev_meal``, ``baseline_mgdl``, the
        measures of :data:`soleus_analysis.response.MEASURE_COLUMNS` (mg/dL, mg/dL·min, min),
        ``n_readings`` (in the closed window), ``coverage`` (0..1), ``max_gap_in_window_min``,
        ``n_censored``, ``excluded_reason`` (None when the meal counts), ``included``.
    """
    if events is None and hasattr(readings, "events"):
        events = readings.events
    if hasattr(readings, "readings"):
        readings = readings.readings
    if events is None:
        raise InputError("meal_responses needs events (or a bare table of meal times)")
    w0, w1 = float(window[0]), float(window[1])
    if not w1 > w0:
        raise InputError(f"window {window!r}: expected (start, end) minutes with end > start")
    if isinstance(baseline, str) and baseline not in _BASELINE_RULES:
        raise InputError(f"baseline {baseline!r}: expected one of {_BASELINE_RULES} or a number")
    s0 = float(spu_span[0])
    s1 = w1 if spu_span[1] is None else float(spu_span[1])

    r = _prepare_readings(readings)
    subj_list = list(r.subjects)
    events = same_person(events, subj_list)
    meals = merge_meals(prepare_meals(events, subj_list), merge_meals_within_min)
    spu = _events_of_kind(events, "spu", subj_list)
    exer = _events_of_kind(events, "exercise", subj_list)

    n = len(meals)
    cols: dict[str, np.ndarray] = {
        "baseline_mgdl": np.full(n, np.nan),
        "n_readings": np.zeros(n, dtype=np.int64),
        "coverage": np.zeros(n),
        "max_gap_in_window_min": np.full(n, np.nan),
        "gap_limit": np.full(n, np.inf),
        "n_censored": np.zeros(n, dtype=np.int64),
        "spu_minutes": np.zeros(n),
        "spu_bouts_no_end": np.zeros(n, dtype=np.int64),
        "other_exercise": np.zeros(n, dtype=bool),
        "minutes_to_next_meal": np.full(n, np.nan),
        "minutes_since_prev_meal": np.full(n, np.nan),
    }
    mins_parts: list[np.ndarray] = []
    gluc_parts: list[np.ndarray] = []
    row_parts: list[np.ndarray] = []
    proxy_parts: list[tuple[np.ndarray, np.ndarray]] = []
    proxy_from = min(w0, float(premeal_span[0]))

    meal_t = meals["meal_time"].to_numpy(dtype="datetime64[ns]").view("i8")
    has_time = ~np.isnat(meals["meal_time"].to_numpy(dtype="datetime64[ns]"))
    spu_groups = spu.groupby("subject", sort=False).indices if len(spu) else {}
    ex_groups = exer.groupby("subject", sort=False).indices if len(exer) else {}
    ns = float(_NS_PER_MIN)

    for subject, idx_m in meals.loc[has_time].groupby("subject", sort=False).indices.items():
        rows = np.flatnonzero(has_time)[idx_m]
        mt = meal_t[rows]
        # neighbouring meals (meals are sorted by time within subject)
        if len(mt) > 1:
            d = np.diff(mt) / ns
            cols["minutes_to_next_meal"][rows[:-1]] = d
            cols["minutes_since_prev_meal"][rows[1:]] = d
        # condition: SPU minutes in the span, other exercise in the window
        if subject in spu_groups:
            b = spu.iloc[spu_groups[subject]]
            st = b["start"].to_numpy(dtype=np.int64)
            no_end = b["no_end"].to_numpy(dtype=bool)
            en = np.where(no_end, st + int(round(spu_default_min * ns)), b["end"].to_numpy())
            lo, hi = mt + int(round(s0 * ns)), mt + int(round(s1 * ns))
            cols["spu_minutes"][rows] = _overlap_minutes(st, en, lo, hi)
            if no_end.any():
                cols["spu_bouts_no_end"][rows] = (
                    (st[no_end][None, :] <= hi[:, None]) & (en[no_end][None, :] >= lo[:, None])
                ).sum(axis=1)
        if subject in ex_groups:
            b = exer.iloc[ex_groups[subject]]
            cols["other_exercise"][rows] = _any_overlap(
                b["start"].to_numpy(dtype=np.int64),
                b["end"].to_numpy(dtype=np.int64),
                mt + int(round(w0 * ns)),
                mt + int(round(w1 * ns)),
            )
        data = r.of(subject)
        if data is None:
            continue
        t, g, cz, iv = data
        nr = len(t)
        if interval_min is not None:
            iv = float(interval_min)
        if not np.isfinite(iv):
            iv = 5.0
        gap_lim = float(max_gap_min) if max_gap_min is not None else default_max_gap(iv)
        cols["gap_limit"][rows] = gap_lim
        gap_ns = gap_lim * ns

        s = mt + int(round(w0 * ns))
        e = mt + int(round(w1 * ns))
        lo = np.searchsorted(t, s, side="left")
        hi = np.searchsorted(t, e, side="right")
        hi_open = np.searchsorted(t, e, side="left")
        cols["n_readings"][rows] = hi - lo
        expected = (w1 - w0) / iv
        cols["coverage"][rows] = np.minimum((hi_open - lo) / expected, 1.0)
        cs = np.concatenate([[0], np.cumsum(cz)])
        cols["n_censored"][rows] = cs[hi] - cs[lo]

        # longest spacing overlapping the window; window edges stand in beyond the data
        dd = np.diff(t).astype(np.float64) / ns
        inner = _range_max(dd, np.maximum(lo - 1, 0), np.minimum(hi, nr - 1) - 1)
        first_in = np.where(lo < nr, t[np.minimum(lo, nr - 1)], e)
        edge_lo = np.where(lo == 0, (np.minimum(first_in, e) - s) / ns, np.nan)
        last_in = np.where(hi > 0, t[np.maximum(hi - 1, 0)], s)
        edge_hi = np.where(hi == nr, (e - np.maximum(last_in, s)) / ns, np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            cols["max_gap_in_window_min"][rows] = np.nanmax(
                np.column_stack([inner, edge_lo, edge_hi]), axis=1
            )

        # the curve: readings in the window plus the neighbour on each side when it lies within
        # the gap limit (the measures cut the curve at the window edges by interpolation)
        ok_prev = (lo > 0) & (lo < nr)
        ok_prev &= (t[np.minimum(lo, nr - 1)] - t[np.maximum(lo - 1, 0)]) <= gap_ns
        ok_next = (hi < nr) & (hi > 0)
        ok_next &= (t[np.minimum(hi, nr - 1)] - t[np.maximum(hi - 1, 0)]) <= gap_ns
        a = lo - ok_prev.astype(np.int64)
        cnt = hi + ok_next.astype(np.int64) - a
        mins_parts.append(_rel_minutes(t, mt, a, cnt))
        gluc_parts.append(_padded(g, a, cnt))
        row_parts.append(rows)
        if insulin_proxy:  # the model starts at basal: give it the pre-meal readings too
            a_p = np.minimum(np.searchsorted(t, mt + int(round(proxy_from * ns))), a)
            proxy_parts.append(
                (_rel_minutes(t, mt, a_p, a + cnt - a_p), _padded(g, a_p, a + cnt - a_p))
            )

        # baseline
        if isinstance(baseline, str):
            cols["baseline_mgdl"][rows] = _baseline(
                baseline, t, g, mt, gap_ns, iv, premeal_span, p40_min_coverage
            )
        else:
            cols["baseline_mgdl"][rows] = float(baseline)

    # measures, one batch over every subject's windows
    width = max([p.shape[1] for p in mins_parts], default=1)
    minutes_2d = np.full((n, width), np.nan)
    glucose_2d = np.full((n, width), np.nan)
    for rows, mp, gp in zip(row_parts, mins_parts, gluc_parts, strict=True):
        minutes_2d[rows, : mp.shape[1]] = mp
        glucose_2d[rows, : gp.shape[1]] = gp
    measures = response.auc_measures_batch(
        minutes_2d, glucose_2d, cols["baseline_mgdl"], window=(w0, w1), decay_span=decay_span_min
    )
    no_readings = cols["n_readings"] == 0
    measures.loc[no_readings, :] = np.nan

    spu_min = cols["spu_minutes"]
    condition = np.where(spu_min >= min_spu_minutes, "spu", "control").astype(object)
    next_min = cols["minutes_to_next_meal"]
    second = np.isfinite(next_min) & (next_min > 0) & (next_min <= w1)

    reasons = _reasons(
        has_time=has_time,
        no_readings=no_readings,
        no_baseline=np.isnan(cols["baseline_mgdl"]),
        coverage=cols["coverage"],
        min_coverage=min_coverage,
        max_gap=cols["max_gap_in_window_min"],
        gap_limits=cols["gap_limit"],
        censored=(cols["n_censored"] > 0) if exclude_censored else np.zeros(n, dtype=bool),
        second=second if exclude_second_meal else np.zeros(n, dtype=bool),
    )

    mtime = meals["meal_time"]
    data: dict[str, Any] = {
        "subject": meals["subject"].to_numpy(dtype=object),
        "meal_time": mtime.to_numpy(dtype="datetime64[ns]"),
        "meal_label": pd.Series(meals["meal_label"].to_numpy(dtype=object), dtype=object),
        "carbs_g": meals["carbs_g"].to_numpy(dtype=np.float64),
        "merged_meals": meals["merged_meals"].to_numpy(dtype=np.int64),
        "time_of_day_h": (
            mtime.dt.hour + mtime.dt.minute / 60.0 + mtime.dt.second / 3600.0
        ).to_numpy(dtype=np.float64),
        "condition": condition,
        "spu_minutes": spu_min,
        "spu_bouts_no_end": cols["spu_bouts_no_end"],
        "other_exercise": cols["other_exercise"],
        "second_meal_in_window": second,
        "minutes_to_next_meal": next_min,
        "minutes_since_prev_meal": cols["minutes_since_prev_meal"],
        "baseline_mgdl": cols["baseline_mgdl"],
    }
    for c in response.MEASURE_COLUMNS:
        data[c] = measures[c].to_numpy(dtype=np.float64)
    for c in ("n_readings", "coverage", "max_gap_in_window_min", "n_censored"):
        data[c] = cols[c]
    # object dtype on every pandas version: None where the meal counts, a string otherwise
    data["excluded_reason"] = pd.Series(reasons, dtype=object)
    data["included"] = np.array([x is None for x in reasons], dtype=bool)
    if insulin_proxy:
        prox = _insulin_proxy(n, row_parts, proxy_parts, cols["baseline_mgdl"], (w0, w1))
        for c in prox.columns:
            data[c] = prox[c].to_numpy(dtype=np.float64)
    out = pd.DataFrame(data)
    out.attrs["rules"] = {
        "window": (w0, w1),
        "baseline": baseline,
        "premeal_span": tuple(premeal_span),
        "spu_span": (s0, spu_span[1]),
        "min_spu_minutes": min_spu_minutes,
        "merge_meals_within_min": merge_meals_within_min,
        "min_coverage": min_coverage,
        "max_gap_min": max_gap_min,
        "exclude_censored": exclude_censored,
        "exclude_second_meal": exclude_second_meal,
    }
    return out


def _baseline(
    rule: str,
    t: np.ndarray,
    g: np.ndarray,
    mt: np.ndarray,
    gap_ns: float,
    interval_min: float,
    premeal_span: tuple[float, float],
    p40_min_coverage: float,
) -> np.ndarray:
    """Baseline (mg/dL) of each meal at times ``mt`` (ns) from one subject's readings."""
    ns = _NS_PER_MIN
    if rule == "t0":
        return _interp_gap(t, g, mt, gap_ns)
    if rule == "premeal":
        p0, p1 = float(premeal_span[0]), float(premeal_span[1])
        lo = np.searchsorted(t, mt + int(round(p0 * ns)), side="left")
        hi = np.searchsorted(t, mt + int(round(p1 * ns)), side="right")
        mins = _rel_minutes(t, mt, lo, hi - lo)
        vals = _padded(g, lo, hi - lo)
        return np.asarray(response.baseline_premeal(mins, vals, span=(p0, p1)), dtype=np.float64)
    # p40_24h: readings in [meal - 24 h, meal)
    lo = np.searchsorted(t, mt - 1440 * ns, side="left")
    hi = np.searchsorted(t, mt, side="left")
    out = response.baseline_percentile(_padded(g, lo, hi - lo), 40.0)
    enough = (hi - lo) >= p40_min_coverage * 1440.0 / interval_min
    return np.where(enough, out, np.nan)


def _insulin_proxy(
    n: int,
    row_parts: list[np.ndarray],
    proxy_parts: list[tuple[np.ndarray, np.ndarray]],
    baseline_mgdl: np.ndarray,
    window: tuple[float, float],
) -> pd.DataFrame:
    """Insulin-exposure *proxy* measures per meal (model-based, not measured insulin)."""
    from . import insulin  # only needed on request

    width = max([p[0].shape[1] for p in proxy_parts], default=1)
    minutes_2d = np.full((n, width), np.nan)
    glucose_2d = np.full((n, width), np.nan)
    for rows, (mp, gp) in zip(row_parts, proxy_parts, strict=True):
        minutes_2d[rows, : mp.shape[1]] = mp
        glucose_2d[rows, : gp.shape[1]] = gp
    res = insulin.insulin_proxy_measures_batch(
        minutes_2d, glucose_2d, window=window, baseline="t0", gb_mgdl=baseline_mgdl
    )
    keep = ["insulin_proxy_baseline_pmol_l", "insulin_proxy_iauc_pmol_l_min"]
    keep += ["insulin_proxy_peak_pmol_l"]
    return res[[c for c in keep if c in res.columns]]


def _reasons(
    *,
    has_time: np.ndarray,
    no_readings: np.ndarray,
    no_baseline: np.ndarray,
    coverage: np.ndarray,
    min_coverage: float,
    max_gap: np.ndarray,
    gap_limits: np.ndarray,
    censored: np.ndarray,
    second: np.ndarray,
) -> list[str | None]:
    """Exclusion reasons per meal, joined with "; " (None when the meal counts)."""
    out: list[str | None] = []
    low_cov = coverage < min_coverage
    gap = np.isfinite(max_gap) & (max_gap > gap_limits)
    for i in range(len(has_time)):
        if not has_time[i]:
            out.append("no meal time")
            continue
        if no_readings[i]:
            out.append("no readings")  # the window is empty: nothing else to say
            continue
        parts = []
        if no_baseline[i]:
            parts.append("no baseline")
        if low_cov[i]:
            parts.append(f"coverage {_floor2(coverage[i])} < {min_coverage:.2f}")
        if gap[i]:
            parts.append(f"gap of {max_gap[i]:.0f} min in window")
        if censored[i]:
            parts.append("censored reading in window")
        if second[i]:
            parts.append("second meal in window")
        out.append("; ".join(parts) if parts else None)
    return out


# --------------------------------------------------------------------------- curves


def meal_curves(
    readings: pd.DataFrame,
    meals: pd.DataFrame,
    grid: np.ndarray | None = None,
    *,
    baseline: str | float = "premeal",
    premeal_span: tuple[float, float] = (-30, 0),
    max_gap_min: float | None = None,
    interval_min: float | None = None,
) -> pd.DataFrame:
    """Glucose around each meal on a common minute grid, for mean-curve plots.

    Parameters
    ----------
    readings : pandas.DataFrame
        Readings (``subject``, ``time``, ``glucose_mgdl`` mg/dL).
    meals : pandas.DataFrame
        Meals: the output of :func:`meal_responses` (filter it first, e.g. to included meals)
        or any table with ``meal_time`` (or ``time``), optional ``subject`` and ``condition``.
    grid : array_like, optional
        Minutes relative to the meal; default ``np.arange(-30, 181, 5)``.
    baseline : {"premeal", "t0", "p40_24h"} or float, default "premeal"
        Used for ``delta_mgdl`` only when ``meals`` has no ``baseline_mgdl`` column.
    premeal_span : (float, float), default (-30, 0)
        Minutes of the ``"premeal"`` baseline.
    max_gap_min : float, optional
        No interpolation across spacings longer than this (minutes); default as in
        :func:`meal_responses`.
    interval_min : float, optional
        Sampling interval, minutes (default: each subject's median spacing).

    Returns
    -------
    pandas.DataFrame
        Long table: ``subject``, ``meal_time``, ``condition``, ``minute``, ``glucose_mgdl``
        (linearly interpolated, NaN across gaps or outside the data) and ``delta_mgdl``
        (glucose minus the meal's baseline), one row per meal and grid minute.
    """
    grid_arr = np.arange(-30, 181, 5) if grid is None else np.asarray(grid, dtype=np.float64)
    r = _prepare_readings(readings)
    subj_list = list(r.subjects)
    m = meals.rename(columns={"time": "meal_time"}) if "meal_time" not in meals else meals
    if "meal_time" not in m.columns:
        raise InputError("meals lack a 'meal_time' (or 'time') column")
    subj = _fill_subject(m, subj_list)
    mt_all = _time_ns(m["meal_time"])
    ok_time = mt_all != np.iinfo(np.int64).min
    cond = (
        m["condition"].to_numpy(dtype=object)
        if "condition" in m.columns
        else np.full(len(m), None, dtype=object)
    )
    base_given = (
        m["baseline_mgdl"].to_numpy(dtype=np.float64) if "baseline_mgdl" in m.columns else None
    )
    values = np.full((len(m), len(grid_arr)), np.nan)
    base = np.full(len(m), np.nan)
    ns = float(_NS_PER_MIN)
    for s in pd.unique(subj[ok_time]):
        data = r.of(s)
        if data is None:
            continue
        rows = np.flatnonzero(ok_time & (subj == s))
        t, g, _, iv = data
        if interval_min is not None:
            iv = float(interval_min)
        if not np.isfinite(iv):
            iv = 5.0
        gap_ns = (float(max_gap_min) if max_gap_min is not None else default_max_gap(iv)) * ns
        x = mt_all[rows][:, None] + np.round(grid_arr * ns).astype(np.int64)[None, :]
        values[rows] = _interp_gap(t, g, x, gap_ns)
        if base_given is None:
            if isinstance(baseline, str):
                base[rows] = _baseline(baseline, t, g, mt_all[rows], gap_ns, iv, premeal_span, 0.5)
            else:
                base[rows] = float(baseline)
    if base_given is not None:
        base = base_given
    k = len(grid_arr)
    return pd.DataFrame(
        {
            "subject": np.repeat(subj, k),
            "meal_time": np.repeat(m["meal_time"].to_numpy(dtype="datetime64[ns]"), k),
            "condition": np.repeat(cond, k),
            "minute": np.tile(grid_arr, len(m)),
            "glucose_mgdl": values.reshape(-1),
            "delta_mgdl": (values - base[:, None]).reshape(-1),
        }
    )


# --------------------------------------------------------------------------------------------
# what was recognised
# --------------------------------------------------------------------------------------------

#: Event kinds shown by :func:`recognised_events`, in display order.
RECOGNISED_KINDS: tuple[str, ...] = ("meal", "spu", "exercise")


def recognised_events(recording: Any, kinds: Sequence[str] = RECOGNISED_KINDS) -> pd.DataFrame:
    """Tidy table of what the readers recognised as meals, SPU bouts and other exercise.

    Parameters
    ----------
    recording : Recording or DataFrame
        A recording (its ``events`` are used) or a canonical events frame.
    kinds : sequence of str
        Event kinds to list (default meals, SPU, exercise).

    Returns
    -------
    DataFrame
        One row per event, sorted by time: ``subject``, ``time``, ``end``, ``recognised_as``
        (the event kind), ``duration_min`` (min; NaN when the end is unknown), ``carbs_g`` (g),
        ``intensity``, ``label`` (the text it was recognised from), ``source`` (file/format).
    """
    ev = recording.events if hasattr(recording, "events") else recording
    cols = [
        "subject",
        "time",
        "end",
        "recognised_as",
        "duration_min",
        "carbs_g",
        "intensity",
        "label",
        "source",
    ]
    if ev is None or len(ev) == 0:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in cols})
    ev = ev.loc[ev["kind"].astype("object").isin(list(kinds)).to_numpy()]
    start = pd.to_datetime(ev["time"])
    end = pd.to_datetime(ev["end"]) if "end" in ev.columns else pd.Series(pd.NaT, index=ev.index)
    out = pd.DataFrame(
        {
            "subject": ev["subject"].astype("object") if "subject" in ev.columns else None,
            "time": start,
            "end": end,
            "recognised_as": ev["kind"].astype("object"),
            "duration_min": (end - start).dt.total_seconds().to_numpy(dtype=float) / 60.0,
        },
        index=ev.index,
    )
    for c in ("carbs_g", "intensity", "label", "source"):
        out[c] = ev[c] if c in ev.columns else np.nan
    order = {k: i for i, k in enumerate(kinds)}
    out["_k"] = out["recognised_as"].map(order)
    out = out.sort_values(["time", "_k"], kind="stable").drop(columns="_k")
    return out.reset_index(drop=True).loc[:, cols]


def recognition_summary(recognised: pd.DataFrame) -> pd.DataFrame:
    """Counts of :func:`recognised_events` by what was recognised and from which source.

    Returns
    -------
    DataFrame
        ``recognised_as``, ``source``, ``n`` (events), ``total_min`` (summed duration, min),
        ``carbs_g`` (summed, g).
    """
    if recognised.empty:
        return pd.DataFrame(columns=["recognised_as", "source", "n", "total_min", "carbs_g"])
    g = recognised.assign(source=recognised["source"].astype("object").fillna("?")).groupby(
        ["recognised_as", "source"], sort=True
    )
    return g.agg(
        n=("time", "size"),
        total_min=("duration_min", "sum"),
        carbs_g=("carbs_g", "sum"),
    ).reset_index()

"""Meal windows: align CGM readings to meals, decide SPU vs control, measure each response.

:func:`meal_responses` returns one row per meal (after merging meals eaten close together),
every meal included, excluded ones with their reason. :func:`meal_curves` puts the glucose
after each meal on a common minute grid for mean-curve plots. The measures themselves (iAUC,
peak, ...) are defined once, in :mod:`soleus_analysis.response`; this module only cuts the
windows and decides the rules.

Rules (every one a field of :class:`soleus_analysis.core.rules.Rules`, defaults there)
--------------------------------------------------------------------------------------
- Window: ``window`` minutes after the meal; the curve is cut at the window edges by linear
  interpolation with the readings just outside (only across a spacing no longer than the gap
  limit), so an off-grid meal still gets an area over exactly the window.
- Merging: meals of one subject less than ``merge_meals_within_min`` minutes after the
  previous meal are merged into it (chained: 0, 20 and 40 min become one meal at 0 min); carbs
  are summed, labels joined with ``" + "``, ``merged_meals`` counts the logged meals.
- Second meal: a (merged) meal starting after 0 and no later than the window end flags
  ``second_meal_in_window``; it excludes the meal only with ``exclude_second_meal``.
- Coverage: readings in the half-open window ``[start, end)`` divided by the expected number
  ``(end - start) / interval`` (capped at 1). Below ``min_coverage`` -> excluded.
- Gaps: the longest spacing between consecutive readings that overlaps the window (a window
  edge stands in for a missing reading before or after the data); longer than ``max_gap_min``
  (default ``max(20, 3 * interval)``) -> excluded.
- Censored readings (device "Low"/"High") in the window -> excluded (``exclude_censored``).
- Meal size: a (merged) meal whose carbs are known and below ``min_meal_carbs_g`` is not a
  meal (a coffee with milk): excluded with that reason alone, and no other meal's neighbour.
- Baselines: ``"t0"`` (interpolated at the meal time), ``"premeal"`` (mean of the readings
  with ``premeal_span[0] <= t <= premeal_span[1]``), ``"p40_24h"`` (40th percentile of the
  readings in the 24 h before the meal, needing ``p40_min_coverage`` of the expected readings),
  or a number in mg/dL. None -> excluded "no baseline".
- Condition: minutes of SPU bouts (events of kind ``"spu"``, ``time`` to ``end``; overlapping
  bouts counted once) inside ``[meal + spu_span[0], meal + spu_span[1]]`` (``None`` = window
  end); ``"spu"`` when at least ``min_spu_minutes``, else ``"control"``; the minutes are kept
  as ``spu_minutes`` (a dose). A bout without an end lasts ``spu_default_min`` minutes and is
  counted in ``spu_bouts_no_end``.
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

from . import insulin, response
from .clean import CleanReadings, as_clean, default_max_gap
from .core.clock import local_to_clock_ns
from .core.errors import InputError
from .core.rules import Rules
from .core.schema import DEFAULT_SUBJECT
from .core.validate import check_events

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
_BASELINE_RULES = ("t0", "premeal", "p40_24h")


# --------------------------------------------------------------------------- input plumbing


def _is_datetime(col: Any) -> bool:
    """Whether ``col`` is a Series of numpy datetimes (times already: nothing to parse)."""
    dtype = getattr(col, "dtype", None)
    return isinstance(col, pd.Series) and isinstance(dtype, np.dtype) and dtype.kind == "M"


def _time_ns(values: Any) -> np.ndarray:
    """Datetimes (any resolution) as int64 ns; NaT becomes int64 min."""
    if _is_datetime(values):
        return values.to_numpy(dtype="datetime64[ns]").view("i8")  # already times: no parse
    return pd.to_datetime(pd.Series(values)).to_numpy(dtype="datetime64[ns]").view("i8")


def _event_kinds(ev: pd.DataFrame) -> np.ndarray | None:
    """Each event's ``kind`` stripped and lower-cased (object array, None where missing).

    The text rules run once per distinct kind rather than once per event; None when the table
    has no ``kind`` column.
    """
    if "kind" not in ev.columns:
        return None
    col = ev["kind"]
    codes, uniq = pd.factorize(col, use_na_sentinel=True)
    values = np.asarray(uniq, dtype=object)
    if all(isinstance(v, str) for v in values):
        if all(v.isascii() and v.isprintable() for v in values):
            # printable ASCII: the only white space is " " and lower() is the same letters
            # in any engine, so Python's own methods give what pandas' .str gives
            norm_list = [v.strip().lower() for v in values]
        else:
            norm = pd.Series(values, dtype=object).astype(str).str.strip().str.lower()
            norm_list = norm.to_list()
        table = np.array([*norm_list, None], dtype=object)
        return table[codes]  # code -1 (missing) takes the last entry, None
    # kinds that are not all text (numbers, mixed): the rules on every event
    norm = col.astype(object).where(col.notna(), "").astype(str).str.strip().str.lower()
    out = norm.to_numpy(dtype=object).copy()
    out[col.isna().to_numpy()] = None
    return out


@dataclass
class _Readings:
    """Clean readings as arrays: subject ``k`` is ``bounds[k]:bounds[k+1]`` (from :func:`clean`)."""

    subjects: dict[Any, int]
    bounds: np.ndarray
    t: np.ndarray  # int64 ns, the device clock (windows are measured on it)
    local: np.ndarray  # int64 ns, local time (meal times are local)
    g: np.ndarray  # mg/dL
    cens: np.ndarray  # bool
    interval: np.ndarray  # minutes per subject

    @classmethod
    def of_clean(cls, c: CleanReadings) -> _Readings:
        r = c.readings
        cens = (
            r["censored"].notna().to_numpy(dtype=bool)
            if "censored" in r.columns
            else np.zeros(len(r), dtype=bool)
        )
        return cls(
            subjects={s: i for i, s in enumerate(c.subjects)},
            bounds=c.bounds,
            t=c.clock_ns,
            local=c.t_ns,
            g=r["glucose_mgdl"].to_numpy(dtype=np.float64),
            cens=cens,
            interval=c.interval_min.to_numpy(dtype=np.float64),
        )

    def of(self, subject: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, float] | None:
        """(t, g, cens, interval) of one subject, or None when it has no readings."""
        i = self.subjects.get(subject)
        if i is None:
            return None
        sl = slice(self.bounds[i], self.bounds[i + 1])
        return self.t[sl], self.g[sl], self.cens[sl], float(self.interval[i])

    def clock(self, subject: Any, local_ns: np.ndarray) -> np.ndarray:
        """Local times (ns, e.g. meals) of ``subject`` on the device clock of its readings."""
        i = self.subjects.get(subject)
        if i is None:
            return local_ns
        sl = slice(self.bounds[i], self.bounds[i + 1])
        return local_to_clock_ns(self.local[sl], self.t[sl], local_ns)


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
    return _prepare_meals(ev, subjects, _event_kinds(ev))


#: the dtype pandas gives a column of Python strings (``str`` on pandas 3, else object)
_TEXT_DTYPE = pd.DataFrame({"x": np.array(["x"], dtype=object)})["x"].dtype


def _as_text_column(col: pd.Series, take: np.ndarray | None = None) -> Any:
    """Rows ``take`` of a text column, ready for a new frame: the column's own array when
    pandas would infer that very dtype from its values as objects (no re-inference of every
    string), else the values as objects (pandas infers as before)."""
    if col.dtype == _TEXT_DTYPE and isinstance(_TEXT_DTYPE, pd.StringDtype):
        arr = col.array if take is None else col.array.take(take)
        if len(arr) and not arr.isna().all():  # all missing would stay object
            return arr
    out = col.to_numpy(dtype=object)
    return out if take is None else out[take]


def _object_column(col: pd.Series) -> np.ndarray:
    """A column as an object array with None where it is missing."""
    out = col.to_numpy(dtype=object)
    missing = pd.isna(out)
    if missing.any():
        out = out.copy()
        out[missing] = None
    return out


def _prepare_meals(
    ev: pd.DataFrame, subjects: list[Any] | None, kinds: np.ndarray | None
) -> pd.DataFrame:
    """:func:`prepare_meals` of events whose kinds :func:`_event_kinds` has normalised."""
    if kinds is None:
        keep = None
    else:
        keep = (kinds == "meal") | pd.isna(kinds)  # a missing kind is a meal
        if keep.all():
            keep = None
    sel = (lambda a: a) if keep is None else (lambda a: a[keep])
    take = None if keep is None else np.flatnonzero(keep)
    subj = _as_text_column(ev["subject"], take) if "subject" in ev.columns else None
    if not isinstance(subj, pd.api.extensions.ExtensionArray) or subj.isna().any():
        subj = _fill_subject_values(
            sel(ev["subject"].to_numpy(dtype=object)) if "subject" in ev.columns else None,
            int(len(ev) if keep is None else keep.sum()),
            subjects,
        )
    time = ev["time"]
    if _is_datetime(time):
        times = sel(time.to_numpy(dtype="datetime64[ns]"))
    else:
        times = pd.to_datetime(time if keep is None else time.loc[keep]).to_numpy(
            dtype="datetime64[ns]"
        )
    if "carbs_g" in ev.columns:
        c = ev["carbs_g"]
        if isinstance(c.dtype, np.dtype) and c.dtype.kind in "fiu":
            carbs = sel(c.to_numpy(dtype=np.float64))
        else:
            carbs = (
                pd.to_numeric(c if keep is None else c.loc[keep], errors="coerce")
                .astype(np.float64)
                .to_numpy()
            )
    else:
        carbs = np.nan
    labels = _as_text_column(ev["label"], take) if "label" in ev.columns else None
    if isinstance(labels, np.ndarray):
        labels = sel(_object_column(ev["label"]))
    out = pd.DataFrame({"subject": subj, "time": times, "carbs_g": carbs, "label": labels})
    if "block" in ev.columns:  # the planner's block, when some meal has one
        block = sel(_object_column(ev["block"]))
        if any(b is not None for b in block):
            out["block"] = block
    return out


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
    return _fill_subject_values(
        ev["subject"].to_numpy(dtype=object) if "subject" in ev.columns else None, len(ev), subjects
    )


def _fill_subject_values(subj: np.ndarray | None, n: int, subjects: list[Any] | None) -> np.ndarray:
    """Events' subjects (object array, or None for no column), the missing ones filled in."""
    if subj is None:
        subj = np.full(n, None, dtype=object)
    missing = pd.isna(subj)
    if missing.any():
        if subjects is not None and len(subjects) > 1:
            raise InputError(
                f"{int(missing.sum())} event(s) have no subject while the readings hold "
                f"{len(subjects)} subjects; give events a 'subject' column"
            )
        fill = subjects[0] if subjects else DEFAULT_SUBJECT
        subj = subj.copy()
        subj[missing] = fill
    return subj


def same_person(events: pd.DataFrame, subjects: list[Any]) -> pd.DataFrame:
    """Events under the readings' subject when each frame names exactly one, different, person.

    One person's CGM export and log read from two files without ``subject=`` may carry two
    different ids; matching nothing, every meal would be excluded for having no readings. When
    the readings hold one subject and the events one other, the events are taken as that
    person's, with a :class:`UserWarning` saying so. With several subjects on either side
    nothing is changed (ids must then match).
    """
    if "subject" not in events.columns or len(subjects) != 1 or len(events) == 0:
        return events
    col = events["subject"]
    if isinstance(col.dtype, pd.StringDtype):  # text already: the distinct values suffice
        ids = [u for u in pd.unique(col) if not pd.isna(u)]
    else:
        ids = pd.unique(col.dropna().astype(str))
    if len(ids) == 1 and ids[0] != str(subjects[0]):
        warnings.warn(
            f"the readings are of subject {subjects[0]!r} and the events of {ids[0]!r}; "
            f"taking the events as {subjects[0]!r}'s (give both the same subject to silence this)",
            UserWarning,
            stacklevel=3,
        )
        return events.assign(subject=subjects[0])
    return events


@dataclass
class _Bouts:
    """Events of one kind as arrays: subject, start and end (int64 ns; end = start when
    missing), whether the end was missing, and each subject's rows."""

    subject: np.ndarray
    start: np.ndarray
    end: np.ndarray
    no_end: np.ndarray

    def groups(self) -> dict[Any, np.ndarray]:
        """Subject -> row indices (file order)."""
        return dict(_rows_by_value(self.subject))


def _rows_by_value(values: np.ndarray) -> list[tuple[Any, np.ndarray]]:
    """``(value, row indices)`` for each distinct non-missing value of ``values``, values in
    order of first appearance, each one's rows in array order."""
    if len(values) == 0:
        return []
    codes, uniq = pd.factorize(values, use_na_sentinel=True)
    if len(uniq) == 1 and (codes == 0).all():
        return [(uniq[0], np.arange(len(values)))]
    order = np.argsort(codes, kind="stable")
    cuts = np.searchsorted(codes[order], np.arange(len(uniq) + 1))
    return [(uniq[k], order[cuts[k] : cuts[k + 1]]) for k in range(len(uniq))]


def _events_of_kinds(
    events: pd.DataFrame | None,
    wanted: tuple[str, ...],
    subjects: list[Any],
    kinds: np.ndarray | None = None,
) -> dict[str, _Bouts]:
    """The events of each kind of ``wanted`` (``kinds``: :func:`_event_kinds` of ``events``,
    if known), each column of the events read once."""
    none = np.zeros(0, dtype=np.int64)
    if events is None or "kind" not in events.columns or len(events) == 0:
        empty = _Bouts(np.zeros(0, dtype=object), none, none, np.zeros(0, dtype=bool))
        return dict.fromkeys(wanted, empty)
    ev = _with_time(events)
    if kinds is None:
        kinds = _event_kinds(ev)
    time = ev["time"]
    t_all = _time_ns(time) if _is_datetime(time) else None
    end_col = ev["end"] if "end" in ev.columns else None
    end_all = None
    if _is_datetime(end_col):
        end_all = _time_ns(end_col)
    subj_all = ev["subject"].to_numpy(dtype=object) if "subject" in ev.columns else None
    out = {}
    for kind in wanted:
        if t_all is not None:
            pick = np.flatnonzero((kinds == kind) & (t_all != np.iinfo(np.int64).min))
            start = t_all[pick]
        else:
            pick = np.flatnonzero((kinds == kind) & time.notna().to_numpy())
            start = _time_ns(time.iloc[pick])
        if end_col is None:
            end = np.full(len(pick), np.iinfo(np.int64).min)
        elif end_all is not None:
            end = end_all[pick]
        else:
            end = _time_ns(end_col.iloc[pick]) if len(pick) else none
        no_end = end == np.iinfo(np.int64).min
        end = np.where(no_end, start, np.maximum(end, start))
        subj = None if subj_all is None else subj_all[pick]
        out[kind] = _Bouts(_fill_subject_values(subj, len(pick), subjects), start, end, no_end)
    return out


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
    n = len(meals)
    t_all = _time_ns(meals["time"])
    nat = t_all == np.iinfo(np.int64).min
    ok_rows = np.flatnonzero(~nat)
    subj_col = meals["subject"]
    subj_all = subj_col.to_numpy(dtype=object)
    codes_all = pd.factorize(subj_col, use_na_sentinel=True)[0]
    # the order of sort_values(["subject", time], kind="stable"): pandas' lexsort of the
    # subjects' ordered categorical codes (missing last), then the times
    t_ok = t_all[ok_rows]
    if len(np.unique(codes_all[ok_rows])) <= 1:
        order = np.argsort(t_ok, kind="stable")
    else:
        order = np.lexsort((t_ok, _sort_key(subj_col.iloc[ok_rows])))
    rows = ok_rows[order]
    t = t_all[rows]
    codes = codes_all[rows]
    new = np.ones(len(rows), dtype=bool)
    if len(rows) > 1:
        gap = np.diff(t) / _NS_PER_MIN
        limit = float(within_min) if within_min else -np.inf
        new[1:] = (codes[1:] != codes[:-1]) | ~(gap < limit)
    cluster = np.cumsum(new) - 1
    first = np.flatnonzero(new)
    size = np.diff(np.append(first, len(rows))).astype(np.int64)
    carbs_all = (
        meals["carbs_g"].to_numpy(dtype=np.float64) if "carbs_g" in meals else np.full(n, np.nan)
    )
    carbs = carbs_all[rows]
    has_carbs = np.bincount(cluster, weights=np.isfinite(carbs), minlength=len(first))
    carb_sum = np.bincount(cluster, weights=np.nan_to_num(carbs), minlength=len(first))
    labels_all = (
        meals["label"].to_numpy(dtype=object) if "label" in meals else np.full(n, None, object)
    )
    labels = labels_all[rows]
    out_labels = labels[first].copy() if len(first) else np.zeros(0, dtype=object)
    multi = size > 1
    if multi.any():  # a merged meal without any label gets None, as the join below gives
        labelled = np.add.reduceat(pd.notna(labels).astype(np.int64), first) > 0
        out_labels[multi & ~labelled] = None
        multi &= labelled
    for c in np.flatnonzero(multi):  # only the merged meals with labels need joining (few)
        chunk = labels[first[c] : first[c] + size[c]]
        parts = [str(x) for x in chunk if x is not None and not pd.isna(x)]
        out_labels[c] = " + ".join(dict.fromkeys(parts)) if parts else None
    times = meals["time"]
    if not _is_datetime(times):
        times = pd.Series(t_all.view("datetime64[ns]"))
    firsts = rows[first]
    subj_out = _as_text_column(subj_col, firsts)
    if "label" in meals and not (size > 1).any():
        label_out = _as_text_column(meals["label"], firsts)  # nothing joined: as they are
        if isinstance(label_out, np.ndarray):
            label_out = out_labels
    else:
        label_out = out_labels
    merged = pd.DataFrame(
        {
            "subject": subj_out,
            "meal_time": times.to_numpy(dtype="datetime64[ns]")[firsts],
            "carbs_g": np.where(has_carbs > 0, carb_sum, np.nan),
            "meal_label": label_out,
            "merged_meals": size,
        }
    )
    has_block = "block" in meals.columns
    if has_block:  # a merged meal keeps its first meal's randomisation block
        block_all = meals["block"].to_numpy(dtype=object)
        merged["block"] = block_all[firsts]
    rest = np.flatnonzero(nat)
    if len(rest):
        tail = pd.DataFrame(
            {
                "subject": subj_all[rest],
                "meal_time": np.full(len(rest), np.datetime64("NaT"), dtype="datetime64[ns]"),
                "carbs_g": carbs_all[rest],
                "meal_label": labels_all[rest],
                "merged_meals": np.ones(len(rest), dtype=np.int64),
            }
        )
        if has_block:
            tail["block"] = block_all[rest]
        merged = pd.concat([merged, tail], ignore_index=True)
    return merged


def _sort_key(values: pd.Series) -> np.ndarray:
    """The key pandas' multi-column ``sort_values`` sorts ``values`` by (missing last)."""
    arr = values.to_numpy()
    if isinstance(arr, np.ndarray) and arr.dtype.kind in "fiub":
        return arr
    cat = pd.Categorical(values, ordered=True)
    return np.where(cat.codes == -1, len(cat.categories), cat.codes)


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


def _padded(values: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Rows ``values[idx]`` of a :func:`_padded_idx` index (-1 = padding -> NaN), float 2-D."""
    if len(values) == 0:
        return np.full(idx.shape, np.nan)
    return np.where(idx >= 0, values[np.maximum(idx, 0)], np.nan)


def _rel_minutes(t: np.ndarray, mt: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Reading times ``t[idx]`` (ns) of each row as minutes after ``mt`` (ns), NaN padded.

    ``idx`` is a :func:`_padded_idx` index. The difference is taken in integer nanoseconds, so
    a reading exactly 30 min before a meal is exactly -30.0 (float64 cannot hold epoch
    nanoseconds exactly).
    """
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


def meal_responses(
    readings: Any,
    events: pd.DataFrame | None = None,
    rules: Rules | dict | None = None,
    **changes: Any,
) -> pd.DataFrame:
    """One row per meal: window measures, baseline, SPU condition and dose, exclusions.

    The rules are those of :class:`~soleus_analysis.core.rules.Rules` (described in this
    module's docstring); the steps are :func:`prepare_meals` and :func:`merge_meals`, then
    :func:`spu_condition`, :func:`meal_windows`, :func:`meal_baselines`, the measures of
    :func:`soleus_analysis.response.auc_measures_batch` and :func:`exclusion_reasons`.

    Parameters
    ----------
    readings : pandas.DataFrame, CleanReadings or Recording
        Readings: ``time``, ``glucose_mgdl`` (mg/dL), optional ``subject``, ``censored``; or the
        clean stage's output (:func:`soleus_analysis.clean.clean`); or a recording (then
        ``events`` defaults to its events).
    events : pandas.DataFrame
        Events as the readers return them (``subject``, ``time``, ``end``, ``kind``,
        ``carbs_g``, ``label`` ...) or a bare table of meal times (``time``, optional
        ``subject``; without ``kind`` every row is a meal).
    rules : Rules or dict, optional
        The analysis rules; default :class:`~soleus_analysis.core.rules.Rules`.
    **changes
        Rules to change for this call, by name, e.g. ``window=(0, 180)``, ``baseline="t0"``,
        ``insulin_proxy=False``.

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
        ``n_censored``, ``excluded_reason`` (None when the meal counts), ``included``, and with
        the ``insulin_proxy`` rule ``insulin_proxy_baseline_pmol_l``,
        ``insulin_proxy_iauc_pmol_l_min`` (pmol/L·min) and ``insulin_proxy_peak_pmol_l``: a
        model-based *proxy* of insulin exposure, not measured insulin. ``attrs["rules"]`` holds
        the rules used (:meth:`~soleus_analysis.core.rules.Rules.to_record`, read-only).
    """
    if events is None and hasattr(readings, "events"):
        events = readings.events
    if events is None:
        raise InputError("meal_responses needs events (or a bare table of meal times)")
    rules = Rules.coerce(rules, **changes)
    c = as_clean(readings, rules)
    r = _Readings.of_clean(c)
    subjects = list(c.subjects)
    events = _with_time(same_person(check_events(events), subjects))
    kinds = _event_kinds(events)  # the kinds' text rules once, for meals, SPU and exercise
    meals = merge_meals(_prepare_meals(events, subjects, kinds), rules.merge_meals_within_min)
    groups = _meal_groups(meals, r)  # each subject's meals and readings, found once
    cond = _spu_condition(meals, events, subjects, rules, kinds, groups)
    win = meal_windows(meals, r, rules, groups=groups)
    baseline = meal_baselines(meals, r, rules, groups=groups)
    w0, w1 = rules.window
    measures = response.measures_of_rows(
        win.minutes,
        win.glucose,
        baseline,
        window=(w0, w1),
        decay_span=rules.decay_span_min,
        sorted_rows=True,  # meal_windows' rows: sorted readings, NaN padding after them
    )
    no_readings = win.cols["n_readings"] == 0
    if no_readings.any():
        for v in measures.values():
            v[no_readings] = np.nan
    small = small_meals(meals, rules)
    neighbours = _neighbour_minutes(meals, small, groups=groups)
    reasons = exclusion_reasons(meals, win.cols, baseline, neighbours, rules, small=small)
    extra = {}
    if rules.insulin_proxy:
        prox = _insulin_proxy(win.proxy_minutes, win.proxy_glucose, baseline, (w0, w1))
        extra = {col: prox[col].to_numpy(dtype=np.float64) for col in prox.columns}
    out = _meal_table(meals, cond, neighbours, w1, baseline, measures, win.cols, reasons, extra)
    out.attrs["rules"] = rules.to_record()
    return out


@dataclass
class _Group:
    """One subject's timed meals: their rows, times (local ns) and, with readings, the times on
    the readings' clock and the readings ``(t, g, cens, interval)``."""

    subject: Any
    rows: np.ndarray
    mt: np.ndarray
    clock: np.ndarray | None = None
    data: tuple[np.ndarray, np.ndarray, np.ndarray, float] | None = None


def _meal_groups(meals: pd.DataFrame, r: _Readings | None = None) -> list[_Group]:
    """Each subject's timed meals (subjects in order of first appearance, rows in table order),
    with the readings of ``r`` when given (times converted to their clock once, here)."""
    mt_all = meals["meal_time"].to_numpy(dtype="datetime64[ns]").view("i8")
    timed = np.flatnonzero(mt_all != np.iinfo(np.int64).min)
    if len(timed) == 0:
        return []
    out = []
    for subject, rel in _rows_by_value(meals["subject"].to_numpy(dtype=object)[timed]):
        rows = timed[rel]
        g = _Group(subject, rows, mt_all[rows])
        if r is not None:
            g.data = r.of(subject)
            if g.data is not None:
                g.clock = r.clock(subject, g.mt)
        out.append(g)
    return out


def spu_condition(
    meals: pd.DataFrame,
    events: pd.DataFrame,
    subjects: list[Any],
    rules: Rules,
    *,
    kinds: np.ndarray | None = None,
    groups: list[_Group] | None = None,
) -> pd.DataFrame:
    """SPU minutes, bouts without an end and other exercise of each meal (see module rules).

    Parameters
    ----------
    meals : pandas.DataFrame
        Merged meals (:func:`merge_meals`).
    events : pandas.DataFrame
        The events, with the SPU bouts (kind ``"spu"``) and other exercise (``"exercise"``).
    subjects : list
        Subjects of the readings (fills events without a subject).
    rules : Rules
        ``window``, ``spu_span``, ``spu_premeal_min``, ``spu_default_min``,
        ``min_spu_minutes``.
    kinds, groups : optional
        The events' normalised kinds and the meals by subject, when the caller has them.

    Returns
    -------
    pandas.DataFrame
        Per meal (``meals``' order): ``condition``, ``spu_minutes`` (min from the meal's start
        to the span's end), ``spu_premeal_minutes`` (min in the ``spu_premeal_min`` before the
        meal; a dose reported apart that never sets the condition), ``spu_bouts_no_end``,
        ``other_exercise``.
    """
    return pd.DataFrame(_spu_condition(meals, events, subjects, rules, kinds, groups))


def _spu_condition(
    meals: pd.DataFrame,
    events: pd.DataFrame,
    subjects: list[Any],
    rules: Rules,
    kinds: np.ndarray | None,
    groups: list[_Group] | None,
) -> dict[str, np.ndarray]:
    """The columns of :func:`spu_condition` as arrays."""
    n = len(meals)
    w0, w1 = rules.window
    s0 = rules.spu_span[0]
    s1 = w1 if rules.spu_span[1] is None else rules.spu_span[1]
    spu_min = np.zeros(n)
    premeal = np.zeros(n)
    no_end_n = np.zeros(n, dtype=np.int64)
    other = np.zeros(n, dtype=bool)
    if events is not None and "kind" in events.columns and len(events):
        events = _with_time(events)
        if kinds is None:
            kinds = _event_kinds(events)
    bouts = _events_of_kinds(events, ("spu", "exercise"), subjects, kinds)
    spu, exer = bouts["spu"], bouts["exercise"]
    spu_groups = spu.groups()
    ex_groups = exer.groups()
    ns = _NS_PER_MIN
    for grp in _meal_groups(meals) if groups is None else groups:
        subject, rows, mt = grp.subject, grp.rows, grp.mt
        if subject in spu_groups:
            k = spu_groups[subject]
            st = spu.start[k]
            no_end = spu.no_end[k]
            en = np.where(no_end, st + int(round(rules.spu_default_min * ns)), spu.end[k])
            lo, hi = mt + int(round(s0 * ns)), mt + int(round(s1 * ns))
            spu_min[rows] = _overlap_minutes(st, en, lo, hi)
            before = mt - int(round(rules.spu_premeal_min * ns))
            premeal[rows] = _overlap_minutes(st, en, before, mt)
            if no_end.any():
                no_end_n[rows] = (
                    (st[no_end][None, :] <= hi[:, None]) & (en[no_end][None, :] >= lo[:, None])
                ).sum(axis=1)
        if subject in ex_groups:
            k = ex_groups[subject]
            other[rows] = _any_overlap(
                exer.start[k],
                exer.end[k],
                mt + int(round(w0 * ns)),
                mt + int(round(w1 * ns)),
            )
    return {
        "condition": np.where(spu_min >= rules.min_spu_minutes, "spu", "control").astype(object),
        "spu_minutes": spu_min,
        "spu_premeal_minutes": premeal,
        "spu_bouts_no_end": no_end_n,
        "other_exercise": other,
    }


@dataclass
class _Windows:
    """Each meal's window: counts and gap (``cols``) and the curve handed to the measures."""

    cols: dict[str, np.ndarray]
    minutes: np.ndarray  # (meals, samples), minutes after the meal, NaN padded
    glucose: np.ndarray  # mg/dL
    proxy_minutes: np.ndarray | None  # the curve from the pre-meal span on (insulin proxy)
    proxy_glucose: np.ndarray | None


def _place(n: int, parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> tuple:
    """Stack per-subject (rows, minutes, glucose) blocks into (n, width) NaN-padded arrays."""
    width = max([m.shape[1] for _, m, _ in parts], default=1)
    minutes = np.full((n, width), np.nan)
    glucose = np.full((n, width), np.nan)
    for rows, m, g in parts:
        minutes[rows, : m.shape[1]] = m
        glucose[rows, : g.shape[1]] = g
    return minutes, glucose


def meal_windows(
    meals: pd.DataFrame, r: _Readings, rules: Rules, *, groups: list[_Group] | None = None
) -> _Windows:
    """Readings in each meal's window: count, coverage, longest gap, censored, and the curve.

    The curve holds the readings in the window plus the neighbour on each side when it lies
    within the gap limit (the measures cut the curve at the window edges by interpolation).
    Every subject's meals are handled at once: the window bounds are searched in the sorted
    reading times, the counts come from those positions.
    """
    n = len(meals)
    w0, w1 = rules.window
    cols = {
        "n_readings": np.zeros(n, dtype=np.int64),
        "coverage": np.zeros(n),
        "max_gap_in_window_min": np.full(n, np.nan),
        "gap_limit": np.full(n, np.inf),
        "n_censored": np.zeros(n, dtype=np.int64),
        "gap_from": np.full(n, np.nan),
        "gap_to": np.full(n, np.nan),
    }
    curves, proxy = [], []
    proxy_from = min(w0, rules.premeal_span[0])
    ns = _NS_PER_MIN
    for grp in _meal_groups(meals, r) if groups is None else groups:
        if grp.data is None:
            continue
        rows, mt = grp.rows, grp.clock
        t, g, cz, iv = grp.data
        nr = len(t)
        iv = _interval(iv, rules)
        gap_ns = _gap_limit(iv, rules) * ns
        cols["gap_limit"][rows] = gap_ns / ns
        s, e = mt + int(round(w0 * ns)), mt + int(round(w1 * ns))
        lo = np.searchsorted(t, s, side="left")
        hi = np.searchsorted(t, e, side="right")
        hi_open = np.searchsorted(t, e, side="left")
        cols["n_readings"][rows] = hi - lo
        cols["coverage"][rows] = np.minimum((hi_open - lo) / ((w1 - w0) / iv), 1.0)
        if cz.any():  # censored readings in [lo, hi): by the positions of the censored ones
            at = np.flatnonzero(cz)
            cols["n_censored"][rows] = np.searchsorted(at, hi) - np.searchsorted(at, lo)
        g_len, g_from, g_to = _longest_gap(t, lo, hi, s, e)
        cols["max_gap_in_window_min"][rows] = g_len
        cols["gap_from"][rows] = (g_from - mt) / ns
        cols["gap_to"][rows] = (g_to - mt) / ns
        ok_prev = (lo > 0) & (lo < nr)
        ok_prev &= (t[np.minimum(lo, nr - 1)] - t[np.maximum(lo - 1, 0)]) <= gap_ns
        ok_next = (hi < nr) & (hi > 0)
        ok_next &= (t[np.minimum(hi, nr - 1)] - t[np.maximum(hi - 1, 0)]) <= gap_ns
        a = lo - ok_prev.astype(np.int64)
        cnt = hi + ok_next.astype(np.int64) - a
        idx = _padded_idx(a, cnt)
        curves.append((rows, _rel_minutes(t, mt, idx), _padded(g, idx)))
        if rules.insulin_proxy:  # the model starts at basal: give it the pre-meal readings too
            a_p = np.minimum(np.searchsorted(t, mt + int(round(proxy_from * ns))), a)
            idx = _padded_idx(a_p, a + cnt - a_p)
            proxy.append((rows, _rel_minutes(t, mt, idx), _padded(g, idx)))
    minutes, glucose = _place(n, curves)
    pm, pg = _place(n, proxy) if rules.insulin_proxy else (None, None)
    return _Windows(cols, minutes, glucose, pm, pg)


def _interval(iv: float, rules: Rules) -> float:
    """The sampling interval used for a subject: the rule's, else inferred, else 5 min."""
    if rules.interval_min is not None:
        return float(rules.interval_min)
    return iv if np.isfinite(iv) else 5.0


def _gap_limit(iv: float, rules: Rules) -> float:
    return float(rules.max_gap_min) if rules.max_gap_min is not None else default_max_gap(iv)


def _longest_gap(
    t: np.ndarray, lo: np.ndarray, hi: np.ndarray, s: np.ndarray, e: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Longest stretch without readings *inside* each window [s, e] (ns), and where it lies.

    Each spacing between consecutive readings counts only for the part of it inside the window
    (a reading exactly at a window edge closes the window there, whatever lies beyond); where no
    reading precedes (follows) the window at all, the stretch from the window's start to the
    first reading (from the last reading to its end) counts. Returns (minutes, from, to) with
    from/to in ns; NaN minutes for a window with no spacing to measure.
    """
    nr = len(t)
    m = len(s)
    best = np.full(m, np.nan)
    a_best = np.full(m, np.nan)
    b_best = np.full(m, np.nan)
    if nr == 0:
        return best, a_best, b_best
    # candidate stretches: [t[k], t[k+1]] for k in lo-1 .. hi-1 (clipped to the window), plus
    # the edges when the data begin inside or end inside the window
    first_k = np.maximum(lo - 1, 0)
    last_k = np.minimum(hi, nr - 1)  # index of the first reading after the window (or last)
    rows = np.arange(m)
    sf, ef = s.astype(np.float64), e.astype(np.float64)
    # the stretches between readings, clipped to the window (on integers: the same values as
    # clipping their float64 conversions, as the conversion keeps the order)
    if nr > 1:
        width = int(np.max(last_k - first_k)) + 1 if m else 1
        k = np.minimum(first_k[:, None] + np.arange(width)[None, :], nr - 2)
        left_c = np.maximum(t[k], s[:, None]).astype(np.float64)
        right_c = np.minimum(t[k + 1], e[:, None]).astype(np.float64)
        with np.errstate(invalid="ignore"):
            length = right_c - left_c
            valid = (np.arange(width)[None, :] < (last_k - first_k)[:, None]) & (length > 0)
        length = np.where(valid, length, -np.inf)
        j = np.argmax(length, axis=1)  # the first longest
        best = length[rows, j]
        b_from, b_to = left_c[rows, j], right_c[rows, j]
    else:
        best = np.full(m, -np.inf)
        b_from = b_to = np.full(m, np.nan)
    # data that begin after the window's start, or end before its end
    first_in = np.where(lo < nr, t[np.minimum(lo, nr - 1)], e).astype(np.float64)
    last_in = np.where(hi > 0, t[np.maximum(hi - 1, 0)], s).astype(np.float64)
    edge_l = np.where(lo == 0, np.minimum(first_in, ef) - sf, -np.inf)
    edge_r = np.where(hi == nr, ef - np.maximum(last_in, sf), -np.inf)
    # the first maximum in the order: stretches, start edge, end edge (NaN = not a candidate)
    edge_l = np.where(np.isnan(edge_l), -np.inf, edge_l)
    edge_r = np.where(np.isnan(edge_r), -np.inf, edge_r)
    use_l = edge_l > best
    best = np.where(use_l, edge_l, best)
    b_from = np.where(use_l, sf, b_from)
    b_to = np.where(use_l, np.minimum(first_in, ef), b_to)
    use_r = edge_r > best
    best = np.where(use_r, edge_r, best)
    b_from = np.where(use_r, np.maximum(last_in, sf), b_from)
    b_to = np.where(use_r, ef, b_to)
    has = best > -np.inf
    best = np.where(has, best, np.nan) / _NS_PER_MIN
    a_best = np.where(has, b_from, np.nan)
    b_best = np.where(has, b_to, np.nan)
    return best, a_best, b_best


def meal_baselines(
    meals: pd.DataFrame, r: _Readings, rules: Rules, *, groups: list[_Group] | None = None
) -> np.ndarray:
    """Baseline (mg/dL) of each meal by the ``baseline`` rule; NaN where it cannot be formed."""
    n = len(meals)
    if not isinstance(rules.baseline, str):
        return np.full(n, float(rules.baseline))
    out = np.full(n, np.nan)
    for grp in _meal_groups(meals, r) if groups is None else groups:
        if grp.data is None:
            continue
        t, g, _, iv = grp.data
        iv = _interval(iv, rules)
        out[grp.rows] = _baseline(
            rules.baseline,
            t,
            g,
            grp.clock,
            _gap_limit(iv, rules) * _NS_PER_MIN,
            iv,
            rules.premeal_span,
            rules.p40_min_coverage,
        )
    return out


def small_meals(meals: pd.DataFrame, rules: Rules) -> np.ndarray:
    """Which (merged) meals are too small to be meals: known carbs below ``min_meal_carbs_g``."""
    carbs = meals["carbs_g"].to_numpy(dtype=np.float64)
    if rules.min_meal_carbs_g <= 0:
        return np.zeros(len(meals), dtype=bool)
    return np.isfinite(carbs) & (carbs < rules.min_meal_carbs_g)


def _neighbour_minutes(
    meals: pd.DataFrame,
    ignore: np.ndarray | None = None,
    *,
    groups: list[_Group] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Minutes to the next and since the previous meal of the same subject (NaN at the ends);
    meals marked ``ignore`` (too small to be meals) are nobody's neighbour and have none."""
    n = len(meals)
    to_next, since_prev = np.full(n, np.nan), np.full(n, np.nan)
    for grp in _meal_groups(meals) if groups is None else groups:
        rows, mt = grp.rows, grp.mt
        if ignore is not None:
            kept = ~ignore[rows]
            rows, mt = rows[kept], mt[kept]
        if len(rows) > 1:  # meals are sorted by time within subject
            d = np.diff(mt) / _NS_PER_MIN
            to_next[rows[:-1]] = d
            since_prev[rows[1:]] = d
    return to_next, since_prev


#: the reason of a meal whose window holds no CGM reading at all
REASON_NO_READINGS = "no CGM readings during this meal's window"
#: the reason of a meal without a time
REASON_NO_TIME = "no meal time"


def _baseline_reason(rules: Rules) -> str:
    if rules.baseline == "premeal":
        lo, hi = rules.premeal_span
        span = f"{-lo:g} min before" if hi == 0 else f"{lo:g} to {hi:g} min around"
        return f"no CGM readings in the {span} this meal (no baseline)"
    if rules.baseline == "t0":
        return "no CGM reading at the time of this meal (no baseline)"
    return (
        f"less than {100 * rules.p40_min_coverage:.0f}% of the 24 h before this meal has CGM "
        "readings (no baseline)"
    )


def _gap_reason(gap: float, start: float, end: float, rules: Rules) -> str:
    """Where the CGM data stop, in words (minutes relative to the meal)."""
    w0, w1 = rules.window
    if start <= w0 and end >= w1:
        return "no CGM readings in this meal's window"
    if start <= w0:
        return f"the CGM data start only {end:.0f} min after this meal"
    if end >= w1:
        return f"the CGM data stop {start:.0f} min after this meal"
    return f"the CGM data pause for {gap:.0f} min ({start:.0f} to {end:.0f} min after this meal)"


def exclusion_reasons(
    meals: pd.DataFrame,
    cols: dict[str, np.ndarray],
    baseline: np.ndarray,
    neighbours: tuple[np.ndarray, np.ndarray],
    rules: Rules,
    *,
    small: np.ndarray | None = None,
) -> list[str | None]:
    """Why each meal is excluded, in plain words (``"; "``-joined, None when it counts).

    Checked: a time; readings in the window; a meal's size (known carbs below
    ``min_meal_carbs_g``: not a meal, the only reason given); a baseline; coverage of the
    expected readings; the longest gap of the readings *inside* the window (naming where the
    data stop); a sensor Low/High reading; and, by ``exclude_overlapping_meals``, another meal
    starting inside this meal's window or this meal starting inside another's.

    Every check runs on all meals at once; only the excluded meals' reasons are put in words.

    Parameters
    ----------
    meals : pandas.DataFrame
        Merged meals (``meal_time``, ``carbs_g``).
    cols : dict
        :func:`meal_windows`' columns (``n_readings``, ``coverage``, the gap).
    baseline : numpy.ndarray
        Baseline per meal, mg/dL (NaN = none).
    neighbours : (numpy.ndarray, numpy.ndarray)
        Minutes to the next and since the previous meal.
    rules : Rules
        The rules.
    small : numpy.ndarray of bool, optional
        :func:`small_meals` of ``meals``, when the caller has it.

    Returns
    -------
    list of (str or None)
        One entry per meal.
    """
    n = len(meals)
    w1 = rules.window[1]
    to_next, since_prev = neighbours
    no_time = np.isnat(meals["meal_time"].to_numpy(dtype="datetime64[ns]"))
    empty = cols["n_readings"] == 0
    small = small_meals(meals, rules) if small is None else small
    no_base = np.isnan(baseline)
    low_cov = cols["coverage"] < rules.min_coverage
    max_gap = cols["max_gap_in_window_min"]
    gap = np.isfinite(max_gap) & (max_gap > cols["gap_limit"])
    cens = (cols["n_censored"] > 0) if rules.exclude_censored else np.zeros(n, dtype=bool)
    with np.errstate(invalid="ignore"):
        nxt = np.isfinite(to_next) & (to_next > 0) & (to_next <= w1)
        prv = np.isfinite(since_prev) & (since_prev > 0) & (since_prev <= w1)
    if not rules.exclude_overlapping_meals:
        nxt = prv = np.zeros(n, dtype=bool)
    out: list[str | None] = [None] * n
    flagged = no_time | empty | small | no_base | low_cov | gap | cens | nxt | prv
    if not flagged.any():
        return out
    carbs = meals["carbs_g"].to_numpy(dtype=np.float64).tolist()
    base_reason = _baseline_reason(rules)
    # Python lists: the loop below reads single values (numpy scalars are slower to get)
    no_time, empty, small, no_base = (x.tolist() for x in (no_time, empty, small, no_base))
    low_cov, gap, cens, nxt, prv = (x.tolist() for x in (low_cov, gap, cens, nxt, prv))
    coverage = cols["coverage"].tolist()
    max_gap, gap_from, gap_to = (
        cols[k].tolist() for k in ("max_gap_in_window_min", "gap_from", "gap_to")
    )
    to_next, since_prev = to_next.tolist(), since_prev.tolist()
    for i in np.flatnonzero(flagged).tolist():
        if no_time[i]:
            out[i] = REASON_NO_TIME
            continue
        if empty[i]:
            out[i] = REASON_NO_READINGS  # the window is empty: nothing else to say
            continue
        if small[i]:
            out[i] = (
                f"{carbs[i]:g} g of carbs is less than a meal ({rules.min_meal_carbs_g:g} g or "
                "more; rule min_meal_carbs_g)"
            )
            continue
        parts = []
        if no_base[i]:
            parts.append(base_reason)
        if low_cov[i]:
            parts.append(
                f"only {math.floor(100 * coverage[i]):.0f}% of the expected CGM readings "
                f"in the window ({100 * rules.min_coverage:.0f}% needed)"
            )
        if gap[i]:
            parts.append(_gap_reason(max_gap[i], gap_from[i], gap_to[i], rules))
        if cens[i]:
            parts.append("a sensor Low/High reading in the window")
        if nxt[i]:
            parts.append(f"another meal starts {to_next[i]:.0f} min after this one")
        if prv[i]:
            parts.append(f"it starts {since_prev[i]:.0f} min after another meal")
        out[i] = "; ".join(parts) if parts else None
    return out


def _within(minutes: np.ndarray, window_end: float) -> np.ndarray:
    return np.isfinite(minutes) & (minutes > 0) & (minutes <= window_end)


def _time_of_day_h(ns: np.ndarray) -> np.ndarray:
    """Hours since midnight of int64-ns times, ``hour + minute / 60 + second / 3600`` (the
    fraction of a second dropped, as ``Series.dt`` gives it); NaN for NaT."""
    nat = ns == np.iinfo(np.int64).min
    sec = np.floor_divide(ns, 1_000_000_000) % 86_400
    hour = (sec // 3600).astype(np.float64)
    minute = ((sec // 60) % 60).astype(np.float64)
    second = (sec % 60).astype(np.float64)
    return np.where(nat, np.nan, hour + minute / 60.0 + second / 3600.0)


def _conditions(values: np.ndarray) -> Any:
    """The ``condition`` column: ``"spu"``/``"control"`` in the dtype pandas infers for them,
    taken from a two-value array rather than inferred string by string."""
    values = np.asarray(values, dtype=object)
    if len(values) == 0 or not isinstance(_TEXT_DTYPE, pd.StringDtype):
        return values
    spu = values == "spu"
    if not (spu | (values == "control")).all():
        return values
    pair = pd.array(np.array(["control", "spu"], dtype=object), dtype=_TEXT_DTYPE)
    return pair.take(spu.astype(np.intp))


def _meal_table(
    meals: pd.DataFrame,
    cond: dict[str, np.ndarray],
    neighbours: tuple[np.ndarray, np.ndarray],
    window_end: float,
    baseline: np.ndarray,
    measures: dict[str, np.ndarray],
    cols: dict[str, np.ndarray],
    reasons: list[str | None],
    extra: dict[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """The per-meal table of :func:`meal_responses`, columns in their documented order."""
    mtime = meals["meal_time"].to_numpy(dtype="datetime64[ns]")
    data: dict[str, Any] = {
        "subject": _as_text_column(meals["subject"]),
        "meal_time": mtime,
        "meal_label": pd.Series(meals["meal_label"].to_numpy(dtype=object), dtype=object),
        "carbs_g": meals["carbs_g"].to_numpy(dtype=np.float64),
        "merged_meals": meals["merged_meals"].to_numpy(dtype=np.int64),
        "time_of_day_h": _time_of_day_h(mtime.view("i8")),
        "condition": _conditions(cond["condition"]),
        "spu_minutes": np.asarray(cond["spu_minutes"], dtype=np.float64),
        "spu_premeal_minutes": np.asarray(cond["spu_premeal_minutes"], dtype=np.float64),
        "spu_bouts_no_end": np.asarray(cond["spu_bouts_no_end"], dtype=np.int64),
        "other_exercise": np.asarray(cond["other_exercise"], dtype=bool),
        "second_meal_in_window": _within(neighbours[0], window_end),
        "previous_meal_in_window": _within(neighbours[1], window_end),
        "minutes_to_next_meal": neighbours[0],
        "minutes_since_prev_meal": neighbours[1],
        "baseline_mgdl": baseline,
    }
    if "block" in meals.columns:  # the planner's randomisation block, carried to the tests
        data["block"] = meals["block"].to_numpy(dtype=object)
    for c in response.MEASURE_COLUMNS:
        data[c] = np.asarray(measures[c], dtype=np.float64)
    for c in ("n_readings", "coverage", "max_gap_in_window_min", "n_censored"):
        data[c] = cols[c]
    # object dtype on every pandas version: None where the meal counts, a string otherwise
    data["excluded_reason"] = pd.Series(reasons, dtype=object)
    data["included"] = np.array([x is None for x in reasons], dtype=bool)
    data.update(extra or {})
    return pd.DataFrame(data)


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
        idx = _padded_idx(lo, hi - lo)
        mins = _rel_minutes(t, mt, idx)
        vals = _padded(g, idx)
        return np.asarray(response.baseline_premeal(mins, vals, span=(p0, p1)), dtype=np.float64)
    # p40_24h: readings in [meal - 24 h, meal)
    lo = np.searchsorted(t, mt - 1440 * ns, side="left")
    hi = np.searchsorted(t, mt, side="left")
    out = response.baseline_percentile(_padded(g, _padded_idx(lo, hi - lo)), 40.0)
    enough = (hi - lo) >= p40_min_coverage * 1440.0 / interval_min
    return np.where(enough, out, np.nan)


def _insulin_proxy(
    minutes_2d: np.ndarray,
    glucose_2d: np.ndarray,
    baseline_mgdl: np.ndarray,
    window: tuple[float, float],
) -> pd.DataFrame:
    """Insulin-exposure *proxy* measures per meal (model-based, not measured insulin)."""
    res = insulin.insulin_proxy_measures_batch(
        minutes_2d, glucose_2d, window=window, baseline="t0", gb_mgdl=baseline_mgdl
    )
    return res[[c for c in insulin.PROXY_MEASURE_COLUMNS if c in res.columns]]


# --------------------------------------------------------------------------- curves


def curve_grid(rules: Rules) -> np.ndarray:
    """Minutes of the mean-curve grid: from the pre-meal span's start (or the window's, if
    earlier) to the window end, every ``curve_step_min`` minutes."""
    start = min(rules.premeal_span[0], rules.window[0])
    step = rules.curve_step_min
    return np.arange(start, rules.window[1] + step / 2, step, dtype=np.float64)


def meal_curves(
    readings: Any,
    meals: pd.DataFrame,
    grid: np.ndarray | None = None,
    rules: Rules | dict | None = None,
    **changes: Any,
) -> pd.DataFrame:
    """Glucose around each meal on a common minute grid, for mean-curve plots.

    Parameters
    ----------
    readings : pandas.DataFrame or CleanReadings
        Readings (``subject``, ``time``, ``glucose_mgdl`` mg/dL) or the clean stage's output.
    meals : pandas.DataFrame
        Meals: the output of :func:`meal_responses` (filter it first, e.g. to included meals)
        or any table with ``meal_time`` (or ``time``), optional ``subject`` and ``condition``.
    grid : array_like, optional
        Minutes relative to the meal; default :func:`curve_grid` of the rules.
    rules : Rules or dict, optional
        ``baseline`` and ``premeal_span`` (used for ``delta_mgdl`` only when ``meals`` has no
        ``baseline_mgdl`` column), ``max_gap_min`` (no interpolation across longer spacings),
        ``interval_min``, and the grid; default :class:`~soleus_analysis.core.rules.Rules`.
    **changes
        Rules to change for this call, by name.

    Returns
    -------
    pandas.DataFrame
        Long table: ``subject``, ``meal_time``, ``condition``, ``minute``, ``glucose_mgdl``
        (linearly interpolated, NaN across gaps or outside the data) and ``delta_mgdl``
        (glucose minus the meal's baseline), one row per meal and grid minute.
    """
    rules = Rules.coerce(rules, **changes)
    grid_arr = curve_grid(rules) if grid is None else np.asarray(grid, dtype=np.float64)
    c = as_clean(readings, rules)
    r = _Readings.of_clean(c)
    subj_list = list(c.subjects)
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
    ns = float(_NS_PER_MIN)
    for s_ in pd.unique(subj[ok_time]):
        data = r.of(s_)
        if data is None:
            continue
        rows = np.flatnonzero(ok_time & (subj == s_))
        t, g, _, iv = data
        gap_ns = _gap_limit(_interval(iv, rules), rules) * ns
        x = r.clock(s_, mt_all[rows])[:, None] + np.round(grid_arr * ns).astype(np.int64)[None, :]
        values[rows] = _interp_gap(t, g, x, gap_ns)
    if base_given is not None:
        base = base_given
    else:
        base = meal_baselines(m.assign(subject=subj), r, rules)
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

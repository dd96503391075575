"""The clean stage: readings sorted, de-duplicated, with their sampling interval and gaps, once.

:func:`clean` is the one place where readings are prepared for analysis: it drops readings
without a time or a usable glucose value and exact duplicates (counting each by reason), sorts
them by subject and the device's clock (:mod:`soleus_analysis.core.clock`), infers each subject's
sampling interval and finds the gaps. Everything after it (:mod:`soleus_analysis.align`,
:mod:`soleus_analysis.metrics`, the plots) takes its :class:`CleanReadings`; given a plain frame
they call :func:`clean` themselves, so there is one definition of each step.

:func:`infer_interval` and :func:`find_gaps` read those results; :func:`drop_warmup` and
:func:`mark_censored` are optional steps after it (not in the default path), pure and reporting
what they changed (``(frame, count)``), never silently.

Readings follow :mod:`soleus_analysis.core.schema`: ``subject``, ``time`` (tz-naive local time),
``glucose_mgdl`` (mg/dL), ``censored`` (``"low"``/``"high"`` or missing), ``source``; readers may
append extra columns such as ``transmitter_time_s`` (Dexcom).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .core.clock import readings_clock_ns
from .core.rules import Rules
from .core.schema import CENSORED_HIGH, CENSORED_LOW, DEFAULT_SUBJECT
from .core.validate import check_frame, check_readings

__all__ = [
    "CleanReadings",
    "as_clean",
    "clean",
    "default_max_gap",
    "drop_warmup",
    "find_gaps",
    "infer_interval",
    "mark_censored",
    "median_spacing_ranges",
    "range_reduce",
]

_NS_PER_MIN = 60_000_000_000


#: reasons :func:`clean` drops a reading for
DROP_NO_TIME = "no time"
DROP_NO_GLUCOSE = "no glucose value"
DROP_NON_POSITIVE = "glucose not above 0 mg/dL"
DROP_DUPLICATE = "duplicate reading"


@dataclass(frozen=True)
class CleanReadings:
    """Readings as every step after the clean stage takes them (see :func:`clean`).

    Attributes
    ----------
    readings : pandas.DataFrame
        Canonical readings with a valid time and a glucose value above 0 mg/dL, without exact
        duplicates, sorted by subject, time and (where the export has it) the transmitter's
        clock (:attr:`clock_ns`); index 0..n-1.
    subjects : list
        The subjects in sort order; ``codes[i]`` indexes this list for reading ``i``.
    codes : numpy.ndarray of int
        Subject code of each reading (non-decreasing).
    bounds : numpy.ndarray of int
        Subject ``k``'s readings are rows ``bounds[k]:bounds[k + 1]``.
    t_ns : numpy.ndarray of int64
        Local reading times, nanoseconds (may step back where a fall-back repeats an hour).
    clock_ns : numpy.ndarray of int64
        The device's clock, ns (:func:`~soleus_analysis.core.clock.device_clock_ns`): equal to
        ``t_ns`` except after a clock change inside an export with transmitter times; non-decreasing
        within each subject. Windows, gaps and intervals are measured on it.
    interval_min : pandas.Series
        Sampling interval per subject, minutes: the rule's ``interval_min`` or the median
        spacing of distinct reading times (NaN with fewer than two distinct times).
    gaps : pandas.DataFrame
        Spans without readings longer than the gap limit: ``subject``, ``gap_start``,
        ``gap_end``, ``gap_min`` (minutes).
    dropped : dict
        Reason -> readings dropped (``n_in = len(readings) + sum(dropped.values())``).
    rules : Rules
        The rules used (``interval_min``, ``max_gap_min``).
    """

    readings: pd.DataFrame
    subjects: list
    codes: np.ndarray
    bounds: np.ndarray
    t_ns: np.ndarray
    clock_ns: np.ndarray
    interval_min: pd.Series
    gaps: pd.DataFrame
    dropped: dict[str, int] = field(default_factory=dict)
    rules: Rules = field(default_factory=Rules)

    def interval_of(self, subject: Any) -> float:
        """Sampling interval of ``subject``, minutes (NaN when unknown)."""
        return float(self.interval_min.get(subject, np.nan))

    def rows_of(self, subject: Any) -> slice:
        """Row slice of ``subject``'s readings (empty when it has none)."""
        try:
            k = self.subjects.index(subject)
        except ValueError:
            return slice(0, 0)
        return slice(int(self.bounds[k]), int(self.bounds[k + 1]))


def clean(data: Any, rules: Rules | dict | None = None) -> CleanReadings:
    """The clean stage: valid, de-duplicated, sorted readings, their interval and gaps.

    Steps, in order: drop readings without a time (``"no time"``) or without a glucose value
    (``"no glucose value"``) or with glucose at or below 0 mg/dL (``"glucose not above 0
    mg/dL"``); sort by subject and the device's clock (local time, corrected from
    ``transmitter_time_s`` or ``utc_time_s`` where the export has it, so the hour a daylight-saving fall-back
    repeats stays in the order it was measured); drop exact duplicates (same subject, time,
    glucose, censoring and transmitter time: the same reading exported twice, ``"duplicate
    reading"``); infer each subject's sampling interval and find the gaps, on that clock.
    Censored (Low/High) readings are kept: they hold the device limit.

    Parameters
    ----------
    data : Recording or pandas.DataFrame or CleanReadings
        Readings (``time`` local and tz-naive, ``glucose_mgdl`` in mg/dL, optional
        ``subject``, ``censored``, reader extras), or a recording holding them. Readings
        without a ``subject`` column are given :data:`~soleus_analysis.core.schema.DEFAULT_SUBJECT`.
    rules : Rules or dict, optional
        ``interval_min`` and ``max_gap_min`` are used; defaults :class:`Rules`.

    Returns
    -------
    CleanReadings
    """
    if isinstance(data, CleanReadings):
        return data
    rules = Rules.coerce(rules)
    readings = data.readings if hasattr(data, "readings") else data
    readings = check_readings(readings)
    if "subject" not in readings.columns or readings["subject"].isna().all():
        readings = readings.assign(subject=DEFAULT_SUBJECT)
    n = len(readings)
    t = readings["time"].to_numpy(dtype="datetime64[ns]").view("i8")
    g = pd.to_numeric(readings["glucose_mgdl"], errors="coerce").to_numpy(dtype=np.float64)
    ok, dropped = _usable(t, g)
    codes, uniques = _subject_codes_sorted(readings["subject"])
    tx = (
        pd.to_numeric(readings["transmitter_time_s"], errors="coerce").to_numpy(np.float64)
        if "transmitter_time_s" in readings.columns
        else None
    )  # part of what makes two readings the same one
    clock = readings_clock_ns(readings, codes)
    sel, sorted_ = _device_order(np.flatnonzero(ok), codes, clock, t)
    cens = readings["censored"].to_numpy(dtype=object) if "censored" in readings.columns else None
    sel = _drop_exact_duplicates(sel, codes, clock, t, g, cens, tx)
    c, tt, ck = codes[sel], t[sel], clock[sel]
    dropped[DROP_DUPLICATE] = int(ok.sum() - len(sel))
    if len(sel) == n and sorted_:
        out = (
            readings
            if isinstance(readings.index, pd.RangeIndex)
            else readings.reset_index(drop=True)
        )
    else:
        out = readings.iloc[sel].reset_index(drop=True)
    k = len(uniques)
    bounds = np.searchsorted(c, np.arange(k + 1))
    present = np.flatnonzero(bounds[1:] > bounds[:-1])
    subjects = [uniques[i] for i in present]
    if len(present) < k:  # subjects whose every reading was dropped
        remap = np.full(k, -1, dtype=np.int64)
        remap[present] = np.arange(len(present))
        c = remap[c]
        bounds = np.searchsorted(c, np.arange(len(present) + 1))
    if rules.interval_min is not None:
        iv = np.full(len(subjects), float(rules.interval_min))
    else:
        iv = median_spacing_ranges(np.diff(ck), _NS_PER_MIN, bounds[:-1], bounds[1:])
    interval = pd.Series(
        iv, index=pd.Index(subjects, dtype=object, name="subject"), name="interval_min"
    )
    gaps = _gaps(out, c, ck, subjects, iv, rules.max_gap_min)
    return CleanReadings(
        readings=out,
        subjects=subjects,
        codes=c,
        bounds=bounds,
        t_ns=tt,
        clock_ns=ck,
        interval_min=interval,
        gaps=gaps,
        dropped={r: v for r, v in dropped.items() if v},
        rules=rules,
    )


def _usable(t: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, dict[str, int]]:
    """Readings with a time and a glucose value above 0 mg/dL; the others counted by reason."""
    no_time = t == np.iinfo(np.int64).min
    no_value = ~no_time & ~np.isfinite(g)
    non_pos = ~no_time & np.isfinite(g) & (g <= 0)
    dropped = {
        DROP_NO_TIME: int(no_time.sum()),
        DROP_NO_GLUCOSE: int(no_value.sum()),
        DROP_NON_POSITIVE: int(non_pos.sum()),
    }
    return ~(no_time | no_value | non_pos), dropped


def _subject_codes_sorted(subject: pd.Series) -> tuple[np.ndarray, list]:
    """Integer code of each reading's subject, subjects in sort order (a missing one is the
    default subject)."""
    if subject.isna().any():
        subject = subject.astype(object).where(subject.notna(), DEFAULT_SUBJECT)
    runs = _sorted_runs(subject)
    if runs is None:
        codes, uniques = pd.factorize(subject, sort=True)
        return codes.astype(np.int64), list(uniques)
    run_len, uniques = runs  # grouped in ascending runs already, as readers return them
    return np.repeat(np.arange(len(uniques), dtype=np.int64), run_len), list(uniques)


def _device_order(
    sel: np.ndarray, codes: np.ndarray, clock: np.ndarray, t: np.ndarray
) -> tuple[np.ndarray, bool]:
    """``sel`` ordered by subject, device clock and local time; and whether it already was."""
    c, ck, tt = codes[sel], clock[sel], t[sel]
    sorted_ = bool(np.all(c[1:] >= c[:-1]))
    if sorted_ and len(c) > 1:
        same = c[1:] == c[:-1]
        dk = ck[1:] - ck[:-1]
        sorted_ = bool(np.all(~same | (dk > 0) | ((dk == 0) & (tt[1:] >= tt[:-1]))))
    if not sorted_:
        sel = sel[np.lexsort([tt, ck, c])]
    return sel, sorted_


def _drop_exact_duplicates(
    sel: np.ndarray,
    codes: np.ndarray,
    clock: np.ndarray,
    t: np.ndarray,
    g: np.ndarray,
    cens: np.ndarray | None,
    tx: np.ndarray | None,
) -> np.ndarray:
    """``sel`` (sorted) without exact repeats: only readings sharing subject and clock time
    with a neighbour can be one, so only those are compared (local time, value, censoring,
    transmitter time)."""
    if len(sel) < 2:
        return sel
    c, ck = codes[sel], clock[sel]
    tie = (c[1:] == c[:-1]) & (ck[1:] == ck[:-1])
    if not tie.any():
        return sel
    cand = np.zeros(len(sel), dtype=bool)
    cand[1:] |= tie
    cand[:-1] |= tie
    ci = np.flatnonzero(cand)
    key = {"c": c[ci], "k": ck[ci], "t": t[sel][ci], "g": g[sel][ci]}
    if cens is not None:
        key["z"] = cens[sel][ci]
    if tx is not None:
        key["x"] = tx[sel][ci]
    dup = pd.DataFrame(key).duplicated().to_numpy()
    if not dup.any():
        return sel
    keep = np.ones(len(sel), dtype=bool)
    keep[ci[dup]] = False
    return sel[keep]


def as_clean(data: Any, rules: Rules | dict | None = None) -> CleanReadings:
    """``data`` itself when it is already :class:`CleanReadings`, else :func:`clean` of it."""
    return data if isinstance(data, CleanReadings) else clean(data, rules)


def range_reduce(
    ufunc: np.ufunc, a: np.ndarray, lo: np.ndarray, hi: np.ndarray, **kw
) -> np.ndarray:
    """``ufunc.reduce(a[lo[i]:hi[i]])`` for sorted, non-overlapping, non-empty ranges."""
    if len(lo) == 0:
        return np.empty(0, dtype=kw.get("dtype", a.dtype))
    idx = np.empty(2 * len(lo), dtype=np.intp)
    idx[0::2] = lo
    idx[1::2] = hi
    if idx[-1] >= len(a):
        idx = idx[:-1]
    return ufunc.reduceat(a, idx, **kw)[0::2]


def _sorted_runs(subject: pd.Series) -> tuple[np.ndarray, list] | None:
    """Run lengths and values of an Arrow-backed string column in ascending runs, else None.

    Readers return readings grouped by subject in sorted order; then the run-end encoding gives
    the groups far faster than hashing every row. Anything else (nulls, unsorted runs, a
    non-Arrow column) returns None and the caller falls back to :func:`pandas.factorize`.
    """
    try:
        arr = subject.array.__arrow_array__()
    except (ImportError, AttributeError, TypeError, ValueError):
        return None
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if len(arr) == 0 or arr.null_count:
        return None
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return None
    ree = pc.run_end_encode(arr)
    values = ree.values.to_pylist()
    if len(values) > 65536 or any(a >= b for a, b in zip(values, values[1:], strict=False)):
        return None
    return np.diff(ree.run_ends.to_numpy().astype(np.intp), prepend=0), values


def median_spacing_ranges(
    dt: np.ndarray, per_min: int, starts: np.ndarray, stops: np.ndarray
) -> np.ndarray:
    """The sampling interval: median spacing (min) of consecutive distinct readings per subject.

    The one definition of the interval (NaN with fewer than two distinct times).

    ``dt`` holds the integer time steps between consecutive sorted readings (``per_min`` per
    minute). Each subject's median is first guessed (its middle spacing) and verified by
    counting spacings below and up to the guess, which settles regular data in a few passes
    over small boolean arrays; subjects whose guess fails get an exact median of their own
    spacings.
    """
    n_groups = len(starts)
    out = np.full(n_groups, np.nan)
    lo, hi = starts, np.maximum(stops - 1, starts)  # spacings of subject s: dt[lo:hi]
    has = hi > lo
    if not has.any():
        return out
    lo, hi, idx = lo[has], hi[has], np.flatnonzero(has)
    guess = dt[(lo + hi) // 2]
    zero = dt == 0  # duplicated timestamps (readings are sorted)
    n_zero = range_reduce(np.add, zero, lo, hi, dtype=np.intp) if zero.any() else 0
    m = (hi - lo) - n_zero
    below, upto = np.zeros(len(lo), np.intp), np.zeros(len(lo), np.intp)
    distinct = np.unique(guess)
    if len(distinct) <= 4:  # one pass per distinct guess over the whole array
        for g in distinct:
            at = np.flatnonzero(guess == g)
            below[at] = range_reduce(np.add, dt < g, lo[at], hi[at], dtype=np.intp)
            upto[at] = range_reduce(np.add, dt <= g, lo[at], hi[at], dtype=np.intp)
    else:
        for j, (a, b, g) in enumerate(zip(lo.tolist(), hi.tolist(), guess.tolist(), strict=True)):
            seg = dt[a:b]
            below[j] = np.count_nonzero(seg < g)
            upto[j] = np.count_nonzero(seg <= g)
    below -= n_zero
    upto -= n_zero
    good = (guess > 0) & (below <= (m - 1) // 2) & (upto > m // 2)
    out[idx[good]] = guess[good] / per_min
    for j in np.flatnonzero(~good & (m > 0)):
        seg = dt[lo[j] : hi[j]]
        out[idx[j]] = np.median(seg[seg > 0] / per_min)
    return out


def _gaps(
    readings: pd.DataFrame,
    codes: np.ndarray,
    t_ns: np.ndarray,
    subjects: list,
    interval: np.ndarray,
    max_gap_min: float | None,
) -> pd.DataFrame:
    """Spacings longer than the gap limit (``max_gap_min`` or the default of each interval)."""
    if max_gap_min is None:
        limit = np.array([default_max_gap(v) for v in interval], dtype=np.float64)
    else:
        limit = np.full(len(subjects), float(max_gap_min))
    d = np.diff(t_ns).astype(np.float64) / _NS_PER_MIN
    idx = np.flatnonzero((codes[1:] == codes[:-1]) & (d > limit[codes[1:]])) if len(d) else []
    idx = np.asarray(idx, dtype=np.intp)
    times = readings["time"].to_numpy(dtype="datetime64[ns]")
    return pd.DataFrame(
        {
            "subject": pd.Series(np.asarray(subjects, dtype=object)[codes[idx]], dtype=object),
            "gap_start": times[idx],
            "gap_end": times[idx + 1],
            "gap_min": d[idx],
        }
    )


def infer_interval(readings: Any) -> pd.Series:
    """Sampling interval of each subject: :attr:`CleanReadings.interval_min` of :func:`clean`.

    The median spacing of the distinct times of the readings the analysis uses, minutes,
    indexed by subject; NaN for a subject with fewer than two distinct times. Order does not
    matter.
    """
    return clean(readings).interval_min


def default_max_gap(interval_min: float) -> float:
    """Default largest tolerated spacing between readings, in minutes.

    ``max(20, 3 * interval_min)``: 20 min for 5-minute data, 45 min for 15-minute data
    (two missing readings in a row are tolerated, three are a gap).

    Parameters
    ----------
    interval_min : float
        Sampling interval in minutes (NaN gives 20).
    """
    if interval_min is None or not np.isfinite(interval_min):
        return 20.0
    return float(max(20.0, 3.0 * float(interval_min)))


def find_gaps(
    readings: Any,
    max_gap_min: float | None = None,
    interval_min: float | None = None,
) -> pd.DataFrame:
    """Spans without readings longer than the gap limit: :attr:`CleanReadings.gaps`.

    Parameters
    ----------
    readings : pandas.DataFrame
        Readings with ``time`` (and ``subject``).
    max_gap_min : float, optional
        A spacing strictly greater than this (minutes) is a gap. Default per subject:
        :func:`default_max_gap` of the subject's interval.
    interval_min : float, optional
        Sampling interval (minutes) to use instead of the inferred one.

    Returns
    -------
    pandas.DataFrame
        One row per gap: ``subject``, ``gap_start`` (last reading before), ``gap_end`` (first
        reading after), ``gap_min`` (minutes).
    """
    return clean(readings, Rules(max_gap_min=max_gap_min, interval_min=interval_min)).gaps


def drop_warmup(
    readings: pd.DataFrame,
    warmup_min: float = 60.0,
    *,
    new_sensor_gap_min: float = 120.0,
    sensor_starts: pd.DataFrame | None = None,
    first_is_start: bool = False,
) -> tuple[pd.DataFrame, int]:
    """Remove readings taken during a sensor's warm-up period.

    Parameters
    ----------
    readings : pandas.DataFrame
        Readings with ``time`` (and ``subject``).
    warmup_min : float, default 60
        Minutes after each sensor start whose readings are removed (from the start, inclusive,
        to start + warmup_min, exclusive).
    new_sensor_gap_min : float, default 120
        When ``sensor_starts`` is not given, the first reading after a spacing of at least this
        many minutes is taken as a new sensor's first reading.
    sensor_starts : pandas.DataFrame, optional
        Known sensor starts: columns ``time`` (and ``subject``). Replaces the inference.
    first_is_start : bool, default False
        Also treat each subject's first reading as a sensor start (an export usually begins
        mid-sensor, hence off by default). Only used when inferring.

    Returns
    -------
    frame : pandas.DataFrame
        The clean readings (:func:`clean`) without warm-up readings.
    n_dropped : int
        Number of warm-up readings removed.
    """
    c = clean(readings)
    r, codes, uniques = c.readings, c.codes, c.subjects
    t = c.clock_ns if sensor_starts is None else c.t_ns  # given starts are local times
    if sensor_starts is None:
        d = np.diff(t).astype(np.float64) / _NS_PER_MIN
        first = np.ones(len(t), dtype=bool)
        first[1:] = codes[1:] != codes[:-1]
        new = np.zeros(len(t), dtype=bool)
        new[1:] = (~first[1:]) & (d >= new_sensor_gap_min)
        if first_is_start:
            new |= first
        s_codes, s_t = codes[new], t[new]
    else:
        check_frame(sensor_starts, ("time",), "sensor_starts")
        if "subject" in sensor_starts.columns and "subject" in r.columns:
            lookup = {s: i for i, s in enumerate(uniques)}
            s_codes = np.array(
                [lookup.get(s, -1) for s in sensor_starts["subject"]], dtype=np.int64
            )
        else:
            s_codes = np.zeros(len(sensor_starts), dtype=np.int64)
        s_t = sensor_starts["time"].to_numpy(dtype="datetime64[ns]").view("i8")
    drop = np.zeros(len(t), dtype=bool)
    warm = int(round(warmup_min * _NS_PER_MIN))
    for code in np.unique(s_codes[s_codes >= 0]):
        rows = np.flatnonzero(codes == code)
        starts = np.sort(s_t[s_codes == code])
        k = np.searchsorted(starts, t[rows], side="right") - 1
        has = k >= 0
        since = np.where(has, t[rows] - starts[np.maximum(k, 0)], -1)
        drop[rows] = has & (since < warm)
    out = r.loc[~drop].reset_index(drop=True)
    return out, int(drop.sum())


def mark_censored(
    readings: pd.DataFrame,
    low_mgdl: float | None = None,
    high_mgdl: float | None = None,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Flag readings beyond a device's reporting range as censored.

    Values strictly below ``low_mgdl`` are flagged ``"low"`` and strictly above ``high_mgdl``
    ``"high"``, and their ``glucose_mgdl`` is set to the limit (the schema's convention for
    censored readings). E.g. Nightscout stores 39 for "LOW" (``low_mgdl=40``) and 401 for
    "HIGH" (``high_mgdl=400``). Existing flags are kept.

    Parameters
    ----------
    readings : pandas.DataFrame
        Readings with ``glucose_mgdl`` (mg/dL); ``censored`` is added when absent.
    low_mgdl, high_mgdl : float, optional
        The device's lower and upper reporting limits, mg/dL. None leaves that side alone.

    Returns
    -------
    frame : pandas.DataFrame
        A copy with ``censored`` filled in.
    counts : dict
        ``{"low": n newly flagged low, "high": n newly flagged high, "total": n censored after}``.
    """
    check_frame(readings, ("glucose_mgdl",), "readings")
    out = readings.copy()
    if "censored" in out.columns:
        cens = out["censored"].astype(object).where(out["censored"].notna(), None)
    else:
        cens = pd.Series([None] * len(out), index=out.index, dtype=object)
    g = pd.to_numeric(out["glucose_mgdl"], errors="coerce").astype(np.float64)
    counts = {"low": 0, "high": 0}
    for side, limit, mask in (
        (CENSORED_LOW, low_mgdl, (g < low_mgdl) if low_mgdl is not None else None),
        (CENSORED_HIGH, high_mgdl, (g > high_mgdl) if high_mgdl is not None else None),
    ):
        if mask is None:
            continue
        new = mask & cens.isna()
        counts[side] = int(new.sum())
        cens = cens.where(~new, side)
        g = g.where(~mask, float(limit))
    out["glucose_mgdl"] = g
    out["censored"] = cens.astype(object)
    counts["total"] = int(out["censored"].notna().sum())
    return out, counts

"""Cleaning canonical readings: sort, de-duplicate, sampling interval, gaps, warm-up, censoring.

Every function is pure (it returns a new frame) and reports what it changed: functions that
remove or alter rows return ``(frame, count)`` or ``(frame, report)``, never silently.

Readings follow :mod:`soleus_analysis.core.schema`: ``subject``, ``time`` (tz-naive local time),
``glucose_mgdl`` (mg/dL), ``censored`` (``"low"``/``"high"`` or missing), ``source``; readers may
append extra columns such as ``transmitter_time_s`` (Dexcom).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .core.errors import InputError
from .core.schema import CENSORED_HIGH, CENSORED_LOW

__all__ = [
    "sort_readings",
    "drop_duplicate_readings",
    "infer_interval",
    "median_spacing",
    "default_max_gap",
    "find_gaps",
    "drop_warmup",
    "mark_censored",
    "clean_readings",
]

_NS_PER_MIN = 60_000_000_000


def _require(frame: pd.DataFrame, columns: tuple[str, ...], what: str = "readings") -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(f"{what} lack column(s) {missing}; expected at least {list(columns)}")


def _time_ns(series: pd.Series) -> np.ndarray:
    """Datetimes as int64 nanoseconds (any datetime64 resolution accepted)."""
    return pd.to_datetime(series).to_numpy(dtype="datetime64[ns]").view("i8")


def sort_readings(readings: pd.DataFrame) -> pd.DataFrame:
    """Sort readings by subject and time, stably.

    Repeated local times (daylight-saving fall-back, phone time-zone changes) keep the order of
    ``transmitter_time_s`` when that column exists, otherwise their original order.

    Parameters
    ----------
    readings : pandas.DataFrame
        Canonical readings (``subject`` optional, ``time`` required).

    Returns
    -------
    pandas.DataFrame
        A sorted copy with a fresh 0..n-1 index.
    """
    _require(readings, ("time",))
    keys = [c for c in ("subject", "time", "transmitter_time_s") if c in readings.columns]
    return readings.sort_values(keys, kind="stable", na_position="last").reset_index(drop=True)


def drop_duplicate_readings(
    readings: pd.DataFrame, subset: list[str] | None = None
) -> tuple[pd.DataFrame, int]:
    """Drop exact duplicate readings (e.g. from overlapping exports), keeping the first.

    Parameters
    ----------
    readings : pandas.DataFrame
        Canonical readings.
    subset : list of str, optional
        Columns that define a duplicate. By default the measurement itself: ``subject``,
        ``time``, ``glucose_mgdl``, ``censored`` and, when present, ``transmitter_time_s``, so
        two readings at the same local time with different transmitter times or values
        (daylight-saving repeats) are both kept, while the same reading exported twice (even
        from two files with a different ``source``) is kept once.

    Returns
    -------
    frame : pandas.DataFrame
        Readings without duplicates, original order, fresh index.
    n_dropped : int
        Number of rows removed.
    """
    if subset is None:
        subset = [
            c
            for c in ("subject", "time", "glucose_mgdl", "censored", "transmitter_time_s")
            if c in readings.columns
        ]
    dup = readings.duplicated(subset=subset, keep="first")
    return readings.loc[~dup].reset_index(drop=True), int(dup.sum())


def _subject_codes(frame: pd.DataFrame) -> tuple[np.ndarray, pd.Index]:
    if "subject" not in frame.columns:
        return np.zeros(len(frame), dtype=np.int64), pd.Index([None], dtype=object)
    codes, uniques = pd.factorize(frame["subject"], use_na_sentinel=False)
    return codes.astype(np.int64), pd.Index(uniques, dtype=object)


def median_spacing(codes: np.ndarray, t_ns: np.ndarray, n_groups: int) -> np.ndarray:
    """Median positive spacing of sorted times within each group, in minutes.

    Parameters
    ----------
    codes : numpy.ndarray of int
        Group (subject) code of each reading, ``0 .. n_groups - 1``.
    t_ns : numpy.ndarray of int64
        Reading times in nanoseconds, sorted within each group (groups contiguous or not).
    n_groups : int
        Number of groups.

    Returns
    -------
    numpy.ndarray
        Minutes per group; NaN for a group with fewer than two distinct times.
    """
    order = np.lexsort((t_ns, codes))
    c, tt = codes[order], t_ns[order]
    d = np.diff(tt).astype(np.float64) / _NS_PER_MIN
    keep = (c[1:] == c[:-1]) & (d > 0)
    out = np.full(n_groups, np.nan)
    if keep.any():
        med = pd.Series(d[keep]).groupby(c[1:][keep]).median()
        out[med.index.to_numpy()] = med.to_numpy()
    return out


def infer_interval(readings: pd.DataFrame) -> pd.Series:
    """Sampling interval of each subject: the median spacing of distinct reading times.

    Parameters
    ----------
    readings : pandas.DataFrame
        Readings with ``time`` (and ``subject``; without it all rows are one subject, keyed
        ``None``). Need not be sorted.

    Returns
    -------
    pandas.Series
        Minutes between readings, indexed by subject; NaN for a subject with fewer than two
        distinct times.
    """
    _require(readings, ("time",))
    codes, uniques = _subject_codes(readings)
    t = _time_ns(readings["time"])
    ok = t != np.iinfo(np.int64).min  # NaT
    result = pd.Series(
        median_spacing(codes[ok], t[ok], len(uniques)), index=uniques, dtype=np.float64
    )
    result.index.name = "subject"
    result.name = "interval_min"
    return result


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
    readings: pd.DataFrame,
    max_gap_min: float | None = None,
    interval_min: float | None = None,
) -> pd.DataFrame:
    """Spans without readings longer than ``max_gap_min``.

    Parameters
    ----------
    readings : pandas.DataFrame
        Readings with ``time`` (and ``subject``).
    max_gap_min : float, optional
        A spacing strictly greater than this (minutes) is a gap. Default per subject:
        :func:`default_max_gap` of the subject's interval.
    interval_min : float, optional
        Sampling interval (minutes) to use instead of :func:`infer_interval`.

    Returns
    -------
    pandas.DataFrame
        One row per gap: ``subject``, ``gap_start`` (last reading before), ``gap_end`` (first
        reading after), ``gap_min`` (minutes).
    """
    _require(readings, ("time",))
    r = sort_readings(readings.loc[readings["time"].notna()])
    codes, uniques = _subject_codes(r)
    t = _time_ns(r["time"])
    if max_gap_min is None:
        if interval_min is None:
            iv = infer_interval(r).to_numpy()
        else:
            iv = np.full(len(uniques), float(interval_min))
        limit_by_code = np.array([default_max_gap(v) for v in iv], dtype=np.float64)
    else:
        limit_by_code = np.full(len(uniques), float(max_gap_min))
    d = np.diff(t).astype(np.float64) / _NS_PER_MIN
    same = codes[1:] == codes[:-1]
    is_gap = same & (d > limit_by_code[codes[1:]]) if len(d) else np.zeros(0, dtype=bool)
    idx = np.flatnonzero(is_gap)
    times = r["time"].to_numpy(dtype="datetime64[ns]")
    return pd.DataFrame(
        {
            "subject": pd.Series(np.asarray(uniques, dtype=object)[codes[idx]], dtype=object),
            "gap_start": times[idx],
            "gap_end": times[idx + 1],
            "gap_min": d[idx],
        }
    )


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
        Sorted readings without warm-up readings.
    n_dropped : int
        Number of readings removed.
    """
    r = sort_readings(readings.loc[readings["time"].notna()])
    n_nat = len(readings) - len(r)
    codes, uniques = _subject_codes(r)
    t = _time_ns(r["time"])
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
        _require(sensor_starts, ("time",), "sensor_starts")
        if "subject" in sensor_starts.columns and "subject" in r.columns:
            lookup = {s: i for i, s in enumerate(uniques)}
            s_codes = np.array(
                [lookup.get(s, -1) for s in sensor_starts["subject"]], dtype=np.int64
            )
        else:
            s_codes = np.zeros(len(sensor_starts), dtype=np.int64)
        s_t = _time_ns(sensor_starts["time"])
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
    return out, int(drop.sum()) + n_nat


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
    _require(readings, ("glucose_mgdl",))
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


def clean_readings(
    readings: pd.DataFrame,
    *,
    dedupe: bool = True,
    warmup_min: float | None = None,
    new_sensor_gap_min: float = 120.0,
    censor_low_mgdl: float | None = None,
    censor_high_mgdl: float | None = None,
    max_gap_min: float | None = None,
    interval_min: float | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Run the cleaning steps in order and account for every row.

    Steps: drop rows without a time or without a glucose value (censored readings are kept:
    they hold the device limit), sort (:func:`sort_readings`), drop exact duplicates
    (:func:`drop_duplicate_readings`), optionally drop sensor warm-up (:func:`drop_warmup`),
    optionally mark censored values (:func:`mark_censored`), then measure the sampling interval
    (:func:`infer_interval`) and gaps (:func:`find_gaps`), which are reported, not removed.

    Parameters
    ----------
    readings : pandas.DataFrame
        Canonical readings.
    dedupe : bool, default True
        Drop exact duplicates.
    warmup_min : float, optional
        Minutes of warm-up to drop after each inferred sensor start; None (default) keeps all.
    new_sensor_gap_min : float, default 120
        Spacing (minutes) that marks a new sensor, for the warm-up step.
    censor_low_mgdl, censor_high_mgdl : float, optional
        Device reporting limits for :func:`mark_censored`, mg/dL.
    max_gap_min, interval_min : float, optional
        Passed to :func:`find_gaps`, minutes.

    Returns
    -------
    frame : pandas.DataFrame
        Clean, sorted readings.
    report : dict
        ``n_in``, ``n_missing`` (no time or glucose), ``n_duplicates``, ``n_warmup``, ``n_out``
        (``n_in == n_missing + n_duplicates + n_warmup + n_out``), ``n_censored_marked``,
        ``n_censored``, ``interval_min`` (dict subject -> minutes), ``gaps`` (DataFrame from
        :func:`find_gaps`) and ``n_gaps``.
    """
    _require(readings, ("time", "glucose_mgdl"))
    n_in = len(readings)
    has_value = readings["glucose_mgdl"].notna()
    if "censored" in readings.columns:
        has_value |= readings["censored"].notna()
    ok = readings["time"].notna() & has_value
    r = sort_readings(readings.loc[ok])
    n_missing = int((~ok).sum())
    n_dup = 0
    if dedupe:
        r, n_dup = drop_duplicate_readings(r)
    n_warm = 0
    if warmup_min:
        r, n_warm = drop_warmup(r, warmup_min, new_sensor_gap_min=new_sensor_gap_min)
    r, cens = mark_censored(r, censor_low_mgdl, censor_high_mgdl)
    iv = infer_interval(r) if interval_min is None else None
    gaps = find_gaps(r, max_gap_min=max_gap_min, interval_min=interval_min)
    report: dict[str, Any] = {
        "n_in": n_in,
        "n_missing": n_missing,
        "n_duplicates": n_dup,
        "n_warmup": n_warm,
        "n_out": len(r),
        "n_censored_marked": cens["low"] + cens["high"],
        "n_censored": cens["total"],
        "interval_min": (
            {k: float(v) for k, v in iv.items()}
            if iv is not None
            else dict.fromkeys(r["subject"].unique() if "subject" in r else [None], interval_min)
        ),
        "gaps": gaps,
        "n_gaps": len(gaps),
    }
    return r, report

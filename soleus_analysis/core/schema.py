"""Canonical columns, units and validation of the frames every stage passes on.

Readings (one row per sensor reading)
    ``subject`` (str), ``time`` (datetime64[ns], the device's local wall-clock time, tz-naive),
    ``glucose_mgdl`` (float64, mg/dL), ``censored`` (``"low"``/``"high"`` where the device reported
    only below/above its range, ``glucose_mgdl`` then holds the device limit; else missing),
    ``source`` (str, format/device). Readers may append extra columns after these
    (e.g. ``transmitter_time_s`` for Dexcom, ``record_type`` for LibreView) and
    ``device_units`` (:data:`DEVICE_UNITS`: ``"mg/dL"`` or ``"mmol/L"``, the units the device
    reported the value in; glucose is classified by the consensus thresholds of those units).

Events (one row per meal, bout of activity, insulin dose or note)
    ``subject``, ``time`` (start, local), ``end`` (local or NaT), ``kind`` (one of :data:`EVENT_KINDS`),
    ``carbs_g`` (g), ``insulin_u`` (units), ``intensity`` (str), ``label`` (free text), ``source``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: mg/dL per mmol/L of glucose (molar mass 180.156 g/mol); the one constant used everywhere.
MGDL_PER_MMOL: float = 18.0156

#: Subject id of a file that names no person: never the file name, which often carries the
#: person's name (``CLARITY_Export_<Last>_<First>_<date>.csv``).
DEFAULT_SUBJECT = "person 1"

#: Optional reading column: the units the device reported each value in (``"mg/dL"`` or
#: ``"mmol/L"``); missing means mg/dL.
DEVICE_UNITS = "device_units"

#: The glucose units a device may report in.
GLUCOSE_UNITS: tuple[str, ...] = ("mg/dL", "mmol/L")

#: pmol/L per µU/mL of insulin.
PMOL_PER_UU: float = 6.0

READING_COLUMNS: tuple[str, ...] = ("subject", "time", "glucose_mgdl", "censored", "source")
EVENT_COLUMNS: tuple[str, ...] = (
    "subject",
    "time",
    "end",
    "kind",
    "carbs_g",
    "insulin_u",
    "intensity",
    "label",
    "source",
)
EVENT_KINDS: tuple[str, ...] = ("meal", "spu", "exercise", "insulin", "note", "health")

#: Glucose values outside this range (mg/dL) are physically impossible: readers drop them.
PLAUSIBLE_MGDL: tuple[float, float] = (1.0, 1500.0)

# Plausible ranges of times and amounts, the one place they are set (``docs/formats.md``,
# "Hostile input rules"); ``io.base.implausible`` applies them in every reader, which drops a
# row outside them under its reason, with its line.
#: No CGM export or log holds a reading or an event before this (local time): home CGM began
#: in the 2000s, and a date before it is a broken clock or a corrupt row.
EARLIEST_TIME: pd.Timestamp = pd.Timestamp("2000-01-01")
#: Nor one later than the file's own export date (when it states one), else than the time it is
#: read, by more than this (time zones, a device clock a little ahead).
LATEST_MARGIN: pd.Timedelta = pd.Timedelta(days=2)
#: Carbohydrates of one meal or food item (g), inclusive.
PLAUSIBLE_CARBS_G: tuple[float, float] = (0.0, 1000.0)
#: Insulin of one dose or delivery record (units), inclusive.
PLAUSIBLE_INSULIN_U: tuple[float, float] = (0.0, 500.0)
#: Duration of one activity bout or event (minutes), inclusive.
PLAUSIBLE_DURATION_MIN: tuple[float, float] = (0.0, 24 * 60.0)
#: UTC offset of a record's time zone (minutes), inclusive: +-18 h, the widest ISO 8601 and
#: the platforms' zone tables allow (real zones lie within -12 h .. +14 h).
PLAUSIBLE_UTC_OFFSET_MIN: tuple[float, float] = (-18 * 60.0, 18 * 60.0)

CENSORED_LOW = "low"
CENSORED_HIGH = "high"

_READING_DTYPES = {
    "subject": "object",
    "time": "datetime64[ns]",
    "glucose_mgdl": "float64",
    "censored": "object",
    "source": "object",
}
_EVENT_DTYPES = {
    "subject": "object",
    "time": "datetime64[ns]",
    "end": "datetime64[ns]",
    "kind": "object",
    "carbs_g": "float64",
    "insulin_u": "float64",
    "intensity": "object",
    "label": "object",
    "source": "object",
}


def mmol_to_mgdl(values: np.ndarray | pd.Series | float) -> np.ndarray | pd.Series | float:
    """Convert glucose from mmol/L to mg/dL with :data:`MGDL_PER_MMOL`."""
    return values * MGDL_PER_MMOL


def mgdl_to_mmol(values: np.ndarray | pd.Series | float) -> np.ndarray | pd.Series | float:
    """Convert glucose from mg/dL to mmol/L with :data:`MGDL_PER_MMOL`."""
    return values / MGDL_PER_MMOL


def _empty(dtypes: dict[str, str]) -> pd.DataFrame:
    """An empty frame of the columns and dtypes ``dtypes``."""
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in dtypes.items()})


#: The empty frames, built once (:func:`empty_readings` and :func:`empty_events` copy them).
_EMPTY_READINGS = _empty(_READING_DTYPES)
_EMPTY_EVENTS = _empty(_EVENT_DTYPES)


def empty_readings() -> pd.DataFrame:
    """Return an empty readings frame with the canonical columns and dtypes."""
    return _EMPTY_READINGS.copy()


def empty_events() -> pd.DataFrame:
    """Return an empty events frame with the canonical columns and dtypes."""
    return _EMPTY_EVENTS.copy()


def _text_conformed(ser: pd.Series) -> bool:
    """True when :func:`_conform` leaves the column ``ser`` of a text dtype as it is: no
    missing values, or object whose missing values are all ``None``."""
    if ser.dtype != np.dtype(object):
        return not ser.array.isna().any()  # the array's own mask (pyarrow: its null count)
    values = ser.to_numpy()
    missing = pd.isna(values)
    if not missing.any():
        return True
    try:  # list.count compares by identity first: one C pass
        return values[missing].tolist().count(None) == int(missing.sum())
    except TypeError:  # a missing value that does not compare (pandas.NA): not None
        return False


def _conformed(frame: pd.DataFrame, dtypes: dict[str, str]) -> bool:
    """True when :func:`_conform` would give ``frame`` back unchanged: the canonical columns
    first, in their order and dtypes (text as :func:`_text_conformed`), each column once, and
    the default index."""
    names = list(dtypes)
    index = frame.index
    cols = frame.columns.tolist()
    if not (
        isinstance(index, pd.RangeIndex)
        and index.start == 0
        and index.step == 1
        and index.name is None
        and cols[: len(names)] == names
        and all(type(c) is str for c in cols)
        and len(set(cols)) == len(cols)
    ):
        return False
    rows = len(index)
    for (col, want), dtype in zip(dtypes.items(), frame.dtypes.tolist()[: len(names)], strict=True):
        if want == "object":
            if not pd.api.types.is_string_dtype(dtype):
                return False
            if rows and not _text_conformed(frame[col]):
                return False
        elif dtype != want:
            return False
    return True


def _conform(frame: pd.DataFrame, dtypes: dict[str, str], name: str) -> pd.DataFrame:
    if _conformed(frame, dtypes):
        return frame.copy(deep=False)  # copy-on-write: a new frame, the data shared until written
    out = frame.copy(deep=False)
    for col, dtype in dtypes.items():
        if col not in out.columns:
            out[col] = pd.Series(
                None if dtype == "object" else np.nan, index=out.index, dtype=dtype
            )
            continue
        cur = out[col].dtype
        if dtype.startswith("datetime64"):
            if cur == "datetime64[ns]":
                continue
            ser = pd.to_datetime(out[col])
            if getattr(ser.dt, "tz", None) is not None:
                raise ValueError(f"{name}.{col} must be tz-naive local wall-clock time")
            out[col] = ser.astype("datetime64[ns]")
        elif dtype == "float64":
            if cur != "float64":
                out[col] = pd.to_numeric(out[col], errors="raise").astype("float64")
        elif not pd.api.types.is_string_dtype(cur) or out[col].hasnans:
            # text columns: missing values are None (not NaN) so they compare as missing
            ser = out[col].astype(object)
            out[col] = ser.where(ser.notna(), None)
    extra = [c for c in out.columns if c not in dtypes]
    return out[list(dtypes) + extra].reset_index(drop=True)


def conform_readings(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with canonical reading columns first, in canonical dtypes.

    Missing optional columns (``censored``, ``source``) are added empty; extra columns are kept
    after the canonical ones.
    """
    return _conform(frame, _READING_DTYPES, "readings")


def conform_events(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with canonical event columns first, in canonical dtypes."""
    out = _conform(frame, _EVENT_DTYPES, "events")
    if not len(out) or set(pd.unique(out["kind"].to_numpy())) <= set(EVENT_KINDS):
        return out
    bad = ~out["kind"].isin(EVENT_KINDS)
    if bad.any():
        raise ValueError(f"unknown event kind(s): {sorted(set(out.loc[bad, 'kind'].astype(str)))}")
    return out

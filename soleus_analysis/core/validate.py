"""One check of the inputs of every public analysis function, with the same rules everywhere.

As scikit-learn's ``check_array``: each public function opens with the check of what it takes
(:func:`check_readings`, :func:`check_events`, :func:`check_meals`, :func:`check_choice`) and
gets back a frame it can rely on, or an :class:`~soleus_analysis.core.errors.InputError` naming
what was expected. The rules:

- a frame must be a :class:`pandas.DataFrame` holding the required columns;
- times are the device's local wall-clock time, **without a time zone**: a tz-aware column is
  refused (convert it with ``.dt.tz_convert(zone).dt.tz_localize(None)``), never silently
  stripped; times that cannot be parsed are refused;
- glucose must be numeric (mg/dL); non-positive values are not errors here, the clean stage
  drops and counts them (:func:`soleus_analysis.clean.clean`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd
from pandas.api import types as ptypes

from .errors import InputError

__all__ = ["check_choice", "check_events", "check_frame", "check_meals", "check_readings"]


def check_frame(frame: Any, columns: Sequence[str], what: str) -> pd.DataFrame:
    """``frame`` when it is a DataFrame holding ``columns``; else an InputError saying so."""
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"{what}: expected a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"{what}: missing column(s) {', '.join(map(repr, missing))}; expected at least "
            + ", ".join(columns)
        )
    return frame


def _local_times(frame: pd.DataFrame, column: str, what: str) -> pd.DataFrame:
    s = frame[column]
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        raise InputError(
            f"{what}: column {column!r} holds times with a time zone; expected the device's "
            "local wall-clock time without one (convert with "
            ".dt.tz_convert(zone).dt.tz_localize(None))"
        )
    if ptypes.is_datetime64_dtype(s):
        return frame
    try:
        parsed = pd.to_datetime(s, errors="raise")
    except (ValueError, TypeError, OverflowError, pd.errors.OutOfBoundsDatetime):
        raise InputError(f"{what}: column {column!r} holds values that are not times") from None
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        raise InputError(
            f"{what}: column {column!r} holds times with a UTC offset; expected local wall-clock "
            "time without one"
        )
    return frame.assign(**{column: parsed})


def check_readings(readings: Any, what: str = "readings") -> pd.DataFrame:
    """Readings with ``time`` (local, tz-naive) and numeric ``glucose_mgdl`` (mg/dL).

    Returns the frame (times parsed when they were text). ``subject``, ``censored`` and reader
    extras are optional.
    """
    frame = check_frame(readings, ("time", "glucose_mgdl"), what)
    frame = _local_times(frame, "time", what)
    g = frame["glucose_mgdl"]
    if not (ptypes.is_numeric_dtype(g) or g.isna().all()):
        coerced = pd.to_numeric(g, errors="coerce")
        if (coerced.isna() & g.notna()).any():
            raise InputError(f"{what}: column 'glucose_mgdl' holds values that are not numbers")
        frame = frame.assign(glucose_mgdl=coerced)
    return frame


def check_events(events: Any, what: str = "events") -> pd.DataFrame:
    """Events with a ``time`` column (``start`` is accepted for it), local and tz-naive."""
    if isinstance(events, pd.DataFrame) and "time" not in events and "start" in events:
        events = events.rename(columns={"start": "time"})
    frame = check_frame(events, ("time",), what)
    frame = _local_times(frame, "time", what)
    if "end" in frame.columns:
        frame = _local_times(frame, "end", what)
    return frame


def check_meals(meals: Any, columns: Iterable[str], what: str = "meal table") -> pd.DataFrame:
    """A per-meal (or per-person) table holding ``columns``."""
    return check_frame(meals, tuple(columns), what)


def check_choice(name: str, value: Any, allowed: Iterable[Any]) -> Any:
    """``value`` when it is one of ``allowed``; else an InputError listing them."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise InputError(f"{name} {value!r}: expected one of {', '.join(map(repr, allowed))}")
    return value

"""Times, durations and amounts of hostile cells made safe: the rules of the issue-12 readers.

A time outside :data:`PLAUSIBLE_YEARS` (a reading "dated" 1677 or 9999) is no time: it becomes
``NaT`` and the reader drops its row as an unparseable timestamp. A duration or offset that is
not finite or longer than :data:`MAX_MINUTES` becomes ``NaT`` too, so that adding it can never
overflow. An amount (carbs, insulin) given but infinite or negative is bad (:func:`bad_amount`):
its row is dropped, never kept as ``inf``. Used by the Lingo, Glooko, Tandem, Tidepool and xDrip+ readers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["MAX_MINUTES", "PLAUSIBLE_YEARS", "bad_amount", "minutes_delta", "ns_times"]

#: Years a CGM or diary time can fall in (first year allowed, first year refused).
PLAUSIBLE_YEARS = (1900, 2200)
#: The longest duration or UTC offset read, in minutes (one year).
MAX_MINUTES = 366 * 24 * 60

_LO = np.datetime64(f"{PLAUSIBLE_YEARS[0]}-01-01", "ns")
_HI = np.datetime64(f"{PLAUSIBLE_YEARS[1]}-01-01", "ns")


def ns_times(times: pd.Series) -> pd.Series:
    """tz-naive times of any resolution as ``datetime64[ns]``, ``NaT`` outside the years.

    Parameters
    ----------
    times : pandas.Series of datetime64 (any unit)
        As :func:`pandas.to_datetime` returns them (which keeps years beyond 2262 in
        microseconds).

    Returns
    -------
    pandas.Series of datetime64[ns]
    """
    lo, hi = pd.Timestamp(_LO), pd.Timestamp(_HI)
    ok = (times >= lo) & (times < hi)
    return times.where(ok).astype("datetime64[ns]")


def minutes_delta(minutes: np.ndarray | pd.Series) -> np.ndarray:
    """Minutes as ``timedelta64[ns]``, ``NaT`` where not finite or beyond :data:`MAX_MINUTES`."""
    m = np.asarray(minutes, dtype=np.float64)
    m = np.where(np.isfinite(m) & (np.abs(m) <= MAX_MINUTES), m, np.nan)
    return pd.to_timedelta(m, unit="min").to_numpy(dtype="timedelta64[ns]")


def bad_amount(values: np.ndarray) -> np.ndarray:
    """True where an amount is given (not NaN) but is not a finite number >= 0 (``1e400``)."""
    v = np.asarray(values, dtype=np.float64)
    return ~np.isnan(v) & ~(np.isfinite(v) & (v >= 0))

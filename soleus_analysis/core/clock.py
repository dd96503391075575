"""The device's own clock: elapsed time that never repeats, from an export's transmitter time.

CGM exports stamp readings with the *local wall-clock* time of the phone or receiver. That clock
repeats an hour at a daylight-saving fall-back, skips one in spring, and jumps when a traveller
changes time zone. Dexcom exports also carry the transmitter's own counter
(``transmitter_time_s``, seconds since the transmitter started) and Nightscout and Apple Health
the UTC instant (``utc_time_s``), which do neither. From the two this module builds a monotone
clock:

``clock = local + shift``, where ``shift`` (a whole number of 15-minute steps) is 0 at the start
of a subject's data and changes exactly where the difference between local time and transmitter
time jumps (a clock change). Within one transmitter session, readings ordered by the clock are
ordered by the transmitter counter; durations measured on the clock are real elapsed time.

A new transmitter session (a new ``transmitter_id``, or the counter's offset against local time
moving by more than :data:`SESSION_JUMP_S`) starts again from the shift in effect at the end of
the previous one, so the clock stays continuous across sensor changes. Readings without a
transmitter time keep their local time (shift 0).
"""

from __future__ import annotations

import zoneinfo

import numpy as np
import pandas as pd

from .errors import InputError

__all__ = [
    "CLOCK_COLUMNS",
    "CLOCK_STEP_S",
    "SESSION_JUMP_S",
    "device_clock_ns",
    "local_to_clock_ns",
    "check_time_zone",
    "clock_changes",
    "readings_clock_ns",
    "utc_seconds_from_local",
]

#: Reading columns that hold a clock that never repeats, in order of preference: the Dexcom
#: transmitter's counter (s) and the UTC instant (s since 1970; Nightscout, Apple Health).
CLOCK_COLUMNS: tuple[str, ...] = ("transmitter_time_s", "utc_time_s")

_NS = 1_000_000_000

#: Clock changes are whole multiples of this many seconds (15 min covers every time zone).
CLOCK_STEP_S: int = 900

#: A jump of the local-minus-transmitter offset larger than this (s) is a new transmitter
#: session, not a clock change (time zones span at most 26 h).
SESSION_JUMP_S: int = 26 * 3600


def transmitter_codes(ids: object, rows: np.ndarray) -> np.ndarray:
    """Integer codes of the transmitter ids at ``rows``, numbered in the order they first
    appear among those rows, -1 where the id is missing (``pandas.factorize`` of those ids as
    objects, without making a text column of them).

    Parameters
    ----------
    ids : array-like
        Transmitter id of every reading (text, numbers or missing values; a pandas column or
        a numpy array).
    rows : numpy.ndarray of int
        The readings wanted.

    Returns
    -------
    numpy.ndarray of int64
    """
    codes = pd.factorize(ids)[0][rows]  # -1: missing
    known = codes >= 0
    out = np.full(len(codes), -1, dtype=np.int64)
    out[known] = pd.factorize(codes[known])[0]
    return out


def device_clock_ns(
    subject_codes: np.ndarray,
    local_ns: np.ndarray,
    transmitter_s: np.ndarray | None,
    transmitter_id: np.ndarray | None = None,
) -> np.ndarray:
    """Monotone device clock of each reading, ns (equal to ``local_ns`` where nothing shifts).

    Parameters
    ----------
    subject_codes : numpy.ndarray of int
        Subject of each reading (any integer code).
    local_ns : numpy.ndarray of int64
        Local wall-clock time of each reading, ns since the epoch (tz-naive).
    transmitter_s : numpy.ndarray of float, optional
        Transmitter time of each reading, seconds (NaN where the export has none).
    transmitter_id : array-like, optional
        Transmitter of each reading (sessions are split by it when given; a numpy array or a
        pandas column, see :func:`transmitter_codes`).

    Returns
    -------
    numpy.ndarray of int64
        ``local_ns`` plus the clock shift in effect at each reading (ns).
    """
    local_ns = np.asarray(local_ns, dtype=np.int64)
    clock = local_ns.copy()
    if transmitter_s is None or len(local_ns) == 0:
        return clock
    tx = np.asarray(transmitter_s, dtype=np.float64)
    has = np.flatnonzero(np.isfinite(tx))
    if len(has) == 0:
        return clock
    subj = np.asarray(subject_codes)[has]
    tid = (
        transmitter_codes(transmitter_id, has)
        if transmitter_id is not None
        else np.zeros(len(has), dtype=np.int64)
    )
    loc = local_ns[has]
    offset = loc - np.round(tx[has] * _NS).astype(np.int64)  # local minus transmitter, ns
    # sessions: per (subject, transmitter), in local order, split where the offset leaps
    o = np.lexsort((tx[has], loc, tid, subj))
    new = np.ones(len(o), dtype=bool)
    new[1:] = (subj[o][1:] != subj[o][:-1]) | (tid[o][1:] != tid[o][:-1])
    new[1:] |= np.abs(np.diff(offset[o])) > SESSION_JUMP_S * _NS
    session = np.empty(len(o), dtype=np.int64)
    session[o] = np.cumsum(new) - 1
    # within a session, in transmitter order, the shift undoes each jump of the offset
    o = np.lexsort((tx[has], session))
    s_o = session[o]
    first = np.ones(len(o), dtype=bool)
    first[1:] = s_o[1:] != s_o[:-1]
    step = np.zeros(len(o), dtype=np.int64)
    step[1:] = np.diff(offset[o])
    step[first] = 0
    q = CLOCK_STEP_S * _NS
    jump = np.where(np.abs(step) * 2 >= q, np.round(step / q).astype(np.int64) * q, 0)
    shift_o = -np.cumsum(jump)
    starts = np.flatnonzero(first)
    shift_o -= np.repeat(shift_o[starts], np.diff(np.append(starts, len(o))))  # 0 at each start
    # each session starts from the shift at the end of the subject's previous session
    n_s = len(starts)
    ends = np.append(starts[1:], len(o)) - 1
    s_subj = subj[o][starts]
    s_first_local = np.minimum.reduceat(loc[o], starts)
    order = np.lexsort((s_first_local, s_subj))
    end_shift = shift_o[ends][order]
    exclusive = np.cumsum(end_shift) - end_shift  # sum of the shifts of earlier sessions
    head = np.ones(n_s, dtype=bool)
    head[1:] = s_subj[order][1:] != s_subj[order][:-1]
    subject_start = np.maximum.accumulate(np.where(head, np.arange(n_s), 0))
    carried = np.empty(n_s, dtype=np.int64)
    carried[order] = exclusive - exclusive[subject_start]
    shift_o += np.repeat(carried, np.diff(np.append(starts, len(o))))
    clock[has[o]] = loc[o] + shift_o
    return clock


def readings_clock_ns(readings: pd.DataFrame, subject_codes: np.ndarray) -> np.ndarray:
    """:func:`device_clock_ns` of a readings frame from its first :data:`CLOCK_COLUMNS` column
    (split by ``transmitter_id`` when present); the local times when it has none."""
    local = readings["time"].to_numpy(dtype="datetime64[ns]").view("i8")
    for col in CLOCK_COLUMNS:
        if col in readings.columns:
            secs = pd.to_numeric(readings[col], errors="coerce").to_numpy(np.float64)
            ids = (
                readings["transmitter_id"]
                if col == "transmitter_time_s" and "transmitter_id" in readings.columns
                else None
            )
            return device_clock_ns(subject_codes, local, secs, ids)
    return local.copy()


def local_to_clock_ns(
    local_ns: np.ndarray, clock_ns: np.ndarray, when_ns: np.ndarray
) -> np.ndarray:
    """Device-clock time of local times ``when_ns`` (e.g. logged meals) for one subject.

    Each time takes the clock shift of the first reading (in clock order) whose local time has
    reached it, so a local time repeated by a fall-back means its *first* occurrence; times
    after the last reading take the last reading's shift.

    Parameters
    ----------
    local_ns, clock_ns : numpy.ndarray of int64
        One subject's readings in clock order: local time and device clock (ns).
    when_ns : numpy.ndarray of int64
        Local times to convert (ns).

    Returns
    -------
    numpy.ndarray of int64
        ``when_ns`` on the device clock (unchanged when no reading is shifted).
    """
    when_ns = np.asarray(when_ns, dtype=np.int64)
    if len(local_ns) == 0:
        return when_ns
    shift = np.asarray(clock_ns, dtype=np.int64) - np.asarray(local_ns, dtype=np.int64)
    if not shift.any():
        return when_ns
    reached = np.maximum.accumulate(np.asarray(local_ns, dtype=np.int64))
    k = np.minimum(np.searchsorted(reached, when_ns, side="left"), len(shift) - 1)
    return when_ns + shift[k]


def check_time_zone(tz: str) -> str:
    """``tz`` when it names an IANA time zone (``"Europe/Paris"``), else :class:`InputError`."""
    try:
        zoneinfo.ZoneInfo(str(tz))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise InputError(
            f"unknown time zone {tz!r}; expected an IANA name such as Europe/Paris or "
            "America/New_York"
        ) from None
    return str(tz)


def utc_seconds_from_local(local_ns: np.ndarray, subject_codes: np.ndarray, tz: str) -> np.ndarray:
    """UTC instants (s since 1970) of local wall-clock times in the IANA zone ``tz``.

    A local time the zone repeats (the fall-back hour) is taken in the order the readings are
    given (the file's order): its first reading of that time is the first pass (summer time),
    the second the repeat (standard time), per subject. A local time the zone skips (the
    spring-forward hour, which a device clock never shows) is moved forward by the skip.

    Parameters
    ----------
    local_ns : numpy.ndarray of int64
        Local times, ns (tz-naive), in the order the device wrote them; NaT as int64 min.
    subject_codes : numpy.ndarray of int
        Subject of each time.
    tz : str
        IANA time zone.

    Returns
    -------
    numpy.ndarray of float
        Seconds since 1970-01-01 UTC (NaN where the local time is NaT).
    """
    tz = check_time_zone(tz)
    local_ns = np.asarray(local_ns, dtype=np.int64)
    nat = local_ns == np.iinfo(np.int64).min
    occurrence = (
        pd.DataFrame({"s": np.asarray(subject_codes), "t": local_ns}).groupby(["s", "t"]).cumcount()
    )
    first_pass = (occurrence.to_numpy() % 2) == 0
    idx = pd.DatetimeIndex(local_ns.view("datetime64[ns]"))
    aware = idx.tz_localize(tz, ambiguous=first_pass, nonexistent="shift_forward")
    utc_ns = aware.tz_convert("UTC").tz_localize(None).to_numpy(dtype="datetime64[ns]")
    out = utc_ns.view("i8").astype(np.float64) / 1e9
    out[nat] = np.nan
    return out


def clock_changes(
    subject_codes: np.ndarray, local_ns: np.ndarray, clock_ns: np.ndarray
) -> pd.DataFrame:
    """Where the local clock changed against the device clock (daylight saving, travel).

    Parameters
    ----------
    subject_codes, local_ns, clock_ns : numpy.ndarray
        Per reading: subject, local time (ns) and device clock (ns), any order.

    Returns
    -------
    pandas.DataFrame
        One row per change: ``subject_code``, ``local_before`` (local time of the last reading
        before it), ``local_after`` (of the first after it) and ``change_min`` (minutes the
        local clock moved: -60 at a fall-back, +60 in spring).
    """
    o = np.lexsort((local_ns, clock_ns, subject_codes))
    c, lo, ck = np.asarray(subject_codes)[o], np.asarray(local_ns)[o], np.asarray(clock_ns)[o]
    shift = lo - ck
    at = np.flatnonzero((c[1:] == c[:-1]) & (shift[1:] != shift[:-1]))
    return pd.DataFrame(
        {
            "subject_code": c[at + 1],
            "local_before": lo[at].view("datetime64[ns]"),
            "local_after": lo[at + 1].view("datetime64[ns]"),
            "change_min": (shift[at + 1] - shift[at]) / 60e9,
        }
    )

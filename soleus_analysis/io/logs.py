"""Meal and activity logs: the project's own activity log, Cronometer and MyFitnessPal exports.

Formats
    ``activity_log``
        The project's hand-kept CSV (see ``docs/activity_log.md``): one row per soleus-pushup bout,
        other activity, meal, insulin dose or note. Also reads the N-of-1 planner's schedule
        (rows not marked ``done`` are dropped as planned only).
    ``cronometer``
        Cronometer "servings" export, one row per food item; items of the same day and diary group
        eaten close together become one ``meal`` event with carbs summed.
    ``cronometer_exercises``
        Cronometer exercise export; ``exercise`` (or ``spu``) events with ``end = start + Minutes``.
    ``myfitnesspal``
        MyFitnessPal meal export, one row per meal (rows of the same date and meal summed).

Rows are the data lines below the header (comment and blank lines of the activity log are not
rows). Each dropped row is counted under its reason and warned about with its 1-based line.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..core.errors import InputError
from ..core.recording import Provenance, Recording
from ..core.schema import DEFAULT_SUBJECT
from .base import (
    MAX_WARNINGS_PER_REASON,
    RowAccount,
    check_input_file,
    check_quotes,
    column_list,
    csv_table,
    first_header,
    implausible,
    minutes_to_timedelta,
    norm_name,
    ns_times,
    numbers,
    read_table,
    regex_groups,
    regex_safe,
    sniff_delimiter,
    warn_decoding,
    warn_dropped,
    warn_each,
)
from .encoding import decode_file
from .spu_text import SPU_RE, spu_mask, spu_minutes

#: Default meal times (local clock) used when a diary row has no time, by normalised group name.
DEFAULT_MEAL_TIMES: dict[str, str] = {
    "breakfast": "08:00",
    "lunch": "12:30",
    "dinner": "18:30",
    "supper": "18:30",
    "snack 1": "10:30",
    "snack 2": "15:30",
    "snack 3": "21:00",
    "snack": "15:30",
    "snacks": "15:30",
}

TRUTHY = frozenset({"y", "yes", "x", "1", "true", "✓", "✔", "done", "ja", "oui", "si", "sí"})

SPU_WORDS = frozenset({"spu", "spus", "soleus"})
MEAL_WORDS = frozenset(
    {"meal", "food", "breakfast", "lunch", "dinner", "supper", "brunch", "snack", "snacks"}
)
INSULIN_WORDS = frozenset({"insulin", "bolus", "basal"})
NOTE_WORDS = frozenset({"note", "notes", "comment"})
EXERCISE_WORDS = frozenset(
    {
        "exercise", "workout", "activity", "walk", "walking", "run", "running", "jog", "jogging",
        "cycle", "cycling", "bike", "biking", "gym", "swim", "swimming", "yoga", "hike", "hiking",
        "stairs", "strength", "weights", "sport", "dance", "dancing", "rowing", "tennis",
        "football", "soccer", "squats", "pilates", "stretching", "other",
    }
)  # fmt: skip

_DATE_PART = r"(\d{1,4})([-/.])(\d{1,2})[-/.](\d{1,4})"
_TIME_PART = r"(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?\s*([AaPp]\.?\s?[Mm]\.?)?"
_DT_RE = rf"^\s*{_DATE_PART}(?:(?:[ T]+|\s*,\s*){_TIME_PART})?\s*$"
_TIME_RE = rf"^\s*{_TIME_PART}\s*$"
#: Names of the groups of :data:`_DT_RE` and :data:`_TIME_RE`, in their order.
_DT_GROUPS = ("a", "sep", "b", "c", "H", "M", "S", "ampm")
_TIME_GROUPS = ("H", "M", "S", "ampm")

#: Below this many cells a pass of Python's ``re`` over the cells costs less than pyarrow's
#: fixed cost per call (both give what ``re.search`` gives).
_FEW_CELLS = 1000

_YMD = (("Y", 0, 4), ("Mo", 5, 7), ("D", 8, 10))
#: The cells read without a regular expression, by length: a template (``9`` a digit, ``_`` a
#: space or ``T``, any other character itself) and the fields' spans. Each reads as
#: :data:`_DT_RE` (the ISO dates) or :data:`_TIME_RE` (the clock times) reads it, and matches
#: only that one of the two.
_SHAPES: dict[int, tuple[str, tuple[tuple[str, int, int], ...]]] = {
    4: ("9:99", (("H", 0, 1), ("M", 2, 4))),
    5: ("99:99", (("H", 0, 2), ("M", 3, 5))),
    7: ("9:99:99", (("H", 0, 1), ("M", 2, 4), ("S", 5, 7))),
    8: ("99:99:99", (("H", 0, 2), ("M", 3, 5), ("S", 6, 8))),
    10: ("9999-99-99", _YMD),
    16: ("9999-99-99_99:99", (*_YMD, ("H", 11, 13), ("M", 14, 16))),
    19: ("9999-99-99_99:99:99", (*_YMD, ("H", 11, 13), ("M", 14, 16), ("S", 17, 19))),
}
_SHAPE_WIDTH = max(_SHAPES)


def _allowed(template: str) -> np.ndarray:
    """The ASCII characters each position of a :data:`_SHAPES` template takes: a
    ``(len(template), 128)`` bool table."""
    out = np.zeros((len(template), 128), dtype=bool)
    for i, ch in enumerate(template):
        if ch == "9":
            out[i, ord("0") : ord("9") + 1] = True
        elif ch == "_":
            out[i, [ord(" "), ord("T")]] = True
        else:
            out[i, ord(ch)] = True
    return out


_ALLOWED = {size: _allowed(template) for size, (template, _) in _SHAPES.items()}


# --------------------------------------------------------------------------- date and time
def _texts(values: object) -> np.ndarray:
    """``values`` as an object array of ``str``, as ``Series.astype(str)`` gives them."""
    arr = values.to_numpy(dtype=object) if isinstance(values, pd.Series) else None
    if arr is None:
        arr = np.asarray(values, dtype=object).reshape(-1)
    if not len(arr) or pd.api.types.infer_dtype(arr, skipna=False) == "string":
        return arr
    return pd.Series(arr, dtype=object).astype(str).to_numpy(dtype=object)


def _safe(*arrays: np.ndarray) -> bool:
    """True when pyarrow reads every text as Python does (:func:`~.base.regex_safe`)."""
    return all(not len(a) or regex_safe(a) for a in arrays)


def _all_text(values: np.ndarray) -> bool:
    """True when every cell of ``values`` is a ``str``."""
    return all(type(v) is str for v in values)


def _groups(text: np.ndarray, pattern: str, names: tuple[str, ...]) -> dict[str, pa.Array]:
    """The groups ``names`` of ``re.search(pattern, v)`` for each text ``v`` as text arrays
    (null where the pattern does not match or a group took no part): one RE2 pass
    (:func:`~.base.regex_groups`) where RE2 reads the text as ``re`` does, else ``re``
    (``Series.str.extract``)."""
    got = regex_groups(text, pattern)
    if got is None:
        m = pd.Series(text, dtype=object).str.extract(pattern)
        got = [
            pa.array(m[k].to_numpy(dtype=object), pa.large_string(), from_pandas=True)
            for k in range(len(names))
        ]
    return dict(zip(names, got, strict=True))


def _num(g: pa.Array) -> np.ndarray:
    """Digits of a regex group as float64 (NaN where missing)."""
    try:
        got = pc.cast(g, pa.float64()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:  # digits that are not ASCII (read by ``re``): as pandas reads them
        got = pd.to_numeric(g.to_numpy(zero_copy_only=False), errors="coerce")
    return np.asarray(got, dtype="float64")


@dataclass
class _Clock:
    """The clock fields of text cells: hour, minute and second as float64 (NaN where a cell
    has none), whether an am/pm mark is given and whether it is pm."""

    hour: np.ndarray
    minute: np.ndarray
    second: np.ndarray
    ampm: np.ndarray
    pm: np.ndarray


@dataclass
class _Dates:
    """The fields of :data:`_DT_RE` in text cells: the three numbers of the date as float64
    (NaN where the cell does not match), whether the first has four digits (``ymd``), whether
    the separator is a dot, whether a clock time follows (``timed``) and its fields."""

    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    ymd: np.ndarray
    dot: np.ndarray
    timed: np.ndarray
    clock: _Clock


def _regex_clock(m: dict[str, pa.Array]) -> _Clock:
    """The clock fields of regex groups H, M, S and ampm."""
    ampm = pc.replace_substring_regex(pc.utf8_lower(pc.fill_null(m["ampm"], "")), "[^apm]", "")
    return _Clock(
        hour=_num(m["H"]),
        minute=_num(m["M"]),
        second=_num(m["S"]),
        ampm=pc.not_equal(ampm, "").to_numpy(zero_copy_only=False),
        pm=pc.starts_with(ampm, "p").to_numpy(zero_copy_only=False),
    )


def _regex_dates(text: np.ndarray) -> _Dates:
    """The fields of :data:`_DT_RE` in text cells, by regular expression."""
    m = _groups(text, _DT_RE, _DT_GROUPS)
    return _Dates(
        a=_num(m["a"]),
        b=_num(m["b"]),
        c=_num(m["c"]),
        ymd=pc.fill_null(pc.equal(pc.utf8_length(m["a"]), 4), False).to_numpy(zero_copy_only=False),
        dot=pc.fill_null(pc.equal(m["sep"], "."), False).to_numpy(zero_copy_only=False),
        timed=pc.is_valid(m["H"]).to_numpy(zero_copy_only=False),
        clock=_regex_clock(m),
    )


@dataclass
class _Shapes:
    """Text cells each empty or of one of :data:`_SHAPES`: its fields (``Y``, ``Mo``, ``D``,
    ``H``, ``M``, ``S`` as float64, NaN where the cell has none) and which cells hold a date."""

    fields: dict[str, np.ndarray]
    date: np.ndarray

    def _clock(self, rows: np.ndarray) -> _Clock:
        """The clock fields of the cells ``rows`` (NaN elsewhere), without am/pm marks."""
        f = {k: np.where(rows, self.fields[k], np.nan) for k in ("H", "M", "S")}
        no = np.zeros(len(rows), dtype=bool)
        return _Clock(hour=f["H"], minute=f["M"], second=f["S"], ampm=no, pm=no)

    def dates(self) -> _Dates:
        """The fields :func:`_regex_dates` gives these cells (only the ISO dates match)."""
        f, date = self.fields, self.date
        return _Dates(
            a=f["Y"],
            b=f["Mo"],
            c=f["D"],
            ymd=date,
            dot=np.zeros(len(date), dtype=bool),
            timed=date & ~np.isnan(f["H"]),
            clock=self._clock(date),
        )

    def times(self) -> _Clock:
        """The clock fields :data:`_TIME_RE` gives these cells (only the bare clock times
        match)."""
        return self._clock(~self.date)


def _shapes(text: np.ndarray) -> _Shapes | None:
    """The fields of text cells that are each empty or of one of :data:`_SHAPES` (the ISO
    dates and the clock times people and spreadsheets write), read from their characters in a
    few array passes; None when any cell is of another shape (or not text)."""
    n = len(text)
    if not _all_text(text) or max(map(len, text), default=0) > _SHAPE_WIDTH:
        return None  # before numpy's fixed-width text, as wide as the longest cell
    if "\x00" in "".join(text):  # which numpy's fixed-width text cannot hold
        return None
    chars = np.asarray(text, dtype=str)
    width = chars.dtype.itemsize // 4
    codes = np.zeros((n, _SHAPE_WIDTH), dtype=np.uint32)
    if width:
        codes[:, :width] = chars.view(np.uint32).reshape(n, width)
    length = np.count_nonzero(codes, axis=1)
    fields = {k: np.full(n, np.nan) for k in ("Y", "Mo", "D", "H", "M", "S")}
    for size in np.unique(length).tolist():
        if not size:
            continue
        if size not in _SHAPES:
            return None
        rows = length == size
        cells = codes[rows, :size]
        if not _ALLOWED[size][np.arange(size), np.minimum(cells, 127)].all():
            return None
        digits = cells.astype(np.int64) - ord("0")
        for name, a, b in _SHAPES[size][1]:
            fields[name][rows] = digits[:, a:b] @ (10 ** np.arange(b - a - 1, -1, -1))
    return _Shapes(fields=fields, date=~np.isnan(fields["Y"]))


def _clock_s(clock: _Clock) -> np.ndarray:
    """Seconds after midnight from clock fields (NaN where invalid)."""
    h, mi = clock.hour, clock.minute
    sec = np.nan_to_num(clock.second, nan=0.0)
    has, pm = clock.ampm, clock.pm
    with np.errstate(invalid="ignore"):
        bad = (has & ((h < 1) | (h > 12))) | (~has & (h > 23)) | (mi > 59) | (sec > 59)
        h = np.where(has, (h % 12) + np.where(pm, 12, 0), h)
    out = h * 3600 + mi * 60 + sec
    return np.where(bad, np.nan, out)


def _times_s(text: np.ndarray) -> np.ndarray:
    """Clock times of text cells as seconds after midnight (NaN where none)."""
    if not len(text):
        return np.zeros(0, dtype="float64")
    shapes = _shapes(text)
    if shapes is not None:
        return _clock_s(shapes.times())
    return _clock_s(_regex_clock(_groups(text, _TIME_RE, _TIME_GROUPS)))


def _times_at(text: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """:func:`_times_s` of the cells ``rows`` (a bool mask), NaN elsewhere."""
    out = np.full(len(text), np.nan)
    if rows.any():
        out[rows] = _times_s(text[rows])
    return out


def _seconds_td(secs: np.ndarray) -> np.ndarray:
    """Whole seconds (float, NaN for none) as ``timedelta64[ns]`` (NaT for NaN)."""
    ns = np.where(np.isnan(secs), 0, secs).astype("int64") * 1_000_000_000
    out = ns.view("timedelta64[ns]")
    out[np.isnan(secs)] = np.timedelta64("NaT")
    return out


def parse_times(values: pd.Series) -> pd.Series:
    """Parse clock times (``13:05``, ``8:33 AM``, ``13:05:30``) to ``timedelta64`` after midnight.

    Anything else (including empty) becomes ``NaT``.
    """
    index = values.index if isinstance(values, pd.Series) else None
    out = _seconds_td(_times_s(_texts(values))).astype("timedelta64[us]")
    return pd.Series(out, index=index if index is not None else pd.RangeIndex(len(out)))


def _dates_ns(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Calendar dates from float fields as ``datetime64[us]`` (NaT where a field is missing or
    the date does not exist), as ``pandas.to_datetime`` of the fields gives them."""
    ok = ~(np.isnan(year) | np.isnan(month) | np.isnan(day))
    with np.errstate(invalid="ignore"):
        ok &= (month >= 1) & (month <= 12) & (day >= 1) & (year >= 1) & (year <= 9999)
    y = np.where(ok, year, 2000).astype("int64")
    mo = np.where(ok, month, 1).astype("int64")
    d = np.where(ok, day, 1).astype("int64")
    first = ((y - 1970) * 12 + (mo - 1)).astype("datetime64[M]").astype("datetime64[D]")
    following = ((y - 1970) * 12 + mo).astype("datetime64[M]").astype("datetime64[D]")
    ok &= d <= (following - first).astype("int64")
    out = (first + (d - 1)).astype("datetime64[us]")
    out[~ok] = np.datetime64("NaT")
    return out


def _datetimes(
    s: np.ndarray,
    date_order: str | None,
    path: str | PathLike | None,
    column: str,
    lines: np.ndarray | None,
) -> np.ndarray:
    """:func:`parse_datetimes` of an object array of text, as ``datetime64[ns]``."""
    if not len(s):
        return np.zeros(0, dtype="datetime64[ns]")
    shapes = _shapes(s)
    f = shapes.dates() if shapes is not None else _regex_dates(s)
    a, b, c, ymd = f.a, f.b, f.c, f.ymd
    dotted = f.dot & ~ymd
    amb = ~np.isnan(a) & ~ymd & ~dotted
    order = date_order
    if order is None and amb.any():
        day_first = amb & (a > 12)
        month_first = amb & (b > 12)
        if day_first.any() and month_first.any():
            i, j = np.flatnonzero(day_first)[0], np.flatnonzero(month_first)[0]
            where = f" (lines {lines[i]} and {lines[j]})" if lines is not None else ""
            raise InputError(
                f"column {column!r} mixes day-first and month-first dates{where}; "
                "expected one order throughout",
                path,
            )
        if day_first.any():
            order = "dmy"
        elif month_first.any():
            order = "mdy"
        else:
            i = np.flatnonzero(amb)[0]
            raise InputError(
                f"cannot tell day from month in column {column!r} (e.g. {s[i].strip()!r}); "
                "pass date_order='dmy' (day first) or 'mdy' (month first), or write ISO dates "
                "(2026-03-02 12:35); command line: --date-order dmy or mdy",
                path,
                None if lines is None else int(lines[i]),
            )
    dmy = dotted | (amb & (order == "dmy"))
    year = np.where(ymd, a, c)
    with np.errstate(invalid="ignore"):
        year = np.where(year < 100, year + 2000, year)
    month = np.where(ymd | dmy, b, a)
    day = np.where(ymd, c, np.where(dmy, a, b))
    secs = np.where(f.timed, _clock_s(f.clock), 0.0)
    out = _dates_ns(year, month, day) + _seconds_td(secs).astype("timedelta64[us]")
    return ns_times(out)


def parse_datetimes(
    values: pd.Series,
    date_order: str | None = None,
    *,
    path: str | PathLike | None = None,
    column: str = "",
    lines: np.ndarray | None = None,
) -> pd.Series:
    """Parse dates or date-times written by people or spreadsheets to tz-naive ``datetime64``.

    Accepted: ``2026-03-02 12:35``, ``2026-03-02T12:35:00``, ``2026/03/02``, ``02.03.2026 12:35``
    (dots: day first), and ``02/03/2026 12:35`` or ``03-02-26 1:35 PM`` whose day/month order is
    ``date_order`` (``"dmy"`` or ``"mdy"``) or, when omitted, inferred from the whole column
    (a first field above 12 means day first, a second above 12 month first). Impossible dates
    (30 February) become ``NaT``; so does anything unparseable or empty. Times outside
    1950-2200 become :data:`~.base.OUT_OF_RANGE_TIME` (:func:`~.base.to_ns`).

    Raises
    ------
    InputError
        When day/month order is needed but cannot be told, or the column mixes both orders.
    """
    if date_order not in (None, "dmy", "mdy"):
        raise InputError(f"date_order must be 'dmy' or 'mdy', not {date_order!r}", path)
    index = values.index if isinstance(values, pd.Series) else None
    out = _datetimes(_texts(values), date_order, path, column, lines)
    return pd.Series(out, index=index if index is not None else pd.RangeIndex(len(out)))


def _default_times(groups: pd.Series) -> pd.Series:
    """Default clock time (timedelta) per diary group name, NaT when none."""
    key = groups.astype(str).str.strip().str.lower().str.replace(r"\s+", " ", regex=True)
    return pd.to_timedelta(key.map(DEFAULT_MEAL_TIMES).fillna("nan") + ":00", errors="coerce")


# --------------------------------------------------------------------------- activity log
_ACTIVITY_ALIASES: dict[str, tuple[str, ...]] = {
    "start": ("start", "start_time", "started", "begin", "from", "datetime", "date_time"),
    "date": ("date", "day"),
    "time": ("time", "clock"),
    "end": ("end", "end_time", "stop", "until", "finish", "ended"),
    "duration_min": (
        "duration_min",
        "duration_mins",
        "duration_minutes",
        "duration",
        "minutes",
        "mins",
    ),
    "kind": ("kind", "activity", "what"),
    "intensity": ("intensity", "effort"),
    "carbs_g": ("carbs_g", "carbs", "carbohydrates_g", "carbohydrates", "carb_g"),
    "insulin_u": ("insulin_u", "insulin_units", "insulin", "units"),
    "notes": ("notes", "note", "label", "comment", "comments", "description"),
    "subject": ("subject", "participant", "person"),
    "done": ("done", "completed"),
    "condition": ("condition", "arm"),
    # the planner's own columns (soleus plan): the block is kept, the others are its bookkeeping
    "block": ("block",),
    "meal_no": ("meal_no",),
    "slot": ("slot",),
}


def _resolve(
    columns: list[str], aliases: dict[str, tuple[str, ...]]
) -> tuple[dict[str, str], list[str]]:
    """Map canonical names to the first present alias; also return unused columns."""
    found: dict[str, str] = {}
    for canon, names in aliases.items():
        for n in names:
            if n in columns and n not in found.values():
                found[canon] = n
                break
    unused = [c for c in columns if c not in found.values() and not c.startswith("_")]
    return found, unused


#: The dtype pandas gives a column of text (its default string dtype), as the source column's.
_TEXT_DTYPE = pd.Series(["activity_log"]).dtype

#: Kind words that label nothing: a row of one of them is labelled by its notes alone.
_GENERIC_WORDS = frozenset({"meal", "food", "note", "notes", "insulin", "spu", "spus", "exercise"})


@functools.lru_cache(maxsize=64)
def _activity_columns(names: tuple[str, ...]) -> tuple[dict[str, str], tuple[str, ...]]:
    """:func:`_resolve` of an activity log's column names with :data:`_ACTIVITY_ALIASES`
    (kept per process: a person's logs share their header)."""
    found, unused = _resolve(list(names), _ACTIVITY_ALIASES)
    return found, tuple(unused)


@dataclass
class _LogTable:
    """The text table of a log as :func:`~.base.csv_table` reads it.

    Attributes
    ----------
    names : list of str
        The column names (``_unnamed<i>`` for a column without one), ``_line`` not included.
    cells : dict
        Column name -> its stripped text cells (object array of ``str``).
    lines : numpy.ndarray of int
        1-based line of each row.
    header_line : int
        1-based line of the header.
    """

    names: list[str]
    cells: dict[str, np.ndarray]
    lines: np.ndarray
    header_line: int


#: Characters that send a text to :func:`~.base.csv_table` (the csv module reads them apart).
_NOT_PLAIN = ('"', "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e")


def _plain_table(text: str, prov: Provenance) -> _LogTable | None:
    """:func:`~.base.csv_table` of a plain text with ``#`` comments (setting ``prov.rows_read``
    and warning about rows with more fields than the header as it does), split by Python; None,
    with ``prov`` untouched, when the text is not plain (not ASCII, quotes, the csv module's
    line ends, more than :data:`_FEW_CELLS` lines) or :func:`~.base.csv_table` would refuse it.
    """
    if not text.isascii() or any(c in text for c in _NOT_PLAIN) or text.count("\n") > _FEW_CELLS:
        return None
    first = next(
        (ln for ln in text.split("\n") if ln.strip() and not ln.lstrip().startswith("#")), ""
    )
    records = (text[:-1] if text.endswith("\n") else text).split("\n")
    delimiter = sniff_delimiter(first)
    used = [
        i for i, ln in enumerate(records)
        if ln.replace(delimiter, "").strip()
        and not ln.split(delimiter, 1)[0].lstrip().startswith("#")
    ]  # fmt: skip
    if len(used) < 2:
        return None
    cells = records[used[0]].split(delimiter)
    while len(cells) > 1 and not cells[-1].strip():
        cells = cells[:-1]
    header = [norm_name(c) for c in cells]
    while header and not header[-1]:
        header.pop()
    named = [h for h in header if h]
    width = len(header)
    if not width or len(set(named)) < len(named):
        return None
    rows, lines, too_long = [], [], []
    for i in used[1:]:
        fields = records[i].split(delimiter)
        if len(fields) > width and any(x.strip() for x in fields[width:]):
            too_long.append(i + 1)
            continue
        rows.append([x.strip() for x in fields[:width]] + [""] * (width - len(fields)))
        lines.append(i + 1)
    prov.rows_read = len(lines) + len(too_long)
    warn_dropped(prov, "more fields than the header", too_long)
    names = [h if h else f"_unnamed{i}" for i, h in enumerate(header)]
    table = np.empty((len(rows), width), dtype=object)
    if rows:
        table[:] = rows
    cols = {name: table[:, i] for i, name in enumerate(names)}
    return _LogTable(names, cols, np.asarray(lines, dtype=np.int64), used[0] + 1)


def _read_log_table(path: Path, format: str) -> tuple[_LogTable, Provenance]:
    """:func:`~.base.read_table` of a log with ``#`` comments, as a :class:`_LogTable`: a plain
    text split by :func:`_plain_table`, any other by :func:`~.base.csv_table`."""
    p = check_input_file(path)
    dec = decode_file(p, "a CSV text file", empty="a CSV log with a header row")
    check_quotes(dec.text, p)
    prov = Provenance(path=str(p), format=format)
    warn_decoding(prov, dec)
    got = _plain_table(dec.text, prov)
    if got is not None:
        return got, prov
    table, header_line = csv_table(dec.text, p, prov, comments=True)
    names = [c for c in table.columns if c != "_line"]
    cells = {c: table[c].to_numpy(dtype=object) for c in names}
    return _LogTable(names, cells, table["_line"].to_numpy(), header_line), prov


def sniff_activity_log(text: str, raw: bytes) -> bool:
    """Header (after ``#`` comments) with a ``kind`` column and ``start`` (or ``date`` + ``time``)."""
    cols = set(first_header(text))
    has_start = bool(cols & {"start", "start_time"}) or {"date", "time"} <= cols
    return "kind" in cols and has_start


def classify_kind(words: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Map free-text activity words to canonical kinds.

    Returns
    -------
    kind : Series
        ``spu``, ``meal``, ``insulin``, ``note``, ``exercise`` or missing (unknown word).
    word : Series
        The normalised word (lower case, ``-``/``_`` as spaces).
    """
    w = (
        words.astype(str)
        .str.strip()
        .str.lower()
        .str.replace(r"[-_]+", " ", regex=True)
        .str.replace(r"\s+", " ", regex=True)
    )
    kind = pd.Series(None, index=w.index, dtype=object)
    kind[w.isin(MEAL_WORDS)] = "meal"
    kind[w.isin(INSULIN_WORDS)] = "insulin"
    kind[w.isin(NOTE_WORDS)] = "note"
    kind[w.isin(EXERCISE_WORDS)] = "exercise"
    kind[w.str.contains(r"\bsoleus\b") | w.isin(SPU_WORDS)] = "spu"
    return kind, w


def _ascii(values: np.ndarray) -> bool:
    """True when every text of ``values`` is ASCII (pyarrow's case mapping is Python's)."""
    return not len(values) or bool(
        pc.all(pc.string_is_ascii(pa.array(values, pa.large_string()))).as_py()
    )


def _lower(values: np.ndarray) -> pa.Array:
    """Text cells in lower case as ``str.lower`` gives them (by pyarrow for ASCII text)."""
    if _ascii(values):
        return pc.utf8_lower(pa.array(values, pa.large_string()))
    return pa.array(pd.Series(values, dtype=object).str.lower().to_numpy(), pa.large_string())


def _truthy(values: np.ndarray) -> np.ndarray:
    """Cells that mark a planned row done (in :data:`TRUTHY` in lower case), a bool array:
    by Python for a few cells, else by pyarrow (:func:`_lower`)."""
    if len(values) <= _FEW_CELLS and _all_text(values):
        return np.fromiter((v.lower() in TRUTHY for v in values), bool, len(values))
    got = pc.is_in(_lower(values), pa.array(sorted(TRUTHY), pa.large_string()))
    return got.to_numpy(zero_copy_only=False)


def _contains(values: np.ndarray, pattern: str | re.Pattern) -> np.ndarray:
    """``re.search(pattern, v)`` of each text cell, as a bool array: by ``re`` for a few cells,
    else by RE2 where it reads the text as ``re`` does (a pattern's flags other than
    ``re.IGNORECASE`` are not passed to RE2)."""
    if not len(values):
        return np.zeros(0, dtype=bool)
    rx = re.compile(pattern)  # re caches what it compiled
    if len(values) <= _FEW_CELLS and _all_text(values):
        return np.fromiter((rx.search(v) is not None for v in values), bool, len(values))
    if _safe(values):
        arr = pa.array(values, pa.large_string())
        got = pc.match_substring_regex(arr, rx.pattern, ignore_case=bool(rx.flags & re.IGNORECASE))
        return got.to_numpy(zero_copy_only=False)
    return pd.Series(values, dtype=object).str.contains(rx, regex=True).to_numpy(dtype=bool)


def _spu_mask(text: np.ndarray) -> np.ndarray:
    """:func:`~.spu_text.spu_mask` of text cells, as a bool array."""
    if 0 < len(text) <= _FEW_CELLS and _all_text(text):
        return _contains(text, SPU_RE)
    if len(text) and _safe(text):
        arr = pa.array(text, pa.large_string())
        got = pc.match_substring_regex(arr, SPU_RE.pattern, ignore_case=True)
        return got.to_numpy(zero_copy_only=False)
    return spu_mask(pd.Series(text, dtype=object)).to_numpy(dtype=bool)


def _numbers(text: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`~.base.numbers` of text cells: float64 numbers (NaN where none) and the mask of
    the cells that are neither a number nor empty."""
    if not len(text):
        return np.zeros(0, dtype="float64"), np.zeros(0, dtype=bool)
    if len(text) <= _FEW_CELLS and _all_text(text) and "".join(text).isascii():
        # Python strips ASCII text as pyarrow does
        txt = np.array([v.strip() for v in text], dtype=object)
        if not any(txt):
            return np.full(len(text), np.nan), np.zeros(len(text), dtype=bool)
        comma = np.array([v.replace(",", ".") for v in txt], dtype=object)
    else:
        arr = pc.utf8_trim_whitespace(pa.array(text, pa.large_string()))
        txt = arr.to_numpy(zero_copy_only=False)
        comma = pc.replace_substring(arr, ",", ".").to_numpy(zero_copy_only=False)
    num = np.asarray(pd.to_numeric(comma, errors="coerce"), dtype="float64")
    return num, (txt != "") & np.isnan(num)


_DASHES = re.compile(r"[-_]+")
_SPACES = re.compile(r"\s+")
_SOLEUS = re.compile(r"\bsoleus\b")


def _word_kind(text: str) -> tuple[str | None, str]:
    """:func:`classify_kind` of one text: its kind (None when unknown) and its normalised word."""
    w = _SPACES.sub(" ", _DASHES.sub(" ", text.strip().lower()))
    if _SOLEUS.search(w) or w in SPU_WORDS:
        return "spu", w
    for kinds, name in (
        (EXERCISE_WORDS, "exercise"),
        (NOTE_WORDS, "note"),
        (INSULIN_WORDS, "insulin"),
        (MEAL_WORDS, "meal"),
    ):
        if w in kinds:
            return name, w
    return None, w


def _classify(words: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`classify_kind` of text cells, as object arrays: each distinct text classified
    once (:func:`_word_kind`), else (cells that are not all text) by :func:`classify_kind`."""
    codes, distinct = pd.factorize(words)
    if isinstance(distinct, np.ndarray) and not (codes < 0).any() and _all_text(distinct):
        kind = np.empty(len(distinct), dtype=object)
        word = np.empty(len(distinct), dtype=object)
        for i, v in enumerate(distinct):
            kind[i], word[i] = _word_kind(v)
        return kind[codes], word[codes]
    got, w = classify_kind(pd.Series(words, dtype=object))
    out = got.to_numpy(dtype=object, copy=True)
    out[pd.isna(out)] = None
    return out, w.to_numpy(dtype=object)


def read_activity_log(
    path: str | PathLike, subject: str | None = None, date_order: str | None = None
) -> Recording:
    """Read the project's activity log CSV (see ``docs/activity_log.md``).

    Parameters
    ----------
    path : str or PathLike
        The CSV file (``,``, ``;`` or tab separated; ``#`` lines are comments).
    subject : str, optional
        Subject id for every row (overrides a ``subject`` column); defaults to the ``subject``
        column, else :data:`~soleus_analysis.core.schema.DEFAULT_SUBJECT`.
    date_order : {"dmy", "mdy"}, optional
        Day/month order of slashed dates (``02/03/2026``); inferred from the column when it can
        be told, else required.

    Returns
    -------
    Recording
        Events only: ``spu``/``exercise`` bouts with ``end``, ``meal`` (``carbs_g`` in g),
        ``insulin`` (``insulin_u`` in units), ``note``; extra column ``condition`` when the file
        has one (planner schedules).

    Raises
    ------
    InputError
        Empty file, no data rows, missing ``kind`` or start columns, ambiguous date order.
    """
    p = Path(path)
    table, prov = _read_log_table(p, "activity_log")
    header_line = table.header_line
    col, unused = _activity_columns(tuple(table.names))
    if "kind" not in col:
        raise InputError(
            f"no 'kind' column (found {column_list(sorted(set(table.names)), col.values())}); "
            "expected columns start, end or duration_min, kind",
            p,
            header_line,
        )
    if "start" not in col and not {"date", "time"} <= set(col):
        raise InputError(
            "no 'start' column (nor 'date' and 'time'); expected columns start, end or "
            "duration_min, kind",
            p,
            header_line,
        )
    for u in unused:
        prov.warn(f"ignored column {u!r}")
    lines = table.lines
    drops = RowAccount(prov, lines)
    empty = np.full(len(lines), "", dtype=object)

    def get(name: str) -> np.ndarray:
        return table.cells[col[name]] if name in col else empty

    # planner schedules: only rows marked done happened
    if "done" in col:
        # counted, not warned about line by line: a schedule in progress has meals still ahead
        drops.drop(~_truthy(get("done")), "planned but not marked done", warn=False)

    # kind
    kind, word = _classify(get("kind"))
    drops.drop(word == "", "missing kind")

    # start: a datetime, or date + clock time
    start_txt = get("start")
    if "date" in col:
        clock_txt = (
            np.where(start_txt != "", start_txt, get("time")) if "start" in col else get("time")
        )
        is_clock = _contains(clock_txt, r"\d:\d\d") & ~_contains(clock_txt, r"\d[-/.]\d")
        date = _datetimes(get("date"), date_order, p, col["date"], lines)
        start_a = date + _seconds_td(_times_s(clock_txt))
        start_b = _datetimes(clock_txt, date_order, p, "start", lines)
        start = np.where(is_clock, start_a, start_b)
        missing = clock_txt == ""
    else:
        start = _datetimes(start_txt, date_order, p, col["start"], lines)
        missing = start_txt == ""
        drops.drop(
            ~np.isnan(_times_at(start_txt, ~missing & np.isnat(start))),
            "start time without a date",
        )
    drops.drop(missing, "missing start")
    drops.drop(np.isnat(start), "impossible timestamp")

    # end: datetime, or bare clock time on the start's day (next day when before the start)
    end_txt = get("end")
    dated = _contains(end_txt, r"\d[-/.]\d")
    end_full = _datetimes(np.where(dated, end_txt, ""), date_order, p, "end", lines)
    end_clock = start.astype("datetime64[D]").astype("datetime64[ns]") + _seconds_td(
        _times_at(end_txt, np.isnat(end_full) & (end_txt != ""))  # the others not used
    )
    end_clock = np.where(end_clock < start, end_clock + np.timedelta64(1, "D"), end_clock)
    end = np.where(np.isnat(end_full), end_clock, end_full)
    drops.drop((end_txt != "") & np.isnat(end), "bad end time")
    drops.drop(end < start, "end before start")
    dur, dur_bad = _numbers(get("duration_min"))
    with np.errstate(invalid="ignore"):
        dur_bad |= (dur < 0) | (dur > 24 * 60)
    drops.drop(dur_bad, "bad duration")
    end_dur = start + minutes_to_timedelta(dur).to_numpy(dtype="timedelta64[ns]")
    with np.errstate(invalid="ignore"):
        gap = np.abs((end - end_dur).astype("int64"))
    conflict = ~np.isnat(end) & ~np.isnat(end_dur) & (gap > 60_000_000_000)
    warn_each(
        prov,
        lines[conflict & drops.open],
        "end and duration_min disagree; used end",
        "where end and duration_min disagree (end used)",
    )
    end = np.where(np.isnat(end), end_dur, end)
    # tolerant: a note or exercise row whose text names SPU ("SPU 30") is an SPU bout, its
    # minutes taken from the text when no end or duration was given
    spu_text = get("notes") + " " + get("kind")
    named_spu = ((kind == "note") | (kind == "exercise")) & _spu_mask(spu_text)
    kind = np.where(named_spu, "spu", kind)
    from_text = named_spu & np.isnat(end)
    if from_text.any():
        minutes = spu_minutes(pd.Series(spu_text[from_text], dtype=object)).to_numpy()
        end = end.copy()
        end[from_text] = start[from_text] + pd.to_timedelta(minutes, unit="min").to_numpy(
            dtype="timedelta64[ns]"
        )
    has_span = ~np.isnat(end)

    # unknown words: exercise when a span is given, else dropped
    unknown = (kind == None) & (word != "")  # noqa: E711
    told = unknown & ~has_span
    why = np.full(len(word), None, dtype=object)
    why[told] = [f"unknown kind {w[:40]!r}" for w in word[told]]
    drops.drop(told, why)
    kind = np.where(unknown & has_span, "exercise", kind)
    activity = (kind == "spu") | (kind == "exercise")
    drops.drop(activity & ~has_span, "no end or duration")

    carbs, carbs_bad = _numbers(get("carbs_g"))
    with np.errstate(invalid="ignore"):
        drops.drop(carbs_bad | (carbs < 0), "bad carbs")
    insulin, ins_bad = _numbers(get("insulin_u"))
    with np.errstate(invalid="ignore"):
        drops.drop(ins_bad | (insulin < 0), "bad insulin")
    span_ns = (end - start).astype("int64")
    span = np.where(np.isnat(end) | np.isnat(start), np.nan, span_ns / 1e9) / 60
    why = implausible(times=start, carbs_g=carbs, insulin_u=insulin, duration_min=span)
    drops.drop(why != None, why, "out of the plausible range")  # noqa: E711

    keep = drops.commit()
    note_txt = get("notes")
    generic = np.fromiter((w in _GENERIC_WORDS for w in word), bool, len(word))
    orig = get("kind")
    exercise_label = np.where(note_txt == "", orig, orig + ": " + note_txt)
    label = np.where((note_txt != "") | generic | (kind == "spu"), note_txt, orig)
    label = np.where(kind == "exercise", exercise_label, label)
    label = np.where(label != "", label, None)
    if subject is not None:
        subj = np.full(len(lines), subject, dtype=object)
    else:
        s = get("subject")
        subj = np.where(s != "", s, DEFAULT_SUBJECT)
    intensity = get("intensity")
    data = {
        "subject": subj,
        "time": start,
        "end": end,
        "kind": kind,
        "carbs_g": carbs,
        "insulin_u": insulin,
        "intensity": np.where(intensity != "", intensity, None),
        "label": label,
    }
    for name in ("condition", "block"):  # block: the planner's randomisation block, permuted
        if name in col:  # within by the N-of-1 test
            cells = get(name)
            data[name] = np.where(cells != "", cells, None)
    kept = {k: v[keep] for k, v in data.items()}
    codes = pd.factorize(kept["subject"], sort=True)[0]
    order = np.lexsort((kept["time"].view("int64"), codes))
    # text columns stay object (missing as None); the source column is text of one value
    index = pd.RangeIndex(len(order))
    cols = [
        (k, pd.Series(v[order], index=index, dtype=v.dtype, copy=False)) for k, v in kept.items()
    ]
    source = np.full(len(order), "activity_log", dtype=object)
    cols.insert(8, ("source", pd.Series(source, index=index, dtype=_TEXT_DTYPE, copy=False)))
    out = pd.DataFrame(dict(cols), index=index, copy=False)
    prov.rows_kept = len(out)
    return Recording(events=out, provenance=prov.check())


# --------------------------------------------------------------------------- Cronometer
def _require(table: pd.DataFrame, names: list[str], path: Path, line: int, what: str) -> None:
    missing = [n for n in names if n not in table.columns]
    if missing:
        raise InputError(
            f"missing column(s) {missing} for a {what}; found "
            f"{sorted(c for c in table.columns if c != '_line')}",
            path,
            line,
        )


def _diary_times(
    table: pd.DataFrame,
    day: pd.Series,
    time_txt: pd.Series,
    group: pd.Series,
    drops: RowAccount,
    prov: Provenance,
    siblings: bool = True,
) -> pd.Series:
    """Start datetimes of diary rows: the row's time; else the earliest timed row of the same day
    and group (when ``siblings``); else the group's default time (with a warning); else dropped
    ``"no time"``."""
    clock = parse_times(time_txt)
    drops.drop((time_txt.ne("") & clock.isna()).to_numpy(), "impossible timestamp")
    t = day + clock
    if siblings:
        timed = t.where(drops.open)
        sibling = timed.groupby([day, group.str.lower()], dropna=False).transform("min")
    else:
        sibling = pd.Series(pd.NaT, index=t.index, dtype="datetime64[ns]")
    default = day + _default_times(group)
    use_default = t.isna() & sibling.isna() & default.notna() & day.notna()
    told = use_default.to_numpy() & drops.open
    said = [
        f"no time given; used the default {d} for {g!r}"
        for g, d in zip(
            group[told][:MAX_WARNINGS_PER_REASON],
            default[told][:MAX_WARNINGS_PER_REASON].dt.strftime("%H:%M"),
            strict=True,
        )
    ]
    warn_each(
        prov,
        table["_line"].to_numpy()[told],
        said,
        "without a time, given their meal's default time",
    )
    out = t.where(t.notna(), sibling).where(lambda x: x.notna(), default)
    drops.drop((out.isna() & day.notna()).to_numpy(), "no time")
    return out


#: What a servings export without times of day is told (Cronometer's own name for the setting).
CRONOMETER_NO_TIMES = (
    "this Cronometer servings export has no times of day (no 'Time' column, or every Time "
    "empty), so its foods cannot be matched to post-meal glucose; turn on Timestamps in "
    "Cronometer (a Gold feature: each diary entry then gets its time of day), then export the "
    "servings again"
)


def _require_times(table: pd.DataFrame, path: Path, line: int) -> None:
    """Refuse a servings export without any time of day (:data:`CRONOMETER_NO_TIMES`)."""
    if "time" not in table.columns or not table["time"].astype(str).str.strip().ne("").any():
        raise InputError(CRONOMETER_NO_TIMES, path, line)


def sniff_cronometer(text: str, raw: bytes) -> bool:
    """Cronometer servings export: ``Day``, ``Group`` and ``Food Name`` columns."""
    return {"day", "group", "food_name"} <= set(first_header(text, comments=False))


def sniff_cronometer_daily(text: str, raw: bytes) -> bool:
    """Cronometer daily-summary export: ``Date`` and ``Energy (kcal)``, no food or meal column."""
    cols = set(first_header(text, comments=False))
    return {"date", "energy_kcal"} <= cols and not cols & {"food_name", "meal", "group"}


#: Why a Cronometer daily-summary export cannot be read (it is refused with this line).
CRONOMETER_DAILY = (
    "is a Cronometer daily-summary export (one row of nutrient totals per day, no meals and no "
    "times of day), not a meal log; export 'Servings' from Cronometer instead, with Timestamps "
    "turned on"
)


def refuse_cronometer_daily(path: str | PathLike, **_options: object) -> None:
    """Refuse a Cronometer daily-summary export (:data:`CRONOMETER_DAILY`)."""
    raise InputError(CRONOMETER_DAILY, path)


def sniff_cronometer_exercises(text: str, raw: bytes) -> bool:
    """Cronometer exercise export: ``Day``, ``Exercise`` and ``Minutes`` columns."""
    return {"day", "exercise", "minutes"} <= set(first_header(text, comments=False))


def sniff_myfitnesspal(text: str, raw: bytes) -> bool:
    """MyFitnessPal export: ``Date``, ``Meal`` and ``Carbohydrates (g)`` columns."""
    return {"date", "meal", "carbohydrates_g"} <= set(first_header(text, comments=False))


def read_cronometer(
    path: str | PathLike,
    subject: str | None = None,
    merge_minutes: float = 30,
    date_order: str | None = None,
) -> Recording:
    """Read a Cronometer servings export and group food items into meals.

    Items of the same ``Day`` and ``Group`` belong to one meal until an item comes more than
    ``merge_minutes`` after the previous one, which starts a new meal. An item without ``Time``
    takes the earliest time of its day and group, else the group's default time
    (:data:`DEFAULT_MEAL_TIMES`, with a warning), else it is dropped (``"no time"``). An
    export with no time of day at all (Cronometer's Timestamps turned off) is refused.

    Parameters
    ----------
    path : str or PathLike
        The servings CSV (``Day,Time,Group,Food Name,Amount,...,Carbs (g),...``).
    subject : str, optional
        Subject id; defaults to :data:`~soleus_analysis.core.schema.DEFAULT_SUBJECT` (never the file name).
    merge_minutes : float
        Largest gap (min) between consecutive items of one meal.
    date_order : {"dmy", "mdy"}, optional
        Only for non-ISO ``Day`` values.

    Returns
    -------
    Recording
        One ``meal`` event per meal: ``time`` = earliest item, ``carbs_g`` = sum of
        ``Carbs (g)`` (g), ``label`` = food names joined by ``"; "``; extra columns ``n_items``,
        ``kcal`` (sum of ``Energy (kcal)``) and ``net_carbs_g``. Provenance counts *item rows*:
        ``rows_kept`` is the number of items that went into a meal, not the number of meals.

    Raises
    ------
    InputError
        Missing columns, or no time of day at all (:data:`CRONOMETER_NO_TIMES`).
    """
    p = Path(path)
    table, header_line, prov = read_table(p, "cronometer")
    _require(
        table,
        ["day", "group", "food_name", "carbs_g"],
        p,
        header_line,
        "Cronometer servings export",
    )
    _require_times(table, p, header_line)
    lines = table["_line"].to_numpy()
    drops = RowAccount(prov, table["_line"].to_numpy())
    day = parse_datetimes(table["day"], date_order, path=p, column="Day", lines=lines)
    drops.drop(day.isna().to_numpy(), "impossible timestamp")
    time_txt = table["time"]
    group = table["group"]
    start = _diary_times(table, day.dt.normalize(), time_txt, group, drops, prov)
    carbs, carbs_bad = numbers(table["carbs_g"])
    drops.drop(carbs_bad | (carbs < 0).to_numpy(), "bad carbs")
    why = implausible(times=start, carbs_g=carbs)
    drops.drop(why != None, why, "out of the plausible range")  # noqa: E711
    kcal = numbers(table["energy_kcal"])[0] if "energy_kcal" in table else np.nan
    net = numbers(table["net_carbs_g"])[0] if "net_carbs_g" in table else np.nan
    keep = drops.commit()
    items = pd.DataFrame(
        {
            "day": day.dt.normalize(),
            "group": group.str.lower(),
            "time": start,
            "carbs_g": carbs,
            "kcal": kcal,
            "net_carbs_g": net,
            "food": table["food_name"],
            "_line": lines,
        }
    ).loc[keep]
    items = items.sort_values(["day", "group", "time", "_line"], kind="stable")
    new_group = (items["day"].ne(items["day"].shift())) | (
        items["group"].ne(items["group"].shift())
    )
    gap = items["time"].diff() > pd.Timedelta(minutes=merge_minutes)
    meal_id = (new_group | gap).cumsum()
    g = items.groupby(meal_id, sort=False)
    meals = pd.DataFrame(
        {
            "time": g["time"].min(),
            "carbs_g": g["carbs_g"].sum(min_count=1),
            "label": g["food"].agg(lambda s: "; ".join(x for x in s if x)),
            "n_items": g.size(),
            "kcal": g["kcal"].sum(min_count=1),
            "net_carbs_g": g["net_carbs_g"].sum(min_count=1),
        }
    )
    meals.insert(0, "subject", subject or DEFAULT_SUBJECT)
    meals["end"] = pd.NaT
    meals["kind"] = "meal"
    meals["source"] = "cronometer"
    prov.rows_kept = int(keep.sum())
    meals = meals.sort_values("time", kind="stable").reset_index(drop=True)
    meals["n_items"] = meals["n_items"].astype("int64")
    return Recording(events=meals, provenance=prov.check())


def read_cronometer_exercises(
    path: str | PathLike, subject: str | None = None, date_order: str | None = None
) -> Recording:
    """Read a Cronometer exercise export (``Day,Time,Exercise,Minutes,Calories Burned,Group``).

    Returns
    -------
    Recording
        ``exercise`` events (``spu`` when the name mentions soleus/SPU) with ``end = time +
        Minutes``; ``label`` = the exercise name; extra column ``kcal`` (calories burned). Rows
        without a positive ``Minutes`` are dropped (``"no duration"``); rows without ``Time``
        take their group's default time (with a warning) or are dropped (``"no time"``).
    """
    p = Path(path)
    table, header_line, prov = read_table(p, "cronometer_exercises")
    _require(table, ["day", "exercise", "minutes"], p, header_line, "Cronometer exercise export")
    lines = table["_line"].to_numpy()
    drops = RowAccount(prov, table["_line"].to_numpy())
    empty = pd.Series("", index=table.index, dtype=object)
    day = parse_datetimes(table["day"], date_order, path=p, column="Day", lines=lines)
    drops.drop(day.isna().to_numpy(), "impossible timestamp")
    start = _diary_times(
        table,
        day.dt.normalize(),
        table.get("time", empty),
        table.get("group", empty),
        drops,
        prov,
        siblings=False,
    )
    minutes, min_bad = numbers(table["minutes"])
    drops.drop(min_bad | ~(minutes > 0).to_numpy(), "no duration")
    why = implausible(times=start, duration_min=minutes)
    drops.drop(why != None, why, "out of the plausible range")  # noqa: E711
    kcal = numbers(table["calories_burned"])[0] if "calories_burned" in table else np.nan
    keep = drops.commit()
    name = table["exercise"]
    out = pd.DataFrame(
        {
            "subject": subject or DEFAULT_SUBJECT,
            "time": start,
            "end": start + minutes_to_timedelta(minutes).to_numpy(),
            "kind": np.where(name.str.contains(SPU_RE), "spu", "exercise"),
            "label": name,
            "source": "cronometer",
            "kcal": kcal,
        }
    ).loc[keep]
    prov.rows_kept = len(out)
    out = out.sort_values("time", kind="stable").reset_index(drop=True)
    return Recording(events=out, provenance=prov.check())


# --------------------------------------------------------------------------- MyFitnessPal
def read_myfitnesspal(
    path: str | PathLike, subject: str | None = None, date_order: str | None = None
) -> Recording:
    """Read a MyFitnessPal export (``Date,Meal,Time,Calories,...,Carbohydrates (g),...,Note``).

    Rows of the same ``Date`` and ``Meal`` are summed into one ``meal`` event at the earliest
    time. A row without ``Time`` (or a file without the column) takes the meal's default time
    (:data:`DEFAULT_MEAL_TIMES`, with a warning), else it is dropped (``"no time"``).

    Returns
    -------
    Recording
        ``meal`` events: ``carbs_g`` (g), ``label`` = meal name (and notes), extra columns
        ``n_items`` (rows summed) and ``kcal``. Provenance counts rows, not meals.
    """
    p = Path(path)
    table, header_line, prov = read_table(p, "myfitnesspal")
    _require(table, ["date", "meal", "carbohydrates_g"], p, header_line, "MyFitnessPal export")
    lines = table["_line"].to_numpy()
    drops = RowAccount(prov, table["_line"].to_numpy())
    empty = pd.Series("", index=table.index, dtype=object)
    day = parse_datetimes(table["date"], date_order, path=p, column="Date", lines=lines)
    drops.drop(day.isna().to_numpy(), "impossible timestamp")
    meal = table["meal"]
    start = _diary_times(table, day.dt.normalize(), table.get("time", empty), meal, drops, prov)
    carbs, carbs_bad = numbers(table["carbohydrates_g"])
    drops.drop(carbs_bad | (carbs < 0).to_numpy(), "bad carbs")
    why = implausible(times=start, carbs_g=carbs)
    drops.drop(why != None, why, "out of the plausible range")  # noqa: E711
    kcal = numbers(table["calories"])[0] if "calories" in table else np.nan
    keep = drops.commit()
    note = table.get("note", empty)
    rows = pd.DataFrame(
        {
            "day": day.dt.normalize(),
            "meal": meal,
            "time": start,
            "carbs_g": carbs,
            "kcal": kcal,
            "note": note,
        }
    ).loc[keep]
    g = rows.groupby(["day", rows["meal"].str.lower()], sort=False)
    meals = pd.DataFrame(
        {
            "time": g["time"].min(),
            "carbs_g": g["carbs_g"].sum(min_count=1),
            "kcal": g["kcal"].sum(min_count=1),
            "n_items": g.size(),
            "meal": g["meal"].first(),
            "notes": g["note"].agg(lambda s: "; ".join(x for x in s if x)),
        }
    ).reset_index(drop=True)
    label = meals["meal"].where(meals["notes"].eq(""), meals["meal"] + ": " + meals["notes"])
    out = pd.DataFrame(
        {
            "subject": subject or DEFAULT_SUBJECT,
            "time": meals["time"],
            "end": pd.NaT,
            "kind": "meal",
            "carbs_g": meals["carbs_g"],
            "label": label,
            "source": "myfitnesspal",
            "n_items": meals["n_items"].astype("int64"),
            "kcal": meals["kcal"],
        }
    )
    prov.rows_kept = int(keep.sum())
    out = out.sort_values("time", kind="stable").reset_index(drop=True)
    return Recording(events=out, provenance=prov.check())


SNIFFERS: list[tuple[str, Callable[[str, bytes], bool]]] = [
    ("cronometer", sniff_cronometer),
    ("cronometer_exercises", sniff_cronometer_exercises),
    ("myfitnesspal", sniff_myfitnesspal),
    ("cronometer_daily_summary", sniff_cronometer_daily),
    ("activity_log", sniff_activity_log),
]

#: Exports that are no recording: named when given, and refused with what they are.
TABLES = {"cronometer_daily_summary": (refuse_cronometer_daily, CRONOMETER_DAILY)}

READERS: dict[str, Callable[..., Recording]] = {
    "activity_log": read_activity_log,
    "cronometer": read_cronometer,
    "cronometer_exercises": read_cronometer_exercises,
    "myfitnesspal": read_myfitnesspal,
}

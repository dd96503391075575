"""Generic CSV / Parquet reader for research datasets with named columns.

Takes files such as ``id,time,gl`` (iglu's example data, many published CGM datasets),
``subject,timestamp,glucose_mgdl`` or ``Timestamp,Glucose (mmol/L)``. Columns are recognised by
name (case-insensitive synonyms, units in parentheses or suffixes ignored for matching); each can
be named explicitly with ``time_column=``, ``glucose_column=``, ``subject_column=``.

Units come from the glucose column's name (``mg/dL``, ``mgdl``, ``mmol``); when the name carries
none, ``units="mg/dL"`` or ``units="mmol/L"`` is required: values are never guessed from their
range (the range is only used to refuse a ``units=`` that is clearly wrong).

Row account
    every non-blank data row is kept as a reading or dropped under one of ``"unparseable
    timestamp"``, ``"missing glucose"``, ``"non-numeric glucose"``, ``"implausible glucose"``,
    ``"duplicate"`` (same subject, time and value as an earlier row); single bad rows are listed
    in ``provenance.warnings`` with their 1-based line (CSV) or row (Parquet) number.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from os import PathLike

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..core.errors import InputError
from ..core.recording import Provenance, Recording
from ..core.schema import (
    CENSORED_HIGH,
    CENSORED_LOW,
    DEFAULT_SUBJECT,
    MGDL_PER_MMOL,
    PLAUSIBLE_MGDL,
)
from .base import (
    arrow_text,
    column_list,
    csv_text,
    drop_implausible,
    exact_times,
    implausible,
    read_head,
    record_columns,
    regex_safe,
    sniff_delimiter,
    text_frame,
    text_numbers,
    to_ns,
    warn_dropped,
)
from .encoding import looks_binary

FORMAT = "generic"

#: Plausible range of a glucose value in mg/dL; values outside are dropped as implausible.

_TIME_NAMES = (
    "time",
    "timestamp",
    "datetime",
    "datetimes",
    "displaytime",
    "devicetimestamp",
    "localtime",
    "eventtime",
    "ts",
)
_GLUCOSE_NAMES = (
    "gl",
    "glucose",
    "sgv",
    "bg",
    "cgm",
    "value",
    "glucosevalue",
    "glucosemgdl",
    "glucosemmol",
    "glucosemmoll",
    "glucoselevel",
    "sensorglucose",
    "historicglucose",
    "bloodglucose",
)
_SUBJECT_NAMES = (
    "id",
    "subject",
    "subjectid",
    "participant",
    "participantid",
    "patient",
    "patientid",
    "ptid",
    "userid",
)
_LOW_WORDS = {"low", "lo", "below", "<40"}
_HIGH_WORDS = {"high", "hi", "above", ">400"}
#: Cells meaning "no value" (R writes NA, pandas NaN, JSON null).
_MISSING_WORDS = {"", "na", "nan", "null", "none", "n/a", "-"}


def _known(columns: Sequence[str]) -> list[str]:
    """The columns whose names this reader recognises (so a message may quote the header)."""
    names = {*_TIME_NAMES, *_GLUCOSE_NAMES, *_SUBJECT_NAMES}
    return [c for c in columns if _norm(c) in names]


def _norm(name: str) -> str:
    """Column name reduced for matching: lower case, parenthesised units and non-letters removed."""
    # no nested brackets inside a pair: a name of many "(" is scanned in linear time
    base = re.sub(r"\([^()]*\)|\[[^\[\]]*\]", "", str(name)).lower()
    return re.sub(r"[^a-z0-9]", "", base)


def units_from_name(name: str) -> str:
    """Glucose units named in a column name: ``"mg/dL"``, ``"mmol/L"`` or ``""`` if none."""
    low = str(name).lower().replace(" ", "")
    if re.search(r"mg/?_?dl", low):
        return "mg/dL"
    if "mmol" in low:
        return "mmol/L"
    return ""


def _find(columns: Sequence[str], names: tuple[str, ...], what: str, path, given: str | None):
    if given is not None:
        if given in columns:
            return given
        lower = {str(c).lower(): c for c in columns}
        if given.lower() in lower:
            return lower[given.lower()]
        raise InputError(
            f"no column {given!r} ({what}); columns are: {column_list(columns, _known(columns))}",
            path,
            1,
        )
    hits = [c for c in columns if _norm(c) in names]
    if len(hits) > 1:
        raise InputError(
            f"several columns could be the {what}: {', '.join(map(str, hits))}; "
            f"choose one with {what.split()[0]}_column=...",
            path,
            1,
        )
    return hits[0] if hits else None


#: The first line of a text as ``str.splitlines`` ends it (at any of its line breaks).
_FIRST_LINE = re.compile("[^\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]*")


def _header_columns(text: str) -> tuple[list[str], str]:
    # the first line without splitting (or stripping) the whole text
    has_text = bool(text) and not text.isspace()
    first = _FIRST_LINE.match(text.lstrip("\ufeff")).group() if has_text else ""
    sep = sniff_delimiter(first)
    cols = next(csv.reader([first], delimiter=sep)) if first else []
    return [c.strip() for c in cols], sep


def sniff_generic(text: str, raw: bytes) -> bool:
    """True for a Parquet file, or a CSV whose header has a time-like and a glucose-like column."""
    if raw.startswith(b"PAR1"):
        return True
    if not text.strip() or looks_binary(raw):
        return False
    cols, _ = _header_columns(text)
    normed = {_norm(c) for c in cols}
    return bool(normed & set(_TIME_NAMES)) and bool(normed & set(_GLUCOSE_NAMES))


def _strip_offsets(values: pd.Series) -> tuple[pd.Series, int]:
    """Remove trailing UTC offsets (``Z``, ``+01:00``) keeping the written wall-clock time."""
    s = values.astype("string").str.strip()
    pat = r"(?:Z|[+-]\d{2}:?\d{2}|\s?UTC)$"
    if len(s) and regex_safe(s):  # RE2 reads the pattern as re does: one pass in pyarrow
        arr = pa.array(s.array, pa.large_string())
        has = pc.match_substring_regex(arr, pat)
        out = pc.replace_substring_regex(arr, pat, "")
        text = pd.Series(pd.arrays.ArrowStringArray(out), index=s.index).astype(s.dtype)
        return text, int(pc.sum(has).as_py() or 0)
    has = s.str.contains(pat, regex=True, na=False)
    return s.str.replace(pat, "", regex=True), int(has.sum())


def _parse_times(values: pd.Series, time_format: str | None) -> tuple[pd.Series, int]:
    """Parse a column of timestamps to tz-naive local wall clock; return (times, n_with_offset)."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return to_ns(values), int(values.notna().sum())
    if pd.api.types.is_datetime64_any_dtype(values):
        return to_ns(values), 0
    if time_format is None:
        fast = _exact_times(values)
        if fast is not None:
            t, rest = fast
            n_off = 0
            if rest.any():
                t[rest], n_off = _parse_text_times(values[rest], None)
            return pd.Series(t, index=values.index), n_off
    t, n_off = _parse_text_times(values, time_format)
    return pd.Series(t, index=values.index), n_off


#: ``YYYY-MM-DD hh:mm:ss`` (or ``T``): read by :func:`~.base.exact_times`.
_ISO_EXACT = r"^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d$"
_ISO_SPANS = ((0, 4), (5, 7), (8, 10), (11, 13), (14, 16), (17, 19))


def _exact_times(values: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """Times of the cells written ``YYYY-MM-DD hh:mm:ss`` (stripped), from their bytes, and
    the mask of the others (those left to ``pandas.to_datetime``); None when the cells are
    not text pyarrow holds."""
    try:
        arr = arrow_text(values.astype("string").str.strip())
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return None
    times, done = exact_times(arr, _ISO_EXACT, _ISO_SPANS)
    return times, ~done


def _parse_text_times(values: pd.Series, time_format: str | None) -> tuple[np.ndarray, int]:
    """:func:`_parse_times` of text cells by ``pandas.to_datetime`` (a trailing UTC offset
    removed first): the times (datetime64[ns]) and how many cells had an offset."""
    text, n_off = _strip_offsets(values)
    if time_format is not None:
        t = pd.to_datetime(text, format=time_format, errors="coerce")
    else:
        t = pd.to_datetime(text, format="ISO8601", errors="coerce")
    return to_ns(t).to_numpy(dtype="datetime64[ns]"), n_off


def _glucose_values(
    raw: pd.Series, low_limit: float, high_limit: float, factor: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return (mg/dL values, censored labels, missing mask, non-numeric mask)."""
    if pd.api.types.is_numeric_dtype(raw):
        num = raw.astype("float64").to_numpy()
        missing = np.isnan(num)
        censored = np.full(len(raw), None, dtype=object)
        return num * factor, censored, missing, np.zeros(len(raw), bool)
    s = raw.astype("string").str.strip()
    missing = (s.isna() | s.str.lower().isin(_MISSING_WORDS)).to_numpy(dtype=bool, na_value=True)
    num = text_numbers(s, decimal_comma=True)
    word = s.str.lower()
    is_low = word.isin(_LOW_WORDS).to_numpy(dtype=bool, na_value=False)
    is_high = word.isin(_HIGH_WORDS).to_numpy(dtype=bool, na_value=False)
    mgdl = num * factor
    mgdl[is_low] = low_limit
    mgdl[is_high] = high_limit
    censored = np.full(len(s), None, dtype=object)
    censored[is_low] = CENSORED_LOW
    censored[is_high] = CENSORED_HIGH
    nonnum = ~missing & np.isnan(num) & ~is_low & ~is_high
    return mgdl, censored, missing, nonnum


def _names(cells: list[str]) -> list[str]:
    """Header cells as column names: stripped, empty ones ``Unnamed: <i>``, repeats ``name.1``."""
    out: list[str] = []
    seen: dict[str, int] = {}
    for i, c in enumerate(cells):
        name = c.strip() or f"Unnamed: {i}"
        k = seen.get(name, 0)
        seen[name] = k + 1
        out.append(name if k == 0 else f"{name}.{k}")
    return out


def _load_table(
    path: str | PathLike, is_parquet: bool
) -> tuple[pd.DataFrame, np.ndarray, str, tuple[str, ...], list[int]]:
    """Load the table; return (frame of non-blank rows, their 1-based first lines, unit word,
    decoding warnings, lines of rows with more non-empty fields than the header).

    CSV is split by the :mod:`csv` module (linear in the file, any field length): the header
    is the first non-blank line; a row with more non-empty fields than the header is not
    kept but counted (its line given), short rows are padded with empty cells."""
    if is_parquet:
        try:
            df = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types for corrupt files
            raise InputError(f"not a readable Parquet file ({exc})", path) from exc
        return df.reset_index(drop=True), np.arange(1, len(df) + 1), "row", (), []
    dec = csv_text(path)
    _, sep = _header_columns(dec.text)
    rec = record_columns(
        dec.text,
        path,
        _names,
        sep,
        skipinitialspace=True,
        error="not a readable CSV table",
        arrow=True,  # every column is read through astype("string"): no Python strings
    )
    header, lines, too_long = rec.header, rec.lines, rec.too_long
    if header is None:
        raise InputError("not a readable CSV table (no header line)", path)
    if len(lines):
        df = text_frame(rec.columns, header)
    else:
        df = pd.DataFrame(columns=header)
    return df, np.asarray(lines, dtype=int), "line", dec.warnings, too_long


def read_generic(
    path: str | PathLike,
    subject: str | None = None,
    units: str | None = None,
    time_column: str | None = None,
    glucose_column: str | None = None,
    subject_column: str | None = None,
    time_format: str | None = None,
    low_limit: float = 40.0,
    high_limit: float = 400.0,
) -> Recording:
    """Read a CSV or Parquet table of CGM readings with named columns.

    Parameters
    ----------
    path : str or PathLike
        A CSV (``,``, ``;`` or tab separated) or Parquet file (sniffed by its ``PAR1`` magic).
    subject : str, optional
        Subject id when the file has no subject column (or for its empty cells); defaults to
        :data:`~soleus_analysis.core.schema.DEFAULT_SUBJECT`. A subject column, when present, wins.
    units : {"mg/dL", "mmol/L"}, optional
        Glucose units. Required when the glucose column's name does not state them; must agree
        with the name when it does.
    time_column, glucose_column, subject_column : str, optional
        Column names to use instead of recognising them by name.
    time_format : str, optional
        ``strftime`` format of the time column (e.g. ``"%d/%m/%Y %H:%M"``); ISO 8601 otherwise.
        A trailing UTC offset is removed first, keeping the wall-clock time as written.
    low_limit, high_limit : float
        mg/dL stored for cells reading ``Low``/``LO`` or ``High``/``HI`` (flagged censored).

    Returns
    -------
    Recording
        Readings in mg/dL with local wall-clock time; no events.

    Raises
    ------
    InputError
        Missing time or glucose column, units unknown, or a time column that cannot be parsed.
    """
    is_parquet = read_head(path, 4) == b"PAR1"
    df, where, unit, notes, too_long = _load_table(path, is_parquet)
    cols = [str(c) for c in df.columns]
    prov = Provenance(path=str(path), format=FORMAT)
    prov.warnings.extend(notes)

    tcol = _find(cols, _TIME_NAMES, "time column", path, time_column)
    gcol = _find(cols, _GLUCOSE_NAMES, "glucose column", path, glucose_column)
    scol = _find(cols, _SUBJECT_NAMES, "subject column", path, subject_column)
    for col, what, opt in ((tcol, "time", "time_column"), (gcol, "glucose", "glucose_column")):
        if col is None:
            raise InputError(
                f"missing required {what} column; expected one named like "
                f"{', '.join((_TIME_NAMES if what == 'time' else _GLUCOSE_NAMES)[:5])} "
                f"(or pass {opt}=...); columns are: {column_list(cols, _known(cols))}",
                path,
                1 if unit == "line" else None,
            )

    named = units_from_name(gcol)
    wanted = None
    if units is not None:
        wanted = units_from_name(units)
        if wanted == "":
            raise InputError(f'units={units!r} not understood; use "mg/dL" or "mmol/L"', path)
    if named and wanted and named != wanted:
        raise InputError(
            f"column {gcol!r} says {named} but units={units!r} was passed; remove one", path
        )
    unit_name = named or wanted
    if not unit_name:
        raise InputError(
            f'glucose column {gcol!r} does not state its units; pass units="mg/dL" or '
            f'units="mmol/L" (command line: --units)',
            path,
        )
    prov.units = unit_name
    factor = MGDL_PER_MMOL if unit_name == "mmol/L" else 1.0

    prov.rows_read = len(df) + len(too_long)
    if len(df) == 0 and too_long:
        raise InputError(
            "every data row has more fields than the header; expected one field per column",
            path,
            too_long[0],
        )
    if len(df) == 0:
        raise InputError("a header but no data rows; expected at least one reading", path)
    warn_dropped(prov, "more fields than the header", too_long)

    times, n_off = _parse_times(df[tcol], time_format)
    if n_off:
        prov.warn(
            f"{n_off} timestamps carry a UTC offset; the wall-clock time as written was kept "
            "and the offset dropped"
        )
    bad_t = times.isna().to_numpy()
    if bad_t.mean() > 0.5 and time_format is None:
        raise InputError(
            f"column {tcol!r}: {int(bad_t.sum())} of {len(df)} timestamps are not ISO 8601 "
            f"(first: {df[tcol].iloc[int(np.argmax(bad_t))]!r}); pass time_format=...",
            path,
        )
    mgdl, censored, missing, nonnum = _glucose_values(df[gcol], low_limit, high_limit, factor)
    finite = np.isfinite(mgdl)
    far = (finite & ~missing & ((mgdl < PLAUSIBLE_MGDL[0]) | (mgdl > PLAUSIBLE_MGDL[1]))) | (
        ~missing & ~nonnum & ~finite
    )

    ok = ~(bad_t | missing | nonnum | far)
    when = np.where(ok, implausible(times=times), None)
    vals = mgdl[ok & (censored == None)]  # noqa: E711
    if len(vals) >= 10:
        med = float(np.median(vals))
        if unit_name == "mg/dL" and med < 30:
            raise InputError(
                f"glucose values (median {med:g}) look like mmol/L, but units are mg/dL", path
            )
        if unit_name == "mmol/L" and med > 35 * MGDL_PER_MMOL:
            raise InputError(
                f"glucose values (median {med / MGDL_PER_MMOL:g}) look like mg/dL, "
                "but units are mmol/L",
                path,
            )

    glucose_text = df[gcol].astype("string").to_numpy()
    warn_dropped(
        prov, "unparseable timestamp", where[bad_t], list(df[tcol].astype(str)[bad_t]), unit=unit
    )
    ok &= drop_implausible(prov, when, where, unit=unit)
    m = ~bad_t & missing
    warn_dropped(prov, "missing glucose", where[m], unit=unit)
    m = ~bad_t & nonnum
    warn_dropped(
        prov, "non-numeric glucose", where[m], [str(v) for v in glucose_text[m]], unit=unit
    )
    m = ~bad_t & ~missing & ~nonnum & far
    warn_dropped(
        prov, "implausible glucose", where[m], [str(v) for v in glucose_text[m]], unit=unit
    )

    if scol is not None:
        cells = df[scol].astype("string").str.strip()
        default = subject or DEFAULT_SUBJECT
        subj = cells.where(cells.notna() & (cells != ""), default).astype(object).to_numpy()
    else:
        subj = np.full(len(df), subject or DEFAULT_SUBJECT, dtype=object)
    out = pd.DataFrame(
        {
            "subject": subj[ok],
            "time": times.to_numpy()[ok],
            "glucose_mgdl": mgdl[ok],
            "censored": censored[ok],
            "source": FORMAT,
        }
    )
    dup = out.duplicated(["subject", "time", "glucose_mgdl", "censored"]).to_numpy()
    warn_dropped(prov, "duplicate", where[ok][dup], unit=unit)
    out = out.loc[~dup]
    out = out.sort_values(["subject", "time"], kind="stable").reset_index(drop=True)
    prov.rows_kept = len(out)
    if prov.rows_kept == 0:
        prov.warn("no readings kept from this file")
    prov.metadata = {"columns": {"time": tcol, "glucose": gcol, "subject": scol}}
    return Recording(readings=out, provenance=prov.check())


SNIFFERS = [(FORMAT, sniff_generic)]
READERS = {FORMAT: read_generic}

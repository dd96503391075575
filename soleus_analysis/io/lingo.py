"""Abbott Lingo CSV export -> :class:`~soleus_analysis.core.recording.Recording` (readings only).

Layout (see ``docs/formats.md``): one header row, then one reading a row, newest first::

    Time of Glucose Reading [T=(local time) +/- (time zone offset)], Measurement(mmol/L)
    2026-06-10T17:30+01:00,5.4

Rules this reader follows:

- The header is recognised by its first cell, ``Time of Glucose Reading [T=...``; a space after
  the comma, a UTF-8 BOM and extra columns are accepted (extra columns are not read).
- Units come from the measurement column's name, ``Measurement(mmol/L)`` or
  ``Measurement(mg/dL)``; mmol/L values are converted with
  :data:`~soleus_analysis.core.schema.MGDL_PER_MMOL` and keep ``device_units`` ``"mmol/L"``.
- Each time is the local wall-clock time followed by its UTC offset (``+01:00``, ``-0800``,
  ``Z``): the local time is kept as ``time`` and the instant as ``utc_time_s`` (seconds since
  1970), so the clean stage orders readings across a daylight-saving change. A time written
  without an offset keeps ``utc_time_s`` missing (one warning says how many).
- Readings are returned oldest first (by instant). Every data row is kept or dropped with its
  line: ``"unparseable timestamp"``, ``"missing measurement"``, ``"non-numeric measurement"``,
  ``"implausible glucose"``.
"""

from __future__ import annotations

import re
from os import PathLike

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..core.errors import InputError
from ..core.recording import Recording
from ..core.schema import DEFAULT_SUBJECT, DEVICE_UNITS, MGDL_PER_MMOL, PLAUSIBLE_MGDL
from .base import RowAccount, check_input_file, implausible, read_table, to_float, to_ns

FORMAT = "abbott_lingo"

#: The first header cell, lower case: what the sniffer and reader recognise the export by.
HEADER_START = "time of glucose reading [t="

_STAMP = re.compile(
    r"^(?P<local>\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*"
    r"(?P<off>Z|z|[+-]\d{2}(?::?\d{2})?)?$"
)


def sniff(text: str, raw: bytes) -> bool:
    """True when the first non-blank line is the Lingo header (``Time of Glucose Reading [T=``)."""
    for line in text.splitlines():
        if line.strip():
            return line.strip().strip('"').lower().startswith(HEADER_START)
    return False


def offset_minutes(offsets: pd.Series) -> np.ndarray:
    """Minutes east of UTC of offset texts ``+01:00``, ``-0800``, ``+05``, ``Z`` (NaN if none).

    Parameters
    ----------
    offsets : pandas.Series of str or None
        The offset part of each time stamp.

    Returns
    -------
    numpy.ndarray of float
        Offset in minutes (NaN where the stamp gave none).
    """
    arr = pc.utf8_upper(
        pa.array(offsets.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    )
    parts = pc.extract_regex(arr, r"^(?P<sign>[+-])(?P<h>\d{2}):?(?P<m>\d{2})?$")
    hours, mins = (
        pd.to_numeric(parts.field(k).to_numpy(zero_copy_only=False), errors="coerce")
        for k in ("h", "m")
    )
    sign = np.where(pc.equal(parts.field("sign"), "-").to_numpy(zero_copy_only=False), -1.0, 1.0)
    out = np.asarray(sign * (hours * 60 + np.nan_to_num(mins, nan=0.0)), dtype=np.float64)
    out[pc.fill_null(pc.equal(arr, "Z"), False).to_numpy(zero_copy_only=False)] = 0.0
    return out


def parse_stamps(text: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Local wall-clock times and instants of ISO stamps with an optional trailing offset.

    Parameters
    ----------
    text : pandas.Series of str
        Stamps such as ``2026-06-10T17:30+01:00``.

    Returns
    -------
    local : pandas.Series of datetime64[ns]
        The wall-clock time as written (NaT where the text is no such stamp).
    utc_s : numpy.ndarray of float
        The instant, seconds since 1970 (NaN where no offset was written or the stamp is bad).
    """
    arr = pc.utf8_trim_whitespace(pa.array(text.to_numpy(dtype=object), type=pa.string()))
    m = pc.extract_regex(arr, _STAMP.pattern)
    local_text = pd.Series(m.field("local").to_numpy(zero_copy_only=False), index=text.index)
    local_text = local_text.where(local_text != "")
    local = to_ns(
        pd.to_datetime(
            local_text.str.replace("T", " ", regex=False), format="ISO8601", errors="coerce"
        )
    )
    off = offset_minutes(pd.Series(m.field("off").to_numpy(zero_copy_only=False)))
    secs = local.to_numpy(dtype="datetime64[ns]").view("i8") / 1e9
    utc = np.where(local.isna().to_numpy(), np.nan, secs - 60.0 * off)
    return local, utc


def _units(columns: list[str], path, line: int) -> tuple[str, str]:
    for col in columns:
        if col.startswith("measurement"):
            if col.endswith("mmol_l"):
                return col, "mmol/L"
            if col.endswith("mg_dl"):
                return col, "mg/dL"
            raise InputError(
                "unknown units in the measurement column; expected 'Measurement(mmol/L)' or "
                "'Measurement(mg/dL)'",
                path,
                line,
            )
    raise InputError(
        "no measurement column; expected 'Measurement(mmol/L)' or 'Measurement(mg/dL)' after "
        "the time column",
        path,
        line,
    )


def read_lingo(path: str | PathLike, subject: str | None = None) -> Recording:
    """Read an Abbott Lingo CSV export (mmol/L or mg/dL, times with UTC offsets).

    Parameters
    ----------
    path : str or PathLike
        The CSV file exported from the Lingo app.
    subject : str, optional
        Subject id; defaults to :data:`~soleus_analysis.core.schema.DEFAULT_SUBJECT`.

    Returns
    -------
    Recording
        ``readings``: glucose in mg/dL, ``time`` the local wall-clock time, ``utc_time_s`` the
        instant (s since 1970) and ``device_units`` as reported; oldest first. No events.

    Raises
    ------
    InputError
        No Lingo header, unknown units, or no data rows.
    """
    p = check_input_file(path)
    table, header_line, prov = read_table(p, FORMAT)
    cols = [c for c in table.columns if c != "_line"]
    if not cols or not cols[0].startswith("time_of_glucose_reading"):
        raise InputError(
            "not an Abbott Lingo export; expected the header 'Time of Glucose Reading "
            "[T=(local time) +/- (time zone offset)], Measurement(mmol/L)'",
            p,
            header_line,
        )
    value_col, units = _units(cols, p, header_line)
    prov.units = units
    rows = RowAccount(prov, table["_line"].to_numpy())
    local, utc = parse_stamps(table[cols[0]])
    raw = table[value_col].to_numpy(dtype=object)
    value = to_float(raw, decimal_comma=units == "mmol/L")
    mgdl = value * MGDL_PER_MMOL if units == "mmol/L" else value
    rows.drop(
        local.isna().to_numpy(), "unparseable timestamp", "not a time like 2026-06-10T17:30+01:00"
    )
    when = implausible(times=local)
    rows.drop(when != None, when, "time out of the plausible range")  # noqa: E711
    blank = raw == ""
    rows.drop(blank, "missing measurement")
    rows.drop(np.isnan(value), "non-numeric measurement")
    far = (mgdl < PLAUSIBLE_MGDL[0]) | (mgdl > PLAUSIBLE_MGDL[1])
    lo, hi = PLAUSIBLE_MGDL
    rows.drop(far, "implausible glucose", f"outside {lo:g}-{hi:g} mg/dL")
    rows.keep(rows.open)
    ok = rows.commit()
    no_offset = ok & np.isnan(utc)
    if no_offset.any():
        prov.warn(f"{int(no_offset.sum())} times carry no UTC offset; their utc_time_s is missing")
    readings = pd.DataFrame(
        {
            "subject": subject or DEFAULT_SUBJECT,
            "time": local.to_numpy()[ok],
            "glucose_mgdl": mgdl[ok],
            "censored": None,
            "source": FORMAT,
            DEVICE_UNITS: units,
            "utc_time_s": utc[ok],
        }
    )
    secs = readings["time"].to_numpy(dtype="datetime64[ns]").view("i8") / 1e9
    key = np.where(np.isnan(utc[ok]), secs, utc[ok])  # the instant where known
    readings = readings.iloc[np.argsort(key, kind="stable")].reset_index(drop=True)
    prov.rows_kept = int(rows.kept.sum())
    return Recording(readings=readings, provenance=prov.check())


SNIFFERS = [(FORMAT, sniff)]
READERS = {FORMAT: read_lingo}

"""Glooko exports: the zip of CSVs Glooko writes, or one of its CSVs (``cgm_data_1.csv``, ...).

Layout (see ``docs/formats.md``): every CSV starts with a title line holding the person's name
and the export's date range, then its header, then rows, newest first::

    Name:<name>,Date Range:2023-07-20 - 2023-08-02
    Timestamp,CGM Glucose Value (mg/dl),Serial Number
    2023-08-02 15:40,159.0,<device>

Rules this reader follows:

- The title line is personal data: it goes to ``provenance.metadata`` only and is never quoted
  in a message; so do the ``Serial Number`` cells.
- Header sets read (English and German exports; the header names the units):
  ``cgm_data``: ``Timestamp``/``Zeitstempel``, ``CGM Glucose Value (mg/dl|mmol/l)``/
  ``CGM-Glukosewert (mg/dl|mmol/l)``; ``bolus_data``: ``Insulin Delivered (U)``/
  ``Abgegebenes Insulin (E)`` (an insulin event) and ``Carbs Input (g)``/
  ``Kohlenhydrataufnahme (g)`` (a meal where > 0). Decimal commas (``"100,0"``) are accepted.
- Times are local wall-clock times: ``2023-08-02 15:40`` (seconds optional), ``17.08.2026 10:00``
  (day first), or ``29/03/2026 09:17`` whose day/month order is taken from the file (a day > 12)
  or from ``date_order=`` ("dmy"/"mdy"), never guessed.
- In the zip, every CSV is accounted for: the rows of the files read above are kept or dropped
  with their line; the rows of the other files (basal, alarms, fingerstick BG, daily insulin
  totals, ...) are counted as dropped ``"<file kind> file (not read)"``. Warnings name the file
  inside the zip. The zip is read in memory, never extracted to disk.
"""

from __future__ import annotations

import re
import zipfile
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.errors import InputError
from ..core.recording import Provenance, Recording
from ..core.schema import DEFAULT_SUBJECT, DEVICE_UNITS, MGDL_PER_MMOL, PLAUSIBLE_MGDL
from .base import (
    ZIP_ERRORS,
    RowAccount,
    check_input_file,
    csv_table,
    csv_text,
    implausible,
    norm_name,
    read_head,
    split_line,
    to_float,
    to_ns,
    warn_decoding,
    zip_csv_members,
    zip_member_text,
)

CSV_FORMAT = "glooko_csv"
ZIP_FORMAT = "glooko_zip"

_TIME_NAMES = ("timestamp", "zeitstempel")
_CGM_PREFIXES = ("cgm_glucose_value", "cgm_glukosewert")
_INSULIN_NAMES = ("insulin_delivered_u", "abgegebenes_insulin_e")
_CARB_NAMES = ("carbs_input_g", "kohlenhydrataufnahme_g")
_SERIAL_NAMES = ("serial_number", "seriennummer")
#: Columns only basal files have (``Duration (minutes)``, ``Rate``, ``Percentage (%)``).
_BASAL_PREFIXES = ("duration", "dauer", "rate", "percentage", "prozentsatz")
#: Names of the CSVs in a Glooko zip (``cgm_data_1.csv``, ``Insulin data/bolus_data_1.csv``).
_MEMBER = re.compile(rb"[a-z_]+_data(?:_\d+)?\.csv", re.IGNORECASE)


# ---------------------------------------------------------------------------------- sniffing
def _head_lines(text: str, n: int = 3) -> list[str]:
    return [ln for ln in text.splitlines() if ln.strip()][:n]


def _is_header(line: str) -> bool:
    cells = [norm_name(c) for c in split_line(line)[0]]
    if not cells or cells[0] not in _TIME_NAMES:
        return False
    return any(c.startswith(_CGM_PREFIXES) or c in _INSULIN_NAMES for c in cells)


def sniff_csv(text: str, raw: bytes) -> bool:
    """True for a Glooko CGM or bolus CSV: an optional ``Name:`` title line, then its header."""
    lines = _head_lines(text)
    if lines and lines[0].lstrip().lower().startswith("name") and len(lines) > 1:
        return _is_header(lines[1])
    return bool(lines) and _is_header(lines[0])


def sniff_zip(text: str, raw: bytes) -> bool:
    """True for a zip whose first CSV entry is named like a Glooko CSV (``cgm_data_1.csv``, ...).

    The entries' local headers in the first bytes are read in order, so a folder entry
    (``Insulin data/``) or a ``__MACOSX`` entry before the first CSV does not hide it.
    """
    if not raw.startswith(b"PK\x03\x04"):
        return False
    at = 0
    while at >= 0 and at + 30 <= len(raw):
        n = int.from_bytes(raw[at + 26 : at + 28], "little")
        name = raw[at + 30 : at + 30 + n]
        if name.lower().endswith(b".csv") and not name.startswith(b"__MACOSX"):
            return _MEMBER.fullmatch(name.rsplit(b"/", 1)[-1]) is not None
        at = raw.find(b"PK\x03\x04", at + 30 + n)
    return False


# ---------------------------------------------------------------------------------- times
def parse_times(stamps: pd.Series, date_order: str | None, path, line: int) -> pd.Series:
    """Local times of Glooko time stamps (ISO, ``dd.mm.yyyy`` or ``dd/mm`` vs ``mm/dd``).

    Parameters
    ----------
    stamps : pandas.Series of str
        The ``Timestamp`` cells.
    date_order : {"dmy", "mdy"}, optional
        Day/month order of slash dates when the file does not decide it.
    path, line
        The file and its header line, for the message when the order cannot be decided.

    Returns
    -------
    pandas.Series of datetime64[ns]
        NaT where a cell is no time stamp.
    """
    s = stamps.astype(str).str.strip()
    out = to_ns(pd.to_datetime(s, format="ISO8601", errors="coerce"))
    dotted = out.isna() & s.str.match(r"^\d{1,2}\.\d{1,2}\.\d{4}")
    if dotted.any():
        out[dotted] = to_ns(pd.to_datetime(s[dotted], format="%d.%m.%Y %H:%M", errors="coerce"))
        again = dotted & out.isna()
        out[again] = to_ns(pd.to_datetime(s[again], format="%d.%m.%Y %H:%M:%S", errors="coerce"))
    slash = out.isna() & s.str.match(r"^\d{1,2}/\d{1,2}/\d{4}")
    if slash.any():
        parts = s[slash].str.extract(r"^(\d{1,2})/(\d{1,2})/")
        first, second = (pd.to_numeric(parts[i]) for i in (0, 1))
        order = date_order
        if order is None:
            if (first > 12).any() and (second > 12).any():
                raise InputError(
                    "slash dates with both fields above 12 in different rows; expected one "
                    "day/month order",
                    path,
                    line,
                )
            if (first > 12).any() or (second > 12).any():
                order = "dmy" if (first > 12).any() else "mdy"
            else:
                raise InputError(
                    "day/month order of the dates cannot be told (every field <= 12); pass "
                    "date_order='dmy' or 'mdy' (command line: --date-order)",
                    path,
                    line,
                )
        fmt = "%d/%m/%Y" if order == "dmy" else "%m/%d/%Y"
        for tail in (" %H:%M", " %H:%M:%S", " %I:%M %p"):
            todo = slash & out.isna()
            out[todo] = to_ns(pd.to_datetime(s[todo], format=fmt + tail, errors="coerce"))
    return out


# ---------------------------------------------------------------------------------- one CSV
def _split_title(text: str) -> tuple[str, dict]:
    """The CSV below the title line, and the title's fields (personal data: metadata only)."""
    lines = text.splitlines(keepends=True)
    i = next((k for k, ln in enumerate(lines) if ln.strip()), 0)
    if i < len(lines) and not _is_header(lines[i]) and lines[i].lstrip().lower().startswith("name"):
        fields = {}
        for cell in split_line(lines[i])[0]:
            key, _, value = cell.partition(":")
            if value.strip():
                fields[norm_name(key)] = value.strip()
        # keep the line count: the title becomes a blank line, which csv_table skips
        return "\n" * (i + 1) + "".join(lines[i + 1 :]), fields
    return text, {}


def _pick(columns, names) -> str | None:
    return next((c for c in columns if c in names), None)


def _kind(columns: list[str]) -> str:
    if any(c.startswith(_CGM_PREFIXES) for c in columns):
        return "cgm"
    if any(c.startswith(_BASAL_PREFIXES) for c in columns):
        return "other"  # basal_data: delivered insulin over a duration, not a bolus
    if _pick(columns, _INSULIN_NAMES):
        return "bolus"
    return "other"


def _read_cgm(table, rows: RowAccount, times, prov: Provenance, subject: str) -> pd.DataFrame:
    col = next(c for c in table.columns if c.startswith(_CGM_PREFIXES))
    units = "mmol/L" if col.endswith("mmol_l") else "mg/dL" if col.endswith("mg_dl") else ""
    if not units:
        raise InputError("unknown units in the CGM column; expected (mg/dl) or (mmol/l)", prov.path)
    prov.units = "+".join(sorted({u for u in (prov.units, units) if u}))
    raw = table[col].to_numpy(dtype=object)
    val = to_float(raw, decimal_comma=True)
    mgdl = val * MGDL_PER_MMOL if units == "mmol/L" else val
    rows.drop(raw == "", "missing glucose")
    rows.drop(np.isnan(val), "non-numeric glucose")
    lo, hi = PLAUSIBLE_MGDL
    rows.drop((mgdl < lo) | (mgdl > hi), "implausible glucose", f"outside {lo:g}-{hi:g} mg/dL")
    ok = rows.open.copy()
    rows.keep(ok)
    return pd.DataFrame(
        {
            "subject": subject,
            "time": times.to_numpy()[ok],
            "glucose_mgdl": mgdl[ok],
            "censored": None,
            "source": CSV_FORMAT,
            DEVICE_UNITS: units,
        }
    )


def _read_bolus(table, rows: RowAccount, times, subject: str) -> pd.DataFrame:
    insulin = to_float(table[_pick(table.columns, _INSULIN_NAMES)].to_numpy(dtype=object), True)
    carb_col = _pick(table.columns, _CARB_NAMES)
    carbs = (
        to_float(table[carb_col].to_numpy(dtype=object), True)
        if carb_col
        else np.full(len(table), np.nan)
    )
    bad = np.isnan(insulin) | (implausible(insulin_u=insulin, carbs_g=carbs) != None)  # noqa: E711
    rows.drop(bad, "bad insulin or carbs amount", "expected numbers in the plausible ranges")
    rows.drop(rows.open & ~(insulin > 0) & ~(carbs > 0), "no insulin delivered and no carbs")
    ok = rows.open.copy()
    rows.keep(ok)
    t = times.to_numpy()
    meal, dose = ok & (carbs > 0), ok & (insulin > 0)
    parts = [
        pd.DataFrame({"time": t[meal], "kind": "meal", "carbs_g": carbs[meal]}),
        pd.DataFrame({"time": t[dose], "kind": "insulin", "insulin_u": insulin[dose]}),
    ]
    ev = pd.concat(parts, ignore_index=True)
    return ev.assign(subject=subject, source=CSV_FORMAT, label="bolus", intensity=None)


def _read_member(
    text: str,
    path: Path,
    name: str,
    prov: Provenance,
    date_order: str | None,
    subject: str,
    in_zip: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """Readings and events of one Glooko CSV (its rows accounted in ``prov``) and its kind."""
    body, title = _split_title(text)
    if title:
        prov.metadata.setdefault("title", []).append(title)
    empty = pd.DataFrame()
    try:
        table, header_line = csv_table(body, path, prov)
    except InputError as err:
        if in_zip and err.reason == "a header but no data rows":
            return empty, empty, "empty"  # a file of the zip with nothing in that period
        raise
    cols = [c for c in table.columns if c != "_line"]
    kind = _kind(cols)
    rows = RowAccount(prov, table["_line"].to_numpy())
    if kind == "other":
        label = re.sub(r"_\d+$", "", Path(name).stem) or "unknown"
        rows.drop(np.ones(rows.n, dtype=bool), f"{label} file (not read)", warn=False)
        rows.commit()
        return empty, empty, kind
    tcol = _pick(cols, _TIME_NAMES)
    if tcol is None:
        raise InputError(
            "no Timestamp column; expected 'Timestamp' or 'Zeitstempel'", path, header_line
        )
    serial = _pick(cols, _SERIAL_NAMES)
    if serial:
        devices = sorted(set(table[serial]) - {""})
        prov.metadata["devices"] = sorted(set(prov.metadata.get("devices", [])) | set(devices))
    times = parse_times(table[tcol], date_order, path, header_line)
    rows.drop(times.isna().to_numpy(), "unparseable timestamp", "expected e.g. 2023-08-02 15:40")
    when = implausible(times=times)
    rows.drop(when != None, when, "time out of the plausible range")  # noqa: E711
    if kind == "cgm":
        readings, events = _read_cgm(table, rows, times, prov, subject), empty
    else:
        readings, events = empty, _read_bolus(table, rows, times, subject)
    rows.commit()
    return readings, events, kind


def _absorb(total: Provenance, part: Provenance, name: str) -> None:
    """Add one zip member's row account to the zip's, its warnings prefixed by its name."""
    total.rows_read += part.rows_read
    for reason, n in part.rows_dropped.items():
        total.drop(reason, n)
    total.warnings.extend(f"{name}: {w}" for w in part.warnings)
    for key, value in part.metadata.items():
        if key == "devices":
            total.metadata["devices"] = sorted(set(total.metadata.get("devices", [])) | set(value))
        else:
            total.metadata.setdefault(key, []).extend(value)
    if part.units:
        total.units = "+".join(sorted({u for u in (total.units, part.units) if u}))


def _members(path: Path):
    """``(name, decoded text)`` of every CSV in a Glooko zip, read in memory."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zip_csv_members(zf)
            if not infos:
                raise InputError("the zip holds no CSV file; expected Glooko's export zip", path)
            for info in infos:
                dec = zip_member_text(zf, info, path, "Glooko's CSV")
                if dec.text.strip():
                    yield info.filename, dec
    except InputError:  # an InputError is a ValueError: never re-worded as a zip error
        raise
    except ZIP_ERRORS as err:
        raise InputError(
            f"not a readable zip ({err}); expected Glooko's export zip", path
        ) from None


def _finish(prov: Provenance, readings: list, events: list) -> Recording:
    r = pd.concat(readings, ignore_index=True) if readings else pd.DataFrame()
    e = pd.concat(events, ignore_index=True) if events else pd.DataFrame()
    if len(r):
        r = r.sort_values("time", kind="stable").reset_index(drop=True)  # files are newest first
    if len(e):
        e = e.sort_values(["time", "kind"], kind="stable").reset_index(drop=True)
    prov.rows_kept = prov.rows_read - sum(prov.rows_dropped.values())
    if not len(r) and not len(e):
        prov.warn("no CGM readings and no boluses in this export")
    return Recording(readings=r, events=e, provenance=prov.check())


def read_glooko(
    path: str | PathLike, subject: str | None = None, date_order: str | None = None
) -> Recording:
    """Read a Glooko export: its zip, or one ``cgm_data``/``bolus_data`` CSV of it.

    Parameters
    ----------
    path : str or PathLike
        The zip Glooko writes, or a CSV from it.
    subject : str, optional
        Subject id; defaults to :data:`~soleus_analysis.core.schema.DEFAULT_SUBJECT`.
    date_order : {"dmy", "mdy"}, optional
        Day/month order of slash dates (``29/03/2026``) when the file does not decide it.

    Returns
    -------
    Recording
        ``readings`` (mg/dL, local time, ``device_units`` as reported, oldest first) from the
        CGM files; ``events``: insulin (``insulin_u``, U) and meals (``carbs_g``, g) from the
        bolus files. The title line's name and the serial numbers only in
        ``provenance.metadata``.

    Raises
    ------
    InputError
        An unreadable zip, a CSV without a Glooko header, undecidable dates.
    """
    if date_order not in (None, "dmy", "mdy"):
        raise InputError(f"date_order must be 'dmy' or 'mdy', not {date_order!r}", path)
    p = check_input_file(path)
    subj = subject or DEFAULT_SUBJECT
    is_zip = read_head(p, 4) == b"PK\x03\x04"
    readings, events = [], []
    if not is_zip:
        dec = csv_text(p, "a Glooko CSV export")
        prov = Provenance(path=str(p), format=CSV_FORMAT)
        warn_decoding(prov, dec)
        r, e, kind = _read_member(dec.text, p, p.name, prov, date_order, subj)
        if kind == "other":
            raise InputError(
                "a Glooko CSV without CGM values or boluses; give the cgm_data or bolus_data "
                "CSV, or the whole export zip",
                p,
            )
        return _finish(prov, [r], [e])
    prov = Provenance(path=str(p), format=ZIP_FORMAT)
    for name, dec in _members(p):
        part = Provenance(path=str(p), format=CSV_FORMAT)
        warn_decoding(part, dec)
        r, e, _ = _read_member(dec.text, p, name, part, date_order, subj, in_zip=True)
        _absorb(prov, part, Path(name).name)
        readings += [r] if len(r) else []
        events += [e] if len(e) else []
    for frame in readings + events:
        frame["source"] = ZIP_FORMAT
    return _finish(prov, readings, events)


SNIFFERS = [(ZIP_FORMAT, sniff_zip), (CSV_FORMAT, sniff_csv)]
READERS = {CSV_FORMAT: read_glooko, ZIP_FORMAT: read_glooko}

"""Medtronic iPro2 export (professional CGM, "iPro Data Export File") -> :class:`Recording`.

Layout (``docs/formats.md``, "Medtronic iPro2"; built from public descriptions of the format,
not from one file): UTF-16 (Windows "Unicode", usually with a BOM; any encoding the decoder
takes is accepted), tab-separated, Windows line ends. A preamble of about eleven lines
(``Medtronic Diabetes iPro Data Export File (v1.0.1)``, ``PATIENT INFO``, ``Name<TAB><id>``,
``Report Range``, ``DEVICE INFO``, ..., ``DEVICE DATA``, ``Number of Records``,
``Data Time Range``), then the header::

    Index  Date  Time  Timestamp  Source  Excluded  BG Reading (mmol/L)  Used in Calibration
    ISIG Value  Sensor Glucose (mmol/L)  Sensor Event  Meal  Exercise  Medication  Other
    Raw-Type  Raw-Values

(``mg/dL`` exports name their units so), one row per record. French exports name the columns
``Date``, ``Heure``, ``Horodatage`` and ``Capteur de glycémie (mg/dl)`` or ``Valeur de capteur
(mg/dl)``.

Rules this reader follows:

- The header is the first line (of the first 60) with a date column (``Date``) or a timestamp
  column (``Timestamp``/``Horodatage``) and a sensor-glucose column with its units; units come
  from that column's name only.
- Dates are day first (``21/01/16``, ``21/01/2016``), as the format's descriptions state;
  ``date_order="mdy"`` reads month-first exports, and a file whose dates read month-first
  only (more rows parse so) is read so with a warning. ISO dates are read too. Times
  ``HH:MM:SS`` or ``HH:MM``.
- A row with a sensor glucose value is a reading, unless its ``Excluded`` cell is true
  (``TRUE``/``Yes``/``1``/...), which drops it as ``"excluded in the export"``.
- A row without one becomes events when its ``Meal`` (kind ``meal``; ``carbs_g`` when the cell
  is a number of grams), ``Exercise`` (``exercise``, or ``spu`` when the text names soleus
  pushups), ``Medication`` or ``Other`` (``note``) cell holds something; else it is dropped as
  a meter BG (``BG Reading``), a sensor event, or a row without sensor glucose.
- The preamble (which holds the patient's name or id) goes only into ``provenance.metadata``.
"""

from __future__ import annotations

import re
import unicodedata
from os import PathLike

import numpy as np
import pandas as pd

from ..core.errors import InputError
from ..core.recording import Provenance, Recording
from ..core.schema import DEFAULT_SUBJECT, MGDL_PER_MMOL, PLAUSIBLE_MGDL
from .base import (
    TextRows,
    check_input_file,
    csv_table,
    csv_text,
    find_header,
    implausible,
    split_line,
    to_float,
    to_ns,
    warn_decoding,
)
from .spu_text import spu_mask, spu_minutes

FORMAT = "medtronic_ipro2"

REASON_EXCLUDED = "excluded in the export"
REASON_METER = "meter BG (no sensor glucose)"
REASON_SENSOR_EVENT = "sensor event"
REASON_NO_SG = "no sensor glucose"
REASON_BAD_TIME = "unparseable timestamp"
REASON_BAD_VALUE = "impossible value"

_TRUE = frozenset({"true", "yes", "y", "1", "x", "oui", "vrai"})
# canonical key -> words of its (lower-case, accent-free) column name
_COLUMNS: dict[str, tuple[str, ...]] = {
    "date": ("date",),
    "time": ("time", "heure"),
    "timestamp": ("timestamp", "horodatage"),
    "excluded": ("excluded", "exclu"),
    "isig": ("isig value", "valeur isig"),
    "bg": ("bg reading", "glycemie capillaire", "lecture gly"),
    "sensor_event": ("sensor event", "evenement capteur"),
    "meal": ("meal", "repas"),
    "exercise": ("exercise", "exercice"),
    "medication": ("medication", "medicament"),
    "other": ("other", "autre"),
}
_GLUCOSE_WORDS = ("sensor glucose", "capteur de glycemie", "valeur de capteur", "glycemie capteur")
_UNITS = re.compile(r"\((mg/dl|mmol/l)\)")
_DATE_FORMATS = {
    "dmy": ("%d/%m/%y", "%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y", "%Y-%m-%d"),
    "mdy": ("%m/%d/%y", "%m/%d/%Y", "%Y-%m-%d"),
}
_TIME_FORMATS = ("%H:%M:%S", "%H:%M")


def _norm(text: str) -> str:
    """Lower-case, accent-free, single-spaced header cell."""
    t = unicodedata.normalize("NFKD", str(text).replace("\ufeff", ""))
    t = "".join(ch for ch in t if not unicodedata.combining(ch))
    return " ".join(t.strip().lower().split())


def _glucose_column(cells: list[str]) -> int | None:
    for i, c in enumerate(cells):
        n = _norm(c)
        if any(w in n for w in _GLUCOSE_WORDS) and _UNITS.search(n):
            return i
    return None


def _is_header_line(line: str) -> bool:
    cells = split_line(line, "\t")[0]
    names = {_norm(c) for c in cells}
    timed = "date" in names or bool(names & {"timestamp", "horodatage"})
    return len(cells) > 3 and timed and _glucose_column(cells) is not None


def sniff(text: str, raw: bytes) -> bool:
    """True for an iPro export: its title line, or a tab-separated header of its columns."""
    lines = text.split("\n")[:60]
    if any("ipro data export" in ln.lower() for ln in lines[:5]):
        return True
    return any("\t" in ln and _is_header_line(ln) for ln in lines)


def _map_columns(cells: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for i, c in enumerate(cells):
        n = _norm(c)
        for key, words in _COLUMNS.items():
            if key not in out and (n in words or any(n.startswith(w + " ") for w in words)):
                out[key] = i
                break
    g = _glucose_column(cells)
    if g is not None:
        out["glucose"] = g
    return out


def _times(date: pd.Series, clock: pd.Series, order: str) -> pd.Series:
    """Local times from date and clock cells (or whole timestamps when ``clock`` is empty)."""
    stamp = (date.str.strip() + " " + clock.str.strip()).str.strip()
    out = pd.Series(pd.NaT, index=date.index, dtype="datetime64[ns]")
    for dfmt in _DATE_FORMATS[order]:
        for tfmt in _TIME_FORMATS:
            todo = out.isna() & stamp.ne("")
            if not todo.any():
                return out
            got = pd.to_datetime(stamp[todo], format=f"{dfmt} {tfmt}", errors="coerce")
            out[todo] = to_ns(got).to_numpy()
    return out


def _all_times(rows: TextRows, index: pd.Index, order: str) -> pd.Series:
    """Times of every row: Date and Time, else the Timestamp."""
    times = pd.Series(pd.NaT, index=index, dtype="datetime64[ns]")
    if rows.has("date") and rows.has("time"):
        times = _times(rows.col("date"), rows.col("time"), order)
    if rows.has("timestamp"):  # the Timestamp where Date and Time do not give the time
        none = pd.Series("", index=index, dtype=object)
        times = times.where(times.notna(), _times(rows.col("timestamp"), none, order))
    return times


def _preamble(lines: list[str]) -> dict[str, object]:
    """The preamble's labelled lines (``Label<TAB>value...``) and section titles."""
    meta: dict[str, object] = {}
    for ln in lines:
        cells = [c.strip() for c in ln.split("\t") if c.strip()]
        if len(cells) >= 2:
            meta[cells[0]] = cells[1] if len(cells) == 2 else cells[1:]
        elif cells and "export file" in cells[0].lower():
            meta["title"] = cells[0]
    return meta


def read_ipro2(
    path: str | PathLike, subject: str | None = None, date_order: str | None = None
) -> Recording:
    """Read a Medtronic iPro2 export (UTF-16, tab-separated; mmol/L or mg/dL).

    Parameters
    ----------
    path : str or PathLike
        The export (``.csv``/``.txt``/``.tsv``) saved from CareLink iPro.
    subject : str, optional
        Subject id; defaults to :data:`~soleus_analysis.core.schema.DEFAULT_SUBJECT` (never
        the file name, nor the preamble's name).
    date_order : {"dmy", "mdy"}, optional
        Day/month order of the dates; day first (the format's) when omitted.

    Returns
    -------
    Recording
        ``readings``: sensor glucose in mg/dL at local time, with ``isig`` (the sensor current,
        nA) when the file has it; ``events``: meals, exercise (or SPU) and notes;
        ``provenance``: every row kept or dropped with its reason; the preamble in
        ``metadata["preamble"]`` only.

    Raises
    ------
    InputError
        No header row, no units, no date or timestamp column, or no data rows.
    """
    if date_order not in (None, "dmy", "mdy"):
        raise InputError(f"date_order must be 'dmy' or 'mdy', not {date_order!r}", path)
    p = check_input_file(path)
    head = find_header(
        p,
        _is_header_line,
        what="a Medtronic iPro2 export",
        missing="no iPro2 header row found; expected a tab-separated line with 'Date', 'Time' "
        "and 'Sensor Glucose (mmol/L)' (or '(mg/dL)')",
        max_lines=60,
        delimiter="\t",
    )
    cols = _map_columns(head.fields)
    if not ({"date", "time"} <= set(cols) or "timestamp" in cols):
        raise InputError("no 'Date' and 'Time' columns, nor a 'Timestamp' column", p, head.line)
    units = "mg/dL" if "mg/dl" in _norm(head.fields[cols["glucose"]]) else "mmol/L"
    prov = Provenance(path=str(p), format=FORMAT, units=units)
    warn_decoding(prov, head)
    prov.metadata["preamble"] = _preamble(head.head[: head.index])
    text = csv_text(p).text
    start = sum(len(ln) + 1 for ln in head.head[: head.index])
    table, _ = csv_table(text[start:], p, prov)
    lines = table["_line"].to_numpy() + head.index
    names = [c for c in table.columns if c != "_line"]
    rows = TextRows(table, {k: names[i] for k, i in cols.items() if i < len(names)}, lines, prov)
    every = np.ones(rows.n, dtype=bool)

    times = _all_times(rows, table.index, date_order or "dmy")
    if date_order is None and times.isna().any():
        # day first is the format's order; a file whose dates only read month first says so
        mdy = _all_times(rows, table.index, "mdy")
        if mdy.notna().sum() > times.notna().sum():
            prov.warn(
                f"{int(times.isna().sum())} dates are not day-first; read month-first "
                "(pass date_order='dmy' or 'mdy' to choose)"
            )
            times = mdy
    rows.drop(times.isna().to_numpy(), REASON_BAD_TIME, "unparseable Date/Time")
    when = implausible(times=times)
    rows.drop(when != None, when, "time out of the plausible range")  # noqa: E711

    sg_text = rows.col("glucose").to_numpy()
    sg = to_float(sg_text, decimal_comma=True) * (MGDL_PER_MMOL if units == "mmol/L" else 1.0)
    has_sg = sg_text != ""
    rows.drop(has_sg & np.isnan(sg), REASON_BAD_VALUE, "sensor glucose is not a number")
    far = has_sg & ~((sg >= PLAUSIBLE_MGDL[0]) & (sg <= PLAUSIBLE_MGDL[1]))
    rows.drop(far, REASON_BAD_VALUE, "sensor glucose outside the plausible range")
    excluded = pd.Series(rows.col("excluded")).str.lower().isin(_TRUE).to_numpy()
    rows.drop(has_sg & excluded, REASON_EXCLUDED, warn=False)
    is_reading = has_sg & rows.open
    rows.keep(is_reading)
    readings = pd.DataFrame(
        {
            "subject": subject or DEFAULT_SUBJECT,
            "time": times.to_numpy()[is_reading],
            "glucose_mgdl": sg[is_reading],
            "censored": None,
            "source": FORMAT,
        }
    )
    if rows.has("isig"):
        readings["isig"] = to_float(rows.col("isig").to_numpy())[is_reading]
    readings = readings.sort_values("time", kind="stable").reset_index(drop=True)

    events = _events(rows, times, subject or DEFAULT_SUBJECT)
    rows.drop(rows.col("bg").ne("").to_numpy(), REASON_METER, warn=False)
    rows.drop(rows.col("sensor_event").ne("").to_numpy(), REASON_SENSOR_EVENT, warn=False)
    rows.drop(every, REASON_NO_SG, warn=False)
    rows.commit()
    prov.rows_kept = int(rows.kept.sum())
    n_said = prov.metadata["preamble"].get("Number of Records")
    if isinstance(n_said, str) and n_said.isdigit() and int(n_said) != prov.rows_read:
        prov.warn(f"the preamble says {n_said} records; the file holds {prov.rows_read} rows")
    if readings.empty:
        prov.warn("no sensor glucose readings in this file")
    return Recording(readings=readings, events=events, provenance=prov.check())


def _events(rows: TextRows, times: pd.Series, subject: str) -> pd.DataFrame:
    """Meal, exercise and note events of the rows still open (logbook entries)."""
    parts = (("meal", "meal"), ("exercise", "exercise"), ("medication", "note"), ("other", "note"))
    frames = []
    taken = np.zeros(rows.n, dtype=bool)
    for key, kind in parts:
        text = rows.col(key)
        m = text.ne("").to_numpy() & rows.open
        if not m.any():
            continue
        label = text[m]
        grams = to_float(label.to_numpy(), decimal_comma=True) if kind == "meal" else None
        spu = spu_mask(label).to_numpy() & (kind != "meal")
        start = times[m]
        minutes = spu_minutes(label).to_numpy()
        end = start + pd.to_timedelta(np.where(spu, minutes, np.nan), unit="min")
        why = implausible(carbs_g=grams) if grams is not None else np.full(len(label), None)
        ok = why == None  # noqa: E711
        idx = np.flatnonzero(m)
        bad = np.zeros(rows.n, dtype=bool)
        bad[idx[~ok]] = True
        rows.drop(bad, REASON_BAD_VALUE, f"{key} amount outside the plausible range")
        taken[idx[ok]] = True
        frames.append(
            pd.DataFrame(
                {
                    "subject": subject,
                    "time": start.to_numpy()[ok],
                    "end": end.to_numpy()[ok],
                    "kind": np.where(spu, "spu", kind)[ok],
                    "carbs_g": grams[ok] if grams is not None else np.nan,
                    "label": np.where(
                        kind == "note", [f"{key}: {t}" for t in label], label.to_numpy()
                    )[ok],
                    "source": FORMAT,
                }
            )
        )
    rows.keep(taken)
    if not frames:
        return pd.DataFrame(columns=["subject", "time", "end", "kind"])
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values("time", kind="stable").reset_index(drop=True)


SNIFFERS = [(FORMAT, sniff)]
READERS = {FORMAT: read_ipro2}

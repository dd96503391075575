"""Tandem t:connect / Tandem Source CSV export -> readings (CGM) and events (boluses, carbs).

Layout (see ``docs/formats.md``): a few preamble lines (company, report name, the patient's name
and date of birth, the report date), then sections separated by blank lines, each with its own
header row. Tandem Source (2024-) writes::

    DeviceType,SerialNumber,Description,EventDateTime,Readings (mg/dL)
    t:slim X2 Insulin Pump,<serial>,EGV,2025-04-19T00:00:33,99
    <blank>
    DeviceType,SerialNumber,Description,EventDateTime,BG (mg/dL),Note      (fingersticks)
    <blank>
    Type,BolusType,BolusDeliveryMethod,BG (mg/dL),SerialNumber,CompletionDateTime,
    InsulinDelivered,FoodDelivered,CorrectionDelivered,CompletionStatusDesc,...,CarbSize,...

and the older t:connect Therapy Timeline export a readings section headed ``Readings (CGM /
BGM)``, an ``IOB`` section and a bolus section headed ``Type,Description,BG,IOB,
BolusRequestID,...,CompletionDateTime,InsulinDelivered,...,EventDateTime,RequestDateTime,...``.

Rules this reader follows:

- A section header is a row whose first cell is ``DeviceType`` or ``Type`` and that has an
  ``...DateTime`` column; its columns are found by name, never by position (the older bolus
  header is one name short of its rows: fields past the header are not read).
- Readings: ``Description`` ``EGV`` rows of a ``Readings (...)`` section, local wall-clock
  ``EventDateTime`` (no offset). Units from the column name; a name without units
  (``Readings (CGM / BGM)``) takes ``units=`` or, when the values leave no doubt (a value above
  35: mg/dL), the values' range. Other descriptions are fingersticks, counted as dropped.
- Boluses: ``InsulinDelivered`` units at ``CompletionDateTime`` (``EventDateTime`` where there
  is none) are an insulin event; ``CarbSize`` > 0 a meal at the request time
  (``RequestDateTime``/``EventDateTime``, else the completion). A row without delivered
  insulin and without carbs is dropped (``"no insulin delivered"``).
- Rows of other sections (fingerstick BG, IOB, basal, ...) are counted as dropped
  ``"<section> section (not read)"``. Preamble lines are no rows; the patient's name, date of
  birth and the serial numbers go only to ``provenance.metadata``.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from os import PathLike

import numpy as np
import pandas as pd

from ..core.errors import InputError
from ..core.recording import Provenance, Recording
from ..core.schema import (
    DEFAULT_SUBJECT,
    DEVICE_UNITS,
    GLUCOSE_UNITS,
    MGDL_PER_MMOL,
    PLAUSIBLE_MGDL,
)
from .base import (
    RowAccount,
    check_input_file,
    csv_records,
    csv_text,
    implausible,
    norm_name,
    to_float,
    to_ns,
    warn_decoding,
)

FORMAT = "tandem"

#: A value above this (in a readings column that names no units) can only be mg/dL.
MGDL_ONLY_ABOVE = 35.0

_HEADER_START = re.compile(r'^\s*"?(DeviceType|Type)"?\s*,', re.IGNORECASE)


def _is_header(cells: list[str]) -> bool:
    first = norm_name(cells[0]) if cells else ""
    return first in ("devicetype", "type") and any(
        norm_name(c).endswith("datetime") for c in cells[1:]
    )


def sniff(text: str, raw: bytes) -> bool:
    """True when a line of the head is a Tandem readings or bolus section header."""
    for line in text.splitlines()[:60]:
        if not _HEADER_START.match(line):
            continue
        cells = [norm_name(c) for c in next(csv.reader([line]))]
        if cells[:4] == ["devicetype", "serialnumber", "description", "eventdatetime"]:
            return True
        if cells[0] == "type" and "insulindelivered" in cells and "completiondatetime" in cells:
            return True
    return False


@dataclass
class _Section:
    """One section of the export: its header cells and its rows (cells, 1-based line)."""

    header: list[str]
    line: int
    rows: list[list[str]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)

    def frame(self) -> pd.DataFrame:
        """The rows as text cells under the normalised header names (extra fields cut off)."""
        names = [norm_name(h) or f"_col{i}" for i, h in enumerate(self.header)]
        n = len(names)
        cells = [(r + [""] * n)[:n] for r in self.rows]
        df = pd.DataFrame(cells, columns=names, dtype=object)
        return df.apply(lambda s: s.astype(str).str.strip()) if len(df) else df

    @property
    def kind(self) -> str:
        names = [norm_name(h) for h in self.header]
        if names[0] == "devicetype":
            value = names[4] if len(names) > 4 else ""
            return "readings" if value.startswith("readings") else "bg"
        if "insulindelivered" in names:
            return "bolus"
        if "iob" in names and "eventid" in names:
            return "iob"
        if any("basal" in n for n in names):
            return "basal"
        return "other"


#: reason of rows of three or more fields before any section header (a damaged header line)
REASON_NO_SECTION = "row under no recognised section header"


def _sections(text: str, path) -> tuple[list[list[str]], list[_Section], list[int]]:
    """The preamble records, the sections of the export (every record with its line), and the
    lines of data-like records before the first section header.

    A preamble record is a ``key, value`` pair; a record of three or more fields before any
    section header is a data row whose header was damaged: it is counted, never lost.
    """
    reader = csv.reader(io.StringIO(text))
    preamble: list[list[str]] = []
    sections: list[_Section] = []
    orphans: list[int] = []
    for start, cells in csv_records(reader, path):
        if cells[0].strip().lower() in ("devicetype", "type") and _is_header(cells):
            sections.append(_Section([c.strip() for c in cells], start))
        elif sections:
            sections[-1].rows.append(cells)
            sections[-1].lines.append(start)
        elif sum(bool(c.strip()) for c in cells) >= 3:
            orphans.append(start)
        else:
            preamble.append(cells)
    return preamble, sections, orphans


def _metadata(preamble: list[list[str]], sections: list[_Section]) -> dict:
    """Preamble facts and devices (personal data: for ``provenance.metadata`` only)."""
    meta: dict = {}
    for cells in preamble:
        vals = [c.strip() for c in cells if c.strip()]
        if len(vals) >= 2:
            meta[norm_name(vals[0])] = ", ".join(vals[1:])
        elif vals:
            meta.setdefault("title", []).append(vals[0])
    devices = set()
    for sec in sections:
        names = [norm_name(h) for h in sec.header]
        if "serialnumber" in names:
            i = names.index("serialnumber")
            j = names.index("devicetype") if "devicetype" in names else None
            for r in sec.rows:
                serial = r[i].strip() if len(r) > i else ""
                dev = r[j].strip() if j is not None and len(r) > j else ""
                if serial or dev:
                    devices.add((dev, serial))
    if devices:
        meta["devices"] = [{"device": d, "serial": s} for d, s in sorted(devices)]
    return meta


def _local(values: pd.Series) -> pd.Series:
    """Local times of ``2025-04-19T00:00:33``-style cells (NaT where none)."""
    s = values.astype(str).str.strip().str.replace("T", " ", regex=False)
    return to_ns(pd.to_datetime(s, format="ISO8601", errors="coerce"))


def _units_of(column: str, values: np.ndarray, units: str | None, path, line: int) -> str:
    m = re.search(r"\((mg/dl|mmol/l)\)", column, re.IGNORECASE)
    if m:
        return "mg/dL" if m.group(1).lower() == "mg/dl" else "mmol/L"
    if units is not None:
        return units
    finite = values[np.isfinite(values)]
    if len(finite) and finite.max() > MGDL_ONLY_ABOVE:
        return "mg/dL"
    raise InputError(
        f"the readings column {column!r} names no units and the values do not decide them; "
        "pass units='mg/dL' or units='mmol/L' (command line: --units)",
        path,
        line,
    )


def _readings(sec: _Section, prov: Provenance, units: str | None, subject: str) -> pd.DataFrame:
    df = sec.frame()
    if "eventdatetime" not in df.columns:
        raise InputError(
            "the readings section's header has no EventDateTime column "
            f"(found {', '.join(repr(h) for h in sec.header[:6])})",
            prov.path,
            sec.line,
        )
    rows = RowAccount(prov, np.asarray(sec.lines))
    value_col = df.columns[4]
    raw = df[value_col].to_numpy(dtype=object)
    val = to_float(raw)
    desc = (
        df["description"].str.upper().to_numpy() if "description" in df else np.full(len(df), "EGV")
    )
    egv = desc == "EGV"
    found = _units_of(sec.header[4], val[egv], units, prov.path, sec.line)
    prov.units = "+".join(sorted({u for u in (prov.units, found) if u}))
    mgdl = val * MGDL_PER_MMOL if found == "mmol/L" else val
    times = _local(df["eventdatetime"])
    rows.drop(~egv, "fingerstick BG (not a CGM reading)", warn=False)
    rows.drop(
        times.isna().to_numpy(),
        "unparseable timestamp",
        "expected EventDateTime like 2025-04-19T00:00:33",
    )
    when = implausible(times=times)
    rows.drop(when != None, when, "time out of the plausible range")  # noqa: E711
    rows.drop(raw == "", "missing glucose")
    rows.drop(np.isnan(val), "non-numeric glucose")
    lo, hi = PLAUSIBLE_MGDL
    rows.drop((mgdl < lo) | (mgdl > hi), "implausible glucose", f"outside {lo:g}-{hi:g} mg/dL")
    ok = rows.open.copy()
    rows.keep(ok)
    rows.commit()
    return pd.DataFrame(
        {
            "subject": subject,
            "time": times.to_numpy()[ok],
            "glucose_mgdl": mgdl[ok],
            "censored": None,
            "source": FORMAT,
            DEVICE_UNITS: found,
        }
    )


def _first_time(df: pd.DataFrame, names: tuple[str, ...]) -> pd.Series:
    out = pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]")
    for name in names:
        if name in df.columns:
            out = out.fillna(_local(df[name]))
    return out


def _boluses(sec: _Section, prov: Provenance, subject: str) -> pd.DataFrame:
    df = sec.frame()
    rows = RowAccount(prov, np.asarray(sec.lines))
    insulin = to_float(df["insulindelivered"].to_numpy(dtype=object))
    carbs = (
        to_float(df["carbsize"].to_numpy(dtype=object))
        if "carbsize" in df
        else np.full(len(df), np.nan)
    )
    done = _first_time(df, ("completiondatetime", "eventdatetime", "requestdatetime"))
    asked = _first_time(df, ("requestdatetime", "eventdatetime", "completiondatetime"))
    rows.drop(
        done.isna().to_numpy(),
        "unparseable timestamp",
        "expected CompletionDateTime like 2025-04-19T12:58:26",
    )
    when = implausible(times=done)
    rows.drop(when != None, when, "time out of the plausible range")  # noqa: E711
    # negative, infinite (1e400) or beyond the plausible ranges
    bad = implausible(insulin_u=insulin, carbs_g=carbs) != None  # noqa: E711
    rows.drop(bad, "bad insulin or carbs amount")
    rows.drop(~(insulin > 0) & ~(carbs > 0), "no insulin delivered")
    ok = rows.open.copy()
    rows.keep(ok)
    rows.commit()
    label = (
        df["bolustype"]
        if "bolustype" in df
        else df.get("description", pd.Series("", index=df.index))
    )
    label = label.where(label != "", "bolus").to_numpy(dtype=object)
    dose, meal = ok & (insulin > 0), ok & (carbs > 0)
    parts = [
        pd.DataFrame(
            {
                "time": done.to_numpy()[dose],
                "kind": "insulin",
                "insulin_u": insulin[dose],
                "label": label[dose],
            }
        ),
        pd.DataFrame(
            {
                "time": asked.to_numpy()[meal],
                "kind": "meal",
                "carbs_g": carbs[meal],
                "label": label[meal],
            }
        ),
    ]
    ev = pd.concat(parts, ignore_index=True)
    return ev.assign(subject=subject, source=FORMAT, intensity=None)


_NOT_READ = {"bg": "fingerstick BG", "iob": "insulin on board", "basal": "basal", "other": "other"}


def read_tandem(
    path: str | PathLike, subject: str | None = None, units: str | None = None
) -> Recording:
    """Read a Tandem t:connect or Tandem Source CSV export (CGM readings and boluses).

    Parameters
    ----------
    path : str or PathLike
        The CSV exported from Tandem Source (Daily Timeline -> Export CSV) or t:connect.
    subject : str, optional
        Subject id; defaults to :data:`~soleus_analysis.core.schema.DEFAULT_SUBJECT`.
    units : {"mg/dL", "mmol/L"}, optional
        Units of a readings column whose name gives none (``Readings (CGM / BGM)``).

    Returns
    -------
    Recording
        ``readings``: EGV rows (mg/dL, local time, oldest first); ``events``: insulin
        (``insulin_u``, U) and meals (``carbs_g``, g) from the bolus section.

    Raises
    ------
    InputError
        No Tandem section header, undecidable units, or malformed CSV.
    """
    if units is not None and units not in GLUCOSE_UNITS:
        raise InputError(f"units must be 'mg/dL' or 'mmol/L', not {units!r}", path)
    p = check_input_file(path)
    dec = csv_text(p, "a Tandem CSV export (section headers and rows)")
    preamble, sections, orphans = _sections(dec.text, p)
    if not sections:
        raise InputError(
            "no Tandem section header; expected a line "
            "'DeviceType,SerialNumber,Description,EventDateTime,Readings (mg/dL)'",
            p,
            1,
        )
    prov = Provenance(path=str(p), format=FORMAT, metadata=_metadata(preamble, sections))
    warn_decoding(prov, dec)
    prov.rows_read = sum(len(s.rows) for s in sections) + len(orphans)
    if orphans:
        prov.drop(REASON_NO_SECTION, len(orphans))
        prov.warn(
            f"{len(orphans)} rows before any section header, from here on (a damaged header "
            "line?); rows dropped",
            orphans[0],
        )
    if not prov.rows_read:
        raise InputError("section headers but no data rows", p, sections[0].line)
    subj = subject or DEFAULT_SUBJECT
    readings, events = [], []
    for sec in sections:
        if not sec.rows:
            continue
        kind = sec.kind
        if kind == "readings":
            readings.append(_readings(sec, prov, units, subj))
        elif kind == "bolus":
            events.append(_boluses(sec, prov, subj))
        else:
            prov.drop(f"{_NOT_READ[kind]} section (not read)", len(sec.rows))
    r = pd.concat(readings, ignore_index=True) if readings else pd.DataFrame()
    e = pd.concat(events, ignore_index=True) if events else pd.DataFrame()
    if len(r):
        r = r.sort_values("time", kind="stable").reset_index(drop=True)
    if len(e):
        e = e.sort_values(["time", "kind"], kind="stable").reset_index(drop=True)
    prov.rows_kept = prov.rows_read - sum(prov.rows_dropped.values())
    return Recording(readings=r, events=e, provenance=prov.check())


SNIFFERS = [(FORMAT, sniff)]
READERS = {FORMAT: read_tandem}

"""Medtronic CareLink CSV export reader (US ``,`` and European ``;`` with decimal commas).

Layout: a few preamble lines (patient, date range, device), then one or more sections, each
introduced by a line ``-------,<device>,<Pump|Sensor>,<serial>,------- `` and followed by its own
``Index,Date,Time,...`` header (48-55 columns, differing between sections) and rows, newest
first. Every section is read.

What becomes what
    - a non-empty ``Sensor Glucose (mg/dL)`` (or ``(mmol/L)``) cell -> one reading;
    - rows without sensor glucose become events when they carry
      ``Event Marker`` ``Meal: 60,00grams`` (meal, ``carbs_g``), ``Insulin: 27,00`` (insulin,
      ``insulin_u``), ``Exercise...`` (exercise) or ``Other...`` (note);
      ``BWZ Carb Input (grams)`` > 0 (meal) and ``Bolus Volume Delivered (U)`` > 0 (insulin,
      ``end`` = start + ``Bolus Duration`` for square/dual boluses);
    - every other row is dropped under a named reason (basal rate, meter BG / calibration,
      alarm, pump operation, bolus wizard without carbs, ...).

De-duplication (documented rule)
    - the same reading (time and value) or the same event (time, kind, amount, label) twice
      in one file: later copies dropped as ``"duplicate"`` (Guardian Connect exports repeat
      event markers);
    - a bolus-wizard meal whose carbs equal those of an ``Event Marker`` meal within
      :data:`MATCH_WINDOW` is the same meal: the wizard copy is dropped as
      ``"meal also in event marker"``; likewise an ``Insulin:`` marker matching a delivered
      bolus of the same amount within the window is dropped as
      ``"insulin also in bolus delivered"``. A row is kept when at least one of its events
      survives.

Headers must be in English (CareLink's language setting); other languages raise an
:class:`~soleus_analysis.core.errors.InputError` naming the columns it needs.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from os import PathLike

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..core.errors import InputError
from ..core.recording import Provenance, Recording
from ..core.schema import DEFAULT_SUBJECT, MGDL_PER_MMOL, PLAUSIBLE_MGDL
from .base import (
    arrow_text,
    check_input_file,
    csv_text,
    drop_implausible,
    exact_times,
    implausible,
    object_text,
    split_text,
    text_frame,
    text_numbers,
    text_to_timedelta,
    to_ns,
    warn_decoding,
    warn_dropped,
)

FORMAT = "carelink"

#: A bolus-wizard meal (or marker insulin) this close to an equal marker meal (or delivered
#: bolus) is the same event.
MATCH_WINDOW = pd.Timedelta(minutes=15)

_SECTION = re.compile(r"^-{5,}\s*[,;]")
_SG_COLS = ("Sensor Glucose (mg/dL)", "Sensor Glucose (mmol/L)")
_MEAL = re.compile(r"^\s*meal\s*:\s*([0-9]+(?:[.,][0-9]+)?)", re.I)
_INSULIN = re.compile(r"^\s*insulin\s*:\s*([0-9]+(?:[.,][0-9]+)?)", re.I)
_EXERCISE = re.compile(r"^\s*exercise", re.I)
_OTHER = re.compile(r"^\s*other", re.I)
_BG = re.compile(r"^\s*(bg|blood glucose)\b", re.I)


def sniff_carelink(text: str, raw: bytes) -> bool:
    """True when the head holds a CareLink section line or an ``Index,Date,Time`` header."""
    has_section = re.search(r"^-{5,}[,;][^\n]*[,;]-{5,}", text, re.M) is not None
    has_header = re.search(r"^Index[,;]Date[,;]Time[,;]", text, re.M) is not None
    return has_header and (has_section or "Sensor Glucose" in text)


def _delimiter(lines: list[str], path) -> str:
    for line in lines[:200]:
        if _SECTION.match(line):
            return line.lstrip("-").lstrip()[0]
        m = re.match(r"^Index([,;\t])Date", line)
        if m:
            return m.group(1)
    raise InputError(
        "no CareLink section line ('-------,<device>,Pump,<serial>,-------') or "
        "'Index,Date,Time,...' header in the first 200 lines",
        path,
    )


def _split(
    text: str, path
) -> tuple[str, dict, list[tuple[dict, list[str], list[int], list[list[str]]]]]:
    """Split the file into preamble metadata and sections of (info, header, lines, rows)."""
    lines = text.split("\n")
    delim = _delimiter(lines, path)
    fast = _split_columns(text, delim, path)
    if fast is not None:
        return fast
    reader = csv.reader(lines, delimiter=delim)
    preamble: list[list[str]] = []
    sections: list[tuple[dict, list[str], list[int], list[list[str]]]] = []
    info: dict | None = None
    header: list[str] | None = None
    for row in reader:
        lineno = reader.line_num
        if not row or not any(c.strip() for c in row):
            continue
        first = row[0].strip()
        if first.startswith("-----"):
            cells = [c.strip() for c in row]
            info = {
                "device": cells[1] if len(cells) > 1 else "",
                "type": cells[2] if len(cells) > 2 else "",
                "serial": cells[3] if len(cells) > 3 else "",
                "line": lineno,
            }
            header = None
            continue
        if first == "Index" or (first.lower() == "index" and len(row) > 3):
            header = [c.strip() for c in row]
            missing = [c for c in ("Date", "Time") if c not in header]
            if missing:
                raise InputError(
                    f"CareLink header lacks {', '.join(missing)}; expected an English header "
                    "'Index,Date,Time,...' (set CareLink's language to English)",
                    path,
                    lineno,
                )
            if info is None:
                info = {"device": "", "type": "", "serial": "", "line": lineno}
            sections.append((info, header, [], []))
            info = None
            continue
        if header is None:
            if info is not None:
                raise InputError(
                    "expected the section's header row 'Index,Date,Time,...' after the "
                    "'-------' line",
                    path,
                    lineno,
                )
            if not sections:
                preamble.append([c.strip() for c in row])
                continue
        sections[-1][2].append(lineno)
        sections[-1][3].append(row)
    if not sections:
        raise InputError("no CareLink section with an 'Index,Date,Time,...' header", path)
    meta: dict = {}
    if len(preamble) >= 2:
        meta["preamble"] = {k: v for k, v in zip(preamble[0], preamble[1], strict=False) if k or v}
    elif preamble:
        meta["preamble"] = {"line": ",".join(preamble[0])}
    return delim, meta, sections


@dataclass
class _Rows:
    """A section's rows split by pyarrow: text columns by header position (pyarrow text
    arrays), each row's field count and whether it has a non-blank field beyond the header."""

    columns: list[pa.Array]
    n_fields: np.ndarray
    over: np.ndarray

    def __len__(self) -> int:
        return len(self.n_fields)


def _section_marks(first: pa.Array, n_fields: np.ndarray) -> np.ndarray:
    """Rows whose first cell (stripped pyarrow text) starts ``-----`` (a section line) or is
    a header's ``Index`` (exactly, or any case with more than 3 fields), by pyarrow; ASCII
    cells are lowered by pyarrow (its ASCII case mapping is Python's), the others by pandas'
    ``str.lower``."""
    if not len(first):
        return np.zeros(0, dtype=bool)
    dashes = pc.starts_with(first, "-----").to_numpy(zero_copy_only=False)
    index = pc.equal(pc.ascii_lower(first), "index").to_numpy(zero_copy_only=False)
    other = ~pc.string_is_ascii(first).to_numpy(zero_copy_only=False)
    if other.any():
        cells = object_text(first.filter(pa.array(other)))
        index[other] = pd.Series(cells, dtype=object).str.lower().to_numpy() == "index"
    exact = pc.equal(first, "Index").to_numpy(zero_copy_only=False)
    return dashes | exact | (index & (n_fields > 3))


def _split_columns(text: str, delim: str, path):
    """:func:`_split` by pyarrow (:func:`~.base.split_text`): the section and header lines
    read one by one, the data rows in columns; None when the csv module must read the text."""
    sp = split_text(text, delim)
    if sp is None:
        return None
    use = np.flatnonzero(~sp.blank)
    first = pc.utf8_trim_whitespace(sp.values.take(pa.array(sp.starts[use])))
    marks = _section_marks(first, sp.n_fields[use])
    preamble: list[list[str]] = []
    sections: list = []
    info: dict | None = None
    header: list[str] | None = None
    bounds = list(np.flatnonzero(marks)) + [len(use)]
    if bounds[0] > 0:
        preamble = [[c.strip() for c in sp.fields(int(r))] for r in use[: bounds[0]]]
    for j, b in enumerate(bounds[:-1]):
        r = int(use[b])
        lineno = r + 1
        row = sp.fields(r)
        data = use[b + 1 : bounds[j + 1]]
        if first[int(b)].as_py().startswith("-----"):
            cells = [c.strip() for c in row]
            info = {
                "device": cells[1] if len(cells) > 1 else "",
                "type": cells[2] if len(cells) > 2 else "",
                "serial": cells[3] if len(cells) > 3 else "",
                "line": lineno,
            }
            if len(data):
                raise InputError(
                    "expected the section's header row 'Index,Date,Time,...' after the "
                    "'-------' line",
                    path,
                    int(data[0]) + 1,
                )
            continue
        header = [c.strip() for c in row]
        missing = [c for c in ("Date", "Time") if c not in header]
        if missing:
            raise InputError(
                f"CareLink header lacks {', '.join(missing)}; expected an English header "
                "'Index,Date,Time,...' (set CareLink's language to English)",
                path,
                lineno,
            )
        if info is None:
            info = {"device": "", "type": "", "serial": "", "line": lineno}
        cols, over = sp.columns(data, len(header))
        rows = _Rows(cols, sp.n_fields[data], over)
        sections.append((info, header, (data + 1).astype(np.int64), rows))
        info = None
    if not sections:
        raise InputError("no CareLink section with an 'Index,Date,Time,...' header", path)
    meta: dict = {}
    if len(preamble) >= 2:
        meta["preamble"] = {k: v for k, v in zip(preamble[0], preamble[1], strict=False) if k or v}
    elif preamble:
        meta["preamble"] = {"line": ",".join(preamble[0])}
    return delim, meta, sections


def _num(s: pd.Series, decimal_comma: bool) -> pd.Series:
    """Numbers from text cells (empty -> NaN), decimal commas accepted when ``decimal_comma``."""
    s = s.str.strip()
    return pd.Series(text_numbers(s, decimal_comma), index=s.index)


def _date_format(dates: pd.Series, path, prov: Provenance) -> str:
    """The strftime format of the ``Date`` column, decided from the whole column."""
    d = dates[dates != ""]
    if d.empty:
        return "%Y/%m/%d"
    shapes = {
        "%Y/%m/%d": r"^\d{4}/\d{1,2}/\d{1,2}$",
        "%Y-%m-%d": r"^\d{4}-\d{1,2}-\d{1,2}$",
        "slash": r"^\d{1,2}/\d{1,2}/\d{2}(?:\d{2})?$",
        "%d.%m.%Y": r"^\d{1,2}\.\d{1,2}\.\d{4}$",
        "%d.%m.%y": r"^\d{1,2}\.\d{1,2}\.\d{2}$",
    }
    counts = dict.fromkeys(shapes, 0)
    for k, p in shapes.items():  # the shapes exclude each other: one holding all decides
        counts[k] = int(d.str.match(p).sum())
        if counts[k] == len(d):
            break
    best = max(counts, key=counts.get)
    if counts[best] == 0:
        raise InputError(
            f"Date column not understood (first value {d.iloc[0]!r}); expected YYYY/MM/DD, "
            "M/D/YY or DD.MM.YYYY",
            path,
        )
    if best != "slash":
        return best
    parts = d[d.str.match(shapes["slash"])].str.split("/", expand=True)
    first, second = parts[0].astype(int), parts[1].astype(int)
    year = "%Y" if parts[2].str.len().max() == 4 else "%y"
    if (first > 12).any() and not (second > 12).any():
        return f"%d/%m/{year}"
    if not (first > 12).any() and not (second > 12).any():
        prov.warn("Date column D/M vs M/D order cannot be told from the values; read as M/D (US)")
    return f"%m/%d/{year}"


#: Date formats whose ``hh:mm:ss`` times are read from the cells' bytes
#: (:func:`~.base.exact_times`): the pattern of the stamp, its fields' spans.
_EXACT_STAMPS = {
    "%Y/%m/%d": r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d$",
    "%Y-%m-%d": r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$",
}
_STAMP_SPANS = ((0, 4), (5, 7), (8, 10), (11, 13), (14, 16), (17, 19))


def _timestamps(date: pd.Series, time: pd.Series, fmt: str) -> pd.Series:
    stamp = date.str.strip() + " " + time.str.strip()
    out = pd.Series(pd.NaT, index=date.index, dtype="datetime64[ns]")
    if fmt in _EXACT_STAMPS:
        try:
            arr = arrow_text(stamp)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            arr = None
        if arr is not None:
            times, _ = exact_times(arr, _EXACT_STAMPS[fmt], _STAMP_SPANS)
            out = pd.Series(times, index=date.index)
    for tfmt in ("%H:%M:%S", "%H:%M", "%I:%M:%S %p", "%I:%M %p"):
        todo = out.isna()
        if not todo.any():
            break
        out[todo] = to_ns(pd.to_datetime(stamp[todo], format=f"{fmt} {tfmt}", errors="coerce"))
    return out.astype("datetime64[ns]")


def _frame(sections, path, prov: Provenance) -> pd.DataFrame:
    """All sections' rows in one frame of text cells, with ``_line`` and ``_section``."""
    frames = []
    for k, (info, header, lines, rows) in enumerate(sections):
        width = len(header)
        if isinstance(rows, _Rows):
            good = (rows.n_fields >= width) & ~rows.over
            warn_dropped(prov, "truncated row (too few fields)", lines[rows.n_fields < width])
            warn_dropped(prov, "malformed row (too many fields)", lines[rows.over])
            if good.any():
                keep = pa.array(good)
                f = text_frame([c.filter(keep) for c in rows.columns], header, str_dtype=True)
            else:
                f = pd.DataFrame([], columns=header, dtype=str)
            f = f.loc[:, ~f.columns.duplicated()]
            f["_line"] = lines[good]
            f["_section"] = k
            f["_device"] = info["device"]
            frames.append(f)
            continue
        good_rows, good_lines = [], []
        short, long_ = [], []
        for ln, row in zip(lines, rows, strict=True):
            if len(row) > width and not any(c.strip() for c in row[width:]):
                row = row[:width]
            if len(row) == width:
                good_rows.append(row)
                good_lines.append(ln)
            elif len(row) < width:
                short.append(ln)
            else:
                long_.append(ln)
        warn_dropped(prov, "truncated row (too few fields)", short)
        warn_dropped(prov, "malformed row (too many fields)", long_)
        f = pd.DataFrame(good_rows, columns=header, dtype=str)
        f = f.loc[:, ~f.columns.duplicated()]
        f["_line"] = good_lines
        f["_section"] = k
        f["_device"] = info["device"]
        frames.append(f)
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    text_cols = [c for c in df.columns if not c.startswith("_")]
    df[text_cols] = df[text_cols].fillna("")
    return df


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    return df[name] if name in df.columns else pd.Series("", index=df.index, dtype=object)


def _events(df: pd.DataFrame, dec: bool) -> pd.DataFrame:
    """Candidate events of rows without sensor glucose (several per row possible)."""
    marker = _col(df, "Event Marker").astype(str).str.strip()
    meal = marker.str.extract(_MEAL)[0]
    ins = marker.str.extract(_INSULIN)[0]
    meal_g = _num(meal.fillna(""), True)
    ins_u = _num(ins.fillna(""), True)
    bwz = _num(_col(df, "BWZ Carb Input (grams)").astype(str), dec)
    bolus = _num(_col(df, "Bolus Volume Delivered (U)").astype(str), dec)
    dur_text = _col(df, "Bolus Duration (h:mm:ss)").astype(str).str.strip()
    dur = text_to_timedelta(dur_text)
    btype = _col(df, "Bolus Type").astype(str).str.strip()
    base = df[["_row", "time"]]
    specs = [
        (meal_g.notna(), {"kind": "meal", "carbs_g": meal_g, "label": "event marker"}, "marker"),
        (ins_u.notna(), {"kind": "insulin", "insulin_u": ins_u, "label": "event marker"}, "marker"),
        (marker.str.match(_EXERCISE), {"kind": "exercise", "label": marker}, "marker"),
        (marker.str.match(_OTHER), {"kind": "note", "label": marker}, "marker"),
        (bwz > 0, {"kind": "meal", "carbs_g": bwz, "label": "bolus wizard"}, "bwz"),
        (
            bolus > 0,
            {
                "kind": "insulin",
                "insulin_u": bolus,
                "end": df["time"] + dur.where(dur > pd.Timedelta(0)),
                "label": ("bolus " + btype).str.strip(),
            },
            "bolus",
        ),
    ]
    parts = []
    for mask, cols, src in specs:
        if mask.any():
            part = base[mask].copy()
            for k, v in cols.items():
                part[k] = v[mask] if isinstance(v, pd.Series) else v
            part["_src"] = src
            parts.append(part)
    ev = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame({"_row": [], "time": pd.Series(dtype="datetime64[ns]")})
    )
    for c in ("kind", "label", "_src"):
        if c not in ev.columns:
            ev[c] = pd.Series(dtype=object)
    for c in ("carbs_g", "insulin_u"):
        if c not in ev.columns:
            ev[c] = np.nan
    if "end" not in ev.columns:
        ev["end"] = pd.NaT
    return ev


def _matched(ev: pd.DataFrame, kind: str, amount: str, drop_src: str, keep_src: str) -> pd.Series:
    """Mask of ``drop_src`` events of ``kind`` with an equal ``keep_src`` one within the window."""
    mask = pd.Series(False, index=ev.index)
    a = ev[(ev["kind"] == kind) & (ev["_src"] == drop_src)]
    b = ev[(ev["kind"] == kind) & (ev["_src"] == keep_src)]
    if a.empty or b.empty:
        return mask
    left = a[["time", amount]].reset_index().sort_values("time")
    right = b[["time", amount]].assign(_hit=True).sort_values("time")
    m = pd.merge_asof(
        left, right, on="time", by=amount, tolerance=MATCH_WINDOW, direction="nearest"
    )
    hit = m.loc[m["_hit"].eq(True), "index"]
    mask[hit.to_numpy()] = True
    return mask


def _drop_reasons(df: pd.DataFrame, dec: bool) -> pd.Series:
    """Why a row without sensor glucose and without an event is not kept."""

    def has(name: str) -> np.ndarray:
        return (_col(df, name).astype(str).str.strip() != "").to_numpy()

    marker = _col(df, "Event Marker").astype(str).str.strip()
    conds = [
        has("BWZ Carb Input (grams)") | has("BWZ Estimate (U)"),
        marker.str.match(_BG).to_numpy(),
        has("BG Reading (mg/dL)") | has("BG Reading (mmol/L)"),
        has("Sensor Calibration BG (mg/dL)") | has("Sensor Calibration BG (mmol/L)"),
        has("Bolus Volume Selected (U)") | has("Bolus Volume Delivered (U)"),
        has("Basal Rate (U/h)"),
        has("Temp Basal Amount") | has("Temp Basal Type"),
        has("Alarm"),
        has("Prime Type") | has("Rewind") | has("Suspend"),
        (marker != "").to_numpy(),
    ]
    reasons = [
        "bolus wizard without carbs",
        "meter BG (no sensor glucose)",
        "meter BG (no sensor glucose)",
        "sensor calibration BG",
        "bolus not delivered",
        "basal rate (pump row)",
        "temp basal (pump row)",
        "alarm",
        "pump operation (prime/rewind/suspend)",
        "event marker without meal or insulin",
    ]
    return pd.Series(
        np.select(conds, reasons, default="no sensor glucose (pump/meter row)"), index=df.index
    )


def read_carelink(path: str | PathLike, subject: str | None = None) -> Recording:
    """Read a Medtronic CareLink CSV export (all sections) into a :class:`Recording`.

    Parameters
    ----------
    path : str or PathLike
        The CareLink export (US ``,`` or European ``;`` with decimal commas).
    subject : str, optional
        Subject id; defaults to :data:`~soleus_analysis.core.schema.DEFAULT_SUBJECT` (never the file name).

    Returns
    -------
    Recording
        Readings (sensor glucose in mg/dL, local device time, oldest first), events
        (meals in g, insulin in units, exercise, notes) and provenance. The preamble (which
        may hold the patient's name) is kept only in ``provenance.metadata``.

    Raises
    ------
    InputError
        No section/header found, a non-English header, or an unreadable Date column.
    """
    decoded = csv_text(check_input_file(path))
    delim, meta, sections = _split(decoded.text, path)
    dec = delim == ";"
    subj = subject or DEFAULT_SUBJECT
    prov = Provenance(path=str(path), format=FORMAT)
    warn_decoding(prov, decoded)
    meta["sections"] = [
        {k: info[k] for k in ("device", "type", "serial")} | {"rows": len(rows)}
        for info, _h, _l, rows in sections
    ]
    meta["delimiter"] = delim
    prov.metadata = meta
    prov.rows_read = sum(len(rows) for *_x, rows in sections)

    df = _frame(sections, path, prov)
    if df.empty:
        prov.warn("CareLink file has sections but no data rows; no readings")
        return Recording(provenance=prov.check())
    df["_row"] = np.arange(len(df))

    sg_cols = [c for c in _SG_COLS if c in df.columns]
    if not sg_cols:
        prov.warn("no 'Sensor Glucose (mg/dL)' column in any section; no readings")
    prov.units = "mmol/L" if sg_cols == [_SG_COLS[1]] else "mg/dL"

    fmt = _date_format(df["Date"].str.strip(), path, prov)
    df["time"] = _timestamps(df["Date"], df["Time"], fmt)
    lines = df["_line"].to_numpy()
    bad_t = df["time"].isna().to_numpy()
    warn_dropped(
        prov,
        "unparseable timestamp",
        lines[bad_t],
        list((df["Date"] + " " + df["Time"])[bad_t]),
    )
    bad_t = bad_t | ~drop_implausible(prov, implausible(times=df["time"]), lines)

    sg_text = pd.Series("", index=df.index)
    sg = pd.Series(np.nan, index=df.index)
    for c in sg_cols:
        t = df[c].str.strip()
        factor = MGDL_PER_MMOL if "mmol" in c else 1.0
        use = (t != "") & (sg_text == "")
        sg_text = sg_text.where(~use, t)
        sg = sg.where(~use, _num(t, dec) * factor)
    has_sg = (sg_text != "").to_numpy() & ~bad_t
    bad_sg = has_sg & sg.isna().to_numpy()
    far = has_sg & ~bad_sg & ((sg < PLAUSIBLE_MGDL[0]) | (sg > PLAUSIBLE_MGDL[1])).to_numpy()
    warn_dropped(prov, "unparseable sensor glucose", lines[bad_sg], list(sg_text[bad_sg]))
    warn_dropped(prov, "implausible sensor glucose", lines[far], list(sg_text[far]))
    is_reading = has_sg & ~bad_sg & ~far

    readings = pd.DataFrame(
        {
            "subject": subj,
            "time": df.loc[is_reading, "time"].to_numpy(),
            "glucose_mgdl": sg[is_reading].to_numpy(),
            "censored": None,
            "source": FORMAT,
            "_line": lines[is_reading],
        }
    )
    # oldest first (rows come newest first); the file's order is kept among equal times
    readings = readings.iloc[::-1].sort_values("time", kind="stable")
    dup = readings.duplicated(["time", "glucose_mgdl"]).to_numpy()
    warn_dropped(prov, "duplicate", readings["_line"].to_numpy()[dup])
    readings = readings.loc[~dup].drop(columns="_line").reset_index(drop=True)

    rest = df.loc[~has_sg & ~bad_t]
    ev = _events(rest, dec)
    ev = ev.iloc[::-1].sort_values("time", kind="stable").reset_index(drop=True)
    removed = pd.Series("", index=ev.index, dtype=object)
    removed[_matched(ev, "meal", "carbs_g", "bwz", "marker")] = "meal also in event marker"
    removed[(removed == "") & _matched(ev, "insulin", "insulin_u", "marker", "bolus")] = (
        "insulin also in bolus delivered"
    )
    amount = implausible(carbs_g=ev["carbs_g"], insulin_u=ev["insulin_u"])
    removed[(removed == "") & (amount != None)] = "implausible amount"  # noqa: E711
    dup_ev = ev.duplicated(["time", "kind", "carbs_g", "insulin_u", "label"]) & (removed == "")
    removed[dup_ev] = "duplicate"
    kept_rows = set(ev.loc[removed == "", "_row"])
    ev_rows = set(ev["_row"])
    # rows whose every event was removed are dropped under the (first) removal reason
    gone = ev.loc[~ev["_row"].isin(kept_rows)].drop_duplicates("_row")
    for reason, grp in gone.groupby(removed[gone.index], sort=True):
        warn_dropped(prov, str(reason), df.loc[grp["_row"].to_numpy(), "_line"].to_numpy())
    events = ev.loc[removed == ""].assign(subject=subj, source=FORMAT, intensity=None)

    other = rest.loc[~rest["_row"].isin(ev_rows)]
    reasons = _drop_reasons(other, dec)
    for reason, n in reasons.value_counts(sort=False).items():
        prov.drop(str(reason), int(n))

    prov.rows_kept = int(is_reading.sum()) - int(dup.sum()) + len(kept_rows)
    if readings.empty:
        prov.warn("no sensor glucose readings in this file")
    events = events[
        ["subject", "time", "end", "kind", "carbs_g", "insulin_u", "intensity", "label", "source"]
    ].reset_index(drop=True)
    return Recording(readings=readings, events=events, provenance=prov.check())


SNIFFERS = [(FORMAT, sniff_carelink)]
READERS = {FORMAT: read_carelink}

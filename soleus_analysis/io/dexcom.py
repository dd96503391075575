"""Dexcom Clarity CSV export (G6 and G7) -> :class:`~soleus_analysis.core.recording.Recording`.

Layout (see ``docs``/FORMATS): one header row (``Index,Timestamp (YYYY-MM-DDThh:mm:ss),Event Type,
Event Subtype,...,Glucose Value (mg/dL),...,Transmitter Time (Long Integer),Transmitter ID``), then
untimed preamble rows (``FirstName``, ``LastName``, ``DateOfBirth``, ``Device``, ``Alert``), then
``EGV`` readings and event rows (``Insulin``, ``Carbs``, ``Exercise``, ``Health``, ``Calibration``).

Rules this reader follows:

- The header row is found by content (a line holding ``Event Type`` and ``Glucose Value (``), not
  by position; a UTF-8 BOM, quoted or unquoted fields and 13- or 14-field rows are all accepted.
- Units come only from the glucose column name (``mg/dL`` or ``mmol/L``); mmol/L values are
  converted with :data:`~soleus_analysis.core.schema.MGDL_PER_MMOL`.
- Every ``EGV`` row is one reading, including repeated local times (daylight-saving fall-back,
  phone time-zone change). Readings carry ``transmitter_time_s`` and are sorted by the
  device's clock (:func:`~soleus_analysis.core.clock.device_clock_ns`), so the hour a fall-back
  repeats stays in the order it was measured.
- ``Low`` / ``High`` are censored readings at the G6/G7 display limits 40 and 400 mg/dL.
- Preamble rows are counted as dropped; personal data go only into ``provenance.metadata``.
"""

from __future__ import annotations

import csv
import re
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.clock import device_clock_ns
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
    TextRows,
    check_input_file,
    csv_text,
    find_header,
    implausible,
    isin,
    open_text,
    strip_text,
    text_to_timedelta,
    to_float,
    to_ns,
    upper_text,
    warn_decoding,
)
from .spu_text import spu_mask, spu_minutes

FORMAT = "dexcom_clarity"

#: Dexcom G6/G7 reporting limits (mg/dL): ``Low`` means below, ``High`` above.
DEXCOM_LOW_MGDL: float = 40.0
DEXCOM_HIGH_MGDL: float = 400.0


REASON_PREAMBLE = "preamble (patient/device/alert)"
REASON_CALIBRATION = "calibration"
REASON_EMPTY_VALUE = "empty value"
REASON_BAD_VALUE = "impossible value"
REASON_BAD_TIME = "unparseable timestamp"
REASON_TRUNCATED = "truncated row"
REASON_EMPTY_ROW = "empty row"
REASON_TOO_MANY = "too many fields"

_PREAMBLE_TYPES = {"FIRSTNAME", "LASTNAME", "DATEOFBIRTH", "DEVICE", "ALERT"}
_ISO_FORMAT = "%Y-%m-%dT%H:%M:%S"
_TOO_MANY = "\x00too many fields"

# canonical key -> prefix of the normalised (lower-case, single-spaced) column name
_COLUMN_PREFIXES: dict[str, str] = {
    "index": "index",
    "event_type": "event type",
    "event_subtype": "event subtype",
    "patient_info": "patient info",
    "device_info": "device info",
    "source_device_id": "source device id",
    "glucose": "glucose value",
    "insulin": "insulin value",
    "carbs": "carb value",
    "duration": "duration",
    "rate": "glucose rate of change",
    "transmitter_time": "transmitter time",
    "transmitter_id": "transmitter id",
}


def _norm(name: str) -> str:
    return " ".join(str(name).replace("\ufeff", "").strip().lower().split())


def _unterminated(path: Path) -> bool:
    """True when the file (its decoded text) does not end with a newline."""
    text = csv_text(path).text
    return bool(text) and not text.endswith("\n")


# ----------------------------------------------------------------------------------------------
# sniffing
# ----------------------------------------------------------------------------------------------
def _is_header(line: str) -> bool:
    low = line.lower()
    return "event type" in low and any(w in low for w in ("glucose value", "timestamp", "egv"))


def sniff(text: str, raw: bytes) -> bool:
    """True when the head of a file looks like a Dexcom Clarity CSV export."""
    lines = text.splitlines()[:50]
    if any("event type" in ln.lower() and "glucose value (" in ln.lower() for ln in lines):
        return True
    low = "\n".join(lines)
    return ("FirstName" in low or ",Device," in low) and ",EGV," in text


# ----------------------------------------------------------------------------------------------
# reading
# ----------------------------------------------------------------------------------------------
def _map_columns(header: list[str], path: Path, line: int) -> dict[str, str]:
    cols: dict[str, str] = {}
    normed = [(_norm(h), h) for h in header]
    for key, prefix in _COLUMN_PREFIXES.items():
        for n, h in normed:
            if n.startswith(prefix) and h not in cols.values():
                cols[key] = h
                break
    # "Timestamp (YYYY-MM-DDThh:mm:ss)" or renamed: found later from content if need be
    for n, h in normed:
        if n.startswith("timestamp"):
            cols["time"] = h
            break
    for key, label in (("event_type", "Event Type"), ("glucose", "Glucose Value (mg/dL)")):
        if key not in cols:
            raise InputError(f"missing required column {label!r}", path, line)
    return cols


def _units(glucose_col: str, path: Path, line: int) -> str:
    m = re.search(r"\((mg/dl|mmol/l)\)", glucose_col, re.IGNORECASE)
    if m is None:
        raise InputError(
            f"unknown glucose units in column {glucose_col!r}; expected "
            "'Glucose Value (mg/dL)' or 'Glucose Value (mmol/L)'",
            path,
            line,
        )
    return "mg/dL" if m.group(1).lower() == "mg/dl" else "mmol/L"


_ISO_LIKE = r"^\s*\d{4}-\d{1,2}-\d{1,2}[T ]\d{1,2}:\d{2}(:\d{2}(\.\d*)?)?\s*$"


def _parse_time(s: pd.Series) -> pd.Series:
    """Parse Clarity local timestamps to datetime64[ns] (NaT where not a valid date-time).

    The export's ``YYYY-MM-DDThh:mm:ss`` is tried first (fast); other ISO-like spellings
    (space separator, no seconds, fractions) are accepted too.
    """
    t = to_ns(pd.to_datetime(s, format=_ISO_FORMAT, errors="coerce"))
    miss = (t.isna() & (s.astype(object) != "")).to_numpy()
    if miss.any():
        txt = s[miss].astype(object).str.strip()
        ok = txt.str.match(_ISO_LIKE).fillna(False).to_numpy(dtype=bool)
        alt = pd.Series(pd.NaT, index=txt.index, dtype="datetime64[ns]")
        if ok.any():
            parsed = pd.to_datetime(
                txt[ok].str.replace("T", " ", regex=False), format="ISO8601", errors="coerce"
            )
            alt[ok] = to_ns(parsed)
        t[miss] = alt.to_numpy()
    return t


def _find_time_column(df: pd.DataFrame, cols: dict[str, str], path: Path, line: int) -> str:
    if "time" in cols:
        return cols["time"]
    best, score = None, 0.0
    for c in df.columns:
        vals = df[c][df[c] != ""].head(500)
        if len(vals) == 0:
            continue
        ok = float(_parse_time(vals).notna().mean())
        if ok > score:
            best, score = c, ok
    if best is None or score < 0.6:
        raise InputError(
            "no timestamp column; expected a column named 'Timestamp (YYYY-MM-DDThh:mm:ss)' "
            "or one holding ISO date-times like 2025-11-21T00:17:19",
            path,
            line,
        )
    return str(best)


def _read_frame(
    path: Path, skip: int, enc: str, header: list[str], usecols: list[int] | None = None
) -> tuple[pd.DataFrame, np.ndarray]:
    """Read every row below the header as text; return (frame, 1-based line numbers).

    ``usecols`` (header positions) limits the columns parsed, for speed; the first position is
    where rows with more fields than the header are marked.
    """
    # Fields past the header's last column are ignored when ``usecols`` is given (a row shifted
    # by an unquoted comma then fails the value checks and is dropped with its line); without
    # ``usecols`` such a row raises ParserError and goes to the exact path below.
    kw = dict(dtype=object, na_filter=False, skip_blank_lines=False, skiprows=skip)
    try:
        df = pd.read_csv(open_text(path), usecols=usecols, **kw)
    except (pd.errors.ParserError, ValueError):  # pandas raises either on ragged rows
        pass
    else:
        return df, np.arange(len(df)) + skip + 2
    # unparseable by the C reader: slower path that keeps line numbers exactly
    ncols = len(header)
    with open_text(path) as fh:
        for _ in range(skip):
            fh.readline()
        reader = csv.reader(fh)
        next(reader)
        rows, lines = [], []
        for rec in reader:
            ln = reader.line_num + skip
            if len(rec) > ncols and any(x.strip() for x in rec[ncols:]):
                rec = [_TOO_MANY] * ncols
            rows.append((rec + [""] * ncols)[:ncols])
            lines.append(ln)
    names = [h.strip() for h in (header + [""] * ncols)[:ncols]]
    df = pd.DataFrame(rows, columns=pd.Index(names), dtype=object)
    if usecols is not None:
        df = df.iloc[:, sorted(usecols)]
    return df, np.asarray(lines, dtype=np.int64)


def read_dexcom(path: str | PathLike, subject: str | None = None) -> Recording:
    """Read a Dexcom Clarity CSV export (G6 or G7, mg/dL or mmol/L).

    Parameters
    ----------
    path : str or PathLike
        The ``.csv`` file exported from Dexcom Clarity.
    subject : str, optional
        Subject id for every row; defaults to the file name without extension.

    Returns
    -------
    Recording
        ``readings``: one row per ``EGV`` row (glucose in mg/dL; ``Low``/``High`` censored at
        40/400 mg/dL), with extra columns ``transmitter_time_s`` (Int64, seconds) and
        ``transmitter_id``, in the device's clock order. ``events``: insulin
        (``insulin_u`` in units, label Fast-/Long-Acting), carbs (kind ``meal``, ``carbs_g`` in
        g), exercise (``intensity``, ``end`` = start + duration; kind ``spu`` when its text
        names soleus pushups), health (label = subtype) and notes. ``provenance``: every row
        below the header kept or dropped with a reason; preamble facts only in ``metadata``.

    Raises
    ------
    InputError
        No header row, a missing required column, unknown units, no timestamp column, or no
        data rows.
    """
    p = check_input_file(path)
    subject = subject or DEFAULT_SUBJECT
    head = find_header(
        p,
        _is_header,
        what="a Dexcom Clarity CSV export",
        missing="no Dexcom Clarity header row found; expected a line with 'Event Type' and "
        "'Glucose Value (mg/dL)' (or '(mmol/L)')",
        max_lines=200,
        delimiter=",",
    )
    hidx, enc, header, hline = head.index, head.encoding, head.fields, head.line
    cols = _map_columns(header, p, hline)
    units = _units(cols["glucose"], p, hline)
    prov = Provenance(path=str(p), format=FORMAT, units=units)
    warn_decoding(prov, head)

    # parse only the columns used (renamed timestamp: all, to find it by content)
    used = {"event_type", "event_subtype", "glucose", "insulin", "carbs", "duration"}
    used |= {"transmitter_time", "transmitter_id", "time", "patient_info", "device_info"}
    usecols = None
    if "time" in cols:
        usecols = sorted(header.index(cols[k]) for k in used if k in cols)
    df, lines = _read_frame(p, hidx, enc, header, usecols)
    df.columns = [str(c).replace("\ufeff", "").strip() for c in df.columns]
    if len(df) == 0:
        raise InputError("no data rows below the header", p, hline)
    cols["time"] = _find_time_column(df, cols, p, hline)
    prov.rows_read = len(df)
    rows = TextRows(df, cols, lines, prov)
    et = upper_text(rows.raw("event_type", np.ones(rows.n, dtype=bool)))
    codes, uniques = pd.factorize(et)

    def is_type(*names: str) -> np.ndarray:
        hit = np.flatnonzero(pd.Index(uniques).isin(names))
        return np.isin(codes, hit) if len(hit) else np.zeros(rows.n, dtype=bool)

    # rows the csv fallback marked as having more fields than the header
    rows.drop(
        (df.iloc[:, 0] == _TOO_MANY).to_numpy(), REASON_TOO_MANY, "more fields than the header"
    )
    # blank lines or rows of empty fields
    blank = is_type("")
    for c in df.columns:
        if blank.any():
            blank[blank] = (df[c][blank].astype(object).str.strip() == "").to_numpy()
    rows.drop(blank, REASON_EMPTY_ROW, warn=False)
    # a final line cut off mid-row
    rows.drop(_truncated_last(p, rows, et), REASON_TRUNCATED, "row cut off (truncated file)")

    pre = is_type(*_PREAMBLE_TYPES) & ~rows.handled
    if pre.any():
        prov.metadata.update(_preamble_metadata(p, hidx, enc, cols, lines[pre]))
    rows.drop(pre, REASON_PREAMBLE, warn=False)
    rows.drop(is_type("CALIBRATION"), REASON_CALIBRATION, warn=False)

    times = _parse_time(df[cols["time"]])
    timed_types = is_type("EGV", *_EVENT_TYPES)
    rows.drop(timed_types & times.isna().to_numpy(), REASON_BAD_TIME, "unparseable timestamp")
    when = implausible(times=times)
    rows.drop(timed_types & (when != None), when, "time out of the plausible range")  # noqa: E711

    readings = _readings(rows, is_type("EGV"), times, units, subject)
    events = _events(rows, et, is_type(*_EVENT_TYPES), times, subject)

    # rows of other event types: one warning per type (after the rows' own warnings)
    rest = ~rows.handled
    other = []
    for name in pd.unique(et[rest]):
        mask = rest & is_type(name)
        reason = f"event type {name!r} (unsupported)" if name else "no event type"
        other.append((f"{int(mask.sum())} row(s) dropped: {reason}", int(lines[mask][0])))
        rows.drop(mask, reason, warn=False)
    rows.commit()
    for message, line in other:
        prov.warn(message, line)
    prov.rows_kept = int(rows.kept.sum())
    prov.check()
    return Recording(readings=readings, events=events, provenance=prov)


_EVENT_TYPES = ("INSULIN", "CARBS", "EXERCISE", "HEALTH", "NOTE", "NOTES")


def _truncated_last(path: Path, rows: TextRows, et: np.ndarray) -> np.ndarray:
    """Mask of the last row when the file ends without a newline in the middle of a row."""
    mask = np.zeros(rows.n, dtype=bool)
    if not _unterminated(path) or rows.n == 0 or rows.handled[-1]:
        return mask
    last = rows.df.iloc[-1].astype(str).str.strip()
    filled = int((last != "").sum())
    if et[-1] in ("EGV", "CALIBRATION"):
        last_row = np.zeros(rows.n, dtype=bool)
        last_row[-1] = True
        cut = rows.col("glucose", last_row).iloc[0] == "" or (
            rows.has("transmitter_id") and rows.col("transmitter_id", last_row).iloc[0] == ""
        )
    else:
        cut = filled < 3 or et[-1] not in (*_EVENT_TYPES, *_PREAMBLE_TYPES)
    mask[-1] = bool(cut)
    return mask


def _preamble_metadata(
    path: Path, skip: int, enc: str, cols: dict[str, str], pre_lines: np.ndarray
) -> dict[str, object]:
    """Device and patient facts of the preamble rows (read from the file's first rows)."""
    meta: dict[str, object] = {}
    nrows = int(pre_lines.max()) - skip - 1
    try:
        head = pd.read_csv(
            open_text(path),
            dtype=object,
            na_filter=False,
            skip_blank_lines=False,
            skiprows=skip,
            nrows=min(nrows, 5000),
        )
    except (pd.errors.ParserError, ValueError):
        return meta
    head.columns = [str(c).replace("\ufeff", "").strip() for c in head.columns]
    pos = pre_lines - skip - 2
    head = head.iloc[pos[pos < len(head)]]

    def get(key: str) -> pd.Series:
        name = cols.get(key)
        if name is None or name not in head.columns:
            return pd.Series("", index=head.index, dtype=object)
        return head[name].astype(object).str.strip()

    types = get("event_type").str.upper()
    info = get("patient_info")
    patient = {}
    for t, key in (("FIRSTNAME", "first_name"), ("LASTNAME", "last_name"), ("DATEOFBIRTH", "dob")):
        vals = info[types == t]
        if len(vals):
            patient[key] = vals.iloc[0]
    if patient:
        meta["patient"] = patient
    is_dev = types == "DEVICE"
    devices = [
        {"device_info": d, "source_device_id": s}
        for d, s in zip(get("device_info")[is_dev], get("source_device_id")[is_dev], strict=True)
    ]
    if devices:
        meta["devices"] = devices
        text = " ".join(d["device_info"] + " " + d["source_device_id"] for d in devices).upper()
        for gen in ("G7", "G6", "G5", "G4", "ONE+", "STELO"):
            if gen in text:
                meta["generation"] = gen
                break
    alerts = get("event_subtype")[types == "ALERT"]
    if len(alerts):
        meta["alerts"] = list(alerts)
    return meta


def _readings(
    rows: TextRows, egv: np.ndarray, times: pd.Series, units: str, subject: str
) -> pd.DataFrame:
    egv = egv & ~rows.handled
    rawv = rows.raw("glucose", egv)
    val = to_float(rawv, decimal_comma=units == "mmol/L")
    word = np.full(len(rawv), "", dtype=object)
    nonnum = np.isnan(val)
    word[nonnum] = upper_text(rawv[nonnum])
    rawv = rawv.copy()
    rawv[nonnum] = strip_text(rawv[nonnum])
    sub = np.full(len(rawv), "", dtype=object)
    if rows.has("event_subtype") and nonnum.any():
        sub[nonnum] = upper_text(rows.col("event_subtype", egv).to_numpy()[nonnum])
    low = (word == "LOW") | ((rawv == "") & (sub == "LOW"))
    high = (word == "HIGH") | ((rawv == "") & (sub == "HIGH"))
    cens = low | high
    if units == "mmol/L":
        val = val * MGDL_PER_MMOL
    val[low] = DEXCOM_LOW_MGDL
    val[high] = DEXCOM_HIGH_MGDL
    empty = np.zeros(len(rawv), dtype=bool)
    empty[nonnum] = rawv[nonnum] == ""
    empty &= ~cens
    bad = ~empty & ~cens & ~((val >= PLAUSIBLE_MGDL[0]) & (val <= PLAUSIBLE_MGDL[1]))
    ok = ~(empty | bad)

    idx = np.flatnonzero(egv)
    rows.drop(_scatter(rows.n, idx, empty), REASON_EMPTY_VALUE, "EGV row without a glucose value")
    bad_full = _scatter(rows.n, idx, bad)
    what = np.full(rows.n, None, dtype=object)
    what[bad_full] = [f"impossible glucose value {v!r}" for v in rawv[bad]]
    rows.drop(bad_full, REASON_BAD_VALUE, what)
    rows.keep(_scatter(rows.n, idx, ok))

    censored = np.where(low, CENSORED_LOW, np.where(high, CENSORED_HIGH, None))[ok]
    out = pd.DataFrame(
        {
            "subject": subject,
            "time": times[egv].to_numpy()[ok],
            "glucose_mgdl": val[ok],
            "censored": censored,
            "source": FORMAT,
        }
    )
    tt = to_float(rows.raw("transmitter_time", egv))[ok]
    out["transmitter_time_s"] = pd.array(tt, dtype="Float64").round().astype("Int64")
    if rows.has("transmitter_id"):
        tid = rows.raw("transmitter_id", egv)[ok]
        out["transmitter_id"] = np.where(tid == "", None, tid)
    if len(out) > 1:  # in the order the device measured them (its clock), local time for ties
        local = out["time"].to_numpy(dtype="datetime64[ns]").view("i8")
        clock = device_clock_ns(
            np.zeros(len(out), dtype=np.int64),
            local,
            tt,
            out["transmitter_id"].to_numpy(dtype=object) if "transmitter_id" in out else None,
        )
        order = np.lexsort((local, clock))
        if np.any(order != np.arange(len(out))):
            out = out.iloc[order]
    return out.reset_index(drop=True)


def _scatter(n: int, idx: np.ndarray, sub: np.ndarray) -> np.ndarray:
    out = np.zeros(n, dtype=bool)
    out[idx[np.asarray(sub, dtype=bool)]] = True
    return out


def _events(
    rows: TextRows, et: np.ndarray, mask: np.ndarray, times: pd.Series, subject: str
) -> pd.DataFrame:
    mask = mask & ~rows.handled
    if not mask.any():
        return pd.DataFrame(columns=["subject", "time", "end", "kind"])
    t = et[mask]
    sub = rows.col("event_subtype", mask)
    # free text of a note row: the first non-empty of subtype / info columns
    text = sub.copy()
    joined = sub.copy()
    for key in ("patient_info", "device_info"):
        other = rows.col(key, mask)
        text = text.where(text != "", other)
        joined = joined.str.cat(other, sep=" ")
    insulin = to_float(rows.col("insulin", mask).to_numpy(), decimal_comma=True)
    carbs = to_float(rows.col("carbs", mask).to_numpy(), decimal_comma=True)
    dur = text_to_timedelta(rows.col("duration", mask))
    start = times[mask].to_numpy()

    kind = np.select(
        [t == "INSULIN", t == "CARBS", t == "EXERCISE", t == "HEALTH"],
        ["insulin", "meal", "exercise", "health"],
        default="note",
    ).astype(object)
    is_spu = spu_mask(joined).to_numpy() & isin(kind, ["exercise", "note"])
    kind[is_spu] = "spu"
    end = (pd.Series(start) + pd.Series(dur.to_numpy())).to_numpy()
    spu_len = spu_minutes(joined).to_numpy()
    spu_end = pd.Series(start) + pd.to_timedelta(spu_len, unit="min")
    end = np.where(is_spu & pd.isna(end), spu_end.to_numpy(), end)

    # impossible amounts
    bad = ((t == "INSULIN") & ~(insulin >= 0) & ~np.isnan(insulin)) | (
        (t == "CARBS") & ~(carbs >= 0) & ~np.isnan(carbs)
    )
    idx = np.flatnonzero(mask)
    rows.drop(_scatter(rows.n, idx, bad), REASON_BAD_VALUE, "negative insulin or carb amount")
    amount = implausible(
        carbs_g=np.where(t == "CARBS", carbs, np.nan),
        insulin_u=np.where(t == "INSULIN", insulin, np.nan),
    )
    bad |= amount != None  # noqa: E711
    why = np.full(rows.n, None, dtype=object)
    why[idx] = amount
    rows.drop(_scatter(rows.n, idx, bad), why, "amount out of the plausible range")
    ok = ~bad
    rows.keep(_scatter(rows.n, idx, ok))
    intensity = np.where((kind == "exercise") | (kind == "spu"), sub.to_numpy(), None)
    intensity = np.where(intensity == "", None, intensity)
    label = text.to_numpy().astype(object)
    label = np.where(label == "", None, label)
    out = pd.DataFrame(
        {
            "subject": subject,
            "time": start[ok],
            "end": pd.to_datetime(end[ok]),
            "kind": kind[ok],
            "carbs_g": np.where(t == "CARBS", carbs, np.nan)[ok],
            "insulin_u": np.where(t == "INSULIN", insulin, np.nan)[ok],
            "intensity": intensity[ok],
            "label": label[ok],
            "source": FORMAT,
        }
    )
    return out.sort_values("time", kind="stable").reset_index(drop=True)


SNIFFERS = [(FORMAT, sniff)]
READERS = {FORMAT: read_dexcom}

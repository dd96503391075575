"""Nightscout readers: entries JSON, header-less entries CSV, and treatments JSON.

Time rule (all three formats)
    Nightscout stores instants in UTC. The local wall-clock time is UTC shifted by, in order of
    preference: the offset written in the record's own ``dateString``/``created_at`` (e.g.
    ``+01:00``; a ``Z`` names UTC, not the local zone, so it does not count), the record's
    ``utcOffset`` field (minutes), the caller's ``utc_offset=`` option (minutes, or an IANA
    zone such as ``"Europe/Paris"``, whose offset at each instant is used; ``tz=`` of
    :func:`soleus_analysis.io.read_cgm` gives it), else UTC is kept and one warning says so.

Entries
    Only ``type == "sgv"`` rows become readings (``sgv`` is mg/dL); ``mbg``/``cal`` rows are
    counted as dropped ``"type mbg (meter)"``/``"type cal (calibration)"``. Repeats (same
    ``date`` and ``sgv``, often with different ``_id``) are dropped as ``"duplicate"``.
    Readings are ordered by their UTC instant, kept as ``utc_time_s`` (s since 1970) so the
    clean stage orders them on that clock across a daylight-saving or time-zone change.
    The CSV form has no header: ``dateString,date,sgv,direction,device`` (comma or tab).

Treatments
    ``carbs`` > 0 -> meal; ``insulin`` > 0 -> insulin (one row may give both);
    ``eventType`` ``Exercise`` -> exercise with ``end = time + duration`` (minutes);
    ``Note``/``Announcement``/``Question`` -> note; any treatment whose ``notes`` mention
    SPU/soleus becomes kind ``"spu"`` (with its duration). Other treatments are dropped with
    their ``eventType`` as the reason.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from os import PathLike

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..core.errors import InputError
from ..core.recording import Provenance, Recording
from ..core.schema import DEFAULT_SUBJECT, PLAUSIBLE_MGDL, PLAUSIBLE_UTC_OFFSET_MIN
from .base import (
    EPOCH_MS_RANGE,
    OUT_OF_RANGE_MS,
    check_input_file,
    csv_text,
    cut_fields,
    drop_implausible,
    implausible,
    json_loads,
    minutes_to_timedelta,
    parse_json,
    read_head,
    regex_groups,
    to_ns,
    warn_decoding,
    warn_dropped,
)
from .encoding import read_text, sniff_text
from .spu_text import SPU_RE, spu_minutes

ENTRIES_JSON = "nightscout_entries_json"
ENTRIES_CSV = "nightscout_entries_csv"
TREATMENTS_JSON = "nightscout_treatments_json"

#: Epoch milliseconds beyond this (year 2286) are no time a CGM measured.
MAX_EPOCH_MS = 1e13

_NOTE_TYPES = {"note", "announcement", "question", "openaps offline"}
_EXERCISE_TYPES = {"exercise"}
_CSV_FIRST = re.compile(
    r'^\s*"?\d{4}-\d{2}-\d{2}[T ][^,\t]*"?[,\t]\s*\d{9,14}(?:\.\d+)?[,\t]\s*"?\d', re.M
)


def _is_json_list_head(text: str) -> bool:
    t = text.lstrip()
    return t.startswith("[") or (t.startswith("{") and '"result"' in t[:2000])


def sniff_entries_json(text: str, raw: bytes) -> bool:
    """True for a JSON list whose records carry ``sgv``/``date`` (and no ``eventType``)."""
    return (
        _is_json_list_head(text)
        and '"eventType"' not in text
        and ('"sgv"' in text or '"mbg"' in text)
        and '"date"' in text
    )


def sniff_treatments_json(text: str, raw: bytes) -> bool:
    """True for a JSON list whose records carry ``eventType`` and ``created_at``."""
    return _is_json_list_head(text) and '"eventType"' in text and '"created_at"' in text


def sniff_entries_csv(text: str, raw: bytes) -> bool:
    """True for header-less ``"<ISO time>",<epoch ms>,<sgv>,...`` lines."""
    first = text.lstrip().split("\n", 1)[0]
    return _CSV_FIRST.match(first) is not None


def _load_json(path: str | PathLike, what: str) -> list:
    data = parse_json(read_text(path), path, f"a Nightscout {what} list")
    if isinstance(data, dict) and isinstance(data.get("result"), list):
        data = data["result"]
    if not isinstance(data, list):
        raise InputError(
            f"JSON holds a {type(data).__name__}, expected a list of Nightscout {what}", path
        )
    if not data:
        raise InputError(f"empty JSON list; expected Nightscout {what}", path)
    return data


#: the keys of an entry the readings are made from (the rest of a record is never read)
ENTRY_KEYS = ("date", "dateString", "sysTime", "utcOffset", "type", "sgv", "direction")
#: the dtype pandas gives a column of text (``str`` from pandas 3, object before)
_TEXT_DTYPE = pd.Series(["x"]).dtype
#: beyond this an integer is not exact in float64: such a column takes the general path
_EXACT_INT = 2.0**53


def _plain_column(values: list) -> np.ndarray | pd.api.extensions.ExtensionArray | None:
    """``values`` (one key of every record) as ``DataFrame.from_records`` makes the column,
    for the plain cases only: integers, numbers with ``None``, text with ``None``.

    Returns None for anything else (only ``None``, booleans, lists, objects, mixed text and
    numbers, huge integers, text pyarrow cannot hold), which the caller converts the general way;
    ``tests/test_io_nightscout_speed.py`` checks the two agree on random records.
    """
    kinds = set(map(type, values))
    gaps = type(None) in kinds
    kinds.discard(type(None))
    if not kinds:
        return None
    if kinds <= {int, float}:
        try:
            out = np.array(values, dtype=np.int64 if kinds == {int} and not gaps else np.float64)
        except (OverflowError, TypeError, ValueError):
            return None
        if out.dtype == np.float64 and int in kinds:
            big = np.abs(out[np.isfinite(out)])
            if big.size and big.max() >= _EXACT_INT:
                return None
        return out
    if (
        kinds == {str}
        and isinstance(_TEXT_DTYPE, pd.StringDtype)
        and _TEXT_DTYPE.storage == "pyarrow"
    ):
        try:
            return pd.array(pa.array(values, type=pa.large_string()), dtype=_TEXT_DTYPE)
        except (pa.ArrowException, UnicodeError, TypeError, ValueError):
            return None
    return None


def record_frame(objs: list[dict], keys: Sequence[str]) -> pd.DataFrame:
    """The columns ``keys`` of dict records, as ``DataFrame.from_records(objs)`` has them.

    Only the keys some record holds become columns (in the order of ``keys``); a plain column
    (:func:`_plain_column`) is built straight from its values, the others by pandas.

    Parameters
    ----------
    objs : list of dict
        The records (at least one).
    keys : sequence of str
        The keys wanted.

    Returns
    -------
    DataFrame
        One row per record, index 0..n-1.
    """
    cols: dict[str, object] = {}
    general = []
    for k in keys:
        values = [d.get(k) for d in objs]
        if values.count(None) == len(values) and not any(k in d for d in objs):
            continue
        col = _plain_column(values)
        if col is None:
            general.append(k)
        cols[k] = col
    if general:
        other = pd.DataFrame.from_records(objs)  # not columns=: it converts differently
        cols.update({k: other[k] for k in general})
    return pd.DataFrame(cols, index=pd.RangeIndex(len(objs)))


def _record_keys(objs: list[dict]) -> list[str]:
    """Every key of the records, in the order they first appear (``from_records``' columns)."""
    return list(dict.fromkeys(k for d in objs for k in d))


def _records(
    data: list, path, what: str, keys: Sequence[str] | None = None
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, list[dict]]:
    """Frame of the dict records (vectorised); non-objects counted separately.

    With ``keys`` only those columns are built (:func:`record_frame`). Returns the frame, the
    entry numbers of the non-objects, those of the objects, and the objects.
    """
    is_obj = np.fromiter((isinstance(x, dict) for x in data), bool, len(data))
    if not is_obj.any():
        raise InputError(f"the JSON list holds no objects; expected Nightscout {what}", path)
    objs = [x for x, ok in zip(data, is_obj, strict=True) if ok]
    if any(isinstance(v, dict) for v in objs[0].values()):  # mongoexport --jsonArray
        objs = [_normalise(x) for x in objs]
    if keys is None:
        df = pd.DataFrame.from_records(objs).reset_index(drop=True)
    else:
        df = record_frame(objs, keys)
    entry_no = np.flatnonzero(is_obj) + 1
    return df, np.flatnonzero(~is_obj) + 1, entry_no, objs


def _col(df: pd.DataFrame, name: str, fill=np.nan) -> pd.Series:
    return df[name] if name in df.columns else pd.Series(fill, index=df.index, dtype=object)


def _written_offset_min(stamps: pd.Series) -> pd.Series:
    """Minutes of a ``+hh:mm`` offset written at the end of an ISO string (NaN if none/``Z``)."""
    s = stamps.astype("string").str.strip()
    pattern = r"([+-])(\d{2}):?(\d{2})$"
    text = pa.array(s.array) if isinstance(s.array, pd.arrays.ArrowStringArray) else None
    if text is None:
        text = s.to_numpy(dtype=object, na_value=None)
    fast = regex_groups(text, pattern) if len(s) else None
    if fast is not None:  # RE2 reads the text as re does: one pass in pyarrow
        sign = pc.fill_null(fast[0], "").to_numpy(zero_copy_only=False)
        sign = np.where(sign == "+", 1.0, np.where(sign == "-", -1.0, np.nan))
        hh, mm = (pc.cast(g, pa.float64()).to_numpy(zero_copy_only=False) for g in fast[1:])
        return pd.Series(sign * (hh * 60 + mm), index=stamps.index, dtype="float64")
    m = s.str.extract(pattern)
    sign = m[0].map({"+": 1.0, "-": -1.0})
    mins = pd.to_numeric(m[1], errors="coerce") * 60 + pd.to_numeric(m[2], errors="coerce")
    return (sign * mins).astype("float64")


def _to_utc(values: pd.Series) -> pd.Series:
    """ISO strings with or without offsets -> tz-naive UTC (NaT when unparseable)."""
    s = values.astype("string").str.strip()
    return to_ns(pd.to_datetime(s, format="ISO8601", utc=True, errors="coerce"))


def _local(
    utc: pd.Series,
    written: pd.Series,
    field_offset: pd.Series,
    utc_offset: float | str | None,
    prov: Provenance,
) -> pd.Series:
    """Shift UTC instants to local wall clock by the preferred offset (see module docstring)."""
    off = written.copy()
    fo = pd.to_numeric(field_offset, errors="coerce").astype("float64")
    off = off.fillna(fo)
    if isinstance(utc_offset, str):  # an IANA zone: each instant's own offset in it
        aware = utc.dt.tz_localize("UTC").dt.tz_convert(utc_offset)
        zone_off = (aware.dt.tz_localize(None) - utc).dt.total_seconds() / 60.0
        off = off.fillna(zone_off)
    elif utc_offset is not None:
        off = off.fillna(float(utc_offset))
    # an offset beyond +-18 h is no time zone: the record's time is unknown
    lo, hi = PLAUSIBLE_UTC_OFFSET_MIN
    wild = ((off < lo) | (off > hi)).to_numpy()
    off = off.where(~wild, 0.0)
    none = off.isna() & utc.notna()
    if none.any():
        prov.warn(
            f"{int(none.sum())} records carry no UTC offset and no utc_offset= was given; "
            "times kept in UTC"
        )
    local = utc + pd.to_timedelta(off.fillna(0.0), unit="min")
    return local.where(~wild, pd.NaT)


def _entries_frame(
    df: pd.DataFrame,
    where: np.ndarray,
    unit: str,
    prov: Provenance,
    utc_offset: float | None,
    subject: str,
    source: str,
) -> pd.DataFrame:
    """Readings from an entries frame with columns dateString, date, sgv, type, utcOffset."""
    date_ms = pd.to_numeric(_col(df, "date"), errors="coerce").astype("float64")
    date_str = _col(df, "dateString", None)
    date_ms = date_ms.where(date_ms.abs() < MAX_EPOCH_MS)
    utc = to_ns(pd.to_datetime(date_ms, unit="ms", errors="coerce"))
    # the epoch is authoritative; fall back to dateString (or sysTime) when it is missing
    for alt in ("dateString", "sysTime"):
        if alt in df.columns and utc.isna().any():
            utc = utc.fillna(_to_utc(df[alt]))
    written = _written_offset_min(date_str)
    t = _local(utc, written, _col(df, "utcOffset"), utc_offset, prov)

    kind = _col(df, "type", "sgv").astype("string").fillna("sgv").str.strip().str.lower()
    not_sgv = (kind != "sgv").to_numpy()
    for k in sorted(set(kind[not_sgv])):
        label = {"mbg": "type mbg (meter)", "cal": "type cal (calibration)"}.get(k, f"type {k}")
        prov.drop(label, int((kind == k).sum()))

    sgv = pd.to_numeric(_col(df, "sgv"), errors="coerce").astype("float64").to_numpy()
    bad_t = t.isna().to_numpy() & ~not_sgv
    warn_dropped(prov, "unparseable timestamp", where[bad_t], unit=unit)
    rest = ~not_sgv & ~bad_t
    rest &= drop_implausible(prov, np.where(rest, implausible(times=t), None), where, unit=unit)
    missing = rest & np.isnan(sgv)
    warn_dropped(prov, "missing or non-numeric sgv", where[missing], unit=unit)
    far = rest & ~missing & ((sgv < PLAUSIBLE_MGDL[0]) | (sgv > PLAUSIBLE_MGDL[1]))
    warn_dropped(prov, "implausible sgv", where[far], [f"{v:g}" for v in sgv[far]], unit=unit)
    ok = rest & ~missing & ~far

    out = pd.DataFrame(
        {
            "subject": subject,
            "time": t.to_numpy()[ok],
            "glucose_mgdl": sgv[ok],
            "censored": None,
            "source": source,
            "_utc": utc.to_numpy()[ok],
            "_where": where[ok],
        }
    )
    if "direction" in df.columns:
        out["direction"] = df["direction"].to_numpy()[ok]
    out = out.sort_values("_utc", kind="stable")
    dup = out.duplicated(["_utc", "glucose_mgdl"]).to_numpy()
    n = int(dup.sum())
    prov.drop("duplicate", n)
    if n:
        prov.warn(f"{n} duplicate entries (same date and sgv) removed")
    out = out.loc[~dup].drop(columns=["_where"]).reset_index(drop=True)
    utc_ns = out.pop("_utc").to_numpy(dtype="datetime64[ns]").view("i8")
    out["utc_time_s"] = utc_ns / 1e9  # the instant: orders readings across clock changes
    prov.rows_kept = len(out)
    if out.empty:
        prov.warn("no sgv readings in this file")
    return out


def read_nightscout_entries_json(
    path: str | PathLike, subject: str | None = None, utc_offset: float | None = None
) -> Recording:
    """Read a Nightscout entries JSON export (``/api/v1/entries.json``).

    Parameters
    ----------
    path : str or PathLike
        JSON list of entry objects.
    subject : str, optional
        Subject id; defaults to :data:`~soleus_analysis.core.schema.DEFAULT_SUBJECT` (never the file name).
    utc_offset : float, optional
        Minutes east of UTC, used for records that state no offset of their own.

    Returns
    -------
    Recording
        Readings (``sgv`` in mg/dL, local time, oldest first, with ``direction`` when present).
    """
    check_input_file(path)
    data = _load_json(path, "entries")
    prov = Provenance(path=str(path), format=ENTRIES_JSON, units="mg/dL", rows_read=len(data))
    df, not_obj, entry_no, objs = _records(data, path, "entries", ENTRY_KEYS)
    warn_dropped(prov, "not a JSON object", not_obj, unit="entry")
    if not {"sgv", "date", "dateString"} & set(df.columns):
        raise InputError(
            "entries lack 'sgv' and 'date'/'dateString'; expected Nightscout entries "
            f"(keys found: {', '.join(map(str, _record_keys(objs)[:12]))})",
            path,
        )
    readings = _entries_frame(
        df, entry_no, "entry", prov, utc_offset, subject or DEFAULT_SUBJECT, "nightscout"
    )
    return Recording(readings=readings, provenance=prov.check())


def read_nightscout_entries_csv(
    path: str | PathLike, subject: str | None = None, utc_offset: float | None = None
) -> Recording:
    """Read a header-less Nightscout entries CSV (``dateString,date,sgv,direction,device``).

    Parameters are as for :func:`read_nightscout_entries_json`. All rows are ``sgv`` rows (the
    CSV carries no type). A row with too few fields or a bad value is dropped with its line.
    """
    dec = csv_text(check_input_file(path))
    text = dec.text
    first = text.lstrip().split("\n", 1)[0]
    sep = "\t" if first.count("\t") > first.count(",") else ","
    names = ["dateString", "date", "sgv", "direction", "device"]
    try:
        df = pd.read_csv(
            io.StringIO(cut_fields(text, sep, len(names) + 5)),
            sep=sep,
            header=None,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            names=names + [f"_extra{i}" for i in range(5)],
        ).fillna("")
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"not a readable Nightscout entries CSV ({exc})", path) from exc
    lines = np.arange(1, len(df) + 1)
    blank = (df[names].apply(lambda c: c.str.strip()) == "").all(axis=1).to_numpy()
    df, lines = df.loc[~blank].reset_index(drop=True), lines[~blank]
    if df.empty:
        raise InputError("no data rows; expected dateString,date,sgv,direction,device", path)
    prov = Provenance(path=str(path), format=ENTRIES_CSV, units="mg/dL", rows_read=len(df))
    warn_decoding(prov, dec)
    short = (df["sgv"].str.strip() == "").to_numpy() & (df["date"].str.strip() == "").to_numpy()
    warn_dropped(prov, "too few fields (expected dateString,date,sgv,...)", lines[short])
    df, lines = df.loc[~short].reset_index(drop=True), lines[~short]
    df["type"] = "sgv"
    df["date"] = df["date"].where(df["date"].str.strip() != "")
    readings = _entries_frame(
        df, lines, "line", prov, utc_offset, subject or DEFAULT_SUBJECT, "nightscout"
    )
    prov.rows_kept = len(readings)
    return Recording(readings=readings, provenance=prov.check())


def _num(s: pd.Series) -> np.ndarray:
    return pd.to_numeric(s, errors="coerce").astype("float64").to_numpy()


def read_nightscout_treatments_json(
    path: str | PathLike, subject: str | None = None, utc_offset: float | None = None
) -> Recording:
    """Read a Nightscout treatments JSON export into events.

    Parameters are as for :func:`read_nightscout_entries_json`.

    Returns
    -------
    Recording
        Events: meals (``carbs_g``, g), insulin (``insulin_u``, units), exercise and SPU bouts
        (``end`` from ``duration`` in minutes), notes. No readings.
    """
    check_input_file(path)
    data = _load_json(path, "treatments")
    prov = Provenance(path=str(path), format=TREATMENTS_JSON, rows_read=len(data))
    df, not_obj, entry_no, _ = _records(data, path, "treatments")
    warn_dropped(prov, "not a JSON object", not_obj, unit="entry")
    return _treatments(df, entry_no, prov, utc_offset, subject)


def _treatments(
    df: pd.DataFrame,
    entry_no: np.ndarray,
    prov: Provenance,
    utc_offset: float | None,
    subject: str | None,
    unit: str = "entry",
) -> Recording:
    """Events of a frame of treatment records (``entry_no``: each record's entry or line)."""
    if "created_at" not in df.columns and "timestamp" not in df.columns:
        raise InputError("treatments lack 'created_at'; expected Nightscout treatments", prov.path)
    stamp = _col(df, "created_at", None)
    if "timestamp" in df.columns:
        stamp = stamp.where(stamp.notna(), df["timestamp"].astype("string"))
    utc = _to_utc(stamp)
    t = _local(utc, _written_offset_min(stamp), _col(df, "utcOffset"), utc_offset, prov)

    etype = _col(df, "eventType", "").astype("string").fillna("").str.strip()
    notes = _col(df, "notes", "").astype("string").fillna("").str.strip()
    carbs = _num(_col(df, "carbs"))
    insulin = _num(_col(df, "insulin"))
    duration = _num(_col(df, "duration"))
    etl = etype.str.lower().to_numpy()
    is_spu = (notes.str.contains(SPU_RE) | etype.str.contains(SPU_RE)).to_numpy()
    is_ex = np.isin(etl, list(_EXERCISE_TYPES)) & ~is_spu
    is_note = np.isin(etl, list(_NOTE_TYPES)) & ~is_spu & (notes != "").to_numpy()
    is_meal = carbs > 0
    is_ins = insulin > 0

    bad_t = t.isna().to_numpy()
    warn_dropped(prov, "unparseable timestamp", entry_no[bad_t], unit=unit)
    ok = ~bad_t
    why = implausible(
        times=t,
        carbs_g=carbs,
        insulin_u=insulin,
        duration_min=np.where(duration > 0, duration, np.nan),
    )
    ok &= drop_implausible(prov, np.where(ok, why, None), entry_no, unit="entry")
    tv = t.to_numpy()
    # an SPU bout without a duration takes its minutes from its text ("SPU 30")
    minutes = np.where(duration > 0, duration, np.nan)
    minutes = np.where(
        is_spu & np.isnan(minutes), spu_minutes(notes + " " + etype).to_numpy(), minutes
    )
    end = tv + minutes_to_timedelta(minutes).to_numpy()
    label = np.where(notes != "", notes, etype).astype(object)
    parts = []
    for mask, kind in (
        (is_meal, "meal"),
        (is_ins, "insulin"),
        (is_ex, "exercise"),
        (is_spu, "spu"),
        (is_note, "note"),
    ):
        m = mask & ok
        if m.any():
            parts.append(
                pd.DataFrame(
                    {
                        "time": tv[m],
                        "end": end[m] if kind in ("exercise", "spu") else pd.NaT,
                        "kind": kind,
                        "carbs_g": carbs[m] if kind == "meal" else np.nan,
                        "insulin_u": insulin[m] if kind == "insulin" else np.nan,
                        "label": label[m],
                        "_entry": entry_no[m],
                        "_utc": utc.to_numpy()[m],
                    }
                )
            )
    mapped = (is_meal | is_ins | is_ex | is_spu | is_note) & ok
    for reason, n in pd.Series(etype.to_numpy()[~mapped & ok]).value_counts(sort=False).items():
        prov.drop(str(reason) or "no eventType", int(n))
    if not parts:
        prov.warn("no meal, insulin, exercise, SPU or note treatments in this file")
        return Recording(provenance=prov.check())
    ev = pd.concat(parts, ignore_index=True).sort_values(["_utc", "_entry"], kind="stable")
    # the same treatment uploaded twice (different _id): every event of the entry repeated
    dup = ev.duplicated(["_utc", "kind", "carbs_g", "insulin_u", "label"])
    kept_entries = set(ev.loc[~dup, "_entry"])
    dup_entries = set(ev["_entry"]) - kept_entries
    prov.drop("duplicate", len(dup_entries))
    if dup_entries:
        prov.warn(f"{len(dup_entries)} duplicate treatments removed")
    prov.rows_kept = len(kept_entries)
    events = (
        ev.loc[~dup]
        .drop(columns=["_entry", "_utc"])
        .assign(subject=subject or DEFAULT_SUBJECT, source="nightscout", intensity=None)
    )
    return Recording(events=events.reset_index(drop=True), provenance=prov.check())


# ------------------------------------------------------------------ mongoexport and API v3
MONGOEXPORT = "nightscout_mongoexport"
API_V3 = "nightscout_api_v3"

_EXTENDED = ("$oid", "$date", "$numberLong", "$numberDouble", "$numberInt", "$numberDecimal")


def _plain(value: object) -> object:
    """A MongoDB Extended JSON value as plain JSON: ``{"$oid": x}`` -> x, ``{"$date": ...}``
    -> the ISO string or epoch ms it holds, ``{"$numberLong": "1"}`` -> 1."""
    while isinstance(value, dict) and len(value) == 1 and next(iter(value)) in _EXTENDED:
        key, value = next(iter(value.items()))
        if key != "$oid" and isinstance(value, str) and key != "$date":
            try:
                value = float(value) if key != "$numberLong" else int(value)
            except ValueError:
                return None
    return value


def _parse_json(path: str | PathLike, what: str) -> object:
    """The JSON value of a file; an :class:`InputError` naming ``what`` was expected if none."""
    return parse_json(read_text(path), path, what)


def _epoch_ms(value: object) -> object:
    """An API v3 ``date`` (epoch ms, epoch s or ISO 8601) as epoch ms (None where none)."""
    if isinstance(value, bool):
        return None
    ms = None
    if isinstance(value, int | float):
        ms = value * 1000.0 if abs(value) < 1e11 else value  # seconds, as v3 accepts them
    elif isinstance(value, str):
        t = pd.to_datetime(value, utc=True, errors="coerce", format="ISO8601")
        ms = None if pd.isna(t) else t.timestamp() * 1e3
    if ms is None:
        return None
    try:
        ms = float(ms)  # a JSON integer of any length: too large for a float is out of range
    except OverflowError:
        return OUT_OF_RANGE_MS
    if np.isnan(ms):
        return None
    # a date beyond base.to_ns's range is the out-of-range time (dropped as implausible), and
    # never overflows nanoseconds
    return ms if EPOCH_MS_RANGE[0] <= ms < EPOCH_MS_RANGE[1] else OUT_OF_RANGE_MS


def _utc_iso(ms: float) -> str:
    """Epoch ms as an ISO string ending in ``Z`` (which names UTC, not the local offset)."""
    return pd.Timestamp(ms, unit="ms").strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _normalise(rec: dict) -> dict:
    """One record with Extended JSON unwrapped and ``date``/``created_at`` made usable."""
    out = {k: _plain(v) for k, v in rec.items()}
    if "date" in out:
        out["date"] = _epoch_ms(out["date"])
    if isinstance(out.get("created_at"), int | float) and not isinstance(out["created_at"], bool):
        ms = _epoch_ms(out["created_at"])  # {"$date": <epoch ms>}
        out["created_at"] = None if ms is None else _utc_iso(ms)
    if out.get("created_at") is None and out.get("date") is not None and "eventType" in out:
        ms = out["date"]
        if isinstance(ms, int | float):
            out["created_at"] = _utc_iso(ms)
    return out


def _is_treatment(rec: dict) -> bool:
    return "eventType" in rec or ("created_at" in rec and "sgv" not in rec)


def _read_records(
    records: list[dict],
    where: np.ndarray,
    unit: str,
    prov: Provenance,
    utc_offset: float | None,
    subject: str | None,
) -> Recording:
    """Entries and treatments of normalised records (each with its line or entry number)."""
    treat = np.fromiter((_is_treatment(r) for r in records), bool, len(records))
    readings, events = pd.DataFrame(), pd.DataFrame()
    kept, parts = 0, []
    for mask, what in ((~treat, "entries"), (treat, "treatments")):
        if not mask.any():
            continue
        part = Provenance(path=prov.path, format=prov.format, rows_read=int(mask.sum()))
        chosen = [r for r, m in zip(records, mask, strict=True) if m]
        if what == "entries":
            df = record_frame(chosen, ENTRY_KEYS)
        else:
            df = pd.DataFrame.from_records(chosen)
        if what == "entries":
            readings = _entries_frame(
                df, where[mask], unit, part, utc_offset, subject or DEFAULT_SUBJECT, "nightscout"
            )
        else:
            events = _treatments(df, where[mask], part, utc_offset, subject, unit).events
        kept += part.rows_kept
        parts.append(part)
    for part in parts:
        for reason, n in part.rows_dropped.items():
            prov.drop(reason, n)
        prov.warnings.extend(part.warnings)
    prov.rows_kept = kept
    prov.units = "mg/dL" if len(readings) else ""
    return Recording(readings=readings, events=events, provenance=prov.check())


def sniff_mongoexport(text: str, raw: bytes) -> bool:
    """True for ``mongoexport`` output: one Nightscout JSON object a line (not a list)."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()][:2]
    if not lines or not (lines[0].startswith("{") and lines[0].endswith("}")):
        return False
    try:
        first = json_loads(lines[0])
    except (ValueError, RecursionError):  # JSONDecodeError is a ValueError
        return False
    if not isinstance(first, dict) or "result" in first:
        return False
    nightscout = any(k in first for k in ("sgv", "eventType", "created_at", "dateString"))
    return nightscout and (len(lines) == 1 or lines[1].startswith("{"))


def sniff_api_v3(text: str, raw: bytes) -> bool:
    """True for a Nightscout API v3 response: ``{"status": 200, "result": [...]}``."""
    head = text.lstrip()[:4000]
    return (
        head.startswith("{")
        and re.search(r'"status"\s*:\s*\d+', head) is not None
        and re.search(r'"result"\s*:\s*[\[{]', head) is not None
    )


def read_nightscout_mongoexport(
    path: str | PathLike, subject: str | None = None, utc_offset: float | None = None
) -> Recording:
    """Read ``mongoexport`` output of Nightscout's ``entries`` or ``treatments`` collection.

    One JSON object a line; MongoDB Extended JSON (``{"$oid": ...}``, ``{"$date": ...}``,
    ``{"$numberLong": ...}``) is unwrapped; ``date`` may be a float. Records with ``eventType``
    are treatments, the others entries (a file may hold both). A line that is not JSON is
    dropped (``"not valid JSON"``) with its line number.

    Parameters are as for :func:`read_nightscout_entries_json`.
    """
    text = read_text(check_input_file(path))
    prov = Provenance(path=str(path), format=MONGOEXPORT)
    records, lines, bad, not_obj = [], [], [], []
    for i, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json_loads(line)
        except (ValueError, RecursionError):  # JSONDecodeError is a ValueError
            bad.append(i)
            continue
        if not isinstance(rec, dict):
            not_obj.append(i)
            continue
        records.append(_normalise(rec))
        lines.append(i)
    prov.rows_read = len(records) + len(bad) + len(not_obj)
    if not records:
        raise InputError("no line holds a JSON object; expected mongoexport output", path, 1)
    warn_dropped(prov, "not valid JSON", bad)
    warn_dropped(prov, "not a JSON object", not_obj)
    return _read_records(records, np.asarray(lines), "line", prov, utc_offset, subject)


def read_nightscout_api_v3(
    path: str | PathLike, subject: str | None = None, utc_offset: float | None = None
) -> Recording:
    """Read a saved Nightscout API v3 response (``/api/v3/entries``, ``/treatments``, history).

    ``{"status": 200, "result": [...]}``: documents carry ``identifier``, ``date`` (epoch ms, s
    or ISO), ``utcOffset`` (minutes), ``srvModified``. A document whose ``identifier`` repeats
    (history holds every version) stands by its latest version (``srvModified``), the older ones
    dropped as ``"duplicate identifier"``; a latest version marked deleted (``isValid: false``)
    is dropped as ``"deleted (isValid false)"``.

    Parameters are as for :func:`read_nightscout_entries_json`.
    """
    data = _parse_json(check_input_file(path), "an API v3 response")
    if not isinstance(data, dict) or "result" not in data:
        raise InputError('expected an API v3 response {"status": 200, "result": [...]}', path)
    if data.get("status") not in (200, None):
        raise InputError(f"the API answered status {data.get('status')!r}, not 200: no data", path)
    result = data["result"]
    docs = result if isinstance(result, list) else [result]
    if not docs:
        raise InputError("the API v3 response holds no documents", path)
    prov = Provenance(path=str(path), format=API_V3, rows_read=len(docs))
    is_obj = np.fromiter((isinstance(d, dict) for d in docs), bool, len(docs))
    warn_dropped(prov, "not a JSON object", np.flatnonzero(~is_obj) + 1, unit="entry")
    number = np.flatnonzero(is_obj) + 1
    recs = [_normalise(d) for d in docs if isinstance(d, dict)]
    # identifiers as text (a document may lack one, or carry a number or an object instead)
    ident = pd.Series(
        [None if r.get("identifier") is None else str(r.get("identifier")) for r in recs],
        dtype=object,
    )
    modified = pd.to_numeric(pd.Series([r.get("srvModified") for r in recs]), errors="coerce")
    # the latest version of each document stands for it (history holds several versions)
    order = np.lexsort((-modified.fillna(-np.inf).to_numpy(), ident.fillna("").to_numpy(dtype=str)))
    repeat = np.zeros(len(recs), dtype=bool)
    repeat[order] = (ident.iloc[order].duplicated() & ident.iloc[order].notna()).to_numpy()
    warn_dropped(prov, "duplicate identifier", number[repeat], unit="entry")
    deleted = ~repeat & np.fromiter((r.get("isValid") is False for r in recs), bool, len(recs))
    warn_dropped(prov, "deleted (isValid false)", number[deleted], unit="entry")
    keep = ~deleted & ~repeat
    if not keep.any():
        prov.warn("every document is deleted or repeated")
        return Recording(provenance=prov.check())
    return _read_records(
        [r for r, k in zip(recs, keep, strict=True) if k],
        number[keep],
        "entry",
        prov,
        utc_offset,
        subject,
    )


def read_nightscout(
    path: str | PathLike, subject: str | None = None, utc_offset: float | None = None
) -> Recording:
    """Read any Nightscout export (entries JSON/CSV or treatments JSON), sniffed by content.

    Parameters
    ----------
    path : str or PathLike
        The export.
    subject : str, optional
        Subject id; defaults to :data:`~soleus_analysis.core.schema.DEFAULT_SUBJECT` (never the file name).
    utc_offset : float, optional
        Minutes east of UTC for records without an offset of their own.
    """
    raw = read_head(path)
    text = sniff_text(raw)
    for name, sniff in SNIFFERS:
        if sniff(text, raw):
            return READERS[name](path, subject=subject, utc_offset=utc_offset)
    if _is_json_list_head(text) or text.lstrip().startswith("{"):
        return read_nightscout_entries_json(path, subject=subject, utc_offset=utc_offset)
    raise InputError("not a Nightscout export; expected entries JSON/CSV or treatments JSON", path)


SNIFFERS = [
    (API_V3, sniff_api_v3),
    (MONGOEXPORT, sniff_mongoexport),
    (TREATMENTS_JSON, sniff_treatments_json),
    (ENTRIES_JSON, sniff_entries_json),
    (ENTRIES_CSV, sniff_entries_csv),
]
READERS = {
    ENTRIES_JSON: read_nightscout_entries_json,
    ENTRIES_CSV: read_nightscout_entries_csv,
    TREATMENTS_JSON: read_nightscout_treatments_json,
    MONGOEXPORT: read_nightscout_mongoexport,
    API_V3: read_nightscout_api_v3,
}

"""Apple Health ``export.xml``: blood-glucose records, carbohydrate records, insulin and workouts.

Read as the Health app writes it: ``export.zip`` (``apple_health_export/export.xml`` streamed
from the archive, never extracted) or the ``export.xml`` itself, UTF-8 or UTF-16 (expat reads
the bytes and their BOM or declaration), with or without an XML declaration.

The export is parsed streaming with a hardened expat parser (refusing like :mod:`defusedxml`,
with its exception types, acting only on the elements that matter): memory does not grow
with the file, the internal DTD real exports begin with is allowed, but any entity declaration
(e.g. "billion laughs") or external reference (an external DTD or entity, XXE) is refused with
an :class:`~soleus_analysis.core.errors.InputError` before anything is expanded or fetched.

Rows
    A "row" is a top-level ``<Record>`` or ``<Workout>`` element (children of ``<HealthData>``).
    Records nested inside ``<Correlation>`` elements repeat top-level records and are not counted;
    other top-level elements (``ExportDate``, ``Me``, ``ActivitySummary``, ...) are not rows.

Kept
    - ``HKQuantityTypeIdentifierBloodGlucose`` -> readings (``mg/dL`` or ``mmol<180.15...>/L``,
      converted with :data:`~soleus_analysis.core.schema.MGDL_PER_MMOL`);
    - ``HKQuantityTypeIdentifierDietaryCarbohydrates`` (g) -> one ``meal`` event per start time
      (records with the same start time summed);
    - ``HKQuantityTypeIdentifierInsulinDelivery`` (IU) -> ``insulin`` events;
    - ``<Workout>`` -> ``exercise`` events labelled with the activity type without its
      ``HKWorkoutActivityType`` prefix, or ``spu`` when its metadata mentions soleus/SPU.

Dropped (reason in provenance)
    ``"other record type"`` (heart rate, steps, mindful minutes, ...; per-type counts in
    ``provenance.metadata["other_record_types"]``, the first :data:`MAX_OTHER_TYPES` types by
    name), and single bad records: ``"impossible
    timestamp"``, ``"bad value"``, ``"impossible glucose value"``, ``"unknown unit"``.

Times are the wall clock in each record's own UTC offset, offset dropped (the canonical local time).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from os import PathLike
from pathlib import Path
from typing import IO, Any
from xml.parsers import expat

import numpy as np
import pandas as pd
from defusedxml import DefusedXmlException, EntitiesForbidden, ExternalReferenceForbidden

from ..core.errors import InputError
from ..core.recording import Provenance, Recording
from ..core.schema import DEFAULT_SUBJECT, DEVICE_UNITS, MGDL_PER_MMOL
from .base import (
    ZIP_ERRORS,
    check_input_file,
    drop_implausible,
    implausible,
    minutes_to_timedelta,
    read_head,
    to_ns,
    warn_dropped,
)
from .encoding import sniff_text
from .spu_text import SPU_RE

FORMAT = "apple_health"
SOURCE = "apple_health"

GLUCOSE = "HKQuantityTypeIdentifierBloodGlucose"
CARBS = "HKQuantityTypeIdentifierDietaryCarbohydrates"
INSULIN = "HKQuantityTypeIdentifierInsulinDelivery"
WORKOUT_PREFIX = "HKWorkoutActivityType"

#: Plausible glucose range (mg/dL, exclusive lower, inclusive upper).
GLUCOSE_RANGE_MGDL: tuple[float, float] = (0.0, 1000.0)

#: Distinct other record types counted by name in ``metadata["other_record_types"]``; the
#: records of further types are counted together under :data:`OTHER_TYPES_REST` (real exports
#: hold a few hundred types; a file with millions would otherwise hold them all in memory).
MAX_OTHER_TYPES = 10_000
OTHER_TYPES_REST = "(other types beyond the first 10,000)"

#: Records of one type collected as strings before being compacted into typed arrays.
_CHUNK = 50_000

_DATE_RE = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?: ?[+-]\d{2}:?\d{2}| ?Z)?"
_DURATION_MIN = {"min": 1.0, "s": 1 / 60, "sec": 1 / 60, "hr": 60.0, "h": 60.0, "ms": 1 / 60000}


# --------------------------------------------------------------------------- sniffing
#: How an XML head may begin (declaration, DOCTYPE, comment or the document element itself).
_XML_STARTS = ("<?xml", "<!DOCTYPE", "<!--", "<HealthData")


def sniff(text: str, raw: bytes) -> bool:
    """True when the head is XML (UTF-8 or UTF-16, with or without a declaration) whose
    document element (or DOCTYPE) is ``HealthData``.

    ``text`` is the head decoded by the one decoder (:func:`~.encoding.sniff_text`: BOM
    removed, UTF-16 told by its BOM or NUL pattern); the file itself is handed to expat as
    bytes, which reads UTF-16 natively.
    """
    head = text.lstrip(" \t\r\n\ufeff")
    return head.startswith(_XML_STARTS) and "HealthData" in head[:65536]


def _export_member(zf: zipfile.ZipFile) -> str | None:
    """The ``export.xml`` inside Apple's ``export.zip`` (``apple_health_export/export.xml``
    preferred), or ``None``."""
    names = [n for n in zf.namelist() if n.rsplit("/", 1)[-1] == "export.xml"]
    if not names:
        return None
    return min(names, key=lambda n: (n != "apple_health_export/export.xml", n.count("/"), n))


def sniff_zip(zf: zipfile.ZipFile) -> bool:
    """True for a zip holding an ``export.xml`` whose head is Apple Health's."""
    name = _export_member(zf)
    if name is None:
        return False
    with zf.open(name) as fh:
        return sniff(sniff_text(fh.read(65536)), b"")


SNIFFERS = [(FORMAT, sniff)]
ZIP_SNIFFERS = [(FORMAT, sniff_zip)]


# --------------------------------------------------------------------------- hardened parser
#: Bytes handed to expat per call (the parser keeps only an unfinished token between calls).
_READ_BYTES = 1 << 20


class _NotHealth(Exception):
    def __init__(self, tag: str, line: int) -> None:
        super().__init__(tag)
        self.tag, self.line = tag, line


def _hardened_parser() -> Any:
    """Expat parser that allows an internal DTD but refuses external DTDs and all entities.

    Configured like ElementTree's parser (namespace separator ``}``) with the refusals of
    :mod:`defusedxml` (its exception types): any entity declaration (general or parameter,
    parsed or unparsed), any external entity reference and a DOCTYPE with a SYSTEM/PUBLIC id
    raise before anything is expanded or fetched; parameter entities are never parsed.
    """
    parser = expat.ParserCreate(None, "}")

    def refuse_entity_decl(
        name: str,
        is_parameter_entity: bool,
        value: str | None,
        base: str | None,
        sysid: str | None,
        pubid: str | None,
        notation_name: str | None,
    ) -> None:
        raise EntitiesForbidden(name, value, base, sysid, pubid, notation_name)

    def refuse_unparsed_entity_decl(
        name: str, base: str | None, sysid: str | None, pubid: str | None, notation: str | None
    ) -> None:
        raise EntitiesForbidden(name, None, base, sysid, pubid, notation)

    def refuse_external_entity_ref(
        context: str | None, base: str | None, sysid: str | None, pubid: str | None
    ) -> None:
        raise ExternalReferenceForbidden(context, base, sysid, pubid)

    def refuse_external_dtd(
        name: str, sysid: str | None, pubid: str | None, has_internal: bool
    ) -> None:
        if sysid or pubid:
            raise ExternalReferenceForbidden(None, None, sysid, pubid)

    def undefined_entity(name: str, is_parameter_entity: bool) -> None:
        # a reference expat had to skip (only possible after an unread parameter entity)
        if not is_parameter_entity:
            line, col = parser.ErrorLineNumber, parser.ErrorColumnNumber
            err = expat.ExpatError(f"undefined entity &{name};: line {line}, column {col}")
            err.code, err.lineno, err.offset = 11, line, col  # XML_ERROR_UNDEFINED_ENTITY
            raise err

    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.EntityDeclHandler = refuse_entity_decl
    parser.UnparsedEntityDeclHandler = refuse_unparsed_entity_decl
    parser.ExternalEntityRefHandler = refuse_external_entity_ref
    parser.StartDoctypeDeclHandler = refuse_external_dtd
    parser.SkippedEntityHandler = undefined_entity
    return parser


@contextmanager
def _open_export(path: str | PathLike) -> Iterator[IO[bytes]]:
    """Open ``export.xml`` directly or inside Apple's ``export.zip``."""
    p = Path(path)
    if read_head(p, 4).startswith(b"PK"):
        try:
            zf = zipfile.ZipFile(p)
        except ZIP_ERRORS as err:
            raise InputError(
                f"a zip archive that cannot be opened ({type(err).__name__}: corrupt or "
                "truncated); expected Apple Health's export.zip",
                p,
            ) from None
        with zf:
            name = _export_member(zf)
            if name is None:
                raise InputError(
                    "zip archive without an export.xml (expected Apple's export.zip)", p
                )
            try:
                fh = zf.open(name)  # streamed from the archive, never extracted
            except ZIP_ERRORS as err:
                raise InputError(
                    f"a zip archive whose export.xml cannot be read ({type(err).__name__}: "
                    "corrupt or truncated); expected Apple Health's export.zip",
                    p,
                ) from None
            with fh:
                yield fh
    else:
        with open(p, "rb") as fh:
            yield fh


# --------------------------------------------------------------------------- streaming scan
def _attrs(att: list[str]) -> dict[str, str]:
    """Expat's ordered attribute list ``[name, value, ...]`` -> dict (names are unique)."""
    return dict(zip(att[::2], att[1::2], strict=True))


def _scan(path: str | PathLike) -> dict[str, Any]:
    """Stream the export once; return raw attribute lists of the rows that matter.

    Expat calls back on every element start; only top-level (depth 2) ``Record``/``Workout``
    starts and ``MetadataEntry`` starts inside a top-level insulin record or workout do any
    work. Element ends only need counting (for the depth), so the end callback is the C
    ``list.append`` of ``ends``, emptied at the next start.
    """
    glucose: dict[str, list] = {"line": [], "date": [], "value": [], "unit": []}
    carbs: dict[str, list] = {"line": [], "date": [], "value": [], "unit": []}
    insulin: dict[str, list] = {"line": [], "date": [], "value": [], "unit": [], "reason": []}
    workouts: dict[str, list] = {
        "line": [],
        "start": [],
        "end": [],
        "type": [],
        "duration": [],
        "unit": [],
        "meta": [],
    }
    other: dict[str, int] = {}
    chunks: dict[str, list[pd.DataFrame]] = {"glucose": [], "carbs": [], "insulin": []}
    chunk = _CHUNK
    parser = _hardened_parser()
    ends: list[str] = []
    depth = 0  # element depth of the latest start (root = 1)
    cur = 0  # top-level element being read: 0 other, 1 insulin record, 2 workout
    ins_reason, w_meta = insulin["reason"], workouts["meta"]
    quantity = {GLUCOSE: ("glucose", glucose), CARBS: ("carbs", carbs)}

    def flush(key: str, dest: dict[str, list]) -> None:  # keep memory small: typed arrays
        chunks[key].append(_compact(dest, key == "glucose"))
        for v in dest.values():
            v.clear()

    def add_quantity(key: str, dest: dict[str, list], attrs: dict[str, str]) -> None:
        if len(dest["line"]) >= chunk:
            flush(key, dest)
        dest["line"].append(parser.CurrentLineNumber)
        dest["date"].append(attrs.get("startDate", ""))
        dest["value"].append(attrs.get("value", ""))
        dest["unit"].append(attrs.get("unit", ""))

    def start(tag: str, att: list[str]) -> None:  # att: [name, value, name, value, ...]
        nonlocal depth, cur
        if ends:
            depth -= len(ends)
            ends.clear()
        depth += 1
        if depth == 2:
            cur = 0
            if tag == "Record":
                # exports write ``type`` first; else look it up among the names (even places)
                rtype = att[1] if att and att[0] == "type" else _attrs(att).get("type", "")
                q = quantity.get(rtype)
                if q is not None:
                    add_quantity(q[0], q[1], _attrs(att))
                elif rtype == INSULIN:
                    add_quantity("insulin", insulin, _attrs(att))
                    ins_reason.append("")
                    cur = 1
                else:
                    count = other.get(rtype)
                    if count is not None:
                        other[rtype] = count + 1
                    elif len(other) < MAX_OTHER_TYPES:
                        other[rtype] = 1
                    else:  # memory stays bounded however many distinct types a file holds
                        other[OTHER_TYPES_REST] = other.get(OTHER_TYPES_REST, 0) + 1
            elif tag == "Workout":
                attrs = _attrs(att)
                workouts["line"].append(parser.CurrentLineNumber)
                workouts["start"].append(attrs.get("startDate", ""))
                workouts["end"].append(attrs.get("endDate", ""))
                workouts["type"].append(attrs.get("workoutActivityType", ""))
                workouts["duration"].append(attrs.get("duration", ""))
                workouts["unit"].append(attrs.get("durationUnit", "min"))
                w_meta.append("")
                cur = 2
        elif cur and tag == "MetadataEntry" and depth > 2:
            attrs = _attrs(att)
            if cur == 1:
                if attrs.get("key") == "HKInsulinDeliveryReason":
                    ins_reason[-1] = attrs.get("value", "")
            else:
                entry = f"{attrs.get('key', '')}={attrs.get('value', '')}"
                w_meta[-1] = f"{w_meta[-1]} {entry}" if w_meta[-1] else entry
        elif depth == 1 and tag != "HealthData":
            name = "{" + tag if "}" in tag else tag  # ElementTree's spelling of a namespace
            raise _NotHealth(name, parser.CurrentLineNumber)

    parser.ordered_attributes = True  # a flat list is cheaper to build than a dict
    parser.StartElementHandler = start
    parser.EndElementHandler = ends.append
    with _open_export(path) as fh:
        try:
            while data := fh.read(_READ_BYTES):
                parser.Parse(data, False)
            parser.Parse(b"", True)
        except _NotHealth as err:
            raise InputError(
                f"XML document element is <{err.tag}>; expected Apple Health <HealthData>",
                path,
                err.line,
            ) from None
        except DefusedXmlException as err:
            raise InputError(
                "refused: the XML declares an entity or references an external resource "
                f"({type(err).__name__}); Apple Health exports have neither, so nothing was "
                "expanded or fetched",
                path,
                parser.CurrentLineNumber,
            ) from None
        except (LookupError, ValueError) as err:  # an encoding expat does not know or take
            raise InputError(
                f"XML in an unsupported encoding ({err}); expected UTF-8 or UTF-16",
                path,
                parser.CurrentLineNumber,
            ) from None
        except ZIP_ERRORS as err:  # reading the archive's member (the file itself: none)
            raise InputError(f"corrupt zip archive ({type(err).__name__}: {err})", path) from None
        except expat.ExpatError as err:
            raise InputError(
                f"malformed or truncated XML ({err}); expected a complete Apple Health export.xml",
                path,
                err.lineno,
            ) from None
    if depth == 0:
        raise InputError("no XML elements; expected an Apple Health export.xml", path, 1)
    for key, rest in (("glucose", glucose), ("carbs", carbs), ("insulin", insulin)):
        if len(rest["line"]) >= chunk:
            flush(key, rest)
        chunks[key].append(_compact(rest, key == "glucose"))
    return {
        "glucose": pd.concat(chunks["glucose"], ignore_index=True),
        "carbs": pd.concat(chunks["carbs"], ignore_index=True),
        "insulin": pd.concat(chunks["insulin"], ignore_index=True),
        "workouts": workouts,
        "other": other,
    }


# --------------------------------------------------------------------------- vectorised conversion
def parse_local_times(values: pd.Series) -> pd.Series:
    """Parse Apple Health dates (``2024-01-09 12:30:00 +0100``) to local wall-clock time.

    The offset is dropped: the result is the clock time where the record was made (tz-naive).
    Anything else becomes ``NaT``.
    """
    s = pd.Series(values, dtype="object").astype(str).str.strip()
    ok = s.str.fullmatch(_DATE_RE)
    out = pd.to_datetime(s.str.slice(0, 19).where(ok), format="%Y-%m-%d %H:%M:%S", errors="coerce")
    return to_ns(out)


def parse_utc_offsets(values: pd.Series) -> pd.Series:
    """Minutes east of UTC written at the end of Apple Health dates (``+0100`` -> 60, ``Z`` ->
    0); NaN where a date carries none."""
    s = pd.Series(values, dtype="object").astype(str).str.strip()
    m = s.str.extract(r"([+-])(\d{2}):?(\d{2})$|(Z)$")
    sign = np.where(m[0] == "-", -1.0, 1.0)
    mins = pd.to_numeric(m[1], errors="coerce") * 60 + pd.to_numeric(m[2], errors="coerce")
    out = pd.Series(sign * mins.to_numpy(dtype=float), index=s.index)
    return out.where(m[3].isna(), 0.0)


def _frame(raw: dict[str, list]) -> pd.DataFrame:
    """Lists of attribute strings -> DataFrame (object columns, int ``line``), also when empty."""
    return pd.DataFrame(
        {k: pd.Series(v, dtype="int64" if k == "line" else object) for k, v in raw.items()}
    )


def _compact(raw: dict[str, list], offsets: bool = False) -> pd.DataFrame:
    """Attribute strings of quantity records -> typed columns (``time``, ``num``, categories;
    with ``offsets`` also ``utc_offset_min``, minutes east of UTC)."""
    df = _frame(raw)
    date = df.pop("date")
    df["time"] = parse_local_times(date)
    if offsets:
        df["utc_offset_min"] = parse_utc_offsets(date).astype("float32")
    df["num"] = pd.to_numeric(df.pop("value"), errors="coerce").astype("float64")
    for c in ("unit", "reason"):
        if c in df:
            df[c] = df[c].astype(str).astype("category")
    return df


def _quantity_frame(df: pd.DataFrame, prov: Provenance) -> pd.DataFrame:
    """Records with a valid time and numeric value; bad rows dropped into ``prov``."""
    bad_t = df["time"].isna().to_numpy()
    bad_v = ~bad_t & ~np.isfinite(df["num"].to_numpy(dtype=float))
    warn_dropped(prov, "impossible timestamp", df["line"].to_numpy()[bad_t], "startDate")
    warn_dropped(prov, "bad value", df["line"].to_numpy()[bad_v], "value is not a number")
    when = np.where(bad_t | bad_v, None, implausible(times=df["time"]))
    return df.loc[~(bad_t | bad_v) & drop_implausible(prov, when, df["line"].to_numpy())]


def _glucose_readings(raw: pd.DataFrame, subject: str, prov: Provenance) -> pd.DataFrame:
    df = _quantity_frame(raw, prov)
    unit = df["unit"].astype(str).str.strip()
    is_mg = unit.str.lower().eq("mg/dl")
    is_mmol = unit.str.lower().str.startswith("mmol") & unit.str.endswith("/L")
    bad_u = ~(is_mg | is_mmol)
    if bad_u.any():
        warn_dropped(
            prov, "unknown unit", df.loc[bad_u, "line"].to_numpy(), "expected mg/dL or mmol/L"
        )
    mgdl = np.where(is_mmol, df["num"] * MGDL_PER_MMOL, df["num"])
    lo, hi = GLUCOSE_RANGE_MGDL
    bad_g = ~bad_u & ~((mgdl > lo) & (mgdl <= hi))
    if bad_g.any():
        warn_dropped(
            prov,
            "impossible glucose value",
            df.loc[bad_g, "line"].to_numpy(),
            f"outside {lo:g}-{hi:g} mg/dL",
        )
    keep = ~(bad_u | bad_g)
    units = sorted({"mg/dL" if m else "mmol/L" for m in is_mg[keep]})
    prov.units = "+".join(units)
    return pd.DataFrame(
        {
            "subject": subject,
            "time": df.loc[keep, "time"].to_numpy(),
            "glucose_mgdl": mgdl[keep.to_numpy()],
            "censored": None,
            "source": SOURCE,
            DEVICE_UNITS: np.where(is_mmol[keep].to_numpy(), "mmol/L", "mg/dL").astype(object),
            # the instant (s since 1970), where the date gave its offset: orders readings
            # across a daylight-saving or time-zone change
            "utc_time_s": (
                df.loc[keep, "time"].to_numpy(dtype="datetime64[ns]").view("i8") / 1e9
                - 60.0 * df.loc[keep, "utc_offset_min"].to_numpy(dtype=np.float64)
            ),
        }
    )


def _carb_events(raw: pd.DataFrame, subject: str, prov: Provenance) -> pd.DataFrame:
    df = _quantity_frame(raw, prov)
    bad = (df["num"] < 0) | (implausible(carbs_g=df["num"]) != None)  # noqa: E711
    if bad.any():
        warn_dropped(prov, "bad value", df.loc[bad, "line"].to_numpy(), "negative carbohydrates")
        df = df.loc[~bad]
    g = df.groupby("time", sort=True)["num"].agg(["sum", "size"]).reset_index()
    return pd.DataFrame(
        {
            "subject": subject,
            "time": g["time"].to_numpy(),
            "end": pd.NaT,
            "kind": "meal",
            "carbs_g": g["sum"].to_numpy(dtype=float),
            "label": None,
            "source": SOURCE,
            "n_items": g["size"].to_numpy(dtype=int),
        }
    )


def _insulin_events(raw: pd.DataFrame, subject: str, prov: Provenance) -> pd.DataFrame:
    df = _quantity_frame(raw, prov)
    df = df.loc[drop_implausible(prov, implausible(insulin_u=df["num"]), df["line"].to_numpy())]
    reason = df["reason"].astype(str).map({"1": "basal", "2": "bolus"})
    return pd.DataFrame(
        {
            "subject": subject,
            "time": df["time"].to_numpy(),
            "end": pd.NaT,
            "kind": "insulin",
            "insulin_u": df["num"].to_numpy(dtype=float),
            "label": reason.to_numpy(dtype=object),
            "source": SOURCE,
            "n_items": 1,
        }
    )


def _workout_events(raw: dict[str, list], subject: str, prov: Provenance) -> pd.DataFrame:
    df = _frame(raw)
    start = parse_local_times(df["start"])
    end = parse_local_times(df["end"])
    minutes = pd.to_numeric(df["duration"], errors="coerce") * df["unit"].map(_DURATION_MIN)
    end = end.where(end.notna(), start + minutes_to_timedelta(minutes).to_numpy())
    bad_t = (start.isna() | end.isna() | (end < start)).to_numpy()
    warn_dropped(
        prov, "impossible timestamp", df["line"].to_numpy()[bad_t], "workout startDate/endDate"
    )
    span = ((end - start).dt.total_seconds() / 60).to_numpy()
    why = np.where(bad_t, None, implausible(times=start, duration_min=span))
    ok = ~bad_t & drop_implausible(prov, why, df["line"].to_numpy())
    df, start, end = df.loc[ok], start[ok], end[ok]
    activity = df["type"].str.replace(WORKOUT_PREFIX, "", regex=False)
    is_spu = df["meta"].str.contains(SPU_RE) | df["type"].str.contains(SPU_RE)
    return pd.DataFrame(
        {
            "subject": subject,
            "time": start.to_numpy(),
            "end": end.to_numpy(),
            "kind": np.where(is_spu, "spu", "exercise"),
            "label": activity.to_numpy(dtype=object),
            "source": SOURCE,
            "n_items": 1,
        }
    )


def read_apple_health(path: str | PathLike, subject: str | None = None) -> Recording:
    """Read an Apple Health ``export.xml`` (or Apple's ``export.zip``) streaming.

    Parameters
    ----------
    path : str or PathLike
        The ``export.xml`` file (or the ``export.zip`` holding it).
    subject : str, optional
        Subject id for every row; defaults to :data:`~soleus_analysis.core.schema.DEFAULT_SUBJECT` (never the file name).

    Returns
    -------
    Recording
        ``readings``: blood-glucose records in mg/dL at local wall-clock time;
        ``events``: meals (carbohydrate records summed per start time, ``carbs_g`` in g, extra
        column ``n_items``), insulin deliveries (``insulin_u`` in IU) and workouts
        (``exercise``/``spu`` with ``end``); ``provenance`` with rows = top-level Record and
        Workout elements.

    Raises
    ------
    InputError
        For an empty, truncated or malformed file (with the line), a document that is not
        ``<HealthData>``, or any entity declaration / external reference (nothing is expanded).
    """
    p = check_input_file(path)
    if p.stat().st_size == 0:
        raise InputError("the file is empty; expected an Apple Health export.xml", p)
    subj = subject or DEFAULT_SUBJECT
    raw = _scan(p)
    prov = Provenance(path=str(p), format=FORMAT)
    n_other = sum(raw["other"].values())
    prov.rows_read = (
        len(raw["glucose"])
        + len(raw["carbs"])
        + len(raw["insulin"])
        + len(raw["workouts"]["line"])
        + n_other
    )
    prov.drop("other record type", n_other)
    prov.metadata["other_record_types"] = dict(raw["other"])
    readings = _glucose_readings(raw["glucose"], subj, prov)
    carbs = _carb_events(raw["carbs"], subj, prov)
    events = pd.concat(
        [
            f
            for f in (
                carbs,
                _insulin_events(raw["insulin"], subj, prov),
                _workout_events(raw["workouts"], subj, prov),
            )
            if len(f)
        ]
        or [carbs],
        ignore_index=True,
    )
    prov.rows_kept = (
        len(readings) + int(carbs["n_items"].sum()) + int((events["kind"] != "meal").sum())
    )
    if prov.rows_read == 0:
        raise InputError(
            "no Record or Workout elements; expected an Apple Health export with data", p
        )
    readings = readings.sort_values("time", kind="stable").reset_index(drop=True)
    events = events.sort_values("time", kind="stable").reset_index(drop=True)
    events["n_items"] = events["n_items"].astype("int64")
    return Recording(readings=readings, events=events, provenance=prov.check())


READERS = {FORMAT: read_apple_health}

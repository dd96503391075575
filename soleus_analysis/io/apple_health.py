"""Apple Health ``export.xml``: blood-glucose records, carbohydrate records, insulin and workouts.

Read as the Health app writes it: ``export.zip`` (``apple_health_export/export.xml`` streamed
from the archive, never extracted) or the ``export.xml`` itself, UTF-8 or UTF-16 (expat reads
the bytes and their BOM or declaration), with or without an XML declaration.

The export is parsed streaming with a hardened expat parser (refusing like :mod:`defusedxml`,
with its exception types, acting only on the elements that matter): memory does not grow
with the file, the internal DTD real exports begin with is allowed, but any entity declaration
(e.g. "billion laughs") or external reference (an external DTD or entity, XXE) is refused with
an :class:`~soleus_analysis.core.errors.InputError` before anything is expanded or fetched.

Two engines (``read_apple_health(..., engine=...)``), one result:

- ``"fast"`` (default, issue 14): the hardened expat parser reads the prolog (declaration, DTD:
  the refusals above, line for line) and the root start tag; the body is then scanned in 2 MB
  reads with numpy and ``bytes`` operations: one pass finds every byte that matters (control
  bytes, quotes, ``&``, ``<``, ``>``), then every tag is located, its depth, the balance and
  names of start and end tags (names compared as 8-byte words, the few distinct ones
  remembered), quotes (each value written ``name="value"``, nothing but a name before the
  ``=``, no ``xmlns=``), entities (only the five predefined), control bytes and UTF-8 checked;
  top-level records counted by type without being parsed; glucose and carbohydrate start tags
  read vectorised (when the tags of a kind share a layout, their values are cut at their quotes
  straight into Arrow strings, no Python string per record; else Arrow's regular expressions
  over strict start tags), compacted into typed columns every 16k rows, and insulin records and
  workouts parsed by expat, element by element. Anything outside the plain UTF-8
  form the Health app writes (UTF-16, another declared encoding, comments, CDATA, processing
  instructions, character references, ``ATTLIST`` defaults or non-CDATA types, namespaces,
  tabs, a line break inside a tag, text with ``>``, a record whose first attribute is not
  ``type="..."``, an element over 64 MB) or malformed is handed to the expat engine,
  which gives its exact result or its exact error. Not checked by the byte scan (expat would
  refuse them): the syntax of attribute names inside records that are not read (heart rate,
  steps, ...), e.g. a stray ``%`` in a name or a repeated attribute there; nothing in them is
  read, expanded or fetched.
- ``"expat"``: the whole file through the hardened parser (the reference, 2-4x slower).

``tests/test_apple_fast_scan.py`` checks that both give the same recording or the same error on
every fixture, generated variants and fuzzed mutants.

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

import re
import zipfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from os import PathLike
from pathlib import Path
from typing import IO, Any
from xml.parsers import expat

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
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
from .encoding import UTF8, detect_encoding, sniff_text
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
_CHUNK = 16_384
#: Arrow's allocations here go to the system allocator, whose freed memory the reader's numpy
#: arrays reuse (Arrow's default pool keeps pages of its own: ~15 MB more peak RSS, MB).
_POOL = pa.system_memory_pool()

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


# --------------------------------------------------------------------------- what a scan collects
def _attrs(att: list[str]) -> dict[str, str]:
    """Expat's ordered attribute list ``[name, value, ...]`` -> dict (names are unique)."""
    return dict(zip(att[::2], att[1::2], strict=True))


class _Rows:
    """The rows that matter, as either scan collects them (expat's callbacks call :meth:`start`).

    Only top-level (depth 2) ``Record``/``Workout`` starts and ``MetadataEntry`` starts inside a
    top-level insulin record or workout do any work. Element ends only need counting (for the
    depth), so the end callback is the C ``list.append`` of ``ends``, emptied at the next start.
    ``line_of`` gives the line of the element being started.
    """

    def __init__(self) -> None:
        self.glucose: dict[str, list] = {"line": [], "date": [], "value": [], "unit": []}
        self.carbs: dict[str, list] = {"line": [], "date": [], "value": [], "unit": []}
        self.insulin: dict[str, list] = {
            "line": [],
            "date": [],
            "value": [],
            "unit": [],
            "reason": [],
        }
        self.workouts: dict[str, list] = {
            "line": [],
            "start": [],
            "end": [],
            "type": [],
            "duration": [],
            "unit": [],
            "meta": [],
        }
        self.other: dict[str, int] = {}
        self.chunks: dict[str, list[pd.DataFrame]] = {"glucose": [], "carbs": [], "insulin": []}
        #: blocks of rows read vectorised, not yet compacted: (lines, {attribute: strings})
        self.blocks: dict[str, list[tuple[np.ndarray, dict[str, Any]]]] = {
            "glucose": [],
            "carbs": [],
        }
        self.pending = {"glucose": 0, "carbs": 0}
        self.chunk = _CHUNK
        self.ends: list[str] = []
        self.depth = 0  # element depth of the latest start (root = 1)
        self.cur = 0  # top-level element being read: 0 other, 1 insulin record, 2 workout
        self.line_of: Any = lambda: 0
        self.names: dict = {}  # the fast scan's element names already read
        self._quantity = {GLUCOSE: ("glucose", self.glucose), CARBS: ("carbs", self.carbs)}

    def count_other(self, rtype: str, n: int = 1) -> None:
        """Count ``n`` records of another type (memory bounded however many types a file has)."""
        other = self.other
        count = other.get(rtype)
        if count is not None:
            other[rtype] = count + n
        elif len(other) < MAX_OTHER_TYPES:
            other[rtype] = n
        else:
            other[OTHER_TYPES_REST] = other.get(OTHER_TYPES_REST, 0) + n

    def _lists_to_block(self, key: str, dest: dict[str, list]) -> None:
        if dest["line"]:
            cols = {k: v.copy() for k, v in dest.items() if k != "line"}
            self.blocks[key].append((np.asarray(dest["line"], dtype=np.int64), cols))
            self.pending[key] += len(dest["line"])
            for v in dest.values():
                v.clear()

    def _flush(self, key: str, dest: dict[str, list]) -> None:  # keep memory small: typed arrays
        if key in self.blocks:
            self._lists_to_block(key, dest)
            blocks = self.blocks[key]
            if blocks:
                self.chunks[key].append(_compact_blocks(blocks, key == "glucose"))
            blocks.clear()
            self.pending[key] = 0
            return
        self.chunks[key].append(_compact(dest, key == "glucose"))
        for v in dest.values():
            v.clear()

    def add_block(self, key: str, lines: np.ndarray, cols: dict[str, Any]) -> None:
        """Rows read vectorised (``cols``: ``date``, ``value``, ``unit`` as Arrow strings or
        sequences of ``str``), after the rows collected so far (their order is kept)."""
        dest = self.glucose if key == "glucose" else self.carbs
        self._lists_to_block(key, dest)
        self.blocks[key].append((np.asarray(lines, dtype=np.int64), cols))
        self.pending[key] += len(lines)
        if self.pending[key] >= self.chunk:
            self._flush(key, dest)

    def _add(self, key: str, dest: dict[str, list], attrs: dict[str, str]) -> None:
        if len(dest["line"]) + self.pending.get(key, 0) >= self.chunk:
            self._flush(key, dest)
        dest["line"].append(self.line_of())
        dest["date"].append(attrs.get("startDate", ""))
        dest["value"].append(attrs.get("value", ""))
        dest["unit"].append(attrs.get("unit", ""))

    def start(self, tag: str, att: list[str]) -> None:  # att: [name, value, name, value, ...]
        ends = self.ends
        if ends:
            self.depth -= len(ends)
            ends.clear()
        self.depth += 1
        depth = self.depth
        if depth == 2:
            self.cur = 0
            if tag == "Record":
                # exports write ``type`` first; else look it up among the names (even places)
                rtype = att[1] if att and att[0] == "type" else _attrs(att).get("type", "")
                q = self._quantity.get(rtype)
                if q is not None:
                    self._add(q[0], q[1], _attrs(att))
                elif rtype == INSULIN:
                    self._add("insulin", self.insulin, _attrs(att))
                    self.insulin["reason"].append("")
                    self.cur = 1
                else:
                    self.count_other(rtype)
            elif tag == "Workout":
                attrs = _attrs(att)
                w = self.workouts
                w["line"].append(self.line_of())
                w["start"].append(attrs.get("startDate", ""))
                w["end"].append(attrs.get("endDate", ""))
                w["type"].append(attrs.get("workoutActivityType", ""))
                w["duration"].append(attrs.get("duration", ""))
                w["unit"].append(attrs.get("durationUnit", "min"))
                w["meta"].append("")
                self.cur = 2
        elif self.cur and tag == "MetadataEntry" and depth > 2:
            attrs = _attrs(att)
            if self.cur == 1:
                if attrs.get("key") == "HKInsulinDeliveryReason":
                    self.insulin["reason"][-1] = attrs.get("value", "")
            else:
                meta = self.workouts["meta"]
                entry = f"{attrs.get('key', '')}={attrs.get('value', '')}"
                meta[-1] = f"{meta[-1]} {entry}" if meta[-1] else entry
        elif depth == 1 and tag != "HealthData":
            name = "{" + tag if "}" in tag else tag  # ElementTree's spelling of a namespace
            raise _NotHealth(name, self.line_of())

    def result(self) -> dict[str, Any]:
        """The collected rows: typed frames of the quantity records, workouts, other counts."""
        for key, rest in (
            ("glucose", self.glucose),
            ("carbs", self.carbs),
            ("insulin", self.insulin),
        ):
            if key in self.blocks:
                self._flush(key, rest)
                if not self.chunks[key]:
                    self.chunks[key].append(_compact(rest, key == "glucose"))
                continue
            if len(rest["line"]) >= self.chunk:
                self._flush(key, rest)
            self.chunks[key].append(_compact(rest, key == "glucose"))
        return {
            "glucose": _concat_columns(self.chunks["glucose"]),
            "carbs": _concat_columns(self.chunks["carbs"]),
            "insulin": _concat_columns(self.chunks["insulin"]),
            "workouts": self.workouts,
            "other": self.other,
        }


def _concat_columns(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """``pd.concat(frames, ignore_index=True)`` put together one column at a time, each
    frame's column freed once it is copied, and ``frames`` emptied.

    The result is the same (each column is concatenated by pandas' rules), but the peak
    memory is the result plus one column of the frames (MB), not twice the rows.
    """
    names = list(frames[0].columns) if frames else []
    if len(frames) < 2 or any(list(f.columns) != names for f in frames[1:]):
        out = pd.concat(frames, ignore_index=True)
        frames.clear()
        return out
    cols = {}
    for name in names:
        cols[name] = pd.concat([f.pop(name) for f in frames], ignore_index=True)
    frames.clear()
    return pd.DataFrame(cols, copy=False)


# --------------------------------------------------------------------------- the expat scan
def _scan_expat(path: str | PathLike) -> dict[str, Any]:
    """Stream the whole export through the hardened expat parser (the reference engine)."""
    rows = _Rows()
    parser = _hardened_parser()
    rows.line_of = lambda: parser.CurrentLineNumber
    parser.ordered_attributes = True  # a flat list is cheaper to build than a dict
    parser.StartElementHandler = rows.start
    parser.EndElementHandler = rows.ends.append
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
    if rows.depth == 0:
        raise InputError("no XML elements; expected an Apple Health export.xml", path, 1)
    return rows.result()


# --------------------------------------------------------------------------- the fast scan
class _Fallback(Exception):
    """The export is not in the plain form the fast scan reads, or it is malformed: the expat
    scan reads it instead (and gives its exact result or its exact error)."""


class _Stop(Exception):
    pass


class _NoRootYet(_Fallback):
    pass


#: Bytes read per step of the fast scan.
_FAST_READ = 1 << 21
#: An unfinished top-level element longer than this sends the file to the expat scan.
_MAX_PENDING = 1 << 26
_WS = b" \t\r\n"
_XML_DECL = re.compile(rb"<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]*)[\"']")
_ROOT_TAG = re.compile(rb"<HealthData(?:[^<>\"']|\"[^\"<]*\"|'[^'<]*')*>")
_ROOT_END = re.compile(rb"</HealthData[ \t\r\n]*>[ \t\r\n]*")
_ENTITIES = (b"&lt;", b"&gt;", b"&amp;", b"&quot;", b"&apos;")
_RECORD_OPEN = b'<Record type="'
_NAME = re.compile(rb"[^ \t\r\n/>]*")
#: Bytes of an element name compared at once between a start tag and its end tag (longer
#: names are compared whole, one by one).
_NAME_BYTES = 16
_NAME_START = np.zeros(256, dtype=bool)
_NAME_START[[*range(65, 91), *range(97, 123), 95]] = True
_NAME_CHAR = _NAME_START.copy()
_NAME_CHAR[list(b"0123456789.-")] = True
_DELIM = np.zeros(256, dtype=bool)
_DELIM[list(b" \t\r\n/>")] = True
#: Record types read (the rest are counted): raw bytes after ``<Record type="``, with the quote.
_KEPT = [(t, (t + '"').encode()) for t in (GLUCOSE, CARBS, INSULIN)]
_KEPT_WIDTH = max(len(b) for _, b in _KEPT)
#: Types of the last segment looked for first (compared vectorised), and the longest.
_RECENT = 8
_MAX_TYPE_WINDOW = 200
#: Distinct name windows remembered by :func:`_element_names`.
_NAME_CACHE = 12
#: Zero bytes after the buffer, so that windows of names and types never run past it.
_PAD = bytes(256)
_RECORD_NAME = np.frombuffer(b"Record\0\0", np.uint64)[0]
_WORKOUT_NAME = np.frombuffer(b"Workout\0", np.uint64)[0]


def _fast_prolog(head: bytes) -> int:
    """Offset just after the ``<HealthData ...>`` start tag; the prolog (declaration, DTD) is
    parsed by the hardened parser, so its refusals are those of the expat scan."""
    enc, bom = detect_encoding(head)
    if enc != UTF8:
        raise _Fallback("UTF-16")
    if head.startswith(b"<?xml", bom):
        m = _XML_DECL.match(head, bom)
        if m is not None and m.group(1).lower() not in (b"utf-8", b"utf8"):
            raise _Fallback("declared encoding")
    parser = _hardened_parser()
    found: list[int] = []

    def root(tag: str, att: list[str]) -> None:
        if tag != "HealthData":
            raise _Fallback("document element")
        found.append(parser.CurrentByteIndex)
        raise _Stop

    def attlist(elname: str, attname: str, kind: str, default: str | None, required: int) -> None:
        if default is not None or kind != "CDATA":  # a default or a normalised value
            raise _Fallback("ATTLIST")

    parser.StartElementHandler = root
    parser.AttlistDeclHandler = attlist
    try:
        parser.Parse(head, False)
    except _Stop:
        pass
    except (DefusedXmlException, expat.ExpatError, LookupError, ValueError):
        raise _Fallback("prolog") from None
    if not found:
        raise _NoRootYet("no document element in the head")
    m = _ROOT_TAG.match(head, found[0])
    if m is None or head[m.end() - 2 : m.end()] == b"/>":
        raise _Fallback("root tag")
    return m.end()


def _names_of(a: np.ndarray, at: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The first :data:`_NAME_BYTES` bytes of the element names at ``at`` as two integers
    (zeros past the name) and whether the name is longer. Raises :class:`_Fallback` for a
    byte that cannot be in a name (a prefixed name, a stray byte)."""
    win = np.lib.stride_tricks.sliding_window_view(a, _NAME_BYTES)[at]
    past = np.logical_or.accumulate(_DELIM[win], axis=1)
    win = np.where(past, 0, win)
    if not (_NAME_CHAR[win] | past).all():
        raise _Fallback("element name")
    pair = np.ascontiguousarray(win).view(np.uint64)
    return pair[:, 0], pair[:, 1], ~past[:, -1]


def _element_names(
    a: np.ndarray, words: np.ndarray, at: np.ndarray, cache: dict
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_names_of` for the names at ``at``, looked up first in ``cache`` (the
    :data:`_NAME_BYTES` bytes at a name -> what :func:`_names_of` gave for them; a file
    holds few), the rest computed and the most frequent of them cached."""
    w0, w1 = words[at], words[at + 8]
    names = np.zeros(len(at), dtype=np.uint64)
    names2 = np.zeros(len(at), dtype=np.uint64)
    long = np.zeros(len(at), dtype=bool)
    todo = np.ones(len(at), dtype=bool)
    for (r0, r1), (n0, n1, lg) in cache.items():
        hit = (w0 == r0) & (w1 == r1)
        names[hit], names2[hit], long[hit] = n0, n1, lg
        todo &= ~hit
    rest = np.flatnonzero(todo)
    if len(rest):
        n0, n1, lg = _names_of(a, at[rest])
        names[rest], names2[rest], long[rest] = n0, n1, lg
        if len(cache) < _NAME_CACHE:
            raw = Counter(zip(w0[rest].tolist(), w1[rest].tolist(), strict=True))
            first = {}
            for i, key in enumerate(zip(w0[rest].tolist(), w1[rest].tolist(), strict=True)):
                first.setdefault(key, i)
            for key, _ in raw.most_common(_NAME_CACHE - len(cache)):
                i = first[key]
                cache[np.uint64(key[0]), np.uint64(key[1])] = (n0[i], n1[i], bool(lg[i]))
    return names, names2, long


def _fast_segment(
    a: np.ndarray,
    seg: bytes | memoryview,
    tags: tuple,
    spec: tuple[np.ndarray, np.ndarray],
    line: int,
    rows: _Rows,
    recent: list,
) -> int:
    """Read the complete top-level elements ``seg`` (``a`` its bytes, ``tags`` its tag table,
    ``spec`` its :func:`_specials`); return the number of its lines breaks. Raises
    :class:`_Fallback`."""
    lt, gt, is_end, is_empty, delta, dep = tags
    pos, cls = spec
    if len(seg) and int(a[: len(seg)].max()) >= 128:  # (not ASCII)
        text = bytes(seg)
        try:
            str(text, "utf-8")
        except UnicodeDecodeError:
            raise _Fallback("not UTF-8") from None
        if b"\xef\xbf\xbe" in text or b"\xef\xbf\xbf" in text:
            raise _Fallback("not an XML character")
    is_nl = cls == 10
    nl = pos[is_nl]
    if ((cls < 32) & ~is_nl).any():  # tabs, CR and other control bytes
        raise _Fallback("control character")
    if len(nl) and not (a[nl[nl > 0] - 1] == 62).all():  # (CR LF line ends: not this fast path)
        raise _Fallback("a line break inside a tag")
    quotes = pos[cls == 34]  # each value written name="value"
    words = _words(a)
    if len(quotes):
        opening = quotes[0::2]
        if len(quotes) % 2 or not (a[opening - 1] == 61).all():
            raise _Fallback("quotes")
        # nothing but a name before each '=' (no white space), and no namespace declared
        # (``xmlns="..."``; prefixed names are refused as element names or attribute names)
        if (
            not _NAME_CHAR[a[opening - 2]].all()
            or ((words[opening - 6] & _XMLNS_MASK) == _XMLNS).any()
        ):
            raise _Fallback("namespaces or white space around '='")
    amp = pos[cls == 38]
    if len(amp):  # only the predefined entities (nothing to expand, nothing to refuse)
        after = words[amp + 1]  # the 8 bytes after each '&'
        ok = np.zeros(len(after), dtype=bool)
        for ref, mask in _ENTITY_WORDS:
            ok |= (after & mask) == ref
        if not ok.all():
            raise _Fallback("entity or character reference")
    if len(lt) == 0:
        return len(nl)
    if dep.min() < 1 or dep[-1] != 1:
        raise _Fallback("unbalanced")
    names, names2, long = _element_names(a, words, lt + 1 + is_end, rows.names)
    # every end tag closes the latest open element of its level, with the same name
    oc = np.flatnonzero(~is_empty)
    if len(oc):
        ends = is_end[oc]
        level = np.where(ends, dep[oc] + 1, dep[oc]).astype(np.int16)
        order = np.argsort(level, kind="stable")
        o, c = oc[order[0::2]], oc[order[1::2]]
        if len(o) != len(c) or is_end[o].any() or not is_end[c].all():
            raise _Fallback("unbalanced")
        if (level[order[0::2]] != level[order[1::2]]).any():
            raise _Fallback("unbalanced")
        if (names[o] != names[c]).any() or (names2[o] != names2[c]).any():
            raise _Fallback("mismatched tag")
        for i, j in zip(o[long[o] | long[c]].tolist(), c[long[o] | long[c]].tolist(), strict=True):
            if _NAME.match(seg, int(lt[i]) + 1).group() != _NAME.match(seg, int(lt[j]) + 2).group():
                raise _Fallback("mismatched tag")
    # records and workouts: top-level ones are rows
    start = ~is_end
    top = start & (dep - delta == 1)
    is_rec = start & (names == _RECORD_NAME) & (names2 == 0)
    is_wk = top & (names == _WORKOUT_NAME) & (names2 == 0)
    rec_at = lt[is_rec]
    n_rec = len(rec_at)
    windows = np.lib.stride_tricks.sliding_window_view(a, len(_RECORD_OPEN))
    if n_rec and not (windows[rec_at] == np.frombuffer(_RECORD_OPEN, np.uint8)).all():
        raise _Fallback("Record without type first")
    top_rec = is_rec & top
    top_at = lt[top_rec]
    width = max([_KEPT_WIDTH] + [len(t) + 1 for t in recent[:_RECENT]])
    if width > _MAX_TYPE_WINDOW:
        width, recent[:] = _KEPT_WIDTH, []
    win = np.lib.stride_tricks.sliding_window_view(a, width)[top_at + len(_RECORD_OPEN)]
    top_idx = np.flatnonzero(top_rec)
    keep = np.zeros(len(lt), dtype=bool)  # read by expat: insulin records and workouts
    qkind = np.full(len(lt), -1, dtype=np.int8)  # read vectorised: 0 glucose, 1 carbs
    kept_n = {}
    for k, (t, raw) in enumerate(_KEPT):
        hit = (win[:, : len(raw)] == np.frombuffer(raw, np.uint8)).all(axis=1)
        kept_n[t.encode()] = int(hit.sum())
        if t == INSULIN:
            keep[top_idx[hit]] = True
        else:
            qkind[top_idx[hit]] = k
    keep |= is_wk
    # counts by type of the top-level records, in order of first appearance
    counts: dict[bytes, int] = {}
    total = 0
    if len(top_at) == n_rec:  # the types of the last segment, compared vectorised
        for t in recent[:_RECENT]:
            raw = t + b'"'
            c = int((win[:, : len(raw)] == np.frombuffer(raw, np.uint8)).all(axis=1).sum())
            if c:
                counts[t] = c
                total += c
                if total == n_rec:
                    break
    if total != len(top_at):  # new types (or records nested in correlations): one by one
        begin = top_at + len(_RECORD_OPEN)
        close = np.searchsorted(quotes, begin)  # the quote that ends each type
        if len(begin) and close[-1] >= len(quotes):
            raise _Fallback("quotes")
        counts = Counter(
            bytes(seg[b:e]) for b, e in zip(begin.tolist(), quotes[close].tolist(), strict=True)
        )
    for t, c in counts.items():
        if t in kept_n:
            if c != kept_n[t]:
                raise _Fallback("kept records")
            continue
        if b"&" in t or b"\t" in t or b"\n" in t or b"\r" in t:
            raise _Fallback("type with references or white space")
        rows.count_other(str(t, "utf-8"), c)
    recent[:] = sorted(counts, key=counts.__getitem__, reverse=True)
    # the rows that are read: glucose and carbohydrate start tags checked and read vectorised,
    # insulin records and workouts (and any start tag that is not plain) parsed by expat
    for k in (0, 1):  # each kind (source) apart: its tags often share one layout
        q = np.flatnonzero(qkind == k)
        if len(q):
            q_lines = line + np.searchsorted(nl, lt[q])
            cols = _plain_columns(a, words, quotes, lt[q], gt[q], is_empty[q])
            if cols is not None:
                rows.add_block(("glucose", "carbs")[k], q_lines, cols)
            elif not _quantities(seg, lt[q], gt[q] + 1, qkind[q], q_lines, rows):
                keep[q] = True
    idx = np.flatnonzero(keep)
    if len(idx):
        top_close = np.flatnonzero(is_end & (dep == 1))
        j = (
            top_close[np.minimum(np.searchsorted(top_close, idx), len(top_close) - 1)]
            if len(top_close)
            else idx
        )
        end = np.where(is_empty[idx], gt[idx], gt[j]) + 1
        begin = lt[idx]
        if (~is_empty[idx] & (j < idx)).any():
            raise _Fallback("element end")
        lines = (line + np.searchsorted(nl, begin)).tolist()
        doc = b"\n".join([seg[s:e] for s, e in zip(begin.tolist(), end.tolist(), strict=True)])
        it = iter(lines)
        rows.line_of = it.__next__
        rows.depth, rows.cur = 0, 0
        rows.ends.clear()
        parser = _hardened_parser()
        parser.ordered_attributes = True
        parser.StartElementHandler = rows.start
        parser.EndElementHandler = rows.ends.append
        try:
            parser.Parse(b"<HealthData>" + doc + b"</HealthData>", True)
        except (expat.ExpatError, DefusedXmlException, StopIteration, _NotHealth, ValueError):
            raise _Fallback("a kept element") from None
        if next(it, None) is not None:
            raise _Fallback("a kept element")
    return len(nl)


#: A start tag read vectorised: names and double-quoted values without white space other than
#: spaces between attributes, ``<`` or references other than the five predefined entities.
_STRICT_TAG = (
    r'^<Record(?:[ \t\r\n]+[A-Za-z_][A-Za-z0-9_.-]*[ \t\r\n]*=[ \t\r\n]*"'
    r'(?:[^"<&\t\n\r]|&(?:lt|gt|amp|quot|apos);)*")*[ \t\r\n]*/?>$'
)
_READ_ATTRS = ("startDate", "value", "unit")
_PREDEFINED = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&amp;", "&"))


_ATTR_NAME_BYTES = re.compile(rb" [A-Za-z_][A-Za-z0-9_.-]*=")


def _words(a: np.ndarray) -> np.ndarray:
    """The 8 bytes starting at each offset of ``a`` as one little-endian integer (a strided
    view, nothing copied; ``a`` ends with :data:`_PAD`)."""
    return np.ndarray((len(a) - 7,), dtype="<u8", buffer=a, strides=(1,))


def _low_bytes(k: int) -> int:
    """Mask of the ``k`` (<= 8) first bytes of a little-endian 8-byte word."""
    return (1 << (8 * k)) - 1


_XMLNS = np.uint64(int.from_bytes(b"xmlns=", "little"))
_XMLNS_MASK = np.uint64(_low_bytes(6))
#: The five predefined entities after their '&': (word, mask of its bytes).
_ENTITY_WORDS = [(int.from_bytes(e[1:], "little"), _low_bytes(len(e) - 1)) for e in _ENTITIES]


def _ranges(a: np.ndarray, begin: np.ndarray, end: np.ndarray) -> pa.Array:
    """The bytes ``a[begin[i]:end[i]]`` as Arrow strings (valid UTF-8: they lie between
    quotes of a segment checked as UTF-8), with the predefined entities replaced as expat
    does."""
    size = end - begin
    offsets = np.zeros(len(size) + 1, dtype=np.int32)  # a segment is far below 2 GB
    np.cumsum(size, out=offsets[1:])
    idx = np.arange(int(offsets[-1]), dtype=np.int64) + np.repeat(begin - offsets[:-1], size)
    data = a[idx]
    got = pa.StringArray.from_buffers(len(size), pa.py_buffer(offsets), pa.py_buffer(data))
    if (data == 38).any():
        for ref, char in _PREDEFINED:
            got = pc.replace_substring(got, ref, char, memory_pool=_POOL)
    return got


def _plain_columns(
    a: np.ndarray,
    words: np.ndarray,
    quotes: np.ndarray,
    lt: np.ndarray,
    gt: np.ndarray,
    empty: np.ndarray,
) -> dict[str, pa.Array] | None:
    """Read glucose or carbohydrate start tags (``a[lt[i]:gt[i] + 1]``, each opening with
    ``<Record type="``) that all have the same attributes in the same order, one space before
    each (the Health app writes one source's records so), vectorised over their quotes
    (``quotes``: every ``"`` of the segment, each value written ``name="value"``).

    Returns
    -------
    dict or None
        ``date``, ``value`` and ``unit`` as Arrow strings (``""`` where absent), as expat
        gives them; ``None`` (nothing read) when the tags are written otherwise.
    """
    first = np.searchsorted(quotes, lt)
    width = int(np.searchsorted(quotes, gt[0]) - first[0])  # quotes per tag
    if width < 2 or width % 2 or (np.searchsorted(quotes, gt) - first != width).any():
        return None
    q = quotes[first[:, None] + np.arange(width)]
    if (gt - q[:, -1] != 1 + empty).any():  # '>' or '/>' right after the last value
        return None
    # ' name=' between a value and the next: the same bytes in every tag
    begin = q[:, 1:-1:2] + 1
    size = q[:, 2::2] - begin
    if (size != size[0]).any():
        return None
    first_names = [
        a[b : b + k].tobytes() for b, k in zip(begin[0].tolist(), size[0].tolist(), strict=True)
    ]
    col = np.repeat(np.arange(len(first_names)), size[0])
    within = np.arange(len(col)) - np.repeat(np.cumsum(size[0]) - size[0], size[0])
    gaps = a[begin[:, col] + within]
    if (gaps != gaps[0]).any():
        return None
    where = {}
    for m, name in enumerate(first_names, start=1):
        if not _ATTR_NAME_BYTES.fullmatch(name) or name in where or name == b" type=":
            return None
        where[name] = 2 * m
    read = [where.get(attr) for attr in (b" startDate=", b" value=", b" unit=")]
    at = [j for j in read if j is not None]
    got = _ranges(a, q[:, at].T.ravel() + 1, q[:, [j + 1 for j in at]].T.ravel())
    n, cols, i = len(lt), {}, 0
    for key, j in zip(("date", "value", "unit"), read, strict=True):
        if j is None:
            cols[key] = pa.array([""] * n, type=pa.string(), memory_pool=_POOL)
        else:
            cols[key] = got.slice(i * n, n)
            i += 1
    return cols


def _quantities(
    seg: bytes, begin: np.ndarray, end: np.ndarray, kind: np.ndarray, lines: np.ndarray, rows: _Rows
) -> bool:
    """Read the start tags ``seg[begin:end]`` of glucose (``kind`` 0) and carbohydrate (1)
    records into ``rows`` with Arrow's regular expressions, as expat would read them; False
    (nothing read) when one of them is not plain (then expat reads them all)."""
    raw = [bytes(seg[b:e]) for b, e in zip(begin.tolist(), end.tolist(), strict=True)]
    tags = pc.cast(pa.array(raw, type=pa.binary()), pa.string())
    if not pc.all(pc.match_substring_regex(tags, _STRICT_TAG)).as_py():
        return False
    for name in ("type", *_READ_ATTRS):  # a repeated attribute is an error for expat
        if pc.max(pc.count_substring_regex(tags, f"[ \t\r\n]{name}[ \t\r\n]*=")).as_py() > 1:
            return False
    values = {}
    for name in _READ_ATTRS:
        pattern = f'[ \t\r\n]{name}[ \t\r\n]*=[ \t\r\n]*"(?P<v>[^"]*)"'
        got = pc.fill_null(pc.struct_field(pc.extract_regex(tags, pattern), "v"), "")
        if pc.any(pc.match_substring(got, "&")).as_py():
            for ref, char in _PREDEFINED:
                got = pc.replace_substring(got, ref, char)
        values[name] = np.asarray(got.to_numpy(zero_copy_only=False), dtype=object)
    lines = np.asarray(lines)
    for k, (key, dest) in enumerate((("glucose", rows.glucose), ("carbs", rows.carbs))):
        m = kind == k
        if not m.any():
            continue
        dest["line"].extend(lines[m].tolist())
        dest["date"].extend(values["startDate"][m].tolist())
        dest["value"].extend(values["value"][m].tolist())
        dest["unit"].extend(values["unit"][m].tolist())
        if len(dest["line"]) >= rows.chunk:
            rows._flush(key, dest)
    return True


def _specials(
    a: np.ndarray, n: int, scratch: tuple[np.ndarray, np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Offsets in ``a[:n]`` of the bytes the scan looks at (control bytes, ``"``, ``&``,
    ``<``, ``>``) and those bytes: one pass over the bytes instead of one a kind (``scratch``:
    two boolean arrays of at least ``n`` items, reused instead of new ones)."""
    b = a[:n]
    mask, tmp = (None, None) if scratch is None else (scratch[0][:n], scratch[1][:n])
    mask = np.less(b, 32, out=mask)
    for c in (34, 38, 60, 62):
        mask |= np.equal(b, c, out=tmp)
    pos = np.flatnonzero(mask)
    return pos, a[pos]


class _Window:
    """The body's bytes not yet scanned, in one array reused from read to read (each read goes
    straight into it: no copy of the bytes but the read and the unscanned rest moved to the
    front), :data:`_PAD` zeros after them, and the scratch masks of :func:`_specials`.

    Each read fills the window up to :data:`_FAST_READ` bytes (after a rest of a few hundred
    bytes), or reads that many more when it holds them already (a long element: then the
    array grows): about 3 x 2 MB with the masks.
    """

    def __init__(self, first: bytes) -> None:
        self.data = np.zeros(0, dtype=np.uint8)
        self.scratch = (np.zeros(0, dtype=bool), np.zeros(0, dtype=bool))
        self.filled = 0
        self._reserve(max(len(first), _FAST_READ))
        self.data[: len(first)] = np.frombuffer(first, dtype=np.uint8)
        self.filled = len(first)

    def _reserve(self, size: int) -> None:
        """Room for ``size`` bytes (B) and the padding after them."""
        need = size + len(_PAD)
        if len(self.data) < need:
            grown = np.zeros(max(need, 2 * len(self.data)), dtype=np.uint8)
            grown[: self.filled] = self.data[: self.filled]
            self.data = grown
            self.scratch = (np.empty(len(grown), dtype=bool), np.empty(len(grown), dtype=bool))

    def read(self, fh: Any) -> int:
        """Read after the bytes held, up to :data:`_FAST_READ` in all (``fh``: a binary file
        or zip member, with ``readinto``); the number of bytes read (0: the end)."""
        want = _FAST_READ - self.filled if self.filled < _FAST_READ else _FAST_READ
        self._reserve(self.filled + want)
        got = fh.readinto(memoryview(self.data)[self.filled : self.filled + want])
        self.filled += got or 0
        return got or 0

    def view(self) -> np.ndarray:
        """The bytes held, followed by the :data:`_PAD` zeros."""
        end = self.filled
        self.data[end : end + len(_PAD)] = 0
        return self.data[: end + len(_PAD)]

    def consume(self, n: int) -> None:
        """Drop the first ``n`` bytes (scanned); the rest moves to the front."""
        rest = self.filled - n
        self.data[:rest] = self.data[n : self.filled]  # (numpy copies overlapping bytes safely)
        self.filled = rest


def _tag_table(a: np.ndarray, n: int, spec: tuple[np.ndarray, np.ndarray]) -> tuple:
    """Tags of ``a[:n]`` (which must end before a ``<``; ``spec`` its :func:`_specials`):
    positions of ``<`` and ``>``, end and empty tags, depth change and depth after each tag
    (the body starts at depth 1)."""
    pos, cls = spec
    lt = pos[cls == 60]
    gt = pos[cls == 62]
    if len(lt) != len(gt) or (len(lt) and ((lt > gt).any() or (gt[:-1] > lt[1:]).any())):
        raise _Fallback("markup")  # a '>' in a value or text, or a tag left open
    c1 = a[lt + 1]
    is_end = c1 == 47
    name0 = np.where(is_end, a[lt + 2], c1)
    if not _NAME_START[name0].all():
        raise _Fallback("markup")  # comments, CDATA, processing instructions, declarations
    is_empty = a[gt - 1] == 47
    if (is_end & is_empty).any():
        raise _Fallback("markup")
    delta = np.where(is_end, -1, np.where(is_empty, 0, 1))
    dep = 1 + np.cumsum(delta)
    return lt, gt, is_end, is_empty, delta, dep


def _slice_tags(tags: tuple, k: int) -> tuple:
    return tuple(t[:k] for t in tags)


def _fast_scan(path: str | PathLike) -> dict[str, Any]:
    """Scan the export at byte level; expat reads only the prolog and the rows that are kept.

    Raises :class:`_Fallback` for anything outside the plain form (or malformed); nothing it
    returns differs from the expat scan's result (``tests/test_apple_fast_scan.py``).
    """
    rows = _Rows()
    recent: list[bytes] = []
    with _open_export(path) as fh:
        try:
            head = b""
            while True:  # the prolog and the root start tag, read whole
                more = fh.read(_FAST_READ)
                head += more
                try:
                    body = _fast_prolog(head)
                    break
                except _NoRootYet:
                    if not more or len(head) > _MAX_PENDING:
                        raise
            line = 1 + head.count(b"\n", 0, body)
            if head.count(b"\r", 0, body) != head.count(b"\r\n", 0, body):
                raise _Fallback("line ends")
            win = _Window(head[body:])
            del head
            eof = False
            while True:
                eof = eof or win.read(fh) == 0
                a = win.view()
                if eof:
                    rest = a[: win.filled].tobytes()
                    cut = rest.rfind(b"</HealthData")
                    if cut < 0 or not _ROOT_END.fullmatch(rest, cut):
                        raise _Fallback("end of the document")
                    del rest
                    n = cut
                    spec = _specials(a, n, win.scratch)
                else:  # up to the last '<' (its specials: those before it)
                    pos, cls = _specials(a, win.filled, win.scratch)
                    last = np.flatnonzero(cls == 60)
                    n = int(pos[last[-1]]) if len(last) else -1
                    if n <= 0:
                        if win.filled > _MAX_PENDING:
                            raise _Fallback("a long element")
                        continue
                    spec = (pos[: last[-1]], cls[: last[-1]])
                tags = _tag_table(a, n, spec)
                lt, dep, delta = tags[0], tags[5], tags[4]
                if not eof and (len(dep) == 0 or dep[-1] != 1):
                    # cut before the last top-level start tag: the elements before it are whole
                    top = np.flatnonzero(~tags[2] & (dep - delta == 1))
                    if len(top) == 0 or top[-1] == 0:
                        if win.filled > _MAX_PENDING:
                            raise _Fallback("a long element")
                        continue
                    k = int(top[-1])
                    tags = _slice_tags(tags, k)
                    n = int(lt[k])
                    m = int(np.searchsorted(spec[0], n))
                    spec = (spec[0][:m], spec[1][:m])
                elif eof and len(dep) and dep[-1] != 1:
                    raise _Fallback("unbalanced")
                seg = memoryview(a)[:n]  # (the buffer's bytes, not a copy)
                line += _fast_segment(a, seg, tags, spec, line, rows, recent)
                del seg
                win.consume(n)
                if eof:
                    break
        except InputError:
            raise
        except ZIP_ERRORS:
            raise _Fallback("zip") from None
    return rows.result()


# --------------------------------------------------------------------------- vectorised conversion
def _ascii_text(values: object) -> tuple[pd.Series, pa.Array | None]:
    """Values as a Series of text and, when every value is ASCII text, as stripped Arrow
    strings (vectorised; Python's and Arrow's whitespace agree on ASCII), else ``None``."""
    if isinstance(values, pa.Array):  # Arrow strings (the fast scan's blocks)
        if (
            len(values)
            and not values.null_count
            and pc.all(pc.string_is_ascii(values, memory_pool=_POOL), memory_pool=_POOL).as_py()
        ):
            # only the index is used with the Arrow strings: no Python string is made
            return pd.Series(index=pd.RangeIndex(len(values)), dtype=object), (
                pc.utf8_trim_whitespace(values, memory_pool=_POOL)
            )
        return pd.Series(values.to_numpy(zero_copy_only=False), dtype="object"), None
    s = pd.Series(values, dtype="object")
    if len(s) == 0 or not all(type(v) is str for v in s.head(1)):
        return s, None
    try:
        arr = pa.array(s, type=pa.string(), memory_pool=_POOL)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return s, None
    if (
        arr.null_count
        or not pc.all(pc.string_is_ascii(arr, memory_pool=_POOL), memory_pool=_POOL).as_py()
    ):
        return s, None
    return s, pc.utf8_trim_whitespace(arr, memory_pool=_POOL)


def parse_local_times(values: pd.Series) -> pd.Series:
    """Parse Apple Health dates (``2024-01-09 12:30:00 +0100``) to local wall-clock time.

    The offset is dropped: the result is the clock time where the record was made (tz-naive).
    Anything else becomes ``NaT``.
    """
    s, arr = _ascii_text(values)
    if arr is not None:  # the same rules, vectorised
        ok = pc.match_substring_regex(arr, f"^(?:{_DATE_RE})$", memory_pool=_POOL)
        first = pc.utf8_slice_codeunits(arr, 0, 19, memory_pool=_POOL)
        cut = pc.if_else(ok, first, pa.scalar(None, pa.string()), memory_pool=_POOL)
        fmt = "%Y-%m-%d %H:%M:%S"
        ts = pc.strptime(cut, format=fmt, unit="s", error_is_null=True, memory_pool=_POOL)
        # Arrow moves a day past the month's end on (pandas: NaT) and stops before year 9999:
        # pandas parses every date whose day Arrow did not keep
        day = pc.cast(
            pc.utf8_slice_codeunits(cut, 8, 10, memory_pool=_POOL), pa.int64(), memory_pool=_POOL
        )
        back = pc.coalesce(
            pc.equal(pc.day(ts, memory_pool=_POOL), day, memory_pool=_POOL),
            False,
            memory_pool=_POOL,
        )
        redo = np.flatnonzero(
            pc.and_not(ok, back, memory_pool=_POOL).to_numpy(zero_copy_only=False)
        )
        out = to_ns(pd.Series(ts.to_numpy(zero_copy_only=False)))
        out.index = s.index
        if len(redo):
            text = pd.Series(
                pc.take(cut, pa.array(redo, memory_pool=_POOL), memory_pool=_POOL).to_numpy(
                    zero_copy_only=False
                )
            )
            again = to_ns(pd.to_datetime(text.astype(object), format=fmt, errors="coerce"))
            out.iloc[redo] = again.to_numpy()
        return out
    s = s.astype(str).str.strip()
    ok = s.str.fullmatch(_DATE_RE)
    out = pd.to_datetime(s.str.slice(0, 19).where(ok), format="%Y-%m-%d %H:%M:%S", errors="coerce")
    return to_ns(out)


def parse_utc_offsets(values: pd.Series) -> pd.Series:
    """Minutes east of UTC written at the end of Apple Health dates (``+0100`` -> 60, ``Z`` ->
    0); NaN where a date carries none."""
    s, arr = _ascii_text(values)
    if arr is not None:  # the same rules, vectorised
        m = pc.extract_regex(arr, r"(?P<s>[+-])(?P<h>\d{2}):?(?P<m>\d{2})$", memory_pool=_POOL)
        hours = pc.cast(
            pc.struct_field(m, "h", memory_pool=_POOL), pa.float64(), memory_pool=_POOL
        ).to_numpy(zero_copy_only=False)
        mins = pc.cast(
            pc.struct_field(m, "m", memory_pool=_POOL), pa.float64(), memory_pool=_POOL
        ).to_numpy(zero_copy_only=False)
        minus = pc.coalesce(
            pc.equal(pc.struct_field(m, "s", memory_pool=_POOL), "-", memory_pool=_POOL),
            False,
            memory_pool=_POOL,
        )
        minus = minus.to_numpy(zero_copy_only=False)
        out = np.where(minus, -1.0, 1.0) * (hours * 60 + mins)
        zulu = pc.match_substring_regex(arr, "Z$", memory_pool=_POOL).to_numpy(zero_copy_only=False)
        return pd.Series(np.where(zulu, 0.0, out), index=s.index)
    s = s.astype(str).str.strip()
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


def _strings(cols: list[Any]) -> pa.Array:
    """Arrow strings of blocks of values (Arrow arrays or sequences of ``str``), in order."""
    arrs = [
        c if isinstance(c, pa.Array) else pa.array(c, type=pa.string(), memory_pool=_POOL)
        for c in cols
    ]
    return pa.concat_arrays(arrs, memory_pool=_POOL) if len(arrs) != 1 else arrs[0]


def _compact_blocks(blocks: list[tuple[np.ndarray, dict[str, Any]]], offsets: bool) -> pd.DataFrame:
    """Blocks of glucose or carbohydrate rows -> the typed columns of :func:`_compact` (the
    same values for the same strings)."""
    line = np.concatenate([b[0] for b in blocks])
    date = _strings([b[1]["date"] for b in blocks])
    df = pd.DataFrame({"line": line})
    df["time"] = parse_local_times(date)
    if offsets:
        df["utc_offset_min"] = parse_utc_offsets(date).astype("float32")
    value = _strings([b[1]["value"] for b in blocks])
    if (
        len(value)
        and pc.all(
            pc.match_substring_regex(value, "^[0-9]{1,15}$", memory_pool=_POOL), memory_pool=_POOL
        ).as_py()
    ):
        # whole numbers below 2**53: exactly what pandas parses, without a Python string each
        df["num"] = pc.cast(value, pa.int64(), memory_pool=_POOL).to_numpy().astype("float64")
    else:
        text = pd.Series(value.to_numpy(zero_copy_only=False), dtype=object)
        df["num"] = pd.to_numeric(text, errors="coerce").astype("float64")
    unit = pc.dictionary_encode(_strings([b[1]["unit"] for b in blocks]), memory_pool=_POOL)
    df["unit"] = pd.Categorical.from_codes(
        unit.indices.to_numpy(zero_copy_only=False).astype(np.int32),
        categories=pd.Index(unit.dictionary.to_numpy(zero_copy_only=False), dtype=object),
    )
    return df


def _quantity_frame(df: pd.DataFrame, prov: Provenance) -> pd.DataFrame:
    """Records with a valid time and numeric value; bad rows dropped into ``prov``."""
    bad_t = df["time"].isna().to_numpy()
    bad_v = ~bad_t & ~np.isfinite(df["num"].to_numpy(dtype=float))
    warn_dropped(prov, "impossible timestamp", df["line"].to_numpy()[bad_t], "startDate")
    warn_dropped(prov, "bad value", df["line"].to_numpy()[bad_v], "value is not a number")
    ok = ~(bad_t | bad_v)
    time = df["time"]
    # the time rule is a range: when the earliest and the latest time are plausible, so is
    # every time (then no reason is made per row)
    edges = pd.Series([time.min(), time.max()], dtype="datetime64[ns]")
    if (implausible(times=edges) != None).any():  # noqa: E711
        when = np.where(~ok, None, implausible(times=time))
        ok &= drop_implausible(prov, when, df["line"].to_numpy())
    return df if ok.all() else df.loc[ok]  # (no copy when every row is kept)


#: Rows of each chunk of a text column that holds one value (its chunks share one buffer).
_TEXT_CHUNK = 1 << 16


def _text_column(values: list[str], codes: np.ndarray) -> Any:
    """The text column ``values[codes]`` (``codes``: int8) as pandas makes it of an object
    array of Python strings, without a Python object per row.

    pandas 3 keeps text as Arrow strings: made here by one ``take`` into memory of the system
    allocator or, when every row holds the same value, as chunks of :data:`_TEXT_CHUNK` rows
    that share one buffer (the same values and dtype: ~0.1 MB for any number of rows instead
    of 8 bytes and the text's length a row). Where pandas keeps text as objects, an object
    array (also when empty: pandas keeps an empty object array as objects).
    """
    dtype = pd.Series(values[:1], dtype=object).infer_objects().dtype
    if not isinstance(dtype, pd.StringDtype) or dtype.storage != "pyarrow" or not len(codes):
        return np.array(values, dtype=object)[codes]
    table = pa.array(values, type=pa.large_string(), memory_pool=_POOL)
    n = len(codes)
    if n > _TEXT_CHUNK and (len(values) == 1 or not (codes != codes[0]).any()):
        one = np.full(_TEXT_CHUNK, codes[0], dtype=np.int8)
        block = pc.take(table, pa.array(one), memory_pool=_POOL)
        whole, rest = divmod(n, _TEXT_CHUNK)
        chunks = [block] * whole + ([block.slice(0, rest)] if rest else [])
        return pd.array(pa.chunked_array(chunks, type=table.type), dtype=dtype)
    return pd.array(pc.take(table, pa.array(codes), memory_pool=_POOL), dtype=dtype)


def _glucose_readings(raw: pd.DataFrame, subject: str, prov: Provenance) -> pd.DataFrame:
    df = _quantity_frame(raw, prov)
    del raw  # (the caller keeps no reference: each raw column is freed once it is used)
    line = df["line"].to_numpy()
    # the unit rules on each distinct unit (a file holds a few), not on every row
    codes, uniques = pd.factorize(df["unit"])
    unit = pd.Series(np.asarray(uniques, dtype=object), dtype=object).astype(str).str.strip()
    is_mg_u = unit.str.lower().eq("mg/dl").to_numpy(dtype=bool)
    is_mmol_u = (unit.str.lower().str.startswith("mmol") & unit.str.endswith("/L")).to_numpy(
        dtype=bool
    )
    is_mg, is_mmol = is_mg_u[codes], is_mmol_u[codes]
    del codes
    bad_u = ~(is_mg | is_mmol)
    if bad_u.any():
        warn_dropped(prov, "unknown unit", line[bad_u], "expected mg/dL or mmol/L")
    mgdl = df["num"].to_numpy(dtype=np.float64)
    if is_mmol.any():  # (num * MGDL_PER_MMOL where the unit is mmol/L: the same products)
        mgdl = mgdl.copy()
        mgdl[is_mmol] *= MGDL_PER_MMOL
    lo, hi = GLUCOSE_RANGE_MGDL
    bad_g = ~bad_u & ~((mgdl > lo) & (mgdl <= hi))
    if bad_g.any():
        warn_dropped(prov, "impossible glucose value", line[bad_g], f"outside {lo:g}-{hi:g} mg/dL")
    kept = ~(bad_u | bad_g)
    del bad_u, bad_g, line
    units = sorted({"mg/dL" if m else "mmol/L" for m in np.unique(is_mg[kept])})
    prov.units = "+".join(units)
    every = bool(kept.all())  # (then no column is copied to be filtered)
    time = df["time"].to_numpy(dtype="datetime64[ns]")
    offset = df["utc_offset_min"].to_numpy()
    del df, is_mg
    mmol = is_mmol.view(np.int8)
    if not every:
        time, offset, mmol, mgdl = time[kept], offset[kept], mmol[kept], mgdl[kept]
    n = len(time)
    # glucose_mgdl and utc_time_s: pandas' one block of floats, written in place (not stacked)
    floats = np.empty((2, n))
    floats[0] = mgdl
    del mgdl
    # the instant (s since 1970), where the date gave its offset: orders readings across a
    # daylight-saving or time-zone change (time / 1e9 - 60 * offset)
    np.divide(time.view("i8"), 1e9, out=floats[1])
    east = offset.astype(np.float64)
    del offset
    east *= 60.0
    floats[1] -= east
    del east
    out = pd.DataFrame(floats.T, columns=["glucose_mgdl", "utc_time_s"], copy=False)
    one = np.zeros(n, dtype=np.int8)
    # the other columns put in their places, not copied (Series on the same index; a text
    # scalar when there are no rows, as before)
    for at, name, col in (
        (0, "subject", _text_column([subject], one) if n else subject),
        (1, "time", time),
        (3, "censored", np.full(n, None, dtype=object)),
        (4, "source", _text_column([SOURCE], one) if n else SOURCE),
        # two shared strings, not one made per row
        (5, DEVICE_UNITS, _text_column(["mg/dL", "mmol/L"], mmol)),
    ):
        value = col if isinstance(col, str) else pd.Series(col, index=out.index, copy=False)
        out.insert(at, name, value)
    return out


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


#: The engines of :func:`read_apple_health`.
ENGINES = ("fast", "expat")


def read_apple_health(
    path: str | PathLike, subject: str | None = None, engine: str = "fast"
) -> Recording:
    """Read an Apple Health ``export.xml`` (or Apple's ``export.zip``) streaming.

    Parameters
    ----------
    path : str or PathLike
        The ``export.xml`` file (or the ``export.zip`` holding it).
    subject : str, optional
        Subject id for every row; defaults to :data:`~soleus_analysis.core.schema.DEFAULT_SUBJECT` (never the file name).
    engine : {"fast", "expat"}
        ``"fast"`` (default): a byte-level scan finds the top-level records and workouts,
        expat parses the prolog (its DTD refusals) and each row that is read; anything outside
        the plain UTF-8 form Apple writes (UTF-16, comments, CDATA, character references,
        ATTLIST defaults, namespaces, ...) or malformed is read by the expat engine instead.
        ``"expat"``: the whole file through the hardened expat parser (the reference; the
        same result, 3-5x slower).

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
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, not {engine!r}")
    raw = None
    if engine == "fast":
        try:
            raw = _fast_scan(p)
        except _Fallback:
            raw = None
    if raw is None:
        raw = _scan_expat(p)
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
    readings = _glucose_readings(raw.pop("glucose"), subj, prov)  # (the raw rows freed)
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
    if not readings["time"].is_monotonic_increasing:  # (an export in time order: no copy)
        readings = readings.sort_values("time", kind="stable").reset_index(drop=True)
    events = events.sort_values("time", kind="stable").reset_index(drop=True)
    events["n_items"] = events["n_items"].astype("int64")
    return Recording(readings=readings, events=events, provenance=prov.check())


READERS = {FORMAT: read_apple_health}

"""Dexcom Clarity CSV export (G6 and G7) -> :class:`~soleus_analysis.core.recording.Recording`.

Layout (see ``docs``/FORMATS): one header row (``Index,Timestamp (YYYY-MM-DDThh:mm:ss),Event Type,
Event Subtype,...,Glucose Value (mg/dL),...,Transmitter Time (Long Integer),Transmitter ID``), then
untimed preamble rows (``FirstName``, ``LastName``, ``DateOfBirth``, ``Device``, ``Alert``), then
``EGV`` readings and event rows (``Insulin``, ``Carbs``, ``Exercise``, ``Health``, ``Calibration``).

Rules this reader follows:

- The header row is found by content, not by position: its cells are named in one of the
  documented languages (:data:`CLARITY_HEADERS`: English, Japanese, German, Spanish, Italian;
  sources in ``docs/formats.md``), or it has Clarity's layout in any other language
  (:func:`layout_columns`). ``,`` or ``;`` separated, a UTF-8 BOM, quoted or unquoted fields,
  the 14-, 13-, 12- and 11-column layouts are all accepted; so is the export saved as ``.xlsx``
  (read with pandas through openpyxl).
- Event types are read in English; words of other languages by :data:`EVENT_WORDS`, or by what
  their rows hold (see :func:`read_dexcom`). Rows without a timestamp are the preamble.
- Units come only from the glucose column name (``mg/dL`` or ``mmol/L``); mmol/L values are
  converted with :data:`~soleus_analysis.core.schema.MGDL_PER_MMOL`.
- Every ``EGV`` row is one reading, including repeated local times (daylight-saving fall-back,
  phone time-zone change). Readings carry ``transmitter_time_s`` and are sorted by the
  device's clock (:func:`~soleus_analysis.core.clock.device_clock_ns`), so the hour a fall-back
  repeats stays in the order it was measured.
- ``Low`` / ``High`` (German ``Niedrig`` / ``Hoch``) are censored readings at the G6/G7 display
  limits 40 and 400 mg/dL.
- Preamble rows are counted as dropped; personal data go only into ``provenance.metadata``.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import html
import io
import itertools
import re
import unicodedata
import zipfile
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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
    ZIP_ERRORS,
    TextRows,
    arrow_text,
    check_input_file,
    csv_text,
    exact_times,
    few_texts,
    find_header,
    implausible,
    is_empty_text,
    isin,
    object_text,
    open_text,
    read_head,
    split_line,
    split_text,
    strip_text,
    text_frame,
    text_to_timedelta,
    to_float,
    to_ns,
    upper_text,
    warn_decoding,
)
from .encoding import sniff_text
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

_ISO_FORMAT = "%Y-%m-%dT%H:%M:%S"
_TOO_MANY = "\x00too many fields"
#: Delimiters a line may hold beyond twice the header's before the file is read by the csv
#: module rather than pandas' C reader (quoted delimiters count too, so the margin is wide).
MAX_EXTRA_FIELDS = 64

#: Clarity header cells by language: canonical key -> the cells that mean it, normalised by
#: :func:`header_base` (lower case, no accents, the bracketed format or unit dropped: ``Glucose
#: Value (mg/dL)`` -> ``glucose value``). Where each set comes from is in ``docs/formats.md``
#: ("Dexcom Clarity (languages)"); a language no set covers is read by the layout instead
#: (:func:`layout_columns`).
CLARITY_HEADERS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "index": ("index",),
        "time": ("timestamp",),
        "event_type": ("event type",),
        "event_subtype": ("event subtype",),
        "patient_info": ("patient info",),
        "device_info": ("device info",),
        "source_device_id": ("source device id",),
        "glucose": ("glucose value",),
        "insulin": ("insulin value",),
        "carbs": ("carb value",),
        "duration": ("duration",),
        "rate": ("glucose rate of change",),
        "transmitter_time": ("transmitter time",),
        "transmitter_id": ("transmitter id",),
    },
    "ja": {
        "index": ("索引",),
        "time": ("タイムスタンプ",),
        "event_type": ("イベント タイプ",),
        "event_subtype": ("イベント サブタイプ",),
        "patient_info": ("患者情報",),
        "device_info": ("デバイス情報",),
        "source_device_id": ("ソースデバイス id",),
        "glucose": ("グルコース値",),
        "insulin": ("インスリン値",),
        "carbs": ("炭水化物値",),
        "duration": ("期間",),
        "rate": ("グルコース変化率",),
        "transmitter_time": ("トランスミッター時刻",),
        "transmitter_id": ("トランスミッター id",),
    },
    "de": {
        "time": ("zeitstempel",),
        "event_type": ("ereignistyp", "ereignisart"),
        "event_subtype": ("ereignisuntertyp",),
        "patient_info": ("patienteninfo",),
        "device_info": ("gerateinfo",),
        "source_device_id": ("quellgerate-id",),
        "glucose": ("glukosewert",),
        "insulin": ("insulinwert",),
        "carbs": ("kohlenhydratwert",),
        "duration": ("dauer",),
    },
    "es": {
        "time": ("marca temporal",),
        "event_type": ("tipo de evento",),
        "glucose": ("nivel de glucosa",),
        "insulin": ("nivel de insulina",),
        "carbs": ("nivel de carbohidratos",),
    },
    "it": {
        "time": ("data e ora",),
        "event_type": ("tipo di evento",),
        "event_subtype": ("sottotipo di evento",),
        "glucose": ("valore del glucosio",),
        "transmitter_id": ("id trasmettitore",),
    },
}

#: Event-type words (upper case) -> the English type they mean. The words of the languages
#: whose exports were seen; an unknown word is read by what its rows hold (see read_dexcom).
EVENT_WORDS: dict[str, str] = {
    **{w: w for w in ("EGV", "CALIBRATION", "INSULIN", "CARBS", "EXERCISE", "HEALTH")},
    **{w: w for w in ("NOTE", "NOTES", "FIRSTNAME", "LASTNAME", "DATEOFBIRTH", "DEVICE", "ALERT")},
    "NIVELES ESTIMADOS DE GLUCOSA": "EGV",  # Spanish
    "食事": "CARBS",  # Japanese: meal (carbs in 炭水化物値)
    "活動": "EXERCISE",  # Japanese: activity
    "空腹時グルコース": "FASTING",  # Japanese: fasting glucose (a value the person entered)
    "名": "FIRSTNAME",
    "姓": "LASTNAME",
    "デバイス": "DEVICE",
    "アラート": "ALERT",
}
#: Exercise subtypes of other languages -> Clarity's English ones.
INTENSITY_WORDS: dict[str, str] = {"軽い": "Light", "ミディアム": "Medium"}
#: Words of an out-of-range EGV value (or its subtype), by meaning.
LOW_WORDS = frozenset({"LOW", "NIEDRIG"})
HIGH_WORDS = frozenset({"HIGH", "HOCH"})

_PREAMBLE_TYPES = {"FIRSTNAME", "LASTNAME", "DATEOFBIRTH", "DEVICE", "ALERT"}
_EVENT_TYPES = ("INSULIN", "CARBS", "EXERCISE", "HEALTH", "NOTE", "NOTES", "FASTING")


_DATE_MARK = re.compile(r"\(\w{4}-\w{2}-\w{2}t\w{2}:\w{2}:\w{2}\)")
_UNIT_MARK = re.compile(r"\((mg/dl|mmol/l)\)")
_DURATION_MARK = "(hh:mm:ss)"


def _norm(name: str) -> str:
    """Lower case, single spaces, accents of Latin letters removed (``Gerät`` -> ``gerat``);
    other scripts' marks kept (``プ`` stays ``プ``)."""
    t = unicodedata.normalize("NFKD", str(name).replace("\ufeff", ""))
    out: list[str] = []
    for ch in t:
        if unicodedata.combining(ch) and out and out[-1] < "\u0250":
            continue
        out.append(ch)
    return " ".join(unicodedata.normalize("NFC", "".join(out)).strip().lower().split())


@functools.lru_cache(maxsize=8192)  # pure: sniffers ask for the same cells
def header_base(cell: str) -> str:
    """A Clarity header cell without its bracketed part, as :data:`CLARITY_HEADERS` spells it."""
    return re.sub(r"\s*\([^)]*\)", "", _norm(cell)).strip()


def header_language(header: list[str]) -> str:
    """The language of :data:`CLARITY_HEADERS` with most cells in ``header`` (``""`` if none)."""
    bases = {header_base(c) for c in header}
    votes = {
        lang: sum(any(header_base(c) in bases for c in cells) for cells in keys.values())
        for lang, keys in CLARITY_HEADERS.items()
    }
    best = max(votes, key=lambda lang: votes[lang])
    return best if votes[best] else ""


def layout_columns(header: list[str]) -> dict[str, str]:
    """Columns of a Clarity header of any language, from Clarity's fixed layout.

    Every Clarity export, in every language seen, has the same columns in the same order:
    index, timestamp ``(YYYY-MM-DDThh:mm:ss)`` (letters localised: ``JJJJ-MM-TT``,
    ``AAAA-MM-GG``), event type and subtype, patient info, device info, source device id,
    glucose ``(mg/dL)``/``(mmol/L)``, insulin, carbs, duration ``(hh:mm:ss)``, then (newer
    layouts) the rate of change ``(.../min)``, transmitter time and transmitter id. A header
    whose timestamp, glucose and duration cells carry those marks at those places is mapped by
    position; any other gives ``{}``.
    """
    if len(header) < 11 or not (  # the cells are normalised only when the header is long enough
        _DATE_MARK.search(_norm(header[1]))
        and _UNIT_MARK.search(_norm(header[7]))
        and _DURATION_MARK in _norm(header[10])
    ):
        return {}
    keys = ["index", "time", "event_type", "event_subtype", "patient_info", "device_info",
            "source_device_id", "glucose", "insulin", "carbs", "duration"]  # fmt: skip
    if len(header) > 11 and "/min)" in _norm(header[11]):
        keys.append("rate")
    keys += ["transmitter_time", "transmitter_id"]
    return {k: header[i] for i, k in enumerate(keys) if i < len(header) and header[i].strip()}


@functools.lru_cache(maxsize=8192)  # pure: sniffers ask for the same cells
def _cell_key(cell: str) -> str | None:
    """The canonical key a header cell names (:func:`map_header`'s rule), or None."""
    base = header_base(cell)
    key = _KNOWN.get(base)
    if key is None:
        key = next((k for k, (c,) in _EN_PREFIXES.items() if base.startswith(c)), None)
    return key


def map_header(header: list[str]) -> dict[str, str]:
    """Canonical key -> header cell for a Clarity header (any language, any layout).

    Cells of a documented language are matched by name (English also by prefix, for renamed
    columns such as a bare ``Timestamp``); what names leave open is taken from the layout
    (:func:`layout_columns`) when the header has Clarity's layout.
    """
    cols: dict[str, str] = {}
    for cell in header:
        key = _cell_key(cell)
        if key is not None and key not in cols:
            cols[key] = cell
    for key, cell in layout_columns(header).items():
        if key not in cols and cell not in cols.values():
            cols[key] = cell
    return cols


_EN_PREFIXES = {k: v for k, v in CLARITY_HEADERS["en"].items()}

#: Every documented cell, normalised as :func:`header_base` normalises a file's cells -> key.
_KNOWN: dict[str, str] = {}
for _keys in CLARITY_HEADERS.values():
    for _key, _cells in _keys.items():
        for _cell in _cells:
            _KNOWN.setdefault(header_base(_cell), _key)


def _unterminated(text: str) -> bool:
    """True when the file's decoded text does not end with a newline."""
    return bool(text) and not text.endswith("\n")


# ----------------------------------------------------------------------------------------------
# sniffing
# ----------------------------------------------------------------------------------------------
def is_header_cells(cells: list[str]) -> bool:
    """True when ``cells`` are a Clarity header: event type and glucose columns found."""
    cols = map_header(cells)
    return "event_type" in cols and "glucose" in cols


def _is_header(line: str) -> bool:
    return is_header_cells(split_line(line)[0])


def sniff(text: str, raw: bytes) -> bool:
    """True when the head of a file looks like a Dexcom Clarity CSV export (any language)."""
    lines = text.splitlines()[:50]
    if any(_is_header(ln) for ln in lines if ln.strip()):
        return True
    low = "\n".join(lines)
    return ("FirstName" in low or ",Device," in low) and ",EGV," in text


def _xlsx_strings(zf: zipfile.ZipFile) -> list[str]:
    """The first text cells of a workbook (shared strings, else the first sheet's inline ones)."""
    names = set(zf.namelist())
    cells: list[str] = []
    for name in ("xl/sharedStrings.xml", "xl/worksheets/sheet1.xml"):
        if name in names:
            with zf.open(name) as fh:
                head = sniff_text(fh.read(1 << 20))
            cells += re.findall(r"<t(?:\s[^>]*)?>([^<]*)</t>", head)[:400]
    return [html.unescape(c) for c in cells]


def sniff_zip(zf: zipfile.ZipFile) -> bool:
    """True for an .xlsx workbook whose first text cells hold a Clarity header."""
    if "xl/workbook.xml" not in zf.namelist():
        return False
    cols = map_header(_xlsx_strings(zf))
    return {"event_type", "glucose", "time"} <= set(cols)


# ----------------------------------------------------------------------------------------------
# reading
# ----------------------------------------------------------------------------------------------
def _map_columns(header: list[str], path: Path, line: int) -> dict[str, str]:
    cols = map_header(header)
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


#: The export's own timestamps, ``YYYY-MM-DDThh:mm:ss``: read by :func:`~.base.exact_times`.
_ISO_EXACT = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$"
_ISO_SPANS = ((0, 4), (5, 7), (8, 10), (11, 13), (14, 16), (17, 19))


def _parse_time(s: pd.Series) -> pd.Series:
    """Parse Clarity local timestamps to datetime64[ns] (NaT where not a valid date-time).

    The export's ``YYYY-MM-DDThh:mm:ss`` is read column-wise (:func:`~.base.exact_times`);
    the cells it does not read, by :func:`_parse_time_text`.
    """
    try:
        arr = arrow_text(s)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # cells that are not all text
        return _parse_time_text(s)
    t, done = exact_times(arr, _ISO_EXACT, _ISO_SPANS)
    rest = ~done & ~is_empty_text(arr)
    if rest.any():
        t[rest] = _parse_time_text(s[rest]).to_numpy(dtype="datetime64[ns]")
    return pd.Series(t, index=s.index)


def _parse_time_text(s: pd.Series) -> pd.Series:
    """:func:`_parse_time` by pandas: ``YYYY-MM-DDThh:mm:ss`` first; other ISO-like spellings
    (space separator, no seconds, fractions) are accepted too."""
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


@functools.lru_cache(maxsize=64)  # pure; a cohort's exports share a few header lines
def _c_reader_names(head: str, usecols: tuple[int, ...] | None, delimiter: str) -> pd.Index | None:
    """The column names ``pandas.read_csv`` makes of the header line ``head`` (repeats
    renamed), for the columns ``usecols``; None when the C reader refuses the line."""
    try:
        cols = pd.read_csv(
            io.StringIO(head),
            usecols=None if usecols is None else list(usecols),
            sep=delimiter,
            nrows=0,
        ).columns
    except (pd.errors.ParserError, ValueError):
        return None
    return cols.copy()


def _split_frame(
    text: str, skip: int, ncols: int, usecols: list[int] | None, delimiter: str
) -> tuple[pd.DataFrame, np.ndarray] | None:
    """What ``pandas.read_csv`` gives in :func:`_read_frame`, split by pyarrow
    (:func:`~.base.split_text`) when every record is one line and its quotes are whole quoted
    fields; None otherwise (or, without ``usecols``, when a row has more fields than the
    header, which the C reader refuses)."""
    starts = [m.start() for m in itertools.islice(re.finditer("\n", text), skip + 1)]
    if len(starts) < skip + 1:
        return None
    begin = starts[skip - 1] + 1 if skip else 0
    sp = split_text(text[starts[skip] + 1 :], delimiter)
    if sp is None or (usecols is None and (sp.n_fields > ncols).any()):
        return None
    names = _c_reader_names(
        text[begin : starts[skip] + 1], None if usecols is None else tuple(usecols), delimiter
    )
    if names is None:
        return None
    pos = sorted(usecols) if usecols is not None else list(range(ncols))
    if len(names) != len(pos):
        return None
    rows = np.arange(len(sp.n_fields))
    cells, _ = sp.columns(rows, ncols, pos)  # (rows with more fields are judged later)
    df = text_frame([cells[i] for i in pos], list(names), str_dtype=True)
    return df, rows + skip + 2


def _read_frame(
    path: Path,
    skip: int,
    header: list[str],
    usecols: list[int] | None = None,
    delimiter: str = ",",
    text: str | None = None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Read every row below the header as text; return (frame, 1-based line numbers).

    ``usecols`` (header positions) limits the columns parsed, for speed; the first position is
    where rows with more fields than the header are marked. ``text`` is the file's decoded
    text (:func:`~.base.csv_text`), read when not given.
    """
    # Fields past the header's last column are ignored when ``usecols`` is given (a row shifted
    # by an unquoted comma then fails the value checks and is dropped with its line); without
    # ``usecols`` such a row raises ParserError and goes to the exact path below.
    kw = dict(dtype=object, na_filter=False, skip_blank_lines=False, skiprows=skip)
    ncols = len(header)
    if text is None:
        text = csv_text(path).text
    # a row of far more fields than the header (30,000 stray delimiters) makes the C reader
    # build that many columns (seconds per row): such a file takes the exact path at once
    limit = 2 * ncols + MAX_EXTRA_FIELDS
    widest = 0
    if text.count(delimiter) > limit:  # else no line can hold more (one scan of the text)
        per_line = pc.count_substring(
            pc.split_pattern(pa.array([text], pa.large_string()), "\n").flatten(), delimiter
        )
        widest = int(pc.max(per_line).as_py() or 0)
    if widest <= limit:
        fast = _split_frame(text, skip, ncols, usecols, delimiter)
        if fast is not None:
            return fast
        try:
            df = pd.read_csv(io.StringIO(text), usecols=usecols, sep=delimiter, **kw)
        except (pd.errors.ParserError, ValueError):  # pandas raises either on ragged rows
            pass
        else:
            return df, np.arange(len(df)) + skip + 2
    # unparseable by the C reader: slower path that keeps line numbers exactly
    with open_text(path) as fh:
        for _ in range(skip):
            fh.readline()
        reader = csv.reader(fh, delimiter=delimiter)
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


# ----------------------------------------------------------------------------------------------
# .xlsx (a Clarity export saved from a spreadsheet)
# ----------------------------------------------------------------------------------------------
def _cell_text(value: object) -> str:
    """A spreadsheet cell as the text Clarity's CSV holds (dates ISO, whole numbers bare)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime(_ISO_FORMAT)
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S")
    if isinstance(value, dt.timedelta):
        secs = int(value.total_seconds())
        return f"{secs // 3600:02d}:{secs % 3600 // 60:02d}:{secs % 60:02d}"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _xlsx_frame(path: Path) -> tuple[list[str], int, pd.DataFrame, np.ndarray]:
    """Header, its 1-based row, the rows below it as text and their row numbers, from the
    first sheet of an .xlsx workbook that holds a Clarity header (within its first 200 rows).

    Raises
    ------
    InputError
        A workbook that cannot be opened, or none of whose sheets holds a Clarity header.
    """
    try:
        sheets = pd.read_excel(path, sheet_name=None, header=None, dtype=object, engine="openpyxl")
    except (*ZIP_ERRORS, TypeError, IndexError, AttributeError, SyntaxError) as err:
        # a corrupt workbook: the zip, its decompression, or openpyxl on its broken XML
        raise InputError(
            f"an .xlsx workbook that cannot be read ({type(err).__name__}); expected a Dexcom "
            "Clarity export saved as .xlsx",
            path,
        ) from None
    for sheet in sheets.values():
        text = sheet.map(_cell_text)
        for i in range(min(len(text), 200)):
            cells = [c for c in text.iloc[i].tolist()]
            while cells and not cells[-1]:
                cells.pop()
            if cells and is_header_cells(cells):
                body = text.iloc[i + 1 :, : len(cells)].copy()
                body.columns = pd.Index(cells)
                lines = np.arange(len(body), dtype=np.int64) + i + 2
                return cells, i + 1, body.reset_index(drop=True), lines
    raise InputError(
        "no Dexcom Clarity header row in any sheet of the workbook; expected a row with "
        "'Event Type' and 'Glucose Value (mg/dL)' (or the same columns in another language)",
        path,
        1,
    )


# ----------------------------------------------------------------------------------------------
# the reader
# ----------------------------------------------------------------------------------------------
def read_dexcom(path: str | PathLike, subject: str | None = None) -> Recording:
    """Read a Dexcom Clarity export (G6 or G7, mg/dL or mmol/L; CSV in any language, or .xlsx).

    Parameters
    ----------
    path : str or PathLike
        The ``.csv`` file exported from Dexcom Clarity (``,`` or ``;`` separated), or the
        export saved as an ``.xlsx`` workbook.
    subject : str, optional
        Subject id for every row; defaults to :data:`~soleus_analysis.core.schema.DEFAULT_SUBJECT`.

    Returns
    -------
    Recording
        ``readings``: one row per ``EGV`` row (glucose in mg/dL; ``Low``/``High`` censored at
        40/400 mg/dL), with extra columns ``transmitter_time_s`` (Int64, seconds) and
        ``transmitter_id``, in the device's clock order. ``events``: insulin
        (``insulin_u`` in units, label Fast-/Long-Acting), carbs (kind ``meal``, ``carbs_g`` in
        g), exercise (``intensity``, ``end`` = start + duration; kind ``spu`` when its text
        names soleus pushups), health (label = subtype; a fasting glucose the person entered
        is ``health`` labelled with its value) and notes. Event types of other languages are
        read by :data:`EVENT_WORDS`, or by what their rows hold (a carb value: meal; insulin:
        insulin; a duration: exercise), with a warning naming the word. ``provenance``:
        every row below the header kept or dropped with a reason; rows without a timestamp
        are the preamble, whose facts go only into ``metadata`` (with ``language``).

    Raises
    ------
    InputError
        No header row, a missing required column, unknown units, no timestamp column, or no
        data rows.
    """
    p = check_input_file(path)
    subject = subject or DEFAULT_SUBJECT
    xlsx = read_head(p, 4) == b"PK\x03\x04"
    if xlsx:
        header, hline, df, lines = _xlsx_frame(p)
        cols = _map_columns(header, p, hline)
    else:
        head = find_header(
            p,
            _is_header,
            what="a Dexcom Clarity CSV export",
            missing="no Dexcom Clarity header row found; expected a line with 'Event Type' and "
            "'Glucose Value (mg/dL)' (or '(mmol/L)'), or the same columns in another language",
            max_lines=200,
        )
        hidx, header, hline = head.index, head.fields, head.line
        cols = _map_columns(header, p, hline)
        # parse only the columns used (renamed timestamp: all, to find it by content)
        used = {"event_type", "event_subtype", "glucose", "insulin", "carbs", "duration"}
        used |= {"transmitter_time", "transmitter_id", "time", "patient_info", "device_info"}
        used |= {"source_device_id"}
        usecols = None
        if "time" in cols:
            usecols = sorted(header.index(cols[k]) for k in used if k in cols)
        text = csv_text(p).text
        df, lines = _read_frame(p, hidx, header, usecols, head.delimiter, text)
        df.columns = [str(c).replace("\ufeff", "").strip() for c in df.columns]
    units = _units(cols["glucose"], p, hline)
    prov = Provenance(path=str(p), format=FORMAT, units=units)
    if not xlsx:
        warn_decoding(prov, head)
    prov.metadata["language"] = header_language(header) or "unknown"
    if xlsx:
        prov.metadata["saved_as"] = "xlsx"
    if len(df) == 0:
        raise InputError("no data rows below the header", p, hline)
    cols["time"] = _find_time_column(df, cols, p, hline)
    prov.rows_read = len(df)
    rows = TextRows(df, cols, lines, prov)
    raw_type = few_texts(pc.utf8_upper(rows.text("event_type")))
    times = _parse_time(df[cols["time"]])
    timed = ~times.isna().to_numpy()
    untimed = is_empty_text(rows.text("time")) if rows.has("time") else ~timed
    et, notes = _event_types(rows, raw_type, timed)
    codes, uniques = pd.factorize(et)
    types = pd.Index(uniques)  # the few distinct event types, once

    def is_type(*names: str) -> np.ndarray:
        hit = np.flatnonzero(types.isin(names))
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
    if not xlsx:
        rows.drop(_truncated_last(text, rows, et), REASON_TRUNCATED, "row cut off (truncated file)")

    # the preamble: the types Clarity writes there, and any other row without a timestamp
    timed_types = is_type("EGV", "CALIBRATION", *_EVENT_TYPES)
    pre = (is_type(*_PREAMBLE_TYPES) | (untimed & ~timed_types)) & ~rows.handled
    if pre.any():
        prov.metadata.update(_preamble_metadata(rows, et, pre))
    rows.drop(pre, REASON_PREAMBLE, warn=False)
    rows.drop(is_type("CALIBRATION"), REASON_CALIBRATION, warn=False)

    rows.drop(timed_types & ~timed, REASON_BAD_TIME, "unparseable timestamp")
    when = implausible(times=times)
    rows.drop(timed_types & (when != None), when, "time out of the plausible range")  # noqa: E711

    readings = _readings(rows, is_type("EGV"), times, units, subject)
    events = _events(rows, et, is_type(*_EVENT_TYPES), times, subject, units)

    # rows of other event types: one warning per type (after the rows' own warnings)
    rest = ~rows.handled
    other = []
    for name in pd.unique(raw_type[rest]):
        mask = rest & (raw_type == name)
        reason = f"event type {name!r} (unsupported)" if name else "no event type"
        other.append((f"{int(mask.sum())} row(s) dropped: {reason}", int(lines[mask][0])))
        rows.drop(mask, reason, warn=False)
    rows.commit()
    for message, line in notes + other:
        prov.warn(message, line)
    prov.rows_kept = int(rows.kept.sum())
    prov.check()
    return Recording(readings=readings, events=events, provenance=prov)


def _event_types(
    rows: TextRows, raw_type: np.ndarray, timed: np.ndarray
) -> tuple[np.ndarray, list[tuple[str, int]]]:
    """Each row's event type in English, and a warning for each word read by its rows.

    Known words (:data:`EVENT_WORDS`) are translated. A word of a language not seen before is
    read by what its timestamped rows hold: when the file has no EGV rows, the word whose
    rows carry a glucose value and make at least half of the timestamped rows is ``EGV``;
    otherwise a carb value makes it ``CARBS``, an insulin value ``INSULIN``, a duration
    ``EXERCISE``. Other words stay as they are (dropped as unsupported).
    """
    inv, uniq = pd.factorize(raw_type)
    uniq = np.asarray(uniq, dtype=object)
    mapped = np.array([EVENT_WORDS.get(u, u) for u in uniq], dtype=object)
    known = np.array([u in EVENT_WORDS or u == "" for u in uniq], dtype=bool)
    notes: list[tuple[str, int]] = []
    if known.all():  # the usual case: nothing to read from the rows
        return mapped[inv], notes
    all_rows = np.ones(rows.n, dtype=bool)

    def filled(key: str) -> np.ndarray:
        return rows.col(key, all_rows).to_numpy() != "" if rows.has(key) else ~all_rows

    glucose, carbs, insulin, duration = (
        filled(k) for k in ("glucose", "carbs", "insulin", "duration")
    )
    n_timed = int(timed.sum())
    has_egv = bool(np.isin(mapped, ["EGV"]).any())
    candidates = []
    for j in np.flatnonzero(~known):
        mine = (inv == j) & timed
        if not mine.any():
            continue
        if not has_egv and (glucose[mine].mean() > 0.9) and mine.sum() * 2 >= n_timed:
            candidates.append(j)
    if len(candidates) == 1:
        mapped[candidates[0]] = "EGV"
    for j in np.flatnonzero(~known):
        mine = (inv == j) & timed
        if not mine.any():
            continue
        if mapped[j] == "EGV":
            what = "EGV readings (its rows hold the glucose values)"
        elif carbs[mine].any():
            mapped[j], what = "CARBS", "meals (its rows hold carb values)"
        elif insulin[mine].any():
            mapped[j], what = "INSULIN", "insulin (its rows hold insulin values)"
        elif duration[mine].any() and not glucose[mine].any():
            mapped[j], what = "EXERCISE", "exercise (its rows hold durations)"
        else:
            continue
        first = int(rows.lines[np.flatnonzero(mine)[0]])
        notes.append((f"event type {uniq[j]!r} (not a known word) read as {what}", first))
    return mapped[inv], notes


def _truncated_last(text: str, rows: TextRows, et: np.ndarray) -> np.ndarray:
    """Mask of the last row when the file (its decoded ``text``) ends without a newline in
    the middle of a row."""
    mask = np.zeros(rows.n, dtype=bool)
    if not _unterminated(text) or rows.n == 0 or rows.handled[-1]:
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


def _preamble_metadata(rows: TextRows, et: np.ndarray, pre: np.ndarray) -> dict[str, object]:
    """Device and patient facts of the preamble rows (personal data: metadata only)."""
    meta: dict[str, object] = {}
    types = pd.Series(et[pre], dtype=object)

    def get(key: str) -> pd.Series:
        return rows.col(key, pre).reset_index(drop=True)

    info = get("patient_info")
    patient = {}
    for t, key in (("FIRSTNAME", "first_name"), ("LASTNAME", "last_name"), ("DATEOFBIRTH", "dob")):
        vals = info[(types == t).to_numpy()]
        if len(vals):
            patient[key] = vals.iloc[0]
    if patient:
        meta["patient"] = patient
    is_dev = (types == "DEVICE").to_numpy()
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
    alerts = get("event_subtype")[(types == "ALERT").to_numpy()]
    if len(alerts):
        meta["alerts"] = list(alerts)
    return meta


def _readings(
    rows: TextRows, egv: np.ndarray, times: pd.Series, units: str, subject: str
) -> pd.DataFrame:
    egv = egv & ~rows.handled
    rawv = rows.text("glucose", egv, strip=False)
    val = to_float(rawv, decimal_comma=True)
    n = len(val)
    nonnum = np.isnan(val)
    # the words (and subtypes) are "" where the value is a number: only those rows are asked
    low = np.zeros(n, dtype=bool)
    high = np.zeros(n, dtype=bool)
    empty = np.zeros(n, dtype=bool)
    if nonnum.any():
        picked = pa.array(nonnum)
        w = upper_text(rawv.filter(picked))
        sb = np.full(len(w), "", dtype=object)
        if rows.has("event_subtype"):
            sb = upper_text(rows.text("event_subtype", egv).filter(picked))
        no_value = strip_text(rawv.filter(picked)) == ""
        low[nonnum] = isin(w, LOW_WORDS) | (no_value & isin(sb, LOW_WORDS))
        high[nonnum] = isin(w, HIGH_WORDS) | (no_value & isin(sb, HIGH_WORDS))
        empty[nonnum] = no_value
    cens = low | high
    if units == "mmol/L":
        val = val * MGDL_PER_MMOL
    val[low] = DEXCOM_LOW_MGDL
    val[high] = DEXCOM_HIGH_MGDL
    empty &= ~cens
    bad = ~empty & ~cens & ~((val >= PLAUSIBLE_MGDL[0]) & (val <= PLAUSIBLE_MGDL[1]))
    ok = ~(empty | bad)

    idx = np.flatnonzero(egv)
    rows.drop(_scatter(rows.n, idx, empty), REASON_EMPTY_VALUE, "EGV row without a glucose value")
    bad_full = _scatter(rows.n, idx, bad)
    what = np.full(rows.n, None, dtype=object)
    # the value as the cell holds it (a word stripped)
    shown = object_text(rawv.filter(pa.array(bad)))
    shown[nonnum[bad]] = strip_text(shown[nonnum[bad]])
    what[bad_full] = [f"impossible glucose value {v!r}" for v in shown]
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
    tt = to_float(rows.text("transmitter_time", egv, strip=False))[ok]
    out["transmitter_time_s"] = pd.array(tt, dtype="Float64").round().astype("Int64")
    if rows.has("transmitter_id"):
        tid = few_texts(rows.text("transmitter_id", egv, strip=False))[ok]
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
    rows: TextRows,
    et: np.ndarray,
    mask: np.ndarray,
    times: pd.Series,
    subject: str,
    units: str,
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
        [t == "INSULIN", t == "CARBS", t == "EXERCISE", (t == "HEALTH") | (t == "FASTING")],
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
    intensity = np.array([INTENSITY_WORDS.get(x, x) for x in intensity], dtype=object)
    intensity = np.where(intensity == "", None, intensity)
    label = text.to_numpy().astype(object)
    fasting = t == "FASTING"
    if fasting.any():  # a fasting glucose the person entered: its value in the label
        value = rows.col("glucose", mask).to_numpy()[fasting]
        label[fasting] = [f"fasting glucose {v} {units}".replace("  ", " ") for v in value]
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
ZIP_SNIFFERS = [(FORMAT, sniff_zip)]
READERS = {FORMAT: read_dexcom}

"""What every reader shares: the path check, the head read, the header finder, the row account.

A reader module holds only its format's rules (which line is the header, what each column
means, which rows are kept); everything below is written once, here:

- :func:`check_input_file` (a regular, readable file; FIFOs and devices refused before they are
  opened), :func:`file_sha256`, :func:`read_head` (the first :data:`HEAD_BYTES` of a file);
- :func:`sniff_delimiter`, :func:`split_line`, :func:`find_header` (the header line among
  preamble lines), :func:`first_header`, :func:`read_table` / :func:`csv_table` (a CSV of named
  columns, one row per record, with its line numbers) and :func:`column_list` (column names in
  messages);
- the row account: :class:`RowAccount` (each row kept or dropped once, the first reason wins;
  the warnings written at the end, in line order) and :class:`TextRows` (the same over a frame
  of text cells, by column key); :func:`warn_dropped` and :func:`warn_each` for readers that
  account for their rows directly, all under one cap, :data:`MAX_WARNINGS_PER_REASON`;
- vectorised text parsing: :func:`to_float`, :func:`numbers`, :func:`strip_text`,
  :func:`upper_text`, :func:`isin`.

- CSV text: :func:`csv_text` / :func:`open_text` (the decoded file, its quotes checked by
  :func:`check_quotes`), :func:`warn_decoding`;
- plausible ranges: :func:`implausible` (times and amounts outside the ranges set in
  :mod:`soleus_analysis.core.schema`), :func:`safe_end` (start + duration without overflow).

Text decoding (BOMs, UTF-16, UTF-8 else Windows-1252, line ends, NUL bytes; binary refused) is
in :mod:`.encoding`, the rule that recognises soleus-pushup bouts in free text in
:mod:`.spu_text`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import stat
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pv

from ..core.errors import InputError
from ..core.recording import Provenance
from ..core.schema import (
    EARLIEST_TIME,
    LATEST_MARGIN,
    PLAUSIBLE_CARBS_G,
    PLAUSIBLE_DURATION_MIN,
    PLAUSIBLE_INSULIN_U,
    PLAUSIBLE_UTC_OFFSET_MIN,
)
from .encoding import Decoded, decode_file, decode_member, without_lone_surrogates

#: Bytes of a file's head that sniffers and header finders look at.
HEAD_BYTES = 64 * 1024

#: At most this many single-row warnings per reason (or per kind of note) in one file; the rest
#: are summed up in one ``"... and K more row(s) ..."`` line. Counts in ``rows_dropped`` are
#: always complete.
MAX_WARNINGS_PER_REASON = 20

#: A quoted field may hold line breaks (a spreadsheet cell with a line break), but may span at
#: most this many lines; a quote left open longer is an unterminated quote (:func:`check_quotes`).
MAX_QUOTED_LINES = 5

# Fields of any length: the csv module's default limit (128 KiB) would make one long cell a
# whole-file error; every row is accounted for by the readers instead. Set once, here.
csv.field_size_limit(2**31 - 1)


# --------------------------------------------------------------------------- the file
def check_input_file(path: str | PathLike) -> Path:
    """``path`` as a :class:`~pathlib.Path`, after checking it is a readable regular file.

    A FIFO, a device or a socket is refused before it is opened (reading one could block
    forever or never end), as are folders and missing files.

    Raises
    ------
    InputError
        Naming the file and what it is instead of a file.
    """
    p = Path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise InputError("no such file", path) from None
    except NotADirectoryError:
        raise InputError("no such file (a folder on its path is a file)", path) from None
    except PermissionError:
        raise InputError("permission denied: the file cannot be read", path) from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError("is a folder, expected a file", path)
    if not stat.S_ISREG(st.st_mode):
        kind = "a FIFO (named pipe)" if stat.S_ISFIFO(st.st_mode) else "a device or socket"
        raise InputError(f"is {kind}, not a file; save the export to a file first", path)
    if not os.access(p, os.R_OK):
        raise InputError("permission denied: the file cannot be read", path)
    return p


def file_sha256(path: str | PathLike) -> str:
    """SHA-256 of the file's bytes, hexadecimal (a provenance check that names nothing)."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def read_head(path: str | PathLike, size: int = HEAD_BYTES) -> bytes:
    """The first ``size`` bytes of ``path`` (after :func:`check_input_file`)."""
    with open(check_input_file(path), "rb") as fh:
        return fh.read(size)


# --------------------------------------------------------------------------- CSV lines
def sniff_delimiter(line: str) -> str:
    """The delimiter of a CSV line: the most frequent of ``,`` ``;`` tab (``,`` on a tie or none)."""
    return max((",", ";", "\t"), key=line.count)


def split_line(line: str, delimiter: str | None = None) -> tuple[list[str], str]:
    """One CSV line's fields (not stripped) and the delimiter used (sniffed when not given)."""
    delim = delimiter or sniff_delimiter(line)
    return next(csv.reader([line], delimiter=delim)), delim


def norm_name(name: str) -> str:
    """Normalise a column name: lower case, runs of non-alphanumerics to ``_`` (``Carbs (g)`` -> ``carbs_g``)."""
    return re.sub(r"[^0-9a-z]+", "_", name.replace("\ufeff", "").strip().lower()).strip("_")


@dataclass(frozen=True)
class Header:
    """The header line of a CSV export found among its preamble lines (see :func:`find_header`).

    Attributes
    ----------
    index : int
        0-based index of the header line (so ``index`` lines come before it).
    encoding : str
        The file's encoding (see :mod:`.encoding`).
    delimiter : str
        The header line's delimiter.
    fields : list of str
        The header cells, stripped.
    head : list of str
        The decoded lines of the file's head (the header and the lines before it among them).
    warnings : tuple of str
        What decoding the file changed, for its provenance (:func:`warn_decoding`).
    """

    index: int
    encoding: str
    delimiter: str
    fields: list[str]
    head: list[str]
    warnings: tuple[str, ...] = ()

    @property
    def line(self) -> int:
        """1-based line number of the header."""
        return self.index + 1


def find_header(
    path: str | PathLike,
    is_header: Callable[[str], bool],
    *,
    what: str,
    missing: str,
    max_lines: int,
    delimiter: str | None = None,
) -> Header:
    """Find the header line of a CSV export among the (non-blank) lines of its head.

    Parameters
    ----------
    path : path
        The export.
    is_header : callable
        ``is_header(line) -> bool`` on a line's text; the first line for which it holds is the
        header.
    what : str
        What the file should be, for the message about an empty file (``"a LibreView CSV
        export"``).
    missing : str
        The message when no line of the first ``max_lines`` is a header.
    max_lines : int
        How many lines of the head may come before the header.
    delimiter : str, optional
        The delimiter of the header line; sniffed from it (:func:`sniff_delimiter`) if omitted.

    Raises
    ------
    InputError
        An empty file, binary data, an unterminated quote, or no header line (``missing``,
        line 1).
    """
    dec = csv_text(path, what)
    lines = dec.text[:HEAD_BYTES].split("\n")
    for i, line in enumerate(lines[:max_lines]):
        if line.strip() and is_header(line):
            fields, delim = split_line(line, delimiter)
            return Header(i, dec.encoding, delim, [f.strip() for f in fields], lines, dec.warnings)
    raise InputError(missing, path, 1)


# --------------------------------------------------------------------------- CSV text
def _ends_open(line: str, delimiter: str) -> bool:
    """True when ``line`` ends inside a quoted field (as the csv module reads it)."""
    reader = csv.reader([line, ""], delimiter=delimiter)
    next(reader, None)
    return reader.line_num > 1


def _closes(lines: list[str], delimiter: str) -> int:
    """Lines the first record of ``lines`` spans when its quoted line breaks close cleanly
    (a closing quote followed by a delimiter or the line's end), else 0."""
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    try:
        next(reader)
    except (csv.Error, StopIteration):
        return 0
    return reader.line_num


#: The last text :func:`check_quotes` passed (a reader decodes one file several times, each
#: time the same ``str`` object from the decoder's cache): checked once, not once a call.
_QUOTES_OK: list[str] = []


def check_quotes(text: str, path: str | PathLike) -> None:
    """Refuse CSV text in which a quote opens a field and never closes.

    Such a quote makes every row after it one field (a stray ``"`` in an unquoted export): the
    rows would vanish while the row account still adds up. A quoted field may hold line breaks
    if it closes cleanly (its closing quote followed by a delimiter or the line's end) within
    :data:`MAX_QUOTED_LINES` lines; any other open quote is refused.

    Raises
    ------
    InputError
        Naming the line where the unterminated quote opened.
    """
    if '"' not in text or (_QUOTES_OK and _QUOTES_OK[0] is text):
        return
    # lines with an odd count of quotes or ending in "" (found by pyarrow), then the rule
    arr = pc.split_pattern(pa.array([text], pa.large_string()), "\n").flatten()
    odd = pc.bit_wise_and(pc.count_substring(arr, '"'), 1).to_numpy(zero_copy_only=False)
    ends = pc.ends_with(arr, '""').to_numpy(zero_copy_only=False)
    maybe = np.flatnonzero((odd == 1) | ends)
    if len(maybe):
        _check_open_quotes(text, maybe, path)
    _QUOTES_OK[:] = [text]


def _check_open_quotes(text: str, maybe: np.ndarray, path: str | PathLike) -> None:
    """The rule of :func:`check_quotes` on the lines ``maybe`` (0-based) of ``text``."""
    lines = text.split("\n")
    suspects = [
        i
        for i in maybe.tolist()
        if (lines[i].count('"') & 1)
        or (lines[i].endswith('""') and lines[i][-3:-2] not in ("", ",", ";", "\t"))
    ]
    done = -1
    for i in suspects:
        if i <= done:
            continue
        delim = sniff_delimiter(lines[i])
        if not _ends_open(lines[i], delim):
            continue
        if not any(ln.strip() for ln in lines[i + 1 :]):
            return  # the file ends inside the field: its last row was cut off (truncated)
        span = _closes(lines[i : i + MAX_QUOTED_LINES], delim)
        if not span:
            raise InputError(
                'unterminated quote: a field opened with " on this line is not closed (expected '
                f'the closing " on the same line, or within {MAX_QUOTED_LINES} lines before a '
                "delimiter or the line's end); remove the stray quote character",
                path,
                i + 1,
            )
        done = i + span - 1


def csv_text(path: str | PathLike, what: str = "a CSV text export") -> Decoded:
    """A CSV export's whole text, decoded (:mod:`.encoding`) and its quotes checked
    (:func:`check_quotes`).

    Raises
    ------
    InputError
        A missing, empty or binary file, or an unterminated quote.
    """
    dec = decode_file(path, what, empty=what)
    check_quotes(dec.text, path)
    return dec


def open_text(path: str | PathLike) -> io.StringIO:
    """The text of :func:`csv_text` as a file object, for ``csv.reader`` or ``pandas.read_csv``
    (in place of ``open(path)``, so every reader parses the same decoded text)."""
    return io.StringIO(csv_text(path).text)


def warn_decoding(prov: Provenance, source: Decoded | Header) -> None:
    """Write what decoding a file changed (Windows-1252, NUL bytes, ...) into its provenance."""
    for note in source.warnings:
        prov.warn(note)


def first_header(text: str, comments: bool = True) -> list[str]:
    """Normalised names (:func:`norm_name`) of the first non-blank (non-``#``) line's cells."""
    for ln in text.split("\n"):
        if ln.strip() and not (comments and ln.lstrip().startswith("#")):
            return [norm_name(c) for c in split_line(ln)[0]]
    return []


def csv_records(
    reader: Iterator[list[str]], path: str | PathLike, error: str = "malformed CSV"
) -> Iterator[tuple[int, list[str]]]:
    """``(first line, cells)`` of each non-blank record of a ``csv.reader`` (1-based lines, as
    an editor counts them, for records spanning several lines too).

    Raises
    ------
    InputError
        ``error`` and the csv module's message, naming the line where it failed.
    """
    prev = 0
    try:
        for cells in reader:
            start, prev = prev + 1, reader.line_num
            if any(c.strip() for c in cells):
                yield start, cells
    except csv.Error as err:
        raise InputError(f"{error} ({err})", path, prev + 1) from None


@dataclass
class Records:
    """The records of a CSV text as :func:`split_records` splits them.

    Attributes
    ----------
    header : list of str or None
        The header's names (None when the text holds no non-blank line).
    header_line : int
        1-based line of the header.
    rows : list of list of str
        The data rows, each padded or cut to the header's length.
    lines : list of int
        1-based first line of each row.
    too_long : list of int
        Lines of the rows with more non-empty fields than the header (not in ``rows``).
    """

    header: list[str] | None
    header_line: int
    rows: list[list[str]]
    lines: list[int]
    too_long: list[int]


def split_records(
    reader: Iterator[list[str]],
    path: str | PathLike,
    names: Callable[[list[str]], list[str]],
    *,
    comments: bool = False,
    error: str = "malformed CSV",
) -> Records:
    """Split the records of a ``csv.reader`` (:func:`csv_records`; linear in the text, any field
    length): the first non-blank (non-``#`` with ``comments``) record is the header (its
    trailing blank cells, a spreadsheet's empty columns, dropped; then ``names`` applied), a
    record with more non-empty fields than the header is counted in ``too_long``, short ones
    are padded.

    Raises
    ------
    InputError
        ``error`` and the csv module's message, naming the line where it failed.
    """
    out = Records(None, 0, [], [], [])
    for start, cells in csv_records(reader, path, error):
        if comments and cells[0].lstrip().startswith("#"):
            continue
        if out.header is None:
            while len(cells) > 1 and not cells[-1].strip():
                cells = cells[:-1]
            out.header, out.header_line = names(cells), start
            continue
        width = len(out.header)
        if len(cells) > width:
            if any(c.strip() for c in cells[width:]):
                out.too_long.append(start)
                continue
            cells = cells[:width]
        out.rows.append(cells + [""] * (width - len(cells)))
        out.lines.append(start)
    return out


def csv_table(
    text: str, path: str | PathLike, prov: Provenance, comments: bool = False
) -> tuple[pd.DataFrame, int]:
    """Split CSV text into a string DataFrame with normalised column names and a ``_line`` column.

    Blank lines (and, with ``comments=True``, lines starting with ``#``) are skipped and are not
    rows. Rows with more non-empty fields than the header are dropped (``"more fields than the
    header"``); short rows are padded with empty fields. Sets ``prov.rows_read``.

    Returns
    -------
    table : pandas.DataFrame
        All cells as stripped ``str``; ``_line`` holds each row's 1-based first line.
    header_line : int
        1-based line of the header.
    """
    first = ""
    for ln in text.split("\n"):
        if ln.strip() and not (comments and ln.lstrip().startswith("#")):
            first = ln
            break
    if not first:
        raise InputError("no header row (only blank or comment lines)", path)

    def names(cells: list[str]) -> list[str]:
        out = [norm_name(c) for c in cells]
        while out and not out[-1]:  # trailing columns without a name
            out.pop()
        return out

    rec = record_columns(text, path, names, sniff_delimiter(first), comments=comments)
    header, header_line, lines, too_long = rec.header, rec.header_line, rec.lines, rec.too_long
    if header is None:  # pragma: no cover - the first non-blank line is always read
        raise InputError("no header row (only blank or comment lines)", path)
    named = [h for h in header if h]
    dup = sorted({h for h in named if named.count(h) > 1})
    if dup:
        raise InputError(f"duplicate column(s) {dup}; expected each column once", path, header_line)
    prov.rows_read = len(lines) + len(too_long)
    warn_dropped(prov, "more fields than the header", too_long)
    if not len(lines) and not too_long:
        raise InputError("a header but no data rows", path, header_line)
    cols = [h if h else f"_unnamed{i}" for i, h in enumerate(header)]
    table = pd.DataFrame(
        {i: strip_text(c) if len(c) else c for i, c in enumerate(rec.columns)},
        index=pd.RangeIndex(len(lines)),
        dtype=object,
    )
    table.columns = pd.Index(cols, dtype=object)
    table["_line"] = np.asarray(lines, dtype="int64")
    return table, header_line


def read_table(
    path: str | PathLike, format: str, comments: bool = False
) -> tuple[pd.DataFrame, int, Provenance]:
    """Read a CSV of named columns (a meal/activity log, a lab table) with :func:`csv_table`.

    Returns
    -------
    table : pandas.DataFrame
        See :func:`csv_table`.
    header_line : int
        1-based line of the header.
    prov : Provenance
        The file's account (``rows_read`` set), with a warning when the file is not UTF-8.
    """
    p = check_input_file(path)
    dec = decode_file(p, "a CSV text file", empty="a CSV log with a header row")
    check_quotes(dec.text, p)
    prov = Provenance(path=str(p), format=format)
    warn_decoding(prov, dec)
    table, header_line = csv_table(dec.text, p, prov, comments)
    return table, header_line, prov


_TITLE_LIKE = re.compile(r":\s*\S|\d{1,4}[-./]\d{1,2}[-./]\d{1,4}")


def column_list(columns: Sequence[object], known: Iterable[str] = (), limit: int = 12) -> str:
    """Column names for a message, or a description when the row may not be a header at all.

    A message may quote column names but never the cells of a title or preamble line, which in
    some exports hold the person's name (Glooko's ``Name:<name>,Date Range:...`` line, the
    patient's name alone on the first line of the FreeStyle Libre desktop export). So the
    names are quoted only when at least one is a column name the reader knows (``known``,
    compared without case or surrounding spaces) and none looks like ``Label: value``, holds a
    date or is longer than 60 characters; otherwise the row is described by its field count.
    """
    cols = [str(c) for c in columns]
    names = {str(k).strip().lower() for k in known}
    header_like = any(c.strip().lower() in names for c in cols) and not any(
        len(c) > 60 or _TITLE_LIKE.search(c) for c in cols
    )
    if not header_like:
        return (
            f"{len(cols)} field{'s' if len(cols) != 1 else ''} of which none is a column name "
            "this reader knows (not quoted: a title or preamble line may hold a name)"
        )
    shown = ", ".join(cols[:limit])
    return shown + (f", ... ({len(cols)} in all)" if len(cols) > limit else "")


# --------------------------------------------------------------------------- warnings
def warn_each(
    prov: Provenance,
    where: Sequence[int] | np.ndarray,
    message: str | Sequence[str],
    summary: str,
    unit: str = "line",
) -> None:
    """Warn about rows one by one, at most :data:`MAX_WARNINGS_PER_REASON` of them.

    Parameters
    ----------
    prov : Provenance
        Where the warnings go.
    where : sequence of int
        1-based line numbers (or entry/row numbers, see ``unit``) of the rows.
    message : str or sequence of str
        The warning, or one per row.
    summary : str
        What the rows beyond the cap share, after ``"... and K more row(s) "``.
    unit : str
        ``"line"`` (the warning starts ``line N:``) or e.g. ``"entry"`` (``entry N:``).
    """
    n = len(where)
    for i, w in enumerate(where[:MAX_WARNINGS_PER_REASON]):
        text = message if isinstance(message, str) else message[i]
        if unit == "line":
            prov.warn(text, int(w))
        else:
            prov.warn(f"{unit} {int(w)}: {text}")
    if n > MAX_WARNINGS_PER_REASON:
        prov.warn(f"... and {n - MAX_WARNINGS_PER_REASON} more row(s) {summary}")


def dropped_warning(reason: str, what: str | None = None) -> str:
    """The warning about a dropped row: ``<what>; row dropped (<reason>)``, or ``dropped (<reason>)``."""
    return f"{what}; row dropped ({reason})" if what else f"dropped ({reason})"


def warn_dropped(
    prov: Provenance,
    reason: str,
    where: Sequence[int] | np.ndarray,
    detail: Sequence[str] | str | None = None,
    *,
    unit: str = "line",
) -> None:
    """Count ``len(where)`` rows dropped for ``reason`` and warn about each (capped).

    Each warning reads ``dropped (<reason>)``, followed by `` (<detail>)`` when a detail (one
    for all rows, or one per row, e.g. the offending value) is given. See :func:`warn_each` for
    ``where`` and ``unit``.
    """
    n = len(where)
    if not n:
        return
    prov.drop(reason, n)
    plain = dropped_warning(reason)
    if detail is None:
        message: str | list[str] = plain
    elif isinstance(detail, str):
        message = f"{plain} ({detail})"
    else:
        message = [f"{plain} ({d})" for d in detail[:MAX_WARNINGS_PER_REASON]]
    warn_each(prov, where, message, plain, unit)


# --------------------------------------------------------------------------- the row account
class RowAccount:
    """Every row of one file kept or dropped once, with its line: the first reason wins.

    :meth:`drop` and :meth:`keep` act only on rows not yet handled; :meth:`commit` writes the
    drops into the provenance: reasons in the order of their first row, each with a warning per
    row in line order (:func:`dropped_warning`, capped by :func:`warn_each`), unless it was
    dropped with ``warn=False``.

    Parameters
    ----------
    prov : Provenance
        The account of the file.
    lines : array of int
        1-based line number of each row.
    """

    def __init__(self, prov: Provenance, lines: np.ndarray) -> None:
        self.prov = prov
        self.lines = np.asarray(lines)
        self.n = len(self.lines)
        self.kept = np.zeros(self.n, dtype=bool)
        self.dropped = np.zeros(self.n, dtype=bool)
        self._reason = np.full(self.n, None, dtype=object)
        self._what = np.full(self.n, None, dtype=object)  # what was wrong, for the warning
        self._warn = np.zeros(self.n, dtype=bool)

    @property
    def handled(self) -> np.ndarray:
        """Rows kept or dropped."""
        return self.kept | self.dropped

    @property
    def open(self) -> np.ndarray:
        """Rows neither kept nor dropped yet."""
        return ~(self.kept | self.dropped)

    def drop(
        self,
        mask: np.ndarray | pd.Series,
        reason: str | np.ndarray,
        what: str | np.ndarray | None = None,
        *,
        warn: bool = True,
    ) -> None:
        """Drop the open rows of ``mask`` for ``reason`` (one for all rows, or one per row).

        Each gets a warning (:func:`dropped_warning`; ``what`` was wrong with it: one for all
        rows, or one per row), unless ``warn=False``.
        """
        m = np.asarray(mask, dtype=bool) & ~(self.kept | self.dropped)
        if not m.any():
            return
        self.dropped |= m
        self._reason[m] = reason if isinstance(reason, str) else np.asarray(reason)[m]
        if warn:
            self._warn |= m
            if what is not None:
                self._what[m] = what if isinstance(what, str) else np.asarray(what)[m]

    def keep(self, mask: np.ndarray) -> None:
        """Keep the open rows of ``mask``."""
        self.kept |= np.asarray(mask, dtype=bool) & ~(self.kept | self.dropped)

    def commit(self) -> np.ndarray:
        """Write the drops into the provenance; return the mask of rows not dropped."""
        idx = np.flatnonzero(self.dropped)
        codes, reasons = pd.factorize(self._reason[idx])
        for k, reason in enumerate(reasons):
            rows = idx[codes == k]
            self.prov.drop(str(reason), len(rows))
            rows = rows[self._warn[rows]]
            what = self._what[rows[:MAX_WARNINGS_PER_REASON]]
            text = [dropped_warning(reason, w) for w in what]
            warn_each(self.prov, self.lines[rows], text, dropped_warning(reason))
        return ~self.dropped


class TextRows(RowAccount):
    """The text rows of one file (a frame of cells) with their lines and their row account.

    Parameters
    ----------
    df : pandas.DataFrame
        Text cells, one row per data row.
    cols : dict
        Canonical key -> column name; keys whose column is absent read as empty text. A
        column used here whose name the header repeats is an :class:`InputError`.
    lines : array of int
        1-based line number of each row.
    prov : Provenance
        The account of the file.
    """

    def __init__(
        self, df: pd.DataFrame, cols: dict[str, str], lines: np.ndarray, prov: Provenance
    ) -> None:
        super().__init__(prov, lines)
        self.df = df
        self.cols = {k: v for k, v in cols.items() if v in df.columns}
        if not df.columns.is_unique:
            twice = df.columns[df.columns.duplicated()]
            for name in self.cols.values():
                if name in twice:
                    k = int((df.columns == name).sum())
                    raise InputError(
                        f"the header names the column {name!r} {k} times; expected each column "
                        "once (which one holds the values cannot be told)",
                        prov.path,
                    )

    def has(self, key: str) -> bool:
        """True when the file has the column ``key``."""
        return key in self.cols

    def raw(self, key: str, mask: np.ndarray) -> np.ndarray:
        """Column ``key`` (rows in ``mask``) as an object array of text, not stripped."""
        if key not in self.cols:
            return np.full(int(mask.sum()), "", dtype=object)
        return self.df[self.cols[key]].to_numpy(dtype=object)[mask]

    def col(self, key: str, mask: np.ndarray | None = None) -> pd.Series:
        """Column ``key`` (rows in ``mask``, default all) as stripped text ('' where absent)."""
        if key not in self.cols:
            idx = self.df.index if mask is None else self.df.index[mask]
            return pd.Series("", index=idx, dtype=object)
        s = self.df[self.cols[key]]
        if isinstance(s, pd.Series) and isinstance(s.array, pd.arrays.ArrowStringArray):
            idx = self.df.index if mask is None else self.df.index[mask]
            return pd.Series(object_text(self.text(key, mask)), index=idx, dtype=object)
        if mask is not None:
            s = s[mask]
        if mask is None or mask.sum() > 1000:
            return pd.Series(strip_text(s.to_numpy()), index=s.index, dtype=object).fillna("")
        return s.astype(object).str.strip().fillna("")

    def text(self, key: str, mask: np.ndarray | None = None, *, strip: bool = True) -> pa.Array:
        """Column ``key`` (rows in ``mask``, default all) as a pyarrow text array, stripped
        unless ``strip=False`` (``""`` where absent or missing): what :meth:`col` (or
        :meth:`raw`) holds, without converting the cells to Python strings."""
        n = self.n if mask is None else int(np.count_nonzero(mask))
        if key not in self.cols:
            return pa.array(np.full(n, "", dtype=object), pa.large_string())
        s = self.df[self.cols[key]]
        if not isinstance(s, pd.Series):  # a repeated column name: what col makes of it
            rows = np.ones(self.n, dtype=bool) if mask is None else mask
            return arrow_text(self.col(key, rows) if strip else self.raw(key, rows))
        try:
            arr = arrow_text(s)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # cells that are not all text
            arr = arrow_text(s.astype(object).where(s.notna(), "").astype(str))
        if mask is not None and n != self.n:
            arr = arr.filter(pa.array(np.asarray(mask, dtype=bool)))
        return pc.utf8_trim_whitespace(arr) if strip else arr


# --------------------------------------------------------------------------- vectorised parsing
_NUMBER_RE = r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$"


def to_float(values: np.ndarray | pa.Array, decimal_comma: bool = False) -> np.ndarray:
    """Parse text numbers to float64 (NaN where the text is not a plain number), vectorised.

    Parameters
    ----------
    values : numpy.ndarray of str or pyarrow.Array
        The text cells.
    decimal_comma : bool
        Also accept ``5,6`` as 5.6.
    """
    if len(values) == 0:
        return np.zeros(0, dtype="float64")
    arr = _as_arrow(values)
    num, plain = plain_numbers(arr)  # the usual cells, at once
    if plain.all():
        return num
    if plain.any():
        rest = ~plain
        num[rest] = _text_floats(arr.filter(pa.array(rest)), decimal_comma)
        return num
    return _text_floats(arr, decimal_comma)


def _text_floats(arr: pa.Array, decimal_comma: bool) -> np.ndarray:
    """:func:`to_float` by the number pattern :data:`_NUMBER_RE`."""
    if decimal_comma:
        arr = pc.replace_substring(arr, ",", ".")
    ok = pc.match_substring_regex(arr, _NUMBER_RE)
    arr = pc.utf8_trim_whitespace(pc.if_else(ok, arr, pa.scalar(None, pa.string())))
    return pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False).astype("float64")


def _as_arrow(values: np.ndarray | pa.Array) -> pa.Array:
    """Text cells as a pyarrow array (a pyarrow array as it is; missing cells null)."""
    if isinstance(values, pa.Array):
        return values
    return pa.array(values, type=pa.string(), from_pandas=True)


def strip_text(values: np.ndarray | pa.Array) -> np.ndarray:
    """Strip whitespace from an array of text cells (vectorised); returns an object array."""
    if len(values) == 0:
        return np.asarray(values, dtype=object)
    arr = pc.utf8_trim_whitespace(_as_arrow(values))
    return pc.fill_null(arr, "").to_numpy(zero_copy_only=False).astype(object)


def upper_text(values: np.ndarray | pa.Array) -> np.ndarray:
    """Upper-case, stripped text cells (vectorised); returns an object array."""
    if len(values) == 0:
        return np.asarray(values, dtype=object)
    arr = _as_arrow(values)
    arr = pc.fill_null(pc.utf8_upper(pc.utf8_trim_whitespace(arr)), "")
    return arr.to_numpy(zero_copy_only=False).astype(object)


def numbers(text: pd.Series, missing: Iterable[str] = ("",)) -> tuple[pd.Series, np.ndarray]:
    """Numbers from text cells (decimal comma accepted; NaN where none) and the mask of the
    cells that are not a number without being ``missing`` (compared stripped, without case)."""
    txt = text.astype(str).str.strip()
    num = pd.to_numeric(txt.str.replace(",", ".", regex=False), errors="coerce")
    words = {w.lower() for w in missing}
    blank = txt.eq("") if words == {""} else txt.str.lower().isin(words)
    return num, (~blank & num.isna()).to_numpy().copy()


def isin(values: np.ndarray, choices: Iterable[object]) -> np.ndarray:
    """Hash-based membership test of an object array (faster than numpy's sort-based isin)."""
    return pd.Series(values, dtype=object).isin(list(choices)).to_numpy()


# --------------------------------------------------------------------------- plausible ranges
#: Reasons of rows dropped by :func:`implausible`.
REASON_TIME = "implausible time"
REASON_CARBS = "implausible carbs"
REASON_INSULIN = "implausible insulin"
REASON_DURATION = "implausible duration"

#: A time before 1950 or after 2200 (beyond what pandas holds in nanoseconds, 1677 to 2262,
#: or near it) becomes this, which :func:`implausible` drops as an implausible time: a date in
#: the year 9999 is one bad row, never a whole-file error, and the difference of any two times
#: (at most 250 years) never overflows.
OUT_OF_RANGE_TIME = np.datetime64("1950-01-01T00:00:00", "ns")
_NS_RANGE = (np.datetime64("1950-01-01"), np.datetime64("2200-01-01"))
#: The same range in epoch milliseconds, for readers of epoch times (Nightscout API v3), and
#: :data:`OUT_OF_RANGE_TIME` so.
EPOCH_MS_RANGE: tuple[float, float] = tuple(
    float(b.astype("datetime64[ms]").astype("int64")) for b in _NS_RANGE
)
OUT_OF_RANGE_MS = float(OUT_OF_RANGE_TIME.astype("datetime64[ms]").astype("int64"))


def to_ns(values: pd.Series | np.ndarray | Sequence) -> pd.Series:
    """Date-times of any resolution (or text, parsed with ``errors="coerce"``) as tz-naive
    ``datetime64[ns]``: missing stays NaT, a time outside 1950-2200 becomes
    :data:`OUT_OF_RANGE_TIME`, a time zone is dropped (its wall clock kept)."""
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    if not pd.api.types.is_datetime64_any_dtype(s.dtype):
        try:
            s = pd.to_datetime(s, errors="coerce")
        except (ValueError, TypeError, OverflowError):
            s = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_localize(None)
    return pd.Series(ns_times(s.to_numpy()), index=s.index)


def ns_times(arr: np.ndarray) -> np.ndarray:
    """A ``datetime64`` array of any resolution as ``datetime64[ns]``: NaT stays NaT, a time
    outside 1950-2200 becomes :data:`OUT_OF_RANGE_TIME` (the rule of :func:`to_ns`)."""
    lo, hi = (np.datetime64(b, "D").astype(arr.dtype) for b in _NS_RANGE)
    outside = ~np.isnat(arr) & ((arr < lo) | (arr > hi))
    if outside.any():
        arr = arr.copy()
        arr[outside] = OUT_OF_RANGE_TIME.astype(arr.dtype)
    return arr.astype("datetime64[ns]")


def latest_time(exported: object = None) -> np.datetime64:
    """The latest plausible time of a row: the file's export time when it states one (text or
    datetime; ignored when unreadable or later than now), else now, plus
    :data:`~soleus_analysis.core.schema.LATEST_MARGIN`."""
    now = pd.Timestamp.now()
    when = now
    if exported is not None:
        got = to_ns(pd.Series([exported])).iloc[0]
        if pd.notna(got) and EARLIEST_TIME <= got < now:
            when = got
    return (when + LATEST_MARGIN).to_datetime64().astype("datetime64[ns]")


def _outside(values: object, bounds: tuple[float, float]) -> np.ndarray:
    v = np.asarray(values, dtype="float64")
    return ~np.isnan(v) & ~((v >= bounds[0]) & (v <= bounds[1]))


def implausible(
    *,
    times: object = None,
    latest: np.datetime64 | None = None,
    carbs_g: object = None,
    insulin_u: object = None,
    duration_min: object = None,
    n: int | None = None,
) -> np.ndarray:
    """Why each row is implausible (its reason, or None): the one check of the ranges set in
    :mod:`soleus_analysis.core.schema`, used by every reader.

    Parameters
    ----------
    times : array of datetime64 or Series, optional
        Row times (local); NaT is not judged here (an unparseable time has its own reason).
        Before :data:`~soleus_analysis.core.schema.EARLIEST_TIME` or after ``latest`` is
        :data:`REASON_TIME`.
    latest : numpy.datetime64, optional
        The latest plausible time (default :func:`latest_time` of no export date).
    carbs_g, insulin_u, duration_min : array of float, optional
        Amounts (NaN: none given); outside their ``PLAUSIBLE_*`` range, or infinite, is
        :data:`REASON_CARBS`, :data:`REASON_INSULIN` or :data:`REASON_DURATION`.
    n : int, optional
        Number of rows, when no column is given.

    Returns
    -------
    numpy.ndarray of object
        The first reason that applies to each row (times, carbs, insulin, duration), or None.
    """
    cols = [c for c in (times, carbs_g, insulin_u, duration_min) if c is not None]
    size = len(cols[0]) if cols else int(n or 0)
    out = np.full(size, None, dtype=object)
    if times is not None:
        t = to_ns(times).to_numpy(dtype="datetime64[ns]")
        top = latest if latest is not None else latest_time()
        bad = ~np.isnat(t) & ((t < EARLIEST_TIME.to_datetime64()) | (t > top))
        out[bad] = REASON_TIME
    for values, bounds, reason in (
        (carbs_g, PLAUSIBLE_CARBS_G, REASON_CARBS),
        (insulin_u, PLAUSIBLE_INSULIN_U, REASON_INSULIN),
        (duration_min, PLAUSIBLE_DURATION_MIN, REASON_DURATION),
    ):
        if values is not None:
            out[(out == None) & _outside(values, bounds)] = reason  # noqa: E711
    return out


def drop_implausible(
    prov: Provenance, reasons: np.ndarray, where: np.ndarray, *, unit: str = "line"
) -> np.ndarray:
    """Count and warn about the rows :func:`implausible` gave a reason (for readers that
    account with :func:`warn_dropped`); return the mask of the others."""
    bad = reasons != None  # noqa: E711
    for reason in pd.unique(reasons[bad]):
        warn_dropped(prov, str(reason), np.asarray(where)[reasons == reason], unit=unit)
    return ~bad


def minutes_to_timedelta(minutes: object) -> pd.Series:
    """Minutes (float, NaN for none) as ``timedelta64[ns]``; NaT where beyond
    :data:`~soleus_analysis.core.schema.PLAUSIBLE_DURATION_MIN` or not finite, so that
    ``start + duration`` never overflows."""
    m = np.asarray(minutes, dtype="float64").copy()
    m[_outside(m, PLAUSIBLE_DURATION_MIN)] = np.nan
    return pd.Series(pd.to_timedelta(m, unit="min"))


def text_to_timedelta(text: pd.Series) -> pd.Series:
    """``hh:mm:ss`` (or ``h:mm:ss``) durations as ``timedelta64[ns]``; NaT where empty,
    unreadable or beyond :data:`~soleus_analysis.core.schema.PLAUSIBLE_DURATION_MIN`."""
    s = text.astype(object).where(text.notna(), "").astype(str).str.strip()
    parts = s.str.extract(r"^(\d{1,9}):(\d{1,2})(?::(\d{1,2}(?:\.\d*)?))?$")
    minutes = (
        pd.to_numeric(parts[0], errors="coerce") * 60
        + pd.to_numeric(parts[1], errors="coerce")
        + pd.to_numeric(parts[2], errors="coerce").fillna(0.0) / 60
    )
    out = minutes_to_timedelta(minutes.to_numpy())
    out.index = text.index
    return out


def offset_to_timedelta(minutes: object) -> np.ndarray:
    """UTC offsets in minutes (float, NaN for none) as ``timedelta64[ns]``; NaT where beyond
    :data:`~soleus_analysis.core.schema.PLAUSIBLE_UTC_OFFSET_MIN` or not finite (no time zone's
    offset: the reader's rule for an unknown offset applies), so adding one never overflows."""
    m = np.asarray(minutes, dtype="float64").copy()
    m[_outside(m, PLAUSIBLE_UTC_OFFSET_MIN)] = np.nan
    return pd.to_timedelta(m, unit="min").to_numpy(dtype="timedelta64[ns]")


# --------------------------------------------------------------------------- zip archives
#: What opening or reading a corrupt, truncated or unsupported zip archive raises (the zip
#: module, its decompressors, and the seeks of a cut-off file): readers turn it into one
#: :class:`InputError` naming the file. (:class:`InputError` is a ``ValueError``: re-raise it
#: before catching these.)
ZIP_ERRORS: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    NotImplementedError,
    OSError,
    EOFError,
    KeyError,
    ValueError,
    zlib.error,
)
#: The largest CSV member of a zip export read (unpacked bytes).
MAX_MEMBER_BYTES = 1 << 30


def zip_csv_members(zf: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """The CSV entries of a zip export, in archive order, without folders and the
    ``__MACOSX/._<name>`` resource forks macOS's Archive Utility adds (they are not CSVs)."""
    return [
        i
        for i in zf.infolist()
        if i.filename.lower().endswith(".csv")
        and not i.filename.startswith("__MACOSX/")
        and not i.filename.rsplit("/", 1)[-1].startswith("._")
    ]


def zip_member_text(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: str | PathLike, what: str
) -> Decoded:
    """One CSV member of a zip export, decoded by the one decoder
    (:func:`~.encoding.decode_member`, at most :data:`MAX_MEMBER_BYTES`) and its quotes checked,
    as :func:`csv_text` does for a file.

    Raises
    ------
    InputError
        A member too large, binary data, or an unterminated quote (zip errors are the
        caller's, see :data:`ZIP_ERRORS`).
    """
    dec = decode_member(zf, info, path, what, MAX_MEMBER_BYTES)
    check_quotes(dec.text, path)
    return dec


# --------------------------------------------------------------------------- JSON
def parse_json(text: str, path: str | PathLike, what: str) -> object:
    """The JSON value of a decoded export; every way it can fail is one :class:`InputError`.

    A lone surrogate escape (``"\\ud800"``, valid JSON but no character) becomes U+FFFD, as
    undecodable bytes do, so no later step meets text it cannot encode.

    Raises
    ------
    InputError
        Not valid JSON (naming its line), nested too deeply (``RecursionError``), or an
        integer of more digits than Python converts (``ValueError``); ``what`` says what was
        expected.
    """
    try:
        return json_loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON ({exc.msg}); expected {what}", path, exc.lineno) from None
    except RecursionError:
        raise InputError(f"JSON nested too deeply; expected {what}", path) from None
    except ValueError as exc:  # an integer of more digits than Python converts
        raise InputError(f"not valid JSON ({exc}); expected {what}", path) from None


def json_loads(text: str) -> object:
    """``json.loads(text)`` with each lone surrogate escape (``"\\ud800"``: valid JSON, no
    character) read as U+FFFD, keys too, so no later step meets text it cannot encode; a
    valid pair stays the character it encodes. Raises what ``json.loads`` raises."""
    data = json.loads(text)
    if _SURROGATE_ESCAPE.search(text):
        data = _json_without_lone_surrogates(data)
    return data


#: a JSON escape of a UTF-16 surrogate (a pair or a lone one)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _json_without_lone_surrogates(data: object) -> object:
    """A parsed JSON value with every string (keys too) free of lone surrogates (no recursion:
    a value as deep as the parser allows is walked with a stack)."""

    def fixed(v: object) -> object:
        if isinstance(v, str):
            return without_lone_surrogates(v)
        if isinstance(v, list):
            out: list = [None] * len(v)
            stack.append((v, out))
            return out
        if isinstance(v, dict):
            new: dict = {}
            stack.append((v, new))
            return new
        return v

    stack: list[tuple[object, object]] = []
    root = fixed(data)
    while stack:
        src, dst = stack.pop()
        if isinstance(src, list):
            for i, v in enumerate(src):
                dst[i] = fixed(v)  # type: ignore[index]
        else:
            for k, v in src.items():  # type: ignore[attr-defined]
                dst[without_lone_surrogates(k)] = fixed(v)  # type: ignore[index]
    return root


# --------------------------------------------------------------------------- the columnar path
#: Text the columnar path leaves to the csv module: characters the csv module reads as a line end.
_CSV_LINE_BREAKS = ("\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")


@dataclass
class Columns:
    """The records of a CSV text split into columns by pyarrow (see :func:`split_columns`).

    Attributes
    ----------
    cells : list of pyarrow.Array
        Column ``i`` of every record (``""`` where a record is shorter), as the csv module
        gives it (quotes of a quoted field removed, leading spaces with ``skipinitialspace``).
    n_fields : numpy.ndarray of int
        Fields of each record as the csv module counts them (0 for a blank line).
    lines : numpy.ndarray of int
        1-based line of each record.
    blank : numpy.ndarray of bool
        Records whose fields are all blank (whitespace); a record with a non-blank field
        beyond ``width`` is ``over``, never blank.
    over : numpy.ndarray of bool
        Records with a non-blank field beyond the first ``width``.
    """

    cells: list[pa.Array]
    n_fields: np.ndarray
    lines: np.ndarray
    blank: np.ndarray
    over: np.ndarray

    def frame(self, names: Sequence[str]) -> pd.DataFrame:
        """The cells as a frame of pyarrow-backed text columns named ``names`` (by position)."""
        return text_frame(self.cells, names)


def text_frame(
    cells: Sequence[pa.Array | np.ndarray], names: Sequence[str], *, str_dtype: bool = False
) -> pd.DataFrame:
    """Text columns as a frame named ``names`` (by position): pyarrow arrays as pyarrow-backed
    text columns (``StringDtype``, what ``astype("string")`` of their text gives, or with
    ``str_dtype`` pandas' ``str``, what ``dtype=str`` gives; without the round trip through
    Python strings), object arrays as object columns."""
    if all(isinstance(c, pa.Array) for c in cells):
        dtype = pd.StringDtype("pyarrow", na_value=np.nan) if str_dtype else None
        data = {
            i: pd.Series(
                pd.arrays.ArrowStringArray(c.cast(pa.large_string()), dtype=dtype), copy=False
            )
            for i, c in enumerate(cells)
        }
        df = pd.DataFrame(data, copy=False)
    else:
        df = pd.DataFrame(dict(enumerate(cells)), dtype=object)
    df.columns = pd.Index(list(names), dtype=object)
    return df


@dataclass
class _Split:
    """Text split into records and fields by pyarrow (:func:`split_text`)."""

    lines: pa.Array
    values: pa.Array
    starts: np.ndarray
    n_fields: np.ndarray
    blank: np.ndarray

    def fields(self, r: int) -> list[str]:
        """The fields of record ``r``."""
        return self.values.slice(self.starts[r], self.n_fields[r]).to_pylist()

    def column(self, i: int, rows: np.ndarray) -> np.ndarray:
        """Field ``i`` of the records ``rows`` (``""`` where shorter), an object array."""
        has = self.n_fields[rows] > i
        idx = np.where(has, self.starts[rows] + i, 0)
        if not len(self.values):
            return np.full(len(rows), "", dtype=object)
        got = pc.take(self.values, pa.array(idx)).to_numpy(zero_copy_only=False)
        out = np.asarray(got, dtype=object)
        out[~has] = ""
        return out

    def columns(
        self, rows: np.ndarray, width: int, wanted: Sequence[int] | None = None
    ) -> tuple[list[pa.Array], np.ndarray]:
        """Columns ``0 .. width-1`` of the records ``rows`` and which of them have a
        non-blank field beyond (see :func:`_take_columns`)."""
        return _take_columns(self, rows, width, wanted)


def _plain_quoted(values: pa.Array) -> bool:
    """True when every field of ``values`` (fields holding a quote, leading spaces already
    removed where ``skipinitialspace`` applies) is a whole quoted field with no quote inside,
    ``^"[^"]*"$`` (the csv module reads it as its inside); any other quote sends the text to
    the exact path. Two quotes in all, one first and one last: three plain kernels, not RE2."""
    return bool(
        pc.all(
            pc.and_(
                pc.equal(pc.count_substring(values, '"'), 2),
                pc.and_(pc.starts_with(values, '"'), pc.ends_with(values, '"')),
            )
        ).as_py()
    )


def cut_fields(text: str, delimiter: str, n: int) -> str:
    """``text`` with every line cut to its first ``n`` fields (a line's extra fields dropped,
    quotes not interpreted; lines with ``n`` fields or fewer are unchanged).

    A header-less CSV whose lines have more fields than the names given to ``pandas.read_csv``
    would otherwise make pandas index the leading fields (quadratic on a line of 30,000
    fields); cutting first keeps the parse linear.
    """
    if text.count(delimiter) < n:
        return text
    out = text.split("\n")
    counts = pc.count_substring(pa.array(out, pa.large_string()), delimiter)
    long = np.flatnonzero(counts.to_numpy(zero_copy_only=False) >= n)
    if not len(long):
        return text
    for i in long:
        out[i] = delimiter.join(out[i].split(delimiter, n)[:n])
    return "\n".join(out)


def split_text(body: str, delimiter: str, skipinitialspace: bool = False) -> _Split | None:
    """Records and fields of CSV text as ``csv.reader`` gives them (one record a line), split
    by pyarrow, or None when only the csv module reads the text right (see
    :func:`split_columns`)."""
    if any(c in body for c in _CSV_LINE_BREAKS):
        return None
    if body.endswith("\n"):
        body = body[:-1]
    if not body:
        return None
    lines = pc.split_pattern(pa.array([body], pa.large_string()), "\n").flatten()
    fields = pc.split_pattern(lines, delimiter)
    values = fields.flatten()
    if skipinitialspace:
        values = pc.utf8_ltrim(values, " ")
    count = pc.list_value_length(fields).to_numpy(zero_copy_only=False).astype(np.int64)
    quotes = body.count('"')
    if quotes:
        values = _unquoted(values, lines, count, quotes)
        if values is None:
            return None
    empty = pc.equal(pc.binary_length(lines), 0).to_numpy(zero_copy_only=False)
    starts = np.asarray(fields.offsets)[:-1].astype(np.int64)
    return _Split(
        lines=lines,
        values=values,
        starts=starts,
        n_fields=np.where(empty, 0, count),
        blank=_blank_records(values, starts) | empty,
    )


#: Up to this many quoted fields are unquoted by splicing (:func:`_unquoted`), more at once.
_FEW_QUOTED = 1000


def _unquoted(values: pa.Array, lines: pa.Array, count: np.ndarray, quotes: int) -> pa.Array | None:
    """``values`` (the fields of ``lines``, ``count`` a line; ``quotes`` quote characters in
    all) with the quotes of each whole quoted field removed, or None when a field holds
    another quote (see :func:`_plain_quoted`). Of a text of few quotes, only the fields of
    the lines holding one are looked at."""
    where = np.arange(len(values))
    candidates = values
    if quotes <= 2 * _FEW_QUOTED:
        has_quote = pc.match_substring_regex(lines, '"').to_numpy(zero_copy_only=False)
        where = where[np.repeat(has_quote, count)]
        candidates = values.take(pa.array(where))
    quoted = pc.match_substring(candidates, '"')
    inside = pc.filter(candidates, quoted)
    if not len(inside):
        return values
    if not _plain_quoted(inside):
        return None
    if len(inside) > _FEW_QUOTED:
        if candidates is not values:
            mask = np.zeros(len(values), dtype=bool)
            mask[where[quoted.to_numpy(zero_copy_only=False)]] = True
            quoted = pa.array(mask)
        return pc.if_else(quoted, pc.utf8_slice_codeunits(values, 1, -1), values)
    at = where[quoted.to_numpy(zero_copy_only=False)]
    bare = pc.utf8_slice_codeunits(inside, 1, -1)
    pieces, prev = [], 0
    for j, k in enumerate(at.tolist()):  # the fields between, then the field unquoted
        pieces += [values.slice(prev, k - prev), bare.slice(j, 1)]
        prev = k + 1
    pieces.append(values.slice(prev))
    return pa.concat_arrays(pieces)


def _blank_records(values: pa.Array, starts: np.ndarray) -> np.ndarray:
    """Records whose fields (``values``, a record's first at ``starts``; each record has one
    at least) are all whitespace (what ``str.strip`` removes; so does pyarrow's
    ``utf8_is_space``), or empty."""
    filled = pc.invert(pc.or_(pc.equal(pc.binary_length(values), 0), pc.utf8_is_space(values)))
    any_filled = np.logical_or.reduceat(filled.to_numpy(zero_copy_only=False), starts)
    return ~any_filled


def _take_columns(
    sp: _Split, rows: np.ndarray, width: int, wanted: Sequence[int] | None = None
) -> tuple[list[pa.Array], np.ndarray]:
    """Columns ``0 .. width-1`` of the records ``rows`` (``""`` where a record is shorter, or
    for a column not ``wanted``) and the mask of those records with a non-blank field beyond."""
    n = len(rows)
    n_fields = sp.n_fields[rows]
    starts = sp.starts[rows]
    keep = set(range(width) if wanted is None else wanted)
    none = None
    cells = []
    for i in range(width):
        if i not in keep:
            if none is None:
                none = pa.repeat(pa.scalar("", pa.large_string()), n)
            cells.append(none)
            continue
        has = n_fields > i
        if has.all():
            cells.append(pc.take(sp.values, pa.array(starts + i)))
            continue
        idx = np.where(has, starts + i, 0)
        col = (
            pc.take(sp.values, pa.array(idx)) if len(sp.values) else pa.nulls(n, pa.large_string())
        )
        cells.append(pc.if_else(pa.array(has), col, pa.scalar("", pa.large_string())))
    over = np.zeros(n, dtype=bool)
    for k in np.flatnonzero(n_fields > width):
        extra = sp.fields(int(rows[k]))[width:]
        over[k] = any(x.strip() for x in extra)
    return cells, over


def _filled(col: pa.Array) -> np.ndarray:
    """Mask of the cells that are not all whitespace (what ``str.strip`` removes)."""
    blank = pc.or_(pc.equal(pc.binary_length(col), 0), pc.utf8_is_space(col))
    return ~blank.to_numpy(zero_copy_only=False)


def _read_columns(
    body: str,
    delimiter: str,
    width: int,
    skipinitialspace: bool = False,
    wanted: Sequence[int] | None = None,
) -> tuple[list[pa.Array], np.ndarray, np.ndarray, np.ndarray] | None:
    """:func:`split_columns` by ``pyarrow.csv`` (its parser on every core) for text it reads
    exactly as the csv module does: no quote, no line break but ``\\n`` and no blank line,
    every line of the same number of fields (at least two); None otherwise.

    Returns
    -------
    (cells, n_fields, blank, over) of :class:`Columns`.
    """
    if '"' in body or any(c in body for c in _CSV_LINE_BREAKS) or len(delimiter) != 1:
        return None
    if body.endswith("\n"):
        body = body[:-1]
    if "\n\n" in body or body.startswith("\n") or body.endswith("\n"):
        return None  # an empty line: pyarrow reads it as a row of empty cells
    first = body[: body.find("\n")] if "\n" in body else body
    k = first.count(delimiter) + 1
    if not body or k < 2:
        return None
    ragged: list[object] = []

    def refuse(row: object) -> str:
        ragged.append(row)
        return "skip"

    names = [f"c{i}" for i in range(k)]
    try:
        table = pv.read_csv(
            io.BytesIO(body.encode("utf-8")),
            read_options=pv.ReadOptions(column_names=names),
            parse_options=pv.ParseOptions(
                delimiter=delimiter,
                quote_char=False,
                ignore_empty_lines=False,
                invalid_row_handler=refuse,
            ),
            convert_options=pv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.large_string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # pragma: no cover - defensive
        return None
    if ragged:
        return None
    n = table.num_rows
    cols = [table.column(i).combine_chunks() for i in range(k)]
    filled = np.zeros(n, dtype=bool)
    for col in cols[:width]:  # a row is blank when none of its cells is filled
        filled |= _filled(col)
        if filled.all():
            break
    over = np.zeros(n, dtype=bool)
    for col in cols[width:]:
        over |= _filled(col)
    filled |= over
    spaced = skipinitialspace and (body.startswith(" ") or f"{delimiter} " in body or "\n " in body)
    keep = set(range(width) if wanted is None else wanted)
    none = None
    cells = []
    for i in range(width):
        if i in keep and i < k:
            col = cols[i]
            cells.append(pc.utf8_ltrim(col, " ") if spaced else col)
            continue
        if none is None:
            none = pa.repeat(pa.scalar("", pa.large_string()), n)
        cells.append(none)
    return cells, np.full(n, k, dtype=np.int64), ~filled, over


def split_columns(
    body: str,
    delimiter: str,
    width: int,
    first_line: int,
    *,
    skipinitialspace: bool = False,
    wanted: Sequence[int] | None = None,
) -> Columns | None:
    """Split CSV text into ``width`` columns with pyarrow, exactly as ``csv.reader`` would, or
    None when the text holds what only the csv module reads right (a quote other than a whole
    quoted field without quotes or delimiters inside, a line break the csv module sees and
    pyarrow does not): the caller then reads it with the csv module.

    Parameters
    ----------
    body : str
        Decoded text (line ends ``\\n``), one record per line, from the first record.
    delimiter : str
        The field delimiter.
    width : int
        Columns wanted (records padded with ``""``; fields beyond are judged for ``over``).
    first_line : int
        1-based line of the first line of ``body``.
    skipinitialspace : bool
        As the csv module's option: spaces after a delimiter are not part of the field.
    wanted : sequence of int, optional
        The columns the caller reads; the others are left empty (``""``). All by default.
    """
    fast = _read_columns(body, delimiter, width, skipinitialspace, wanted)
    if fast is not None:
        cells, n_fields, blank, over = fast
        return Columns(
            cells=cells,
            n_fields=n_fields,
            lines=first_line + np.arange(len(n_fields), dtype=np.int64),
            blank=blank,
            over=over,
        )
    sp = split_text(body, delimiter, skipinitialspace)
    if sp is None:
        return None
    rows = np.arange(len(sp.n_fields))
    cells, over = _take_columns(sp, rows, width, wanted)
    return Columns(
        cells=cells,
        n_fields=sp.n_fields,
        lines=first_line + rows.astype(np.int64),
        blank=sp.blank,
        over=over,
    )


@dataclass
class RecordColumns:
    """The records of a CSV text as :func:`split_records` splits them, in columns of text
    (object arrays of ``str``; pyarrow text arrays from the columnar path when asked for,
    see :func:`record_columns`)."""

    header: list[str] | None
    header_line: int
    columns: list[np.ndarray] | list[pa.Array]
    lines: np.ndarray
    too_long: list[int]


def record_columns(
    text: str,
    path: str | PathLike,
    names: Callable[[list[str]], list[str]],
    delimiter: str,
    *,
    comments: bool = False,
    skipinitialspace: bool = False,
    error: str = "malformed CSV",
    arrow: bool = False,
) -> RecordColumns:
    """:func:`split_records` of ``csv.reader(text)`` in columns: split by pyarrow when
    :func:`split_columns` can, else by the csv module (the exact path), with the same result.
    With ``arrow``, the columnar path's columns stay pyarrow text arrays (the same text; see
    :func:`text_frame`), the exact path's are object arrays as always.

    Raises
    ------
    InputError
        ``error`` and the csv module's message, naming the line where it failed.
    """
    sp = split_text(text, delimiter, skipinitialspace)
    if sp is not None:
        use = ~sp.blank
        if comments:
            first = pc.take(sp.values, pa.array(np.minimum(sp.starts, max(len(sp.values) - 1, 0))))
            hashed = pc.starts_with(pc.utf8_ltrim_whitespace(first), "#")
            use &= ~hashed.to_numpy(zero_copy_only=False)
        idx = np.flatnonzero(use)
        if not len(idx):
            return RecordColumns(None, 0, [], np.zeros(0, dtype=np.int64), [])
        cells = sp.fields(int(idx[0]))
        while len(cells) > 1 and not cells[-1].strip():
            cells = cells[:-1]
        header = names(cells)
        rows = idx[1:]
        cols, over = _take_columns(sp, rows, len(header))
        kept = rows[~over]
        fit = pa.array(~over)
        columns = [c.filter(fit) for c in cols]
        return RecordColumns(
            header,
            int(idx[0]) + 1,
            columns
            if arrow
            else [np.asarray(c.to_numpy(zero_copy_only=False), dtype=object) for c in columns],
            (kept + 1).astype(np.int64),
            [int(r) + 1 for r in rows[over]],
        )
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, skipinitialspace=skipinitialspace)
    rec = split_records(reader, path, names, comments=comments, error=error)
    width = len(rec.header or [])
    cells = np.empty((len(rec.rows), width), dtype=object)
    if len(rec.rows):
        cells[:] = rec.rows
    return RecordColumns(
        rec.header,
        rec.header_line,
        [cells[:, i] for i in range(width)],
        np.asarray(rec.lines, dtype=np.int64),
        rec.too_long,
    )


#: Characters Python's ``re`` reads as ``\s`` and RE2 (pyarrow) does not.
_RE_ONLY_SPACE = "[\x0b\x1c-\x1f]"


def regex_safe(values: pd.Series | np.ndarray | pa.Array) -> bool:
    """True when pyarrow's regular expressions (RE2) read every text of ``values`` as Python's
    ``re`` does: ASCII text (``\\d`` and ``\\s`` are Unicode in ``re``) without ``\\x0b`` or
    ``\\x1c``-``\\x1f`` (``\\s`` in ``re``, not in RE2). Missing values are fine."""
    if isinstance(values, pd.Series):
        values = values.array
    if not isinstance(values, pa.Array):
        values = pa.array(values, pa.large_string(), from_pandas=True)
    arr = pc.fill_null(values, "")
    return (
        bool(pc.all(pc.string_is_ascii(arr)).as_py())
        and not pc.any(pc.match_substring_regex(arr, _RE_ONLY_SPACE)).as_py()
    )


def regex_groups(values: pd.Series | np.ndarray, pattern: str) -> list[pa.Array] | None:
    """The groups of ``re.search(pattern, v)`` for each text ``v``, by pyarrow (RE2), as text
    arrays (null where the pattern does not match or a group took no part), or None when a
    value holds what RE2 reads differently from Python's ``re`` (non-ASCII text: ``\\d`` and
    ``\\s`` are Unicode there; ``\\x0b``, ``\\x1c``-``\\x1f``): the caller then uses ``re``.

    ``pattern``'s groups must be plain capturing groups ``(...)``; they are named here.
    """
    arr = (
        values
        if isinstance(values, pa.Array)
        else pa.array(values, pa.large_string(), from_pandas=True)
    )
    arr = pc.fill_null(arr, "")
    if not regex_safe(arr):
        return None
    k = 0
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if ch == "(" and not pattern.startswith("(?", i):
            out.append(f"(?P<g{k}>")
            k += 1
        else:
            out.append(ch)
        i += 1
    got = pc.extract_regex(arr, "".join(out))
    groups = []
    for j in range(k):
        g = pc.struct_field(got, [j])  # null where the pattern did not match
        # RE2 gives "" for a group that took no part; every group here matches >= 1 character
        # when it takes part, or is optional
        g = pc.if_else(pc.not_equal(g, ""), g, pa.scalar(None, g.type))
        groups.append(g)
    return groups


# --------------------------------------------------------------------------- columnar text
def arrow_text(values: pd.Series | np.ndarray | pa.Array | pa.ChunkedArray) -> pa.Array:
    """Text cells as one pyarrow ``large_string`` array, missing cells as ``""``: a
    pyarrow-backed column without copying its text, an object array of ``str`` converted once.

    Raises
    ------
    pyarrow.ArrowInvalid, pyarrow.ArrowTypeError
        When an object array holds something other than text (the caller converts it).
    """
    if isinstance(values, pd.Series):
        values = values.array
    if isinstance(values, pd.arrays.ArrowStringArray):
        values = values._pa_array
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    if not isinstance(values, pa.Array):
        values = pa.array(np.asarray(values, dtype=object), pa.large_string(), from_pandas=True)
    if values.type != pa.large_string():
        values = values.cast(pa.large_string())
    return pc.fill_null(values, "") if values.null_count else values


def object_text(values: pa.Array) -> np.ndarray:
    """A pyarrow text array as an object array of ``str`` (nulls as ``""``)."""
    if not len(values):
        return np.zeros(0, dtype=object)
    return np.asarray(pc.fill_null(values, "").to_numpy(zero_copy_only=False), dtype=object)


def few_texts(values: pa.Array) -> np.ndarray:
    """:func:`object_text` of a column of few distinct texts (event types, device ids): each
    distinct text made a Python string once."""
    if not len(values):
        return np.zeros(0, dtype=object)
    enc = pc.dictionary_encode(pc.fill_null(values, ""))
    words = np.asarray(enc.dictionary.to_pylist(), dtype=object)
    return words[enc.indices.to_numpy(zero_copy_only=False)]


def is_empty_text(values: pa.Array) -> np.ndarray:
    """Mask of the cells of a pyarrow text array that are ``""``."""
    return pc.equal(pc.binary_length(values), 0).to_numpy(zero_copy_only=False).astype(bool)


def fixed_digits(
    values: pa.Array, pattern: str, spans: Sequence[tuple[int, int]]
) -> tuple[np.ndarray, list[np.ndarray]]:
    """The cells that match the RE2 ``pattern`` (which must hold ASCII digits at every place
    of ``spans``: ``\\d`` in RE2 is ASCII only) and the number at each ``(start, stop)``
    byte span of those cells, read from the array's bytes (no text conversion).

    Returns
    -------
    matched : numpy.ndarray of bool
        The cells matching ``pattern``.
    fields : list of numpy.ndarray of float
        One per span: its digits as a number where matched, NaN elsewhere.
    """
    if values.type != pa.large_string():
        values = values.cast(pa.large_string())
    matched = pc.fill_null(pc.match_substring_regex(values, pattern), False)
    ok = matched.to_numpy(zero_copy_only=False).astype(bool)
    fields = [np.full(len(values), np.nan) for _ in spans]
    if not ok.any():
        return ok, fields
    _, offsets, data = values.buffers()
    starts = np.frombuffer(offsets, dtype=np.int64)[values.offset : values.offset + len(values)]
    starts = starts[ok]
    raw = np.frombuffer(data, dtype=np.uint8)
    for out, (a, b) in zip(fields, spans, strict=True):
        number = np.zeros(len(starts), dtype=np.int64)
        for k in range(a, b):
            number = number * 10 + (raw[starts + k].astype(np.int64) - 48)
        out[ok] = number
    return ok, fields


#: Years :func:`civil_times` assembles with numpy; others with ``pandas.to_datetime``.
_CIVIL_YEARS = (1000, 2999)


def civil_times(year, month, day, hour, minute, second) -> np.ndarray:
    """``datetime64[ns]`` from integer-valued float arrays of date and time parts (NaT where
    a part is missing or out of its range, or the day is not in the month), by the rule of
    :func:`to_ns` (a time outside 1950-2200 becomes :data:`OUT_OF_RANGE_TIME`).

    What ``pandas.to_datetime`` of the parts gives, computed with numpy for years 1000-2999
    (the proleptic Gregorian calendar of both) and by pandas for the others.
    """
    y, mo, d, h, mi, s = (
        np.asarray(x, dtype="float64") for x in (year, month, day, hour, minute, second)
    )
    valid = ~(np.isnan(y) | np.isnan(mo) | np.isnan(d) | np.isnan(h) | np.isnan(mi) | np.isnan(s))
    valid &= (mo >= 1) & (mo <= 12) & (d >= 1) & (d <= 31)
    valid &= (h >= 0) & (h <= 23) & (mi >= 0) & (mi <= 59) & (s >= 0) & (s <= 59)
    out = np.full(len(y), np.datetime64("NaT"), dtype="datetime64[ns]")
    if not valid.any():
        return out
    fast = valid & (y >= _CIVIL_YEARS[0]) & (y <= _CIVIL_YEARS[1])
    if fast.any():
        months = ((y[fast] - 1970) * 12 + mo[fast] - 1).astype("int64").astype("datetime64[M]")
        first = months.astype("datetime64[D]")
        length = (months + 1).astype("datetime64[D]") - first
        days = d[fast].astype("int64")
        secs = (h[fast] * 3600 + mi[fast] * 60 + s[fast]).astype("int64")
        when = first.astype("datetime64[s]") + (days - 1) * 86400 + secs
        when[days > length.astype("int64")] = np.datetime64("NaT")
        out[fast] = ns_times(when)
    slow = valid & ~fast
    if slow.any():
        parts = pd.DataFrame(
            {"year": y[slow], "month": mo[slow], "day": d[slow], "hour": h[slow],
             "minute": mi[slow], "second": s[slow]}
        )  # fmt: skip
        got = pd.to_datetime(parts.astype("int64"), errors="coerce")
        out[slow] = to_ns(got).to_numpy(dtype="datetime64[ns]")
    return out


#: Years whose times pandas holds at every resolution: a cell of them parses alone (in
#: :func:`exact_times`) as it does among any other cells of its column.
NS_YEARS = (1678, 2261)


def exact_times(
    values: pa.Array, pattern: str, spans: Sequence[tuple[int, int]]
) -> tuple[np.ndarray, np.ndarray]:
    """Times of the text cells of one exact layout, from their bytes: the cells matching
    ``pattern`` (see :func:`fixed_digits`; ``spans`` give year, month, day, hour, minute and
    second) that make a valid time of a year in :data:`NS_YEARS`, as :func:`civil_times` makes
    them. The reader parses the other cells as before (``pandas.to_datetime``).

    Returns
    -------
    times : numpy.ndarray of datetime64[ns]
        NaT where not read here.
    done : numpy.ndarray of bool
        The cells read here.
    """
    exact, parts = fixed_digits(values, pattern, spans)
    times = civil_times(*parts)
    year = parts[0]
    done = exact & ~np.isnat(times) & (year >= NS_YEARS[0]) & (year <= NS_YEARS[1])
    times[~done] = np.datetime64("NaT")
    return times, done


def plain_numbers(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The cells that are plain integers of up to 15 digits (``pandas.to_numeric`` and
    pyarrow's cast read them alike: exactly) and their values as float64 (NaN elsewhere);
    the reader parses the other cells as before."""
    hit = pc.fill_null(pc.match_substring_regex(values, r"^[0-9]{1,15}$"), False)
    plain = hit.to_numpy(zero_copy_only=False).astype(bool)
    num = np.full(len(values), np.nan)
    if plain.any():
        num[plain] = pc.cast(values.filter(hit), pa.float64()).to_numpy(zero_copy_only=False)
    return num, plain


def text_numbers(s: pd.Series, decimal_comma: bool = False) -> np.ndarray:
    """What ``pandas.to_numeric(s, errors="coerce")`` makes of stripped text cells, as float64
    (NaN where not a number, or empty), a decimal comma read as a point when
    ``decimal_comma``: plain integers by pyarrow (:func:`plain_numbers`), the other cells by
    pandas."""
    try:
        num, plain = plain_numbers(arrow_text(s))
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):  # cells that are not all text
        num, plain = np.full(len(s), np.nan), np.zeros(len(s), dtype=bool)
    rest = ~plain
    if rest.any():
        t = s[rest]
        if decimal_comma:
            t = t.str.replace(",", ".", regex=False)
        got = pd.to_numeric(t.where(t != ""), errors="coerce")
        num[rest] = got.to_numpy(dtype="float64", na_value=np.nan)
    return num

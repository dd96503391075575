"""The one text decoding of exports: every reader and every sniffer sees text decoded here.

Rules (``docs/formats.md``, "Encodings and line endings"):

- **Byte-order marks** name the encoding: UTF-8 (``EF BB BF``), UTF-16 little-endian
  (``FF FE``) and big-endian (``FE FF``); the mark is removed.
- **UTF-16 without a mark** is told by its NUL pattern: text of a CSV or XML export is mostly
  ASCII, so in UTF-16 one byte of (nearly) every pair is NUL, the second of each pair in
  little-endian, the first in big-endian (:func:`detect_encoding`).
- **Otherwise UTF-8**, decoded over the whole file, never only its head: one byte anywhere that
  is not valid UTF-8 means the file is Windows-1252 (old exports, spreadsheets), and the whole
  file is read so, with the warning :data:`NOT_UTF8`.
- **UTF-16 out of step**: a byte added or lost in a UTF-16 file shifts every later byte pair,
  so the rest decodes to characters ``XX00`` and its lines vanish; a run of them is an
  :class:`InputError` naming the line where the shift begins, never rows lost silently.
- **Line ends** ``\\r\\n`` (Windows) and a lone ``\\r`` (old Mac tools, some CareLink and
  Cronometer files) become ``\\n``, so line numbers are those a text editor shows.
- **A stray NUL byte** (U+0000) is replaced by U+FFFD, the replacement character, with one
  warning naming its lines: a number or a date holding one no longer parses, so its row is
  dropped under the reader's own reason (never read as a shorter value), and free text keeps a
  visible mark. A file that is mostly NULs and control bytes is binary and refused
  (:func:`looks_binary`).

:func:`decode_file` returns a :class:`Decoded` (text, encoding, warnings); the readers write
its warnings into their provenance (``io.base.warn_decoding``). :func:`sniff_text` decodes a
file's head the same way for the sniffers.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

from ..core.errors import InputError

#: The encoding name for UTF-8 text (with or without a BOM).
UTF8 = "utf-8-sig"
#: UTF-16 little-endian (Windows' "Unicode"), with or without a BOM.
UTF16LE = "utf-16-le"
#: UTF-16 big-endian, with or without a BOM.
UTF16BE = "utf-16-be"
#: The fallback for files that are not valid UTF-8.
CP1252 = "cp1252"
#: The warning of a file that is not UTF-8.
NOT_UTF8 = "file is not UTF-8; read as Windows-1252"

#: Bytes of a file's head looked at to tell UTF-16 without a BOM, or binary data.
PROBE_BYTES = 4096
#: Share of NULs among the odd (little-endian) or even (big-endian) bytes of the probe above
#: which a file without a BOM is UTF-16 ...
UTF16_NUL_SHARE = 0.4
#: ... while the other half of the pairs holds at most this share of NULs.
UTF16_OTHER_NUL_SHARE = 0.05
#: A head with more NUL or control bytes than this share of the probe (and more than
#: :data:`BINARY_MIN_BYTES` of them) is binary data, not a text export.
BINARY_SHARE = 0.02
BINARY_MIN_BYTES = 8
#: At most this many lines are named in the warning about NUL bytes.
MAX_NAMED_LINES = 10

_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\xef\xbb\xbf", UTF8),
    (b"\xff\xfe", UTF16LE),
    (b"\xfe\xff", UTF16BE),
)
#: C0 control bytes that text exports do not hold (tab, line ends, form feed and ESC allowed).
_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 12, 13, 27))


@dataclass(frozen=True)
class Decoded:
    """A file's text as every reader sees it.

    Attributes
    ----------
    text : str
        The whole file decoded, BOM removed, line ends ``\\n``, NULs replaced by U+FFFD.
    encoding : str
        :data:`UTF8`, :data:`UTF16LE`, :data:`UTF16BE` or :data:`CP1252`.
    warnings : tuple of str
        What the decoding changed (Windows-1252 fallback, NUL bytes, undecodable UTF-16), for
        the file's provenance.
    """

    text: str
    encoding: str
    warnings: tuple[str, ...] = ()


def detect_encoding(raw: bytes) -> tuple[str, int]:
    """The encoding a file's bytes announce (BOM) or show (UTF-16 NUL pattern).

    Parameters
    ----------
    raw : bytes
        The file's bytes, or at least its first :data:`PROBE_BYTES`.

    Returns
    -------
    (str, int)
        The encoding (:data:`UTF8` when neither a BOM nor the UTF-16 pattern is found: the
        caller then tries UTF-8 and falls back to Windows-1252) and the length of the BOM.
    """
    for bom, name in _BOMS:
        if raw.startswith(bom):
            return name, len(bom)
    probe = raw[:PROBE_BYTES]
    pairs = len(probe) // 2
    if pairs >= 2:
        even_nul = probe[0 : 2 * pairs : 2].count(0) / pairs
        odd_nul = probe[1 : 2 * pairs : 2].count(0) / pairs
        if odd_nul >= UTF16_NUL_SHARE and even_nul <= UTF16_OTHER_NUL_SHARE:
            return UTF16LE, 0
        if even_nul >= UTF16_NUL_SHARE and odd_nul <= UTF16_OTHER_NUL_SHARE:
            return UTF16BE, 0
    return UTF8, 0


def looks_binary(raw: bytes) -> bool:
    """True when a file's head is binary data (zip, Parquet, images), not a text export.

    UTF-16 text is not binary; a stray NUL or control byte in text does not make it binary
    (more than :data:`BINARY_SHARE` of the probe, and more than :data:`BINARY_MIN_BYTES`, do).
    """
    if detect_encoding(raw)[0] in (UTF16LE, UTF16BE):
        return False
    probe = raw[:PROBE_BYTES]
    bad = len(probe) - len(probe.translate(None, _CONTROL))
    return bad > max(BINARY_MIN_BYTES, BINARY_SHARE * len(probe))


def _lines_of(text: str, char: str, limit: int = MAX_NAMED_LINES) -> list[int]:
    """1-based lines of the first ``limit`` occurrences of ``char`` in ``text``."""
    out: list[int] = []
    pos, line, last = text.find(char), 1, 0
    while pos >= 0 and len(out) < limit:
        line += text.count("\n", last, pos)
        last = pos
        out.append(line)
        pos = text.find(char, pos + 1)
    return out


def _named(lines: list[int], total: int) -> str:
    shown = ", ".join(map(str, lines))
    return f"line{'s' if total > 1 else ''} {shown}" + (", ..." if total > len(lines) else "")


def normalise_text(text: str) -> tuple[str, list[str]]:
    """Line ends to ``\\n`` and NULs to U+FFFD; return the text and the warnings it needs."""
    notes: list[str] = []
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    n_nul = text.count("\x00") if "\x00" in text else 0
    if n_nul:
        lines = _lines_of(text, "\x00")
        text = text.replace("\x00", "\ufffd")
        notes.append(
            f"{n_nul} NUL byte(s) replaced by U+FFFD ({_named(lines, n_nul)}); a value holding "
            "one is not read"
        )
    return text, notes


def decode(raw: bytes, path: str | PathLike, expected: str = "a CSV text export") -> Decoded:
    """Decode a whole export (see the module's rules).

    Parameters
    ----------
    raw : bytes
        All of the file's bytes.
    path : path
        The file, for messages.
    expected : str
        What the file should be, for the message about binary data.

    Raises
    ------
    InputError
        If the bytes are binary data (:func:`looks_binary`), not text.
    """
    enc, bom = detect_encoding(raw)
    notes: list[str] = []
    if enc in (UTF16LE, UTF16BE):
        body = raw[bom:]
        try:
            text = body.decode(enc)
        except UnicodeDecodeError:
            text = body.decode(enc, errors="replace")
            notes.append(
                f"{text.count(chr(0xFFFD))} byte sequence(s) are not valid UTF-16; replaced "
                "by U+FFFD"
            )
        _check_in_step(text, path)
    else:
        if looks_binary(raw):
            raise InputError(f"binary data; expected {expected}", path)
        try:
            text = raw.decode(UTF8)
        except UnicodeDecodeError:
            text, enc = raw.decode(CP1252, errors="replace"), CP1252
            notes.append(NOT_UTF8)
    text, more = normalise_text(text)
    return Decoded(text, enc, tuple(notes + more))


#: Characters ``XX00`` whose high byte is a printable ASCII byte (or tab, LF, CR): what ASCII
#: text in UTF-16 becomes when read one byte out of step.
_OUT_OF_STEP = re.compile("[" + "".join(re.escape(chr(c << 8)) for c in range(9, 127)) + "]{8,}")


def _check_in_step(text: str, path: str | PathLike) -> None:
    """Refuse UTF-16 text read out of step: one byte added or lost in a UTF-16 file shifts every
    later byte pair, so the rest of the file decodes to characters ``XX00`` (``"Date"`` becomes
    ``"\u4400\u6100..."``), its line ends vanish and its rows with them. Eight such characters
    in a row never occur in real text (CJK text has a few, never a run)."""
    m = _OUT_OF_STEP.search(text)
    if m is None:
        return
    head = text[: m.start()]
    line = (head.count("\n") if "\n" in head else head.count("\r")) + 1
    raise InputError(
        "UTF-16 text out of step on this line: a byte was added or lost here, so the rest of "
        "the file cannot be read as text; expected whole 2-byte UTF-16 characters (export the "
        "file again)",
        path,
        line,
    )


def without_lone_surrogates(text: str) -> str:
    """``text`` with each lone surrogate (a JSON escape such as ``"\\ud800"`` decodes to one:
    no character, and no encoder takes it) replaced by U+FFFD, as undecodable bytes are; a
    valid pair is already one character and stays it."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def decode_bytes(
    raw: bytes, path: str | PathLike, expected: str = "a CSV text export"
) -> tuple[str, str]:
    """Decode an export's bytes with :func:`decode`; return ``(text, encoding)``."""
    dec = decode(raw, path, expected)
    return dec.text, dec.encoding


def sniff_text(raw: bytes) -> str:
    """The head of a file as sniffers see it: decoded like :func:`decode` (UTF-16 by its BOM or
    NUL pattern, else UTF-8), bad bytes replaced, line ends ``\\n``."""
    enc, bom = detect_encoding(raw)
    if enc in (UTF16LE, UTF16BE):
        body = raw[bom:]
        text = body[: len(body) // 2 * 2].decode(enc, errors="replace")
    else:
        text = raw.decode(UTF8, errors="replace")
    return normalise_text(text)[0]


def sniff_bytes(raw: bytes) -> bytes:
    """The head of a file as byte-level sniffers see it: UTF-16 re-encoded as UTF-8 (so that
    ``raw.startswith(b"<?xml")`` holds for a UTF-16 XML too), other files as they are."""
    if detect_encoding(raw)[0] in (UTF16LE, UTF16BE):
        return sniff_text(raw).encode("utf-8")
    return raw


# The last file decoded, by its bytes: a reader that decodes its file more than once (to find
# its header, then to parse its rows) decodes it only once. Keyed by the bytes themselves (a
# comparison costs far less than decoding), so a file rewritten in place is never served stale.
_LAST: list[tuple[bytes, Decoded]] = []


def decode_file(
    path: str | PathLike,
    expected: str = "a text (CSV/JSON) export",
    empty: str = "a header row and data rows",
) -> Decoded:
    """Read and decode a whole text export with :func:`decode`.

    Parameters
    ----------
    path : path
        The file.
    expected : str
        What the file should be, for the message about binary data.
    empty : str
        What the file should hold, for the message about an empty file.

    Raises
    ------
    InputError
        If the file is missing, empty (or only blank) or binary.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError("no such file", path)
    raw = p.read_bytes()
    if _LAST and _LAST[0][0] == raw:
        dec = _LAST[0][1]
    else:
        dec = decode(raw, path, expected)
        _LAST[:] = [(raw, dec)]
    if not dec.text.strip().strip("\ufeff"):
        raise InputError(f"the file is empty; expected {empty}", path)
    return dec


def read_decoded(
    path: str | PathLike,
    expected: str = "a text (CSV/JSON) export",
    empty: str = "a header row and data rows",
) -> tuple[str, str]:
    """Read a whole text export with :func:`decode_file`; return ``(text, encoding)``."""
    dec = decode_file(path, expected, empty)
    return dec.text, dec.encoding


def read_text(path: str | PathLike, expected: str = "a text (CSV/JSON) export") -> str:
    """Read a whole text export with :func:`decode_file` (see :func:`read_decoded`)."""
    return decode_file(path, expected).text


def decode_member(
    zf: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    path: str | PathLike,
    expected: str,
    max_bytes: int,
) -> Decoded:
    """Read and decode one member of a zip export with :func:`decode` (at most ``max_bytes``
    unpacked: a larger member is an :class:`InputError`; zip errors are the caller's)."""
    if info.file_size > max_bytes:
        raise InputError(
            f"{info.filename} in the zip is larger than {max_bytes:,} bytes unpacked; not read",
            path,
        )
    with zf.open(info) as fh:
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise InputError(f"{info.filename} in the zip is larger than stated; not read", path)
    return decode(data, path, expected)

"""The one text decoding of exports: UTF-8 (BOM removed), else Windows-1252; binary refused."""

from __future__ import annotations

from os import PathLike
from pathlib import Path

from ..core.errors import InputError

#: The encoding name :func:`decode_bytes` returns for UTF-8 text (with or without a BOM).
UTF8 = "utf-8-sig"
#: The warning of the readers that say when a file was not UTF-8.
NOT_UTF8 = "file is not UTF-8; read as Windows-1252"


def decode_bytes(
    raw: bytes, path: str | PathLike, expected: str = "a CSV text export"
) -> tuple[str, str]:
    """Decode an export's bytes; return ``(text, encoding)``.

    UTF-8 with any BOM removed; old exports that are not UTF-8 are read as Windows-1252.

    Raises
    ------
    InputError
        If the bytes contain NUL characters (binary data, not a text export).
    """
    if b"\x00" in raw[:4096]:
        raise InputError(f"binary data; expected {expected}", path)
    try:
        return raw.decode(UTF8), UTF8
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace"), "cp1252"


def sniff_text(raw: bytes) -> str:
    """The head of a file as sniffers see it: UTF-8 with any BOM removed, bad bytes replaced."""
    return raw.decode(UTF8, errors="replace")


def read_decoded(
    path: str | PathLike,
    expected: str = "a text (CSV/JSON) export",
    empty: str = "a header row and data rows",
) -> tuple[str, str]:
    """Read a whole text export with :func:`decode_bytes`; return ``(text, encoding)``.

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
        If the file is missing, empty or binary.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError("no such file", path)
    raw = p.read_bytes()
    if not raw.strip():
        raise InputError(f"the file is empty; expected {empty}", path)
    return decode_bytes(raw, path, expected)


def read_text(path: str | PathLike, expected: str = "a text (CSV/JSON) export") -> str:
    """Read a whole text export with :func:`decode_bytes` (see :func:`read_decoded`)."""
    return read_decoded(path, expected)[0]

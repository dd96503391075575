"""Text decoding shared by the CSV/JSON readers: UTF-8 (BOM removed), else Windows-1252."""

from __future__ import annotations

from os import PathLike
from pathlib import Path

from ..core.errors import InputError


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
        return raw.decode("utf-8-sig"), "utf-8-sig"
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace"), "cp1252"


def read_text(path: str | PathLike, expected: str = "a text (CSV/JSON) export") -> str:
    """Read a whole text export with :func:`decode_bytes`.

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
        raise InputError("the file is empty; expected a header row and data rows", path)
    return decode_bytes(raw, path, expected)[0]

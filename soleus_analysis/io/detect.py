"""Sniff a file's format from its content (never its name): the table of every format read.

Each reader module exposes ``SNIFFERS``: a list of ``(format_name, sniff)`` pairs, where
``sniff(text, raw) -> bool`` looks at the first :data:`HEAD_BYTES` of the file (``raw``; a
UTF-16 file's head re-encoded as UTF-8) and the same bytes decoded by the one decoder
(:func:`~.encoding.sniff_text`: BOM removed, UTF-16 told by its BOM or NUL pattern, line ends
``\n``) as ``text``, so a UTF-16 export is sniffed as what it is; and ``READERS``: a mapping
``format_name -> read(path, **options) -> Recording``. A format that comes as a zip archive (an
``.xlsx`` workbook, Apple's ``export.zip``) is sniffed by ``ZIP_SNIFFERS``: ``(format_name,
sniff)`` pairs whose ``sniff(zipfile.ZipFile) -> bool`` looks at the archive's members (it is
opened once, never extracted). A module of tables that are no
recording (the lab OGTT table) gives ``TABLES``: ``format_name -> (read, message)``, the message
saying what the file is when it is given where a CGM export or a log belongs. Modules are asked
in :data:`MODULES` order, most specific first.
"""

from __future__ import annotations

import importlib
import zipfile
from collections.abc import Callable
from os import PathLike
from types import ModuleType

from ..core.errors import InputError
from .base import HEAD_BYTES, ZIP_ERRORS, read_head
from .encoding import looks_binary, sniff_bytes, sniff_text

__all__ = ["HEAD_BYTES", "MODULES", "all_readers", "all_tables", "detect_format", "read_head_text"]

#: Reader modules in the order they are asked; the generic CSV reader comes last.
MODULES: tuple[str, ...] = (
    "dexcom",
    "libreview",
    "carelink",
    "ipro2",
    "nightscout",
    "apple_health",
    "tandem",
    "glooko",
    "lingo",
    "xdrip",
    "tidepool",
    "logs",
    "lab",
    "generic",
)


def _modules() -> list[ModuleType]:
    # imported once (below, at import time); looked up by name so that MODULES is the one list
    return [importlib.import_module(f"{__package__}.{m}") for m in MODULES]


_modules()


def read_head_text(path: str | PathLike, head: bytes | None = None) -> tuple[str, bytes]:
    """Return ``(text, raw)``: the first bytes of ``path`` (or ``head``, those bytes when
    already read) decoded, and the bytes as sniffers see them (:func:`~.encoding.sniff_text`,
    :func:`~.encoding.sniff_bytes`).

    Raises
    ------
    InputError
        If the file does not exist or is empty.
    """
    raw = read_head(path) if head is None else head
    text = sniff_text(raw)
    if not text.strip().strip("\ufeff"):
        raise InputError(
            "the file is empty; expected a CGM export or a log with a header row", path
        )
    return text, sniff_bytes(raw)


def all_readers() -> dict[str, Callable]:
    """Every format read into a :class:`~soleus_analysis.core.recording.Recording`, mapped to
    its reader function."""
    out: dict[str, Callable] = {}
    for mod in _modules():
        out.update(mod.READERS)
    return out


def all_tables() -> dict[str, tuple[Callable, str]]:
    """Formats read into something else (the lab OGTT table): ``name -> (reader, message)``."""
    out: dict[str, tuple[Callable, str]] = {}
    for mod in _modules():
        out.update(getattr(mod, "TABLES", {}))
    return out


def _sniff_zip(path: str | PathLike) -> str | None:
    """The format of a zip archive by its members (``ZIP_SNIFFERS``), or ``None``.

    Raises
    ------
    InputError
        When the archive cannot be opened (corrupt or truncated).
    """
    try:
        with zipfile.ZipFile(path) as zf:
            for mod in _modules():
                for name, sniff in getattr(mod, "ZIP_SNIFFERS", ()):
                    if sniff(zf):
                        return name
    except ZIP_ERRORS as err:
        raise InputError(
            f"binary data: a zip archive that cannot be opened ({type(err).__name__}: corrupt "
            "or truncated); expected an .xlsx workbook or Apple Health's export.zip",
            path,
        ) from None
    return None


#: Formats of the last heads sniffed (head bytes -> format): the sniffers judge only a file's
#: head (:data:`HEAD_BYTES`), so a head seen before has its format (a person's file is sniffed
#: by ``read_person`` and again by its reader). Zip archives, judged by their members, are not
#: kept.
_SNIFFED: dict[bytes, str] = {}
_SNIFFED_MAX = 8


def detect_format(path: str | PathLike) -> str:
    """Return the format name of ``path`` from its content.

    Raises
    ------
    InputError
        Naming the file and the formats tried when none matches.
    """
    head = read_head(path)
    known = _SNIFFED.get(head)
    if known is not None:
        return known
    text, raw = read_head_text(path, head)
    if raw.startswith(b"PK\x03\x04"):
        name = _sniff_zip(path)
        if name is not None:
            return name
    for mod in _modules():
        for name, sniff in mod.SNIFFERS:
            if sniff(text, raw):
                if not raw.startswith(b"PK\x03\x04"):
                    if len(_SNIFFED) >= _SNIFFED_MAX:
                        _SNIFFED.pop(next(iter(_SNIFFED)))
                    _SNIFFED[head] = name
                return name
    if looks_binary(raw) and not raw.startswith(b"PAR1"):
        raise InputError(
            "binary data that is not a known export; expected a CSV, JSON, XML or Parquet file",
            path,
        )
    # the first line is never quoted back: in some exports it holds the person's name
    raise InputError(
        "unknown format: the first lines match no export this toolkit reads; expected one of: "
        + ", ".join(sorted(all_readers() | all_tables())),
        path,
        1,
    )

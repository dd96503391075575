"""Sniff a file's format from its content (never its name).

Each reader module exposes ``SNIFFERS``: a list of ``(format_name, sniff)`` pairs, where
``sniff(text, raw) -> bool`` looks at the first :data:`HEAD_BYTES` of the file (``raw``) and the
same bytes decoded as UTF-8 with any BOM removed (``text``), and ``READERS``: a mapping
``format_name -> read(path, **options) -> Recording``. Modules are asked in :data:`MODULES` order,
most specific first.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from os import PathLike
from types import ModuleType

from ..core.errors import InputError
from .base import check_input_file

HEAD_BYTES = 64 * 1024

#: Reader modules in the order they are asked; the generic CSV reader comes last.
MODULES: tuple[str, ...] = (
    "dexcom",
    "libreview",
    "carelink",
    "nightscout",
    "apple_health",
    "logs",
    "generic",
)


def _modules() -> list[ModuleType]:
    return [importlib.import_module(f"{__package__}.{m}") for m in MODULES]


def read_head(path: str | PathLike) -> tuple[str, bytes]:
    """Return ``(text, raw)``: the first bytes of ``path`` and their UTF-8 text (BOM removed).

    Raises
    ------
    InputError
        If the file does not exist, is empty, or is binary data that is not a known format.
    """
    p = check_input_file(path)
    with open(p, "rb") as fh:
        raw = fh.read(HEAD_BYTES)
    if not raw.strip():
        raise InputError(
            "the file is empty; expected a CGM export or a log with a header row", path
        )
    text = raw.decode("utf-8-sig", errors="replace")
    return text, raw


def all_readers() -> dict[str, Callable]:
    """Every format name the toolkit reads, mapped to its reader function."""
    out: dict[str, Callable] = {}
    for mod in _modules():
        out.update(mod.READERS)
    return out


def detect_format(path: str | PathLike) -> str:
    """Return the format name of ``path`` from its content.

    Raises
    ------
    InputError
        Naming the file and the formats tried when none matches.
    """
    text, raw = read_head(path)
    for mod in _modules():
        for name, sniff in mod.SNIFFERS:
            if sniff(text, raw):
                return name
    if b"\x00" in raw[:4096] and not raw.startswith(b"PAR1"):
        raise InputError(
            "binary data that is not a known export; expected a CSV, JSON, XML or Parquet file",
            path,
        )
    # the first line is never quoted back: in some exports it holds the person's name
    raise InputError(
        "unknown format: the first lines match no export this toolkit reads; expected one of: "
        + ", ".join(sorted(all_readers())),
        path,
        1,
    )

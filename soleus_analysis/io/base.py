"""What every reader shares before it parses a byte: the input check and the file's digest."""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Iterable, Sequence
from os import PathLike
from pathlib import Path

from ..core.errors import InputError


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

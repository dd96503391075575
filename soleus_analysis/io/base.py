"""What every reader shares before it parses a byte: the input check and the file's digest."""

from __future__ import annotations

import hashlib
import os
import stat
from os import PathLike
from pathlib import Path

from ..errors import InputError


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

"""Writing output files: atomically, never over something that is not a file, sets consistently.

Every file the toolkit writes (tables, JSON, PDFs, schedules) goes through :func:`atomic_target`:

- The data go to a unique temporary file in the target's own folder (``tempfile.mkstemp``), are
  flushed and ``fsync``-ed, and the temporary file is renamed over the target with
  ``os.replace``. A reader sees the old file or the new one, never a part of one, and two runs
  writing the same target at once never share a temporary file.
- On any error (a full disk, an exception while drawing a PDF, ``SIGTERM`` turned into
  ``SystemExit`` by the ``soleus`` command) the temporary file is removed and the target is left
  as it was.
- A target that exists and is not a regular file (a folder, a device such as ``/dev/full``, a
  FIFO, a socket) is refused with :class:`~soleus_analysis.core.errors.UsageError`; so is a target
  whose folder is a file. A symbolic link is **written through**: the file it points to is
  replaced (atomically, in that file's folder) and the link itself stays.
- A new file gets the ordinary permissions of the user's umask; a replaced file keeps its mode.

:func:`write_set` writes several tables that belong together (``soleus analyze``): each file
atomically, with ``manifest.json`` (each file's size and SHA-256) removed first and written
last. :func:`read_set` reads such a folder back and refuses a set that does not match its
manifest, so a reader never takes new ``meals.csv`` beside old ``metrics.csv``.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import stat
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import UsageError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "MANIFEST",
    "atomic_target",
    "check_target",
    "read_set",
    "spreadsheet_safe",
    "table_bytes",
    "write_atomic",
    "write_set",
    "write_table",
]

#: name of the manifest :func:`write_set` writes last
MANIFEST = "manifest.json"

_KINDS = {
    stat.S_ISDIR: "a folder",
    stat.S_ISCHR: "a character device",
    stat.S_ISBLK: "a block device",
    stat.S_ISFIFO: "a FIFO (named pipe)",
    stat.S_ISSOCK: "a socket",
}


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS.items() if test(mode)), "not a regular file")


def check_target(path: str | os.PathLike, what: str = "output") -> Path:
    """The real file a write to ``path`` replaces (a symlink resolved), checked writable in kind.

    Parameters
    ----------
    path : path
        The output file asked for.
    what : str
        How messages name it (e.g. ``"--json"``).

    Returns
    -------
    Path
        The target to replace: ``path`` itself, or the file a symbolic link points to.

    Raises
    ------
    UsageError
        When the target exists and is not a regular file, or a parent folder is a file.
    """
    p = Path(path)
    real = Path(os.path.realpath(p))
    try:
        st = os.stat(real)
    except FileNotFoundError:
        st = None
    except NotADirectoryError:
        st = None  # a parent is a file: found below
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise UsageError(f"{what} {p} is {_kind(st.st_mode)}, not a file; give a file name")
    for parent in real.parents:
        if parent.exists():
            if not parent.is_dir():
                raise UsageError(
                    f"{what} {p}: {parent} is a file, so nothing can be written below it"
                )
            break
    return real


def _mode_for(target: Path) -> int:
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system lets a folder be fsync-ed
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_target(path: str | os.PathLike, what: str = "output") -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path`` (see module docs).

    The caller writes the complete file to the yielded path (by name, e.g. with a library's
    ``save``); when the block ends without error the file is fsync-ed and renamed over the
    target. On error the temporary file is removed and the error propagates.
    """
    target = check_target(path, what)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, _mode_for(target))
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def write_atomic(path: str | os.PathLike, data: bytes, what: str = "output") -> Path:
    """Write ``data`` to ``path`` atomically (see module docs); return the path written."""
    with atomic_target(path, what) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
    return Path(path)


_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Neutralise text cells a spreadsheet would run as a formula (leading = + - @), by a leading '."""
    import pandas as pd  # here, not at the top: the command line imports this module at start-up

    out = frame.copy()
    for col in out.columns:
        if pd.api.types.is_object_dtype(out[col]) or pd.api.types.is_string_dtype(out[col]):
            s = out[col]
            mask = s.map(lambda v: isinstance(v, str) and v.startswith(_FORMULA_PREFIXES))
            if mask.any():
                out[col] = s.astype(object).where(~mask, "'" + s.astype(str))
    return out


def table_bytes(frame: pd.DataFrame, suffix: str) -> bytes:
    """A table as the bytes of a ``.csv`` (spreadsheet-safe) or ``.parquet`` file."""
    if suffix == ".parquet":
        buf = io.BytesIO()
        frame.to_parquet(buf, index=False)
        return buf.getvalue()
    return spreadsheet_safe(frame).to_csv(index=False).encode()


def write_table(frame: pd.DataFrame, path: str | os.PathLike, what: str = "output") -> Path:
    """Write a table as CSV (spreadsheet-safe) or Parquet (by the suffix), atomically."""
    return write_atomic(path, table_bytes(frame, Path(path).suffix), what)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_set(
    folder: str | os.PathLike,
    files: Mapping[str, bytes],
    *,
    stale: tuple[str, ...] = (),
    what: str = "--out",
) -> Path:
    """Write files that belong together into ``folder`` so a reader never takes a mix.

    The old manifest is removed first, then each file is written atomically, files named in
    ``stale`` that this set does not hold are removed (an old ``effect.csv`` must not outlive
    its run), and ``manifest.json`` (each file's size and SHA-256) is written last.

    Parameters
    ----------
    folder : path
        Output folder (created when missing).
    files : mapping of str to bytes
        File name (no folders) to content.
    stale : tuple of str
        Names of files a previous set may have left that must go when this set lacks them.

    Returns
    -------
    Path
        The manifest written.
    """
    out = Path(folder)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{what} {out} is a file; give a folder")
    for name in files:
        check_target(out / name, what)
    out.mkdir(parents=True, exist_ok=True)
    manifest = out / MANIFEST
    check_target(manifest, what)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(manifest)
    for name, data in files.items():
        write_atomic(out / name, data, what)
    for name in stale:
        if name not in files:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(out / name)
    listing = {
        "files": {name: {"bytes": len(d), "sha256": _digest(d)} for name, d in files.items()}
    }
    return write_atomic(manifest, (json.dumps(listing, indent=2) + "\n").encode(), what)


def read_set(folder: str | os.PathLike) -> dict[str, bytes]:
    """The files of a set written by :func:`write_set`, checked against its manifest.

    Raises
    ------
    UsageError
        When the manifest is missing (the set was never completed, or is being rewritten) or a
        file does not match it.
    """
    out = Path(folder)
    try:
        listing = json.loads((out / MANIFEST).read_text())["files"]
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        raise UsageError(
            f"{out}: no complete result set ({MANIFEST} is missing or unreadable); "
            "the run that wrote it did not finish, or is still writing"
        ) from None
    data = {}
    for name, meta in listing.items():
        try:
            content = (out / name).read_bytes()
        except FileNotFoundError:
            raise UsageError(f"{out}: {name} is listed in {MANIFEST} but missing") from None
        if len(content) != meta["bytes"] or _digest(content) != meta["sha256"]:
            raise UsageError(
                f"{out}: {name} does not match {MANIFEST} (written by another run); run again"
            )
        data[name] = content
    return data

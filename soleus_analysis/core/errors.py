"""The exception types the toolkit raises for bad input and for requests it cannot carry out."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from os import PathLike
from pathlib import Path


class InputError(ValueError):
    """Input that cannot be read or analysed as it stands.

    The message names the file, the line (1-based, as a text editor counts) or row where it
    can, and what was expected.

    Parameters
    ----------
    message : str
        What was wrong and what was expected.
    path : str or PathLike, optional
        The file concerned.
    line : int, optional
        1-based line number in that file.
    """

    def __init__(
        self, message: str, path: str | PathLike | None = None, line: int | None = None
    ) -> None:
        self.path = None if path is None else str(path)
        self.line = line
        self.reason = message
        where = ""
        if self.path is not None:
            where = f"{self.path}"
            if line is not None:
                where += f", line {line}"
            where += ": "
        elif line is not None:
            where = f"line {line}: "
        super().__init__(where + message)


class UsageError(ValueError):
    """A request the toolkit cannot carry out as given, though no input file is at fault.

    For example an output target that is a folder or a device, or a Dask scheduler that cannot
    be reached. The ``soleus`` command prints the message on one line and exits with code 2.
    """


def _forms(path: str) -> list[str]:
    """The ways a path can appear in a message: as given, absolute, resolved, bare name."""
    p = Path(path)
    forms = {path, str(p), str(p.absolute()), os.path.realpath(p), p.name}
    return sorted((f for f in forms if f and f not in {".", ".."}), key=len, reverse=True)


def describe(
    exc: BaseException, labels: Mapping[str, str] | None = None, show_file_names: bool = False
) -> str:
    """One line for people about ``exc``, naming files by their labels, never their names.

    File names often carry the person's name, so unless ``show_file_names`` every path in
    ``labels`` (as given, absolute, resolved or as a bare name) is replaced by its label
    (e.g. ``"CGM export 2"``), and a file :class:`InputError` names without a label becomes
    ``"input file"``.

    Parameters
    ----------
    exc : BaseException
        The error.
    labels : mapping of str to str, optional
        Path (as given) to label.
    show_file_names : bool
        Keep file names as they are.
    """
    labels = dict(labels or {})

    def name(path: str | None) -> str:
        if path is None:
            return ""
        if show_file_names:
            return path
        for key, label in labels.items():
            if path in _forms(key):
                return label
        return "input file"

    if isinstance(exc, InputError):
        where = name(exc.path) if exc.path is not None else ""
        if exc.line is not None:
            where = f"{where}, line {exc.line}" if where else f"line {exc.line}"
        text = f"{where}: {exc.reason}" if where else exc.reason
    elif isinstance(exc, OSError) and exc.strerror:
        target = exc.filename if exc.filename is not None else None
        text = f"{name(str(target))}: {exc.strerror}" if target is not None else exc.strerror
    else:
        text = str(exc) or type(exc).__name__
    if not show_file_names:
        pairs = [(f, lab) for key, lab in labels.items() for f in _forms(key)]
        for form, label in sorted(pairs, key=lambda fl: len(fl[0]), reverse=True):
            if len(form) >= 3:
                text = text.replace(form, label)
    lines = command_line_words(text).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


#: reader options (Python keyword) -> the ``soleus`` command's option
CLI_OPTIONS: dict[str, str] = {
    "date_order": "--date-order",
    "units": "--units",
    "include_scans": "--include-scans",
    "utc_offset": "--utc-offset",
    "tz": "--tz",
    "time_column": "--time-column",
    "glucose_column": "--glucose-column",
    "subject_column": "--subject-column",
    "time_format": "--time-format",
    "format": "--format",
    "subject": "--subject",
}
_KW = "|".join(sorted(CLI_OPTIONS, key=len, reverse=True))
_FLAG = re.compile(r"\b(include_scans)=(True|False)")
_OPTION = re.compile(rf"\b({_KW})=(?:(['\"])([^'\"]*)\2|(\.\.\.)|([\w/.+-]+))")
_ALT = re.compile(r"(--[\w-]+) (\S+)( \([^)]*\))? or '([^']*)'")
_AFTER = re.compile(r";? ?(?:\(command line: [^)]*\)|command line: --[\w-]+)")


def command_line_words(text: str) -> str:
    """A message as the ``soleus`` command's user reads it: reader keywords become its options.

    ``pass date_order='dmy' or 'mdy' (command line: --date-order)`` becomes ``add --date-order
    dmy or --date-order mdy``; ``time_column=...`` becomes ``--time-column NAME``;
    ``include_scans=True`` becomes ``--include-scans``. The Python API keeps the keyword
    wording (it is what a Python user types).
    """

    def flag(m: re.Match) -> str:
        return "--include-scans" if m.group(2) == "True" else "without --include-scans"

    def option(m: re.Match) -> str:
        value = m.group(3) if m.group(3) is not None else m.group(5)
        if m.group(4):
            value = "NAME" if m.group(1).endswith("column") else "VALUE"
        return f"{CLI_OPTIONS[m.group(1)]} {value}"

    out = _AFTER.sub("", text)
    out = _FLAG.sub(flag, out)
    out = _OPTION.sub(option, out)
    out = _ALT.sub(
        lambda m: f"{m.group(1)} {m.group(2)}{m.group(3) or ''} or {m.group(1)} {m.group(4)}", out
    )
    out = re.sub(
        r"\b[Pp]ass (--)", lambda m: ("add " if m.group(0)[0] == "p" else "Add ") + "--", out
    )
    return out


class AccountError(RuntimeError):
    """A reader's row account does not add up: a bug in the reader, not bad input.

    Raised by :meth:`~soleus_analysis.core.recording.Provenance.check` when ``rows_read`` is not
    ``rows_kept`` plus the rows dropped by reason.
    """

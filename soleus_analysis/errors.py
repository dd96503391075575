"""The one exception type the toolkit raises for bad input."""

from __future__ import annotations

from os import PathLike


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

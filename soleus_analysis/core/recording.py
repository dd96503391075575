"""The canonical object every reader returns: readings, events and an account of the rows."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import AccountError
from .schema import conform_events, conform_readings, empty_events, empty_readings

#: hexadecimal digits of a file's SHA-256 shown in outputs (enough to tell files apart)
SHORT_HASH = 12


@dataclass
class Provenance:
    """What a reader did with a file: every row read is either kept or dropped for a reason.

    Attributes
    ----------
    path : str
        The file read.
    format : str
        Detected (or given) format name, e.g. ``"dexcom_clarity"``.
    units : str
        Glucose units found in the file (``"mg/dL"``, ``"mmol/L"``, or ``""`` for logs).
    rows_read : int
        Data rows (records) in the file below its header(s).
    rows_kept : int
        Rows that became a reading or an event.
    rows_dropped : dict[str, int]
        Reason -> number of rows not kept for that reason.
    warnings : list[str]
        Human-readable notes, each naming the line where it can.
    metadata : dict
        Device facts (device name, sensor serial, export date). May hold personal data from export
        preambles: never printed in reports unless asked.
    sha256 : str
        SHA-256 of the file's bytes (hexadecimal), so a report's provenance can be checked
        without printing the file's name.
    label : str
        How outputs name the file without its name, e.g. ``"CGM export 1"`` or ``"log 2"``
        (set by :func:`soleus_analysis.io.read_person`; ``"file"`` when unset).
    """

    path: str
    format: str
    units: str = ""
    rows_read: int = 0
    rows_kept: int = 0
    rows_dropped: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    sha256: str = ""
    label: str = ""

    def display(self, show_file_names: bool = False) -> str:
        """The file as outputs name it: its label and short hash, or its name when asked.

        File names often carry the person's name (``CLARITY_Export_<Last>_<First>_...``), so
        reports, tables and messages use this instead of :attr:`path` unless the user asks
        for file names.
        """
        if show_file_names and self.path:
            return Path(self.path).name
        tag = f" [sha256 {self.sha256[:SHORT_HASH]}]" if self.sha256 else ""
        return (self.label or "file") + tag

    def drop(self, reason: str, count: int = 1) -> None:
        """Count ``count`` rows as dropped for ``reason``."""
        if count:
            self.rows_dropped[reason] = self.rows_dropped.get(reason, 0) + int(count)

    def warn(self, message: str, line: int | None = None) -> None:
        """Record a warning, prefixed with its 1-based line number when given."""
        self.warnings.append(f"line {line}: {message}" if line is not None else message)

    @property
    def balanced(self) -> bool:
        """True when ``rows_read == rows_kept + sum(rows_dropped.values())``."""
        return self.rows_read == self.rows_kept + sum(self.rows_dropped.values())

    def check(self) -> Provenance:
        """Return self when the row account adds up.

        Raises
        ------
        AccountError
            When ``rows_read != rows_kept + sum(rows_dropped.values())`` (a reader's bug).
        """
        if not self.balanced:
            raise AccountError(
                f"{self.path}: rows_read={self.rows_read} != rows_kept={self.rows_kept} + "
                f"dropped={sum(self.rows_dropped.values())} {self.rows_dropped}"
            )
        return self

    def summary(self, show_file_names: bool = False) -> str:
        """One paragraph for people: the file (see :meth:`display`), format, units, row account."""
        dropped = ", ".join(f"{n} {r}" for r, n in sorted(self.rows_dropped.items())) or "none"
        return (
            f"{self.display(show_file_names)}: format {self.format}"
            + (f", units {self.units}" if self.units else "")
            + f"; rows read {self.rows_read}, kept {self.rows_kept}, dropped {dropped}"
        )

    def to_dict(self, show_file_names: bool = False) -> dict[str, Any]:
        """Plain dict without ``metadata`` (which may hold personal data).

        The file is named by :meth:`display`; ``path`` is included only with
        ``show_file_names=True``.
        """
        return {
            "file": self.display(show_file_names),
            **({"path": self.path} if show_file_names else {}),
            "sha256": self.sha256,
            "format": self.format,
            "units": self.units,
            "rows_read": self.rows_read,
            "rows_kept": self.rows_kept,
            "rows_dropped": dict(self.rows_dropped),
            "warnings": list(self.warnings),
        }


@dataclass
class Recording:
    """Readings and events of one or more files, with their provenance.

    Attributes
    ----------
    readings : pandas.DataFrame
        Canonical readings (see :mod:`soleus_analysis.core.schema`), sorted by subject and time.
    events : pandas.DataFrame
        Canonical events, sorted by subject and time.
    provenance : Provenance
        The row account of the file (for a combined recording, of all files together; the
        per-file accounts are in ``sources``).
    sources : list[Provenance]
        One provenance per file read (a single-file recording holds its own).
    """

    readings: pd.DataFrame = field(default_factory=empty_readings)
    events: pd.DataFrame = field(default_factory=empty_events)
    provenance: Provenance = field(default_factory=lambda: Provenance(path="", format=""))
    sources: list[Provenance] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.readings = conform_readings(self.readings)
        self.events = conform_events(self.events)
        if not self.sources:
            self.sources = [self.provenance]

    @property
    def subjects(self) -> list[str]:
        """Subjects present in readings or events."""
        # the distinct ids of each column first (a few), then their text: never a pass of
        # Python objects over every reading
        ids = set()
        for col in (self.readings["subject"], self.events["subject"]):
            # one hashing pass over the column, then a loop over its few distinct values
            ids.update(str(x) for x in pd.unique(col) if not pd.isna(x))
        return sorted(ids)

    def summary(self, show_file_names: bool = False) -> str:
        """A short human summary: span, counts, and what was dropped (files by their label)."""
        r = self.readings
        lines = [p.summary(show_file_names) for p in self.sources]
        if len(r):
            lines.append(
                f"{len(r)} readings from {r['time'].min()} to {r['time'].max()}; "
                f"{int(r['censored'].notna().sum())} censored"
            )
        else:
            lines.append("no readings")
        kinds = Counter(self.events["kind"])
        lines.append(
            f"{len(self.events)} events"
            + (": " + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) if kinds else "")
        )
        return "\n".join(lines)


def combine_provenance(parts: list[Provenance], path: str = "<combined>") -> Provenance:
    """Add up several files' row accounts into one (formats and units joined)."""
    out = Provenance(
        path=path,
        format="+".join(sorted({p.format for p in parts})),
        units="+".join(sorted({p.units for p in parts if p.units})),
    )
    for p in parts:
        out.rows_read += p.rows_read
        out.rows_kept += p.rows_kept
        for reason, n in p.rows_dropped.items():
            out.drop(reason, n)
        out.warnings.extend(f"{p.display()}: {w}" for w in p.warnings)
    return out


def combine_person(
    cgm: Recording, logs: Sequence[Recording] = (), subject: str | None = None
) -> Recording:
    """One person's CGM recording plus their logs' events, all under one subject id."""
    subj = subject or (cgm.subjects[0] if cgm.subjects else "subject")
    readings = cgm.readings.assign(subject=subj)
    events = pd.concat([cgm.events] + [r.events for r in logs], ignore_index=True).assign(
        subject=subj
    )
    events = events.sort_values("time", kind="stable").reset_index(drop=True)
    return Recording(
        readings=readings,
        events=events,
        provenance=cgm.provenance,
        sources=list(cgm.sources) + [s for r in logs for s in r.sources],
    )

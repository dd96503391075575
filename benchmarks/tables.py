"""Tables the benchmark scripts write: one markdown writer for all of them (no extra package),
and the one summary table of ``make bench``.

Each speed benchmark calls :func:`record` for every figure that has a target (or a peer);
when the environment variable :data:`SUMMARY_ENV` names a file (``run_all.py`` sets it), the
figure is appended to it as one JSON line, else nothing is written. ``run_all.py`` reads the
lines back with :func:`read_records` and prints them as one table (:func:`summary_markdown`),
which it also writes to ``results/summary.md`` and into the README's speed table
(:func:`replace_between`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

#: environment variable naming the JSON-lines file the figures are appended to
SUMMARY_ENV = "SOLEUS_BENCH_SUMMARY"
#: columns of the summary table, in order
SUMMARY_COLUMNS = ("benchmark", "task", "measured", "floor or peer", "ratio", "target", "met")


def markdown(frame: pd.DataFrame, digits: int = 2) -> str:
    """``frame`` as a GitHub markdown table, floats rounded to ``digits``."""
    cols = [str(c) for c in frame.columns]

    def cell(v: object) -> str:
        if isinstance(v, float):
            return f"{v:.{digits}f}"
        return str(v)

    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    return "\n".join(lines)


def record(
    benchmark: str,
    task: str,
    measured: str,
    reference: str = "",
    ratio: float | None = None,
    target: str = "",
    met: bool | None = None,
) -> None:
    """Append one figure to the summary file named by :data:`SUMMARY_ENV` (if set).

    Parameters
    ----------
    benchmark : str
        The script that measured it (e.g. ``"bench_readers.py"``).
    task : str
        What was measured, in words.
    measured : str
        The figure with its unit (e.g. ``"0.21 s"``, ``"95 MB/s"``).
    reference : str
        The floor or peer it is compared with, with its own figure; empty when none.
    ratio : float or None
        ``measured / reference`` (dimensionless) where both are times; None otherwise.
    target : str
        The target in words (e.g. ``"<= 2x"``, ``"< 2.5 s"``); empty when none.
    met : bool or None
        Whether the target is met; None when there is no target.
    """
    path = os.environ.get(SUMMARY_ENV)
    if not path:
        return
    values = (benchmark, task, measured, reference, ratio, target, met)
    row = dict(zip(SUMMARY_COLUMNS, values, strict=True))
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(row) + "\n")


def read_records(path: Path) -> pd.DataFrame:
    """The figures :func:`record` appended to ``path``, one row each, in the order written
    (an empty frame with the summary columns when the file is missing or empty)."""
    rows = []
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                rows.append(json.loads(line))
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


def _ratio_text(r: float) -> str:
    """A ratio as printed: one decimal (``4.2x``), two significant digits below 0.1 (a lead
    over a peer, ``0.0016x``), so that no ratio prints as ``0.0x``."""
    return f"{r:.2g}x" if 0 < abs(r) < 0.1 else f"{r:.1f}x"


def summary_markdown(frame: pd.DataFrame) -> str:
    """The summary table as markdown: ratios as ``4.2x`` (:func:`_ratio_text`), ``met`` as
    ``yes``/``no``/blank."""
    out = frame.copy()
    out["ratio"] = [
        "" if r is None or pd.isna(r) else _ratio_text(float(r)) for r in out["ratio"].tolist()
    ]
    out["met"] = ["" if m is None or pd.isna(m) else ("yes" if m else "**no**") for m in out["met"]]
    return markdown(out.astype(str))


def replace_between(text: str, start: str, end: str, body: str) -> str:
    """``text`` with what lies between the marker lines ``start`` and ``end`` replaced by
    ``body`` (markers kept); ValueError when a marker is missing or they are out of order."""
    i, j = text.find(start), text.find(end)
    if i < 0 or j < 0 or j < i:
        raise ValueError(f"markers {start!r} and {end!r} not found in order")
    head = text[: i + len(start)]
    return head + "\n" + body.rstrip("\n") + "\n" + text[j:]

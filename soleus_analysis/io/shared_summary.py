"""The N-of-1 summary a self-tracker can share for a pooled series (no personal data).

``soleus analyze`` writes ``share.csv``: one row per person with a pseudonym and the summary of
their own meals that a pooled analysis needs, nothing else (no names, dates, glucose values or
file names)::

    # soleus_analysis N-of-1 summary (share it for a pooled series; no personal data)
    subject,n_meals,n_spu,n_control,log_ratio_estimate,log_ratio_se,log_ratio_se_dof
    person 1,42,21,21,-0.131167,0.065729,35

``log_ratio_estimate`` is the log of the ratio of the typical (geometric-mean) post-meal
response with SPU over without, adjusted for carbs, meal period and a slow trend, and
``log_ratio_se`` its standard error on ``log_ratio_se_dof`` degrees of freedom.
:func:`read_shared_summaries` reads one or more such files back (a research group collecting
them) with the project's decoder; each row is kept or dropped with its reason and line.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.errors import InputError
from ..core.recording import Provenance
from .encoding import read_text

__all__ = ["SHARE_COLUMNS", "SHARE_TITLE", "read_shared_summaries", "shared_summary_bytes"]

SHARE_TITLE = "# soleus_analysis N-of-1 summary (share it for a pooled series; no personal data)"
SHARE_COLUMNS: tuple[str, ...] = (
    "subject",
    "n_meals",
    "n_spu",
    "n_control",
    "log_ratio_estimate",
    "log_ratio_se",
    "log_ratio_se_dof",
)
REQUIRED = ("log_ratio_estimate", "log_ratio_se")
FORMAT = "nof1_summary"


def shared_summary_bytes(rows: pd.DataFrame) -> bytes:
    """The shareable CSV of Bayesian N-of-1 rows (only :data:`SHARE_COLUMNS`)."""
    out = io.StringIO()
    out.write(SHARE_TITLE + "\n")
    frame = rows.reindex(columns=list(SHARE_COLUMNS))
    frame.to_csv(out, index=False, lineterminator="\n", float_format="%.6g")
    return out.getvalue().encode("utf-8")


def _drop(prov: Provenance, reason: str, line: int) -> None:
    prov.drop(reason)
    prov.warn(f"row dropped: {reason}", line)


def _one(path: Path, seen: set[str]) -> tuple[pd.DataFrame, Provenance]:
    text = read_text(path, "an N-of-1 summary CSV (share.csv from soleus analyze)")
    lines = text.split("\n")
    body = [(i + 1, ln) for i, ln in enumerate(lines) if ln.strip() and not ln.startswith("#")]
    if not body:
        raise InputError("no header line; expected " + ",".join(SHARE_COLUMNS), path)
    head_line, head = body[0]
    header = [h.strip() for h in next(csv.reader([head]))]
    missing = [c for c in ("subject", *REQUIRED) if c not in header]
    if missing:
        raise InputError(
            f"missing column(s) {', '.join(missing)}; expected the header "
            + ",".join(SHARE_COLUMNS),
            path,
            head_line,
        )
    prov = Provenance(path=str(path), format=FORMAT, units="log ratio")
    rows = []
    for line_no, ln in body[1:]:
        prov.rows_read += 1
        cells = next(csv.reader([ln]))
        if len(cells) != len(header):
            _drop(prov, "wrong number of fields", line_no)
            continue
        rec = dict(zip(header, (c.strip() for c in cells), strict=True))
        try:
            est = float(rec["log_ratio_estimate"])
            se = float(rec["log_ratio_se"])
        except ValueError:
            _drop(prov, "log_ratio_estimate or log_ratio_se is not a number", line_no)
            continue
        if not (np.isfinite(est) and np.isfinite(se) and se > 0 and abs(est) < 10):
            _drop(prov, "no usable estimate (missing, infinite, or SE not > 0)", line_no)
            continue
        name = rec["subject"] or f"person {len(seen) + 1}"
        if name in seen:
            name = f"{name} (#{len(seen) + 1})"
        seen.add(name)
        row = {"subject": name, "log_ratio_estimate": est, "log_ratio_se": se}
        for c in ("n_meals", "n_spu", "n_control", "log_ratio_se_dof"):
            try:
                row[c] = float(rec[c]) if rec.get(c, "") != "" else np.nan
            except ValueError:
                row[c] = np.nan
        rows.append(row)
        prov.rows_kept += 1
    return pd.DataFrame(rows, columns=["subject", *SHARE_COLUMNS[1:]]), prov


def read_shared_summaries(
    paths: Iterable[str | PathLike],
) -> tuple[pd.DataFrame, list[Provenance]]:
    """Several people's shared N-of-1 summaries as one table, with each file's row account.

    A repeated pseudonym (two people who both kept ``person 1``) is numbered apart; a row
    without a usable estimate is dropped with its reason and line.

    Returns
    -------
    summaries : DataFrame
        ``subject`` and the numeric :data:`SHARE_COLUMNS`.
    sources : list of Provenance
        ``rows_read = rows_kept + dropped`` per file.
    """
    frames, sources = [], []
    seen: set[str] = set()
    for p in paths:
        frame, prov = _one(Path(p), seen)
        frames.append(frame)
        sources.append(prov)
    if not frames:
        raise InputError("no summary files given")
    for prov in sources:
        prov.check()
    return pd.concat(frames, ignore_index=True), sources

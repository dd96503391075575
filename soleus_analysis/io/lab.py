"""Laboratory OGTT tables: blood glucose and insulin per person, condition and time point.

The format (documented in ``docs/lab_table.md``) is a long CSV, one row per person x condition x
sampling time::

    subject,condition,minute,glucose_mgdl,insulin_uU_ml
    p01,sitting,0,92,6.1
    p01,sitting,30,160,55

Units are stated in the column names: glucose ``glucose_mgdl`` (mg/dL) or ``glucose_mmol``
(mmol/L); insulin ``insulin_uU_ml`` (µU/mL = mU/L) or ``insulin_pmol`` (pmol/L). Optional columns
``sample`` (venous/capillary/plasma), ``date`` and ``notes`` are kept; other extra columns are kept
too, after the canonical ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.errors import InputError
from ..core.recording import Provenance
from ..core.schema import DEFAULT_SUBJECT, MGDL_PER_MMOL, PMOL_PER_UU
from .base import RowAccount, column_list, first_header, numbers, read_table

__all__ = ["LabTable", "read_lab", "SAMPLE_COLUMNS"]

FORMAT = "lab_ogtt"

#: Canonical columns of :attr:`LabTable.samples`, in order.
SAMPLE_COLUMNS: tuple[str, ...] = (
    "subject",
    "condition",
    "minute",
    "glucose_mgdl",
    "insulin_uU_ml",
)

#: Accepted unit-bearing column names (normalised: lower case, ``_`` separators) -> (canonical, factor).
GLUCOSE_COLUMNS: dict[str, tuple[str, float]] = {
    "glucose_mgdl": ("mg/dL", 1.0),
    "glucose_mg_dl": ("mg/dL", 1.0),
    "glucose_mmol": ("mmol/L", MGDL_PER_MMOL),
    "glucose_mmol_l": ("mmol/L", MGDL_PER_MMOL),
}
INSULIN_COLUMNS: dict[str, tuple[str, float]] = {
    "insulin_uu_ml": ("µU/mL", 1.0),
    "insulin_mu_l": ("mU/L", 1.0),
    "insulin_pmol": ("pmol/L", 1.0 / PMOL_PER_UU),
    "insulin_pmol_l": ("pmol/L", 1.0 / PMOL_PER_UU),
}

#: Plausible ranges (exclusive lower, inclusive upper): glucose mg/dL, insulin µU/mL.
#: every column name of a lab table (a header holding one of them may be quoted in messages)
LAB_COLUMN_WORDS: tuple[str, ...] = (*SAMPLE_COLUMNS, *GLUCOSE_COLUMNS, *INSULIN_COLUMNS)
GLUCOSE_RANGE_MGDL: tuple[float, float] = (0.0, 1000.0)
INSULIN_RANGE_UU: tuple[float, float] = (-1e-12, 5000.0)


@dataclass
class LabTable:
    """Laboratory samples of an OGTT study and the account of the file's rows.

    Attributes
    ----------
    samples : pandas.DataFrame
        ``subject`` (str), ``condition`` (str), ``minute`` (float, min after the drink),
        ``glucose_mgdl`` (float, mg/dL), ``insulin_uU_ml`` (float, µU/mL); either may be NaN.
        Then ``sample``, ``date``, ``notes`` and other extra columns when present. Sorted by
        subject, condition, minute.
    provenance : Provenance
        Rows read / kept / dropped with reasons (format :data:`FORMAT`, ``"lab_ogtt"``).
    """

    samples: pd.DataFrame
    provenance: Provenance

    @property
    def subjects(self) -> list[str]:
        """Subjects in the table."""
        return sorted(self.samples["subject"].unique())

    @property
    def conditions(self) -> list[str]:
        """Conditions in the table."""
        return sorted(self.samples["condition"].unique())

    def summary(self) -> str:
        """One paragraph: the row account and the design (subjects x conditions x time points)."""
        s = self.samples
        return (
            self.provenance.summary()
            + f"\n{s['subject'].nunique()} subjects, conditions {self.conditions}, "
            + f"{s['minute'].nunique()} time points ({s['minute'].min():g} to {s['minute'].max():g} min)"
        )


def _unit_column(
    cols: list[str], accepted: dict[str, tuple[str, float]], stem: str, path: Path, line: int
) -> str | None:
    found = [c for c in cols if c in accepted]
    unitless = [c for c in cols if c.startswith(stem) and c not in accepted]
    names = ", ".join(sorted(accepted))
    if unitless:
        raise InputError(
            f"column {unitless[0]!r} does not state its units; rename it to one of: {names}",
            path,
            line,
        )
    if len(found) > 1:
        raise InputError(
            f"{stem} given twice ({', '.join(found)}); keep one of: {names}", path, line
        )
    return found[0] if found else None


def read_lab(path: str | PathLike, subject: str | None = None) -> LabTable:
    """Read a laboratory OGTT table (see ``docs/lab_table.md``).

    Parameters
    ----------
    path : str or PathLike
        Long CSV with ``subject`` (optional), ``condition``, ``minute`` and at least one of the
        glucose / insulin columns with units in the name.
    subject : str, optional
        Subject id used when the file has no ``subject`` column (default :data:`~soleus_analysis.core.schema.DEFAULT_SUBJECT`, never the file name); a
        ``subject`` column, when present, wins.

    Returns
    -------
    LabTable
        Samples in canonical units (glucose mg/dL with :data:`~soleus_analysis.core.schema.MGDL_PER_MMOL`,
        insulin µU/mL = pmol/L / :data:`~soleus_analysis.core.schema.PMOL_PER_UU`).

    Raises
    ------
    InputError
        Empty file, header without data, a missing ``condition``/``minute`` column, a glucose or
        insulin column without units, or the same (subject, condition, minute) twice (naming
        the lines).
    """
    p = Path(path)
    table, header_line, prov = read_table(p, FORMAT, comments=True)
    cols = [c for c in table.columns if c != "_line"]
    for need in ("condition", "minute"):
        if need not in cols:
            raise InputError(
                f"no {need!r} column (found {column_list(cols, LAB_COLUMN_WORDS)}); expected "
                "subject,condition,minute,"
                "glucose_mgdl,insulin_uU_ml",
                p,
                header_line,
            )
    g_col = _unit_column(cols, GLUCOSE_COLUMNS, "glucose", p, header_line)
    i_col = _unit_column(cols, INSULIN_COLUMNS, "insulin", p, header_line)
    if g_col is None and i_col is None:
        raise InputError(
            "no glucose or insulin column; expected one of: "
            + ", ".join([*GLUCOSE_COLUMNS, *INSULIN_COLUMNS]),
            p,
            header_line,
        )
    lines = table["_line"].to_numpy()
    drops = RowAccount(prov, lines)

    def numeric(col: str | None) -> tuple[pd.Series, np.ndarray]:
        if col is None:
            return pd.Series(np.nan, index=table.index), np.zeros(len(table), dtype=bool)
        return numbers(table[col], missing=("", "na", "nan", "n/a", "-"))

    subj = (
        table["subject"]
        if "subject" in cols
        else pd.Series(subject or DEFAULT_SUBJECT, index=table.index)
    )
    drops.drop(subj.eq("").to_numpy(), "missing subject")
    drops.drop(table["condition"].eq("").to_numpy(), "missing condition")
    minute, minute_bad = numeric("minute")
    drops.drop(minute_bad | minute.isna().to_numpy(), "bad minute")
    glucose, g_bad = numeric(g_col)
    insulin, i_bad = numeric(i_col)
    glucose = glucose * (GLUCOSE_COLUMNS[g_col][1] if g_col else 1.0)
    insulin = insulin * (INSULIN_COLUMNS[i_col][1] if i_col else 1.0)
    drops.drop(g_bad, "bad glucose value")
    drops.drop(i_bad, "bad insulin value")
    lo, hi = GLUCOSE_RANGE_MGDL
    drops.drop(
        (glucose.notna() & ~((glucose > lo) & (glucose <= hi))).to_numpy(),
        "impossible glucose value",
    )
    lo, hi = INSULIN_RANGE_UU
    drops.drop(
        (insulin.notna() & ~((insulin > lo) & (insulin <= hi))).to_numpy(),
        "impossible insulin value",
    )
    drops.drop((glucose.isna() & insulin.isna()).to_numpy(), "no glucose or insulin value")
    keep = drops.commit()

    samples = pd.DataFrame(
        {
            "subject": subj.astype(object),
            "condition": table["condition"].astype(object),
            "minute": minute.astype("float64"),
            "glucose_mgdl": glucose.astype("float64"),
            "insulin_uU_ml": insulin.astype("float64"),
        }
    )
    extra = [c for c in cols if c not in {"subject", "condition", "minute", g_col, i_col}]
    for c in extra:
        samples[c] = table[c].where(table[c].ne(""), None).astype(object)
    samples["_line"] = lines
    samples = samples.loc[keep]

    key = ["subject", "condition", "minute"]
    dup = samples.duplicated(key, keep=False)
    if dup.any():
        first = samples.loc[dup].iloc[0]
        same = samples.loc[dup & (samples[key] == first[key]).all(axis=1), "_line"].tolist()
        raise InputError(
            f"subject {first['subject']!r}, condition {first['condition']!r}, minute "
            f"{first['minute']:g} appears on lines {', '.join(map(str, same))}; expected one row "
            "per subject x condition x minute",
            p,
            int(same[1]),
        )
    prov.units = GLUCOSE_COLUMNS[g_col][0] if g_col else ""
    prov.metadata["insulin_units"] = INSULIN_COLUMNS[i_col][0] if i_col else ""
    prov.rows_kept = len(samples)
    samples = samples.drop(columns="_line").sort_values(key, kind="stable").reset_index(drop=True)
    return LabTable(samples=samples, provenance=prov.check())


def sniff_lab(text: str, raw: bytes) -> bool:
    """A header (after ``#`` comments) with ``condition``, ``minute`` and a glucose or insulin
    column (whose units :func:`read_lab` checks)."""
    cols = first_header(text)
    return (
        "condition" in cols
        and "minute" in cols
        and any(c.startswith(("glucose", "insulin")) for c in cols)
    )


SNIFFERS = [(FORMAT, sniff_lab)]
#: A lab table is no :class:`~soleus_analysis.core.recording.Recording` (no readings or events
#: in time), so ``read_cgm`` has no reader for it; :func:`read_lab` reads it, and a lab table
#: given where a CGM export or a log belongs is refused with this message.
READERS: dict = {}
TABLES = {
    FORMAT: (
        read_lab,
        "is a lab OGTT table (lab_ogtt), not a CGM export or a log; read it with read_lab, "
        "or name it in the lab_path column of a study manifest",
    )
}

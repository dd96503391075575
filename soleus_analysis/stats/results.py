"""Result tables: tidy frames for code, :meth:`ResultTable.summary` for people.

As statsmodels' results have ``.summary()``: every public comparison returns a
:class:`ResultTable`, a :class:`pandas.DataFrame` (one row per result, columns named for what
they are) that also prints as plain sentences.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from .verdict import estimate_of

__all__ = ["ESTIMAND_WORDS", "ResultTable", "as_result"]

#: each estimand in words, as reports and summaries print it
ESTIMAND_WORDS: dict[str, str] = {
    "reduction_mean_ratio_pct": "reduction of the mean response (1 - ratio of arithmetic means)",
    "reduction_geomean_pct": "reduction of the typical response (1 - ratio of geometric means)",
    "reduction_per_dose_pct": "reduction of the mean response per dose step",
    "estimate": "estimate",
}
#: the tests that belong to each estimand (same null hypothesis)
ESTIMAND_TESTS: dict[str, tuple[str, ...]] = {
    "reduction_mean_ratio_pct": ("p_mean_diff", "p"),
    "reduction_geomean_pct": ("p_log_ratio", "p_model", "p_permutation"),
    "reduction_per_dose_pct": ("p",),
    "estimate": ("p",),
}


def _num(x: Any, nd: int = 1) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "-"
    return "-" if not math.isfinite(v) else f"{v:.{nd}f}"


class ResultTable(pd.DataFrame):
    """A comparison's result: a DataFrame with a title and a :meth:`summary` for people."""

    _metadata = ["title"]

    @property
    def _constructor(self) -> type[ResultTable]:
        return ResultTable

    def summary(self) -> str:
        """The result as lines of text: each row's estimates, each with its interval and tests."""
        title = getattr(self, "title", "") or "Result"
        lines = [title, "=" * len(title)]
        for _, row in self.iterrows():
            r = row.to_dict()
            who = next(
                (str(r[k]) for k in ("measure", "subject", "term", "period", "method") if k in r),
                "",
            )
            names = [n for n in ESTIMAND_WORDS if n in r] or [""]
            for name in names:
                name, est, lo, hi, level = estimate_of(r, name or None)
                text = f"{who}: {ESTIMAND_WORDS.get(name, name)} {_num(est)}"
                text += "%" if name.endswith("_pct") else ""
                if math.isfinite(float(lo)) and math.isfinite(float(hi)):
                    text += f" ({level} CI {_num(lo)} to {_num(hi)})"
                tests = [
                    f"{k} = {float(r[k]):.3g}"
                    for k in ESTIMAND_TESTS.get(name, ("p",))
                    if k in r and isinstance(r[k], (int, float)) and math.isfinite(float(r[k]))
                ]
                lines.append(text + ("; " + ", ".join(tests) if tests else ""))
        return "\n".join(lines)


def as_result(frame: pd.DataFrame, title: str) -> ResultTable:
    """``frame`` as a :class:`ResultTable` titled ``title``."""
    out = ResultTable(frame)
    out.title = title
    return out

"""The sentences outputs print about results: the same words on the terminal and in the PDFs."""

from __future__ import annotations

import math
from typing import Any

from ..stats import ESTIMAND_WORDS, estimate_of

__all__ = ["pooled_sentence"]


def _finite(*xs: Any) -> bool:
    try:
        return all(math.isfinite(float(x)) for x in xs)
    except (TypeError, ValueError):
        return False


def pooled_sentence(row: Any, nd: int = 1) -> str:
    """One pooled estimate in words: method, estimand, value, its own interval and its test.

    A row without an estimate says why (its ``note``).
    """
    _, est, lo, hi, level = estimate_of(row, "estimate_pct")
    if not _finite(est):
        return f"{row['method']}: no estimate ({row.get('note') or 'too few people or meals'})"
    what = ESTIMAND_WORDS.get(row["estimand"], row["estimand"])
    note = row.get("note") if hasattr(row, "get") else None
    ci = (
        f"{level} CI {lo:.{nd}f}% to {hi:.{nd}f}%"
        if _finite(lo, hi)
        else "no interval" + (f": {note}" if isinstance(note, str) and note else "")
    )
    test = f"; {row['test']}, p = {float(row['p']):.3g}" if _finite(row["p"]) else ""
    return f"{row['method']}: {what} {est:.{nd}f}% ({ci}){test}"

"""Tables the benchmark scripts write: one markdown writer for all of them (no extra package)."""

from __future__ import annotations

import pandas as pd


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

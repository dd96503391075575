"""The plain-language verdict: one sentence that respects the uncertainty of a result row."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["estimate_of", "verdict"]


def _pct(x: float) -> str:
    r = round(float(x))
    return f"{0 if r == 0 else r}%"


_CI_COL = re.compile(r"^(?P<stem>.*?)_?(?P<lab>ci\d+(?:_\d+)?)_low$")


def estimate_of(
    row: pd.Series | dict[str, Any], estimand: str | None = None
) -> tuple[str, float, float, float, str]:
    """The estimate a result row reports, with its own interval: (name, value, low, high, level).

    The interval is found by name (``<estimand>_ci95_low`` for ``<estimand>_pct``, or
    ``ci95_low`` beside a generic ``estimate_pct``/``estimate``), so an estimate is never paired
    with another estimand's interval. ``level`` is the label's text, e.g. ``"95%"``.
    """
    r = dict(row)
    names = [estimand] if estimand else []
    if "estimand" in r and isinstance(r["estimand"], str):
        names.append(r["estimand"])
    names += ["reduction_geomean_pct", "reduction_mean_ratio_pct", "estimate_pct", "estimate"]
    for name in names:
        if name not in r:
            continue
        stem = name[: -len("_pct")] if name.endswith("_pct") else name
        for key in r:
            m = _CI_COL.match(str(key))
            if not m:
                continue
            own = m.group("stem") == stem or (
                m.group("stem") == "" and name in ("estimate_pct", "estimate")
            )
            if own and f"{key[: -len('_low')]}_high" in r:
                level = m.group("lab")[2:].replace("_", ".") + "%"
                return name, r[name], r[key], r[f"{key[: -len('_low')]}_high"], level
        return name, r[name], np.nan, np.nan, "95%"
    return "", np.nan, np.nan, np.nan, "95%"


def verdict(
    row: pd.Series | dict[str, Any],
    *,
    estimand: str | None = None,
    measure: str = "post-meal glucose rise",
    who: str = "your",
    min_n: int = 5,
    wide_pp: float = 60.0,
) -> str:
    """One plain-language sentence for a result row that respects its uncertainty.

    Rules, in order:

    1. no estimate, or fewer than ``min_n`` SPU or control meals (``n_spu``/``n_control``)
       or pairs (``n_pairs``): "Not enough ... yet to tell", with the row's ``note`` (why it
       has no interval, e.g. people too unequal for their number) in brackets;
    2. CI excluding 0: "SPU lowered {who} {measure} by about X% (95% CI L% to H%)." or, for a
       rise, "... was about X% higher with SPU ...";
    3. CI including 0 and wider than ``wide_pp`` percentage points: not enough data yet to tell;
    4. otherwise: "No clear effect".

    Parameters
    ----------
    row : Series or dict
        A row of :func:`~soleus_analysis.stats.nof1.n_of_1`,
        :func:`~soleus_analysis.stats.paired.crossover`, a pooled row, or the
        ``reduction_mean_ratio_pct`` term of :func:`~soleus_analysis.stats.models.mixed_model`.
    estimand : str, optional
        The estimate to speak of (default: the row's ``estimand``, else the adjusted ratio of
        geometric means, else the ratio of means; see :func:`estimate_of`).
    measure : str
        What was measured, in words.
    who : str
        Possessive: ``"your"`` for a self-tracker, ``"participants'"`` for a study.
    min_n : int
        Fewest meals per condition (or pairs) needed before any claim.
    wide_pp : float
        CI width (percentage points) above which a CI spanning 0 means "too early to tell".

    Returns
    -------
    str
    """
    r = dict(row)
    _, est, lo, hi, level = estimate_of(r, estimand)
    unit = "meals"
    if "n_spu" in r and "n_control" in r:
        n = min(int(r["n_spu"]), int(r["n_control"]))
        counts = f"{int(r['n_spu'])} SPU and {int(r['n_control'])} control meals"
    elif "n_pairs" in r:
        n, unit = int(r["n_pairs"]), "participants"
        counts = f"{n} participants with both conditions"
    else:
        n, counts = min_n, ""
    if not np.all(np.isfinite(np.asarray([est, lo, hi], dtype=float))) or n < min_n:
        need = f"; aim for at least {min_n} of each" if unit == "meals" else ""
        note = r.get("note")
        why = f" ({note})" if isinstance(note, str) and note else ""
        return (
            f"Not enough {unit} yet to tell"
            + (f": {counts} so far{need}" if counts else "")
            + why
            + "."
        )
    ci_txt = f"({level} CI {_pct(lo)} to {_pct(hi)})"
    if lo > 0:
        return f"SPU lowered {who} {measure} by about {_pct(est)} {ci_txt}."
    if hi < 0:
        cap = who[:1].upper() + who[1:]
        return f"{cap} {measure} was about {_pct(-est)} higher with SPU {ci_txt}; SPU did not lower it."
    if hi - lo > wide_pp:
        return (
            f"Not enough {unit} yet to tell: the estimate ({_pct(est)} lower with SPU) is very "
            f"uncertain {ci_txt}."
        )
    direction = "lower" if est >= 0 else "higher"
    return (
        f"No clear effect: {who} {measure} was about {_pct(abs(est))} {direction} with SPU "
        f"{ci_txt}, not distinguishable from no change."
    )

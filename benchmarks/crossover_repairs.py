"""Repairs of the crossover interval tried on the grid's two failing cells (README, "How the
intervals were chosen"), on every cell of ``crossover_grid.py``.

The default interval (``fieller_lognormal``) under-covers where people are lognormal, the effect
shrinks with the person's level and the refusal rule keeps only the samples that look even. The
lognormal generalized interval (``lognormal_gpq``) covers those two cells; this script measures
what using it costs elsewhere, on the grid's data sets (same cells, seed and truth):

- ``fl``, ``gpq``: the two intervals alone;
- ``gpq_on_low_side``: the default, with the reduction's lower limit the lower of the two;
- ``gpq_both_sides``: the union of the two intervals;
- ``gpq_by_corr_sign``: the union on one side, the side chosen by the sign of the sample
  correlation of log(SPU / control) with log level (positive: the lower limit of the reduction).

Each with and without the refusal rule (``" norule"``). Prints, per repair, the cells meeting
issue 11's acceptance (``crossover_grid.judged``) and the failing cells; writes
``crossover_repairs.csv`` to ``--out``. About 7 minutes on one core::

    .venv/bin/python benchmarks/crossover_repairs.py --out /tmp

``--rules`` tries repairs of the refusal rule instead, with the default interval (writes
``crossover_refusals.csv``; about 6 minutes):

- ``cv 0.5`` (the default) and ``cv 0.4``: the rule on the sample CV at two thresholds;
- ``log-cv``: the CV implied by the SD of log levels, ``sqrt(exp(s^2) - 1)``;
- ``log-cv upper 80%``: the same from a one-sided 80% upper confidence bound of that SD
  (chi-square), so that a sample that looks even is not taken at its word;
- ``soften a=…``: the default rule, and every stated interval widened about the estimate by
  ``1 + a * (statistic / threshold)^p``, most near the threshold (``a`` 0.1-0.3, ``p`` 2 or 4).
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

import crossover_grid as g

from soleus_analysis.stats.paired import crossover_refusal, ratio_intervals


def _log_corr(c: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Per data set, the sample correlation of log(t / c) with log((c + t) / 2)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        lv = np.log((c + t) / 2)
        lr = np.log(np.where((c > 0) & (t > 0), t / c, np.nan))
        a = lv - lv.mean(axis=1, keepdims=True)
        b = lr - np.nanmean(lr, axis=1, keepdims=True)
        return (a * b).sum(axis=1) / np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))


def repairs(c: np.ndarray, t: np.ndarray, rng: np.random.Generator) -> dict[str, tuple]:
    """(low, high) of the reduction (%) per data set for each repair."""
    ints = ratio_intervals(c, t, ("fieller_lognormal", "lognormal_gpq"), n_boot=1000, rng=rng)
    fl_lo, fl_hi = ints["fieller_lognormal"]
    gq_lo, gq_hi = ints["lognormal_gpq"]
    ok = np.isfinite(gq_lo)  # the generalized interval needs positive values
    low = np.where(ok, np.fmin(fl_lo, gq_lo), fl_lo)
    high = np.where(ok, np.fmax(fl_hi, gq_hi), fl_hi)
    r = _log_corr(c, t)
    return {
        "fl": (fl_lo, fl_hi),
        "gpq": (gq_lo, gq_hi),
        "gpq_on_low_side": (low, fl_hi),
        "gpq_both_sides": (low, high),
        "gpq_by_corr_sign": (np.where(r > 0, low, fl_lo), np.where(r < 0, high, fl_hi)),
    }


def _mean_skew(cv: np.ndarray, n: int) -> np.ndarray:
    """The refusal rule's statistic, ``(cv^3 + 3 cv) / sqrt(n)``."""
    return (cv**3 + 3 * cv) / np.sqrt(n)


def refusal_repairs(
    c: np.ndarray, t: np.ndarray, rng: np.random.Generator
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(low, high, refused) per data set for each repair of the refusal rule (``--rules``)."""
    from scipy.stats import chi2

    lo, hi = ratio_intervals(c, t, ("fieller_lognormal",), n_boot=1000, rng=rng)[
        "fieller_lognormal"
    ]
    n = c.shape[1]
    th = g.CROSSOVER_MAX_MEAN_SKEW_DEFAULT
    stat = crossover_refusal(c, t, None)[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        level = (c + t) / 2
        sd_log = np.log(np.where(level > 0, level, np.nan)).std(axis=1, ddof=1)
        sd_up = sd_log * np.sqrt((n - 1) / chi2.ppf(0.2, n - 1))
        s = _mean_skew(stat, n)
        est = 100 * (1 - t.mean(axis=1) / c.mean(axis=1))
    out = {
        "cv 0.5": (lo, hi, ~(s <= th)),
        "cv 0.4": (lo, hi, ~(s <= 0.4)),
        "log-cv": (lo, hi, ~(_mean_skew(np.sqrt(np.expm1(sd_log**2)), n) <= th)),
        "log-cv upper 80%": (lo, hi, ~(_mean_skew(np.sqrt(np.expm1(sd_up**2)), n) <= th)),
    }
    for a, p in ((0.1, 2), (0.1, 4), (0.2, 4), (0.3, 4)):
        w = 1 + a * (s / th) ** p
        out[f"soften a={a} p={p}"] = (est - w * (est - lo), est + w * (hi - est), ~(s <= th))
    return out


def _row(key: tuple, name: str, lo, hi, stated, truth: float, trials: int) -> dict:
    """One cell's figures for one method, among its stated intervals."""
    st = np.isfinite(lo) & np.isfinite(hi) & stated
    k = int(st.sum())
    cov, se = g._share(((lo <= truth) & (truth <= hi))[st], k)
    ex0, ex0_se = g._share(((lo > 0) | (hi < 0))[st], k)
    return dict(zip(("model", "n", "cv_between", "cv_within", "effect"), key, strict=True)) | {
        "method": name,
        "trials": trials,
        "stated_pct": 100 * k / trials,
        "coverage_pct": cov,
        "coverage_se": se,
        "excludes_0_pct": ex0,
        "excludes_0_se": ex0_se,
        "median_width_pp": float(np.median((hi - lo)[st])) if k else np.nan,
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    ap.add_argument("--rules", action="store_true", help="repairs of the refusal rule instead")
    a = ap.parse_args(argv)
    rows = []
    for key in itertools.product(g.MODELS, g.N_GRID, g.CV_BETWEEN, g.CV_WITHIN, g.EFFECTS):
        cell = g.Cell(*key)
        rng = np.random.default_rng(np.random.SeedSequence(20240917, spawn_key=cell.key))
        r0 = g.r0_for(cell, 30.0)
        truth = 100 * (1 - g.truth_ratio(cell, r0))
        c, t = g.simulate(cell, a.trials, r0, rng)
        if a.rules:
            for name, (lo, hi, refused) in refusal_repairs(c, t, rng).items():
                rows.append(_row(key, name, lo, hi, ~refused, truth, a.trials))
            continue
        refused = crossover_refusal(c, t, g.CROSSOVER_MAX_MEAN_SKEW_DEFAULT)[0]
        for name, (lo, hi) in repairs(c, t, rng).items():
            for rule in (True, False):
                stated = ~refused if rule else np.ones_like(refused)
                rows.append(
                    _row(key, name + ("" if rule else " norule"), lo, hi, stated, truth, a.trials)
                )
    res = g.judged(pd.DataFrame(rows))
    a.out.mkdir(parents=True, exist_ok=True)
    res.to_csv(
        a.out / ("crossover_refusals.csv" if a.rules else "crossover_repairs.csv"), index=False
    )
    cols = ["model", "n", "cv_between", "cv_within", "effect", "stated_pct", "coverage_pct"]
    for m, d in res.groupby("method", sort=False):
        print(
            f"{m}: {int(d['ok'].sum())}/{len(d)} cells meet the acceptance; "
            f"{d['stated_pct'].mean():.1f}% of data sets stated (mean over cells)"
        )
        print(d.loc[~d["ok"], cols + ["excludes_0_pct"]].round(1).to_string(index=False))


if __name__ == "__main__":
    main()

"""Simulation grid that chose the crossover's interval of ``reduction_mean_ratio_pct``.

The estimand is the *population* reduction of the mean response,
``100 * (1 - E[T] / E[C])`` (E over people, not the sample), known exactly for every cell:

- person level ``m``: lognormal (or gamma) with mean 1 and CV ``cv_between``;
- control ``C = m * e_c``, SPU ``T = m * r_i * e_t``, with within-person noise ``e`` of mean 1
  and CV ``cv_within`` (lognormal, or gamma in the ``gamma`` model), the same in both
  conditions;
- person effect ``r_i = r0 * exp(tau * z_i)``, ``z_i = rho * u_i + sqrt(1 - rho^2) * w_i`` with
  ``u_i`` the standardised ``log m_i`` (so ``rho`` is the correlation of ``log r`` with the
  level) and ``w_i`` standard normal;
- ``E[T] / E[C] = r0 * exp(tau^2 (1 - rho^2) / 2) * E[m exp(tau rho u)]`` (``E[m] = 1``):
  ``exp(tau^2 / 2 + rho sigma_b tau)`` for the lognormal model, by quadrature for the gamma;
  ``r0`` is set so that the population reduction is ``--reduction`` (30%) in every effect cell;
- the null (``r_i = 1``): the false-positive rate is the share of intervals excluding 0.

Effects: ``no_effect``; ``homogeneous`` (tau 0); ``het`` (tau 0.4, rho 0); ``het_corr`` (tau 0.4,
rho 0.6: the relative effect shrinks with the response size) and ``het_anticorr`` (rho -0.6:
it grows with it). Every method in a cell sees the same data sets and, for the bootstrap
methods, the same resamples.

Cells: people lognormal or gamma x n in {6, 10, 15, 25, 50} x between-person CV {0.5, 1.0, 1.5}
x within-person CV {0.2, 0.5} x the five effects = 300 cells, 1,000 data sets each (Monte Carlo
SE of a 95% coverage 0.7 points), every method of ``RATIO_CI_METHODS`` on each, 1,000 bootstrap
resamples / lognormal draws per data set.

Run::

    .venv/bin/python benchmarks/crossover_grid.py            # full grid (about 30 min, 1 core)
    .venv/bin/python benchmarks/crossover_grid.py --quick    # a small version (about 1 min)
    .venv/bin/python benchmarks/crossover_grid.py --from-csv benchmarks/results/crossover_grid.csv

It prints the tables and writes ``crossover_grid.csv`` and ``crossover_grid.md`` to ``--out``
(default ``benchmarks/results``); ``--from-csv`` rewrites the markdown from a saved run. The
full run took 31 min (1,834 s) on the project's 2-core reference machine, one core, the other
busy; the re-run of the cells outside the bounds adds about half a minute.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import integrate, special, stats

from soleus_analysis.core.rules import CROSSOVER_CI_DEFAULT
from soleus_analysis.stats.paired import RATIO_CI_METHODS, ratio_intervals

EFFECTS: dict[str, tuple[float, float]] = {
    "no_effect": (0.0, 0.0),
    "homogeneous": (0.0, 0.0),
    "het": (0.4, 0.0),
    "het_corr": (0.4, 0.6),
    "het_anticorr": (0.4, -0.6),
}
N_GRID = (6, 10, 15, 25, 50)
CV_BETWEEN = (0.5, 1.0, 1.5)
CV_WITHIN = (0.2, 0.5)
MODELS = ("lognormal", "gamma")


@dataclass(frozen=True)
class Cell:
    model: str
    n: int
    cv_between: float
    cv_within: float
    effect: str

    @property
    def key(self) -> tuple:
        return (
            MODELS.index(self.model),
            self.n,
            int(round(100 * self.cv_between)),
            int(round(100 * self.cv_within)),
            list(EFFECTS).index(self.effect),
        )


def _sigma(cv: float) -> float:
    return float(np.sqrt(np.log1p(cv**2)))


def _level_moment(model: str, cv_between: float, a: float) -> float:
    """``E[m exp(a u)]`` for the level ``m`` (mean 1) and its standardised log ``u``."""
    if a == 0:
        return 1.0
    if model == "lognormal":
        sb = _sigma(cv_between)
        return float(np.exp(a * sb + a * a / 2))  # m = exp(sb u - sb^2 / 2), u ~ N(0, 1)
    k = 1.0 / cv_between**2
    mu, sd = special.digamma(k), np.sqrt(special.polygamma(1, k))

    def f(x: float) -> float:  # x = k * m ~ Gamma(k, 1)
        return (x / k) * np.exp(a * (np.log(x) - mu) / sd) * stats.gamma.pdf(x, k)

    lo, hi = stats.gamma.ppf([1e-14, 1 - 1e-14], k)
    val, _ = integrate.quad(f, lo, hi, limit=400, points=[k])
    return float(val)


def truth_ratio(cell: Cell, r0: float) -> float:
    """``E[T] / E[C]`` of a cell with baseline effect ``r0``."""
    tau, rho = EFFECTS[cell.effect]
    if cell.effect == "no_effect":
        return 1.0
    return (
        r0
        * np.exp(tau**2 * (1 - rho**2) / 2)
        * _level_moment(cell.model, cell.cv_between, tau * rho)
    )


def r0_for(cell: Cell, reduction_pct: float) -> float:
    """The baseline effect ``r0`` that makes the population reduction ``reduction_pct``."""
    if cell.effect == "no_effect":
        return 1.0
    return (1 - reduction_pct / 100) / truth_ratio(cell, 1.0)


def _positive(model: str, cv: float, size: tuple, rng: np.random.Generator) -> np.ndarray:
    """Mean-1 positive draws with CV ``cv`` and their standardised logs."""
    if model == "lognormal":
        s = _sigma(cv)
        z = rng.standard_normal(size)
        return np.exp(s * z - s * s / 2), z
    k = 1.0 / cv**2
    x = rng.gamma(k, 1.0, size)
    u = (np.log(x) - special.digamma(k)) / np.sqrt(special.polygamma(1, k))
    return x / k, u


def simulate(cell: Cell, trials: int, r0: float, rng: np.random.Generator):
    """``trials`` data sets of ``cell.n`` pairs: (control, treatment), each trials x n."""
    size = (trials, cell.n)
    m, u = _positive(cell.model, cell.cv_between, size, rng)
    tau, rho = EFFECTS[cell.effect]
    if cell.effect == "no_effect":
        r = np.ones(size)
    else:
        z = rho * u + np.sqrt(1 - rho**2) * rng.standard_normal(size)
        r = r0 * np.exp(tau * z)
    e_c, _ = _positive(cell.model, cell.cv_within, size, rng)
    e_t, _ = _positive(cell.model, cell.cv_within, size, rng)
    return m * e_c, m * r * e_t


def run_cell(
    cell: Cell,
    *,
    trials: int,
    n_boot: int,
    methods: tuple[str, ...],
    seed: int,
    reduction_pct: float,
    ci: float = 0.95,
) -> list[dict]:
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=cell.key))
    r0 = r0_for(cell, reduction_pct)
    truth = 100 * (1 - truth_ratio(cell, r0))
    c, t = simulate(cell, trials, r0, rng)
    ints = ratio_intervals(c, t, methods, ci=ci, n_boot=n_boot, rng=rng)
    rows = []
    for m in methods:
        lo, hi = ints[m]
        ok = ~(np.isnan(lo) | np.isnan(hi))
        cover = (lo <= truth) & (truth <= hi)
        excl0 = (lo > 0) | (hi < 0)
        width = np.where(ok, hi - lo, np.inf)
        p = float(cover.mean())
        q = float(excl0.mean())
        rows.append(
            {
                "model": cell.model,
                "n": cell.n,
                "cv_between": cell.cv_between,
                "cv_within": cell.cv_within,
                "effect": cell.effect,
                "truth_pct": truth,
                "method": m,
                "trials": trials,
                "coverage_pct": 100 * p,
                "coverage_se": 100 * np.sqrt(p * (1 - p) / trials),
                "excludes_0_pct": 100 * q,
                "excludes_0_se": 100 * np.sqrt(q * (1 - q) / trials),
                "truth_below_pct": 100 * float(np.mean(truth < lo)),
                "truth_above_pct": 100 * float(np.mean(truth > hi)),
                "median_width_pp": float(np.median(width)),
                "unbounded_pct": 100 * float(np.mean(~np.isfinite(width))),
            }
        )
    return rows


def grid(
    *,
    models=MODELS,
    n_grid=N_GRID,
    cv_between=CV_BETWEEN,
    cv_within=CV_WITHIN,
    effects=tuple(EFFECTS),
    trials: int = 1000,
    n_boot: int = 1000,
    methods: tuple[str, ...] = RATIO_CI_METHODS,
    seed: int = 20240917,
    reduction_pct: float = 30.0,
    verbose: bool = False,
) -> pd.DataFrame:
    rows = []
    cells = [Cell(*k) for k in itertools.product(models, n_grid, cv_between, cv_within, effects)]
    t0 = time.perf_counter()
    for i, cell in enumerate(cells):
        rows += run_cell(
            cell,
            trials=trials,
            n_boot=n_boot,
            methods=methods,
            seed=seed,
            reduction_pct=reduction_pct,
        )
        if verbose:
            print(
                f"  cell {i + 1}/{len(cells)} {cell} {time.perf_counter() - t0:.0f} s",
                file=sys.stderr,
            )
    return pd.DataFrame(rows)


def confirm(
    res: pd.DataFrame,
    method: str,
    *,
    trials: int = 4000,
    n_boot: int = 1000,
    seed: int = 20240918,
    reduction_pct: float = 30.0,
) -> pd.DataFrame:
    """Re-run, with ``trials`` fresh data sets (another seed), the cells where ``method`` fell
    below 93% coverage or above 5.5% false positives: a miss of a few Monte Carlo SE in 300
    cells is expected by chance; a real failure repeats."""
    d = res[res["method"] == method]
    bad = d[
        ((d["effect"] != "no_effect") & (d["coverage_pct"] < 93))
        | ((d["effect"] == "no_effect") & (d["excludes_0_pct"] > 5.5))
    ]
    rows = []
    for r in bad.itertuples():
        cell = Cell(r.model, int(r.n), float(r.cv_between), float(r.cv_within), r.effect)
        new = run_cell(
            cell,
            trials=trials,
            n_boot=n_boot,
            methods=(method,),
            seed=seed,
            reduction_pct=reduction_pct,
        )[0]
        col, se = (
            ("excludes_0_pct", "excludes_0_se")
            if r.effect == "no_effect"
            else ("coverage_pct", "coverage_se")
        )
        rows.append(
            {
                "model": r.model,
                "n": int(r.n),
                "cv_between": r.cv_between,
                "cv_within": r.cv_within,
                "effect": r.effect,
                "measure": col,
                "grid_1000": _pm(getattr(r, col), getattr(r, se)),
                f"rerun_{trials}": _pm(new[col], new[se]),
            }
        )
    return pd.DataFrame(rows)


def _pm(p: float, se: float) -> str:
    return f"{p:.1f} ({se:.1f})"


def with_stated(res: pd.DataFrame) -> pd.DataFrame:
    """Adds ``stated_pct`` (data sets with a bounded interval: the report states one; an
    unbounded Fieller set is "not enough participants") and ``coverage_when_stated_pct``.

    An unbounded interval always holds the truth and never excludes 0, so both follow from
    ``coverage_pct`` and ``unbounded_pct``.
    """
    out = res.copy()
    stated = 100 - out["unbounded_pct"]
    out["stated_pct"] = stated
    with np.errstate(invalid="ignore", divide="ignore"):
        out["coverage_when_stated_pct"] = np.where(
            stated > 0, 100 * (out["coverage_pct"] - out["unbounded_pct"]) / stated, np.nan
        )
    return out


def summary_table(res: pd.DataFrame) -> pd.DataFrame:
    """Per method and n: share of effect cells covering 93-97%, the lowest coverage, the highest
    false-positive rate (no-effect cells) over both models, and, among data sets where an
    interval is stated, the lowest share stated and the lowest coverage."""
    res = with_stated(res)
    eff = res[res["effect"] != "no_effect"]
    nul = res[res["effect"] == "no_effect"]
    rows = []
    for (m, n), g in eff.groupby(["method", "n"], sort=False):
        z = nul[(nul["method"] == m) & (nul["n"] == n)]
        rows.append(
            {
                "method": m,
                "n": n,
                "cells_93_97": f"{int(g['coverage_pct'].between(93, 97).sum())}/{len(g)}",
                "cells_below_93": int((g["coverage_pct"] < 93).sum()),
                "min_coverage_pct": round(float(g["coverage_pct"].min()), 1),
                "max_coverage_pct": round(float(g["coverage_pct"].max()), 1),
                "max_fp_pct": round(float(z["excludes_0_pct"].max()), 1),
                "min_stated_pct": round(float(g["stated_pct"].min()), 1),
                "min_coverage_when_stated_pct": round(
                    float(g["coverage_when_stated_pct"].min()), 1
                ),
            }
        )
    return pd.DataFrame(rows)


def compact_table(res: pd.DataFrame) -> pd.DataFrame:
    """Per method (rows) and n (columns): lowest-highest coverage of the effect cells and the
    highest false-positive rate of the no-effect cells, both models."""
    out = {}
    for m, g in summary_table(res).groupby("method", sort=False):
        out[m] = {
            f"n={r.n}": f"{r.min_coverage_pct:.1f}-{r.max_coverage_pct:.1f}; {r.max_fp_pct:.1f}"
            for r in g.itertuples()
        }
    return pd.DataFrame(out).T.rename_axis("method").reset_index()


def cell_table(res: pd.DataFrame, method: str, model: str = "lognormal") -> pd.DataFrame:
    """One method's cells: false positives, coverage by effect (MC SE; an unbounded interval,
    where the report says "not enough participants", counts as covering), median width of the
    homogeneous cell (inf when most intervals are unbounded), the lowest share of data sets with
    a stated (bounded) interval and the lowest coverage among them over the effects."""
    d = with_stated(res)
    d = d[(d["method"] == method) & (d["model"] == model)]
    rows = []
    for (n, b, w), g in d.groupby(["n", "cv_between", "cv_within"], sort=True):
        by = g.set_index("effect")
        row = {"n": n, "cv_between": b, "cv_within": w}
        if "no_effect" in by.index:
            z = by.loc["no_effect"]
            row["fp_pct"] = _pm(z["excludes_0_pct"], z["excludes_0_se"])
        for e in EFFECTS:
            if e != "no_effect" and e in by.index:
                row[f"cov_{e}"] = _pm(by.loc[e, "coverage_pct"], by.loc[e, "coverage_se"])
        wide = "homogeneous" if "homogeneous" in by.index else by.index[-1]
        row["width_pp"] = round(float(by.loc[wide, "median_width_pp"]), 1)
        eff = g[g["effect"] != "no_effect"]
        row["stated_pct"] = round(float(eff["stated_pct"].min()), 1)
        row["cov_when_stated_min"] = round(float(eff["coverage_when_stated_pct"].min()), 1)
        rows.append(row)
    return pd.DataFrame(rows)


def markdown(frame: pd.DataFrame) -> str:
    cols = list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in frame.iterrows():
        lines.append("| " + " | ".join(str(r[c]) for c in cols) + " |")
    return "\n".join(lines)


def report(
    res: pd.DataFrame, chosen: str, old: str = "expanded", confirmed: pd.DataFrame | None = None
) -> str:
    """The markdown written beside the CSV: the comparison and the chosen method's cells."""
    parts = [
        "## All methods: coverage range of the effect cells; highest false-positive rate (%)",
        "",
        markdown(compact_table(res)),
        "",
        "## All methods by n (both models)",
        "",
        markdown(summary_table(res)),
        "",
    ]
    if confirmed is not None and len(confirmed):
        parts += [
            f"## {chosen}: the cells outside 93% / 5.5%, re-run with fresh data sets",
            "",
            markdown(confirmed),
            "",
        ]
    for model in sorted(res["model"].unique()):
        for m in (chosen, old):
            if m in set(res["method"]):
                parts += [f"## {m}, {model} people", "", markdown(cell_table(res, m, model)), ""]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a small version (fewer cells, trials)")
    ap.add_argument("--trials", type=int, default=None)
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=20240917)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    ap.add_argument("--methods", default=",".join(RATIO_CI_METHODS))
    ap.add_argument("--from-csv", type=Path, default=None, help="rewrite the markdown only")
    args = ap.parse_args(argv)
    if args.from_csv is not None:
        res = pd.read_csv(args.from_csv)
        text = report(res, CROSSOVER_CI_DEFAULT, confirmed=confirm(res, CROSSOVER_CI_DEFAULT))
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "crossover_grid.md").write_text(text + "\n", encoding="utf-8")
        print(text)
        return
    methods = tuple(args.methods.split(","))
    if args.quick:
        kw = dict(
            models=("lognormal", "gamma"),
            n_grid=(6, 10, 25),
            cv_between=(0.5, 1.5),
            cv_within=(0.2,),
            effects=("no_effect", "homogeneous", "het_corr"),
        )
        trials = args.trials or 400
    else:
        kw = {}
        trials = args.trials or 1000
    t0 = time.perf_counter()
    res = grid(
        trials=trials, n_boot=args.n_boot, methods=methods, seed=args.seed, verbose=True, **kw
    )
    print(f"{len(res)} rows in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    res.to_csv(args.out / "crossover_grid.csv", index=False)
    confirmed = confirm(res, CROSSOVER_CI_DEFAULT, n_boot=args.n_boot, seed=args.seed + 1)
    text = report(res, CROSSOVER_CI_DEFAULT, confirmed=confirmed)
    (args.out / "crossover_grid.md").write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()

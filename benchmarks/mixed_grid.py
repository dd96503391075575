"""Validation grid of the pooled mixed model (:func:`soleus_analysis.stats.mixed_model`).

Simulates cohorts from models that differ from the one fitted, fits each with the package's
``mixed_model`` (random SPU slope per person, ``n - 1`` degrees of freedom, two-stage fallback)
and, with ``--model old``, with the random-intercept model it replaced, and prints per cell:

- ``cover_effect``: % of 95% intervals of ``condition[spu]`` holding the true population mean
  SPU effect (mg/dL·min);
- ``cover_reduction``: the same for ``reduction_mean_ratio_pct`` and the true reduction;
- ``width_effect`` (mg/dL·min) and ``width_reduction`` (percentage points): mean interval widths;
- ``bias_effect``: mean estimate minus truth (mg/dL·min);
- ``fallback``: % of fits that fell back to the two-stage analysis; ``refused``: % without an
  estimate (NaN and a note);

each with its Monte Carlo standard error (``_mcse``: binomial for rates, SD / sqrt(trials) for
means). Coverage is over the trials with an estimate.

The simulated cohorts. Person ``i`` has a control level ``a_i ~ N(3000, 600)`` mg/dL·min, meals
at 08:00, 13:00, 19:00 in turn (from a random start; period effects +300, 0, -200), carbs
``U(30, 90)`` g (20 mg/dL·min per g), half the meals with SPU in random order, and residual noise
``N(0, 1000)`` (a within-person CV of about 33%). The SPU effect:

- ``none``: the same for everyone, -900 mg/dL·min (30%);
- ``sd400``: ``-900 + N(0, 400)`` per person (people differ);
- ``relative``: multiplicative: each meal's expected response ``mu_ij`` is cut by a person's own
  share ``r_i ~ N(0.30, 0.10)`` and the noise is multiplicative (log-normal, CV 33%), so the
  effect, its spread and the noise all scale with the person's level (true mean effect
  ``-0.30 * mu``, true reduction 30%).

Options of a cell: ``drift`` adds a slow drift of each person's level over their meals (a linear
trend of ``N(0, 600)`` from first to last meal and a sine of amplitude 300 over the study, mean
0): residuals that are correlated in time, not modelled; ``unequal`` draws each person's number
of meals from 30% to 170% of the cell's and their share of SPU meals from 30% to 70%.

The true population mean effect is -900 mg/dL·min (``relative``: ``-0.30 * mu``) and the true
reduction ``-100 * effect / mu`` with ``mu = 3000 +`` the mean covariate effect of the trial's
meals (the model-predicted control mean of the analysed meals, for the population).

Run: ``.venv/bin/python benchmarks/mixed_grid.py`` (29 cells x 1000 trials: 15 minutes on one
free core, 915 s measured; the committed run took 2043 s on a shared one), ``--quick`` (150
trials per cell, 2-3 minutes), ``--model old`` for the random-intercept model (32 minutes; its mean reduction widths
are blown up by non-converged fits with absurd SEs, ``not_converged`` in the CSV), ``--csv FILE``
and ``--md FILE`` for the per-cell table (``benchmarks/results/mixed_grid.csv`` and ``.md`` hold
the committed run).
"""

from __future__ import annotations

import os

# one core, and no BLAS threads fighting over it (small matrices: threads only cost time)
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import stats  # noqa: E402

from soleus_analysis.stats import mixed_model  # noqa: E402
from soleus_analysis.stats.common import design  # noqa: E402

MEAN_LEVEL = 3000.0
LEVEL_SD = 600.0
EFFECT = -900.0
EFFECT_SD = 400.0
RELATIVE_MEAN, RELATIVE_SD = 0.30, 0.10
NOISE_SD = 1000.0
NOISE_CV = 0.33
CARBS_PER_G = 20.0
HOURS = np.array([8.0, 13.0, 19.0])
PERIOD_EFFECTS = np.array([300.0, 0.0, -200.0])
DRIFT_TREND_SD, DRIFT_SINE = 600.0, 300.0
CI = 0.95


@dataclass(frozen=True)
class Cell:
    """One grid cell: people, meals per person, effect heterogeneity and options."""

    people: int
    meals: int
    het: str = "none"  # "none", "sd400", "relative"
    drift: bool = False
    unequal: bool = False

    @property
    def label(self) -> str:
        opts = [o for o, on in (("drift", self.drift), ("unequal", self.unequal)) if on]
        return f"{self.people}x{self.meals} {self.het}" + (f" +{'+'.join(opts)}" if opts else "")


def default_cells() -> list[Cell]:
    """The 29 cells: 3 x 3 x {none, sd400}, and at 40 meals: relative, drift, unequal; and two
    cells with everything at once."""
    cells = [
        Cell(n, m, het) for het in ("none", "sd400") for n in (6, 10, 20) for m in (20, 40, 60)
    ]
    for n in (6, 10, 20):
        cells.append(Cell(n, 40, "relative"))
    for n in (6, 10, 20):
        cells.append(Cell(n, 40, "sd400", drift=True))
    for n in (6, 10, 20):
        cells.append(Cell(n, 40, "sd400", unequal=True))
    cells.append(Cell(6, 20, "relative", drift=True, unequal=True))
    cells.append(Cell(10, 40, "relative", drift=True, unequal=True))
    return cells


def simulate_cohort(cell: Cell, rng: np.random.Generator) -> tuple[pd.DataFrame, float, float]:
    """One simulated cohort: the per-meal table, the true mean SPU effect and true reduction."""
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("subject", "spu", "hours", "carbs", "y")}
    cov_effects = []
    for i in range(cell.people):
        if cell.unequal:
            m = int(rng.integers(round(0.3 * cell.meals), round(1.7 * cell.meals) + 1))
            share = rng.uniform(0.3, 0.7)
        else:
            m, share = cell.meals, 0.5
        n_spu = int(np.clip(round(share * m), 2, m - 2))
        spu = rng.permutation(np.arange(m) < n_spu)
        which = (np.arange(m) + rng.integers(3)) % 3
        carbs = rng.uniform(30, 90, m)
        cov_eff = PERIOD_EFFECTS[which] + CARBS_PER_G * (carbs - 60.0)
        cov_effects.append(cov_eff)
        mu = rng.normal(MEAN_LEVEL, LEVEL_SD) + cov_eff
        if cell.drift:
            s = np.linspace(-0.5, 0.5, m)
            mu = mu + rng.normal(0, DRIFT_TREND_SD) * s
            mu = mu + DRIFT_SINE * np.sin(2 * np.pi * (s + 0.5) + rng.uniform(0, 2 * np.pi))
        if cell.het == "relative":
            r = rng.normal(RELATIVE_MEAN, RELATIVE_SD)
            s2 = np.log1p(NOISE_CV**2)
            y = mu * (1 - r * spu) * np.exp(rng.normal(-s2 / 2, np.sqrt(s2), m))
        else:
            d = EFFECT + (rng.normal(0, EFFECT_SD) if cell.het == "sd400" else 0.0)
            y = mu + d * spu + rng.normal(0, NOISE_SD, m)
        for k, v in zip(cols, (np.full(m, i), spu, HOURS[which], carbs, y), strict=True):
            cols[k].append(v)
    c = {k: np.concatenate(v) for k, v in cols.items()}
    meals = pd.DataFrame(
        {
            "subject": np.char.add("p", c["subject"].astype(str)),
            "condition": np.where(c["spu"], "spu", "control"),
            "carbs_g": c["carbs"],
            "time_of_day_h": c["hours"],
            "iauc_mgdl_min": c["y"],
        }
    )
    mu_pop = MEAN_LEVEL + float(np.concatenate(cov_effects).mean())
    effect = -RELATIVE_MEAN * mu_pop if cell.het == "relative" else EFFECT
    return meals, effect, -100.0 * effect / mu_pop


def old_random_intercept(meals: pd.DataFrame) -> dict[str, float]:
    """The random-intercept model ``mixed_model`` was before (commit 72e2e6c), for comparison:
    ``value ~ 1 + spu + carbs + period + (1 | subject)`` by statsmodels' MixedLM (default
    optimisers, warnings silenced), Wald z intervals, the delta-method reduction."""
    from statsmodels.regression.mixed_linear_model import MixedLM

    cov_x, _, ok = design(meals, ("carbs_g", "time_of_day"))
    kept = meals.loc[ok]
    t = (kept["condition"] == "spu").to_numpy(dtype=float)
    x = np.column_stack([np.ones(len(kept)), t, cov_x.to_numpy(dtype=float)])
    y = kept["iauc_mgdl_min"].to_numpy(dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            res = MixedLM(y, x, groups=kept["subject"].to_numpy()).fit(reml=True)
        except np.linalg.LinAlgError:  # the old pipeline's row said "could not be fitted"
            nan = float("nan")
            keys = ("effect", "effect_low", "effect_high", "reduction", "reduction_low")
            return {
                **dict.fromkeys(keys, nan),
                "reduction_high": nan,
                "fallback": 0.0,
                "converged": 0.0,
                "se_zero": 0.0,
            }
    k = x.shape[1]
    beta = np.asarray(res.fe_params, dtype=float)
    cov = np.asarray(res.cov_params(), dtype=float)[:k, :k]
    q = stats.norm.ppf(0.5 + CI / 2)
    se = float(np.sqrt(max(cov[1, 1], 0.0)))
    xbar = x.mean(axis=0)
    xbar[1] = 0.0
    mu = float(xbar @ beta)
    red = -100.0 * beta[1] / mu
    grad = -100.0 * (np.eye(k)[1] / mu - beta[1] * xbar / mu**2)
    red_se = float(np.sqrt(max(grad @ cov @ grad, 0.0)))
    return {
        "effect": float(beta[1]),
        "effect_low": float(beta[1] - q * se),
        "effect_high": float(beta[1] + q * se),
        "reduction": red,
        "reduction_low": red - q * red_se,
        "reduction_high": red + q * red_se,
        "fallback": 0.0,
        "converged": float(res.converged),
        "se_zero": float(se < 1e-6),
    }


def new_mixed_model(meals: pd.DataFrame) -> dict[str, float]:
    """The package's ``mixed_model``: its SPU term and reduction rows."""
    res = mixed_model(meals, ci=CI).set_index("term")
    e, r = res.loc["condition[spu]"], res.loc["reduction_mean_ratio_pct"]
    return {
        "effect": e["estimate"],
        "effect_low": e["ci95_low"],
        "effect_high": e["ci95_high"],
        "reduction": r["estimate"],
        "reduction_low": r["ci95_low"],
        "reduction_high": r["ci95_high"],
        "fallback": float(res["model"].iloc[0] == "two_stage"),
        "converged": np.nan,
        "se_zero": float(e["se"] < 1e-6) if np.isfinite(e["se"]) else 0.0,
    }


MODELS = {"new": new_mixed_model, "old": old_random_intercept}


def run_cell(cell: Cell, trials: int, seed: int, model: str = "new") -> pd.DataFrame:
    """Per-trial results of one cell (the same cohorts for every model at the same seed)."""
    fit = MODELS[model]
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(trials):
        meals, effect, reduction = simulate_cohort(cell, rng)
        out = fit(meals)
        out.update(true_effect=effect, true_reduction=reduction)
        rows.append(out)
    return pd.DataFrame(rows)


def _rate(x: np.ndarray) -> tuple[float, float]:
    x = np.asarray(x, dtype=float)
    if x.size == 0:
        return np.nan, np.nan
    p = float(x.mean())
    return 100 * p, 100 * float(np.sqrt(p * (1 - p) / x.size))


def _mean(x: np.ndarray) -> tuple[float, float]:
    x = np.asarray(x, dtype=float)
    if x.size < 2:
        return np.nan, np.nan
    return float(x.mean()), float(x.std(ddof=1) / np.sqrt(x.size))


def summarise(cell: Cell, per_trial: pd.DataFrame, model: str) -> dict[str, object]:
    """One row of the grid table: coverage, widths, bias, fallbacks, refusals, with MC SEs."""
    has = np.isfinite(per_trial[["effect_low", "effect_high"]].to_numpy()).all(axis=1)
    t = per_trial.loc[has]
    row: dict[str, object] = {
        "cell": cell.label,
        "model": model,
        "people": cell.people,
        "meals": cell.meals,
        "het": cell.het,
        "drift": cell.drift,
        "unequal": cell.unequal,
        "trials": len(per_trial),
    }
    measures = {
        "cover_effect": (
            _rate,
            (t["effect_low"] <= t["true_effect"]) & (t["true_effect"] <= t["effect_high"]),
        ),
        "cover_reduction": (
            _rate,
            (t["reduction_low"] <= t["true_reduction"])
            & (t["true_reduction"] <= t["reduction_high"]),
        ),
        "width_effect": (_mean, t["effect_high"] - t["effect_low"]),
        "width_reduction": (_mean, t["reduction_high"] - t["reduction_low"]),
        "bias_effect": (_mean, t["effect"] - t["true_effect"]),
        "fallback": (_rate, per_trial["fallback"]),
        "refused": (_rate, ~has),
    }
    for name, (how, values) in measures.items():
        row[name], row[f"{name}_mcse"] = how(np.asarray(values, dtype=float))
    row["not_converged"] = (
        100 * float(1 - per_trial["converged"].mean())
        if per_trial["converged"].notna().any()
        else np.nan
    )
    row["se_zero"] = int(per_trial["se_zero"].sum())
    return row


def markdown(table: pd.DataFrame) -> str:
    """The grid as a Markdown table (estimate ± MC SE)."""

    def pm(r: pd.Series, name: str, nd: int) -> str:
        v, s = r[name], r[f"{name}_mcse"]
        return "-" if not np.isfinite(v) else f"{v:.{nd}f} ± {s:.{nd}f}"

    head = (
        "| cell | model | trials | cover effect % | cover reduction % | width effect | "
        "width reduction (pp) | bias effect | fallback % | refused % |"
    )
    lines = [head, "|" + "---|" * 10]
    for _, r in table.iterrows():
        lines.append(
            f"| {r['cell']} | {r['model']} | {r['trials']} | {pm(r, 'cover_effect', 1)} | "
            f"{pm(r, 'cover_reduction', 1)} | {pm(r, 'width_effect', 0)} | "
            f"{pm(r, 'width_reduction', 1)} | {pm(r, 'bias_effect', 0)} | "
            f"{pm(r, 'fallback', 1)} | {pm(r, 'refused', 1)} |"
        )
    return "\n".join(lines)


def run_grid(
    cells: list[Cell], trials: int, seed: int, models: list[str], progress: bool = True
) -> pd.DataFrame:
    """Every cell with every model; cell ``j`` uses seed ``seed + j`` (same cohorts per model)."""
    rows = []
    for j, cell in enumerate(cells):
        for model in models:
            t0 = time.perf_counter()
            per = run_cell(cell, trials, seed + j, model)
            row = summarise(cell, per, model)
            row["seconds"] = time.perf_counter() - t0
            rows.append(row)
            if progress:
                print(
                    f"{cell.label:32s} {model}: effect {row['cover_effect']:.1f}% "
                    f"reduction {row['cover_reduction']:.1f}% fallback {row['fallback']:.1f}% "
                    f"({row['seconds']:.0f} s)",
                    flush=True,
                )
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--quick", action="store_true", help="150 trials per cell")
    ap.add_argument("--model", choices=["new", "old", "both"], default="new")
    ap.add_argument("--seed", type=int, default=20260301)
    ap.add_argument("--cells", default=None, help="only cells whose label contains this")
    ap.add_argument("--csv", default=None, help="write the per-cell table here")
    ap.add_argument("--md", default=None, help="write the Markdown table here")
    args = ap.parse_args(argv)
    trials = 150 if args.quick else args.trials
    cells = default_cells()
    if args.cells:
        cells = [c for c in cells if args.cells in c.label]
    models = ["new", "old"] if args.model == "both" else [args.model]
    t0 = time.perf_counter()
    table = run_grid(cells, trials, args.seed, models)
    if args.csv:
        table.to_csv(args.csv, index=False)
    text = markdown(table) + "\n\n" + summary(table)
    if args.md:
        with open(args.md, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
    print()
    print(text)
    print(f"\n{len(table)} cell fits in {time.perf_counter() - t0:.0f} s")
    return 0


def summary(table: pd.DataFrame) -> str:
    """The grid in a few lines: worst coverage, fallbacks, refusals, cells outside 93-97%."""
    new = table[(table["model"] == "new") & (table["refused"] < 100)]
    if not len(new):
        return ""
    lines = []
    for name in ("cover_effect", "cover_reduction"):
        lo, hi = new[name].idxmin(), new[name].idxmax()
        lines.append(
            f"- {name}: {new.loc[lo, name]:.1f}% ({new.loc[lo, 'cell']}) to "
            f"{new.loc[hi, name]:.1f}% ({new.loc[hi, 'cell']})"
        )
        out = new[(new[name] < 93) | (new[name] > 97)]
        lines.append(
            f"- cells with {name} outside 93-97%: "
            + (
                ", ".join(f"{c} ({v:.1f}%)" for c, v in zip(out["cell"], out[name], strict=True))
                or "none"
            )
        )
    lines.append(
        f"- fallback to two-stage: {new['fallback'].min():.1f}% to {new['fallback'].max():.1f}% "
        f"of fits; refused: {table['refused'].max():.1f}% at most; se = 0 results: "
        f"{int(table['se_zero'].sum())}"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())

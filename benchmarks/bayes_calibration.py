"""Calibration of the Bayesian N-of-1, its stopping rule and the pooled series, by simulation.

Simulated people (synthetic) come from :mod:`soleus_analysis.validation.bayes`, a generating
model that differs from the fitted one: effects that differ between people and with meal size,
carry-over to the next meal, a level that drifts as a random walk plus a sine, carbs acting on
the log scale, skewed and heavy-tailed noise. Truth is the simulator's potential-outcome
contrast of each person's meals.

It prints and writes (``--out``, default ``benchmarks/results``) ``bayes_calibration.md``:

1. coverage of the 95% credible interval of each person's true effect (>= 1000 people a cell);
2. the reliability of ``P(reduction >= 10%)`` (of people told about 80%, how many have it);
3. what the stopping rule tells people with no effect and with a 20% effect;
4. coverage of the pooled series' 95% interval of the population mean effect (30 people a
   series).

Run: ``.venv/bin/python benchmarks/bayes_calibration.py`` (about 15-25 minutes on this 2-core
machine), ``--quick`` for a small version (a few minutes).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from tables import markdown

from soleus_analysis.stats.bayes import PRIOR, STOPPING, bayes_n_of_1, pooled_n_of_1
from soleus_analysis.validation.bayes import (
    EFFECT_BY_CARBS,
    BayesScenario,
    calibration_table,
    reliability_table,
    simulate_people,
    stopping_table,
)

CALIBRATION = [
    BayesScenario("heterogeneous 25%, 12 meals", n_meals=12),
    BayesScenario("heterogeneous 25%, 24 meals", n_meals=24),
    BayesScenario("heterogeneous 25%, 48 meals", n_meals=48),
    BayesScenario("no effect, 24 meals", n_meals=24, effect_mean_pct=0, effect_sd_log=0),
    BayesScenario("wide spread (SD 0.4), 36 meals", n_meals=36, effect_sd_log=0.4),
    BayesScenario(
        "very noisy (CV 0.6-0.9), 36 meals", n_meals=36, cv_within=(0.6, 0.9), effect_sd_log=0.3
    ),
]
RELIABILITY = [
    BayesScenario(
        "people's effects spread around 20% (SD 0.25 on the log ratio)",
        n_meals=36,
        effect_mean_pct=20,
        effect_sd_log=0.25,
    ),
    BayesScenario(
        "30% of people with no effect at all, the others around 20%",
        n_meals=36,
        effect_mean_pct=20,
        effect_sd_log=0.25,
        null_share=0.3,
    ),
]
STOPPING_SCENARIOS = [
    BayesScenario("no effect", effect_mean_pct=0, effect_sd_log=0),
    BayesScenario("20% effect", effect_mean_pct=20, effect_sd_log=0, fixed_truth=True),
    BayesScenario("35% effect", effect_mean_pct=35, effect_sd_log=0, fixed_truth=True),
]


def _mean_log_modifier(n: int = 2_000_000, seed: int = 0) -> float:
    """E[1 + 0.3 log(carbs / 60)] for carbs ~ U(20, 100): by a large Monte Carlo sample."""
    c = np.random.default_rng(seed).uniform(20, 100, n)
    return float(np.mean(1 + EFFECT_BY_CARBS * np.log(c / 60)))


def pooled_coverage(n_series: int, n_people: int, seed: int) -> pd.DataFrame:
    """Coverage of the pooled series' interval of the population mean effect."""
    sc = BayesScenario("pooled", n_meals=36, effect_mean_pct=25, effect_sd_log=0.2)
    true_mu = np.log1p(-sc.effect_mean_pct / 100) * _mean_log_modifier()
    true_pct = 100 * (1 - np.exp(true_mu))
    hits, widths = [], []
    for s in range(n_series):
        meals, _ = simulate_people(sc, n_people, seed + s)
        summ = bayes_n_of_1(meals, block="block")
        pop, _ = pooled_n_of_1(summ)
        lo = float(pop["reduction_geomean_cri95_low"].iloc[0])
        hi = float(pop["reduction_geomean_cri95_high"].iloc[0])
        hits.append(lo <= true_pct <= hi)
        widths.append(hi - lo)
    cov = float(np.mean(hits))
    return pd.DataFrame(
        [
            {
                "people_per_series": n_people,
                "series": n_series,
                "true_population_reduction_pct": true_pct,
                "coverage_pct": 100 * cov,
                "coverage_mcse_pct": 100 * np.sqrt(cov * (1 - cov) / n_series),
                "width_pp": float(np.mean(widths)),
            }
        ]
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = ap.parse_args(argv)
    n_people = 200 if args.quick else 1000
    t0 = time.perf_counter()
    cal = calibration_table(CALIBRATION, n_people=n_people, seed=1)
    print(cal.round(2).to_string(index=False), flush=True)
    rel = pd.concat(
        [
            reliability_table(sc, n_people=2 * n_people, seed=2 + i).assign(population=sc.name)
            for i, sc in enumerate(RELIABILITY)
        ],
        ignore_index=True,
    )
    print(rel.round(2).to_string(index=False), flush=True)
    stop = stopping_table(STOPPING_SCENARIOS, n_people=n_people, seed=3)
    print(stop.round(2).to_string(index=False), flush=True)
    pooled = pooled_coverage(60 if args.quick else 400, 30, seed=4)
    print(pooled.round(2).to_string(index=False), flush=True)
    elapsed = time.perf_counter() - t0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    text = [
        "# Bayesian N-of-1: calibration by simulation (synthetic people)",
        "",
        f"Generated by `benchmarks/bayes_calibration.py{' --quick' if args.quick else ''}` "
        f"in {elapsed:.0f} s. {PRIOR.describe()}. Stopping rule: {STOPPING.describe()}.",
        "",
        "## 1. Coverage of each person's true effect (95% credible interval)",
        "",
        cal.pipe(markdown),
        "",
        "## 2. Reliability of P(reduction >= 10%)",
        "",
        rel.pipe(markdown),
        "",
        "## 3. The stopping rule",
        "",
        stop.pipe(markdown),
        "",
        "## 4. Pooled series: coverage of the population mean effect",
        "",
        pooled.pipe(markdown),
        "",
    ]
    (out / "bayes_calibration.md").write_text("\n".join(text), encoding="utf-8")
    print(f"written {out / 'bayes_calibration.md'} ({elapsed:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Validate the N-of-1 analysis on simulated self-trackers (issue 6 acceptance).

Simulates ``--people`` self-trackers on the ``freeliving`` protocol with the calibrated SPU
effect and as many without any effect (``spu_gain=0``), analyses each one's noisy CGM and logged
events exactly as a self-tracker's data are analysed, and prints
(:func:`soleus_analysis.validation.nof1.summarise_nof1`, every figure computed there):

- coverage: % of people whose 95% CI holds their true N-of-1 reduction (target >= 90%), the
  truth defined by the simulator from both potential outcomes of every meal
  (:func:`soleus_analysis.simulate.person_effect`);
- false-positive rate: % of people without an effect with randomisation-test p < 0.05
  (target <= 5%), with a Wilson 95% CI.

Run: ``.venv/bin/python benchmarks/nof1_validation.py [--people 100] [--seed 0] [--csv out.csv]``
(about 3-4 s per simulated person on one core).
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from soleus_analysis.validation.nof1 import (
    COVERAGE_TARGET_PCT,
    FALSE_POSITIVE_TARGET_PCT,
    nof1_acceptance,
    summarise_nof1,
    validate_nof1,
)


def _rate(row: pd.Series, name: str, count: str) -> str:
    pct, lo, hi = row[f"{name}_pct"], row[f"{name}_ci95_low"], row[f"{name}_ci95_high"]
    return f"{pct:.1f}% (95% CI {lo:.1f}-{hi:.1f}%, {int(row[count])}/{int(row['n_people'])})"


def main(argv: list[str] | None = None) -> int:
    """Run both validations and print the acceptance table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-perm", type=int, default=2000)
    ap.add_argument("--csv", default=None, help="write the per-person table here")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    with_eff = validate_nof1(args.people, True, seed=args.seed, n_perm=args.n_perm)
    t1 = time.perf_counter()
    no_eff = validate_nof1(args.people, False, seed=args.seed + 1, n_perm=args.n_perm)
    t2 = time.perf_counter()
    both = pd.concat([with_eff, no_eff], ignore_index=True)
    if args.csv:
        both.to_csv(args.csv, index=False)
    summary = summarise_nof1(both)
    with pd.option_context("display.width", 140, "display.max_columns", 30):
        print(summary.round(2).to_string(index=False))
    by_effect = summary.set_index("effect")
    eff, null = by_effect.loc[True], by_effect.loc[False]
    print()
    print(
        f"coverage with effect   : {_rate(eff, 'coverage', 'n_covered')}  "
        f"target >= {COVERAGE_TARGET_PCT:g}%"
    )
    print(f"coverage without effect: {_rate(null, 'coverage', 'n_covered')}")
    print(f"power (p_perm < 0.05)  : {_rate(eff, 'positive', 'n_positive')}")
    print(
        f"false-positive rate    : {_rate(null, 'positive', 'n_positive')}  "
        f"target <= {FALSE_POSITIVE_TARGET_PCT:g}%"
    )
    print(f"time: {t1 - t0:.0f} s with effect, {t2 - t1:.0f} s without")
    print("ACCEPTANCE:", "met" if nof1_acceptance(summary) else "NOT met")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Validate the N-of-1 analysis on simulated self-trackers (issue 6 acceptance).

Simulates ``--people`` self-trackers on the ``freeliving`` protocol with the calibrated SPU
effect and as many without any effect (``spu_gain=0``), analyses each one's noisy CGM and logged
events exactly as a self-tracker's data are analysed, and prints:

- coverage: % of people whose 95% CI holds their true N-of-1 reduction (target >= 90%);
- false-positive rate: % of people without an effect with randomisation-test p < 0.05
  (target <= 5%), with an exact binomial 95% CI.

Run: ``.venv/bin/python benchmarks/nof1_validation.py [--people 100] [--seed 0] [--csv out.csv]``
(about 3-4 s per simulated person on one core).
"""

from __future__ import annotations

import argparse
import time

import pandas as pd
from scipy import stats

from soleus_analysis.validation.nof1 import summarise_nof1, validate_nof1


def _binom(k: int, n: int) -> str:
    ci = stats.binomtest(k, n).proportion_ci(method="exact")
    return f"{100 * k / n:.1f}% (95% CI {100 * ci.low:.1f}-{100 * ci.high:.1f}%, {k}/{n})"


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
    with pd.option_context("display.width", 140, "display.max_columns", 20):
        print(summary.round(2).to_string(index=False))
    cov = int(with_eff["covered"].sum())
    fp = int(no_eff["significant"].sum())
    cov_null = int(no_eff["covered"].sum())
    print()
    print(f"coverage with effect   : {_binom(cov, len(with_eff))}  target >= 90%")
    print(f"coverage without effect: {_binom(cov_null, len(no_eff))}")
    print(f"power (p_perm < 0.05)  : {_binom(int(with_eff['significant'].sum()), len(with_eff))}")
    print(f"false-positive rate    : {_binom(fp, len(no_eff))}  target <= 5%")
    print(f"time: {t1 - t0:.0f} s with effect, {t2 - t1:.0f} s without")
    ok = cov >= 0.9 * len(with_eff) and fp <= 0.05 * len(no_eff)
    print("ACCEPTANCE:", "met" if ok else "NOT met")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

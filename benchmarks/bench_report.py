"""Time the self-tracker report on a one-year export: ``python benchmarks/bench_report.py``.

Writes a synthetic one-year Dexcom Clarity export (5-minute readings) and an activity log with
1,000 meals and SPU bouts into a temporary folder, then times what ``soleus report`` does:
read both files, analyse, and write the PDF. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench_responses import person_year

from soleus_analysis.core.schema import conform_events
from soleus_analysis.io import read_person
from soleus_analysis.pipeline import analyze_person
from soleus_analysis.report import write_person_report
from soleus_analysis.simulate.writers import write_activity_log, write_dexcom_clarity


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    readings, events = person_year(seed=0, n_meals=1000, days=365)
    with tempfile.TemporaryDirectory() as tmp:
        cgm = write_dexcom_clarity(readings, None, Path(tmp) / "synthetic_year_dexcom.csv")
        log = write_activity_log(conform_events(events), Path(tmp) / "synthetic_year_activity.csv")
        phases: dict[str, list[float]] = {"read": [], "analyse": [], "pdf": [], "total": []}
        for i in range(args.repeats):
            t0 = time.perf_counter()
            rec = read_person((str(cgm),), (str(log),), "p01")
            t1 = time.perf_counter()
            a = analyze_person(rec)
            t2 = time.perf_counter()
            write_person_report(a, Path(tmp) / f"report_{i}.pdf")
            t3 = time.perf_counter()
            for k, v in zip(phases, (t1 - t0, t2 - t1, t3 - t2, t3 - t0), strict=True):
                phases[k].append(v)
    print(
        f"one-year export: {len(readings)} readings, {int((events['kind'] == 'meal').sum())} meals"
    )
    print(f"{'phase':<10}{'median s':>10}{'min s':>10}")
    for k, v in phases.items():
        print(f"{k:<10}{statistics.median(v):>10.2f}{min(v):>10.2f}")
    print("target: total under 10 s")


if __name__ == "__main__":
    main()

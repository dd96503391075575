"""Run every speed benchmark and print its table: ``make bench`` (or ``python benchmarks/run_all.py``).

Each script generates its own synthetic data. The long validation studies
(``validation_full.py``, ``nof1_validation.py``, ``crossover_grid.py``) are not speed benchmarks and are run on their own.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = (
    ("bench_readers.py", ["--apple-mb", "200"]),
    ("bench_responses.py", []),
    ("bench_metrics.py", ["--no-iglu"]),
    ("bench_report.py", []),
    ("bench_simulate.py", []),
    ("bench_cohort.py", ["--sizes", "10", "100", "1000"]),
    ("bench_startup.py", []),
)


def main() -> int:
    status = 0
    for name, args in SCRIPTS:
        print(f"\n=== {name} {' '.join(args)}", flush=True)
        status |= subprocess.call([sys.executable, str(HERE / name), *args], cwd=HERE)
    return status


if __name__ == "__main__":
    sys.exit(main())

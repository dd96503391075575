"""Run every speed benchmark and print one table of their figures: ``make bench`` (or
``python benchmarks/run_all.py``).

Each script generates its own synthetic data and prints its own detailed table; every figure
with a target or a peer is also recorded (``tables.record``) and, at the end, printed here as
one table, written to ``results/summary.md`` and, with ``--update-readme`` (what ``make
bench`` passes), into the README's speed table between its markers. ``--quick`` runs smaller
sizes (a smoke run: its figures are not the issue's sizes). The long validation studies
(``validation_full.py``, ``nof1_validation.py``, ``crossover_grid.py``, ``mixed_grid.py``,
``bayes_calibration.py``) are not speed benchmarks and are run on their own.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from tables import SUMMARY_ENV, read_records, replace_between, summary_markdown  # noqa: E402

README = HERE.parent / "README.md"
SUMMARY = HERE / "results" / "summary.md"
MARKERS = ("<!-- bench-summary:start -->", "<!-- bench-summary:end -->")

#: (script, arguments of a full run, arguments of ``--quick``)
SCRIPTS: tuple[tuple[str, list[str], list[str]], ...] = (
    ("bench_readers.py", ["--skip-apple"], ["--floors-only"]),
    ("bench_apple.py", ["--mb", "1000", "--rounds", "1"], ["--mb", "50", "--rounds", "1"]),
    ("bench_responses.py", [], ["--rounds", "5"]),
    ("bench_metrics.py", [], ["--no-iglu"]),
    ("bench_report.py", [], ["--repeats", "1", "--meals", "300", "--days", "90", "--people", "5"]),
    ("bench_simulate.py", [], []),
    ("bench_cohort.py", ["--sizes", "10", "100", "1000"], ["--sizes", "10", "100"]),
    ("bench_startup.py", [], ["--rounds", "3"]),
)


def machine() -> str:
    """One line on where and when the figures were measured."""
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{dt.date.today().isoformat()}, {os.cpu_count()} cores, load average {load} at the end, "
        f"Python {sys.version.split()[0]}"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    ap.add_argument("--only", nargs="+", help="run only these scripts (e.g. bench_report.py)")
    ap.add_argument(
        "--update-readme", action="store_true", help="write the table into README.md's speed table"
    )
    args = ap.parse_args(argv)
    status = 0
    with tempfile.TemporaryDirectory(prefix="soleus_bench_all_") as d:
        log = Path(d) / "summary.jsonl"
        env = {**os.environ, SUMMARY_ENV: str(log)}
        for name, full, quick in SCRIPTS:
            if args.only and name not in args.only:
                continue
            script_args = quick if args.quick else full
            print(f"\n=== {name} {' '.join(script_args)}", flush=True)
            status |= subprocess.call(
                [sys.executable, str(HERE / name), *script_args], cwd=HERE, env=env
            )
        frame = read_records(log)
    table = summary_markdown(frame)
    note = f"Measured {machine()}" + (" (--quick: smaller sizes)" if args.quick else "") + "."
    print("\n=== summary: every figure with a target or a peer\n")
    print(table)
    print(note)
    if args.only:
        return status
    SUMMARY.write_text("# make bench: summary\n\n" + note + "\n\n" + table + "\n", encoding="utf-8")
    if args.update_readme and not args.quick:
        text = README.read_text(encoding="utf-8")
        body = table + "\n\n" + note
        README.write_text(replace_between(text, *MARKERS, body), encoding="utf-8")
        print(f"README.md speed table updated; the table is also in {SUMMARY.relative_to(HERE)}")
    return status


if __name__ == "__main__":
    sys.exit(main())

"""``make demo``: the main job on the bundled (synthetic) data, written to ``reports/``.

Reads the bundled free-living self-tracker export and activity log, prints what the readers
found, and writes the self-tracker report; then analyses the bundled 2022-protocol cohort and
writes the cohort report. All bundled data are synthetic, and the reports say so.
``python -m soleus_analysis.app.demo --out FOLDER`` writes the two PDFs into FOLDER instead
(``make examples`` regenerates the committed examples in ``docs/examples/`` that way).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..io import read_person
from ..pipeline import analyze_person
from ..report import write_cohort_report, write_person_report
from ..report.text import pooled_sentence
from .runner import read_manifest, run_cohort

ROOT = Path(__file__).resolve().parents[2]


def main(data_dir: Path = ROOT / "data", out_dir: Path = ROOT / "reports") -> int:
    """Run the demo; return a process exit code."""
    t0 = time.perf_counter()
    person_files = read_manifest(data_dir / "freeliving" / "manifest.csv").iloc[0]
    rec = read_person(
        tuple(person_files["cgm"]), tuple(person_files["events"]), person_files["subject"]
    )
    print("Bundled self-tracker example (SYNTHETIC data):")
    print(rec.summary())
    person = analyze_person(rec)
    m = person.metrics.iloc[0]
    print(
        f"\n{m['days']:.1f} days: mean {m['mean_mgdl']:.0f} mg/dL, GMI {m['gmi_pct']:.1f}%, "
        f"TIR {m['tir_pct']:.1f}%, CV {m['cv_pct']:.1f}%"
    )
    print(person.verdict)
    p1 = write_person_report(person, out_dir / "self_tracker_report_synthetic.pdf")
    print(f"wrote {p1.relative_to(ROOT) if p1.is_relative_to(ROOT) else p1}")

    cohort_dir = data_dir / "hamilton2022"
    # the study folder's rules.json holds the 2022 protocol's rules (a 3-h window)
    res = run_cohort(cohort_dir, progress=False, workers=1)
    title = "Hamilton 2022 protocol, synthetic cohort"
    p2 = write_cohort_report(res, out_dir / "cohort_report_hamilton2022_synthetic.pdf", title=title)
    for _, p in res.pooled.iterrows():
        print(f"cohort, {pooled_sentence(p)}")
    print(f"rules: {res.rules.describe()}")
    print(f"wrote {p2.relative_to(ROOT) if p2.is_relative_to(ROOT) else p2}")
    print(f"demo done in {time.perf_counter() - t0:.1f} s")
    return 0


def _cli(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m soleus_analysis.app.demo", description="Analyse the bundled synthetic data."
    )
    ap.add_argument(
        "--out",
        type=Path,
        default=ROOT / "reports",
        help="folder to write the two PDFs into (default: reports/)",
    )
    return main(out_dir=ap.parse_args(argv).out.resolve())


if __name__ == "__main__":
    sys.exit(_cli())

"""Time the PDF reports against a floor measured in the same run: ``python benchmarks/bench_report.py``.

Two reports, both on synthetic data written into a temporary folder and read back as
``soleus report`` and ``soleus cohort`` read them:

- the self-tracker's: a one-year Dexcom Clarity export (5-minute readings) and an activity log
  with 1,000 meals and SPU bouts (read, analysed, then the PDF written);
- the cohort's: 25 simulated free-living self-trackers (14 days each, a Dexcom G7 export and an
  activity log each) through :func:`soleus_analysis.app.runner.run_cohort`, then the PDF.

The floor is matplotlib writing the same number of empty pages of the same paper size to one
PDF (``PdfPages``): what any PDF of that many pages costs. Rounds are interleaved (person PDF,
cohort PDF, both floors) and the medians printed, as wall time and as the process's CPU time
(``time.process_time``: on a loaded machine wall time also holds the waits for a core). One
more, untimed pass counts what the PDF backend drew: text objects (``Text.draw``), text runs
handed to the backend (``draw_text``) and glyphs laid out one by one (matplotlib's
``_text_helpers.layout``). A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench_responses import person_year
from tables import record

from soleus_analysis.core.schema import conform_events
from soleus_analysis.io import read_person
from soleus_analysis.pipeline import analyze_person

#: the targets of issue 14 (wall seconds of writing the PDF)
TARGETS = {"person": 2.5, "cohort": 3.0}


def _timed(fn: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU seconds of one call."""
    w, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w, time.process_time() - c


def floor_pdf(path: Path, pages: int, paper: str = "a4") -> None:
    """Write ``pages`` empty pages of ``paper`` to one PDF with matplotlib: the floor."""
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    from soleus_analysis.report.pdf import PAPER

    with PdfPages(path) as pdf:
        for _ in range(pages):
            pdf.savefig(Figure(figsize=PAPER[paper]))


@contextlib.contextmanager
def counting() -> Iterator[dict[str, int]]:
    """Count text objects drawn, text runs handed to the PDF backend and glyphs laid out."""
    from matplotlib import _text_helpers, text
    from matplotlib.backends import backend_pdf

    counts = {"texts": 0, "text runs": 0, "glyphs laid out": 0}
    saved = (text.Text.draw, backend_pdf.RendererPdf.draw_text, _text_helpers.layout)

    def draw(self: Any, renderer: Any) -> None:
        counts["texts"] += 1
        return saved[0](self, renderer)

    def draw_text(self: Any, *args: Any, **kw: Any) -> None:
        counts["text runs"] += 1
        return saved[1](self, *args, **kw)

    def layout(*args: Any, **kw: Any) -> Iterator[Any]:
        for item in saved[2](*args, **kw):
            counts["glyphs laid out"] += 1
            yield item

    text.Text.draw, backend_pdf.RendererPdf.draw_text, _text_helpers.layout = (
        draw,
        draw_text,
        layout,
    )
    try:
        yield counts
    finally:
        text.Text.draw, backend_pdf.RendererPdf.draw_text, _text_helpers.layout = saved


def _person(tmp: Path, n_meals: int, days: int) -> Any:
    from soleus_analysis.simulate.writers import write_activity_log, write_dexcom_clarity

    readings, events = person_year(seed=0, n_meals=n_meals, days=days)
    cgm = write_dexcom_clarity(readings, None, tmp / "synthetic_year_dexcom.csv")
    log = write_activity_log(conform_events(events), tmp / "synthetic_year_activity.csv")
    t0 = time.perf_counter()
    rec = read_person((str(cgm),), (str(log),), "p01")
    t1 = time.perf_counter()
    a = analyze_person(rec)
    t2 = time.perf_counter()
    n = int((events["kind"] == "meal").sum())
    print(
        f"self-tracker: {len(readings)} readings, {n} meals; read {t1 - t0:.2f} s, "
        f"analysed {t2 - t1:.2f} s"
    )
    return a


def _cohort(tmp: Path, n: int) -> Any:
    from soleus_analysis.app.runner import run_cohort
    from soleus_analysis.simulate import simulate_study, write_study

    folder = tmp / "cohort"
    write_study(simulate_study("freeliving", n=n, seed=1), folder)
    t0 = time.perf_counter()
    a = run_cohort(folder, workers=1, progress=False)
    print(
        f"cohort: {len(a.people)} people, {len(a.meals)} meals; read and analysed "
        f"{time.perf_counter() - t0:.2f} s"
    )
    return a


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3, help="interleaved rounds (medians)")
    ap.add_argument("--meals", type=int, default=1000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--people", type=int, default=25)
    args = ap.parse_args()

    t = time.perf_counter()
    from soleus_analysis.report import pdf

    print(f"import soleus_analysis.report: {time.perf_counter() - t:.2f} s")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        person = _person(tmp, args.meals, args.days)
        cohort = _cohort(tmp, args.people)
        pages = {
            "person": pdf.person_report_pages(person),
            "cohort": pdf.cohort_report_pages(cohort),
        }
        runs = {
            "person": lambda: pdf.write_person_report(person, tmp / "person.pdf"),
            "cohort": lambda: pdf.write_cohort_report(cohort, tmp / "cohort.pdf"),
            "person floor": lambda: floor_pdf(tmp / "floor_p.pdf", pages["person"]),
            "cohort floor": lambda: floor_pdf(tmp / "floor_c.pdf", pages["cohort"]),
        }
        times: dict[str, list[tuple[float, float]]] = {k: [] for k in runs}
        for _ in range(args.repeats):
            for k, run in runs.items():
                times[k].append(_timed(run))
        counts = {}
        for k in ("person", "cohort"):
            with counting() as c:
                runs[k]()
            counts[k] = dict(c)
    med = {k: [statistics.median(x[i] for x in v) for i in (0, 1)] for k, v in times.items()}
    print(
        f"\n{'PDF':<8}{'pages':>6}{'wall s':>8}{'CPU s':>7}{'floor wall':>11}{'floor CPU':>10}"
        f"{'ratio CPU':>10}{'texts':>7}{'text runs':>10}{'glyphs laid out':>16}{'target':>8}"
    )
    for k in ("person", "cohort"):
        (w, c), (fw, fc), n = med[k], med[f"{k} floor"], counts[k]
        print(
            f"{k:<8}{pages[k]:>6}{w:>8.2f}{c:>7.2f}{fw:>11.2f}{fc:>10.2f}{c / fc:>9.1f}x"
            f"{n['texts']:>7}{n['text runs']:>10}{n['glyphs laid out']:>16}"
            f"{'< ' + format(TARGETS[k], 'g') + ' s':>8}"
        )
        record(
            "bench_report.py",
            f"{k} PDF ({pages[k]} pages): CPU s (wall s)",
            f"{c:.2f} s ({w:.2f} s)",
            f"{pages[k]} empty pages {fc:.2f} s CPU",
            c / fc,
            f"< {TARGETS[k]:g} s",
            w < TARGETS[k],  # the targets are wall seconds
        )
    print(f"medians of {args.repeats} interleaved rounds; targets are wall seconds of the PDF")


if __name__ == "__main__":
    main()

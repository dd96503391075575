"""Draw the README's page images (pages 1 and 2 of the bundled synthetic self-tracker's report).

``python docs/make_page_images.py`` writes ``docs/img/self_tracker_page1.png`` and
``docs/img/self_tracker_page2.png`` from the same person and pages as ``make demo``'s PDF
(``report.person_report_figures``), at 60 dots per inch.
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from soleus_analysis.app.runner import read_manifest
from soleus_analysis.io import read_person
from soleus_analysis.pipeline import analyze_person
from soleus_analysis.report.pdf import person_report_figures

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "img"
DPI = 60


def main() -> None:
    """Write the two page images."""
    person = read_manifest(ROOT / "data" / "freeliving" / "manifest.csv").iloc[0]
    rec = read_person(tuple(person["cgm"]), tuple(person["events"]), person["subject"])
    figs: list[Figure] = person_report_figures(analyze_person(rec))
    OUT.mkdir(parents=True, exist_ok=True)
    for i, fig in enumerate(figs[:2], start=1):
        path = OUT / f"self_tracker_page{i}.png"
        fig.savefig(path, dpi=DPI, metadata={"Software": None})
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

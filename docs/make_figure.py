"""Draw the README figure from the bundled synthetic self-tracker: ``python docs/make_figure.py``."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from soleus_analysis import plots
from soleus_analysis.app.runner import read_manifest
from soleus_analysis.io import read_person
from soleus_analysis.pipeline import analyze_person

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    person = read_manifest(ROOT / "data" / "freeliving" / "manifest.csv").iloc[0]
    rec = read_person(tuple(person["cgm"]), tuple(person["events"]), person["subject"])
    a = analyze_person(rec)
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(9, 3.4), width_ratios=(2.2, 1), layout="constrained"
    )
    plots.plot_meal_curves(a.curves, ax=left, title="Glucose after meals")
    plots.plot_meal_dots(a.meals, ax=right)
    fig.suptitle(
        "Synthetic self-tracker, 14 days, 42 meals (simulated data): " + a.verdict,
        fontsize=9,
        x=0.01,
        ha="left",
    )
    fig.savefig(ROOT / "docs" / "figure.png", dpi=110)


if __name__ == "__main__":
    main()

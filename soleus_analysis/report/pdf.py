"""Lay out report pages with matplotlib (vector figures, embedded TrueType fonts, selectable text)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from .. import __version__, plots
from ..pipeline import CohortAnalysis, PersonAnalysis
from ..recording import Provenance

PAPER = {"a4": (8.27, 11.69), "letter": (8.5, 11.0)}
MEALS_PER_PAGE = 38


@contextmanager
def _atomic_pdf(path: str | os.PathLike, title: str) -> Iterator[PdfPages]:
    """PdfPages writing to a temporary file renamed into place only when complete."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".pdf.tmp", dir=path.parent)
    os.close(fd)
    try:
        with PdfPages(
            tmp, metadata={"Title": title, "Creator": f"soleus_analysis {__version__}"}
        ) as pdf:
            yield pdf
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _page(paper: str) -> Figure:
    return plt.figure(figsize=PAPER[paper])


def _footer(fig: Figure, sources: list[Provenance], synthetic: bool, page: int) -> None:
    lines = []
    for p in sources[:4]:
        dropped = sum(p.rows_dropped.values())
        lines.append(
            f"{Path(p.path).name} ({p.format}): rows read {p.rows_read}, kept {p.rows_kept}, dropped {dropped}"
        )
    if len(sources) > 4:
        tot = [sum(getattr(p, a) for p in sources) for a in ("rows_read", "rows_kept")]
        lines.append(
            f"... and {len(sources) - 4} more files; all files: rows read {tot[0]}, kept {tot[1]}"
        )
    tail = f"soleus_analysis {__version__} · page {page}"
    if synthetic:
        tail = "SYNTHETIC DATA (simulated, not a real person) · " + tail
    lines.append(tail)
    fig.text(
        0.06,
        0.012,
        "\n".join(lines),
        fontsize=6,
        color="#444444",
        va="bottom",
        family="DejaVu Sans",
    )


def _fmt(x: float, nd: int = 0, suffix: str = "") -> str:
    return (
        "–" if x is None or (isinstance(x, float) and not np.isfinite(x)) else f"{x:.{nd}f}{suffix}"
    )


def _summary_text(a: PersonAnalysis) -> list[tuple[str, str]]:
    m = a.metrics.iloc[0]
    r = a.readings
    return [
        (
            "Period",
            f"{r['time'].min():%d %b %Y} – {r['time'].max():%d %b %Y} ({_fmt(m['days'], 1)} days)",
        ),
        ("CGM active", _fmt(m["coverage_pct"], 0, "% of expected readings")),
        ("Mean glucose", _fmt(m["mean_mgdl"], 0, " mg/dL")),
        ("GMI", _fmt(m["gmi_pct"], 1, "%")),
        ("Variability (CV)", _fmt(m["cv_pct"], 1, "%") + "  (target ≤ 36%)"),
        ("Time in range 70–180", _fmt(m["tir_pct"], 1, "%") + "  (target > 70%)"),
        ("Time in tight range 70–140", _fmt(m["titr_pct"], 1, "%")),
        (
            "Below 70 / below 54",
            f"{_fmt(m['tbr_70_pct'], 1, '%')} / {_fmt(m['tbr_54_pct'], 1, '%')}",
        ),
        ("GRI", _fmt(m["gri"], 0)),
    ]


def _sufficiency(a: PersonAnalysis) -> str:
    m = a.metrics.iloc[0]
    ok = m["days"] >= 14 and m["coverage_pct"] >= 70
    return (
        "Data sufficiency: meets the consensus (≥ 14 days, ≥ 70% of readings)."
        if ok
        else "Data sufficiency: below the consensus of ≥ 14 days with ≥ 70% of readings; read with care."
    )


def _page_summary(a: PersonAnalysis, paper: str, page: int) -> Figure:
    fig = _page(paper)
    fig.text(0.06, 0.955, "Glucose summary", fontsize=18, weight="bold")
    fig.text(0.06, 0.935, f"Person: {a.subject}", fontsize=9, color="#444444")
    agp_ax = fig.add_axes((0.09, 0.60, 0.86, 0.29))
    plots.plot_agp(a.agp, ax=agp_ax, title="Ambulatory glucose profile (AGP)")
    tir_ax = fig.add_axes((0.09, 0.13, 0.16, 0.38))
    plots.plot_tir(a.metrics.iloc[0], ax=tir_ax)
    y = 0.50
    for k, v in _summary_text(a):
        fig.text(0.56, y, k, fontsize=9.5, color="#333333")
        fig.text(0.80, y, v.split("  ")[0], fontsize=9.5, weight="bold")
        y -= 0.028
    fig.text(0.56, y - 0.01, _sufficiency(a), fontsize=8, wrap=True, color="#333333")
    _footer(fig, a.sources, a.synthetic, page)
    return fig


def _effect_lines(a: PersonAnalysis) -> list[str]:
    lines = [a.verdict]
    if a.effect is not None and len(a.effect):
        e = a.effect.iloc[0]
        lines.append(
            f"Estimated reduction in post-meal glucose rise (iAUC): {e['reduction_pct']:.0f}% "
            f"(95% CI {e['ci95_low']:.0f}% to {e['ci95_high']:.0f}%), randomisation test p = {e['p_permutation']:.3f}; "
            f"{int(e['n_spu'])} meals with SPU, {int(e['n_control'])} without."
        )
    rules = a.rules
    lines.append(
        f"Window {rules.get('window', (0, 120))} min after each meal; baseline '{rules.get('baseline', 'premeal')}'; "
        "a meal counts as SPU when soleus pushups overlap the span around it."
    )
    return lines


def _page_experiment(a: PersonAnalysis, paper: str, page: int) -> Figure:
    fig = _page(paper)
    fig.text(0.06, 0.955, "Soleus pushups and your meals", fontsize=18, weight="bold")
    y = 0.925
    for line in _effect_lines(a):
        fig.text(0.06, y, line, fontsize=9, wrap=True)
        y -= 0.03
    plots.plot_meal_curves(a.curves, ax=fig.add_axes((0.09, 0.50, 0.50, 0.30)))
    plots.plot_meal_dots(a.meals, ax=fig.add_axes((0.68, 0.50, 0.28, 0.30)))
    if a.dose is not None and len(a.dose):
        plots.plot_dose_response(
            a.meals[a.meals["condition"] == "spu"],
            slope=a.dose.iloc[0],
            ax=fig.add_axes((0.09, 0.12, 0.40, 0.28)),
        )
        d = a.dose.iloc[0]
        fig.text(
            0.56,
            0.30,
            f"Dose-response: {d.get('slope_per_10min', np.nan):+.0f} mg/dL·min per 10 SPU minutes\n"
            f"(95% CI {d.get('ci95_low', np.nan):+.0f} to {d.get('ci95_high', np.nan):+.0f}).",
            fontsize=9,
        )
    else:
        fig.text(
            0.09,
            0.35,
            "Dose-response: not enough SPU meals with different durations yet.",
            fontsize=9,
        )
    _footer(fig, a.sources, a.synthetic, page)
    return fig


def _page_days(a: PersonAnalysis, paper: str, page: int) -> Figure:
    fig = _page(paper)
    fig.text(0.06, 0.955, "Daily glucose", fontsize=18, weight="bold")
    note = (
        "No meal log was given, so post-meal responses cannot be measured yet. To test soleus pushups,\n"
        "log each meal and each SPU bout: `soleus plan --meals 40 -o schedule.csv` draws a fair schedule,\n"
        "or keep the activity log described in the README (start, duration_min, kind = meal or spu)."
        if a.meals.empty
        else f"{len(a.meals)} meals found; triangles mark meals, green bars SPU bouts."
    )
    fig.text(0.06, 0.90, note, fontsize=9, va="top")
    sub = fig.subfigures(1, 1)
    sub.subplots_adjust(left=0.08, right=0.96, bottom=0.08, top=0.84, hspace=0.6)
    plots.plot_day(a.readings, a.events, fig=sub, max_days=14)
    _footer(fig, a.sources, a.synthetic, page)
    return fig


def _meal_table_pages(a: PersonAnalysis, paper: str, first_page: int) -> list[Figure]:
    cols = [
        ("meal_time", "time", lambda v: f"{v:%Y-%m-%d %H:%M}"),
        ("carbs_g", "carbs g", lambda v: _fmt(v, 0)),
        ("condition", "condition", str),
        ("spu_minutes", "SPU min", lambda v: _fmt(v, 0)),
        ("baseline_mgdl", "baseline", lambda v: _fmt(v, 0)),
        ("peak_mgdl", "peak", lambda v: _fmt(v, 0)),
        ("iauc_mgdl_min", "iAUC", lambda v: _fmt(v, 0)),
        (
            "excluded_reason",
            "excluded because",
            lambda v: "" if v is None or v != v else str(v)[:38],
        ),
    ]
    meals = a.meals.sort_values("meal_time")
    figs = []
    for i, start in enumerate(range(0, max(len(meals), 1), MEALS_PER_PAGE)):
        chunk = meals.iloc[start : start + MEALS_PER_PAGE]
        fig = _page(paper)
        fig.text(0.06, 0.955, "Meals" + (" (continued)" if i else ""), fontsize=18, weight="bold")
        fig.text(
            0.06, 0.93, "iAUC in mg/dL·min over the window; baseline and peak in mg/dL.", fontsize=8
        )
        ax = fig.add_axes((0.05, 0.08, 0.90, 0.83))
        ax.axis("off")
        cells = [[fmt(r[c]) if c in r else "" for c, _, fmt in cols] for _, r in chunk.iterrows()]
        if cells:
            t = ax.table(
                cellText=cells,
                colLabels=[h for _, h, _ in cols],
                loc="upper center",
                cellLoc="left",
                colWidths=[0.17, 0.07, 0.09, 0.08, 0.08, 0.07, 0.08, 0.36],
            )
            t.auto_set_font_size(False)
            t.set_fontsize(7)
            t.scale(1, 1.15)
        _footer(fig, a.sources, a.synthetic, first_page + i)
        figs.append(fig)
    return figs


def write_person_report(
    analysis: PersonAnalysis, path: str | os.PathLike, *, paper: str = "a4"
) -> Path:
    """Write the self-tracker's PDF report.

    Page 1 is the standard AGP summary; page 2 the SPU experiment (or, without a meal log,
    daily profiles and how to log meals); then daily panels and the meal table. Personal data
    from export preambles is never printed.

    Parameters
    ----------
    analysis : PersonAnalysis
        From :func:`soleus_analysis.pipeline.analyze_person`.
    path : path
        Output PDF; written to a temporary name and renamed when complete.
    paper : {"a4", "letter"}
    """
    if paper not in PAPER:
        raise ValueError(f"paper must be one of {sorted(PAPER)}")
    figs = [_page_summary(analysis, paper, 1)]
    has_meals = (
        not analysis.meals.empty and analysis.curves is not None and not analysis.curves.empty
    )
    if has_meals:
        figs.append(_page_experiment(analysis, paper, 2))
    figs.append(_page_days(analysis, paper, len(figs) + 1))
    if not analysis.meals.empty:
        figs.extend(_meal_table_pages(analysis, paper, len(figs) + 1))
    with _atomic_pdf(path, f"soleus_analysis report: {analysis.subject}") as pdf:
        for f in figs:
            pdf.savefig(f)
            plt.close(f)
    return Path(path)


def write_cohort_report(
    analysis: CohortAnalysis,
    path: str | os.PathLike,
    *,
    paper: str = "a4",
    title: str = "Cohort report",
) -> Path:
    """Write the cohort PDF: forest plot of per-person reductions with the pooled estimate, mean
    curves by condition, the table of people with data coverage, and the provenance footer."""
    if paper not in PAPER:
        raise ValueError(f"paper must be one of {sorted(PAPER)}")
    figs = []
    fig = _page(paper)
    fig.text(0.06, 0.955, title, fontsize=18, weight="bold")
    pooled = analysis.pooled.iloc[0] if len(analysis.pooled) else None
    y = 0.925
    if pooled is not None:
        fig.text(
            0.06,
            y,
            f"Pooled reduction in glucose iAUC with SPU ({pooled['method']}): {pooled['reduction_pct']:.1f}% "
            f"(95% CI {pooled['ci95_low']:.1f}% to {pooled['ci95_high']:.1f}%), p = {pooled['p']:.3g}; "
            f"{len(analysis.people)} people.",
            fontsize=9.5,
        )
        y -= 0.025
        for _, extra in analysis.pooled.iloc[1:].iterrows():
            fig.text(
                0.06,
                y,
                f"{extra['method']}: {extra['reduction_pct']:.1f}% (95% CI {extra['ci95_low']:.1f}% to "
                f"{extra['ci95_high']:.1f}%), p = {extra['p']:.3g}",
                fontsize=8.5,
            )
            y -= 0.022
    if len(analysis.failed):
        fig.text(
            0.06,
            y,
            f"{len(analysis.failed)} people skipped (files unreadable): see the last page.",
            fontsize=8.5,
            color="#a00000",
        )
    plots.plot_meal_curves(analysis.curves, band="sem", ax=fig.add_axes((0.09, 0.50, 0.84, 0.30)))
    forest_people = analysis.people.head(40)
    plots.plot_forest(forest_people, pooled=pooled, ax=fig.add_axes((0.16, 0.08, 0.77, 0.34)))
    _footer(fig, analysis.sources, analysis.synthetic, 1)
    figs.append(fig)
    # table of people
    cols = [
        c
        for c in (
            "subject",
            "n_control",
            "n_spu",
            "coverage_pct",
            "reduction_pct",
            "ci95_low",
            "ci95_high",
        )
        if c in analysis.people
    ]
    for i, start in enumerate(range(0, len(analysis.people), MEALS_PER_PAGE)):
        chunk = analysis.people.iloc[start : start + MEALS_PER_PAGE]
        fig = _page(paper)
        fig.text(0.06, 0.955, "People" + (" (continued)" if i else ""), fontsize=18, weight="bold")
        ax = fig.add_axes((0.05, 0.08, 0.90, 0.85))
        ax.axis("off")
        cells = [
            [str(r[c]) if not isinstance(r[c], float) else _fmt(r[c], 1) for c in cols]
            for _, r in chunk.iterrows()
        ]
        t = ax.table(cellText=cells, colLabels=cols, loc="upper center", cellLoc="left")
        t.auto_set_font_size(False)
        t.set_fontsize(7.5)
        _footer(fig, analysis.sources, analysis.synthetic, len(figs) + 1)
        figs.append(fig)
    if len(analysis.failed):
        fig = _page(paper)
        fig.text(0.06, 0.955, "People skipped", fontsize=18, weight="bold")
        y = 0.92
        for _, r in analysis.failed.iterrows():
            fig.text(0.06, y, f"{r['subject']}: {str(r['error'])[:140]}", fontsize=8)
            y -= 0.02
        _footer(fig, analysis.sources, analysis.synthetic, len(figs) + 1)
        figs.append(fig)
    with _atomic_pdf(path, title) as pdf:
        for f in figs:
            pdf.savefig(f)
            plt.close(f)
    return Path(path)

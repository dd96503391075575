"""Lay out report pages with matplotlib (vector figures, embedded TrueType fonts, selectable text).

Every page has the same frame: a title at the top, content between :data:`CONTENT_BOTTOM` and the
title, and a provenance footer below a rule (source files and formats, rows read/kept/dropped,
toolkit version, page number and "SYNTHETIC DATA" when it is). Nothing from
:attr:`soleus_analysis.core.recording.Provenance.metadata` (names, dates of birth, serials) is printed.
"""

from __future__ import annotations

import math
import os
import textwrap
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .. import __version__, plots
from ..core.outputs import atomic_target
from ..core.recording import Provenance
from ..core.schema import MGDL_PER_MMOL
from ..insulin import PROXY_CAVEAT
from ..pipeline import COHORT_ESTIMAND, PERSON_ESTIMAND, CohortAnalysis, PersonAnalysis
from ..stats import estimate_of
from ..stats.models import DOSE_MIN_SD_MIN
from .text import pooled_sentence

#: page sizes in inches
PAPER = {"a4": (8.27, 11.69), "letter": (8.5, 11.0)}
#: rows of the meal table on one page, and the most meal-table pages printed
MEALS_PER_PAGE = 48
MAX_TABLE_PAGES = 10
#: rows of the cohort's people table on one page; people drawn in the forest plot
PEOPLE_PER_PAGE = 48
FOREST_MAX = 40
#: figure fraction below which only the footer is drawn
CONTENT_BOTTOM = 0.10
#: source files listed one by one in the footer before they are summed up
FOOTER_FILES = 3
LEFT = 0.07
SYNTHETIC_NOTE = "SYNTHETIC DATA (simulated, not a real person)"


# ------------------------------------------------------------------------------------------
# page frame
# ------------------------------------------------------------------------------------------


@contextmanager
def _atomic_pdf(path: str | os.PathLike, title: str) -> Iterator[PdfPages]:
    """PdfPages writing to a temporary file renamed into place only when complete."""
    with (
        atomic_target(path, "PDF") as tmp,
        PdfPages(
            tmp, metadata={"Title": title, "Creator": f"soleus_analysis {__version__}"}
        ) as pdf,
    ):
        yield pdf


def _page(paper: str, title: str, subtitle: str = "") -> Figure:
    fig = plt.figure(figsize=PAPER[paper])
    size = 17 if len(title) <= 45 else max(11, 17 * 45 / len(title))  # long titles shrink to fit
    fig.text(LEFT, 0.955, title, fontsize=size, weight="bold", va="baseline")
    if subtitle:
        fig.text(LEFT, 0.935, subtitle, fontsize=8.5, color="#444444", va="baseline")
    return fig


def _line_height(fig: Figure, fontsize: float) -> float:
    """Height of one text line in figure fraction."""
    return fontsize * 1.3 / 72.0 / fig.get_figheight()


def _chars(fig: Figure, width: float, fontsize: float) -> int:
    """Characters of DejaVu Sans at ``fontsize`` that fit in ``width`` (figure fraction)."""
    return max(20, int(width * fig.get_figwidth() * 72.0 / (0.58 * fontsize)))


def _block(
    fig: Figure,
    x: float,
    y: float,
    text: str,
    *,
    fontsize: float = 9.0,
    width: float | None = None,
    gap: float = 0.006,
    **kw: Any,
) -> float:
    """Write ``text`` wrapped to ``width`` (figure fraction) from top ``y``; return the y below it."""
    width = (1 - LEFT - x) if width is None else width
    wrapped = "\n".join(
        textwrap.fill(par, _chars(fig, width, fontsize)) for par in text.split("\n")
    )
    fig.text(x, y, wrapped, fontsize=fontsize, va="top", **kw)
    return y - _line_height(fig, fontsize) * (wrapped.count("\n") + 1) - gap


def _source_line(p: Provenance, show_file_names: bool = False) -> str:
    dropped = sum(p.rows_dropped.values())
    why = ", ".join(
        f"{n} {r}" for r, n in sorted(p.rows_dropped.items(), key=lambda kv: -kv[1])[:2]
    )
    fmt = p.format + (f", {p.units}" if p.units else "")
    line = (
        f"{p.display(show_file_names)} ({fmt}): rows read {p.rows_read}, kept {p.rows_kept}, "
        f"dropped {dropped}" + (f" ({why})" if dropped else "")
    )
    return line if len(line) <= 160 else line[:157] + "..."


def footer_lines(
    sources: Sequence[Provenance],
    synthetic: bool,
    page: int,
    n_pages: int,
    show_file_names: bool = False,
) -> list[str]:
    """The footer text of one page: sources, row accounts, version, page, synthetic mark.

    Each source is named by its label and short SHA-256
    (:meth:`~soleus_analysis.core.recording.Provenance.display`), its file name only when
    ``show_file_names``.
    """
    lines = [_source_line(p, show_file_names) for p in sources[:FOOTER_FILES]]
    if len(sources) > FOOTER_FILES:
        tot = [sum(p.rows_read for p in sources), sum(p.rows_kept for p in sources)]
        dropped = sum(sum(p.rows_dropped.values()) for p in sources)
        lines.append(
            f"... and {len(sources) - FOOTER_FILES} more files; all {len(sources)} files: "
            f"rows read {tot[0]}, kept {tot[1]}, dropped {dropped}"
        )
    if not sources:
        lines.append("no source files recorded")
    tail = f"soleus_analysis {__version__} · page {page} of {n_pages}"
    if synthetic:
        tail = f"{SYNTHETIC_NOTE} · {tail}"
    lines.append(tail)
    return lines


def _footer(
    fig: Figure,
    sources: Sequence[Provenance],
    synthetic: bool,
    page: int,
    n_pages: int,
    show_file_names: bool,
) -> None:
    fig.add_artist(
        Line2D([LEFT, 1 - LEFT], [0.075, 0.075], color="#bbbbbb", lw=0.5, transform=fig.transFigure)
    )
    lines = footer_lines(sources, synthetic, page, n_pages, show_file_names)
    fig.text(LEFT, 0.018, "\n".join(lines[:-1]), fontsize=6, color="#444444", va="bottom")
    fig.text(
        LEFT,
        0.008,
        lines[-1],
        fontsize=6.5,
        color="#a00000" if synthetic else "#444444",
        weight="bold" if synthetic else "normal",
        va="bottom",
    )


def _save(
    pages: Sequence[Callable[[], Figure | list[Figure]]],
    path: str | os.PathLike,
    title: str,
    sources: Sequence[Provenance],
    synthetic: bool,
    show_file_names: bool = False,
) -> Path:
    """Draw the pages (each callable returns a figure or a list of them), add the footers and
    write the PDF atomically; every figure is closed, whatever happens."""
    figs: list[Figure] = []
    try:
        for page in pages:
            drawn = page()
            figs.extend(drawn if isinstance(drawn, list) else [drawn])
        for i, f in enumerate(figs):
            _footer(f, sources, synthetic, i + 1, len(figs), show_file_names)
        with _atomic_pdf(path, title) as pdf:
            for f in figs:
                pdf.savefig(f)
    finally:
        for f in figs:
            plt.close(f)
    return Path(path)


def _fmt(x: Any, nd: int = 0, suffix: str = "") -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "–"
    if not np.isfinite(v):
        return "–"
    s = f"{v:.{nd}f}"
    if s.startswith("-") and float(s) == 0:
        s = s[1:]
    return s + suffix


def _fmt_p(p: Any) -> str:
    try:
        v = float(p)
    except (TypeError, ValueError):
        return "p = –"
    if not np.isfinite(v):
        return "p = –"
    return "p < 0.001" if v < 0.001 else f"p = {v:.3f}"


def _table(
    fig: Figure,
    rect: tuple[float, float, float, float],
    header: list[str],
    cells: list[list[str]],
    widths: list[int],
    *,
    fontsize: float = 7.0,
    grey_rows: Sequence[bool] = (),
) -> None:
    """A ruled monospaced table from the top of ``rect`` (left, bottom, width, height).

    Columns are ``widths`` characters wide (longer cells are shortened). The body is drawn as
    two multi-line texts (normal rows, and ``grey_rows`` in grey), so a page of hundreds of cells
    stays fast to render while its text stays selectable and aligned.
    """
    left, _, width, height = rect
    top = rect[1] + height

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            (v if len(v) <= w else v[: max(w - 1, 1)] + "…").ljust(w)
            for v, w in zip(values, widths, strict=True)
        ).rstrip()

    mono = {"family": "DejaVu Sans Mono", "fontsize": fontsize, "va": "top"}
    fig.text(left, top, line(header), weight="bold", **mono)
    y = top - _line_height(fig, fontsize) - 0.002
    rule = {"color": "#888888", "lw": 0.6, "transform": fig.transFigure}
    fig.add_artist(Line2D([left, left + width], [y, y], **rule))
    grey = [bool(g) for g in grey_rows] + [False] * (len(cells) - len(grey_rows))
    for is_grey, color in ((False, "black"), (True, "#888888")):
        if any(g == is_grey for g in grey):
            body = "\n".join(
                line(r) if g == is_grey else " " for r, g in zip(cells, grey, strict=True)
            )
            fig.text(left, y - 0.004, body, color=color, linespacing=1.55, **mono)


# ------------------------------------------------------------------------------------------
# self-tracker report
# ------------------------------------------------------------------------------------------


def _period(a: PersonAnalysis) -> str:
    t = a.readings["time"]
    if t.empty:
        return "no readings"
    return f"{t.min():%d %b %Y} to {t.max():%d %b %Y}"


def metric_rows(m: pd.Series) -> list[tuple[str, str]]:
    """The summary metrics as printed on page 1: (label, value) pairs."""
    return [
        (
            "Mean glucose",
            f"{_fmt(m['mean_mgdl'])} mg/dL ({_fmt(m['mean_mgdl'] / MGDL_PER_MMOL, 1)} mmol/L)",
        ),
        ("GMI (estimated A1c)", _fmt(m["gmi_pct"], 1, "%")),
        ("Variability, CV (goal ≤ 36%)", _fmt(m["cv_pct"], 1, "%")),
        ("Time in range 70–180 mg/dL (goal > 70%)", _fmt(m["tir_pct"], 1, "%")),
        ("Time in tight range 70–140 mg/dL", _fmt(m["titr_pct"], 1, "%")),
        (
            "Below 70 / 54 mg/dL (goals <4%, <1%)",
            f"{_fmt(m['tbr_70_pct'], 1, '%')} / {_fmt(m['tbr_54_pct'], 1, '%')}",
        ),
        (
            "Above 180 / 250 mg/dL (goals <25%, <5%)",
            f"{_fmt(m['tar_180_pct'], 1, '%')} / {_fmt(m['tar_250_pct'], 1, '%')}",
        ),
        ("Glycemia risk index, GRI", _fmt(m["gri"], 0)),
        ("Days of data", _fmt(m["days"], 1)),
        ("Sensor readings present", _fmt(m["coverage_pct"], 0, "%")),
    ]


def sufficiency_text(m: pd.Series) -> str:
    """Whether the data meet the consensus of >= 14 days with >= 70 % of readings."""
    days, cov = float(m["days"]), float(m["coverage_pct"])
    if days >= 14 and cov >= 70:
        return "Data sufficiency: meets the consensus for these measures (≥ 14 days, ≥ 70% of readings)."
    return (
        f"Data sufficiency: {days:.1f} days with {cov:.0f}% of readings is below the consensus "
        "of ≥ 14 days with ≥ 70% of readings; read these numbers with care."
    )


def _page_summary(a: PersonAnalysis, paper: str) -> Figure:
    m = a.metrics.iloc[0] if len(a.metrics) else None
    interval = "" if m is None else f", one every {_fmt(m['interval_min'], 0)} min"
    fig = _page(
        paper,
        "Glucose summary",
        f"{a.subject} · {_period(a)} · {len(a.readings)} readings{interval}",
    )
    agp_ax = fig.add_axes((0.10, 0.58, 0.84, 0.30))
    plots.plot_agp(a.agp, ax=agp_ax, title="Ambulatory glucose profile (AGP), mg/dL")
    agp_ax.set_xlabel("time of day")
    if m is None:
        _block(fig, 0.10, 0.48, "No glucose readings to summarise.", fontsize=10)
        return fig
    plots.plot_tir(m, ax=fig.add_axes((0.10, 0.13, 0.30, 0.37)))
    fig.text(0.47, 0.505, "Summary", fontsize=11, va="baseline")
    y = 0.485
    for label, value in metric_rows(m):
        fig.text(0.47, y, label, fontsize=8.5, color="#333333", va="top")
        fig.text(1 - LEFT, y, value, fontsize=8.5, weight="bold", ha="right", va="top")
        y -= 0.023
    y = _block(fig, 0.47, y - 0.01, sufficiency_text(m), fontsize=8, color="#333333")
    _block(
        fig,
        0.47,
        y - 0.005,
        "AGP: the line is the median of all days at each time of day; the bands hold the middle "
        "50% and 90% of readings. GMI estimates the lab A1c from the mean glucose. Goals are the "
        "international consensus for adults with diabetes; without diabetes, expect more time in range.",
        fontsize=7,
        color="#555555",
    )
    return fig


_COVARIATE_WORDS = {
    "carbs_g": "carbs",
    "time_of_day_h": "time of day",
    "time_of_day": "time of day",
}


def _adjusted_for(covariates: str) -> str:
    """'adjusted for carbs and time of day' from the comma-separated covariates the model used."""
    words = [_COVARIATE_WORDS.get(c, c) for c in str(covariates or "").split(",") if c]
    return "adjusted for " + " and ".join(words) if words else "not adjusted for covariates"


def _estimate_text(row: Any, estimand: str, nd: int = 0) -> str:
    """ "X% (95% CI L% to H%)" of ``estimand`` with its own interval (named from its level)."""
    _, est, lo, hi, level = estimate_of(row, estimand)
    return (
        f"{_fmt(est, nd, '%')} ({level} CI {_fmt(lo, nd, '%')} to {_fmt(hi, nd, '%')})"
        if np.isfinite(float(lo)) and np.isfinite(float(hi))
        else f"{_fmt(est, nd, '%')} (no interval: {_why_no_interval(row)})"
    )


def _why_no_interval(row: Any) -> str:
    n = min(int(row.get("n_spu", 0) or 0), int(row.get("n_control", 0) or 0))
    return f"too few meals ({n} in the smaller group)" if n < 3 else "it could not be computed"


def effect_lines(a: PersonAnalysis) -> list[str]:
    """The experiment's sentences as printed on page 2 (verdict first)."""
    lines = [a.verdict]
    if a.effect is not None and len(a.effect):
        e = a.effect.iloc[0]
        lines.append(
            "Estimated reduction of the typical post-meal glucose rise (iAUC) with SPU, as the "
            "ratio of geometric means "
            f"{_adjusted_for(e.get('covariates', ''))}: {_estimate_text(e, PERSON_ESTIMAND)}; "
            f"randomisation test {_fmt_p(e['p_permutation'])}. Based on {int(e['n_spu'])} meals "
            f"with SPU and {int(e['n_control'])} without."
        )
    if a.insulin_proxy_effect is not None and len(a.insulin_proxy_effect):
        q = a.insulin_proxy_effect.iloc[0]
        _, est, _, _, _ = estimate_of(q, PERSON_ESTIMAND)
        lines.append(
            "Insulin-exposure PROXY (modelled from your glucose trace with population parameters; "
            f"not a measurement of your insulin): {_fmt(est, 0, '%')} lower with SPU. "
            + PROXY_CAVEAT
        )
    meals = a.meals
    n_ex = int(meals["excluded_reason"].notna().sum()) if len(meals) else 0
    reasons = (
        meals["excluded_reason"].dropna().astype(str).value_counts().head(3)
        if n_ex
        else pd.Series(dtype=int)
    )
    why = "; ".join(f"{n} {r}" for r, n in reasons.items())
    lines.append(
        f"{len(meals)} meals found, {len(meals) - n_ex} analysed, {n_ex} excluded"
        + (f" ({why})." if why else ".")
    )
    lines.append("Rules. " + a.rules.describe())
    return lines


def _dose_ci(d: Any) -> str:
    _, _, lo, hi, level = estimate_of(d, "estimate")
    return f"{level} CI {_fmt(lo, 0)} to {_fmt(hi, 0)}"


def _page_experiment(a: PersonAnalysis, paper: str) -> Figure:
    fig = _page(paper, "Soleus pushups and your meals", f"{a.subject} · {_period(a)}")
    lines = effect_lines(a)
    y = _block(fig, LEFT, 0.915, lines[0], fontsize=11, weight="bold", gap=0.01)
    for line in lines[1:]:
        y = _block(fig, LEFT, y, line, fontsize=8.5)
    top = min(y - 0.04, 0.78)
    h = 0.27
    plots.plot_meal_curves(a.curves, ax=fig.add_axes((0.10, top - h, 0.52, h)))
    plots.plot_meal_dots(a.meals, ax=fig.add_axes((0.72, top - h, 0.24, h)))
    y = top - h - 0.09
    if a.dose is not None and len(a.dose):
        d = a.dose.iloc[0]
        dh = min(0.25, y - 0.14)
        plots.plot_dose_response(a.meals, fit=d, ax=fig.add_axes((0.10, y - dh, 0.44, dh)))
        _block(
            fig,
            0.60,
            y,
            "Dose-response: each extra 10 minutes of SPU changed the glucose rise by "
            f"{_fmt(d['estimate'], 0)} mg/dL·min ({_dose_ci(d)}), a reduction of the mean "
            f"response of {_estimate_text(d, 'reduction_per_dose_pct')} per 10 minutes; "
            f"{_fmt_p(d['p'])}.",
            fontsize=8.5,
        )
    else:
        _block(
            fig,
            LEFT,
            y,
            f"Dose-response: not shown yet. It needs at least {a.rules.dose_min_meals} SPU meals "
            f"with {a.rules.dose_min_levels} or more different SPU durations that really differ "
            f"(an SD of at least {DOSE_MIN_SD_MIN:g} minutes: for example 10, 20 and 40 minutes; "
            "logged 28, 30 and 32 minutes are one dose).",
            fontsize=8.5,
        )
    return fig


HOW_TO_LOG = (
    "To find out whether soleus pushups (SPU) blunt your glucose rise after meals:\n"
    "1. Log every meal (time, and carbs if you know them) in your CGM app or in a CSV activity "
    "log with the columns start,end,duration_min,kind,intensity,carbs_g,notes, e.g. "
    "'2026-03-02 12:20,,,lunch,,65,pasta'.\n"
    "2. Log every SPU bout with its start and end (or duration), e.g. "
    "'2026-03-02 12:35,13:05,,spu,,,at my desk'.\n"
    "3. Decide at random which meals get SPU: `soleus plan --meals 40 -o schedule.csv` draws a fair "
    "schedule. Aim for at least 20 meals with and 20 without.\n"
    "4. Run `soleus report --cgm EXPORT --events LOG -o report.pdf`."
)


def _page_days(a: PersonAnalysis, paper: str) -> Figure:
    n_days = a.readings["time"].dt.normalize().nunique() if len(a.readings) else 0
    title = "Daily glucose" + (", last 14 days" if n_days > 14 else "")
    fig = _page(paper, title, f"{a.subject} · {_period(a)}")
    if a.meals.empty:
        y = _block(fig, LEFT, 0.915, a.verdict, fontsize=9, weight="bold", gap=0.008)
        y = _block(fig, LEFT, y, HOW_TO_LOG, fontsize=8.5, gap=0.015)
    else:
        y = _block(
            fig,
            LEFT,
            0.915,
            "Each panel is one day, midnight to midnight; shaded: 70–180 mg/dL; ▲ a meal; "
            "green bar at the bottom: an SPU bout.",
            fontsize=8.5,
            gap=0.015,
        )
    if n_days:
        sub = fig.subfigures(1, 1)
        sub.subplots_adjust(left=0.10, right=1 - LEFT, bottom=CONTENT_BOTTOM + 0.02, top=y - 0.01)
        sub.subplots_adjust(hspace=0.75, wspace=0.08)
        plots.plot_day(a.readings, a.events, fig=sub, max_days=14, title=None)
    return fig


_MEAL_COLS: list[tuple[str, str, Any, int]] = [
    ("meal_time", "time", lambda v: "–" if pd.isna(v) else f"{v:%Y-%m-%d %H:%M}", 16),
    ("carbs_g", "carbs g", lambda v: _fmt(v), 7),
    ("condition", "condition", lambda v: "" if v is None or v != v else str(v), 9),
    ("spu_minutes", "SPU min", lambda v: _fmt(v), 7),
    ("baseline_mgdl", "baseline", lambda v: _fmt(v), 8),
    ("peak_mgdl", "peak", lambda v: _fmt(v), 5),
    ("iauc_mgdl_min", "iAUC", lambda v: _fmt(v), 6),
    (
        "excluded_reason",
        "excluded because",
        lambda v: "" if v is None or v != v else str(v),
        48,
    ),
]


def meal_table_pages(n_meals: int) -> int:
    """Pages the meal table takes for ``n_meals`` meals (0 when none, capped)."""
    return min(math.ceil(n_meals / MEALS_PER_PAGE), MAX_TABLE_PAGES)


def _meal_table(a: PersonAnalysis, paper: str) -> list[Figure]:
    meals = a.meals.sort_values("meal_time", kind="stable")
    n_pages = meal_table_pages(len(meals))
    figs = []
    for i in range(n_pages):
        chunk = meals.iloc[i * MEALS_PER_PAGE : (i + 1) * MEALS_PER_PAGE]
        fig = _page(
            paper,
            "Meals" + (" (continued)" if i else ""),
            f"{a.subject} · meals {i * MEALS_PER_PAGE + 1}–{i * MEALS_PER_PAGE + len(chunk)} "
            f"of {len(meals)} · baseline and peak in mg/dL, iAUC in mg/dL·min · excluded meals in grey",
        )
        cells = [
            [fmt(r[c]) if c in r.index else "" for c, _, fmt, _ in _MEAL_COLS]
            for _, r in chunk.iterrows()
        ]
        grey = chunk["excluded_reason"].notna().tolist() if "excluded_reason" in chunk else []
        _table(
            fig,
            (LEFT, CONTENT_BOTTOM + 0.03, 1 - 2 * LEFT, 0.78),
            [h for _, h, _, _ in _MEAL_COLS],
            cells,
            [w for *_, w in _MEAL_COLS],
            grey_rows=grey,
        )
        rest = len(meals) - (i + 1) * MEALS_PER_PAGE
        if i == n_pages - 1 and rest > 0:
            fig.text(
                LEFT,
                CONTENT_BOTTOM + 0.005,
                f"... {rest} more meals not printed; all {len(meals)} are in meals.csv "
                "(`soleus analyze --out DIR`).",
                fontsize=8.5,
                weight="bold",
            )
        figs.append(fig)
    return figs


def person_report_pages(analysis: PersonAnalysis) -> int:
    """Number of pages :func:`write_person_report` writes for ``analysis``."""
    n = len(analysis.meals)
    return 1 + (1 if n else 0) + 1 + meal_table_pages(n)


def write_person_report(
    analysis: PersonAnalysis,
    path: str | os.PathLike,
    *,
    paper: str = "a4",
    show_file_names: bool = False,
) -> Path:
    """Write the self-tracker's PDF report.

    Page 1 is the standard AGP summary; page 2 the SPU experiment (only with meals); then the
    daily panels of the last 14 days (with, lacking a meal log, how to log meals and SPU) and the
    meal table (at most :data:`MAX_TABLE_PAGES` pages). Personal data from export preambles is
    never printed.

    Parameters
    ----------
    analysis : PersonAnalysis
        From :func:`soleus_analysis.pipeline.analyze_person`.
    path : path
        Output PDF; written to a temporary name and renamed when complete.
    paper : {"a4", "letter"}
    show_file_names : bool
        Name the source files in the footer (default: their labels and short SHA-256, since
        file names often carry the person's name).

    Returns
    -------
    Path
        ``path``.
    """
    if paper not in PAPER:
        raise ValueError(f"paper must be one of {sorted(PAPER)}")
    pages = [lambda: _page_summary(analysis, paper)]
    if len(analysis.meals):
        pages.append(lambda: _page_experiment(analysis, paper))
    pages.append(lambda: _page_days(analysis, paper))
    if len(analysis.meals):
        pages.append(lambda: _meal_table(analysis, paper))
    return _save(
        pages,
        path,
        f"soleus_analysis report: {analysis.subject}",
        analysis.sources,
        analysis.synthetic,
        show_file_names,
    )


# ------------------------------------------------------------------------------------------
# cohort report
# ------------------------------------------------------------------------------------------


def pooled_lines(a: CohortAnalysis) -> list[str]:
    """The pooled estimates as printed on the cohort report's first page
    (:func:`soleus_analysis.report.text.pooled_sentence`, the terminal's words)."""
    lines = [pooled_sentence(r) + "." for _, r in a.pooled.iterrows()]
    return lines or ["No pooled estimate: too few people with meals in both conditions."]


def _cohort_counts(a: CohortAnalysis) -> str:
    ok = a.meals[a.meals["excluded_reason"].isna()] if len(a.meals) else a.meals
    n_spu = int((ok["condition"] == "spu").sum()) if len(ok) else 0
    n_ctl = int((ok["condition"] == "control").sum()) if len(ok) else 0
    text = (
        f"{len(a.people)} people with meals in both conditions; {len(ok)} meals analysed "
        f"({n_spu} with SPU, {n_ctl} without), {len(a.meals) - len(ok)} excluded."
    )
    if len(a.failed):
        text += (
            f" {len(a.failed)} people skipped because their files could not be read (last page)."
        )
    return text


def _page_cohort_summary(a: CohortAnalysis, paper: str, title: str) -> Figure:
    fig = _page(paper, title, "Per-person reductions and the pooled estimate")
    lines = pooled_lines(a)
    y = _block(fig, LEFT, 0.915, lines[0], fontsize=10, weight="bold", gap=0.008)
    for line in lines[1:] + [_cohort_counts(a)]:
        y = _block(fig, LEFT, y, line, fontsize=8.5)
    people = a.people.head(FOREST_MAX)
    if len(a.people) > FOREST_MAX:
        y = _block(
            fig,
            LEFT,
            y,
            f"The forest plot shows the first {FOREST_MAX} of {len(a.people)} people; "
            "all are in the table.",
            fontsize=8,
            color="#a00000",
        )
    pooled = a.pooled.iloc[0] if len(a.pooled) else None
    top = y - 0.04
    height = min(top - CONTENT_BOTTOM - 0.05, max(0.35, 0.05 + 0.018 * (len(people) + 2)))
    plots.plot_forest(people, pooled=pooled, ax=fig.add_axes((0.14, top - height, 0.80, height)))
    return fig


def _page_cohort_curves(a: CohortAnalysis, paper: str) -> Figure:
    fig = _page(paper, "Glucose after meals, by condition", "All analysed meals of all people")
    plots.plot_meal_curves(a.curves, band="sem", ax=fig.add_axes((0.10, 0.55, 0.84, 0.33)))
    if {"control", "treatment"} <= set(a.people.columns) and len(a.people):
        plots.plot_paired(a.people, ax=fig.add_axes((0.10, 0.14, 0.38, 0.32)))
    _block(
        fig,
        0.56,
        0.45,
        "Left: each person's mean glucose iAUC without and with SPU (grey lines), and the "
        "mean of all people (black). The curves above are means of all meals with their "
        "standard error.\nRules. " + a.rules.describe(),
        fontsize=7.5,
        width=0.37,
    )
    return fig


_PEOPLE_COLS: list[tuple[str, str, Any, int]] = [
    ("subject", "person", str, 20),
    ("n_control", "meals no SPU", lambda v: _fmt(v), 12),
    ("n_spu", "meals SPU", lambda v: _fmt(v), 9),
    ("coverage_pct", "CGM coverage", lambda v: _fmt(v, 0, "%"), 12),
    ("control", "iAUC no SPU", lambda v: _fmt(v), 11),
    ("treatment", "iAUC SPU", lambda v: _fmt(v), 8),
    (COHORT_ESTIMAND, "reduction of mean", lambda v: _fmt(v, 1, "%"), 17),
]


def people_table_pages(n_people: int) -> int:
    """Pages the cohort's people table takes."""
    return math.ceil(n_people / PEOPLE_PER_PAGE)


def _people_table(a: CohortAnalysis, paper: str) -> list[Figure]:
    cols = [c for c in _PEOPLE_COLS if c[0] in a.people.columns]
    lab = a.rules.ci_label
    stem = PERSON_ESTIMAND[: -len("_pct")]
    has_ci = {f"{stem}_{lab}_low", f"{stem}_{lab}_high"} <= set(a.people.columns)
    header = [h for _, h, _, _ in cols] + ([f"N-of-1 geo. mean, {lab[2:]}% CI"] if has_ci else [])
    widths = [w for *_, w in cols] + ([18] if has_ci else [])
    figs = []
    n_pages = people_table_pages(len(a.people))
    for i in range(n_pages):
        chunk = a.people.iloc[i * PEOPLE_PER_PAGE : (i + 1) * PEOPLE_PER_PAGE]
        fig = _page(
            paper,
            "People" + (" (continued)" if i else ""),
            "Included meals per condition, CGM coverage, mean iAUC (mg/dL·min) and reduction",
        )
        cells = []
        for _, r in chunk.iterrows():
            row = [fmt(r[c]) for c, _, fmt, _ in cols]
            if has_ci:
                row.append(
                    f"{_fmt(r[PERSON_ESTIMAND], 1, '%')} ({_fmt(r[f'{stem}_{lab}_low'], 0, '%')} "
                    f"to {_fmt(r[f'{stem}_{lab}_high'], 0, '%')})"
                )
            cells.append(row)
        _table(
            fig,
            (LEFT, CONTENT_BOTTOM + 0.03, 1 - 2 * LEFT, 0.78),
            header,
            cells,
            widths,
            fontsize=7.5,
        )
        figs.append(fig)
    return figs


def _page_failed(a: CohortAnalysis, paper: str) -> Figure:
    fig = _page(paper, "People skipped", "Their files could not be read or analysed")
    y = 0.915
    for _, r in a.failed.head(60).iterrows():
        y = _block(
            fig, LEFT, y, f"{r['subject']}: {str(r['error'])[:300]}", fontsize=7.5, gap=0.003
        )
        if y < CONTENT_BOTTOM + 0.03:
            break
    if len(a.failed) > 60:
        _block(fig, LEFT, max(y, CONTENT_BOTTOM + 0.02), f"... and {len(a.failed) - 60} more.")
    return fig


def cohort_report_pages(analysis: CohortAnalysis) -> int:
    """Number of pages :func:`write_cohort_report` writes for ``analysis``."""
    return 2 + people_table_pages(len(analysis.people)) + (1 if len(analysis.failed) else 0)


def write_cohort_report(
    analysis: CohortAnalysis,
    path: str | os.PathLike,
    *,
    paper: str = "a4",
    title: str = "Cohort report",
    show_file_names: bool = False,
) -> Path:
    """Write the cohort PDF report.

    Page 1: the pooled estimates and the forest plot of per-person reductions; page 2: mean
    curves by condition and each person's paired means; then the table of people with their
    data coverage, and the people skipped. Every page carries the provenance footer.

    Parameters
    ----------
    analysis : CohortAnalysis
        From :func:`soleus_analysis.pipeline.analyze_cohort`.
    path : path
        Output PDF, written atomically.
    paper : {"a4", "letter"}
    title : str
        Title of the first page and of the PDF.
    show_file_names : bool
        Name the source files in the footer (default: labels and short SHA-256).
    """
    if paper not in PAPER:
        raise ValueError(f"paper must be one of {sorted(PAPER)}")
    pages = [
        lambda: _page_cohort_summary(analysis, paper, title),
        lambda: _page_cohort_curves(analysis, paper),
        lambda: _people_table(analysis, paper),
    ]
    if len(analysis.failed):
        pages.append(lambda: _page_failed(analysis, paper))
    return _save(pages, path, title, analysis.sources, analysis.synthetic, show_file_names)

"""Lay out report pages with matplotlib (vector figures, embedded TrueType fonts, selectable text).

Every page has the same frame: a title at the top, content between :data:`CONTENT_BOTTOM` and the
title, and a provenance footer below a rule (source files and formats, rows read/kept/dropped,
toolkit version, page number and "SYNTHETIC DATA" when it is). Nothing from
:attr:`soleus_analysis.core.recording.Provenance.metadata` (names, dates of birth, serials) is printed.
"""

from __future__ import annotations

import gc
import math
import os
import textwrap
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .. import __version__, plots
from ..core.errors import command_line_words
from ..core.outputs import atomic_target
from ..core.recording import Provenance
from ..core.schema import DEVICE_UNITS
from ..insulin import PROXY_CAVEAT
from ..metrics import gri_components, gri_zone
from ..pipeline import COHORT_ESTIMAND, PERSON_ESTIMAND, CohortAnalysis, PersonAnalysis
from ..stats import estimate_of
from ..stats.bayes import chance_words, threshold_column
from ..stats.models import DOSE_MIN_SD_MIN
from .fonts import mono_family, report_fonts
from .pdftext import mono_text
from .text import pooled_sentence

#: page sizes in inches
PAPER = {"a4": (8.27, 11.69), "letter": (8.5, 11.0)}
#: text lines of the meal table on one page (the most meals on a page: a meal takes one line,
#: or two when its reason is long), and the most meal-table pages printed
MEALS_PER_PAGE = 60
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
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for the block (when it runs at all).

    Drawing a report makes some hundred thousand short-lived matplotlib objects, and every
    full collection they trigger walks every object alive, the analysis' too: about a sixth
    of a one-year report's time. Nothing is lost by waiting: the pages' objects are alive
    until the PDF is written, and the collector runs as usual afterwards.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect(0)  # the pages' own objects (all young): not a walk over everything alive


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
    fig = plots.new_figure(PAPER[paper])
    size = 17 if len(title) <= 45 else max(11, 17 * 45 / len(title))  # long titles shrink to fit
    fig.text(LEFT, 0.955, title, fontsize=size, weight="bold", va="baseline")
    if subtitle:
        small = 8.5 if len(subtitle) <= 105 else max(6.0, 8.5 * 105 / len(subtitle))
        fig.text(LEFT, 0.935, subtitle, fontsize=small, color="#444444", va="baseline")
    return fig


def _line_height(fig: Figure, fontsize: float) -> float:
    """Height of one text line in figure fraction."""
    return fontsize * 1.3 / 72.0 / fig.get_figheight()


def _chars(fig: Figure, width: float, fontsize: float, bold: bool = False) -> int:
    """Characters of DejaVu Sans (bold: wider) at ``fontsize`` that fit in ``width`` (figure
    fraction)."""
    em = 0.66 if bold else 0.58
    return max(20, int(width * fig.get_figwidth() * 72.0 / (em * fontsize)))


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
    bold = kw.get("weight") == "bold"
    wrapped = "\n".join(
        textwrap.fill(par, _chars(fig, width, fontsize, bold))
        for par in unicodedata.normalize("NFC", text).split("\n")
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
    line = command_line_words(line)
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


def _draw(
    pages: Sequence[Callable[[], Figure | list[Figure]]],
    sources: Sequence[Provenance],
    synthetic: bool,
    show_file_names: bool = False,
) -> list[Figure]:
    """Draw the pages (each callable returns a figure or a list of them) and their footers.

    The figures are outside pyplot (:func:`soleus_analysis.plots.new_figure`): nothing holds
    them once the caller drops them.
    """
    figs: list[Figure] = []
    with report_fonts():
        for page in pages:
            drawn = page()
            figs.extend(drawn if isinstance(drawn, list) else [drawn])
        for i, f in enumerate(figs):
            _footer(f, sources, synthetic, i + 1, len(figs), show_file_names)
    return figs


def _save(figs: list[Figure], path: str | os.PathLike, title: str) -> Path:
    """Write the drawn pages to a PDF atomically."""
    with report_fonts(), _atomic_pdf(path, title) as pdf:
        for f in figs:
            pdf.savefig(f)
    return Path(path)


def allow_space(fig: Figure, reason: str) -> Figure:
    """Mark a page that may stay more than half empty, and why (e.g. the end of a table); the
    layout test accepts such a page only with its reason."""
    fig.soleus_space_reason = reason  # type: ignore[attr-defined]
    return fig


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
    wrap_last: int = 1,
) -> None:
    """A ruled monospaced table from the top of ``rect`` (left, bottom, width, height).

    Columns are ``widths`` characters wide (longer cells are shortened); the last column's
    text wraps onto up to ``wrap_last`` lines. The body is drawn as two multi-line texts
    (normal rows, and ``grey_rows`` in grey), so a page of hundreds of cells stays fast to
    render while its text stays selectable and aligned.
    """
    left, _, width, height = rect
    top = rect[1] + height

    def cut(v: str, w: int) -> str:
        v = unicodedata.normalize("NFC", v)  # one glyph per accented letter (report.fonts)
        return (v if len(v) <= w else v[: max(w - 1, 1)] + "…").ljust(w)

    def line(values: Sequence[str]) -> str:
        return "  ".join(cut(v, w) for v, w in zip(values, widths, strict=True)).rstrip()

    def row_lines(values: Sequence[str]) -> list[str]:
        last = values[-1]
        parts = textwrap.wrap(last, widths[-1]) if len(last) > widths[-1] else [last]
        if len(parts) > wrap_last:
            parts = parts[: wrap_last - 1] + [" ".join(parts[wrap_last - 1 :])]
        out = [line([*values[:-1], parts[0]])]
        pad = [""] * (len(values) - 1)
        out += [line([*pad, p]) for p in parts[1:]]
        return out

    mono = {"family": mono_family(), "fontsize": fontsize, "va": "top"}
    mono_text(fig, left, top, line(header), weight="bold", **mono)
    y = top - _line_height(fig, fontsize) - 0.002
    rule = {"color": "#888888", "lw": 0.6, "transform": fig.transFigure}
    fig.add_artist(Line2D([left, left + width], [y, y], **rule))
    grey = [bool(g) for g in grey_rows] + [False] * (len(cells) - len(grey_rows))
    lines: list[tuple[str, bool]] = []
    for r, g in zip(cells, grey, strict=True):
        lines += [(text, g) for text in row_lines(r)]
    for is_grey, color in ((False, "black"), (True, "#888888")):
        if any(g == is_grey for _, g in lines):
            body = "\n".join(text if g == is_grey else " " for text, g in lines)
            mono_text(
                fig, left, y - 0.004, body, color=color, linespacing=1.45, gid="table-body", **mono
            )


# ------------------------------------------------------------------------------------------
# self-tracker report
# ------------------------------------------------------------------------------------------


def _period(a: PersonAnalysis) -> str:
    t = a.readings["time"]
    if t.empty:
        return "no readings"
    return f"{t.min():%d %b %Y} to {t.max():%d %b %Y}"


def _plural(n: int, one: str, many: str | None = None) -> str:
    """ "1 person", "2 people", "1 meal", "3 meals"."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def report_units(readings: pd.DataFrame, units: str | None = None) -> str:
    """The units a report is drawn in: ``units`` when given, else mmol/L when every reading was
    reported in mmol/L by its device (``device_units``), else mg/dL (mixed or unknown)."""
    if units is not None:
        return plots.check_units(units)
    if len(readings) and DEVICE_UNITS in readings.columns:
        if (readings[DEVICE_UNITS].astype(str) == "mmol/L").all():
            return "mmol/L"
    return "mg/dL"


#: page 1's goals (Battelino et al. 2019/2023): (metric column, label key, comparison, goal %)
_GOALS: tuple[tuple[str, str, str, float], ...] = (
    ("tir_pct", "target", ">", 70.0),
    ("tbr_70_pct", "below_70", "<", 4.0),
    ("tbr_54_pct", "very_low", "<", 1.0),
    ("tar_180_pct", "above_180", "<", 25.0),
    ("tar_250_pct", "very_high", "<", 5.0),
)


def goal_missed(value: float, op: str, goal: float, nd: int = 1) -> bool:
    """Whether ``value`` (as printed, to ``nd`` decimals) misses the goal ``op goal``."""
    try:
        v = round(float(value), nd)
    except (TypeError, ValueError):
        return False
    if not np.isfinite(v):
        return False
    return {"<": v >= goal, ">": v <= goal, "≤": v > goal, "≥": v < goal}[op]


def metric_rows(
    m: pd.Series, units: str = "mg/dL", active_pct: float = float("nan")
) -> list[tuple[str, str, str, bool]]:
    """Page 1's numbers: (label, value, goal, missed) rows of the AGP period's metrics.

    ``missed`` is True when the printed value misses its consensus goal (Battelino et al.
    2019/2023); those rows are printed bold and red with their goal.
    """
    lab = plots.RANGE_LABELS[units]
    words = {
        "target": f"Time in range {lab['target']} {units}",
        "below_70": f"Below {lab['70']} {units}",
        "very_low": f"Below {lab['54']} {units}",
        "above_180": f"Above {lab['180']} {units}",
        "very_high": f"Above {lab['250']} {units}",
    }
    rows: list[tuple[str, str, str, bool]] = []
    for col, key, op, goal in _GOALS:
        v = m[col]
        rows.append(
            (
                words[key],
                _fmt(v, 1, "%"),
                f"{op} {goal:g}%",
                goal_missed(v, op, goal),
            )
        )
    rows.append(
        (f"Time in tight range {lab['tight']} {units}", _fmt(m["titr_pct"], 1, "%"), "", False)
    )
    mean = plots.glucose_text(m["mean_mgdl"], units, unit=True)
    rows.append(("Mean glucose", mean, "", False))
    gmi = float(m["gmi_pct"])
    gmi_mol = f" ({10.929 * (gmi - 2.15):.0f} mmol/mol)" if np.isfinite(gmi) else ""
    rows.append(("GMI (glucose management indicator)", _fmt(gmi, 1, "%") + gmi_mol, "", False))
    rows.append(
        (
            "Glucose variability, CV",
            _fmt(m["cv_pct"], 1, "%"),
            "≤ 36%",
            goal_missed(m["cv_pct"], "≤", 36.0),
        )
    )
    zone = gri_zone(m["gri"])
    rows.append(
        (
            "Glycemia risk index, GRI",
            _fmt(m["gri"], 0) + (f" (zone {zone})" if zone else ""),
            "",
            False,
        )
    )
    rows.append(
        (
            "Time CGM active",
            _fmt(active_pct, 1, "%"),
            "≥ 70%",
            goal_missed(active_pct, "≥", 70.0),
        )
    )
    return rows


def sufficiency_text(days: float, active_pct: float) -> str:
    """Whether the AGP period meets the consensus of 14 days with >= 70 % of CGM data."""
    if days >= 14 and active_pct >= 70:
        return "Enough data: 14 days with the CGM active ≥ 70% of the time."
    return (
        f"Less data than the consensus asks (14 days with the CGM active ≥ 70% of the time): "
        f"{_plural(int(days), 'day')} with the CGM active {_fmt(active_pct, 1, '%')}; read these "
        "numbers with care."
    )


def _insulin_doses(a: PersonAnalysis) -> int:
    ev = a.events
    if not len(ev) or "kind" not in ev:
        return 0
    return int((ev["kind"].astype(str) == "insulin").sum())


def insulin_sentence(a: PersonAnalysis) -> str:
    """What the report says about insulin doses in the files ("" when there are none)."""
    n = _insulin_doses(a)
    if not n:
        return ""
    return (
        f"Your files hold {_plural(n, 'insulin dose')}: they are drawn on the daily panels (▼), "
        "but the analysis does not model insulin doses; no number in this report accounts for them."
    )


def _agp_dates(a: PersonAnalysis) -> str:
    p = a.agp_period
    if p is None or pd.isna(p["start"]):
        return "no readings"
    last = p["end"] - pd.Timedelta(days=1)
    return f"{_plural(int(p['days']), 'day')}: {p['start']:%d %b %Y} – {last:%d %b %Y}"


def _period_days(a: PersonAnalysis) -> pd.DatetimeIndex:
    """The calendar days of the AGP period (the daily panels)."""
    p = a.agp_period
    if p is None or pd.isna(p["start"]):
        return pd.DatetimeIndex([])
    return pd.date_range(p["start"], p["end"] - pd.Timedelta(days=1), freq="D")


#: page 1: where the value and the goal columns of the statistics start (figure fraction)
VALUE_X, GOAL_X = 0.335, 0.425


def _page_summary(a: PersonAnalysis, paper: str, units: str, days_page: int) -> Figure:
    m = (
        a.period_metrics.iloc[0]
        if a.period_metrics is not None and len(a.period_metrics)
        else (a.metrics.iloc[0] if len(a.metrics) else None)
    )
    p = a.agp_period
    active = float(p["cgm_active_pct"]) if p is not None else float("nan")
    interval = "" if m is None else f" · a reading every {_fmt(m['interval_min'], 0)} min"
    fig = _page(
        paper,
        "AGP report: continuous glucose monitoring",
        f"{a.subject} · {_agp_dates(a)} · % time CGM active {_fmt(active, 1, '%')}"
        f"{interval} · glucose in {units}",
    )
    if m is None:
        _block(fig, LEFT, 0.90, "No glucose readings to summarise.", fontsize=10)
        return allow_space(fig, "no glucose readings")
    # glucose statistics and targets
    fig.text(LEFT, 0.905, "Glucose statistics and targets", fontsize=10.5, weight="bold")
    y = _block(
        fig,
        LEFT,
        0.892,
        (
            f"{_agp_dates(a)}: the most recent {_plural(a.rules.agp_days, 'day')} of data "
            f"(the export: {_period(a)})."
            if p is not None and p["days"] >= a.rules.agp_days
            else f"{_agp_dates(a)}: all the data (the AGP period is the most recent "
            f"{_plural(a.rules.agp_days, 'day')})."
        ),
        fontsize=6.5,
        width=0.46,
        color="#444444",
    )
    y -= 0.004
    fig.text(LEFT, y, "measure", fontsize=7, color="#666666", va="top")
    fig.text(VALUE_X, y, "this period", fontsize=7, color="#666666", va="top")
    fig.text(GOAL_X, y, "goal", fontsize=7, color="#666666", va="top")
    y -= 0.016
    for label, value, goal, missed in metric_rows(m, units, active):
        color = "#b00000" if missed else "black"
        fig.text(LEFT, y, label, fontsize=7.6, color="#222222", va="top")
        fig.text(VALUE_X, y, value, fontsize=7.6, weight="bold", color=color, va="top")
        if goal:
            fig.text(
                GOAL_X,
                y,
                goal + (" missed" if missed else ""),
                fontsize=7.6,
                color=color,
                weight="bold" if missed else "normal",
                va="top",
            )
        y -= 0.0165
    y = _block(
        fig,
        LEFT,
        y - 0.004,
        "Goals: the consensus for most adults with diabetes (Battelino et al. 2019); missed "
        "goals in red. Without diabetes, expect more time in range.",
        fontsize=6.5,
        width=0.47,
        color="#444444",
    )
    _block(
        fig,
        LEFT,
        y,
        sufficiency_text(float(p["days"]) if p is not None else 0.0, active),
        fontsize=6.5,
        width=0.47,
        color="#a00000" if not (p is not None and p["days"] >= 14 and active >= 70) else "#444444",
    )
    # time in ranges and the GRI grid
    plots.plot_tir(m, units=units, ax=fig.add_axes((0.56, 0.655, 0.225, 0.245)))
    hypo, hyper = gri_components(m)
    gri_ax = fig.add_axes((0.855, 0.715, 0.10, 0.16))
    plots.plot_gri(hypo, hyper, float(m["gri"]), gri_zone(m["gri"]), ax=gri_ax)
    # the AGP
    agp_ax = fig.add_axes((0.10, 0.375, 0.85, 0.20))
    plots.plot_agp(a.agp, units=units, title="Ambulatory glucose profile (AGP)", ax=agp_ax)
    agp_ax.set_xlabel(
        "time of day · the period as if it were one day: the line is the median at each time "
        "of day, the bands hold the middle 50% and 90% of readings",
        fontsize=7,
    )
    # the daily glucose profiles
    fig.text(LEFT, 0.293, "Daily glucose profiles", fontsize=10.5, weight="bold", va="baseline")
    note = (
        f"each midnight to midnight; meals, insulin and SPU bouts on page {days_page}"
        if days_page
        else "each midnight to midnight"
    )
    fig.text(0.30, 0.293, note, fontsize=6.5, color="#444444", va="baseline")
    days = _period_days(a)
    if len(days):
        ncols = 7
        rows = math.ceil(len(days) / ncols)
        sub = fig.subfigures(1, 1)
        bottom = 0.28 - (0.28 - 0.125) * min(rows, 2) / 2
        sub.subplots_adjust(left=0.10, right=1 - LEFT + 0.02, bottom=bottom, top=0.28)
        sub.subplots_adjust(hspace=0.12, wspace=0.06)
        plots.plot_day(
            a.readings, days=days, units=units, ncols=ncols, compact=True, fig=sub, title=None
        )
    ins = insulin_sentence(a)
    if ins:
        _block(fig, LEFT, 0.108, ins, fontsize=6.5, color="#444444", gap=0.0)
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


def _p_text(p: Any, test: str = "randomisation test") -> str:
    """ "randomisation test p = 0.012", or why there is no p-value, in words."""
    try:
        v = float(p)
    except (TypeError, ValueError):
        v = float("nan")
    if not np.isfinite(v):
        return f"no {test} (it was not run or could not be computed with these meals)"
    return f"{test} {_fmt_p(v)}"


def insulin_confounding(a: PersonAnalysis) -> str:
    """The meal page's warning when the files hold insulin doses ("" when they do not)."""
    n = _insulin_doses(a)
    if not n:
        return ""
    return (
        f"Your files hold {_plural(n, 'insulin dose')}. A bolus lowers the glucose rise after a "
        "meal whatever the SPU, and the analysis does not model insulin doses: the meal "
        "responses below are confounded by boluses. Compare meals with similar boluses, or read "
        "the estimate with care."
    )


def excluded_summary(meals: pd.DataFrame) -> str:
    """ "N meals found, K analysed, E excluded (reasons)", small logged meals counted apart."""
    n_ex = int(meals["excluded_reason"].notna().sum()) if len(meals) else 0
    reasons = meals["excluded_reason"].dropna().astype(str) if n_ex else pd.Series(dtype=str)
    small = reasons.str.contains("rule min_meal_carbs_g", regex=False)
    top = reasons[~small].value_counts().head(3)
    why = "; ".join(f"{n} {r}" for r, n in top.items())
    n_small = int(small.sum())
    n_meals = len(meals) - n_small
    text = (
        f"{_plural(n_meals, 'meal')} found, {len(meals) - n_ex} analysed, {n_ex - n_small} "
        "excluded" + (f" ({why})" if why else "")
    )
    if n_small:
        text += (
            f"; {_plural(n_small, 'logged entry', 'logged entries')} below the minimum meal size "
            "not counted as meals"
        )
    return text + "."


def effect_lines(a: PersonAnalysis, units: str = "mg/dL") -> list[str]:
    """The experiment's sentences as printed on the meal page (verdict first)."""
    lines = [a.verdict]
    if a.effect is not None and len(a.effect):
        e = a.effect.iloc[0]
        lines.append(
            "Estimated reduction of the typical post-meal glucose rise (iAUC) with SPU, as the "
            "ratio of geometric means "
            f"{_adjusted_for(e.get('covariates', ''))}: {_estimate_text(e, PERSON_ESTIMAND)}; "
            f"{_p_text(e['p_permutation'])}. Based on {_plural(int(e['n_spu']), 'meal')} "
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
    conf = insulin_confounding(a)
    if conf:
        lines.append(conf)
    lines.append(excluded_summary(a.meals))
    lines.append("Rules. " + a.rules.describe())
    return lines


def _dose_ci(d: Any, k: float = 1.0) -> str:
    _, _, lo, hi, level = estimate_of(d, "estimate")
    if not np.isfinite([float(lo), float(hi)]).all():
        return "no interval: it could not be computed with these meals"
    return f"{level} CI {_fmt(float(lo) / k, 0)} to {_fmt(float(hi) / k, 0)}"


def _page_experiment(a: PersonAnalysis, paper: str, units: str) -> Figure:
    k = plots.UNITS[units]
    fig = _page(paper, "Soleus pushups and your meals", f"{a.subject} · {_period(a)}")
    lines = effect_lines(a, units)
    y = _block(fig, LEFT, 0.915, lines[0], fontsize=11, weight="bold", gap=0.01)
    for line in lines[1:]:
        red = line.startswith("Your files hold")
        y = _block(fig, LEFT, y, line, fontsize=8.5, color="#a00000" if red else "black", gap=0.006)
    if a.effect is None:
        y = _block(fig, LEFT, y - 0.005, HOW_TO_LOG, fontsize=8, gap=0.01)
    top = min(y - 0.035, 0.78)
    h = min(0.27, top - CONTENT_BOTTOM - 0.08)
    plots.plot_meal_curves(
        a.curves, units=units, legend="below", ax=fig.add_axes((0.10, top - h, 0.52, h))
    )
    plots.plot_meal_dots(a.meals, units=units, ax=fig.add_axes((0.72, top - h, 0.24, h)))
    y = top - h - 0.10
    if y < CONTENT_BOTTOM + 0.05:
        return fig
    if a.dose is not None and len(a.dose):
        d = a.dose.iloc[0]
        dh = min(0.25, y - 0.14)
        plots.plot_dose_response(
            a.meals, fit=d, units=units, ax=fig.add_axes((0.10, y - dh, 0.44, dh))
        )
        _block(
            fig,
            0.60,
            y,
            "Dose-response: each extra 10 minutes of SPU changed the glucose rise by "
            f"{_fmt(float(d['estimate']) / k, 0)} {units}·min ({_dose_ci(d, k)}), a reduction "
            f"of the mean response of {_estimate_text(d, 'reduction_per_dose_pct')} per 10 "
            f"minutes; {_p_text(d['p'], 'test of the slope')}.",
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
    "How to log meals and SPU bouts:\n"
    "1. Log every meal (time, and carbs if you know them) in your CGM app or in a CSV activity "
    "log with the columns start,end,duration_min,kind,intensity,carbs_g,notes, e.g. "
    "'2026-03-02 12:20,,,meal,,65,pasta'.\n"
    "2. Log every SPU bout with its start and end (or duration) as a row of kind spu, e.g. "
    "'2026-03-02 12:35,13:05,,spu,,,at my desk'.\n"
    "3. Decide at random which meals get SPU: `soleus plan --meals 40 -o schedule.csv` draws a fair "
    "schedule. Aim for at least 20 meals with and 20 without.\n"
    "4. Run `soleus report --cgm EXPORT --events LOG -o report.pdf` with the log of the same weeks "
    "as the CGM export."
)
#: daily panels on the daily page
DAYS_ON_PAGE = 14


def _page_days(a: PersonAnalysis, paper: str, units: str) -> Figure:
    days = _period_days(a)
    shown = days[-DAYS_ON_PAGE:]
    kinds = set(a.events["kind"].astype(str)) if len(a.events) and "kind" in a.events else set()
    marks = [
        w for k, w in (("meal", "meals"), ("insulin", "insulin"), ("spu", "SPU")) if k in kinds
    ]
    title = "Daily glucose" + (
        " with " + (", ".join(marks[:-1]) + " and " + marks[-1] if len(marks) > 1 else marks[0])
        if marks
        else ""
    )
    sub = f"{a.subject} · the AGP period, {_agp_dates(a)}"
    if len(shown) < len(days):
        sub += f" (the last {len(shown)} days shown)"
    fig = _page(paper, title, sub)
    lab = plots.RANGE_LABELS[units]
    y = 0.915
    if a.meals.empty:
        y = _block(fig, LEFT, y, a.verdict, fontsize=9, weight="bold", gap=0.008)
        y = _block(fig, LEFT, y, HOW_TO_LOG, fontsize=8, gap=0.012)
    legend = [f"shaded: {lab['target']} {units}"]
    legend += ["▲ a meal with its carbs (g)"] if "meal" in kinds else []
    legend += ["▼ an insulin dose with its units (U)"] if "insulin" in kinds else []
    legend += ["green bar at the bottom: an SPU bout"] if "spu" in kinds else []
    y = _block(
        fig,
        LEFT,
        y,
        "Each panel is one day, midnight to midnight; "
        + "; ".join(legend)
        + (
            ". Marks less than 2.5 h apart share one label (their sum)."
            if {"meal", "insulin"} & kinds
            else "."
        ),
        fontsize=8,
        gap=0.006,
    )
    ins = insulin_sentence(a)
    if ins:
        y = _block(fig, LEFT, y, ins, fontsize=8, color="#a00000", gap=0.006)
    if len(shown):
        nrows = math.ceil(len(shown) / 2)
        bottom = max(CONTENT_BOTTOM + 0.02, y - 0.03 - nrows * 0.11)
        sf = fig.subfigures(1, 1)
        sf.subplots_adjust(left=0.10, right=1 - LEFT, bottom=bottom, top=y - 0.015)
        sf.subplots_adjust(hspace=0.75, wspace=0.08)
        plots.plot_day(a.readings, a.events, days=shown, units=units, fig=sf, title=None)
    if len(shown) < 8:
        allow_space(fig, f"{_plural(len(shown), 'day')} of data to draw")
    return fig


def _cond_words(v: Any) -> str:
    return {"spu": "SPU", "control": "no SPU"}.get(str(v), "" if v is None or v != v else str(v))


def _meal_cols(units: str) -> list[tuple[str, str, Any, int]]:
    k = plots.UNITS[units]
    nd = 0 if units == "mg/dL" else 1
    return [
        ("meal_time", "time", lambda v: "–" if pd.isna(v) else f"{v:%Y-%m-%d %H:%M}", 16),
        ("meal_label", "food", lambda v: "" if v is None or v != v else str(v), 20),
        ("carbs_g", "carbs g", lambda v: _fmt(v), 7),
        ("condition", "cond.", _cond_words, 6),
        ("spu_minutes", "SPU min", lambda v: _fmt(v), 7),
        ("baseline_mgdl", "baseline", lambda v: _fmt(float(v) / k, nd) if v == v else "–", 8),
        ("peak_mgdl", "peak", lambda v: _fmt(float(v) / k, nd) if v == v else "–", 5),
        ("iauc_mgdl_min", "iAUC", lambda v: _fmt(float(v) / k) if v == v else "–", 6),
        (
            "excluded_reason",
            "excluded because",
            lambda v: "" if v is None or v != v else str(v),
            38,
        ),
    ]


def _meal_chunks(meals: pd.DataFrame) -> list[tuple[int, int]]:
    """Rows ``[start, stop)`` of each meal-table page: as many meals as fill
    :data:`MEALS_PER_PAGE` lines (a long reason takes two), at most :data:`MAX_TABLE_PAGES`."""
    width = _meal_cols("mg/dL")[-1][3]
    reasons = (
        meals["excluded_reason"] if "excluded_reason" in meals else pd.Series([None] * len(meals))
    )
    lines = [1 + (isinstance(r, str) and len(r) > width) for r in reasons]
    chunks, start, used = [], 0, 0
    for i, n in enumerate(lines):
        if used + n > MEALS_PER_PAGE:
            chunks.append((start, i))
            start, used = i, 0
        used += n
    if start < len(lines):
        chunks.append((start, len(lines)))
    return chunks[:MAX_TABLE_PAGES]


def meal_table_pages(meals: int | pd.DataFrame) -> int:
    """Pages the meal table takes for ``meals`` (a per-meal table, or a number of meals of one
    line each; 0 when none, capped at :data:`MAX_TABLE_PAGES`)."""
    if isinstance(meals, pd.DataFrame):
        return len(_meal_chunks(meals))
    return min(math.ceil(meals / MEALS_PER_PAGE), MAX_TABLE_PAGES)


def _meal_table(a: PersonAnalysis, paper: str, units: str) -> list[Figure]:
    meals = a.meals.sort_values("meal_time", kind="stable")
    chunks = _meal_chunks(meals)
    n_pages = len(chunks)
    cols = _meal_cols(units)
    figs = []
    for i, (lo, hi) in enumerate(chunks):
        chunk = meals.iloc[lo:hi]
        fig = _page(
            paper,
            "Meals" + (" (continued)" if i else ""),
            f"{a.subject} · meals {lo + 1}–{hi} "
            f"of {len(meals)} · baseline and peak in {units}, iAUC in {units}·min · excluded "
            "meals in grey",
        )
        cells = [
            [fmt(r[c]) if c in r.index else "" for c, _, fmt, _ in cols]
            for _, r in chunk.iterrows()
        ]
        grey = chunk["excluded_reason"].notna().tolist() if "excluded_reason" in chunk else []
        _table(
            fig,
            (LEFT, CONTENT_BOTTOM + 0.03, 1 - 2 * LEFT, 0.78),
            [h for _, h, _, _ in cols],
            cells,
            [w for *_, w in cols],
            grey_rows=grey,
            fontsize=6.5,
            wrap_last=2,
        )
        rest = len(meals) - hi
        if i == n_pages - 1 and rest > 0:
            fig.text(
                LEFT,
                CONTENT_BOTTOM + 0.005,
                f"... {rest} more meals not printed; all {len(meals)} are in meals.csv "
                "(`soleus analyze --out DIR`).",
                fontsize=8.5,
                weight="bold",
            )
        if i == n_pages - 1:
            allow_space(fig, "the end of the meal table")
        figs.append(fig)
    return figs


def _has_posterior(a: PersonAnalysis) -> bool:
    return (
        a.bayes is not None
        and len(a.bayes) > 0
        and bool(np.isfinite(float(a.bayes["log_ratio_mean"].iloc[0])))
    )


def bayes_lines(a: PersonAnalysis) -> list[str]:
    """The Bayesian page's sentences: the answer, the probabilities, the frequentist estimate
    beside it, what the model assumes (all from :attr:`PersonAnalysis.bayes`)."""
    b = a.bayes.iloc[0]
    probs = "; ".join(
        ("lower at all" if x == 0 else f"at least {x:g}% lower")
        + f": {chance_words(float(b[threshold_column(x)]))[2:]}"
        for x in a.rules.bayes_thresholds_pct
        if threshold_column(x) in b
    )
    lines = [
        str(b["statement"]),
        f"Your typical post-meal rise with SPU: {_fmt(b['reduction_geomean_pct'], 0, '%')} lower "
        f"(95% credible interval {_fmt(b['reduction_geomean_cri95_low'], 0, '%')} to "
        f"{_fmt(b['reduction_geomean_cri95_high'], 0, '%')}), from "
        f"{_plural(int(b['n_spu']), 'meal')} with SPU and {int(b['n_control'])} without. "
        f"The chance that it is {probs}.",
    ]
    if a.effect is not None and len(a.effect):
        e = a.effect.iloc[0]
        lines.append(
            "Beside it, the classical estimate of the same quantity (the ratio of geometric "
            f"means): {_estimate_text(e, PERSON_ESTIMAND)}; {_p_text(e['p_permutation'])}. The "
            "two differ a little because the Bayesian model also allows for a slow trend and "
            "the schedule's blocks, and starts from a sceptical prior."
        )
    lines.append(
        "How to read it: the curve shows how plausible each size of reduction is, given your "
        "meals; the shaded part holds 95% of it. A chance is only as good as the experiment: it "
        "assumes that which meals got SPU was decided at random (soleus plan) and that the "
        "meals are otherwise comparable. Carry on until the stopping rule decides."
    )
    lines.append(f"Stopping rule: {b['stopping']}.")
    words = {
        "time_of_day_h": "meal period",
        "carbs_g": "carbs",
        "trend": "a slow trend",
        "block": "the schedule's blocks",
    }
    terms = [words.get(c, c) for c in str(b["covariates"] or "").split(",") if c]
    lines.append(
        "Model: log iAUC of each meal, adjusted for "
        + (", ".join(terms) if terms else "nothing (too few meals)")
        + f"; {b['prior']}. Exact posterior, no sampling."
    )
    return lines


def _page_bayes(a: PersonAnalysis, paper: str) -> Figure:
    fig = _page(paper, "Is it working for you?", f"{a.subject} · {_period(a)}")
    lines = bayes_lines(a)
    y = _block(fig, LEFT, 0.915, lines[0], fontsize=11, weight="bold", gap=0.012)
    h, above = 0.26, 0.025  # room above the axes for the plot's line of chances
    plots.plot_reduction_posterior(
        a.bayes.iloc[0],
        thresholds=a.rules.bayes_thresholds_pct,
        ax=fig.add_axes((0.12, y - above - h, 0.76, h)),
    )
    y -= above + h + 0.07
    for line in lines[1:]:
        y = _block(fig, LEFT, y, line, fontsize=9, gap=0.012)
    return allow_space(fig, "one experiment's answer and how to read it")


def person_report_pages(analysis: PersonAnalysis) -> int:
    """Number of pages :func:`write_person_report` writes for ``analysis``."""
    n = len(analysis.meals)
    bayes = 1 if _has_posterior(analysis) else 0
    return 1 + (1 if n else 0) + bayes + 1 + meal_table_pages(analysis.meals)


def write_person_report(
    analysis: PersonAnalysis,
    path: str | os.PathLike,
    *,
    paper: str = "a4",
    units: str | None = None,
    show_file_names: bool = False,
) -> Path:
    """Write the self-tracker's PDF report.

    Page 1 is the AGP report of the AGP period (the most recent ``rules.agp_days`` days,
    stated with the % time the CGM was active): statistics and targets (missed goals in red),
    time in ranges, the GRI and its grid, the AGP on a fixed axis and the daily glucose
    profiles. Then the SPU experiment (only with meals); the daily panels of the period with
    meals, insulin doses and SPU bouts (lacking a meal log, how to log meals and SPU); and the
    meal table (at most :data:`MAX_TABLE_PAGES` pages). Personal data from export preambles
    is never printed.

    Parameters
    ----------
    analysis : PersonAnalysis
        From :func:`soleus_analysis.pipeline.analyze_person`.
    path : path
        Output PDF; written to a temporary name and renamed when complete.
    paper : {"a4", "letter"}
    units : {"mg/dL", "mmol/L"}, optional
        Glucose units of every number, axis and range label; default the units the device
        reported in (mmol/L when every reading was in mmol/L, else mg/dL).
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
    with gc_paused():
        figs = person_report_figures(
            analysis, paper=paper, units=units, show_file_names=show_file_names
        )
        return _save(figs, path, f"soleus_analysis report: {analysis.subject}")


def person_report_figures(
    analysis: PersonAnalysis,
    *,
    paper: str = "a4",
    units: str | None = None,
    show_file_names: bool = False,
) -> list[Figure]:
    """The pages of :func:`write_person_report` as figures (outside pyplot: nothing to close)."""
    units = report_units(analysis.readings, units)
    has_meals = bool(len(analysis.meals))
    days_page = 3 if has_meals else 2
    pages = [lambda: _page_summary(analysis, paper, units, days_page)]
    if has_meals:
        pages.append(lambda: _page_experiment(analysis, paper, units))
    if _has_posterior(analysis):
        pages.append(lambda: _page_bayes(analysis, paper))
    pages.append(lambda: _page_days(analysis, paper, units))
    if has_meals:
        pages.append(lambda: _meal_table(analysis, paper, units))
    return _draw(pages, analysis.sources, analysis.synthetic, show_file_names)


# ------------------------------------------------------------------------------------------
# cohort report
# ------------------------------------------------------------------------------------------


def pooled_lines(a: CohortAnalysis) -> list[str]:
    """The pooled estimates as printed on the cohort report's first page
    (:func:`soleus_analysis.report.text.pooled_sentence`, the terminal's words)."""
    lines = [pooled_sentence(r) + "." for _, r in a.pooled.iterrows()]
    return lines or ["No pooled estimate: too few people with meals in both conditions."]


def cohort_units(a: CohortAnalysis, units: str | None = None) -> str:
    """The cohort report's units: ``units`` when given, else mmol/L when every CGM file was
    in mmol/L, else mg/dL."""
    if units is not None:
        return plots.check_units(units)
    cgm = [p.units for p in a.sources if p.units]
    return "mmol/L" if cgm and all(u == "mmol/L" for u in cgm) else "mg/dL"


def _cohort_counts(a: CohortAnalysis) -> str:
    ok = a.meals[a.meals["excluded_reason"].isna()] if len(a.meals) else a.meals
    n_spu = int((ok["condition"] == "spu").sum()) if len(ok) else 0
    n_ctl = int((ok["condition"] == "control").sum()) if len(ok) else 0
    n_people = len(a.people)
    text = (
        f"{_plural(n_people, 'person', 'people')} with meals in both conditions; "
        f"{_plural(len(ok), 'meal')} analysed ({n_spu} with SPU, {n_ctl} without), "
        f"{len(a.meals) - len(ok)} excluded."
    )
    if len(a.failed):
        n = len(a.failed)
        text += (
            f" {_plural(n, 'person', 'people')} skipped: their files could not be read or "
            "added nothing (last page)."
        )
    return text


def _forest_estimand(people: pd.DataFrame, rules: Any) -> str:
    """The per-person estimand the forest plot draws: the person's own N-of-1 (with its
    interval) when anyone has one, else the reduction of their means (no interval)."""
    lo = f"{PERSON_ESTIMAND[:-4]}_{rules.ci_label}_low"
    if lo in people.columns and np.isfinite(people[lo].to_numpy(float)).any():
        return PERSON_ESTIMAND
    return COHORT_ESTIMAND


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
    estimand = _forest_estimand(people, a.rules) if len(people) else COHORT_ESTIMAND
    if estimand == PERSON_ESTIMAND:
        what = (
            "Squares: each person's own estimate (ratio of geometric means of their meals, "
            f"N-of-1) with its {a.rules.ci_level:.0%} interval where they have "
            f"{a.rules.min_meals_per_condition} or more meals per condition"
            + (
                "; hollow squares: the reduction of the mean iAUC of someone with fewer meals "
                "(no interval). "
                if people[PERSON_ESTIMAND].isna().any()
                else ". "
            )
        )
    else:
        what = (
            "Squares: each person's reduction of their mean iAUC with SPU; no interval, because "
            f"nobody has {a.rules.min_meals_per_condition} or more meals per condition. "
        )
    pooled = a.pooled.iloc[0] if len(a.pooled) else None
    if pooled is not None:
        _, d, plo, phi, _ = estimate_of(pooled, "estimate_pct")
        drawn = bool(np.isfinite([float(d), float(plo), float(phi)]).all())
        what += (
            "Diamond: the pooled estimate with its interval."
            if drawn
            else "No pooled diamond: the pooled estimate could not be computed (above)."
        )
    y = _block(fig, LEFT, y, what, fontsize=8, color="#444444")
    if not len(people):
        _block(fig, LEFT, y - 0.01, "Nobody to draw yet.", fontsize=9)
        return allow_space(fig, "no person with meals in both conditions")
    top = y - 0.04
    height = min(top - CONTENT_BOTTOM - 0.05, max(0.35, 0.05 + 0.018 * (len(people) + 2)))
    plots.plot_forest(
        people,
        pooled=pooled,
        estimate=estimand,
        fallback=COHORT_ESTIMAND if estimand == PERSON_ESTIMAND else None,
        ax=fig.add_axes((0.14, top - height, 0.80, height)),
    )
    return fig


def _page_cohort_curves(a: CohortAnalysis, paper: str, units: str = "mg/dL") -> Figure:
    fig = _page(paper, "Glucose after meals, by condition", "All analysed meals of all people")
    plots.plot_meal_curves(
        a.curves,
        band="sem",
        units=units,
        legend="below",
        ax=fig.add_axes((0.10, 0.58, 0.84, 0.30)),
    )
    if {"control", "treatment"} <= set(a.people.columns) and len(a.people):
        plots.plot_paired(a.people, units=units, ax=fig.add_axes((0.10, 0.14, 0.38, 0.32)))
    _block(
        fig,
        0.56,
        0.46,
        "Left: each person's mean glucose iAUC without and with SPU (grey lines), and the "
        "mean of all people (black). The curves above are means of all meals with their "
        "standard error.\nRules. " + a.rules.describe(),
        fontsize=7.5,
        width=0.37,
    )
    return fig


def _window_coverage(a: CohortAnalysis) -> pd.Series:
    """Each person's % of the expected CGM readings present in their meal windows (the span
    the protocol has the CGM worn for), by subject."""
    m = a.meals
    if not len(m) or "coverage" not in m:
        return pd.Series(dtype=float)
    return 100.0 * m.groupby("subject")["coverage"].mean()


def _people_cols(units: str) -> list[tuple[str, str, Any, int]]:
    k = plots.UNITS[units]
    return [
        ("subject", "person", str, 16),
        ("n_control", "meals no SPU", lambda v: _fmt(v), 12),
        ("n_spu", "meals SPU", lambda v: _fmt(v), 9),
        ("window_coverage_pct", "CGM in windows", lambda v: _fmt(v, 0, "%"), 14),
        ("control", "iAUC no SPU", lambda v: _fmt(float(v) / k), 11),
        ("treatment", "iAUC SPU", lambda v: _fmt(float(v) / k), 8),
        (COHORT_ESTIMAND, "reduction of mean", lambda v: _fmt(v, 1, "%"), 17),
    ]


def people_table_pages(n_people: int) -> int:
    """Pages the cohort's people table takes."""
    return math.ceil(n_people / PEOPLE_PER_PAGE)


def _people_table(a: CohortAnalysis, paper: str, units: str = "mg/dL") -> list[Figure]:
    people = a.people.copy()
    if len(people):
        people["window_coverage_pct"] = people["subject"].map(_window_coverage(a))
    cols = [c for c in _people_cols(units) if c[0] in people.columns]
    lab = a.rules.ci_label
    stem = PERSON_ESTIMAND[: -len("_pct")]
    has_ci = {f"{stem}_{lab}_low", f"{stem}_{lab}_high"} <= set(people.columns)
    header = [h for _, h, _, _ in cols] + (
        [f"own N-of-1, {lab[2:]}% CI"] if has_ci else ["own N-of-1"]
    )
    widths = [w for *_, w in cols] + [24]
    figs = []
    n_pages = max(1, people_table_pages(len(people)))
    few = f"none (< {a.rules.min_meals_per_condition} meals each)"
    for i in range(n_pages):
        chunk = people.iloc[i * PEOPLE_PER_PAGE : (i + 1) * PEOPLE_PER_PAGE]
        fig = _page(
            paper,
            "People" + (" (continued)" if i else ""),
            f"Meals per condition · CGM in windows: expected readings present in the person's "
            f"meal windows · mean iAUC in {units}·min",
        )
        cells = []
        for _, r in chunk.iterrows():
            row = [fmt(r[c]) for c, _, fmt, _ in cols]
            lo = r.get(f"{stem}_{lab}_low", np.nan) if has_ci else np.nan
            hi = r.get(f"{stem}_{lab}_high", np.nan) if has_ci else np.nan
            if has_ci and np.isfinite(float(lo)) and np.isfinite(float(hi)):
                row.append(
                    f"{_fmt(r[PERSON_ESTIMAND], 1, '%')} ({_fmt(lo, 0, '%')} to {_fmt(hi, 0, '%')})"
                )
            else:
                row.append(few)
            cells.append(row)
        if not cells:
            _block(fig, LEFT, 0.90, "No person with included meals.", fontsize=9)
        else:
            _table(
                fig,
                (LEFT, CONTENT_BOTTOM + 0.03, 1 - 2 * LEFT, 0.78),
                header,
                cells,
                widths,
                fontsize=6.5,
            )
        if i == n_pages - 1:
            allow_space(fig, "the end of the people table")
        figs.append(fig)
    return figs


def _page_failed(a: CohortAnalysis, paper: str) -> Figure:
    fig = _page(paper, "People skipped", "Their files could not be read or analysed")
    y = 0.915
    for _, r in a.failed.head(60).iterrows():
        y = _block(
            fig,
            LEFT,
            y,
            f"{r['subject']}: {command_line_words(str(r['error']))[:300]}",
            fontsize=7.5,
            gap=0.003,
        )
        if y < CONTENT_BOTTOM + 0.03:
            break
    if len(a.failed) > 60:
        _block(fig, LEFT, max(y, CONTENT_BOTTOM + 0.02), f"... and {len(a.failed) - 60} more.")
    return allow_space(fig, "the list of people skipped")


def cohort_report_pages(analysis: CohortAnalysis) -> int:
    """Number of pages :func:`write_cohort_report` writes for ``analysis``."""
    n_table = max(1, people_table_pages(len(analysis.people)))
    series = 1 if analysis.nof1_series is not None else 0
    return 2 + n_table + series + (1 if len(analysis.failed) else 0)


def write_cohort_report(
    analysis: CohortAnalysis,
    path: str | os.PathLike,
    *,
    paper: str = "a4",
    title: str = "Cohort report",
    units: str | None = None,
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
    units : {"mg/dL", "mmol/L"}, optional
        Glucose units of the curves and iAUCs; default mmol/L when every CGM file was in
        mmol/L, else mg/dL.
    show_file_names : bool
        Name the source files in the footer (default: labels and short SHA-256).
    """
    if paper not in PAPER:
        raise ValueError(f"paper must be one of {sorted(PAPER)}")
    with gc_paused():
        figs = cohort_report_figures(
            analysis, paper=paper, title=title, units=units, show_file_names=show_file_names
        )
        return _save(figs, path, title)


def nof1_series_lines(a: CohortAnalysis) -> list[str]:
    """The pooled N-of-1 page's sentences (from :attr:`CohortAnalysis.nof1_series`)."""
    pop, people = a.nof1_series
    p = pop.iloc[0]
    return [
        str(p["statement"]),
        "Each person's own randomised meals give their own estimate (x); the hierarchical "
        "model puts them together: the typical person's reduction (the band), how much people "
        "differ (the between-person SD), and each person's estimate shrunk toward the others "
        "(dots with their 95% credible intervals), most for the people with the fewest or "
        "noisiest meals.",
        f"Model: each person's log ratio with its standard error; {p['prior']}. Exact on a "
        f"grid of the between-person SD. {_plural(int(p['n_people']), 'person', 'people')} "
        "with an estimate"
        + (
            f"; {_plural(int(p['n_without_estimate']), 'person', 'people')} without"
            if int(p.get("n_without_estimate", 0))
            else ""
        )
        + ".",
    ]


def _page_nof1_series(a: CohortAnalysis, paper: str) -> Figure:
    fig = _page(paper, "Pooled series of N-of-1 experiments", _cohort_counts(a))
    lines = nof1_series_lines(a)
    y = _block(fig, LEFT, 0.915, lines[0], fontsize=10.5, weight="bold", gap=0.012)
    n = len(a.nof1_series[1])
    h = min(0.55, 0.022 * n + 0.12)
    plots.plot_pooled_series(*a.nof1_series, ax=fig.add_axes((0.22, y - h, 0.70, h)))
    y -= h + 0.09
    for line in lines[1:]:
        y = _block(fig, LEFT, y, line, fontsize=9, gap=0.012)
    return allow_space(fig, "one pooled series and how to read it")


def cohort_report_figures(
    analysis: CohortAnalysis,
    *,
    paper: str = "a4",
    title: str = "Cohort report",
    units: str | None = None,
    show_file_names: bool = False,
) -> list[Figure]:
    """The pages of :func:`write_cohort_report` as figures (outside pyplot: nothing to close)."""
    units = cohort_units(analysis, units)
    pages = [
        lambda: _page_cohort_summary(analysis, paper, title),
        lambda: _page_cohort_curves(analysis, paper, units),
        lambda: _people_table(analysis, paper, units),
    ]
    if analysis.nof1_series is not None:
        pages.append(lambda: _page_nof1_series(analysis, paper))
    if len(analysis.failed):
        pages.append(lambda: _page_failed(analysis, paper))
    return _draw(pages, analysis.sources, analysis.synthetic, show_file_names)

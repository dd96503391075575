"""Figures shared by notebooks and reports: one implementation of each.

Every function takes what the analysis returned (metrics, AGP percentiles, per-meal tables,
meal curves, comparison tables) and returns a :class:`matplotlib.figure.Figure`. Nothing here
computes a measure; the few summaries drawn (means and their confidence bands) are the
plotting of means, not analysis results.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .core.schema import MGDL_PER_MMOL
from .stats import estimate_of
from .stats.bayes import threshold_column
from .stats.common import t_quantile

#: colours by condition (colour-blind safe pair) and the AGP palette
COLORS = {"control": "#6f6f6f", "spu": "#1b9e77"}
LABELS = {"control": "sitting (no SPU)", "spu": "soleus pushups"}
SHORT = {"control": "no SPU", "spu": "with SPU"}
TIR_BANDS = (
    ("very low <54", "#8b0000"),
    ("low 54–69", "#e8474b"),
    ("target 70–180", "#4caf50"),
    ("high 181–250", "#f6c343"),
    ("very high >250", "#f08c2e"),
)
#: the glucose units a report is drawn in, and mg/dL per unit
UNITS: dict[str, float] = {"mg/dL": 1.0, "mmol/L": MGDL_PER_MMOL}
#: the AGP report's fixed glucose axis (mg/dL): 0 to 350, lines at 54, 70, 180 and 250
AGP_TOP_MGDL = 350.0
AGP_LINES_MGDL = (54.0, 70.0, 180.0, 250.0)
#: the consensus range limits as printed in each unit (the mmol/L ones are the consensus
#: values, not conversions: 3.9 and 10.0 mmol/L, not 3.89 and 9.99)
RANGE_LABELS: dict[str, dict[str, str]] = {
    "mg/dL": {
        "very_low": "<54",
        "low": "54–69",
        "target": "70–180",
        "tight": "70–140",
        "high": "181–250",
        "very_high": ">250",
        "below_70": "<70",
        "above_180": ">180",
        "54": "54",
        "70": "70",
        "180": "180",
        "250": "250",
    },
    "mmol/L": {
        "very_low": "<3.0",
        "low": "3.0–3.8",
        "target": "3.9–10.0",
        "tight": "3.9–7.8",
        "high": "10.1–13.9",
        "very_high": ">13.9",
        "below_70": "<3.9",
        "above_180": ">10.0",
        "54": "3.0",
        "70": "3.9",
        "180": "10.0",
        "250": "13.9",
    },
}
_BAND_KEYS = ("very_low", "low", "target", "high", "very_high")
_BAND_NAMES = ("very low", "low", "target", "high", "very high")


def check_units(units: str) -> str:
    """``units`` when it is one of :data:`UNITS`, else a ValueError naming the choices."""
    if units not in UNITS:
        raise ValueError(f"units must be one of {', '.join(UNITS)}, got {units!r}")
    return units


def in_units(mgdl, units: str = "mg/dL"):
    """Glucose given in mg/dL, in ``units`` (arrays, Series and numbers)."""
    return mgdl / UNITS[check_units(units)]


def glucose_text(mgdl: float, units: str = "mg/dL", *, unit: bool = False) -> str:
    """One glucose value as printed: whole mg/dL or mmol/L to one decimal; "–" when missing."""
    try:
        v = float(mgdl)
    except (TypeError, ValueError):
        return "–"
    if not np.isfinite(v):
        return "–"
    text = f"{v:.0f}" if units == "mg/dL" else f"{v / UNITS[check_units(units)]:.1f}"
    return text + (f" {units}" if unit else "")


def band_labels(units: str = "mg/dL") -> list[str]:
    """The five time-in-range bands' names with their limits in ``units``."""
    lab = RANGE_LABELS[check_units(units)]
    return [f"{name} {lab[k]}" for name, k in zip(_BAND_NAMES, _BAND_KEYS, strict=True)]


def _glucose_axis(ax: Axes, units: str, *, label: bool = True, ticks: bool = True) -> None:
    """The AGP's fixed glucose axis, 0 to 350 mg/dL (19.4 mmol/L), ticked at the range limits."""
    k = UNITS[units]
    ax.set_ylim(0, AGP_TOP_MGDL / k)
    if ticks:
        marks = (*AGP_LINES_MGDL, AGP_TOP_MGDL)
        lab = RANGE_LABELS[units]
        names = [lab[f"{m:g}"] for m in AGP_LINES_MGDL] + [glucose_text(AGP_TOP_MGDL, units)]
        ax.set_yticks([0, *[m / k for m in marks]], ["0", *names])
    if label:
        ax.set_ylabel(f"glucose ({units})")


def _range_lines(ax: Axes, units: str, *, band: bool = True, minor: bool = True) -> None:
    """The target band 70-180 mg/dL with its two green lines, and thin lines at 54 and 250."""
    k = UNITS[units]
    if band:
        ax.axhspan(70 / k, 180 / k, color="#4caf50", alpha=0.10, lw=0, zorder=0)
    for t in (70.0, 180.0):
        ax.axhline(t / k, color="#2e8b3e", lw=0.9, zorder=1)
    if minor:
        for t in (54.0, 250.0):
            ax.axhline(t / k, color="#999999", lw=0.5, ls=(0, (4, 3)), zorder=1)


matplotlib.rcParams.update(
    {
        "pdf.fonttype": 42,  # embed TrueType fonts: text stays selectable in PDFs
        "ps.fonttype": 42,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.titlesize": 11,
        "axes.labelsize": 9,
        "xtick.labelsize": 8,
        "ytick.labelsize": 8,
        "legend.fontsize": 8,
    }
)


def new_figure(size: tuple[float, float], *, layout: str | None = None) -> Figure:
    """A figure of ``size`` inches on the Agg canvas, outside pyplot.

    Report pages are made this way: pyplot is not imported for them, keeps no reference to
    them (nothing to close) and they draw, save and measure their text as any figure does.

    Parameters
    ----------
    size : (float, float)
        Width and height in inches.
    layout : str, optional
        The figure's layout engine (e.g. ``"constrained"``).

    Returns
    -------
    Figure
    """
    fig = Figure(figsize=size, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def _pyplot_figure(size: tuple[float, float]) -> Figure:
    """A constrained-layout figure made by pyplot, for a plot drawn on its own (notebooks
    show and close it as any pyplot figure)."""
    import matplotlib.pyplot as plt

    return plt.figure(figsize=size, layout="constrained")


def _fig_ax(ax: Axes | None, size: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax
    fig = _pyplot_figure(size)
    return fig, fig.add_subplot()


def _mean_band(values: np.ndarray, band: str) -> tuple[float, float, float]:
    """Mean and the half-width of its band: ``"ci95"`` (t-based) or ``"sem"``."""
    v = values[np.isfinite(values)]
    if v.size == 0:
        return np.nan, np.nan, np.nan
    m = float(v.mean())
    if v.size < 2:
        return m, m, m
    se = float(v.std(ddof=1) / np.sqrt(v.size))
    half = se * (t_quantile(0.975, v.size - 1) if band == "ci95" else 1.0)
    return m, m - half, m + half


def plot_agp(
    agp: pd.DataFrame,
    *,
    units: str = "mg/dL",
    title: str = "Ambulatory glucose profile",
    ax: Axes | None = None,
) -> Figure:
    """Ambulatory Glucose Profile: median and 5/25/75/95 percentile bands by time of day.

    Drawn as the AGP report draws it: a fixed glucose axis from 0 to 350 mg/dL (19.4 mmol/L)
    whatever the data, so reports compare visit to visit; the target band 70-180 mg/dL with
    green lines, thin lines at 54 and 250 mg/dL; percentiles above the axis are cut at its top.

    Parameters
    ----------
    agp : DataFrame
        One subject's rows of :func:`soleus_analysis.metrics.agp_percentiles`: ``minute_of_day``
        and ``p5, p25, p50, p75, p95`` (mg/dL).
    units : {"mg/dL", "mmol/L"}
        Units of the axis.
    """
    k = UNITS[check_units(units)]
    fig, ax = _fig_ax(ax, (7.5, 3.2))
    x = agp["minute_of_day"].to_numpy() / 60.0
    # the last bin closes the day: draw each bin's value to its end (no gap before 24:00)
    step = float(np.median(np.diff(x))) if len(x) > 1 else 0.25
    x = np.append(x, x[-1] + step) if len(x) else x

    def col(c: str) -> np.ndarray:
        v = agp[c].to_numpy(float) / k
        return np.append(v, v[:1]) if len(v) else v  # midnight again at 24:00

    _range_lines(ax, units)
    ax.fill_between(x, col("p5"), col("p95"), color="#4f7fbf", alpha=0.18, lw=0, label="5–95%")
    ax.fill_between(x, col("p25"), col("p75"), color="#4f7fbf", alpha=0.42, lw=0, label="25–75%")
    ax.plot(x, col("p50"), color="#1f3f77", lw=2, label="median")
    ax.set_xlim(0, 24)
    ax.set_xticks(range(0, 25, 3), [f"{h:02d}:00" for h in range(0, 25, 3)])
    _glucose_axis(ax, units)
    ax.tick_params(axis="y", labelsize=6)
    ax.set_title(title, loc="left")
    ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=3, frameon=False)
    return fig


def plot_tir(
    metrics_row: pd.Series | dict, *, units: str = "mg/dL", ax: Axes | None = None
) -> Figure:
    """Time-in-ranges stacked bar (five consensus bands) with % and time per day.

    Parameters
    ----------
    metrics_row : Series or dict
        One row of :func:`soleus_analysis.metrics.glycemic_metrics` (``tbr_54_pct``,
        ``tbr_70_pct``, ``tir_pct``, ``tar_180_pct``, ``tar_250_pct``; percent of time).
    units : {"mg/dL", "mmol/L"}
        Units of the band labels.
    """
    m = {k: float(v) for k, v in dict(metrics_row).items() if k.endswith("_pct")}
    parts = [
        m["tbr_54_pct"],
        m["tbr_70_pct"] - m["tbr_54_pct"],
        m["tir_pct"],
        m["tar_180_pct"] - m["tar_250_pct"],
        m["tar_250_pct"],
    ]
    fig, ax = _fig_ax(ax, (3.2, 3.6))
    parts = [max(0.0, float(p)) if np.isfinite(p) else 0.0 for p in parts]
    bottoms = np.concatenate([[0.0], np.cumsum(parts)[:-1]])
    for (_, color), pct, bottom in zip(TIR_BANDS, parts, bottoms, strict=True):
        ax.bar(0, pct, bottom=bottom, color=color, width=0.5, edgecolor="white", lw=0.5)
    label_y = _spread(bottoms + np.asarray(parts) / 2, gap=11.0, lo=4.0, hi=94.0)
    for name, pct, yc, yl in zip(
        band_labels(units), parts, bottoms + np.asarray(parts) / 2, label_y, strict=True
    ):
        minutes = pct / 100 * 24 * 60
        per_day = f"{minutes / 60:.1f} h" if minutes >= 60 else f"{minutes:.0f} min"
        ax.annotate(
            f"{name} {units}\n{pct:.1f}% ({per_day}/day)",
            xy=(0.26, yc),
            xytext=(0.45, yl),
            va="center",
            fontsize=6.5,
            arrowprops={"arrowstyle": "-", "color": "#999999", "lw": 0.6},
        )
    ax.set_xlim(-0.3, 2.4)
    ax.set_ylim(0, 100)
    ax.set_xticks([])
    ax.spines["bottom"].set_visible(False)
    ax.set_ylabel("% of time")
    ax.set_title("Time in ranges", loc="left")
    return fig


#: colours of the GRI zones A (lowest risk) to E
GRI_COLORS = ("#d8efd3", "#f3f1c4", "#fbe0bb", "#f7c1a8", "#ee9f95")


def plot_gri(hypo: float, hyper: float, gri: float, zone: str, *, ax: Axes | None = None) -> Figure:
    """The GRI grid (Klonoff et al. 2023): hypoglycemia component (x, 0-30 %) against
    hyperglycemia component (y, 0-60 %), shaded by zone A-E, with this period's point.

    Parameters
    ----------
    hypo, hyper : float
        The two components, % of time (:func:`soleus_analysis.metrics.gri_components`); a point
        beyond the grid is drawn on its edge.
    gri : float
        The GRI (0-100).
    zone : str
        Its zone (:func:`soleus_analysis.metrics.gri_zone`).
    """
    fig, ax = _fig_ax(ax, (2.2, 2.2))
    xx, yy = np.meshgrid(np.linspace(0, 30, 121), np.linspace(0, 60, 121))
    ax.contourf(xx, yy, 3.0 * xx + 1.6 * yy, levels=[0, 20, 40, 60, 80, 1e9], colors=GRI_COLORS)
    for z, (name, top) in enumerate((("A", 10), ("B", 30), ("C", 50), ("D", 70), ("E", 95))):
        x = min(top / 3.0 / 2.0, 26.0) if z < 4 else 27.0
        y = (top - 3.0 * x) / 1.6 if z < 4 else 55.0
        ax.text(x, y, name, fontsize=7, ha="center", va="center", color="#555555")
    if np.isfinite([hypo, hyper]).all():
        px, py = min(max(hypo, 0.0), 30.0), min(max(hyper, 0.0), 60.0)
        ax.plot(px, py, "o", color="black", ms=5, zorder=5)
    ax.set_xlim(0, 30)
    ax.set_ylim(0, 60)
    ax.set_xticks([0, 10, 20, 30])
    ax.set_yticks([0, 20, 40, 60])
    ax.tick_params(labelsize=6)
    ax.set_xlabel("hypoglycemia\ncomponent (%)", fontsize=6.5)
    ax.set_ylabel("hyperglycemia\ncomponent (%)", fontsize=6.5)
    title = f"GRI {gri:.0f}, zone {zone}" if np.isfinite(gri) and zone else "GRI"
    ax.set_title(title, loc="left", fontsize=8.5)
    return fig


def _spread(y: np.ndarray, *, gap: float, lo: float, hi: float) -> np.ndarray:
    """Label positions near ``y`` (ascending) at least ``gap`` apart, kept within ``[lo, hi]``."""
    out = np.asarray(y, dtype=float).copy()
    for i in range(len(out)):
        out[i] = max(out[i], lo if i == 0 else out[i - 1] + gap)
    if len(out) and out[-1] > hi:
        out[-1] = hi
        for i in range(len(out) - 2, -1, -1):
            out[i] = min(out[i], out[i + 1] - gap)
    return out


def plot_meal_curves(
    curves: pd.DataFrame,
    *,
    value: str = "delta_mgdl",
    band: str = "ci95",
    units: str = "mg/dL",
    ax: Axes | None = None,
    title: str = "Glucose after meals",
    legend: str = "below",
) -> Figure:
    """Mean post-meal curve by condition, aligned at the meal, with a 95% CI or SEM band.

    Parameters
    ----------
    curves : DataFrame
        Long table from :func:`soleus_analysis.align.meal_curves` (``condition``, ``minute``
        and ``value``), one curve per meal (or per person and condition in a crossover).
    value : str
        Column to draw: ``"delta_mgdl"`` (change from baseline) or ``"glucose_mgdl"``.
    band : {"ci95", "sem"}
        Width of the band around each mean.
    units : {"mg/dL", "mmol/L"}
        Units of the axis (the table's values are mg/dL).
    legend : str, default "below"
        Where the legend goes: ``"below"`` (under the axes, never on a curve) or a matplotlib
        ``loc`` inside the axes.
    """
    k = UNITS[check_units(units)]
    fig, ax = _fig_ax(ax, (5.0, 3.4))
    for cond in ("control", "spu"):
        sub = curves[curves["condition"] == cond]
        if sub.empty:
            continue
        grid = np.sort(sub["minute"].unique())
        rows = [
            _mean_band(g[value].to_numpy(float) / k, band)
            for _, g in sub.groupby("minute", sort=True)
        ]
        mean, lo, hi = (np.array(c) for c in zip(*rows, strict=True))
        n = sub.groupby("minute")[value].count().max()
        ax.fill_between(grid, lo, hi, color=COLORS[cond], alpha=0.2, lw=0)
        ax.plot(grid, mean, color=COLORS[cond], lw=2, label=f"{LABELS[cond]} (n={n})")
    if curves.empty or not curves["condition"].isin(list(COLORS)).any():
        ax.text(
            0.5, 0.5, "no meals with a usable response yet", ha="center", transform=ax.transAxes
        )
    ax.axvline(0, color="black", lw=0.8)
    if value.startswith("delta"):
        ax.axhline(0, color="black", lw=0.5, ls=":")
    ax.set_xlabel("minutes from meal")
    ax.set_ylabel(
        f"glucose change ({units})" if value.startswith("delta") else f"glucose ({units})"
    )
    ax.set_title(title + (" (mean ± 95% CI)" if band == "ci95" else " (mean ± SEM)"), loc="left")
    if ax.get_legend_handles_labels()[0]:
        if legend == "below":
            ax.legend(
                frameon=False,
                loc="upper left",
                bbox_to_anchor=(0.0, -0.2),
                ncols=2,
                borderaxespad=0.0,
            )
        else:
            ax.legend(frameon=False, loc=legend)
    return fig


def plot_meal_dots(
    meals: pd.DataFrame,
    *,
    value: str = "iauc_mgdl_min",
    seed: int = 0,
    units: str = "mg/dL",
    ax: Axes | None = None,
) -> Figure:
    """Each meal as a dot by condition (included meals only), with the mean and its 95% CI.

    Parameters
    ----------
    meals : DataFrame
        Per-meal table from :func:`soleus_analysis.meal_responses`.
    value : str
        Column to draw, e.g. ``"iauc_mgdl_min"`` (mg/dL·min).
    seed : int
        Seed of the horizontal jitter.
    units : {"mg/dL", "mmol/L"}
        Units of the axis (the table's values are mg/dL).
    """
    k = UNITS[check_units(units)]
    rng = np.random.default_rng(seed)
    fig, ax = _fig_ax(ax, (3.6, 3.4))
    ok = meals[meals["excluded_reason"].isna()] if "excluded_reason" in meals else meals
    for i, cond in enumerate(("control", "spu")):
        v = ok.loc[ok["condition"] == cond, value].to_numpy(float) / k
        ax.scatter(i + rng.uniform(-0.18, 0.18, v.size), v, s=14, color=COLORS[cond], alpha=0.7)
        m, lo, hi = _mean_band(v, "ci95")
        if np.isfinite(m):
            ax.errorbar(
                i + 0.32, m, yerr=[[m - lo], [hi - m]], fmt="D", color="black", ms=5, capsize=3
            )
    ax.set_xticks(
        [0, 1],
        [f"{SHORT[c]}\n(n={int((ok['condition'] == c).sum())})" for c in ("control", "spu")],
    )
    ax.set_xlim(-0.5, 1.6)
    ax.set_ylabel(f"iAUC ({units}·min)" if value.startswith("iauc") else value)
    ax.set_title("Each meal's rise (iAUC)", loc="left")
    return fig


def plot_forest(
    people: pd.DataFrame,
    *,
    pooled: pd.Series | dict | None = None,
    label: str = "subject",
    estimate: str = "reduction_mean_ratio_pct",
    fallback: str | None = None,
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Forest plot of per-person reductions (%) and the pooled estimate.

    Parameters
    ----------
    people : DataFrame
        One row per person (top to bottom in this order) with ``estimate`` (%) and, where the
        table has them, its own interval columns ``<estimand>_ci95_low``/``_high`` (%; NaN draws
        the point alone; another estimand's interval is never drawn).
    pooled : Series or dict, optional
        A pooled row (``estimate_pct`` with its interval, %), drawn as a diamond at the bottom.
    estimate : str
        The per-person estimand column.
    fallback : str, optional
        Another estimand column drawn (hollow, without an interval) for the people whose
        ``estimate`` is missing, e.g. the reduction of their means when they have too few
        meals for their own estimate; a legend below the plot says which is which.
    title : str, optional
        The title; default says whether intervals are drawn: "Reduction by person (95% CI)"
        only when at least one person's interval is.
    """
    n = len(people)
    fig, ax = _fig_ax(ax, (5.5, max(2.5, 0.22 * n + 1.4)))
    y = np.arange(n)[::-1] + 1.0
    est = people[estimate].to_numpy(float) if n else np.zeros(0)
    xs = [est]
    stem = estimate[: -len("_pct")]
    lo_col = next(
        (c for c in people.columns if c.startswith(f"{stem}_ci") and c.endswith("_low")), None
    )
    has_ci = lo_col is not None and lo_col.replace("_low", "_high") in people.columns
    n_ci = 0
    level = "95%"
    if has_ci:
        lo = people[lo_col].to_numpy(float)
        hi = people[lo_col.replace("_low", "_high")].to_numpy(float)
        ok = np.isfinite(lo) & np.isfinite(hi)
        n_ci = int(ok.sum())
        ax.hlines(y[ok], lo[ok], hi[ok], color="#555555", lw=1)
        xs += [lo[ok], hi[ok]]
        level = lo_col[len(stem) + 3 : -len("_low")].replace("_", ".") + "%"
    ax.plot(est, y, "s", color=COLORS["spu"], ms=4, ls="none", label="person")
    hollow = np.zeros(0)
    if fallback is not None and fallback in people.columns and n:
        fb = people[fallback].to_numpy(float)
        use = ~np.isfinite(est) & np.isfinite(fb)
        hollow = fb[use]
        if use.any():
            ax.plot(hollow, y[use], "s", mfc="white", mec=COLORS["spu"], ms=4, ls="none")
            xs.append(hollow)
    ticks, labels = list(y), list(people[label].astype(str)) if n else []
    if pooled is not None:
        _, d, plo, phi, plevel = estimate_of(pooled, "estimate_pct")
        if np.isfinite([d, plo, phi]).all():
            ax.fill(
                [plo, d, phi, d], [0, 0.3, 0, -0.3], color="black", label=f"pooled ({plevel} CI)"
            )
            ax.axvline(d, color="black", lw=0.6, ls=":")
            ticks.append(0.0)
            labels.append("pooled")
            xs.append(np.array([plo, phi]))
    allx = np.concatenate([np.atleast_1d(v) for v in xs] + [np.array([0.0])])
    allx = allx[np.isfinite(allx)]
    pad = 0.08 * max(float(np.ptp(allx)), 20.0)
    ax.set_xlim(float(allx.min()) - pad, float(allx.max()) + pad)
    ax.set_ylim(-0.8 if pooled is not None else 0.3, n + 0.7)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(ticks, labels, fontsize=6 if n > 25 else 8)
    ax.set_xlabel("reduction in glucose iAUC with SPU (%; right of 0 = lower with SPU)")
    if title is None:
        if n_ci == n and n:
            title = f"Reduction by person ({level} CI)"
        elif n_ci:
            title = f"Reduction by person ({level} CI where the person has one)"
        else:
            title = "Reduction by person (no intervals: too few meals per person)"
    ax.set_title(title, loc="left")
    if hollow.size:
        marks = [
            Line2D([], [], marker="s", color=COLORS["spu"], ls="none", ms=4),
            Line2D([], [], marker="s", mfc="white", mec=COLORS["spu"], ls="none", ms=4),
        ]
        ax.legend(
            marks,
            [
                f"own estimate with its {level} CI",
                "reduction of the mean (too few meals for an interval)",
            ],
            loc="upper left",
            bbox_to_anchor=(0.0, -0.12),
            ncols=2,
            frameon=False,
            fontsize=7,
        )
    return fig


def plot_paired(
    people: pd.DataFrame,
    *,
    value_label: str | None = None,
    units: str = "mg/dL",
    ax: Axes | None = None,
) -> Figure:
    """Per-person lines from sitting to SPU (columns ``control`` and ``treatment``, mg/dL·min
    iAUCs drawn in ``units``·min; ``value_label`` names another measure's axis)."""
    k = UNITS[check_units(units)] if value_label is None else 1.0
    value_label = value_label or f"glucose iAUC ({units}·min)"
    fig, ax = _fig_ax(ax, (3.4, 3.4))
    for _, r in people.iterrows():
        ax.plot(
            [0, 1],
            [r["control"] / k, r["treatment"] / k],
            color="#999999",
            lw=0.8,
            marker="o",
            ms=3,
        )
    ax.plot(
        [0, 1],
        [people["control"].mean() / k, people["treatment"].mean() / k],
        color="black",
        lw=2.5,
        marker="o",
    )
    ax.set_xticks([0, 1], [LABELS["control"], LABELS["spu"]])
    ax.set_xlim(-0.3, 1.3)
    ax.set_ylabel(value_label)
    ax.set_title("Each person, both conditions", loc="left")
    return fig


def plot_dose_response(
    meals: pd.DataFrame,
    *,
    dose: str = "spu_minutes",
    value: str = "iauc_mgdl_min",
    fit: pd.Series | dict | None = None,
    per: float = 10.0,
    seed: int = 0,
    units: str = "mg/dL",
    ax: Axes | None = None,
) -> Figure:
    """Each included meal's iAUC against its SPU minutes (control meals at 0), with the fitted slope.

    Parameters
    ----------
    meals : DataFrame
        Per-meal table (``dose`` in min, ``value`` in mg/dL·min).
    fit : Series or dict, optional
        The row of :func:`soleus_analysis.compare.dose_response`: ``estimate`` is the change of
        ``value`` per ``per`` SPU minutes among SPU meals. Its line spans the SPU meals' minutes
        and passes through their mean (the slope is estimated among SPU meals only: control
        meals at 0 are not on it; the covariate-adjusted intercept is not a point on this plot).
    seed : int
        Seed of the small horizontal jitter.
    units : {"mg/dL", "mmol/L"}
        Units of the axis (the table's values and the fit are mg/dL).
    """
    k = UNITS[check_units(units)]
    fig, ax = _fig_ax(ax, (3.8, 3.2))
    ok = meals[meals["excluded_reason"].isna()] if "excluded_reason" in meals else meals
    x = ok[dose].to_numpy(float)
    if "condition" in ok:
        x = np.where(np.isnan(x) & (ok["condition"] == "control").to_numpy(), 0.0, x)
    yv = ok[value].to_numpy(float) / k
    good = np.isfinite(x) & np.isfinite(yv)
    x, yv = x[good], yv[good]
    jitter = np.random.default_rng(seed).uniform(-0.6, 0.6, x.size)
    colors = np.where(x > 0, COLORS["spu"], COLORS["control"])
    ax.scatter(x + jitter, yv, s=12, c=list(colors), alpha=0.7)
    if fit is not None and x.size:
        slope = float(dict(fit)["estimate"]) / per / k
        spu = x > 0
        if spu.any():
            xs, ys = x[spu], yv[spu]
            xx = np.linspace(float(xs.min()), float(xs.max()), 50)
            ax.plot(xx, ys.mean() + slope * (xx - xs.mean()), color="black", lw=1.5)
    ax.set_xlabel("SPU minutes around the meal (0 = none)")
    ax.set_ylabel(f"iAUC ({units}·min)")
    ax.set_title("More SPU, smaller rise?", loc="left")
    return fig


#: events closer than this (hours) share one label on a daily panel, so labels never overlap
_LABEL_CLUSTER_H = 2.5


def _clusters(times: pd.Series, hours: float) -> np.ndarray:
    """Cluster number of each (sorted) time: a new cluster starts ``hours`` after the last's start."""
    out, start, k = np.zeros(len(times), dtype=int), None, -1
    for i, t in enumerate(times):
        if start is None or (t - start) / pd.Timedelta(hours=1) >= hours:
            start, k = t, k + 1
        out[i] = k
    return out


def _mark_amounts(
    ax: Axes,
    rows: pd.DataFrame,
    column: str,
    y: float,
    *,
    marker: str,
    color: str,
    label_color: str,
    label: str,
    dy: float,
    bbox: dict | None = None,
    x: Callable[[pd.Series], Any] = lambda t: t,
) -> None:
    """Events of one kind as markers at height ``y``, the summed ``column`` of each cluster of
    nearby events written once beside its first marker (``label`` formats the amount);
    ``x`` maps the events' times to the axes' x (default: the times themselves)."""
    rows = rows.sort_values("time").reset_index(drop=True)  # row i is marker i
    if not len(rows):
        return
    xs = np.asarray(x(rows["time"]))
    ax.plot(xs, np.full(len(rows), y), marker, color=color, ms=4.5)
    amounts = (
        pd.to_numeric(rows[column], errors="coerce")
        if column in rows
        else pd.Series(np.nan, index=rows.index)
    )
    for _, grp in rows.groupby(_clusters(rows["time"], _LABEL_CLUSTER_H)):
        total = amounts.loc[grp.index].sum(min_count=1)
        if np.isfinite(total):
            late = grp["time"].iloc[0].hour >= 21
            ax.annotate(
                label.format(total),
                (xs[grp.index[0]], y),
                xytext=(0, dy),
                textcoords="offset points",
                ha="right" if late else "left",
                va="bottom" if dy > 0 else "top",
                fontsize=5.5,
                color=label_color,
                **({"bbox": bbox} if bbox else {}),
            )


def _mark_events(
    ax: Axes, ev: pd.DataFrame, top: float, x: Callable[[pd.Series], Any] = lambda t: t
) -> None:
    """Meals (▲, carbs in g), insulin doses (▼, units) and SPU bouts (green bar) on a panel;
    ``x`` maps times to the axes' x (default: the times themselves)."""
    _mark_amounts(
        ax,
        ev[ev["kind"] == "meal"],
        "carbs_g",
        0.035 * top,
        marker="^",
        color="#d95f02",
        label_color="#a04000",
        label="{:.0f} g",
        dy=4,
        bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.85},
        x=x,
    )
    _mark_amounts(
        ax,
        ev[ev["kind"] == "insulin"],
        "insulin_u",
        0.965 * top,
        marker="v",
        color="#6a3d9a",
        label_color="#6a3d9a",
        label="{:g} U",
        dy=-4,
        x=x,
    )
    spu = ev[ev["kind"] == "spu"]
    if len(spu):
        start = spu["time"]
        end = spu["end"].where(spu["end"].notna(), start + pd.Timedelta(minutes=5))
        for a, b in zip(np.asarray(x(start)), np.asarray(x(end)), strict=True):
            ax.axvspan(a, b, ymax=0.05, color=COLORS["spu"], lw=0)


def _box_rows(
    fig: Figure, days: pd.DatetimeIndex, ncols: int
) -> list[tuple[Axes, pd.DatetimeIndex]]:
    """One axes a row of ``ncols`` days (``fig``'s subplot parameters), each with its days; a
    short last row is made as narrow as its days so that its boxes are as wide as the rest."""
    nrows = max(1, int(np.ceil(len(days) / ncols)))
    out = []
    for r, ax in enumerate(fig.subplots(nrows, 1, squeeze=False)[:, 0]):
        row = days[r * ncols : (r + 1) * ncols]
        if len(row) < ncols:
            pos = ax.get_position()
            ax.set_position((pos.x0, pos.y0, pos.width * len(row) / ncols, pos.height))
        out.append((ax, row))
    return out


def _row_trace(
    times: np.ndarray, values: np.ndarray, row: pd.DatetimeIndex
) -> tuple[np.ndarray, np.ndarray]:
    """The readings of a row's days as one line: day ``j`` at x = j + fraction of the day,
    NaN between days; ``times`` ascending datetime64[ns] (each day by binary search)."""
    one_day = np.timedelta64(1, "D")
    xs: list[np.ndarray] = [np.zeros(0)]
    ys: list[np.ndarray] = [np.zeros(0)]
    for j, day in enumerate(row):
        start = np.datetime64(pd.Timestamp(day).to_datetime64(), "ns")
        lo, hi = np.searchsorted(times, np.array([start, start + one_day]), side="left")
        xs += [j + (times[lo:hi] - start) / one_day, np.array([np.nan])]
        ys += [values[lo:hi], np.array([np.nan])]
    return np.concatenate(xs), np.concatenate(ys)


def _frame_row(ax: Axes, n: int, top: float, units: str, color: str) -> None:
    """A row of ``n`` day boxes: x from 0 to ``n`` with a line between days, glucose from 0
    to ``top`` mg/dL ticked at 70 and 180, the top and right spines drawn in ``color``."""
    k = UNITS[units]
    for j in range(1, n):
        ax.axvline(j, color=color, lw=0.8, zorder=2)
    ax.set_xlim(0, max(n, 1))
    ax.set_ylim(0, top / k)
    ax.set_yticks([70 / k, 180 / k], [RANGE_LABELS[units]["70"], RANGE_LABELS[units]["180"]])
    for side in ("top", "right"):
        ax.spines[side].set_visible(True)
        ax.spines[side].set_color(color)


def _profile_rows(
    fig: Figure,
    times: np.ndarray,
    values: np.ndarray,
    days: pd.DatetimeIndex,
    units: str,
    ncols: int,
) -> None:
    """The AGP report's daily profiles: ``ncols`` days side by side in one box a day, one
    axes a row (a row's days share its glucose axis, 0-350 mg/dL, and its target lines).

    ``times`` (datetime64[ns], ascending) and ``values`` (in ``units``) are the readings; a
    day's box spans midnight to midnight, with its date in the corner and 12:00 ticked under
    the last row.
    """
    rows = _box_rows(fig, days, ncols)
    for r, (ax, row) in enumerate(rows):
        n = len(row)
        for j, day in enumerate(row):
            ax.text(
                j + 0.04,
                0.96,
                pd.Timestamp(day).strftime("%a %d %b"),
                transform=ax.get_xaxis_transform(),
                fontsize=5.5,
                va="top",
                ha="left",
                color="#333333",
            )
        _range_lines(ax, units, band=True, minor=False)
        ax.plot(*_row_trace(times, values, row), color="#1f3f77", lw=0.8)
        _frame_row(ax, n, AGP_TOP_MGDL, units, "#cccccc")
        ax.set_xticks(np.arange(n) + 0.5, ["12:00"] * n)
        ax.tick_params(labelsize=5.5, length=2, pad=1)
        if r < len(rows) - 1:  # the time of day under the last row only
            ax.tick_params(labelbottom=False)


def _panel_top(values_mgdl: np.ndarray) -> float:
    """Top of the daily panels' glucose axis (mg/dL): 400, or 10 above the highest reading."""
    finite = values_mgdl[np.isfinite(values_mgdl)]
    return max(400.0, float(finite.max()) + 10.0) if len(finite) else 400.0


def _day_rows(
    fig: Figure,
    times: np.ndarray,
    values: np.ndarray,
    events: pd.DataFrame | None,
    days: pd.DatetimeIndex,
    units: str,
    ncols: int,
    top: float,
) -> None:
    """The daily panels: ``ncols`` days side by side a row, one box a day on one axes a row
    (day ``j`` of a row spans x in [j, j + 1], midnight to midnight), with the target band,
    the 54/250 lines, events marked and the date above each box.

    ``times`` (datetime64[ns], ascending) and ``values`` (in ``units``) are the readings;
    ``top`` is the axis' top in mg/dL.
    """
    k = UNITS[units]
    ev_all = events if events is not None and len(events) else None
    for ax, row in _box_rows(fig, days, ncols):
        n = len(row)
        _range_lines(ax, units, band=True, minor=True)
        for j, day in enumerate(row):
            ax.text(
                j,
                1.04,
                pd.Timestamp(day).strftime("%a %d %b %Y"),
                transform=ax.get_xaxis_transform(),
                fontsize=8,
                va="bottom",
                ha="left",
                gid="day-title",
            )
            if ev_all is not None:
                nxt = day + pd.Timedelta(days=1)
                ev = ev_all[(ev_all["time"] >= day) & (ev_all["time"] < nxt)]
                if len(ev):
                    _mark_events(
                        ax,
                        ev,
                        top / k,
                        x=lambda t, j=j, day=day: j + (t - day) / pd.Timedelta(days=1),
                    )
        ax.plot(*_row_trace(times, values, row), color="#1f3f77", lw=1)
        _frame_row(ax, n, top, units, "#888888")
        ax.tick_params(axis="y", labelsize=6)
        # the hours 00, 06, 12, 18 of each box (and the last midnight) at fixed places
        quarters = np.arange(4 * max(n, 1) + 1)
        ax.set_xticks(quarters / 4, [f"{6 * (q % 4):02d}" for q in quarters])
        ax.set_ylabel(units, fontsize=7)


def plot_day(
    readings: pd.DataFrame,
    events: pd.DataFrame | None = None,
    *,
    days: Sequence[pd.Timestamp] | None = None,
    units: str = "mg/dL",
    ncols: int = 2,
    max_days: int = 14,
    compact: bool = False,
    fig: Figure | None = None,
    title: str | None = "Daily glucose (▲ meal, ▼ insulin, green bar: SPU)",
) -> Figure:
    """Daily glucose panels (midnight to midnight) with the target range, meals, insulin and SPU.

    Parameters
    ----------
    readings : DataFrame
        Canonical readings of one subject (mg/dL).
    events : DataFrame, optional
        Canonical events: meals are drawn as ▲ with their carbs (g), insulin doses as ▼ with
        their units (doses less than 2.5 h apart share a label), SPU bouts as green bars.
    days : sequence of Timestamp, optional
        Days to draw; default the last ``max_days`` days with readings.
    units : {"mg/dL", "mmol/L"}
        Units of the axis.
    compact : bool
        The AGP report's small daily profiles: ``ncols`` days side by side, one box a day
        on one axes a row, glucose and the target lines only, a fixed axis of 0-350 mg/dL,
        the date in each box, no event marks (``events`` is ignored).
        Otherwise the axis runs from 0 to 400 mg/dL (higher when a reading is), with the
        events marked.
    fig : Figure or SubFigure, optional
        Draw into this (e.g. part of a report page) instead of a new figure.
    title : str or None
        Figure title; None for none (a report page has its own).
    """
    k = UNITS[check_units(units)]
    t = readings["time"]
    all_days = pd.DatetimeIndex(t.dt.normalize().unique()).sort_values()
    days = pd.DatetimeIndex(days) if days is not None else all_days[-max_days:]
    nrows = max(1, int(np.ceil(len(days) / ncols)))
    if fig is None:
        height = (0.9 if compact else 1.35) * nrows + 0.4
        fig = _pyplot_figure((7.5, height))
    # each day's readings by binary search on the times in order (not a mask per day)
    order = np.argsort(t.to_numpy(dtype="datetime64[ns]"), kind="stable")
    times = t.to_numpy(dtype="datetime64[ns]")[order]
    values = readings["glucose_mgdl"].to_numpy(dtype="float64")[order] / k
    if compact:
        _profile_rows(fig, times, values, days, units, ncols)
    else:
        _day_rows(fig, times, values, events, days, units, ncols, top=_panel_top(values * k))
    if title:
        fig.suptitle(title, fontsize=10, x=0.01, ha="left")
    return fig


def plot_reduction_posterior(
    row: pd.Series | dict,
    *,
    thresholds: Sequence[float] = (0.0, 10.0, 20.0),
    ax: Axes | None = None,
) -> Figure:
    """The posterior of a person's reduction (%), with the thresholds and the credible interval.

    Draws the Student-t posterior of the log ratio that
    :func:`soleus_analysis.stats.bayes.bayes_n_of_1` returned (``log_ratio_mean``, ``_sd``,
    ``_dof``) on the reduction scale, ``100 * (1 - exp(delta))``, shading the 95% credible
    interval and marking each threshold with its probability.

    Parameters
    ----------
    row : Series or dict
        One row of :func:`~soleus_analysis.stats.bayes.bayes_n_of_1`.
    thresholds : sequence of float
        Reductions (%) to mark (their ``p_reduction_ge_*pct`` columns are printed beside them).
    """
    from scipy import special

    fig, ax = _fig_ax(ax, (5.0, 2.4))
    r = dict(row)
    mu, sd, dof = (
        float(r.get(k, np.nan)) for k in ("log_ratio_mean", "log_ratio_sd", "log_ratio_dof")
    )
    if not np.isfinite([mu, sd]).all() or sd <= 0:
        ax.text(0.5, 0.5, "no posterior yet", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    dof = dof if np.isfinite(dof) and dof > 2 else 30.0
    scale = sd * np.sqrt((dof - 2) / dof)
    lo_d, hi_d = mu - 5 * sd, mu + 5 * sd
    red = np.linspace(100 * (1 - np.exp(hi_d)), min(100 * (1 - np.exp(lo_d)), 99.0), 400)
    delta = np.log1p(-red / 100.0)
    z = (delta - mu) / scale
    log_pdf = (
        special.gammaln((dof + 1) / 2)
        - special.gammaln(dof / 2)
        - 0.5 * np.log(dof * np.pi)
        - (dof + 1) / 2 * np.log1p(z**2 / dof)
    )
    dens = np.exp(log_pdf) / scale / (100.0 - red)  # change of variable to the reduction (%)
    ax.plot(red, dens, color=COLORS["spu"], lw=1.5)
    lo = float(r.get("reduction_geomean_cri95_low", np.nan))
    hi = float(r.get("reduction_geomean_cri95_high", np.nan))
    if np.isfinite([lo, hi]).all():
        inside = (red >= lo) & (red <= hi)
        ax.fill_between(red[inside], dens[inside], color=COLORS["spu"], alpha=0.25, lw=0)
    top = float(dens.max())
    probs = []
    for x in thresholds:
        if red[0] <= x <= red[-1]:
            ax.axvline(x, color="0.35", lw=0.8, ls="--")
        p = r.get(threshold_column(x), np.nan)
        if np.isfinite(float(p)):
            probs.append(f"≥ {x:g}%: {100 * float(p):.0f}%")
    if probs:  # one line above the curve: labels at the lines would collide when they are close
        ax.set_title("chance of a reduction " + " · ".join(probs), fontsize=8, loc="left")
    ax.set_ylim(0, top * 1.1)
    ax.set_yticks([])
    ax.set_xlabel("reduction of your typical post-meal rise with SPU (%)")
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    return fig


def plot_pooled_series(
    population: pd.DataFrame, people: pd.DataFrame, *, ax: Axes | None = None
) -> Figure:
    """A pooled N-of-1 series: each person's own estimate, their shrunken estimate with its 95%
    credible interval, and the population's (from
    :func:`soleus_analysis.stats.bayes.pooled_n_of_1`), as reductions (%)."""
    n = len(people)
    fig, ax = _fig_ax(ax, (5.0, 0.25 * n + 1.2))
    yy = np.arange(n)[::-1]
    est = people["shrunken_reduction_pct"].to_numpy(float)
    lo = people["shrunken_cri95_low"].to_numpy(float)
    hi = people["shrunken_cri95_high"].to_numpy(float)
    ax.errorbar(
        est,
        yy,
        xerr=[est - lo, hi - est],
        fmt="o",
        ms=3,
        color=COLORS["spu"],
        lw=0.9,
        label="shrunken (95% CrI)",
    )
    ax.plot(
        people["reduction_geomean_pct"].to_numpy(float),
        yy,
        "x",
        color="0.35",
        ms=4,
        label="own estimate",
    )
    pop = population.iloc[0]
    ax.axvspan(
        float(pop["reduction_geomean_cri95_low"]),
        float(pop["reduction_geomean_cri95_high"]),
        color=COLORS["spu"],
        alpha=0.12,
        lw=0,
        label="population (95% CrI)",
    )
    ax.axvline(float(pop["reduction_geomean_pct"]), color=COLORS["spu"], lw=1.2)
    ax.axvline(0, color="0.5", lw=0.6)
    ax.set_yticks(yy, [str(s) for s in people["subject"]], fontsize=7)
    ax.set_ylim(-0.8, n - 0.2)
    ax.set_xlabel("reduction of the typical post-meal rise with SPU (%)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=3, fontsize=7, frameon=False)
    return fig

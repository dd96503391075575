"""Figures shared by notebooks and reports: one implementation of each.

Every function takes what the analysis returned (metrics, AGP percentiles, per-meal tables,
meal curves, comparison tables) and returns a :class:`matplotlib.figure.Figure`. Nothing here
computes a measure; the few summaries drawn (means and their confidence bands) are the
plotting of means, not analysis results.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .stats import estimate_of
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

plt.rcParams.update(
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


def _fig_ax(ax: plt.Axes | None, size: tuple[float, float]) -> tuple[Figure, plt.Axes]:
    if ax is not None:
        return ax.figure, ax
    fig, ax = plt.subplots(figsize=size, layout="constrained")
    return fig, ax


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
    targets: tuple[float, float] = (70.0, 180.0),
    title: str = "Ambulatory glucose profile",
    ax: plt.Axes | None = None,
) -> Figure:
    """Ambulatory Glucose Profile: median and 5/25/75/95 percentile bands by time of day.

    Parameters
    ----------
    agp : DataFrame
        One subject's rows of :func:`soleus_analysis.metrics.agp_percentiles`: ``minute_of_day``
        and ``p5, p25, p50, p75, p95`` (mg/dL).
    targets : (float, float)
        Target range lines, mg/dL.
    """
    fig, ax = _fig_ax(ax, (7.5, 3.2))
    x = agp["minute_of_day"].to_numpy() / 60.0
    ax.axhspan(*targets, color="#4caf50", alpha=0.08, lw=0)
    ax.fill_between(x, agp["p5"], agp["p95"], color="#4f7fbf", alpha=0.18, lw=0, label="5–95%")
    ax.fill_between(x, agp["p25"], agp["p75"], color="#4f7fbf", alpha=0.42, lw=0, label="25–75%")
    ax.plot(x, agp["p50"], color="#1f3f77", lw=2, label="median")
    for t in targets:
        ax.axhline(t, color="#4caf50", lw=1, ls="--")
    ax.set_xlim(0, 24)
    ax.set_xticks(range(0, 25, 3), [f"{h:02d}:00" for h in range(0, 25, 3)])
    ax.set_ylabel("glucose (mg/dL)")
    top = agp["p95"].to_numpy(float)
    top = top[np.isfinite(top)]
    ax.set_ylim(40, max(250.0, float(top.max()) + 10) if top.size else 250.0)
    ax.set_title(title, loc="left")
    ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=3, frameon=False)
    return fig


def plot_tir(metrics_row: pd.Series | dict, *, ax: plt.Axes | None = None) -> Figure:
    """Time-in-ranges stacked bar (five consensus bands) with % and time per day.

    Parameters
    ----------
    metrics_row : Series or dict
        One row of :func:`soleus_analysis.metrics.glycemic_metrics` (``tbr_54_pct``,
        ``tbr_70_pct``, ``tir_pct``, ``tar_180_pct``, ``tar_250_pct``; percent of time).
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
    label_y = _spread(bottoms + np.asarray(parts) / 2, gap=9.0, lo=3.0, hi=97.0)
    for (name, _), pct, yc, yl in zip(
        TIR_BANDS, parts, bottoms + np.asarray(parts) / 2, label_y, strict=True
    ):
        minutes = pct / 100 * 24 * 60
        per_day = f"{minutes / 60:.1f} h" if minutes >= 60 else f"{minutes:.0f} min"
        ax.annotate(
            f"{name} mg/dL\n{pct:.1f}% ({per_day}/day)",
            xy=(0.26, yc),
            xytext=(0.45, yl),
            va="center",
            fontsize=7,
            arrowprops={"arrowstyle": "-", "color": "#999999", "lw": 0.6},
        )
    ax.set_xlim(-0.3, 2.4)
    ax.set_ylim(0, 100)
    ax.set_xticks([])
    ax.spines["bottom"].set_visible(False)
    ax.set_ylabel("% of time")
    ax.set_title("Time in ranges", loc="left")
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
    ax: plt.Axes | None = None,
    title: str = "Glucose after meals",
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
    """
    fig, ax = _fig_ax(ax, (5.0, 3.4))
    for cond in ("control", "spu"):
        sub = curves[curves["condition"] == cond]
        if sub.empty:
            continue
        grid = np.sort(sub["minute"].unique())
        rows = [
            _mean_band(g[value].to_numpy(float), band) for _, g in sub.groupby("minute", sort=True)
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
    ax.set_ylabel("glucose change (mg/dL)" if value.startswith("delta") else "glucose (mg/dL)")
    ax.set_title(title + (" (mean ± 95% CI)" if band == "ci95" else " (mean ± SEM)"), loc="left")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(frameon=False, loc="upper right")
    return fig


def plot_meal_dots(
    meals: pd.DataFrame,
    *,
    value: str = "iauc_mgdl_min",
    seed: int = 0,
    ax: plt.Axes | None = None,
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
    """
    rng = np.random.default_rng(seed)
    fig, ax = _fig_ax(ax, (3.6, 3.4))
    ok = meals[meals["excluded_reason"].isna()] if "excluded_reason" in meals else meals
    for i, cond in enumerate(("control", "spu")):
        v = ok.loc[ok["condition"] == cond, value].to_numpy(float)
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
    ax.set_ylabel("iAUC (mg/dL·min)" if value.startswith("iauc") else value)
    ax.set_title("Each meal's rise (iAUC)", loc="left")
    return fig


def plot_forest(
    people: pd.DataFrame,
    *,
    pooled: pd.Series | dict | None = None,
    label: str = "subject",
    estimate: str = "reduction_mean_ratio_pct",
    ax: plt.Axes | None = None,
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
    if has_ci:
        lo = people[lo_col].to_numpy(float)
        hi = people[lo_col.replace("_low", "_high")].to_numpy(float)
        ok = np.isfinite(lo) & np.isfinite(hi)
        ax.hlines(y[ok], lo[ok], hi[ok], color="#555555", lw=1)
        xs += [lo[ok], hi[ok]]
    ax.plot(est, y, "s", color=COLORS["spu"], ms=4, ls="none", label="person")
    ticks, labels = list(y), list(people[label].astype(str)) if n else []
    level = "95%"
    if pooled is not None:
        _, d, plo, phi, level = estimate_of(pooled, "estimate_pct")
        if np.isfinite([d, plo, phi]).all():
            ax.fill(
                [plo, d, phi, d], [0, 0.3, 0, -0.3], color="black", label=f"pooled ({level} CI)"
            )
            ax.axvline(d, color="black", lw=0.6, ls=":")
            ticks.append(0.0)
            labels.append("pooled")
            xs.append(np.array([plo, phi]))
    allx = np.concatenate([np.atleast_1d(v) for v in xs] + [np.array([0.0])])
    allx = allx[np.isfinite(allx)]
    pad = 0.05 * max(float(np.ptp(allx)), 10.0)
    ax.set_xlim(float(allx.min()) - pad, float(allx.max()) + pad)
    ax.set_ylim(-0.8 if pooled is not None else 0.3, n + 0.7)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(ticks, labels, fontsize=6 if n > 25 else 8)
    ax.set_xlabel("reduction in glucose iAUC with SPU (%; right of 0 = lower with SPU)")
    ax.set_title(
        f"Reduction by person ({level} CI)" if has_ci else "Reduction of the mean, by person",
        loc="left",
    )
    return fig


def plot_paired(
    people: pd.DataFrame,
    *,
    value_label: str = "glucose iAUC (mg/dL·min)",
    ax: plt.Axes | None = None,
) -> Figure:
    """Per-person lines from sitting to SPU (columns ``control`` and ``treatment``)."""
    fig, ax = _fig_ax(ax, (3.4, 3.4))
    for _, r in people.iterrows():
        ax.plot([0, 1], [r["control"], r["treatment"]], color="#999999", lw=0.8, marker="o", ms=3)
    ax.plot(
        [0, 1],
        [people["control"].mean(), people["treatment"].mean()],
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
    ax: plt.Axes | None = None,
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
    """
    fig, ax = _fig_ax(ax, (3.8, 3.2))
    ok = meals[meals["excluded_reason"].isna()] if "excluded_reason" in meals else meals
    x = ok[dose].to_numpy(float)
    if "condition" in ok:
        x = np.where(np.isnan(x) & (ok["condition"] == "control").to_numpy(), 0.0, x)
    yv = ok[value].to_numpy(float)
    good = np.isfinite(x) & np.isfinite(yv)
    x, yv = x[good], yv[good]
    jitter = np.random.default_rng(seed).uniform(-0.6, 0.6, x.size)
    colors = np.where(x > 0, COLORS["spu"], COLORS["control"])
    ax.scatter(x + jitter, yv, s=12, c=list(colors), alpha=0.7)
    if fit is not None and x.size:
        slope = float(dict(fit)["estimate"]) / per
        spu = x > 0
        if spu.any():
            xs, ys = x[spu], yv[spu]
            xx = np.linspace(float(xs.min()), float(xs.max()), 50)
            ax.plot(xx, ys.mean() + slope * (xx - xs.mean()), color="black", lw=1.5)
    ax.set_xlabel("SPU minutes around the meal (0 = none)")
    ax.set_ylabel("iAUC (mg/dL·min)")
    ax.set_title("More SPU, smaller rise?", loc="left")
    return fig


def plot_day(
    readings: pd.DataFrame,
    events: pd.DataFrame | None = None,
    *,
    days: Sequence[pd.Timestamp] | None = None,
    targets: tuple[float, float] = (70.0, 180.0),
    ncols: int = 2,
    max_days: int = 14,
    fig: Figure | None = None,
    title: str | None = "Daily glucose (▲ meal, green bar: SPU)",
) -> Figure:
    """Daily glucose panels (midnight to midnight) with the target range shaded, meals and SPU marked.

    Parameters
    ----------
    readings : DataFrame
        Canonical readings of one subject.
    events : DataFrame, optional
        Canonical events; meals are drawn as triangles and SPU bouts as bars.
    days : sequence of Timestamp, optional
        Days to draw; default the last ``max_days`` days with readings.
    fig : Figure or SubFigure, optional
        Draw into this (e.g. part of a report page) instead of a new figure.
    title : str or None
        Figure title; None for none (a report page has its own).
    """
    t = readings["time"]
    all_days = pd.DatetimeIndex(t.dt.normalize().unique()).sort_values()
    days = pd.DatetimeIndex(days) if days is not None else all_days[-max_days:]
    nrows = max(1, int(np.ceil(len(days) / ncols)))
    if fig is None:
        fig = plt.figure(figsize=(7.5, 1.35 * nrows + 0.4), layout="constrained")
    axes = fig.subplots(nrows, ncols, sharey=True, squeeze=False)
    top = max(250.0, float(readings["glucose_mgdl"].max()) + 10) if len(readings) else 250.0
    for ax, day in zip(axes.flat, days, strict=False):
        nxt = day + pd.Timedelta(days=1)
        r = readings[(t >= day) & (t < nxt)]
        ax.axhspan(*targets, color="#4caf50", alpha=0.1, lw=0)
        ax.plot(r["time"], r["glucose_mgdl"], color="#1f3f77", lw=1)
        if events is not None and len(events):
            ev = events[(events["time"] >= day) & (events["time"] < nxt)]
            for _, e in ev[ev["kind"] == "meal"].iterrows():
                ax.plot(e["time"], 48, marker="^", color="#d95f02", ms=5)
            for _, e in ev[ev["kind"] == "spu"].iterrows():
                end = e["end"] if pd.notna(e["end"]) else e["time"] + pd.Timedelta(minutes=5)
                ax.axvspan(e["time"], end, ymax=0.06, color=COLORS["spu"], lw=0)
        ax.set_xlim(day, nxt)
        ax.set_ylim(40, top)
        ax.xaxis.set_major_locator(mdates.HourLocator(byhour=[0, 6, 12, 18]))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%H"))
        ax.set_title(day.strftime("%a %d %b %Y"), fontsize=8, loc="left")
    for ax in axes[:, 0]:
        ax.set_ylabel("mg/dL", fontsize=7)
    for ax in list(axes.flat)[len(days) :]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title, fontsize=10, x=0.01, ha="left")
    return fig

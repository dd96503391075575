"""Every page of every report variant, checked by machine: no text on text, nothing off the
page or clipped, no legend on the data, no page more than half empty without a reason; and
page 1's numbers read back from the PDF against the AGP period's own numbers.

The inputs are real-format files (Dexcom Clarity in mg/dL with insulin doses, LibreView in
mmol/L, the activity log) written by :mod:`soleus_analysis.simulate` and read back through
:func:`soleus_analysis.io.read_person`: 3, 14 and 90 days, with and without a meal log, one
person and cohorts (mg/dL and mmol/L, one person and several).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection, PathCollection, PolyCollection
from matplotlib.path import Path as MplPath
from matplotlib.text import Text
from matplotlib.transforms import Bbox
from pypdf import PdfReader

from soleus_analysis.app.runner import run_cohort
from soleus_analysis.core.rules import Rules
from soleus_analysis.io import read_person
from soleus_analysis.metrics import glycemic_metrics
from soleus_analysis.pipeline import analyze_person, person_meals, pool_people
from soleus_analysis.report import pdf
from soleus_analysis.simulate import (
    simulate_freeliving,
    simulate_study,
    write_activity_log,
    write_dexcom_clarity,
    write_libreview,
    write_study,
)

FAST = Rules(n_perm=200, n_boot=200)
MGDL_PER_MMOL = 18.0156


# ------------------------------------------------------------------------------ the inputs
def _boluses(events: pd.DataFrame) -> pd.DataFrame:
    """An insulin dose of carbs / 10 U at each meal (a person on insulin)."""
    meals = events[events["kind"] == "meal"]
    return pd.DataFrame(
        {
            "subject": meals["subject"].to_numpy(),
            "time": meals["time"].to_numpy(),
            "end": pd.NaT,
            "kind": "insulin",
            "carbs_g": np.nan,
            "insulin_u": (meals["carbs_g"].to_numpy(float) / 10).round(1),
            "intensity": None,
            "label": None,
            "source": "synthetic",
        }
    )


@functools.lru_cache(maxsize=8)
def _study(seed: int, days: int):
    return simulate_freeliving(seed=seed, days=days)


def _person(tmp: Path, days: int, units: str, meals: bool, insulin: bool = False, seed: int = 3):
    study = _study(seed, days)
    tmp.mkdir(parents=True, exist_ok=True)
    if units == "mmol/L":
        cgm = write_libreview(study.cgm, None, tmp / "synthetic_libre.csv", units="mmol/L")
    else:
        ev = _boluses(study.events) if insulin else None
        cgm = write_dexcom_clarity(study.cgm, ev, tmp / "synthetic_dexcom.csv")
    logs = [write_activity_log(study.events, tmp / "synthetic_log.csv")] if meals else []
    rec = read_person([cgm], logs)
    return rec, analyze_person(rec, FAST)


PEOPLE = {
    "3d_mgdl_nomeals": (3, "mg/dL", False, False),
    "3d_mmol_meals": (3, "mmol/L", True, False),
    "14d_mgdl_meals_insulin": (14, "mg/dL", True, True),
    "90d_mgdl_meals": (90, "mg/dL", True, False),
    "90d_mmol_nomeals": (90, "mmol/L", False, False),
}


@pytest.fixture(scope="module")
def people(tmp_path_factory):
    out = {}
    for name, (days, units, meals, insulin) in PEOPLE.items():
        out[name] = _person(tmp_path_factory.mktemp(name), days, units, meals, insulin)
    return out


COHORTS = {
    "cohort_mgdl": {"n": 6, "cgm": "dexcom_g6"},
    # two of the short LibreView files cannot tell day-first dates: the skipped people's page
    "cohort_mmol_skipped": {"n": 3, "cgm": "libre2"},
    "cohort_mmol": {"n": 4, "cgm": "libre2", "read_options": {"date_order": "dmy"}},
    "cohort_one_person": {"n": 1, "cgm": "dexcom_g6"},
}


@pytest.fixture(scope="module")
def cohorts(tmp_path_factory):
    out = {}
    for name, kw in COHORTS.items():
        folder = tmp_path_factory.mktemp(name)
        write_study(simulate_study("hamilton2022", n=kw["n"], seed=5, cgm=kw["cgm"]), folder)
        out[name] = run_cohort(
            folder, FAST, workers=1, progress=False, read_options=kw.get("read_options")
        )
    return out


@pytest.fixture(scope="module")
def mixed_cohort(tmp_path_factory):
    """Two self-trackers with many meals (their own intervals) and one with a meal per
    condition (a hollow square, no interval)."""
    meals, curves, sources = [], [], []
    for k, seed in enumerate((1, 2)):
        rec, _ = _person(tmp_path_factory.mktemp(f"mixed{k}"), 5, "mg/dL", True, seed=seed)
        m, c, _ = person_meals(rec, None, FAST)
        meals.append(m.assign(subject=f"tracker {k + 1}"))
        curves.append(c.assign(subject=f"tracker {k + 1}"))
        sources += rec.sources
    ok = meals[0][meals[0]["excluded_reason"].isna()]
    one_each = ok.groupby("condition").head(1).assign(subject="one test each")
    meals.append(one_each)
    return pool_people(
        pd.concat(meals, ignore_index=True),
        pd.concat(curves, ignore_index=True),
        sources=sources,
        rules=FAST,
    )


def test_mixed_cohort_draws_intervals_where_they_exist(mixed_cohort):
    people = mixed_cohort.people.set_index("subject")
    assert people.loc["one test each", "n_spu"] == people.loc["one test each", "n_control"] == 1
    assert np.isnan(people.loc["one test each", "reduction_geomean_pct"])
    figs = pdf.cohort_report_figures(mixed_cohort)
    ax = next(a for a in figs[0].axes if a.get_title(loc="left").startswith("Reduction by person"))
    assert ax.get_title(loc="left") == "Reduction by person (95% CI where the person has one)"
    assert len(ax.collections[0].get_segments()) == 2  # the two trackers' intervals
    hollow = [ln for ln in ax.get_lines() if ln.get_markerfacecolor() == "white"]
    assert len(hollow) == 1
    np.testing.assert_allclose(
        hollow[0].get_xdata(), [people.loc["one test each", "reduction_mean_ratio_pct"]]
    )
    _check(figs)


# ------------------------------------------------------------------------------ the checks
def _tick_labels(fig) -> tuple[list[Text], dict[int, object]]:
    """Tick labels drawn (ticks inside the view), and the axes of every tick label by id."""
    drawn, every = [], {}
    for ax in fig.get_axes():
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            eps = 1e-9 * max(1.0, abs(hi - lo))
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                for lab in (tick.label1, tick.label2):
                    every[id(lab)] = ax
                    if (
                        ax.get_visible()
                        and axis.get_visible()
                        and lab.get_visible()
                        and lab.get_text().strip()
                        and lo - eps <= tick.get_loc() <= hi + eps
                    ):
                        drawn.append(lab)
    return drawn, every


def _texts(fig) -> tuple[list[Text], dict[int, object]]:
    """Every text drawn on the page (titles, labels, tick labels, legends, annotations), and
    the axes of each tick label."""
    drawn, ticks = _tick_labels(fig)
    out = list(drawn)
    for t in fig.findobj(Text):
        if id(t) in ticks or not t.get_visible() or not t.get_text().strip():
            continue
        if t.axes is not None and not t.axes.get_visible():
            continue
        legend = t.axes.get_legend() if t.axes is not None else None
        if legend is not None and t in legend.get_texts() and not legend.get_visible():
            continue
        out.append(t)
    return out, ticks


def _name(t: Text) -> str:
    return repr(t.get_text()[:40])


def _data_paths(ax) -> list[tuple[MplPath, bool]]:
    """The axes' plotted data in display coordinates: (path, filled)."""
    out = []
    for ln in ax.get_lines():
        if ln.get_visible() and ln.get_transform() is ax.transData and len(ln.get_xydata()):
            xy = ax.transData.transform(np.asarray(ln.get_xydata(), float))
            xy = xy[np.isfinite(xy).all(axis=1)]
            if len(xy):
                out.append((MplPath(xy), False))
    for c in ax.collections:
        if not c.get_visible():
            continue
        if isinstance(c, PathCollection) and c.get_offset_transform() is ax.transData:
            xy = ax.transData.transform(np.asarray(c.get_offsets(), float))
            out += [(MplPath(np.array([p, p])), False) for p in xy if np.isfinite(p).all()]
        elif isinstance(c, (PolyCollection, LineCollection)) and c.get_transform() is ax.transData:
            for p in c.get_paths():
                out.append((ax.transData.transform_path(p), isinstance(c, PolyCollection)))
    return out


def layout_problems(fig) -> list[str]:
    """What is wrong with one page's layout, in words (empty when nothing)."""
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    page = Bbox.from_bounds(0, 0, fig.bbox.width, fig.bbox.height)
    problems = []
    texts, tick_axes = _texts(fig)
    boxes = [Text.get_window_extent(t, r) for t in texts]  # an annotation's text, not its arrow
    axes = [ax for ax in fig.get_axes() if ax.get_visible()]
    for t, b in zip(texts, boxes, strict=True):
        if not (-1 <= b.x0 and b.x1 <= page.x1 + 1 and -1 <= b.y0 and b.y1 <= page.y1 + 1):
            problems.append(f"text {_name(t)} falls off the page")
        if t.axes is None and id(t) not in tick_axes and b.x1 > (1 - pdf.LEFT / 2) * page.x1:
            problems.append(f"text {_name(t)} runs into the right margin")
        clip = t.get_clip_box() if t.get_clip_on() else None
        if clip is not None and not (
            b.x0 >= clip.x0 - 1
            and b.x1 <= clip.x1 + 1
            and b.y0 >= clip.y0 - 1
            and b.y1 <= clip.y1 + 1
        ):
            problems.append(f"text {_name(t)} is clipped")
        own = t.axes or tick_axes.get(id(t))
        for ax in axes:  # text never runs into another plot (nor page text into any)
            if ax is not own and b.padded(-1).overlaps(ax.bbox):
                problems.append(f"text {_name(t)} overlaps the plot {ax.get_title(loc='left')!r}")
    for i in range(len(texts)):
        for j in range(i + 1, len(texts)):
            a, b = boxes[i].padded(-1), boxes[j].padded(-1)
            if not a.overlaps(b):
                continue
            if texts[i].get_gid() == texts[j].get_gid() == "table-body":
                continue  # one table's two colours of rows, interleaved line by line
            problems.append(f"text {_name(texts[i])} overlaps {_name(texts[j])}")
    for ax in axes:
        tight = ax.get_tightbbox(r)
        if tight is not None and not (
            tight.x0 >= -1
            and tight.y0 >= -1
            and tight.x1 <= page.x1 + 1
            and tight.y1 <= page.y1 + 1
        ):
            problems.append(f"plot {ax.get_title(loc='left')!r} falls off the page")
        legend = ax.get_legend()
        if legend is None or not legend.get_visible():
            continue
        lb = legend.get_window_extent(r)
        inside = Bbox.intersection(lb, ax.bbox)
        if inside is not None and inside.width > 0 and inside.height > 0:
            for path, filled in _data_paths(ax):
                if path.intersects_bbox(inside, filled=filled):
                    problems.append(f"the legend of {ax.get_title(loc='left')!r} covers its data")
                    break
        for other in axes:
            if other is not ax and lb.padded(-1).overlaps(other.bbox):
                problems.append(f"the legend of {ax.get_title(loc='left')!r} covers another plot")
    # more than half empty: the lowest content above the middle of the content area
    h = fig.bbox.height
    top, bottom = 0.935 * h, pdf.CONTENT_BOTTOM * h
    lows = [b.y0 for b in boxes if b.y0 > 0.08 * h]
    lows += [ax.get_tightbbox(r).y0 for ax in axes]
    filled = (top - min(lows)) / (top - bottom) if lows else 0.0
    if filled < 0.5 and not getattr(fig, "soleus_space_reason", ""):
        problems.append(f"the page is {100 * (1 - filled):.0f}% empty without a reason")
    return problems


def _check(figs) -> None:
    try:
        found = {i + 1: layout_problems(f) for i, f in enumerate(figs)}
        found = {page: what for page, what in found.items() if what}
    finally:
        for f in figs:
            plt.close(f)
    assert not found, found


# ------------------------------------------------------------------------------ the tests
@pytest.mark.parametrize("name", list(PEOPLE))
@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_person_report_layout(people, name, paper):
    _, a = people[name]
    figs = pdf.person_report_figures(a, paper=paper)
    assert len(figs) == pdf.person_report_pages(a)
    _check(figs)


@pytest.mark.parametrize("name", ["14d_mgdl_meals_insulin", "90d_mmol_nomeals"])
def test_person_report_layout_in_the_other_units(people, name):
    _, a = people[name]
    other = "mmol/L" if pdf.report_units(a.readings) == "mg/dL" else "mg/dL"
    _check(pdf.person_report_figures(a, units=other))


@pytest.mark.parametrize("name", list(COHORTS))
def test_cohort_report_layout(cohorts, name):
    c = cohorts[name]
    figs = pdf.cohort_report_figures(c)
    assert len(figs) == pdf.cohort_report_pages(c)
    _check(figs)


def test_mixed_cohort_layout_with_its_pooled_n_of_1_series(mixed_cohort):
    """Two self-trackers with their own experiments: the pooled series page is drawn too."""
    assert mixed_cohort.nof1_series is not None
    figs = pdf.cohort_report_figures(mixed_cohort)
    assert len(figs) == pdf.cohort_report_pages(mixed_cohort)
    _check(figs)


def test_the_checks_catch_overlaps_legends_and_empty_pages():
    fig = plt.figure(figsize=(8.27, 11.69))
    fig.text(0.1, 0.9, "first text")
    fig.text(0.12, 0.9, "second text")
    ax = fig.add_axes((0.1, 0.5, 0.8, 0.3))
    ax.plot([0, 1], [0, 1], label="data")
    ax.legend(loc="center")
    fig.text(0.99, 0.3, "off the page")
    problems = " | ".join(layout_problems(fig))
    plt.close(fig)
    assert "overlaps 'second text'" in problems
    assert "covers its data" in problems
    assert "falls off the page" in problems
    sparse = plt.figure(figsize=(8.27, 11.69))
    sparse.text(0.1, 0.9, "one line at the top")
    assert any("empty without a reason" in p for p in layout_problems(sparse))
    pdf.allow_space(sparse, "a test")
    assert layout_problems(sparse) == []
    plt.close(sparse)


# ------------------------------------------------------------------------------ page 1's numbers
def _period_readings(rec) -> tuple[pd.DataFrame, pd.Timestamp, pd.Timestamp]:
    """The readings of the last 14 calendar days, computed here from the file's readings."""
    r = rec.readings.dropna(subset=["glucose_mgdl"]).drop_duplicates(["time", "glucose_mgdl"])
    end = r["time"].max().normalize() + pd.Timedelta(days=1)
    start = max(end - pd.Timedelta(days=14), r["time"].min().normalize())
    return r[(r["time"] >= start) & (r["time"] < end)], start, end


def _bands(g: np.ndarray, mmol: bool) -> dict[str, float]:
    """% of readings in each band, by the consensus limits of the units the device reported."""
    v = np.round(g / MGDL_PER_MMOL, 2) if mmol else g
    lim = (3.0, 3.9, 7.8, 10.0, 13.9) if mmol else (54, 70, 140, 180, 250)

    def pct(mask):
        return 100 * float(np.mean(mask))

    return {
        "tbr_54_pct": pct(v < lim[0]),
        "tbr_70_pct": pct(v < lim[1]),
        "tir_pct": pct((v >= lim[1]) & (v <= lim[3])),
        "titr_pct": pct((v >= lim[1]) & (v <= lim[2])),
        "tar_180_pct": pct(v > lim[3]),
        "tar_250_pct": pct(v > lim[4]),
    }


@pytest.mark.parametrize("name", ["90d_mgdl_meals", "3d_mmol_meals", "14d_mgdl_meals_insulin"])
def test_page_one_numbers_are_the_agp_period_s(people, name, tmp_path):
    rec, a = people[name]
    mmol = PEOPLE[name][1] == "mmol/L"
    units = "mmol/L" if mmol else "mg/dL"
    sel, start, end = _period_readings(rec)
    g = sel["glucose_mgdl"].to_numpy(float)
    want = _bands(g, mmol)
    mean = g.mean()
    want["gmi_pct"] = 3.31 + 0.02392 * mean
    want["cv_pct"] = 100 * g.std(ddof=1) / mean
    want["gri"] = min(
        100.0,
        3.0 * want["tbr_54_pct"]
        + 2.4 * (want["tbr_70_pct"] - want["tbr_54_pct"])
        + 1.6 * want["tar_250_pct"]
        + 0.8 * (want["tar_180_pct"] - want["tar_250_pct"]),
    )
    # the same numbers as glycemic_metrics of the same period
    m = glycemic_metrics(sel).iloc[0]
    for k, v in want.items():
        assert m[k] == pytest.approx(v, abs=1e-9), k
        assert a.period_metrics.iloc[0][k] == pytest.approx(v, abs=1e-9), k
    times = sel["time"].drop_duplicates().sort_values()
    interval = float(times.diff().dt.total_seconds().median() / 60)
    span = min(end, times.max() + pd.Timedelta(minutes=interval)) - max(start, times.min())
    active = min(100.0, 100 * len(times) * interval / (span / pd.Timedelta(minutes=1)))
    path = pdf.write_person_report(a, tmp_path / "r.pdf")
    text = " ".join(PdfReader(path).pages[0].extract_text().split())
    n_days = (end - start).days
    last = end - pd.Timedelta(days=1)
    assert f"{n_days} days: {start:%d %b %Y} – {last:%d %b %Y}" in text
    assert f"% time CGM active {active:.1f}%" in text
    lab = {
        "mg/dL": ("70–180", "70", "54", "180", "250", "70–140"),
        "mmol/L": ("3.9–10.0", "3.9", "3.0", "10.0", "13.9", "3.9–7.8"),
    }[units]
    rows = [
        (f"Time in range {lab[0]} {units}", want["tir_pct"]),
        (f"Below {lab[1]} {units}", want["tbr_70_pct"]),
        (f"Below {lab[2]} {units}", want["tbr_54_pct"]),
        (f"Above {lab[3]} {units}", want["tar_180_pct"]),
        (f"Above {lab[4]} {units}", want["tar_250_pct"]),
        (f"Time in tight range {lab[5]} {units}", want["titr_pct"]),
        ("Glucose variability, CV", want["cv_pct"]),
    ]
    for label, value in rows:
        assert f"{label} {value:.1f}%" in text, (label, value)
    shown_mean = f"{mean:.0f} mg/dL" if not mmol else f"{mean / MGDL_PER_MMOL:.1f} mmol/L"
    assert f"Mean glucose {shown_mean}" in text
    assert f"GMI (glucose management indicator) {want['gmi_pct']:.1f}%" in text
    zone = "ABCDE"[min(4, int(np.ceil(want["gri"] / 20)) - 1 if want["gri"] > 0 else 0)]
    assert f"Glycemia risk index, GRI {want['gri']:.0f} (zone {zone})" in text
    assert f"Time CGM active {active:.1f}%" in text
    # mg/dL appears nowhere on an mmol/L page 1 but in the footer's format line
    if mmol:
        body = text.split("CGM export")[0]
        assert "mg/dL" not in body


def test_missed_goals_stand_out_with_their_goal():
    m = pd.Series(
        {
            "tir_pct": 60.0,
            "tbr_70_pct": 10.2,
            "tbr_54_pct": 0.5,
            "tar_180_pct": 29.8,
            "tar_250_pct": 4.0,
            "titr_pct": 40.0,
            "mean_mgdl": 160.0,
            "gmi_pct": 7.1,
            "cv_pct": 38.0,
            "gri": 45.0,
        }
    )
    rows = {label: (value, goal, missed) for label, value, goal, missed in pdf.metric_rows(m)}
    assert rows["Below 70 mg/dL"] == ("10.2%", "< 4%", True)
    assert rows["Below 54 mg/dL"] == ("0.5%", "< 1%", False)
    assert rows["Time in range 70–180 mg/dL"] == ("60.0%", "> 70%", True)
    assert rows["Above 180 mg/dL"] == ("29.8%", "< 25%", True)
    assert rows["Above 250 mg/dL"] == ("4.0%", "< 5%", False)
    assert rows["Glucose variability, CV"] == ("38.0%", "≤ 36%", True)
    assert rows["Glycemia risk index, GRI"][0] == "45 (zone C)"
    # the goal is judged on the printed value: 3.96 prints as 4.0%, which misses < 4%
    assert pdf.goal_missed(3.96, "<", 4.0) and not pdf.goal_missed(3.94, "<", 4.0)


def test_meal_table_names_the_food_and_says_why(people, tmp_path):
    _, a = people["14d_mgdl_meals_insulin"]
    path = pdf.write_person_report(a, tmp_path / "r.pdf")
    pages = [" ".join(p.extract_text().split()) for p in PdfReader(path).pages]
    meal_pages = " ".join(p for p in pages if p.startswith("Meals"))
    first = a.meals.sort_values("meal_time").iloc[0]
    assert re.search(
        rf"{first['meal_time']:%Y-%m-%d %H:%M} {re.escape(str(first['meal_label']))} "
        rf"{first['carbs_g']:.0f} (SPU|no SPU)",
        meal_pages,
    )
    experiment = next(p for p in pages if "Soleus pushups and your meals" in p)
    n_doses = int((a.events["kind"] == "insulin").sum())
    assert n_doses == int((a.events["kind"] == "meal").sum())  # one bolus a meal
    assert f"Your files hold {n_doses} insulin doses" in experiment
    assert "confounded by boluses" in experiment
    assert "does not model insulin doses" in pages[0]

"""Render the PDF reports from synthetic analyses and read them back with pypdf."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from pypdf import PdfReader

from soleus_analysis import pipeline
from soleus_analysis.core.recording import Provenance, Recording
from soleus_analysis.report import pdf, write_cohort_report, write_person_report

NAME, SERIAL, DOB = "Jane Q Public", "SN-ZX81-7731", "1971-02-03"
SHA = "0123456789abcdef" * 4  # a file's SHA-256: the footer shows its first 12 digits
DAYS = 14
MEAL_HOURS = ((8, 50), (13, 70), (19, 80))


def synth_person(
    subject: str = "P01",
    days: int = DAYS,
    seed: int = 0,
    meals: bool = True,
    synthetic: bool = True,
) -> Recording:
    """5-min glucose with 3 meals a day; half the meals get an SPU bout that halves the rise."""
    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp("2024-03-04")
    n = days * 288
    minutes = np.arange(n) * 5.0
    g = 100 + 8 * np.sin(2 * np.pi * (minutes / 1440 - 0.3))
    ev = []
    for d in range(days if meals else 0):
        for h, carbs in MEAL_HOURS:
            mt = d * 1440 + h * 60 + int(rng.integers(-20, 21))
            carbs = carbs + int(rng.integers(-15, 16))
            spu = bool(rng.random() < 0.5)
            i0 = mt // 5 + 1
            dt = minutes[i0 : i0 + 96] - mt
            g[i0 : i0 + 96] += carbs * 1.2 * (0.5 if spu else 1.0) * (dt / 45) * np.exp(1 - dt / 45)
            when = t0 + pd.Timedelta(minutes=mt)
            ev.append({"subject": subject, "time": when, "kind": "meal", "carbs_g": float(carbs)})
            if spu:
                dur = pd.Timedelta(minutes=int(rng.choice([20, 45, 70])))
                ev.append({"subject": subject, "time": when, "end": when + dur, "kind": "spu"})
    g = np.round(g + rng.normal(0, 3, n))
    keep = rng.random(n) > 0.01
    readings = pd.DataFrame(
        {
            "subject": subject,
            "time": t0 + pd.to_timedelta(minutes[keep], unit="min"),
            "glucose_mgdl": g[keep],
        }
    )
    prov = Provenance(
        path=f"{'synthetic_' if synthetic else ''}{subject}_clarity.csv",
        format="dexcom_clarity",
        units="mg/dL",
        rows_read=n,
        rows_kept=int(keep.sum()),
        metadata={"patient_name": NAME, "date_of_birth": DOB, "serial": SERIAL},
        sha256=SHA,
        label="CGM export",
    )
    prov.drop("missing glucose", int((~keep).sum()))
    kw = {"events": pd.DataFrame(ev)} if ev else {}
    return Recording(readings=readings, provenance=prov, **kw)


@pytest.fixture(scope="module")
def person():
    return pipeline.analyze_person(synth_person())


@pytest.fixture(scope="module")
def person_pdf(person, tmp_path_factory):
    return write_person_report(person, tmp_path_factory.mktemp("p") / "person.pdf")


@pytest.fixture(scope="module")
def no_events():
    return pipeline.analyze_person(synth_person(meals=False, synthetic=False))


@pytest.fixture(scope="module")
def cohort():
    meals, curves, srcs = [], [], []
    for i in range(5):
        rec = synth_person(subject=f"S{i + 1:02d}", days=4, seed=10 + i)
        m, c, _ = pipeline.person_meals(rec)
        meals.append(m)
        curves.append(c)
        srcs += rec.sources
    cov = pd.DataFrame({"subject": [f"S{i + 1:02d}" for i in range(5)], "coverage_pct": 99.0})
    failed = pd.DataFrame({"subject": ["S99"], "error": ["S99.csv line 3: bad date"]})
    return pipeline.pool_people(
        pd.concat(meals, ignore_index=True),
        pd.concat(curves, ignore_index=True),
        coverage=cov,
        failed=failed,
        sources=srcs,
    )


def _pages(path) -> list[str]:
    return [" ".join(p.extract_text().split()) for p in PdfReader(path).pages]


def _fonts_embedded(path) -> None:
    for page in PdfReader(path).pages:
        fonts = page["/Resources"]["/Font"]
        assert len(fonts)
        for ref in fonts.values():
            font = ref.get_object()
            desc = (
                font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
                if "/DescendantFonts" in font
                else font["/FontDescriptor"]
            ).get_object()
            assert "/FontFile2" in desc, font["/BaseFont"]


def test_person_report_pages_and_numbers(person, person_pdf):
    n_meals = DAYS * len(MEAL_HOURS)  # meals are hours apart: none merged
    assert len(person.meals) == n_meals
    # summary, experiment, "is it working for you?" (the posterior), days, meal table
    expected = 1 + 1 + 1 + 1 + math.ceil(n_meals / pdf.MEALS_PER_PAGE)
    pages = _pages(person_pdf)
    assert len(pages) == expected == pdf.person_report_pages(person)
    b = person.bayes.iloc[0]
    assert "Is it working for you?" in pages[2]
    assert f"{100 * b['p_reduction_ge_10pct']:.0f}%" in pages[2].replace("\n", " ")
    g = person.readings["glucose_mgdl"].to_numpy()
    tir = 100 * np.mean((g >= 70) & (g <= 180))
    gmi = 3.31 + 0.02392 * g.mean()
    assert person.metrics["tir_pct"].iloc[0] == pytest.approx(tir)
    assert f"{tir:.1f}%" in pages[0]
    assert f"{gmi:.1f}%" in pages[0]
    assert f"{g.mean():.0f} mg/dL" in pages[0]
    e = person.effect.iloc[0]
    assert 35 < e["reduction_geomean_pct"] < 65  # simulated: SPU halves the rise
    lo, hi = e["reduction_geomean_ci95_low"], e["reduction_geomean_ci95_high"]
    assert f"{e['reduction_geomean_pct']:.0f}% (95% CI {lo:.0f}% to {hi:.0f}%)" in pages[1]
    assert "ratio of geometric means" in pages[1]  # the estimand, in words
    assert person.verdict in pages[1]
    assert "Dose-response" in pages[1]
    # table: first and last meal time printed
    mt = person.meals["meal_time"].sort_values()
    assert f"{mt.iloc[0]:%Y-%m-%d %H:%M}" in pages[4]
    assert f"{mt.iloc[-1]:%Y-%m-%d %H:%M}" in pages[-1]


def test_person_report_footer_privacy_fonts_size(person_pdf):
    pages = _pages(person_pdf)
    for i, text in enumerate(pages, 1):
        assert "SYNTHETIC DATA" in text
        assert f"page {i} of {len(pages)}" in text
        # the file by its label and short hash, never its name (names often carry the person's)
        assert "CGM export [sha256 0123456789ab] (dexcom_clarity, mg/dL)" in text
        assert "P01_clarity" not in text
        assert "rows read 4032" in text
        for secret in (NAME, SERIAL, DOB):
            assert secret not in text
    raw = person_pdf.read_bytes()
    assert NAME.encode() not in raw and SERIAL.encode() not in raw
    _fonts_embedded(person_pdf)
    box = PdfReader(person_pdf).pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4 in pt


def test_person_report_without_events_letter(no_events, tmp_path):
    path = write_person_report(no_events, tmp_path / "r.pdf", paper="letter")
    pages = _pages(path)
    assert len(pages) == 2 == pdf.person_report_pages(no_events)
    assert "Log every meal" in pages[1] and "SPU bout" in pages[1]
    for text in pages:
        assert "SYNTHETIC" not in text
        assert "CGM export [sha256 0123456789ab] (dexcom_clarity, mg/dL)" in text
        assert "P01_clarity" not in text
    box = PdfReader(path).pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (612, 792)
    assert [p.name for p in tmp_path.iterdir()] == ["r.pdf"]


def test_cohort_report(cohort, tmp_path):
    path = write_cohort_report(cohort, tmp_path / "c.pdf", title="Test cohort")
    pages = _pages(path)
    # + the pooled series of the five people's own experiments, + the skipped person
    assert len(pages) == 2 + math.ceil(5 / pdf.PEOPLE_PER_PAGE) + 1 + 1
    assert len(pages) == pdf.cohort_report_pages(cohort)
    pop = cohort.nof1_series[0].iloc[0]
    assert "Pooled series of N-of-1 experiments" in pages[-2]
    assert f"about {pop['reduction_geomean_pct']:.0f}% lower" in " ".join(pages[-2].split())
    p0 = cohort.pooled.iloc[0]
    assert (
        f"{p0['estimate_pct']:.1f}% (95% CI {p0['ci95_low']:.1f}% to {p0['ci95_high']:.1f}%)"
        in pages[0]
    )
    assert "5 people" in pages[0]
    for s in ("S01", "S05"):
        assert s in pages[2]
    assert "99%" in pages[2]
    assert "S99" in pages[-1] and "bad date" in pages[-1]
    for text in pages:
        assert "SYNTHETIC DATA" in text and NAME not in text
    _fonts_embedded(path)


def test_bad_paper_and_atomic_write(no_events, tmp_path, monkeypatch):
    with pytest.raises(ValueError):
        write_person_report(no_events, tmp_path / "x.pdf", paper="a5")
    calls = {"n": 0}
    orig = pdf.PdfPages.savefig

    def failing(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return orig(self, *a, **k)

    monkeypatch.setattr(pdf.PdfPages, "savefig", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        write_person_report(no_events, tmp_path / "x.pdf")
    assert list(tmp_path.iterdir()) == []


def test_meal_table_is_capped_with_a_note():
    assert pdf.meal_table_pages(0) == 0
    assert pdf.meal_table_pages(pdf.MEALS_PER_PAGE + 1) == 2
    assert pdf.meal_table_pages(100_000) == pdf.MAX_TABLE_PAGES


def test_footer_sums_many_files():
    srcs = [
        Provenance(
            path=f"f{i}.csv",
            format="libreview",
            rows_read=10,
            rows_kept=8,
            sha256=f"{i}" * 64,
            label=f"CGM export {i + 1}",
        )
        for i in range(5)
    ]
    for p in srcs:
        p.drop("blank glucose", 2)
    lines = pdf.footer_lines(srcs, True, 1, 3)
    assert lines[0] == (
        "CGM export 1 [sha256 000000000000] (libreview): rows read 10, kept 8, dropped 2 "
        "(2 blank glucose)"
    )
    named = pdf.footer_lines(srcs, True, 1, 3, show_file_names=True)
    assert named[0] == "f0.csv (libreview): rows read 10, kept 8, dropped 2 (2 blank glucose)"
    assert "2 more files; all 5 files: rows read 50, kept 40, dropped 10" in lines[3]
    assert re.search(r"SYNTHETIC DATA .* page 1 of 3$", lines[-1])


def test_insulin_proxy_line_is_named_a_proxy_and_matches_the_analysis(person):
    """The self-tracker report prints the CGM-only insulin figure as a model proxy, with the
    number compare.n_of_1 returned for the proxy column, and no interval: the proxy is a
    transform of the glucose trace, so its interval would pose as separate evidence."""
    from soleus_analysis.report.pdf import effect_lines

    a = person
    assert a.insulin_proxy_effect is not None  # 42 meals, half with SPU: an effect is estimated
    q = a.insulin_proxy_effect.iloc[0]
    line = next(ln for ln in effect_lines(a) if "PROXY" in ln)
    assert "not a measurement" in line
    assert f"{q['reduction_geomean_pct']:.0f}% lower with SPU" in line
    assert "CI" not in line and "restates the glucose result" in line


def test_report_file_is_an_ordinary_file(person, tmp_path):
    import os
    import stat

    out = write_person_report(person, tmp_path / "r.pdf")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask


def test_rules_sentence_follows_the_rules_used(person):
    """The report states the SPU span the analysis used, not a fixed text."""
    import dataclasses

    from soleus_analysis.report.pdf import effect_lines

    default = next(ln for ln in effect_lines(person) if ln.startswith("Rules."))
    assert "from the start of the meal to the end of its window" in default
    assert default == "Rules. " + person.rules.describe()  # the statement of Rules itself
    custom = dataclasses.replace(
        person, rules=person.rules.replace(spu_span=(0.0, 60.0), window=(0, 180))
    )
    text = next(ln for ln in effect_lines(custom) if ln.startswith("Rules."))
    assert (
        "over 0 to 180 min" in text
        and "from the start of the meal to 60 min after the meal" in text
    )


def test_adjustment_sentence_names_the_covariates_used():
    from soleus_analysis.report.pdf import _adjusted_for

    assert _adjusted_for("carbs_g,time_of_day_h") == "adjusted for carbs and time of day"
    assert _adjusted_for("time_of_day_h") == "adjusted for time of day"  # a log without carbs
    assert _adjusted_for("") == "not adjusted for covariates"

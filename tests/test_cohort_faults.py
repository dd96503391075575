"""The cohort runner loses one person at most, never the run (issue 9, part 6)."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from soleus_analysis.app.cli import main
from soleus_analysis.app.runner import connect_scheduler, run_cohort
from soleus_analysis.core.errors import UsageError

DATA = Path(__file__).resolve().parent.parent / "data" / "hamilton2022"
RULES = {"window": (0, 180), "baseline": "premeal"}


def _copy_person(i: int, dest: Path, stem: str) -> tuple[str, str]:
    """Copy bundled person ``i``'s CGM export and log under new names; return the names."""
    cgm, log = f"{stem}_cgm.csv", f"{stem}_log.csv"
    shutil.copy(DATA / f"synthetic_hamilton2022_p{i:02d}_dexcom.csv", dest / cgm)
    shutil.copy(DATA / f"synthetic_hamilton2022_p{i:02d}_activity.csv", dest / log)
    return cgm, log


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Path:
    """A manifest with every fault that used to lose the run, and four good people."""
    d = tmp_path_factory.mktemp("faults")
    sub = d / "data #2 Müller"  # a '#', a space and a non-ASCII letter in the path
    sub.mkdir()
    lines = ["subject,cgm,events"]
    for i in (1, 2, 3, 4):
        cgm, log = _copy_person(i, sub, f"p{i:02d} é")
        lines.append(f"p{i:02d},{sub.name}/{cgm},{sub.name}/{log}")
    cgm, _ = _copy_person(5, sub, "p05")
    lines.append(f"nomeals,{sub.name}/{cgm},")  # a person without meals
    lines.append(f",{sub.name}/{cgm},")  # a blank subject cell
    lines.append(f"p01,{sub.name}/{cgm},")  # a duplicate id
    os.mkfifo(d / "fifo.csv")
    lines.append("fifo,fifo.csv,")  # a FIFO given as a CGM export
    lines.append("# a comment line is skipped")
    (d / "manifest.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return d / "manifest.csv"


def test_every_fault_loses_one_person_only(hostile):
    t0 = time.perf_counter()
    res = run_cohort(hostile, RULES, workers=1, progress=False)
    assert time.perf_counter() - t0 < 120  # the FIFO is refused, not read (it would block)
    assert sorted(res.people["subject"]) == ["p01", "p02", "p03", "p04"]
    why = dict(zip(res.failed["subject"], res.failed["error"], strict=True))
    assert why["nomeals"] == "no meals in their files"
    assert why["(manifest line 7)"] == "manifest line 7: no subject id"
    assert why["p01 (manifest line 8)"] == (
        "manifest line 8: subject 'p01' is already on line 2; give each person one row"
    )
    assert "FIFO" in why["fifo"] and "fifo.csv" not in why["fifo"]
    assert len(why) == 4
    # the skipped person's meals are not in the pooled table; the good ones' are
    assert set(res.meals["subject"]) == {"p01", "p02", "p03", "p04"}
    assert np.isfinite(res.pooled["estimate_pct"]).all()


def test_two_people_fit_what_can_be_fitted_and_say_why_not(tmp_path):
    lines = ["subject,cgm,events"]
    for i in (1, 2):
        cgm, log = _copy_person(i, tmp_path, f"p{i}")
        lines.append(f"p{i},{cgm},{log}")
    (tmp_path / "m.csv").write_text("\n".join(lines) + "\n")
    res = run_cohort(tmp_path / "m.csv", RULES, workers=1, progress=False)
    assert list(res.pooled.columns) == [
        "method",
        "estimand",
        "estimate_pct",
        "ci95_low",
        "ci95_high",
        "p",
        "test",
        "n_people",
        "note",
    ]
    cross = res.pooled[res.pooled["method"].str.startswith("paired")].iloc[0]
    assert np.isfinite(cross["estimate_pct"])  # a paired estimate from two pairs
    # any row without an estimate says why in words
    for _, row in res.pooled.iterrows():
        if not np.isfinite(row["estimate_pct"]):
            assert isinstance(row["note"], str) and row["note"]


def test_cohort_command_over_the_hostile_manifest(hostile, tmp_path):
    res = CliRunner().invoke(
        main,
        ["cohort", str(hostile), "-o", str(tmp_path / "c.pdf"), "--workers", "1", "--no-progress"],
    )
    assert res.exit_code == 0, res.output
    assert (tmp_path / "c.pdf").stat().st_size > 10_000
    assert "4 people, 4 skipped" in res.output
    assert "skipped nomeals: no meals in their files" in res.output


def test_malformed_scheduler_is_refused_at_once():
    t0 = time.perf_counter()
    with pytest.raises(UsageError, match="not a Dask scheduler address"):
        connect_scheduler("not an address")
    assert time.perf_counter() - t0 < 10  # a hang guard, not a timing


def test_unreachable_scheduler_is_refused_within_seconds(tmp_path):
    cgm, log = _copy_person(1, tmp_path, "p1")
    (tmp_path / "m.csv").write_text(f"subject,cgm,events\np1,{cgm},{log}\n")
    t0 = time.perf_counter()
    res = CliRunner().invoke(
        main,
        [
            "cohort",
            str(tmp_path / "m.csv"),
            "-o",
            str(tmp_path / "c.pdf"),
            "--scheduler",
            "tcp://127.0.0.1:9",
        ],
    )
    assert time.perf_counter() - t0 < 20
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "cannot reach the Dask scheduler" in lines[0]
    assert not (tmp_path / "c.pdf").exists()


def test_multi_person_file_runs_as_a_cohort(tmp_path):
    rng = np.random.default_rng(0)
    rows = []
    for pid in ("a", "b", "c"):
        t = pd.date_range("2025-01-01", periods=288 * 3, freq="5min")
        rows.append(pd.DataFrame({"id": pid, "time": t, "gl": 100 + rng.normal(0, 5, len(t))}))
    path = tmp_path / "study.csv"
    pd.concat(rows).to_csv(path, index=False)
    # no meals anywhere: each person is listed with the reason, and the PDF still says so
    out = tmp_path / "c.pdf"
    res = CliRunner().invoke(
        main, ["cohort", str(path), "-o", str(out), "--workers", "1", "--units", "mg/dL"]
    )
    assert res.exit_code == 0, res.output
    assert out.stat().st_size > 5_000
    assert "skipped a: no meals in their files" in res.output
    assert "3 skipped" in res.output and "no estimate" in res.output


def test_a_mixed_model_that_cannot_be_fitted_says_so_in_its_row():
    """Two people, one with few meals: no population mixed model can be fitted (the old
    random-intercept design was singular, and a ``LinAlgError`` used to lose the run); its row
    says why, the crossover row still stands."""
    from soleus_analysis.io import read_person
    from soleus_analysis.pipeline import person_meals, pool_people

    free = DATA.parent / "freeliving"
    rec = read_person(
        [free / "synthetic_freeliving_p01_dexcom.csv"],
        [free / "synthetic_freeliving_p01_activity.csv"],
        "a",
    )
    meals, curves, _ = person_meals(rec)
    few = meals.head(4).assign(subject="b")
    res = pool_people(pd.concat([meals, few], ignore_index=True), curves)
    mixed = res.pooled[res.pooled["method"].str.startswith("mixed")].iloc[0]
    assert np.isnan(mixed["estimate_pct"])
    assert mixed["note"].startswith("needs at least 3 people with 3 or more meals in each")
    assert set(res.people["subject"]) == {"a", "b"}

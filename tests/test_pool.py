"""The shared N-of-1 summary (share.csv) and `soleus pool`: no personal data out, every row
accounted for, and the pooled numbers those of the model on the rows read."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from soleus_analysis.app.cli import main
from soleus_analysis.core.errors import InputError
from soleus_analysis.io.shared_summary import (
    SHARE_COLUMNS,
    read_shared_summaries,
    shared_summary_bytes,
)
from soleus_analysis.stats.bayes import bayes_n_of_1, pooled_n_of_1
from soleus_analysis.validation.bayes import BayesScenario, simulate_people

ROOT = Path(__file__).resolve().parent.parent
CGM = ROOT / "data" / "freeliving" / "synthetic_freeliving_p01_dexcom.csv"
LOG = ROOT / "data" / "freeliving" / "synthetic_freeliving_p01_activity.csv"


def _shares(tmp_path: Path, n: int = 4) -> list[Path]:
    meals, _ = simulate_people(BayesScenario("s", n_meals=36), n, seed=2)
    out = []
    for i, (_, m) in enumerate(meals.groupby("subject")):
        p = tmp_path / f"share{i}.csv"
        p.write_bytes(shared_summary_bytes(bayes_n_of_1(m.assign(subject="person 1"))))
        out.append(p)
    return out


def test_analyze_writes_a_share_file_without_personal_data(tmp_path):
    res = CliRunner().invoke(
        main, ["analyze", "--cgm", str(CGM), "--events", str(LOG), "--out", str(tmp_path)]
    )
    assert res.exit_code == 0, res.output
    text = (tmp_path / "share.csv").read_text()
    lines = [ln for ln in text.splitlines() if not ln.startswith("#")]
    rows = list(csv.DictReader(lines))
    assert list(rows[0]) == list(SHARE_COLUMNS)
    assert len(rows) == 1 and rows[0]["subject"] == "person 1"
    assert "synthetic" not in text and "2025" not in text  # no file names, no dates
    bayes = list(csv.DictReader((tmp_path / "bayes.csv").open()))[0]
    assert float(rows[0]["log_ratio_estimate"]) == pytest.approx(
        float(bayes["log_ratio_estimate"]), rel=1e-5
    )
    assert "chance that SPU lowers your spike" in res.output


def test_summary_rows_are_kept_or_dropped_with_their_line(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text(
        "# comment\nsubject,log_ratio_estimate,log_ratio_se\n"
        "a,-0.2,0.1\nb,x,0.1\nc,-0.1,0\nd,-0.3,0.2,9\ne,0.05,0.12\n"
    )
    table, (prov,) = read_shared_summaries([p])
    assert table["subject"].tolist() == ["a", "e"]
    assert prov.rows_read == 5 and prov.rows_kept == 2 and prov.balanced
    assert sum(prov.rows_dropped.values()) == 3
    assert any(w.startswith("line 4:") for w in prov.warnings)
    bad = tmp_path / "bad.csv"
    bad.write_text("subject,estimate\na,1\n")
    with pytest.raises(InputError, match="log_ratio_estimate") as err:
        read_shared_summaries([bad])
    assert "bad.csv" in str(err.value) and "line 1" in str(err.value)


def test_pool_command_pools_what_it_read(tmp_path):
    paths = _shares(tmp_path)
    out = tmp_path / "pooled"
    res = CliRunner().invoke(main, ["pool", *map(str, paths), "--out", str(out)])
    assert res.exit_code == 0, res.output
    people = list(csv.DictReader((out / "people.csv").open()))
    assert len(people) == len(paths)
    # every person kept "person 1": numbered apart, never merged
    assert len({p["subject"] for p in people}) == len(paths)
    table, _ = read_shared_summaries(paths)
    pop, _ = pooled_n_of_1(table)
    row = list(csv.DictReader((out / "pooled.csv").open()))[0]
    assert float(row["reduction_geomean_pct"]) == pytest.approx(
        float(pop["reduction_geomean_pct"].iloc[0])
    )
    assert "typical person's spike" in res.output


def test_pool_refuses_a_file_that_is_not_a_summary(tmp_path):
    res = CliRunner().invoke(main, ["pool", str(CGM), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "missing column" in res.output and "Traceback" not in res.output


def test_plan_from_states_where_the_experiment_stands(tmp_path):
    res = CliRunner().invoke(
        main,
        [
            "plan",
            "--meals",
            "20",
            "-o",
            str(tmp_path / "s.csv"),
            "--from",
            str(CGM),
            "--events",
            str(LOG),
        ],
    )
    assert res.exit_code == 0, res.output
    line = next(ln for ln in res.output.splitlines() if ln.startswith("experiment so far"))
    from soleus_analysis.io import read_person
    from soleus_analysis.pipeline import analyze_person

    a = analyze_person(read_person([CGM], [LOG]))
    p0 = float(a.bayes["p_reduction_ge_0pct"].iloc[0])
    assert f"{100 * p0:.0f}% chance" in line
    assert np.isfinite(p0)

"""The reproduction chain: simulate -> write files -> read -> respond -> compare -> truth."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from soleus_analysis.app.cli import main
from soleus_analysis.core.errors import InputError
from soleus_analysis.core.rules import Rules
from soleus_analysis.simulate import population_truth, truth_reduction
from soleus_analysis.validation.reproduce import (
    N_POPULATION,
    POPULATION_SEED,
    analyse_study_files,
    glucose_diff,
    reproduction_table,
    run_reproduction,
    truth_summary,
)

REQUIRED_KEYS = {
    "protocol",
    "synthetic",
    "seed",
    "n_participants",
    "glucose_iauc_reduction_mean_ratio_pct",
    "glucose_iauc_reduction_mean_ratio_ci95",
    "insulin_iauc_reduction_mean_ratio_pct",
    "insulin_iauc_reduction_mean_ratio_ci95",
    "glucose_diff_60_120_mgdl",
    "true_glucose_iauc_reduction_pct",
    "true_insulin_iauc_reduction_pct",
    "cgm_glucose_iauc_reduction_mean_ratio_pct",
    "cgm_glucose_iauc_reduction_mean_ratio_ci95",
    "glucose_iauc_p_mean_diff",
    "glucose_iauc_p_wilcoxon",
    "population_true_glucose_iauc_reduction_pct",
    "population_true_insulin_iauc_reduction_pct",
}

# Hand-worked lab table: samples at 0, 60, 120 min; iAUC above t0 by trapezoids over 0..120.
# p01 control 100,150,100 -> 50*60 = 3000; spu 100,125,100 -> 1500
# p02 control 100,200,100 -> 6000;         spu 100,130,100 -> 1800
# p03 control  90,120, 90 -> 1800;         spu  90,102, 90 ->  720
# mean control 3600, mean spu 1340 -> reduction 100 * (1 - 1340/3600) = 62.777...%
# 60..120 min means (control - spu): p01 125-112.5 = 12.5, p02 150-115 = 35, p03 105-96 = 9
LAB = """# hand-made test table
subject,condition,minute,glucose_mgdl
p01,control,0,100
p01,control,60,150
p01,control,120,100
p01,spu,0,100
p01,spu,60,125
p01,spu,120,100
p02,control,0,100
p02,control,60,200
p02,control,120,100
p02,spu,0,100
p02,spu,60,130
p02,spu,120,100
p03,control,0,90
p03,control,60,120
p03,control,120,90
p03,spu,0,90
p03,spu,60,102
p03,spu,120,90
"""


@pytest.fixture
def hand_study(tmp_path: Path) -> Path:
    (tmp_path / "lab.csv").write_text(LAB)
    (tmp_path / "manifest.csv").write_text(
        "subject,cgm_path,events_path,lab_path\n" + "".join(f"p0{i},,,lab.csv\n" for i in (1, 2, 3))
    )
    return tmp_path


def test_analyse_hand_worked(hand_study: Path) -> None:
    rules = Rules(window=(0, 120), baseline="t0", n_boot=500)
    res = analyse_study_files(hand_study, rules, seed=1)
    assert res.window == (0.0, 120.0)
    s = res.summary()
    assert s["n_participants"] == 3
    assert s["glucose_iauc_reduction_mean_ratio_pct"] == pytest.approx(
        100 * (1 - 1340 / 3600), abs=1e-9
    )
    assert s["glucose_diff_60_120_mgdl"] == pytest.approx((12.5 + 35 + 9) / 3, abs=1e-9)
    # no insulin column, no CGM -> NaN, not an error
    assert math.isnan(s["insulin_iauc_reduction_mean_ratio_pct"])
    assert math.isnan(s["cgm_glucose_iauc_reduction_mean_ratio_pct"])
    lo, hi = s["glucose_diff_60_120_ci95"]
    assert lo < s["glucose_diff_60_120_mgdl"] < hi
    # same folder via the manifest path
    again = analyse_study_files(hand_study / "manifest.csv", rules, seed=1).summary()
    assert (
        again["glucose_iauc_reduction_mean_ratio_pct"] == s["glucose_iauc_reduction_mean_ratio_pct"]
    )
    # the study's own rules.json is the default: a 60-min window gives 0..60 areas
    (hand_study / "rules.json").write_text('{"window": [0, 60], "baseline": "t0", "n_boot": 500}')
    short = analyse_study_files(hand_study, seed=1)
    assert short.window == (0.0, 60.0)
    # 0..60 triangles: control 1500, 3000, 900; spu 750, 900, 360
    assert short.summary()["glucose_iauc_reduction_mean_ratio_pct"] == pytest.approx(
        100 * (1 - (750 + 900 + 360) / (1500 + 3000 + 900)), abs=1e-9
    )


def test_glucose_diff_span_and_missing_condition() -> None:
    samples = pd.DataFrame(
        {
            "subject": ["a"] * 5 + ["b"] * 2,
            "condition": ["control", "control", "control", "spu", "spu", "control", "control"],
            "minute": [30, 60, 150, 60, 120, 60, 90],
            "glucose_mgdl": [999, 140, 999, 100, 120, 150, 150],
        }
    )
    out = glucose_diff(samples)
    # a: control only 60 min in span (140), spu (100+120)/2 = 110 -> 30; b lacks spu -> left out
    assert list(out["subject"]) == ["a"]
    assert out["diff_mgdl"].iloc[0] == pytest.approx(30.0)


def test_missing_manifest_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="manifest"):
        analyse_study_files(tmp_path)


def test_run_reproduction_recovers_truth(tmp_path: Path) -> None:
    res = run_reproduction("hamilton2022", n=12, seed=2, workdir=tmp_path, n_boot=2000)
    assert REQUIRED_KEYS <= set(res)
    assert res["synthetic"] is True and res["n_participants"] == 12
    # files were written, named synthetic, and kept
    names = [p.name for p in tmp_path.iterdir()]
    assert "manifest.csv" in names
    assert "rules.json" in names  # the protocol's own analysis rules
    assert all(n.startswith("synthetic_") for n in names if n not in ("manifest.csv", "rules.json"))
    # the intervals target the population (people are resampled): coverage is judged against
    # the population truth, the simulated people's own truth is only near the estimate
    assert res["population_n"] == N_POPULATION
    for key in ("glucose_iauc", "insulin_iauc"):
        est = res[f"{key}_reduction_mean_ratio_pct"]
        lo, hi = res[f"{key}_reduction_mean_ratio_ci95"]
        truth = res[f"true_{key}_reduction_pct"]
        population = res[f"population_true_{key}_reduction_pct"]
        assert lo <= population <= hi, (key, lo, population, hi)
        assert abs(est - truth) < 10
    # the population truth is the simulator's, on its own large independent cohort
    pop = population_truth("hamilton2022", n=N_POPULATION, seed=POPULATION_SEED)
    assert res["population_true_glucose_iauc_reduction_pct"] == pytest.approx(
        pop["glucose_iauc_reduction_pct"]
    )
    assert res["population_true_glucose_diff_60_120_mgdl"] == pytest.approx(
        pop["glucose_diff_60_120_mgdl"]
    )
    # the truth equals the simulator's truth file, recomputed here independently
    tr = pd.read_csv(tmp_path / "synthetic_hamilton2022_truth.csv")
    m = tr.groupby("condition")["glucose_iauc_mgdl_min"].mean()
    assert res["true_glucose_iauc_reduction_pct"] == pytest.approx(
        100 * (1 - m["spu"] / m["control"]), abs=0.01
    )
    # CGM estimate: noisier (sensor lag and noise), still near the plasma truth
    assert (
        abs(
            res["cgm_glucose_iauc_reduction_mean_ratio_pct"]
            - res["true_glucose_iauc_reduction_pct"]
        )
        < 20
    )
    assert abs(res["glucose_diff_60_120_mgdl"] - res["true_glucose_diff_60_120_mgdl"]) < 8
    table = reproduction_table(res)
    assert list(table["measure"].str.contains("glucose iAUC reduction")) == [
        True,
        False,
        True,
        False,
    ]
    assert np.isfinite(table["truth"]).all()
    inside = (table["ci95_low"] <= table["truth"]) & (table["truth"] <= table["ci95_high"])
    assert table["covered"].tolist() == inside.tolist()
    assert table["covered"].iloc[:2].all()  # venous glucose and insulin, checked above
    # the table's truth is the population's; the sample truth is shown beside it
    assert table["truth"].iloc[0] == res["population_true_glucose_iauc_reduction_pct"]
    assert table["sample_truth"].iloc[0] == res["true_glucose_iauc_reduction_pct"]


def test_truth_summary_is_the_simulators_truth() -> None:
    truth = pd.DataFrame(
        {
            "condition": ["control", "spu", "control", "spu"],
            "glucose_iauc_mgdl_min": [4000.0, 2000.0, 6000.0, 2000.0],
            "insulin_iauc_uU_ml_min": [100.0, 50.0, 100.0, 100.0],
        }
    )
    # glucose 1 - 2000/5000 = 60%, insulin 1 - 75/100 = 25%
    out = truth_summary(truth)
    assert out == pytest.approx(
        {"true_glucose_iauc_reduction_pct": 60.0, "true_insulin_iauc_reduction_pct": 25.0}
    )
    assert out == {f"true_{k}": v for k, v in truth_reduction(truth).items()}


def test_cli_reproduce_json_and_simulate_inspect(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "r.json"
    r = runner.invoke(
        main,
        [
            "reproduce",
            "--protocol",
            "elek2025",
            "--seed",
            "1",
            "--n-boot",
            "500",
            "--json",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "SYNTHETIC" in r.output and "truth" in r.output
    data = json.loads(out.read_text())
    assert REQUIRED_KEYS <= set(data)
    assert data["protocol"] == "elek2025" and data["n_participants"] == 10
    assert data["insulin_reported_by_study"] is False
    lo, hi = data["glucose_iauc_reduction_mean_ratio_ci95"]
    assert lo <= data["population_true_glucose_iauc_reduction_pct"] <= hi

    sim = tmp_path / "sim"
    r = runner.invoke(main, ["simulate", "--protocol", "hamilton2022", "--n", "2", "-o", str(sim)])
    assert r.exit_code == 0, r.output
    assert str(sim / "manifest.csv") in r.output
    man = pd.read_csv(sim / "manifest.csv")
    assert list(man["subject"]) == ["p01", "p02"]
    files = [str(sim / man["cgm_path"][0]), str(sim / man["events_path"][0])]
    r = runner.invoke(main, ["inspect", *files])
    assert r.exit_code == 0, r.output
    assert "dexcom" in r.output.lower()
    # activity log of a crossover person: 2 drinks + 1 SPU bout
    assert "2 meal" in r.output and "1 spu" in r.output


def test_cli_simulate_bad_protocol(tmp_path: Path) -> None:
    r = CliRunner().invoke(main, ["simulate", "--protocol", "nope", "-o", str(tmp_path)])
    assert r.exit_code == 2

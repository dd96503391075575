"""The soleus command: help with examples, one-line errors with exit code 2, safe outputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from soleus_analysis.app.cli import main, spreadsheet_safe, write_table

SUBCOMMANDS = ["inspect", "analyze", "report", "cohort", "plan", "reproduce", "simulate"]


@pytest.fixture
def runner():
    return CliRunner()


def test_top_level_help_lists_examples(runner):
    res = runner.invoke(main, ["--help"])
    assert res.exit_code == 0
    assert "Examples" in res.output
    for cmd in SUBCOMMANDS:
        assert cmd in res.output


@pytest.mark.parametrize("cmd", SUBCOMMANDS)
def test_every_subcommand_help_shows_an_example(runner, cmd):
    res = runner.invoke(main, [cmd, "--help"])
    assert res.exit_code == 0, res.output
    assert "Example" in res.output
    assert f"soleus {cmd}" in res.output


def test_bad_input_is_one_line_exit_2_no_traceback(runner, tmp_path):
    bad = tmp_path / "garbage.csv"
    bad.write_bytes(b"\x00\x01\x02" * 100)
    res = runner.invoke(main, ["inspect", str(bad)])
    assert res.exit_code == 2
    err = res.stderr if hasattr(res, "stderr") else res.output
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    # the file by its label, not its name (file names often carry the person's name) ...
    assert len(lines) == 1 and lines[0].startswith("soleus: error: file: binary data")
    assert "garbage" not in lines[0]
    # ... unless the user asks for file names
    res = runner.invoke(main, ["--show-file-names", "inspect", str(bad)])
    assert res.exit_code == 2 and str(bad) in res.output


def test_missing_file_is_usage_error(runner, tmp_path):
    res = runner.invoke(
        main, ["report", "--cgm", str(tmp_path / "nope.csv"), "-o", str(tmp_path / "r.pdf")]
    )
    assert res.exit_code == 2
    assert not (tmp_path / "r.pdf").exists()


def test_bad_window_is_usage_error(runner, tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("id,time,gl\na,2025-01-01 00:00,100\n")
    res = runner.invoke(
        main, ["analyze", "--cgm", str(f), "--window", "120,0", "--out", str(tmp_path / "o")]
    )
    assert res.exit_code == 2
    assert "window" in res.output


def test_spreadsheet_safe_neutralises_formulas_only_in_text():
    df = pd.DataFrame(
        {
            "label": ["=cmd|' /C calc'!A0", "+1", "-x", "@SUM(A1)", "pasta", None],
            "v": [-1.0, 2, 3, 4, 5, 6],
        }
    )
    out = spreadsheet_safe(df)
    assert out["label"].tolist()[:5] == ["'=cmd|' /C calc'!A0", "'+1", "'-x", "'@SUM(A1)", "pasta"]
    assert out["label"].iloc[5] is None or pd.isna(out["label"].iloc[5])
    assert out["v"].tolist() == df["v"].tolist()  # numbers untouched


def test_write_table_is_atomic_and_roundtrips(tmp_path):
    df = pd.DataFrame({"a": [1, 2], "b": ["x", "=y"]})
    write_table(df, tmp_path / "t.csv")
    write_table(df, tmp_path / "t.parquet")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "t.csv",
        "t.parquet",
    ]  # no temp files left
    assert pd.read_csv(tmp_path / "t.csv")["b"].tolist() == ["x", "'=y"]
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "t.parquet"), df, check_dtype=False)


def test_plan_writes_a_schedule_the_log_reader_takes_back_and_power_from_data(runner, tmp_path):
    from pathlib import Path

    import soleus_analysis as sa

    data = Path(__file__).resolve().parent.parent / "data" / "freeliving"
    out = tmp_path / "schedule.csv"
    res = runner.invoke(
        main,
        [
            "plan",
            "--meals",
            "12",
            "--start",
            "2026-12-01",
            "-o",
            str(out),
            "--ics",
            str(tmp_path / "s.ics"),
            "--from",
            str(data / "synthetic_freeliving_p01_dexcom.csv"),
            "--events",
            str(data / "synthetic_freeliving_p01_activity.csv"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "power to detect a 30% reduction" in res.output
    powers = [
        float(ln.split(":")[1].strip("% ")) for ln in res.output.splitlines() if "meals:" in ln
    ]
    assert powers == sorted(powers) and all(0 <= p <= 100 for p in powers)  # more meals, more power
    # meals needed, against the normal-approximation closed form for a two-group comparison of
    # log responses: m = 4 (z_0.975 + z_0.8)^2 s^2 / log(0.7)^2, s from the printed CV
    import re

    from scipy.stats import norm

    cv = float(re.search(r"CV (\d+)% between comparable meals", res.output).group(1)) / 100
    need = re.search(r"meals needed for 80% power: (\d+) \((\d+) with", res.output)
    assert need, res.output
    s2 = np.log1p(cv**2)
    closed = 4 * (norm.ppf(0.975) + norm.ppf(0.8)) ** 2 * s2 / np.log(0.7) ** 2
    assert abs(int(need.group(1)) - closed) <= max(15, 0.15 * closed)
    assert int(need.group(2)) == int(need.group(1)) // 2
    # nothing ticked as done yet: every row is counted as planned-but-not-done, none kept
    rec = sa.read_events(out)
    sched = pd.read_csv(out)
    assert rec.provenance.rows_read == len(sched)
    assert rec.provenance.rows_dropped == {"planned but not marked done": len(sched)}


def test_reader_options_reach_only_the_readers_that_take_them(runner, tmp_path):
    # a plain CSV without units: refused with a message naming the file and the option ...
    f = tmp_path / "plain.csv"
    f.write_text("time,glucose\n2025-01-01 00:00,5.5\n2025-01-01 00:05,6.1\n")
    res = runner.invoke(main, ["inspect", str(f)])
    assert res.exit_code == 2 and "--units" in res.output and "error: file:" in res.output
    # ... read once the units are given; the same option does not trouble a Dexcom file
    dx = tmp_path / "dexcom.csv"
    dx.write_text(
        "Index,Timestamp (YYYY-MM-DDThh:mm:ss),Event Type,Event Subtype,Patient Info,Device Info,"
        "Source Device ID,Glucose Value (mg/dL),Insulin Value (u),Carb Value (grams),"
        "Duration (hh:mm:ss),Glucose Rate of Change (mg/dL/min),Transmitter Time (Long Integer),"
        "Transmitter ID\n1,2025-06-02T08:30:00,EGV,,,,G7,100,,,,,1000,AB\n"
    )
    res = runner.invoke(main, ["inspect", str(f), str(dx), "--units", "mmol/L"])
    assert res.exit_code == 0, res.output
    assert "generic (mmol/L)" in res.output and "dexcom_clarity (mg/dL)" in res.output

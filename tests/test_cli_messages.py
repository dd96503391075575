"""Messages in the command line's own words: no Python keywords on the terminal or in PDFs, a
wrong date order refused with the other order to try, planner schedules read back quietly."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from soleus_analysis.app.cli import main
from soleus_analysis.core.errors import command_line_words

ROOT = Path(__file__).resolve().parent
UK = ROOT / "fixtures" / "real" / "libreview_uk_mmol.csv"  # day-first dates (UK)
API_WORDS = re.compile(
    r"\b(date_order|include_scans|utc_offset|time_column|glucose_column|"
    r"subject_column|time_format|units)="
)


@pytest.mark.parametrize(
    "text,expected",
    [
        (
            "pass date_order='dmy' or 'mdy' (command line: --date-order)",
            "add --date-order dmy or --date-order mdy",
        ),
        ("choose one with time_column=...", "choose one with --time-column NAME"),
        ('pass units="mg/dL" or units="mmol/L"', "add --units mg/dL or --units mmol/L"),
        ("scan (include_scans=False)", "scan (without --include-scans)"),
        (
            'pass units="mg/dL" or units="mmol/L" (command line: --units mg/dL or --units mmol/L)',
            "add --units mg/dL or --units mmol/L",
        ),
        ("nothing to change here", "nothing to change here"),
    ],
)
def test_keywords_become_the_commands_options(text, expected):
    assert command_line_words(text) == expected


def test_a_wrong_date_order_exits_2_with_the_other_order_to_try():
    res = CliRunner().invoke(main, ["inspect", str(UK), "--date-order", "mdy"])
    assert res.exit_code == 2
    assert "--date-order dmy" in res.output and "Traceback" not in res.output
    assert not API_WORDS.search(res.output)
    ok = CliRunner().invoke(main, ["inspect", str(UK), "--date-order", "dmy"])
    assert ok.exit_code == 0, ok.output


def test_terminal_and_pdf_never_show_python_keywords(tmp_path):
    res = CliRunner().invoke(main, ["inspect", str(UK)])
    assert res.exit_code == 0 and "without --include-scans" in res.output
    assert not API_WORDS.search(res.output)
    pdf = tmp_path / "r.pdf"
    res = CliRunner().invoke(main, ["report", "--cgm", str(UK), "-o", str(pdf)])
    assert res.exit_code == 0, res.output
    from pypdf import PdfReader

    text = " ".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert not API_WORDS.search(text), API_WORDS.search(text)
    plain = tmp_path / "g.csv"
    plain.write_text("zeit,wert\n2026-01-01 08:00,100\n")
    res = CliRunner().invoke(main, ["inspect", str(plain), "--format", "generic"])
    assert res.exit_code == 2 and "--time-column NAME" in res.output
    assert not API_WORDS.search(res.output)
    res = CliRunner().invoke(
        main,
        [
            "inspect",
            str(plain),
            "--format",
            "generic",
            "--time-column",
            "zeit",
            "--glucose-column",
            "wert",
            "--units",
            "mg/dL",
        ],
    )
    assert res.exit_code == 0 and "kept 1" in res.output


def test_a_planner_schedule_reads_back_without_warnings(tmp_path):
    sched = tmp_path / "s.csv"
    res = CliRunner().invoke(
        main, ["plan", "--meals", "12", "--seed", "3", "--start", "2026-01-05", "-o", str(sched)]
    )
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(sched.open()))
    for i, r in enumerate(rows):
        r["done"] = "x" if i < len(rows) - 3 else ""  # the last meals still ahead
    with sched.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    from soleus_analysis.io import read_events

    rec = read_events(sched)
    assert rec.provenance.warnings == []
    assert rec.provenance.rows_dropped == {"planned but not marked done": 3}
    res = CliRunner().invoke(main, ["inspect", str(sched)])
    assert "warning" not in res.output


def test_a_plain_csv_without_units_names_the_option_once():
    # iglu's example layout: a glucose column "gl" that does not say mg/dL or mmol/L
    res = CliRunner().invoke(
        main, ["inspect", str(ROOT / "fixtures" / "generic" / "iglu_like.csv")]
    )
    assert res.exit_code == 2
    line = res.output.strip().splitlines()[0]
    assert line.endswith("add --units mg/dL or --units mmol/L"), line
    assert line.count("--units") == 2 and "command line" not in line

"""Every subcommand over every corpus, fixture and bundled file, and the combinations users make.

Each run must end in exit 0 with its output files, or exit 2 with one line on stderr: no other
outcome (no internal error, no traceback). Personal data planted in file names, preambles and
header rows of every format (:mod:`tests.corpus`) must reach no output: CSV, Parquet, JSON, PDF
bytes, PDF text and metadata, stdout and stderr.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from soleus_analysis.app.cli import main
from tests.corpus import PERSONAL, write_corpus

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = sorted(p for p in (ROOT / "tests" / "fixtures").rglob("*") if p.is_file())
FIXTURES = [p for p in FIXTURES if p.suffix in {".csv", ".json", ".xml", ".parquet"}]
BUNDLED = sorted((ROOT / "data").glob("*/synthetic_*.csv"))
CGM_FORMATS_ONLY_EVENTS = {"nightscout_treatments_json"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    return {f.key: f for f in write_corpus(folder, seed=3)}


def secrets(files) -> list[str]:
    """Every personal string planted: names, birth date, serial, and each file's stem."""
    out = {PERSONAL["first"], PERSONAL["last"], PERSONAL["dob"], PERSONAL["serial"]}
    out |= {"13-04-1971", "04/13/1971", "13.04.1971"}
    out |= {Path(f).stem for f in files}
    return sorted(out)


def text_of_outputs(folder: Path) -> str:
    """Everything a user could read in the files written below ``folder``."""
    parts = []
    for p in sorted(folder.rglob("*")):
        if not p.is_file():
            continue
        raw = p.read_bytes()
        parts.append(raw.decode("utf-8", "replace"))
        if p.suffix == ".pdf":
            reader = PdfReader(io.BytesIO(raw))
            parts.extend(page.extract_text() for page in reader.pages)
            parts.append(json.dumps({k: str(v) for k, v in (reader.metadata or {}).items()}))
        elif p.suffix == ".parquet":
            parts.append(pd.read_parquet(p).to_csv())
    return "\n".join(parts)


def run(args: list[str]):
    return CliRunner().invoke(main, args)


def assert_outcome(res, outputs: list[Path]) -> str:
    """Exit 0 with every expected output written, or exit 2 with exactly one line on stderr."""
    assert "Traceback" not in res.output and "internal error" not in res.output, res.output
    if res.exit_code == 0:
        for out in outputs:
            assert out.exists(), (out, res.output)
        return "ok"
    assert res.exit_code == 2, (res.exit_code, res.output)
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("soleus: error: "), res.stderr
    return lines[0]


def assert_private(res, out_dir: Path, files) -> None:
    blob = res.output + "\n" + text_of_outputs(out_dir)
    for s in secrets(files):
        assert not re.search(re.escape(s), blob, re.IGNORECASE), f"{s!r} leaked"


CGM_KEYS = [
    "dexcom_g6",
    "dexcom_g7_mmol",
    "dexcom_insulin_only",
    "libreview_us",
    "libreview_de",
    "carelink_us",
    "apple_health",
    "nightscout_entries",
]
LOG_KEYS = [
    "activity_log",
    "activity_log_other_period",
    "cronometer",
    "cronometer_other_period",
    "myfitnesspal",
    "cronometer_exercises",
    "nightscout_treatments",
]


@pytest.mark.parametrize("key", CGM_KEYS)
def test_every_cgm_export_gives_a_report_and_tables_without_personal_data(corpus, key, tmp_path):
    f = corpus[key].path
    out = tmp_path / "out"
    res = run(["report", "--cgm", str(f), "-o", str(out / "r.pdf")])
    assert assert_outcome(res, [out / "r.pdf"]) == "ok"
    assert_private(res, out, [f])
    res = run(["analyze", "--cgm", str(f), "--out", str(out / "t")])
    assert assert_outcome(res, [out / "t" / "meals.csv", out / "t" / "manifest.json"]) == "ok"
    res2 = run(["inspect", str(f), "--json", str(out / "i.json")])
    assert assert_outcome(res2, [out / "i.json"]) == "ok"
    assert_private(res2, out, [f])


@pytest.mark.parametrize("key", LOG_KEYS)
def test_every_log_as_a_cgm_export_is_refused_in_one_line(corpus, key, tmp_path):
    f = corpus[key].path
    res = run(["report", "--cgm", str(f), "-o", str(tmp_path / "r.pdf")])
    line = assert_outcome(res, [])
    if corpus[key].format in CGM_FORMATS_ONLY_EVENTS:
        # a CGM-family file with events only: a report that says there are no readings
        assert line == "ok" and "No glucose readings" in res.output
    else:
        assert "is a meal/activity log" in line and "--events" in line
    assert_private(res, tmp_path, [f])


@pytest.mark.parametrize(
    "cgm, logs, says",
    [
        ("dexcom_g6", ["activity_log"], "lower with SPU"),
        ("dexcom_g6", ["activity_log_other_period"], "Your SPU bouts cover"),
        ("dexcom_g6", ["cronometer_other_period"], "No SPU bouts found"),
        ("libreview_us", ["cronometer", "myfitnesspal"], "SPU"),
        ("libreview_de", ["activity_log"], "SPU"),
        ("carelink_us", ["cronometer_exercises"], "SPU"),
        ("apple_health", ["activity_log"], "SPU"),
        ("nightscout_entries", ["nightscout_treatments"], "SPU"),
        ("nightscout_entries", ["cronometer_other_period"], "Your meal log covers"),
        ("dexcom_insulin_only", ["activity_log"], "No glucose readings"),
        ("dexcom_g6", ["dexcom_g7_mmol"], "is a CGM export"),  # a CGM export given as a log
    ],
)
def test_the_combinations_users_make(corpus, cgm, logs, says, tmp_path):
    files = [corpus[cgm].path] + [corpus[k].path for k in logs]
    args = ["--cgm", str(files[0])] + [a for f in files[1:] for a in ("--events", str(f))]
    out = tmp_path / "out"
    res = run(["report", *args, "-o", str(out / "r.pdf")])
    line = assert_outcome(res, [out / "r.pdf"])
    assert says in (res.output if line == "ok" else line)
    assert_private(res, out, files)
    res = run(["analyze", *args, "--out", str(out / "t")])
    assert_outcome(res, [out / "t" / "manifest.json"])
    assert_private(res, out, files)


def test_a_file_of_several_people(corpus, tmp_path):
    f = corpus["generic_3_subjects"].path
    out = tmp_path / "out"
    res = run(["report", "--cgm", str(f), "--units", "mg/dL", "-o", str(out / "r.pdf")])
    assert "holds 3 people" in assert_outcome(res, [])
    res = run(["inspect", str(f), "--units", "mg/dL"])
    assert assert_outcome(res, []) == "ok" and "people      3" in res.output
    res = run(["cohort", str(f), "--units", "mg/dL", "-o", str(out / "c.pdf"), "--workers", "1"])
    assert assert_outcome(res, [out / "c.pdf"]) == "ok"
    assert_private(res, out, [f])


def test_a_cohort_of_corpus_people_without_personal_data(corpus, tmp_path):
    keys = ["dexcom_g6", "libreview_us", "apple_health", "carelink_us"]
    lines = ["subject,cgm,events"]
    for i, k in enumerate(keys):
        lines.append(f"p{i + 1},{corpus[k].path},{corpus['activity_log'].path}")
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    res = run(["cohort", str(manifest), "-o", str(out / "c.pdf"), "--out", str(out / "t")])
    assert assert_outcome(res, [out / "c.pdf", out / "t" / "meals.csv"]) == "ok"
    assert_private(res, out, [corpus[k].path for k in keys] + [corpus["activity_log"].path])


@pytest.mark.parametrize("path", FIXTURES + BUNDLED, ids=lambda p: p.name)
def test_every_fixture_and_bundled_file_inspects_and_reports(path, tmp_path):
    res = run(["inspect", str(path)])
    if assert_outcome(res, []) != "ok":
        return  # refused in one line: files that are not CGM exports or logs (e.g. lab tables)
    if "readings    0" in res.output:
        return
    res = run(["report", "--cgm", str(path), "-o", str(tmp_path / "r.pdf")])
    assert_outcome(res, [tmp_path / "r.pdf"])


def test_two_devices_over_the_same_days_are_refused_and_re_exports_merged(corpus, tmp_path):
    g6, g7 = corpus["dexcom_g6"].path, corpus["dexcom_g7_mmol"].path
    res = run(["report", "--cgm", str(g6), "--cgm", str(g7), "-o", str(tmp_path / "r.pdf")])
    line = assert_outcome(res, [])
    assert "CGM export 2: holds different glucose readings than CGM export 1" in line
    # the same export twice (consecutive downloads overlap): merged, not refused
    copy = tmp_path / "second_download.csv"
    copy.write_bytes(g6.read_bytes())
    res = run(["analyze", "--cgm", str(g6), "--cgm", str(copy), "--out", str(tmp_path / "t")])
    assert assert_outcome(res, [tmp_path / "t" / "manifest.json"]) == "ok"

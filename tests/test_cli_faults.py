"""The command line on faults: a readable file always gives something, every refusal is one line
with exit code 2, writes are atomic for real (issue 9, parts 2, 3 and 5)."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from soleus_analysis.app.cli import main
from soleus_analysis.core import outputs
from soleus_analysis.core.errors import UsageError

ROOT = Path(__file__).resolve().parent.parent
FREE = ROOT / "data" / "freeliving"
CGM = FREE / "synthetic_freeliving_p01_dexcom.csv"
LOG = FREE / "synthetic_freeliving_p01_activity.csv"
CRONO = ROOT / "tests" / "fixtures" / "logs" / "cronometer_servings.csv"
HEADER = (
    "Index,Timestamp (YYYY-MM-DDThh:mm:ss),Event Type,Event Subtype,Patient Info,Device Info,"
    "Source Device ID,Glucose Value (mg/dL),Insulin Value (u),Carb Value (grams),"
    "Duration (hh:mm:ss),Glucose Rate of Change (mg/dL/min),Transmitter Time (Long Integer),"
    "Transmitter ID"
)


def dexcom(path: Path, days: int = 3, *, egv: bool = True, insulin: int = 1, carbs: int = 0):
    """A small Clarity export: 5-min EGVs, ``insulin`` Fast-Acting rows and ``carbs`` Carbs rows."""
    rng = np.random.default_rng(1)
    lines = [HEADER, "1,,FirstName,,Zebediah,,,,,,,,", "2,,LastName,,Quuxworth,,,,,,,,"]
    t0 = pd.Timestamp("2025-11-01 00:02:11")
    i = 3
    for k in range(days * 288 if egv else 0):
        g = int(110 + 30 * np.sin(k / 20) + rng.normal(0, 5))
        t = t0 + pd.Timedelta(minutes=5 * k)
        lines.append(f"{i},{t:%Y-%m-%dT%H:%M:%S},EGV,,,,Android G7,{g},,,,,{1000 + 300 * k},AB12")
        i += 1
    for j in range(insulin):
        lines.append(f"{i},2025-11-0{2 + j % 2}T12:00:00,Insulin,Fast-Acting,,,Android G7,,4,,,,")
        i += 1
    for j in range(carbs):
        hour = 8 + 5 * (j // 2)  # meals 5 h apart: their windows never overlap
        lines.append(f"{i},2025-11-0{2 + j % 2}T{hour:02d}:10:00,Carbs,,,,Android G7,,,50,,,")
        i += 1
    path.write_text("\n".join(lines) + "\n")
    return path


def one_line_exit_2(res) -> str:
    """The refusal: exit code 2 and exactly one line on stderr, no traceback anywhere."""
    assert res.exit_code == 2, (res.exit_code, res.output)
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("soleus: error: ")
    assert "Traceback" not in res.output and "internal error" not in res.output
    return lines[0]


@pytest.fixture
def runner():
    return CliRunner()


# ----------------------------------------------------------------------------- part 2


@pytest.mark.parametrize(
    "kw, says",
    [
        ({"insulin": 1, "carbs": 0}, "No meals logged"),  # G7 with one insulin entry, no carbs
        ({"egv": False, "insulin": 3}, "No glucose readings"),  # insulin rows only
        ({"insulin": 0, "carbs": 4}, "No SPU bouts found"),  # meals, no SPU
    ],
)
def test_report_and_analyze_give_something_for_every_cgm_export(runner, tmp_path, kw, says):
    f = dexcom(tmp_path / "CLARITY_Export_Quuxworth_Zebediah.csv", **kw)
    res = runner.invoke(main, ["report", "--cgm", str(f), "-o", str(tmp_path / "r.pdf")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "r.pdf").stat().st_size > 5_000
    assert says in res.output
    from pypdf import PdfReader

    pdf_text = " ".join(p.extract_text() for p in PdfReader(tmp_path / "r.pdf").pages)
    assert says in " ".join(pdf_text.split())  # the PDF says it too
    res = runner.invoke(main, ["analyze", "--cgm", str(f), "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert says in res.output
    assert outputs.read_set(tmp_path / "o").keys() == {
        "meals.csv",
        "meals.parquet",
        "metrics.csv",
        "rules.json",
    }


def test_a_log_of_another_period_is_named_with_both_periods(runner, tmp_path):
    res = runner.invoke(
        main, ["report", "--cgm", str(CGM), "--events", str(CRONO), "-o", str(tmp_path / "r.pdf")]
    )
    assert res.exit_code == 0, res.output
    assert "Your meal log covers 03 Jan 2026 to 04 Jan 2026" in res.output
    assert "your CGM data 02 Jun 2025 to 15 Jun 2025" in res.output


def test_a_log_given_as_cgm_and_a_cgm_export_given_as_a_log(runner, tmp_path):
    pdf = str(tmp_path / "r.pdf")
    line = one_line_exit_2(runner.invoke(main, ["report", "--cgm", str(LOG), "-o", pdf]))
    assert "CGM export: is a meal/activity log (activity_log)" in line and "--events" in line
    other = tmp_path / "another_export.csv"
    other.write_bytes(CGM.read_bytes())
    line = one_line_exit_2(
        runner.invoke(main, ["report", "--cgm", str(CGM), "--events", str(other), "-o", pdf])
    )
    assert "log: is a CGM export (dexcom_clarity" in line and "--cgm" in line
    line = one_line_exit_2(
        runner.invoke(main, ["report", "--cgm", str(CGM), "--events", str(CGM), "-o", pdf])
    )
    assert "given both as a CGM export and as a log" in line
    assert not Path(pdf).exists()


def test_closed_pipe_ends_quietly(tmp_path):
    files = [str(CGM)] * 30  # plenty of output for `head` to cut short
    cmd = f"{sys.executable} -m soleus_analysis inspect {' '.join(files)} | head -n 2"
    res = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=300)
    assert res.stdout.count("\n") == 2
    assert res.stderr == ""


@pytest.mark.parametrize("where", ["below_a_file", "is_a_folder", "device"])
def test_unwritable_targets_are_one_line_exit_2(runner, tmp_path, where):
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    target = {
        "below_a_file": plain / "inspect.json",
        "is_a_folder": tmp_path,
        "device": Path("/dev/full"),
    }[where]
    line = one_line_exit_2(runner.invoke(main, ["inspect", str(CGM), "--json", str(target)]))
    assert "--json" in line
    assert Path("/dev/full").is_char_device()  # never replaced by a regular file
    out = plain / "results"
    line = one_line_exit_2(runner.invoke(main, ["analyze", "--cgm", str(CGM), "--out", str(out)]))
    assert "--out" in line


def test_full_disk_and_permission_errors_are_one_line_and_leave_no_temp(
    runner, tmp_path, monkeypatch
):
    target = tmp_path / "inspect.json"
    target.write_text("old")
    real_fsync = os.fsync

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(outputs.os, "fsync", full)
    line = one_line_exit_2(runner.invoke(main, ["inspect", str(CGM), "--json", str(target)]))
    assert "No space left on device" in line
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == [
        "inspect.json"
    ]
    monkeypatch.setattr(outputs.os, "fsync", real_fsync)

    def denied(*a, **k):
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path))

    monkeypatch.setattr(outputs.tempfile, "mkstemp", denied)
    line = one_line_exit_2(runner.invoke(main, ["inspect", str(CGM), "--json", str(target)]))
    assert "Permission denied" in line


def test_a_symlink_is_written_through(tmp_path):
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    outputs.write_atomic(link, b"new")
    assert link.is_symlink() and real.read_text() == "new"


def test_concurrent_writers_and_a_reader_never_see_a_part_or_a_mix(tmp_path):
    target = tmp_path / "t.bin"
    payloads = [bytes([65 + i]) * 200_000 for i in range(2)]
    outputs.write_atomic(target, payloads[0])
    stop = threading.Event()
    bad = []

    def writer(data: bytes) -> None:
        while not stop.is_set():
            outputs.write_atomic(target, data)

    threads = [threading.Thread(target=writer, args=(p,)) for p in payloads]
    for t in threads:
        t.start()
    seen = set()
    for _ in range(1500):
        data = target.read_bytes()
        seen.add(data[:1])
        if data not in payloads:
            bad.append(len(data))
    stop.set()
    for t in threads:
        t.join()
    assert bad == []
    assert seen == {b"A", b"B"}
    assert [p.name for p in tmp_path.iterdir()] == ["t.bin"]  # no temporary file left


def test_sigterm_removes_the_temporary_file(tmp_path):
    script = (
        "import signal, sys, time\n"
        "from soleus_analysis.app.cli import _on_sigterm\n"
        "from soleus_analysis.core.outputs import atomic_target\n"
        "signal.signal(signal.SIGTERM, _on_sigterm)\n"
        f"with atomic_target({str(tmp_path / 'out.pdf')!r}) as tmp:\n"
        "    tmp.write_bytes(b'partial')\n"
        "    print('ready', flush=True)\n"
        "    time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    assert len(list(tmp_path.iterdir())) == 1  # the temporary file exists while writing
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    assert list(tmp_path.iterdir()) == []


def test_analyze_writes_a_set_a_reader_can_trust(runner, tmp_path, monkeypatch):
    out = tmp_path / "o"
    res = runner.invoke(
        main, ["analyze", "--cgm", str(CGM), "--events", str(LOG), "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    first = outputs.read_set(out)
    assert set(first) == {
        "meals.csv",
        "meals.parquet",
        "metrics.csv",
        "effect.csv",
        "bayes.csv",
        "share.csv",
        "rules.json",
    }
    stated = json.loads(first["rules.json"])
    assert stated["window"] == [0.0, 120.0] and stated["statement"].startswith("Response:")
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["files"]) == set(first)
    # a run killed after its first file: the old manifest is gone, so the mix is refused
    calls = {"n": 0}
    real = outputs.write_atomic

    def dies_after_one(path, data, what="output"):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(path, data, what)

    monkeypatch.setattr(outputs, "write_atomic", dies_after_one)
    runner.invoke(main, ["analyze", "--cgm", str(CGM), "--out", str(out), "--window", "0,90"])
    monkeypatch.setattr(outputs, "write_atomic", real)
    with pytest.raises(UsageError, match="no complete result set"):
        outputs.read_set(out)
    # a run without an effect removes the old effect.csv rather than leave it beside new tables
    res = runner.invoke(main, ["analyze", "--cgm", str(CGM), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert set(outputs.read_set(out)) == {"meals.csv", "meals.parquet", "metrics.csv", "rules.json"}
    assert not (out / "effect.csv").exists()
    (out / "metrics.csv").write_text("tampered\n")
    with pytest.raises(UsageError, match="does not match"):
        outputs.read_set(out)


# ----------------------------------------------------------------------------- part 3


def _study(path: Path) -> Path:
    rng = np.random.default_rng(0)
    t = pd.date_range("2025-01-01", periods=288 * 2, freq="5min")
    frames = [
        pd.DataFrame({"id": pid, "time": t, "gl": 100 + rng.normal(0, 5, len(t))})
        for pid in ("s1", "s2", "s3")
    ]
    pd.concat(frames).to_csv(path, index=False)
    return path


def test_a_file_of_several_people_is_never_pooled_as_one(runner, tmp_path):
    f = _study(tmp_path / "study.csv")
    res = runner.invoke(main, ["inspect", str(f), "--units", "mg/dL"])
    assert res.exit_code == 0 and "people      3 (s1, s2, s3)" in res.output
    for cmd in (
        ["analyze", "--out", str(tmp_path / "o")],
        ["report", "-o", str(tmp_path / "r.pdf")],
    ):
        line = one_line_exit_2(
            runner.invoke(main, [cmd[0], "--cgm", str(f), "--units", "mg/dL", *cmd[1:]])
        )
        assert "holds 3 people" in line and "--subject" in line and "soleus cohort" in line
    res = runner.invoke(
        main,
        ["analyze", "--cgm", str(f), "--units", "mg/dL", "--subject", "s2", "--out", str(tmp_path)],
    )
    assert res.exit_code == 0, res.output
    assert res.output.startswith("s2: 2.0 days")


def test_one_persons_cgm_and_log_read_without_subject_are_matched():
    import soleus_analysis as sa

    r = sa.read_cgm(CGM, subject="from-export")
    e = sa.read_events(LOG, subject="from-log")
    with pytest.warns(UserWarning, match="taking the events as 'from-export'"):
        meals = sa.meal_responses(r.readings, e.events)
    assert meals["included"].all() and (meals["subject"] == "from-export").all()


def test_an_unreachable_input_never_blocks(runner, tmp_path):
    fifo = tmp_path / "export.csv"
    os.mkfifo(fifo)
    t0 = time.perf_counter()
    line = one_line_exit_2(runner.invoke(main, ["inspect", str(fifo)]))
    assert "FIFO" in line and time.perf_counter() - t0 < 10


@pytest.mark.parametrize(
    "first_lines",
    [
        "Name:Zebediah Quuxworth,Date Range:2023-07-20 -2023-08-02\nfoo,bar\n1,2\n",  # Glooko
        "Zebediah Quuxworth\nID\tTime\tRecord Type\n",  # FreeStyle Libre desktop's first line
        "Glucose Data,Generated on,29-03-2021 18:51 UTC,Generated by,Zebediah Quuxworth\nx,y\n",
    ],
)
def test_refusals_never_quote_a_preamble_line(runner, tmp_path, first_lines):
    f = tmp_path / "export.csv"
    f.write_text(first_lines)
    res = runner.invoke(main, ["report", "--cgm", str(f), "-o", str(tmp_path / "r.pdf")])
    line = one_line_exit_2(res)
    assert "Zebediah" not in res.output and "Quuxworth" not in res.output, line
    # nor on the cohort report's page of people skipped
    (tmp_path / "m.csv").write_text(f"subject,cgm\np1,{f.name}\np2,{CGM}\n")
    res = runner.invoke(
        main, ["cohort", str(tmp_path / "m.csv"), "-o", str(tmp_path / "c.pdf"), "--workers", "1"]
    )
    assert res.exit_code == 0, res.output
    assert "skipped p1: CGM export" in res.output
    from pypdf import PdfReader

    text = " ".join(p.extract_text() for p in PdfReader(tmp_path / "c.pdf").pages)
    assert "People skipped" in text
    assert "Zebediah" not in text + res.output and "Quuxworth" not in text + res.output

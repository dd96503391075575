"""``benchmarks/tables.py``: the one summary table ``make bench`` writes (figures recorded by
each script as JSON lines, read back in order, rendered as markdown, put between the README's
markers)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "tables.py"
_spec = importlib.util.spec_from_file_location("bench_tables", _PATH)
T = importlib.util.module_from_spec(_spec)
sys.modules["bench_tables"] = T
_spec.loader.exec_module(T)

README = Path(__file__).resolve().parents[1] / "README.md"
RUN_ALL = Path(__file__).resolve().parents[1] / "benchmarks" / "run_all.py"


def test_record_writes_nothing_without_the_environment_variable(tmp_path, monkeypatch):
    monkeypatch.delenv(T.SUMMARY_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    T.record("b.py", "task", "1 s")
    assert list(tmp_path.iterdir()) == []


def test_records_are_read_back_in_order_and_rendered(tmp_path, monkeypatch):
    log = tmp_path / "s.jsonl"
    monkeypatch.setenv(T.SUMMARY_ENV, str(log))
    T.record("a.py", "read x", "0.30 s", "floor 0.10 s", 3.0, "<= 2x", False)
    T.record("b.py", "write y", "2.00 s", "", None, "< 2.5 s", True)
    T.record("c.py", "note z", "5 MB")
    frame = T.read_records(log)
    assert frame["task"].tolist() == ["read x", "write y", "note z"]
    text = T.summary_markdown(frame)
    lines = text.splitlines()
    assert lines[0] == "| " + " | ".join(T.SUMMARY_COLUMNS) + " |"
    assert len(lines) == 2 + 3
    # ratio 3.0 -> "3.0x"; a missed target in bold; no target -> blank cells
    assert "| 3.0x | <= 2x | **no** |" in lines[2]
    assert lines[3].endswith("|  | < 2.5 s | yes |")
    assert lines[4].endswith("| 5 MB |  |  |  |  |")


def test_read_records_of_a_missing_file_is_an_empty_table(tmp_path):
    frame = T.read_records(tmp_path / "none.jsonl")
    assert frame.empty and list(frame.columns) == list(T.SUMMARY_COLUMNS)


def test_replace_between_keeps_the_markers_and_the_rest():
    text = "head\n<!-- s -->\nold\nrows\n<!-- e -->\ntail\n"
    got = T.replace_between(text, "<!-- s -->", "<!-- e -->", "new\n")
    assert got == "head\n<!-- s -->\nnew\n<!-- e -->\ntail\n"
    # idempotent: replacing again with the same body changes nothing
    assert T.replace_between(got, "<!-- s -->", "<!-- e -->", "new") == got
    with pytest.raises(ValueError, match="markers"):
        T.replace_between("<!-- e -->\n<!-- s -->", "<!-- s -->", "<!-- e -->", "x")


def test_the_readme_has_the_markers_run_all_writes_between():
    spec = importlib.util.spec_from_file_location("bench_run_all", RUN_ALL)
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("tables", T)
    spec.loader.exec_module(mod)
    text = README.read_text(encoding="utf-8")
    start, end = mod.MARKERS
    assert text.count(start) == 1 and text.count(end) == 1
    assert text.index(start) < text.index(end)


def test_a_lead_over_a_peer_never_prints_as_zero():
    assert T._ratio_text(0.00156) == "0.0016x"
    assert T._ratio_text(0.094) == "0.094x"
    assert T._ratio_text(0.1) == "0.1x" and T._ratio_text(5.14) == "5.1x"

"""What the readers share (``io/base.py``, ``io/encoding.py``) and the dispatcher's table.

The row account, the one warning cap, the header finder, the one text decoder, the lab table
known to the dispatcher, a format added as one module, and the rule that no reader imports
another reader's private helpers.
"""

from __future__ import annotations

import ast
import re
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import soleus_analysis as sa
from soleus_analysis import io as sio
from soleus_analysis.core.errors import AccountError, InputError
from soleus_analysis.core.recording import Provenance, Recording
from soleus_analysis.io import base, detect
from soleus_analysis.io.base import (
    MAX_WARNINGS_PER_REASON,
    RowAccount,
    csv_table,
    find_header,
    numbers,
    sniff_delimiter,
    to_float,
    warn_dropped,
    warn_each,
)
from soleus_analysis.io.encoding import decode_bytes, read_decoded

IO = Path(sio.__file__).parent
FIX = Path(__file__).parent / "fixtures"
CAP = MAX_WARNINGS_PER_REASON
SHARED = {"base", "encoding", "spu_text"}


# ---------------------------------------------------------------------------- module structure
def _sibling_imports(path: Path):
    """(sibling module, imported names) of every import of a module of this package."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:
                mod = (node.module or "").split(".")[0]
                names = [a.name for a in node.names]
                if not node.module:  # from . import dexcom
                    for name in names:
                        yield name, []
                else:
                    yield mod, names
            elif node.level == 0 and (node.module or "").startswith("soleus_analysis.io."):
                yield node.module.split(".")[2], [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("soleus_analysis.io."):
                    yield a.name.split(".")[2], []


@pytest.mark.parametrize("path", sorted(IO.glob("*.py")), ids=lambda p: p.name)
def test_no_reader_imports_another_readers_private_helpers(path):
    """Shared helpers are public names of base / encoding / spu_text; a reader module imports
    no other sibling at all, and no module imports a ``_private`` name of a sibling."""
    me = path.stem
    for mod, names in _sibling_imports(path):
        private = [n for n in names if n.startswith("_")]
        assert not private, f"{path.name} imports private {private} from {mod}"
        if me in detect.MODULES or me in SHARED:
            assert mod in SHARED, f"{path.name} imports the reader module {mod!r}"


def _calls(path: Path) -> set[str]:
    """Names of the functions and methods a module calls (``decode``, ``stat``, ...)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            out.add(f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", ""))
    return out


def test_readers_keep_no_cap_decoder_or_path_check_of_their_own():
    for path in IO.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        calls = _calls(path)
        if path.stem != "base":
            assert not re.search(r"^MAX_\w*WARN\w*\s*=", text, re.M), path.name
            assert not calls & {"exists", "is_dir"}, path.name  # check_input_file does it
        if path.stem != "encoding":
            assert not calls & {"decode", "is_file"}, path.name


def test_every_module_in_the_table_declares_sniffers_and_readers():
    for name in detect.MODULES:
        mod = sys.modules[f"soleus_analysis.io.{name}"]
        assert mod.SNIFFERS and isinstance(mod.READERS, dict)
        assert {n for n, _ in mod.SNIFFERS} <= set(mod.READERS) | set(getattr(mod, "TABLES", {}))
    assert detect.MODULES[-1] == "generic"  # the catch-all is asked last


# ---------------------------------------------------------------------------- the row account
def test_row_account_first_reason_wins_and_warns_in_line_order():
    prov = Provenance(path="x", format="f", rows_read=6)
    acct = RowAccount(prov, np.array([2, 3, 4, 5, 6, 7]))
    acct.drop(np.array([0, 0, 0, 1, 1, 0], bool), "bad carbs")
    acct.drop(np.array([0, 1, 0, 1, 0, 0], bool), "missing kind")  # line 5 is taken already
    acct.drop(np.array([1, 0, 0, 0, 0, 0], bool), "quiet", warn=False)
    acct.keep(np.array([1, 0, 1, 0, 0, 0], bool))  # line 2 is dropped already
    what = np.array([None, None, None, None, None, "value 'x'"], dtype=object)
    acct.drop(np.array([0, 0, 1, 0, 0, 1], bool), "odd", what)  # line 4 is kept
    keep = acct.commit()
    prov.rows_kept = int(acct.kept.sum())
    assert keep.tolist() == [False, False, True, False, False, False]
    assert prov.rows_dropped == {"quiet": 1, "missing kind": 1, "bad carbs": 2, "odd": 1}
    assert list(prov.rows_dropped) == ["quiet", "missing kind", "bad carbs", "odd"]  # by row
    assert prov.warnings == [
        "line 3: dropped (missing kind)",
        "line 5: dropped (bad carbs)",
        "line 6: dropped (bad carbs)",
        "line 7: value 'x'; row dropped (odd)",
    ]
    assert prov.check() is prov


def test_unbalanced_account_is_a_named_error_not_an_assertion():
    prov = Provenance(path="z", format="f", rows_read=3, rows_kept=1)
    with pytest.raises(AccountError, match="rows_read=3") as info:
        prov.check()
    assert isinstance(info.value, RuntimeError) and not isinstance(info.value, AssertionError)


def test_warning_cap_and_summary_line():
    prov = Provenance(path="x", format="f")
    warn_dropped(prov, "bad", np.arange(1, 100_001), [f"v{i}" for i in range(100_000)])
    warn_each(prov, [4, 5], "odd row", "that are odd")
    warn_dropped(prov, "gone", [7], unit="entry")
    assert prov.rows_dropped == {"bad": 100_000, "gone": 1}
    assert len(prov.warnings) == CAP + 1 + 2 + 1
    assert prov.warnings[0] == "line 1: dropped (bad) (v0)"
    assert prov.warnings[CAP] == f"... and {100_000 - CAP} more row(s) dropped (bad)"
    assert prov.warnings[-3:] == ["line 4: odd row", "line 5: odd row", "entry 7: dropped (gone)"]


def _dexcom_bad(tmp_path: Path, n: int) -> Path:
    head = (FIX / "dexcom" / "g6_mgdl_preamble_bom.csv").read_text(encoding="utf-8-sig")
    header = head.splitlines()[0]
    rows = [f"{i},2025-01-01T00:00:00,EGV,,,,,abc,,,,,{i},X" for i in range(n)]
    rows += [f"{n + i},2025-01-02T00:00:00,EGV,,,,,,,,,,{i},X" for i in range(n)]
    p = tmp_path / "many_bad.csv"
    p.write_text(header + "\n" + "\n".join(rows) + "\n")
    return p


def _generic_bad(tmp_path: Path, n: int) -> Path:
    p = tmp_path / "many_bad_generic.csv"
    p.write_text("time,glucose_mgdl\n" + "2025-01-01 00:00,abc\n" * n + "nonsense,100\n" * n)
    return p


def _log_bad(tmp_path: Path, n: int) -> Path:
    p = tmp_path / "many_bad_log.csv"
    p.write_text("start,kind,carbs_g\n" + "2025-01-01 08:00,meal,lots\n" * n + ",meal,10\n" * n)
    return p


@pytest.mark.parametrize("make", [_dexcom_bad, _generic_bad, _log_bad], ids=lambda f: f.__name__)
def test_a_file_of_100000_bad_rows_warns_at_most_the_cap_per_reason(tmp_path, make):
    n = 50_000
    rec = sa.read_cgm(make(tmp_path, n), units="mg/dL", only_accepted_options=True)
    prov = rec.provenance
    assert prov.balanced and prov.rows_read == 2 * n and prov.rows_kept == 0
    assert sorted(prov.rows_dropped.values()) == [n, n]
    more = [w for w in prov.warnings if w.startswith("... and ")]
    assert len(more) == 2 and sum(w.startswith("line ") for w in prov.warnings) == 2 * CAP
    for reason in prov.rows_dropped:
        assert f"... and {n - CAP} more row(s) dropped ({reason})" in more


# ---------------------------------------------------------------------------- header, CSV, text
def test_find_header_among_preamble_lines(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("Title,Generated on,2025-01-01\n\nName;Kind;Value\nA;b;1\n")
    head = find_header(p, lambda ln: "Kind" in ln, what="a test export", missing="no", max_lines=5)
    assert (head.index, head.line, head.delimiter, head.fields) == (
        2,
        3,
        ";",
        ["Name", "Kind", "Value"],
    )
    assert head.encoding == "utf-8-sig" and head.head[0].startswith("Title")
    with pytest.raises(InputError, match="no header here") as info:
        find_header(p, lambda ln: False, what="x", missing="no header here", max_lines=5)
    assert info.value.line == 1
    p.write_text("  \n\n")
    with pytest.raises(InputError, match="empty; expected a test export"):
        find_header(p, bool, what="a test export", missing="no", max_lines=5)


def test_delimiter_numbers_and_floats():
    assert [sniff_delimiter(s) for s in ("a,b;c", "a;b;c", "a\tb", "", "a,b\tc")] == [
        ",", ";", "\t", ",", ",",
    ]  # fmt: skip
    num, bad = numbers(pd.Series(["1,5", "", " 2 ", "x", "NA"]), missing=("", "na"))
    assert num.tolist()[:3] == [1.5, pytest.approx(float("nan"), nan_ok=True), 2.0]
    assert bad.tolist() == [False, False, False, True, False]
    got = to_float(np.array(["5,6", " 7 ", "1e2", "inf", None], dtype=object), decimal_comma=True)
    assert got[:3].tolist() == [5.6, 7.0, 100.0] and np.isnan(got[3:]).all()


def test_csv_table_counts_long_rows_and_skips_comments():
    prov = Provenance(path="x", format="f")
    text = "# note\nStart,Kind (what)\n\n2025-01-01 08:00,meal\n1,2,3\n"
    table, header_line = csv_table(text, "x", prov, comments=True)
    assert header_line == 2 and list(table.columns) == ["start", "kind_what", "_line"]
    assert table["_line"].tolist() == [4] and prov.rows_read == 2
    assert prov.rows_dropped == {"more fields than the header": 1}
    assert prov.warnings == ["line 5: dropped (more fields than the header)"]
    with pytest.raises(InputError, match="no header row"):
        csv_table('""\n', "x", prov)


def test_one_decoder(tmp_path):
    assert decode_bytes("\ufeffé".encode(), "x") == ("é", "utf-8-sig")
    assert decode_bytes("é".encode("cp1252"), "x") == ("é", "cp1252")
    # a stray NUL is text with a mark (U+FFFD), binary data (many NUL/control bytes) refused
    assert decode_bytes(b"a\x00b", "x", "a log") == ("a\ufffdb", "utf-8-sig")
    with pytest.raises(InputError, match="binary data; expected a log"):
        decode_bytes(b"PK\x03\x04" + bytes(range(32)) * 4, "x", "a log")
    p = tmp_path / "a.csv"
    p.write_bytes(b"  \n")
    with pytest.raises(InputError, match="empty; expected rows"):
        read_decoded(p, empty="rows")


def test_not_utf8_is_said_by_every_csv_reader_that_says_it(tmp_path):
    p = tmp_path / "log.csv"
    p.write_bytes("start,kind,notes\n2025-01-01 08:00,meal,caf\xe9\n".encode("cp1252"))
    rec = sa.read_events(p)
    assert rec.provenance.warnings == ["file is not UTF-8; read as Windows-1252"]
    assert rec.events["label"].tolist() == ["café"]


# ---------------------------------------------------------------------------- the dispatcher
def test_lab_table_is_known_to_the_dispatcher(tmp_path):
    lab = FIX / "lab" / "ogtt_small.csv"
    assert sa.detect_format(lab) == "lab_ogtt" and "lab_ogtt" in sa.formats()
    for read in (sa.read_cgm, sa.read_events):
        with pytest.raises(InputError, match="is a lab OGTT table .*read_lab") as info:
            read(lab)
        assert "unknown format" not in str(info.value)
    with pytest.raises(InputError, match="lab OGTT table"):
        sa.read_cgm(FIX / "dexcom" / "g6_mgdl_preamble_bom.csv", format="lab_ogtt")
    with pytest.raises(InputError, match="lab OGTT table"):
        sa.read_person([FIX / "dexcom" / "g6_mgdl_preamble_bom.csv"], [lab])
    assert sio.read_lab(lab).provenance.balanced
    with pytest.raises(InputError, match="unknown format 'nope'; expected one of: .*lab_ogtt"):
        sa.read_cgm(lab, format="nope")


def test_public_api():
    for name in sio.__all__:
        assert hasattr(sio, name), name
    assert {"read_cgm", "read_events", "read_many", "read_person", "read_lab"} <= set(sio.__all__)
    assert "apple_health" in sio.EVENT_HUBS and "activity_log" in sio.LOG_FORMATS


def test_a_format_is_one_module_listed_once(tmp_path, monkeypatch):
    """A new format: a module declaring SNIFFERS and READERS, and its name in MODULES."""
    toy = types.ModuleType("soleus_analysis.io.toy")

    def sniff(text: str, raw: bytes) -> bool:
        return text.startswith("TOY,")

    def read_toy(path, subject=None) -> Recording:
        p = base.check_input_file(path)
        lines = p.read_text().splitlines()[1:]
        prov = Provenance(path=str(p), format="toy", rows_read=len(lines))
        acct = RowAccount(prov, np.arange(2, len(lines) + 2))
        val = to_float(np.array(lines, dtype=object))
        acct.drop(np.isnan(val), "not a number")
        acct.keep(~np.isnan(val))
        acct.commit()
        prov.rows_kept = int(acct.kept.sum())
        times = pd.date_range("2025-01-01", periods=len(lines), freq="5min")
        readings = pd.DataFrame(
            {"subject": subject or "person 1", "time": times, "glucose_mgdl": val}
        ).loc[acct.kept]
        return Recording(readings=readings.assign(censored=None, source="toy"), provenance=prov)

    toy.SNIFFERS = [("toy", sniff)]
    toy.READERS = {"toy": read_toy}
    monkeypatch.setitem(sys.modules, "soleus_analysis.io.toy", toy)
    monkeypatch.setattr(detect, "MODULES", ("toy", *detect.MODULES))
    p = tmp_path / "x.toy"
    p.write_text("TOY,1\n100\n101\nabc\n")
    assert sa.detect_format(p) == "toy" and "toy" in sa.formats()
    rec = sa.read_cgm(p)
    assert rec.readings["glucose_mgdl"].tolist() == [100.0, 101.0]
    assert rec.provenance.rows_dropped == {"not a number": 1}
    assert rec.provenance.warnings == ["line 4: dropped (not a number)"]
    assert len(rec.provenance.sha256) == 64

    def unbalanced(path, subject=None) -> Recording:
        return Recording(provenance=Provenance(path=str(path), format="toy", rows_read=1))

    toy.READERS = {"toy": unbalanced}
    with pytest.raises(AccountError):
        sa.read_cgm(p)

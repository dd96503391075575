"""The activity log's fast paths (issue 14) give what its general paths give, to the bit.

The general paths are forced by switching the fast ones off (:func:`general_paths`): no cell
shapes read from characters (``logs._shapes``), no Python pass over a few cells or plain-text
split (``logs._FEW_CELLS``), no per-word classification (``logs._all_text``). Each case is read
both ways and compared: the events (values, dtypes, types of the text cells, row order), the row
account, the warnings, or the same :class:`InputError`. The cases: the fixtures, a generated log,
hostile variants written here, and seeded mutants of the fixtures (``tests/fuzz.py``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from soleus_analysis.core.errors import InputError
from soleus_analysis.io import logs
from tests import fuzz
from tests import reader_files as R

FIX = Path(__file__).parent / "fixtures"
FIXTURES = [FIX / "logs" / "activity_log.csv", FIX / "nof1" / "activity_log_spu.csv"]

#: Hostile activity logs: name -> text.
VARIANTS: dict[str, str] = {
    "date_time": "date,time,kind,carbs_g,end,duration\n2026-03-02,12:35,spu,,13:05,\n"
    "02/03/2026,8:00 AM,meal,40,,\n2026-03-02,,walk,,,20\n,12:00,note,,,\n2026-03-02,25:00,spu,,,10\n",
    "date_time_start": "date,time,start,kind,end\n2026-03-02,12:35,,spu,13:05\n"
    "2026-03-02,,2026-03-02 14:00,meal,\n2026-03-02,,15:00,spu,15:30\n2026-03-03,,16:00:30,run,17:00\n",
    "dmy": "start,kind,carbs_g\n13/03/2026 12:00,meal,40\n02/03/2026 8:00,meal,20\n",
    "mdy": "start,kind,carbs_g\n03/13/2026 12:00 pm,meal,40\n02/03/2026 8:00 a.m.,meal,20\n",
    "mixed_orders": "start,kind\n13/03/2026 12:00,meal\n03/13/2026 8:00,meal\n",
    "ambiguous": "start,kind\n03/02/2026 12:00,meal\n",
    "dots": "start,kind,end\n02.03.2026 12:00,meal,\n02.03.26 13:00,spu,13:30\n"
    "2026.03.02 14:00,spu,2026.03.02 14:30\n",
    "iso": "start,end,kind,duration_min\n2026-03-02T12:00:00,2026-03-02T12:30:00,spu,\n"
    + "".join(
        f"{s},,spu,30\n"
        for s in (
            "2026-03-02T12:00:00.5",
            "2026-03-02 12:00:61",
            "2026-03-02 24:00",
            "2026-02-29 12:00",
            "2024-02-29 12:00",
            "0099-01-01 12:00",
            "9999-12-31 23:59",
            "0000-01-01 00:00",
            "2026-13-01 00:00",
            "2026-00-01 00:00",
            "2026-01-00 00:00",
            "2026-01-01",
            "2026-01-01 1:05",
            "2026-1-1 01:05",
            "2026-01-01  01:05",
            "1990-01-01 12:00",
            "2300-01-01 12:00",
            "1800-01-01 12:00",
            "2026-03-02 12:00:00:00",
            "12:00",
        )
    ),
    "clock_ends": "start,end,kind\n"
    + "".join(
        f"2026-03-02 12:00,{e},spu\n"
        for e in ("00:20", "12:00", "11:59", "1:05 PM", "12:30:45", "99:99", "12:3", "abc", "9:5")
    ),
    "non_ascii": "start,end,kind,notes,carbs_g\n2026-03-02 12:00,,Frühstück,é,40\n"
    "٢٠٢٦-٠٣-٠٢ 12:00,,meal,,40\n2026-03-02 12:00,,meal,,４０\n2026-03-02 12:00,12:30,SPU,,\n"
    "2026-03-02 ١٢:٠٠,,meal,,\n",
    "controls": "start,end,kind,notes,carbs_g\n2026-03-02\x1c12:00,,meal,,40\n"
    "2026-03-02 12:00,,meal\x1f,,40\n2026-03-02 12:00,,walk,x\x0by,\n2026-03-02 12:00,13:00,spu\x1e,,\n",
    "numbers": "start,kind,carbs_g,insulin_u,duration_min\n"
    + "".join(
        f"2026-03-02 12:00,{row}\n"
        for row in (
            'meal,"4,5",,',
            "meal,-1,,",
            "meal,1e3,,",
            "insulin,,2.5,",
            "insulin,,inf,",
            "walk,,,nan",
            "walk,,,1441",
            "walk,,,abc",
            "walk,,,1234567890123",
            "meal,0x10,,",
            "meal, 12 ,,",
            "meal,1_000,,",
        )
    ),
    "kinds": "start,end,kind,notes\n"
    + "".join(
        f"2026-03-02 12:00,{row}\n"
        for row in (
            "12:30,Soleus-Push_ups,",
            "12:30,  WALK  ,",
            ",Meal,",
            ",xyz,",
            "12:10,xyz,",
            ",note,SPU 30",
            ",exercise,soleus 15 min",
            ",,",
            ",comment,hi",
            ",bolus,",
            ",spus,",
            "12:30,cycling,fast",
            ",\u017fpu,",
            ",note,\u017fpu 20",
            ",K\u212a,",
        )
    )
    + "".join(f"2026-03-02 12:00,,unknown word {i},\n" for i in range(30)),
    "planner": "start,end,duration_min,kind,carbs_g,notes,done,condition,block,meal_no,slot,subject\n"
    "2026-03-02 12:00,,,meal,40,,yes,spu,b1,1,lunch,p1\n"
    "2026-03-02 12:05,2026-03-02 12:35,30,spu,,,Y,spu,b1,1,lunch,p1\n"
    "2026-03-03 12:00,,,meal,40,,,control,b1,2,lunch,p1\n"
    "2026-03-03 12:00,,,meal,40,,✓,control,b2,2,lunch,p2\n"
    "2026-03-03 12:00,,,meal,40,,DONE,,,2,lunch,\n2026-03-03 12:00,,,meal,40,,İ,,,2,lunch,\n",
    "conflict": "start,end,duration_min,kind\n" + "2026-03-02 12:00,2026-03-02 12:30,45,spu\n" * 15,
    "columns": "start,kind,foo,_bar,,\n2026-03-02 12:00,meal,1,2,3,\n",
    "semicolon": "start;kind;carbs_g\n2026-03-02 12:00;meal;4,5\n",
    "tabs": "start\tkind\tcarbs_g\n2026-03-02 12:00\tmeal\t45\n\t#x\tmeal\t1\n",
    "subjects": "start,kind,subject\n2026-03-02 12:00,meal,b\n2026-03-02 11:00,meal,a\n"
    "2026-03-02 10:00,meal,\n",
    "missing": "start,kind,end\n,meal,\n,spu,12:00\n12:00,meal,\n",
    "ragged": "start,kind\n2026-03-02 12:00,meal,extra\n2026-03-02 12:00\n,,\n2026-03-02 12:00,meal,,\n",
    "comments": "# a\n\n  # b\nstart,kind\n# c\n2026-03-02 12:00,meal\n   \n,,\n",
    "blank_header_cells": "start,kind,,\n2026-03-02 12:00,meal,,x\n",
    "long_cell": "start,kind,end\n2026-03-02 12:00,meal," + "1" * 200_000 + "\n",
    "only_header": "start,kind\n",
    "no_kind": "start,what2\n2026-03-02 12:00,meal\n",
    "no_start": "kind,carbs\nmeal,4\n",
    "duplicate_columns": "start,kind,Kind\n2026-03-02 12:00,meal,x\n",
    "quoted": 'start,kind,notes\n"2026-03-02 12:00","meal","a, b"\n',
    "crlf": "start,kind\r\n2026-03-02 12:00,meal\r\n",
    "spaces": "start , kind ,notes,intensity,subject,end\n 2026-03-02 12:00 , note ,  hello  , low ,"
    "  p1 ,\n2026-03-02 12:00,walk, x ,,, 12:30 \n",
}


@contextlib.contextmanager
def general_paths() -> Iterator[None]:
    """Switch the activity log's fast paths off (the general paths read every cell)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(logs, "_shapes", lambda text: None)
        mp.setattr(logs, "_FEW_CELLS", -1)
        mp.setattr(logs, "_all_text", lambda values: False)
        yield


def outcome(path: Path, **options: object) -> tuple:
    """What reading ``path`` gives: the events and the row account, or the error."""
    try:
        rec = logs.read_activity_log(path, **options)
    except InputError as err:
        return ("error", str(err))
    p = rec.provenance
    account = (p.rows_read, p.rows_kept, dict(p.rows_dropped), list(p.warnings), p.path)
    return ("ok", rec.events, rec.readings, account)


def assert_same(fast: tuple, general: tuple) -> None:
    """The two outcomes are the same, to the bit."""
    assert fast[0] == general[0], (fast, general)
    if fast[0] == "error":
        assert fast == general
        return
    for a, b in zip(fast[1:3], general[1:3], strict=True):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
        assert list(a.dtypes) == list(b.dtypes)
        for c in a.columns:
            if a[c].dtype == object:
                assert [type(v) for v in a[c]] == [type(v) for v in b[c]], c
    assert fast[3] == general[3]


def both(path: Path, **options: object) -> None:
    fast = outcome(path, **options)
    with general_paths():
        general = outcome(path, **options)
    assert_same(fast, general)


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_fixtures_read_the_same_both_ways(path):
    both(path)
    both(path, subject="someone")


def test_a_generated_log_reads_the_same_both_ways(tmp_path):
    path = R.write_activity_log(tmp_path / "log.csv", 16)
    both(path)


@pytest.mark.parametrize("name", sorted(VARIANTS))
@pytest.mark.parametrize("options", [{}, {"date_order": "dmy"}, {"date_order": "mdy"}])
def test_hostile_variants_read_the_same_both_ways(tmp_path, name, options):
    path = tmp_path / f"{name}.csv"
    path.write_text(VARIANTS[name], encoding="utf-8")
    both(path, **options)


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_mutants_read_the_same_both_ways(tmp_path, path):
    data = path.read_bytes()
    for seed in range(40):
        m = fuzz.mutate(data, np.random.default_rng(1400 + seed), "csv")
        out = tmp_path / f"mutant_{seed}.csv"
        out.write_bytes(m.data)
        both(out)


# the cell parsers on text of the characters dates and times are written with
_CELL = st.text(alphabet="0123456789-:/. TtAPMapm,", max_size=22)


@settings(max_examples=300, deadline=None)
@given(st.lists(_CELL, min_size=1, max_size=6), st.sampled_from([None, "dmy", "mdy"]))
def test_datetimes_and_times_read_the_same_both_ways(cells, order):
    text = np.array(cells, dtype=object)

    def read() -> tuple:
        try:
            when = logs.parse_datetimes(pd.Series(text), order)
        except InputError as err:
            when = str(err)
        return when, logs.parse_times(pd.Series(text))

    fast = read()
    with general_paths():
        general = read()
    for a, b in zip(fast, general, strict=True):
        if isinstance(a, str):
            assert a == b
        else:
            pd.testing.assert_series_equal(a, b, check_exact=True)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="aeiklmnopsuxSPUK _-\u017f\u212a\t", max_size=12), max_size=8))
def test_kinds_are_classify_kind(words):
    kind, word = logs._classify(np.array(words, dtype=object))
    want_kind, want_word = logs.classify_kind(pd.Series(words, dtype=object))
    assert [None if pd.isna(k) else k for k in want_kind] == list(kind)
    assert list(want_word) == list(word)


def test_a_long_cell_is_not_made_fixed_width():
    # numpy's fixed-width text is as wide as the longest cell: a long cell is refused first
    cells = np.array(["2026-03-02 12:00", "1" * 200_000] * 500, dtype=object)
    assert logs._shapes(cells) is None

"""Laboratory OGTT table reader."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from soleus_analysis.core.errors import InputError
from soleus_analysis.core.schema import MGDL_PER_MMOL, PMOL_PER_UU
from soleus_analysis.io.lab import LabTable, read_lab

FIX = Path(__file__).parent / "fixtures" / "lab"


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "ogtt.csv"
    p.write_text(text)
    return p


def test_golden_units_and_account():
    t = read_lab(FIX / "ogtt_small.csv")
    assert isinstance(t, LabTable)
    prov = t.provenance
    # 9 data rows (lines 3-11); line 10 has minute "thirty", line 11 neither value
    assert prov.rows_read == 9 and prov.rows_kept == 7 and prov.balanced
    assert prov.rows_dropped == {"bad minute": 1, "no glucose or insulin value": 1}
    assert [w.split(":")[0] for w in prov.warnings] == ["line 10", "line 11"]
    assert prov.units == "mmol/L" and prov.metadata["insulin_units"] == "pmol/L"
    s = t.samples
    assert list(s.columns[:5]) == [
        "subject",
        "condition",
        "minute",
        "glucose_mgdl",
        "insulin_uU_ml",
    ]
    first = s.iloc[0]
    assert (first["subject"], first["condition"], first["minute"]) == ("p01", "sitting", 0.0)
    assert first["glucose_mgdl"] == pytest.approx(5.0 * 18.0156)
    assert first["insulin_uU_ml"] == pytest.approx(36 / 6.0)
    haem = s[(s["condition"] == "sitting") & (s["minute"] == 60) & (s["subject"] == "p01")]
    assert (
        haem["insulin_uU_ml"].isna().all() and haem["notes"].iloc[0] == "insulin sample haemolysed"
    )
    assert t.subjects == ["p01", "p02"] and t.conditions == ["sitting", "spu"]
    assert "2 subjects" in t.summary()


@pytest.mark.parametrize(
    "text, match, line",
    [
        ("subject,condition,minute,glucose\np1,a,0,90\n", "glucose.*units", 1),
        ("subject,condition,minute,glucose_mgdl,insulin\np1,a,0,90,5\n", "insulin_uu_ml", 1),
        ("subject,condition,minute,glucose_mgdl,glucose_mmol\np1,a,0,90,5\n", "twice", 1),
        ("subject,minute,glucose_mgdl\np1,0,90\n", "condition", 1),
        ("subject,condition,minute,notes\np1,a,0,x\n", "no glucose or insulin column", 1),
        ("subject,condition,minute,glucose_mgdl\n", "no data rows", 1),
        ("", "empty", None),
    ],
    ids=[
        "bare-glucose",
        "bare-insulin",
        "both-units",
        "no-condition",
        "no-values",
        "no-data",
        "empty",
    ],
)
def test_bad_tables(tmp_path, text, match, line):
    with pytest.raises(InputError, match=match) as info:
        read_lab(_write(tmp_path, text))
    assert info.value.line == line


def test_duplicate_time_point_names_lines(tmp_path):
    text = (
        "subject,condition,minute,glucose_mgdl\n"
        "p1,a,0,90\np1,a,30,150\np1,b,30,140\np1,a,30.0,151\n"
    )
    with pytest.raises(InputError, match="lines 3, 5"):
        read_lab(_write(tmp_path, text))


def test_impossible_values_dropped(tmp_path):
    text = (
        "condition,minute,glucose_mgdl,insulin_uU_ml\na,0,90,5\na,30,-4,5\na,60,100,-2\na,90,abc,\n"
    )
    t = read_lab(_write(tmp_path, text), subject="me")
    assert t.samples["subject"].tolist() == ["me"]
    assert t.provenance.rows_dropped == {
        "impossible glucose value": 1,
        "impossible insulin value": 1,
        "bad glucose value": 1,
    }


_point = st.tuples(
    st.sampled_from(["p1", "p2", "p3"]),
    st.sampled_from(["sitting", "spu"]),
    st.integers(-30, 240),
    st.one_of(st.none(), st.integers(30, 400)),
    st.one_of(st.none(), st.integers(1, 3000)),
)


@settings(max_examples=12, deadline=None)
@given(
    points=st.lists(_point, min_size=1, max_size=30, unique_by=lambda x: x[:3]).filter(
        lambda pts: any(g is not None or i is not None for *_, g, i in pts)
    ),
    mmol=st.booleans(),
    pmol=st.booleans(),
)
def test_generated_table_reads_back(tmp_path_factory, points, mmol, pmol):
    gcol = "glucose_mmol" if mmol else "glucose_mgdl"
    icol = "insulin_pmol" if pmol else "insulin_uU_ml"
    lines = [f"subject,condition,minute,{gcol},{icol}"]
    expected = {}
    for s, c, m, g, i in points:
        gv = "" if g is None else (f"{g / 10}" if mmol else str(g))
        iv = "" if i is None else str(i)
        lines.append(f"{s},{c},{m},{gv},{iv}")
        if g is None and i is None:
            continue
        g_mg = None if g is None else (g / 10 * MGDL_PER_MMOL if mmol else float(g))
        i_uu = None if i is None else (i / PMOL_PER_UU if pmol else float(i))
        expected[(s, c, float(m))] = (g_mg, i_uu)
    p = tmp_path_factory.mktemp("lab") / "t.csv"
    p.write_text("\n".join(lines) + "\n")
    t = read_lab(p)
    assert t.provenance.rows_read == len(points) and t.provenance.rows_kept == len(expected)
    got = {
        (r.subject, r.condition, r.minute): (r.glucose_mgdl, r.insulin_uU_ml)
        for r in t.samples.itertuples()
    }
    assert set(got) == set(expected)
    for k, (g, i) in expected.items():
        gg, ii = got[k]
        assert (gg != gg) if g is None else gg == pytest.approx(g, rel=1e-12)
        assert (ii != ii) if i is None else ii == pytest.approx(i, rel=1e-12)

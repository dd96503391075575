"""Log readers: activity log, Cronometer servings/exercises, MyFitnessPal."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from soleus_analysis.core.errors import InputError
from soleus_analysis.core.schema import DEFAULT_SUBJECT
from soleus_analysis.io import logs
from soleus_analysis.io.logs import (
    parse_datetimes,
    parse_times,
    read_activity_log,
    read_cronometer,
    read_cronometer_exercises,
    read_myfitnesspal,
)

FIX = Path(__file__).parent / "fixtures" / "logs"
TS = pd.Timestamp


def _write(tmp_path: Path, text: str, name: str = "log.csv") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


# ---------------------------------------------------------------------------- activity log
def test_activity_log_golden():
    rec = read_activity_log(FIX / "activity_log.csv")
    prov = rec.provenance
    # 11 data lines (lines 5-15); comments (1-2), the blank line 3 and the header (4) are not rows
    assert prov.rows_read == 11 and prov.rows_kept == 7 and prov.balanced
    assert prov.rows_dropped == {
        "no end or duration": 1,  # line 10: spu without end
        "unknown kind 'xyz'": 1,  # line 12
        "impossible timestamp": 1,  # line 13: 30 February
        "end before start": 1,  # line 14
    }
    assert [w.split(":")[0] for w in prov.warnings] == ["line 10", "line 12", "line 13", "line 14"]
    e = rec.events.set_index("time")
    spu = e.loc[TS("2026-03-02 12:35")]
    assert (spu["kind"], spu["end"], spu["intensity"]) == ("spu", TS("2026-03-02 13:05"), "low")
    assert spu["label"] == "after lunch at desk"
    late = e.loc[TS("2026-03-02 23:50")]  # bare end time before start: next day
    assert late["kind"] == "spu" and late["end"] == TS("2026-03-03 00:20")
    walk = e.loc[TS("2026-03-02 18:00")]
    assert (walk["kind"], walk["end"], walk["label"]) == (
        "exercise",
        TS("2026-03-02 18:25"),
        "walk",
    )
    lunch = e.loc[TS("2026-03-02 12:20")]
    assert (lunch["kind"], lunch["carbs_g"], lunch["label"]) == ("meal", 65.0, "pasta")
    assert pd.isna(lunch["end"])
    pickle = e.loc[TS("2026-03-03 10:00")]  # unknown word with a duration -> exercise
    assert (pickle["kind"], pickle["label"]) == ("exercise", "pickleball")
    assert e.loc[TS("2026-03-03 08:00"), "label"] == "breakfast"
    assert (rec.events["subject"] == DEFAULT_SUBJECT).all()  # never the file name


def test_activity_log_date_time_columns_semicolons_and_subject(tmp_path):
    text = (
        "Date;Time;Kind;Duration (min);Notes;Subject\n"
        "02.03.2026;12:35;Soleus pushup;30;;anna\n"
        "02.03.2026;1:15 PM;lunch;;;\n"
    )
    rec = read_activity_log(_write(tmp_path, text))
    e = rec.events
    assert e["time"].tolist() == [TS("2026-03-02 12:35"), TS("2026-03-02 13:15")]
    assert e["kind"].tolist() == ["spu", "meal"]
    assert e["end"].iloc[0] == TS("2026-03-02 13:05")
    assert e["subject"].tolist() == ["anna", DEFAULT_SUBJECT]
    assert read_activity_log(tmp_path / "log.csv", subject="z").events["subject"].eq("z").all()


def test_activity_log_slashed_dates_need_an_order(tmp_path):
    p = _write(
        tmp_path, "start,duration_min,kind\n02/03/2026 12:35,30,spu\n04/03/2026 12:35,30,spu\n"
    )
    with pytest.raises(InputError, match="date_order") as info:
        read_activity_log(p)
    assert info.value.line == 2
    dmy = read_activity_log(p, date_order="dmy").events["time"].tolist()
    mdy = read_activity_log(p, date_order="mdy").events["time"].tolist()
    assert dmy == [TS("2026-03-02 12:35"), TS("2026-03-04 12:35")]
    assert mdy == [TS("2026-02-03 12:35"), TS("2026-04-03 12:35")]
    # the column itself can tell: 25 cannot be a month
    p2 = _write(
        tmp_path, "start,duration_min,kind\n02/03/2026 12:35,30,spu\n25/03/2026 9:00,5,spu\n"
    )
    assert read_activity_log(p2).events["time"].iloc[1] == TS("2026-03-25 09:00")


def test_planner_schedule_only_done_rows(tmp_path):
    text = (
        "start,duration_min,kind,condition,done,meal_index\n"
        "2026-03-02 12:30,60,spu,spu,yes,1\n"
        "2026-03-03 12:30,60,meal,control,,2\n"
        "2026-03-04 12:30,60,spu,spu,✓,3\n"
        "2026-03-05 12:30,60,spu,spu,no,4\n"
    )
    rec = read_activity_log(_write(tmp_path, text))
    prov = rec.provenance
    assert prov.rows_read == 4 and prov.rows_kept == 2
    assert prov.rows_dropped == {"planned but not marked done": 2}
    assert rec.events["condition"].tolist() == ["spu", "spu"]
    assert any("meal_index" in w for w in prov.warnings)


@pytest.mark.parametrize(
    "text, match",
    [
        ("", "empty"),
        ("# only a comment\n\n", "no header"),
        ("start,end,kind\n", "no data rows"),
        ("start,end,activity_type\n2026-03-02 12:00,12:30,spu\n", "kind"),
        ("when,kind\n2026-03-02 12:00,spu\n", "start"),
        ("start,kind,kind\n2026-03-02 12:00,spu,spu\n", "duplicate"),
    ],
    ids=["empty", "comments-only", "header-only", "no-kind", "no-start", "dup-column"],
)
def test_activity_log_bad_files(tmp_path, text, match):
    with pytest.raises(InputError, match=match):
        read_activity_log(_write(tmp_path, text))


def test_activity_log_binary(tmp_path):
    p = tmp_path / "x.csv"
    p.write_bytes(b"\x00\x01\x02garbage" * 10)
    with pytest.raises(InputError, match="binary"):
        read_activity_log(p)


def test_activity_log_bad_rows(tmp_path):
    text = (
        "start,end,duration_min,kind,carbs_g\n"
        "2026-03-02 25:00,,10,spu,\n"  # line 2: hour 25
        "2026-03-02 12:00,,abc,spu,\n"  # line 3
        "2026-03-02 12:00,,,meal,lots\n"  # line 4
        ",,,spu,\n"  # line 5
        "2026-03-02 12:00,,,,\n"  # line 6
        "2026-03-02 12:00,,10,spu,,extra\n"  # line 7
        "12:00,,10,spu,\n"  # line 8: a time without a date
        "2026-03-02 12:00,,10,spu,\n"  # line 9: fine
    )
    prov = read_activity_log(_write(tmp_path, text)).provenance
    assert prov.rows_read == 8 and prov.rows_kept == 1 and prov.balanced
    assert prov.rows_dropped == {
        "impossible timestamp": 1,
        "bad duration": 1,
        "bad carbs": 1,
        "missing start": 1,
        "missing kind": 1,
        "more fields than the header": 1,
        "start time without a date": 1,
    }
    assert sorted(int(w.split(":")[0][5:]) for w in prov.warnings) == [2, 3, 4, 5, 6, 7, 8]


def test_parse_datetimes_forms():
    s = pd.Series(
        ["2026-03-02 12:35", "2026-03-02T12:35:00", "2026/03/02", "02.03.2026 1:05 pm", "", "x"]
    )
    out = parse_datetimes(s)
    assert out.tolist()[:4] == [
        TS("2026-03-02 12:35"),
        TS("2026-03-02 12:35"),
        TS("2026-03-02"),
        TS("2026-03-02 13:05"),
    ]
    assert out.iloc[4:].isna().all()
    assert parse_datetimes(pd.Series(["12/01/26 12:00 AM"]), "mdy").iloc[0] == TS("2026-12-01")


_KINDS = {
    "spu": "spu",
    "soleus push-ups": "spu",
    "Soleus Pushup": "spu",
    "walk": "exercise",
    "gym": "exercise",
    "snack": "meal",
    "meal": "meal",
    "insulin": "insulin",
    "note": "note",
}
_row = st.tuples(
    st.integers(min_value=0, max_value=60 * 24 * 300),  # start minute
    st.sampled_from(sorted(_KINDS)),
    st.integers(min_value=1, max_value=600),  # duration (min)
    st.sampled_from(["end_datetime", "end_clock", "duration"]),
    st.one_of(st.none(), st.integers(min_value=0, max_value=300)),  # carbs
)


@settings(max_examples=12, deadline=None)
@given(rows=st.lists(_row, min_size=1, max_size=25), sep=st.sampled_from([",", ";"]))
def test_generated_activity_log_reads_back(tmp_path_factory, rows, sep):
    base = dt.datetime(2026, 1, 1)
    lines = ["# generated", sep.join(["start", "end", "duration_min", "kind", "carbs_g", "notes"])]
    expected = []
    for i, (minute, word, dur, how, carbs) in enumerate(rows):
        t0 = base + dt.timedelta(minutes=minute)
        t1 = t0 + dt.timedelta(minutes=dur)
        end = {"end_datetime": f"{t1:%Y-%m-%d %H:%M}", "end_clock": f"{t1:%H:%M}", "duration": ""}
        end_s = end[how] if dur < 24 * 60 else ""
        dur_s = str(dur) if how == "duration" else ""
        c = "" if carbs is None else str(carbs)
        lines.append(sep.join([f"{t0:%Y-%m-%dT%H:%M}", end_s, dur_s, word, c, f"n{i}"]))
        expected.append(
            (TS(t0), TS(t1), _KINDS[word], float("nan") if carbs is None else carbs, f"n{i}")
        )
    p = tmp_path_factory.mktemp("al") / "log.csv"
    p.write_text("\n".join(lines) + "\n")
    rec = read_activity_log(p)
    assert rec.provenance.rows_read == len(rows) == rec.provenance.rows_kept
    e = rec.events.sort_values("label", key=lambda s: s.str.extract(r"(\d+)$")[0].astype(int))
    assert e["time"].tolist() == [x[0] for x in expected]
    assert e["end"].tolist() == [x[1] for x in expected]
    assert e["kind"].tolist() == [x[2] for x in expected]
    assert e["carbs_g"].fillna(-1).tolist() == [-1 if pd.isna(x[3]) else x[3] for x in expected]


# ---------------------------------------------------------------------------- Cronometer
def test_cronometer_golden():
    rec = read_cronometer(FIX / "cronometer_servings.csv")
    prov = rec.provenance
    assert prov.rows_read == 9 and prov.rows_kept == 8 and prov.balanced
    assert prov.rows_dropped == {"no time": 1}  # line 8: Uncategorized, no Time
    assert any(w.startswith("line 7:") and "18:30" in w for w in prov.warnings)
    e = rec.events
    assert e["time"].tolist() == [
        TS("2026-01-03 08:33"),
        TS("2026-01-03 10:15"),  # 100 min after the oats: a second breakfast meal
        TS("2026-01-03 12:40"),
        TS("2026-01-03 18:30"),  # default dinner time
        TS("2026-01-04 19:05"),  # butter without time joins the potato
    ]
    assert e["carbs_g"].tolist() == pytest.approx([27.0 + 9.8, 27.0, 28.0 + 0.4, 42.0, 35.0])
    assert e["n_items"].tolist() == [2, 1, 2, 1, 2]
    assert e["label"].iloc[0] == "Oats, rolled, dry; Milk, 2%"
    assert e["kcal"].iloc[0] == pytest.approx(150.4 + 100.0)


def test_cronometer_merge_minutes_option():
    e = read_cronometer(FIX / "cronometer_servings.csv", merge_minutes=120).events
    assert len(e) == 4 and e["n_items"].iloc[0] == 3


_GROUPS = ["Breakfast", "Lunch", "Dinner", "Snack 1"]


@settings(max_examples=12, deadline=None)
@given(
    meals=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=20),  # day
            st.sampled_from(_GROUPS),
            st.integers(min_value=0, max_value=3),  # slot in the day (2 h apart)
            st.lists(
                st.tuples(st.integers(0, 10), st.integers(0, 2000)),  # (gap min, carbs x 10)
                min_size=1,
                max_size=4,
            ),
        ),
        min_size=1,
        max_size=12,
        unique_by=lambda m: (m[0], m[1], m[2]),
    )
)
def test_generated_cronometer_groups_meals(tmp_path_factory, meals):
    header = "Day,Time,Group,Food Name,Amount,Energy (kcal),Carbs (g),Net Carbs (g),Category"
    lines, expected = [header], []
    base = dt.datetime(2026, 1, 1, 6, 0)
    for day, group, slot, items in meals:
        t = base + dt.timedelta(days=day, hours=2 * slot)
        start, total = None, 0.0
        for k, (gap, carbs10) in enumerate(items):
            t = t + dt.timedelta(minutes=gap)
            start = start or t
            clock = t.strftime("%I:%M %p").lstrip("0")
            lines.append(f'{t:%Y-%m-%d},{clock},{group},"Food {k}, raw",1 g,10,{carbs10 / 10},0,X')
            total += carbs10 / 10
        expected.append((TS(start), group, round(total, 6), len(items)))
    p = tmp_path_factory.mktemp("cr") / "servings.csv"
    p.write_text("\n".join(lines) + "\n")
    rec = read_cronometer(p)
    n_items = sum(len(m[3]) for m in meals)
    assert rec.provenance.rows_read == n_items == rec.provenance.rows_kept
    e = rec.events
    got = sorted(zip(e["time"], e["carbs_g"].round(6), e["n_items"], strict=True))
    assert got == sorted((t, c, n) for t, _, c, n in expected)


def test_cronometer_exercises():
    rec = read_cronometer_exercises(FIX / "cronometer_exercises.csv")
    prov = rec.provenance
    assert prov.rows_read == 4 and prov.rows_kept == 2 and prov.balanced
    assert prov.rows_dropped == {"no time": 1, "no duration": 1}
    e = rec.events
    assert e["kind"].tolist() == ["exercise", "spu"]
    assert e["end"].tolist() == [TS("2026-01-03 13:30"), TS("2026-01-03 14:30")]
    assert e["label"].iloc[0] == "Walking, 3.0 mph, moderate pace"


# ---------------------------------------------------------------------------- MyFitnessPal
def test_myfitnesspal_golden():
    rec = read_myfitnesspal(FIX / "myfitnesspal.csv")
    prov = rec.provenance
    assert prov.rows_read == 5 and prov.rows_kept == 4 and prov.balanced
    assert prov.rows_dropped == {"bad carbs": 1} and prov.warnings[-1].startswith("line 6:")
    e = rec.events
    assert e["time"].tolist() == [
        TS("2026-01-03 08:10"),
        TS("2026-01-03 12:45"),
        TS("2026-01-03 18:30"),
    ]
    assert e["carbs_g"].tolist() == [55.0, 95.5, 80.0]
    assert e["n_items"].tolist() == [1, 2, 1]
    assert e["label"].iloc[1] == "Lunch: sandwich; apple"


def test_myfitnesspal_without_time_column(tmp_path):
    text = "Date,Meal,Calories,Carbohydrates (g),Note\n2026-01-03,Breakfast,300,40,\n2026-01-03,Tea,10,2,\n"
    rec = read_myfitnesspal(_write(tmp_path, text))
    assert rec.events["time"].tolist() == [TS("2026-01-03 08:00")]
    assert rec.provenance.rows_dropped == {"no time": 1}


@settings(max_examples=12, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.integers(0, 30),
            st.sampled_from(["Breakfast", "Lunch", "Dinner", "Snacks"]),
            st.integers(0, 23 * 60),
            st.integers(0, 3000),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_generated_myfitnesspal_sums_per_meal(tmp_path_factory, rows):
    lines = ["Date,Meal,Time,Calories,Fat (g),Carbohydrates (g),Fiber,Sugar,Protein (g),Note"]
    expected: dict[tuple, list] = {}
    for day, meal, minute, carbs10 in rows:
        t = dt.datetime(2026, 2, 1) + dt.timedelta(days=day, minutes=minute)
        lines.append(f"{t:%Y-%m-%d},{meal},{t:%H:%M},100,1,{carbs10 / 10},0,0,1,")
        acc = expected.setdefault((t.date(), meal), [t, 0.0, 0])
        acc[0] = min(acc[0], t)
        acc[1] += carbs10 / 10
        acc[2] += 1
    p = tmp_path_factory.mktemp("mfp") / "mfp.csv"
    p.write_text("\n".join(lines) + "\n")
    rec = read_myfitnesspal(p)
    assert rec.provenance.rows_kept == len(rows) and rec.provenance.balanced
    e = rec.events
    got = sorted(zip(e["time"], e["carbs_g"].round(6), e["n_items"], strict=True))
    assert got == sorted((TS(t), round(c, 6), n) for t, c, n in expected.values())


# ---------------------------------------------------------------------------- sniffing
@pytest.mark.parametrize(
    "name, fmt",
    [
        ("activity_log.csv", "activity_log"),
        ("cronometer_servings.csv", "cronometer"),
        ("cronometer_exercises.csv", "cronometer_exercises"),
        ("myfitnesspal.csv", "myfitnesspal"),
    ],
)
def test_sniffers(name, fmt):
    text = (FIX / name).read_text()
    hits = [n for n, sniff in logs.SNIFFERS if sniff(text, text.encode())]
    assert hits[0] == fmt


def test_parse_datetimes_edges_as_pandas_read_them():
    # the columnar parse gives what the pandas parse gave (issue 14): a month 0 is no date
    # (never 2025-12-31 from 2025*10000 + 1231), years out of 1950-2200 are the out-of-range
    # time, two-digit years are 20xx, a clock of 24:00 is no time
    s = pd.Series(
        ["9999-01-01 12:00", "2025-0-1231", "2025-02-29", "01.02.03", "0000-01-02 3:00 pm",
         "2262-04-11 23:59", "2024-02-29 24:00", "2024-02-29 12:00 AM"]
    )  # fmt: skip
    out = parse_datetimes(s)
    assert out.dtype == "datetime64[ns]"
    far = TS("1950-01-01")
    assert out.tolist()[0] == far and out.tolist()[5] == far
    assert out.iloc[[1, 2, 6]].isna().all()
    assert out.iloc[3] == TS("2003-02-01") and out.iloc[4] == TS("2000-01-02 15:00")
    assert out.iloc[7] == TS("2024-02-29")


def test_parse_times_of_text_re2_reads_otherwise():
    # non-ASCII digits and spaces are read by Python's re, as before; ASCII ones by pyarrow
    out = parse_times(pd.Series(["\u0663:\u0663\u0660", "8:33\u00a0pm", "8:33 p.m.", None]))
    assert str(out.dtype) == "timedelta64[us]"
    assert out.iloc[1] == out.iloc[2] == pd.Timedelta(hours=20, minutes=33)
    assert out.iloc[[0, 3]].isna().all()

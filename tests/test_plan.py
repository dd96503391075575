"""The randomised SPU schedule: reproducible by seed, balanced by slot and block, valid calendar."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from soleus_analysis.app.plan import balance_table, make_schedule, to_ics


def test_same_seed_same_schedule_other_seed_differs():
    a = make_schedule(42, start="2026-12-01", seed=7)
    b = make_schedule(42, start="2026-12-01", seed=7)
    pd.testing.assert_frame_equal(a, b)
    others = [
        make_schedule(42, start="2026-12-01", seed=s)["condition"].tolist() for s in range(8, 12)
    ]
    assert any(o != a["condition"].tolist() for o in others)


@settings(max_examples=40, deadline=None)
@given(n_blocks=st.integers(1, 8), seed=st.integers(0, 2**31), block=st.sampled_from([2, 4]))
def test_complete_blocks_are_exactly_balanced(n_blocks, seed, block):
    n = 3 * block * n_blocks  # every slot gets whole blocks
    s = make_schedule(n, start="2026-01-05", seed=seed, block_size=block)
    meals = s[s["kind"] == "meal"]
    assert len(meals) == n
    # within each block of each slot: exactly half SPU
    per_block = meals.groupby("block")["condition"].apply(lambda c: (c == "spu").sum())
    assert (per_block == block // 2).all()
    bal = balance_table(s)
    assert (bal["spu"] == bal["control"]).all()
    # one SPU row for each SPU meal, starting with it
    spu = s[s["kind"] == "spu"]
    assert set(spu["meal_no"]) == set(meals.loc[meals["condition"] == "spu", "meal_no"])
    assert (spu["duration_min"] == 30).all()


def test_incomplete_last_block_is_as_balanced_as_possible():
    s = make_schedule(7, start="2026-01-05", seed=1)
    meals = s[s["kind"] == "meal"]
    counts = meals["condition"].value_counts()
    assert (
        abs(counts.get("spu", 0) - counts.get("control", 0)) <= 3
    )  # one odd meal per slot at most


def test_times_follow_slots_and_days():
    s = make_schedule(6, start="2026-03-01", seed=0)
    meals = s[s["kind"] == "meal"]
    assert meals["start"].tolist() == [
        "2026-03-01 08:00",
        "2026-03-01 12:30",
        "2026-03-01 18:30",
        "2026-03-02 08:00",
        "2026-03-02 12:30",
        "2026-03-02 18:30",
    ]


def test_ics_has_one_event_per_meal_with_crlf():
    s = make_schedule(9, start="2026-03-01", seed=2)
    text = to_ics(s)
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    assert text.count("BEGIN:VEVENT") == 9
    n_spu = int((s[s["kind"] == "meal"]["condition"] == "spu").sum())
    assert text.count("SUMMARY:SPU meal") == n_spu
    assert "DTSTART:20260301T080000" in text


def test_bad_arguments():
    with pytest.raises(ValueError):
        make_schedule(1)
    with pytest.raises(ValueError):
        make_schedule(10, block_size=3)


def test_no_meal_is_predetermined():
    """Every meal, in every position (an incomplete last block too), is SPU with probability
    1/2: for make_schedule(20), meals 19 and 20 used to be SPU for every seed."""
    n_seeds = 400
    spu = pd.concat(
        [
            make_schedule(20, start="2026-01-05", seed=seed)
            .query("kind == 'meal'")
            .set_index("meal_no")["condition"]
            .eq("spu")
            for seed in range(n_seeds)
        ],
        axis=1,
    ).mean(axis=1)
    # binomial(400, 1/2): 4 standard errors either side
    assert spu.between(0.5 - 4 * 0.025, 0.5 + 4 * 0.025).all(), spu[~spu.between(0.4, 0.6)]


def test_a_schedule_reads_back_with_its_blocks_and_without_warnings(tmp_path):
    from soleus_analysis.align import meal_responses
    from soleus_analysis.io import read_events

    s = make_schedule(12, start="2026-01-05", seed=3)
    s["done"] = "x"
    path = tmp_path / "schedule.csv"
    s.to_csv(path, index=False)
    log = read_events(path)
    assert log.provenance.warnings == []
    meals = log.events[log.events["kind"] == "meal"]
    assert meals["block"].tolist() == s.loc[s["kind"] == "meal", "block"].tolist()
    # the block reaches the meal table, where the randomisation test permutes within it
    t = pd.date_range("2026-01-05", "2026-01-10", freq="5min")
    readings = pd.DataFrame({"subject": "person 1", "time": t, "glucose_mgdl": 100.0})
    out = meal_responses(readings, log.events)
    assert out["block"].tolist() == meals["block"].tolist()


def test_the_person_effect_permutes_within_the_schedule_blocks():
    """The randomisation test of the person's effect re-randomises as the schedule did: within
    its blocks (complete shuffling would also break the slot balance the planner made)."""
    from soleus_analysis.compare import n_of_1
    from soleus_analysis.pipeline import person_effect

    s = make_schedule(24, start="2026-01-05", seed=11)
    meals = s.loc[s["kind"] == "meal"].reset_index(drop=True)
    rng = np.random.default_rng(4)
    spu = (meals["condition"] == "spu").to_numpy()
    slot = pd.Categorical(meals["slot"]).codes
    meals = pd.DataFrame(
        {
            "subject": "person 1",
            "meal_time": pd.to_datetime(meals["start"]),
            "condition": meals["condition"],
            "spu_minutes": np.where(spu, 30.0, 0.0),
            "iauc_mgdl_min": np.exp(8 + 0.4 * slot - 0.3 * spu + rng.normal(0, 0.3, len(meals))),
            "excluded_reason": None,
            "block": meals["block"],
        }
    )
    effect, _, _ = person_effect(meals)
    blocked = n_of_1(meals, block="block").iloc[0]
    free = n_of_1(meals).iloc[0]
    assert effect.iloc[0]["p_permutation"] == blocked["p_permutation"]
    assert blocked["p_permutation"] != free["p_permutation"]

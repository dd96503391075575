"""The minimum meal size (``Rules.min_meal_carbs_g``): a coffee with 2 g of carbs is not a meal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from soleus_analysis.align import meal_responses
from soleus_analysis.core.errors import InputError
from soleus_analysis.core.rules import Rules

DAY = pd.Timestamp("2026-03-02")


def _readings() -> pd.DataFrame:
    t = pd.date_range(DAY, periods=288, freq="5min")
    minutes = np.arange(288) * 5.0
    g = 100.0 + 40.0 * np.exp(-(((minutes - 12.75 * 60) / 40.0) ** 2))  # lunch's rise
    return pd.DataFrame({"subject": "a", "time": t, "glucose_mgdl": g})


def _events() -> pd.DataFrame:
    rows = [
        ("12:00", 60.0, "pasta"),
        ("12:10", 5.0, "bread"),  # merged into lunch: 65 g, a meal
        ("13:00", 2.0, "coffee"),  # inside lunch's window: too small to be a meal
        ("18:00", np.nan, "dinner"),  # carbs unknown: a meal
        ("20:30", 8.0, "apple"),  # alone, below 10 g
    ]
    return pd.DataFrame(
        {
            "subject": "a",
            "time": [DAY + pd.Timedelta(v[0] + ":00") for v in rows],
            "kind": "meal",
            "carbs_g": [v[1] for v in rows],
            "label": [v[2] for v in rows],
        }
    )


def _by_label(meals: pd.DataFrame) -> dict[str, pd.Series]:
    return {str(r["meal_label"]): r for _, r in meals.iterrows()}


def test_small_meals_are_excluded_with_their_reason_and_do_not_overlap_others():
    m = _by_label(meal_responses(_readings(), _events()))
    assert set(m) == {"pasta + bread", "coffee", "dinner", "apple"}
    lunch = m["pasta + bread"]
    assert lunch["carbs_g"] == 65.0
    # the coffee 60 min after lunch does not make lunch an overlapping meal
    assert lunch["excluded_reason"] is None
    assert np.isnan(lunch["minutes_to_next_meal"]) or lunch["minutes_to_next_meal"] > 120
    assert m["coffee"]["excluded_reason"] == (
        "2 g of carbs is less than a meal (10 g or more; rule min_meal_carbs_g)"
    )
    assert m["apple"]["excluded_reason"].startswith("8 g of carbs is less than a meal")
    assert m["dinner"]["excluded_reason"] is None  # unknown carbs: a meal
    assert not m["coffee"]["included"]


def test_zero_counts_every_logged_meal():
    m = _by_label(meal_responses(_readings(), _events(), min_meal_carbs_g=0))
    assert m["coffee"]["included"] or "another meal" in str(m["coffee"]["excluded_reason"])
    assert "another meal starts 60 min after this one" in m["pasta + bread"]["excluded_reason"]
    assert m["apple"]["excluded_reason"] is None


def test_the_rule_is_checked_and_stated():
    assert Rules().min_meal_carbs_g == 10.0
    assert "less than 10 g of carbs is not a meal" in Rules().describe()
    assert "not a meal" not in Rules(min_meal_carbs_g=0).describe()
    for bad in (-1, float("nan"), "a lot", None):
        with pytest.raises(InputError, match="min_meal_carbs_g"):
            Rules(min_meal_carbs_g=bad)
    assert Rules(agp_days=7).agp_days == 7
    with pytest.raises(InputError, match="agp_days"):
        Rules(agp_days=0)

"""A small, fast version of ``benchmarks/mixed_grid.py``: the pooled mixed model's coverage on
cohorts simulated from models that differ from the one fitted (the full grid, >= 1000 trials per
cell, is run by hand)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

SPEC = importlib.util.spec_from_file_location(
    "mixed_grid", Path(__file__).resolve().parent.parent / "benchmarks" / "mixed_grid.py"
)
grid = importlib.util.module_from_spec(SPEC)
sys.modules.setdefault("mixed_grid", grid)  # its dataclass looks itself up there
SPEC.loader.exec_module(grid)


def test_the_grid_has_the_cells_the_issue_asks_for():
    cells = grid.default_cells()
    assert {(c.people, c.meals) for c in cells} >= {
        (n, m) for n in (6, 10, 20) for m in (20, 40, 60)
    }
    assert {c.het for c in cells} == {"none", "sd400", "relative"}
    assert any(c.drift for c in cells) and any(c.unequal for c in cells)


def test_simulated_truth_is_the_population_mean_effect():
    """Averaged over many cohorts, the people's mean SPU effect is the stated truth."""
    rng = np.random.default_rng(0)
    for cell in (grid.Cell(20, 40, "sd400", unequal=True), grid.Cell(20, 40, "relative")):
        diffs = []
        for _ in range(30):
            meals, effect, reduction = grid.simulate_cohort(cell, rng)
            means = meals.groupby(["subject", "condition"])["iauc_mgdl_min"].mean().unstack()
            diffs.append((means["spu"] - means["control"]).mean() - effect)
            if cell.het == "relative":
                assert reduction == pytest.approx(30.0)
        assert abs(np.mean(diffs)) < 4 * np.std(diffs) / np.sqrt(len(diffs))


@pytest.mark.slow
@pytest.mark.parametrize(
    "cell",
    [grid.Cell(10, 40, "sd400"), grid.Cell(6, 20, "relative", drift=True, unequal=True)],
    ids=lambda c: c.label,
)
def test_mixed_model_covers_in_a_small_grid(cell):
    per = grid.run_cell(cell, 80, seed=1)
    row = grid.summarise(cell, per, "new")
    assert row["refused"] == 0
    assert row["cover_effect"] >= 87 and row["cover_reduction"] >= 87
    assert row["se_zero"] == 0


@pytest.mark.slow
def test_the_old_random_intercept_model_undercovers_where_effects_differ():
    cell = grid.Cell(10, 40, "sd400")
    new = grid.summarise(cell, grid.run_cell(cell, 60, seed=2, model="new"), "new")
    old = grid.summarise(cell, grid.run_cell(cell, 60, seed=2, model="old"), "old")
    assert old["cover_effect"] < 85 < new["cover_effect"]
    assert old["width_effect"] < new["width_effect"]


def test_markdown_table_has_every_cell():
    cell = grid.Cell(6, 20)
    row = grid.summarise(cell, grid.run_cell(cell, 5, seed=3), "new")
    text = grid.markdown(__import__("pandas").DataFrame([row]))
    assert "| 6x20 none | new | 5 |" in text

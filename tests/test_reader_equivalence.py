"""The readers give what they gave before the speed work of issue 14 (``tests/golden_readers.py``):
every fixture, a few days of each generated format, and seeded hostile mutants of both, compared
with the goldens written by the previous implementation (readings, events, subjects, the row
account, warnings and error messages; numbers within a tolerance, never bytes)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from tests import golden_readers as G


@pytest.fixture(scope="module")
def outcomes() -> tuple[dict, dict]:
    want = G.load()
    got = {}
    with tempfile.TemporaryDirectory(prefix="equivalence_") as d:
        for name, path, options in G.cases(Path(d)):
            if "_sha" in options:
                assert options["_sha"] == want[name]["mutant_sha256"], f"{name}: mutant changed"
            got[name] = G.read_case(path, options)
    return want, got


def test_every_case_still_exists(outcomes):
    want, got = outcomes
    assert set(got) == set(want)


@pytest.mark.parametrize("group", ["fixture", "generated", "mutant"])
def test_outputs_equal_the_previous_readers(outcomes, group):
    want, got = outcomes

    def in_group(k: str) -> bool:
        head = k.split("/")[0]
        return {"generated": "generated", "mutant": "mutant"}.get(head, "fixture") == group

    bad = {}
    for k in sorted(k for k in want if in_group(k)):
        d = G.differences(want[k], got.get(k, {}))
        if d:
            bad[k] = d[:3]
    assert not bad, "\n".join(f"{k}: {v}" for k, v in list(bad.items())[:10])


def test_goldens_cover_hostile_outcomes():
    want = G.load()
    errors = [k for k, v in want.items() if "error" in v]
    dropped = [k for k, v in want.items() if v.get("provenance", {}).get("rows_dropped")]
    assert len(errors) >= 20 and len(dropped) >= 50

"""The cohort on Dask worker processes gives the serial run's results, bit for bit.

A small cohort (seconds): three copies of the bundled free-living self-tracker (42 meals each,
so each has their own N-of-1, computed on the worker) and two crossover people, plus one person
whose CGM file is garbage.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from soleus_analysis.app.runner import run_cohort
from soleus_analysis.pipeline import PERSON_ESTIMAND, pool_people

DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("cohort_dask")
    rows = []
    free = DATA / "freeliving"
    for k in (1, 2, 3):
        for kind in ("dexcom", "activity"):
            shutil.copy(free / f"synthetic_freeliving_p01_{kind}.csv", d / f"f{k}_{kind}.csv")
        rows.append((f"f{k}", f"f{k}_dexcom.csv", f"f{k}_activity.csv"))
    ham = pd.read_csv(DATA / "hamilton2022" / "manifest.csv").head(2)
    for r in ham.itertuples():
        shutil.copy(DATA / "hamilton2022" / r.cgm_path, d / r.cgm_path)
        shutil.copy(DATA / "hamilton2022" / r.events_path, d / r.events_path)
        rows.append((f"h_{r.subject}", r.cgm_path, r.events_path))
    (d / "bad.csv").write_bytes(b"\x00\x01garbage" * 50)
    rows.append(("bad", "bad.csv", ""))
    shutil.copy(free / "rules.json", d / "rules.json")
    pd.DataFrame(rows, columns=["subject", "cgm", "events"]).to_csv(d / "people.csv", index=False)
    return d / "people.csv"


def _sorted(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    return frame.sort_values(by, kind="stable").reset_index(drop=True)


@pytest.fixture(scope="module")
def serial(manifest):
    return run_cohort(manifest, workers=1, progress=False)


def test_own_effects_from_the_workers_equal_the_pooled_computation(serial):
    # the people's own N-of-1 rows come from the workers; computed in the pooling step instead
    # (the runner before) they are the same numbers
    assert serial.people[PERSON_ESTIMAND].notna().sum() == 3
    cov = serial.people[["subject", "coverage_pct"]]
    again = pool_people(serial.meals, serial.curves, coverage=cov, rules=serial.rules)
    pd.testing.assert_frame_equal(serial.people, again.people, check_exact=True)
    pd.testing.assert_frame_equal(serial.pooled, again.pooled, check_exact=True)
    # the pooled series of N-of-1s likewise: each person's posterior comes from the worker
    assert serial.nof1_series is not None and again.nof1_series is not None
    for mine, theirs in zip(serial.nof1_series, again.nof1_series, strict=True):
        pd.testing.assert_frame_equal(mine, theirs, check_exact=True)


def test_dask_worker_processes_give_the_serial_results(manifest, serial):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=":0",
    ) as cluster:
        res = run_cohort(manifest, scheduler=cluster.scheduler_address, progress=False)
    for name, by in (
        ("people", ["subject"]),
        ("pooled", ["method"]),
        ("meals", ["subject", "meal_time"]),
        ("curves", ["subject", "meal_time", "minute"]),
        ("failed", ["subject"]),
    ):
        pd.testing.assert_frame_equal(
            _sorted(getattr(res, name), by), _sorted(getattr(serial, name), by), check_exact=True
        )
    assert res.failed["subject"].tolist() == ["bad"]
    assert res.rules == serial.rules
    for mine, theirs in zip(res.nof1_series, serial.nof1_series, strict=True):
        pd.testing.assert_frame_equal(mine, theirs, check_exact=True)

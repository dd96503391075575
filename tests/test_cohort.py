"""The cohort runner: same results on every executor, one bad person skipped, manifests and folders."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from soleus_analysis.app.runner import discover_people, read_manifest, run_cohort
from soleus_analysis.core.errors import InputError

DATA = Path(__file__).resolve().parent.parent / "data" / "hamilton2022"
RULES = {"window": (0, 180), "baseline": "premeal"}


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> Path:
    """Four bundled (synthetic) people plus one whose CGM file is garbage."""
    d = tmp_path_factory.mktemp("cohort")
    m = pd.read_csv(DATA / "manifest.csv").head(4)
    for f in list(m["cgm_path"]) + list(m["events_path"]):
        shutil.copy(DATA / f, d / f)
    (d / "bad_cgm.csv").write_bytes(b"\x00\x01garbage" * 50)
    rows = m[["subject", "cgm_path", "events_path"]].rename(
        columns={"cgm_path": "cgm", "events_path": "events"}
    )
    rows = pd.concat([rows, pd.DataFrame([{"subject": "bad", "cgm": "bad_cgm.csv", "events": ""}])])
    rows.to_csv(d / "people.csv", index=False)
    return d / "people.csv"


def _key(res) -> pd.DataFrame:
    cols = ["subject", "meal_time", "condition", "iauc_mgdl_min", "spu_minutes"]
    return res.meals[cols].sort_values(["subject", "meal_time"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def serial(manifest):
    return run_cohort(manifest, RULES, workers=1, progress=False)


def test_bad_person_is_reported_and_skipped(serial):
    assert serial.failed["subject"].tolist() == ["bad"]
    assert "binary" in serial.failed["error"].iloc[0]
    assert sorted(serial.people["subject"]) == ["p01", "p02", "p03", "p04"]
    # each good person: one drink without SPU and one with (the protocol), counted from the logs
    assert (
        serial.meals.groupby("subject")["condition"].apply(sorted) == [["control", "spu"]] * 4
    ).all()


def test_local_processes_give_the_same_results(manifest, serial):
    par = run_cohort(manifest, RULES, workers=2, progress=False)
    pd.testing.assert_frame_equal(_key(par), _key(serial))
    pd.testing.assert_frame_equal(par.pooled, serial.pooled)


def test_dask_cluster_on_loopback_gives_the_same_results(manifest, serial):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=2,
        processes=False,
        host="127.0.0.1",
        protocol="tcp://",
        dashboard_address=None,
    ) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        res = run_cohort(manifest, RULES, scheduler=cluster.scheduler_address, progress=False)
    pd.testing.assert_frame_equal(_key(res), _key(serial))
    pd.testing.assert_frame_equal(res.pooled, serial.pooled)
    assert res.failed["subject"].tolist() == ["bad"]


def test_pooled_reduction_equals_ratio_of_person_means(serial):
    ok = serial.meals[serial.meals["excluded_reason"].isna()]
    per = ok.pivot_table(
        index="subject", columns="condition", values="iauc_mgdl_min", aggfunc="mean"
    )
    expected = 100 * (1 - per["spu"].mean() / per["control"].mean())
    row = serial.pooled[serial.pooled["method"].str.startswith("paired")].iloc[0]
    # the row names its estimand: the ratio of the people's mean responses, with its own test
    assert row["estimand"] == "reduction_mean_ratio_pct"
    assert row["estimate_pct"] == pytest.approx(expected)
    assert row["test"] == "paired t-test of the differences"
    d = per["spu"] - per["control"]
    assert row["p"] == pytest.approx(stats.ttest_1samp(d, 0.0).pvalue)


def test_manifest_rules(tmp_path):
    (tmp_path / "a.csv").write_text("x")
    p = tmp_path / "m.csv"
    p.write_text("subject,cgm,events\nA,a.csv;b.csv,\n")
    m = read_manifest(p)
    assert m["cgm"].iloc[0] == [
        str((tmp_path / "a.csv").resolve()),
        str((tmp_path / "b.csv").resolve()),
    ]
    assert m["events"].iloc[0] == []
    # a repeated id skips the later row with its reason (the run goes on with the first)
    p.write_text("subject,cgm\nA,a.csv\n# a comment line\nA,a.csv\n,a.csv\n")
    m = read_manifest(p)
    assert pd.isna(m["problem"].iloc[0])
    assert m["problem"].iloc[1] == (
        "manifest line 4: subject 'A' is already on line 2; give each person one row"
    )
    assert m["problem"].iloc[2] == "manifest line 5: no subject id"
    # '#' inside a path is part of the path
    p.write_text("subject,cgm\nA,data #2/a b.csv\n")
    assert read_manifest(p)["cgm"].iloc[0] == [str((tmp_path / "data #2" / "a b.csv").resolve())]
    p.write_text("who,cgm\nA,a.csv\n")
    with pytest.raises(InputError, match="subject"):
        read_manifest(p)


def test_folder_of_person_subfolders(tmp_path):
    m = pd.read_csv(DATA / "manifest.csv").head(2)
    for _, r in m.iterrows():
        sub = tmp_path / r["subject"]
        sub.mkdir()
        shutil.copy(DATA / r["cgm_path"], sub)
        shutil.copy(DATA / r["events_path"], sub)
    people = discover_people(tmp_path)
    assert people["subject"].tolist() == ["p01", "p02"]
    assert all(len(c) == 1 and c[0].endswith("dexcom.csv") for c in people["cgm"])
    assert all(len(e) == 1 and e[0].endswith("activity.csv") for e in people["events"])
    with pytest.raises(InputError, match="no manifest"):
        discover_people(tmp_path / "p01")


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 300), st.integers(1, 12))
def test_batches_cover_every_person_once_in_order(n, slots):
    """Tasks of at most 16 people, at least 4 per slot while there are people for them."""
    from soleus_analysis.app.runner import MAX_PEOPLE_PER_TASK, TASKS_PER_SLOT, batches

    jobs = [(i,) for i in range(n)]
    parts = batches(jobs, slots)
    assert [j for b in parts for j in b] == jobs
    assert all(1 <= len(b) <= MAX_PEOPLE_PER_TASK for b in parts)
    assert len(parts) >= min(n, TASKS_PER_SLOT * slots)
    if n >= MAX_PEOPLE_PER_TASK * TASKS_PER_SLOT * slots:
        assert len(parts[0]) == MAX_PEOPLE_PER_TASK

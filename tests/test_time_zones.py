"""The time model: local wall-clock time plus, where known, the instant (issue 12).

Cases are built from the *elapsed* time at which each reading was measured, so the right
answer (a 2-h window holds 25 five-minute readings; a triangle of base 120 min and height
60 mg/dL has an iAUC of 3600 mg/dL*min) is known without the code under test. Both
hemispheres, both directions of a daylight-saving change, and a flight across time zones.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from soleus_analysis import meal_responses
from soleus_analysis.app.cli import main
from soleus_analysis.clean import clean
from soleus_analysis.core.errors import InputError
from soleus_analysis.io import read_cgm


def triangle(elapsed_min: np.ndarray, meal_min: float) -> np.ndarray:
    x = elapsed_min - meal_min
    rise = np.clip(x / 45.0, 0, 1)
    fall = np.clip((120.0 - x) / 75.0, 0, 1)
    return 100.0 + 60.0 * np.where(x <= 45, rise, fall) * ((x >= 0) & (x <= 120))


def local_series(tz: str, utc_start: str, hours: float = 6.0):
    """Instants every 5 min from ``utc_start`` (UTC) and their local wall-clock times in tz."""
    utc = pd.date_range(utc_start, periods=int(hours * 12) + 1, freq="5min", tz="UTC")
    local = utc.tz_convert(tz).tz_localize(None)
    elapsed = np.asarray((utc - utc[0]).total_seconds() / 60.0)
    return utc, local, elapsed


def write_plain_csv(path, local, glucose) -> None:
    """A plain CSV of local times only, in the order the device measured them."""
    pd.DataFrame(
        {"timestamp": pd.Series(local).dt.strftime("%Y-%m-%d %H:%M:%S"), "glucose_mgdl": glucose}
    ).to_csv(path, index=False)


# zone, the UTC start of a night with a change, and the local time of a meal 90 min after
CHANGES = {
    "new york fall-back": ("America/New_York", "2024-11-03 04:00", "2024-11-03 01:30"),
    "new york spring-forward": ("America/New_York", "2024-03-10 05:00", "2024-03-10 01:30"),
    "sydney fall-back": ("Australia/Sydney", "2024-04-06 13:00", "2024-04-07 01:30"),
    "sydney spring-forward": ("Australia/Sydney", "2024-10-05 14:00", "2024-10-06 01:30"),
}


@pytest.mark.parametrize("case", sorted(CHANGES))
def test_local_only_export_with_the_zone_measures_real_time(tmp_path, case):
    tz, utc_start, meal_local = CHANGES[case]
    utc, local, elapsed = local_series(tz, utc_start)
    meal_elapsed = float(
        (pd.Timestamp(meal_local).tz_localize(tz, ambiguous=True) - utc[0]).total_seconds() / 60.0
    )
    path = tmp_path / "plain.csv"
    write_plain_csv(path, local, triangle(elapsed, meal_elapsed))
    rec = read_cgm(path, tz=tz)
    seconds = np.asarray((utc - pd.Timestamp("1970-01-01", tz="UTC")).total_seconds())
    assert np.allclose(np.sort(rec.readings["utc_time_s"]), seconds)
    moved = [w for w in rec.provenance.warnings if "the local clock moved" in w]
    assert len(moved) == 1 and ("-60 min" in moved[0]) == ("fall-back" in case)
    c = clean(rec)
    assert len(c.gaps) == 0  # neither a repeated nor a skipped hour is a gap
    row = meal_responses(rec, pd.DataFrame({"time": [pd.Timestamp(meal_local)]})).iloc[0]
    assert row["n_readings"] == 25
    assert row["included"]
    assert row["iauc_mgdl_min"] == pytest.approx(3600.0, abs=1e-9)


def test_without_the_zone_a_spring_forward_is_a_gap_as_the_file_shows(tmp_path):
    tz, utc_start, meal_local = CHANGES["new york spring-forward"]
    utc, local, elapsed = local_series(tz, utc_start)
    path = tmp_path / "plain.csv"
    write_plain_csv(path, local, triangle(elapsed, 90.0))
    c = clean(read_cgm(path))
    assert len(c.gaps) == 1 and c.gaps.iloc[0]["gap_min"] == 65.0  # local 01:55 -> 03:00


@pytest.mark.parametrize("jump_h", [-6.0, 6.0])  # Paris -> New York, New York -> Paris
def test_flight_across_time_zones_on_the_transmitter_clock(tmp_path, jump_h):
    """A Dexcom export whose phone clock jumps on landing; a meal an hour before landing has a
    window that spans the jump. The transmitter counter keeps real time."""
    from soleus_analysis.simulate.writers import write_dexcom_clarity

    elapsed = np.arange(0, 12 * 60 + 1, 5.0)
    landing = 8 * 60.0
    local_min = elapsed + np.where(elapsed >= landing, 60.0 * jump_h, 0.0)
    meal = landing - 60.0
    start = pd.Timestamp("2025-06-01 08:00")
    readings = pd.DataFrame(
        {
            "time": start + pd.to_timedelta(local_min, unit="min"),
            "glucose_mgdl": triangle(elapsed, meal),
            "censored": None,
            "transmitter_time_s": (1000 + 60 * elapsed).astype(np.int64),
            "transmitter_id": "8ABCDE",
        }
    )
    path = tmp_path / "clarity.csv"
    write_dexcom_clarity(readings, None, path)
    rec = read_cgm(path)
    c = clean(rec)
    shift = (c.clock_ns - c.t_ns) // 60_000_000_000
    k = int(landing // 5)
    assert set(shift[:k]) == {0} and set(shift[k:]) == {int(-60 * jump_h)}
    assert len(c.gaps) == 0  # a 6-h jump of the phone's clock is not a gap in the data
    row = meal_responses(rec, pd.DataFrame({"time": [start + pd.Timedelta(minutes=meal)]}))
    assert row.iloc[0]["n_readings"] == 25
    assert row.iloc[0]["iauc_mgdl_min"] == pytest.approx(3600.0, abs=1e-9)


def test_nightscout_records_without_offsets_get_local_time_from_the_zone(tmp_path):
    tz, utc_start, _ = CHANGES["new york fall-back"]
    utc, local, elapsed = local_series(tz, utc_start)
    entries = [
        {
            "type": "sgv",
            "sgv": 100.0,
            "date": int(u.as_unit("ns").value // 1_000_000),
            "dateString": f"{u:%Y-%m-%dT%H:%M:%S}.000Z",
        }
        for u in utc
    ]
    path = tmp_path / "entries.json"
    path.write_text(json.dumps(entries))
    rec = read_cgm(path, tz=tz)
    got = rec.readings.sort_values("utc_time_s")["time"].to_numpy(dtype="datetime64[ns]")
    assert np.array_equal(got, local.to_numpy(dtype="datetime64[ns]"))
    # no "times kept in UTC"; the one change of the local clock is reported, with its hour
    assert rec.provenance.warnings == [
        "the local clock moved -60 min between 2024-11-03 01:55:00 and 2024-11-03 01:00:00 "
        "(daylight saving or travel): readings kept, in the order the device measured them"
    ]


def test_unknown_zone_is_one_clear_line(tmp_path):
    path = tmp_path / "plain.csv"
    write_plain_csv(path, pd.date_range("2025-01-01", periods=3, freq="5min"), [100, 101, 102])
    with pytest.raises(InputError, match="unknown time zone 'Mars/Olympus'"):
        read_cgm(path, tz="Mars/Olympus")
    res = CliRunner().invoke(main, ["inspect", str(path), "--tz", "Mars/Olympus"])
    assert res.exit_code != 0
    assert "unknown time zone" in res.output and "Traceback" not in res.output

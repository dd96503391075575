"""Generated exports of every CSV/JSON format the speed work of issue 14 measures, one writer
per format, sized by days: the benchmarks (``benchmarks/bench_readers.py``) write one year of
each, the reader-equivalence test (``tests/test_reader_equivalence.py``) a few days.

Written with the project's writers where they exist (``simulate/writers.py`` for Dexcom Clarity,
LibreView and the activity log) and by hand, in the layout of the real fixtures, for CareLink,
the generic CSV and Nightscout entries JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from soleus_analysis.simulate import writers

START = datetime(2025, 1, 1, 0, 2, 13)


def readings(days: float, step_min: int = 5, seed: int = 3) -> pd.DataFrame:
    """Canonical readings of one person, every ``step_min`` minutes for ``days`` days (mg/dL,
    a daily wave and noise, a few Low/High readings)."""
    n = int(days * 1440 // step_min)
    rng = np.random.default_rng(seed)
    t = pd.Timestamp(START) + pd.to_timedelta(np.arange(n) * step_min, unit="min")
    minutes = (np.arange(n) * step_min) % 1440
    g = 110 + 35 * np.sin(minutes / 1440 * 2 * np.pi) + rng.normal(0, 14, n)
    g = np.clip(np.round(g), 35, 420)
    censored = np.where(g < 40, "low", np.where(g > 400, "high", None))
    return pd.DataFrame({"subject": "person 1", "time": t, "glucose_mgdl": g, "censored": censored})


def meals(days: float) -> pd.DataFrame:
    """Three meals a day and a soleus pushup bout after lunch (canonical events)."""
    rows = []
    for d in range(int(max(1, days))):
        day = pd.Timestamp(START.date()) + pd.Timedelta(days=d)
        for h, c in ((8, 40.0), (12.5, 65.0), (19, 80.0)):
            rows.append({"time": day + pd.Timedelta(hours=h), "kind": "meal", "carbs_g": c})
        t = day + pd.Timedelta(hours=12, minutes=45)
        rows.append({"time": t, "end": t + pd.Timedelta(minutes=30), "kind": "spu"})
    ev = pd.DataFrame(rows)
    ev["subject"] = "person 1"
    for col in ("end", "carbs_g", "insulin_u", "intensity", "label"):
        if col not in ev:
            ev[col] = None
    return ev


def write_dexcom(path: Path, days: float) -> Path:
    """A Dexcom Clarity export (mg/dL), with the project's writer."""
    writers.write_dexcom_clarity(readings(days), meals(days), path, units="mg/dL")
    return path


def write_libreview_15(path: Path, days: float) -> Path:
    """A LibreView export, 15-minute historic rows, en_GB, mmol/L."""
    writers.write_libreview(readings(days), meals(days), path, units="mmol/L", locale="en_GB")
    return path


def write_libreview_us5(path: Path, days: float) -> Path:
    """A LibreView export, every 5-minute reading (Libre 3), en_US 12-hour times, mg/dL."""
    writers.write_libreview(
        readings(days), meals(days), path, units="mg/dL", locale="en_US", interval_min=None
    )
    return path


_CARELINK_HEADER = [
    "Index", "Date", "Time", "New Device Time", "BG Reading (mg/dL)", "Basal Rate (U/h)",
    "Bolus Type", "Bolus Volume Delivered (U)", "BWZ Carb Input (grams)",
    "Sensor Calibration BG (mg/dL)", "Sensor Glucose (mg/dL)", "ISIG Value", "Event Marker",
]  # fmt: skip


def write_carelink(path: Path, days: float) -> Path:
    """A CareLink export (EU: ``;`` and decimal commas), pump and sensor sections, newest
    first, as the real Guardian Connect fixture is laid out."""
    r = readings(days).sort_values("time", ascending=False)
    ev = meals(days)
    ev = ev[ev["kind"] == "meal"].sort_values("time", ascending=False)
    h = _CARELINK_HEADER
    d = ";"
    lines = [
        d.join(["Last Name", "First Name", "Device", "Guardian 4"]),
        d.join(['"Doe"', '"Jane"', '"Serial Number"', "NG123"]),
        "",
        "Device data shown may exceed selected date range.",
        "",
        f"-------{d}Test Pump{d}Pump{d}NG123{d}------- ",
        d.join(h),
    ]
    blank = [""] * len(h)
    for i, e in enumerate(ev.itertuples(index=False)):
        row = list(blank)
        t = pd.Timestamp(e.time)
        row[0], row[1], row[2] = f"{i},00000", f"{t:%Y/%m/%d}", f"{t:%H:%M:%S}"
        row[12] = f"Meal: {e.carbs_g:.0f}grams"
        lines.append(d.join(row))
    lines += ["", f"-------{d}Test Pump{d}Sensor{d}NG123{d}------- ", d.join(h)]
    times = r["time"].dt.strftime("%Y/%m/%d").to_numpy(), r["time"].dt.strftime("%H:%M:%S")
    g = r["glucose_mgdl"].to_numpy()
    base = len(ev)
    for k, (day, tm, v) in enumerate(zip(times[0], times[1].to_numpy(), g, strict=True)):
        lines.append(f"{base + k},00000;{day};{tm};;;;;;;;{v:.0f};20,50;")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_generic(path: Path, days: float) -> Path:
    """A generic CSV (``id,time,Glucose (mg/dL)``, quoted as iglu's example data)."""
    r = readings(days)
    t = r["time"].dt.strftime("%Y-%m-%d %H:%M:%S").to_numpy()
    g = r["glucose_mgdl"].to_numpy()
    body = "\n".join(f'"Subject 1","{a}",{v:.0f}' for a, v in zip(t, g, strict=True))
    path.write_text('"id","time","Glucose (mg/dL)"\n' + body + "\n", encoding="utf-8")
    return path


def write_nightscout(path: Path, days: float) -> Path:
    """A Nightscout ``entries.json`` (newest first; ``sgv`` entries and a calibration a day)."""
    r = readings(days).sort_values("time", ascending=False)
    ms = (r["time"].to_numpy().astype("datetime64[ms]").astype("int64")).tolist()
    iso = pd.to_datetime(r["time"]).dt.strftime("%Y-%m-%dT%H:%M:%S.000Z").tolist()
    out = []
    for k, (m, s, g) in enumerate(zip(ms, iso, r["glucose_mgdl"].tolist(), strict=True)):
        out.append(
            {
                "_id": f"{k:024x}",
                "date": m,
                "dateString": s,
                "sgv": int(g),
                "direction": "Flat",
                "type": "sgv",
                "device": "xDrip-DexcomG6",
                "utcOffset": 60,
                "sysTime": s,
            }
        )
        if k % 288 == 0:
            out.append({"_id": f"c{k:023x}", "date": m, "dateString": s, "type": "cal",
                        "slope": 1000, "intercept": 3000, "scale": 1})  # fmt: skip
    path.write_text(json.dumps(out), encoding="utf-8")
    return path


def write_activity_log(path: Path, days: float) -> Path:
    """The project's activity log (three meals and a bout a day), with the project's writer."""
    ev = meals(days)
    writers.write_activity_log(ev, path)
    return path


#: name -> (writer, format name the sniffer gives it)
WRITERS: dict[str, tuple[Callable[[Path, float], Path], str]] = {
    "dexcom": (write_dexcom, "dexcom_clarity"),
    "libreview_15min": (write_libreview_15, "libreview"),
    "libreview_us_5min": (write_libreview_us5, "libreview"),
    "carelink": (write_carelink, "carelink"),
    "generic": (write_generic, "generic"),
    "nightscout_json": (write_nightscout, "nightscout_entries_json"),
    "activity_log": (write_activity_log, "activity_log"),
}


def write_all(folder: Path, days: float) -> dict[str, Path]:
    """One file of ``days`` days per format in ``folder``; name -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    ext = {"nightscout_json": ".json"}
    return {k: w(folder / f"{k}{ext.get(k, '.csv')}", days) for k, (w, _) in WRITERS.items()}

"""Reader benchmarks: Dexcom Clarity speed and Apple Health streaming memory.

Usage::

    .venv/bin/python benchmarks/bench_readers.py                 # full: 1 year Dexcom, 1 GB Apple
    .venv/bin/python benchmarks/bench_readers.py --apple-mb 50    # smaller Apple export
    .venv/bin/python benchmarks/bench_readers.py --skip-apple
    .venv/bin/python benchmarks/bench_readers.py --floors-only    # readers vs pyarrow floors

First the table of issue 14: every CSV/JSON reader (Dexcom Clarity, LibreView 15-min and
5-min US 12-hour, CareLink, generic CSV, Nightscout entries JSON, the activity log) against a
pyarrow floor parsing the same columns with the same row filter, in the same run (``--floors-only``
prints only that table). Targets (issue 2): ``read_cgm`` on a one-year Dexcom Clarity export (~105,000 EGV rows) within 3x
a bare ``pandas.read_csv`` of the same file and under 1 s; a 1 GB Apple Health export parsed with
peak memory under 300 MB. Everything is generated into a temporary folder and deleted afterwards.
Not run by the tests.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from tables import record  # the scripts run from benchmarks/, side by side

DEXCOM_HEADER = (
    "Index,Timestamp (YYYY-MM-DDThh:mm:ss),Event Type,Event Subtype,Patient Info,Device Info,"
    "Source Device ID,Glucose Value (mg/dL),Insulin Value (u),Carb Value (grams),"
    "Duration (hh:mm:ss),Glucose Rate of Change (mg/dL/min),Transmitter Time (Long Integer),"
    "Transmitter ID"
)


def write_dexcom(path: Path, days: int = 365, seed: int = 0) -> int:
    """Write a Dexcom Clarity CSV (G7, mg/dL, with preamble) of ``days`` days; return EGV rows."""
    rng = np.random.default_rng(seed)
    n = days * 288
    start = np.datetime64("2025-01-01T00:02:13")
    times = start + np.arange(n) * np.timedelta64(300, "s")
    stamps = np.datetime_as_string(times, unit="s")
    minutes = (np.arange(n) * 5) % 1440
    glucose = 100 + 25 * np.sin(minutes / 1440 * 2 * np.pi) + rng.normal(0, 12, n).cumsum() * 0.05
    glucose = np.clip(np.round(glucose + rng.normal(0, 8, n)), 30, 420).astype(int)
    values = glucose.astype(str).astype(object)
    subtype = np.full(n, "", dtype=object)
    values[glucose < 40], subtype[glucose < 40] = "Low", "Low"
    values[glucose > 400], subtype[glucose > 400] = "High", "High"
    rate = np.round(rng.normal(0, 0.8, n), 1)
    tx = 1_000_000 + np.arange(n) * 300
    pre = [
        "1,,FirstName,,Synthetic,,,,,,,,",
        "2,,LastName,,Benchmark,,,,,,,,",
        "3,,Device,,,Dexcom G7 Mobile App,Android G7,,,,,,",
        "4,,Alert,High,,,Android G7,250,,,,00:00:00,",
        "5,,Alert,Low,,,Android G7,70,,,,00:00:00,",
        "6,,Alert,Urgent Low,,,Android G7,55,,,,00:00:00,",
        "7,,Alert,Urgent Low Soon,,,Android G7,55,,,,00:00:00,",
        "8,,Alert,Rise Rate,,,Android G7,3,,,,00:00:00,",
        "9,,Alert,Fall Rate,,,Android G7,3,,,,00:00:00,",
        "10,,Alert,Signal Loss,,,Android G7,,,,,00:20:00,",
    ]
    idx = np.arange(n) + len(pre) + 1
    with open(path, "w", encoding="utf-8-sig", newline="\n") as fh:
        fh.write(DEXCOM_HEADER + "\n" + "\n".join(pre) + "\n")
        chunk = 20_000
        for a in range(0, n, chunk):
            b = min(n, a + chunk)
            rows = [
                f"{idx[i]},{stamps[i]},EGV,{subtype[i]},,,Android G7,{values[i]},,,,{rate[i]},"
                f"{tx[i]},8ABC12"
                for i in range(a, b)
            ]
            fh.write("\n".join(rows) + "\n")
    return n


def time_median(fn, repeats: int = 5) -> float:
    """Median wall time (s) of ``repeats`` calls after one warm-up."""
    fn()
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


ROUNDS = 11


def bench_dexcom(tmp: Path) -> list[tuple[str, str]]:
    import pandas as pd

    path = tmp / "clarity_one_year.csv"
    n = write_dexcom(path)
    rows = [
        ("Dexcom EGV rows generated", f"{n:,}"),
        ("file size", f"{path.stat().st_size / 1e6:.1f} MB"),
    ]
    try:
        import soleus_analysis as sa

        rec = sa.read_cgm(path)
        # interleave the two readers so both see the same machine conditions (a shared VM's speed
        # drifts); report the medians and the median of the per-round ratios
        t_pd, t_sa = [], []
        with warnings.catch_warnings():  # bare read_csv warns about mixed-type columns
            warnings.simplefilter("ignore")
            for _ in range(ROUNDS):
                t_pd.append(time_median(lambda: pd.read_csv(path), repeats=1))
                t_sa.append(time_median(lambda: sa.read_cgm(path), repeats=1))
        ratio = statistics.median(b / a for a, b in zip(t_pd, t_sa, strict=True))
        rows += [
            (f"pandas.read_csv (median of {ROUNDS})", f"{statistics.median(t_pd):.3f} s"),
            ("read_cgm readings", f"{len(rec.readings):,}"),
            (f"read_cgm (median of {ROUNDS})", f"{statistics.median(t_sa):.3f} s"),
            ("ratio read_cgm / read_csv", f"{ratio:.2f} (median of rounds; target <= 3)"),
            ("under 1 s", "yes" if statistics.median(t_sa) < 1 else "NO"),
        ]
    except Exception as err:  # reader not available yet, or failing: report, don't crash
        rows.append(("read_cgm", f"failed: {type(err).__name__}: {err}"))
    return rows


# ---------------------------------------------------------------------------- Apple Health
APPLE_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE HealthData [
<!-- HealthKit Export Version: 14 -->
<!ELEMENT HealthData (ExportDate,Me,(Record|Correlation|Workout|ActivitySummary)*)>
<!ATTLIST HealthData
  locale CDATA #REQUIRED
>
<!ELEMENT ExportDate EMPTY>
<!ATTLIST ExportDate
  value CDATA #REQUIRED
>
<!ELEMENT Record ((MetadataEntry)*)>
<!ATTLIST Record
  type          CDATA #REQUIRED
  unit          CDATA #IMPLIED
  value         CDATA #IMPLIED
  sourceName    CDATA #REQUIRED
  startDate     CDATA #REQUIRED
  endDate       CDATA #REQUIRED
>
]>
<HealthData locale="en_GB">
 <ExportDate value="2025-01-01 00:00:00 +0000"/>
"""


def write_apple(path: Path, megabytes: float) -> dict[str, int]:
    """Stream a synthetic export.xml of about ``megabytes`` MB: heart rate, steps, glucose."""
    target = int(megabytes * 1e6)
    base = dt.datetime(2024, 1, 1)
    counts = {"glucose": 0, "other": 0, "workouts": 0}
    written = 0
    i = 0
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(APPLE_HEAD)
        while written < target:
            parts = []
            for _ in range(5000):
                t = base + dt.timedelta(minutes=i)
                d = f"{t:%Y-%m-%d %H:%M:%S} +0100"
                parts.append(
                    f' <Record type="HKQuantityTypeIdentifierHeartRate" sourceName="Watch" '
                    f'unit="count/min" creationDate="{d}" startDate="{d}" endDate="{d}" '
                    f'value="{60 + i % 40}">\n  <MetadataEntry '
                    f'key="HKMetadataKeyHeartRateMotionContext" value="0"/>\n </Record>\n'
                )
                counts["other"] += 1
                if i % 5 == 0:
                    parts.append(
                        f' <Record type="HKQuantityTypeIdentifierBloodGlucose" sourceName="CGM" '
                        f'unit="mg/dL" creationDate="{d}" startDate="{d}" endDate="{d}" '
                        f'value="{90 + i % 60}"/>\n'
                    )
                    counts["glucose"] += 1
                if i % 1440 == 720:
                    e = t + dt.timedelta(minutes=30)
                    parts.append(
                        f' <Workout workoutActivityType="HKWorkoutActivityTypeWalking" '
                        f'duration="30" durationUnit="min" sourceName="Watch" startDate="{d}" '
                        f'endDate="{e:%Y-%m-%d %H:%M:%S} +0100">\n  <MetadataEntry '
                        f'key="HKIndoorWorkout" value="0"/>\n </Workout>\n'
                    )
                    counts["workouts"] += 1
                i += 1
            block = "".join(parts)
            fh.write(block)
            written += len(block)
        fh.write("</HealthData>\n")
    return counts


_CHILD = """
import json, resource, sys, time
from soleus_analysis.io.apple_health import read_apple_health
t0 = time.perf_counter()
rec = read_apple_health(sys.argv[1])
dt = time.perf_counter() - t0
# VmHWM (peak RSS of this program image); ru_maxrss can include the forking parent's RSS
try:
    hwm = [ln for ln in open("/proc/self/status") if ln.startswith("VmHWM")]
    peak = int(hwm[0].split()[1])
except (OSError, IndexError):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": dt, "peak_kb": peak,
                  "readings": len(rec.readings), "events": len(rec.events),
                  "rows_read": rec.provenance.rows_read}))
"""


def bench_apple(tmp: Path, megabytes: float) -> list[tuple[str, str]]:
    path = tmp / "export.xml"
    t0 = time.perf_counter()
    counts = write_apple(path, megabytes)
    gen = time.perf_counter() - t0
    size = path.stat().st_size
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path)], capture_output=True, text=True, check=False
    )
    rows = [
        ("Apple export size", f"{size / 1e6:,.0f} MB (generated in {gen:.0f} s)"),
        ("records written", f"{counts['glucose']:,} glucose, {counts['other']:,} other, "
         f"{counts['workouts']:,} workouts"),
    ]  # fmt: skip
    if out.returncode != 0:
        return rows + [("read_apple_health", "failed: " + out.stderr.strip().splitlines()[-1])]
    res = json.loads(out.stdout.strip().splitlines()[-1])
    peak_mb = res["peak_kb"] / 1024
    rows += [
        (
            "read_apple_health time",
            f"{res['seconds']:.1f} s ({size / 1e6 / res['seconds']:.1f} MB/s)",
        ),
        ("readings / events", f"{res['readings']:,} / {res['events']:,}"),
        ("peak RSS (whole process)", f"{peak_mb:.0f} MB (target < 300 MB)"),
    ]
    return rows


def print_table(rows: list[tuple[str, str]]) -> None:
    """Print ``(measure, value)`` rows as the benchmarks' two-column table."""
    width = max(len(k) for k, _ in rows)
    print(f"{'measure':<{width}}  value")
    print("-" * (width + 40))
    for k, v in rows:
        print(f"{k:<{width}}  {v}")


# ---------------------------------------------------------------------------- issue 12 formats
def _new_format_files(tmp: Path, n: int) -> list[tuple[str, Path, str]]:
    """One file of ``n`` readings (5-min, one a meal a day) per new format: (label, path,
    baseline), the baseline being ``read_csv`` (with its ``sep``/``skiprows``), ``json`` or
    ``ndjson``. Written with the tests' format writers (``tests/format_writers.py``)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests import format_writers as W

    r = W.day_of_readings(dt.datetime(2025, 1, 1), n)
    days = pd_date_range(n)
    ev = pd_concat_meals(W, days)
    out = []
    p = tmp / "lingo.csv"
    p.write_text(W.lingo_text(r, 60))
    out.append(("Abbott Lingo CSV (mmol/L)", p, "csv"))
    p = W.write_xdrip(tmp / "xdrip.csv", W.xdrip_text(r, ev), zipped=False)
    out.append(("xDrip+ SiDiary CSV", p, "csv;"))
    p = tmp / "cgm_data_1.csv"
    p.write_text(W.glooko_cgm_text(r))
    out.append(("Glooko cgm_data CSV", p, "csv+1"))
    p = tmp / "tandem.csv"
    p.write_text(W.tandem_text(r, ev, "source"))
    out.append(("Tandem Source CSV", p, "csv+7"))
    p = tmp / "tidepool.json"
    p.write_text(json.dumps(W.tidepool_data(r, ev, 60)))
    out.append(("Tidepool JSON", p, "json"))
    p = tmp / "mongo.json"
    p.write_text(W.ndjson(W.ns_entries(r, 60)))
    out.append(("Nightscout mongoexport NDJSON", p, "ndjson"))
    p = tmp / "v3.json"
    p.write_text(W.api_v3(W.ns_entries(r, 60, api="v3")))
    out.append(("Nightscout API v3 JSON", p, "json"))
    return out


def pd_date_range(n: int):
    import pandas as pd

    return pd.date_range("2025-01-01", periods=max(1, n // 288), freq="D")


def pd_concat_meals(W, days):
    import pandas as pd

    return pd.concat([W.two_meals(d.to_pydatetime()) for d in days], ignore_index=True)


def _baseline(path: Path, how: str):
    import pandas as pd

    if how == "json":
        return lambda: json.loads(path.read_text())
    if how == "ndjson":
        return lambda: [json.loads(ln) for ln in path.read_text().splitlines() if ln.strip()]
    sep = ";" if how == "csv;" else ","
    skip = int(how.split("+")[1]) if "+" in how else 0
    # Tandem: the bare read of its readings section (skip the preamble, stop at the next one)
    kw = {"nrows": None}
    if how == "csv+7":
        text = path.read_text()
        kw["nrows"] = text.split("\n\n")[1].count("\n") - 1
        skip = text.split("\n\n")[0].count("\n") + 2
    return lambda: pd.read_csv(path, sep=sep, skiprows=skip, **kw)


def bench_new_formats(tmp: Path, n: int = 105_120) -> list[tuple[str, str]]:
    """``read_cgm`` of each issue-12 format as a ratio to ``read_csv``/``json`` of the same file."""
    import soleus_analysis as sa

    rows = [("issue-12 formats: readings per file", f"{n:,}")]
    for label, path, how in _new_format_files(tmp, n):
        base = _baseline(path, how)
        t_b, t_r = [], []
        for _ in range(5):
            t_b.append(time_median(base, repeats=1))
            t_r.append(time_median(lambda p=path: sa.read_cgm(p), repeats=1))
        ratio = statistics.median(b / a for a, b in zip(t_b, t_r, strict=True))
        rows.append(
            (
                f"{label}",
                f"{statistics.median(t_r):.3f} s, {ratio:.1f}x the bare {how.rstrip(';+0123456789')} read",
            )
        )
    return rows


# ---------------------------------------------------------------------------- issue 14 floors
def _floors(paths: dict[str, Path]) -> dict[str, object]:
    """The pyarrow floor of each format: ``pyarrow.csv`` reading only the columns the reader
    needs (as text), the reader's row filter, the times and glucose values parsed; for
    Nightscout JSON the stdlib ``json`` (neither ``orjson`` nor a JSON-array reader in pyarrow
    is installed) and the same filter. Setup (finding a section's line) is not timed."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pv

    def read(path, cols, skip=0, delim=","):
        return pv.read_csv(
            path,
            read_options=pv.ReadOptions(skip_rows=skip),
            parse_options=pv.ParseOptions(delimiter=delim, invalid_row_handler=lambda r: "skip"),
            convert_options=pv.ConvertOptions(
                include_columns=cols, column_types=dict.fromkeys(cols, pa.string())
            ),
        )

    def glucose(arr):
        ok = pc.match_substring_regex(arr, r"^\d+(\.\d*)?$")
        return pc.cast(pc.if_else(ok, arr, pa.scalar(None, pa.string())), pa.float64())

    def dexcom():
        t = read(paths["dexcom"], ["Timestamp (YYYY-MM-DDThh:mm:ss)", "Event Type",
                                   "Glucose Value (mg/dL)"])  # fmt: skip
        t = t.filter(pc.equal(t["Event Type"], "EGV"))
        return (pc.strptime(t[0], "%Y-%m-%dT%H:%M:%S", "s"), glucose(t[2]))

    def libre(name, fmt, unit):
        def run():
            cols = ["Device Timestamp", "Record Type", f"Historic Glucose {unit}"]
            t = read(paths[name], cols, skip=1)
            t = t.filter(pc.equal(t["Record Type"], "0"))
            return (pc.strptime(t[0], fmt, "s"), glucose(t[2]))

        return run

    text = paths["carelink"].read_text().split("\n")
    sensor = [i for i, ln in enumerate(text) if "Sensor;" in ln][0] + 1

    def carelink():
        t = read(paths["carelink"], ["Date", "Time", "Sensor Glucose (mg/dL)"], sensor, ";")
        t = t.filter(pc.not_equal(t[2], ""))
        when = pc.binary_join_element_wise(t[0], t[1], " ")
        g = pc.cast(pc.replace_substring(t[2], ",", "."), pa.float64())
        return (pc.strptime(when, "%Y/%m/%d %H:%M:%S", "s"), g)

    def generic():
        t = read(paths["generic"], ["id", "time", "Glucose (mg/dL)"])
        return (t[0], pc.strptime(t[1], "%Y-%m-%d %H:%M:%S", "s"), glucose(t[2]))

    def nightscout():
        docs = json.loads(paths["nightscout_json"].read_text())
        sgv = [d for d in docs if d.get("type") == "sgv"]
        return (np.array([d["date"] for d in sgv]), np.array([d["sgv"] for d in sgv], float))

    def activity():
        t = pv.read_csv(paths["activity_log"], read_options=pv.ReadOptions(skip_rows=1),
                        convert_options=pv.ConvertOptions(strings_can_be_null=False,
                        column_types={"start": pa.string(), "end": pa.string()}))  # fmt: skip
        return (pc.strptime(t["start"], "%Y-%m-%d %H:%M", "s"), t["kind"])

    return {
        "dexcom": dexcom,
        "libreview_15min": libre("libreview_15min", "%d-%m-%Y %H:%M", "mmol/L"),
        "libreview_us_5min": libre("libreview_us_5min", "%m-%d-%Y %I:%M %p", "mg/dL"),
        "carelink": carelink,
        "generic": generic,
        "nightscout_json": nightscout,
        "activity_log": activity,
    }


#: rounds of the issue-14 table (reader and floor interleaved)
FLOOR_ROUNDS = 7
#: days of each generated file (the activity log: 16 days, 64 rows, as a person's log)
FLOOR_DAYS = {"activity_log": 16}


def bench_floors(tmp: Path, rounds: int = FLOOR_ROUNDS) -> list[tuple[str, str, str, str]]:
    """Each reader of issue 14 against its pyarrow floor on a generated one-year file:
    ``(format, reader s, floor s, ratio)``, medians of interleaved rounds (the ratio is the
    median of the per-round ratios). Also ``Recording.subjects`` against ``pandas.unique``."""
    import pandas as pd

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import soleus_analysis as sa
    from tests import reader_files as R

    folder = tmp / "floors"
    folder.mkdir()
    paths = {}
    for name, (writer, _) in R.WRITERS.items():
        ext = ".json" if name == "nightscout_json" else ".csv"
        paths[name] = writer(folder / f"{name}{ext}", FLOOR_DAYS.get(name, 365))
    floors = _floors(paths)
    out = []
    for name, path in paths.items():
        rec = sa.read_cgm(path)
        floors[name]()
        t_r, t_f = [], []
        for _ in range(rounds):
            t_f.append(time_median(floors[name], repeats=1))
            t_r.append(time_median(lambda p=path: sa.read_cgm(p), repeats=1))
        ratio = statistics.median(r / f for r, f in zip(t_r, t_f, strict=True))
        rows = len(rec.readings) or len(rec.events)
        label = f"{name} ({rows:,} rows, {path.stat().st_size / 1e6:.1f} MB)"
        out.append((label, _s(statistics.median(t_r)), _s(statistics.median(t_f)), f"{ratio:.1f}x"))
        record("bench_readers.py", f"read_cgm: {label}", _s(statistics.median(t_r)),
               f"pyarrow floor {_s(statistics.median(t_f))}", ratio, "<= 2x", ratio <= 2)  # fmt: skip
    rec = sa.read_cgm(paths["dexcom"])
    t_r, t_f = [], []
    for _ in range(rounds):
        t_f.append(time_median(lambda: pd.unique(rec.readings["subject"]), repeats=1))
        t_r.append(time_median(lambda: rec.subjects, repeats=1))
    ratio = statistics.median(r / f for r, f in zip(t_r, t_f, strict=True))
    out.append(("Recording.subjects (105k readings)", _s(statistics.median(t_r)),
                _s(statistics.median(t_f)) + " (pandas.unique)", f"{ratio:.1f}x"))  # fmt: skip
    record("bench_readers.py", "Recording.subjects (105k readings)", _s(statistics.median(t_r)),
           f"pandas.unique {_s(statistics.median(t_f))}", ratio, "<= 2x", ratio <= 2)  # fmt: skip
    return out


def _s(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def print_floor_table(rows: list[tuple[str, str, str, str]]) -> None:
    """Print the issue-14 table: reader, its time, the floor's time, the ratio."""
    head = ("reader (generated one-year file)", "reader", "pyarrow floor", "ratio")
    w = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]
    for r in [head, tuple("-" * x for x in w), *rows]:
        print("  ".join(c.ljust(x) for c, x in zip(r, w, strict=True)))


def main(argv: list[str] | None = None) -> None:
    """Run the benchmarks and print a table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--apple-mb", type=float, default=1000, help="size of the Apple export (MB)")
    ap.add_argument("--skip-apple", action="store_true")
    ap.add_argument("--skip-dexcom", action="store_true")
    ap.add_argument("--skip-new", action="store_true", help="skip the issue-12 formats")
    ap.add_argument(
        "--floors-only", action="store_true", help="only the issue-14 table (readers vs floors)"
    )
    args = ap.parse_args(argv)
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="soleus_bench_") as d:
        tmp = Path(d)
        print_floor_table(bench_floors(tmp))
        if args.floors_only:
            return
        print()
        if not args.skip_dexcom:
            rows += bench_dexcom(tmp)
        if not args.skip_apple:
            rows += bench_apple(tmp, args.apple_mb)
        if not args.skip_new:
            rows += bench_new_formats(tmp)
    print_table(rows)


if __name__ == "__main__":
    main()

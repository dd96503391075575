"""Apple Health export.xml at disk speed (issue 14): MB/s and peak memory against a byte-level floor.

Usage::

    .venv/bin/python benchmarks/bench_apple.py                  # 1 GB export, 3 rounds
    .venv/bin/python benchmarks/bench_apple.py --mb 200 --rounds 1
    .venv/bin/python benchmarks/bench_apple.py --expat --zip      # also the expat engine, export.zip
    .venv/bin/python benchmarks/bench_apple.py --file export.xml  # an export of your own
    .venv/bin/python benchmarks/bench_apple.py --baseline /work/main  # before/after, same rounds

A synthetic ``export.xml`` of about ``--mb`` MB is generated into a temporary folder, written as
the Health app writes it: mostly heart-rate records (one a minute, each with a metadata entry),
a blood-glucose record every 5 minutes, three carbohydrate records and one workout a day. Each
measure runs in a fresh interpreter, in interleaved rounds (medians reported):

- ``read_apple_health`` (the fast engine): seconds, MB/s, peak RSS of the process (``VmHWM``);
- the floor: a byte-level scan of the same file that only counts the glucose records
  (``bytes.count`` over 8 MB reads), no parsing, no checks;
- with ``--expat``, the reference engine (the whole file through expat), for comparison;
- with ``--baseline DIR``, ``read_apple_health`` of another checkout (its ``soleus_analysis``
  imported first), e.g. the main branch: before and after measured in the same rounds.

Targets: >= 200 MB/s on the 1 GB export with peak memory < 200 MB; the ratio to the floor is
printed. Not run by the tests.
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
import zipfile
from pathlib import Path

from bench_readers import print_table  # the scripts run from benchmarks/, side by side
from tables import record

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE HealthData [
<!-- HealthKit Export Version: 14 -->
<!ELEMENT HealthData (ExportDate,Me,(Record|Correlation|Workout|ActivitySummary)*)>
<!ATTLIST HealthData
  locale CDATA #REQUIRED
>
<!ELEMENT Record ((MetadataEntry)*)>
<!ATTLIST Record
  type          CDATA #REQUIRED
  unit          CDATA #IMPLIED
  value         CDATA #IMPLIED
  sourceName    CDATA #REQUIRED
  sourceVersion CDATA #IMPLIED
  device        CDATA #IMPLIED
  creationDate  CDATA #IMPLIED
  startDate     CDATA #REQUIRED
  endDate       CDATA #REQUIRED
>
]>
<HealthData locale="en_GB">
 <ExportDate value="2025-01-01 00:00:00 +0000"/>
 <Me HKCharacteristicTypeIdentifierDateOfBirth="" HKCharacteristicTypeIdentifierBiologicalSex="HKBiologicalSexNotSet"/>
"""
DEVICE = (
    "&lt;&lt;HKDevice: 0x283e1a3f0&gt;, name:Apple Watch, manufacturer:Apple Inc., "
    "model:Watch, hardware:Watch6,2, software:9.1&gt;"
)


def write_export(path: Path, megabytes: float) -> dict[str, int]:
    """Stream a synthetic export.xml of about ``megabytes`` MB; return what it holds."""
    target = int(megabytes * 1e6)
    counts = {"heart_rate": 0, "glucose": 0, "carbs": 0, "workouts": 0}
    t0 = dt.datetime(2020, 1, 1)
    minute = 0
    written = 0
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(HEAD)
        while written < target:
            parts = []
            for _ in range(1440):  # one day a block
                d = f"{t0 + dt.timedelta(minutes=minute):%Y-%m-%d %H:%M:%S} +0100"
                parts.append(
                    f' <Record type="HKQuantityTypeIdentifierHeartRate" sourceName="Watch" '
                    f'sourceVersion="9.1" device="{DEVICE}" unit="count/min" creationDate="{d}" '
                    f'startDate="{d}" endDate="{d}" value="{60 + minute % 40}">\n'
                    '  <MetadataEntry key="HKMetadataKeyHeartRateMotionContext" value="0"/>\n'
                    " </Record>\n"
                )
                counts["heart_rate"] += 1
                if minute % 5 == 0:
                    parts.append(
                        f' <Record type="HKQuantityTypeIdentifierBloodGlucose" sourceName="Dexcom" '
                        f'sourceVersion="1.0" unit="mg/dL" creationDate="{d}" startDate="{d}" '
                        f'endDate="{d}" value="{90 + minute % 60}"/>\n'
                    )
                    counts["glucose"] += 1
                if minute % 1440 in (480, 780, 1140):
                    parts.append(
                        f' <Record type="HKQuantityTypeIdentifierDietaryCarbohydrates" '
                        f'sourceName="Food" unit="g" creationDate="{d}" startDate="{d}" '
                        f'endDate="{d}" value="{30 + minute % 50}"/>\n'
                    )
                    counts["carbs"] += 1
                if minute % 1440 == 1020:
                    e = f"{t0 + dt.timedelta(minutes=minute + 30):%Y-%m-%d %H:%M:%S} +0100"
                    parts.append(
                        f' <Workout workoutActivityType="HKWorkoutActivityTypeWalking" '
                        f'duration="30" durationUnit="min" sourceName="Watch" startDate="{d}" '
                        f'endDate="{e}">\n  <MetadataEntry key="HKIndoorWorkout" value="0"/>\n'
                        f'  <WorkoutStatistics type="HKQuantityTypeIdentifierActiveEnergyBurned" '
                        f'startDate="{d}" endDate="{e}" sum="90" unit="Cal"/>\n </Workout>\n'
                    )
                    counts["workouts"] += 1
                minute += 1
            block = "".join(parts)
            fh.write(block)
            written += len(block)
        fh.write("</HealthData>\n")
    return counts


_CHILD = """
import json, sys, time

def status(key):
    for ln in open("/proc/self/status"):
        if ln.startswith(key):
            return int(ln.split()[1])
    return -1

what, path = sys.argv[1], sys.argv[2]
if len(sys.argv) > 3:  # another checkout's package, imported instead of this one
    sys.path.insert(0, sys.argv[3])
if what == "floor":
    before = status("VmRSS")
    t0, c0 = time.perf_counter(), time.process_time()
    n, tail = 0, b""
    tag = b'<Record type="HKQuantityTypeIdentifierBloodGlucose"'
    with open(path, "rb") as fh:
        while data := fh.read(1 << 23):
            data = tail + data  # a tag cut between two reads is counted once
            n += data.count(tag)
            tail = data[-(len(tag) - 1):]
    out = {"glucose": n}
else:
    from soleus_analysis.io.apple_health import read_apple_health
    before = status("VmRSS")
    t0, c0 = time.perf_counter(), time.process_time()
    rec = read_apple_health(path, engine=what)
    out = {"glucose": len(rec.readings), "events": len(rec.events),
           "rows_read": rec.provenance.rows_read}
out.update(seconds=time.perf_counter() - t0, cpu=time.process_time() - c0,
           rss_before_kb=before, peak_kb=status("VmHWM"))
print(json.dumps(out))
"""


def run_child(what: str, path: Path, checkout: Path | None = None) -> dict:
    """Run one measure in a fresh interpreter (``checkout``: the folder whose
    ``soleus_analysis`` is imported, default this one); return its figures."""
    extra = [str(checkout)] if checkout else []
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, what, str(path), *extra],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"{what} failed: " + out.stderr.strip().splitlines()[-1])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    """Generate the export, run the measures in interleaved rounds, print a table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mb", type=float, default=1000, help="size of the generated export (MB)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (medians)")
    ap.add_argument("--expat", action="store_true", help="also time the expat engine (slow)")
    ap.add_argument("--zip", action="store_true", help="also read the export as export.zip")
    ap.add_argument("--file", type=Path, help="an existing export.xml instead of a generated one")
    ap.add_argument(
        "--baseline", type=Path, help="also time read_apple_health of this checkout (same rounds)"
    )
    args = ap.parse_args(argv)
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="soleus_bench_apple_") as d:
        if args.file:
            xml = args.file
            rows.append(("export.xml", f"{xml} ({xml.stat().st_size / 1e6:,.0f} MB)"))
        else:
            xml = Path(d) / "export.xml"
            t0 = time.perf_counter()
            c = write_export(xml, args.mb)
            rows.append(
                (
                    "export.xml (generated)",
                    f"{xml.stat().st_size / 1e6:,.0f} MB in {time.perf_counter() - t0:.0f} s: "
                    f"{c['heart_rate']:,} heart rate, {c['glucose']:,} glucose, "
                    f"{c['carbs']:,} carbs, {c['workouts']:,} workouts",
                )
            )
        mb = xml.stat().st_size / 1e6
        measures = ["floor", "fast"] + (["expat"] if args.expat else [])
        runs: dict[str, list[dict]] = {m: [] for m in measures}
        if args.baseline:
            runs["baseline"] = []
        for _ in range(args.rounds):
            for m in measures:
                runs[m].append(run_child(m, xml))
            if args.baseline:
                runs["baseline"].append(run_child("fast", xml, args.baseline))
        if args.zip:
            z = Path(d) / "export.zip"
            with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
                zf.write(xml, "apple_health_export/export.xml")
            runs["fast, export.zip"] = [run_child("fast", z)]
    med = {m: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for m, rs in runs.items()}
    floor = med["floor"]
    for m, r in med.items():
        label = {
            "floor": "floor (count glucose bytes)",
            "fast": "read_apple_health",
            "baseline": f"baseline {args.baseline}",
        }.get(m, m)
        rows.append(
            (
                f"{label}: time",
                f"{r['seconds']:.2f} s = {mb / r['seconds']:,.0f} MB/s "
                f"(CPU {r['cpu']:.2f} s = {mb / r['cpu']:,.0f} MB/s)",
            )
        )
        rows.append(
            (
                f"{label}: peak RSS",
                f"{r['peak_kb'] / 1024:.0f} MB (before the read {r['rss_before_kb'] / 1024:.0f} MB)",
            )
        )
        if m != "floor":
            rows.append(
                (
                    f"{label}: glucose / events",
                    f"{r['glucose']:,.0f} / {r['events']:,.0f} "
                    f"(floor counted {floor['glucose']:,.0f} glucose)",
                )
            )
            rows.append(
                (
                    f"{label}: ratio to the floor",
                    f"{r['seconds'] / floor['seconds']:.1f}x wall, {r['cpu'] / floor['cpu']:.1f}x CPU",
                )
            )
    fast = med["fast"]
    big = mb >= 900  # the targets are for a 1 GB export
    where = f"generated {mb:,.0f} MB export.xml" if not args.file else f"{mb:,.0f} MB export.xml"
    record("bench_apple.py", f"read_apple_health, {where}: throughput (wall; CPU)",
           f"{mb / fast['seconds']:,.0f} MB/s; {mb / fast['cpu']:,.0f} MB/s",
           f"byte scan of the glucose records {mb / floor['seconds']:,.0f} MB/s",
           fast["seconds"] / floor["seconds"], ">= 200 MB/s (1 GB)",
           mb / fast["seconds"] >= 200 if big else None)  # fmt: skip
    record("bench_apple.py", f"read_apple_health, {where}: peak RSS",
           f"{fast['peak_kb'] / 1024:.0f} MB", f"floor {floor['peak_kb'] / 1024:.0f} MB", None,
           "< 200 MB (1 GB)", fast["peak_kb"] / 1024 < 200 if big else None)  # fmt: skip
    rows.append(
        (
            "targets (1 GB)",
            f">= 200 MB/s: {mb / fast['seconds']:,.0f} MB/s; peak < 200 MB: "
            f"{fast['peak_kb'] / 1024:.0f} MB ({args.rounds} round(s), medians)",
        )
    )
    print_table(rows)


if __name__ == "__main__":
    main()

"""Apple Health memory with many distinct record types, and the export.zip path.

Usage::

    .venv/bin/python benchmarks/bench_apple_types.py                  # 1.5 M distinct types
    .venv/bin/python benchmarks/bench_apple_types.py --types 200000   # smaller
    .venv/bin/python benchmarks/bench_apple_types.py --zip            # also read it as export.zip

An ``export.xml`` whose ``Record`` elements each carry a different ``type`` (a hostile or
corrupted export: real ones hold a few hundred types) is generated into a temporary folder and
read by ``read_apple_health`` in a fresh process. The process's resident memory (``VmRSS``)
just before the read and its peak (``VmHWM``) after it are reported, so the figure is the
memory the read itself added. With ``--zip`` the same file is zipped the way the Health app
writes it (``apple_health_export/export.xml``) and read from the zip. Not run by the tests.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from bench_readers import print_table  # the scripts run from benchmarks/, side by side

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE HealthData [
<!ELEMENT HealthData (ExportDate,Me,(Record|Correlation|Workout|ActivitySummary)*)>
]>
<HealthData locale="en_GB">
 <ExportDate value="2025-01-01 00:00:00 +0000"/>
"""


def write_types(path: Path, n_types: int, glucose_every: int = 1000) -> dict[str, int]:
    """Write an export with ``n_types`` records of distinct types (and some glucose records)."""
    counts = {"distinct": 0, "glucose": 0}
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(HEAD)
        for start in range(0, n_types, 10_000):
            parts = []
            for i in range(start, min(start + 10_000, n_types)):
                d = f"2024-01-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}:00 +0100"
                parts.append(
                    f' <Record type="HKQuantityTypeIdentifierCustom{i:09d}" sourceName="App" '
                    f'unit="count" startDate="{d}" endDate="{d}" value="1"/>\n'
                )
                counts["distinct"] += 1
                if i % glucose_every == 0:
                    parts.append(
                        f' <Record type="HKQuantityTypeIdentifierBloodGlucose" sourceName="CGM" '
                        f'unit="mg/dL" startDate="{d}" endDate="{d}" value="{90 + i % 60}"/>\n'
                    )
                    counts["glucose"] += 1
            fh.write("".join(parts))
        fh.write("</HealthData>\n")
    return counts


_CHILD = """
import json, sys, time
from soleus_analysis.io.apple_health import read_apple_health

def status(key):
    for ln in open("/proc/self/status"):
        if ln.startswith(key):
            return int(ln.split()[1])
    return -1

before = status("VmRSS")
t0 = time.perf_counter()
rec = read_apple_health(sys.argv[1])
dt = time.perf_counter() - t0
print(json.dumps({"seconds": dt, "rss_before_kb": before, "peak_kb": status("VmHWM"),
                  "readings": len(rec.readings), "rows_read": rec.provenance.rows_read}))
"""


def read_in_child(path: Path) -> dict:
    """Read ``path`` in a fresh interpreter; return its timing and memory figures."""
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path)], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise SystemExit("read failed: " + out.stderr.strip().splitlines()[-1])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print a table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--types", type=int, default=1_500_000, help="distinct record types")
    ap.add_argument("--zip", action="store_true", help="also read the file as export.zip")
    args = ap.parse_args(argv)
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="soleus_bench_") as d:
        xml = Path(d) / "export.xml"
        t0 = time.perf_counter()
        counts = write_types(xml, args.types)
        rows.append(
            (
                "export.xml",
                f"{xml.stat().st_size / 1e6:,.0f} MB, {counts['distinct']:,} distinct types, "
                f"{counts['glucose']:,} glucose (generated in {time.perf_counter() - t0:.0f} s)",
            )
        )
        targets = [("export.xml", xml)]
        if args.zip:
            z = Path(d) / "export.zip"
            with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
                zf.write(xml, "apple_health_export/export.xml")
            targets.append(("export.zip", z))
        for name, path in targets:
            res = read_in_child(path)
            before, peak = res["rss_before_kb"] / 1024, res["peak_kb"] / 1024
            rows += [
                (f"{name}: read time", f"{res['seconds']:.1f} s"),
                (
                    f"{name}: RSS before / peak",
                    f"{before:.0f} MB / {peak:.0f} MB (the read added {peak - before:.0f} MB)",
                ),
                (f"{name}: readings / rows", f"{res['readings']:,} / {res['rows_read']:,}"),
            ]
    print_table(rows)


if __name__ == "__main__":
    main()

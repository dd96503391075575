"""The readers' outputs frozen before the speed work of issue 14, and their comparison.

``tests/test_reader_equivalence.py`` reads every case below with today's readers and compares
the result with the golden written by the previous implementation (numbers within a tolerance,
times and text exactly, never bytes). The cases:

- every fixture under ``tests/fixtures`` (Apple Health excepted: its reader is not a CSV/JSON
  reader), read as it is (LibreView also with ``include_scans=True``);
- a few days of each generated format (``tests/reader_files.py``);
- seeded mutants of each of those (``tests/fuzz.py``: stray quotes, NULs, ragged rows, dates
  out of range, truncation, re-encodings, ...), each a recording or an ``InputError`` whose
  message must stay the same.

Rewrite the goldens only from code whose outputs are the reference (the readers before a
change)::

    .venv/bin/python -m tests.golden_readers --write
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import math
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures"
GOLDEN = ROOT / "tests" / "golden_readers"
#: mutants of each fixture and generated file
MUTANTS = 8
#: days of each generated file
DAYS = 3
#: relative and absolute tolerance of numbers
RTOL = ATOL = 1e-9


# ------------------------------------------------------------------------------ the cases
def _fixtures() -> list[Path]:
    out = []
    for p in sorted(FIX.rglob("*")):
        if not p.is_file() or p.suffix == ".md":
            continue
        rel = p.relative_to(FIX).as_posix()
        if rel.startswith("apple/") or rel.endswith(".xml"):
            continue
        out.append(p)
    return out


def cases(tmp: Path) -> Iterator[tuple[str, Path, dict]]:
    """``(name, path, options)`` of every case; mutants and generated files written in ``tmp``."""
    from tests import fuzz
    from tests import reader_files as R

    sources = [(p.relative_to(FIX).as_posix(), p) for p in _fixtures()]
    gen = R.write_all(tmp / "generated", DAYS)
    sources += [(f"generated/{k}", p) for k, p in gen.items()]
    for name, path in sources:
        yield name, path, {}
        if "libreview" in name and path.suffix == ".csv":
            yield name + "[include_scans]", path, {"include_scans": True}
    for j, (name, path) in enumerate(sources):
        data = path.read_bytes()
        kind = fuzz._kind(path, data)
        if kind in ("zip", "xml") or path.suffix == ".xlsx":
            continue
        for k in range(MUTANTS):
            seed = 14_000 + 100 * j + k
            rng = np.random.default_rng(seed)  # the operation drawn first, as mutate draws it
            m = fuzz.mutate(data, rng, kind, str(rng.choice(fuzz.GOLDEN_OPERATIONS)))
            folder = tmp / "mutants" / f"{j}_{k}"
            folder.mkdir(parents=True, exist_ok=True)
            out = folder / ("mutant" + path.suffix)
            out.write_bytes(m.data)
            yield f"mutant/{name}/{seed}/{m.op}", out, {"_sha": hashlib.sha256(m.data).hexdigest()}


# ------------------------------------------------------------------------------ reading
def _column(s: pd.Series) -> dict:
    dtype = str(s.dtype)
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        v = s.to_numpy(dtype="datetime64[ns]").view("i8")
        vals = [None if x == np.iinfo("i8").min else int(x) for x in v.tolist()]
    elif pd.api.types.is_timedelta64_dtype(s.dtype):
        v = s.to_numpy(dtype="timedelta64[ns]").view("i8")
        vals = [None if x == np.iinfo("i8").min else int(x) for x in v.tolist()]
    elif pd.api.types.is_float_dtype(s.dtype):
        vals = [None if math.isnan(x) else x for x in s.to_numpy(dtype="float64").tolist()]
    elif pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_integer_dtype(s.dtype):
        vals = [None if pd.isna(x) else x for x in s.astype(object).tolist()]
        vals = [int(x) if isinstance(x, (int, np.integer)) else x for x in vals]
    else:
        vals = []
        for x in s.astype(object).tolist():
            if x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NaT:
                vals.append(None)
            elif isinstance(x, (bool, np.bool_)):
                vals.append(bool(x))
            elif isinstance(x, (int, np.integer)):
                vals.append(int(x))
            elif isinstance(x, (float, np.floating)):
                vals.append(float(x))
            elif x is pd.NA:
                vals.append(None)
            else:
                vals.append(str(x))
    return {"dtype": dtype, "values": vals}


def frame(df: pd.DataFrame) -> dict:
    """A frame as JSON-able columns (times as int64 ns; NaN/NaT as None)."""
    return {
        "columns": [str(c) for c in df.columns],
        "index": [int(i) for i in df.index]
        if df.index.dtype.kind == "i"
        else list(map(str, df.index)),
        "data": {str(c): _column(df[c]) for c in df.columns},
    }


def _clean(text: str, path: Path) -> str:
    return text.replace(str(path), "<file>").replace(path.name, "<name>")


def read_case(path: Path, options: dict) -> dict:
    """One case's outcome: the recording (or lab table) or the ``InputError`` message."""
    import soleus_analysis as sa

    opts = {k: v for k, v in options.items() if not k.startswith("_")}
    try:
        fmt = sa.detect_format(path)
    except sa.InputError as err:
        return {"error": _clean(str(err), path), "stage": "detect"}
    try:
        if fmt == "lab_ogtt":
            lab = sa.read_lab(path)
            prov, parts = lab.provenance, {"samples": frame(lab.samples)}
        else:
            kw = {"units": "mg/dL", **opts}
            rec = sa.read_cgm(path, format=fmt, only_accepted_options=True, **kw)
            prov = rec.provenance
            parts = {"readings": frame(rec.readings), "events": frame(rec.events)}
            parts["subjects"] = list(rec.subjects)
    except sa.InputError as err:
        return {"format": fmt, "error": _clean(str(err), path)}
    meta = json.loads(json.dumps(prov.metadata, default=str, sort_keys=True))
    return {
        "format": fmt,
        "provenance": {
            "format": prov.format,
            "units": prov.units,
            "rows_read": prov.rows_read,
            "rows_kept": prov.rows_kept,
            "rows_dropped": dict(sorted(prov.rows_dropped.items())),
            "warnings": [_clean(w, path) for w in prov.warnings],
            "metadata": _clean(json.dumps(meta, sort_keys=True), path),
        },
        **parts,
    }


def build() -> dict[str, dict]:
    """Every case's outcome with the readers as they are now."""
    out = {}
    with tempfile.TemporaryDirectory(prefix="golden_readers_") as d:
        for name, path, options in cases(Path(d)):
            res = read_case(path, options)
            if "_sha" in options:
                res["mutant_sha256"] = options["_sha"]
            out[name] = res
    return out


# ------------------------------------------------------------------------------ comparing
def _same_column(a: dict, b: dict) -> str | None:
    if a["dtype"] != b["dtype"]:
        return f"dtype {a['dtype']} != {b['dtype']}"
    va, vb = a["values"], b["values"]
    if len(va) != len(vb):
        return f"{len(va)} != {len(vb)} values"
    if a["dtype"].startswith("float"):
        x = np.array([np.nan if v is None else v for v in va], dtype="float64")
        y = np.array([np.nan if v is None else v for v in vb], dtype="float64")
        ok = np.isclose(x, y, rtol=RTOL, atol=ATOL, equal_nan=True) | (x == y)
        if not ok.all():
            i = int(np.flatnonzero(~ok)[0])
            return f"row {i}: {x[i]!r} != {y[i]!r}"
        return None
    for i, (p, q) in enumerate(zip(va, vb, strict=True)):
        if p != q and not (
            isinstance(p, float)
            and isinstance(q, float)
            and math.isclose(p, q, rel_tol=RTOL, abs_tol=ATOL)
        ):
            return f"row {i}: {p!r} != {q!r}"
    return None


def differences(want: dict, got: dict) -> list[str]:
    """What differs between a golden outcome and a new one (empty: the same)."""
    out = []
    for key in sorted(set(want) | set(got)):
        if key == "mutant_sha256":
            continue
        a, b = want.get(key), got.get(key)
        if isinstance(a, dict) and isinstance(b, dict) and "columns" in a:
            if a["columns"] != b["columns"]:
                out.append(f"{key}: columns {a['columns']} != {b['columns']}")
                continue
            if a["index"] != b["index"]:
                out.append(f"{key}: index differs")
            for c in a["columns"]:
                d = _same_column(a["data"][c], b["data"][c])
                if d:
                    out.append(f"{key}.{c}: {d}")
        elif a != b:
            out.append(f"{key}: {a!r:.300} != {b!r:.300}")
    return out


def golden_path() -> Path:
    return GOLDEN / "outcomes.json.gz"


def load() -> dict[str, dict]:
    with gzip.open(golden_path(), "rt", encoding="utf-8") as fh:
        return json.load(fh)


def write(outcomes: dict[str, dict]) -> Path:
    GOLDEN.mkdir(parents=True, exist_ok=True)
    p = golden_path()
    with gzip.GzipFile(p, "wb", mtime=0) as fh:
        fh.write(json.dumps(outcomes, sort_keys=True, separators=(",", ":")).encode("utf-8"))
    return p


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="write or check the readers' goldens")
    ap.add_argument("--write", action="store_true", help="write the goldens from the readers now")
    args = ap.parse_args(argv)
    outcomes = build()
    if args.write:
        p = write(outcomes)
        print(f"{len(outcomes)} cases written to {p} ({p.stat().st_size / 1e6:.1f} MB)")
        return 0
    want = load()
    bad = {k: differences(want[k], outcomes.get(k, {})) for k in want}
    bad = {k: v for k, v in bad.items() if v}
    for k, v in bad.items():
        print(k, v[:3])
    print(f"{len(want)} cases, {len(bad)} differ")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())

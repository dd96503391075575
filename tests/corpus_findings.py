"""Run the ``soleus`` command over the corpus (``tests/corpus.py``) and report what happens.

Not a test (pytest does not collect it): a script that writes the corpus into a temporary folder,
runs ``inspect`` on every file, ``report`` and ``analyze`` on every CGM file and on combinations of
files, and records for each run the exit code, the one-line message, whether the counts match the
corpus's expected counts, and every place a personal string (first or last name, date of birth,
serial, the file's name) shows up: stdout/stderr, the tables written by ``analyze``, and the PDF
(text extracted with pypdf, the raw bytes, the decompressed streams and the metadata).

Each CGM run is repeated with the file copied to a neutral name (``neutral.<ext>``), which tells
whether a name in the output came from the file name or from the file's content.

    .venv/bin/python tests/corpus_findings.py --json findings.json
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import PERSONAL, CorpusFile, write_corpus

SOLEUS = Path(sys.executable).with_name("soleus")


def _needles(personal: dict, names: list[str]) -> dict[str, list[str]]:
    y, m, d = personal["dob"].split("-")
    out = {
        "first": [personal["first"]],
        "last": [personal["last"]],
        "dob": [personal["dob"], f"{d}.{m}.{y}", f"{m}/{d}/{y}", f"{d}/{m}/{y}", f"{y}{m}{d}"],
        "serial": [personal["serial"]],
    }
    for n in names:
        out.setdefault("file name", []).append(Path(n).stem)
    return out


def _find(text: str, needles: dict[str, list[str]]) -> set[str]:
    low = text.lower()
    return {k for k, vs in needles.items() if any(v.lower() in low for v in vs)}


def _pdf_hits(pdf: Path, needles: dict[str, list[str]]) -> dict[str, set[str]]:
    from pypdf import PdfReader

    hits: dict[str, set[str]] = {}
    raw = pdf.read_bytes()
    hits["pdf bytes"] = _find(raw.decode("latin-1"), needles)
    streams = []
    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", raw, re.S):
        try:
            streams.append(zlib.decompress(m.group(1)).decode("latin-1"))
        except zlib.error:
            streams.append(m.group(1).decode("latin-1"))
    hits["pdf streams"] = _find("\n".join(streams), needles)
    reader = PdfReader(str(pdf))
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    hits["pdf text"] = _find(text, needles)
    meta = reader.metadata or {}
    hits["pdf metadata"] = _find(" ".join(f"{k}={v}" for k, v in meta.items()), needles)
    return {k: v for k, v in hits.items() if v}


def _table_hits(folder: Path, needles: dict[str, list[str]]) -> dict[str, set[str]]:
    hits = {}
    for p in sorted(folder.rglob("*")):
        if not p.is_file():
            continue
        if p.suffix == ".parquet":
            import pandas as pd

            df = pd.read_parquet(p)
            text = df.to_csv(index=False) + " ".join(map(str, df.columns))
            text += p.read_bytes().decode("latin-1")
        else:
            text = p.read_bytes().decode("utf-8", "replace")
        found = _find(text, needles)
        if found:
            hits[p.name] = found
    return hits


def _message(stdout: str, stderr: str) -> str:
    for stream in (stderr, stdout):
        lines = [ln.strip() for ln in stream.splitlines() if ln.strip()]
        if lines:
            return lines[-1][:300]
    return ""


_KINDS = re.compile(r"^\s*events\s+(\d+)(?:\s+\((.*)\))?", re.M)
_READ = re.compile(r"^\s*readings\s+(\d+)", re.M)


def _inspect_counts(stdout: str) -> dict[str, int]:
    out = {"readings": 0}
    m = _READ.search(stdout)
    if m:
        out["readings"] = int(m.group(1))
    m = _KINDS.search(stdout)
    if m and m.group(2):
        for part in m.group(2).split(","):
            n, kind = part.strip().split(" ", 1)
            out[kind] = int(n)
    return out


def _expected(f: CorpusFile) -> dict[str, int]:
    return {
        "readings": f.n_readings,
        "meal": f.n_meals,
        "insulin": f.n_insulin,
        "exercise": f.n_exercise,
        "spu": f.n_spu,
    }


def _run(args: list[str], cwd: Path, needles, out_dir: Path | None, pdf: Path | None) -> dict:
    proc = subprocess.run(
        [str(SOLEUS), *args], cwd=cwd, capture_output=True, text=True, timeout=600
    )
    res = {
        "args": args,
        "rc": proc.returncode,
        "message": _message(proc.stdout, proc.stderr),
        "stdout": proc.stdout,
        "leaks": {},
    }
    std = _find(proc.stdout + proc.stderr, needles)
    if std:
        res["leaks"]["stdout/stderr"] = std
    if out_dir is not None and out_dir.exists():
        res["leaks"].update(_table_hits(out_dir, needles))
        res["outputs"] = sorted(p.name for p in out_dir.iterdir())
        meals = out_dir / "meals.csv"
        if meals.exists():
            import pandas as pd

            m = pd.read_csv(meals)
            res["meals_csv_rows"] = len(m)
            if "condition" in m.columns:
                res["conditions"] = m["condition"].value_counts().to_dict()
    if pdf is not None and pdf.exists():
        res["leaks"].update(_pdf_hits(pdf, needles))
        res["pdf_pages"] = len(__import__("pypdf").PdfReader(str(pdf)).pages)
    res["leaks"] = {k: sorted(v) for k, v in res["leaks"].items()}
    return res


def run_all(work: Path, seed: int = 0, jobs: int = 2) -> list[dict]:
    data = work / "corpus"
    files = write_corpus(data, seed)
    neutral_dir = work / "neutral"
    neutral_dir.mkdir(exist_ok=True)
    tasks = []
    n = 0

    def task(label, args, names, expect=None, units=False, kind="run"):
        nonlocal n
        n += 1
        out = work / f"o{n:03d}"
        pdf = work / f"r{n:03d}.pdf"
        a = list(args)
        if kind == "report":
            a += ["-o", str(pdf)]
        elif kind == "analyze":
            a += ["--out", str(out)]
        if units:
            a += ["--units", "mg/dL"]
        tasks.append((label, kind, a, names, expect, out, pdf))

    def p(f: CorpusFile) -> str:
        return str(f.path)

    for f in files:
        task(f.path.name, ["inspect", p(f)], [f.path.name], _expected(f), kind="inspect")
    for f in files:
        if f.kind != "cgm":
            continue
        units = f.format == "generic"
        nf = neutral_dir / f"neutral_{f.format}_{len(tasks)}{f.path.suffix}"
        shutil.copy(f.path, nf)
        for kind in ("report", "analyze"):
            task(f.path.name, [kind, "--cgm", p(f)], [f.path.name], units=units, kind=kind)
            task(
                f"{f.path.name} (as neutral name)",
                [kind, "--cgm", str(nf)],
                [f.path.name],
                units=units,
                kind=kind,
            )
        if units:
            task(
                f"{f.path.name} (no --units)",
                ["analyze", "--cgm", p(f)],
                [f.path.name],
                kind="analyze",
            )

    g6, g7, ins, lus, lde, cl, ah, nse, nst, gen = files[:10]
    log_same, log_other, cro_same, cro_other, mfp, crex = files[10:16]
    combos = [
        ("G6 + same-period activity log", [g6], [log_same]),
        ("G6 + other-period activity log", [g6], [log_other]),
        ("G6 + other-period Cronometer", [g6], [cro_other]),
        ("LibreView US + same-period Cronometer + MyFitnessPal", [lus], [cro_same, mfp]),
        ("LibreView DE + same-period activity log", [lde], [log_same]),
        ("CareLink + Cronometer exercises", [cl], [crex]),
        ("Apple Health + same-period activity log", [ah], [log_same]),
        ("Nightscout entries + treatments as --events", [nse], [nst]),
        ("G6 + G7 + insulin-only Dexcom as --cgm", [g6, g7, ins], []),
        ("activity log passed as --cgm", [log_same], []),
        ("Cronometer passed as --cgm", [cro_same], []),
        ("Nightscout treatments passed as --cgm", [nst], []),
        ("G6 as --cgm, G7 (CGM) passed as --events", [g6], [g7]),
        ("G7 as --cgm, LibreView US (CGM) passed as --events", [g7], [lus]),
    ]
    for label, cgms, events in combos:
        args = []
        for c in cgms:
            args += ["--cgm", p(c)]
        for e in events:
            args += ["--events", p(e)]
        names = [c.path.name for c in cgms + events]
        for kind in ("report", "analyze"):
            task(label, [kind, *args], names, kind=kind)
    for kind in ("report", "analyze"):
        task(
            "multi-person generic + --units",
            [kind, "--cgm", p(gen)],
            [gen.path.name],
            units=True,
            kind=kind,
        )

    def go(t):
        label, kind, args, names, expect, out, pdf = t
        needles = _needles(PERSONAL, names)
        res = _run(
            args,
            work,
            needles,
            out if kind == "analyze" else None,
            pdf if kind == "report" else None,
        )
        res["label"], res["kind"] = label, kind
        if expect is not None:
            got = _inspect_counts(res["stdout"])
            res["mismatch"] = {
                k: {"expected": v, "got": got.get(k, 0)}
                for k, v in expect.items()
                if got.get(k, 0) != v
            }
        return res

    with ThreadPoolExecutor(jobs) as ex:
        results = list(ex.map(go, tasks))
    return results


def _table(results: list[dict]) -> str:
    rows = [
        "| file / combination | command | rc | message | count mismatches | leaks |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        mm = r.get("mismatch")
        mm_s = (
            "; ".join(f"{k}: exp {v['expected']} got {v['got']}" for k, v in mm.items())
            if mm
            else ("-" if mm is None else "none")
        )
        if "meals_csv_rows" in r:
            mm_s = f"meals.csv rows {r['meals_csv_rows']} {r.get('conditions', {})}"
        leaks = "; ".join(f"{k}: {','.join(v)}" for k, v in r["leaks"].items()) or "none"
        msg = r["message"].replace("|", "\\|")
        rows.append(f"| {r['label']} | {r['kind']} | {r['rc']} | {msg} | {mm_s} | {leaks} |")
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = ap.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        results = run_all(args.keep, args.seed)
    else:
        with tempfile.TemporaryDirectory() as d:
            results = run_all(Path(d), args.seed)
    if args.json:
        slim = [{k: v for k, v in r.items() if k != "stdout"} for r in results]
        args.json.write_text(json.dumps(slim, indent=1, default=str), encoding="utf-8")
    print(_table(results))


if __name__ == "__main__":
    main()

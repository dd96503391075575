"""Run the per-person analysis over many people, on local processes or a Dask cluster.

The per-person job (:func:`run_person`) reads that person's files and returns their per-meal
table; :func:`run_cohort` maps it over people through an executor and pools the results with
:func:`soleus_analysis.pipeline.analyze_cohort`. One person's bad files are reported and
skipped; the run goes on. Results are sorted by subject, so they are the same whichever executor
ran them.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from .errors import InputError
from .pipeline import CohortAnalysis, analyze_cohort, person_meals

#: formats that hold events only (meal/activity logs)
LOG_FORMATS = frozenset({"activity_log", "cronometer", "cronometer_exercises", "myfitnesspal"})

_CGM_COLS = ("cgm", "cgm_path", "cgm_paths", "cgm_file", "cgm_files")
_EVENT_COLS = ("events", "events_path", "events_paths", "log", "logs", "events_file")
_LAB_COLS = ("lab", "lab_path", "lab_paths", "lab_file")


def _split_paths(cell: Any, base: Path) -> list[str]:
    if cell is None or (isinstance(cell, float) and cell != cell) or str(cell).strip() == "":
        return []
    return [str((base / p.strip()).resolve()) for p in str(cell).split(";") if p.strip()]


def read_manifest(path: str | os.PathLike) -> pd.DataFrame:
    """Read a manifest CSV naming each person's files.

    Columns: ``subject``, ``cgm`` (or ``cgm_path``) and optionally ``events`` (or
    ``events_path``) and ``lab`` (or ``lab_path``, a lab OGTT table); several files in one cell
    are separated by ``;``, an empty cell means none; paths are relative to the manifest's folder.
    A folder stands for its ``manifest.csv``. Returns ``subject``, ``cgm``, ``events`` and
    ``lab``, each a list of absolute paths.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "manifest.csv"
    if not path.is_file():
        raise InputError(
            "no manifest: expected a manifest CSV or a folder holding manifest.csv", path
        )
    try:
        m = pd.read_csv(path, dtype=str, comment="#")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the manifest as CSV ({exc})", path) from None
    cols = {c.strip().lower(): c for c in m.columns}
    cgm_col = next((cols[c] for c in _CGM_COLS if c in cols), None)
    if "subject" not in cols or cgm_col is None:
        raise InputError(
            f"manifest needs columns 'subject' and 'cgm' (found {list(m.columns)})", path, 1
        )
    base = path.parent

    def paths(names: tuple[str, ...]) -> list[list[str]]:
        col = next((cols[c] for c in names if c in cols), None)
        return [_split_paths(c, base) for c in m[col]] if col else [[] for _ in range(len(m))]

    out = pd.DataFrame(
        {
            "subject": m[cols["subject"]].astype(str).str.strip(),
            "cgm": [_split_paths(c, base) for c in m[cgm_col]],
            "events": paths(_EVENT_COLS),
            "lab": paths(_LAB_COLS),
        }
    )
    dup = out["subject"].duplicated()
    if dup.any():
        raise InputError(f"subject {out.loc[dup, 'subject'].iloc[0]!r} appears twice", path)
    return out


def discover_people(source: str | os.PathLike) -> pd.DataFrame:
    """People of a cohort from a manifest CSV, or a folder.

    A folder holding ``manifest.csv`` uses it; otherwise each sub-folder is one person (its CGM
    exports and logs are told apart by their sniffed format).
    """
    from .io import detect_format

    src = Path(source)
    if src.is_file():
        return read_manifest(src)
    if not src.is_dir():
        raise InputError("no such folder or manifest", src)
    if (src / "manifest.csv").exists():
        return read_manifest(src / "manifest.csv")
    rows = []
    for sub in sorted(p for p in src.iterdir() if p.is_dir() and not p.name.startswith(".")):
        cgm, events = [], []
        for f in sorted(p for p in sub.iterdir() if p.is_file() and not p.name.startswith(".")):
            try:
                fmt = detect_format(f)
            except InputError:
                fmt = "unknown"
            (events if fmt in LOG_FORMATS else cgm).append(str(f))
        rows.append({"subject": sub.name, "cgm": cgm, "events": events})
    if not rows:
        raise InputError("no manifest.csv and no per-person sub-folders found", src)
    return pd.DataFrame(rows)


def run_person(
    subject: str, cgm: list[str], events: list[str], rules: dict[str, Any]
) -> dict[str, Any]:
    """Read one person's files and compute their per-meal table (the job each worker runs).

    Returns a dict with ``subject``, ``meals``, ``curves``, ``coverage_pct``, ``sources``; or
    ``subject`` and ``error`` when their files cannot be read or analysed.
    """
    from .io import read_person
    from .metrics import glycemic_metrics

    try:
        if not cgm:
            raise InputError("no CGM export listed for this person")
        rec = read_person(cgm, events, subject)
        meals, curves = person_meals(rec, rules)
        cov = float(glycemic_metrics(rec.readings)["coverage_pct"].iloc[0])
        return {
            "subject": subject,
            "meals": meals,
            "curves": curves,
            "coverage_pct": cov,
            "sources": rec.sources,
        }
    except Exception as exc:  # one bad person never loses the whole run
        return {"subject": subject, "error": f"{type(exc).__name__}: {exc}"}


def _map_local(fn: Callable, jobs: list[tuple], workers: int | None, progress: bool) -> list[Any]:
    workers = workers or os.cpu_count() or 1
    if workers == 1:
        return [fn(*j) for j in tqdm(jobs, disable=not progress, desc="people")]
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as ex:
        futures = [ex.submit(fn, *j) for j in jobs]
        for _ in tqdm(
            as_completed(futures), total=len(futures), disable=not progress, desc="people"
        ):
            pass
        return [f.result() for f in futures]


def _map_dask(fn: Callable, jobs: list[tuple], scheduler: str, progress: bool) -> list[Any]:
    try:
        from distributed import Client
        from distributed import as_completed as dask_completed
    except ImportError as exc:  # pragma: no cover - optional dependency
        raise InputError(
            "--scheduler needs dask[distributed]: pip install 'soleus_analysis[dask]'"
        ) from exc
    with Client(scheduler) as client:
        futures = client.map(fn, *zip(*jobs, strict=True), pure=False)
        for _ in tqdm(
            dask_completed(futures), total=len(futures), disable=not progress, desc="people"
        ):
            pass
        return client.gather(futures)


def run_cohort(
    source: str | os.PathLike | pd.DataFrame,
    rules: dict[str, Any] | None = None,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: bool = True,
    seed: int = 0,
) -> CohortAnalysis:
    """Analyse every person of a cohort and pool them.

    Parameters
    ----------
    source : path or DataFrame
        A manifest CSV, a folder (see :func:`discover_people`), or a frame like
        :func:`read_manifest` returns.
    rules : dict, optional
        Options of :func:`soleus_analysis.align.meal_responses`.
    scheduler : str, optional
        Address of a Dask distributed scheduler (e.g. ``"tcp://10.0.0.5:8786"``); default: local
        processes.
    workers : int, optional
        Local processes (default: all cores).
    progress : bool
        Show a progress bar.
    seed : int
        Seed of the bootstrap.
    """
    people = source if isinstance(source, pd.DataFrame) else discover_people(source)
    jobs = [
        (r.subject, list(r.cgm), list(r.events), dict(rules or {})) for r in people.itertuples()
    ]
    if scheduler:
        results = _map_dask(run_person, jobs, scheduler, progress)
    else:
        results = _map_local(run_person, jobs, workers, progress)
    return pool_results(results, rules, seed=seed)


def pool_results(
    results: Iterable[dict[str, Any]], rules: dict[str, Any] | None = None, *, seed: int = 0
) -> CohortAnalysis:
    """Combine :func:`run_person` results (in any order) into a :class:`CohortAnalysis`."""
    results = sorted(results, key=lambda r: r["subject"])
    good = [r for r in results if "error" not in r]
    failed = pd.DataFrame(
        [{"subject": r["subject"], "error": r["error"]} for r in results if "error" in r],
        columns=["subject", "error"],
    )
    if not good:
        raise InputError(
            "no person's files could be analysed: " + "; ".join(failed["error"].head(3))
        )
    meals = pd.concat([r["meals"] for r in good], ignore_index=True)
    curves = pd.concat([r["curves"] for r in good], ignore_index=True)
    coverage = pd.DataFrame(
        {"subject": [r["subject"] for r in good], "coverage_pct": [r["coverage_pct"] for r in good]}
    )
    sources = [s for r in good for s in r["sources"]]
    return analyze_cohort(
        meals, curves, coverage=coverage, failed=failed, sources=sources, rules=rules, seed=seed
    )

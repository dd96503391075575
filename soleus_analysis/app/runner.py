"""Run the per-person analysis over many people, on local processes or a Dask cluster.

The per-person job (:func:`run_person`) reads that person's files and returns their per-meal
table; :func:`run_cohort` maps it over people through an executor and pools the results with
:func:`soleus_analysis.pipeline.analyze_cohort`. One person's bad files are reported and
skipped; the run goes on. Results are sorted by subject, so they are the same whichever executor
ran them.
"""

from __future__ import annotations

import csv
import io
import multiprocessing
import os
import re
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import pandas as pd

from ..core.errors import InputError, UsageError, describe
from ..core.recording import Recording
from ..core.rules import Rules
from ..io import LOG_FORMATS, detect_format, file_labels, read_cgm, read_person
from ..io.base import column_list
from ..io.encoding import read_text
from ..metrics import glycemic_metrics
from ..pipeline import CohortAnalysis, own_effects, person_meals, person_posterior, pool_people

_CGM_COLS = ("cgm", "cgm_path", "cgm_paths", "cgm_file", "cgm_files")
_EVENT_COLS = ("events", "events_path", "events_paths", "log", "logs", "events_file")
_LAB_COLS = ("lab", "lab_path", "lab_paths", "lab_file")

#: seconds to wait for a Dask scheduler before saying it cannot be reached
SCHEDULER_TIMEOUT_S = 5
_ADDRESS = re.compile(r"^((tcp|tls|ws|wss|ucx|inproc)://)?[A-Za-z0-9._\-\[\]:]+:\d{1,5}/?$")


def _split_paths(cell: Any, base: Path) -> list[str]:
    if cell is None or (isinstance(cell, float) and cell != cell) or str(cell).strip() == "":
        return []
    return [str((base / p.strip()).resolve()) for p in str(cell).split(";") if p.strip()]


def _manifest_rows(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and ``(line, cells)`` of each data row; blank lines and ``#`` comment lines skipped.

    Only a line whose first character is ``#`` is a comment: a ``#`` inside a path is kept.
    """
    text = read_text(path, "a manifest CSV")
    rows = []
    header: list[str] | None = None
    reader = csv.reader(io.StringIO(text))
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells) or cells[0].lstrip().startswith("#"):
            continue
        if header is None:
            header = [c.strip() for c in cells]
        else:
            rows.append((line, cells))
    if header is None:
        raise InputError("the manifest is empty; expected a header subject,cgm,events", path, 1)
    return header, rows


def is_manifest(path: str | os.PathLike) -> bool:
    """True when ``path`` is a CSV whose header has ``subject`` and a CGM column."""
    try:
        header, _ = _manifest_rows(Path(path))
    except (InputError, OSError, csv.Error):
        return False
    cols = {c.lower() for c in header}
    return "subject" in cols and any(c in cols for c in _CGM_COLS)


def read_manifest(path: str | os.PathLike) -> pd.DataFrame:
    """Read a manifest CSV naming each person's files.

    Columns: ``subject``, ``cgm`` (or ``cgm_path``) and optionally ``events`` (or
    ``events_path``) and ``lab`` (or ``lab_path``, a lab OGTT table); several files in one cell
    are separated by ``;``, an empty cell means none; paths are relative to the manifest's folder
    and may hold spaces, ``#`` and any letters. Blank lines and lines starting with ``#`` are
    skipped. A folder stands for its ``manifest.csv``.

    Returns
    -------
    pandas.DataFrame
        ``subject``, ``cgm``, ``events`` and ``lab`` (each a list of absolute paths), ``line``
        (the row's line in the manifest) and ``problem``: None, or why the row cannot be run (no
        subject id, or an id already given on an earlier line). The cohort runner skips such
        rows with that reason and runs the others.

    Raises
    ------
    InputError
        When the file is not a manifest at all (no such file, no ``subject``/``cgm`` columns).
    """
    path = Path(path)
    if path.is_dir():
        path = path / "manifest.csv"
    if not path.is_file():
        raise InputError(
            "no manifest: expected a manifest CSV or a folder holding manifest.csv", path
        )
    try:
        header, rows = _manifest_rows(path)
    except csv.Error as exc:
        raise InputError(f"cannot read the manifest as CSV ({exc})", path) from None
    cols = {c.lower(): i for i, c in enumerate(header)}
    cgm_i = next((cols[c] for c in _CGM_COLS if c in cols), None)
    if "subject" not in cols or cgm_i is None:
        raise InputError(
            "manifest needs columns 'subject' and 'cgm' (found "
            f"{column_list(header, ('subject', *_CGM_COLS, *_EVENT_COLS, *_LAB_COLS))})",
            path,
            1,
        )
    base = path.parent

    def cell(cells: list[str], names: tuple[str, ...]) -> str:
        i = next((cols[c] for c in names if c in cols), None)
        return cells[i] if i is not None and i < len(cells) else ""

    out = []
    first_line: dict[str, int] = {}
    for line, cells in rows:
        subject = cell(cells, ("subject",)).strip()
        problem = None
        if not subject:
            problem = f"manifest line {line}: no subject id"
            subject = f"(manifest line {line})"
        elif subject in first_line:
            problem = (
                f"manifest line {line}: subject {subject!r} is already on line "
                f"{first_line[subject]}; give each person one row"
            )
            subject = f"{subject} (manifest line {line})"
        else:
            first_line[subject] = line
        out.append(
            {
                "subject": subject,
                "cgm": _split_paths(cell(cells, _CGM_COLS), base),
                "events": _split_paths(cell(cells, _EVENT_COLS), base),
                "lab": _split_paths(cell(cells, _LAB_COLS), base),
                "line": line,
                "problem": problem,
            }
        )
    return pd.DataFrame(out, columns=["subject", "cgm", "events", "lab", "line", "problem"])


def discover_people(source: str | os.PathLike) -> pd.DataFrame:
    """People of a cohort from a manifest CSV, or a folder.

    A folder holding ``manifest.csv`` uses it; otherwise each sub-folder is one person (its CGM
    exports and logs are told apart by their sniffed format).
    """
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
        rows.append({"subject": sub.name, "cgm": cgm, "events": events, "problem": None})
    if not rows:
        raise InputError("no manifest.csv and no per-person sub-folders found", src)
    return pd.DataFrame(rows)


def person_result(subject: str, rec: Recording, rules: Rules) -> dict[str, Any]:
    """One person's per-meal table, curves and CGM coverage from their recording.

    Returns a dict with ``subject``, ``meals``, ``curves``, ``coverage_pct``, ``sources``,
    ``own`` (the person's own N-of-1 row of the cohort's people table, see
    :func:`~soleus_analysis.pipeline.own_effects`, or None), ``posterior`` (the person's
    Bayesian N-of-1 row, :func:`~soleus_analysis.pipeline.person_posterior`, or None without
    meals), and ``skip``: None, or why the person adds nothing to the pooled analysis (no
    meals, no measurable meal) while their meals still appear in the meal table.
    """
    meals, curves, cleaned = person_meals(rec, None, rules)
    m = glycemic_metrics(cleaned)
    cov = float(m["coverage_pct"].iloc[0]) if len(m) else float("nan")
    skip = None
    if len(rec.readings) == 0:
        skip = "no glucose readings in their CGM files"
    elif len(meals) == 0:
        skip = "no meals in their files"
    elif not meals["excluded_reason"].isna().any():
        top = meals["excluded_reason"].astype(str).value_counts().index[0]
        skip = f"none of their {len(meals)} meals could be measured (mostly: {top})"
    ok = meals[meals["excluded_reason"].isna()] if len(meals) else meals
    return {
        "subject": subject,
        "meals": meals,
        "curves": curves,
        "coverage_pct": cov,
        "sources": rec.sources,
        "skip": skip,
        # computed here, where the person was read, not one by one in the pooling step
        "own": own_effects(ok, rules) if skip is None else None,
        # the person's Bayesian N-of-1 row for the pooled series, likewise
        "posterior": person_posterior(meals, rules) if len(meals) else None,
    }


def run_person(
    subject: str,
    cgm: list[str],
    events: list[str],
    rules: Rules,
    show_file_names: bool = False,
    read_options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Read one person's files and compute their per-meal table (the job each worker runs).

    Returns :func:`person_result`'s dict; or ``subject`` and ``error`` (one line naming the
    person's files by their labels, e.g. ``"CGM export 2"``) when their files cannot be read or
    analysed. Nothing a person's files hold stops the run.
    """
    labels = file_labels(cgm, events)
    try:
        if not cgm:
            raise InputError("no CGM export listed for this person")
        rec = read_person(cgm, events, subject, only_accepted_options=True, **(read_options or {}))
        return person_result(subject, rec, rules)
    except Exception as exc:  # one bad person never loses the whole run
        return {"subject": subject, "error": describe(exc, labels, show_file_names)}


def run_recording(subject: str, rec: Recording, rules: Rules) -> dict[str, Any]:
    """:func:`person_result` for a person already read (from a file of several people)."""
    try:
        return person_result(subject, rec, rules)
    except Exception as exc:  # one bad person never loses the whole run
        return {"subject": subject, "error": describe(exc)}


#: people per task at most: a task's fixed cost (scheduling, transfer) is paid once a batch
MAX_PEOPLE_PER_TASK = 16
#: tasks per worker slot at least, so that a slow batch does not leave the other slots idle
TASKS_PER_SLOT = 4


def batches(jobs: list[tuple], slots: int) -> list[list[tuple]]:
    """``jobs`` cut into consecutive batches, one task each: as large as keeps at least
    ``TASKS_PER_SLOT`` tasks per slot (worker thread or process), at most
    ``MAX_PEOPLE_PER_TASK`` people, at least one.

    Parameters
    ----------
    jobs : list of tuple
        One argument tuple per person.
    slots : int
        Tasks that run at once (worker threads or processes).

    Returns
    -------
    list of list of tuple
        The batches, in the order of ``jobs``; together every job once.
    """
    size = max(1, min(MAX_PEOPLE_PER_TASK, len(jobs) // (TASKS_PER_SLOT * max(slots, 1))))
    return [jobs[i : i + size] for i in range(0, len(jobs), size)]


def run_batch(fn: Callable, batch: list[tuple]) -> list[Any]:
    """``fn`` on each job of one batch (the task a worker runs), results in the batch's order."""
    return [fn(*j) for j in batch]


def _map_local(fn: Callable, jobs: list[tuple], workers: int | None, progress: bool) -> list[Any]:
    from tqdm.auto import tqdm

    workers = min(workers or os.cpu_count() or 1, max(len(jobs), 1))
    if workers == 1:
        return [fn(*j) for j in tqdm(jobs, disable=not progress, desc="people")]
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as ex:
        futures = [ex.submit(run_batch, fn, b) for b in batches(jobs, workers)]
        with tqdm(total=len(jobs), disable=not progress, desc="people") as bar:
            for f in as_completed(futures):
                bar.update(len(f.result()))
        return [r for f in futures for r in f.result()]


def connect_scheduler(address: str, timeout_s: float = SCHEDULER_TIMEOUT_S):
    """A Dask ``Client`` of the scheduler at ``address``, or a clear error within seconds.

    Raises
    ------
    UsageError
        When the address is malformed, dask[distributed] is missing, or the scheduler does not
        answer within ``timeout_s`` seconds.
    """
    if not _ADDRESS.match(address.strip()):
        raise UsageError(
            f"--scheduler {address!r} is not a Dask scheduler address; expected e.g. "
            "tcp://10.0.0.5:8786"
        )
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - optional dependency
        raise UsageError(
            "--scheduler needs dask[distributed]: pip install 'soleus_analysis[dask]'"
        ) from None
    try:
        return Client(address.strip(), timeout=f"{timeout_s}s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise UsageError(
            f"cannot reach the Dask scheduler at {address} within {timeout_s:g} s "
            f"({type(exc).__name__}); check the address and that the scheduler is running"
        ) from None


def _map_dask(fn: Callable, jobs: list[tuple], client: Any, progress: bool) -> list[Any]:
    """Results in the order the batches finished (the pooling sorts them by subject).

    People go to the workers in batches (:func:`batches`, one task each). Each batch's results
    are fetched as soon as it is done and its future released, so a worker holds only the
    people it is running, not everyone it has run until the last one finishes.
    """
    from distributed import as_completed as dask_completed
    from tqdm.auto import tqdm

    if not jobs:
        return []
    slots = sum(client.nthreads().values()) or 1
    parts = batches(jobs, slots)
    futures = client.map(run_batch, [fn] * len(parts), parts, pure=False)
    done = dask_completed(futures, with_results=True)
    del futures
    results: list[Any] = []
    with tqdm(total=len(jobs), disable=not progress, desc="people") as bar:
        for future, part in done:
            results.extend(part)
            bar.update(len(part))
            future.release()
    return results


def _people_of_file(
    path: str | os.PathLike, options: dict[str, Any]
) -> list[tuple[str, Recording]]:
    """Each person of a CGM file holding several (a research dataset), as their own recording."""
    rec = read_cgm(path, only_accepted_options=True, **options)
    out = []
    for subject in rec.subjects:
        keep_r = rec.readings["subject"].astype(str) == subject
        keep_e = rec.events["subject"].astype(str) == subject
        out.append(
            (
                subject,
                Recording(
                    readings=rec.readings.loc[keep_r].reset_index(drop=True),
                    events=rec.events.loc[keep_e].reset_index(drop=True),
                    provenance=rec.provenance,
                ),
            )
        )
    return out


#: a study folder's own analysis rules (written by the simulator for its protocols)
RULES_FILE = "rules.json"


def study_rules(source: Any, rules: Rules | dict | None = None) -> Rules:
    """The rules a cohort is analysed with: the study's ``rules.json``, changed by ``rules``.

    A study folder (or the folder of a manifest) may hold ``rules.json``: the rules its protocol
    defines (e.g. a 3-hour window for a glucose-drink test). A :class:`Rules` given replaces
    them; a dict changes them by name (the command line's options do that).
    """
    if isinstance(rules, Rules):
        return rules
    base = Rules()
    if not isinstance(source, pd.DataFrame):
        folder = Path(source) if Path(source).is_dir() else Path(source).parent
        if (folder / RULES_FILE).is_file() and (Path(source).is_dir() or is_manifest(source)):
            base = Rules.from_file(folder / RULES_FILE)
    return Rules.coerce(base, **(rules or {}))


def run_cohort(
    source: str | os.PathLike | pd.DataFrame,
    rules: Rules | dict | None = None,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: bool = True,
    seed: int = 0,
    show_file_names: bool = False,
    read_options: dict[str, Any] | None = None,
) -> CohortAnalysis:
    """Analyse every person of a cohort and pool them.

    Parameters
    ----------
    source : path or DataFrame
        A manifest CSV, a folder (see :func:`discover_people`), a frame like
        :func:`read_manifest` returns, or one CGM file holding several people (e.g. a research
        dataset with an ``id`` column), each of whom is analysed as a person.
    rules : Rules or dict, optional
        The analysis rules. Default: the study's own ``rules.json`` when the source is a folder
        (or a manifest in a folder) holding one (see :func:`study_rules`), else
        :class:`~soleus_analysis.core.rules.Rules`; a dict changes those rules by name.
    scheduler : str, optional
        Address of a Dask distributed scheduler (e.g. ``"tcp://10.0.0.5:8786"``); default: local
        processes.
    workers : int, optional
        Local processes (default: all cores).
    progress : bool
        Show a progress bar.
    seed : int
        Seed of the bootstrap.
    show_file_names : bool
        Name files in the skipped people's reasons (default: labels such as "CGM export 1").
    read_options : dict, optional
        Reader options (e.g. ``units``, ``date_order``), each passed to the readers that take it.
    """
    rules = study_rules(source, rules)
    opts = {k: v for k, v in (read_options or {}).items() if v is not None}
    # a wrong address fails now, not after reading; the one client serves the whole run
    client = connect_scheduler(scheduler) if scheduler else None
    try:
        results, skipped = _run_people(
            source, rules, opts, client, workers, progress, show_file_names
        )
    finally:
        if client is not None:
            client.close()
    return pool_results([*results, *skipped], rules, seed=seed)


def _run_people(
    source: Any,
    rules: Rules,
    opts: dict[str, Any],
    client: Any,
    workers: int | None,
    progress: bool,
    show_file_names: bool,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Each person's result (on ``client``'s cluster, else local processes) and the manifest
    rows skipped with their reason."""
    skipped: list[dict[str, Any]] = []
    if not isinstance(source, pd.DataFrame) and Path(source).is_file() and not is_manifest(source):
        fn: Callable = run_recording
        jobs = [(subject, rec, rules) for subject, rec in _people_of_file(source, opts)]
    else:
        people = source if isinstance(source, pd.DataFrame) else discover_people(source)
        problem = people["problem"] if "problem" in people else pd.Series(None, index=people.index)
        fn = run_person
        jobs = []
        for r, why in zip(people.itertuples(), problem, strict=True):
            if isinstance(why, str) and why:
                skipped.append({"subject": str(r.subject), "error": why})
            else:
                jobs.append(
                    (str(r.subject), list(r.cgm), list(r.events), rules, show_file_names, opts)
                )
    if client is not None:
        return _map_dask(fn, jobs, client, progress), skipped
    return _map_local(fn, jobs, workers, progress), skipped


def pool_results(
    results: Iterable[dict[str, Any]], rules: Rules | dict | None = None, *, seed: int = 0
) -> CohortAnalysis:
    """Combine :func:`run_person` results (in any order) into a :class:`CohortAnalysis`.

    People whose files failed, or who add nothing (``skip``), are listed in ``failed`` with
    their one-line reason; the meals of the latter still appear in the meal table. When nobody
    has meals to pool, the pooled rows say so in their ``note``.

    Raises
    ------
    InputError
        When not one person's files could be read.
    """
    results = sorted(results, key=lambda r: str(r["subject"]))
    good = [r for r in results if "error" not in r]
    failed = pd.DataFrame(
        [{"subject": r["subject"], "error": r["error"]} for r in results if "error" in r]
        + [{"subject": r["subject"], "error": r["skip"]} for r in good if r.get("skip")],
        columns=["subject", "error"],
    )
    if not good:
        raise InputError(
            "no person's files could be read: "
            + "; ".join(f"{s}: {e}" for s, e in failed.head(3).itertuples(index=False))
        )
    usable = [r for r in good if not r.get("skip")]
    with_meals = [r["meals"] for r in good if len(r["meals"])]
    meals = pd.concat(with_meals, ignore_index=True) if with_meals else good[0]["meals"]
    curves = pd.concat([r["curves"] for r in usable or good], ignore_index=True)
    coverage = pd.DataFrame(
        {
            "subject": [r["subject"] for r in usable],
            "coverage_pct": [r["coverage_pct"] for r in usable],
        }
    )
    sources = list({id(s): s for r in good for s in r["sources"]}.values())
    own = None
    if all("own" in r for r in usable):  # results of an older runner have no "own"
        rows = [r["own"] for r in usable if r["own"] is not None and len(r["own"])]
        own = pd.concat(rows, ignore_index=True) if rows else None
    posteriors = None
    if all("posterior" in r for r in good):
        post = [r["posterior"] for r in good if r["posterior"] is not None and len(r["posterior"])]
        posteriors = pd.concat(post, ignore_index=True) if post else pd.DataFrame()
    return pool_people(
        meals,
        curves,
        coverage=coverage,
        failed=failed,
        sources=sources,
        rules=rules,
        seed=seed,
        own=own,
        posteriors=posteriors,
    )

"""A command's fixed cost against ``import numpy, pandas``: ``python benchmarks/bench_startup.py``.

Issue 14's target: every ``soleus`` command reaches its real work within 2x of a fresh
``python -c "import numpy, pandas"`` (the floor: no command can start below it). Each case is
a fresh interpreter, timed from start to exit, in interleaved rounds (the order shuffled in each
round, one warm-up round not counted), medians:

- ``soleus --help`` and ``soleus <command> --help``: the command line parsed, nothing analysed;
- ``<command>: ready``: the CLI module and every module the command's function imports before
  it reads its first file (the list in :data:`READY`, taken from ``soleus_analysis/app/cli.py``),
  i.e. the time to the point where the command starts real work;
- ``PDF writer``: what ``report`` and ``cohort`` import later, once the analysis is done and
  there is a report to draw (``soleus_analysis.report``: matplotlib and its PDF backend).

``--baseline DIR`` times another checkout's ``soleus_analysis`` (DIR holds the package, e.g.
``git worktree add /tmp/base main``) in the same rounds, for a before/after table;
``--why`` adds, for each case, the packages that take the most import time beyond the floor
(``python -X importtime``). A benchmark, not a test: ``tests/test_startup_imports.py`` checks,
untimed, that the start-up does not import the heavy statistics and plotting packages.
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from tables import markdown, record  # noqa: E402

FLOOR = "import numpy, pandas"
CLI = "soleus_analysis.app.cli"
#: the cases run here: ``python -c`` puts the working folder first on the path, and a checkout's
#: own folder would shadow the source asked for
CWD = tempfile.gettempdir()

#: what each command's function imports before its first file is read (see app/cli.py)
READY: dict[str, tuple[str, ...]] = {
    "inspect": ("soleus_analysis.core.outputs", "soleus_analysis.io"),
    "analyze": ("soleus_analysis.core.outputs", "soleus_analysis.pipeline", "soleus_analysis.io"),
    # the PDF writer is imported once the analysis is done: the row "PDF writer" below
    "report": ("soleus_analysis.core.outputs", "soleus_analysis.pipeline", "soleus_analysis.io"),
    "cohort": ("soleus_analysis.core.outputs", "soleus_analysis.app.runner"),
    "plan": ("soleus_analysis.core.outputs", "soleus_analysis.app.plan"),
    "plan --from": (
        "soleus_analysis.core.outputs",
        "soleus_analysis.app.plan",
        "soleus_analysis.compare",
        "soleus_analysis.pipeline",
        "soleus_analysis.io",
    ),
    "pool": (
        "soleus_analysis.core.outputs",
        "soleus_analysis.io.shared_summary",
        "soleus_analysis.stats.bayes",
    ),
    # not a start-up: what report and cohort import before drawing (soleus_analysis.report)
    "PDF writer (report, cohort)": (
        "soleus_analysis.pipeline",
        "soleus_analysis.report",
        "soleus_analysis.report.text",
    ),
}

_RUN_CLI = "import sys\nfrom soleus_analysis.app.cli import main\nsys.argv[0] = 'soleus'\nmain()\n"


def cases() -> dict[str, list[str]]:
    """Case name -> the arguments of ``python`` that run it."""
    out: dict[str, list[str]] = {"floor: import numpy, pandas": ["-c", FLOOR]}
    out["soleus --help"] = ["-c", _RUN_CLI, "--help"]
    for cmd in ("inspect", "analyze", "report", "cohort", "plan", "pool"):
        out[f"soleus {cmd} --help"] = ["-c", _RUN_CLI, cmd, "--help"]
    for cmd, modules in READY.items():
        name = cmd if cmd.startswith("PDF") else f"{cmd}: ready"
        out[name] = ["-c", "import " + ", ".join((CLI, *modules))]
    return out


def _env(source: Path) -> dict[str, str]:
    """The environment of a case: ``source``'s ``soleus_analysis`` first on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(source), *filter(None, [env.get("PYTHONPATH")])])
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    return env


def _python(source: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python *args`` with ``source``'s package, its output captured."""
    return subprocess.run(
        [sys.executable, *args],
        env=_env(source),
        cwd=CWD,
        capture_output=True,
        text=True,
        check=True,
    )


def check_source(source: Path) -> None:
    """Refuse a folder whose ``soleus_analysis`` is not the one a case would import."""
    out = _python(source, "-c", "import soleus_analysis; print(soleus_analysis.__file__)")
    out = out.stdout.strip()
    if Path(out).resolve().parent != (source / "soleus_analysis").resolve():
        raise SystemExit(f"{source}: imports soleus_analysis from {out}, not from this folder")


def run_once(args: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, *args],
        env=env,
        cwd=CWD,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    return time.perf_counter() - t0


def measure(
    sources: dict[str, Path], rounds: int, seed: int = 0
) -> dict[tuple[str, str], list[float]]:
    """``(source label, case) -> times``, every case of every source in each round."""
    jobs = [(label, name, args) for label in sources for name, args in cases().items()]
    envs = {label: _env(path) for label, path in sources.items()}
    times: dict[tuple[str, str], list[float]] = collections.defaultdict(list)
    rng = random.Random(seed)
    for r in range(rounds + 1):  # round 0 warms the caches (bytecode, files) and is not counted
        order = jobs[:]
        rng.shuffle(order)
        for label, name, args in order:
            t = run_once(args, envs[label])
            if r:
                times[(label, name)].append(t)
    return times


def table(times: dict[tuple[str, str], list[float]], sources: dict[str, Path]) -> pd.DataFrame:
    floor = statistics.median(
        t for label in sources for t in times[(label, "floor: import numpy, pandas")]
    )
    rows = []
    for name in cases():
        row: dict[str, object] = {"case": name}
        for label in sources:
            med = statistics.median(times[(label, name)])
            suffix = f" ({label})" if len(sources) > 1 else ""
            row[f"median s{suffix}"] = med
            row[f"x floor{suffix}"] = med / floor
        rows.append(row)
    return pd.DataFrame(rows)


def why(source: Path, args: list[str], top: int = 6) -> str:
    """The packages that take the most import time beyond the floor (self times, ms)."""
    code = args[1]
    prelude = FLOOR + "\n"
    if code == _RUN_CLI:  # the CLI's own imports: the command line is not run here
        code = f"import {CLI}"
    err = _python(source, "-X", "importtime", "-c", prelude + code).stderr.splitlines()
    rows = [ln[len("import time:") :].split("|") for ln in err if ln.startswith("import time:")]
    rows = [r for r in rows if r[0].strip().isdigit()]
    # the floor's imports end with the top-level ``pandas``
    start = max(i for i, r in enumerate(rows) if r[2].strip() == "pandas") + 1
    by_package: collections.Counter[str] = collections.Counter()
    for self_us, _, name in rows[start:]:
        by_package[name.strip().split(".")[0]] += int(self_us)
    total = sum(by_package.values())
    parts = [f"{p} {us / 1000:.0f}" for p, us in by_package.most_common(top)]
    return f"{total / 1000:.0f} ms beyond the floor: " + ", ".join(parts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7, help="Counted rounds (default 7).")
    ap.add_argument(
        "--baseline", type=Path, default=None, help="Another checkout to time alongside."
    )
    ap.add_argument("--why", action="store_true", help="Show the heaviest imports of each case.")
    ap.add_argument("--seed", type=int, default=0, help="Seed of the order within each round.")
    args = ap.parse_args()

    sources = {"this": ROOT}
    if args.baseline is not None:
        sources = {"baseline": args.baseline.resolve(), "this": ROOT}
    for path in sources.values():
        check_source(path)
    times = measure(sources, args.rounds, args.seed)
    print(
        f"fixed cost of each command, fresh interpreters, {args.rounds} interleaved rounds, "
        f"medians ({os.cpu_count()} cores); floor: python -c {FLOOR!r}"
    )
    frame = table(times, sources)
    print(markdown(frame))
    if "x floor" in frame.columns:  # one source: this checkout
        floor = frame.loc[frame["case"].str.startswith("floor"), "median s"].iloc[0]
        for row in frame.itertuples(index=False):
            if row.case.startswith("floor"):
                continue
            startup = not row.case.startswith("PDF")  # the PDF writer is imported after the work
            record("bench_startup.py", f"fixed cost: {row.case}", f"{row[1]:.2f} s",
                   f"python -c {FLOOR!r} {floor:.2f} s", row[2], "<= 2x" if startup else "",
                   row[2] <= 2 if startup else None)  # fmt: skip
    print("target (issue 14): every case within 2x of the floor")
    if args.why:
        for label, path in sources.items():
            print(f"\nheaviest imports beyond the floor ({label}, python -X importtime, one run):")
            for name, case_args in cases().items():
                if not name.startswith("floor"):
                    print(f"  {name}: {why(path, case_args)}")


if __name__ == "__main__":
    main()

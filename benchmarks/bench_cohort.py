"""Time ``soleus cohort``'s runner from 10 to 10,000 people, serial and on a Dask LocalCluster.

``python benchmarks/bench_cohort.py`` (a benchmark, not a test). All data are synthetic:
``--distinct`` self-trackers of the ``freeliving`` protocol (14 days, three meals a day, SPU
after a random half, Dexcom G7) are simulated once, written as a Dexcom Clarity export and an
activity log each, and person ``i`` of the cohort gets its own copy of distinct person
``i % distinct``'s two files (byte-identical copies under new ids: a 10,000-person cohort is
20,000 files, about 3.9 GB, written in a temporary folder unless ``--data`` keeps them).

For each size N the runner (:func:`soleus_analysis.app.runner.run_cohort`, what ``soleus
cohort`` calls before drawing the PDF) runs in a fresh process:

- serially (``workers=1``) for N up to ``--serial-max``: CPU per person is the process's CPU
  over the run (reading, per-person analysis and pooling) / N;
- on a ``distributed.LocalCluster`` of ``--workers`` single-threaded worker processes whose
  imports are done before the clock starts (a fixed cost per worker, printed apart): worker
  CPU per person is the workers' CPU over the run / N, client CPU per person the client's
  (manifest, task submission, gathering, pooling) / N; the peak resident memory of each
  worker is its ``VmHWM``. Dask's statistical profiler is off in the workers (it keeps an hour
  of call trees and grows a worker by ~0.3 MB a person); ``--profile-workers`` keeps it on.

The Dask results are compared with the serial run's (per-person rows, pooled rows, the meal
table and the skipped people; floats within 1e-9 relative): ``equal`` says whether they match.
``per-person cost vs previous size`` is the ratio of the total CPU per person to the previous
size's; a super-linear step would show as a ratio well above 1.
"""

from __future__ import annotations

import argparse
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from tables import markdown, record  # noqa: E402

SIZES = (10, 100, 1000, 10000)


def make_cohort(folder: Path, n: int, distinct: int, seed: int = 1) -> dict[str, float]:
    """Write ``n`` synthetic people (copies of ``distinct`` simulated ones) and manifests.

    Writes ``people/`` (two files per person), ``rules.json`` (the protocol's window) and
    ``manifest_<N>.csv`` for every N of :data:`SIZES` up to ``n`` (the first N people).
    """
    from soleus_analysis.simulate import simulate_study
    from soleus_analysis.simulate.writers import (
        study_rules_json,
        write_activity_log,
        write_dexcom_clarity,
    )

    t0 = time.perf_counter()
    study = simulate_study("freeliving", n=distinct, seed=seed)
    t_sim = time.perf_counter() - t0
    people = folder / "people"
    people.mkdir(parents=True, exist_ok=True)
    (folder / "rules.json").write_bytes(study_rules_json(study.protocol))
    blobs = []
    for subject in study.subjects:
        cgm = study.cgm[study.cgm["subject"] == subject]
        ev = study.events[study.events["subject"] == subject]
        a, b = folder / "_cgm.csv", folder / "_log.csv"
        write_dexcom_clarity(cgm, None, a, generation="G7")
        write_activity_log(ev, b)
        blobs.append((a.read_bytes(), b.read_bytes()))
        a.unlink()
        b.unlink()
    rows = []
    for i in range(n):
        cgm_b, log_b = blobs[i % distinct]
        subject = f"s{i:05d}"
        cgm_p = f"people/synthetic_{subject}_dexcom.csv"
        log_p = f"people/synthetic_{subject}_activity.csv"
        (folder / cgm_p).write_bytes(cgm_b)
        (folder / log_p).write_bytes(log_b)
        rows.append((subject, cgm_p, log_p))
    man = pd.DataFrame(rows, columns=["subject", "cgm", "events"])
    for size in SIZES:
        if size <= n:
            man.head(size).to_csv(folder / f"manifest_{size}.csv", index=False)
    size_mb = sum(len(a) + len(b) for a, b in blobs) / distinct * n / 1e6
    return {"simulate_s": t_sim, "total_s": time.perf_counter() - t0, "size_mb": size_mb}


def _worker_stats() -> dict[str, float]:
    """CPU seconds and peak resident memory (VmHWM, MB) of the calling process."""
    with open("/proc/self/status") as fh:
        hwm = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM"))
    return {"cpu_s": time.process_time(), "hwm_mb": hwm / 1024}


def _warm() -> float:
    """Import the runner's modules in a worker; returns the CPU seconds it took."""
    t = time.process_time()
    import soleus_analysis.app.runner
    import soleus_analysis.pipeline  # noqa: F401

    return time.process_time() - t


def run_one(
    manifest: Path, mode: str, workers: int, out: Path, profile_workers: bool = False
) -> None:
    """One timed run in this (fresh) process; writes the result and the figures to ``out``."""
    import resource

    from soleus_analysis.app.runner import run_cohort

    stats: dict[str, float] = {}
    if mode == "serial":
        c0, t0 = time.process_time(), time.perf_counter()
        res = run_cohort(manifest, workers=1, progress=False)
        stats["wall_s"] = time.perf_counter() - t0
        stats["cpu_s"] = time.process_time() - c0
    else:
        import dask
        from distributed import LocalCluster

        # Dask's statistical profiler samples each worker's stack every 10 ms and keeps an hour
        # of call trees: with pandas' deep stacks it grew a worker by ~0.3 MB a person (530 MB
        # after 700 people). It is a monitoring aid, not part of the run (docs/cohort_dask.md).
        dask.config.set({"distributed.worker.profile.enabled": profile_workers})
        with LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            host="127.0.0.1",
        ) as cluster:
            from distributed import Client

            # one client at a time: the runner opens its own (two clients of one scheduler in
            # one process under heavy load twice lost a reply, tornado's write-buffer assertion)
            with Client(cluster) as client:
                warm = client.run(_warm)
                stats["worker_import_cpu_s"] = max(warm.values())
                before = client.run(_worker_stats)
            c0, t0 = time.process_time(), time.perf_counter()
            res = run_cohort(manifest, scheduler=cluster.scheduler_address, progress=False)
            stats["wall_s"] = time.perf_counter() - t0
            stats["client_cpu_s"] = time.process_time() - c0
            with Client(cluster) as client:
                after = client.run(_worker_stats)
        stats["worker_cpu_s"] = sum(after[w]["cpu_s"] - before[w]["cpu_s"] for w in after)
        stats["worker_hwm_mb"] = max(a["hwm_mb"] for a in after.values())
    stats["client_hwm_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out.write_bytes(pickle.dumps({"stats": stats, "result": _comparable(res)}))


def person_path(manifest: Path, repeats: int = 10) -> list[tuple[str, float]]:
    """CPU ms of each stage of one person's job (:func:`run_person`), median of ``repeats``."""
    import statistics

    from soleus_analysis.app.runner import read_manifest, run_person, study_rules
    from soleus_analysis.io import read_person
    from soleus_analysis.metrics import glycemic_metrics
    from soleus_analysis.pipeline import own_effects, person_meals

    rules = study_rules(manifest)
    p = read_manifest(manifest).iloc[0]

    def cpu(fn):
        fn()  # first call: lazy imports and caches, a fixed cost per worker
        times = []
        for _ in range(repeats):
            t = time.process_time()
            out = fn()
            times.append(time.process_time() - t)
        return statistics.median(times) * 1000, out

    t_read, rec = cpu(lambda: read_person(p.cgm, p.events, p.subject, only_accepted_options=True))
    t_meals, (meals, _, cleaned) = cpu(lambda: person_meals(rec, None, rules))
    t_cov, _ = cpu(lambda: glycemic_metrics(cleaned))
    ok = meals[meals["excluded_reason"].isna()]
    t_own, _ = cpu(lambda: own_effects(ok, rules))
    t_all, _ = cpu(lambda: run_person(p.subject, p.cgm, p.events, rules, False, {}))
    rest = t_all - t_read - t_meals - t_cov - t_own
    return [
        ("read the CGM export and the activity log (io.read_person)", t_read),
        ("clean, meal responses and meal curves (pipeline.person_meals)", t_meals),
        ("CGM coverage (metrics.glycemic_metrics)", t_cov),
        ("own N-of-1 (pipeline.own_effects)", t_own),
        ("the rest: run_person minus the stages above (the runner; within noise)", rest),
        ("one person's job (app.runner.run_person)", t_all),
    ]


def _comparable(res) -> dict[str, pd.DataFrame]:
    meals = res.meals.sort_values(["subject", "meal_time"], kind="stable").reset_index(drop=True)
    return {
        "people": res.people.sort_values("subject").reset_index(drop=True),
        "pooled": res.pooled.reset_index(drop=True),
        "meals": meals,
        "failed": res.failed.reset_index(drop=True),
        "n_curves": pd.DataFrame({"n": [len(res.curves)]}),
    }


def same(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> str:
    """``"identical"``, ``"equal (1e-9)"`` or what differs."""
    exact = all(a[k].equals(b[k]) for k in a)
    if exact:
        return "identical"
    try:
        for k in a:
            pd.testing.assert_frame_equal(a[k], b[k], check_exact=False, rtol=1e-9, atol=0)
    except AssertionError as exc:
        return f"DIFFERENT ({str(exc).splitlines()[0]})"
    return "equal (1e-9)"


def _child(manifest: Path, mode: str, workers: int, tmp: Path, profile: bool = False) -> dict:
    out = tmp / f"{manifest.stem}_{mode}.pkl"
    cmd = [sys.executable, __file__, "--one", str(manifest), mode, str(workers), str(out)]
    cmd += ["--profile-workers"] if profile else []
    subprocess.run(cmd, check=True)
    return pickle.loads(out.read_bytes())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    ap.add_argument("--serial-max", type=int, default=1000)
    ap.add_argument("--distinct", type=int, default=25)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--data", type=Path, default=None, help="Keep the generated cohort here.")
    ap.add_argument("--markdown", type=Path, default=None, help="Also write the table here.")
    ap.add_argument(
        "--profile-workers",
        action="store_true",
        help="Keep Dask's statistical profiler on in the workers (Dask's default; costs memory).",
    )
    ap.add_argument(
        "--serial-from",
        type=Path,
        default=None,
        help="Reuse the serial runs kept in this folder (manifest_<N>_serial.pkl) and keep new ones.",
    )
    ap.add_argument("--one", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        man, mode, workers, out = args.one
        run_one(Path(man), mode, int(workers), Path(out), args.profile_workers)
        return
    bad = [s for s in args.sizes if s not in SIZES]
    if bad:
        ap.error(f"--sizes must be among {SIZES}")
    tmp = Path(tempfile.mkdtemp(prefix="bench_cohort_"))
    data = args.data or tmp / "cohort"
    try:
        n_max = max(args.sizes)
        if not (data / f"manifest_{n_max}.csv").is_file():
            gen = make_cohort(data, n_max, min(args.distinct, n_max))
            print(
                f"generated {n_max} synthetic people ({min(args.distinct, n_max)} distinct "
                f"freeliving self-trackers, 14 days, Dexcom G7 + activity log; "
                f"{gen['size_mb']:.0f} MB) in {gen['total_s']:.0f} s "
                f"(simulation {gen['simulate_s']:.0f} s)",
                flush=True,
            )
        path = person_path(data / f"manifest_{min(args.sizes)}.csv")
        print("one person's path, CPU ms (median of 10, this process):")
        for name, ms in path:
            print(f"  {ms:7.1f}  {name}")
        rows = []
        prev = None
        for n in sorted(args.sizes):
            man = data / f"manifest_{n}.csv"
            kept = args.serial_from / f"{man.stem}_serial.pkl" if args.serial_from else None
            if kept is not None and kept.is_file():
                serial = pickle.loads(kept.read_bytes())
            elif n <= args.serial_max:
                serial = _child(man, "serial", 1, kept.parent if kept else tmp)
            else:
                serial = None
            dask = _child(man, "dask", args.workers, tmp, args.profile_workers)
            s = dask["stats"]
            per = (s["worker_cpu_s"] + s["client_cpu_s"]) / n * 1000
            row = {
                "N": n,
                "serial wall s": serial["stats"]["wall_s"] if serial else float("nan"),
                "serial CPU ms/person": serial["stats"]["cpu_s"] / n * 1000
                if serial
                else float("nan"),
                "dask wall s": s["wall_s"],
                "worker CPU ms/person": s["worker_cpu_s"] / n * 1000,
                "client CPU ms/person": s["client_cpu_s"] / n * 1000,
                "per-person cost vs previous size": per / prev if prev else float("nan"),
                "peak RSS/worker MB": s["worker_hwm_mb"],
                "client peak RSS MB": s["client_hwm_mb"],
                "equal to serial": same(dask["result"], serial["result"]) if serial else "not run",
            }
            record(
                "bench_cohort.py",
                f"soleus cohort on a Dask LocalCluster, {n:,} people x 14 d: CPU per person",
                f"{per:.1f} ms",
                "",
                None,
                "<= 50 ms",
                per <= 50,
            )
            record(
                "bench_cohort.py",
                f"the same, {n:,} people: peak RSS per worker",
                f"{s['worker_hwm_mb']:.0f} MB",
                "",
                None,
                "< 1 GB",
                s["worker_hwm_mb"] < 1024,
            )
            if prev:
                record(
                    "bench_cohort.py",
                    f"the same, {n:,} people: CPU per person vs the previous size",
                    f"{per / prev:.2f}x",
                    "",
                    None,
                    "no super-linear step",
                    per / prev < 1.5,
                )
            if serial:
                record("bench_cohort.py", f"the same, {n:,} people: results equal to the serial run",
                       str(row["equal to serial"]), "", None, "equal",
                       not str(row["equal to serial"]).startswith("DIFFERENT"))  # fmt: skip
            prev = per
            rows.append(row)
            print(
                ", ".join(
                    f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()
                ),
                f"(worker import {s['worker_import_cpu_s']:.1f} s CPU each, not counted)",
                flush=True,
            )
        table = markdown(pd.DataFrame(rows), digits=1)
        stages = markdown(pd.DataFrame(path, columns=["stage of one person", "CPU ms"]), digits=1)
        print()
        print(table)
        if args.markdown:
            args.markdown.write_text(table + "\n\n" + stages + "\n")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()

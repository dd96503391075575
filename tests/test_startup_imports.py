"""What a command imports before its real work (issue 14, fixed cost), checked without a clock.

Each case imports, in a fresh interpreter, the modules a command loads at start-up and lists the
heavy packages that came with them: statsmodels, matplotlib, dask and scipy.stats are imported
inside the functions that use them, never at start-up. The times themselves are measured by
``benchmarks/bench_startup.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: imported only inside the functions that need them
HEAVY = ("statsmodels", "matplotlib", "dask", "distributed", "scipy.stats")

CASES = {
    "package": ("soleus_analysis",),
    "command line": ("soleus_analysis", "soleus_analysis.app.cli"),
    # what analyze, report, plan --from and pool import before reading their files
    "analysis": (
        "soleus_analysis.app.cli",
        "soleus_analysis.core.outputs",
        "soleus_analysis.pipeline",
        "soleus_analysis.compare",
        "soleus_analysis.stats.bayes",
        "soleus_analysis.metrics",
        "soleus_analysis.insulin",
    ),
    # cohort, serial and on a cluster alike: dask comes with --scheduler only
    "cohort runner": ("soleus_analysis.app.cli", "soleus_analysis.app.runner"),
}


def _heavy_after(modules: tuple[str, ...], heavy: tuple[str, ...] = HEAVY) -> list[str]:
    """The ``heavy`` packages in ``sys.modules`` after importing ``modules`` in a new process."""
    code = (
        "import importlib, json, sys\n"
        f"for m in {list(modules)!r}:\n"
        "    importlib.import_module(m)\n"
        f"print(json.dumps([h for h in {list(heavy)!r} if h in sys.modules]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.parametrize("case", sorted(CASES))
def test_start_up_imports_no_heavy_package(case):
    assert _heavy_after(CASES[case]) == []


def test_command_line_imports_no_scipy_and_no_pandas():
    # ``soleus --help`` and a usage error answer before any analysis module is loaded
    assert _heavy_after(CASES["command line"], ("scipy", "pandas", "soleus_analysis.io")) == []


def test_public_names_still_import():
    # the lazy package keeps ``from soleus_analysis import X`` working for every public name
    import soleus_analysis

    names = [n for n in soleus_analysis.__all__ if n != "__version__"]
    code = "from soleus_analysis import " + ", ".join(names) + "\nprint('ok')"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "ok"


def test_the_check_sees_a_heavy_import():
    # the check itself: a module that does import a heavy package is reported
    assert _heavy_after(("scipy.stats",), ("scipy.stats",)) == ["scipy.stats"]


def test_a_persons_job_needs_neither_scipy_signal_nor_scipy_stats(tmp_path):
    # a worker's first person used to import scipy.signal (and with it scipy.stats, ndimage,
    # ...: ~2.5 s of CPU) for the insulin proxy's filter, now the model's own impulse response
    from soleus_analysis.simulate import simulate_study
    from soleus_analysis.simulate.writers import write_activity_log, write_dexcom_clarity

    study = simulate_study("freeliving", n=1, seed=3)
    (subject,) = study.subjects
    cgm, log = tmp_path / "cgm.csv", tmp_path / "log.csv"
    write_dexcom_clarity(study.cgm[study.cgm["subject"] == subject], None, cgm, generation="G7")
    write_activity_log(study.events[study.events["subject"] == subject], log)
    code = (
        "import json, sys\n"
        "from soleus_analysis.app.runner import run_person\n"
        "from soleus_analysis.core.rules import Rules\n"
        f"res = run_person('p1', [{str(cgm)!r}], [{str(log)!r}], Rules())\n"
        "assert 'error' not in res and len(res['meals']) > 0, res\n"
        "assert res['meals']['insulin_proxy_iauc_pmol_l_min'].notna().any()\n"
        "print(json.dumps([m for m in ('scipy.signal', 'scipy.stats') if m in sys.modules]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out.strip().splitlines()[-1]) == []

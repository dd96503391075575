"""Reproduce the soleus-pushup (SPU) studies end to end on simulated people, blind.

The chain is the one a user runs on real exports, with a simulator in front of it:

1. :func:`~soleus_analysis.simulate.simulate_study` simulates a cohort of a protocol
   (``hamilton2022`` or ``elek2025``);
2. :func:`~soleus_analysis.simulate.write_study` writes it as real export files (lab OGTT
   table, Dexcom Clarity CSVs, activity logs; every name starts with ``synthetic_``);
3. :func:`analyse_study_files` reads those files back with the readers and analyses them
   knowing only file paths, the response window and the baseline rule (the protocol's
   measurement design, never its effect);
4. only then :func:`run_reproduction` reads the simulator's noise-free ground truth to report it
   next to the estimate.

Which truth an interval is compared with: the bootstrap and t intervals of the crossover resample
or describe *people*, so they estimate the reduction in the population the participants are drawn
from. Coverage is therefore judged against the **population truth**
(:func:`soleus_analysis.simulate.population_truth`: the same definition on a very large
noise-free cohort, :data:`N_POPULATION` people, seed :data:`POPULATION_SEED`, independent of the
study). The simulated participants' own noise-free reduction (the *sample* truth,
:meth:`~soleus_analysis.simulate.Study.true_reduction`) is shown as well, but an interval that
"covers" it says little: the estimate and the sample truth share the same people, so it is
covered far more often than 95% (notebook 03 finds 100%).

Definitions (all within person, crossover of control = sitting vs SPU)
---------------------------------------------------------------------
- Glucose / insulin iAUC: incremental area above the value at t0 over the window (lab samples,
  trapezoids; :func:`soleus_analysis.insulin.lab_responses`), mg/dL·min and µU/mL·min.
- Reduction: ``100 * (1 - mean over people of SPU iAUC / mean over people of control iAUC)``, %,
  with a paired bootstrap 95% CI over people (:func:`soleus_analysis.compare.crossover`).
- ``glucose_diff_60_120_mgdl``: for each person, the mean of the venous glucose samples taken at
  60 to 120 min after the drink (both ends included) in the control test minus the same mean in
  the SPU test; then the mean of these per-person differences over people (mg/dL), with a
  t-based 95% CI. Positive = lower glucose with SPU. Hamilton et al. 2022 report about 50 mg/dL.
- CGM estimate: the drink of each test is a meal in the activity log, the SPU bout makes its
  meal ``"spu"`` (:func:`soleus_analysis.align.meal_responses`, same window and baseline); the
  per-meal CGM iAUC goes through the same :func:`~soleus_analysis.compare.crossover`.

Everything here is synthetic and every result says so (``synthetic: True``).
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .. import compare
from ..align import meal_responses
from ..app.runner import read_manifest, study_rules
from ..core.errors import InputError
from ..core.rules import Rules
from ..insulin import lab_responses
from ..io import read_cgm, read_events
from ..io.lab import read_lab
from ..simulate import population_truth, simulate_study, truth_reduction, write_study
from .trials import covered

__all__ = [
    "PUBLISHED",
    "StudyAnalysis",
    "analyse_study_files",
    "glucose_diff",
    "population_summary",
    "read_truth",
    "reproduction_table",
    "run_reproduction",
    "truth_summary",
]

#: Published headline numbers, for side-by-side display only (never used in the analysis).
#: Hamilton, Hamilton & Zderic 2022 (iScience 25:104869): glucose excursion 52% lower, insulin
#: 60% lower, about 50 mg/dL lower glucose between 1 and 2 h. Elek et al. 2025 (Sports 13:81):
#: glucose excursion about 32% lower; insulin not reported.
PUBLISHED: dict[str, dict[str, float]] = {
    "hamilton2022": {
        "glucose_iauc_reduction_pct": 52.0,
        "insulin_iauc_reduction_pct": 60.0,
        "glucose_diff_60_120_mgdl": 50.0,
    },
    "elek2025": {"glucose_iauc_reduction_pct": 32.0},
}

#: People and seed of the noise-free cohort that gives the population truth.
N_POPULATION: int = 4000
POPULATION_SEED: int = 1_000_003

#: Minutes after the drink over which ``glucose_diff_60_120_mgdl`` averages the samples.
DIFF_SPAN_MIN: tuple[float, float] = (60.0, 120.0)

_GLUCOSE = "glucose_iauc_mgdl_min"
_INSULIN = "insulin_iauc_uU_ml_min"
_CGM = "iauc_mgdl_min"


@dataclass
class StudyAnalysis:
    """What :func:`analyse_study_files` found in a study's files.

    Attributes
    ----------
    folder : pathlib.Path
        Folder of the manifest.
    manifest : pandas.DataFrame
        :func:`soleus_analysis.app.runner.read_manifest`: ``subject`` and lists of absolute paths
        ``cgm``, ``events``, ``lab``.
    window : (float, float)
        Response window, minutes after the drink.
    baseline : str
        Baseline rule (``"t0"``: the value at the drink).
    lab : pandas.DataFrame
        Lab samples as :func:`~soleus_analysis.io.lab.read_lab` returns them.
    responses : pandas.DataFrame
        One row per person and condition (:func:`~soleus_analysis.insulin.lab_responses`).
    comparison : pandas.DataFrame
        :func:`~soleus_analysis.compare.crossover` rows for glucose and insulin iAUC (lab).
    diff : pandas.DataFrame
        Per person: ``control_mgdl``, ``spu_mgdl`` (mean of the 60-120 min samples, mg/dL) and
        ``diff_mgdl`` (control minus SPU).
    readings, events : pandas.DataFrame
        CGM readings and activity-log events of everyone (empty when the study has no CGM).
    cgm_meals : pandas.DataFrame
        :func:`~soleus_analysis.align.meal_responses` of the CGM (empty without CGM).
    cgm_comparison : pandas.DataFrame
        :func:`~soleus_analysis.compare.crossover` of the CGM iAUC (empty without CGM).
    rules : Rules
        The rules the study was analysed with (``window`` and ``baseline`` above are theirs).
    """

    folder: Path
    manifest: pd.DataFrame
    window: tuple[float, float]
    baseline: str
    lab: pd.DataFrame
    responses: pd.DataFrame
    comparison: pd.DataFrame
    diff: pd.DataFrame
    readings: pd.DataFrame
    events: pd.DataFrame
    cgm_meals: pd.DataFrame
    cgm_comparison: pd.DataFrame
    rules: Rules = field(default_factory=Rules)

    def summary(self) -> dict[str, Any]:
        """Key estimates as plain numbers (JSON-ready; NaN where not available).

        Returns
        -------
        dict
            ``n_participants``, ``glucose_iauc_reduction_mean_ratio_pct`` (%) and
            ``glucose_iauc_reduction_mean_ratio_ci95`` ([low, high], %),
            ``glucose_iauc_p_mean_diff``, ``glucose_iauc_p_wilcoxon``, the same for
            ``insulin_iauc_`` and ``cgm_glucose_iauc_``, ``glucose_diff_60_120_mgdl`` (mg/dL)
            with ``..._ci95``, ``window_min`` and ``baseline``.
        """
        out: dict[str, Any] = {
            "n_participants": int(self.responses["subject"].nunique()),
            "window_min": [float(self.window[0]), float(self.window[1])],
            "baseline": self.baseline,
        }
        rows = self.comparison.set_index("measure")
        for key, measure in (("glucose_iauc", _GLUCOSE), ("insulin_iauc", _INSULIN)):
            out.update(_estimate_keys(key, rows.loc[measure] if measure in rows.index else None))
        cgm = self.cgm_comparison
        out.update(_estimate_keys("cgm_glucose_iauc", cgm.iloc[0] if len(cgm) else None))
        out["cgm_n_participants"] = int(cgm["n_pairs"].iloc[0]) if len(cgm) else 0
        d = self.diff["diff_mgdl"].to_numpy(float)
        d = d[np.isfinite(d)]
        mean = float(d.mean()) if d.size else math.nan
        if d.size > 1:
            half = float(stats.t.ppf(0.975, d.size - 1) * d.std(ddof=1) / np.sqrt(d.size))
        else:
            half = math.nan
        out["glucose_diff_60_120_mgdl"] = mean
        out["glucose_diff_60_120_ci95"] = [mean - half, mean + half]
        return out


#: the estimand reported for each measure (the ratio of mean responses, as the papers report)
ESTIMAND = "reduction_mean_ratio_pct"


def _estimate_keys(key: str, row: pd.Series | None) -> dict[str, Any]:
    """The crossover's ratio of means with its own interval and test, under ``key``."""
    stem = ESTIMAND[: -len("_pct")]
    if row is None:
        nan = math.nan
        return {
            f"{key}_{ESTIMAND}": nan,
            f"{key}_{stem}_ci95": [nan, nan],
            f"{key}_p_mean_diff": nan,
            f"{key}_p_wilcoxon": nan,
        }
    return {
        f"{key}_{ESTIMAND}": float(row[ESTIMAND]),
        f"{key}_{stem}_ci95": [float(row[f"{stem}_ci95_low"]), float(row[f"{stem}_ci95_high"])],
        f"{key}_p_mean_diff": float(row["p_mean_diff"]),
        f"{key}_p_wilcoxon": float(row["p_wilcoxon"]),
    }


def glucose_diff(samples: pd.DataFrame, span: tuple[float, float] = DIFF_SPAN_MIN) -> pd.DataFrame:
    """Per-person difference of mean glucose between control and SPU over a span of samples.

    Parameters
    ----------
    samples : pandas.DataFrame
        Lab samples: ``subject``, ``condition`` (``"control"``/``"spu"``), ``minute`` (min after
        the drink), ``glucose_mgdl`` (mg/dL).
    span : (float, float), default (60, 120)
        Samples with ``span[0] <= minute <= span[1]`` are averaged, minutes.

    Returns
    -------
    pandas.DataFrame
        ``subject``, ``control_mgdl``, ``spu_mgdl`` (mean glucose of the span, mg/dL) and
        ``diff_mgdl`` (control minus SPU, mg/dL; positive = lower with SPU). People lacking a
        condition are left out.
    """
    m = pd.to_numeric(samples["minute"], errors="coerce")
    g = pd.to_numeric(samples["glucose_mgdl"], errors="coerce")
    sel = pd.DataFrame(
        {
            "subject": samples["subject"].astype(str).to_numpy(),
            "condition": samples["condition"].astype(str).to_numpy(),
            "g": g.to_numpy(float),
        }
    )[((m >= span[0]) & (m <= span[1]) & g.notna()).to_numpy()]
    wide = sel.pivot_table(index="subject", columns="condition", values="g", aggfunc="mean")
    for cond in ("control", "spu"):
        if cond not in wide.columns:
            wide[cond] = np.nan
    wide = wide.dropna(subset=["control", "spu"])
    return pd.DataFrame(
        {
            "subject": wide.index.astype(str).to_numpy(),
            "control_mgdl": wide["control"].to_numpy(float),
            "spu_mgdl": wide["spu"].to_numpy(float),
            "diff_mgdl": (wide["control"] - wide["spu"]).to_numpy(float),
        }
    )


def analyse_study_files(
    source: str | PathLike,
    rules: Rules | dict | None = None,
    *,
    seed: int = 0,
) -> StudyAnalysis:
    """Analyse a crossover study from its files only (lab table, CGM exports, activity logs).

    Parameters
    ----------
    source : str or PathLike
        A study folder holding ``manifest.csv`` or the manifest itself: columns ``subject``,
        ``cgm_path``, ``events_path``, ``lab_path`` (relative to the manifest; empty = absent).
    rules : Rules or dict, optional
        The analysis rules (``window``, ``baseline`` for the lab and the CGM alike, ``n_boot``,
        ``crossover_ci``); default the study's ``rules.json``
        (:func:`soleus_analysis.app.runner.study_rules`), else the defaults.
    seed : int
        Seed of the bootstrap.

    Returns
    -------
    StudyAnalysis
        Tables and :meth:`StudyAnalysis.summary`.

    Raises
    ------
    InputError
        Missing manifest or columns, unreadable files (the readers name the file and line).
    """
    people = read_manifest(source)
    lab_files = list(dict.fromkeys(p for files in people["lab"] for p in files))
    if not lab_files:
        raise InputError("the manifest names no lab table (lab_path)", source)
    lab = pd.concat([read_lab(p).samples for p in lab_files], ignore_index=True).drop_duplicates(
        ["subject", "condition", "minute"]
    )
    rules = study_rules(source, rules)
    window, baseline = rules.window, rules.baseline
    responses = lab_responses(lab, window=window, baseline=baseline)
    measures = [_GLUCOSE]
    if responses[_INSULIN].notna().any():
        measures.append(_INSULIN)
    cross = {
        "n_boot": rules.n_boot,
        "seed": seed,
        "ci": rules.ci_level,
        "ci_method": rules.crossover_ci,
        "min_pairs": rules.crossover_min_pairs,
        "max_mean_skew": rules.crossover_max_mean_skew,
    }
    comparison = compare.crossover(responses, measures, **cross)

    readings = [read_cgm(p, subject=r.subject).readings for r in people.itertuples() for p in r.cgm]
    events = [
        read_events(p, subject=r.subject).events for r in people.itertuples() for p in r.events
    ]
    rd = pd.concat(readings, ignore_index=True) if readings else pd.DataFrame()
    ev = pd.concat(events, ignore_index=True) if events else pd.DataFrame()
    cgm_meals, cgm_cmp = pd.DataFrame(), pd.DataFrame()
    if len(rd) and len(ev):
        cgm_meals = meal_responses(rd, ev, rules)
        ok = cgm_meals[cgm_meals["included"]]
        if len(ok):
            cgm_cmp = compare.crossover(ok, _CGM, **cross)
    return StudyAnalysis(
        folder=Path(source) if Path(source).is_dir() else Path(source).parent,
        manifest=people,
        window=window,
        baseline=baseline,
        lab=lab,
        responses=responses,
        comparison=comparison,
        diff=glucose_diff(lab),
        readings=rd,
        events=ev,
        cgm_meals=cgm_meals,
        cgm_comparison=cgm_cmp,
        rules=rules,
    )


def truth_summary(truth: pd.DataFrame, curves: pd.DataFrame | None = None) -> dict[str, float]:
    """Ground-truth reductions from a per-test truth table (for comparison only).

    Parameters
    ----------
    truth : pandas.DataFrame
        ``condition``, ``glucose_iauc_mgdl_min``, ``insulin_iauc_uU_ml_min`` (noise-free,
        baseline t0, over the protocol window), as :attr:`Study.truth` or the
        ``synthetic_<protocol>_truth.csv`` file hold them.
    curves : pandas.DataFrame, optional
        Noise-free curves (``subject``, ``condition``, ``minute``, ``glucose_mgdl``); when given,
        ``true_glucose_diff_60_120_mgdl`` is computed from their 60..120 min samples on the same
        minutes as ``curves`` holds.

    Returns
    -------
    dict
        ``true_glucose_iauc_reduction_pct``, ``true_insulin_iauc_reduction_pct`` (%, the
        simulator's definition, :func:`soleus_analysis.simulate.truth_reduction`) and, with
        ``curves``, ``true_glucose_diff_60_120_mgdl`` (mg/dL).
    """
    out = {f"true_{k}": v for k, v in truth_reduction(truth).items()}
    if curves is not None:
        out["true_glucose_diff_60_120_mgdl"] = float(glucose_diff(curves)["diff_mgdl"].mean())
    return out


@lru_cache(maxsize=16)
def _population_cached(protocol: str, n: int, seed: int) -> tuple[tuple[str, float], ...]:
    return tuple(sorted(population_truth(protocol, n=n, seed=seed).items()))


def population_summary(
    protocol: str, n_population: int = N_POPULATION, seed: int = POPULATION_SEED
) -> dict[str, float]:
    """Population truth of a protocol's estimands (cached): what the study's intervals target.

    Parameters
    ----------
    protocol : str
        Crossover protocol name.
    n_population : int
        People in the noise-free cohort.
    seed : int
        Its seed (independent of the studies').

    Returns
    -------
    dict
        ``population_true_glucose_iauc_reduction_pct``,
        ``population_true_insulin_iauc_reduction_pct`` (%, reduction of the mean iAUC),
        ``population_true_glucose_diff_60_120_mgdl`` (mg/dL) and ``population_n``.
    """
    out = dict(_population_cached(str(protocol), int(n_population), int(seed)))
    return {
        "population_true_glucose_iauc_reduction_pct": float(out["glucose_iauc_reduction_pct"]),
        "population_true_insulin_iauc_reduction_pct": float(out["insulin_iauc_reduction_pct"]),
        "population_true_glucose_diff_60_120_mgdl": float(out["glucose_diff_60_120_mgdl"]),
        "population_n": int(out["n"]),
    }


def read_truth(source: str | PathLike) -> pd.DataFrame:
    """Read the simulator's truth file ``synthetic_<protocol>_truth.csv`` of a study folder.

    For validation only: the analysis never reads it.
    """
    folder = Path(source)
    if folder.is_file():
        folder = folder.parent
    found = sorted(folder.glob("synthetic_*_truth.csv"))
    if not found:
        raise InputError("no synthetic_*_truth.csv in the folder", folder)
    return pd.read_csv(found[0])


def run_reproduction(
    protocol: str = "hamilton2022",
    n: int | None = None,
    seed: int = 0,
    workdir: str | PathLike | None = None,
    n_boot: int = 4000,
    n_population: int = N_POPULATION,
) -> dict[str, Any]:
    """Simulate a study, write its files, analyse them blind, then compare with the truth.

    Parameters
    ----------
    protocol : {"hamilton2022", "elek2025"}
        Crossover protocol of :data:`soleus_analysis.simulate.PROTOCOLS`.
    n : int, optional
        Number of people (default: the protocol's).
    seed : int
        Seed of the simulation and of the bootstrap.
    workdir : str or PathLike, optional
        Folder for the written files (kept); default a temporary folder, removed afterwards.
    n_boot : int
        Bootstrap resamples.
    n_population : int
        People in the noise-free cohort of the population truth (:func:`population_summary`).

    Returns
    -------
    dict
        JSON-ready: ``protocol``, ``synthetic`` (True), ``seed``, ``n_participants``, the
        estimates of :meth:`StudyAnalysis.summary` (reductions in %, CIs as [low, high], p
        values, ``glucose_diff_60_120_mgdl`` in mg/dL, CGM estimate), the **population truth**
        the intervals target (:func:`population_summary`:
        ``population_true_glucose_iauc_reduction_pct``,
        ``population_true_insulin_iauc_reduction_pct``,
        ``population_true_glucose_diff_60_120_mgdl``, ``population_n``), the sample truth of
        the simulated people themselves (descriptive: ``true_glucose_iauc_reduction_pct``,
        ``true_insulin_iauc_reduction_pct``, ``true_glucose_diff_60_120_mgdl`` from the
        noise-free curves at the lab times), ``insulin_reported_by_study`` and
        ``insulin_note``, ``published`` (the papers' headline numbers) and ``files`` (the
        folder when kept, else None).
    """
    study = simulate_study(protocol, n=n, seed=seed)
    proto = study.protocol
    if proto.design != "crossover_ogtt":
        raise InputError(
            f"protocol {protocol!r} is not a crossover study; expected one of "
            "hamilton2022, elek2025"
        )
    rules = Rules(window=(0.0, float(proto.window_min)), baseline="t0", n_boot=n_boot)
    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="soleus_synthetic_") as tmp:
            write_study(study, tmp)
            analysis = analyse_study_files(tmp, rules, seed=seed)
        files = None
    else:
        write_study(study, workdir)
        analysis = analyse_study_files(workdir, rules, seed=seed)
        files = str(Path(workdir))
    result: dict[str, Any] = {"protocol": proto.name, "synthetic": True, "seed": int(seed)}
    result.update(analysis.summary())
    result["rules"] = rules.to_dict()
    result["rules_statement"] = rules.describe()
    # ground truth: read only now, after the blind analysis
    lab_minutes = np.asarray(proto.lab_minutes, dtype=float)
    curves = study.true_curves[study.true_curves["minute"].isin(lab_minutes)]
    true = truth_summary(study.truth, curves)
    result.update(true)
    result.update(population_summary(proto.name, n_population))
    result["insulin_reported_by_study"] = bool(proto.insulin_reported)
    result["insulin_note"] = (
        "reported by the study"
        if proto.insulin_reported
        else "simulated but not reported by the study"
    )
    result["published"] = dict(PUBLISHED.get(proto.name, {}))
    result["files"] = files
    return result


def reproduction_table(result: dict[str, Any]) -> pd.DataFrame:
    """Tidy table of a :func:`run_reproduction` result: estimate, 95% CI and truth per measure.

    Returns
    -------
    pandas.DataFrame
        ``measure``, ``unit``, ``estimate``, ``ci95_low``, ``ci95_high``, ``truth`` (the
        population truth the interval targets), ``covered`` (the CI holds it; False where
        either is missing), ``sample_truth`` (the simulated participants' own noise-free value,
        descriptive), ``published`` (NaN where the paper gives none) and ``note``.
    """
    pub = result.get("published", {}) or {}
    insulin_note = result.get("insulin_note", "")
    specs = [
        ("glucose iAUC reduction of the mean (venous)", "%", "glucose_iauc_reduction_mean_ratio", "true_glucose_iauc_reduction_pct", "glucose_iauc_reduction_pct", ""),
        ("insulin iAUC reduction of the mean (venous)", "%", "insulin_iauc_reduction_mean_ratio", "true_insulin_iauc_reduction_pct", "insulin_iauc_reduction_pct", insulin_note),
        ("glucose iAUC reduction of the mean (CGM)", "%", "cgm_glucose_iauc_reduction_mean_ratio", "true_glucose_iauc_reduction_pct", "glucose_iauc_reduction_pct", "truth is plasma glucose"),
        ("glucose 60-120 min, control - SPU", "mg/dL", "glucose_diff_60_120", "true_glucose_diff_60_120_mgdl", "glucose_diff_60_120_mgdl", ""),
    ]  # fmt: skip
    rows = []
    for label, unit, key, tkey, pkey, note in specs:
        est_key = f"{key}_pct" if unit == "%" else f"{key}_mgdl"
        ci = result.get(f"{key}_ci95", [math.nan, math.nan])
        pop = float(result.get(f"population_{tkey}", math.nan))
        rows.append(
            {
                "measure": label,
                "unit": unit,
                "estimate": float(result.get(est_key, math.nan)),
                "ci95_low": float(ci[0]),
                "ci95_high": float(ci[1]),
                "truth": pop,
                "covered": bool(covered(ci[0], ci[1], pop)),
                "sample_truth": float(result.get(tkey, math.nan)),
                "published": float(pub.get(pkey, math.nan)),
                "note": note
                if math.isfinite(float(result.get(est_key, math.nan)))
                else "not available (no such data in this study)",
            }
        )
    return pd.DataFrame(rows)

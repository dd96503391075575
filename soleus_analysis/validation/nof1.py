"""Validation of the N-of-1 analysis on simulated self-trackers.

:func:`validate_nof1` simulates many self-trackers on the ``freeliving`` protocol (14 days, three
meals a day, 30 min of soleus pushups (SPU) after half of the meals, randomised within blocks of
two meals per meal slot as the planner does, Dexcom G7), runs
the same analysis a self-tracker gets (:func:`soleus_analysis.align.meal_responses` on the noisy
CGM readings and logged events, then :func:`soleus_analysis.compare.n_of_1`) and compares each
person's estimate with that person's *true* effect. :func:`summarise_nof1` turns that into
the two acceptance figures, CI coverage and the false-positive rate without an SPU effect (with
the same summary, coverage rule and interval of a rate as the crossover trials of
:mod:`soleus_analysis.validation.trials`), and :func:`nof1_acceptance` checks them against
:data:`COVERAGE_TARGET_PCT` and :data:`FALSE_POSITIVE_TARGET_PCT`.

The true N-of-1 estimand
------------------------
:func:`~soleus_analysis.compare.n_of_1` estimates ``reduction_geomean_pct = 100 * (1 -
exp(beta))``, ``beta`` the SPU coefficient of ``log(iAUC) ~ 1 + spu + carbs (centred) + meal
period`` fitted to one person's measured meals: the covariate-adjusted ratio of geometric means
of the response with and without SPU. Its truth comes from the generating model, never from an
estimator: the simulator runs every meal of the person noise-free under *both* conditions (the
same meal at the same time after the same earlier meals, once with and once without its SPU
bout; plasma glucose, baseline at the meal, 0-120 min) and defines the person's true effect as

    ``true_pct = 100 * (1 - exp(mean over the person's meals of log(iAUC_spu / iAUC_control)))``

(:func:`soleus_analysis.simulate.person_effect`, over all the person's meals): the average causal
effect on the log scale, which a randomised comparison of the person's meals targets. A
misspecified estimator (wrong covariates, a sensor that distorts the response) shows up as bias
and lost coverage against it. ``true_ratio_of_means_pct`` (ratio of the mean potential outcomes)
is reported alongside, descriptive only.

The randomisation is the planner's: within blocks of two meals per meal slot
(:func:`soleus_analysis.simulate.blocked_assignment`); each meal's block is in the activity log
and the randomisation test re-assigns SPU within those blocks.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..align import meal_responses
from ..compare import n_of_1
from ..core.rules import Rules
from ..simulate import simulate_freeliving
from .trials import binomial_ci, covered, summarise_trials

__all__ = [
    "COVERAGE_TARGET_PCT",
    "FALSE_POSITIVE_TARGET_PCT",
    "nof1_acceptance",
    "summarise_nof1",
    "validate_nof1",
]

#: Acceptance: at least this % of people with an SPU effect have their true reduction in the CI.
COVERAGE_TARGET_PCT: float = 90.0
#: Acceptance: at most this % of people without an SPU effect get ``p_permutation < alpha``.
FALSE_POSITIVE_TARGET_PCT: float = 5.0

#: Columns of :func:`validate_nof1`.
VALIDATION_COLUMNS: tuple[str, ...] = (
    "subject",
    "effect",
    "n_meals",
    "n_spu",
    "n_control",
    "estimate_pct",
    "ci95_low",
    "ci95_high",
    "p_permutation",
    "p_model",
    "true_pct",
    "true_ratio_of_means_pct",
    "covered",
    "significant",
)


def _with_blocks(meals: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """The meal table with each meal's randomisation ``block`` from the logged meal events.

    Design information the self-tracker logged (the planner's block), not the simulator's truth;
    meals without a logged block get their own block each (missing = no restriction).
    """
    if "block" in meals.columns and meals["block"].notna().any():
        return meals
    logged = events.loc[events["kind"] == "meal", ["time", "block"]] if "block" in events else None
    if logged is None or logged.empty:
        return meals.assign(block=None)
    by_time = logged.drop_duplicates("time").set_index("time")["block"]
    return meals.assign(block=pd.to_datetime(meals["meal_time"]).map(by_time).to_numpy())


def _one_person(
    readings: pd.DataFrame,
    events: pd.DataFrame,
    truth: pd.Series,
    *,
    n_perm: int,
    seed: int,
    rules: Rules,
) -> dict[str, Any]:
    meals = _with_blocks(meal_responses(readings, events, rules), events)
    block = "block" if meals["block"].notna().any() else None
    res = n_of_1(meals, n_perm=n_perm, seed=seed, block=block).iloc[0]
    tr = truth
    return {
        "n_meals": int(res["n_meals"]),
        "n_spu": int(res["n_spu"]),
        "n_control": int(res["n_control"]),
        "estimate_pct": float(res["reduction_geomean_pct"]),
        "ci95_low": float(res["reduction_geomean_ci95_low"]),
        "ci95_high": float(res["reduction_geomean_ci95_high"]),
        "p_permutation": float(res["p_permutation"]),
        "p_model": float(res["p_model"]),
        "true_pct": float(tr["true_pct"]),
        "true_ratio_of_means_pct": float(tr["true_ratio_of_means_pct"]),
    }


def validate_nof1(
    n_people: int = 100,
    effect: bool = True,
    seed: int = 0,
    *,
    n_perm: int = 2000,
    alpha: float = 0.05,
    rules: Rules | dict | None = None,
    **overrides: Any,
) -> pd.DataFrame:
    """Simulate self-trackers and check the N-of-1 analysis against each one's truth.

    Parameters
    ----------
    n_people : int
        Number of simulated people (each a 14-day ``freeliving`` experiment by default).
    effect : bool
        True: the calibrated SPU effect; False: no effect (``spu_gain=0``), SPU bouts still
        logged and randomised, so any "significant" result is a false positive.
    seed : int
        Seed of the simulation (people, meals, randomisation, sensors) and of the tests.
    n_perm : int
        Re-assignments of the randomisation test per person.
    alpha : float
        Significance level for the ``significant`` column (on ``p_permutation``).
    rules : Rules or dict, optional
        The analysis rules (default :class:`~soleus_analysis.core.rules.Rules`, the
        self-tracker's; the insulin proxy is switched off).
    **overrides
        Protocol fields of the ``freeliving`` protocol (e.g. ``days=7``).

    Returns
    -------
    DataFrame
        One row per person, columns :data:`VALIDATION_COLUMNS`: meal counts, the estimate and
        CI (%), ``p_permutation`` (randomisation test within the logged blocks), ``p_model``,
        ``true_pct`` (the person's true effect from the potential outcomes, see the module
        docstring, %), ``true_ratio_of_means_pct`` (%, descriptive), ``covered`` (truth inside
        the CI) and ``significant`` (``p_permutation < alpha``).
    """
    if n_people < 1:
        raise ValueError(f"n_people must be >= 1, got {n_people}")
    if not effect:
        overrides = {**overrides, "spu_gain": 0.0}
    study = simulate_freeliving(n=n_people, seed=seed, **overrides)
    # the self-tracker's rules; the insulin proxy is not validated here
    r = Rules.coerce(rules).replace(insulin_proxy=False)
    cgm = study.cgm.groupby("subject", sort=False)
    ev = study.events.groupby("subject", sort=False)
    # the truth, from the simulator's potential outcomes: read only to compare, after analysis
    tr = study.person_truth().rename(columns={"true_reduction_geomean_pct": "true_pct"})
    tr = tr.set_index("subject")
    seeds = np.random.SeedSequence(seed).generate_state(len(study.subjects))
    rows = []
    for subj, s in zip(study.subjects, seeds, strict=True):
        row = _one_person(
            cgm.get_group(subj),
            ev.get_group(subj),
            tr.loc[subj],
            n_perm=n_perm,
            seed=int(s),
            rules=r,
        )
        rows.append({"subject": subj, "effect": bool(effect), **row})
    out = pd.DataFrame(rows)
    out["covered"] = covered(out["ci95_low"], out["ci95_high"], out["true_pct"])
    out["significant"] = out["p_permutation"] < alpha
    return out.loc[:, list(VALIDATION_COLUMNS)]


def summarise_nof1(df: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Acceptance figures of :func:`validate_nof1` results, one row per ``effect`` setting.

    The summary of :func:`soleus_analysis.validation.trials.summarise_trials` (each person one
    trial, the truth that person's true N-of-1 reduction), plus the rate of positive tests.

    Parameters
    ----------
    df : DataFrame
        Output of :func:`validate_nof1` (one or both effect settings stacked).
    alpha : float
        Significance level (on ``p_permutation``).

    Returns
    -------
    DataFrame
        ``effect``, ``n_people``, ``n_covered`` and ``coverage_pct`` (people and % of people
        whose CI holds their true reduction) with ``coverage_ci95_low``/``coverage_ci95_high``
        (Wilson interval, %), ``n_positive`` and ``positive_pct`` (people and % with
        ``p_permutation < alpha``: power with an effect, the false-positive rate without) with
        ``positive_ci95_low``/``positive_ci95_high``,
        ``false_positive_pct`` (same figure, NaN when ``effect`` is True),
        ``mean_estimate_pct``, ``mean_true_pct``, ``mean_bias_pp`` (estimate minus truth,
        percentage points; over the people with an estimate), ``median_ci_width_pp``, and the
        rest of the trial summary (``n_failed``, ``bias_se_pp``, ``rmse_pp``,
        ``sd_estimate_pp``, ``mean_ci_width_pp``).
    """
    tab = df.assign(
        estimate=df["estimate_pct"],
        error=df["estimate_pct"] - df["true_pct"],
        positive=(df["p_permutation"] < alpha).to_numpy(bool),
    ).sort_values("effect", kind="stable")
    out = summarise_trials(tab, by=["effect"]).rename(
        columns={
            "n_trials": "n_people",
            "mean_estimate": "mean_estimate_pct",
            "mean_truth": "mean_true_pct",
            "bias_pp": "mean_bias_pp",
        }
    )
    positives = tab.groupby("effect")["positive"].agg(["sum", "size"]).reindex(out["effect"])
    out["effect"] = out["effect"].astype(bool)
    out["n_positive"] = positives["sum"].to_numpy(int)
    out["positive_pct"] = 100.0 * (positives["sum"] / positives["size"]).to_numpy(float)
    limits = [binomial_ci(int(k), int(n)) for k, n in positives.to_numpy()]
    out["positive_ci95_low"] = [lo for lo, _ in limits]
    out["positive_ci95_high"] = [hi for _, hi in limits]
    out["false_positive_pct"] = np.where(out["effect"], np.nan, out["positive_pct"])
    first = [
        "effect",
        "n_people",
        "n_covered",
        "coverage_pct",
        "coverage_ci95_low",
        "coverage_ci95_high",
        "n_positive",
        "positive_pct",
        "positive_ci95_low",
        "positive_ci95_high",
        "false_positive_pct",
        "mean_estimate_pct",
        "mean_true_pct",
        "mean_bias_pp",
        "median_ci_width_pp",
    ]
    return out[first + [c for c in out.columns if c not in first]].reset_index(drop=True)


def nof1_acceptance(summary: pd.DataFrame) -> bool:
    """Whether :func:`summarise_nof1` figures meet the N-of-1 acceptance targets.

    Coverage with an SPU effect at least :data:`COVERAGE_TARGET_PCT` and the false-positive
    rate without one at most :data:`FALSE_POSITIVE_TARGET_PCT`; both settings are needed.

    Parameters
    ----------
    summary : DataFrame
        :func:`summarise_nof1` of results with and without an effect.

    Returns
    -------
    bool
    """
    rows = summary.set_index("effect")
    if not {True, False} <= set(rows.index):
        raise ValueError("the acceptance needs results with and without an SPU effect")
    return bool(
        rows.loc[True, "coverage_pct"] >= COVERAGE_TARGET_PCT
        and rows.loc[False, "false_positive_pct"] <= FALSE_POSITIVE_TARGET_PCT
    )

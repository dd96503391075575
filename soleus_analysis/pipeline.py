"""One call from a person's recordings (or a cohort's) to everything a report or notebook shows.

This module only chains analysis functions; it opens no files (the CLI and cohort runner read
files, then call these).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .recording import Provenance, Recording, combine_person  # noqa: F401 (re-exported)

#: the defaults of the analysis rules, shown in reports and the CLI help; the CGM-only insulin
#: proxy (a model, not a measurement) is computed for every meal
DEFAULT_RULES: dict[str, Any] = {"window": (0, 120), "baseline": "premeal", "insulin_proxy": True}

#: the per-meal column of the CGM-only insulin-exposure proxy (pmol/L·min)
PROXY_COLUMN = "insulin_proxy_iauc_pmol_l_min"

#: fewest included meals per condition before an effect is estimated at all
MIN_MEALS_PER_CONDITION = 3


@dataclass
class PersonAnalysis:
    """Everything the self-tracker report draws, as returned by :func:`analyze_person`.

    Attributes
    ----------
    subject : str
        The person's id (never a name from an export preamble).
    readings, events : DataFrame
        Canonical frames the analysis used.
    metrics : DataFrame
        One row of :func:`soleus_analysis.metrics.glycemic_metrics`.
    agp : DataFrame
        :func:`soleus_analysis.metrics.agp_percentiles` for this person.
    meals : DataFrame
        :func:`soleus_analysis.align.meal_responses`, one row per meal (excluded ones too).
    curves : DataFrame
        :func:`soleus_analysis.align.meal_curves` of the included meals.
    effect : DataFrame or None
        :func:`soleus_analysis.compare.n_of_1` (one row) when both conditions have enough meals.
    dose : DataFrame or None
        :func:`soleus_analysis.compare.dose_response` when SPU minutes vary enough.
    verdict : str
        Plain-language answer from :func:`soleus_analysis.compare.verdict`.
    insulin_proxy_effect : DataFrame or None
        :func:`soleus_analysis.compare.n_of_1` on the CGM-only insulin-exposure *proxy*
        (:data:`PROXY_COLUMN`): a model's estimate, not measured insulin.
    sources : list of Provenance
        Row accounts of every file read.
    synthetic : bool
        True when any source is synthetic data.
    rules : dict
        The window/baseline/condition rules used.
    """

    subject: str
    readings: pd.DataFrame
    events: pd.DataFrame
    metrics: pd.DataFrame
    agp: pd.DataFrame
    meals: pd.DataFrame
    curves: pd.DataFrame
    effect: pd.DataFrame | None
    dose: pd.DataFrame | None
    verdict: str
    insulin_proxy_effect: pd.DataFrame | None = None
    sources: list[Provenance] = field(default_factory=list)
    synthetic: bool = False
    rules: dict[str, Any] = field(default_factory=dict)


@dataclass
class CohortAnalysis:
    """Everything the cohort report draws, as returned by :func:`analyze_cohort`.

    Attributes
    ----------
    people : DataFrame
        One row per person: ``subject``, ``n_control``, ``n_spu`` (included meals),
        ``coverage_pct``, ``reduction_pct`` and, with several meals per condition, its CI.
    pooled : DataFrame
        Pooled estimate rows (``method``, ``reduction_pct``, ``ci95_low``, ``ci95_high``, ``p``).
    meals : DataFrame
        All people's per-meal tables stacked.
    curves : DataFrame
        All people's meal curves stacked.
    failed : DataFrame
        People whose files could not be read: ``subject``, ``error``.
    sources : list of Provenance
    synthetic : bool
    rules : dict
    """

    people: pd.DataFrame
    pooled: pd.DataFrame
    meals: pd.DataFrame
    curves: pd.DataFrame
    failed: pd.DataFrame
    sources: list[Provenance] = field(default_factory=list)
    synthetic: bool = False
    rules: dict[str, Any] = field(default_factory=dict)


def is_synthetic(sources: Sequence[Provenance]) -> bool:
    """True when any source file is marked synthetic (in its name or its metadata)."""
    return any(
        "synthetic" in str(p.path).lower() or bool(p.metadata.get("synthetic")) for p in sources
    )


def split_rules(rules: dict[str, Any] | None) -> dict[str, Any]:
    """Complete ``rules`` with :data:`DEFAULT_RULES`."""
    return {**DEFAULT_RULES, **(rules or {})}


def person_meals(
    rec: Recording, rules: dict[str, Any] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-meal responses and the included meals' curves of one person.

    Returns
    -------
    meals : DataFrame
        :func:`soleus_analysis.align.meal_responses` (every meal, excluded ones with a reason).
    curves : DataFrame
        :func:`soleus_analysis.align.meal_curves` of the included meals.
    """
    from .align import meal_curves, meal_responses

    r = split_rules(rules)
    meals = meal_responses(rec.readings, rec.events, **r)
    included = meals[meals["excluded_reason"].isna()]
    curves = (
        meal_curves(rec.readings, included, baseline=r["baseline"])
        if len(included)
        else _no_curves()
    )
    return meals, curves


def _no_curves() -> pd.DataFrame:
    return pd.DataFrame(
        columns=["subject", "meal_time", "condition", "minute", "glucose_mgdl", "delta_mgdl"]
    )


def _enough(meals: pd.DataFrame) -> bool:
    ok = meals[meals["excluded_reason"].isna()]
    counts = ok["condition"].value_counts()
    return all(counts.get(c, 0) >= MIN_MEALS_PER_CONDITION for c in ("control", "spu"))


def person_effect(
    meals: pd.DataFrame, *, seed: int = 0
) -> tuple[pd.DataFrame | None, pd.DataFrame | None, str]:
    """The person's own SPU effect (N-of-1), dose-response and plain-language verdict.

    With fewer than :data:`MIN_MEALS_PER_CONDITION` included meals in either condition no
    effect is estimated and the verdict says so. The dose-response is left out (``None``) when
    SPU minutes hardly vary or the covariates cannot be separated.
    """
    from . import compare
    from .errors import InputError

    ok = meals[meals["excluded_reason"].isna()] if len(meals) else meals
    counts = ok["condition"].value_counts() if len(ok) else pd.Series(dtype=int)
    if len(meals) == 0 or not _enough(meals):
        row = {
            "reduction_pct": float("nan"),
            "ci95_low": float("nan"),
            "ci95_high": float("nan"),
            "n_spu": int(counts.get("spu", 0)),
            "n_control": int(counts.get("control", 0)),
        }
        return None, None, compare.verdict(row)
    effect = compare.n_of_1(meals, seed=seed)
    spu = ok[ok["condition"] == "spu"]
    dose = None
    if spu["spu_minutes"].nunique() >= 3 and len(spu) >= 6:
        try:
            dose = compare.dose_response(meals)
        except InputError:
            dose = None
    return effect, dose, compare.verdict(effect.iloc[0])


def analyze_person(
    rec: Recording, rules: dict[str, Any] | None = None, *, seed: int = 0
) -> PersonAnalysis:
    """Run the whole self-tracker analysis on one person's recording.

    Parameters
    ----------
    rec : Recording
        Readings and events of one person (see :func:`combine_person`).
    rules : dict, optional
        Options of :func:`soleus_analysis.align.meal_responses` (``window`` in minutes,
        ``baseline``, SPU span, exclusion thresholds); defaults :data:`DEFAULT_RULES`.
    seed : int
        Seed of the randomisation test and bootstrap.
    """
    from . import compare
    from .metrics import agp_percentiles, glycemic_metrics

    r = split_rules(rules)
    subject = rec.subjects[0] if rec.subjects else "subject"
    meals, curves = person_meals(rec, r) if len(rec.events) else (_empty_meals(), _no_curves())
    effect, dose, verdict = person_effect(meals, seed=seed)
    proxy = None
    if effect is not None and PROXY_COLUMN in meals:
        proxy = compare.n_of_1(meals, PROXY_COLUMN, seed=seed)
    return PersonAnalysis(
        subject=subject,
        readings=rec.readings,
        events=rec.events,
        metrics=glycemic_metrics(rec.readings),
        agp=agp_percentiles(rec.readings),
        meals=meals,
        curves=curves,
        effect=effect,
        dose=dose,
        verdict=verdict,
        insulin_proxy_effect=proxy,
        sources=list(rec.sources),
        synthetic=is_synthetic(rec.sources),
        rules=r,
    )


def _empty_meals() -> pd.DataFrame:
    return pd.DataFrame(
        columns=[
            "subject",
            "meal_time",
            "carbs_g",
            "condition",
            "spu_minutes",
            "iauc_mgdl_min",
            "excluded_reason",
        ]
    )


def analyze_cohort(
    meals: pd.DataFrame,
    curves: pd.DataFrame,
    *,
    coverage: pd.DataFrame | None = None,
    failed: pd.DataFrame | None = None,
    sources: Sequence[Provenance] = (),
    rules: dict[str, Any] | None = None,
    seed: int = 0,
) -> CohortAnalysis:
    """Pool many people's per-meal tables: per-person reductions, crossover and mixed model.

    Parameters
    ----------
    meals : DataFrame
        Stacked per-meal tables of all people.
    curves : DataFrame
        Stacked meal curves.
    coverage : DataFrame, optional
        ``subject``, ``coverage_pct`` per person.
    failed : DataFrame, optional
        People skipped: ``subject``, ``error``.
    """
    from . import compare

    ok = meals[meals["excluded_reason"].isna()]
    counts = ok.pivot_table(
        index="subject", columns="condition", values="iauc_mgdl_min", aggfunc="count"
    )
    people = compare.per_person(ok, "iauc_mgdl_min")
    people = people.merge(
        counts.rename(columns={"control": "n_control", "spu": "n_spu"})[
            ["n_control", "n_spu"]
        ].reset_index(),
        on="subject",
        how="left",
    )
    several = counts.fillna(0).min(axis=1) >= MIN_MEALS_PER_CONDITION if len(counts) else counts
    if len(counts) and several.any():
        # people with several meals per condition: their own (covariate-adjusted) estimate and CI
        own = compare.n_of_1(ok[ok["subject"].isin(several[several].index)], n_perm=0, seed=seed)
        own = own[["subject", "reduction_pct", "ci95_low", "ci95_high"]]
        people = people.drop(columns=["reduction_pct"]).merge(own, on="subject", how="left")
        simple = compare.per_person(ok, "iauc_mgdl_min").set_index("subject")["reduction_pct"]
        people["reduction_pct"] = people["reduction_pct"].fillna(people["subject"].map(simple))
    if coverage is not None:
        people = people.merge(coverage, on="subject", how="left")
    pooled_rows = []
    cross = compare.crossover(ok, "iauc_mgdl_min", seed=seed).iloc[0]
    pooled_rows.append(
        {
            "method": "paired crossover, bootstrap CI",
            "reduction_pct": cross["reduction_pct"],
            "ci95_low": cross["ci95_low"],
            "ci95_high": cross["ci95_high"],
            "p": cross["p_ttest"],
        }
    )
    if (ok.groupby("subject").size() > 2).any():
        mm = compare.mixed_model(ok, "iauc_mgdl_min")
        red = mm[mm["term"] == "reduction_pct"].iloc[0]
        eff = mm[mm["term"].str.contains("spu")].iloc[0]
        pooled_rows.insert(
            0,
            {
                "method": "mixed model (random intercept per person)",
                "reduction_pct": red["estimate"],
                "ci95_low": red["ci95_low"],
                "ci95_high": red["ci95_high"],
                "p": eff["p"],
            },
        )
    return CohortAnalysis(
        people=people,
        pooled=pd.DataFrame(pooled_rows),
        meals=meals,
        curves=curves,
        failed=failed if failed is not None else pd.DataFrame(columns=["subject", "error"]),
        sources=list(sources),
        synthetic=is_synthetic(sources),
        rules=split_rules(rules),
    )

"""One call from a person's recordings (or a cohort's) to everything a report or notebook shows.

This module only chains analysis functions; it opens no files (the CLI and cohort runner read
files, then call these).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .core.recording import Provenance, Recording, combine_person  # noqa: F401 (re-exported)
from .core.schema import DEFAULT_SUBJECT

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
    from .core.errors import InputError

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


def _span(times: pd.Series) -> str:
    t = pd.to_datetime(times).dropna()
    return f"{t.min():%d %b %Y} to {t.max():%d %b %Y}" if len(t) else "no dates"


def missing_data_verdict(
    readings: pd.DataFrame, events: pd.DataFrame, meals: pd.DataFrame
) -> str | None:
    """Why a person's files allow no comparison of meals with and without SPU, in plain words.

    Checked in order: no glucose readings; no meals logged (naming what the files do hold);
    meals that all fall outside the CGM period (both periods given); no SPU bout at all, or
    none near a meal. Returns None when meals and SPU bouts are there (the estimate's own
    verdict then speaks, e.g. "not enough meals yet").

    Parameters
    ----------
    readings, events : DataFrame
        The person's canonical readings and events.
    meals : DataFrame
        Their :func:`soleus_analysis.align.meal_responses` table.
    """
    kinds = events["kind"].astype(str).str.lower() if len(events) else pd.Series(dtype=str)
    n_meal_events = int((kinds == "meal").sum())
    n_spu = int((kinds == "spu").sum())
    how_meals = (
        "Log each meal's time (and carbs if you know them) in your CGM app, a Cronometer or "
        "MyFitnessPal export, or the soleus activity log (a CSV: start,end,duration_min,kind,"
        "intensity,carbs_g,notes with kind 'meal')."
    )
    how_spu = (
        "Log each SPU bout with its start and end or duration: a row of kind 'spu' in the "
        "activity log, an exercise entry or a note such as 'SPU 30' in your CGM app, or an "
        "Apple Health workout named soleus pushups; `soleus plan` draws which meals get SPU."
    )
    if len(readings) == 0:
        return (
            "No glucose readings were found in the CGM file(s), so nothing can be measured. "
            "Check that the file is the full CGM export (`soleus inspect FILE` shows what was read)."
        )
    if n_meal_events == 0:
        other = kinds[kinds != "meal"].value_counts()
        held = ", ".join(f"{n} {k} entr{'y' if n == 1 else 'ies'}" for k, n in other.items())
        return (
            "No meals logged, so meal responses cannot be measured"
            + (f" (the files hold {held}, but no meal)" if held else "")
            + ". "
            + how_meals
        )
    if len(meals) and (meals["excluded_reason"].astype(str) == "no readings").all():
        return (
            f"Your meal log covers {_span(events.loc[kinds == 'meal', 'time'])}, your CGM data "
            f"{_span(readings['time'])}: no meal falls in the CGM period, so no meal response "
            "can be measured. Give the log and the CGM export of the same weeks."
        )
    included = meals["excluded_reason"].isna() if len(meals) else pd.Series(dtype=bool)
    if len(meals) and not included.any():
        reasons = meals["excluded_reason"].astype(str).value_counts().head(3)
        why = "; ".join(f"{n} {r}" for r, n in reasons.items())
        return (
            f"{len(meals)} meal{'s' if len(meals) != 1 else ''} found, but none could be "
            f"measured ({why}): each needs CGM readings from 30 min before it to the end of its "
            "window."
        )
    if n_spu == 0:
        return "No SPU bouts found in your files, so there is nothing to compare yet. " + how_spu
    spu_times = events.loc[kinds == "spu", "time"]
    t = readings["time"]
    if not spu_times.between(t.min(), t.max()).any():
        return (
            f"Your SPU bouts cover {_span(spu_times)}, your CGM data {_span(t)}: no bout falls "
            "in the CGM period, so every measured meal counts as a meal without SPU. Give the "
            "log and the CGM export of the same weeks."
        )
    if not (included & (meals["condition"] == "spu")).any():
        return (
            f"{n_spu} SPU bout{'s' if n_spu != 1 else ''} found, but none during a meal's "
            "window, so every meal counts as a meal without SPU. Do the SPU in the minutes after "
            "you start eating, and log the meal and the bout with their times."
        )
    return None


def analyze_person(
    rec: Recording, rules: dict[str, Any] | None = None, *, seed: int = 0
) -> PersonAnalysis:
    """Run the whole self-tracker analysis on one person's recording.

    Every readable recording gives a result: without meals, SPU bouts, or overlap between the
    log and the CGM period the meal analysis is empty and ``verdict`` says what is missing
    (:func:`missing_data_verdict`).

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
    subject = rec.subjects[0] if rec.subjects else DEFAULT_SUBJECT
    meals, curves = person_meals(rec, r)
    effect, dose, verdict = person_effect(meals, seed=seed)
    missing = missing_data_verdict(rec.readings, rec.events, meals)
    if missing is not None and effect is None:
        verdict = missing
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


#: columns of :attr:`CohortAnalysis.pooled`
POOLED_COLUMNS = ["method", "reduction_pct", "ci95_low", "ci95_high", "p", "note"]


def _pooled_row(method: str, fit: Any, ok: pd.DataFrame) -> dict[str, Any]:
    """One pooled estimate; a model that cannot be fitted says why in ``note``, never raises."""
    import numpy as np

    nan = float("nan")
    row = {"method": method, "reduction_pct": nan, "ci95_low": nan, "ci95_high": nan, "p": nan}
    n_people = ok["subject"].nunique() if len(ok) else 0
    try:
        row.update(fit())
        row["note"] = None
    except (np.linalg.LinAlgError, ValueError, ZeroDivisionError, IndexError, KeyError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        row["note"] = f"could not be fitted with {n_people} people ({reason})"
    if row["note"] is None and not np.isfinite(float(row["reduction_pct"])):
        row["note"] = f"too few people with meals in both conditions ({n_people} with meals)"
    return row


def _crossover_row(compare: Any, ok: pd.DataFrame, seed: int) -> dict[str, Any]:
    cross = compare.crossover(ok, "iauc_mgdl_min", seed=seed).iloc[0]
    return {
        "reduction_pct": cross["reduction_pct"],
        "ci95_low": cross["ci95_low"],
        "ci95_high": cross["ci95_high"],
        "p": cross["p_ttest"],
    }


def _mixed_row(compare: Any, ok: pd.DataFrame) -> dict[str, Any]:
    mm = compare.mixed_model(ok, "iauc_mgdl_min")
    red = mm[mm["term"] == "reduction_pct"].iloc[0]
    eff = mm[mm["term"].str.contains("spu")].iloc[0]
    return {
        "reduction_pct": red["estimate"],
        "ci95_low": red["ci95_low"],
        "ci95_high": red["ci95_high"],
        "p": eff["p"],
    }


def _cohort_people(ok: pd.DataFrame, coverage: pd.DataFrame | None, *, seed: int) -> pd.DataFrame:
    """One row per person with included meals: meals per condition, reduction and its CI."""
    from . import compare

    cols = ["subject", "n_control", "n_spu"]
    if len(ok) == 0:
        people = pd.DataFrame(columns=[*cols, "reduction_pct"])
    else:
        counts = (
            ok.pivot_table(
                index="subject", columns="condition", values="iauc_mgdl_min", aggfunc="count"
            )
            .reindex(columns=["control", "spu"])
            .fillna(0)
            .astype(int)
        )
        people = compare.per_person(ok, "iauc_mgdl_min").merge(
            counts.rename(columns={"control": "n_control", "spu": "n_spu"}).reset_index(),
            on="subject",
            how="left",
        )
        several = counts.min(axis=1) >= MIN_MEALS_PER_CONDITION
        if several.any():
            # people with several meals per condition: their own (covariate-adjusted) estimate
            own = compare.n_of_1(
                ok[ok["subject"].isin(several[several].index)], n_perm=0, seed=seed
            )
            own = own[["subject", "reduction_pct", "ci95_low", "ci95_high"]]
            simple = people.set_index("subject")["reduction_pct"]
            people = people.drop(columns=["reduction_pct"]).merge(own, on="subject", how="left")
            people["reduction_pct"] = people["reduction_pct"].fillna(people["subject"].map(simple))
    if coverage is not None and len(people):
        people = people.merge(coverage, on="subject", how="left")
    return people


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

    ok = meals[meals["excluded_reason"].isna()] if len(meals) else meals
    people = _cohort_people(ok, coverage, seed=seed)
    pooled_rows = [
        _pooled_row("paired crossover, bootstrap CI", lambda: _crossover_row(compare, ok, seed), ok)
    ]
    if len(ok) and (ok.groupby("subject").size() > 2).any():
        pooled_rows.insert(
            0,
            _pooled_row(
                "mixed model (random intercept per person)", lambda: _mixed_row(compare, ok), ok
            ),
        )
    return CohortAnalysis(
        people=people,
        pooled=pd.DataFrame(pooled_rows, columns=POOLED_COLUMNS),
        meals=meals,
        curves=curves,
        failed=failed if failed is not None else pd.DataFrame(columns=["subject", "error"]),
        sources=list(sources),
        synthetic=is_synthetic(sources),
        rules=split_rules(rules),
    )

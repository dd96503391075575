"""One call from a person's recordings (or many people's meal tables) to everything a report,
notebook or table shows.

This module only chains analysis functions; it opens no files (the command line and the runner
read files, then call these). The chain, for one person (:func:`analyze_person`):
:func:`soleus_analysis.clean.clean` -> :func:`soleus_analysis.align.meal_responses` and
:func:`~soleus_analysis.align.meal_curves` -> :func:`soleus_analysis.metrics.glycemic_metrics`
-> :func:`person_effect` (the N-of-1 estimate, dose-response, verdict). For many people
(:func:`pool_people`): per-person means, the paired crossover and the mixed model. Every step
takes the same :class:`~soleus_analysis.core.rules.Rules`, and every result keeps it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from . import stats
from .align import REASON_NO_READINGS, meal_curves, meal_responses
from .clean import CleanReadings, clean
from .core.errors import InputError
from .core.recording import Provenance, Recording, combine_person  # noqa: F401 (re-exported)
from .core.rules import Rules
from .core.schema import DEFAULT_SUBJECT
from .metrics import agp_percentiles, agp_period, glycemic_metrics

#: the per-meal column of the CGM-only insulin-exposure proxy (pmol/L·min)
PROXY_COLUMN = "insulin_proxy_iauc_pmol_l_min"
#: the estimand of one person's effect (:func:`soleus_analysis.stats.n_of_1`)
PERSON_ESTIMAND = "reduction_geomean_pct"
#: the estimand of the pooled and per-person figures of a cohort (ratio of arithmetic means)
COHORT_ESTIMAND = "reduction_mean_ratio_pct"


@dataclass
class PersonAnalysis:
    """Everything the self-tracker report draws, as returned by :func:`analyze_person`.

    Attributes
    ----------
    subject : str
        The person's id (never a name from an export preamble).
    readings : DataFrame
        The clean readings the analysis used (:func:`soleus_analysis.clean.clean`).
    events : DataFrame
        Canonical events.
    metrics : DataFrame
        One row of :func:`soleus_analysis.metrics.glycemic_metrics` over all the readings.
    agp : DataFrame
        :func:`soleus_analysis.metrics.agp_percentiles` of the AGP period
        (:attr:`agp_period`: the last ``rules.agp_days`` days).
    meals : DataFrame
        :func:`soleus_analysis.align.meal_responses`, one row per meal (excluded ones too).
    curves : DataFrame
        :func:`soleus_analysis.align.meal_curves` of the included meals.
    effect : DataFrame or None
        :func:`soleus_analysis.stats.n_of_1` (one row; estimand :data:`PERSON_ESTIMAND`) when
        both conditions have enough meals.
    dose : DataFrame or None
        :func:`soleus_analysis.stats.dose_response` when SPU minutes vary enough.
    verdict : str
        Plain-language answer (:func:`soleus_analysis.stats.verdict`, or what is missing).
    insulin_proxy_effect : DataFrame or None
        :func:`soleus_analysis.stats.n_of_1` on the CGM-only insulin-exposure *proxy*
        (:data:`PROXY_COLUMN`): a model's estimate, not measured insulin.
    sources : list of Provenance
        Row accounts of every file read.
    cleaning : dict
        Readings the clean stage dropped, by reason.
    synthetic : bool
        True when any source is synthetic data.
    rules : Rules
        The rules used.
    bayes : DataFrame or None
        :func:`soleus_analysis.stats.bayes.bayes_n_of_1` (one row): the posterior of the
        person's reduction, ``P(reduction >= x)`` for the rules' thresholds and the sequential
        rule's decision, when the effect is estimated.
    agp_period : Series or None
        :func:`soleus_analysis.metrics.agp_period` (start, end, days, % time CGM active).
    period_metrics : DataFrame or None
        :func:`soleus_analysis.metrics.glycemic_metrics` of the readings in the AGP period (the
        numbers of the report's page 1).
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
    cleaning: dict[str, int] = field(default_factory=dict)
    synthetic: bool = False
    rules: Rules = field(default_factory=Rules)
    bayes: pd.DataFrame | None = None
    agp_period: pd.Series | None = None
    period_metrics: pd.DataFrame | None = None


@dataclass
class CohortAnalysis:
    """Everything the cohort report draws, as returned by :func:`pool_people`.

    Attributes
    ----------
    people : DataFrame
        One row per person with included meals: ``subject``, ``n_control``, ``n_spu``,
        ``coverage_pct``, ``control``, ``treatment`` (mean responses), and
        ``reduction_mean_ratio_pct`` (from the person's means); with several meals per
        condition also ``reduction_geomean_pct`` and its interval (the person's own N-of-1).
    pooled : DataFrame
        Pooled estimates, columns :data:`POOLED_COLUMNS` (interval columns named from the
        rules' level): ``method``, ``estimand``, ``estimate_pct``, the interval, ``p``, ``test``,
        ``n_people``, ``note`` (why a row has no estimate).
    meals : DataFrame
        All people's per-meal tables stacked.
    curves : DataFrame
        All people's meal curves stacked.
    failed : DataFrame
        People skipped: ``subject``, ``error``.
    sources : list of Provenance
    synthetic : bool
    rules : Rules
    nof1_series : tuple of DataFrame or None
        :func:`nof1_series`: the population row and the per-person (shrunken) rows of the
        pooled series of people's own N-of-1 experiments, when at least two people have one.
    """

    people: pd.DataFrame
    pooled: pd.DataFrame
    meals: pd.DataFrame
    curves: pd.DataFrame
    failed: pd.DataFrame
    sources: list[Provenance] = field(default_factory=list)
    synthetic: bool = False
    rules: Rules = field(default_factory=Rules)
    nof1_series: tuple[pd.DataFrame, pd.DataFrame] | None = None


def nof1_series(
    meals: pd.DataFrame,
    rules: Rules | dict | None = None,
    *,
    posteriors: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """The pooled series of people's own N-of-1 experiments (several meals per condition each).

    Each person's Bayesian N-of-1 summary (:func:`person_posterior`) enters
    :func:`soleus_analysis.stats.bayes.pooled_n_of_1`; None when fewer than 2 people have an
    estimate (a lab crossover, one test per condition, has none). ``posteriors``: those
    summaries already computed person by person (the cohort runner does so where each person
    was read); default: computed here from ``meals``.
    """
    from .stats import bayes

    rules = Rules.coerce(rules)
    if not len(meals):
        return None
    rows = person_posterior(meals, rules) if posteriors is None else posteriors
    if not len(rows):
        return None
    ok = rows[np.isfinite(rows["log_ratio_se"].to_numpy(float))]
    if len(ok) < 2:
        return None
    return bayes.pooled_n_of_1(ok, ci=rules.ci_level, thresholds=rules.bayes_thresholds_pct)


def is_synthetic(sources: Sequence[Provenance]) -> bool:
    """True when any source file is marked synthetic (in its name or its metadata)."""
    return any(
        "synthetic" in str(p.path).lower() or bool(p.metadata.get("synthetic")) for p in sources
    )


def person_meals(
    rec: Recording | CleanReadings,
    events: pd.DataFrame | None = None,
    rules: Rules | dict | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, CleanReadings]:
    """Per-meal responses and the included meals' curves of one person, from one clean stage.

    Parameters
    ----------
    rec : Recording or CleanReadings
        The person's recording (its events are used when ``events`` is None), or readings
        already through :func:`soleus_analysis.clean.clean`.
    events : DataFrame, optional
        Events; default the recording's.
    rules : Rules or dict, optional

    Returns
    -------
    meals : DataFrame
        :func:`soleus_analysis.align.meal_responses` (every meal, excluded ones with a reason).
    curves : DataFrame
        :func:`soleus_analysis.align.meal_curves` of the included meals.
    cleaned : CleanReadings
        The clean stage's output the two were computed from.
    """
    rules = Rules.coerce(rules)
    events = rec.events if events is None else events
    cleaned = clean(rec, rules)
    meals = meal_responses(cleaned, events, rules)
    included = meals[meals["excluded_reason"].isna()]
    curves = meal_curves(cleaned, included, rules=rules) if len(included) else _no_curves()
    return meals, curves, cleaned


def _no_curves() -> pd.DataFrame:
    return pd.DataFrame(
        columns=["subject", "meal_time", "condition", "minute", "glucose_mgdl", "delta_mgdl"]
    )


def _counts(meals: pd.DataFrame) -> dict[str, int]:
    ok = meals[meals["excluded_reason"].isna()] if len(meals) else meals
    counts = ok["condition"].value_counts() if len(ok) else pd.Series(dtype=int)
    return {c: int(counts.get(c, 0)) for c in ("control", "spu")}


def _block_column(meals: pd.DataFrame) -> str | None:
    """``"block"`` when the meals carry the planner's randomisation blocks (the randomisation
    test then permutes within them, as the schedule randomised), else None."""
    if "block" in meals.columns and meals["block"].notna().any():
        return "block"
    return None


def person_effect(
    meals: pd.DataFrame, rules: Rules | dict | None = None, *, seed: int = 0
) -> tuple[pd.DataFrame | None, pd.DataFrame | None, str]:
    """The person's own SPU effect (N-of-1), dose-response and plain-language verdict.

    With fewer than ``rules.min_meals_per_condition`` included meals in either condition no
    effect is estimated and the verdict says so. The dose-response is left out (``None``) with
    fewer than ``rules.dose_min_meals`` SPU meals or ``rules.dose_min_levels`` distinct SPU
    durations, when the SPU minutes hardly vary (``dose_response``'s ``min_sd``: logged 28, 30
    and 32 min are one dose), or when the covariates cannot be separated.
    """
    rules = Rules.coerce(rules)
    n = _counts(meals)
    if min(n.values()) < rules.min_meals_per_condition:
        row = {PERSON_ESTIMAND: np.nan, "n_spu": n["spu"], "n_control": n["control"]}
        return None, None, stats.verdict(row, min_n=rules.verdict_min_n)
    effect = stats.n_of_1(
        meals, n_perm=rules.n_perm, seed=seed, ci=rules.ci_level, block=_block_column(meals)
    )
    ok = meals[meals["excluded_reason"].isna()]
    spu = ok[ok["condition"] == "spu"]
    dose = None
    if spu["spu_minutes"].nunique() >= rules.dose_min_levels and len(spu) >= rules.dose_min_meals:
        try:
            dose = stats.dose_response(meals, ci=rules.ci_level, min_levels=rules.dose_min_levels)
        except InputError:
            dose = None
    return effect, dose, stats.verdict(effect.iloc[0], min_n=rules.verdict_min_n)


def person_posterior(meals: pd.DataFrame, rules: Rules | dict | None = None) -> pd.DataFrame:
    """The Bayesian N-of-1 of one person's meals under the rules' prior and stopping rule.

    See :func:`soleus_analysis.stats.bayes.bayes_n_of_1`; the schedule's blocks are used when
    the meal table carries them.
    """
    from .stats import bayes

    rules = Rules.coerce(rules)
    return bayes.bayes_n_of_1(
        meals,
        block=_block_column(meals),
        prior=bayes.BayesPrior.from_rules(rules),
        rule=bayes.StoppingRule.from_rules(rules),
        thresholds=rules.bayes_thresholds_pct,
        ci=rules.ci_level,
    )


#: the crossover intervals in words (the pooled row's ``method``)
CI_WORDS: dict[str, str] = {
    "fieller_lognormal": "Fieller (lognormal-calibrated)",
    "fieller": "Fieller",
    "lognormal_gpq": "lognormal generalised pivotal",
    "delta_log": "delta-method",
    "boot_t_log": "bootstrap-t",
    "boot_t_fieller": "bootstrap-t Fieller",
    "expanded": "expanded bootstrap",
    "percentile": "percentile bootstrap",
    "bca": "BCa bootstrap",
}


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
    if len(meals) and (meals["excluded_reason"].astype(str) == REASON_NO_READINGS).all():
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
            f"measured ({why})."
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
    rec: Recording, rules: Rules | dict | None = None, *, seed: int = 0
) -> PersonAnalysis:
    """Run the whole self-tracker analysis on one person's recording.

    Every readable recording gives a result: without meals, SPU bouts, or overlap between the
    log and the CGM period the meal analysis is empty and ``verdict`` says what is missing
    (:func:`missing_data_verdict`).

    Parameters
    ----------
    rec : Recording
        Readings and events of one person (see :func:`combine_person`).
    rules : Rules or dict, optional
        The analysis rules; default :class:`~soleus_analysis.core.rules.Rules`.
    seed : int
        Seed of the randomisation test and bootstrap.
    """
    rules = Rules.coerce(rules)
    subject = rec.subjects[0] if rec.subjects else DEFAULT_SUBJECT
    meals, curves, cleaned = person_meals(rec, None, rules)
    effect, dose, verdict = person_effect(meals, rules, seed=seed)
    missing = missing_data_verdict(cleaned.readings, rec.events, meals)
    if missing is not None and effect is None:
        verdict = missing
    proxy = None
    if effect is not None and PROXY_COLUMN in meals:
        proxy = stats.n_of_1(
            meals,
            PROXY_COLUMN,
            n_perm=rules.n_perm,
            seed=seed,
            ci=rules.ci_level,
            block=_block_column(meals),
        )
    period = agp_period(cleaned, rules.agp_days)
    metrics = glycemic_metrics(cleaned)
    t = cleaned.readings["time"]
    in_period = (t >= period["start"]) & (t < period["end"])
    recent, recent_metrics = cleaned, metrics
    if not in_period.all():  # the AGP period: the last rules.agp_days days
        recent = cleaned.readings[in_period]
        recent_metrics = glycemic_metrics(recent, interval_min=float(period["interval_min"]))
    posterior = person_posterior(meals, rules) if effect is not None else None
    return PersonAnalysis(
        subject=subject,
        readings=cleaned.readings,
        events=rec.events,
        metrics=metrics,
        agp=agp_percentiles(recent),
        agp_period=period,
        period_metrics=recent_metrics,
        meals=meals,
        curves=curves,
        effect=effect,
        dose=dose,
        verdict=verdict,
        insulin_proxy_effect=proxy,
        sources=list(rec.sources),
        cleaning=dict(cleaned.dropped),
        synthetic=is_synthetic(rec.sources),
        rules=rules,
        bayes=posterior,
    )


def pooled_columns(rules: Rules) -> list[str]:
    """Columns of :attr:`CohortAnalysis.pooled` (the interval named from the rules' level)."""
    lab = rules.ci_label
    return [
        "method",
        "estimand",
        "estimate_pct",
        f"{lab}_low",
        f"{lab}_high",
        "p",
        "test",
        "n_people",
        "note",
    ]


#: columns of :attr:`CohortAnalysis.pooled` at the default level
POOLED_COLUMNS = pooled_columns(Rules())


def _pooled_row(
    method: str, estimand: str, test: str, fit: Any, ok: pd.DataFrame, rules: Rules
) -> dict[str, Any]:
    """One pooled estimate; a model that cannot be fitted says why in ``note``, never raises."""
    lab = rules.ci_label
    nan = float("nan")
    n_people = ok["subject"].nunique() if len(ok) else 0
    row = {
        "method": method,
        "estimand": estimand,
        "estimate_pct": nan,
        f"{lab}_low": nan,
        f"{lab}_high": nan,
        "p": nan,
        "test": test,
        "n_people": n_people,
        "note": None,
    }
    try:
        est, lo, hi, p = fit()
        row.update({"estimate_pct": est, f"{lab}_low": lo, f"{lab}_high": hi, "p": p})
    except (np.linalg.LinAlgError, ValueError, ZeroDivisionError, IndexError, KeyError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        row["note"] = f"could not be fitted with {n_people} people ({reason})"
    if row["note"] is None and not np.isfinite(float(row["estimate_pct"])):
        row["note"] = f"too few people with meals in both conditions ({n_people} with meals)"
    elif row["note"] is None and not np.all(np.isfinite([row[f"{lab}_low"], row[f"{lab}_high"]])):
        row["note"] = (
            f"not enough people for an interval ({n_people} with meals; the crossover states one "
            f"from {rules.crossover_min_pairs} people with both conditions when their control "
            "mean is clearly above 0)"
        )
    return row


def _crossover_fit(ok: pd.DataFrame, rules: Rules, seed: int, info: dict | None = None):
    """The crossover's reduction; ``info`` receives its ``note`` (why it states no interval)."""
    lab = rules.ci_label
    c = stats.crossover(
        ok,
        "iauc_mgdl_min",
        seed=seed,
        ci=rules.ci_level,
        n_boot=rules.n_boot,
        ci_method=rules.crossover_ci,
        min_pairs=rules.crossover_min_pairs,
        max_mean_skew=rules.crossover_max_mean_skew,
    ).iloc[0]
    if info is not None and isinstance(c.get("note"), str):
        info["note"] = c["note"]
    return (
        c[COHORT_ESTIMAND],
        c[f"{COHORT_ESTIMAND[:-4]}_{lab}_low"],
        c[f"{COHORT_ESTIMAND[:-4]}_{lab}_high"],
        c["p_mean_diff"],
    )


#: the pooled mixed row's method, by the model :func:`soleus_analysis.stats.mixed_model` used
MIXED_METHODS = {
    "mixedlm_random_slope": "mixed model (random SPU slope per person)",
    "two_stage": "mixed model (two-stage per-person estimates)",
}


def _mixed_fit(ok: pd.DataFrame, rules: Rules, info: dict[str, str] | None = None):
    """The mixed model's reduction; ``info`` receives its ``model`` and ``note`` (a fallback to
    the two-stage analysis, or why there is no estimate)."""
    lab = rules.ci_label
    mm = stats.mixed_model(
        ok, "iauc_mgdl_min", ci=rules.ci_level, min_meals=rules.min_meals_per_condition
    )
    if info is not None:
        info.update(model=str(mm["model"].iloc[0]), note=str(mm["note"].iloc[0]))
    red = mm[mm["term"] == COHORT_ESTIMAND].iloc[0]
    return red["estimate"], red[f"{lab}_low"], red[f"{lab}_high"], red["p"]


def _one_person_fit(ok: pd.DataFrame, rules: Rules, seed: int):
    lab = rules.ci_label
    e = stats.n_of_1(
        ok, n_perm=rules.n_perm, seed=seed, ci=rules.ci_level, block=_block_column(ok)
    ).iloc[0]
    return (
        e[PERSON_ESTIMAND],
        e[f"{PERSON_ESTIMAND[:-4]}_{lab}_low"],
        e[f"{PERSON_ESTIMAND[:-4]}_{lab}_high"],
        e["p_permutation"],
    )


def own_effects(ok: pd.DataFrame, rules: Rules | dict | None = None, *, seed: int = 0):
    """The own N-of-1 (no randomisation test) of each person of ``ok`` with several meals per
    condition, as :attr:`CohortAnalysis.people` shows it; None when nobody has.

    ``ok`` holds included meals only. Each person's row depends on their meals alone, so the
    cohort runner computes it where the person was read (see :func:`pool_people`'s ``own``).
    """
    rules = Rules.coerce(rules)
    if len(ok) == 0:
        return None
    counts = ok.groupby(["subject", "condition"], observed=True)["iauc_mgdl_min"].count()
    counts = counts.unstack().reindex(columns=["control", "spu"]).fillna(0)
    several = counts.index[counts.min(axis=1) >= rules.min_meals_per_condition]
    if len(several) == 0:
        return None
    lab = rules.ci_label
    stem = PERSON_ESTIMAND[:-4]
    own = stats.n_of_1(ok[ok["subject"].isin(several)], n_perm=0, seed=seed, ci=rules.ci_level)
    return own[["subject", PERSON_ESTIMAND, f"{stem}_{lab}_low", f"{stem}_{lab}_high"]]


def _cohort_people(
    ok: pd.DataFrame,
    coverage: pd.DataFrame | None,
    rules: Rules,
    *,
    seed: int,
    own: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per person with included meals: meals per condition and both named estimands.

    ``own``: the people's own N-of-1 rows already computed (:func:`own_effects`, per person),
    or None to compute them here.
    """
    cols = ["subject", "n_control", "n_spu", "control", "treatment", COHORT_ESTIMAND]
    if len(ok) == 0:
        return pd.DataFrame(columns=cols)
    counts = (
        ok.pivot_table(
            index="subject", columns="condition", values="iauc_mgdl_min", aggfunc="count"
        )
        .reindex(columns=["control", "spu"])
        .fillna(0)
        .astype(int)
    )
    people = stats.per_person(ok, "iauc_mgdl_min").merge(
        counts.rename(columns={"control": "n_control", "spu": "n_spu"}).reset_index(),
        on="subject",
        how="left",
    )
    several = counts.min(axis=1) >= rules.min_meals_per_condition
    if several.any():
        # people with several meals per condition: their own (covariate-adjusted) N-of-1
        if own is None:
            own = own_effects(ok, rules, seed=seed)
        else:
            own = own[own["subject"].isin(several[several].index)].reset_index(drop=True)
        people = people.merge(own, on="subject", how="left")
    if coverage is not None:
        people = people.merge(coverage, on="subject", how="left")
    return people


def pool_people(
    meals: pd.DataFrame,
    curves: pd.DataFrame,
    *,
    coverage: pd.DataFrame | None = None,
    failed: pd.DataFrame | None = None,
    sources: Sequence[Provenance] = (),
    rules: Rules | dict | None = None,
    seed: int = 0,
    own: pd.DataFrame | None = None,
    posteriors: pd.DataFrame | None = None,
) -> CohortAnalysis:
    """Pool many people's per-meal tables: per-person figures, crossover and mixed model.

    Pooled rows, each with one named estimand and its own interval and test: the paired
    crossover of people's mean responses (``reduction_mean_ratio_pct``, bootstrap interval,
    paired t-test of the differences) and, when someone has more than two meals, the mixed
    model's ``reduction_mean_ratio_pct`` (random SPU slope per person, delta-method interval,
    the SPU term's t-test with people - 1 degrees of freedom; a fit that fell back to the
    two-stage per-person analysis says so in ``method`` and ``note``, and a cohort too small for
    a population estimate has no estimate and a ``note``). With one
    person the pooled row is that person's N-of-1 (``reduction_geomean_pct``, randomisation
    test), not a bootstrap over one pair.

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
    rules : Rules or dict, optional
    seed : int
        Seed of the bootstrap.
    own : DataFrame, optional
        The people's own N-of-1 rows, already computed person by person with
        :func:`own_effects` (the cohort runner does so on its workers); default: computed here.
    posteriors : DataFrame, optional
        The people's Bayesian N-of-1 rows (:func:`person_posterior`), likewise computed person
        by person; default: computed here.
    """
    rules = Rules.coerce(rules)
    ok = meals[meals["excluded_reason"].isna()] if len(meals) else meals
    people = _cohort_people(ok, coverage, rules, seed=seed, own=own)
    n_people = ok["subject"].nunique() if len(ok) else 0
    if n_people == 1:
        rows = [
            _pooled_row(
                "N-of-1 (one person's randomised meals)",
                PERSON_ESTIMAND,
                "randomisation test",
                lambda: _one_person_fit(ok, rules, seed),
                ok,
                rules,
            )
        ]
    else:
        cross_info: dict[str, str] = {}
        rows = [
            _pooled_row(
                f"paired crossover, {CI_WORDS.get(rules.crossover_ci, rules.crossover_ci)} interval",
                COHORT_ESTIMAND,
                "paired t-test of the differences",
                lambda: _crossover_fit(ok, rules, seed, cross_info),
                ok,
                rules,
            )
        ]
        # the crossover's own reason for stating no interval (too unequal people, ...)
        if cross_info.get("note") and not np.all(
            np.isfinite([rows[0][f"{rules.ci_label}_low"], rows[0][f"{rules.ci_label}_high"]])
        ):
            rows[0]["note"] = f"not enough data for an interval: {cross_info['note']}"
        if len(ok) and (ok.groupby("subject").size() > 2).any():
            info: dict[str, str] = {}
            mixed = _pooled_row(
                MIXED_METHODS["mixedlm_random_slope"],
                COHORT_ESTIMAND,
                "t-test of the SPU term (people - 1 df)",
                lambda: _mixed_fit(ok, rules, info),
                ok,
                rules,
            )
            # a fallback or a refusal says so: the method names the analysis used, the note why
            mixed["method"] = MIXED_METHODS.get(info.get("model", ""), mixed["method"])
            if info.get("note"):
                mixed["note"] = info["note"]
            rows.insert(0, mixed)
    return CohortAnalysis(
        people=people,
        pooled=pd.DataFrame(rows, columns=pooled_columns(rules)),
        meals=meals,
        curves=curves,
        failed=failed if failed is not None else pd.DataFrame(columns=["subject", "error"]),
        sources=list(sources),
        synthetic=is_synthetic(sources),
        rules=rules,
        nof1_series=nof1_series(meals, rules, posteriors=posteriors),
    )

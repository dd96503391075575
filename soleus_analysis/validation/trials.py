"""Methods validation on simulated trials: bias, CI coverage, method choices, insulin proxy.

Everything here runs on **simulated** data (:mod:`soleus_analysis.simulate`). A *trial* is one
simulated crossover study of ``n`` people analysed with the same functions a user runs
(:func:`soleus_analysis.insulin.lab_responses` for venous samples,
:func:`soleus_analysis.align.meal_responses` for CGM, :func:`soleus_analysis.compare.crossover`
for the reduction and its paired bootstrap CI). The trials use the in-memory frames of the
simulated study; the round trip through the export files is checked separately (by
:mod:`soleus_analysis.validation.reproduce` and its tests).

Speed: all trials of a run are simulated as **one** large cohort of ``n_trials * n`` people
(independent draws from the protocol's population; the simulator is vectorised over people),
which is then cut into consecutive blocks of ``n`` people, one block per trial.

Ground truth and estimands
--------------------------
The reduction is ``100 * (1 - mean(iAUC_SPU) / mean(iAUC_control))``, %.

- ``truth_sample``: that reduction for the trial's own people, from the noise-free plasma
  glucose curves (1-min grid, baseline at t = 0, window ``0..window``).
- ``truth_population``: the same for a very large independent cohort
  (:func:`soleus_analysis.simulate.population_truth`), computed once per run.

The bootstrap CI of :func:`~soleus_analysis.compare.crossover` resamples participants, so it
describes the variation of the estimate between samples of people drawn from the population:
its target is ``truth_population``. Coverage of ``truth_sample`` is reported as well; it is
higher, because a trial's own noise-free reduction is closer to the trial's estimate than the
population value is (both share the same people).

The truth always uses plasma glucose with the t0 baseline over the analysis window
(:meth:`soleus_analysis.simulate.Study.true_iauc`), so the bias of a CGM or a pre-meal baseline
analysis shows how far that method choice moves the estimate from the physiological quantity.

Shared by every validation (:mod:`.nof1` uses them too): the coverage rule :func:`covered`, the
interval of a rate :func:`binomial_ci`, the reduction over paired people
:func:`paired_reduction` and the summary :func:`summarise_trials`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import stats

from ..align import meal_responses
from ..compare import crossover
from ..core.errors import InputError
from ..core.rules import Rules
from ..insulin import lab_responses
from ..simulate import Study, get_protocol, population_truth, simulate_study

__all__ = [
    "CGM_PRESETS",
    "CGM_BEFORE_MIN",
    "FASTING_MINUTES",
    "PROXY_STATEMENT",
    "TrialSet",
    "add_coverage",
    "analyse_trials",
    "binomial_ci",
    "covered",
    "insulin_proxy_agreement",
    "paired_reduction",
    "proxy_findings",
    "proxy_noise_floor",
    "proxy_scaling",
    "proxy_table",
    "run_trials",
    "sensor_model_effect",
    "simulate_trials",
    "summarise_trials",
    "true_population_reduction",
]

#: the estimand the trials validate: the crossover's ratio of mean responses
ESTIMAND = "reduction_mean_ratio_pct"

#: Sensor preset simulated for each CGM sampling interval (minutes).
CGM_PRESETS: dict[int, str] = {5: "dexcom_g6", 15: "libre2"}

#: Fasting venous samples added before the drink (minutes), so that a ``"premeal"`` baseline
#: (mean of the samples at -30..0 min) has more than the t = 0 sample to average.
FASTING_MINUTES: tuple[float, ...] = (-30.0, -15.0)

#: CGM minutes kept before each drink in validation trials (the proxy and the pre-meal baseline
#: need some; the protocol default of 120 min only makes the demo files look real).
CGM_BEFORE_MIN: float = 60.0

#: CGM minutes kept after the window end (readings past the window edge let the analysis cut
#: the curve at the edge by interpolation instead of seeing a gap).
CGM_AFTER_EXTRA_MIN: float = 30.0

#: People in the independent cohort that gives ``truth_population``.
N_POPULATION: int = 10000

_GLUCOSE_LAB = "glucose_iauc_mgdl_min"
_GLUCOSE_CGM = "iauc_mgdl_min"


@dataclass
class TrialSet:
    """Simulated trials (synthetic): one large study cut into blocks of ``n`` people.

    Attributes
    ----------
    study : Study
        The simulated cohort of ``n_trials * n`` people.
    n_trials : int
        Number of trials.
    n : int
        People per trial.
    trial_of : dict
        Subject id -> trial number (0-based).
    cgm_interval : int or None
        Sampling interval of the simulated CGM, minutes (None: no CGM simulated).
    seed : int
        Seed of the simulation.
    """

    study: Study
    n_trials: int
    n: int
    trial_of: dict[str, int]
    cgm_interval: int | None
    seed: int


def _check_choice(name: str, value, allowed) -> None:
    if value not in allowed:
        raise InputError(f"{name} must be one of {list(allowed)}, got {value!r}")


def simulate_trials(
    protocol: str = "hamilton2022",
    n_trials: int = 200,
    n: int | None = None,
    seed: int = 0,
    cgm_interval: int | None = 5,
    **overrides,
) -> TrialSet:
    """Simulate ``n_trials`` independent crossover trials of ``n`` people in one go.

    Parameters
    ----------
    protocol : str
        Crossover protocol (``"hamilton2022"`` or ``"elek2025"``).
    n_trials : int
        Number of trials.
    n : int, optional
        People per trial (default: the protocol's ``n``).
    seed : int
        Seed of the whole simulation.
    cgm_interval : {5, 15} or None
        CGM sampling interval in minutes (5: Dexcom G6, 15: Libre 2 historic values); None
        simulates no CGM (faster, venous only).
    **overrides
        Protocol fields to change (see :func:`soleus_analysis.simulate.simulate_study`);
        ``cgm`` replaces the sensor preset of ``cgm_interval`` (e.g. ``"dexcom_g6_drift"``).

    Returns
    -------
    TrialSet
        The venous samples include fasting samples at :data:`FASTING_MINUTES`; the CGM is kept
        from :data:`CGM_BEFORE_MIN` before each drink to :data:`CGM_AFTER_EXTRA_MIN` after the
        protocol's window end.
    """
    if n_trials < 1:
        raise InputError(f"n_trials must be >= 1, got {n_trials}")
    if cgm_interval is not None:
        _check_choice("cgm_interval", cgm_interval, CGM_PRESETS)
    proto = get_protocol(protocol)
    if proto.design != "crossover_ogtt":
        raise InputError(f"validation trials need a crossover protocol, got {proto.name!r}")
    n_per = int(proto.n if n is None else n)
    if n_per < 2:
        raise InputError(f"n (people per trial) must be >= 2, got {n_per}")
    lab = overrides.pop("lab_minutes", proto.lab_minutes)
    lab = tuple(sorted(set(FASTING_MINUTES) | {float(m) for m in lab}))
    cgm = CGM_PRESETS[cgm_interval] if cgm_interval is not None else None
    cgm = overrides.pop("cgm", cgm) if cgm is not None else None
    # CGM kept only where the analyses look (pre-meal span and the longest window): faster
    overrides.setdefault("cgm_before_min", CGM_BEFORE_MIN)
    overrides.setdefault("cgm_after_min", float(proto.window_min) + CGM_AFTER_EXTRA_MIN)
    study = simulate_study(
        proto, n=n_trials * n_per, seed=seed, cgm=cgm, lab_minutes=lab, **overrides
    )
    subjects = study.subjects
    trial_of = {s: i // n_per for i, s in enumerate(subjects)}
    return TrialSet(study, int(n_trials), n_per, trial_of, cgm_interval, int(seed))


@lru_cache(maxsize=32)
def _population_cached(protocol: str, window: float, n_pop: int, seed: int) -> float:
    out = population_truth(protocol, n=n_pop, seed=seed, window_min=float(window))
    return float(out["glucose_iauc_reduction_pct"])


def true_population_reduction(
    protocol: str = "hamilton2022",
    window: float | None = None,
    n_population: int = N_POPULATION,
    seed: int = 0,
) -> float:
    """Noise-free glucose iAUC reduction of a very large cohort, % (cached per arguments).

    Parameters
    ----------
    protocol : str
        Crossover protocol name.
    window : float, optional
        Window end, minutes (default the protocol's ``window_min``).
    n_population : int
        People in the cohort.
    seed : int
        Seed of the cohort; independent of the trials' cohort when different from theirs.

    Returns
    -------
    float
        ``100 * (1 - mean(iAUC_SPU) / mean(iAUC_control))`` of plasma glucose, baseline t0, %.
    """
    w = get_protocol(protocol).window_min if window is None else float(window)
    return _population_cached(str(protocol), float(w), int(n_population), int(seed))


def paired_reduction(
    frame: pd.DataFrame, value: str, by: list[str] | None = None
) -> float | pd.Series:
    """``100 * (1 - mean(SPU) / mean(control))`` over the people with both conditions, %.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per subject and condition (``"control"``/``"spu"``; repeated rows are
        averaged), with ``value`` and the ``by`` columns.
    value : str
        Column to reduce (e.g. an iAUC).
    by : list of str, optional
        Groups (e.g. ``["trial"]``): one reduction per group.

    Returns
    -------
    float or pandas.Series
        The reduction (a Series indexed by the groups when ``by`` is given).
    """
    index = [*by, "subject"] if by else ["subject"]
    wide = frame.pivot_table(index=index, columns="condition", values=value).dropna()
    means = wide.groupby(level=by).mean() if by else wide.mean()
    out = 100.0 * (1.0 - means["spu"] / means["control"])
    return out if by else float(out)


def _responses(
    trials: TrialSet, sampling: str, baseline: str, window: float
) -> tuple[pd.DataFrame, str]:
    """Per subject x condition glucose response table (with ``trial``) and its value column."""
    study = trials.study
    if sampling == "venous":
        resp = lab_responses(study.venous, window=(0.0, window), baseline=baseline)
        value = _GLUCOSE_LAB
    else:
        rules = Rules(window=(0.0, window), baseline=baseline, insulin_proxy=False)
        resp = meal_responses(study.cgm, study.events, rules)
        resp = resp.loc[resp["excluded_reason"].isna()]
        value = _GLUCOSE_CGM
    resp = resp[["subject", "condition", value]].copy()
    resp["subject"] = resp["subject"].astype(str)
    resp["trial"] = resp["subject"].map(trials.trial_of).astype("int64")
    return resp, value


def analyse_trials(
    trials: TrialSet,
    sampling: str = "venous",
    baseline: str = "t0",
    window: float | None = None,
    *,
    estimand: str = "population",
    truth_population: float | None = None,
    n_population: int = N_POPULATION,
    n_boot: int = 2000,
    ci_method: str | None = None,
) -> pd.DataFrame:
    """Analyse simulated trials with one method; one row per trial.

    Parameters
    ----------
    trials : TrialSet
        From :func:`simulate_trials`.
    sampling : {"venous", "cgm"}
        Venous lab samples (:func:`~soleus_analysis.insulin.lab_responses`) or the CGM
        (:func:`~soleus_analysis.align.meal_responses`, excluded meals left out).
    baseline : {"t0", "premeal"}
        Baseline rule of the analysis (premeal: mean of -30..0 min).
    window : float, optional
        Window end, minutes after the drink (default the protocol's).
    estimand : {"population", "sample"}
        Which truth ``covered`` and ``error`` refer to.
    truth_population : float, optional
        Population reduction, % (default :func:`true_population_reduction` for this protocol
        and window, seed independent of the trials).
    n_population : int
        People in the population cohort when ``truth_population`` is computed.
    n_boot : int
        Bootstrap resamples per trial.
    ci_method : str, optional
        Interval of the reduction (one of ``CROSSOVER_CI_METHODS``, see
        :func:`soleus_analysis.compare.crossover`); default ``Rules().crossover_ci``.

    Returns
    -------
    pandas.DataFrame
        ``trial``, ``n_pairs``, ``estimate`` (%), ``ci95_low``, ``ci95_high`` (%),
        ``truth_sample``, ``truth_population`` (%), ``covered_population``,
        ``covered_sample`` (bool), ``covered`` and ``error`` (estimate - truth, percentage
        points) against the chosen ``estimand``, and the settings ``sampling``,
        ``cgm_interval``, ``baseline``, ``window``, ``ci_method``.
    """
    _check_choice("sampling", sampling, ("venous", "cgm"))
    _check_choice("baseline", baseline, ("t0", "premeal"))
    _check_choice("estimand", estimand, ("population", "sample"))
    if sampling == "cgm" and (trials.cgm_interval is None or trials.study.cgm.empty):
        raise InputError("sampling='cgm' needs trials simulated with a CGM (cgm_interval)")
    proto = trials.study.protocol
    w = float(proto.window_min if window is None else window)
    if truth_population is None:
        truth_population = true_population_reduction(
            proto.name, w, n_population, seed=trials.seed + 1_000_003
        )
    resp, value = _responses(trials, sampling, baseline, w)
    ci_method = Rules().crossover_ci if ci_method is None else ci_method

    truth = trials.study.true_iauc(w)
    truth["trial"] = truth["subject"].astype(str).map(trials.trial_of).astype("int64")
    truth_sample = paired_reduction(truth, "true_iauc", by=["trial"])

    rows = []
    for k, part in resp.groupby("trial", sort=True):
        res = crossover(part, value, n_boot=n_boot, seed=int(k), ci_method=ci_method).iloc[0]
        rows.append(
            {
                "trial": int(k),
                "n_pairs": int(res["n_pairs"]),
                "estimate": float(res[ESTIMAND]),
                "ci95_low": float(res["reduction_mean_ratio_ci95_low"]),
                "ci95_high": float(res["reduction_mean_ratio_ci95_high"]),
            }
        )
    out = pd.DataFrame(rows)
    out["truth_sample"] = out["trial"].map(truth_sample).astype(float)
    out["truth_population"] = float(truth_population)
    out = add_coverage(out, estimand)
    out["sampling"] = sampling
    out["cgm_interval"] = trials.cgm_interval if sampling == "cgm" else np.nan
    out["baseline"] = baseline
    out["window"] = w
    out["ci_method"] = ci_method
    return out


def covered(low, high, truth) -> np.ndarray:
    """Whether each confidence interval holds its truth: ``low <= truth <= high``.

    The one coverage rule of the validation (trials and N-of-1 alike).

    Parameters
    ----------
    low, high, truth : array_like
        Interval limits and true values (same units); a missing value (NaN) counts as not
        covered.

    Returns
    -------
    numpy.ndarray of bool
    """
    lo, hi, tr = (np.asarray(x, dtype=float) for x in (low, high, truth))
    return (lo <= tr) & (tr <= hi)


def add_coverage(trials: pd.DataFrame, estimand: str = "population") -> pd.DataFrame:
    """Add coverage flags and the error of each trial.

    Parameters
    ----------
    trials : pandas.DataFrame
        ``estimate``, ``ci95_low``, ``ci95_high``, ``truth_sample``, ``truth_population`` (%).
    estimand : {"population", "sample"}
        Truth used for ``covered`` and ``error``.

    Returns
    -------
    pandas.DataFrame
        A copy with ``covered_population``, ``covered_sample`` (bool: low <= truth <= high; a
        missing limit counts as not covered), ``covered`` and ``error`` (estimate - truth,
        percentage points) for the chosen estimand.
    """
    _check_choice("estimand", estimand, ("population", "sample"))
    out = trials.copy()
    for name in ("population", "sample"):
        out[f"covered_{name}"] = covered(out["ci95_low"], out["ci95_high"], out[f"truth_{name}"])
    out["covered"] = out[f"covered_{estimand}"]
    out["error"] = out["estimate"] - out[f"truth_{estimand}"]
    return out


def run_trials(
    protocol: str = "hamilton2022",
    n_trials: int = 200,
    n: int | None = None,
    seed: int = 0,
    sampling: str = "venous",
    cgm_interval: int = 5,
    baseline: str = "t0",
    window: float | None = None,
    estimand: str = "population",
    **options,
) -> pd.DataFrame:
    """Simulate and analyse ``n_trials`` crossover trials (synthetic data); one row per trial.

    Shorthand for :func:`simulate_trials` then :func:`analyse_trials` (to compare several
    methods on the same simulated people, call those two directly).

    Parameters
    ----------
    protocol : str
        Crossover protocol.
    n_trials : int
        Number of trials.
    n : int, optional
        People per trial (default the protocol's).
    seed : int
        Seed.
    sampling : {"venous", "cgm"}
        What the analysis reads.
    cgm_interval : {5, 15}
        CGM sampling interval, minutes (used when ``sampling="cgm"``).
    baseline : {"t0", "premeal"}
        Baseline rule.
    window : float, optional
        Window end, minutes.
    estimand : {"population", "sample"}
        Truth of ``covered`` and ``error``.
    **options
        Passed to :func:`analyse_trials` (``n_boot``, ``ci_method``, ``truth_population``,
        ``n_population``).

    Returns
    -------
    pandas.DataFrame
        See :func:`analyse_trials`.
    """
    _check_choice("sampling", sampling, ("venous", "cgm"))
    trials = simulate_trials(
        protocol, n_trials, n, seed, cgm_interval=cgm_interval if sampling == "cgm" else None
    )
    return analyse_trials(trials, sampling, baseline, window, estimand=estimand, **options)


def binomial_ci(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a rate of ``k`` in ``n`` (coverage, power, false positives), %.

    The one interval of a proportion in the validation
    (:func:`scipy.stats.binomtest` ``.proportion_ci(method="wilson")``).

    Parameters
    ----------
    k : int
        Events (e.g. trials whose CI covered the truth).
    n : int
        Trials.
    level : float
        Confidence level.

    Returns
    -------
    (float, float)
        Lower and upper limit, percent (NaN, NaN when ``n`` is 0).
    """
    if n == 0:
        return np.nan, np.nan
    ci = stats.binomtest(int(k), int(n)).proportion_ci(confidence_level=level, method="wilson")
    return 100.0 * float(ci.low), 100.0 * float(ci.high)


def summarise_trials(trials: pd.DataFrame, by: list[str] | None = None) -> pd.DataFrame:
    """Bias, RMSE, coverage and CI width of simulated trials; one row per group.

    Parameters
    ----------
    trials : pandas.DataFrame
        One row per trial with ``estimate``, ``ci95_low``, ``ci95_high`` (%), ``error``
        (percentage points), ``covered`` (bool) and optionally ``covered_population``,
        ``covered_sample``, ``truth_sample``, ``truth_population``.
    by : list of str, optional
        Columns to group by (e.g. the method settings); default one row for all trials.

    Returns
    -------
    pandas.DataFrame
        ``n_trials``, ``n_failed`` (trials without an estimate, left out of the bias and
        counted as not covered), ``mean_estimate`` (%), ``mean_truth`` (% , mean of the truth
        ``error`` refers to), ``bias_pp`` (mean error, percentage points), ``bias_se_pp`` (its
        Monte Carlo standard error), ``rmse_pp``, ``sd_estimate_pp``, ``n_covered`` and
        ``coverage_pct`` (trials and % of trials whose CI covers the truth),
        ``coverage_ci95_low``, ``coverage_ci95_high`` (:func:`binomial_ci` of the coverage, %),
        ``coverage_population_pct`` and ``coverage_sample_pct`` (when present),
        ``mean_ci_width_pp`` and ``median_ci_width_pp``; plus the ``by`` columns first.
    """
    need = ["estimate", "ci95_low", "ci95_high", "error", "covered"]
    missing = [c for c in need if c not in trials.columns]
    if missing:
        raise InputError(f"trials table lacks column(s) {missing}; expected {need}")
    groups = [((), trials)] if not by else trials.groupby(by, sort=False, dropna=False)
    rows = []
    for key, part in groups:
        cov = part["covered"].to_numpy(bool)
        n_all = len(part)
        whole = part
        part = part.loc[np.isfinite(part["estimate"].to_numpy(float))]
        err = part["error"].to_numpy(float)
        est = part["estimate"].to_numpy(float)
        m = len(part)
        row: dict = {}
        if by:
            key = key if isinstance(key, tuple) else (key,)
            row.update(dict(zip(by, key, strict=True)))
        row["n_trials"] = n_all
        row["n_failed"] = n_all - m
        row["mean_estimate"] = float(np.mean(est))
        row["mean_truth"] = float(np.mean(est - err))
        row["bias_pp"] = float(np.mean(err))
        row["bias_se_pp"] = float(np.std(err, ddof=1) / np.sqrt(m)) if m > 1 else np.nan
        row["rmse_pp"] = float(np.sqrt(np.mean(err**2)))
        row["sd_estimate_pp"] = float(np.std(est, ddof=1)) if m > 1 else np.nan
        row["n_covered"] = int(cov.sum())
        row["coverage_pct"] = float(100 * cov.mean())
        row["coverage_ci95_low"], row["coverage_ci95_high"] = binomial_ci(row["n_covered"], n_all)
        for name in ("population", "sample"):
            col = f"covered_{name}"
            if col in whole.columns:
                row[f"coverage_{name}_pct"] = float(100 * whole[col].to_numpy(bool).mean())
        width = part["ci95_high"].to_numpy(float) - part["ci95_low"].to_numpy(float)
        row["mean_ci_width_pp"] = float(np.mean(width))
        row["median_ci_width_pp"] = float(np.median(width))
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- insulin proxy


def proxy_table(study: Study, window: float | None = None) -> pd.DataFrame:
    """CGM-only insulin *proxy* iAUC next to the simulator's true insulin iAUC, per test.

    Parameters
    ----------
    study : Study
        A simulated crossover study with a CGM.
    window : float, optional
        Window end, minutes (default the protocol's).

    Returns
    -------
    pandas.DataFrame
        ``subject``, ``condition``, ``proxy_iauc_pmol_l_min`` (pmol/L·min, from
        :func:`~soleus_analysis.align.meal_responses` with ``insulin_proxy=True``, baseline t0),
        ``true_insulin_iauc_uU_ml_min`` (µU/mL·min, noise-free plasma insulin, baseline t0).
        Tests excluded by the CGM rules are left out.
    """
    if study.cgm is None or study.cgm.empty:
        raise InputError("the insulin proxy needs a study simulated with a CGM")
    w = float(study.protocol.window_min if window is None else window)
    resp = meal_responses(
        study.cgm, study.events, window=(0.0, w), baseline="t0", insulin_proxy=True
    )
    resp = resp.loc[resp["excluded_reason"].isna(), ["subject", "condition"]].assign(
        proxy_iauc_pmol_l_min=resp["insulin_proxy_iauc_pmol_l_min"]
    )
    resp["subject"] = resp["subject"].astype(str)
    keys = study.true_iauc(w, "insulin_uU_ml").rename(
        columns={"true_iauc": "true_insulin_iauc_uU_ml_min"}
    )
    keys["subject"] = keys["subject"].astype(str)
    keys["condition"] = keys["condition"].astype(str)
    resp["condition"] = resp["condition"].astype(str)
    out = resp.merge(keys, on=["subject", "condition"], how="inner")
    return out.dropna().reset_index(drop=True)


def _corr(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return np.nan, np.nan
    return float(stats.pearsonr(x, y)[0]), float(stats.spearmanr(x, y)[0])


def insulin_proxy_agreement(study: Study, window: float | None = None) -> pd.DataFrame:
    """Agreement of the CGM-only insulin proxy with the simulator's true insulin (synthetic).

    Parameters
    ----------
    study : Study
        A simulated crossover study with a CGM.
    window : float, optional
        Window end, minutes (default the protocol's).

    Returns
    -------
    pandas.DataFrame
        One row: ``n_tests``, ``pearson_r``, ``spearman_r`` (proxy iAUC vs true insulin iAUC
        across tests), ``pearson_r_control``, ``pearson_r_spu`` (within a condition),
        ``pearson_r_within`` (per-person log ratios SPU/control of proxy vs truth),
        ``proxy_reduction_pct`` and ``true_insulin_reduction_pct`` (%,
        ``100 * (1 - mean SPU / mean control)`` over people with both tests) and
        ``reduction_gap_pp`` (proxy minus true, percentage points).
    """
    tab = proxy_table(study, window)
    x = tab["proxy_iauc_pmol_l_min"].to_numpy(float)
    y = tab["true_insulin_iauc_uU_ml_min"].to_numpy(float)
    row: dict = {"n_tests": len(tab)}
    row["pearson_r"], row["spearman_r"] = _corr(x, y)
    for cond in ("control", "spu"):
        sel = (tab["condition"] == cond).to_numpy()
        row[f"pearson_r_{cond}"] = _corr(x[sel], y[sel])[0]
    wide = tab.pivot_table(
        index="subject",
        columns="condition",
        values=["proxy_iauc_pmol_l_min", "true_insulin_iauc_uU_ml_min"],
    ).dropna()
    px = wide["proxy_iauc_pmol_l_min"]
    tr = wide["true_insulin_iauc_uU_ml_min"]
    with np.errstate(divide="ignore", invalid="ignore"):
        lx = np.log(px["spu"].to_numpy(float) / px["control"].to_numpy(float))
        ly = np.log(tr["spu"].to_numpy(float) / tr["control"].to_numpy(float))
    ok = np.isfinite(lx) & np.isfinite(ly)
    row["pearson_r_within"] = _corr(lx[ok], ly[ok])[0]
    row["proxy_reduction_pct"] = paired_reduction(tab, "proxy_iauc_pmol_l_min")
    row["true_insulin_reduction_pct"] = paired_reduction(tab, "true_insulin_iauc_uU_ml_min")
    row["reduction_gap_pp"] = row["proxy_reduction_pct"] - row["true_insulin_reduction_pct"]
    return pd.DataFrame([row])


# ------------------------------------------------------------- what the proxy can and cannot tell

#: The plain statement of what the CGM-only insulin proxy can and cannot tell, for reports
#: (figures from :func:`proxy_findings` on simulated hamilton2022 trials, notebook 03).
PROXY_STATEMENT: str = (
    "The insulin figures computed from a CGM are a model-based proxy, not a measurement of "
    "insulin. The proxy runs one population-average beta cell (Dalla Man 2007) on the glucose "
    "trace, so it is a fixed transform of that trace: a glucose excursion half as large gives a "
    "proxy exactly half as large (a 50.0% 'insulin' reduction). In simulated trials its "
    "reduction with soleus pushups restated the glucose reduction (49% against 50% for CGM "
    "glucose, while the true insulin fell by 56%), its per-person SPU-to-control ratio followed "
    "the glucose ratio (R² 0.70) and told less about the true insulin ratio than the glucose "
    "ratio itself did (R² 0.25 against 0.35). Its confidence interval is therefore not "
    "independent evidence and does not confirm the glucose result. It cannot tell a person's "
    "insulin level, insulin sensitivity, secretion or clearance, nor whether SPU changed insulin "
    "in any way other than through glucose. Sensor noise alone on a flat glucose trace gives a "
    "proxy area of about 8-9% of a meal's or a glucose drink's, so small proxy differences mean "
    "nothing. It has been checked only against simulated insulin: no public data set with CGM "
    "and measured plasma insulin after meals was found to validate it on real people."
)


def _proxy_responses(study: Study, window: float) -> pd.DataFrame:
    """Per test: CGM glucose iAUC and insulin-proxy iAUC (included tests), crossover studies."""
    resp = meal_responses(
        study.cgm, study.events, window=(0.0, window), baseline="t0", insulin_proxy=True
    )
    resp = resp.loc[resp["excluded_reason"].isna()]
    out = resp[["subject", "condition", _GLUCOSE_CGM, "insulin_proxy_iauc_pmol_l_min"]].copy()
    out["subject"] = out["subject"].astype(str)
    out["condition"] = out["condition"].astype(str)
    return out


def proxy_scaling(scale: float = 0.5, window: float = 180.0) -> dict[str, float]:
    """The proxy's reduction when a glucose excursion is scaled about its baseline by ``scale``.

    A smooth one-peak excursion (70 mg/dL above a 90 mg/dL baseline, peak at 45 min, on a 5-min
    grid from -30 min) and the same excursion times ``scale``: the proxy model is linear in
    ``G - Gb`` above baseline and positively homogeneous in ``dG/dt``, so the proxy reduction
    equals the glucose reduction, ``100 * (1 - scale)``, whatever the curve.

    Returns
    -------
    dict
        ``glucose_reduction_pct`` and ``proxy_reduction_pct`` (%).
    """
    from ..insulin import insulin_proxy_measures_batch
    from ..response import iauc_batch

    t = np.arange(-30.0, window + 30.0 + 1e-9, 5.0)
    bump = 70.0 * np.clip(t, 0, None) / 45.0 * np.exp(1.0 - np.clip(t, 0, None) / 45.0)
    g = np.vstack([90.0 + bump, 90.0 + scale * bump])
    tt = np.vstack([t, t])
    prox = insulin_proxy_measures_batch(tt, g, window=(0.0, window), baseline="t0")
    pi = prox["insulin_proxy_iauc_pmol_l_min"].to_numpy(float)
    gi = iauc_batch(tt, g, np.full(2, 90.0), window=(0.0, window))
    return {
        "scale": float(scale),
        "glucose_reduction_pct": float(100.0 * (1.0 - gi[1] / gi[0])),
        "proxy_reduction_pct": float(100.0 * (1.0 - pi[1] / pi[0])),
    }


def proxy_noise_floor(
    n_traces: int = 500,
    window: float = 180.0,
    sensor: str = "dexcom_g6",
    level_mgdl: float = 92.0,
    before_min: float = 30.0,
    seed: int = 0,
) -> dict[str, float]:
    """Insulin-proxy iAUC (and glucose iAUC) of CGM traces of a perfectly flat plasma glucose.

    Each trace is ``level_mgdl`` throughout, sensed by the simulator's sensor model (gain and
    offset drift, AR(2) noise, rounding; no dropouts) from ``before_min`` before "t0" to the
    window end, at a random day of wear; the proxy starts from the first reading, as the
    analysis gives it the pre-meal readings. Any area is noise only.

    Returns
    -------
    dict
        ``n_traces``, ``window_min``, ``sensor``, ``proxy_iauc_mean_pmol_l_min`` (and
        ``proxy_iauc_sd_pmol_l_min``), ``glucose_iauc_mean_mgdl_min`` (t0 baseline).
    """
    from dataclasses import replace

    from ..insulin import insulin_proxy_measures_batch
    from ..response import iauc_batch
    from ..simulate.sensor import SENSORS, sense

    spec = replace(SENSORS[sensor], gap_rate=0.0)
    rng = np.random.default_rng(seed)
    minutes = np.arange(-before_min - 60.0, window + 1.0)
    flat = np.full(len(minutes), float(level_mgdl))
    sample = np.arange(-before_min, window + 1e-9, spec.interval_min)
    rows = []
    for _ in range(int(n_traces)):
        day = rng.uniform(0.5, spec.wear_days - 0.5)
        r = sense(minutes, flat, sample, day + sample / 1440.0, rng, spec)
        rows.append(r["glucose_mgdl"].to_numpy(float))
    g = np.vstack(rows)
    t = np.broadcast_to(sample, g.shape)
    prox = insulin_proxy_measures_batch(t, g, window=(0.0, window), baseline="t0")
    pi = prox["insulin_proxy_iauc_pmol_l_min"].to_numpy(float)
    i0 = int(np.searchsorted(sample, 0.0))
    gi = iauc_batch(t[:, i0:], g[:, i0:], g[:, i0], window=(0.0, window))
    return {
        "n_traces": int(n_traces),
        "window_min": float(window),
        "sensor": sensor,
        "proxy_iauc_mean_pmol_l_min": float(np.mean(pi)),
        "proxy_iauc_sd_pmol_l_min": float(np.std(pi, ddof=1)),
        "glucose_iauc_mean_mgdl_min": float(np.mean(gi)),
    }


def _r2(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """R² and slope of the least-squares line of ``y`` on ``x``."""
    if len(x) < 3 or np.ptp(x) == 0:
        return np.nan, np.nan
    slope, intercept = np.polyfit(x, y, 1)
    resid = y - (slope * x + intercept)
    return float(1.0 - resid.var() / y.var()), float(slope)


def proxy_findings(
    study: Study,
    window: float | None = None,
    *,
    n_noise: int = 500,
    seed: int = 0,
) -> pd.DataFrame:
    """What the insulin proxy adds to the glucose trace, on a simulated crossover study with CGM.

    Three quantities (all synthetic):

    (a) the proxy reduction as a function of the glucose reduction: per person the log ratio
        SPU/control of the proxy iAUC against that of the CGM glucose iAUC (``r2_proxy_on_glucose``,
        ``slope_proxy_on_glucose``), the two reductions over the study (``proxy_reduction_pct``,
        ``cgm_glucose_reduction_pct``), and :func:`proxy_scaling` (``scaled_half_proxy_reduction_pct``:
        a glucose excursion halved);
    (b) :func:`proxy_noise_floor` at the study's window and sensor (``noise_proxy_iauc_pmol_l_min``)
        and as % of the mean control test's proxy iAUC (``noise_pct_of_control_test``);
    (c) agreement with the simulator's true insulin (:func:`insulin_proxy_agreement`:
        ``pearson_r``, ``pearson_r_within``, ``true_insulin_reduction_pct``, ``reduction_gap_pp``)
        and whether the proxy tells more about the true insulin ratio than glucose alone:
        ``r2_true_insulin_on_glucose`` and ``r2_true_insulin_on_proxy`` (per-person log ratios).

    Returns
    -------
    pandas.DataFrame
        One row with the columns named above and ``n_people``.
    """
    if study.cgm is None or study.cgm.empty:
        raise InputError("the insulin proxy needs a study simulated with a CGM")
    w = float(study.protocol.window_min if window is None else window)
    resp = _proxy_responses(study, w)
    truth = study.true_iauc(w, "insulin_uU_ml").rename(columns={"true_iauc": "true_insulin"})
    truth["subject"] = truth["subject"].astype(str)
    truth["condition"] = truth["condition"].astype(str)
    tab = resp.merge(truth, on=["subject", "condition"], how="inner")
    cols = [_GLUCOSE_CGM, "insulin_proxy_iauc_pmol_l_min", "true_insulin"]
    wide = tab.pivot_table(index="subject", columns="condition", values=cols).dropna()
    with np.errstate(divide="ignore", invalid="ignore"):
        lr = {
            c: np.log(wide[c]["spu"].to_numpy(float) / wide[c]["control"].to_numpy(float))
            for c in cols
        }
    ok = np.logical_and.reduce([np.isfinite(v) for v in lr.values()])
    lg, lp, lt = (lr[c][ok] for c in cols)
    row: dict = {"n_people": int(ok.sum())}
    row["r2_proxy_on_glucose"], row["slope_proxy_on_glucose"] = _r2(lg, lp)
    row["proxy_reduction_pct"] = paired_reduction(tab, "insulin_proxy_iauc_pmol_l_min")
    row["cgm_glucose_reduction_pct"] = paired_reduction(tab, _GLUCOSE_CGM)
    row["scaled_half_proxy_reduction_pct"] = proxy_scaling(0.5, w)["proxy_reduction_pct"]
    sensor = study.protocol.cgm or "dexcom_g6"
    noise = proxy_noise_floor(n_noise, w, sensor, seed=seed)
    ctrl = tab.loc[tab["condition"] == "control", "insulin_proxy_iauc_pmol_l_min"].mean()
    row["noise_proxy_iauc_pmol_l_min"] = noise["proxy_iauc_mean_pmol_l_min"]
    row["control_test_proxy_iauc_pmol_l_min"] = float(ctrl)
    row["noise_pct_of_control_test"] = float(100.0 * noise["proxy_iauc_mean_pmol_l_min"] / ctrl)
    agree = insulin_proxy_agreement(study, w).iloc[0]
    for key in ("pearson_r", "pearson_r_within", "true_insulin_reduction_pct", "reduction_gap_pp"):
        row[key] = float(agree[key])
    row["r2_true_insulin_on_glucose"] = _r2(lg, lt)[0]
    row["r2_true_insulin_on_proxy"] = _r2(lp, lt)[0]
    return pd.DataFrame([row])


# --------------------------------------------------------------------------- the sensor model


def sensor_model_effect(
    n_trials: int = 40,
    n: int | None = None,
    seed: int = 0,
    sensors: tuple[str, ...] = ("dexcom_g6", "dexcom_g6_drift"),
    n_boot: int = 1000,
    n_population: int = N_POPULATION,
) -> pd.DataFrame:
    """Bias and coverage of the CGM estimate under two sensor models, same simulated people.

    The same trials (``hamilton2022``, same seed: same people, same venous samples) are
    simulated with each sensor preset and analysed from the CGM (baseline t0, the protocol's
    window) against the population truth. With ``("dexcom_g6", "dexcom_g6_drift")`` this is the
    effect of the time-varying calibration offset (and gain) of Vettoretti et al. 2019.

    Returns
    -------
    pandas.DataFrame
        :func:`summarise_trials` per ``sensor``.
    """
    frames = []
    for sensor in sensors:
        ts = simulate_trials("hamilton2022", n_trials, n, seed, cgm_interval=5, cgm=sensor)
        res = analyse_trials(ts, "cgm", "t0", n_boot=n_boot, n_population=n_population)
        frames.append(res.assign(sensor=sensor))
    return summarise_trials(pd.concat(frames, ignore_index=True), by=["sensor"])

"""Within-person comparisons (crossover studies, one value per person and condition).

Two estimands, each with its own interval and test, never mixed in one column:

- ``reduction_mean_ratio_pct = 100 * (1 - mean(SPU) / mean(control))`` over people's means:
  the ratio of arithmetic means; bootstrap interval over people; its test is the paired t-test
  of the differences (``p_mean_diff``: the means are equal exactly when the ratio is 1).
- ``reduction_geomean_pct = 100 * (1 - exp(mean(log(SPU / control))))``: the typical (geometric
  mean) ratio; t interval on the mean log ratio; its test is the t-test of the log ratios
  (``p_log_ratio``).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..core.errors import InputError
from .common import CONTROL, TREATMENT, ci_label, log_offset, select_rows
from .results import as_result

__all__ = ["crossover", "paired_reduction_ci", "per_person", "person_means"]


def _bca_interval(
    boot: np.ndarray, estimate: float, jack: np.ndarray, ci: float
) -> tuple[float, float]:
    """Bias-corrected and accelerated bootstrap limits (Efron 1987)."""
    boot = boot[np.isfinite(boot)]
    if boot.size == 0 or not np.isfinite(estimate):
        return np.nan, np.nan
    if np.ptp(boot) == 0:
        return float(boot[0]), float(boot[0])
    prop = (np.sum(boot < estimate) + 0.5 * np.sum(boot == estimate)) / boot.size
    prop = np.clip(prop, 1.0 / boot.size, 1 - 1.0 / boot.size)
    z0 = stats.norm.ppf(prop)
    d = jack.mean() - jack
    denom = 6.0 * np.sum(d**2) ** 1.5
    acc = float(np.sum(d**3) / denom) if denom > 0 else 0.0
    zq = stats.norm.ppf([0.5 - ci / 2, 0.5 + ci / 2])
    adj = stats.norm.cdf(z0 + (z0 + zq) / (1 - acc * (z0 + zq)))
    lo, hi = np.quantile(boot, adj)
    return float(lo), float(hi)


def _expanded_level(ci: float, n: int) -> float:
    """Coverage level whose normal quantile equals sqrt(n/(n-1)) * t_{n-1} (Hesterberg 2015)."""
    tail = stats.norm.cdf(np.sqrt(n / (n - 1)) * stats.t.ppf(0.5 - ci / 2, n - 1))
    return float(1 - 2 * tail)


def paired_reduction_ci(
    c: np.ndarray,
    t: np.ndarray,
    *,
    n_boot: int,
    ci: float,
    rng: np.random.Generator,
    method: str = "expanded",
) -> tuple[float, float]:
    """Paired bootstrap CI over participants of 100 * (1 - mean(t) / mean(c))."""
    n = len(c)
    if n < 2:
        return np.nan, np.nan
    idx = rng.integers(0, n, size=(n_boot, n))
    with np.errstate(divide="ignore", invalid="ignore"):
        boot = 100.0 * (1.0 - t[idx].mean(axis=1) / c[idx].mean(axis=1))
        est = 100.0 * (1.0 - t.mean() / c.mean())
    if method in ("percentile", "expanded"):
        boot = boot[np.isfinite(boot)]
        level = _expanded_level(ci, n) if method == "expanded" else ci
        lo, hi = np.quantile(boot, [0.5 - level / 2, 0.5 + level / 2])
        return float(lo), float(hi)
    if method != "bca":
        raise InputError(f"ci_method must be 'expanded', 'percentile' or 'bca', got {method!r}")
    with np.errstate(divide="ignore", invalid="ignore"):
        jack = 100.0 * (1.0 - (t.sum() - t) / (c.sum() - c))
    return _bca_interval(boot, est, jack, ci)


def person_means(
    data: pd.DataFrame,
    value: str,
    *,
    subject: str,
    condition: str,
    control: str,
    treatment: str,
    what: str,
) -> tuple[pd.DataFrame, int, int]:
    """Per-subject means by condition: frame (subject, control, treatment), n_excluded, n_unpaired."""
    kept, n_excl = select_rows(
        data,
        value,
        subject=subject,
        condition=condition,
        control=control,
        treatment=treatment,
        what=what,
    )
    codes, uniq = pd.factorize(kept[subject].astype("object"), sort=True)
    key = 2 * codes + kept["_t"].to_numpy(dtype=np.int64)
    k = len(uniq)
    sums = np.bincount(key, weights=kept["_y"].to_numpy(dtype=float), minlength=2 * k)
    counts = np.bincount(key, minlength=2 * k)
    sums, counts = sums.reshape(k, 2), counts.reshape(k, 2)
    complete = np.all(counts > 0, axis=1)
    means = sums[complete] / counts[complete]
    out = pd.DataFrame(
        {
            "subject": np.asarray(uniq, dtype=object)[complete],
            "control": means[:, 0],
            "treatment": means[:, 1],
        }
    )
    return out, n_excl, int(k - complete.sum())


def per_person(
    data: pd.DataFrame,
    value: str,
    *,
    subject: str = "subject",
    condition: str = "condition",
    control: str = CONTROL,
    treatment: str = TREATMENT,
) -> pd.DataFrame:
    """Per-person paired values of one measure.

    People with several rows in a condition are averaged first; people missing a condition
    are left out.

    Parameters
    ----------
    data : DataFrame
        Long table with ``subject``, ``condition`` and ``value`` columns.
    value : str
        The measure, in its own units (e.g. ``glucose_iauc_mgdl_min`` in mg/dL*min).

    Returns
    -------
    DataFrame
        ``subject``, ``control``, ``treatment`` (units of ``value``), ``diff``
        (treatment - control, units of ``value``), ``ratio`` (treatment / control) and
        ``reduction_mean_ratio_pct`` (100 * (1 - ratio) of the person's mean responses, %).
    """
    pairs, _, _ = person_means(
        data,
        value,
        subject=subject,
        condition=condition,
        control=control,
        treatment=treatment,
        what="per_person",
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = pairs["treatment"].to_numpy() / pairs["control"].to_numpy()
    return pairs.assign(
        diff=pairs["treatment"] - pairs["control"],
        ratio=ratio,
        reduction_mean_ratio_pct=100 * (1 - ratio),
    )


def crossover(
    data: pd.DataFrame,
    value: str | Sequence[str],
    *,
    subject: str = "subject",
    condition: str = "condition",
    control: str = CONTROL,
    treatment: str = TREATMENT,
    n_boot: int = 4000,
    seed: int | None = 0,
    ci: float = 0.95,
    ci_method: str = "expanded",
) -> pd.DataFrame:
    """Within-person comparison of SPU against control, one row per measure.

    Parameters
    ----------
    data : DataFrame
        Long table, one or more rows per subject and condition (rows of a person in one
        condition are averaged first; people missing a condition are counted in
        ``n_unpaired`` and left out).
    value : str or sequence of str
        Measure column(s), e.g. ``glucose_iauc_mgdl_min`` (mg/dL*min) or
        ``insulin_iauc_uU_ml_min`` (uU/mL*min).
    subject, condition : str
        Column names.
    control, treatment : str
        Condition labels.
    n_boot : int
        Bootstrap resamples of participants.
    seed : int or None
        Seed of the bootstrap generator.
    ci : float
        Confidence level of every interval; the interval columns are named from it
        (``ci95`` for 0.95, ``ci90`` for 0.9: :func:`~soleus_analysis.stats.common.ci_label`).
    ci_method : {"expanded", "percentile", "bca"}
        Bootstrap interval of the reduction. Default ``"expanded"``: the percentile interval
        with its tail probabilities widened so that the normal quantile becomes
        ``sqrt(n / (n - 1)) * t_{n-1}`` (Hesterberg 2015, Am Stat 69:371-386), which corrects the
        bootstrap's known narrowness for small samples. Chosen by simulation of a lognormal
        paired model (true reduction 52%, between-person SD 0.5-0.8 and within-person SD
        0.3-0.5 on the log scale, 600-800 trials each): coverage of nominal 95% intervals was
        92.8-94.5% for the expanded interval at n = 10, 15, 25, against 87-94% for the plain
        percentile and 87-93% for BCa, which under-cover at n = 10-15.

    Returns
    -------
    DataFrame
        One row per measure (``ci95`` below stands for the level's label):

        - ``measure``, ``n_pairs``, ``n_unpaired``, ``n_excluded``, ``mean_control``,
          ``mean_treatment`` (units of the measure);
        - the ratio of arithmetic means: ``reduction_mean_ratio_pct`` = 100 * (1 - mean
          treatment / mean control) (%), ``reduction_mean_ratio_ci95_low`` / ``_high`` (paired
          bootstrap over participants, ``ci_method``), ``p_mean_diff`` (paired t-test of the
          differences: its null, equal means, is a ratio of 1); ``mean_diff`` (treatment -
          control, units of the measure), ``mean_diff_ci95_low`` / ``_high`` (t interval),
          ``t_mean_diff``, ``dof``;
        - the ratio of geometric means: ``reduction_geomean_pct`` = 100 * (1 - exp(mean log
          ratio)) (%), ``reduction_geomean_ci95_low`` / ``_high`` (t interval of the mean log
          ratio), ``p_log_ratio``, ``t_log_ratio`` (t-test of log(treatment/control);
          ``log_offset`` added to both when a value is 0, NaN when a value is negative);
        - ``w_stat``, ``p_wilcoxon`` (Wilcoxon signed-rank on the differences) and ``dz``
          (Cohen's d_z = mean difference / SD of differences; negative when SPU lowered it).
    """
    measures = [value] if isinstance(value, str) else list(value)
    rng = np.random.default_rng(seed)
    rows = []
    for measure in measures:
        pairs, n_excl, n_unp = person_means(
            data,
            measure,
            subject=subject,
            condition=condition,
            control=control,
            treatment=treatment,
            what="crossover",
        )
        c = pairs["control"].to_numpy()
        t = pairs["treatment"].to_numpy()
        rows.append(
            {
                "measure": measure,
                "n_excluded": n_excl,
                "n_unpaired": n_unp,
                **_paired_stats(c, t, n_boot=n_boot, ci=ci, rng=rng, ci_method=ci_method),
            }
        )
    lab = ci_label(ci)
    order = [
        "measure",
        "n_pairs",
        "n_unpaired",
        "n_excluded",
        "mean_control",
        "mean_treatment",
        "reduction_mean_ratio_pct",
        f"reduction_mean_ratio_{lab}_low",
        f"reduction_mean_ratio_{lab}_high",
        "p_mean_diff",
        "mean_diff",
        f"mean_diff_{lab}_low",
        f"mean_diff_{lab}_high",
        "t_mean_diff",
        "dof",
        "reduction_geomean_pct",
        f"reduction_geomean_{lab}_low",
        f"reduction_geomean_{lab}_high",
        "p_log_ratio",
        "t_log_ratio",
        "log_offset",
        "w_stat",
        "p_wilcoxon",
        "dz",
    ]
    return as_result(pd.DataFrame(rows)[order], "Crossover: SPU against control, within person")


def _paired_stats(
    c: np.ndarray,
    t: np.ndarray,
    *,
    n_boot: int,
    ci: float,
    rng: np.random.Generator,
    ci_method: str,
) -> dict[str, Any]:
    """Both estimands of one measure's pairs, each with its interval and test (module docs)."""
    n = len(c)
    nan = np.nan
    lab = ci_label(ci)
    mc = float(c.mean()) if n else nan
    mt = float(t.mean()) if n else nan
    out: dict[str, Any] = {"n_pairs": n, "mean_control": mc, "mean_treatment": mt}
    out["reduction_mean_ratio_pct"] = 100 * (1 - mt / mc) if n and mc != 0 else nan
    lo, hi = paired_reduction_ci(c, t, n_boot=n_boot, ci=ci, rng=rng, method=ci_method)
    out[f"reduction_mean_ratio_{lab}_low"], out[f"reduction_mean_ratio_{lab}_high"] = lo, hi
    diff = t - c
    out["mean_diff"] = float(diff.mean()) if n else nan
    out[f"mean_diff_{lab}_low"] = out[f"mean_diff_{lab}_high"] = nan
    out.update(t_mean_diff=nan, p_mean_diff=nan, dof=n - 1 if n else 0)
    out["reduction_geomean_pct"] = nan
    out[f"reduction_geomean_{lab}_low"] = out[f"reduction_geomean_{lab}_high"] = nan
    out.update(t_log_ratio=nan, p_log_ratio=nan, log_offset=nan)
    out.update(w_stat=nan, p_wilcoxon=nan, dz=nan)
    if n < 2:
        return out
    q = stats.t.ppf(0.5 + ci / 2, n - 1)
    sd = float(diff.std(ddof=1))
    half = q * sd / np.sqrt(n)
    out[f"mean_diff_{lab}_low"] = out["mean_diff"] - half
    out[f"mean_diff_{lab}_high"] = out["mean_diff"] + half
    if sd > 0:
        res = stats.ttest_1samp(diff, 0.0)
        out["t_mean_diff"], out["p_mean_diff"] = float(res.statistic), float(res.pvalue)
        out["dz"] = out["mean_diff"] / sd
    both = np.concatenate([c, t])
    if np.all(both >= 0):
        off = log_offset(both)
        lr = np.log(t + off) - np.log(c + off)
        out["log_offset"] = off
        m = float(lr.mean())
        out["reduction_geomean_pct"] = 100 * (1 - np.exp(m))
        if np.ptp(lr) > 0:
            se = float(lr.std(ddof=1)) / np.sqrt(n)
            out[f"reduction_geomean_{lab}_low"] = 100 * (1 - np.exp(m + q * se))
            out[f"reduction_geomean_{lab}_high"] = 100 * (1 - np.exp(m - q * se))
            res = stats.ttest_1samp(lr, 0.0)
            out["t_log_ratio"], out["p_log_ratio"] = float(res.statistic), float(res.pvalue)
    if np.any(diff != 0):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = stats.wilcoxon(diff)
        out["w_stat"], out["p_wilcoxon"] = float(res.statistic), float(res.pvalue)
    return out

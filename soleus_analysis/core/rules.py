"""Every analysis choice in one object, with one set of defaults.

:class:`Rules` carries what decides a number: the response window and baseline, when a meal
counts as an SPU meal, which meals are merged or excluded, the cleaning limits, the insulin
proxy switch and the comparison's interval. The command line builds it from its options, and the
pipeline, the cohort runner, the reproduction, the notebooks and the reports all take it, so the
same data give the same numbers whichever way they are analysed. Every output states the rules
it used (:meth:`Rules.describe`, :meth:`Rules.to_dict`).

>>> from soleus_analysis.core.rules import Rules
>>> Rules().window
(0.0, 120.0)
>>> Rules(window=(0, 180)).replace(baseline="t0").baseline
't0'
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import InputError

__all__ = ["BASELINE_RULES", "CROSSOVER_CI_DEFAULT", "CROSSOVER_CI_METHODS", "Rules"]

#: baseline rules by name (a number in mg/dL is a fixed baseline)
BASELINE_RULES: tuple[str, ...] = ("premeal", "t0", "p40_24h")
#: keys of a rules file that describe it rather than set a rule
NOT_RULES = frozenset({"source", "comment", "statement"})
#: intervals of the crossover reduction (see :func:`soleus_analysis.stats.paired.ratio_intervals`)
CROSSOVER_CI_METHODS: tuple[str, ...] = (
    "fieller_lognormal",
    "fieller",
    "lognormal_gpq",
    "delta_log",
    "boot_t_log",
    "boot_t_fieller",
    "expanded",
    "percentile",
    "bca",
)
#: the default interval, chosen by ``benchmarks/crossover_grid.py`` (README, "How the intervals
#: were chosen")
CROSSOVER_CI_DEFAULT = "fieller_lognormal"
#: the fewest people with both conditions the default interval was validated for
CROSSOVER_MIN_PAIRS_DEFAULT = 6
#: the largest skewness of the mean response the crossover states an interval for (see
#: :func:`soleus_analysis.stats.paired.crossover_refusal`), chosen by the same grid
CROSSOVER_MAX_MEAN_SKEW_DEFAULT = 0.5


def _pair(value: Any, name: str, *, open_end: bool = False) -> tuple:
    """``(start, end)`` minutes as floats; ``end`` may be None when ``open_end``."""
    try:
        lo, hi = value
    except (TypeError, ValueError):
        raise InputError(f"rule {name}: expected (start, end) in minutes, got {value!r}") from None
    try:
        lo = float(lo)
        hi = None if hi is None and open_end else float(hi)
    except (TypeError, ValueError):
        raise InputError(f"rule {name}: expected numbers in minutes, got {value!r}") from None
    if not math.isfinite(lo) or (hi is not None and not math.isfinite(hi)):
        raise InputError(f"rule {name}: expected finite minutes, got {value!r}")
    if hi is not None and not hi > lo:
        raise InputError(f"rule {name}: expected start < end, got {value!r}")
    return (lo, hi)


def _fmt(x: float | None) -> str:
    if x is None:
        return "the window end"
    return f"{x:g}"


class RulesRecord(dict):
    """A read-only ``dict`` of rules (:meth:`Rules.to_record`) that copies and deep-copies as
    itself; pickles as a new record of the same items."""

    def _read_only(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("a RulesRecord is read-only; use Rules.replace for other rules")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _read_only
    __ior__ = _read_only

    def __copy__(self) -> RulesRecord:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> RulesRecord:
        return self

    def __reduce__(self) -> tuple[type[RulesRecord], tuple[dict[str, Any]]]:
        return (RulesRecord, (dict(self),))


@dataclass(frozen=True)
class Rules:
    """The analysis rules: what a meal window is, when a meal counts, how effects are estimated.

    Every field has one default, here. A frozen value: change it with :meth:`replace`.

    Parameters
    ----------
    window : (float, float), default (0, 120)
        Minutes after the meal over which the response (iAUC, peak, ...) is measured.
    baseline : {"premeal", "t0", "p40_24h"} or float, default "premeal"
        The meal's baseline: the mean of the readings in ``premeal_span``, the value at the
        meal (interpolated), the 40th percentile of the previous 24 h, or a number in mg/dL.
    premeal_span : (float, float), default (-30, 0)
        Minutes of the ``"premeal"`` baseline (both ends included).
    p40_min_coverage : float, default 0.5
        Fraction of the expected readings of the previous 24 h the ``"p40_24h"`` baseline needs.
    spu_span : (float, float or None), default (0, None)
        Minutes after the meal's start in which soleus-pushup minutes count toward the
        condition; None is the window end. It starts at the meal or later: a meal is an SPU meal
        when SPU happens while its response is measured, never for minutes before it.
    spu_premeal_min : float, default 15
        Minutes before the meal whose SPU is reported separately, as ``spu_premeal_minutes`` (a
        pre-meal dose); they never make a meal an SPU meal.
    min_spu_minutes : float, default 1
        SPU minutes in ``spu_span`` that make a meal an SPU meal.
    spu_default_min : float, default 1
        Minutes given to an SPU bout logged without an end or duration.
    merge_meals_within_min : float or None, default 30
        Meals starting less than this many minutes after the previous one are merged into it;
        None disables merging.
    exclude_overlapping_meals : bool, default True
        Exclude a meal with another meal starting inside its window, and that other meal (its
        baseline and rise carry the first meal's response); both are always flagged.
    min_coverage : float, default 0.7
        Fraction of the expected readings a window needs.
    max_gap_min : float or None, default None
        Longest tolerated spacing of readings in a window, minutes; None is
        ``max(20, 3 x the sampling interval)``.
    interval_min : float or None, default None
        Sampling interval, minutes; None infers each person's median spacing.
    exclude_censored : bool, default True
        Exclude windows holding a device Low/High reading.
    decay_span_min : float, default 60
        Horizon of the post-peak decay rate, minutes.
    insulin_proxy : bool, default True
        Add the CGM-only insulin-exposure *proxy* (a population model, not measured insulin).
    curve_step_min : float, default 5
        Step of the mean-curve grid, minutes (the grid runs from the start of the pre-meal
        span, or the window start if earlier, to the window end).
    ci_level : float, default 0.95
        Confidence level of every interval.
    crossover_ci : str, default "fieller_lognormal"
        Interval of the crossover reduction (``reduction_mean_ratio_pct``), one of
        ``CROSSOVER_CI_METHODS`` (:func:`soleus_analysis.stats.paired.ratio_intervals`). The
        default, Fieller's interval for the ratio of paired means with its critical values
        widened (never narrowed) by a lognormal parametric bootstrap, was chosen by the
        simulation grid ``benchmarks/crossover_grid.py`` (n 6-50, between-person CV 0.5-1.5,
        within-person CV 0.2-0.5, homogeneous and heterogeneous effects, lognormal and gamma
        people; 300 cells x 1,000 data sets), judged among the intervals it states: with
        ``crossover_max_mean_skew`` 297 of 300 cells hold 93-97% coverage / at most 5.5% false
        positives (2 Monte Carlo SE allowed) or refuse; the stated intervals covered 79.7-98.9%
        (two cells below 93% on a re-run, lognormal people with a level-correlated effect). The
        former default, ``"expanded"``, covered down to 72% with up to 9.6% false positives.
    crossover_min_pairs : int, default 6
        People with both conditions before the crossover states an interval (below it the
        interval columns are NaN, so the verdict and the pooled estimate say there are not
        enough people); 6 is the smallest number the default interval was validated for.
    crossover_max_mean_skew : float or None, default 0.5
        The crossover states no interval of ``reduction_mean_ratio_pct`` (the interval columns
        are NaN, its ``note`` says why, the verdict and the pooled row say there is not enough
        data) when people differ too much for their number: when ``(cv^3 + 3 cv) / sqrt(n)``,
        the skewness of a mean of ``n`` people whose responses are lognormal with the observed
        between-person CV ``cv`` (of each person's mean over both conditions), exceeds this.
        The note names about how many people would be needed, ``((cv^3 + 3 cv) / 0.5)^2``.
        Chosen by ``benchmarks/crossover_grid.py``: among the intervals stated, the ones without
        the rule covered the truth in as little as 82% where people were very unequal (CV
        1-1.5) and the effect varied with their level, and any looser threshold let such data
        sets through; the price is that it refuses most data sets with a between-person CV of
        1 or more below 50 people (README, "How the intervals were chosen"). None turns the
        rule off.
    n_boot : int, default 4000
        Bootstrap resamples.
    n_perm : int, default 5000
        Permutations of the N-of-1 randomisation test.
    min_meals_per_condition : int, default 3
        Included meals per condition before a person's effect is estimated at all.
    verdict_min_n : int, default 5
        Meals per condition (or people with both conditions) before a verdict makes a claim.
    dose_min_levels : int, default 3
        Distinct SPU durations before a dose-response is estimated.
    dose_min_meals : int, default 6
        SPU meals before a dose-response is estimated.
    bayes_thresholds_pct : tuple of float, default (0, 10, 20)
        Reductions (%) whose posterior probability the Bayesian N-of-1 reports
        (:mod:`soleus_analysis.stats.bayes`).
    prior_sigma : float, default 0.6
        Prior centre of a person's within-person SD of log responses (0.6: a CV of about 65%).
    prior_sigma_meals : float, default 2
        The weight of that prior, in meals (the inverse-gamma shape is half of it).
    prior_effect_sd : float, default 1
        Prior SD of the SPU log ratio (centred on no effect), at ``sigma = prior_sigma``.
    prior_block_sd : float, default 0.5
        Scale of the half-normal prior of the block effects' SD, as a ratio to ``sigma``.
    stop_works : float, default 0.99
        The sequential rule stops with "it works" when P(reduction > 0) reaches this.
    stop_futile : float, default 0.05
        ... and with "it does not" when P(reduction >= ``stop_worth_pct``) falls to this.
    stop_worth_pct : float, default 10
        The reduction (%) worth having.
    stop_min_meals, stop_max_meals, stop_look_every : int, default 12, 60, 6
        The first look, the last meal, and meals between looks (6: a block in each of three
        meal slots). The thresholds were chosen by ``benchmarks/bayes_calibration.py``.
    min_meal_carbs_g : float, default 10
        Smallest meal, g of carbs: a logged meal (after merging) whose carbs are known and
        below this is not a meal (a coffee with milk); it stays in the meal table, excluded with
        its reason, and does not make another meal overlap. 0 counts every logged meal.
    agp_days : int, default 14
        Days of the AGP report's period (page 1 of the report: the most recent days of data).
    """

    window: tuple[float, float] = (0.0, 120.0)
    baseline: str | float = "premeal"
    premeal_span: tuple[float, float] = (-30.0, 0.0)
    p40_min_coverage: float = 0.5
    spu_span: tuple[float, float | None] = (0.0, None)
    spu_premeal_min: float = 15.0
    min_spu_minutes: float = 1.0
    spu_default_min: float = 1.0
    merge_meals_within_min: float | None = 30.0
    exclude_overlapping_meals: bool = True
    min_coverage: float = 0.7
    max_gap_min: float | None = None
    interval_min: float | None = None
    exclude_censored: bool = True
    decay_span_min: float = 60.0
    insulin_proxy: bool = True
    curve_step_min: float = 5.0
    ci_level: float = 0.95
    crossover_ci: str = CROSSOVER_CI_DEFAULT
    crossover_min_pairs: int = CROSSOVER_MIN_PAIRS_DEFAULT
    crossover_max_mean_skew: float | None = CROSSOVER_MAX_MEAN_SKEW_DEFAULT
    n_boot: int = 4000
    n_perm: int = 5000
    min_meals_per_condition: int = 3
    verdict_min_n: int = 5
    dose_min_levels: int = 3
    dose_min_meals: int = 6
    bayes_thresholds_pct: tuple[float, ...] = (0.0, 10.0, 20.0)
    prior_sigma: float = 0.6
    prior_sigma_meals: float = 2.0
    prior_effect_sd: float = 1.0
    prior_block_sd: float = 0.5
    stop_works: float = 0.99
    stop_futile: float = 0.05
    stop_worth_pct: float = 10.0
    stop_min_meals: int = 12
    stop_max_meals: int = 60
    stop_look_every: int = 6
    min_meal_carbs_g: float = 10.0
    agp_days: int = 14
    #: where the rules came from (e.g. a study's rules.json), for the statement of the rules
    source: str = field(default="defaults", compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "window", _pair(self.window, "window"))
        set_(self, "premeal_span", _pair(self.premeal_span, "premeal_span"))
        set_(self, "spu_span", _pair(self.spu_span, "spu_span", open_end=True))
        if self.spu_span[0] < 0:
            raise InputError(
                f"rule spu_span {self.spu_span!r}: it starts at the meal or later (0 or more "
                "minutes); SPU before the meal is the pre-meal dose (rule spu_premeal_min)"
            )
        if isinstance(self.baseline, str):
            if self.baseline not in BASELINE_RULES:
                raise InputError(
                    f"rule baseline {self.baseline!r}: expected one of {', '.join(BASELINE_RULES)} "
                    "or a number in mg/dL"
                )
        else:
            try:
                set_(self, "baseline", float(self.baseline))
            except (TypeError, ValueError):
                raise InputError(
                    f"rule baseline {self.baseline!r}: expected a rule name or a number"
                ) from None
        for name in ("min_coverage", "p40_min_coverage"):
            v = float(getattr(self, name))
            if not 0.0 <= v <= 1.0:
                raise InputError(f"rule {name}: expected a fraction in 0..1, got {v!r}")
            set_(self, name, v)
        if not 0.5 < float(self.ci_level) < 1.0:
            raise InputError(f"rule ci_level: expected a level in (0.5, 1), got {self.ci_level!r}")
        if self.crossover_ci not in CROSSOVER_CI_METHODS:
            raise InputError(
                f"rule crossover_ci {self.crossover_ci!r}: expected one of "
                + ", ".join(CROSSOVER_CI_METHODS)
            )
        if self.crossover_max_mean_skew is not None:
            v = self.crossover_max_mean_skew
            if isinstance(v, bool) or not (math.isfinite(float(v)) and float(v) > 0):
                raise InputError(
                    f"rule crossover_max_mean_skew: expected a number > 0 or None, got {v!r}"
                )
            set_(self, "crossover_max_mean_skew", float(v))
        for name in (
            "min_spu_minutes",
            "spu_default_min",
            "spu_premeal_min",
            "decay_span_min",
            "curve_step_min",
        ):
            v = float(getattr(self, name))
            if not (math.isfinite(v) and v >= 0) or (name == "curve_step_min" and v == 0):
                raise InputError(f"rule {name}: expected a positive number of minutes, got {v!r}")
            set_(self, name, v)
        for name in ("merge_meals_within_min", "max_gap_min", "interval_min"):
            v = getattr(self, name)
            if v is not None:
                v = float(v)
                if not (math.isfinite(v) and v > 0):
                    raise InputError(f"rule {name}: expected minutes > 0 or None, got {v!r}")
                set_(self, name, v)
        for name in (
            "n_boot",
            "n_perm",
            "min_meals_per_condition",
            "verdict_min_n",
            "crossover_min_pairs",
            "dose_min_levels",
            "dose_min_meals",
            "stop_min_meals",
            "stop_max_meals",
            "stop_look_every",
            "agp_days",
        ):
            v = getattr(self, name)
            if isinstance(v, bool) or int(v) != v or int(v) < 0:
                raise InputError(f"rule {name}: expected a whole number >= 0, got {v!r}")
            set_(self, name, int(v))
        if self.agp_days < 1:
            raise InputError(f"rule agp_days: expected 1 or more days, got {self.agp_days!r}")
        try:
            v = float(self.min_meal_carbs_g)
        except (TypeError, ValueError):
            v = float("nan")
        if not (math.isfinite(v) and v >= 0):
            raise InputError(
                f"rule min_meal_carbs_g: expected grams >= 0, got {self.min_meal_carbs_g!r}"
            )
        set_(self, "min_meal_carbs_g", v)
        self._check_bayes()

    def _check_bayes(self) -> None:
        set_ = object.__setattr__
        try:
            th = tuple(float(x) for x in self.bayes_thresholds_pct)
        except (TypeError, ValueError):
            raise InputError(
                f"rule bayes_thresholds_pct {self.bayes_thresholds_pct!r}: expected numbers (%)"
            ) from None
        if not th or not all(math.isfinite(x) and -100 < x < 100 for x in th):
            raise InputError(
                f"rule bayes_thresholds_pct {th!r}: expected reductions between -100 and 100 %"
            )
        set_(self, "bayes_thresholds_pct", th)
        for name in ("prior_sigma", "prior_sigma_meals", "prior_effect_sd", "prior_block_sd"):
            v = float(getattr(self, name))
            if not (math.isfinite(v) and v > 0):
                raise InputError(f"rule {name}: expected a number > 0, got {v!r}")
            set_(self, name, v)
        for name in ("stop_works", "stop_futile"):
            v = float(getattr(self, name))
            if not 0.0 < v < 1.0:
                raise InputError(f"rule {name}: expected a probability in (0, 1), got {v!r}")
            set_(self, name, v)
        if not 0 <= float(self.stop_worth_pct) < 100:
            raise InputError(
                f"rule stop_worth_pct: expected a reduction in 0..100 %, got {self.stop_worth_pct!r}"
            )
        set_(self, "stop_worth_pct", float(self.stop_worth_pct))
        if self.stop_look_every < 1 or self.stop_max_meals < self.stop_min_meals:
            raise InputError(
                "rules stop_min_meals/stop_max_meals/stop_look_every: expected looks every 1 or "
                f"more meals from {self.stop_min_meals} to at least that many, got "
                f"{self.stop_look_every} and {self.stop_max_meals}"
            )

    # ------------------------------------------------------------------ building
    def replace(self, **changes: Any) -> Rules:
        """A copy with some rules changed; a name that is not a rule is an error."""
        unknown = sorted(set(changes) - {f.name for f in fields(self)})
        if unknown:
            raise InputError(
                f"not an analysis rule: {', '.join(unknown)}; the rules are: "
                + ", ".join(f.name for f in fields(self) if f.name != "source")
            )
        return dataclasses.replace(self, **changes)

    @classmethod
    def coerce(cls, rules: Rules | dict[str, Any] | None = None, **changes: Any) -> Rules:
        """``rules`` (a Rules, a dict of rule names, or None for the defaults) with ``changes``."""
        if rules is None:
            base = cls()
        elif isinstance(rules, Rules):
            base = rules
        elif isinstance(rules, dict):
            base = cls().replace(**rules)
        else:
            raise InputError(
                f"rules: expected a Rules object or a dict, got {type(rules).__name__}"
            )
        return base.replace(**changes) if changes else base

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "a dict") -> Rules:
        """Rules from :meth:`to_dict`'s form (lists for pairs are accepted).

        The keys ``source``, ``comment`` and ``statement`` (the text :meth:`describe` wrote
        beside the rules in an output) are not rules and are ignored.
        """
        data = {k: v for k, v in data.items() if k not in NOT_RULES}
        return cls().replace(**data, source=source)

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> Rules:
        """Rules from a JSON file holding an object of rule names, e.g. a study's ``rules.json``.

        Raises
        ------
        InputError
            When the file is not JSON, not an object, or names something that is not a rule.
        """
        p = Path(path)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise InputError(f"cannot read the rules as JSON ({type(exc).__name__})", p) from None
        if not isinstance(data, dict):
            raise InputError("expected a JSON object of rule names and values", p)
        try:
            return cls.from_dict(data, source=p.name)
        except InputError as exc:
            raise InputError(exc.reason, p) from None

    # ------------------------------------------------------------------ stating
    def to_dict(self) -> dict[str, Any]:
        """Every rule as plain JSON-able values (pairs as lists), ``source`` included."""
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            out[f.name] = list(v) if isinstance(v, tuple) else v
        return out

    def to_record(self) -> RulesRecord:
        """Every rule as an immutable mapping (pairs as tuples), for a table's ``attrs``.

        pandas deep-copies ``attrs`` into the result of every operation on a table; a
        :class:`RulesRecord` copies as itself, so carrying the rules costs nothing per operation.
        It is a ``dict``, so ``json.dumps`` (and the Parquet metadata pandas writes) take it.
        """
        return RulesRecord({f.name: getattr(self, f.name) for f in fields(self)})

    def changed(self) -> dict[str, Any]:
        """The rules that differ from the defaults."""
        default = Rules()
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name != "source" and getattr(self, f.name) != getattr(default, f.name)
        }

    def baseline_text(self) -> str:
        """The baseline rule in words."""
        if self.baseline == "premeal":
            lo, hi = self.premeal_span
            return f"the mean of the readings from {_fmt(lo)} to {_fmt(hi)} min (pre-meal)"
        if self.baseline == "t0":
            return "the glucose at the meal (t0)"
        if self.baseline == "p40_24h":
            return "the 40th percentile of the previous 24 h"
        return f"a fixed {self.baseline:g} mg/dL"

    def describe(self) -> str:
        """The statement of the rules a report or notebook prints (one paragraph)."""
        w0, w1 = self.window
        s0, s1 = self.spu_span
        start = "the start of the meal" if s0 == 0 else f"{_fmt(s0)} min after the meal's start"
        end = "the end of its window" if s1 is None else f"{_fmt(s1)} min after the meal"
        gap = (
            f"{self.max_gap_min:g} min"
            if self.max_gap_min is not None
            else "3 sampling intervals (at least 20 min)"
        )
        merge = (
            f"meals less than {self.merge_meals_within_min:g} min apart are merged; "
            if self.merge_meals_within_min
            else "meals are not merged; "
        )
        parts = [
            f"Response: incremental area (iAUC) over {w0:g} to {w1:g} min after each meal, above "
            f"{self.baseline_text()}.",
            f"SPU meal: at least {self.min_spu_minutes:g} min of soleus pushups from {start} to "
            f"{end}; other meals are control meals (SPU in the {self.spu_premeal_min:g} min "
            "before a meal is reported apart, as a pre-meal dose).",
            "Exclusions: "
            + merge
            + (
                f"a logged meal with less than {self.min_meal_carbs_g:g} g of carbs is not a meal; "
                if self.min_meal_carbs_g > 0
                else ""
            )
            + f"a window needs {100 * self.min_coverage:.0f}% of the expected readings and no "
            f"gap longer than {gap}"
            + (
                "; a window with a sensor Low/High reading is excluded"
                if self.exclude_censored
                else ""
            )
            + (
                "; two meals whose windows overlap are both excluded"
                if self.exclude_overlapping_meals
                else ""
            )
            + ".",
            f"AGP summary: the most recent {self.agp_days} days of data.",
            "Bayesian N-of-1: "
            + ", ".join(f"P(reduction >= {x:g}%)" for x in self.bayes_thresholds_pct)
            + f"; stop when P(reduction > 0) >= {self.stop_works:g} or P(reduction >= "
            f"{self.stop_worth_pct:g}%) <= {self.stop_futile:g}, looking every "
            f"{self.stop_look_every} meals from {self.stop_min_meals} to {self.stop_max_meals}.",
            f"Intervals: {100 * self.ci_level:g}%"
            + (
                "; insulin figures from CGM are a model-based proxy." if self.insulin_proxy else "."
            ),
        ]
        text = " ".join(parts)
        if self.source != "defaults":
            text += f" (Rules from {self.source}.)"
        return text

    @property
    def ci_label(self) -> str:
        """The interval's level as column names carry it, e.g. ``"ci95"``."""
        return f"ci{100 * self.ci_level:g}".replace(".", "_")

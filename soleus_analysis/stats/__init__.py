"""Comparison statistics: do soleus pushups (SPU) lower the post-meal response, and by how much?

One module per job, each result a tidy :class:`~.results.ResultTable` (one row per result, a
``.summary()`` for people) whose columns say what they hold:

- :mod:`.paired`: crossover studies (one value per person and condition): ``crossover``,
  ``per_person``.
- :mod:`.models`: many meals per person: ``mixed_model``, ``dose_response``.
- :mod:`.nof1`: one person's randomised meals: ``n_of_1``, ``effect_over_time``.
- :mod:`.power`: ``power_crossover``, ``power_n_of_1``, ``power_by_simulation``, ``n_needed``.
- :mod:`.verdict`: the plain-language sentence of a result row.
- :mod:`.common`: condition labels, the meal period, the log offset, least squares, the design.

Named estimands (never one word for several quantities):

- ``reduction_mean_ratio_pct = 100 * (1 - mean(SPU) / mean(control))``: the ratio of arithmetic
  means (crossover over people's means; the mixed model's marginal standardisation);
- ``reduction_geomean_pct = 100 * (1 - exp(mean log ratio))``: the ratio of geometric means (the
  typical response; the N-of-1 regression, adjusted for its covariates).

Each comes with its own interval, in columns named from the level used
(``<estimand>_ci95_low``, ``_high`` at 95%; ``ci90`` at 90%), and its own test.

Inputs: (a) a per subject x condition table (lab studies: ``subject``, ``condition``
``"control"``/``"spu"``, measures such as ``glucose_iauc_mgdl_min``), or (b) the per-meal table of
:func:`soleus_analysis.align.meal_responses`. Rows with ``excluded_reason`` set, another
condition, or a missing measure are left out and counted in ``n_excluded``.

Conventions: differences are ``treatment - control`` and ratios ``treatment / control``; a
positive reduction means SPU lowered the response. Time of day as a covariate is the meal
period of :func:`~.common.meal_period` (breakfast 04:00-10:59, lunch 11:00-15:59, dinner
otherwise). Log-scale models use ``log(value + offset)`` with offset 0 when every value is
positive, else 10% of the median positive value (column ``log_offset``). All randomness comes
from ``seed`` through :func:`numpy.random.default_rng`.
"""

from .common import CONTROL, TREATMENT, ci_label, meal_period
from .models import dose_response, mixed_model
from .nof1 import effect_over_time, n_of_1
from .paired import crossover, per_person
from .power import n_needed, power_by_simulation, power_crossover, power_n_of_1
from .results import ESTIMAND_WORDS, ResultTable
from .verdict import estimate_of, verdict

__all__ = [
    "CONTROL",
    "ESTIMAND_WORDS",
    "ResultTable",
    "TREATMENT",
    "ci_label",
    "crossover",
    "dose_response",
    "effect_over_time",
    "estimate_of",
    "meal_period",
    "mixed_model",
    "n_needed",
    "n_of_1",
    "per_person",
    "power_by_simulation",
    "power_crossover",
    "power_n_of_1",
    "verdict",
]

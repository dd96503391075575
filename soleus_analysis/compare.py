"""The comparisons under their first name: ``from soleus_analysis import compare``.

The statistics live in :mod:`soleus_analysis.stats` (one module per job); this module re-exports
its public functions so ``compare.crossover``, ``compare.mixed_model``, ``compare.n_of_1``,
``compare.dose_response`` and the power functions keep working.
"""

from .stats import *  # noqa: F403 (the public API of soleus_analysis.stats)
from .stats import __all__  # noqa: F401

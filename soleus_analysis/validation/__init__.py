"""Validation of the analysis against simulated truth, all in one place.

- :mod:`.trials`: many simulated crossover trials (bias, CI coverage, method choices, the insulin
  proxy's agreement with the simulator's insulin), and the pieces every validation shares: the
  coverage rule (:func:`~.trials.covered`), the interval of a rate
  (:func:`~.trials.binomial_ci`), the reduction over paired people
  (:func:`~.trials.paired_reduction`) and the summary of bias and coverage
  (:func:`~.trials.summarise_trials`).
- :mod:`.nof1`: simulated self-trackers (coverage and false positives of the N-of-1 analysis,
  summarised by the same summary; the acceptance targets).
- :mod:`.reproduce`: simulate a published study, write its files, analyse them blind, compare.

Only this package reads the simulator's ground truth, and only after the analysis. The truth
itself is defined once, by the simulator (:attr:`soleus_analysis.simulate.Study.truth`,
:meth:`~soleus_analysis.simulate.Study.true_iauc`, :func:`soleus_analysis.simulate.truth_reduction`).
Benchmarks and notebooks call these functions; they compute no validation figure of their own.
"""

"""Validation of the analysis against simulated truth, all in one place.

- :mod:`.trials`: many simulated crossover trials (bias, CI coverage, method choices, the insulin
  proxy's agreement with the simulator's insulin).
- :mod:`.nof1`: simulated self-trackers (coverage and false positives of the N-of-1 analysis).
- :mod:`.reproduce`: simulate a published study, write its files, analyse them blind, compare.

Only this package reads the simulator's ground truth, and only after the analysis.
"""

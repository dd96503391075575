"""Simulated soleus-pushup studies: physiology, CGM sensor, protocols, cohorts and file writers.

Everything produced here is synthetic and labelled so. The simulator writes the same export
formats the readers take, so the analysis runs on its files blind and is checked against the
simulator's noise-free ground truth (:attr:`Study.truth`, :func:`population_truth`).
"""

from __future__ import annotations

from .protocols import PROTOCOLS, Protocol, get_protocol
from .sensor import SENSORS, SensorSpec
from .study import Study, population_truth, simulate_study
from .writers import (
    write_activity_log,
    write_dexcom_clarity,
    write_lab_table,
    write_libreview,
    write_study,
)


def simulate_freeliving(n: int | None = None, seed: int = 0, **overrides) -> Study:
    """Simulate the ``freeliving`` protocol (shorthand for ``simulate_study("freeliving", ...)``)."""
    return simulate_study("freeliving", n=n, seed=seed, **overrides)


__all__ = [
    "PROTOCOLS",
    "SENSORS",
    "Protocol",
    "SensorSpec",
    "Study",
    "get_protocol",
    "population_truth",
    "simulate_freeliving",
    "simulate_study",
    "write_activity_log",
    "write_dexcom_clarity",
    "write_lab_table",
    "write_libreview",
    "write_study",
]

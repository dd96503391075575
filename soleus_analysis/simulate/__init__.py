"""Simulated soleus-pushup studies: physiology, CGM sensor, protocols, studies and file writers.

Everything produced here is synthetic and labelled so. The simulator writes the same export
formats the readers take, so the analysis runs on its files blind and is checked against the
simulator's noise-free ground truth (:attr:`Study.truth`, :func:`truth_reduction`,
:func:`population_truth`, :func:`person_effect`) by :mod:`soleus_analysis.validation`;
:func:`implied_physiology` states what the calibrated SPU effect means physically.

Modules, in the order they import each other (no module imports one listed after it):

- :mod:`.constants`: the calibrated size of the SPU effect (the one place it is set);
- :mod:`.physiology`: the Dalla Man 2007 meal model with the SPU uptake term;
- :mod:`.sensor`: the CGM sensor model and device presets;
- :mod:`.protocols`: the study designs as data;
- :mod:`.study`: a simulated study (:func:`simulate_study`) and its ground truth;
- :mod:`.writers`: the export files (Dexcom Clarity, LibreView, lab table, activity log);
- :mod:`.calibrate`: how the constants were found (``python -m soleus_analysis.simulate.calibrate``).
"""

from __future__ import annotations

from .protocols import PROTOCOLS, Protocol, get_protocol
from .sensor import SENSORS, SensorSpec
from .study import (
    Study,
    blocked_assignment,
    implied_physiology,
    person_effect,
    population_truth,
    simulate_study,
    truth_reduction,
)
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
    "blocked_assignment",
    "get_protocol",
    "implied_physiology",
    "person_effect",
    "population_truth",
    "simulate_freeliving",
    "simulate_study",
    "truth_reduction",
    "write_activity_log",
    "write_dexcom_clarity",
    "write_lab_table",
    "write_libreview",
    "write_study",
]

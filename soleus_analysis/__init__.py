"""soleus_analysis: do soleus pushups blunt the glucose spike after a meal, and by how much?

The public API, loaded lazily so ``import soleus_analysis`` stays fast:

- readers: :func:`read_cgm`, :func:`read_events`, :func:`read_many`, :func:`read_lab`
- responses: :func:`iauc`, :func:`meal_responses`, :func:`glycemic_metrics`
- comparisons: :mod:`soleus_analysis.compare`
- simulation: :mod:`soleus_analysis.simulate`
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY: dict[str, str] = {
    "read_cgm": "soleus_analysis.io",
    "read_events": "soleus_analysis.io",
    "read_many": "soleus_analysis.io",
    "read_person": "soleus_analysis.io",
    "detect_format": "soleus_analysis.io",
    "formats": "soleus_analysis.io",
    "read_lab": "soleus_analysis.io.lab",
    "Recording": "soleus_analysis.core.recording",
    "Provenance": "soleus_analysis.core.recording",
    "InputError": "soleus_analysis.core.errors",
    "Rules": "soleus_analysis.core.rules",
    "MGDL_PER_MMOL": "soleus_analysis.core.schema",
    "iauc": "soleus_analysis.response",
    "auc_measures": "soleus_analysis.response",
    "meal_responses": "soleus_analysis.align",
    "glycemic_metrics": "soleus_analysis.metrics",
    "agp_percentiles": "soleus_analysis.metrics",
    "insulin_indices": "soleus_analysis.insulin",
    "insulin_proxy": "soleus_analysis.insulin",
}

_SUBMODULES = frozenset(
    {
        "align",
        "app",
        "clean",
        "compare",
        "core",
        "insulin",
        "io",
        "metrics",
        "pipeline",
        "plots",
        "report",
        "response",
        "simulate",
        "stats",
        "validation",
    }
)

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"soleus_analysis.{name}")
    raise AttributeError(f"module 'soleus_analysis' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__

"""PDF reports: a self-tracker's report and a cohort report.

Reports only draw what the analysis returned (:class:`soleus_analysis.pipeline.PersonAnalysis`,
:class:`soleus_analysis.pipeline.CohortAnalysis`); they compute nothing themselves.

The PDF writers (and matplotlib) are imported on first use: a command that only prints
(``report.text``) does not pay for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .pdf import write_cohort_report, write_person_report

__all__ = ["write_person_report", "write_cohort_report"]


def __getattr__(name: str) -> Any:
    """The PDF writers, imported from :mod:`soleus_analysis.report.pdf` when first asked for."""
    if name in __all__:
        from . import pdf

        return getattr(pdf, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

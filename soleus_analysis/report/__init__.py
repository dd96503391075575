"""PDF reports: a self-tracker's report and a cohort report.

Reports only draw what the analysis returned (:class:`soleus_analysis.pipeline.PersonAnalysis`,
:class:`soleus_analysis.pipeline.CohortAnalysis`); they compute nothing themselves.
"""

from .pdf import write_cohort_report, write_person_report

__all__ = ["write_person_report", "write_cohort_report"]

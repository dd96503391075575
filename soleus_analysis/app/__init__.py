"""What users run: the ``soleus`` command (:mod:`.cli`), the runner of many people on local
processes or Dask (:mod:`.runner`), the randomised schedule (:mod:`.plan`) and ``make demo``
(:mod:`.demo`). These are the only modules that read files and then call the analysis."""

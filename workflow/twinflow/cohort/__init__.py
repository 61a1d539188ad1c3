"""Virtual cohorts: a population spec sampled into many LV cases (``twinflow cohort
generate``), run by the ordinary workflow, collected into one table (stage ``collect_cohort``).

* :mod:`twinflow.cohort.spec` — the cohort spec file (pydantic; ``schemas/cohort.schema.json``);
* :mod:`twinflow.cohort.sample` — population sampling (Gaussian copula, scipy.stats marginals);
* :mod:`twinflow.cohort.generate` — member case files and their synthetic images;
* :mod:`twinflow.cohort.collect` — ``results/<cohort>/cohort.parquet`` and the summary.
"""

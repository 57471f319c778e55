"""Labels as of a cutoff, time-ordered splits, models, evaluation, MLflow logging and registry.

May import `features` and `data_contracts`. Arrives with issue 5.
"""

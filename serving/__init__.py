"""The FastAPI scoring API and the analysts' review pages.

Uses `features` and `data_contracts`, loads models from MLflow, and never imports `training`.
Arrives with issues 6 and 7.
"""

"""Labels as of a cutoff, time-ordered splits, models, evaluation, MLflow logging and registry.

- `labels`: labels as of a cutoff; train / validation / test periods with label-delay gaps.
- `models`, `baseline`: the estimators and the legacy hold rules they are compared with.
- `pipeline`: history -> labelled features -> fitted models -> test-period answers.
- `metrics`, `plots`, `model_card`: the evaluation, as numbers, PNGs and markdown.
- `export`: the fitted estimators as a `risk_model.RiskModel` bundle (what serving loads).
- `pyfunc`, `registry`: logging the bundle as an MLflow pyfunc; the `champion` alias.
- `train`: the service functions `train` and `promote` behind the CLI.
- `explore`, `analyst_labels`, `compare`: what the notebooks call (exploration, the analysts'
  labels merged into a folder, a version against the champion).
- `handbook`: the Fraud Detection Handbook benchmark (issue 9).

Import the service functions from `training.train`; this package imports nothing itself, so
`import training` stays cheap (MLflow takes seconds to import).
May import `features`, `data_contracts` and the runtime `risk_model`.
"""

"""Labels as of a cutoff, time-ordered splits, models, evaluation, MLflow logging and registry.

- `labels`: labels as of a cutoff; train / validation / test periods with label-delay gaps.
- `models`, `baseline`: the estimators and the legacy hold rules they are compared with.
- `pipeline`: history -> labelled features -> fitted models -> test-period answers.
- `metrics`, `plots`, `model_card`: the evaluation, as numbers, PNGs and markdown.
- `pyfunc`, `registry`: the MLflow model and the `champion` alias.
- `train`: the service functions `train` and `promote` behind the CLI.

Import the service functions from `training.train`; this package imports nothing itself, so
`import training` stays cheap (MLflow takes seconds to import).
May import `features` and `data_contracts`.
"""

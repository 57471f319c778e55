"""The Fraud Detection Handbook benchmark: our features and trainer under a published protocol.

- `contract`: the Handbook's transactions as the contract's tables (card = customer, terminal
  and merchant = terminal, frauds resolved 7 days after the sale).
- `dataset`: our feature pipeline's part that applies here, plus `signals` (Handbook-specific,
  point-in-time), labelled by the outcomes.
- `protocol`: folds, the test set's card exclusions, AUC ROC / AP / Card Precision@100.
- `baseline`: the Handbook's 15 baseline features and logistic regression (the harness check).
- `service`: `run_benchmark` and `run_fidelity`; `report`: the markdown table.

Like the rest of `training`, imports only `features` and `data_contracts` of settlewatch.
"""

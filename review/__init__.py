"""The review queue: cases for risk analysts, their decisions as labels (issue 7).

- `db`: the tables (analysts, sessions, cases, the append-only audit log)
- `cases`: cases from the scoring API's review/hold answers, claim-next with a lease,
  decisions with the case version, labels into the contract's `outcomes`
- `accounts`: scrypt passwords, sessions, roles; `audit`: the audit trail
- `casefile`, `dashboard`, `drift`: what the case page and the dashboard show
- `labels`: the analysts' labels as parquet for retraining
- `web`: the pages (Jinja2, zh_CN and en catalogues in `serving/locale/`), mounted by `mount(app)`
"""

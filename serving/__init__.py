"""The FastAPI scoring API: ingest contract rows, score and route transactions, file claims.

One folder per domain, each `models.py` (request and answer bodies), `service.py` (the logic,
raising `serving.errors`) and `views.py` (an `APIRouter` whose routes call one service
function): `scoring/`, `claims/`, `ingestion/`, `operations/` (health, readiness, metrics, the
model refresh). `app.py` mounts them; beside it sit what every domain shares: `settings`, the
shared objects (`state`, handed to routes by `dependencies`), API keys (`auth`), the error tree
(`errors`) and its one handler (`problems`), the request envelope (`observability`), admission
control (`admission`) and the model loaded from the MLflow registry (`model_manager`).

Builds on `storage`, `features`, `risk_model` and `data_contracts`; never imports `training`
(models come from MLflow as `risk_model` bundles) nor `review` (the analysts' pages, which
`settlewatch.web` mounts on this app).
"""

"""Point-in-time feature pipelines, the same offline (training) and online (serving).

Each feature is declared once (`declarations.Feature`: entity, window, sources, label delay,
dtype, reason code) in its family module under `families/`; `registry.FEATURE_SET` pins the
set's name and version, and `reasons` gathers the codes that explain answers.
`offline.build_features` computes the set for a batch of `(tx_id, as_of)` points from a
`History` with Polars; `online.OnlineFeatures` computes it for single transactions from the
stored history with each family's per-point twin (`compute_one`), reading windowed counts from
hour buckets that `store.store_rows` (ingestion) and `store.write_history` (bulk) maintain. The
declarations (windows, per-message sums) drive both; the parity tests prove them equal.

May import `data_contracts` only.
"""

from features.declarations import Dtype, Entity, Feature, FeatureSet, ReasonCode, RowSum
from features.errors import CalendarRangeError, FeatureError, UnknownPointError
from features.history import History, from_pandas, load_history
from features.offline import build_features, to_pandas
from features.online import OnlineFeatures
from features.population import scoring_points
from features.reasons import REASON_CODES, code_of, features_of
from features.registry import FEATURE_SET
from features.store import (
    ONLINE_METADATA,
    StoreResult,
    create_history_tables,
    store_rows,
    write_history,
)

__all__ = [
    "FEATURE_SET",
    "ONLINE_METADATA",
    "REASON_CODES",
    "CalendarRangeError",
    "Dtype",
    "Entity",
    "Feature",
    "FeatureError",
    "FeatureSet",
    "History",
    "OnlineFeatures",
    "ReasonCode",
    "RowSum",
    "StoreResult",
    "UnknownPointError",
    "build_features",
    "code_of",
    "create_history_tables",
    "features_of",
    "from_pandas",
    "load_history",
    "scoring_points",
    "store_rows",
    "to_pandas",
    "write_history",
]

"""Point-in-time feature pipelines, the same offline (training) and online (serving).

Each feature is declared once (`declarations.Feature`: entity, window, sources, label delay,
dtype) in its family module under `families/`; `registry.FEATURE_SET` pins the set's name and
version. `offline.build_features` computes the set for a batch of `(tx_id, as_of)` points from
a `History`; `online.OnlineFeatures` fetches a history slice from the database, sized by the
declared windows, and calls the same builder, so the two paths cannot drift apart.

May import `data_contracts` only.
"""

from features.declarations import Dtype, Entity, Feature, FeatureSet
from features.errors import CalendarRangeError, FeatureError, UnknownPointError
from features.history import History, from_pandas, load_history
from features.offline import build_features, to_pandas
from features.population import scoring_points
from features.registry import FEATURE_SET

__all__ = [
    "FEATURE_SET",
    "CalendarRangeError",
    "Dtype",
    "Entity",
    "Feature",
    "FeatureError",
    "FeatureSet",
    "History",
    "UnknownPointError",
    "build_features",
    "from_pandas",
    "load_history",
    "scoring_points",
    "to_pandas",
]

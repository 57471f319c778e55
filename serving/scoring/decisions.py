"""From features to answers: the model (or the rules fallback), explanations, routing.

`decide` is the one place answers are made; the API (one transaction, a batch or a claim)
and the `settlewatch score` backfill both call it, so they cannot disagree.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl
from sqlalchemy import Engine, insert

from data_contracts import TIMEZONE
from data_contracts.units import US_HOUR, epoch_us
from data_contracts.units import now_us as _wall_clock_us
from features.reasons import REASON_CODES, ReasonCode, code_of
from serving.i18n import chinese
from serving.model_manager import LoadedModel
from serving.scoring.models import FeatureValue, Probabilities, ScoreAnswer, TopReason
from serving.scoring.policy import RoutingPolicy
from storage.tables import DECISIONS

__all__ = [
    "FALLBACK_RULES",
    "FeatureRows",
    "TxFacts",
    "decide",
    "fallback_risk",
    "record_decisions",
]

_TOP_CODES = 3
_EXPLAIN_FEATURES = 12

#: feature rows with `tx_id` and `as_of`: a frame (batches, backfills) or name -> value
#: mappings (one online point needs no DataFrame)
FeatureRows = pl.DataFrame | Sequence[Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class TxFacts:
    """What routing needs of a transaction besides its features."""

    merchant_id: str
    terminal_id: str
    card_token: str
    amount_fen: int
    #: the transaction's own time (epoch µs): no point may be scored before it; None when the
    #: caller did not read it (a backfill's points are the population's, after their sales)
    ts_us: int | None = None


@dataclass(frozen=True)
class Rule:
    """A legacy-style rule of the fallback: a feature condition and the risk it adds."""

    code: str
    weight: float
    feature: str
    test: str  # "true" | ">0" | ">=x"
    threshold: float = 0.0


#: The fallback when no model can answer: plain rules over the same features, each with the
#: risk it adds (combined as independent evidence). Every fallback answer goes to review.
FALLBACK_RULES: tuple[Rule, ...] = (
    Rule("VOID_OR_REVERSAL", 0.5, "voided", "true"),
    Rule("VOID_OR_REVERSAL", 0.4, "reversed", "true"),
    Rule("MCC_MISMATCH", 0.3, "mcc_mismatch", "true"),
    Rule("CARD_USED_ELSEWHERE", 0.3, "card_elsewhere_after", ">0"),
    Rule("TERMINAL_FRAUD_CARDS", 0.4, "term_fraud_card_share_30d", ">=", 0.05),
    Rule("LOCATION", 0.3, "distance_from_terminal_km", ">=", 50.0),
    Rule("MERCHANT_PRIOR_FRAUD", 0.5, "m_prior_fraud", ">0"),
    Rule("DECLINES", 0.2, "card_wrong_pin_24h", ">0"),
)

_CODES: dict[str, ReasonCode] = {rc.code: rc for rc in REASON_CODES}


def _hit(rule: Rule, value: Any) -> bool:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    if rule.test == "true":
        return bool(value)
    if rule.test == ">0":
        return float(value) > 0
    return float(value) >= rule.threshold


def fallback_risk(row: Mapping[str, Any]) -> tuple[float, list[TopReason]]:
    """The rules' risk in [0, 1] and the rules that fired, as top reasons."""
    survive = 1.0
    fired: dict[str, tuple[float, list[FeatureValue]]] = {}
    for rule in FALLBACK_RULES:
        value = row.get(rule.feature)
        if _hit(rule, value):
            survive *= 1 - rule.weight
            weight, feats = fired.get(rule.code, (0.0, []))
            feats.append(FeatureValue(name=rule.feature, value=_plain(value)))
            fired[rule.code] = (weight + rule.weight, feats)
    reasons = [
        TopReason(
            code=code,
            en=_CODES[code].en,
            zh=chinese(_CODES[code].en),
            weight=weight,
            features=feats,
        )
        for code, (weight, feats) in sorted(fired.items(), key=lambda kv: -kv[1][0])
    ]
    return 1 - survive, reasons[:_TOP_CODES]


def _plain(value: Any) -> float | str | bool | None:
    if value is None or isinstance(value, bool | str):
        return value
    number = float(value)
    return None if math.isnan(number) else number


def _when(us: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(us / 1e6, tz=TIMEZONE)


def _top_reasons(contributions: Sequence[Any]) -> list[TopReason]:
    """Group feature contributions by reason code; the codes that raised risk most."""
    weights: dict[str, float] = defaultdict(float)
    members: dict[str, list[Any]] = defaultdict(list)
    for c in contributions:
        rc = code_of(c.feature)
        if rc is None:
            continue
        weights[rc.code] += float(c.weight)
        members[rc.code].append(c)
    ranked = sorted((w, code) for code, w in weights.items() if w > 0)[::-1][:_TOP_CODES]
    # models only for the codes shown: a batch makes a dozen contributions per row
    return [
        TopReason(
            code=code,
            en=_CODES[code].en,
            zh=chinese(_CODES[code].en),
            weight=w,
            features=[FeatureValue(name=c.feature, value=_plain(c.value)) for c in members[code]],
        )
        for w, code in ranked
    ]


class _ModelAnswers:
    """A model's predictions for a batch of rows, as plain Python values (numpy scalar access
    per row costs more than the rest of an answer)."""

    def __init__(
        self, loaded: LoadedModel, features: FeatureRows, explain: Literal["every", "acted"]
    ) -> None:
        model = loaded.model
        self.explanations: list[list[Any]] | None = None
        if explain == "every":
            # one encoding and one risk prediction for the answers and their explanations
            prediction, self.explanations = model.predict_and_explain(
                features, top=_EXPLAIN_FEATURES
            )
        else:
            prediction = model.predict(features)
        self.proba = prediction.proba.tolist()
        self.likeliest = prediction.proba.argmax(axis=1).tolist()
        self.risk = prediction.risk_score.tolist()
        self.anomaly: list[float | None] = prediction.anomaly_score.tolist()
        self.reasons = prediction.reason.tolist()
        self.eta_p50 = prediction.eta_p50_hours.tolist()
        self.eta_p90 = prediction.eta_p90_hours.tolist()
        classes = list(model.classes)
        self.i_benign = classes.index("benign_delay")
        self.i_fraud = classes.index("fraud")
        self.i_trap = classes.index("card_trapping")


def _ids_and_times(features: FeatureRows) -> tuple[list[str], list[int]]:
    if isinstance(features, pl.DataFrame):
        return features["tx_id"].to_list(), features["as_of"].cast(pl.Int64).to_list()
    return [r["tx_id"] for r in features], [int(r["as_of"]) for r in features]


def decide(
    features: FeatureRows,
    facts: Mapping[str, TxFacts],
    *,
    loaded: LoadedModel | None,
    policy: RoutingPolicy,
    feature_set_ref: str,
    now_us: int | None,
    deadlines_us: Mapping[str, int] | None = None,
    explain: Literal["every", "acted"] = "every",
) -> list[ScoreAnswer]:
    """One answer per feature row (same order): the model's, or the fallback's without one.

    `features` holds `tx_id`, `as_of` (epoch µs) and the feature set, as a frame or as a list
    of mappings; `facts` every tx_id's merchant, terminal, card and amount. `deadlines_us`
    overrides the SLA deadline per tx_id (a claim's filing time + SLA); by default it is
    `as_of` + the policy's SLA. `now_us` None means each point's own `as_of` (backtests).
    `explain="acted"` gives the model's top reasons only to the answers a person acts on
    (review, hold) and leaves the others' empty: a backfill's table has no reasons, and the
    exact explanation is most of a batch's cost.
    """
    n = features.height if isinstance(features, pl.DataFrame) else len(features)
    if n == 0:
        return []
    tx_ids, as_ofs = _ids_and_times(features)
    rows: Sequence[Mapping[str, Any]] | None = None
    m: _ModelAnswers | None = None
    if loaded is None:
        rows = features.to_dicts() if isinstance(features, pl.DataFrame) else features
    else:
        m = _ModelAnswers(loaded, features, explain)
    deadlines = deadlines_us or {}
    sla_us = int(policy.sla_hours * US_HOUR)
    model_version = None if loaded is None else loaded.version
    source: Literal["model", "fallback"] = "fallback" if loaded is None else "model"
    answers: list[ScoreAnswer] = []
    for i in range(n):
        tx_id, as_of = tx_ids[i], as_ofs[i]
        fact = facts[tx_id]
        deadline = deadlines.get(tx_id, as_of + sla_us)
        hours_left = (deadline - (as_of if now_us is None else now_us)) / US_HOUR
        reason: str | None = None
        eta50 = eta90 = None
        probabilities: Probabilities | None = None
        if m is None:
            assert rows is not None
            score, top = fallback_risk(rows[i])
            p_fraud = p_trap = a_score = None
        else:
            p = m.proba[i]
            probabilities = Probabilities(
                benign_delay=p[m.i_benign], fraud=p[m.i_fraud], card_trapping=p[m.i_trap]
            )
            score = min(max(m.risk[i], 0.0), 1.0)
            p_fraud, p_trap, a_score = p[m.i_fraud], p[m.i_trap], m.anomaly[i]
            top = [] if m.explanations is None else _top_reasons(m.explanations[i])
            if m.likeliest[i] == m.i_benign:
                reason = str(m.reasons[i])
                eta50 = _when(as_of + int(m.eta_p50[i] * US_HOUR))
                eta90 = _when(as_of + int(m.eta_p90[i] * US_HOUR))
        route = policy.route(
            risk=score,
            p_fraud=p_fraud,
            p_card_trapping=p_trap,
            anomaly=a_score,
            amount_fen=fact.amount_fen,
            merchant_id=fact.merchant_id,
            terminal_id=fact.terminal_id,
            card_token=fact.card_token,
            fallback=loaded is None,
            hours_left=hours_left,
        )
        answers.append(
            ScoreAnswer(
                tx_id=tx_id,
                as_of=_when(as_of),
                probabilities=probabilities,
                risk_score=score,
                risk_level=route.risk_level,
                decision=route.decision,
                queue=route.queue,
                priority=route.priority,
                expected_loss_fen=route.expected_loss_fen,
                sla_deadline=_when(deadline),
                predicted_reason=reason,
                eta_p50=eta50,
                eta_p90=eta90,
                top_reasons=top,
                anomaly_score=a_score,
                routing=list(route.why),
                model_version=model_version,
                feature_set=feature_set_ref,
                policy_version=policy.version,
                decision_source=source,
            )
        )
    if loaded is not None and explain == "acted":
        _explain_acted(answers, features, loaded)
    return answers


def _explain_acted(answers: list[ScoreAnswer], features: FeatureRows, loaded: LoadedModel) -> None:
    """Give the review and hold answers their top reasons (the releases keep none)."""
    acted = [i for i, a in enumerate(answers) if a.decision != "release"]
    if not acted:
        return
    subset = features[acted] if isinstance(features, pl.DataFrame) else [features[i] for i in acted]
    for i, contributions in zip(
        acted, loaded.model.explain(subset, top=_EXPLAIN_FEATURES), strict=True
    ):
        answers[i].top_reasons = _top_reasons(contributions)


def record_decisions(
    engine: Engine,
    answers: Sequence[ScoreAnswer],
    *,
    scored_at_us: int | None,
    claims: Mapping[str, str] | None = None,
    answer_json: Sequence[str] | None = None,
) -> int:
    """Keep the answers a person must act on (review, hold, any claim's) in `decisions`.

    The review queue builds its cases from these rows. `scored_at_us`: when they were given;
    None for a backfill, where each answer counts as given at its own scoring time (never
    later than now), so that the queue's ages and the dashboard's "last 7 days" are the
    history's, not the run's. `answer_json`: the answers already serialized
    (`model_dump_json`, same order), so that they are not serialized twice. Returns how many
    were written.
    """
    claims = claims or {}
    now = _wall_clock_us()
    texts = answer_json if answer_json is not None else [None] * len(answers)
    rows = [
        {
            "tx_id": a.tx_id,
            "as_of": epoch_us(a.as_of),
            "scored_at": scored_at_us if scored_at_us is not None else min(epoch_us(a.as_of), now),
            "decision": a.decision,
            "risk_level": a.risk_level,
            "risk_score": a.risk_score,
            "queue": a.queue,
            "priority": a.priority,
            "decision_source": a.decision_source,
            "model_version": a.model_version,
            "policy_version": a.policy_version,
            "claim_id": claims.get(a.tx_id),
            "answer_json": text if text is not None else a.model_dump_json(),
        }
        for a, text in zip(answers, texts, strict=True)
        if a.decision != "release" or a.tx_id in claims
    ]
    if rows:
        with engine.begin() as conn:
            conn.execute(insert(DECISIONS), rows)
    return len(rows)

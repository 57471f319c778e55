"""From features to answers: the model (or the rules fallback), explanations, routing.

`decide` is the one place answers are made; the API (one transaction or a batch) and the
`settlewatch score` backfill both call it, so they cannot disagree.
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
from serving.db import DECISIONS, US_HOUR, epoch_us
from serving.db import now_us as _wall_clock_us
from serving.models import LoadedModel
from serving.policy import RoutingPolicy
from serving.schemas import FeatureValue, Probabilities, ScoreAnswer, TopReason
from serving.vocabulary import BENIGN_REASON_TEXT, REASON_CODES, ReasonCode, code_of

__all__ = [
    "FALLBACK_RULES",
    "FeatureRows",
    "TxFacts",
    "decide",
    "fallback_risk",
    "merchant_message",
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
            zh=_CODES[code].zh,
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
            zh=_CODES[code].zh,
            weight=w,
            features=[FeatureValue(name=c.feature, value=_plain(c.value)) for c in members[code]],
        )
        for w, code in ranked
    ]


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
    if isinstance(features, pl.DataFrame):
        n = features.height
        if n == 0:
            return []
        tx_ids = features["tx_id"].to_list()
        as_ofs = features["as_of"].cast(pl.Int64).to_list()
    else:
        n = len(features)
        if n == 0:
            return []
        tx_ids = [r["tx_id"] for r in features]
        as_ofs = [int(r["as_of"]) for r in features]
    rows: Sequence[Mapping[str, Any]] | None = None
    if loaded is None:
        rows = features.to_dicts() if isinstance(features, pl.DataFrame) else features
    else:
        model = loaded.model
        explanations: list[list[Any]] | None = None
        if explain == "every":
            # one encoding and one risk prediction for the answers and their explanations
            prediction, explanations = model.predict_and_explain(features, top=_EXPLAIN_FEATURES)
        else:
            prediction = model.predict(features)
        # plain Python values once for all rows: numpy scalar access per row costs more
        proba = prediction.proba.tolist()
        likeliest = prediction.proba.argmax(axis=1).tolist()
        risk = prediction.risk_score.tolist()
        anomaly: list[float | None] = prediction.anomaly_score.tolist()
        reasons = prediction.reason.tolist()
        eta_p50 = prediction.eta_p50_hours.tolist()
        eta_p90 = prediction.eta_p90_hours.tolist()
        classes = list(model.classes)
        i_benign = classes.index("benign_delay")
        i_fraud = classes.index("fraud")
        i_trap = classes.index("card_trapping")
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
        if rows is not None:
            score, top = fallback_risk(rows[i])
            p_fraud = p_trap = a_score = None
        else:
            p = proba[i]
            probabilities = Probabilities(
                benign_delay=p[i_benign], fraud=p[i_fraud], card_trapping=p[i_trap]
            )
            score = min(max(risk[i], 0.0), 1.0)
            p_fraud, p_trap, a_score = p[i_fraud], p[i_trap], anomaly[i]
            top = [] if explanations is None else _top_reasons(explanations[i])
            if likeliest[i] == i_benign:
                reason = str(reasons[i])
                eta50 = _when(as_of + int(eta_p50[i] * US_HOUR))
                eta90 = _when(as_of + int(eta_p90[i] * US_HOUR))
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
        acted = [i for i, a in enumerate(answers) if a.decision != "release"]
        if acted:
            subset = (
                features[acted] if isinstance(features, pl.DataFrame)
                else [features[i] for i in acted]
            )  # fmt: skip
            for i, contributions in zip(
                acted, loaded.model.explain(subset, top=_EXPLAIN_FEATURES), strict=True
            ):
                answers[i].top_reasons = _top_reasons(contributions)
    return answers


def merchant_message(answer: ScoreAnswer) -> tuple[str, str]:
    """What the merchant is told next, (zh, en), without revealing fraud suspicion."""
    deadline = answer.sla_deadline.astimezone(TIMEZONE).strftime("%Y-%m-%d %H:%M")
    en_reason, zh_reason = BENIGN_REASON_TEXT.get(
        answer.predicted_reason or "", ("settlement is in progress", "款项正在结算途中")
    )
    if answer.decision == "release" and answer.eta_p50 is not None and answer.eta_p90 is not None:
        p50 = answer.eta_p50.astimezone(TIMEZONE).strftime("%Y-%m-%d %H:%M")
        p90 = answer.eta_p90.astimezone(TIMEZONE).strftime("%Y-%m-%d %H:%M")
        return (
            f"您的款项尚未到账，原因：{zh_reason}。预计{p50}前到账，最迟不晚于{p90}（北京时间）。",
            f"Your money has not arrived because {en_reason}. We expect it by {p50}, "
            f"and no later than {p90} (Beijing time).",
        )
    if answer.decision == "release":
        return (
            f"您的款项正在结算途中，原因：{zh_reason}。如{deadline}（北京时间）前仍未到账，请再次联系我们。",
            f"Your money is on its way: {en_reason}. If it has not arrived by {deadline} "
            "(Beijing time), please contact us again.",
        )
    if answer.decision == "hold":
        return (
            f"该笔交易的资金需进一步核查，暂缓结算。我们将于{deadline}（北京时间）前与您联系；"
            "如需补充材料，会另行通知。",
            "The funds of this sale need further checks and are held for now. We will contact "
            f"you by {deadline} (Beijing time) and tell you if we need any documents.",
        )
    return (
        f"我们已收到您的查询，该笔交易正在人工核实中，将于{deadline}（北京时间）前答复您。",
        f"We have received your claim. A specialist is checking this sale and will answer by "
        f"{deadline} (Beijing time).",
    )


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

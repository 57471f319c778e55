"""Routing policy and reason codes: small, no model needed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from serving.claims.delay_reasons import BENIGN_REASON_WORDS
from serving.scoring.decisions import fallback_risk
from serving.scoring.policy import Lists, RoutingPolicy, derive_review_threshold, load_policy

POLICY = RoutingPolicy(
    version="t1",
    review_capacity_per_day=10,
    unsettled_per_day=100,
    review_threshold=0.3,
    hold_threshold=0.9,
    anomaly_threshold=0.8,
    sla_hours=48,
    allow=Lists(merchants=frozenset({"m-good"})),
    block=Lists(cards=frozenset({"card-bad"})),
)


def _route(**changes: object):  # type: ignore[no-untyped-def]
    args: dict[str, object] = {
        "risk": 0.1, "p_fraud": 0.05, "p_card_trapping": 0.05, "anomaly": 0.1,
        "amount_fen": 100_000, "merchant_id": "m1", "terminal_id": "t1", "card_token": "c1",
        "fallback": False,
    }  # fmt: skip
    args.update(changes)
    return POLICY.route(**args)  # type: ignore[arg-type]


def test_routing_decisions() -> None:
    assert _route().decision == "release"
    assert _route().priority == 0
    review = _route(risk=0.5, p_fraud=0.1, p_card_trapping=0.4)
    assert (review.decision, review.queue, review.risk_level) == ("review", "card_trapping", "high")
    assert _route(risk=0.95).decision == "hold"
    assert _route(risk=0.95).risk_level == "critical"
    anomaly = _route(anomaly=0.85)
    assert (anomaly.decision, anomaly.queue) == ("review", "anomaly")
    # lists beat the model both ways; the fallback always goes to review
    assert _route(risk=0.95, merchant_id="m-good").decision == "release"
    assert _route(card_token="card-bad").decision == "hold"
    assert _route(fallback=True).queue == "fallback"
    # priority: the same expected loss nearer its deadline comes first
    near = _route(risk=0.5, hours_left=2).priority
    far = _route(risk=0.5, hours_left=40).priority
    assert near > far > 0


def test_review_threshold_fits_the_capacity() -> None:
    scores = np.random.default_rng(0).random(1_000)
    threshold = derive_review_threshold(scores, capacity_per_day=25, days=2)
    assert (scores >= threshold).sum() == 50
    assert derive_review_threshold(scores, capacity_per_day=0, days=2) == 1.0
    tied = np.full(100, 0.5)
    assert (tied >= derive_review_threshold(tied, capacity_per_day=10, days=1)).sum() <= 10


def test_policy_files(tmp_path: Path) -> None:
    default = load_policy()
    assert default.version
    path = tmp_path / "policy.json"
    path.write_text(json.dumps({**POLICY.to_json(), "version": "t2"}))
    assert load_policy(path).version == "t2"
    assert load_policy(path).block.cards == {"card-bad"}
    path.write_text(json.dumps({**POLICY.to_json(), "review_threshold": 0.95}))
    with pytest.raises(ValueError, match="review_threshold"):
        load_policy(path)
    path.write_text("{")
    with pytest.raises(ValueError, match="cannot read"):
        load_policy(path)


def test_every_benign_reason_of_the_contract_has_merchant_words() -> None:
    from data_contracts import BENIGN_REASONS

    assert set(BENIGN_REASON_WORDS) == set(BENIGN_REASONS)


def test_fallback_rules() -> None:
    quiet, none = fallback_risk({"voided": False, "mcc_mismatch": False})
    assert quiet == 0
    assert none == []
    risky, reasons = fallback_risk({"voided": True, "mcc_mismatch": True, "m_prior_fraud": 0})
    assert risky == pytest.approx(1 - 0.5 * 0.7)
    assert [r.code for r in reasons] == ["VOID_OR_REVERSAL", "MCC_MISMATCH"]

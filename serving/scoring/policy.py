"""The routing policy: from risk, anomaly, lists and money at stake to release, review or hold.

The policy is configuration (JSON), versioned, and its version is returned in every answer.
Its review threshold comes from the analysts' capacity: `derive_review_threshold` picks the
score above which the expected daily volume fills the review capacity, so the queue stays
workable as the model or the traffic changes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

__all__ = [
    "Lists",
    "Route",
    "RoutingPolicy",
    "derive_review_threshold",
    "load_policy",
]

Decision = Literal["release", "review", "hold"]
RiskLevel = Literal["low", "medium", "high", "critical"]
Queue = Literal["fraud", "card_trapping", "anomaly", "fallback"]

_DEFAULT = Path(__file__).with_name("policy_default.json")


@dataclass(frozen=True)
class Lists:
    """Merchants, terminals and card tokens that override the model."""

    merchants: frozenset[str] = frozenset()
    terminals: frozenset[str] = frozenset()
    cards: frozenset[str] = frozenset()

    def match(self, merchant_id: str, terminal_id: str, card_token: str) -> str | None:
        """Which list entry matches ('merchant', 'terminal', 'card'), or None."""
        if merchant_id in self.merchants:
            return "merchant"
        if terminal_id in self.terminals:
            return "terminal"
        if card_token in self.cards:
            return "card"
        return None

    @classmethod
    def from_json(cls, data: dict[str, Sequence[str]] | None) -> Lists:
        data = data or {}
        unknown = set(data) - {"merchants", "terminals", "cards"}
        if unknown:
            raise ValueError(f"unknown list kind(s): {sorted(unknown)}")
        return cls(
            merchants=frozenset(data.get("merchants", ())),
            terminals=frozenset(data.get("terminals", ())),
            cards=frozenset(data.get("cards", ())),
        )


@dataclass(frozen=True)
class Route:
    """What the policy decided and why."""

    decision: Decision
    risk_level: RiskLevel
    queue: Queue | None
    expected_loss_fen: float
    priority: float
    sla_hours: float
    why: tuple[str, ...]


@dataclass(frozen=True)
class RoutingPolicy:
    """Thresholds, lists and the merchant SLA.

    Args:
        version: returned in every answer; change it whenever anything here changes.
        review_capacity_per_day: cases the analysts can work per day.
        unsettled_per_day: unsettled transactions scored per day (the denominator).
        review_threshold: risk score from which a case goes to review (see
            `derive_review_threshold`).
        hold_threshold: risk score from which the money is held outright (and reviewed).
        anomaly_threshold: anomaly score from which a case goes to review on its own.
        sla_hours: hours the merchant is promised an answer in.
    """

    version: str
    review_capacity_per_day: int
    unsettled_per_day: int
    review_threshold: float
    hold_threshold: float
    anomaly_threshold: float
    sla_hours: float = 48.0
    allow: Lists = field(default_factory=Lists)
    block: Lists = field(default_factory=Lists)

    def __post_init__(self) -> None:
        if not 0 <= self.review_threshold <= self.hold_threshold <= 1:
            raise ValueError("need 0 ≤ review_threshold ≤ hold_threshold ≤ 1")
        if self.sla_hours <= 0 or self.review_capacity_per_day < 0 or self.unsettled_per_day <= 0:
            raise ValueError("sla_hours and unsettled_per_day must be positive, capacity ≥ 0")

    def level(self, risk: float) -> RiskLevel:
        """low < half the review threshold ≤ medium < review ≤ high < hold ≤ critical."""
        if risk >= self.hold_threshold:
            return "critical"
        if risk >= self.review_threshold:
            return "high"
        if risk >= self.review_threshold / 2:
            return "medium"
        return "low"

    def route(
        self,
        *,
        risk: float,
        p_fraud: float | None,
        p_card_trapping: float | None,
        anomaly: float | None,
        amount_fen: float,
        merchant_id: str,
        terminal_id: str,
        card_token: str,
        fallback: bool,
        hours_left: float | None = None,
    ) -> Route:
        """Decide for one scored transaction. Lists beat the model; the fallback always reviews.

        Priority is expected loss (risk × amount, in yuan) per hour left before the SLA, so a
        large case near its deadline comes first.
        """
        level = self.level(risk)
        expected_loss = risk * amount_fen
        left = self.sla_hours if hours_left is None else hours_left
        priority = (expected_loss / 100.0) / max(left, 1.0)
        why: list[str] = []
        kind: Queue = "card_trapping" if (p_card_trapping or 0.0) > (p_fraud or 0.0) else "fraud"
        blocked = self.block.match(merchant_id, terminal_id, card_token)
        allowed = self.allow.match(merchant_id, terminal_id, card_token)
        decision: Decision
        queue: Queue | None
        if blocked:
            decision, queue = "hold", kind
            why.append(f"block list: {blocked}")
        elif fallback:
            decision, queue = "review", "fallback"
            why.append("no usable model: rules fallback, reviewed by an analyst")
        elif allowed:
            decision, queue = "release", None
            why.append(f"allow list: {allowed}")
        elif risk >= self.hold_threshold:
            decision, queue = "hold", kind
            why.append(f"risk {risk:.3f} ≥ hold threshold {self.hold_threshold}")
        elif risk >= self.review_threshold:
            decision, queue = "review", kind
            why.append(f"risk {risk:.3f} ≥ review threshold {self.review_threshold}")
        elif anomaly is not None and anomaly >= self.anomaly_threshold:
            decision, queue = "review", "anomaly"
            why.append(f"anomaly {anomaly:.3f} ≥ anomaly threshold {self.anomaly_threshold}")
        else:
            decision, queue = "release", None
            why.append(f"risk {risk:.3f} below review threshold {self.review_threshold}")
        return Route(
            decision=decision,
            risk_level=level,
            queue=queue,
            expected_loss_fen=expected_loss,
            priority=priority if decision != "release" else 0.0,
            sla_hours=self.sla_hours,
            why=tuple(why),
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("allow", "block"):
            data[name] = {k: sorted(v) for k, v in data[name].items()}
        return data


def load_policy(path: Path | None = None) -> RoutingPolicy:
    """The policy in `path` (JSON), or the packaged default. ValueError says what is wrong."""
    source = path or _DEFAULT
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read routing policy {source}: {exc}") from exc
    try:
        data["allow"] = Lists.from_json(data.get("allow"))
        data["block"] = Lists.from_json(data.get("block"))
        return RoutingPolicy(**data)
    except TypeError as exc:
        raise ValueError(f"routing policy {source}: {exc}") from exc


def derive_review_threshold(
    risk_scores: Sequence[float] | np.ndarray, *, capacity_per_day: int, days: float
) -> float:
    """The lowest threshold whose expected reviews fit the capacity.

    `risk_scores` are the scores of `days` days of unsettled transactions (a backtest of
    `settlewatch score`); the threshold sends at most `capacity_per_day × days` of them to
    review.
    """
    scores = np.sort(np.asarray(risk_scores, dtype=float))[::-1]
    budget = int(capacity_per_day * days)
    if budget <= 0 or scores.size == 0:
        return 1.0
    if budget >= scores.size:
        return float(scores[-1])
    # strictly above the first score that does not fit, so ties never overflow the queue
    return float(np.nextafter(scores[budget], 1.0))

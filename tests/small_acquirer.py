"""The small simulated acquirer the training, serving and notebook tests train on.

60 merchants × 50 days with every scheme made common enough to learn from in seconds.
"""

from __future__ import annotations

import datetime as dt

from simulator import SimulationConfig

START = dt.date(2026, 1, 5)

SMALL_ACQUIRER = SimulationConfig(
    merchants=60,
    days=50,
    start=START,
    seed=3,
    cash_out_merchant_share=0.1,
    mcc_jumping_merchant_share=0.05,
    complicit_merchant_share=0.08,
    double_claim_merchant_share=0.05,
    void_after_sale_terminal_share=0.06,
    skimming_terminal_share=0.05,
    fake_failure_terminal_share=0.05,
    capture_card_terminal_share=0.05,
)

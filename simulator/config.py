"""The simulator's knobs, each default with where it comes from.

"DOMAIN §n" points at `shared/DOMAIN.md`; "assumed" marks a modelling choice with no published
figure behind it, picked to give plausible volumes and the unsettled-set mix DOMAIN §3 asks for.

At the defaults the unsettled set (scoring population) is about 2% of all messages; fraud and
card trapping are 2-6% of it (DOMAIN §3, assumed) and well under 1% of all messages. The test
`tests/unit/simulator/test_sim_leaks_and_mix.py` holds the simulator to these ranges.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, fields

from simulator.errors import SimulationConfigError

__all__ = ["SimulationConfig"]

#: schemes that can be the novel one: those run by actors in a window of days
_NOVEL_SCHEMES = (
    "cash_out",
    "mcc_jumping",
    "double_claim",
    "terminal_relocation",
    "void_after_sale",
    "fake_failure_repay",
    "skimming",
    "capture_card",
)


@dataclass(frozen=True)
class SimulationConfig:
    """Everything that shapes one simulated acquirer; equal configs give identical files."""

    merchants: int = 1000  # issue 3: the benchmark size
    days: int = 90  # issue 3: the benchmark size
    start: datetime.date = datetime.date(2026, 1, 5)  # assumed: a Monday inside the calendar
    seed: int = 0  # any non-negative integer; the only source of randomness

    # --- population -------------------------------------------------------------------------
    # assumed: median merchant makes ~10 card sales a day, heavy (lognormal) tail to thousands
    merchant_daily_sales_median: float = 10.0
    merchant_daily_sales_sigma: float = 1.1  # assumed: top 1% of merchants ~ 13x the median
    d0_share: float = 0.2  # assumed: share of merchants paid D0 (DOMAIN §2 settlement modes)
    cards_per_merchant: int = 40  # assumed: size of the card pool per merchant
    credit_card_share: float = 0.4  # assumed
    tourist_share: float = 0.06  # assumed: sales by cards from another region (travel)
    new_merchant_share: float = 0.12  # assumed: merchants onboarded < 90 days before start
    payee_change_share: float = 0.06  # assumed: merchants that changed payee account in a year

    # --- lifecycle (DOMAIN §2) ----------------------------------------------------------------
    clearing_cutoff_hour: int = 23  # DOMAIN §2: UnionPay cut-off 23:00 Beijing time
    batch_auto_close_days: int = 3  # DOMAIN §2 (assumed there): auto-close after 3 days
    batch_miss_rate: float = 0.003  # assumed: a typical terminal forgets 1 close in ~300 days
    sloppy_terminal_share: float = 0.03  # assumed: terminals that often forget (look-alike)
    sloppy_batch_miss_rate: float = 0.08  # assumed
    t1_payout_hour: float = 9.0  # assumed: acquirer's T1 payout run starts 09:00
    t1_payout_spread_hours: float = 1.5  # assumed: the run takes up to 90 minutes
    d0_quota_fen: int = 5_000_000  # DOMAIN §2: assumed D0 quota 50,000 yuan a day
    # DOMAIN §2: bank credit delay P50 1 h / 3 h / 5 h / 8 h for state / joint-stock / city /
    # rural banks; the spread and the cap (the published SLA, part of expected arrival) assumed
    credit_delay_p50_hours: tuple[float, float, float, float] = (1.0, 3.0, 5.0, 8.0)
    credit_delay_sigma: float = 0.6  # assumed
    credit_delay_cap_factor: float = 3.0  # assumed: SLA = 3 x P50; never later without a cause
    overdue_grace_hours: float = 2.0  # DOMAIN §2: grace, assumed 2 hours
    void_rate: float = 0.006  # assumed: share of approved sales voided in the batch
    timeout_rate: float = 0.004  # assumed: share of sales that time out and are reversed
    refund_rate: float = 0.003  # assumed
    duplicate_purchase_rate: float = 0.002  # assumed: genuine same card+amount repeat purchase

    # --- benign incidents (DOMAIN §3 benign reasons) ------------------------------------------
    outage_rate_per_bank_day: float = 0.012  # assumed: a bank is down ~4 days a year
    outage_median_hours: float = 8.0  # assumed
    clearing_delay_day_share: float = 0.015  # assumed: the clearing file is late ~5 days a year
    account_error_rate_per_merchant_day: float = 0.00025  # assumed: ~9% of merchants a year
    account_error_median_days: float = 2.5  # assumed: time for the merchant to fix the account
    sampled_check_rate: float = 0.0015  # assumed: routine random checks of approved sales
    claim_rate_overdue: float = 0.22  # assumed: base chance a merchant claims an overdue sale
    claim_rate_premature: float = 0.01  # assumed: claims before money is due (not_yet_due...)
    claim_rate_voided: float = 0.02  # assumed: honest confusion over a voided/reversed sale

    # --- fraud and card trapping (DOMAIN §3) --------------------------------------------------
    # shares of merchants or terminals acting in a 90-day run; longer runs get proportionally
    # more actors (each acts for weeks), cash-out merchants act throughout
    cash_out_merchant_share: float = 0.014  # assumed
    mcc_jumping_merchant_share: float = 0.018  # assumed
    two_mcc_merchant_share: float = 0.08  # assumed: benign look-alike of mcc_jumping
    relocation_terminal_share: float = 0.009  # assumed
    double_claim_merchant_share: float = 0.018  # assumed
    void_after_sale_terminal_share: float = 0.007  # assumed
    fake_failure_terminal_share: float = 0.007  # assumed
    skimming_terminal_share: float = 0.007  # assumed
    capture_card_terminal_share: float = 0.007  # assumed
    stolen_cards_per_merchant_day: float = 0.004  # assumed: cards stolen by other means
    complicit_merchant_share: float = 0.005  # assumed: merchants that take stolen cards
    chargeback_rate_benign: float = 0.0002  # assumed: disputes of genuine sales
    terminal_hold_chargebacks: int = 3  # assumed: chargebacks in 30 days that hold a terminal
    terminal_hold_ratio: float = 0.01  # assumed: ... or 1% of its sales in those 30 days
    terminal_hold_days: int = 7  # assumed
    void_velocity_hold: int = 4  # assumed: voids in a day that hold a terminal next days
    # a bank's return notice (退票) for a failed payout arrives hours to days after the payout
    # (assumed: 4-60 hours, uniform); until then the payout looks sent and merely late
    return_notice_hours: tuple[float, float] = (4.0, 60.0)

    # --- the novel pattern (issue 5: an honest test of the anomaly score) ---------------------
    # One scheme acts only from `novel_from_share` of the run on, with its usual number of
    # actors: a model trained on the earlier days has never seen it labelled, as with a new
    # modus operandi. Its outcomes carry the scheme's own reason, so a trainer finds it as the
    # reason its test period has and its training labels lack. "" switches it off.
    novel_scheme: str = "terminal_relocation"
    novel_from_share: float = 0.8

    def __post_init__(self) -> None:
        if self.merchants < 1:
            raise SimulationConfigError("must be at least 1", field="merchants")
        if self.days < 1:
            raise SimulationConfigError("must be at least 1", field="days")
        if self.seed < 0:
            raise SimulationConfigError("must be non-negative", field="seed")
        if not 0 <= self.clearing_cutoff_hour <= 23:
            raise SimulationConfigError("must be an hour 0-23", field="clearing_cutoff_hour")
        if self.cards_per_merchant < 1:
            raise SimulationConfigError("must be at least 1", field="cards_per_merchant")
        if len(self.credit_delay_p50_hours) != 4 or min(self.credit_delay_p50_hours) <= 0:
            raise SimulationConfigError("needs 4 positive hours", field="credit_delay_p50_hours")
        low, high = self.return_notice_hours
        if not 0 < low <= high:
            raise SimulationConfigError("needs 0 < low <= high hours", field="return_notice_hours")
        if self.novel_scheme and self.novel_scheme not in _NOVEL_SCHEMES:
            raise SimulationConfigError(
                f"must be one of {', '.join(_NOVEL_SCHEMES)} or empty", field="novel_scheme"
            )
        for f in fields(self):
            value = getattr(self, f.name)
            is_share = f.name.endswith(("_share", "_rate")) or "_rate_" in f.name
            if is_share and isinstance(value, float) and not 0.0 <= value <= 1.0:
                raise SimulationConfigError("must be a probability in [0, 1]", field=f.name)

"""Reference lists the population draws from: MCCs, regions, card BINs, response codes.

Figures here are assumed (plausible for Chinese POS acquiring), except the codes themselves:
MCCs are ISO 18245 codes, region codes GB/T 2260 division codes with their cities' coordinates,
response codes those DOMAIN §2 names.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "DECLINE_CODES",
    "ENTRY_MODES",
    "HOUR_PROFILES",
    "LOW_FEE_MCCS",
    "MCCS",
    "MSG_TYPES",
    "PICKUP_CODES",
    "REGIONS",
    "RESPONSE_CODES",
    "Mcc",
    "Region",
]

Arr = npt.NDArray[Any]


class Mcc:
    """One merchant category with its spending pattern (all figures assumed)."""

    __slots__ = (
        "code",
        "median_yuan",
        "mpos_share",
        "profile",
        "round_share",
        "sigma",
        "weekend",
        "weight",
    )

    def __init__(
        self,
        code: str,
        weight: float,
        median_yuan: float,
        sigma: float,
        profile: str,
        weekend: float,
        round_share: float,
        mpos_share: float,
    ) -> None:
        self.code = code
        self.weight = weight
        self.median_yuan = median_yuan
        self.sigma = sigma
        self.profile = profile
        self.weekend = weekend
        self.round_share = round_share
        self.mpos_share = mpos_share


MCCS: tuple[Mcc, ...] = (
    Mcc("5411", 0.13, 80, 0.9, "retail", 1.2, 0.05, 0.02),  # supermarket
    Mcc("5812", 0.17, 90, 0.7, "meal", 1.3, 0.10, 0.05),  # restaurant
    Mcc("5814", 0.06, 35, 0.5, "meal", 1.2, 0.05, 0.05),  # fast food
    Mcc("5499", 0.08, 30, 0.8, "late", 1.1, 0.05, 0.05),  # convenience store
    Mcc("5691", 0.07, 350, 0.7, "retail", 1.4, 0.30, 0.10),  # clothing
    Mcc("5732", 0.04, 1800, 0.9, "retail", 1.3, 0.25, 0.05),  # electronics
    Mcc("5944", 0.02, 4000, 0.9, "retail", 1.4, 0.40, 0.05),  # jewellery
    Mcc("5712", 0.03, 3000, 1.0, "retail", 1.4, 0.40, 0.10),  # furniture
    Mcc("5912", 0.06, 90, 0.8, "retail", 1.0, 0.05, 0.02),  # pharmacy
    Mcc("7011", 0.04, 450, 0.6, "hotel", 1.1, 0.20, 0.02),  # hotel (pre-authorizations)
    Mcc("7512", 0.01, 900, 0.6, "office", 1.1, 0.30, 0.10),  # car rental (pre-auths)
    Mcc("7230", 0.05, 200, 0.7, "retail", 1.3, 0.40, 0.10),  # hair and beauty
    Mcc("5541", 0.04, 300, 0.5, "allday", 1.0, 0.10, 0.02),  # service station
    Mcc("8062", 0.03, 400, 1.0, "office", 0.6, 0.05, 0.02),  # hospital
    Mcc("8220", 0.02, 3000, 0.8, "office", 0.5, 0.60, 0.05),  # school / training
    Mcc("5533", 0.03, 800, 1.0, "office", 0.9, 0.20, 0.15),  # auto parts
    Mcc("7911", 0.02, 600, 0.8, "night", 1.4, 0.30, 0.05),  # dance hall / KTV
    Mcc("5300", 0.04, 1500, 1.0, "office", 0.7, 0.30, 0.10),  # wholesale club
    Mcc("4900", 0.01, 300, 0.7, "office", 0.6, 0.30, 0.05),  # utilities
    Mcc("8398", 0.005, 500, 1.0, "office", 0.7, 0.70, 0.10),  # charity
    Mcc("5999", 0.065, 150, 1.0, "retail", 1.2, 0.20, 0.35),  # misc retail, market stalls
)
#: Lower-fee categories a jumping terminal sends instead of its own (DOMAIN §3 mcc_jumping).
LOW_FEE_MCCS: tuple[str, ...] = ("5411", "5300", "4900", "8398")
PREAUTH_MCCS: tuple[str, ...] = ("7011", "7512")

# Hour-of-day weights (0..23) per trading pattern; assumed shapes.
HOUR_PROFILES: dict[str, tuple[float, ...]] = {
    "retail": (
        0.1,
        0.05,
        0.02,
        0.02,
        0.02,
        0.05,
        0.2,
        0.5,
        1,
        2,
        4,
        5,
        5,
        5,
        5,
        5,
        5,
        5,
        6,
        6,
        5,
        4,
        2,
        0.5,
    ),
    "meal": (
        0.3,
        0.1,
        0.05,
        0.02,
        0.02,
        0.05,
        0.5,
        1.5,
        2,
        1,
        2,
        6,
        8,
        5,
        1.5,
        1,
        1.5,
        5,
        8,
        7,
        4,
        2,
        1,
        0.6,
    ),
    "late": (0.8, 0.5, 0.3, 0.2, 0.2, 0.3, 1, 3, 4, 3, 3, 3, 4, 3, 3, 3, 3, 4, 5, 5, 4, 3, 2, 1.2),
    "hotel": (
        0.5,
        0.3,
        0.1,
        0.05,
        0.05,
        0.1,
        0.5,
        2,
        4,
        4,
        3,
        3,
        3,
        3,
        4,
        5,
        5,
        5,
        5,
        5,
        5,
        4,
        3,
        1.5,
    ),
    "office": (
        0.02,
        0.01,
        0.01,
        0.01,
        0.01,
        0.02,
        0.1,
        0.5,
        3,
        6,
        7,
        6,
        4,
        5,
        6,
        6,
        6,
        5,
        3,
        2,
        1,
        0.5,
        0.2,
        0.05,
    ),
    "night": (
        6,
        5,
        3,
        1.5,
        0.5,
        0.1,
        0.05,
        0.05,
        0.05,
        0.05,
        0.1,
        0.2,
        0.5,
        0.5,
        0.5,
        0.5,
        0.7,
        1,
        2,
        4,
        6,
        8,
        9,
        8,
    ),
    "allday": (0.5, 0.4, 0.3, 0.3, 0.4, 0.8, 2, 4, 5, 5, 5, 5, 5, 5, 5, 5, 5, 6, 6, 5, 4, 3, 2, 1),
}


class Region:
    """A GB/T 2260 division with the coordinates of its city centre and a size weight."""

    __slots__ = ("code", "lat", "lon", "weight")

    def __init__(self, code: str, lat: float, lon: float, weight: float) -> None:
        self.code = code
        self.lat = lat
        self.lon = lon
        self.weight = weight


REGIONS: tuple[Region, ...] = (
    Region("110000", 39.90, 116.40, 0.08),  # Beijing
    Region("310000", 31.23, 121.47, 0.08),  # Shanghai
    Region("440100", 23.13, 113.26, 0.06),  # Guangzhou
    Region("440300", 22.54, 114.06, 0.06),  # Shenzhen
    Region("330100", 30.27, 120.15, 0.05),  # Hangzhou
    Region("320100", 32.06, 118.80, 0.04),  # Nanjing
    Region("320500", 31.30, 120.59, 0.04),  # Suzhou
    Region("510100", 30.57, 104.07, 0.05),  # Chengdu
    Region("500000", 29.56, 106.55, 0.05),  # Chongqing
    Region("420100", 30.59, 114.31, 0.04),  # Wuhan
    Region("610100", 34.34, 108.94, 0.04),  # Xi'an
    Region("120000", 39.13, 117.20, 0.03),  # Tianjin
    Region("370200", 36.07, 120.38, 0.03),  # Qingdao
    Region("370100", 36.65, 117.12, 0.03),  # Jinan
    Region("410100", 34.75, 113.63, 0.03),  # Zhengzhou
    Region("430100", 28.23, 112.94, 0.03),  # Changsha
    Region("350200", 24.48, 118.09, 0.02),  # Xiamen
    Region("350100", 26.07, 119.30, 0.02),  # Fuzhou
    Region("210100", 41.80, 123.43, 0.02),  # Shenyang
    Region("210200", 38.91, 121.61, 0.02),  # Dalian
    Region("230100", 45.80, 126.53, 0.02),  # Harbin
    Region("530100", 25.04, 102.71, 0.02),  # Kunming
    Region("450100", 22.82, 108.37, 0.02),  # Nanning
    Region("460200", 18.25, 109.51, 0.01),  # Sanya
    Region("520100", 26.65, 106.63, 0.02),  # Guiyang
    Region("340100", 31.82, 117.23, 0.03),  # Hefei
    Region("360100", 28.68, 115.86, 0.02),  # Nanchang
    Region("130100", 38.04, 114.51, 0.02),  # Shijiazhuang
    Region("140100", 37.87, 112.55, 0.02),  # Taiyuan
    Region("620100", 36.06, 103.83, 0.01),  # Lanzhou
    Region("650100", 43.83, 87.62, 0.01),  # Urumqi
    Region("441900", 23.02, 113.75, 0.03),  # Dongguan
    Region("440600", 23.02, 113.12, 0.03),  # Foshan
    Region("330200", 29.87, 121.55, 0.03),  # Ningbo
)

# UnionPay-range BINs (62xxxx) and dual-brand credit BINs; assumed, not a registry extract.
DEBIT_BINS: tuple[str, ...] = (
    "622202",
    "621700",
    "622848",
    "623058",
    "621483",
    "622588",
    "621226",
    "622700",
)
CREDIT_BINS: tuple[str, ...] = (
    "625807",
    "622155",
    "628888",
    "625911",
    "622689",
    "524094",
    "625955",
    "438088",
)

MSG_TYPES: tuple[str, ...] = ("sale", "void", "refund", "reversal", "preauth", "preauth_complete")
ENTRY_MODES: tuple[str, ...] = ("chip", "swipe", "nfc", "qr", "fallback", "manual")
#: Baseline entry-mode mix of a healthy terminal (assumed).
ENTRY_BASELINE: tuple[float, ...] = (0.58, 0.07, 0.27, 0.06, 0.012, 0.008)
#: Mix of a terminal whose chip reader fails (benign look-alike of skimming and stolen cards).
ENTRY_BROKEN_CHIP: tuple[float, ...] = (0.25, 0.30, 0.25, 0.06, 0.12, 0.02)

RESPONSE_CODES: tuple[str, ...] = (
    "00",
    "05",
    "51",
    "55",
    "14",
    "54",
    "61",
    "91",
    "96",
    "04",
    "07",
    "41",
    "43",
)
DECLINE_CODES: tuple[str, ...] = ("05", "51", "55", "14", "54", "61", "91", "96")
PICKUP_CODES: tuple[str, ...] = ("04", "07", "41", "43")
#: Baseline response-code mix of a sale (assumed: ~94% approved, genuine pick-ups rare).
RESPONSE_BASELINE: tuple[float, ...] = (
    0.9395,
    0.010,
    0.025,
    0.011,
    0.003,
    0.003,
    0.004,
    0.002,
    0.002,
    0.0001,
    0.0001,
    0.0001,
    0.0002,
)


def weights(values: tuple[float, ...]) -> Arr:
    """`values` as probabilities summing to one."""
    w = np.asarray(values, dtype=np.float64)
    return np.asarray(w / w.sum())


def index_of(codes: tuple[str, ...], code: str) -> int:
    """Position of `code` in `codes`."""
    return codes.index(code)

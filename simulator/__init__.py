"""The synthetic acquirer: merchants, terminals, cards and their settlement histories.

`simulate(SimulationConfig(...), out_dir=...)` writes the six contract tables (see
`data_contracts.tables`) as parquet, deterministic for a seed, streaming day by day. Benign
delays, fraud and card-trapping schemes follow `shared/DOMAIN.md`; every default is documented
in `simulator.config`.
"""

from simulator.calendar import OperatorSchedule, last_simulable_day
from simulator.config import SimulationConfig
from simulator.errors import CalendarRangeError, SimulationConfigError, SimulationError
from simulator.run import SimulationSummary, simulate

__all__ = [
    "CalendarRangeError",
    "OperatorSchedule",
    "SimulationConfig",
    "SimulationConfigError",
    "SimulationError",
    "SimulationSummary",
    "last_simulable_day",
    "simulate",
]

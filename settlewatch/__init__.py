"""settlewatch: why has a POS merchant's money not arrived — delay, fraud or card trapping?

This package holds the command line only; the work is done by the capability packages
`data_contracts`, `simulator`, `features`, `training` and `serving`.
"""

__version__ = "0.1.0"

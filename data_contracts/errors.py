"""Errors of the data contract.

ContractError
└── UnusableInputError   the arguments or the input folder cannot be used at all
"""

from __future__ import annotations

__all__ = ["ContractError", "UnusableInputError"]


class ContractError(Exception):
    """Base of every error raised by `data_contracts`."""


class UnusableInputError(ContractError):
    """The input cannot be validated at all (missing folder, ambiguous files, bad paths)."""

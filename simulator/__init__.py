"""The synthetic acquirer: transaction and settlement histories (issue 3)."""

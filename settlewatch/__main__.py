"""`python -m settlewatch` runs the command line."""

from settlewatch.cli import app

app()

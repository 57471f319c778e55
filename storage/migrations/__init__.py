"""Alembic's environment and script template; a package so that import-linter sees env.py."""

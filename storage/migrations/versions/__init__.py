"""The revisions, 0001 to the head; Alembic reads them by file, this makes them a package
so that import-linter and mypy see what they import.
"""

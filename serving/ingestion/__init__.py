"""Ingestion: contract rows in, each checked on its own; bad rows to quarantine (`ingest`)."""

"""Claims: non-arrival claims filed once per Idempotency-Key, scored and answered in words."""

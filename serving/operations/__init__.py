"""Operations: start-up, health, readiness, metrics and the model refresh."""

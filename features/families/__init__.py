"""Feature families: each module declares its features and computes them from a `Context`."""

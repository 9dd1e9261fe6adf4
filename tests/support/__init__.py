"""Shared test helpers: worlds per tier, fakes of the platforms, polling."""

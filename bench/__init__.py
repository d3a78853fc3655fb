"""Benchmarks: one command each, printing figures (speed is measured here, never asserted in tests)."""

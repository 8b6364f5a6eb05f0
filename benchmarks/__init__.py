"""Benchmarks of the failure log: ``make bench`` (see run.py)."""

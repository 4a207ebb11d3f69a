"""Benchmarks: ``make bench`` (``python -m bench``) measures, compares with the goals, writes docs/BENCHMARKS.md."""

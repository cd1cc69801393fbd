"""Benchmarks: each prints its figures beside the goals; none asserts a timing."""

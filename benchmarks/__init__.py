"""Benchmarks and load-test helpers for ATMP-KG (card generator, reference runs, the benchmark script)."""

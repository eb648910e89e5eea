"""Benchmarks: ``python -m bench.<name> [--quick]`` from the repository root (see README, Performance)."""

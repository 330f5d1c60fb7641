"""Benchmarks against the embedded server on loopback: `python -m bench [--quick]`."""

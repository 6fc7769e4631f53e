"""Benchmarks: each runs Tessera and a named peer on the same input in one run."""

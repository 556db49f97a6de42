"""Benchmarks of issue 7: a generated prefecture-city data set and the figures measured on it (see README.md)."""

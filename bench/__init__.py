"""Benchmarks of the built charm on booted machines (issue 6): ``make bench``."""

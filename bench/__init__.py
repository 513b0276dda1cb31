"""Benchmarks of the certdesk command line against its time budgets."""

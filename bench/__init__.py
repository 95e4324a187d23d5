"""`make bench`: padbox's capacity and latency, measured side by side with its baselines in one run.

Benchmarks are not tests: nothing here asserts a speed, and `make test` never runs it.
"""

"""Hypothesis, as the unit suite runs it: the same examples on every run (derandomized, no example
database), so a property test never passes on one machine and fails on the next; no per-example deadline,
since a shared CI machine's pauses are not the code's slowness. Each test sets its own `max_examples`."""

from __future__ import annotations

from hypothesis import settings

settings.register_profile("padbox", derandomize=True, database=None, deadline=None, print_blob=True)
settings.load_profile("padbox")

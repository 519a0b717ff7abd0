"""Hypothesis settings of the property tests: no example database written into the tree,
no per-example deadline (the first OpenCC or lxml call of a run is slow), fixed seeds so a
run is repeatable (xfail tests also pin their known counterexample with @example)."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile(
    "parknews",
    database=None,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("parknews")

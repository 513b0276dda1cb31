"""Tests of the pure domain layer, and the hypothesis settings its property tests share."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

# Modest example counts keep the domain suite well under a minute on two cores; no example
# database, so a run leaves nothing behind in the repository.
settings.register_profile(
    "certdesk-domain",
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
DOMAIN_PROPERTIES = settings.get_profile("certdesk-domain")

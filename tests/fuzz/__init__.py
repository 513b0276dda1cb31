"""Fuzzing the certificate analyser: hypothesis here, atheris (`atheris_analyser.py`) for longer runs."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# Modest counts keep the fuzz suite to seconds on two cores. A longer search, say overnight:
# CERTDESK_FUZZ_EXAMPLES=20000 pytest tests/fuzz   (or the atheris harness).
settings.register_profile(
    "certdesk-fuzz",
    max_examples=int(os.environ.get("CERTDESK_FUZZ_EXAMPLES", "60")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FUZZ = settings.get_profile("certdesk-fuzz")

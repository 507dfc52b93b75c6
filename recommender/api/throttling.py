"""Throttles whose rates are read on each request, so settings overrides (and tests) take effect.

DRF's own classes copy the rates once at import. Counters live in the default cache: several
server processes need a shared cache (Redis) or each one counts separately.
"""

from __future__ import annotations

from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, ScopedRateThrottle, UserRateThrottle


class _LiveRates:
    scope: str | None

    def get_rate(self) -> str | None:
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope or "")
        return str(rate) if rate is not None else None


class AnonThrottle(_LiveRates, AnonRateThrottle):
    """Per client IP for requests without a user."""


class UserThrottle(_LiveRates, UserRateThrottle):
    """Per user once signed in (per IP before)."""


class ScopedThrottle(_LiveRates, ScopedRateThrottle):
    """Per view ``throttle_scope`` ("auth", "events"), on top of the defaults."""

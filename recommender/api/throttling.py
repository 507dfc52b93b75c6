"""Throttles whose rates are read on each request, so settings overrides (and tests) take effect.

DRF's own classes copy the rates once at import. Counters live in the default cache: several
server processes need a shared cache (Redis) or each one counts separately. When that cache is
unreachable the throttles let requests through (and log it) rather than fail every API call:
a Redis outage costs rate limiting for its duration, not the API; sign-in attempts are still
counted by django-axes in the database.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, ScopedRateThrottle, UserRateThrottle

logger = logging.getLogger(__name__)


class _LiveRates:
    scope: str | None

    def allow_request(self, request: Any, view: Any) -> bool:
        try:
            return bool(super().allow_request(request, view))  # type: ignore[misc]
        except redis.RedisError:
            logger.warning("throttle counters unavailable; letting the request through", exc_info=True)
            return True

    def get_rate(self) -> str | None:
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope or "")
        return str(rate) if rate is not None else None


class AnonThrottle(_LiveRates, AnonRateThrottle):
    """Per client IP for requests without a user."""


class UserThrottle(_LiveRates, UserRateThrottle):
    """Per user once signed in (per IP before)."""


class ScopedThrottle(_LiveRates, ScopedRateThrottle):
    """Per view ``throttle_scope`` ("auth", "events"), on top of the defaults."""

"""Throttles whose rates are read on each request, so settings overrides (and tests) take effect.

DRF's own classes copy the rates once at import. Counters live in the default cache: several
server processes need a shared cache (Redis) or each one counts separately. When that cache is
unreachable the throttles let requests through (and log it) rather than fail every API call:
a Redis outage costs rate limiting for its duration, not the API; sign-in attempts are still
counted by django-axes in the database.

On Redis the sliding window that DRF keeps as a pickled list (read, then written back: two
round trips and a race between them) is a sorted set of request times, trimmed, added to and
counted in one MULTI/EXEC round trip; a refused request is taken out again, so, as with DRF,
only admitted requests count. Other caches (tests, a single process) use DRF's own code.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

import redis
from django.core.cache.backends.redis import RedisCache
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, ScopedRateThrottle, UserRateThrottle

from recommender.cache import shared_redis

logger = logging.getLogger(__name__)


class _LiveRates:
    scope: str | None
    rate: str | None
    num_requests: int
    duration: int
    now: float
    _refused: tuple[float, int] | None = None  # (oldest admitted request time, admitted count)

    def allow_request(self, request: Any, view: Any) -> bool:
        try:
            backend = shared_redis()
            if backend is not None:
                return self._allow_on_redis(request, view, backend)
            return bool(super().allow_request(request, view))  # type: ignore[misc]
        except redis.RedisError:
            logger.warning("throttle counters unavailable; letting the request through", exc_info=True)
            return True

    def _allow_on_redis(self, request: Any, view: Any, backend: RedisCache) -> bool:
        if self.rate is None:
            return True
        ident = self.get_cache_key(request, view)  # type: ignore[attr-defined]
        if ident is None:
            return True
        key = backend.make_key(f"window:{ident}")  # not DRF's key: that one holds a pickled list
        client = backend._cache.get_client(key, write=True)
        self.now = self.timer()  # type: ignore[attr-defined]
        member = f"{self.now!r}:{secrets.token_hex(4)}"
        pipe = client.pipeline(transaction=True)
        pipe.zremrangebyscore(key, "-inf", self.now - self.duration)
        pipe.zadd(key, {member: self.now})
        pipe.zcard(key)
        pipe.zrange(key, 0, 0, withscores=True)
        pipe.expire(key, int(self.duration) + 1)
        _, _, count, oldest, _ = pipe.execute()
        if count <= self.num_requests:
            return True
        client.zrem(key, member)
        self._refused = (float(oldest[0][1]) if oldest else self.now, int(count) - 1)
        return False

    def wait(self) -> float | None:
        """Seconds until a request would be admitted again (DRF's formula, on the Redis window)."""
        if self._refused is None:
            return super().wait()  # type: ignore[misc]
        oldest, admitted = self._refused
        available = self.num_requests - admitted + 1
        return (self.duration - (self.now - oldest)) / available if available > 0 else None

    def get_rate(self) -> str | None:
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope or "")
        return str(rate) if rate is not None else None


class AnonThrottle(_LiveRates, AnonRateThrottle):
    """Per client IP for requests without a user."""


class UserThrottle(_LiveRates, UserRateThrottle):
    """Per user once signed in (per IP before)."""


class ScopedThrottle(_LiveRates, ScopedRateThrottle):
    """Per view ``throttle_scope`` ("auth", "events"), on top of the defaults."""

    def _allow_on_redis(self, request: Any, view: Any, backend: RedisCache) -> bool:
        # As ScopedRateThrottle.allow_request: the rate is known only once the view's scope is.
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope:
            return True
        self.rate = self.get_rate()
        num_requests, duration = self.parse_rate(self.rate)
        if num_requests is None or duration is None:
            return True
        self.num_requests, self.duration = num_requests, duration
        return super()._allow_on_redis(request, view, backend)

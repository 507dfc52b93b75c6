"""A per-person daily cap on submissions that cost an LLM call: reviews (new text) and searches.

Counted in the shared cache (Redis with CACHE_URL, as the throttles are), per UTC day. The write
functions (places.services, recommender.services) spend it, so the web UI, the API and any other
entry point share one count; imports and the demo loader do not go through them.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

DAY = 86_400


class QuotaExceeded(ValueError):
    """Too many LLM-backed submissions today; ``retry_after`` seconds until the count resets."""

    def __init__(self, limit: int, retry_after: int) -> None:
        super().__init__(
            _("You reached today's limit of %(limit)s reviews and searches. It resets in %(hours)s h.")
            % {"limit": limit, "hours": retry_after // 3600 + 1}
        )
        self.limit = limit
        self.retry_after = retry_after


def spend_llm_quota(user: Any) -> None:
    """Count one submission by ``user``; raise QuotaExceeded (and write nothing) past the limit."""
    limit = settings.LLM_SUBMISSIONS_PER_DAY
    if not limit or user is None or not getattr(user, "pk", None):
        return
    now = time.time()
    day = int(now // DAY)
    key = f"llm-quota:{user.pk}:{day}"
    cache.add(key, 0, timeout=DAY + 60)
    try:
        used = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=DAY + 60)
        used = 1
    if used > limit:
        raise QuotaExceeded(limit, int((day + 1) * DAY - now) + 1)

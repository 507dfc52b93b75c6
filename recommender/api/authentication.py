"""The feed endpoints' authentication: the access token alone says who asks.

A feed served from the cache (``recommender.feed_cache``) needs nothing from the database, yet
``JWTAuthentication`` reads the account row on every request (a query that cost about a third
of a cache hit). On the feed endpoints the token's signature and expiry are checked as always
(simplejwt's ``JWTStatelessUserAuthentication``), and ``request.user`` is its ``TokenUser``:
the user id the token was signed for. The account row is read by :func:`account` only when a
feed is computed.

A deleted or deactivated account cannot be served from the cache: saving or deleting a user
replaces the person's feed-cache token (``feed_cache.person_saved``), so the next request
misses, computes, and :func:`account` answers 401 as ``JWTAuthentication`` would have. A bulk
UPDATE of users sends no signal; its cached feeds expire within ``FEED_CACHE_SECONDS``.
"""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.models import TokenUser


def account(request: Request) -> Any:
    """The person asking, as an account row (or the anonymous user): read once, on demand.

    Raises ``AuthenticationFailed`` (401) when the token's account is gone or inactive.
    """
    user = request.user
    if isinstance(user, TokenUser):
        user = JWTAuthentication().get_user(user.token)
        request.user = user
    return user

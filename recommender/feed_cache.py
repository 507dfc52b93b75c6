"""Computed feeds, kept in the shared cache until something they depend on changes.

Computing a feed takes tens of milliseconds of queries and numpy; the same person asks for the
same feed again and again (app launches, back navigation, a second tab). The API and the web
home page therefore keep each computed feed in the shared cache (Redis, ``CACHE_URL``) for
``FEED_CACHE_SECONDS``, keyed by the request and by two *generation tokens* that writes replace
once they commit:

- **the person's** (``touch_person``): an interaction, a search, a muted or chosen interest, and
  the worker's refresh of their interest vector, a curator's edit of their interactions or
  searches in the admin, the account itself saved or deleted. "What I just did shows in my next
  feed" holds exactly, not after a delay.
- **the catalogue's** (``touch_catalogue``): a published or rolled-back model, a curator rule,
  a place, clip or keyword edited, hidden or shown by a curator.

What no write announces (embeddings and keywords the workers fill in, a scheduled rule starting,
opening hours passing, bulk imports) reaches a cached feed within ``FEED_CACHE_SECONDS``.

Tokens are replaced after commit: a request that reads the new token can only see committed
data, and one that computed from older data stored it under a token nobody reads any more.
A per-process memory cache cannot share tokens between processes, so without ``CACHE_URL``
feeds are not cached at all. A Redis outage never fails a request: the feed is computed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, TypeVar

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils.translation import get_language

from recommender.cache import shared_redis

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    from recommender.feeds import Feed, FeedRequest

logger = logging.getLogger(__name__)

T = TypeVar("T")
PREFIX = "feed:v1"
CATALOGUE_TOKEN = f"{PREFIX}:gen:catalogue"
# Tokens outlive every entry (FEED_CACHE_SECONDS is at most a day) and then go, so Redis does not
# keep one key per person forever; a token that is gone is replaced by a fresh one (a miss).
TOKEN_SECONDS = 2 * 24 * 3600


def enabled() -> bool:
    return settings.FEED_CACHE_SECONDS > 0 and shared_redis() is not None


def _person_token(user_id: int) -> str:
    return f"{PREFIX}:gen:user:{user_id}"


class _Replace:
    """After commit: a new token under ``key`` (a callable, so a transaction's queue can be searched)."""

    def __init__(self, key: str) -> None:
        self.key = key

    def __call__(self) -> None:
        try:
            cache.set(self.key, secrets.token_hex(8), timeout=TOKEN_SECONDS)
        except redis.RedisError:  # the entries it should have made stale still expire in time
            logger.warning(
                "feed cache: could not replace %s; cached feeds expire within %ss",
                self.key,
                settings.FEED_CACHE_SECONDS,
                exc_info=True,
            )


def _replace_after_commit(key: str) -> None:
    # One replacement per key per transaction: a batch of 100 events is one Redis write, not 100.
    # Django drops the hooks of a rolled-back savepoint from this queue, so a touch that follows
    # one queues its own.
    queued = getattr(transaction.get_connection(), "run_on_commit", [])  # Django's (savepoints, hook, robust)
    hooks = (entry[1] for entry in queued if isinstance(entry, tuple) and len(entry) > 1)
    if any(isinstance(hook, _Replace) and hook.key == key for hook in hooks):
        return
    transaction.on_commit(_Replace(key))


def touch_person(user_id: int | None) -> None:
    """After commit, make every cached feed of this person stale.

    Call it after the write it announces: outside a transaction ``on_commit`` runs at once, and a
    feed computed between the new token and the write would be cached without that write.
    """
    if user_id is not None and enabled():
        _replace_after_commit(_person_token(user_id))


def touch_catalogue() -> None:
    """After commit, make every cached feed stale (model, rules or catalogue changed)."""
    if enabled():
        _replace_after_commit(CATALOGUE_TOKEN)


def cached(user_id: int | None, request: dict[str, Any], compute: Callable[[], T]) -> tuple[T, bool]:
    """``compute()``'s result for this person and request, from the cache when still current.

    Returns ``(value, hit)``. ``request`` holds everything besides the person that the value
    depends on (kind, limit, location, language, …); values must pickle. A hit costs one
    round trip: the entry is stored with the tokens it was computed under and fetched together
    with the current ones; it counts only if they still match.
    """
    if not enabled():
        return compute(), False
    token_keys = [CATALOGUE_TOKEN] + ([_person_token(user_id)] if user_id is not None else [])
    digest = hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()
    key = f"{PREFIX}:{user_id if user_id is not None else 'anon'}:{digest[:32]}"
    try:
        found = cache.get_many([*token_keys, key])
        tokens = []
        for token_key in token_keys:
            token = found.get(token_key)
            if token is None:
                # First use, or evicted: a fresh token, never "none", so an entry stored under an
                # older token cannot come back after an eviction.
                cache.add(token_key, secrets.token_hex(8), timeout=TOKEN_SECONDS)
                token = cache.get(token_key)
            tokens.append(str(token))
    except redis.RedisError:
        logger.warning("feed cache unavailable; computing the feed", exc_info=True)
        return compute(), False
    entry = found.get(key)
    if isinstance(entry, tuple) and len(entry) == 2 and entry[0] == tokens:
        return entry[1], True
    value = compute()
    try:
        cache.set(key, (tokens, value), timeout=settings.FEED_CACHE_SECONDS)
    except redis.RedisError:
        logger.warning("feed cache: could not store a feed", exc_info=True)
    return value, False


def cached_recommend(user: AbstractBaseUser | AnonymousUser | None, request: FeedRequest) -> Feed:
    """``recommend(user, request)`` through the cache: the web pages' feeds (the API caches its payload).

    The entry holds the feed's items without their raw embedding bytes, which only ranking uses.
    """
    from recommender.feeds import recommend  # feeds -> training -> this module: imported late

    def compute() -> Feed:
        feed = recommend(user, request)
        for entry in feed.items:
            entry.item.__dict__.pop("embedding_bytes", None)
        return feed

    user_id = user.pk if user is not None and user.is_authenticated else None
    key = {"page_feed": asdict(request), "language": get_language()}
    return cached(user_id, key, compute)[0]


def catalogue_saved(sender: type, **kwargs: Any) -> None:
    """Signal receiver: a place, clip or keyword saved or deleted one at a time (the admin's forms)."""
    touch_catalogue()


CATALOGUE_MODELS = ("places.Place", "clips.Clip", "recommender.Keyword")


def person_saved(sender: type, instance: Any, **kwargs: Any) -> None:
    """Signal receiver: an account saved or deleted (deactivated, signed in, gone).

    The feed endpoints serve a cached feed on the access token alone
    (``recommender.api.authentication``); a new token for the person makes their next request
    compute, which reads the account and refuses one that is gone or inactive. A bulk UPDATE
    (``QuerySet.update``, raw SQL) sends no signal: such an account's cached feeds stay readable
    with a still-valid access token until they expire (``FEED_CACHE_SECONDS``).
    """
    touch_person(instance.pk)

"""Feeds are computed once and served from Redis until something they depend on changes.

Real Redis, real commits (transactional tests): a token is replaced only after its write commits.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import redis
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django.fixtures import Settings

from recommender import feed_cache, services
from recommender.curation import save_rule
from recommender.keywords import refresh_interest_vector
from recommender.models import CuratorRule, ModelVersion
from recommender.training import publish, train_model
from tests.factories import ClipFactory, InteractionFactory, PlaceFactory, UserFactory
from tests.test_api_support import client_for

pytestmark = pytest.mark.django_db(transaction=True)
FEED = "/api/v1/feed/places/?limit=5"


@pytest.fixture
def cache_url(redis_url: str) -> str:
    return redis_url.rsplit("/", 1)[0] + "/13"


@pytest.fixture(autouse=True)
def shared_cache(settings: Settings, cache_url: str, tmp_path: Any) -> Iterator[None]:
    redis.Redis.from_url(cache_url).flushdb()
    settings.CACHES = {"default": {"BACKEND": "recommender.cache.RedisCache", "LOCATION": cache_url}}
    settings.FEED_CACHE_SECONDS = 300
    settings.FEED_DIVERSITY = 1.0
    settings.MODEL_ARTIFACTS_DIR = tmp_path / "models"
    yield
    redis.Redis.from_url(cache_url).flushdb()


def unit(axis: int) -> np.ndarray:
    v = np.zeros(384, dtype=np.float32)
    v[axis] = 1.0
    return v


def person_token(user: User) -> str:
    return f"{feed_cache.PREFIX}:gen:user:{user.pk}"


def names(response: Any) -> list[str]:
    return [item["item"]["name"] for item in response.json()["items"]]


@pytest.fixture
def alice() -> User:
    return UserFactory(username="alice")


@pytest.fixture
def catalogue() -> list[Any]:
    made = [PlaceFactory(name=f"p{i}", embedding=unit(i)) for i in range(4)]
    for i, place in enumerate(made):
        for _ in range(4 - i):
            InteractionFactory(place=place, user=UserFactory())
    return made


def test_a_repeated_request_is_served_from_the_cache_with_the_same_body(alice: User, catalogue: list[Any]) -> None:
    client = client_for(alice)
    first, second = client.get(FEED), client.get(FEED)
    assert (first["X-Feed-Cache"], second["X-Feed-Cache"]) == ("miss", "hit")
    assert first.json() == second.json() and names(first) == ["p0", "p1", "p2", "p3"]
    assert second["X-Model-Version"] == first["X-Model-Version"]


def test_each_request_shape_has_its_own_entry(alice: User, catalogue: list[Any]) -> None:
    client = client_for(alice)
    client.get(FEED)
    assert client.get("/api/v1/feed/places/?limit=2")["X-Feed-Cache"] == "miss"
    assert client.get(FEED + "&explain=true")["X-Feed-Cache"] == "miss"
    assert client.get(FEED + "&lat=37.5&lon=127.0")["X-Feed-Cache"] == "miss"
    assert client_for(None).get(FEED)["X-Feed-Cache"] == "miss"
    assert client_for(UserFactory()).get(FEED)["X-Feed-Cache"] == "miss"
    assert client.get("/api/v1/feed/places/?limit=2")["X-Feed-Cache"] == "hit"


def test_what_a_person_does_shows_in_their_next_feed_and_only_theirs(alice: User, catalogue: list[Any]) -> None:
    client, bob = client_for(alice), client_for(UserFactory())
    client.get(FEED), bob.get(FEED)
    event = {"item_type": "place", "item_id": catalogue[0].pk, "kind": "like"}
    assert client.post("/api/v1/interactions/", {"events": [event]}, format="json").status_code in (200, 201)
    after = client.get(FEED)
    assert after["X-Feed-Cache"] == "miss" and "p0" not in names(after)  # liked: no longer recommended
    assert bob.get(FEED)["X-Feed-Cache"] == "hit"


def test_a_viewing_watched_further_refreshes_the_clip_feed_again(alice: User) -> None:
    clip = ClipFactory(title="tour")
    client, feed = client_for(alice), "/api/v1/feed/clips/"
    start = {"item_type": "clip", "item_id": clip.pk, "kind": "watch", "watched_fraction": 0.1, "event_id": "view-1"}
    client.post("/api/v1/interactions/", {"events": [start]}, format="json")
    assert client.get(feed)["X-Feed-Cache"] == "miss" and client.get(feed)["X-Feed-Cache"] == "hit"
    # The same viewing reported further along: a heavier event, so the cached feed is stale.
    client.post("/api/v1/interactions/", {"events": [{**start, "watched_fraction": 0.9}]}, format="json")
    assert client.get(feed)["X-Feed-Cache"] == "miss"
    client.post("/api/v1/interactions/", {"events": [{**start, "watched_fraction": 0.5}]}, format="json")
    assert client.get(feed)["X-Feed-Cache"] == "hit"  # an earlier point changes nothing


@pytest.mark.parametrize(
    "write",
    [
        pytest.param(lambda user: services.record_search(user, "한강 뷰 카페"), id="search"),
        pytest.param(lambda user: refresh_interest_vector(user.pk), id="worker-refreshed-interests"),
        pytest.param(lambda user: services.start_with_interests(user, [], "quiet"), id="onboarding"),
        pytest.param(lambda user: services.edit_review(user, _review(user).pk, rating=1), id="review-rated-again"),
        pytest.param(lambda user: services.delete_review(user, _review(user).pk), id="review-deleted"),
    ],
)
def test_a_persons_searches_interests_and_review_changes_refresh_their_feed(
    alice: User, catalogue: list[Any], write: Any
) -> None:
    services.write_review(alice, catalogue[-1], rating=5)
    client = client_for(alice)
    client.get(FEED)
    write(alice)
    assert client.get(FEED)["X-Feed-Cache"] == "miss"


def _review(user: User) -> Any:
    """The person's review, written before their feed is cached (the tests below change it after)."""
    return user.reviews.get()


def test_a_write_that_rolls_back_keeps_the_cached_feed(alice: User, catalogue: list[Any]) -> None:
    client = client_for(alice)
    client.get(FEED)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.record_interaction(alice, catalogue[0], "like")
        raise RuntimeError("rolled back")
    assert client.get(FEED)["X-Feed-Cache"] == "hit"


def test_a_curator_block_applies_to_cached_feeds_at_once(alice: User, catalogue: list[Any]) -> None:
    client, anon = client_for(alice), client_for(None)
    client.get(FEED), anon.get(FEED)
    save_rule(CuratorRule(action="block", place=catalogue[0]), None)
    for c in (client, anon):
        response = c.get(FEED)
        assert response["X-Feed-Cache"] == "miss" and "p0" not in names(response)


def test_hiding_a_place_in_the_admin_applies_at_once(client: Client, alice: User, catalogue: list[Any]) -> None:
    feed = client_for(alice)
    feed.get(FEED)
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw"))
    response = client.post(
        reverse("admin:places_place_changelist"), {"action": "deactivate", "_selected_action": [catalogue[1].pk]}
    )
    assert response.status_code == 302
    after = feed.get(FEED)
    assert after["X-Feed-Cache"] == "miss" and "p1" not in names(after)


def test_editing_a_place_one_at_a_time_refreshes_feeds(alice: User, catalogue: list[Any]) -> None:
    client = client_for(alice)
    client.get(FEED)
    catalogue[2].name = "renamed"
    catalogue[2].save()
    after = client.get(FEED)
    assert after["X-Feed-Cache"] == "miss" and "renamed" in names(after)


def test_a_published_model_refreshes_every_feed(alice: User, catalogue: list[Any]) -> None:
    client = client_for(alice)
    before = client.get(FEED)
    assert before["X-Model-Version"] == "none"
    row = train_model("place", publish_it=False)
    assert client.get(FEED)["X-Feed-Cache"] == "hit"  # trained but not live: nothing changed
    publish(row)
    after = client.get(FEED)
    assert after["X-Feed-Cache"] == "miss" and after["X-Model-Version"] == row.version
    assert ModelVersion.objects.get(is_live=True, kind="place").version == row.version


def test_an_entry_expires_after_feed_cache_seconds(settings: Settings, alice: User, catalogue: list[Any]) -> None:
    settings.FEED_CACHE_SECONDS = 1
    client = client_for(alice)
    client.get(FEED)
    assert client.get(FEED)["X-Feed-Cache"] == "hit"
    time.sleep(1.2)
    assert client.get(FEED)["X-Feed-Cache"] == "miss"


def test_an_evicted_token_never_brings_back_an_older_feed(cache_url: str, alice: User, catalogue: list[Any]) -> None:
    client = client_for(alice)
    client.get(FEED)
    server = redis.Redis.from_url(cache_url)
    tokens = [k for k in server.keys("*feed:v1:gen:*")]
    assert tokens, "the generation tokens live in Redis"
    server.delete(*tokens)  # Redis evicted them (maxmemory) or was flushed partly
    assert client.get(FEED)["X-Feed-Cache"] == "miss"


def test_without_a_shared_cache_feeds_are_computed_every_time(
    settings: Settings, alice: User, catalogue: list[Any]
) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    client = client_for(alice)
    assert [client.get(FEED)["X-Feed-Cache"] for _ in range(2)] == ["miss", "miss"]


def test_redis_down_still_answers_every_feed_and_write(settings: Settings, alice: User, catalogue: list[Any]) -> None:
    # Nothing listens on port 1: the throttles' counters and the feed cache are both down.
    settings.CACHES = {"default": {"BACKEND": "recommender.cache.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}}
    client = client_for(alice)
    response = client.get(FEED)
    assert response.status_code == 200 and names(response) == ["p0", "p1", "p2", "p3"]
    services.record_interaction(alice, catalogue[0], "like")  # the after-commit touch fails quietly
    assert "p0" not in names(client.get(FEED))


def test_the_home_page_reuses_both_feeds_until_the_person_acts(
    client: Client, alice: User, catalogue: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import recommender.feeds

    computed: list[str] = []
    real = recommender.feeds.recommend

    def counting(user: Any, request: Any) -> Any:
        computed.append(request.kind)
        return real(user, request)

    monkeypatch.setattr(recommender.feeds, "recommend", counting)
    client.force_login(alice)
    first, second = client.get(reverse("home")), client.get(reverse("home"))
    assert computed == ["place", "clip"]  # the second visit computed nothing
    assert shown(first) == shown(second) == {"p0", "p1", "p2", "p3"}
    services.record_interaction(alice, catalogue[0], "like")
    third = client.get(reverse("home"))
    assert computed == ["place", "clip", "place", "clip"] and shown(third) == {"p1", "p2", "p3"}


def shown(page: Any) -> set[str]:
    return set(re.findall(r">\s*(p\d)\s*<", page.content.decode()))


def test_a_curator_editing_a_persons_interaction_in_the_admin_refreshes_their_feed(
    client: Client, alice: User, catalogue: list[Any]
) -> None:
    feed = client_for(alice)
    liked = services.record_interaction(alice, catalogue[0], "like")[0]
    assert "p0" not in names(feed.get(FEED))
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw"))
    response = client.post(reverse("admin:recommender_interaction_delete", args=[liked.pk]), {"post": "yes"})
    assert response.status_code == 302
    after = feed.get(FEED)
    assert after["X-Feed-Cache"] == "miss" and "p0" in names(after)


def test_a_cached_feed_is_served_on_the_access_token_alone(alice: User, catalogue: list[Any]) -> None:
    client = client_for(alice)
    assert client.get(FEED)["X-Feed-Cache"] == "miss"
    with CaptureQueriesContext(connection) as queries:
        again = client.get(FEED)
    assert again["X-Feed-Cache"] == "hit" and names(again) == ["p0", "p1", "p2", "p3"]
    assert [q["sql"] for q in queries.captured_queries] == []  # not even the account row


@pytest.mark.parametrize("change", ["deleted", "deactivated"])
def test_a_gone_or_inactive_account_gets_401_even_with_a_cached_feed(
    alice: User, catalogue: list[Any], change: str
) -> None:
    client = client_for(alice)
    assert client.get(FEED)["X-Feed-Cache"] == "miss"
    if change == "deleted":
        services.delete_account(alice)
    else:
        alice.is_active = False
        alice.save(update_fields=["is_active"])
    refused = client.get(FEED)
    assert refused.status_code == 401, refused.content
    assert refused.json()["error"]["code"] == {"deleted": "user_not_found", "deactivated": "user_inactive"}[change]


def test_one_transaction_replaces_each_token_once_and_a_rolled_back_savepoint_loses_nothing(alice: User) -> None:
    bob = UserFactory()
    for key in (feed_cache.CATALOGUE_TOKEN, person_token(alice), person_token(bob)):
        cache.set(key, "before")
    with transaction.atomic():
        for _ in range(3):  # a batch of events
            feed_cache.touch_person(alice.pk)
        try:
            with transaction.atomic():
                feed_cache.touch_catalogue()
                feed_cache.touch_person(bob.pk)
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
        feed_cache.touch_catalogue()  # queued again: the savepoint's hook went with it
        queued = [getattr(hook, "key", None) for _, hook, _ in transaction.get_connection().run_on_commit]
        assert queued == [person_token(alice), feed_cache.CATALOGUE_TOKEN]
    assert cache.get(person_token(alice)) != "before" and cache.get(feed_cache.CATALOGUE_TOKEN) != "before"
    assert cache.get(person_token(bob)) == "before"  # only a rolled-back write touched bob


def test_an_account_deactivated_by_a_bulk_update_is_refused_once_its_cached_feed_expires(
    settings: Settings, alice: User, catalogue: list[Any]
) -> None:
    settings.FEED_CACHE_SECONDS = 1
    client = client_for(alice)
    assert client.get(FEED)["X-Feed-Cache"] == "miss"
    User.objects.filter(pk=alice.pk).update(is_active=False)  # no signal: the documented gap
    assert client.get(FEED).status_code == 200
    time.sleep(1.2)
    refused = client.get(FEED)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "user_inactive"


@pytest.mark.parametrize(
    ("write", "count"),
    [
        pytest.param(
            lambda user, place: services.record_interaction(user, place, "like"),
            lambda user: user.interactions.count(),
            id="interaction",
        ),
        pytest.param(
            lambda user, place: services.record_interaction(user, place, "like", idempotency_key="k1"),
            lambda user: user.interactions.count(),
            id="interaction-with-key",
        ),
        pytest.param(
            lambda user, place: services.record_search(user, "quiet"),
            lambda user: user.searches.count(),
            id="search",
        ),
    ],
)
def test_outside_a_transaction_the_token_is_replaced_only_after_the_write(
    alice: User, catalogue: list[Any], monkeypatch: pytest.MonkeyPatch, write: Any, count: Any
) -> None:
    seen_at_replacement: list[int] = []
    replace = feed_cache._Replace.__call__

    def spying(hook: Any) -> None:
        seen_at_replacement.append(count(alice))  # what a feed computed right now would read
        replace(hook)

    monkeypatch.setattr(feed_cache._Replace, "__call__", spying)
    write(alice, catalogue[0])
    assert seen_at_replacement == [1]

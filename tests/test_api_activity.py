"""Interaction batches (idempotent, per-event results) and searches (recorded, extracted, answered)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.test import APIClient

from recommender.enqueue import EXTRACT_QUERY
from recommender.models import Interaction, SearchQuery
from tests import test_api_support as support
from tests.factories import ClipFactory, PlaceFactory, SearchQueryFactory
from tests.test_api_support import assert_error

pytestmark = pytest.mark.django_db

# Shared fixtures (pytest finds fixtures by name in the module).
alice = support.alice
anon = support.anon
as_alice = support.as_alice
as_bob = support.as_bob
bob = support.bob
fresh_throttle_counters = support.fresh_throttle_counters

URL = "/api/v1/interactions/"


def post(client: APIClient, events: Any) -> Any:
    return client.post(URL, {"events": events}, format="json")


def test_a_batch_records_each_event_and_reports_it(as_alice: APIClient, alice: User) -> None:
    place, clip = PlaceFactory(), ClipFactory()
    response = post(as_alice, [
        {"item_type": "place", "item_id": place.pk, "kind": "like", "event_id": "e1"},
        {"item_type": "clip", "item_id": clip.pk, "kind": "watch", "watched_fraction": 0.5, "event_id": "e2"},
    ])  # fmt: skip
    body = response.json()
    assert response.status_code == 200 and (body["created"], body["duplicates"], body["errors"]) == (2, 0, 0)
    assert [r["status"] for r in body["results"]] == ["created", "created"]
    watch = Interaction.objects.get(clip=clip)
    assert watch.user == alice and watch.weight == 2.5 and watch.idempotency_key == "e2"


def test_a_resent_batch_is_reported_as_duplicates_and_not_counted_twice(as_alice: APIClient) -> None:
    place = PlaceFactory()
    events = [{"item_type": "place", "item_id": place.pk, "kind": "save", "event_id": "same"}]
    first = post(as_alice, events).json()["results"][0]
    again = post(as_alice, events).json()["results"][0]
    assert again["status"] == "duplicate" and again["id"] == first["id"]
    assert Interaction.objects.count() == 1


def test_event_ids_are_per_user(as_alice: APIClient, as_bob: APIClient) -> None:
    place = PlaceFactory()
    events = [{"item_type": "place", "item_id": place.pk, "kind": "like", "event_id": "k"}]
    assert post(as_alice, events).json()["created"] == 1
    assert post(as_bob, events).json()["created"] == 1


def test_bad_events_fail_alone_with_a_reason_and_the_rest_are_recorded(as_alice: APIClient) -> None:
    place, clip = PlaceFactory(), ClipFactory()
    future = (timezone.now() + dt.timedelta(hours=2)).isoformat()
    response = post(as_alice, [
        {"item_type": "place", "item_id": place.pk, "kind": "like"},
        {"item_type": "place", "item_id": 999999, "kind": "like"},
        {"item_type": "dog", "item_id": place.pk, "kind": "like"},
        {"item_type": "place", "item_id": place.pk, "kind": "love"},
        {"item_type": "place", "item_id": place.pk, "kind": "watch", "watched_fraction": 0.5},
        {"item_type": "clip", "item_id": clip.pk, "kind": "watch", "watched_fraction": 2},
        {"item_type": "place", "item_id": place.pk, "kind": "like", "occurred_at": future},
        {"item_type": "place", "item_id": "seven", "kind": "like"},
        {"item_type": "place", "item_id": place.pk, "kind": "like", "event_id": "x" * 201},
    ])  # fmt: skip
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["created"] + ["error"] * 8
    errors = [r["error"] for r in results[1:]]
    assert errors[0]["code"] == "not_found"
    assert "item_type" in errors[1]["fields"] and "kind" in errors[2]["fields"]
    assert "only clips can be watched" in errors[3]["message"]
    assert "watched_fraction" in errors[4]["fields"] and "future" in errors[5]["message"]
    assert "item_id" in errors[6]["fields"] and "event_id" in errors[7]["fields"]
    assert Interaction.objects.count() == 1


def test_an_event_id_cannot_take_the_apps_own_keys(as_alice: APIClient, alice: User) -> None:
    """Else a client's event 'review:7' would stand in for the visit the app records with review 7."""
    place = PlaceFactory()
    response = post(as_alice, [
        {"item_type": "place", "item_id": place.pk, "kind": "view", "event_id": "review:7"},
        {"item_type": "place", "item_id": place.pk, "kind": "view", "event_id": "web-watch:1:abc"},
        {"item_type": "place", "item_id": place.pk, "kind": "view", "event_id": "my-review:7"},
    ])  # fmt: skip
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["error", "error", "created"]
    assert "event_id" in results[0]["error"]["fields"] and "review:" in results[0]["error"]["message"]
    assert list(Interaction.objects.filter(user=alice).values_list("idempotency_key", flat=True)) == ["my-review:7"]


def test_a_recent_client_timestamp_is_kept(as_alice: APIClient) -> None:
    place = PlaceFactory()
    when = timezone.now() - dt.timedelta(days=2)
    post(as_alice, [{"item_type": "place", "item_id": place.pk, "kind": "visit", "occurred_at": when.isoformat()}])
    assert Interaction.objects.get().occurred_at == when


def test_an_event_cannot_set_its_user_weight_or_source(as_alice: APIClient, alice: User, bob: User) -> None:
    place = PlaceFactory()
    post(as_alice, [{
        "item_type": "place", "item_id": place.pk, "kind": "view",
        "user": bob.pk, "user_id": bob.pk, "weight": 1000, "source": "admin", "created_at": "2001-01-01T00:00:00Z",
    }])  # fmt: skip
    event = Interaction.objects.get()
    assert (event.user, event.weight, event.source) == (alice, 1.0, "app") and event.created_at.year > 2001


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"events": []},
        {"events": "nope"},
        {"events": [1, 2]},
        {"events": [{"item_type": "place", "item_id": 1, "kind": "view"}] * 501},
        [1, 2, 3],
    ],
    ids=["missing", "empty", "not-a-list", "not-objects", "too-many", "not-an-object"],
)
def test_a_malformed_envelope_is_a_400_and_nothing_is_recorded(as_alice: APIClient, body: Any) -> None:
    PlaceFactory(pk=1)
    assert_error(as_alice.post(URL, body, format="json"), 400)
    assert not Interaction.objects.exists()


def test_a_batch_of_500_events_is_accepted(as_alice: APIClient) -> None:
    place = PlaceFactory()
    events = [{"item_type": "place", "item_id": place.pk, "kind": "view", "event_id": f"e{i}"} for i in range(500)]
    assert post(as_alice, events).json()["created"] == 500


def test_interactions_need_an_account(anon: APIClient) -> None:
    assert_error(post(anon, [{"item_type": "place", "item_id": 1, "kind": "view"}]), 401)


def test_a_search_is_recorded_extracted_after_commit_and_answered(
    as_alice: APIClient, alice: User, django_capture_on_commit_callbacks: Any
) -> None:
    PlaceFactory(name="한강 카페", description="river view")
    PlaceFactory(name="Museum")
    ClipFactory(title="한강 산책")
    with (
        mock.patch("recommender.enqueue.send") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = as_alice.post("/api/v1/searches/", {"text": "  한강  "})
    assert response.status_code == 201
    body = response.json()
    assert body["search"]["text"] == "한강"
    assert [p["name"] for p in body["places"]] == ["한강 카페"] and [c["title"] for c in body["clips"]] == ["한강 산책"]
    search = SearchQuery.objects.get()
    assert search.user == alice
    delay.assert_called_once_with(EXTRACT_QUERY, search.pk)


@pytest.mark.parametrize(("text", "field"), [("", "text"), ("   ", "text"), ("x" * 501, "text")])
def test_an_empty_or_too_long_search_is_a_400(as_alice: APIClient, text: str, field: str) -> None:
    assert_error(as_alice.post("/api/v1/searches/", {"text": text}), 400, field=field)
    assert not SearchQuery.objects.exists()


def test_a_search_cannot_be_recorded_for_someone_else(as_alice: APIClient, alice: User, bob: User) -> None:
    as_alice.post("/api/v1/searches/", {"text": "cafe", "user": bob.pk, "intent": "task", "created_at": "2001-01-01"})
    search = SearchQuery.objects.get()
    assert search.user == alice and search.intent == "" and search.created_at.year > 2001


def test_you_see_only_your_own_searches(as_alice: APIClient, as_bob: APIClient, alice: User, bob: User) -> None:
    SearchQueryFactory(user=alice, text="alice's secret")
    SearchQueryFactory(user=bob, text="bob's")
    assert [s["text"] for s in as_alice.get("/api/v1/searches/").json()["results"]] == ["alice's secret"]
    assert [s["text"] for s in as_bob.get("/api/v1/searches/").json()["results"]] == ["bob's"]


def test_searches_are_private_to_signed_in_users(anon: APIClient) -> None:
    SearchQueryFactory()
    assert_error(anon.get("/api/v1/searches/"), 401)
    assert_error(anon.post("/api/v1/searches/", {"text": "x"}), 401)

"""Recommendation feeds over HTTP: anonymous and personal, explained on request, never a 500."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from django.contrib.auth.models import User
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient

from tests import test_api_support as support
from tests.factories import ClipFactory, InteractionFactory, PlaceFactory, UserFactory
from tests.test_api_support import assert_error

pytestmark = pytest.mark.django_db

# Shared fixtures (pytest finds fixtures by name in the module).
alice = support.alice
anon = support.anon
as_alice = support.as_alice
fresh_throttle_counters = support.fresh_throttle_counters


@pytest.fixture(autouse=True)
def no_model(settings: Settings, tmp_path: Any) -> None:
    settings.MODEL_ARTIFACTS_DIR = tmp_path / "models"
    settings.FEED_DIVERSITY = 1.0


def unit(axis: int) -> np.ndarray:
    v = np.zeros(384, dtype=np.float32)
    v[axis] = 1.0
    return v


def test_an_anonymous_visitor_gets_popular_places_with_a_reason(anon: APIClient) -> None:
    quiet, busy = PlaceFactory(name="quiet"), PlaceFactory(name="busy")
    for _ in range(2):
        InteractionFactory(user=UserFactory(), place=busy)
    response = anon.get("/api/v1/feed/places/?limit=2")
    body = response.json()
    assert response.status_code == 200 and response["X-Model-Version"] == "none"
    assert [i["item"]["name"] for i in body["items"]] == ["busy", "quiet"]
    assert body["items"][0]["reason"]["code"] == "popular" and body["items"][0]["type"] == "place"
    assert "parts" not in body["items"][0] and "evidence" not in body["items"][0]
    assert quiet.pk in {i["item"]["id"] for i in body["items"]}


def test_an_empty_catalogue_is_an_empty_feed(anon: APIClient) -> None:
    assert anon.get("/api/v1/feed/clips/").json() == {"model_version": None, "origin": None, "items": []}


def test_explain_adds_score_parts_and_evidence(anon: APIClient) -> None:
    PlaceFactory()
    item = anon.get("/api/v1/feed/places/?explain=true").json()["items"][0]
    assert "popularity" in item["parts"] and "keywords" in item["evidence"]


def test_a_signed_in_person_gets_items_like_what_they_liked(as_alice: APIClient, alice: User) -> None:
    liked = PlaceFactory(name="liked cafe", embedding=unit(0))
    PlaceFactory(name="similar cafe", embedding=unit(0) * 0.9 + unit(1) * 0.1)
    PlaceFactory(name="museum", embedding=unit(5))
    InteractionFactory(user=alice, place=liked)
    items = as_alice.get("/api/v1/feed/places/?explain=1").json()["items"]
    assert items[0]["item"]["name"] == "similar cafe" and items[0]["reason"]["code"] == "similar"
    assert "liked cafe" not in [i["item"]["name"] for i in items]


def test_location_radius_and_distance_are_honoured(anon: APIClient) -> None:
    PlaceFactory(name="here", latitude=37.55, longitude=126.92)
    PlaceFactory(name="busan", latitude=35.1, longitude=129.0)
    body = anon.get("/api/v1/feed/places/", {"lat": 37.55, "lon": 126.92, "radius_km": 3}).json()
    assert body["origin"] == "request" and [i["item"]["name"] for i in body["items"]] == ["here"]
    assert body["items"][0]["distance_km"] == 0.0


def test_clip_feed_items_carry_their_place(anon: APIClient) -> None:
    ClipFactory(title="tour", place=PlaceFactory(name="Seoul Forest"))
    item = anon.get("/api/v1/feed/clips/").json()["items"][0]
    assert item["type"] == "clip" and item["item"]["place"]["name"] == "Seoul Forest"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"lat": "91", "lon": "0"}, "lat"),
        ({"lat": "0", "lon": "-181"}, "lon"),
        ({"lat": "abc", "lon": "1"}, "lat"),
        ({"lat": "nan", "lon": "1"}, "lat"),
        ({"lat": "37.5"}, "lat"),
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"radius_km": "-1"}, "radius_km"),
        ({"explain": "perhaps"}, "explain"),
        ({"radius_km": "2"}, "radius_km"),  # a radius around no location
    ],
)
def test_bad_feed_parameters_are_a_400_naming_the_parameter(anon: APIClient, query: dict[str, str], field: str) -> None:
    assert_error(anon.get("/api/v1/feed/places/", query), 400, "invalid", field)


@pytest.mark.parametrize("kind", ["places", "clips"])
def test_feeds_cost_a_bounded_number_of_queries(
    as_alice: APIClient, alice: User, kind: str, django_assert_max_num_queries: Any
) -> None:
    for i in range(15):
        place = PlaceFactory(embedding=unit(i % 4))
        clip = ClipFactory(place=place, embedding=unit(i % 4))
        if i % 5 == 0:
            InteractionFactory(user=alice, place=place)
            InteractionFactory(user=alice, place=None, clip=clip)
    with django_assert_max_num_queries(16):  # recommend()'s own queries; none per item
        response = as_alice.get(f"/api/v1/feed/{kind}/?limit=12&explain=true&lat=37.55&lon=126.92")
    assert len(response.json()["items"]) == 12

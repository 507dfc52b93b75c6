"""Each person has a daily cap on submissions that cost an LLM call: reviews and searches."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient

from places.models import Place, Review
from recommender.models import SearchQuery
from tests.factories import PlaceFactory, ReviewFactory, UserFactory
from tests.test_api_support import client_for

pytestmark = pytest.mark.django_db

CAP = 3


@pytest.fixture(autouse=True)
def small_cap(settings: Settings) -> Iterator[None]:
    settings.LLM_SUBMISSIONS_PER_DAY = CAP
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def alice() -> User:
    return UserFactory(username="alice")


@pytest.fixture
def place() -> Place:
    return PlaceFactory()


def test_the_api_refuses_the_submission_past_the_cap_with_a_429_and_stores_nothing(alice: User, place: Place) -> None:
    api = client_for(alice)
    for n in range(CAP - 1):
        assert api.post("/api/v1/searches/", {"text": f"quiet cafe {n}"}, format="json").status_code == 201
    assert api.post(f"/api/v1/places/{place.pk}/reviews/", {"text": "조용한 카페"}, format="json").status_code == 201

    response = api.post("/api/v1/searches/", {"text": "one more"}, format="json")

    assert response.status_code == 429
    assert response.json()["error"]["code"] == "quota_exceeded"
    assert 0 < int(response["Retry-After"]) <= 86_400
    assert SearchQuery.objects.filter(user=alice).count() == CAP - 1
    refused = api.post(f"/api/v1/places/{PlaceFactory().pk}/reviews/", {"text": "another"}, format="json")
    assert refused.status_code == 429 and Review.objects.filter(user=alice).count() == 1


def test_the_cap_is_per_person(alice: User, place: Place) -> None:
    api = client_for(alice)
    for n in range(CAP):
        api.post("/api/v1/searches/", {"text": f"q{n}"}, format="json")
    assert api.post("/api/v1/searches/", {"text": "more"}, format="json").status_code == 429
    bob = client_for(UserFactory(username="bob"))
    assert bob.post("/api/v1/searches/", {"text": "river view"}, format="json").status_code == 201


def test_changing_only_the_rating_costs_nothing(alice: User, place: Place) -> None:
    review = ReviewFactory(user=alice, place=place, text="quiet")
    api = client_for(alice)
    for rating in (1, 2, 3, 4, 5):
        assert api.patch(f"/api/v1/reviews/{review.pk}/", {"rating": rating}, format="json").status_code == 200
    assert api.patch(f"/api/v1/reviews/{review.pk}/", {"text": "new text"}, format="json").status_code == 200


def test_the_web_review_form_explains_the_cap_and_saves_nothing(client: Client, alice: User, place: Place) -> None:
    client.force_login(alice)
    for n in range(CAP):
        client.post("/search/", {"q": f"cafe {n}"})
    response = client.post(f"/places/{place.pk}/review/", {"rating": 5, "text": "조용한 카페"})
    assert response.status_code == 429
    assert "today&#x27;s limit" in response.content.decode() or "today's limit" in response.content.decode()
    assert not Review.objects.filter(user=alice).exists()


def test_a_web_search_past_the_cap_still_shows_results_but_is_not_remembered(
    client: Client, alice: User, place: Place
) -> None:
    client.force_login(alice)
    for n in range(CAP):
        client.post("/search/", {"q": f"cafe {n}"})
    response = client.post("/search/", {"q": "one more"}, follow=True, HTTP_ACCEPT_LANGUAGE="ko")
    assert response.status_code == 200
    assert "오늘 작성할 수 있는 리뷰와 검색" in response.content.decode()
    assert SearchQuery.objects.filter(user=alice).count() == CAP


def test_zero_means_no_cap(settings: Settings, alice: User) -> None:
    settings.LLM_SUBMISSIONS_PER_DAY = 0
    api: APIClient = client_for(alice)
    statuses = {api.post("/api/v1/searches/", {"text": f"q{n}"}, format="json").status_code for n in range(CAP + 2)}
    assert statuses == {201}

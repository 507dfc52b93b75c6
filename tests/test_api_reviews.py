"""Reviews: public per place; each person writes, edits and deletes only their own."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from places import services
from places.models import Review
from recommender.enqueue import EXTRACT_REVIEW
from recommender.models import Interaction, interaction_weight
from recommender.quota import QuotaExceeded
from tests import test_api_support as support
from tests.factories import PlaceFactory, ReviewFactory
from tests.test_api_support import assert_error

pytestmark = pytest.mark.django_db

# Shared fixtures (pytest finds fixtures by name in the module).
alice = support.alice
anon = support.anon
as_alice = support.as_alice
as_bob = support.as_bob
bob = support.bob
fresh_throttle_counters = support.fresh_throttle_counters


@pytest.fixture
def enqueued() -> Any:
    with mock.patch("recommender.enqueue.send") as delay:
        yield delay


def snapshot(review: Review) -> tuple[Any, ...]:
    review.refresh_from_db()
    return (review.user_id, review.place_id, review.rating, review.text, review.created_at, review.updated_at)


def test_anyone_can_read_a_places_reviews_newest_first(anon: APIClient, alice: User) -> None:
    place = PlaceFactory()
    ReviewFactory(place=place, user=alice, text="old")
    ReviewFactory(place=place, user=alice, text="new")
    ReviewFactory(text="another place")
    body = anon.get(f"/api/v1/places/{place.pk}/reviews/").json()
    assert [r["text"] for r in body["results"]] == ["new", "old"] and body["results"][0]["author"] == "alice"


def test_writing_a_review_needs_an_account(anon: APIClient) -> None:
    place = PlaceFactory()
    assert_error(anon.post(f"/api/v1/places/{place.pk}/reviews/", {"rating": 5}), 401)
    assert not Review.objects.exists()


def test_a_new_review_is_saved_and_its_keywords_are_extracted_after_commit(
    as_alice: APIClient, alice: User, enqueued: Any, django_capture_on_commit_callbacks: Any
) -> None:
    place = PlaceFactory()
    with django_capture_on_commit_callbacks(execute=True):
        response = as_alice.post(f"/api/v1/places/{place.pk}/reviews/", {"rating": 4, "text": "조용하고 넓어요"})
    assert response.status_code == 201
    review = Review.objects.get()
    assert (review.user, review.rating, review.language) == (alice, 4, "ko")
    enqueued.assert_called_once_with(EXTRACT_REVIEW, review.pk)


def test_a_review_records_the_visit_it_implies_and_the_place_leaves_the_feed(as_alice: APIClient, alice: User) -> None:
    reviewed, other = PlaceFactory(name="Reviewed"), PlaceFactory(name="Other")
    assert {i["item"]["id"] for i in as_alice.get("/api/v1/feed/places/").json()["items"]} >= {reviewed.pk, other.pk}
    review_id = as_alice.post(f"/api/v1/places/{reviewed.pk}/reviews/", {"rating": 2, "text": "too loud"}).json()["id"]
    visit = Interaction.objects.get(user=alice)
    review = Review.objects.get(pk=review_id)
    assert (visit.place_id, visit.kind, visit.weight, visit.occurred_at, visit.idempotency_key) == (
        reviewed.pk, "visit", interaction_weight("visit"), review.created_at, f"review:{review_id}"
    )  # fmt: skip
    ids = {i["item"]["id"] for i in as_alice.get("/api/v1/feed/places/").json()["items"]}
    assert reviewed.pk not in ids and other.pk in ids
    as_alice.patch(f"/api/v1/reviews/{review_id}/", {"rating": 3}, format="json")
    assert Interaction.objects.filter(user=alice).count() == 1


def test_a_second_review_of_the_same_place_is_a_400_pointing_at_the_first(as_alice: APIClient, alice: User) -> None:
    place = PlaceFactory()
    first = as_alice.post(f"/api/v1/places/{place.pk}/reviews/", {"rating": 1}).json()["id"]
    body = assert_error(as_alice.post(f"/api/v1/places/{place.pk}/reviews/", {"rating": 5}), 400, "invalid")
    assert f"/api/v1/reviews/{first}/" in body["error"]["message"]
    assert Review.objects.filter(user=alice).count() == 1 and Interaction.objects.filter(user=alice).count() == 1
    assert as_alice.post(f"/api/v1/places/{PlaceFactory().pk}/reviews/", {"rating": 5}).status_code == 201


def test_a_refused_review_records_no_visit(as_alice: APIClient, alice: User) -> None:
    place = PlaceFactory()
    response = as_alice.post(f"/api/v1/places/{place.pk}/reviews/", {"rating": 9}, format="json")
    assert_error(response, 400, field="rating")
    with mock.patch("places.services.spend_llm_quota", side_effect=QuotaExceeded(1, 3600)):
        assert as_alice.post(f"/api/v1/places/{place.pk}/reviews/", {"text": "ok"}).status_code == 429
    assert not Interaction.objects.exists() and not Review.objects.exists()


def test_a_broker_outage_does_not_fail_the_write(as_alice: APIClient, django_capture_on_commit_callbacks: Any) -> None:
    place = PlaceFactory()
    with (
        mock.patch("recommender.enqueue.send", side_effect=ConnectionError("broker down")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = as_alice.post(f"/api/v1/places/{place.pk}/reviews/", {"text": "ok"})
    assert response.status_code == 201 and Review.objects.count() == 1


def test_a_review_payload_cannot_set_its_author_place_dates_or_keywords(
    as_alice: APIClient, alice: User, bob: User, enqueued: Any
) -> None:
    place, other = PlaceFactory(), PlaceFactory()
    payload = {
        "rating": 5, "text": "good", "user": bob.pk, "user_id": bob.pk, "place": other.pk, "place_id": other.pk,
        "created_at": "2001-01-01T00:00:00Z", "keywords_key": "x", "language": "fr", "source": "naver",
    }  # fmt: skip
    assert as_alice.post(f"/api/v1/places/{place.pk}/reviews/", payload).status_code == 201
    review = Review.objects.get()
    assert (review.user, review.place, review.keywords_key, review.language, review.source) == (
        alice, place, "", "en", "manual",
    )  # fmt: skip
    assert review.created_at.year > 2001


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"rating": 6}, "rating"),
        ({"rating": 0}, "rating"),
        ({"rating": "five"}, "rating"),
        ({"text": "x" * (services.MAX_REVIEW_LENGTH + 1)}, "text"),
        ({}, "non_field_errors"),
        ({"text": "   "}, "non_field_errors"),
    ],
)
def test_invalid_reviews_are_a_400_and_nothing_is_saved(
    as_alice: APIClient, payload: dict[str, Any], field: str
) -> None:
    place = PlaceFactory()
    assert_error(as_alice.post(f"/api/v1/places/{place.pk}/reviews/", payload, format="json"), 400, field=field)
    assert not Review.objects.exists()


def test_a_review_body_that_is_not_an_object_is_a_400(as_alice: APIClient) -> None:
    place = PlaceFactory()
    assert_error(as_alice.post(f"/api/v1/places/{place.pk}/reviews/", [1, 2], format="json"), 400)
    response = as_alice.post(f"/api/v1/places/{place.pk}/reviews/", "{bad json", content_type="application/json")
    assert_error(response, 400, "parse_error")


def test_reviewing_an_unknown_place_is_a_404(as_alice: APIClient) -> None:
    assert_error(as_alice.post("/api/v1/places/424242/reviews/", {"rating": 3}), 404, "not_found")


def test_you_can_edit_your_own_review_and_it_is_re_extracted(
    as_alice: APIClient, alice: User, enqueued: Any, django_capture_on_commit_callbacks: Any
) -> None:
    review = ReviewFactory(user=alice, rating=2, text="meh")
    with django_capture_on_commit_callbacks(execute=True):
        response = as_alice.patch(f"/api/v1/reviews/{review.pk}/", {"text": "actually great"})
    assert response.status_code == 200 and response.json()["rating"] == 2
    review.refresh_from_db()
    assert review.text == "actually great"
    enqueued.assert_called_once_with(EXTRACT_REVIEW, review.pk)


def test_someone_elses_review_cannot_be_edited_or_deleted(as_bob: APIClient, alice: User, enqueued: Any) -> None:
    review = ReviewFactory(user=alice, rating=5, text="mine")
    before = snapshot(review)
    assert_error(as_bob.patch(f"/api/v1/reviews/{review.pk}/", {"text": "hacked", "rating": 1}), 404, "not_found")
    assert_error(as_bob.delete(f"/api/v1/reviews/{review.pk}/"), 404, "not_found")
    assert snapshot(review) == before
    enqueued.assert_not_called()


def test_you_can_delete_your_own_review(as_alice: APIClient, alice: User) -> None:
    review = ReviewFactory(user=alice)
    assert as_alice.delete(f"/api/v1/reviews/{review.pk}/").status_code == 204
    assert not Review.objects.exists()
    assert_error(as_alice.delete(f"/api/v1/reviews/{review.pk}/"), 404)


def test_an_edit_cannot_move_a_review_to_another_user_or_place(as_alice: APIClient, alice: User, bob: User) -> None:
    review = ReviewFactory(user=alice)
    other = PlaceFactory()
    as_alice.patch(f"/api/v1/reviews/{review.pk}/", {"text": "t", "user": bob.pk, "place": other.pk})
    review.refresh_from_db()
    assert review.user == alice and review.place != other


def test_an_edit_that_would_leave_the_review_empty_is_refused(as_alice: APIClient, alice: User) -> None:
    review = ReviewFactory(user=alice, rating=None, text="only text")
    assert_error(as_alice.patch(f"/api/v1/reviews/{review.pk}/", {"text": ""}), 400)
    review.refresh_from_db()
    assert review.text == "only text"


def test_the_review_service_refuses_another_users_review(alice: User, bob: User) -> None:
    review = ReviewFactory(user=alice, text="mine")
    with pytest.raises(Review.DoesNotExist):
        services.update_review(user=bob, review_id=review.pk, text="theirs")
    from recommender.services import delete_review

    with pytest.raises(Review.DoesNotExist):
        delete_review(bob, review.pk)
    assert Review.objects.get().text == "mine"


def test_an_inactive_place_cannot_be_reviewed(alice: User) -> None:
    with pytest.raises(services.ReviewError):
        services.create_review(user=alice, place=PlaceFactory(is_active=False), rating=3)

"""Your own data: interest profile, export and account deletion, never someone else's."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from places.models import Review
from recommender.enqueue import TRAIN_MODELS
from recommender.keywords import refresh_place_keywords
from recommender.models import Interaction, MutedKeyword, QueryIntent, SearchQuery, SearchQueryKeyword, UserProfile
from tests import test_api_support as support
from tests.factories import InteractionFactory, KeywordFactory, ReviewFactory, SearchQueryFactory
from tests.test_api_support import PASSWORD, assert_error

pytestmark = pytest.mark.django_db

# Shared fixtures (pytest finds fixtures by name in the module).
alice = support.alice
anon = support.anon
as_alice = support.as_alice
as_bob = support.as_bob
bob = support.bob
fresh_throttle_counters = support.fresh_throttle_counters


def give_history(user: User, label: str) -> None:
    ReviewFactory(user=user, text=f"{label} review")
    InteractionFactory(user=user)
    search = SearchQueryFactory(user=user, text=f"{label} search", intent=QueryIntent.INTEREST)
    SearchQueryKeyword.objects.create(query=search, keyword=KeywordFactory(text=f"{label} keyword"), weight=1.0)
    UserProfile.objects.create(user=user)


def test_interests_show_what_your_searches_taught_the_system(as_alice: APIClient, alice: User, bob: User) -> None:
    give_history(alice, "alice")
    give_history(bob, "bob")
    interests = as_alice.get("/api/v1/me/interests/").json()
    assert [(i["text"], i["sources"]) for i in interests] == [("alice keyword", ["search"])]


def test_removing_an_interest_hides_it_for_you_only_and_can_be_undone(
    as_alice: APIClient, alice: User, bob: User
) -> None:
    give_history(alice, "shared")
    keyword_id = SearchQueryKeyword.objects.get(query__user=alice).keyword_id
    SearchQueryKeyword.objects.create(
        query=SearchQueryFactory(user=bob, intent=QueryIntent.INTEREST), keyword_id=keyword_id, weight=1.0
    )

    assert as_alice.delete(f"/api/v1/me/interests/{keyword_id}/").status_code == 204

    assert as_alice.get("/api/v1/me/interests/").json() == []
    assert MutedKeyword.objects.filter(user=alice, keyword_id=keyword_id).exists()
    assert not MutedKeyword.objects.filter(user=bob).exists()
    assert as_alice.put(f"/api/v1/me/interests/{keyword_id}/").status_code == 204
    assert [i["keyword_id"] for i in as_alice.get("/api/v1/me/interests/").json()] == [keyword_id]
    assert_error(as_alice.delete("/api/v1/me/interests/999999/"), 404)
    assert_error(as_alice.put(f"/api/v1/me/interests/{keyword_id}/"), 404)


def test_interests_need_an_account(anon: APIClient) -> None:
    assert_error(anon.get("/api/v1/me/interests/"), 401)
    assert_error(anon.delete("/api/v1/me/interests/1/"), 401)
    assert_error(anon.get("/api/v1/me/interests/"), 401)


def test_export_contains_all_of_your_data_and_none_of_anyone_elses(as_alice: APIClient, alice: User, bob: User) -> None:
    give_history(alice, "alice")
    give_history(bob, "bob")
    response = as_alice.get("/api/v1/me/export/")
    body = response.json()
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    assert body["user"]["username"] == "alice"
    assert [r["text"] for r in body["reviews"]] == ["alice review"]
    assert [s["text"] for s in body["searches"]] == ["alice search"]
    assert len(body["interactions"]) == 1 and body["interests"][0]["text"] == "alice keyword"
    assert body["profile"]["has_interest_embedding"] is False
    assert "bob" not in response.content.decode()


def test_export_needs_an_account(anon: APIClient) -> None:
    assert_error(anon.get("/api/v1/me/export/"), 401)


def test_deleting_your_account_removes_your_data_and_keeps_others(
    as_alice: APIClient, alice: User, bob: User, django_capture_on_commit_callbacks: Any
) -> None:
    give_history(alice, "alice")
    give_history(bob, "bob")
    reviewed = Review.objects.get(user=alice).place
    keyword = KeywordFactory(text="from alice's review")
    Review.objects.get(user=alice).keyword_links.create(keyword=keyword)
    refresh_place_keywords(reviewed.pk)
    assert reviewed.keyword_links.filter(keyword=keyword).exists()

    with mock.patch("recommender.enqueue.send") as send, django_capture_on_commit_callbacks(execute=True):
        response = as_alice.delete("/api/v1/me/", {"password": PASSWORD}, format="json")

    assert response.status_code == 204
    assert not User.objects.filter(username="alice").exists()
    for model in (Review, Interaction, SearchQuery, UserProfile):
        assert list(model.objects.values_list("user__username", flat=True).distinct()) == ["bob"]
    assert not reviewed.keyword_links.filter(keyword=keyword).exists()  # the place profile forgot her
    send.assert_called_once_with(TRAIN_MODELS)  # and the models are retrained without her


def test_account_deletion_needs_the_right_password(as_alice: APIClient, alice: User) -> None:
    give_history(alice, "alice")
    assert_error(as_alice.delete("/api/v1/me/", {"password": "wrong"}, format="json"), 400, field="password")
    assert_error(as_alice.delete("/api/v1/me/"), 400, field="password")
    assert User.objects.filter(pk=alice.pk).exists() and Review.objects.filter(user=alice).exists()


def test_after_deletion_old_tokens_stop_working(anon: APIClient, alice: User) -> None:
    pair = anon.post("/api/v1/auth/token/", {"username": "alice", "password": PASSWORD}).json()
    me = APIClient()
    me.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    assert me.delete("/api/v1/me/", {"password": PASSWORD}, format="json").status_code == 204
    assert_error(me.get("/api/v1/me/"), 401)
    assert_error(anon.post("/api/v1/auth/token/refresh/", {"refresh": pair["refresh"]}), 401)


def test_a_refresh_token_of_a_deleted_account_is_a_401_even_if_never_blacklisted(alice: User) -> None:
    from rest_framework_simplejwt.tokens import RefreshToken

    refresh = str(RefreshToken.for_user(alice))
    User.objects.filter(pk=alice.pk).delete()  # e.g. removed by an admin, bypassing the API
    assert_error(APIClient().post("/api/v1/auth/token/refresh/", {"refresh": refresh}), 401, "token_not_valid")


def test_bob_cannot_reach_alices_private_data(as_bob: APIClient, alice: User) -> None:
    give_history(alice, "alice")
    review = Review.objects.get(user=alice)
    responses = [
        as_bob.get("/api/v1/me/export/"),
        as_bob.get("/api/v1/me/interests/"),
        as_bob.get("/api/v1/searches/"),
    ]
    assert all("alice" not in r.content.decode() for r in responses)
    assert_error(as_bob.patch(f"/api/v1/reviews/{review.pk}/", {"text": "x"}), 404)
    assert_error(as_bob.delete(f"/api/v1/reviews/{review.pk}/"), 404)
    assert Review.objects.get(pk=review.pk).text == "alice review"
    assert SearchQuery.objects.filter(user=alice).count() == 1 and User.objects.filter(pk=alice.pk).exists()

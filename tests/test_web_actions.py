"""POST actions of the web UI change data and redirect; GETs never write; others' reviews are off limits."""

from __future__ import annotations

import json
from unittest import mock

import numpy as np
import pytest
from django.contrib.auth.models import User
from django.test import Client

from places.models import Review
from recommender.models import Interaction, MutedKeyword, SearchQuery, SearchQueryKeyword, UserProfile
from tests.factories import ClipFactory, KeywordFactory, PlaceFactory, ReviewFactory, SearchQueryFactory, UserFactory

pytestmark = pytest.mark.django_db


def unit(seed: int) -> list[float]:
    vector = np.random.default_rng(seed).normal(size=384)
    return (vector / np.linalg.norm(vector)).tolist()


@pytest.fixture(autouse=True)
def no_broker():
    """Tasks are sent after commit; these tests only check that the web asks for them."""
    with mock.patch("recommender.enqueue.send") as send:
        yield send


@pytest.fixture
def alice(client: Client) -> User:
    user = UserFactory(username="alice")
    user.set_password("wonderland-42")
    user.save()
    client.force_login(user)
    return user


def test_like_save_and_not_interested_record_interactions_and_go_back(client: Client, alice: User) -> None:
    place = PlaceFactory()
    for action in ("like", "save", "dislike"):
        response = client.post(f"/act/place/{place.pk}/{action}/", {"next": "/?lat=37.5&lon=127"})
        assert response.status_code == 302 and response["Location"] == "/?lat=37.5&lon=127"
    kinds = list(Interaction.objects.filter(user=alice, place=place).values_list("kind", flat=True).order_by("pk"))
    assert kinds == ["like", "save", "dislike"]


def test_a_like_sent_twice_from_one_rendered_button_counts_once(client: Client, alice: User) -> None:
    import re

    place = PlaceFactory(name="Double click café")
    page = client.get(f"/places/{place.pk}/").content.decode()
    form = re.search(rf'action="/act/place/{place.pk}/like/".*?name="nonce" value="([0-9a-f]{{32}})"', page)
    assert form is not None  # the button's form carries a nonce of its own
    for _ in range(2):  # a double click
        client.post(f"/act/place/{place.pk}/like/", {"nonce": form.group(1)})
    assert Interaction.objects.filter(user=alice, place=place, kind="like").count() == 1
    # The page shown again renders a new nonce: a like then is a new like.
    again = client.get(f"/places/{place.pk}/").content.decode()
    fresh = re.search(rf'action="/act/place/{place.pk}/like/".*?name="nonce" value="([0-9a-f]{{32}})"', again)
    assert fresh is not None and fresh.group(1) != form.group(1)
    client.post(f"/act/place/{place.pk}/like/", {"nonce": fresh.group(1)})
    assert Interaction.objects.filter(user=alice, place=place, kind="like").count() == 2


def test_not_interested_removes_the_item_from_the_feed(client: Client, alice: User) -> None:
    place = PlaceFactory(name="Never again café")
    assert "Never again café" in client.get("/").content.decode()
    client.post(f"/act/place/{place.pk}/dislike/")
    assert "Never again café" not in client.get("/").content.decode()


def test_actions_refuse_get_and_foreign_redirects(client: Client, alice: User) -> None:
    place = PlaceFactory()
    assert client.get(f"/act/place/{place.pk}/like/").status_code == 405
    assert client.post(f"/act/place/{place.pk}/like/", {"next": "https://evil.example/"})["Location"] == "/"
    assert client.post(f"/act/place/{place.pk}/watch/").status_code == 404
    assert Interaction.objects.filter(user=alice).count() == 1


def test_anonymous_actions_go_to_log_in_and_record_nothing(client: Client) -> None:
    place = PlaceFactory()
    response = client.post(f"/act/place/{place.pk}/like/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not Interaction.objects.exists()


def test_csrf_is_enforced_on_posts(alice: User) -> None:
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    place = PlaceFactory()
    assert strict.post(f"/act/place/{place.pk}/like/").status_code == 403
    assert strict.post(f"/places/{place.pk}/review/", {"text": "hi"}).status_code == 403
    assert not Interaction.objects.exists() and not Review.objects.exists()


def test_no_page_writes_on_get(client: Client, alice: User) -> None:
    place = PlaceFactory()
    clip = ClipFactory(place=place)
    for url in ["/", "/search/?q=cafe", f"/places/{place.pk}/", f"/clips/{clip.pk}/", "/me/", "/me/export/"]:
        client.get(url)
    assert not Interaction.objects.exists() and not SearchQuery.objects.exists()


def test_onboarding_records_searches_and_fills_the_interest_vector_at_once(
    client: Client, alice: User, no_broker: mock.Mock
) -> None:
    quiet = KeywordFactory(text="조용한", language="ko", tag_en="quiet", embedding=unit(1))
    view = KeywordFactory(text="강이 보이는", language="ko", tag_en="river view", embedding=unit(2))
    PlaceFactory(embedding=unit(1)).keyword_links.create(keyword=quiet, weight=1, count=1)
    PlaceFactory(embedding=unit(2)).keyword_links.create(keyword=view, weight=1, count=1)
    with mock.patch("django.db.transaction.on_commit", side_effect=lambda f: f()):
        response = client.post("/welcome/", {"keywords": [quiet.pk, view.pk], "text": "브런치"})
    assert response.status_code == 302
    assert sorted(SearchQuery.objects.filter(user=alice).values_list("text", flat=True)) == [
        "강이 보이는",
        "브런치",
        "조용한",
    ]
    assert no_broker.call_count == 3
    vector = np.asarray(UserProfile.objects.get(user=alice).interest_embedding)
    expected = np.mean([unit(1), unit(2)], axis=0)
    assert np.allclose(vector, expected / np.linalg.norm(expected), atol=1e-5)
    page = client.get("/").content.decode()
    assert 'id="onboarding-title"' not in page and "Matches the interests you picked" in page


def test_onboarding_needs_a_pick_or_a_search(client: Client, alice: User) -> None:
    PlaceFactory()  # a feed to show under the form
    response = client.post("/welcome/", {})
    assert not SearchQuery.objects.exists()
    # Shown again, saying why, rather than a redirect that forgets it.
    assert response.status_code == 400 and "Pick at least one interest or type a search." in response.content.decode()


def test_onboarding_keeps_a_pick_that_left_the_top_tags_meanwhile(client: Client, alice: User) -> None:
    quiet = KeywordFactory(text="조용한", language="ko", tag_en="quiet", embedding=unit(1))
    PlaceFactory().keyword_links.create(keyword=quiet, weight=1, count=1)
    page = client.get("/").content.decode()
    assert f'value="{quiet.pk}"' in page
    # Meanwhile the workers extracted seventeen keywords more used than it: it is no longer shown.
    for i in range(17):
        busier = KeywordFactory(text=f"tag {i}", language="en", embedding=unit(10 + i))
        for _ in range(2):
            PlaceFactory().keyword_links.create(keyword=busier, weight=1, count=1)
    assert f'value="{quiet.pk}"' not in client.get("/").content.decode()
    response = client.post("/welcome/", {"keywords": [quiet.pk], "text": "river"})
    assert response.status_code == 302
    assert sorted(SearchQuery.objects.filter(user=alice).values_list("text", flat=True)) == ["river", "조용한"]


def test_onboarding_with_a_pick_that_is_no_number_is_a_400_not_a_500(client: Client, alice: User) -> None:
    PlaceFactory()
    for pick in ("²", "١٢", "abc"):  # "²".isdigit() is true, but int() refuses it
        assert client.post("/welcome/", {"keywords": [pick]}).status_code == 400


def test_a_form_shown_again_at_its_own_address_keeps_it_as_the_place_to_come_back_to(client: Client) -> None:
    UserFactory(username="carol").set_password("right-password-1")
    response = client.post("/accounts/login/?next=/me/", {"username": "carol", "password": "wrong"})
    assert 'name="next" type="hidden" value="/accounts/login/?next=/me/"' in response.content.decode()


def test_onboarding_shown_again_keeps_what_was_typed(client: Client, alice: User) -> None:
    PlaceFactory()
    response = client.post("/welcome/", {"keywords": ["999999"], "text": "한강 카페"})  # not a keyword
    page = response.content.decode()
    assert response.status_code == 400 and 'value="한강 카페"' in page and not SearchQuery.objects.exists()


def test_a_post_only_action_after_the_session_expired_comes_back_to_the_page_after_login(client: Client) -> None:
    place = PlaceFactory()
    response = client.post(f"/act/place/{place.pk}/like/", {"next": f"/places/{place.pk}/"})
    assert response.status_code == 302
    # Not to the action (a browser would GET it after logging in: a 405), to the page it was on.
    assert response["Location"] == f"/accounts/login/?next=/places/{place.pk}/"
    from_page = client.post("/me/interests/1/remove/", HTTP_REFERER=f"http://testserver/places/{place.pk}/")
    assert from_page["Location"] == f"/accounts/login/?next=http%3A//testserver/places/{place.pk}/"


def test_a_refused_review_page_sends_its_buttons_back_to_the_page_not_to_the_form_action(
    client: Client, alice: User
) -> None:
    place = PlaceFactory()
    response = client.post(f"/places/{place.pk}/review/", {"rating": "", "text": ""})
    assert response.status_code == 400
    page = response.content.decode()
    assert f'name="next" type="hidden" value="/places/{place.pk}/"' in page  # the language switch
    assert f'name="next" value="/places/{place.pk}/"' in page  # like / save / not interested
    assert f'value="/places/{place.pk}/review/"' not in page


def test_search_post_records_the_query_for_signed_in_people_then_shows_results(
    client: Client, alice: User, no_broker: mock.Mock
) -> None:
    PlaceFactory(name="Quiet Corner Café")
    with mock.patch("django.db.transaction.on_commit", side_effect=lambda f: f()):
        response = client.post("/search/", {"q": "quiet corner", "kind": "place", "open_now": "on"})
    assert response.status_code == 302 and response["Location"].startswith("/search/?")
    assert SearchQuery.objects.get(user=alice).text == "quiet corner"
    no_broker.assert_called_once()
    assert "Quiet Corner Café" in client.get(response["Location"]).content.decode()


def test_anonymous_search_is_not_recorded(client: Client) -> None:
    client.post("/search/", {"q": "cafe"})
    assert not SearchQuery.objects.exists()


def test_writing_editing_and_deleting_your_review(client: Client, alice: User, no_broker: mock.Mock) -> None:
    place = PlaceFactory()
    with mock.patch("django.db.transaction.on_commit", side_effect=lambda f: f()):
        response = client.post(f"/places/{place.pk}/review/", {"rating": "4", "text": "Quiet, river view"})
        assert response.status_code == 302
        review = Review.objects.get(user=alice, place=place)
        assert (review.rating, review.text) == (4, "Quiet, river view")
        client.post(f"/places/{place.pk}/review/", {"rating": "5", "text": "Even better"})
        client.post(f"/reviews/{review.pk}/edit/", {"rating": "", "text": "Edited on its own page"})
    review.refresh_from_db()
    assert (review.rating, review.text) == (None, "Edited on its own page")
    assert Review.objects.filter(user=alice).count() == 1 and no_broker.call_count == 3
    # Writing the review recorded the visit it implies, once: editing it adds none.
    assert list(Interaction.objects.filter(user=alice).values_list("place_id", "kind", "source")) == [
        (place.pk, "visit", "review")
    ]
    assert client.post(f"/reviews/{review.pk}/delete/").status_code == 302
    assert not Review.objects.filter(pk=review.pk).exists()


def test_an_empty_review_is_refused_with_a_message(client: Client, alice: User) -> None:
    place = PlaceFactory()
    response = client.post(f"/places/{place.pk}/review/", {"rating": "", "text": "  "})
    assert response.status_code == 400 and "Give a rating" in response.content.decode()
    assert not Review.objects.exists()


def test_another_persons_review_cannot_be_edited_or_deleted(client: Client, alice: User) -> None:
    bobs = ReviewFactory(user=UserFactory(username="bob"), text="Bob's words", rating=2)
    assert client.get(f"/reviews/{bobs.pk}/edit/").status_code == 404
    assert client.post(f"/reviews/{bobs.pk}/edit/", {"rating": "5", "text": "hacked"}).status_code == 404
    assert client.post(f"/reviews/{bobs.pk}/delete/").status_code == 404
    bobs.refresh_from_db()
    assert (bobs.text, bobs.rating) == ("Bob's words", 2)


def test_watch_progress_is_one_event_per_page_view_keeping_the_furthest_point(client: Client, alice: User) -> None:
    clip = ClipFactory()
    view_id = "a" * 32
    first = client.post(f"/clips/{clip.pk}/watch/", {"fraction": "0.4", "view_id": view_id})
    again = client.post(f"/clips/{clip.pk}/watch/", {"fraction": "0.9", "view_id": view_id})
    assert first.json() == {"status": "created"} and again.json() == {"status": "duplicate"}
    watch = Interaction.objects.get(user=alice, clip=clip)  # still one event for this viewing
    assert (watch.kind, watch.watched_fraction) == ("watch", 0.9)
    assert client.post(f"/clips/{clip.pk}/watch/", {"fraction": "2", "view_id": view_id}).status_code == 400


def test_removing_and_restoring_a_learned_interest(client: Client, alice: User) -> None:
    quiet = KeywordFactory(text="조용한", language="ko", tag_en="quiet", embedding=unit(1))
    query = SearchQueryFactory(user=alice, intent="interest")
    SearchQueryKeyword.objects.create(query=query, keyword=quiet, weight=1.0)
    assert "quiet" in client.get("/me/").content.decode()
    assert client.post(f"/me/interests/{quiet.pk}/remove/").status_code == 302
    assert MutedKeyword.objects.filter(user=alice, keyword=quiet).exists()
    page = client.get("/me/").content.decode()
    assert "Removed interests" in page
    client.post(f"/me/interests/{quiet.pk}/restore/")
    assert not MutedKeyword.objects.exists()


def test_export_downloads_my_data_as_json(client: Client, alice: User) -> None:
    ReviewFactory(user=alice, text="mine")
    response = client.get("/me/export/")
    assert response["Content-Disposition"] == 'attachment; filename="my-data.json"'
    data = json.loads(response.content)
    assert data["user"]["username"] == "alice" and data["reviews"][0]["text"] == "mine"


def test_deleting_the_account_needs_the_password(client: Client, alice: User) -> None:
    response = client.post("/me/delete/", {"password": "wrong"})
    assert response.status_code == 400 and User.objects.filter(pk=alice.pk).exists()
    response = client.post("/me/delete/", {"password": "wonderland-42"})
    assert response.status_code == 302 and not User.objects.filter(pk=alice.pk).exists()
    assert client.get("/me/").status_code == 302  # signed out


def test_sign_up_signs_you_in_and_shows_onboarding(client: Client) -> None:
    KeywordFactory(text="조용한", language="ko", tag_en="quiet", embedding=unit(1))
    PlaceFactory()
    response = client.post(
        "/accounts/signup/", {"username": "carol", "password1": "a-long-pass-phrase", "password2": "a-long-pass-phrase"}
    )
    assert response.status_code == 302
    assert 'id="onboarding-title"' in client.get("/").content.decode()


def test_log_in_and_log_out(client: Client) -> None:
    user = UserFactory(username="dave")
    user.set_password("pass-phrase-123")
    user.save()
    assert client.post("/accounts/login/", {"username": "dave", "password": "pass-phrase-123"}).status_code == 302
    assert client.get("/me/").status_code == 200
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/me/").status_code == 302

"""Every page renders for anonymous and signed-in people, in English and Korean, with helpful empty states."""

from __future__ import annotations

import numpy as np
import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from recommender.models import PlaceKeyword
from recommender.web.search import PER_PAGE
from tests.factories import ClipFactory, KeywordFactory, PlaceFactory, ReviewFactory, UserFactory

pytestmark = pytest.mark.django_db


def unit(seed: int) -> list[float]:
    vector = np.random.default_rng(seed).normal(size=384)
    return (vector / np.linalg.norm(vector)).tolist()


@pytest.fixture
def alice(client: Client) -> User:
    user = UserFactory(username="alice")
    user.set_password("wonderland-42")
    user.save()
    return user


@pytest.fixture
def catalogue() -> dict:
    cafe = PlaceFactory(
        name="카페 온도",
        district="연남동",
        opening_hours={day: [["09:00", "22:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
        embedding=unit(1),
    )
    bakery = PlaceFactory(name="Seongsu Bakery", category="bakery", district="Seongsu", embedding=unit(2))
    clip = ClipFactory(
        title="Seongsu bakery tour", place=bakery, media_url="https://example.com/v.mp4", embedding=unit(3)
    )
    quiet = KeywordFactory(text="조용한", language="ko", tag_en="quiet", embedding=unit(4))
    PlaceKeyword.objects.create(place=cafe, keyword=quiet, weight=0.9, count=3)
    return {"cafe": cafe, "bakery": bakery, "clip": clip, "quiet": quiet}


def pages(c: dict) -> list[str]:
    return ["/", "/search/", "/search/?q=카페", f"/places/{c['cafe'].pk}/", f"/clips/{c['clip'].pk}/"]


@pytest.mark.parametrize("language", ["en", "ko"])
def test_public_pages_render_for_anonymous_people_in_both_languages(
    client: Client, catalogue: dict, language: str
) -> None:
    for url in [*pages(catalogue), "/accounts/login/", "/accounts/signup/"]:
        response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200, url
        assert f'<html lang="{language}">' in response.content.decode(), url


@pytest.mark.parametrize("language", ["en", "ko"])
def test_every_page_renders_for_a_signed_in_person_in_both_languages(
    client: Client, alice: User, catalogue: dict, language: str
) -> None:
    client.force_login(alice)
    for url in [*pages(catalogue), "/me/", "/me/delete/"]:
        response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200, url
    korean = client.get("/me/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    if language == "ko":
        assert "내 데이터 내려받기" in korean


def test_signed_in_pages_send_anonymous_people_to_log_in(client: Client) -> None:
    for url in ["/me/", "/me/export/", "/me/delete/"]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), url


def test_place_page_shows_hours_with_today_highlighted_keywords_with_counts_and_a_map_link(
    client: Client, catalogue: dict
) -> None:
    page = client.get(f"/places/{catalogue['cafe'].pk}/").content.decode()
    assert 'class="today" aria-current="date"' in page
    assert "quiet" in page and '<span class="count"' in page
    assert "openstreetmap.org/?mlat=37.55" in page
    assert "Seongsu Bakery" in page  # similar places (by embedding)


def test_place_page_draws_a_map_tile_when_a_tile_server_is_configured(
    client: Client, catalogue: dict, settings
) -> None:
    settings.MAP_TILE_URL = "http://tiles.local/{z}/{x}/{y}.png"
    page = client.get(f"/places/{catalogue['cafe'].pk}/").content.decode()
    assert "http://tiles.local/16/" in page


def test_clip_page_has_a_video_with_poster_fallback_and_its_place(client: Client, catalogue: dict) -> None:
    clip = catalogue["clip"]
    clip.thumbnail_url = "https://example.com/t.jpg"
    clip.save()
    page = client.get(f"/clips/{clip.pk}/").content.decode()
    assert '<video class="player"' in page and 'poster="https://example.com/t.jpg"' in page
    assert "Your browser cannot play this video." in page
    assert "Seongsu Bakery" in page


def test_empty_states_explain_what_to_do(client: Client, alice: User) -> None:
    assert "the catalogue is empty" in client.get("/").content.decode()
    client.force_login(alice)
    profile = client.get("/me/").content.decode()
    assert "Nothing learned yet" in profile and "Nothing saved yet" in profile
    place = PlaceFactory()
    page = client.get(f"/places/{place.pk}/").content.decode()
    assert "No reviews yet" in page and "No keywords yet" in page and "Opening hours are not known" in page
    assert "No places match" in client.get("/search/?q=zzzz-nothing").content.decode()


def test_new_person_sees_onboarding_with_bilingual_interest_tags(client: Client, alice: User, catalogue: dict) -> None:
    client.force_login(alice)
    page = client.get("/").content.decode()
    assert 'id="onboarding-title"' in page and "조용한 · quiet" in page


def test_missing_items_are_404_pages(client: Client) -> None:
    for url in ["/places/999999/", "/clips/999999/", "/nope/"]:
        response = client.get(url)
        assert response.status_code == 404, url


def test_bad_query_parameters_are_ignored_with_a_message_never_a_500(client: Client, catalogue: dict) -> None:
    response = client.get("/?lat=abc&lon=1")
    assert response.status_code == 200 and "could not be read" in response.content.decode()
    assert client.get("/?lat=nan&lon=inf").status_code == 200
    response = client.get(f"/places/{catalogue['cafe'].pk}/?page=99999999999999999999")
    assert response.status_code == 200 and "does not exist" in response.content.decode()
    assert client.get("/search/?q=a&page=-3").status_code == 200
    assert client.get("/search/?q=a&lat=91&lon=0").status_code == 400
    assert client.get("/search/?kind=everything").status_code == 400


def test_distance_shows_when_a_location_is_given(client: Client, catalogue: dict) -> None:
    page = client.get("/?lat=37.56&lon=126.93").content.decode()
    assert 'class="distance"' in page and "Showing distances from" in page


def test_review_text_is_escaped(client: Client, catalogue: dict) -> None:
    ReviewFactory(place=catalogue["cafe"], text="<script>alert(1)</script>")
    page = client.get(f"/places/{catalogue['cafe'].pk}/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_language_switch_is_on_every_page_and_switches_to_korean(client: Client, catalogue: dict) -> None:
    page = client.get("/").content.decode()
    assert 'action="/i18n/setlang/"' in page and "한국어" in page
    response = client.post("/i18n/setlang/", {"language": "ko", "next": "/"})
    assert response.status_code == 302
    assert "장소와 클립 둘러보기" in client.get("/").content.decode()


def test_places_and_clips_found_together_page_on_their_own(client: Client) -> None:
    for i in range(PER_PAGE + 1):
        PlaceFactory(name=f"Cafe {i}")
    for i in range(2):
        ClipFactory(title=f"Clip {i}")
    first = client.get("/search/?kind=all")
    assert 'href="?kind=all&amp;place_page=2"' in first.content.decode()
    second = client.get("/search/?kind=all&place_page=2")
    assert second.context["places"].number == 2 and len(second.context["places"]) == 1
    assert second.context["clips"].number == 1 and len(second.context["clips"]) == 2
    assert "does not exist" not in second.content.decode()  # the clips were not pushed past their last page
    assert 'href="?kind=all&amp;place_page=1"' in second.content.decode()
    one_kind = client.get("/search/?kind=place")
    assert 'href="?kind=place&amp;page=2"' in one_kind.content.decode()
    past_the_end = client.get("/search/?kind=all&place_page=9&clip_page=x")
    assert past_the_end.context["places"].number == 2 and past_the_end.context["clips"].number == 1
    assert "That page does not exist" in past_the_end.content.decode()


def test_paging_stops_at_the_last_page_it_will_show(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    import recommender.web.common as common

    monkeypatch.setattr(common, "MAX_PAGE", 2)  # so three pages of results are more than it shows
    for i in range(3 * PER_PAGE):
        PlaceFactory(name=f"Cafe {i}")
    last = client.get("/search/?kind=place&page=2")
    assert last.context["places"].number == 2 and not last.context["places"].has_next()
    beyond = client.get("/search/?kind=place&page=3")
    assert beyond.context["places"].number == 2 and "That page does not exist" in beyond.content.decode()
    assert 'href="?kind=place&amp;page=1"' in beyond.content.decode()  # its "previous" is a page it shows


def test_a_search_shown_again_with_an_error_keeps_every_filters_options(client: Client) -> None:
    PlaceFactory(category="bakery", district="성수동1가")
    typed = {"q": "bread", "category": "bakery", "district": "성수동1가", "radius_km": "500"}  # too far
    response = client.post("/search/", typed)
    page = response.content.decode()
    assert response.status_code == 400
    assert "<option selected>bakery</option>" in page and "<option selected>성수동1가</option>" in page


def test_recent_activity_names_every_kind_in_the_readers_language(client: Client, alice: User, catalogue: dict) -> None:
    from tests.factories import InteractionFactory

    client.force_login(alice)
    InteractionFactory(user=alice, place=catalogue["cafe"], kind="click")
    InteractionFactory(user=alice, place=None, clip=catalogue["clip"], kind="watch", watched_fraction=0.5)
    english = client.get("/me/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Opened" in english and "Watched (50%)" in english and ">click<" not in english
    korean = client.get("/me/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "열어 봄" in korean and "시청 (50%)" in korean


def test_the_csrf_failure_page_says_which_language_it_is_in(alice: User) -> None:
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    response = strict.post("/search/", {"q": "x"}, HTTP_ACCEPT_LANGUAGE="ko")
    assert response.status_code == 403 and '<html lang="ko">' in response.content.decode()


def test_interest_buttons_are_named_in_the_readers_language(client: Client, alice: User, catalogue: dict) -> None:
    from recommender.models import MutedKeyword, SearchQuery

    client.force_login(alice)
    search = SearchQuery.objects.create(user=alice, text="조용한", intent="interest", created_at=timezone.now())
    search.keyword_links.create(keyword=catalogue["quiet"], weight=1.0)
    assert 'aria-label="Remove quiet"' in client.get("/me/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    MutedKeyword.objects.create(user=alice, keyword=catalogue["quiet"])
    assert 'aria-label="Restore quiet"' in client.get("/me/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'aria-label="조용한 되돌리기"' in client.get("/me/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()

"""Places and clips: lists with filters, search and pagination; details; similar items."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from rest_framework.test import APIClient

from clips.models import Clip
from places.models import Place
from recommender.models import ClipKeyword, Keyword, PlaceKeyword
from tests import test_api_support as support
from tests.factories import ClipFactory, KeywordFactory, PlaceFactory
from tests.test_api_support import assert_error

pytestmark = pytest.mark.django_db

# Shared fixtures (pytest finds fixtures by name in the module).
anon = support.anon
fresh_throttle_counters = support.fresh_throttle_counters

ALWAYS_OPEN = {d: [["00:00", "23:59"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
NEVER_OPEN: dict[str, list[list[str]]] = {d: [] for d in ALWAYS_OPEN}


def unit(axis: int, other: int | None = None, mix: float = 0.0) -> np.ndarray:
    v = np.zeros(384, dtype=np.float32)
    v[axis] = 1.0
    if other is not None:
        v[other] = mix
    return v / np.linalg.norm(v)


def names(response: Any) -> list[str]:
    return [row.get("name") or row.get("title") for row in response.json()["results"]]


def tag(item: Place | Clip, text: str, weight: float = 1.0, count: int = 1, hidden: bool = False) -> Keyword:
    keyword, _ = Keyword.objects.get_or_create(text=text, language="ko", defaults={"tag_en": "", "is_hidden": hidden})
    if isinstance(item, Place):
        PlaceKeyword.objects.create(place=item, keyword=keyword, weight=weight, count=count)
    else:
        ClipKeyword.objects.create(clip=item, keyword=keyword, weight=weight)
    return keyword


def test_the_place_list_is_paginated_newest_first(anon: APIClient) -> None:
    for i in range(3):
        PlaceFactory(name=f"p{i}")
    body = anon.get("/api/v1/places/?page_size=2").json()
    assert body["count"] == 3 and [r["name"] for r in body["results"]] == ["p2", "p1"] and body["next"]


def test_page_size_is_capped_at_100(anon: APIClient) -> None:
    Place.objects.bulk_create([Place(name=f"p{i}") for i in range(105)])
    assert len(anon.get("/api/v1/places/?page_size=500").json()["results"]) == 100


def test_a_page_past_the_end_is_a_404_naming_the_problem(anon: APIClient) -> None:
    PlaceFactory()
    body = assert_error(anon.get("/api/v1/places/?page=9"), 404, "not_found")
    assert "page" in body["error"]["message"].lower()
    assert_error(anon.get("/api/v1/places/?page=abc"), 404)


def test_inactive_places_and_clips_are_not_listed(anon: APIClient) -> None:
    PlaceFactory(name="gone", is_active=False)
    ClipFactory(title="gone", is_active=False)
    assert names(anon.get("/api/v1/places/")) == [] and names(anon.get("/api/v1/clips/")) == []
    gone = Place.objects.get()
    assert_error(anon.get(f"/api/v1/places/{gone.pk}/"), 404, "not_found")


def test_places_filter_by_category_and_district_ignoring_case(anon: APIClient) -> None:
    PlaceFactory(name="a", category="cafe", district="Mapo")
    PlaceFactory(name="b", category="museum", district="Mapo")
    PlaceFactory(name="c", category="cafe", district="Jongno")
    assert names(anon.get("/api/v1/places/?category=CAFE&district=mapo")) == ["a"]


@pytest.mark.parametrize("blank", ["", "%20", "%20%20"])
def test_a_blank_search_or_filter_filters_nothing(anon: APIClient, blank: str) -> None:
    # A search box sends what was typed: spaces only are no search, not a 400.
    PlaceFactory(name="a", category="cafe")
    PlaceFactory(name="b", category="museum")
    for name in ("q", "category", "district"):
        assert sorted(names(anon.get(f"/api/v1/places/?{name}={blank}"))) == ["a", "b"]


def test_search_finds_korean_and_english_text_in_names_descriptions_and_addresses(anon: APIClient) -> None:
    PlaceFactory(name="카페 온도", address="서울 마포구 연남동")
    PlaceFactory(name="River Deck", description="Quiet café with a river view")
    PlaceFactory(name="Bookstore")
    assert names(anon.get("/api/v1/places/", {"q": "연남동"})) == ["카페 온도"]
    assert names(anon.get("/api/v1/places/", {"q": "RIVER view"})) == ["River Deck"]
    assert names(anon.get("/api/v1/places/", {"q": "river bookstore"})) == []  # every word must match


def test_search_matches_keyword_text_but_not_hidden_keywords(anon: APIClient) -> None:
    quiet, plain = PlaceFactory(name="A"), PlaceFactory(name="B")
    tag(quiet, "조용한")
    tag(plain, "노키즈존", hidden=True)
    clip = ClipFactory(title="vlog")
    tag(clip, "브런치")
    assert names(anon.get("/api/v1/places/", {"q": "조용"})) == ["A"]
    assert names(anon.get("/api/v1/places/", {"q": "노키즈존"})) == []
    assert names(anon.get("/api/v1/clips/", {"q": "브런치"})) == ["vlog"]


def test_clip_search_covers_title_caption_and_its_place_name(anon: APIClient) -> None:
    place = PlaceFactory(name="Seoul Forest")
    ClipFactory(title="Morning walk", place=place)
    ClipFactory(title="Bakery", caption="소금빵 맛집")
    ClipFactory(title="Other")
    assert names(anon.get("/api/v1/clips/", {"q": "seoul forest"})) == ["Morning walk"]
    assert names(anon.get("/api/v1/clips/", {"q": "소금빵"})) == ["Bakery"]


def test_near_keeps_places_within_the_radius_nearest_first(anon: APIClient) -> None:
    PlaceFactory(name="far", latitude=37.60, longitude=126.92)  # ~5.5 km north
    PlaceFactory(name="near", latitude=37.551, longitude=126.92)
    PlaceFactory(name="here", latitude=37.55, longitude=126.92)
    PlaceFactory(name="nowhere", latitude=None, longitude=None)
    response = anon.get("/api/v1/places/", {"near": "37.55,126.92", "radius_km": 2})
    assert names(response) == ["here", "near"]
    assert response.json()["results"][1]["distance_km"] == pytest.approx(0.111, abs=0.002)
    assert names(anon.get("/api/v1/places/", {"near": "37.55,126.92", "radius_km": 10})) == ["here", "near", "far"]
    assert names(anon.get("/api/v1/places/", {"near": "37.55,126.92"})) == ["here", "near"]  # 5 km by default


def test_clips_near_a_location_are_clips_about_places_there(anon: APIClient) -> None:
    ClipFactory(title="there", place=PlaceFactory(latitude=37.55, longitude=126.92))
    ClipFactory(title="elsewhere", place=PlaceFactory(latitude=35.1, longitude=129.0))
    ClipFactory(title="placeless")
    assert names(anon.get("/api/v1/clips/", {"near": "37.55,126.92"})) == ["there"]


def test_open_now_hides_places_known_to_be_closed(anon: APIClient) -> None:
    PlaceFactory(name="open", opening_hours=ALWAYS_OPEN)
    PlaceFactory(name="closed", opening_hours=NEVER_OPEN)
    PlaceFactory(name="unknown", opening_hours={})
    assert sorted(names(anon.get("/api/v1/places/?open_now=true"))) == ["open", "unknown"]
    assert len(names(anon.get("/api/v1/places/?open_now=false"))) == 3


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"near": "91,0"}, "near"),
        ({"near": "0,181"}, "near"),
        ({"near": "north,east"}, "near"),
        ({"near": "37.5"}, "near"),
        ({"near": "37.5,126.9", "radius_km": "nan"}, "radius_km"),
        ({"near": "37.5,126.9", "radius_km": "0"}, "radius_km"),
        ({"near": "37.5,126.9", "radius_km": "1e9"}, "radius_km"),
        ({"radius_km": "1"}, "radius_km"),  # a radius around nothing: it would be ignored
        ({"open_now": "maybe"}, "open_now"),
        ({"q": "x" * 201}, "q"),
        ({"page_size": "many"}, None),
    ],
)
def test_bad_list_parameters_are_a_400_naming_the_parameter(
    anon: APIClient, query: dict[str, str], field: str | None
) -> None:
    response = anon.get("/api/v1/places/", query)
    if field is None:  # page_size that is not a number falls back to the default page size
        assert response.status_code == 200
    else:
        assert_error(response, 400, field=field)


def test_place_detail_shows_top_keywords_with_counts_and_its_clips(anon: APIClient) -> None:
    place = PlaceFactory(name="카페 온도", opening_hours=ALWAYS_OPEN)
    tag(place, "조용한", weight=3.0, count=7)
    tag(place, "넓은", weight=1.0, count=2)
    tag(place, "숨김", weight=9.0, hidden=True)
    ClipFactory(title="tour", place=place)
    ClipFactory(title="hidden tour", place=place, is_active=False)
    body = anon.get(f"/api/v1/places/{place.pk}/").json()
    assert [(k["text"], k["count"]) for k in body["keywords"]] == [("조용한", 7), ("넓은", 2)]
    assert [c["title"] for c in body["clips"]] == ["tour"]
    assert body["reviews"] == {"count": 0, "average_rating": None}
    assert body["opening_hours"] == ALWAYS_OPEN


def test_place_keyword_counts_are_summed_over_sources(anon: APIClient) -> None:
    place = PlaceFactory()
    keyword = KeywordFactory(text="view")
    PlaceKeyword.objects.create(place=place, keyword=keyword, weight=1.0, count=2, source="reviews")
    PlaceKeyword.objects.create(place=place, keyword=keyword, weight=0.5, count=3, source="naver")
    (entry,) = anon.get(f"/api/v1/places/{place.pk}/").json()["keywords"]
    assert entry["count"] == 5 and entry["weight"] == 1.5


def test_clip_detail_shows_its_place_and_keywords(anon: APIClient) -> None:
    place = PlaceFactory(name="Seoul Forest")
    clip = ClipFactory(place=place)
    tag(clip, "산책")
    body = anon.get(f"/api/v1/clips/{clip.pk}/").json()
    assert body["place"]["name"] == "Seoul Forest" and body["keywords"][0]["text"] == "산책"


def test_a_clip_without_video_or_image_urls_matches_the_published_schema(anon: APIClient) -> None:
    # Found by schemathesis: the detail schema said "uri" while the URLs may be empty strings.
    clip = ClipFactory(media_url="", thumbnail_url="")
    body = anon.get(f"/api/v1/clips/{clip.pk}/").json()
    assert (body["media_url"], body["thumbnail_url"]) == ("", "")
    schema = anon.get("/api/schema/?format=json").json()["components"]["schemas"]["ClipDetail"]["properties"]
    assert "format" not in schema["media_url"] and "format" not in schema["thumbnail_url"]


def test_unknown_ids_are_a_404_in_the_error_format(anon: APIClient) -> None:
    for url in ("/api/v1/places/999999/", "/api/v1/clips/999999/", "/api/v1/places/999999/similar/"):
        assert_error(anon.get(url), 404, "not_found")


def test_similar_places_are_nearest_by_embedding_excluding_itself(anon: APIClient) -> None:
    base = PlaceFactory(name="base", embedding=unit(0))
    PlaceFactory(name="twin", embedding=unit(0, 1, 0.1))
    PlaceFactory(name="cousin", embedding=unit(0, 1, 1.0))
    PlaceFactory(name="stranger", embedding=unit(5))
    PlaceFactory(name="no vector")
    PlaceFactory(name="inactive twin", embedding=unit(0), is_active=False)
    body = anon.get(f"/api/v1/places/{base.pk}/similar/?limit=2").json()
    assert [row["place"]["name"] for row in body] == ["twin", "cousin"]
    assert 1.0 >= body[0]["similarity"] > body[1]["similarity"]


def test_similar_is_empty_for_an_item_without_embedding(anon: APIClient) -> None:
    PlaceFactory(embedding=unit(0))
    lonely = PlaceFactory()
    clip = ClipFactory()
    assert anon.get(f"/api/v1/places/{lonely.pk}/similar/").json() == []
    assert anon.get(f"/api/v1/clips/{clip.pk}/similar/").json() == []


def test_similar_clips_work_and_limit_is_checked(anon: APIClient) -> None:
    base = ClipFactory(title="base", embedding=unit(2))
    ClipFactory(title="twin", embedding=unit(2, 3, 0.2), place=PlaceFactory())
    assert [r["clip"]["title"] for r in anon.get(f"/api/v1/clips/{base.pk}/similar/").json()] == ["twin"]
    assert_error(anon.get(f"/api/v1/clips/{base.pk}/similar/?limit=0"), 400, field="limit")
    assert_error(anon.get(f"/api/v1/clips/{base.pk}/similar/?limit=51"), 400, field="limit")


def _many_places_with_keywords(n: int) -> None:
    for i in range(n):
        place = PlaceFactory(name=f"p{i}", opening_hours=ALWAYS_OPEN)
        tag(place, f"kw{i % 3}", count=i)
        ClipFactory(place=place)


def test_the_place_list_costs_a_fixed_number_of_queries(anon: APIClient, django_assert_max_num_queries: Any) -> None:
    _many_places_with_keywords(12)
    with django_assert_max_num_queries(3):  # count, page, keywords of the page
        response = anon.get("/api/v1/places/?q=p&near=37.55,126.92")
    assert len(response.json()["results"]) == 12
    with django_assert_max_num_queries(4):  # + opening hours
        anon.get("/api/v1/places/?open_now=true")


def test_the_clip_list_costs_a_fixed_number_of_queries(anon: APIClient, django_assert_max_num_queries: Any) -> None:
    _many_places_with_keywords(12)
    with django_assert_max_num_queries(3):  # count, page with places, keywords of the page
        response = anon.get("/api/v1/clips/?q=clip")
    assert len(response.json()["results"]) == 12 and all(r["place"] for r in response.json()["results"])


def test_place_detail_costs_a_fixed_number_of_queries(anon: APIClient, django_assert_max_num_queries: Any) -> None:
    _many_places_with_keywords(3)
    place = Place.objects.first()
    assert place is not None
    ClipFactory.create_batch(5, place=place)
    with django_assert_max_num_queries(4):
        anon.get(f"/api/v1/places/{place.pk}/")


def test_opening_hours_of_the_place_decide_open_now_for_clips(anon: APIClient) -> None:
    ClipFactory(title="open", place=PlaceFactory(opening_hours=ALWAYS_OPEN))
    ClipFactory(title="closed", place=PlaceFactory(opening_hours=NEVER_OPEN))
    ClipFactory(title="placeless")
    assert sorted(names(anon.get("/api/v1/clips/?open_now=1"))) == ["open", "placeless"]

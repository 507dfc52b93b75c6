"""recommend(): the feed a person gets, on the real database with synthetic known embeddings."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import override_settings
from django.utils import timezone
from pytest_django.fixtures import Settings

from clips.models import Clip
from places.models import Place
from recommender.feeds import FeedRequest, recommend
from recommender.models import (
    Interaction,
    InteractionKind,
    Keyword,
    ModelVersion,
    PlaceKeyword,
    QueryIntent,
    UserProfile,
)
from recommender.ranking.als import ModelFileError
from recommender.training import live_model, publish, train_model
from tests.factories import ClipFactory, InteractionFactory, PlaceFactory, SearchQueryFactory, UserFactory

pytestmark = pytest.mark.django_db

DIMS = 384


def direction(axis: int, noise: float = 0.0, seed: int = 0) -> np.ndarray:
    """A unit vector mostly along ``axis``: items on the same axis are 'about the same thing'."""
    v = np.zeros(DIMS, dtype=np.float32)
    v[axis] = 1.0
    if noise:
        v += noise * np.random.default_rng(seed).normal(size=DIMS).astype(np.float32)
    return v / np.linalg.norm(v)


@pytest.fixture(autouse=True)
def artifacts(settings: Settings, tmp_path: Path) -> None:
    settings.MODEL_ARTIFACTS_DIR = tmp_path / "models"
    settings.FEED_DIVERSITY = 1.0  # plain ranking unless a test is about diversity


def cafe(name: str, seed: int, **kwargs: Any) -> Place:
    return PlaceFactory(name=name, category="cafe", embedding=direction(0, 0.02, seed), **kwargs)


def museum(name: str, seed: int, **kwargs: Any) -> Place:
    return PlaceFactory(name=name, category="museum", embedding=direction(1, 0.02, seed), **kwargs)


def like(user: Any, item: Place | Clip, kind: str = InteractionKind.LIKE, **kwargs: Any) -> Interaction:
    if isinstance(item, Place):
        return InteractionFactory(user=user, place=item, kind=kind, **kwargs)
    return InteractionFactory(user=user, place=None, clip=item, kind=kind, **kwargs)


def names(feed: Any) -> list[str]:
    return [entry.item.name if isinstance(entry.item, Place) else entry.item.title for entry in feed.items]


def test_an_empty_catalogue_gives_an_empty_feed_not_an_error() -> None:
    feed = recommend(AnonymousUser(), FeedRequest())
    assert feed.items == [] and feed.model_version is None


def test_an_anonymous_visitor_gets_the_most_popular_places_first() -> None:
    _quiet, busy, busiest = cafe("quiet", 1), cafe("busy", 2), cafe("busiest", 3)
    for i in range(3):
        like(UserFactory(), busiest)
        if i < 2:
            like(UserFactory(), busy)
    feed = recommend(None, FeedRequest(limit=3))
    assert names(feed) == ["busiest", "busy", "quiet"]
    assert feed.items[0].reason["code"] == "popular"


def test_a_new_user_with_only_searches_gets_a_feed_from_their_searches() -> None:
    alice = UserFactory(username="alice")
    for i in range(3):
        museum(f"museum {i}", i)
        cafe(f"cafe {i}", 10 + i)
    for i in range(3):  # museums are more popular: interest must win anyway
        like(UserFactory(), Place.objects.get(name=f"museum {i}"))
    query = SearchQueryFactory(user=alice, text="한강 뷰 카페", intent=QueryIntent.INTEREST)
    keyword = Keyword.objects.create(text="카페", language="ko", tag_en="cafe", embedding=direction(0))
    query.keyword_links.create(keyword=keyword, weight=1.0)
    UserProfile.objects.create(user=alice, interest_embedding=direction(0))

    feed = recommend(alice, FeedRequest(limit=3))

    assert all(name.startswith("cafe") for name in names(feed))
    assert feed.items[0].reason == {"code": "search", "query": "한강 뷰 카페", "keywords": [], "keyword_texts": []}
    assert feed.items[0].evidence["search"]["text"] == "한강 뷰 카페"
    assert feed.history == 0
    # A search made only of keywords a curator hid adds nothing to the interests, so it is no reason.
    spam = SearchQueryFactory(user=alice, text="buy followers", intent=QueryIntent.INTEREST)
    spam.keyword_links.create(
        keyword=Keyword.objects.create(text="followers", language="en", embedding=direction(0), is_hidden=True)
    )
    assert {item.reason.get("query") for item in recommend(alice, FeedRequest(limit=3)).items} == {"한강 뷰 카페"}


def test_someone_who_liked_cafes_gets_other_cafes_and_never_the_ones_they_liked() -> None:
    bob = UserFactory(username="bob")
    liked = cafe("Onion", 1)
    like(bob, liked, InteractionKind.SAVE)
    for i in range(3):
        cafe(f"cafe {i}", 10 + i)
        museum(f"museum {i}", 20 + i)
        like(UserFactory(), Place.objects.get(name=f"museum {i}"))

    feed = recommend(bob, FeedRequest(limit=3))

    assert "Onion" not in names(feed)
    assert all(name.startswith("cafe") for name in names(feed))
    assert feed.items[0].reason["code"] == "similar" and feed.items[0].reason["item"] == "Onion"
    assert feed.items[0].evidence["similar_to"]["name"] == "Onion"


def test_disliked_places_never_come_back_but_merely_viewed_ones_may() -> None:
    carol = UserFactory(username="carol")
    disliked, viewed = cafe("disliked", 1), cafe("viewed", 2)
    like(carol, disliked, InteractionKind.DISLIKE)
    like(carol, viewed, InteractionKind.VIEW)
    feed = recommend(carol, FeedRequest(limit=10))
    assert "disliked" not in names(feed)
    assert "viewed" in names(feed)


def test_every_items_score_parts_add_up_to_its_score() -> None:
    dave = UserFactory()
    like(dave, cafe("a", 1))
    for i in range(5):
        cafe(f"c{i}", 10 + i)
    feed = recommend(dave, FeedRequest(latitude=37.55, longitude=126.92))
    assert feed.items
    for entry in feed.items:
        assert sum(entry.parts.values()) == pytest.approx(entry.score)
        assert set(entry.parts) >= {"collaborative", "content", "interest", "popularity", "distance", "curator"}


def test_a_radius_keeps_only_places_within_it_and_reports_their_distance() -> None:
    cafe("near", 1, latitude=37.5500, longitude=126.9200)
    cafe("far", 2, latitude=37.6500, longitude=126.9200)  # ~11 km north
    cafe("unknown", 3, latitude=None, longitude=None)
    feed = recommend(None, FeedRequest(latitude=37.55, longitude=126.92, radius_km=2))
    assert names(feed) == ["near"]
    assert feed.items[0].distance_km == pytest.approx(0.0, abs=0.01)
    assert feed.origin == "request"


def test_without_a_location_distances_count_from_where_the_user_usually_goes() -> None:
    erin = UserFactory()
    home = cafe("home", 1, latitude=37.55, longitude=126.92)
    like(erin, home, InteractionKind.VISIT)
    cafe("around the corner", 2, latitude=37.551, longitude=126.921)
    cafe("across town", 3, latitude=37.40, longitude=127.10)
    feed = recommend(erin, FeedRequest(limit=2))
    assert feed.origin == "usual_area"
    assert names(feed)[0] == "around the corner"


def test_a_person_who_goes_to_two_areas_gets_both_and_not_the_midpoint() -> None:
    frank = UserFactory()
    like(frank, cafe("home", 1, latitude=37.50, longitude=127.00), InteractionKind.VISIT)
    like(frank, cafe("office", 2, latitude=37.60, longitude=127.00), InteractionKind.VISIT)
    # Unlike what frank liked, so nearness, not likeness, is what explains them.
    museum("by home", 3, latitude=37.501, longitude=127.001)
    museum("by the office", 4, latitude=37.601, longitude=127.001)
    museum("halfway", 5, latitude=37.55, longitude=127.00)
    feed = recommend(frank, FeedRequest(limit=3))
    assert feed.origin == "usual_area"
    assert set(names(feed)[:2]) == {"by home", "by the office"}
    assert names(feed)[2] == "halfway"
    distance = dict(zip(names(feed), [item.distance_km for item in feed.items], strict=True))
    assert distance["by home"] == pytest.approx(0.14, abs=0.01)
    assert distance["halfway"] == pytest.approx(5.56, abs=0.05)
    reason = dict(zip(names(feed), [item.reason for item in feed.items], strict=True))
    assert reason["by the office"] == {
        "code": "nearby",
        "distance_km": 0.1,
        "keywords": [],
        "keyword_texts": [],
        "near": "office",
        "been": True,
    }


def test_without_coordinates_the_districts_a_person_usually_goes_count_instead() -> None:
    # Places known only by district (an address, no geocoding): two visits in 성수동1가.
    ivy = UserFactory()
    for seed in (1, 2):
        like(ivy, cafe(f"visited {seed}", seed, district="성수동1가", latitude=None, longitude=None), "visit")
    no_coordinates = {"latitude": None, "longitude": None}
    cafe("across town", 3, district="연남동", **no_coordinates)
    cafe("somewhere", 4, district="", **no_coordinates)
    cafe("in her district", 5, district="성수동1가", **no_coordinates)
    # Nothing to compare with what she liked (no embedding yet): only its district speaks for it.
    PlaceFactory(name="museum in her district", embedding=None, district="성수동1가", **no_coordinates)
    feed = recommend(ivy, FeedRequest(limit=4))
    order = names(feed)
    # As alike as each other: her district first, an unknown one neither favoured nor penalised.
    assert order.index("in her district") < order.index("somewhere") < order.index("across town")
    parts = {name: item.parts["distance"] for name, item in zip(order, feed.items, strict=True)}
    assert parts["in her district"] > 0 == parts["somewhere"] > parts["across town"]
    reason = dict(zip(order, [item.reason for item in feed.items], strict=True))
    assert reason["museum in her district"] == {
        "code": "usual_area", "area": "성수동1가", "been": True, "keywords": [], "keyword_texts": []
    }  # fmt: skip
    assert reason["across town"]["code"] != "usual_area"
    # Where she is now (a location sent) is what counts then: places without coordinates are neutral.
    there = recommend(ivy, FeedRequest(limit=4, latitude=37.5, longitude=127.0))
    assert all(item.parts["distance"] == 0 and item.reason["code"] != "usual_area" for item in there.items)


def test_districts_bring_in_candidates_no_other_source_would() -> None:
    jack = UserFactory()
    like(jack, cafe("visited", 1, district="망원동", latitude=None, longitude=None), "visit")
    hidden = museum("in the district", 2, district="망원동", latitude=None, longitude=None)
    # More popular and more alike than the museum: the popular and content sources fill up with them.
    for i in range(12):
        other = cafe(f"popular {i}", 10 + i, district="연남동", latitude=None, longitude=None)
        like(UserFactory(), other, "visit")
    with override_settings(FEED_CANDIDATES_PER_SOURCE=10):
        feed = recommend(jack, FeedRequest(limit=20))
    assert hidden.name in names(feed)


def test_a_place_only_seen_in_a_list_is_not_where_the_person_goes() -> None:
    henry = UserFactory()
    seen = museum("only seen", 1, latitude=37.50, longitude=127.00)
    for _ in range(3):
        like(henry, seen, InteractionKind.VIEW)
    museum("elsewhere", 2, latitude=37.60, longitude=127.00)
    feed = recommend(henry, FeedRequest(limit=5))
    assert feed.origin is None  # no usual places: distances count from nowhere
    assert all("near" not in item.reason for item in feed.items)


def test_a_nearby_reason_names_no_place_when_the_location_was_sent() -> None:
    grace = UserFactory()
    home = PlaceFactory(name="home", embedding=None, latitude=37.50, longitude=127.00)  # no likeness to explain by
    like(grace, home, InteractionKind.VISIT)
    museum("by the station", 2, latitude=37.601, longitude=127.001)
    feed = recommend(grace, FeedRequest(limit=1, latitude=37.60, longitude=127.00))
    assert feed.origin == "request" and feed.items[0].reason["code"] == "nearby"
    assert "near" not in feed.items[0].reason


def test_a_nearby_reason_says_where_the_person_has_been_in_place_feeds_and_what_they_watched_in_clip_feeds() -> None:
    ines = UserFactory()
    onion = PlaceFactory(name="Onion", embedding=None, latitude=37.55, longitude=126.92)
    corner = PlaceFactory(name="around the corner", embedding=None, latitude=37.551, longitude=126.921)
    like(ines, ClipFactory(title="Onion tour", place=onion), InteractionKind.WATCH, watched_fraction=1.0)
    ClipFactory(title="corner clip", place=corner)
    clip_reason = recommend(ines, FeedRequest(kind="clip", limit=1)).items[0].reason
    assert clip_reason["code"] == "nearby" and clip_reason["near"] == "Onion" and clip_reason["via"] == "clips"
    like(ines, onion, InteractionKind.VISIT)
    place_reason = recommend(ines, FeedRequest(limit=1)).items[0].reason
    assert place_reason["code"] == "nearby" and place_reason["near"] == "Onion" and "via" not in place_reason
    assert place_reason["been"] is True and clip_reason["been"] is True


def test_a_nearby_reason_does_not_claim_a_visit_to_a_place_only_saved_or_a_watch_of_a_clip_only_liked() -> None:
    jane = UserFactory()
    wishlist = PlaceFactory(name="Wishlist", embedding=None, latitude=37.55, longitude=126.92)
    corner = PlaceFactory(name="around the corner", embedding=None, latitude=37.551, longitude=126.921)
    like(jane, wishlist, InteractionKind.SAVE)
    reason = recommend(jane, FeedRequest(limit=1)).items[0].reason
    assert reason["code"] == "nearby" and reason["near"] == "Wishlist" and reason["been"] is False
    like(jane, ClipFactory(title="Wishlist tour", place=wishlist))  # a like, not a watch
    ClipFactory(title="corner clip", place=corner)
    clip_reason = recommend(jane, FeedRequest(kind="clip", limit=1)).items[0].reason
    assert clip_reason["near"] == "Wishlist" and clip_reason["via"] == "clips" and clip_reason["been"] is False
    like(jane, wishlist, InteractionKind.VISIT)  # and then she went
    assert recommend(jane, FeedRequest(limit=1)).items[0].reason["been"] is True


def test_a_place_taken_back_is_no_place_the_person_usually_goes() -> None:
    kim = UserFactory()
    wishlist = PlaceFactory(name="Wishlist", embedding=None, latitude=37.55, longitude=126.92)
    PlaceFactory(name="around the corner", embedding=None, latitude=37.551, longitude=126.921)
    like(kim, wishlist, InteractionKind.SAVE, occurred_at=timezone.now() - dt.timedelta(days=1))
    like(kim, wishlist, InteractionKind.LIKE, occurred_at=timezone.now() - dt.timedelta(days=1))
    assert recommend(kim, FeedRequest(limit=1)).items[0].reason.get("near") == "Wishlist"
    like(kim, wishlist, InteractionKind.DISLIKE)  # net +4 still, but no longer "saved or liked"
    like(kim, wishlist, InteractionKind.SKIP)  # a skip after it says nothing of liking
    reason = recommend(kim, FeedRequest(limit=1)).items[0].reason
    assert reason.get("near") != "Wishlist"


def test_a_usual_area_reason_does_not_claim_the_person_goes_where_they_only_saved_places() -> None:
    kate = UserFactory()
    saved = PlaceFactory(name="saved", embedding=None, latitude=None, longitude=None, district="성수동1가")
    PlaceFactory(name="same district", embedding=None, latitude=None, longitude=None, district="성수동1가")
    like(kate, saved, InteractionKind.SAVE)
    reason = recommend(kate, FeedRequest(limit=1)).items[0].reason
    assert reason == {"code": "usual_area", "area": "성수동1가", "been": False, "keywords": [], "keyword_texts": []}
    like(kate, saved, InteractionKind.VISIT)
    assert recommend(kate, FeedRequest(limit=1)).items[0].reason["been"] is True
    # In a clip feed the district is that of clips the person liked: said so, no visit claimed.
    liam = UserFactory()
    like(liam, ClipFactory(title="saved clip", place=saved))
    ClipFactory(title="same district clip", place=PlaceFactory(latitude=None, longitude=None, district="성수동1가"))
    clip_reason = recommend(liam, FeedRequest(kind="clip", limit=1)).items[0].reason
    assert (clip_reason["code"], clip_reason["via"], clip_reason["been"]) == ("usual_area", "clips", False)


def test_open_now_drops_closed_places_and_keeps_ones_with_unknown_hours() -> None:
    every_day = {day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    late = {day: [["18:00", "02:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    cafe("day cafe", 1, opening_hours=every_day)
    cafe("night bar", 2, opening_hours=late)
    cafe("no hours", 3)
    # 23:30 on a Wednesday in Seoul
    at = dt.datetime(2026, 11, 25, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    feed = recommend(None, FeedRequest(open_now=True, now=at))
    assert sorted(names(feed)) == ["night bar", "no hours"]
    # Clips follow their place, as in the clip catalogue; a clip about no place has no hours.
    for place in Place.objects.all():
        ClipFactory(title=f"clip at {place.name}", place=place)
    ClipFactory(title="clip about nowhere")
    clips = recommend(None, FeedRequest(kind="clip", open_now=True, now=at))
    assert sorted(names(clips)) == ["clip about nowhere", "clip at night bar", "clip at no hours"]


def test_a_trained_model_adds_collaborative_scores_and_its_version() -> None:
    places = [cafe(f"p{i}", i) for i in range(6)]
    fans = [UserFactory() for _ in range(6)]
    for fan in fans:  # everyone who liked p0 also liked p1
        like(fan, places[0])
        like(fan, places[1])
    frank = UserFactory(username="frank")
    like(frank, places[0])
    row = train_model("place")

    feed = recommend(frank, FeedRequest(limit=3))

    assert feed.model_version == row.version
    assert names(feed)[0] == "p1"
    assert feed.items[0].parts["collaborative"] > 0


def test_with_the_neighbours_share_people_who_went_where_you_went_lead_the_feed(settings: Settings) -> None:
    """'People who went to X also went to Y': a quiet place co-visited with yours outranks the crowd's favourite."""
    settings.BLEND_NEIGHBOURS = 1.0
    settings.BLEND_POPULARITY = 0.0
    nowhere = {"latitude": None, "longitude": None, "district": ""}
    yours, quiet, favourite, other = (cafe(name, i, **nowhere) for i, name in enumerate(["yours", "quiet", "fav", "o"]))
    for _ in range(2):  # two people went to your place and the quiet one
        pair = UserFactory()
        like(pair, yours)
        like(pair, quiet)
    for _ in range(6):  # many went to the favourite and another place, never to yours
        crowd = UserFactory()
        like(crowd, favourite)
        like(crowd, other)
    row = train_model("place")
    model = live_model("place")
    assert model is not None and model.version == row.version and model.neighbours is not None
    ivy = UserFactory()
    like(ivy, yours)  # after training: her history is read at request time

    feed = recommend(ivy, FeedRequest(limit=3))

    assert names(feed)[0] == "quiet"
    assert feed.items[0].parts["collaborative"] > 0
    assert all(entry.parts["collaborative"] == 0 for entry in feed.items[1:])  # no co-visit with hers
    assert feed.items[0].reason["code"] == "collaborative" and feed.items[0].reason["item"] == "yours"
    assert feed.items[0].evidence["also"]["name"] == "yours"
    settings.BLEND_NEIGHBOURS = 0.0  # ALS alone: no reason may claim the co-visit
    assert all("also" not in entry.evidence for entry in recommend(ivy, FeedRequest(limit=3)).items)


def test_neighbours_bring_in_candidates_that_no_other_source_would(settings: Settings) -> None:
    settings.FEED_CANDIDATES_PER_SOURCE = 1
    settings.BLEND_NEIGHBOURS = 0.5
    settings.ALS_FACTORS = 1  # one factor: ALS's top item is the most popular one, never the quiet place
    nowhere = {"latitude": None, "longitude": None, "district": "", "embedding": None}
    yours = PlaceFactory(name="yours", **nowhere)
    quiet = PlaceFactory(name="quiet", **nowhere)
    crowd = [PlaceFactory(name=f"crowd {i}", **nowhere) for i in range(3)]
    pair = UserFactory()
    like(pair, yours)
    like(pair, quiet)
    for place in crowd:  # far more popular than the quiet place, and liked together by many
        for _ in range(8):
            like(UserFactory(), place)
    train_model("place")
    ivy = UserFactory()
    like(ivy, yours)
    feed = recommend(ivy, FeedRequest(limit=10))  # one candidate per source: the rest take the crowd
    assert "quiet" in names(feed), names(feed)


def test_new_interactions_count_in_the_next_feed_without_retraining() -> None:
    places = [cafe(f"p{i}", i) for i in range(4)]
    for _ in range(5):
        fan = UserFactory()
        like(fan, places[2])
        like(fan, places[3])
    train_model("place")
    gina = UserFactory()
    before = recommend(gina, FeedRequest()).items
    assert all(entry.parts["collaborative"] == 0 for entry in before)
    like(gina, places[2])  # after training
    after = recommend(gina, FeedRequest(limit=1))
    assert names(after) == ["p3"] and after.items[0].parts["collaborative"] > 0


def test_publishing_a_broken_model_keeps_the_previous_one_live(settings: Settings) -> None:
    for i in range(3):
        like(UserFactory(), cafe(f"p{i}", i))
    good = train_model("place")
    bad = train_model("place", publish_it=False)
    (settings.MODEL_ARTIFACTS_DIR / bad.artifact).write_bytes(b"corrupt")

    with pytest.raises(ModelFileError):
        publish(bad)

    assert ModelVersion.objects.get(is_live=True).version == good.version
    model = live_model("place")
    assert model is not None and model.version == good.version


def test_switching_the_live_model_is_picked_up_by_the_next_request() -> None:
    for i in range(3):
        like(UserFactory(), cafe(f"p{i}", i))
    first = train_model("place")
    second = train_model("place")
    assert ModelVersion.objects.filter(is_live=True).count() == 1
    assert recommend(None, FeedRequest()).model_version == second.version
    publish(first)  # roll back
    assert recommend(None, FeedRequest()).model_version == first.version


def test_clips_about_places_someone_liked_come_into_their_clip_feed(settings: Settings) -> None:
    settings.FEED_CANDIDATES_PER_SOURCE = 3  # the popular clips fill every other source
    hana, crowd = UserFactory(), UserFactory()
    nowhere = {"latitude": None, "longitude": None, "district": ""}  # so nothing is "nearby"
    place = cafe("Onion", 1, **nowhere)
    like(hana, place)
    ClipFactory(title="Onion tour", place=place)  # no embedding, nobody watched it yet
    for i in range(8):
        like(crowd, ClipFactory(title=f"popular {i}", embedding=direction(5, 0.02, i)))
    liked_clip = ClipFactory(title="watched", place=cafe("elsewhere", 2, **nowhere))
    like(hana, liked_clip, InteractionKind.WATCH, watched_fraction=1.0)
    titles = names(recommend(hana, FeedRequest(kind="clip", limit=20)))
    assert "Onion tour" in titles and "watched" not in titles
    # Without the liked place, the same clip is not a candidate at all.
    assert "Onion tour" not in names(recommend(UserFactory(), FeedRequest(kind="clip", limit=20)))


def test_places_seen_in_clips_someone_watched_come_into_their_place_feed(settings: Settings) -> None:
    settings.FEED_CANDIDATES_PER_SOURCE = 3
    hana, crowd = UserFactory(), UserFactory()
    nowhere = {"latitude": None, "longitude": None, "district": ""}
    seen = PlaceFactory(name="seen in a clip", embedding=None, **nowhere)
    for i in range(8):
        like(crowd, museum(f"popular {i}", i, **nowhere))
    like(hana, ClipFactory(title="tour", place=seen), InteractionKind.WATCH, watched_fraction=1.0)
    assert "seen in a clip" in names(recommend(hana, FeedRequest(limit=20)))
    assert "seen in a clip" not in names(recommend(UserFactory(), FeedRequest(limit=20)))


def test_reasons_name_as_liked_only_what_the_person_acted_on_never_an_item_itself() -> None:
    dora = UserFactory()
    like(dora, cafe("liked café", 0))
    like(dora, cafe("seen café", 1), InteractionKind.VIEW)  # shown in a list: it may come back
    for i in range(3):
        cafe(f"other café {i}", 10 + i)
    PlaceFactory(name="no text yet", embedding=None)
    feed = recommend(dora, FeedRequest())
    assert {"seen café", "no text yet"} <= set(names(feed))
    named = dict(zip(names(feed), (e.evidence.get("similar_to", {}).get("name") for e in feed.items), strict=True))
    assert named["seen café"] == "liked café" and named["other café 0"] == "liked café"
    assert set(named.values()) == {"liked café", None}
    assert named["no text yet"] is None  # similarity 0 to everything is no evidence


def cafes_and_a_liked_museum(person: Any, first_cafe: str) -> Place:
    """A café (returned), three more, and a museum the person likes: the cafés resemble the first."""
    first = cafe(first_cafe, 0)
    like(person, museum("liked museum", 1))
    for i in range(3):
        cafe(f"other café {i}", 10 + i)
    return first


def cafes_said_similar_to(person: Any) -> set[str | None]:
    """What the cafés of the person's feed are explained as similar to."""
    feed = recommend(person, FeedRequest())
    return {entry.evidence.get("similar_to", {}).get("name") for entry in feed.items if "café" in str(entry.item)}


def test_a_reason_carries_its_keywords_as_written_beside_their_english_tags() -> None:
    place = cafe("조용한 카페", 0)
    quiet = Keyword.objects.create(text="조용한", language="ko", tag_en="quiet")
    brunch = Keyword.objects.create(text="브런치", language="ko")  # no English tag
    PlaceKeyword.objects.create(place=place, keyword=quiet, count=3, weight=0.9)
    PlaceKeyword.objects.create(place=place, keyword=brunch, count=1, weight=0.5)
    reason = recommend(None, FeedRequest(limit=1)).items[0].reason
    assert reason["keywords"] == ["quiet", "브런치"] and reason["keyword_texts"] == ["조용한", "브런치"]


def test_a_place_the_persons_review_rates_low_is_never_called_liked() -> None:
    from recommender.services import edit_review, write_review

    erin = UserFactory()
    disliked = cafes_and_a_liked_museum(erin, "disliked café")
    review = write_review(erin, disliked, rating=1, text="cold coffee, rude staff")
    assert "disliked café" not in names(recommend(erin, FeedRequest()))  # the review's visit: seen
    # The cafés resemble the disliked one most: named as similar to nothing, not to the museum.
    assert cafes_said_similar_to(erin) == {None}
    edit_review(erin, review.pk, rating=4)  # on second thought
    assert cafes_said_similar_to(erin) == {"disliked café"}


def test_a_place_disliked_after_a_visit_or_a_like_is_no_longer_called_liked() -> None:
    from recommender.services import interest_profile

    fred = UserFactory()
    went = cafes_and_a_liked_museum(fred, "went there")
    like(fred, went, InteractionKind.VISIT, occurred_at=timezone.now() - dt.timedelta(days=2))
    like(fred, went, InteractionKind.LIKE, occurred_at=timezone.now() - dt.timedelta(days=2))
    keyword = Keyword.objects.create(text="조용한", language="ko", tag_en="quiet")
    PlaceKeyword.objects.create(place=went, keyword=keyword, count=1, weight=1.0)
    assert cafes_said_similar_to(fred) == {"went there"} and [k.text for k in interest_profile(fred)] == ["조용한"]
    # "Not interested" (-5) does not outweigh a visit and a like (+10), but it is his latest word.
    like(fred, went, InteractionKind.DISLIKE)
    assert cafes_said_similar_to(fred) == {None}
    assert interest_profile(fred) == []  # its keywords are no longer what he "liked"
    like(fred, went, InteractionKind.LIKE)  # changed his mind again
    assert cafes_said_similar_to(fred) == {"went there"}


def test_diversity_brings_a_different_item_into_the_top_of_the_feed(settings: Settings) -> None:
    ivan = UserFactory()
    like(ivan, cafe("liked café", 0))
    like(ivan, cafe("liked café 2", 1))
    like(ivan, PlaceFactory(name="liked bakery", embedding=direction(2)))
    for i in range(5):  # near-duplicates of what Ivan likes most
        PlaceFactory(name=f"same {i}", embedding=direction(0, 0.005, 100 + i))
    PlaceFactory(name="different", embedding=direction(2, 0.005, 7))  # his other taste
    museum("museum", 50)
    settings.FEED_DIVERSITY = 1.0
    assert names(recommend(ivan, FeedRequest(limit=2)))[1].startswith("same")
    settings.FEED_DIVERSITY = 0.5
    assert "different" in names(recommend(ivan, FeedRequest(limit=2)))


def test_the_feed_takes_a_bounded_number_of_queries(django_assert_max_num_queries: Any) -> None:
    judy = UserFactory()
    places = [cafe(f"p{i}", i, latitude=37.55 + i / 1000, longitude=126.92) for i in range(30)]
    for p in places[:5]:
        like(judy, p)
    query = SearchQueryFactory(user=judy, intent=QueryIntent.INTEREST)
    keyword = Keyword.objects.create(text="cafe", language="en", embedding=direction(0))
    query.keyword_links.create(keyword=keyword)
    UserProfile.objects.create(user=judy, interest_embedding=direction(0))
    train_model("place")
    with django_assert_max_num_queries(16):
        feed = recommend(judy, FeedRequest(limit=20, latitude=37.55, longitude=126.92))
    assert len(feed.items) == 20
    # Without a location: distances from the places she usually goes, and their names in reasons.
    with django_assert_max_num_queries(16):
        feed = recommend(judy, FeedRequest(limit=20))
    assert len(feed.items) == 20 and feed.origin == "usual_area"


def test_a_removed_interest_is_no_longer_given_as_a_reason() -> None:
    from recommender.services import mute_keyword

    kim = UserFactory()
    quiet = Keyword.objects.create(text="조용한", language="ko", tag_en="quiet")
    liked, other = cafe("liked", 1), cafe("other", 2)
    for place in (liked, other):
        place.keyword_links.create(keyword=quiet, weight=0.8, source="reviews")
    like(kim, liked)
    assert recommend(kim, FeedRequest()).items[0].evidence["shared_keywords"] == ["quiet"]
    mute_keyword(kim, quiet.pk)
    assert recommend(kim, FeedRequest()).items[0].evidence["shared_keywords"] == []


def test_a_place_added_after_training_gets_a_collaborative_score_predicted_from_its_text(settings: Settings) -> None:
    cafes = [cafe(f"c{i}", i) for i in range(12)]
    museums = [museum(f"m{i}", 100 + i) for i in range(12)]
    for group in (cafes, museums):
        for f in range(8):
            fan = UserFactory()
            for item in group[f % 3 :: 2]:
                like(fan, item)
    row = train_model("place")
    live = live_model("place")
    assert live is not None and live.attribute_map is not None  # fitted at training from the embeddings
    cafe("brand-new café", 999)  # both added after training: not in the model
    museum("brand-new museum", 998)
    hana = UserFactory()
    for item in cafes[:4]:
        like(hana, item)

    feed = recommend(hana, FeedRequest(limit=30))
    parts = dict(zip(names(feed), (entry.parts for entry in feed.items), strict=True))

    assert feed.model_version == row.version
    assert parts["brand-new café"]["collaborative"] > 0
    assert parts["brand-new café"]["collaborative"] > parts["brand-new museum"]["collaborative"]
    # Nobody has used either: neither is ever explained as "people with tastes like yours liked this".
    reasons = dict(zip(names(feed), (entry.reason["code"] for entry in feed.items), strict=True))
    assert reasons["brand-new museum"] == "new_match"  # its only evidence is the predicted score
    assert "collaborative" not in {reasons["brand-new café"], reasons["brand-new museum"]}
    # A map fitted on another embedding model's vectors would mis-predict: it is not used.
    settings.EMBEDDING_MODEL = "some-other-model"
    switched = recommend(hana, FeedRequest(limit=30))
    after_switch = dict(zip(names(switched), (entry.parts for entry in switched.items), strict=True))
    assert after_switch["brand-new café"]["collaborative"] == 0

"""Curator rules change real feeds; every change is audited."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.utils import timezone

from places.models import Place
from recommender.curation import delete_rule, rules_in_force, save_rule
from recommender.feeds import FeedRequest, recommend
from recommender.models import CuratorRule, CuratorRuleChange, InteractionKind
from recommender.ranking.rules import Rule, apply_rules, place_pins
from tests.factories import ClipFactory, InteractionFactory, PlaceFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def curator() -> User:
    return UserFactory(username="curator", is_staff=True)


@pytest.fixture
def places() -> list[Place]:
    """Five cafés, p0 most popular … p4 least, and one museum far away."""
    made = []
    for i in range(5):
        place = PlaceFactory(name=f"p{i}", category="cafe", latitude=37.55, longitude=126.92 + i / 1000)
        for _ in range(5 - i):
            InteractionFactory(place=place, user=UserFactory())
        made.append(place)
    made.append(PlaceFactory(name="museum", category="museum", latitude=37.60, longitude=127.00))
    return made


def feed_names(**kwargs: Any) -> list[str]:
    return [str(entry.item) for entry in recommend(None, FeedRequest(limit=10, **kwargs)).items]


def rule(curator: User, **fields: Any) -> CuratorRule:
    return save_rule(CuratorRule(**fields), curator)


def test_a_blocked_place_never_appears(curator: User, places: list[Place]) -> None:
    rule(curator, action="block", place=places[0])
    assert "p0" not in feed_names()


def test_a_blocked_category_and_a_blocked_area_remove_everything_they_cover(curator: User, places: list[Place]) -> None:
    rule(curator, action="block", category="Museum")
    assert "museum" not in feed_names()
    rule(curator, action="block", latitude=37.55, longitude=126.92, radius_km=0.13)
    assert feed_names() == ["p2", "p3", "p4"]  # p0, p1 lie within 130 m of the point; p2 is 176 m away


def test_boosting_moves_a_place_up_and_burying_moves_one_down(curator: User, places: list[Place]) -> None:
    assert feed_names()[:2] == ["p0", "p1"]
    rule(curator, action="boost", place=places[3], factor=5)
    rule(curator, action="bury", place=places[0], factor=0.1)
    names = feed_names()
    assert names[0] == "p3"
    assert names.index("p0") > names.index("p1")
    entry = next(e for e in recommend(None, FeedRequest(limit=10)).items if str(e.item) == "p3")
    assert entry.parts["curator"] > 0 and sum(entry.parts.values()) == pytest.approx(entry.score)


def test_a_pinned_place_sits_at_its_position_whatever_its_score(curator: User, places: list[Place]) -> None:
    rule(curator, action="pin", place=places[4], position=1)
    feed = recommend(None, FeedRequest(limit=3))
    assert [str(e.item) for e in feed.items] == ["p4", "p0", "p1"]
    assert feed.items[0].reason["code"] == "pinned"


def test_a_pin_does_not_override_a_block_or_the_users_dislike(curator: User, places: list[Place]) -> None:
    pin = rule(curator, action="pin", place=places[4], position=1)
    alice = UserFactory()
    InteractionFactory(user=alice, place=places[4], kind=InteractionKind.DISLIKE)
    assert "p4" not in [str(e.item) for e in recommend(alice, FeedRequest()).items]
    rule(curator, action="block", place=places[4])
    assert "p4" not in feed_names()
    assert CuratorRule.objects.filter(pk=pin.pk).exists()


def test_rules_only_apply_between_their_start_and_end_and_to_their_scope(curator: User, places: list[Place]) -> None:
    now = timezone.now()
    rule(curator, action="block", place=places[0], ends_at=now - dt.timedelta(minutes=1))
    rule(curator, action="block", place=places[1], starts_at=now + dt.timedelta(days=1))
    rule(curator, action="block", place=places[2], scope="clips")
    assert feed_names()[:3] == ["p0", "p1", "p2"]
    rule(curator, action="block", category="cafe", scope="places")
    ClipFactory(title="a cafe clip", category="cafe")
    assert [str(e.item) for e in recommend(None, FeedRequest(kind="clip")).items] == ["a cafe clip"]


def test_a_places_rule_reaches_the_clips_about_it_unless_scoped_to_places(curator: User, places: list[Place]) -> None:
    for i, place in enumerate(places[:3]):
        clip = ClipFactory(title=f"clip of p{i}", place=place)
        for _ in range(3 - i):  # clip of p0 most watched, clip of p2 least
            InteractionFactory(clip=clip, place=None, user=UserFactory(), kind=InteractionKind.LIKE)
    ClipFactory(title="clip of nowhere")

    def clip_names() -> list[str]:
        return [str(e.item) for e in recommend(None, FeedRequest(kind="clip", limit=10)).items]

    assert clip_names()[:3] == ["clip of p0", "clip of p1", "clip of p2"]
    rule(curator, action="block", place=places[0], scope="places")
    assert "clip of p0" in clip_names()
    rule(curator, action="block", place=places[0])  # scope: all feeds
    rule(curator, action="boost", place=places[2], scope="clips", factor=10)
    rule(curator, action="pin", place=places[1], position=1)  # a place's pin has no clip to pin
    names = clip_names()
    assert "clip of p0" not in names
    assert names[:2] == ["clip of p2", "clip of p1"]
    assert "clip of nowhere" in names
    in_force = rules_in_force("clip", timezone.now())
    assert sorted((r.action, r.place_id, r.item_id) for r in in_force) == [
        ("block", places[0].pk, None),
        ("boost", places[2].pk, None),
    ]


def test_invalid_rules_are_refused_before_saving(curator: User, places: list[Place]) -> None:
    with pytest.raises(ValidationError):
        rule(curator, action="boost", place=places[0], factor=0.5)
    with pytest.raises(ValidationError):
        rule(curator, action="pin", category="cafe", position=1)
    with pytest.raises(ValidationError):
        rule(curator, action="block", place=places[0], category="cafe")
    assert not CuratorRule.objects.exists() and not CuratorRuleChange.objects.exists()


def test_rules_that_would_apply_in_no_feed_are_refused(curator: User, places: list[Place]) -> None:
    clip = ClipFactory(place=places[0])
    # A place's pin in the clips feed only (it pins in the places feed), a clip's rule in the places feed only.
    with pytest.raises(ValidationError, match="no one clip to pin"):
        rule(curator, action="pin", place=places[0], position=1, scope="clips")
    with pytest.raises(ValidationError, match="applies to the clips feed"):
        rule(curator, action="block", clip=clip, scope="places")
    assert not CuratorRule.objects.exists()
    # Where they do apply, they are rules like any other.
    assert rules_in_force("place", timezone.now()) == []
    rule(curator, action="pin", place=places[0], position=1, scope="places")
    rule(curator, action="block", clip=clip, scope="clips")
    assert [r.action for r in rules_in_force("place", timezone.now())] == ["pin"]
    assert [r.action for r in rules_in_force("clip", timezone.now())] == ["block"]


def test_every_rule_change_is_recorded_with_who_and_what(curator: User, places: list[Place]) -> None:
    boost = rule(curator, action="boost", place=places[2], factor=2)
    boost.factor = 3
    save_rule(boost, curator)
    rule_id = boost.pk
    delete_rule(boost, curator)
    history = list(CuratorRuleChange.objects.filter(rule_id_value=rule_id).order_by("pk"))
    assert [h.action for h in history] == ["created", "changed", "deleted"]
    assert all(h.changed_by == curator for h in history)
    assert history[1].changes == {"factor": [2.0, 3.0]}
    assert history[2].snapshot["factor"] == 3.0


def test_rule_maths_on_plain_arrays() -> None:
    ids = np.array([1, 2, 3])
    categories = np.array(["cafe", "bar", "cafe"], dtype=object)
    lats = np.array([37.0, 37.0, np.nan])
    lons = np.array([127.0, 128.0, np.nan])
    rules = [
        Rule(1, "boost", category="CAFE", factor=2.0),
        Rule(2, "bury", item_id=3, factor=0.5),
        Rule(3, "block", latitude=37.0, longitude=128.0, radius_km=1.0),
    ]
    blocked, multiplier = apply_rules(rules, ids, categories, lats, lons)
    assert blocked.tolist() == [False, True, False]
    assert multiplier.tolist() == [2.0, 1.0, 1.0]
    about_place = [Rule(4, "block", place_id=7), Rule(5, "bury", place_id=8, factor=0.5)]
    blocked, multiplier = apply_rules(about_place, ids, categories, lats, lons, np.array([7, 8, -1]))
    assert blocked.tolist() == [True, False, False]
    assert multiplier.tolist() == [1.0, 0.5, 1.0]
    assert not apply_rules(about_place, ids, categories, lats, lons)[0].any()  # a places feed has no place ids
    assert place_pins([10, 11, 12, 13], [(1, 13), (3, 99)], limit=4) == [13, 10, 99, 11]


def test_an_item_pinned_twice_is_shown_once_and_the_earlier_rule_wins_a_position() -> None:
    # Two rules pin place 3 (a rule for every feed at 1, one for place feeds at 3): shown once, at 1.
    assert place_pins([1, 2, 3, 4], [(1, 3), (3, 3)], limit=5) == [3, 1, 2, 4]
    assert place_pins([1, 2, 3, 4], [(3, 3), (1, 3)], limit=5) == [1, 2, 3, 4]
    # Two items pinned to one position: the earlier rule's item there, the other right after.
    assert place_pins([10, 11, 12], [(1, 1), (1, 2)], limit=3) == [1, 2, 10]
    assert place_pins([10, 11, 12], [(2, 7), (1, 8), (2, 9)], limit=5) == [8, 7, 9, 10, 11]

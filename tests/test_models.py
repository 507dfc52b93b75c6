"""Constraints that protect the data, checked on the real PostgreSQL."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from places.models import Place
from recommender.models import Interaction, InteractionKind, Keyword, interaction_weight
from tests.factories import ClipFactory, InteractionFactory, PlaceFactory, ReviewFactory, UserFactory

pytestmark = pytest.mark.django_db


def assert_rejected(create: object) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        create()  # type: ignore[operator]


def test_place_source_and_external_id_are_unique_but_blank_ids_may_repeat() -> None:
    PlaceFactory(source="yelp", external_id="abc")
    assert_rejected(lambda: PlaceFactory(source="yelp", external_id="abc"))
    PlaceFactory(source="kakao", external_id="abc")  # another source may reuse the id
    PlaceFactory(source="manual", external_id="")
    PlaceFactory(source="manual", external_id="")
    assert Place.objects.filter(external_id="abc").count() == 2


@pytest.mark.parametrize(
    ("latitude", "longitude"),
    [(91.0, 0.0), (-90.5, 0.0), (0.0, 180.5), (0.0, -181.0), (37.5, None), (None, 127.0)],
)
def test_place_coordinates_must_be_on_earth_and_come_in_pairs(latitude: float | None, longitude: float | None) -> None:
    assert_rejected(lambda: PlaceFactory(latitude=latitude, longitude=longitude))


def test_review_rating_must_be_between_one_and_five() -> None:
    ReviewFactory(rating=1)
    ReviewFactory(rating=None)
    assert_rejected(lambda: ReviewFactory(rating=6))
    assert_rejected(lambda: ReviewFactory(rating=0))


def test_interaction_is_about_exactly_one_item() -> None:
    user = UserFactory()
    place = PlaceFactory()
    clip = ClipFactory()
    now = timezone.now()
    assert_rejected(
        lambda: Interaction.objects.create(user=user, place=place, clip=clip, kind="like", weight=1, occurred_at=now)
    )
    assert_rejected(lambda: Interaction.objects.create(user=user, kind="like", weight=1, occurred_at=now))
    assert Interaction.objects.count() == 0


def test_watched_fraction_is_a_fraction() -> None:
    clip = ClipFactory()
    InteractionFactory(place=None, clip=clip, kind=InteractionKind.WATCH, watched_fraction=1.0)
    assert_rejected(lambda: InteractionFactory(place=None, clip=clip, kind=InteractionKind.WATCH, watched_fraction=1.5))


def test_the_same_idempotency_key_cannot_be_recorded_twice_for_a_user() -> None:
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    InteractionFactory(user=alice, idempotency_key="evt-1")
    InteractionFactory(user=bob, idempotency_key="evt-1")  # keys are per user
    InteractionFactory(user=alice, idempotency_key=None)
    InteractionFactory(user=alice, idempotency_key=None)
    assert_rejected(lambda: InteractionFactory(user=alice, idempotency_key="evt-1"))
    assert Interaction.objects.filter(user=alice).count() == 3


def test_keyword_text_is_unique_per_language_and_keeps_korean_intact() -> None:
    Keyword.objects.create(text="조용한", language="ko", tag_en="quiet")
    Keyword.objects.create(text="quiet", language="en", tag_en="quiet")
    assert_rejected(lambda: Keyword.objects.create(text="조용한", language="ko"))
    assert Keyword.objects.get(language="ko").text == "조용한"


def test_strong_signals_weigh_more_than_weak_ones_and_negatives_count_against() -> None:
    assert interaction_weight("visit") > interaction_weight("like") > interaction_weight("view") > 0
    assert interaction_weight("watch", 1.0) > interaction_weight("watch", 0.2) > 0
    assert interaction_weight("skip") < 0
    assert interaction_weight("dislike") < interaction_weight("skip")


def test_deleting_a_user_removes_their_reviews_and_interactions() -> None:
    alice = UserFactory(username="alice")
    ReviewFactory(user=alice)
    InteractionFactory(user=alice)
    alice.delete()
    assert Interaction.objects.count() == 0
    assert not type(alice).objects.filter(username="alice").exists()

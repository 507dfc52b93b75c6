"""factory-boy factories: the smallest valid rows, overridable per test."""

from __future__ import annotations

import datetime as dt

import factory
from django.contrib.auth.models import User
from django.utils import timezone

from clips.models import Clip
from places.models import Place, Review
from recommender.models import Interaction, InteractionKind, Keyword, SearchQuery, interaction_weight


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")


class PlaceFactory(factory.django.DjangoModelFactory[Place]):
    class Meta:
        model = Place

    name = factory.Sequence(lambda n: f"Place {n}")
    category = "cafe"
    district = "Mapo"
    latitude = 37.55
    longitude = 126.92


class ClipFactory(factory.django.DjangoModelFactory[Clip]):
    class Meta:
        model = Clip

    title = factory.Sequence(lambda n: f"Clip {n}")
    duration_seconds = 30.0
    language = "en"


class ReviewFactory(factory.django.DjangoModelFactory[Review]):
    class Meta:
        model = Review

    user = factory.SubFactory(UserFactory)
    place = factory.SubFactory(PlaceFactory)
    rating = 5
    text = "Quiet café, good for studying, river view."
    language = "en"
    created_at = factory.LazyFunction(timezone.now)


class InteractionFactory(factory.django.DjangoModelFactory[Interaction]):
    class Meta:
        model = Interaction

    user = factory.SubFactory(UserFactory)
    place = factory.SubFactory(PlaceFactory)
    clip = None
    kind = InteractionKind.LIKE
    weight = factory.LazyAttribute(lambda i: interaction_weight(i.kind, i.watched_fraction))
    watched_fraction = None
    occurred_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(minutes=1))


class SearchQueryFactory(factory.django.DjangoModelFactory[SearchQuery]):
    class Meta:
        model = SearchQuery

    user = factory.SubFactory(UserFactory)
    text = "한강 뷰 카페"
    language = "ko"
    created_at = factory.LazyFunction(timezone.now)


class KeywordFactory(factory.django.DjangoModelFactory[Keyword]):
    class Meta:
        model = Keyword

    text = factory.Sequence(lambda n: f"keyword {n}")
    language = "en"

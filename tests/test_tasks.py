"""Task bodies, run in-process against the real database (the worker tests cover the transport)."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest

from clips.models import Clip
from places.models import Place
from tests.factories import ClipFactory, PlaceFactory
from workers import tasks

pytestmark = pytest.mark.django_db


def test_embedding_a_place_twice_gives_the_same_vector() -> None:
    place = PlaceFactory(name="Onion bakery", description="bright, busy, great pastries")
    assert tasks.embed_places([place.pk]) == 1
    first = np.asarray(Place.objects.get(pk=place.pk).embedding)
    assert tasks.embed_places([place.pk]) == 1
    second = np.asarray(Place.objects.get(pk=place.pk).embedding)
    assert np.allclose(first, second, atol=1e-6)


def test_similar_texts_embed_closer_than_unrelated_ones() -> None:
    a = PlaceFactory(name="Riverside coffee", description="coffee shop with a view of the river")
    b = PlaceFactory(name="Han river café", description="café overlooking the river, great coffee")
    c = PlaceFactory(name="Tire repair garage", category="car service", description="tyres and oil changes")
    tasks.embed_places([a.pk, b.pk, c.pk])
    va, vb, vc = (np.asarray(Place.objects.get(pk=p.pk).embedding) for p in (a, b, c))
    assert va @ vb > va @ vc


def test_sweep_enqueues_only_rows_without_embeddings_in_batches() -> None:
    PlaceFactory.create_batch(3)
    done = PlaceFactory(embedding=np.ones(384, dtype=np.float32) / np.sqrt(384))
    ClipFactory.create_batch(2)
    with (
        mock.patch.object(tasks.embed_places, "delay") as places_delay,
        mock.patch.object(tasks.embed_clips, "delay") as clips_delay,
    ):
        assert tasks.sweep_missing_embeddings() == 2
    [place_ids] = places_delay.call_args.args
    assert len(place_ids) == 3 and done.pk not in place_ids
    [clip_ids] = clips_delay.call_args.args
    assert sorted(clip_ids) == sorted(Clip.objects.values_list("pk", flat=True))

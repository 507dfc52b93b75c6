"""Embedding tasks, run in-process against the real database."""

from __future__ import annotations

import numpy as np
import pytest

from places.models import Place
from tests.factories import PlaceFactory
from workers import tasks

pytestmark = pytest.mark.django_db


def test_embedding_a_place_twice_gives_the_same_vector_and_skips_the_second_time() -> None:
    place = PlaceFactory(name="Onion bakery", description="bright, busy, great pastries")
    assert tasks.embed_places([place.pk]) == 1
    first = np.asarray(Place.objects.get(pk=place.pk).embedding)
    Place.objects.filter(pk=place.pk).update(embedding_key="")  # force a recompute
    assert tasks.embed_places([place.pk]) == 1
    second = np.asarray(Place.objects.get(pk=place.pk).embedding)
    assert np.allclose(first, second, atol=1e-6)
    assert np.linalg.norm(first) == pytest.approx(1.0, abs=1e-3)


def test_similar_texts_embed_closer_than_unrelated_ones() -> None:
    a = PlaceFactory(name="Riverside coffee", description="coffee shop with a view of the river")
    b = PlaceFactory(name="Han river café", description="café overlooking the river, great coffee")
    c = PlaceFactory(name="Tire repair garage", category="car service", description="tyres and oil changes")
    tasks.embed_places([a.pk, b.pk, c.pk])
    va, vb, vc = (np.asarray(Place.objects.get(pk=p.pk).embedding) for p in (a, b, c))
    assert va @ vb > va @ vc


def test_embedding_a_deleted_place_is_a_no_op() -> None:
    place = PlaceFactory()
    place_id = place.pk
    place.delete()
    assert tasks.embed_places([place_id]) == 0


def test_a_vector_of_an_old_text_is_not_stored_over_an_edit_made_while_encoding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    edited, untouched = PlaceFactory(description="quiet study café"), PlaceFactory(description="rooftop bar")
    real_encode = tasks.encode

    def encode_while_someone_edits(texts: list[str]) -> np.ndarray:
        Place.objects.filter(pk=edited.pk).update(description="loud karaoke bar")  # the edit lands mid-batch
        return real_encode(texts)

    monkeypatch.setattr(tasks, "encode", encode_while_someone_edits)
    tasks.embed_places([edited.pk, untouched.pk])

    assert Place.objects.get(pk=edited.pk).embedding is None  # still pending: the sweep embeds the new text
    assert Place.objects.needing_embedding(tasks.settings.EMBEDDING_MODEL).filter(pk=edited.pk).exists()
    assert Place.objects.get(pk=untouched.pk).embedding is not None

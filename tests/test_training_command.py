"""Training from the command line and from the scheduled task."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.management import call_command
from pytest_django.fixtures import Settings

from recommender.models import Interaction, InteractionKind, ModelVersion
from recommender.ranking.als import ALSParams, fit_als
from recommender.ranking.coldstart import fit_attribute_map
from recommender.ranking.matrix import build_matrix
from recommender.training import fitted_attribute_map, interaction_matrix, parse_binary_vectors
from tests.conftest import database_url_for_subprocess
from tests.factories import ClipFactory, InteractionFactory, PlaceFactory, UserFactory
from workers.tasks import train_models

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def artifacts(settings: Settings, tmp_path: Path) -> None:
    settings.MODEL_ARTIFACTS_DIR = tmp_path / "models"


def test_train_model_command_trains_and_publishes_each_kind_with_data(tmp_path: Path) -> None:
    for _ in range(3):
        InteractionFactory(place=PlaceFactory())
    out = StringIO()
    call_command("train_model", stdout=out)
    text = out.getvalue()
    assert "place: place-" in text and "(live)" in text
    assert "clip: no positive clip interactions" in text
    live = ModelVersion.objects.get(is_live=True)
    assert live.kind == "place" and live.interactions == 3 and live.users == 3
    assert (tmp_path / "models" / live.artifact).is_file()


def test_a_training_waits_for_the_one_running_for_its_kind() -> None:
    # Two trainings at once (the schedule, a tuning, an account deletion) would publish in whatever
    # order they finish: one that read the interactions before a deletion could go live after the
    # one that read them since. Another session holding the kind's training lock stands in here
    # for a running training; with a short lock timeout, waiting for it shows as an error.
    import psycopg
    from django.db import OperationalError, connection, transaction

    from recommender.training import train_model

    for _ in range(3):
        InteractionFactory(place=PlaceFactory())
    with psycopg.connect(database_url_for_subprocess(), autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(hashtext('train:place'))")
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '300ms'")
        try:
            with pytest.raises(OperationalError, match="lock timeout"), transaction.atomic():
                train_model("place")
            assert not ModelVersion.objects.exists()
            other.execute("SELECT pg_advisory_unlock(hashtext('train:place'))")
            assert train_model("place").is_live  # the running one is done: this one goes ahead
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET lock_timeout")


def test_no_publish_keeps_the_live_model() -> None:
    InteractionFactory(place=PlaceFactory())
    call_command("train_model", "place", stdout=StringIO())
    live = ModelVersion.objects.get(is_live=True)
    call_command("train_model", "place", "--no-publish", stdout=StringIO())
    assert ModelVersion.objects.count() == 2
    assert ModelVersion.objects.get(is_live=True) == live


def test_the_scheduled_task_trains_every_kind() -> None:
    InteractionFactory(place=PlaceFactory())
    InteractionFactory(place=None, clip=ClipFactory(), kind=InteractionKind.WATCH, watched_fraction=0.9)
    outcome = train_models()
    assert outcome["place"].startswith("place-") and outcome["clip"].startswith("clip-")
    assert ModelVersion.objects.filter(is_live=True).count() == 2


def test_training_measures_the_embedding_models_similarity_floor() -> None:
    import numpy as np

    from recommender.training import live_model

    base = np.zeros(384, dtype=np.float32)
    base[0] = 1.0
    for i in range(5):
        vector = base.copy()
        vector[i + 1] = 0.5  # every pair shares most of its direction: cosine 0.8
        InteractionFactory(place=PlaceFactory(embedding=vector / np.linalg.norm(vector)))
    call_command("train_model", "place", stdout=StringIO())
    model = live_model("place")
    assert model is not None
    assert model.meta["similarity_floor"] == pytest.approx(0.8, abs=0.01)
    assert ModelVersion.objects.get(is_live=True).params["similarity_floor"] == pytest.approx(0.8, abs=0.01)


def test_held_out_figures_show_als_beating_popularity_on_data_with_tastes() -> None:
    import numpy as np

    from recommender.training import holdout_metrics

    rng = np.random.default_rng(0)
    groups = [[PlaceFactory() for _ in range(20)] for _ in range(2)]
    for n in range(40):
        user = UserFactory()
        for place in rng.choice(groups[n % 2], size=8, replace=False):
            InteractionFactory(user=user, place=place)

    metrics = holdout_metrics("place", users=40, k=3)

    assert metrics["users"] == 40
    assert 0 <= metrics["popularity_recall@3"] < metrics["als_recall@3"] <= 1
    assert metrics["als_ndcg@3"] <= metrics["als_recall@3"]
    # Item neighbours find the taste groups too, and so does the collaborative part as served.
    assert metrics["popularity_recall@3"] < metrics["neighbours_recall@3"] <= 1
    assert metrics["popularity_recall@3"] < metrics["collaborative_recall@3"] <= 1
    # The share decides the mix: all ALS, all neighbours.
    alone = holdout_metrics("place", users=40, k=3, neighbours_share=0.0)
    assert alone["collaborative_recall@3"] == alone["als_recall@3"]
    only = holdout_metrics("place", users=40, k=3, neighbours_share=1.0)
    assert only["collaborative_recall@3"] == only["neighbours_recall@3"]


def test_the_scheduled_training_records_held_out_figures_on_the_version() -> None:
    for _ in range(6):
        user = UserFactory()
        for place in [PlaceFactory() for _ in range(3)]:
            InteractionFactory(user=user, place=place)
    train_models()
    metrics = ModelVersion.objects.get(kind="place", is_live=True).metrics
    assert metrics["users"] == 6 and 0 <= metrics["als_recall@10"] <= 1


def matrix_of_stored_rows(kind_column: str) -> tuple[Any, Any, Any]:
    """``build_matrix`` over every interaction row, read one by one through the ORM."""
    stored = Interaction.objects.filter(**{f"{kind_column}__isnull": False})
    rows = list(stored.values_list("user_id", kind_column, "weight"))
    users, items, weights = (np.array(column) for column in zip(*rows, strict=True))
    return build_matrix(users, items, weights.astype(np.float32))


@pytest.mark.parametrize("chunk_rows", [1, 7, 64, 10_000])
def test_the_training_matrix_sums_every_stored_event_whatever_the_chunk_size(chunk_rows: int) -> None:
    places = [PlaceFactory() for _ in range(7)]
    people = [UserFactory() for _ in range(40)]
    made = [
        # some pairs net negative
        InteractionFactory(user=people[(n * 7) % 40], place=places[n % 7], weight=(n % 5) - 1.5)
        for n in range(300)
    ]
    gone = [person.pk for person in people[10:25]]
    Interaction.objects.filter(user_id__in=gone).delete()  # a gap in user ids wider than some chunks
    InteractionFactory(clip=ClipFactory(), place=None, user=people[0])  # a clip interaction: not read for places
    expected, expected_users, expected_items = matrix_of_stored_rows("place")
    assert len(made) == 300 and expected.nnz > 0

    matrix, users, items = interaction_matrix("place", chunk_rows=chunk_rows)

    assert users.ids.tolist() == expected_users.ids.tolist() and items.ids.tolist() == expected_items.ids.tolist()
    assert matrix.shape == expected.shape and np.allclose(matrix.toarray(), expected.toarray())


def test_the_training_matrix_of_a_kind_with_no_rows_is_empty() -> None:
    InteractionFactory(place=PlaceFactory())
    matrix, users, items = interaction_matrix("clip")
    assert matrix.shape == (0, 0) and matrix.nnz == 0 and len(users) == len(items) == 0


def test_the_text_map_is_fitted_on_the_embeddings_exactly_as_stored() -> None:
    rng = np.random.default_rng(5)
    places = [PlaceFactory(embedding=rng.normal(size=384).astype(np.float32)) for _ in range(25)]
    unembedded = PlaceFactory(embedding=None)
    for n, user in enumerate(UserFactory() for _ in range(12)):
        for place in [*places[n % 3 :: 2], unembedded]:
            InteractionFactory(user=user, place=place, kind=InteractionKind.LIKE)
    matrix, users, items = interaction_matrix("place")
    model = fit_als(matrix, users, items, ALSParams(factors=4, iterations=2), version="t")

    mapping = fitted_attribute_map("place", model)  # read by binary COPY

    pos = model.items.positions(np.array([p.pk for p in places]))
    vectors = np.stack([np.asarray(p.embedding, dtype=np.float32) for p in places])  # read by the ORM
    expected = fit_attribute_map(vectors, model.item_factors[pos], model.item_support[pos])
    assert mapping is not None and expected is not None
    assert np.allclose(mapping.weights, expected.weights, atol=1e-5)


def test_the_binary_vector_parser_checks_the_layout() -> None:
    vectors = np.arange(6 * 3, dtype=np.float32).reshape(6, 3) / 7
    body = b"".join(
        (2).to_bytes(2, "big")
        + (8).to_bytes(4, "big")
        + pk.to_bytes(8, "big")
        + (4 + 4 * 3).to_bytes(4, "big")
        + (3).to_bytes(2, "big")
        + bytes(2)
        + vector.astype(">f4").tobytes()
        for pk, vector in zip(range(100, 106), vectors, strict=True)
    )
    stream = b"PGCOPY\n\xff\r\n\x00" + bytes(4) + bytes(4) + body + b"\xff\xff"
    ids, parsed = parse_binary_vectors([stream[k : k + 5] for k in range(0, len(stream), 5)], 3)
    assert ids.tolist() == list(range(100, 106)) and np.array_equal(parsed, vectors)
    with pytest.raises(ValueError, match="expected size"):
        parse_binary_vectors([stream[:-9] + b"\xff\xff"], 3)
    with pytest.raises(ValueError):
        parse_binary_vectors([stream], 2)
    with pytest.raises(ValueError, match="header"):
        parse_binary_vectors([b"garbage" * 5], 3)

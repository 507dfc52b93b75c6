"""pgvector storage and HNSW nearest-neighbour search on the real PostgreSQL."""

from __future__ import annotations

import numpy as np
import pytest
from django.db import connection
from pgvector.django import CosineDistance

from places.models import Place
from recommender.db import VectorBytes, unpack_vector

pytestmark = pytest.mark.django_db


def unit(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector)


def make_places(count: int, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    vectors = np.stack([unit(v) for v in rng.normal(size=(count, 384))]).astype(np.float32)
    Place.objects.bulk_create(
        [Place(name=f"p{i}", source="test", external_id=str(i), embedding=vectors[i]) for i in range(count)]
    )
    return vectors


def test_nearest_neighbours_come_back_in_cosine_order() -> None:
    vectors = make_places(200)
    query = unit(vectors[17] + 0.05 * vectors[3])

    found = list(Place.objects.annotate(distance=CosineDistance("embedding", query)).order_by("distance")[:5])

    expected = np.argsort(-(vectors @ query))[:5]
    assert [p.external_id for p in found] == [str(i) for i in expected]
    assert found[0].external_id == "17"


def test_nearest_neighbour_query_plan_uses_the_hnsw_index() -> None:
    make_places(300)
    query = unit(np.ones(384, dtype=np.float32))
    qs = Place.objects.order_by(CosineDistance("embedding", query))[:10]
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        # On a small table the planner may prefer a scan; disabling it shows the index is usable.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "place_embedding_hnsw_v2" in plan, plan


def test_wrong_size_vector_is_rejected_by_the_database() -> None:
    from django.db import DataError, transaction

    with pytest.raises(DataError), transaction.atomic():
        Place.objects.create(name="bad", embedding=np.ones(3, dtype=np.float32))
    assert not Place.objects.filter(name="bad").exists()


def test_filtered_nearest_neighbours_are_found_past_rows_the_filter_drops() -> None:
    """HNSW stops after ef_search candidates; rows the WHERE clause drops (hidden places, dead rows
    of rolled-back writes) must not starve the result: iterative index scans keep going."""
    from django.db import transaction

    rng = np.random.default_rng(3)
    target = unit(rng.normal(size=384)).astype(np.float32)
    crowd = [unit(target + 0.01 * rng.normal(size=384)).astype(np.float32) for _ in range(300)]
    Place.objects.bulk_create([Place(name=f"hidden {i}", embedding=v, is_active=False) for i, v in enumerate(crowd)])
    with transaction.atomic():  # rolled back: leaves dead index entries right next to the target
        sid = transaction.savepoint()
        Place.objects.bulk_create([Place(name=f"gone {i}", embedding=v) for i, v in enumerate(crowd)])
        transaction.savepoint_rollback(sid)
    far = Place.objects.create(name="the only visible one", embedding=unit(rng.normal(size=384)).astype(np.float32))
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # what the planner picks on a big table

    found = list(
        Place.objects.filter(is_active=True)
        .order_by(CosineDistance("embedding", target))
        .values_list("pk", flat=True)[:5]
    )

    assert found == [far.pk]


def test_connections_exchange_vectors_in_pgvectors_binary_format() -> None:
    connection.ensure_connection()
    # recommender.db.register_pgvector ran on connect: the vector type has a binary loader.
    from pgvector.psycopg.vector import VectorBinaryLoader

    with connection.cursor() as cursor:
        cursor.execute("SELECT 'vector'::regtype::oid")
        [oid] = cursor.fetchone()
    assert connection.connection.adapters.get_loader(oid, 1) is VectorBinaryLoader


def test_vectors_read_as_bytes_are_exactly_the_stored_ones() -> None:
    rng = np.random.default_rng(9)
    stored = rng.normal(size=384).astype(np.float32)
    place = Place.objects.create(name="bytes", embedding=stored)
    Place.objects.create(name="none", embedding=None)

    rows = dict(Place.objects.values_list("name", VectorBytes("embedding")))

    got = unpack_vector(rows["bytes"])
    assert got is not None and got.dtype == np.float32 and np.array_equal(got, stored)
    assert unpack_vector(rows["none"]) is None
    assert np.array_equal(got, np.asarray(Place.objects.get(pk=place.pk).embedding))  # the ORM's text path
    with pytest.raises(ValueError, match="pgvector"):
        unpack_vector(b"\x00\x03\x00\x00" + bytes(8))  # 3 dimensions announced, 2 sent

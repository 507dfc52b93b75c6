"""HNSW indexes are built concurrently by migrations, so writes go on while they build."""

from __future__ import annotations

import itertools
import threading
import time

import numpy as np
import pytest
from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import connection, connections
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations import AddIndex
from pgvector.django import HnswIndex

from places.models import Place

DIMENSIONS = 384


def unit_vectors(n: int, seed: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(n, DIMENSIONS)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_every_hnsw_index_added_after_the_first_migration_is_built_concurrently() -> None:
    """A table that already holds rows must not be locked for the minutes an HNSW build takes."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    offenders = []
    for (app, name), migration in loader.disk_migrations.items():
        if app not in ("places", "clips", "recommender") or migration.initial:
            continue
        for operation in migration.operations:
            index = getattr(operation, "index", None)
            if isinstance(index, HnswIndex) and (not isinstance(operation, AddIndexConcurrently) or migration.atomic):
                offenders.append(f"{app}.{name}: {index.name}")
    assert offenders == [], "use AddIndexConcurrently in a migration with atomic = False"
    assert isinstance(AddIndexConcurrently("place", HnswIndex(name="x", fields=["embedding"])), AddIndex)


@pytest.mark.django_db(transaction=True)
def test_building_an_hnsw_index_concurrently_lets_writes_continue() -> None:
    Place.objects.bulk_create(
        [Place(name=f"place {i}", embedding=v) for i, v in enumerate(unit_vectors(3000, seed=0))], batch_size=500
    )
    index = HnswIndex(
        name="place_embedding_hnsw_drill", fields=["embedding"], m=16, ef_construction=64,
        opclasses=["vector_cosine_ops"],
    )  # fmt: skip
    loader = MigrationLoader(connection)
    state = loader.project_state()
    add = AddIndexConcurrently("place", index)
    new_state = state.clone()
    add.state_forwards("places", new_state)

    writes: list[float] = []
    errors: list[str] = []
    stopping = threading.Event()

    def writer(seed: int) -> None:
        vectors = unit_vectors(10_000, seed)
        n = 0
        try:
            while not stopping.is_set():
                Place.objects.create(name=f"new {seed}-{n}", embedding=vectors[n % len(vectors)])
                writes.append(time.monotonic())
                n += 1
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(seed,)) for seed in (1, 2)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    try:
        started = time.monotonic()
        with connection.schema_editor(atomic=False) as editor:  # as a migration with atomic = False runs it
            add.database_forwards("places", editor, state, new_state)
        finished = time.monotonic()
        time.sleep(0.3)
    finally:
        stopping.set()
        for thread in threads:
            thread.join(timeout=30)

    try:
        assert errors == []
        build = finished - started
        during = [t for t in writes if started <= t <= finished]
        assert len(during) > 10, f"only {len(during)} writes during a {build:.2f} s build"
        # A blocking build stalls every writer for the whole build; a concurrent one never for long.
        times = sorted(t for t in writes if t >= started - 0.1)
        longest_stall = max(b - a for a, b in itertools.pairwise(times))
        assert longest_stall < build / 2, f"writes stalled {longest_stall:.2f} s of a {build:.2f} s build"
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = %s",
                [index.name],
            )
            assert cursor.fetchone() == (True,)
    finally:
        with connection.schema_editor(atomic=False) as editor:
            RemoveIndexConcurrently("place", index.name).database_forwards("places", editor, new_state, state)

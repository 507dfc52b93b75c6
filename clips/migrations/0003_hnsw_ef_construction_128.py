"""The clip embedding index rebuilt with ef_construction 128 (was 64): better recall per ef_search.

Built concurrently beside the old index, which is dropped only once the new one is valid, so
searches keep an index and writes keep going throughout (tests/test_hnsw_migrations.py).
"""

import pgvector.django.indexes
from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("clips", "0002_pipeline_state"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="clip",
            index=pgvector.django.indexes.HnswIndex(
                ef_construction=128,
                fields=["embedding"],
                m=16,
                name="clip_embedding_hnsw_v2",
                opclasses=["vector_cosine_ops"],
            ),
        ),
        RemoveIndexConcurrently(
            model_name="clip",
            name="clip_embedding_hnsw",
        ),
    ]

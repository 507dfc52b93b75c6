"""The short-form clip catalogue."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from pgvector.django import HnswIndex, VectorField

from places.models import EMBEDDING_DIMENSIONS, Place
from places.pipeline import JoinNonEmpty, source_key


class ClipQuerySet(models.QuerySet["Clip"]):
    def with_embedding_source(self, model_name: str) -> ClipQuerySet:
        """Annotate the text the embedding is computed from and the key it would be stored with."""
        text = JoinNonEmpty("title", "caption", "category", "keyword_summary")
        return self.annotate(embedding_source=text, embedding_source_key=source_key(text, model_name))

    def needing_embedding(self, model_name: str) -> ClipQuerySet:
        return self.with_embedding_source(model_name).exclude(embedding_key=models.F("embedding_source_key"))


class Clip(models.Model):
    """A short video; optionally about a place (a café tour, a view from a sight)."""

    title = models.CharField(max_length=300)
    caption = models.TextField(blank=True)
    media_url = models.URLField(max_length=500, blank=True)
    thumbnail_url = models.URLField(max_length=500, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)
    creator = models.CharField(max_length=150, blank=True)
    language = models.CharField(max_length=10, blank=True)
    category = models.CharField(max_length=100, blank=True, db_index=True)
    place = models.ForeignKey(Place, null=True, blank=True, on_delete=models.SET_NULL, related_name="clips")
    source = models.CharField(max_length=50, default="manual")
    external_id = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    # Keyword tags (topic tags, curated), part of the embedding text.
    keyword_summary = models.TextField(blank=True)
    embedding = VectorField(dimensions=EMBEDDING_DIMENSIONS, null=True, blank=True)
    embedding_key = models.CharField(max_length=64, blank=True)
    embedding_claimed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ClipQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=~Q(external_id=""),
                name="clip_unique_source_external_id",
            ),
            models.CheckConstraint(
                condition=Q(duration_seconds__isnull=True) | Q(duration_seconds__gt=0),
                name="clip_duration_positive",
            ),
        ]
        indexes = [
            HnswIndex(
                name="clip_embedding_hnsw_v2",
                fields=["embedding"],
                m=16,
                # 128, not pgvector's 64: recall@10 .93 instead of .86 at the default ef_search (40)
                # (docs/benchmarks.md); built concurrently beside the old index, then that is dropped.
                ef_construction=128,
                opclasses=["vector_cosine_ops"],
            ),
        ]

    def __str__(self) -> str:
        return self.title

"""The short-form clip catalogue."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from pgvector.django import HnswIndex, VectorField

from places.models import EMBEDDING_DIMENSIONS, Place


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
    embedding = VectorField(dimensions=EMBEDDING_DIMENSIONS, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

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
                name="clip_embedding_hnsw",
                fields=["embedding"],
                m=16,
                ef_construction=64,
                opclasses=["vector_cosine_ops"],
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def embedding_text(self) -> str:
        """The text the clip's content embedding is computed from."""
        parts = [self.title, self.caption if self.caption != self.title else "", self.category]
        return " · ".join(part for part in parts if part)

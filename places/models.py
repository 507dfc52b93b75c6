"""The place catalogue: points of interest and the reviews people write about them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from pgvector.django import HnswIndex, VectorField

from places.pipeline import JoinNonEmpty, source_key

EMBEDDING_DIMENSIONS = 384  # settings.EMBEDDING_DIMENSIONS; a literal here keeps migrations stable


class PlaceQuerySet(models.QuerySet["Place"]):
    def with_embedding_source(self, model_name: str) -> PlaceQuerySet:
        """Annotate the text the embedding is computed from and the key it would be stored with."""
        text = JoinNonEmpty("name", "category", "district", "description", "keyword_summary")
        return self.annotate(embedding_source=text, embedding_source_key=source_key(text, model_name))

    def needing_embedding(self, model_name: str) -> PlaceQuerySet:
        return self.with_embedding_source(model_name).exclude(embedding_key=models.F("embedding_source_key"))


class ReviewQuerySet(models.QuerySet["Review"]):
    def with_keywords_source(self, extractor_id: str) -> ReviewQuerySet:
        return self.annotate(keywords_source_key=source_key(models.F("text"), extractor_id))

    def needing_keywords(self, extractor_id: str) -> ReviewQuerySet:
        """Reviews whose current text was not yet extracted by this extractor (and did not fail on it)."""
        return (
            self.with_keywords_source(extractor_id)
            .exclude(keywords_key=models.F("keywords_source_key"))
            .exclude(extraction_failed_key=models.F("keywords_source_key"))
        )


class Place(models.Model):
    """A point of interest: a café, restaurant, sight.

    ``opening_hours`` maps a weekday ("mon".."sun") to a list of ``["HH:MM", "HH:MM"]``
    intervals; a closing time before the opening time runs past midnight.
    """

    name = models.CharField(max_length=200)
    category = models.CharField(max_length=100, blank=True, db_index=True)
    address = models.CharField(max_length=300, blank=True)
    district = models.CharField(max_length=100, blank=True, db_index=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    opening_hours = models.JSONField(default=dict, blank=True)
    description = models.TextField(blank=True)
    source = models.CharField(max_length=50, default="manual")
    external_id = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    # Top keyword tags from reviews, written by the worker; part of the embedding text.
    keyword_summary = models.TextField(blank=True)
    embedding = VectorField(dimensions=EMBEDDING_DIMENSIONS, null=True, blank=True)
    # places.pipeline.source_key of the text + model the embedding was computed from.
    embedding_key = models.CharField(max_length=64, blank=True)
    # Set by the sweep when it enqueues this row, so a slow queue is not flooded with duplicates.
    embedding_claimed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PlaceQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=~Q(external_id=""),
                name="place_unique_source_external_id",
            ),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True) | Q(latitude__gte=-90, latitude__lte=90),
                name="place_latitude_range",
            ),
            models.CheckConstraint(
                condition=Q(longitude__isnull=True) | Q(longitude__gte=-180, longitude__lte=180),
                name="place_longitude_range",
            ),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True, longitude__isnull=True)
                | Q(latitude__isnull=False, longitude__isnull=False),
                name="place_coordinates_both_or_neither",
            ),
        ]
        indexes = [
            models.Index(fields=["latitude", "longitude"], name="place_lat_lon_idx"),
            HnswIndex(
                name="place_embedding_hnsw_v2",
                fields=["embedding"],
                m=16,
                # 128, not pgvector's 64: recall@10 .93 instead of .86 at the default ef_search (40)
                # (docs/benchmarks.md); built concurrently beside the old index, then that is dropped.
                ef_construction=128,
                opclasses=["vector_cosine_ops"],
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def has_location(self) -> bool:
        """Whether the place has coordinates (the place page shows a map only then)."""
        return self.latitude is not None and self.longitude is not None


class Review(models.Model):
    """A person's review of a place: a rating and free text (Korean, English or both)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reviews")
    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="reviews")
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    text = models.TextField(blank=True)
    language = models.CharField(max_length=10, blank=True)
    source = models.CharField(max_length=50, default="manual")
    external_id = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)
    # Keyword extraction state (see places.pipeline): the key of the text + extractor last
    # extracted, the key that last failed permanently (cleared to retry), and the error.
    keywords_key = models.CharField(max_length=64, blank=True)
    extraction_failed_key = models.CharField(max_length=64, blank=True)
    extraction_error = models.TextField(blank=True)
    extraction_claimed_until = models.DateTimeField(null=True, blank=True)

    objects = ReviewQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=~Q(external_id=""),
                name="review_unique_source_external_id",
            ),
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5),
                name="review_rating_1_to_5",
            ),
        ]
        indexes = [
            models.Index(fields=["place", "-created_at"], name="review_place_recent_idx"),
            models.Index(fields=["user", "-created_at"], name="review_user_recent_idx"),
        ]

    def __str__(self) -> str:
        return f"Review of {self.place_id} by {self.user_id}"

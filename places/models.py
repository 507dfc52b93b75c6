"""The place catalogue: points of interest and the reviews people write about them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from pgvector.django import HnswIndex, VectorField

EMBEDDING_DIMENSIONS = 384  # settings.EMBEDDING_DIMENSIONS; a literal here keeps migrations stable


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
    embedding = VectorField(dimensions=EMBEDDING_DIMENSIONS, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

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
                name="place_embedding_hnsw",
                fields=["embedding"],
                m=16,
                ef_construction=64,
                opclasses=["vector_cosine_ops"],
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def embedding_text(self) -> str:
        """The text the place's content embedding is computed from."""
        parts = [self.name, self.category, self.district, self.description]
        return " · ".join(part for part in parts if part)

    @property
    def has_location(self) -> bool:
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

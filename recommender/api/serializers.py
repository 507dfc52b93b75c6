"""Output serializers shared by several endpoints. Input serializers live next to their views."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from clips.models import Clip
from places.models import Place, Review
from recommender.models import Interaction, SearchQuery


class KeywordSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    text = serializers.CharField()
    tag_en = serializers.CharField(help_text="English tag (may be empty)")
    weight = serializers.FloatField()
    count = serializers.IntegerField(allow_null=True, help_text="reviews mentioning it (places); null for clips")


class PlaceSummarySerializer(serializers.ModelSerializer[Place]):
    class Meta:
        model = Place
        fields = ["id", "name", "category", "district", "address", "latitude", "longitude"]
        read_only_fields = fields


class PlaceRefSerializer(serializers.ModelSerializer[Place]):
    class Meta:
        model = Place
        fields = ["id", "name"]
        read_only_fields = fields


class ClipSummarySerializer(serializers.ModelSerializer[Clip]):
    place = PlaceRefSerializer(read_only=True, allow_null=True)
    # Plain strings: the URLs may be empty, which an OpenAPI "uri" format would forbid.
    media_url = serializers.CharField(read_only=True, help_text="video URL (may be empty)")
    thumbnail_url = serializers.CharField(read_only=True, help_text="image URL (may be empty)")

    class Meta:
        model = Clip
        fields = [
            "id", "title", "caption", "category", "creator", "language",
            "media_url", "thumbnail_url", "duration_seconds", "place",
        ]  # fmt: skip
        read_only_fields = fields


class PlaceListItemSerializer(PlaceSummarySerializer):
    keywords = serializers.SerializerMethodField()
    distance_km = serializers.SerializerMethodField()

    class Meta(PlaceSummarySerializer.Meta):
        fields = [*PlaceSummarySerializer.Meta.fields, "keywords", "distance_km"]
        read_only_fields = fields

    @extend_schema_field(KeywordSerializer(many=True))
    def get_keywords(self, obj: Place) -> list[dict[str, Any]]:
        return self.context.get("keywords", {}).get(obj.pk, [])

    def get_distance_km(self, obj: Place) -> float | None:
        distance = getattr(obj, "distance_km", None)
        return round(distance, 3) if distance is not None else None


class ClipListItemSerializer(ClipSummarySerializer):
    keywords = serializers.SerializerMethodField()
    distance_km = serializers.SerializerMethodField()

    class Meta(ClipSummarySerializer.Meta):
        fields = [*ClipSummarySerializer.Meta.fields, "keywords", "distance_km"]
        read_only_fields = fields

    @extend_schema_field(KeywordSerializer(many=True))
    def get_keywords(self, obj: Clip) -> list[dict[str, Any]]:
        return self.context.get("keywords", {}).get(obj.pk, [])

    def get_distance_km(self, obj: Clip) -> float | None:
        distance = getattr(obj, "distance_km", None)
        return round(distance, 3) if distance is not None else None


class ReviewStatsSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    average_rating = serializers.FloatField(allow_null=True)


class PlaceDetailSerializer(serializers.ModelSerializer[Place]):
    keywords = KeywordSerializer(many=True, read_only=True, source="top_keywords")
    clips = ClipSummarySerializer(many=True, read_only=True, source="recent_clips", help_text="recent clips about it")
    reviews = ReviewStatsSerializer(read_only=True, source="review_stats")

    class Meta:
        model = Place
        fields = [
            *PlaceSummarySerializer.Meta.fields, "description", "opening_hours", "keywords", "clips", "reviews",
        ]  # fmt: skip
        read_only_fields = fields


class ClipDetailSerializer(serializers.ModelSerializer[Clip]):
    keywords = KeywordSerializer(many=True, read_only=True, source="top_keywords")
    place = PlaceSummarySerializer(read_only=True, allow_null=True, help_text="the place the clip is about")
    # As in the summary: plain strings, because the URLs may be empty (an OpenAPI "uri" may not).
    media_url = serializers.CharField(read_only=True, help_text="video URL (may be empty)")
    thumbnail_url = serializers.CharField(read_only=True, help_text="image URL (may be empty)")

    class Meta:
        model = Clip
        fields = [*ClipSummarySerializer.Meta.fields, "keywords"]
        read_only_fields = fields


class SimilarPlaceSerializer(serializers.Serializer):
    similarity = serializers.FloatField(help_text="cosine similarity of the embeddings, -1..1")
    place = PlaceSummarySerializer()


class SimilarClipSerializer(serializers.Serializer):
    similarity = serializers.FloatField(help_text="cosine similarity of the embeddings, -1..1")
    clip = ClipSummarySerializer()


class ReviewSerializer(serializers.ModelSerializer[Review]):
    author = serializers.CharField(source="user.username", read_only=True)
    place_id = serializers.IntegerField(read_only=True)

    class Meta:
        model = Review
        fields = ["id", "place_id", "author", "rating", "text", "language", "created_at", "updated_at"]
        read_only_fields = fields


class SearchSerializer(serializers.ModelSerializer[SearchQuery]):
    intent = serializers.CharField(read_only=True, help_text='"interest", "task", or "" until classified')

    class Meta:
        model = SearchQuery
        fields = ["id", "text", "intent", "created_at"]
        read_only_fields = fields


class InteractionSerializer(serializers.ModelSerializer[Interaction]):
    class Meta:
        model = Interaction
        fields = [
            "id", "place_id", "clip_id", "kind", "weight", "watched_fraction", "occurred_at", "idempotency_key",
        ]  # fmt: skip
        read_only_fields = fields

"""Query-parameter serializers shared by several endpoints: location, catalogue filters, feeds."""

from __future__ import annotations

import math
from typing import Any

from rest_framework import serializers

MAX_RADIUS_KM = 100.0
MAX_QUERY_LENGTH = 200


class FiniteFloatField(serializers.FloatField):
    """A float that refuses NaN and ±infinity ("nan" parses as a float in Python)."""

    def to_internal_value(self, data: Any) -> float:
        value = super().to_internal_value(data)
        if not math.isfinite(value):
            self.fail("invalid")
        return value


def latitude_field(**kwargs: Any) -> FiniteFloatField:
    return FiniteFloatField(min_value=-90.0, max_value=90.0, **{"help_text": "WGS84 degrees, -90..90", **kwargs})


def longitude_field(**kwargs: Any) -> FiniteFloatField:
    return FiniteFloatField(min_value=-180.0, max_value=180.0, **{"help_text": "WGS84 degrees, -180..180", **kwargs})


def radius_field(**kwargs: Any) -> FiniteFloatField:
    return FiniteFloatField(min_value=0.01, max_value=MAX_RADIUS_KM, **{"help_text": "kilometres, 0.01..100", **kwargs})


class CatalogueQuery(serializers.Serializer):
    """Filters of the place and clip lists (a clip is filtered by its place's district/location/hours)."""

    # Blank (or only spaces, as a search box may send) filters nothing, as an absent one.
    q = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=MAX_QUERY_LENGTH,
        help_text="text search, Korean or English (every word must match)",
    )
    category = serializers.CharField(required=False, allow_blank=True, max_length=100)
    district = serializers.CharField(required=False, allow_blank=True, max_length=100)
    near = serializers.RegexField(
        r"^\s*-?\d+(\.\d+)?\s*,\s*-?\d+(\.\d+)?\s*$",
        required=False,
        max_length=60,
        help_text='"lat,lon", e.g. 37.55,126.92; results are ordered by distance',
        error_messages={"invalid": 'near must be "lat,lon" in decimal degrees'},
    )
    radius_km = radius_field(required=False, help_text="kilometres around near, 0.01..100 (default 5; needs near)")
    open_now = serializers.BooleanField(
        required=False, default=False, help_text="only what is open now (unknown hours count as open)"
    )

    def validate_near(self, value: str) -> tuple[float, float]:
        raw_lat, raw_lon = (part.strip() for part in value.split(","))
        errors = {}
        lat, lon = float(raw_lat), float(raw_lon)
        if not -90 <= lat <= 90:
            errors["latitude"] = "latitude must be between -90 and 90"
        if not -180 <= lon <= 180:
            errors["longitude"] = "longitude must be between -180 and 180"
        if errors:
            raise serializers.ValidationError(" and ".join(errors.values()))
        return lat, lon

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "radius_km" in attrs and "near" not in attrs:  # it would be ignored: nothing to measure from
            raise serializers.ValidationError({"radius_km": ["radius_km needs near"]})
        return attrs


class FeedQuery(serializers.Serializer):
    lat = latitude_field(required=False)
    lon = longitude_field(required=False)
    radius_km = radius_field(
        required=False, help_text="keep only items within this distance of lat, lon (which it needs)"
    )
    limit = serializers.IntegerField(required=False, default=20, min_value=1, max_value=100)
    open_now = serializers.BooleanField(required=False, default=False)
    explain = serializers.BooleanField(required=False, default=False, help_text="include score parts and evidence")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("lat" in attrs) != ("lon" in attrs):
            raise serializers.ValidationError({"lat": ["lat and lon go together"]})
        # Without a location there is nothing to measure from (an anonymous feed would ignore the
        # radius, a signed-in one would measure it from wherever the person usually goes).
        if "radius_km" in attrs and "lat" not in attrs:
            raise serializers.ValidationError({"radius_km": ["radius_km needs lat and lon"]})
        return attrs


class LimitQuery(serializers.Serializer):
    limit = serializers.IntegerField(required=False, default=10, min_value=1, max_value=50)


def parse_query(serializer_class: type[serializers.Serializer], request: Any) -> dict[str, Any]:
    """Validate ``request.query_params`` with ``serializer_class``; a bad value is a 400 naming it."""
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def parse_body(
    serializer_class: type[serializers.Serializer], request: Any, *, partial: bool = False
) -> dict[str, Any]:
    """Validate a JSON-object body; fields the serializer does not declare are ignored."""
    if not isinstance(request.data, dict):
        raise serializers.ValidationError({"non_field_errors": ["the body must be a JSON object"]})
    serializer = serializer_class(data=request.data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)

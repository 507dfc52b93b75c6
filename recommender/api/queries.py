"""Read-side queries of the catalogue: text search, filters, distance, keywords, similar items."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Avg, Count, Exists, F, FloatField, OuterRef, Q, QuerySet, Sum, Value
from django.db.models.functions import ASin, Cos, Least, Power, Radians, Sin, Sqrt
from django.utils import timezone
from pgvector.django import CosineDistance

from clips.models import Clip
from places.hours import is_open_at
from places.models import Place, Review
from recommender.models import ClipKeyword, PlaceKeyword

EARTH_RADIUS_KM = 6371.0
MAX_SEARCH_TERMS = 8  # more words than this add nothing but SQL
M = TypeVar("M", Place, Clip)


def _terms(q: str) -> list[str]:
    return q.split()[:MAX_SEARCH_TERMS]


def search_places(queryset: QuerySet[Place], q: str) -> QuerySet[Place]:
    """Places whose text or keywords contain every word of ``q`` (case-insensitive, any language)."""
    for term in _terms(q):
        keyword = PlaceKeyword.objects.filter(place_id=OuterRef("pk"), keyword__is_hidden=False).filter(
            Q(keyword__text__icontains=term) | Q(keyword__tag_en__icontains=term)
        )
        queryset = queryset.filter(
            Q(name__icontains=term)
            | Q(description__icontains=term)
            | Q(address__icontains=term)
            | Q(category__icontains=term)
            | Q(district__icontains=term)
            | Q(keyword_summary__icontains=term)
            | Exists(keyword)
        )
    return queryset


def search_clips(queryset: QuerySet[Clip], q: str) -> QuerySet[Clip]:
    """Clips whose title, caption, tags or place name contain every word of ``q``."""
    for term in _terms(q):
        keyword = ClipKeyword.objects.filter(clip_id=OuterRef("pk"), keyword__is_hidden=False).filter(
            Q(keyword__text__icontains=term) | Q(keyword__tag_en__icontains=term)
        )
        queryset = queryset.filter(
            Q(title__icontains=term)
            | Q(caption__icontains=term)
            | Q(category__icontains=term)
            | Q(keyword_summary__icontains=term)
            | Q(place__name__icontains=term)
            | Exists(keyword)
        )
    return queryset


def distance_km(prefix: str, lat: float, lon: float) -> Any:
    """Haversine distance from (lat, lon) to the row's coordinates, as a SQL expression."""
    row_lat, row_lon = F(f"{prefix}latitude"), F(f"{prefix}longitude")
    here = Value(lat, output_field=FloatField())
    half_dlat = Radians(row_lat - here) / 2
    half_dlon = Radians(row_lon - Value(lon, output_field=FloatField())) / 2
    a = Power(Sin(half_dlat), 2) + Cos(Radians(here)) * Cos(Radians(row_lat)) * Power(Sin(half_dlon), 2)
    return Value(2 * EARTH_RADIUS_KM) * ASin(Sqrt(Least(a, Value(1.0))))


def filter_catalogue(queryset: QuerySet[M], kind: str, params: dict[str, Any]) -> QuerySet[M]:
    """Apply the list filters of ``CatalogueQuery``; ``near`` orders by distance, nearest first."""
    prefix = "" if kind == "place" else "place__"
    if params.get("q"):
        queryset = search_places(queryset, params["q"]) if kind == "place" else search_clips(queryset, params["q"])  # type: ignore[arg-type,assignment]
    if params.get("category"):
        queryset = queryset.filter(category__iexact=params["category"])
    if params.get("district"):
        queryset = queryset.filter(**{f"{prefix}district__iexact": params["district"]})
    if params.get("open_now"):
        local = timezone.now().astimezone(ZoneInfo(settings.PLACE_TIME_ZONE))
        hours = queryset.values_list("pk", f"{prefix}opening_hours")
        # Opening hours are JSON evaluated in Python (places.hours); unknown hours count as open,
        # as in the feed. One extra query over the already filtered rows.
        queryset = queryset.filter(pk__in=[pk for pk, h in hours if is_open_at(h, local) is not False])
    if params.get("near"):
        lat, lon = params["near"]
        radius = params.get("radius_km") or 5.0
        dlat = radius / 111.0
        queryset = (
            queryset.filter(**{f"{prefix}latitude__range": (lat - dlat, lat + dlat)})  # index-friendly pre-filter
            .annotate(distance_km=distance_km(prefix, lat, lon))
            .filter(distance_km__lte=radius)
            .order_by("distance_km", "-pk")
        )
    else:
        queryset = queryset.order_by("-pk")
    return queryset


def keywords_for(kind: str, item_ids: list[int], per_item: int) -> dict[int, list[dict[str, Any]]]:
    """Top ``per_item`` visible keywords of each item, strongest first, in one query.

    A place keyword may come from several sources (reviews, a curated list): weights and
    counts are summed per keyword. Clip keywords have no review count; ``count`` is null.
    """
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if not item_ids:
        return out
    if kind == "place":
        rows: Any = (
            PlaceKeyword.objects.filter(place_id__in=item_ids, keyword__is_hidden=False, weight__gt=0)
            .values("place_id", "keyword_id", "keyword__text", "keyword__tag_en")
            .annotate(total=Sum("weight"), n=Sum("count"))
            .order_by("place_id", "-total", "keyword_id")
        )
        item_field = "place_id"
    else:
        rows = (
            ClipKeyword.objects.filter(clip_id__in=item_ids, keyword__is_hidden=False, weight__gt=0)
            .values("clip_id", "keyword_id", "keyword__text", "keyword__tag_en")
            .annotate(total=F("weight"), n=Value(None, output_field=FloatField()))
            .order_by("clip_id", "-total", "keyword_id")
        )
        item_field = "clip_id"
    for row in rows:
        bucket = out[row[item_field]]
        if len(bucket) < per_item:
            bucket.append(
                {
                    "id": row["keyword_id"],
                    "text": row["keyword__text"],
                    "tag_en": row["keyword__tag_en"],
                    "weight": round(float(row["total"]), 4),
                    "count": int(row["n"]) if row["n"] is not None else None,
                }
            )
    return out


def similar_items(item: M, limit: int) -> list[tuple[M, float]]:
    """The active items nearest to ``item`` by embedding (cosine), itself excluded; [] without one."""
    if item.embedding is None:
        return []
    model: Any = type(item)
    queryset = (
        model.objects.filter(is_active=True, embedding__isnull=False)
        .exclude(pk=item.pk)
        .annotate(distance=CosineDistance("embedding", item.embedding))
        .order_by("distance", "pk")
    )
    if model is Clip:
        queryset = queryset.select_related("place")
    return [(other, round(1.0 - float(other.distance), 4)) for other in queryset[:limit]]


def review_stats(place_id: int) -> dict[str, Any]:
    """How many reviews a place has and their average rating (null without ratings)."""
    stats = Review.objects.filter(place_id=place_id).aggregate(count=Count("pk"), average=Avg("rating"))
    average = stats["average"]
    return {"count": stats["count"], "average_rating": round(float(average), 2) if average is not None else None}

"""The generic CSV format (documented in docs/import-format.md).

A folder with any of ``items.csv``, ``interactions.csv``, ``reviews.csv`` and ``searches.csv``
(UTF-8, BOM tolerated). Ids are the source's own; rows are keyed by (--source, id), default
source "csv". References (an interaction's item, a review's place, a clip's place) must exist
in items.csv or already be stored under the same source.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.core.validators import URLValidator

from clips.models import Clip
from places.models import Place, Review
from recommender.importers.base import (
    ImportContext,
    Where,
    ensure_users,
    existing_ids,
    interaction_key,
    parse_datetime,
    parse_float,
    parse_lat_lon,
    parse_rating,
    read_csv,
    upsert_by_external_id,
    upsert_interactions,
)
from recommender.models import InteractionKind, SearchQuery, interaction_weight

FILES = ("items.csv", "interactions.csv", "reviews.csv", "searches.csv")
ITEM_TYPES = ("place", "clip")
MAX_WEIGHT = 1e6  # an event's own weight (the optional column), either sign
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HHMM = re.compile(r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$")  # 24:00 closes at midnight, as places.hours reads it
_url = URLValidator(schemes=["http", "https"])


def _text(row: dict[str, str], column: str, max_length: int | None = None, required: bool = False) -> str:
    value = (row.get(column) or "").strip()
    if required and not value:
        raise ValueError(f"{column} must not be empty")
    if max_length is not None and len(value) > max_length:
        raise ValueError(f"{column} is longer than {max_length} characters")
    return value


def _url_field(row: dict[str, str], column: str) -> str:
    value = _text(row, column, 500)
    if value:
        try:
            _url(value)
        except ValidationError:
            raise ValueError(f"{column} {value!r} is not an http(s) URL") from None
    return value


def _opening_hours(value: str) -> dict[str, list[list[str]]]:
    if not value.strip():
        return {}
    try:
        hours = json.loads(value)
    except json.JSONDecodeError:
        raise ValueError(f"opening_hours {value!r} is not JSON") from None
    ok = isinstance(hours, dict) and all(
        day in DAYS
        and isinstance(spans, list)
        and all(
            isinstance(s, list) and len(s) == 2 and all(isinstance(t, str) and HHMM.match(t) for t in s) for s in spans
        )
        for day, spans in hours.items()
    )
    if not ok:
        raise ValueError('opening_hours must look like {"mon": [["09:00", "18:00"]], ...}')
    return hours


def _item(row: dict[str, str]) -> tuple[str, str, dict[str, Any], str]:
    """(item_type, item_id, field values, clip's place_id) of one items.csv row."""
    item_type = _text(row, "item_type")
    if item_type not in ITEM_TYPES:
        raise ValueError(f"item_type {item_type!r} is not place or clip")
    item_id = _text(row, "item_id", 200, required=True)
    if item_type == "place":
        lat_text, lon_text = _text(row, "latitude"), _text(row, "longitude")
        if bool(lat_text) != bool(lon_text):
            raise ValueError("latitude and longitude must both be given or both be empty")
        lat, lon = parse_lat_lon(lat_text, lon_text) if lat_text else (None, None)
        return (
            item_type,
            item_id,
            {
                "name": _text(row, "name", 200, required=True),
                "category": _text(row, "category", 100),
                "district": _text(row, "district", 100),
                "address": _text(row, "address", 300),
                "latitude": lat,
                "longitude": lon,
                "description": _text(row, "description"),
                "opening_hours": _opening_hours(row.get("opening_hours") or ""),
            },
            "",
        )
    duration_text = _text(row, "duration_seconds")
    duration = parse_float(duration_text, "duration_seconds", lo=0.001) if duration_text else None
    return (
        item_type,
        item_id,
        {
            "title": _text(row, "name", 300, required=True),
            "caption": _text(row, "caption") or _text(row, "description"),
            "category": _text(row, "category", 100),
            "media_url": _url_field(row, "media_url"),
            "thumbnail_url": _url_field(row, "thumbnail_url"),
            "duration_seconds": duration,
            "language": _text(row, "language", 10),
        },
        _text(row, "place_id", 200),
    )


def run(ctx: ImportContext) -> None:
    """Import whichever of the four files are present (at least one must be)."""
    present = [name for name in FILES if (ctx.folder / name).is_file()]
    if not present:
        raise CommandError(f"{ctx.folder} has none of {', '.join(FILES)}")

    places: dict[str, dict[str, Any]] = {}
    clips: dict[str, dict[str, Any]] = {}
    clip_places: dict[str, tuple[Where, str]] = {}
    if "items.csv" in present:
        for where, row in read_csv(ctx, "items.csv", ("item_type", "item_id", "name")):
            with where:
                item_type, item_id, values, place_ref = _item(row)
                target = places if item_type == "place" else clips
                if item_id in target:
                    raise ValueError(f"duplicate {item_type} item_id {item_id!r}")
                target[item_id] = values
                if place_ref:
                    clip_places[item_id] = (where, place_ref)

    known_places = set(places) | set(existing_ids(Place, ctx.source))
    known_clips = set(clips) | set(existing_ids(Clip, ctx.source))
    for item_id, (where, place_ref) in list(clip_places.items()):
        if place_ref in known_places:
            continue
        if ctx.limit is None:
            raise where.error(f"place_id {place_ref!r} is not a place in items.csv")
        del clip_places[item_id]  # its place is beyond --limit: the clip comes without it
        ctx.skip("clip's place beyond --limit (the clip is kept, about no place)")

    def check(where: Where, item_type: str, item_id: str) -> bool:
        known = known_places if item_type == "place" else known_clips
        if item_id in known:
            return True
        if ctx.limit is None:
            raise where.error(f"unknown {item_type} {item_id!r} (not in items.csv)")
        ctx.skip(f"row referring to a {item_type} beyond --limit")
        return False

    events: dict[tuple[str, str], tuple[str, str, dict[str, Any]]] = {}
    if "interactions.csv" in present:
        columns = ("user_id", "item_type", "item_id", "kind", "timestamp")
        for where, row in read_csv(ctx, "interactions.csv", columns):
            with where:
                user = _text(row, "user_id", 100, required=True)
                item_type, item_id = _text(row, "item_type"), _text(row, "item_id", required=True)
                if item_type not in ITEM_TYPES:
                    raise ValueError(f"item_type {item_type!r} is not place or clip")
                kind = _text(row, "kind")
                if kind not in InteractionKind.values:
                    raise ValueError(f"kind {kind!r} is not one of {', '.join(InteractionKind.values)}")
                timestamp = _text(row, "timestamp", required=True)
                occurred_at = parse_datetime(timestamp)
                fraction_text = _text(row, "watched_fraction")
                fraction = parse_float(fraction_text, "watched_fraction", lo=0, hi=1) if fraction_text else None
                weight_text = _text(row, "weight")
                weight = (
                    parse_float(weight_text, "weight", lo=-MAX_WEIGHT, hi=MAX_WEIGHT)
                    if weight_text
                    else interaction_weight(kind, fraction)
                )
                event_id = _text(row, "event_id")
            if not check(where, item_type, item_id):
                continue
            if event_id:
                key = interaction_key(ctx.source, user, event_id)
            else:
                key = interaction_key(ctx.source, user, item_type, item_id, kind, timestamp)
            events[(user, key)] = (
                item_type,
                item_id,
                {
                    "kind": kind,
                    "weight": weight,
                    "watched_fraction": fraction,
                    "occurred_at": occurred_at,
                    "source": ctx.source,
                },
            )

    reviews: dict[str, tuple[str, str, dict[str, Any]]] = {}
    if "reviews.csv" in present:
        review_columns = ("review_id", "user_id", "place_id", "rating", "text", "timestamp")
        for where, row in read_csv(ctx, "reviews.csv", review_columns):
            with where:
                review_id = _text(row, "review_id", 200, required=True)
                user = _text(row, "user_id", 100, required=True)
                place = _text(row, "place_id", required=True)
                rating_text = _text(row, "rating")
                values = {
                    "rating": parse_rating(rating_text) if rating_text else None,
                    "text": _text(row, "text"),
                    "language": _text(row, "language", 10),
                    "created_at": parse_datetime(_text(row, "timestamp", required=True)),
                }
                if review_id in reviews:
                    raise ValueError(f"duplicate review_id {review_id!r}")
            if check(where, "place", place):
                reviews[review_id] = (user, place, values)

    # A review is a visit, as the app's review form, the Kakao import and `evaluate generic` read
    # it, unless interactions.csv holds that person's visit to that place already.
    visited = {
        (user, item_id) for (user, _), (item_type, item_id, values) in events.items() if values["kind"] == "visit"
    }
    for review_id, (user, place, values) in reviews.items():
        if (user, place) not in visited:
            events[(user, interaction_key(ctx.source, user, "review", review_id))] = (
                "place",
                place,
                {
                    "kind": InteractionKind.VISIT,
                    "weight": interaction_weight(InteractionKind.VISIT),
                    "watched_fraction": None,
                    "occurred_at": values["created_at"],
                    "source": ctx.source,
                },
            )

    searches: dict[str, tuple[str, dict[str, Any]]] = {}
    if "searches.csv" in present:
        for where, row in read_csv(ctx, "searches.csv", ("search_id", "user_id", "text", "timestamp")):
            with where:
                search_id = _text(row, "search_id", 200, required=True)
                if search_id in searches:
                    raise ValueError(f"duplicate search_id {search_id!r}")
                user = _text(row, "user_id", 100, required=True)
                searches[search_id] = (
                    user,
                    {
                        "text": _text(row, "text", 500, required=True),
                        "language": _text(row, "language", 10),
                        "created_at": parse_datetime(_text(row, "timestamp", required=True)),
                    },
                )

    place_ids = existing_ids(Place, ctx.source) | upsert_by_external_id(ctx, Place, places)
    clip_rows = {
        item_id: {**values, "place_id": place_ids[clip_places[item_id][1]] if item_id in clip_places else None}
        for item_id, values in clips.items()
    }
    clip_ids = existing_ids(Clip, ctx.source) | upsert_by_external_id(ctx, Clip, clip_rows)

    users = {u for u, _ in events} | {u for u, _, _ in reviews.values()} | {u for u, _ in searches.values()}
    user_ids = ensure_users(ctx, sorted(users))
    if events:
        upsert_interactions(
            ctx,
            {
                (user_ids[user], key): {
                    "place_id": place_ids[item_id] if item_type == "place" else None,
                    "clip_id": clip_ids[item_id] if item_type == "clip" else None,
                    **values,
                }
                for (user, key), (item_type, item_id, values) in events.items()
            },
        )
    if reviews:
        upsert_by_external_id(
            ctx,
            Review,
            {
                rid: {"user_id": user_ids[user], "place_id": place_ids[place], **values}
                for rid, (user, place, values) in reviews.items()
            },
        )
    if searches:
        upsert_by_external_id(
            ctx,
            SearchQuery,
            {sid: {"user_id": user_ids[user], **values} for sid, (user, values) in searches.items()},
        )

"""Yelp academic format (Boston 2015 subset).

- ``yelp_academic_dataset_business.json`` -> Place(source "yelp", external_id business_id): first
  category, address flattened with ", ", district = first neighbourhood else city, lat/lon,
  is_active = open, opening_hours {"mon": [["06:00", "15:00"]], ...}.
- ``yelp_academic_dataset_tip.json`` -> Review(rating None, language "en", created_at = date,
  external_id = sha1 of user + business + date + text); identical duplicate tips collapse to one.
  A tip is a visit too (as a review is in the app): one "visit" Interaction per (user,
  business), dated at the first tip.
- ``yelp_academic_dataset_checkin.json`` is skipped: anonymous hour-of-week histograms, with no
  user to attach an Interaction to.
"""

from __future__ import annotations

import re
from typing import Any

from places.models import Place, Review
from recommender.importers.base import (
    ImportContext,
    Where,
    ensure_users,
    existing_ids,
    interaction_key,
    parse_datetime,
    parse_lat_lon,
    read_json_lines,
    stable_id,
    upsert_by_external_id,
    upsert_interactions,
)
from recommender.models import InteractionKind, interaction_weight

BUSINESS_FILE = "yelp_academic_dataset_business.json"
TIP_FILE = "yelp_academic_dataset_tip.json"
DAYS = {
    "Monday": "mon",
    "Tuesday": "tue",
    "Wednesday": "wed",
    "Thursday": "thu",
    "Friday": "fri",
    "Saturday": "sat",
    "Sunday": "sun",
}
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _field(obj: dict[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    if name not in obj:
        raise ValueError(f"missing field {name!r}")
    if not isinstance(obj[name], kind):
        raise ValueError(f"field {name!r} has the wrong type ({type(obj[name]).__name__})")
    return obj[name]


def _hours(raw: dict[str, Any]) -> dict[str, list[list[str]]]:
    hours: dict[str, list[list[str]]] = {}
    for day, span in raw.items():
        if day not in DAYS or not isinstance(span, dict):
            raise ValueError(f"hours: unknown day {day!r}")
        opens, closes = str(span.get("open", "")), str(span.get("close", ""))
        if not HHMM.match(opens) or not HHMM.match(closes):
            raise ValueError(f"hours: {day} {opens!r}-{closes!r} is not HH:MM-HH:MM")
        hours[DAYS[day]] = [[opens, closes]]
    return hours


def _business(where: Where, obj: dict[str, Any]) -> dict[str, Any]:
    with where:
        lat_raw, lon_raw = _field(obj, "latitude", (int, float)), _field(obj, "longitude", (int, float))
        lat, lon = parse_lat_lon(str(lat_raw), str(lon_raw))
        categories = _field(obj, "categories", list)
        neighborhoods = _field(obj, "neighborhoods", list)
        address = ", ".join(p.strip() for p in str(obj.get("full_address", "")).splitlines() if p.strip())
        name = str(_field(obj, "name", str)).strip()
        if not name:
            raise ValueError("name must not be empty")
        return {
            "name": name[:200],
            "category": str(categories[0])[:100] if categories else "",
            "address": address[:300],
            "district": str(neighborhoods[0] if neighborhoods else obj.get("city", ""))[:100],
            "latitude": lat,
            "longitude": lon,
            "is_active": bool(obj.get("open", True)),
            "opening_hours": _hours(_field(obj, "hours", dict)),
        }


def run(ctx: ImportContext) -> None:
    """Import businesses, then tips as rating-less reviews and the visits they imply."""
    places: dict[str, dict[str, Any]] = {}
    for where, obj in read_json_lines(ctx, BUSINESS_FILE):
        with where:
            business_id = str(_field(obj, "business_id", str)).strip()
        places[business_id] = _business(where, obj)

    known = set(places) | set(existing_ids(Place, ctx.source))
    tips: dict[str, tuple[str, str, dict[str, Any]]] = {}
    for where, obj in read_json_lines(ctx, TIP_FILE):
        with where:
            user, business = str(_field(obj, "user_id", str)), str(_field(obj, "business_id", str))
            date, text = str(_field(obj, "date", str)), str(_field(obj, "text", str)).strip()
            created_at = parse_datetime(date, "date")
            if business not in known:
                if ctx.limit is None:
                    raise ValueError(f"unknown business_id {business!r}")
                ctx.skip("tip on a business beyond --limit")
                continue
        values = {"rating": None, "text": text, "language": "en", "created_at": created_at}
        tips.setdefault(stable_id(user, business, date, text), (user, business, values))

    place_ids = existing_ids(Place, ctx.source) | upsert_by_external_id(ctx, Place, places)
    user_ids = ensure_users(ctx, sorted({user for user, _, _ in tips.values()}))
    upsert_by_external_id(
        ctx,
        Review,
        {
            rid: {"user_id": user_ids[user], "place_id": place_ids[business], **values}
            for rid, (user, business, values) in tips.items()
        },
    )
    visits: dict[tuple[int, str], dict[str, Any]] = {}
    for user, business, values in sorted(tips.values(), key=lambda tip: tip[2]["created_at"]):
        visits.setdefault(
            (user_ids[user], interaction_key(ctx.source, user, business, InteractionKind.VISIT)),
            {
                "place_id": place_ids[business],
                "clip_id": None,
                "kind": InteractionKind.VISIT.value,
                "weight": interaction_weight(InteractionKind.VISIT),
                "watched_fraction": None,
                "occurred_at": values["created_at"],
                "source": ctx.source,
            },
        )
    upsert_interactions(ctx, visits)

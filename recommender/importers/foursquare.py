"""Foursquare Singapore check-ins (Yuan et al. 2013).

- ``FoursquareLocation.txt`` (``LOC_y lat lon``) -> Place(source "foursquare", external_id "LOC_y",
  name "Singapore POI y"); the data has no names or categories.
- ``train.txt`` (``USER_x LOC_y count``) -> one "visit" Interaction per line, weight = visit
  weight * count, at ``UNDATED`` (the data has no times).
"""

from __future__ import annotations

from typing import Any

from places.models import Place
from recommender.importers.base import (
    UNDATED,
    ImportContext,
    ensure_users,
    existing_ids,
    interaction_key,
    parse_int,
    parse_lat_lon,
    read_lines,
    upsert_by_external_id,
    upsert_interactions,
)
from recommender.models import InteractionKind, interaction_weight


def run(ctx: ImportContext) -> None:
    """Import the locations, then the aggregated check-ins."""
    places: dict[str, dict[str, Any]] = {}
    for where, line in read_lines(ctx, "FoursquareLocation.txt"):
        with where:
            parts = line.split()
            if len(parts) != 3 or not parts[0].startswith("LOC_"):
                raise ValueError(f"expected 'LOC_<n> <lat> <lon>', got {line!r}")
            lat, lon = parse_lat_lon(parts[1], parts[2])
            number = parts[0].removeprefix("LOC_")
            places[parts[0]] = {
                "name": f"Singapore POI {number}",
                "latitude": lat,
                "longitude": lon,
                "category": "",
            }

    known = set(places) | set(existing_ids(Place, ctx.source))
    checkins: dict[tuple[str, str], int] = {}
    for where, line in read_lines(ctx, "train.txt"):
        with where:
            parts = line.split()
            if len(parts) != 3 or not parts[0].startswith("USER_"):
                raise ValueError(f"expected 'USER_<n> LOC_<n> <count>', got {line!r}")
            user, loc = parts[0], parts[1]
            count = parse_int(parts[2], "count", lo=1)
            if loc not in known:
                if ctx.limit is None:
                    raise ValueError(f"unknown location {loc!r} (not in FoursquareLocation.txt)")
                ctx.skip("check-in of a location beyond --limit")
                continue
            checkins[(user, loc)] = checkins.get((user, loc), 0) + count

    place_ids = existing_ids(Place, ctx.source) | upsert_by_external_id(ctx, Place, places)
    user_ids = ensure_users(ctx, sorted({user for user, _ in checkins}))
    visit = interaction_weight(InteractionKind.VISIT)
    upsert_interactions(
        ctx,
        {
            (user_ids[user], interaction_key(ctx.source, user, loc, InteractionKind.VISIT)): {
                "place_id": place_ids[loc],
                "clip_id": None,
                "kind": InteractionKind.VISIT.value,
                "weight": visit * count,
                "watched_fraction": None,
                "occurred_at": UNDATED,
                "source": ctx.source,
            }
            for (user, loc), count in checkins.items()
        },
    )

"""HetRec 2011 Last.fm 2K, the clip-side proxy (artists stand in for clips).

- ``artists.dat`` (id, name, url, pictureURL) -> Clip(source "lastfm", category "music").
- ``user_artists.dat`` (userID, artistID, weight = play count) -> a "watch" Interaction per pair
  with weight = log1p(plays): play counts are heavy-tailed (1 to 350k), and the log keeps one
  obsessive listener from dominating implicit-feedback training while keeping the order.
- ``user_taggedartists.dat`` + ``tags.dat`` -> one SearchQuery per distinct (user, tag): the
  user's tags stand in for their searches; created_at = the earliest day they used the tag,
  external_id "user:tagID". The artist of a tagging is not needed (some are not in artists.dat).

All .dat files are tab-separated UTF-8 (checked; no errors="replace" needed).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from clips.models import Clip
from recommender.importers.base import (
    ImportContext,
    ensure_users,
    existing_ids,
    interaction_key,
    parse_int,
    read_csv,
    upsert_by_external_id,
    upsert_interactions,
)
from recommender.models import InteractionKind, SearchQuery

EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def _read_tsv(ctx: ImportContext, name: str, columns: tuple[str, ...]) -> Any:
    # The .dat files are plain tab-separated with no quoting: a quote is part of the text
    # ('"Weird Al" Yankovic'), so csv must not read it as one.
    return read_csv(ctx, name, columns, delimiter="\t", quoted=False)


def run(ctx: ImportContext) -> None:
    """Import artists, plays and tag-searches."""
    clips: dict[str, dict[str, Any]] = {}
    for where, row in _read_tsv(ctx, "artists.dat", ("id", "name")):
        with where:
            artist = str(parse_int(row["id"], "id", lo=0))
            name = row["name"].strip()
            clips[artist] = {"title": (name or f"Artist {artist}")[:300], "category": "music", "language": ""}

    known = set(clips) | set(existing_ids(Clip, ctx.source))
    plays: dict[tuple[str, str], int] = {}
    for where, row in _read_tsv(ctx, "user_artists.dat", ("userID", "artistID", "weight")):
        with where:
            user = str(parse_int(row["userID"], "userID", lo=0))
            artist = str(parse_int(row["artistID"], "artistID", lo=0))
            count = parse_int(row["weight"], "weight", lo=0)
            if artist not in known:
                if ctx.limit is None:
                    raise ValueError(f"unknown artistID {artist!r} (not in artists.dat)")
                ctx.skip("play of an artist beyond --limit")
                continue
            plays[(user, artist)] = plays.get((user, artist), 0) + count

    tags: dict[str, str] = {}
    for where, row in _read_tsv(ctx, "tags.dat", ("tagID", "tagValue")):
        with where:
            tag_id = str(parse_int(row["tagID"], "tagID", lo=0))
            if not row["tagValue"].strip():
                raise ValueError("tagValue must not be empty")
            tags[tag_id] = row["tagValue"].strip()[:500]

    searches: dict[tuple[str, str], dt.datetime] = {}
    columns = ("userID", "artistID", "tagID", "day", "month", "year")
    for where, row in _read_tsv(ctx, "user_taggedartists.dat", columns):
        with where:
            user = str(parse_int(row["userID"], "userID", lo=0))
            tag_id = str(parse_int(row["tagID"], "tagID", lo=0))
            try:
                day = dt.datetime(
                    parse_int(row["year"], "year", lo=1900, hi=2100),
                    parse_int(row["month"], "month", lo=1, hi=12),
                    parse_int(row["day"], "day", lo=1, hi=31),
                    tzinfo=dt.UTC,
                )
            except ValueError as exc:
                raise ValueError(f"bad date: {exc}") from None
            if tag_id not in tags:
                if ctx.limit is None:
                    raise ValueError(f"unknown tagID {tag_id!r} (not in tags.dat)")
                ctx.skip("tagging with a tag beyond --limit")
                continue
            if (user, tag_id) not in searches or day < searches[(user, tag_id)]:
                searches[(user, tag_id)] = day

    clip_ids = existing_ids(Clip, ctx.source) | upsert_by_external_id(ctx, Clip, clips)
    user_ids = ensure_users(ctx, sorted({u for u, _ in plays} | {u for u, _ in searches}))
    upsert_interactions(
        ctx,
        {
            (user_ids[user], interaction_key(ctx.source, user, artist, InteractionKind.WATCH)): {
                "place_id": None,
                "clip_id": clip_ids[artist],
                "kind": InteractionKind.WATCH.value,
                "weight": math.log1p(count),
                "watched_fraction": None,
                # No play dates in the data: a fixed, deterministic time.
                "occurred_at": EPOCH,
                "source": ctx.source,
            }
            for (user, artist), count in plays.items()
        },
    )
    upsert_by_external_id(
        ctx,
        SearchQuery,
        {
            f"{user}:{tag_id}": {"user_id": user_ids[user], "text": tags[tag_id], "language": "", "created_at": day}
            for (user, tag_id), day in searches.items()
        },
    )

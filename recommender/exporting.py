"""The catalogue and what people did with it, written out in the generic CSV format.

``import_data generic`` reads what ``export_generic`` writes (docs/import-format.md), so an
export moves a catalogue to another installation, and ``evaluate generic --path DIR --tune``
tunes the blend on the catalogue's own data and prints the settings that serve it.

Ids are the database's primary keys; a person appears only as their numeric id (no user name, no
e-mail). The files are written beside their final names and renamed into place only once all
four are complete, so an interrupted export leaves the folder as it was. Interactions keep their
stored weight (the optional ``weight`` column). The format has no "hidden" flag: items a
curator deactivated are exported like the others (their history is history all the same).
"""

from __future__ import annotations

import csv
import itertools
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from django.db import connection, transaction
from django.db.models import QuerySet
from tqdm import tqdm

from clips.models import Clip
from places.models import Place, Review
from recommender.importers.generic import FILES, ITEM_TYPES
from recommender.models import Interaction, SearchQuery

ITEM_COLUMNS = (
    "item_type", "item_id", "name", "category", "district", "address", "latitude", "longitude",
    "description", "opening_hours", "caption", "media_url", "thumbnail_url", "duration_seconds",
    "language", "place_id",
)  # fmt: skip
INTERACTION_COLUMNS = ("user_id", "item_type", "item_id", "kind", "timestamp", "watched_fraction", "weight", "event_id")
REVIEW_COLUMNS = ("review_id", "user_id", "place_id", "rating", "text", "timestamp", "language")
SEARCH_COLUMNS = ("search_id", "user_id", "text", "timestamp", "language")
CHUNK = 5000  # rows fetched per round trip (a server-side cursor: memory stays flat)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _places(places: QuerySet[Place]) -> Iterator[tuple[Any, ...]]:
    fields = ("pk", "name", "category", "district", "address", "latitude", "longitude", "description", "opening_hours")
    for pk, name, category, district, address, lat, lon, description, hours in places.values_list(*fields).iterator(
        chunk_size=CHUNK
    ):
        opening = json.dumps(hours, ensure_ascii=False) if hours else ""
        yield ("place", pk, name, category, district, address, lat, lon, description, opening, *[""] * 6)


def _clips(clips: QuerySet[Clip], with_places: bool) -> Iterator[tuple[Any, ...]]:
    fields = ("pk", "title", "category", "caption", "media_url", "thumbnail_url", "duration_seconds", "language")
    for pk, title, category, caption, media, thumb, duration, language, place in clips.values_list(
        *fields, "place_id"
    ).iterator(chunk_size=CHUNK):
        place = place if with_places else None  # a clip-only export has no places to refer to
        yield ("clip", pk, title, category, "", "", "", "", "", "", caption, media, thumb, duration, language, place)


def _interactions(events: QuerySet[Interaction]) -> Iterator[tuple[Any, ...]]:
    fields = ("pk", "user_id", "place_id", "clip_id", "kind", "occurred_at", "watched_fraction", "weight")
    for pk, user, place, clip, kind, occurred, fraction, weight in events.values_list(*fields).iterator(
        chunk_size=CHUNK
    ):
        item_type, item = ("place", place) if place is not None else ("clip", clip)
        # One key per stored row: two events alike in every column stay two on import. Never the
        # stored idempotency key, which may carry another system's user id (an e-mail, say).
        # The weight as stored: importers set some from counts (foursquare check-ins, Last.fm plays).
        yield (user, item_type, item, kind, occurred, fraction, weight, f"interaction-{pk}")


def _rows(queryset: QuerySet[Any], *fields: str) -> Iterator[tuple[Any, ...]]:
    yield from queryset.values_list(*fields).iterator(chunk_size=CHUNK)


@dataclass(frozen=True)
class _Selection:
    """What one export holds: everything, or one item type with its activity (and all searches)."""

    item_type: str | None

    def places(self) -> QuerySet[Place]:
        return Place.objects.order_by("pk") if self.item_type != "clip" else Place.objects.none()

    def clips(self) -> QuerySet[Clip]:
        return Clip.objects.order_by("pk") if self.item_type != "place" else Clip.objects.none()

    def interactions(self) -> QuerySet[Interaction]:
        events = Interaction.objects.order_by("pk")
        if self.item_type is not None:
            events = events.filter(**{f"{self.item_type}__isnull": False})
        return events

    def reviews(self) -> QuerySet[Review]:
        return Review.objects.order_by("pk") if self.item_type != "clip" else Review.objects.none()

    def files(self) -> dict[str, tuple[tuple[str, ...], Iterable[tuple[Any, ...]], int]]:
        """file -> (columns, rows, how many rows there are), in the order they are written."""
        places, clips, events, reviews = self.places(), self.clips(), self.interactions(), self.reviews()
        searches = SearchQuery.objects.order_by("pk")
        items = itertools.chain(_places(places), _clips(clips, with_places=self.item_type is None))
        return {
            "items.csv": (ITEM_COLUMNS, items, places.count() + clips.count()),
            "interactions.csv": (INTERACTION_COLUMNS, _interactions(events), events.count()),
            "reviews.csv": (
                REVIEW_COLUMNS,
                _rows(reviews, "pk", "user_id", "place_id", "rating", "text", "created_at", "language"),
                reviews.count(),
            ),
            "searches.csv": (
                SEARCH_COLUMNS,
                _rows(searches, "pk", "user_id", "text", "created_at", "language"),
                searches.count(),
            ),
        }


def export_generic(folder: Path, *, item_type: str | None = None, progress: TextIO | None = None) -> dict[str, int]:
    """Write the four files of the generic format into ``folder``; rows written per file.

    ``item_type`` ("place" or "clip") keeps only items of that type and the interactions (and,
    for places, the reviews) with them; searches are interests for both and always go along.

    All four are read from one snapshot (a repeatable-read transaction when this call opens the
    transaction), so every interaction, review and clip refers to an item in items.csv even while
    people keep writing. ``progress``: where the per-file progress bars go (None: no bars).
    """
    if item_type is not None and item_type not in ITEM_TYPES:
        raise ValueError(f"item type must be one of {', '.join(ITEM_TYPES)}, not {item_type!r}")
    folder.mkdir(parents=True, exist_ok=True)
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        written = [
            _write(folder, name, columns, rows, total, progress)
            for name, (columns, rows, total) in _Selection(item_type).files().items()
        ]
    # Only now, with all four complete, do they replace an earlier export's: never a mix of two.
    for partial, final, _ in written:
        os.replace(partial, final)
    return {final.name: count for _, final, count in written}


def _write(
    folder: Path,
    name: str,
    columns: tuple[str, ...],
    rows: Iterable[tuple[Any, ...]],
    total: int,
    progress: TextIO | None,
) -> tuple[Path, Path, int]:
    """One file, written beside its final name: (that partial file, the final name, rows)."""
    final = folder / name
    partial = folder / f".{name}.partial"
    count = 0
    try:
        with (
            partial.open("w", encoding="utf-8", newline="") as handle,
            tqdm(total=total, desc=name, unit="row", file=progress, disable=progress is None) as bar,
        ):
            writer = csv.writer(handle)
            writer.writerow(columns)
            for row in rows:
                writer.writerow([_cell(v) for v in row])
                count += 1
                if count % CHUNK == 0:
                    bar.update(CHUNK)
            bar.update(count % CHUNK)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        for leftover in FILES:  # this file's and the ones written before it
            (folder / f".{leftover}.partial").unlink(missing_ok=True)
        raise
    return partial, final, count

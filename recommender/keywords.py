"""Keyword profiles: storing extracted keywords and deriving place and user interest profiles.

Called by the workers after an extractor ran; every write is conditional on the source text
being unchanged since extraction, so a late or duplicate task never overwrites newer data.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, FloatField, Q, Sum
from django.db.models.functions import Cast, Lower
from django.db.models.lookups import Exact
from django.utils import timezone

from places.models import Place, Review
from places.pipeline import source_key as text_key
from recommender import feed_cache
from recommender.models import (
    ClipKeyword,
    Keyword,
    MutedKeyword,
    PlaceKeyword,
    Polarity,
    QueryIntent,
    ReviewKeyword,
    SearchQuery,
    SearchQueryKeyword,
    UserProfile,
)

PLACE_SUMMARY_KEYWORDS = 10  # tags that go into a place's embedding text
REVIEW_KEYWORD_SOURCE = "reviews"


@dataclass(frozen=True)
class KeywordInput:
    """One extracted keyword, whichever extractor produced it."""

    text: str
    language: str
    tag_en: str = ""
    polarity: int = Polarity.POSITIVE
    weight: float = 1.0


def _upsert_keywords(keywords: Sequence[KeywordInput]) -> dict[tuple[str, str], int]:
    """Keyword ids for (text, language), creating missing rows. Safe under concurrency."""
    wanted = {(k.text, k.language): k for k in keywords}
    if not wanted:
        return {}
    Keyword.objects.bulk_create(
        [Keyword(text=text, language=lang, tag_en=k.tag_en) for (text, lang), k in wanted.items()],
        ignore_conflicts=True,  # another task may have created the same keyword meanwhile
    )
    rows = Keyword.objects.filter(text__in=[t for t, _ in wanted], language__in={lang for _, lang in wanted})
    ids = {(row.text, row.language): row.pk for row in rows if (row.text, row.language) in wanted}
    # Fill an English tag that an earlier extractor could not give.
    for row in rows:
        given = wanted.get((row.text, row.language))
        if given is not None and given.tag_en and not row.tag_en:
            Keyword.objects.filter(pk=row.pk, tag_en="").update(tag_en=given.tag_en)
    return ids


def store_review_keywords(review_id: int, extractor_id: str, source_key: str, keywords: Sequence[KeywordInput]) -> bool:
    """Replace a review's keywords and refresh its place's profile, if the text is unchanged.

    Returns False (and writes nothing) when the review is gone or its text changed since
    ``source_key`` was computed: the sweep will extract the new text.
    """
    with transaction.atomic():
        review = (
            Review.objects.select_for_update()
            .filter(Exact(text_key(F("text"), extractor_id), source_key), pk=review_id)
            .only("pk", "place_id")
            .first()
        )
        if review is None:
            return False
        ids = _upsert_keywords(keywords)
        ReviewKeyword.objects.filter(review_id=review_id).delete()
        ReviewKeyword.objects.bulk_create(
            [
                ReviewKeyword(
                    review_id=review_id, keyword_id=ids[(k.text, k.language)], weight=k.weight, polarity=k.polarity
                )
                for k in {(k.text, k.language): k for k in keywords}.values()
            ]
        )
        Review.objects.filter(pk=review_id).update(
            keywords_key=source_key, extraction_failed_key="", extraction_error="", extraction_claimed_until=None
        )
        refresh_place_keywords(review.place_id)
    return True


def record_extraction_failure(
    model: type[Review] | type[SearchQuery], row_id: int, source_key: str, error: str
) -> None:
    """Remember a permanent failure for this exact text, so the sweep stops retrying it.

    Clearing ``extraction_failed_key`` (the admin's "retry") makes the row pending again.
    """
    model._default_manager.filter(pk=row_id).update(
        extraction_failed_key=source_key, extraction_error=error[:2000], extraction_claimed_until=None
    )


def refresh_place_keywords(place_id: int) -> None:
    """Recompute a place's review-derived keywords and the summary its embedding reads.

    Counts reviews mentioning each keyword; the weight is the net polarity-weighted share of
    the place's reviews (a keyword praised in 3 of 4 reviews and criticised in 1 gets 0.5).
    Serialised per place (a row lock): two workers storing keywords of two reviews of one place
    at once would otherwise both rewrite its rows, one from a snapshot missing the other's review.
    """
    refresh_places_keywords([place_id])


# Places rewritten per round of refresh_places_keywords: a few queries per round, whatever its size.
PLACES_PER_REFRESH = 500


def refresh_places_keywords(place_ids: Iterable[int]) -> None:
    """``refresh_place_keywords`` for many places in a few queries per ``PLACES_PER_REFRESH`` of
    them (a curator hiding a keyword hundreds of places carry, an account's reviews deleted): the
    row locks are taken in id order, so two such refreshes cannot deadlock."""
    ids = sorted(set(place_ids))
    for start in range(0, len(ids), PLACES_PER_REFRESH):
        chunk = ids[start : start + PLACES_PER_REFRESH]
        with transaction.atomic():
            list(Place.objects.select_for_update().filter(pk__in=chunk).order_by("pk").values_list("pk", flat=True))
            _refresh_places_keywords(chunk)


def _refresh_places_keywords(place_ids: list[int]) -> None:
    review_counts = dict(
        Review.objects.filter(place_id__in=place_ids)
        .values("place_id")
        .annotate(n=Count("pk"))
        .values_list("place_id", "n")
    )
    rows = list(
        ReviewKeyword.objects.filter(review__place_id__in=place_ids, keyword__is_hidden=False)
        .values("review__place_id", "keyword_id", "keyword__text", "keyword__tag_en")
        .annotate(
            mentions=Count("review_id", distinct=True),
            net=Sum(F("weight") * Cast("polarity", FloatField())),
        )
        .order_by("review__place_id", "keyword_id")
    )
    PlaceKeyword.objects.filter(place_id__in=place_ids, source=REVIEW_KEYWORD_SOURCE).delete()
    PlaceKeyword.objects.bulk_create(
        PlaceKeyword(
            place_id=row["review__place_id"],
            keyword_id=row["keyword_id"],
            count=row["mentions"],
            weight=(row["net"] or 0.0) / max(review_counts.get(row["review__place_id"], 0), 1),
            source=REVIEW_KEYWORD_SOURCE,
        )
        for row in rows
    )
    summaries: dict[int, list[str]] = {place_id: [] for place_id in place_ids}
    positive = sorted(
        (r for r in rows if (r["net"] or 0) > 0), key=lambda r: (-r["mentions"], -(r["net"] or 0), r["keyword_id"])
    )
    for row in positive:
        summary = summaries[row["review__place_id"]]
        label = row["keyword__tag_en"] or row["keyword__text"]
        if label not in summary and len(summary) < PLACE_SUMMARY_KEYWORDS:
            summary.append(label)
    # Changing the summary changes the embedding source, so the sweep re-embeds the place.
    Place.objects.bulk_update(
        [Place(pk=place_id, keyword_summary=", ".join(summary)) for place_id, summary in summaries.items()],
        ["keyword_summary"],
    )


def store_query_keywords(
    query_id: int, extractor_id: str, source_key: str, intent: str, keywords: Sequence[KeywordInput]
) -> list[int] | None:
    """Store a search's intent and keywords if its text is unchanged; return the keyword ids.

    Task searches keep their keywords for explanations but get intent=task, which keeps them
    out of the interest profile.
    """
    with transaction.atomic():
        query = (
            SearchQuery.objects.select_for_update()
            .filter(Exact(text_key(F("text"), extractor_id), source_key), pk=query_id)
            .only("pk")
            .first()
        )
        if query is None:
            return None
        ids = _upsert_keywords(keywords)
        SearchQueryKeyword.objects.filter(query_id=query_id).delete()
        SearchQueryKeyword.objects.bulk_create(
            [
                SearchQueryKeyword(query_id=query_id, keyword_id=ids[(k.text, k.language)], weight=k.weight)
                for k in {(k.text, k.language): k for k in keywords}.values()
            ]
        )
        SearchQuery.objects.filter(pk=query_id).update(
            intent=intent,
            keywords_key=source_key,
            extraction_failed_key="",
            extraction_error="",
            extraction_claimed_until=None,
        )
    return sorted(set(ids.values()))


def recency_weight(created_at: datetime, now: datetime, half_life_days: float) -> float:
    """1.0 now, 0.5 after one half-life, and so on."""
    age_days = max((now - created_at).total_seconds(), 0.0) / 86400.0
    return math.pow(0.5, age_days / half_life_days)


def provisional_interest_vector(texts: Sequence[str], *, user_id: int | None = None) -> np.ndarray | None:
    """An interest vector before any search is extracted: the unit mean of the stored embeddings of
    the keywords the texts name (a picked keyword is searched by its text; a typed search's words
    count too). Hidden keywords, and those the person muted, do not count. No model runs."""
    whole = [t.strip().lower() for t in texts if t.strip()]
    words = [w for t in whole for w in t.split()][:64]
    if not whole:
        return None
    names = [*whole, *words]  # compared case-insensitively: "Jazz Bar" is the tag "jazz bar"
    matches = (
        Keyword.objects.filter(is_hidden=False, embedding__isnull=False)
        .annotate(text_lower=Lower("text"), tag_lower=Lower("tag_en"))
        .filter(Q(text_lower__in=names) | Q(tag_lower__in=names))
    )
    if user_id is not None:
        matches = matches.exclude(muted_by__user_id=user_id)
    vectors = [np.asarray(v, dtype=np.float64) for v in matches.values_list("embedding", flat=True)[:64]]
    if not vectors:
        return None
    mean = np.mean(vectors, axis=0)
    norm = float(np.linalg.norm(mean))
    return (mean / norm).astype(np.float32) if norm > 0 else None


def refresh_interest_vector(user_id: int, *, now: datetime | None = None) -> bool:
    """Rebuild a user's interest vector from their recent interest searches' keyword embeddings.

    Each keyword counts by its extraction weight times the search's recency weight; task
    searches and keywords without an embedding yet are left out. With no extracted interest
    search at all it is the provisional vector of the searches not yet extracted (what onboarding
    set), if there are any; else it is left as it is. Returns whether a vector was set from
    extracted searches.
    """
    now = now or timezone.now()
    interest_links = SearchQueryKeyword.objects.filter(query__user_id=user_id, query__intent=QueryIntent.INTEREST)
    if not interest_links.exists():
        # Nothing extracted yet (or only task searches): the provisional vector onboarding set,
        # rebuilt from the same searches, so a keyword muted or hidden since leaves it at once.
        # With no search pending either, the vector stays as it is (a task search says nothing of taste).
        pending = SearchQuery.objects.filter(user_id=user_id, keywords_key="").order_by("-created_at")
        texts = list(pending.values_list("text", flat=True)[: settings.INTEREST_MAX_KEYWORDS])
        if texts:
            vector = provisional_interest_vector(texts, user_id=user_id)
            if vector is not None:
                UserProfile.objects.update_or_create(user_id=user_id, defaults={"interest_embedding": vector})
            else:  # nothing to lean towards: clear a vector, but make no profile row just to say so
                UserProfile.objects.filter(user_id=user_id).update(interest_embedding=None)
        feed_cache.touch_person(user_id)  # the search behind it now explains the feed all the same
        return False
    links = (
        SearchQueryKeyword.objects.filter(
            query__user_id=user_id,
            query__intent=QueryIntent.INTEREST,
            keyword__embedding__isnull=False,
            keyword__is_hidden=False,
        )
        .exclude(keyword__muted_by__user_id=user_id)
        .order_by("-query__created_at")
        .values_list("weight", "query__created_at", "keyword__embedding")[: settings.INTEREST_MAX_KEYWORDS]
    )
    total = np.zeros(settings.EMBEDDING_DIMENSIONS, dtype=np.float64)
    for weight, created_at, embedding in links:
        total += weight * recency_weight(created_at, now, settings.INTEREST_HALF_LIFE_DAYS) * np.asarray(embedding)
    norm = float(np.linalg.norm(total))
    vector = (total / norm).astype(np.float32) if norm > 0 else None
    UserProfile.objects.update_or_create(user_id=user_id, defaults={"interest_embedding": vector})
    feed_cache.touch_person(user_id)  # after the write (outside a transaction it fires at once)
    return vector is not None


def merge_keywords(target: Keyword, others: Sequence[Keyword]) -> int:
    """Fold ``others`` into ``target`` (e.g. "river view" and "한강뷰"); returns how many were merged.

    Links move to the target; where the target is already linked to the same review, place, clip
    or search, the stronger link wins; a person's mute of a merged keyword moves too. Affected
    places get their profiles rebuilt, affected people their interest vectors.
    """
    other_ids = [k.pk for k in others if k.pk != target.pk]
    if not other_ids:
        return 0
    with transaction.atomic():
        feed_cache.touch_catalogue()  # replaced once this merge commits
        place_ids = set(
            ReviewKeyword.objects.filter(keyword_id__in=other_ids).values_list("review__place_id", flat=True)
        )
        searchers = _searchers_of(other_ids)  # before the merged keywords and their names are gone
        for model, owner in (
            (ReviewKeyword, "review_id"),
            (PlaceKeyword, "place_id"),
            (ClipKeyword, "clip_id"),
            (SearchQueryKeyword, "query_id"),
        ):
            extra = ("source",) if model is PlaceKeyword else ()
            for link in model.objects.filter(keyword_id__in=other_ids).order_by("-weight"):
                key = {owner: getattr(link, owner), **{f: getattr(link, f) for f in extra}}
                existing = model.objects.filter(keyword=target, **key).first()
                if existing is None:
                    link.keyword_id = target.pk
                    link.save(update_fields=["keyword"])
                else:
                    if link.weight > existing.weight:
                        existing.weight = link.weight
                        existing.save(update_fields=["weight"])
                    link.delete()
        # A person who muted a merged keyword has muted the keyword it became (the cascade would
        # drop the mute and bring the interest back under its other name).
        muted_by = set(MutedKeyword.objects.filter(keyword_id__in=other_ids).values_list("user_id", flat=True))
        MutedKeyword.objects.bulk_create(
            [MutedKeyword(user_id=user_id, keyword=target) for user_id in muted_by], ignore_conflicts=True
        )
        Keyword.objects.filter(pk__in=other_ids).delete()
        refresh_places_keywords(place_ids)
        # Their searches now point at the target's embedding, and their mutes at the target.
        for user_id in sorted(muted_by | searchers):
            refresh_interest_vector(user_id)
    return len(other_ids)


def _searchers_of(keyword_ids: Sequence[int], extra_names: Sequence[str] = ()) -> set[int]:
    """People whose interest vector reads these keywords: through their extracted interest searches,
    or, searches not extracted yet, through the keywords' names in the search text (the provisional
    vector matches names: ``provisional_interest_vector``). ``extra_names``: names the keywords had
    before an edit."""
    extracted = set(
        SearchQueryKeyword.objects.filter(keyword_id__in=keyword_ids, query__intent=QueryIntent.INTEREST)
        .values_list("query__user_id", flat=True)
        .distinct()
    )
    names = {n for pair in Keyword.objects.filter(pk__in=keyword_ids).values_list("text", "tag_en") for n in pair}
    names = {n.strip() for n in (*names, *extra_names) if n and n.strip()}
    if not names:
        return extracted
    mentions = Q()
    for name in sorted(names):
        mentions |= Q(text__icontains=name)
    pending = SearchQuery.objects.filter(keywords_key="").filter(mentions).values_list("user_id", flat=True)
    return extracted | set(pending.distinct())


def refresh_keyword_dependents(keyword_ids: Sequence[int], extra_names: Sequence[str] = ()) -> None:
    """After a curator hid, showed or relabelled keywords: the places whose reviews mention them get
    their keyword profiles and summaries rebuilt (search matches and embeddings read the summary),
    the people whose searches name them their interest vectors, and every cached feed is refreshed.
    ``extra_names``: the keywords' text or tag before a relabelling (searches may name the old one)."""
    with transaction.atomic():
        feed_cache.touch_catalogue()
        place_ids = set(
            ReviewKeyword.objects.filter(keyword_id__in=keyword_ids).values_list("review__place_id", flat=True)
        )
        refresh_places_keywords(place_ids)
        for user_id in sorted(_searchers_of(keyword_ids, extra_names)):
            refresh_interest_vector(user_id)


def set_keywords_hidden(keyword_ids: Sequence[int], hidden: bool) -> int:
    """Hide (a wrong keyword: kept out of profiles, summaries, interest vectors and explanations) or
    show again; returns how many changed."""
    with transaction.atomic():
        changed = list(
            Keyword.objects.filter(pk__in=keyword_ids).exclude(is_hidden=hidden).values_list("pk", flat=True)
        )
        Keyword.objects.filter(pk__in=changed).update(is_hidden=hidden)
        if changed:
            refresh_keyword_dependents(changed)
    return len(changed)
